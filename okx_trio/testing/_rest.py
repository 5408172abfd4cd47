"""The simulator's REST endpoints (plain HTTP/1.1 on the WebSocket port).

Two routing tables map each path to its handler: ``RestApi.routes`` the
``GET`` endpoints (``Route``: handler, signed or not, methods) and
``RestApi.post_routes`` the ``POST`` ones (``PostRoute``, whose handler
gets the parsed JSON body). Served:

* market data (public): ``public/time``, ``public/instruments``,
  ``public/mark-price``, ``public/funding-rate``, ``market/tickers``,
  ``market/ticker``, ``market/books``, ``market/books-rpi``, ``market/candles``,
  ``market/history-candles`` (built from the exchange's trades),
  ``market/trades``, ``market/history-trades``, ``sprd/spreads``;
* account (signed): ``account/balance``, ``positions``, ``positions-history``,
  ``config``, ``leverage-info``, ``set-leverage`` (POST), ``max-size``,
  ``bills``, ``bills-archive``; ``asset/currencies``;
* trade (signed): ``trade/order``, ``orders-pending``, ``orders-history``,
  ``orders-history-archive``, ``fills``, ``fills-history``, ``sprd/order``,
  ``sprd/orders-pending``, ``sprd/trades``; and the trade POSTs (place, amend,
  cancel, batches, mass cancel, their spread twins), run by the same engine ops
  as the WebSocket ones, their pushes delivered to the WebSocket subscribers.

Answers are OKX's ``{"code": "0", "msg": "", "data": [...]}``. Signed requests
are checked like OKX checks them (``._auth.check_rest_headers``; refusals
are HTTP 401 with OKX's code). Each endpoint is rate-limited as OKX documents it
(``._rules.REST_LIMITS``, per account or, for public endpoints, for all
callers together): over the limit the answer is HTTP 429
``{"msg":"Too Many Requests","code":"50011"}``, the body real OKX sends (no
``data``). Parameters python-okx sends empty (``""``) count as absent. The HTTP
wire (sockets, the in-memory httpx transport) is ``._http``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import attrs
import orjson

from ._auth import Lookup, check_rest_headers
from ._checks import MSG
from ._emits import Emit
from ._engine_model import parse_dec
from ._op_limits import RestRateLimits
from ._render import fail_item
from ._rest_views import RestViews
from ._rules import (
    CANDLE_BARS,
    EXP_TIME_OPS,
    ORDER_OPS,
    REST_INST_TYPES,
    REST_TRADE_OPS,
)
from ._trade_ops import TradeResult

SPRD_ORD_TYPES = ("market", "limit", "post_only", "ioc")

RestResult = tuple[int, dict[str, Any]]
"""``(HTTP status, JSON body)``."""
Query = dict[str, str]
"""The query parameters (the last value of a repeated name wins)."""


def _ok(data: list[Any]) -> RestResult:
    return 200, {"code": "0", "msg": "", "data": data}


def _err(status: int, code: str, msg: str) -> RestResult:
    return status, {"code": code, "msg": msg, "data": []}


def _empty(param: str) -> RestResult:
    return _err(400, "50014", f"Parameter {param} can not be empty.")


def _bad(param: str) -> RestResult:
    return _err(400, "51000", f"Parameter {param} error")


def _bare(status: int, code: str, msg: str) -> RestResult:
    """A refusal as real OKX sends 401s and 429s: ``msg`` then ``code``, no ``data``."""
    return status, {"msg": msg, "code": code}


_DIGITS = re.compile(r"^[0-9]{1,20}$")

class TradeOp(Protocol):
    """Runs one trade-op frame (the engine's ``trade_op``)."""

    def __call__(
        self, api_key: str, path: str, frame: dict[str, Any], *, by_inst_id: bool = False
    ) -> TradeResult:
        """``by_inst_id``: REST items, which name the instrument by ``instId``."""
        ...
SetLeverage = Callable[[str, str, Decimal, str], tuple[str, str, list[dict[str, Any]]]]
"""``set_leverage(api_key, instId, lever, mgnMode)``: ``(code, msg, data)``."""


class BadParam(Exception):
    """A query or body parameter is refused: its ``RestResult``."""

    def __init__(self, result: RestResult) -> None:
        super().__init__(result)
        self.result = result


def _digits(query: Query, name: str) -> int | None:
    """An optional id or ms parameter (ASCII digits)."""
    text = query.get(name, "")
    if not text:
        return None
    if not _DIGITS.match(text):
        raise BadParam(_bad(name))
    return int(text)


def _limit(query: Query, default: int = 100, most: int = 100) -> int:
    text = query.get("limit", "") or str(default)
    if not _DIGITS.match(text) or not 1 <= int(text) <= most:
        raise BadParam(_bad("limit"))
    return int(text)


def _required(query: Query, name: str, allowed: Sequence[str] | None = None) -> str:
    value = query.get(name, "")
    if not value:
        raise BadParam(_empty(name))
    if allowed is not None and value not in allowed:
        raise BadParam(_bad(name))
    return value


def _optional(query: Query, name: str, allowed: Sequence[str] | None = None) -> str | None:
    value = query.get(name) or None
    if value is not None and allowed is not None and value not in allowed:
        raise BadParam(_bad(name))
    return value


def _ids(query: Query, name: str, most: int) -> list[str]:
    items = [i for i in query.get(name, "").split(",") if i]
    if len(items) > most:
        raise BadParam(_bad(name))
    return items


@attrs.frozen
class Route:
    """One endpoint: its handler, whether it is signed, the methods it answers."""

    handler: Callable[[str | None, Query], RestResult]
    """``handler(api_key, query)``; ``api_key`` is ``None`` on public endpoints."""
    signed: bool = False
    """Needs OKX's auth headers (the handler then gets the proven API key)."""
    methods: frozenset[str] = frozenset({"GET", "HEAD"})
    """Other methods get 405 / 50115."""


@attrs.frozen
class PostRoute:
    """One ``POST`` endpoint (signed): its handler gets the API key and the JSON body."""

    handler: Callable[[str, Any, Mapping[str, str]], RestResult]
    """``handler(api_key, body, headers)``; ``body`` is the parsed JSON."""


class RestApi:
    """Dispatches one HTTP request to its endpoint.

    Args:
        views: what the endpoints show of the exchange.
        lookup: the credentials of an API key (``None`` if it does not exist).
        now_ms: the exchange clock (request timestamps, ``public/time``, limits).
        account_key: the first API key of a key's account, which signed handlers
            get (every key of an account sees the account's orders and balances).
        trade_op: runs a trade-op frame (the engine's ``trade_op``).
        set_leverage: the engine's ``set-leverage``.
        deliver: hands the pushes a trade op caused to the WebSocket subscribers.
        rate_limit: enforce OKX's REST limits (429 / 50011).
        view_ms: the clock the data endpoints read (``ts``, time windows: a
            replay's recorded time); default ``now_ms``, which keeps the
            signatures, ``expTime``, limits and ``public/time``.
    """

    def __init__(
        self,
        views: RestViews,
        *,
        lookup: Lookup,
        now_ms: Callable[[], int],
        trade_op: TradeOp,
        set_leverage: SetLeverage,
        deliver: Callable[[Sequence[Emit]], None],
        rate_limit: bool = True,
        account_key: Callable[[str], str] = lambda api_key: api_key,
        view_ms: Callable[[], int] | None = None,
    ) -> None:
        self._views = views
        self._lookup = lookup
        self._now_ms = now_ms
        self._view_ms = now_ms if view_ms is None else view_ms
        self._account_key = account_key
        self._trade_op = trade_op
        self._set_leverage = set_leverage
        self._deliver = deliver
        self.limits: RestRateLimits | None = RestRateLimits() if rate_limit else None
        """The REST rate windows (``None``: not enforced)."""
        self.routes: dict[str, Route] = {
            "/api/v5/public/time": Route(self._time),
            "/api/v5/public/instruments": Route(self._instruments),
            "/api/v5/public/mark-price": Route(self._mark_price),
            "/api/v5/public/funding-rate": Route(self._funding_rate),
            "/api/v5/market/books": Route(self._books),
            "/api/v5/market/books-rpi": Route(self._books_rpi),
            "/api/v5/market/tickers": Route(self._tickers),
            "/api/v5/market/ticker": Route(self._ticker),
            "/api/v5/market/candles": Route(self._candles),
            "/api/v5/market/history-candles": Route(self._history_candles),
            "/api/v5/market/trades": Route(self._trades),
            "/api/v5/market/history-trades": Route(self._history_trades),
            "/api/v5/sprd/spreads": Route(self._spreads),
            "/api/v5/trade/order": Route(self._order, signed=True),
            "/api/v5/sprd/order": Route(self._sprd_order, signed=True),
            "/api/v5/trade/orders-pending": Route(self._orders_pending, signed=True),
            "/api/v5/trade/orders-history": Route(self._orders_history, signed=True),
            "/api/v5/trade/orders-history-archive": Route(self._orders_archive, signed=True),
            "/api/v5/trade/fills": Route(self._fills, signed=True),
            "/api/v5/trade/fills-history": Route(self._fills_history, signed=True),
            "/api/v5/sprd/orders-pending": Route(self._sprd_orders_pending, signed=True),
            "/api/v5/sprd/trades": Route(self._sprd_trades, signed=True),
            "/api/v5/asset/currencies": Route(self._currencies, signed=True),
            "/api/v5/account/balance": Route(self._balance, signed=True),
            "/api/v5/account/positions": Route(self._positions, signed=True),
            "/api/v5/account/positions-history": Route(self._positions_history, signed=True),
            "/api/v5/account/config": Route(self._config, signed=True),
            "/api/v5/account/leverage-info": Route(self._leverage_info, signed=True),
            "/api/v5/account/max-size": Route(self._max_size, signed=True),
            "/api/v5/account/bills": Route(self._bills, signed=True),
            "/api/v5/account/bills-archive": Route(self._bills_archive, signed=True),
        }
        """path -> ``Route``: every ``GET`` endpoint the simulator serves."""
        self.post_routes: dict[str, PostRoute] = {
            "/api/v5/account/set-leverage": PostRoute(self._set_leverage_post),
            **{path: PostRoute(functools.partial(self._trade_post, op))
               for path, op in REST_TRADE_OPS.items()},
        }
        """path -> ``PostRoute``: every ``POST`` endpoint (all signed)."""

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> RestResult:
        """``(HTTP status, JSON body)`` for one request.

        ``target`` is the request target as sent (path and query), which is
        also what a signed request signed; ``headers`` have lower-case names.
        """
        parts = urlsplit(target)
        path = parts.path
        route = self.routes.get(path)
        post = self.post_routes.get(path)
        if route is None and post is None:
            return _err(404, "404", "Not Found")
        if method == "POST" and post is not None:
            signed = True
        elif route is not None and method in route.methods:
            signed = route.signed
        else:
            return _err(405, "50115", "Invalid request method.")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        api_key: str | None = None
        if signed:
            auth = check_rest_headers(
                method, target, headers, body, now_ms=self._now_ms(), lookup=self._lookup
            )
            if isinstance(auth, tuple):
                return _bare(*auth)
            api_key = self._account_key(auth)
        endpoint = f"{'POST' if method == 'POST' else 'GET'} {path}"
        if self.limits is not None and not self.limits.admit(
            api_key or "ip", endpoint, query, self._now_ms()
        ):
            return _bare(429, "50011", "Too Many Requests")
        try:
            if method == "POST" and post is not None:
                assert api_key is not None
                if not body.strip():
                    return _err(400, "50000", "Body can not be empty.")
                try:
                    payload = orjson.loads(body)
                except orjson.JSONDecodeError:
                    return _err(400, "50002", "Json data format error.")
                return post.handler(api_key, payload, headers)
            assert route is not None
            return route.handler(api_key, query)
        except BadParam as exc:
            return exc.result

    # -- public ----------------------------------------------------------------

    def _time(self, api_key: str | None, query: Query) -> RestResult:
        return _ok([{"ts": str(self._now_ms())}])

    def _mark_price(self, api_key: str | None, query: Query) -> RestResult:
        inst_type = _required(query, "instType", ("MARGIN", "SWAP", "FUTURES", "OPTION"))
        return _ok(self._views.mark_prices(inst_type, query.get("instFamily") or None,
                                           query.get("instId") or None, self._view_ms()))

    def _funding_rate(self, api_key: str | None, query: Query) -> RestResult:
        inst_id = _required(query, "instId")
        items = self._views.funding_rate(inst_id, self._view_ms())
        if not items:
            return _err(200, "51001", MSG["51001"])
        return _ok(items)

    def _tickers(self, api_key: str | None, query: Query) -> RestResult:
        inst_type = _required(query, "instType", ("SPOT", "SWAP", "FUTURES", "OPTION"))
        return _ok(self._views.tickers(inst_type, query.get("instFamily") or None,
                                       self._view_ms()))

    def _ticker(self, api_key: str | None, query: Query) -> RestResult:
        inst_id = _required(query, "instId")
        if not self._views.knows(inst_id):
            return _err(200, "51001", MSG["51001"])
        return _ok([self._views.ticker(inst_id, self._view_ms())])

    def _candles(self, api_key: str | None, query: Query, history: bool = False) -> RestResult:
        inst_id = _required(query, "instId")
        bars = CANDLE_BARS | {"1s"} if history else CANDLE_BARS
        bar = query.get("bar") or "1m"
        if bar not in bars:
            raise BadParam(_bad("bar"))
        after, before = _digits(query, "after"), _digits(query, "before")
        limit = _limit(query, most=300)
        if not self._views.knows(inst_id):
            return _err(200, "51001", MSG["51001"])
        return _ok(self._views.candles(inst_id, bar, self._view_ms(), history=history,
                                       after=after, before=before, limit=limit))

    def _history_candles(self, api_key: str | None, query: Query) -> RestResult:
        return self._candles(api_key, query, history=True)

    def _trades(self, api_key: str | None, query: Query) -> RestResult:
        inst_id = _required(query, "instId")
        limit = _limit(query, most=500)
        if not self._views.knows(inst_id):
            return _err(200, "51001", MSG["51001"])
        return _ok(self._views.trades(inst_id, limit))

    def _history_trades(self, api_key: str | None, query: Query) -> RestResult:
        inst_id = _required(query, "instId")
        kind = _optional(query, "type", ("1", "2")) or "1"
        after, before = _digits(query, "after"), _digits(query, "before")
        if kind == "2" and before is not None:
            return _err(400, "50039", "The before parameter is not available for implementing "
                        "timestamp pagination")
        limit = _limit(query)
        if not self._views.knows(inst_id):
            return _err(200, "51001", MSG["51001"])
        return _ok(self._views.history_trades(inst_id, by_ts=kind == "2", after=after,
                                              before=before, limit=limit))

    def _spreads(self, api_key: str | None, query: Query) -> RestResult:
        state = _optional(query, "state", ("live", "suspend", "expired"))
        return _ok(self._views.spreads(query.get("baseCcy") or None,
                                       query.get("instId") or None,
                                       query.get("sprdId") or None, state))

    def _instruments(self, api_key: str | None, query: Query) -> RestResult:
        """OKX: ``instFamily`` (or ``uly``) is required for ``OPTION``, ``seriesId``
        for ``EVENTS``. The 50015 answer was seen from OKX as HTTP 400 with
        ``"data":[]`` (its 400 bodies carry it, unlike its 401/429 ones); the
        EVENTS answer (50014) is the simulator's reading."""
        inst_type = query.get("instType", "")
        if not inst_type:
            return _empty("instType")
        if inst_type not in REST_INST_TYPES:
            return _err(400, "51000", "Parameter instType error")
        inst_id = query.get("instId") or None
        family = query.get("instFamily") or query.get("uly") or None
        if inst_type == "OPTION" and family is None:
            return _err(400, "50015", "Either parameter uly or instFamily is required")
        if inst_type == "EVENTS" and not query.get("seriesId"):
            return _empty("seriesId")
        return _ok(self._views.instruments(inst_type, inst_id, family))

    def _book(
        self, query: Query, view: Callable[[str, int, int], dict[str, Any]]
    ) -> RestResult:
        """A book snapshot endpoint: ``instId`` required, ``sz`` 1-400 (default 1;
        more is served as 400: OKX documents 400 as the maximum, not its answer to
        more), ``view(instId, sz, now)`` the one data item."""
        inst_id = query.get("instId", "")
        if not inst_id:
            return _empty("instId")
        sz_text = query.get("sz", "") or "1"
        if not sz_text.isdigit() or not 1 <= int(sz_text) <= 5000:
            return _err(400, "51000", "Parameter sz error")
        if not self._views.knows(inst_id):
            return _err(200, "51001", MSG["51001"])
        return _ok([view(inst_id, min(int(sz_text), 400), self._view_ms())])

    def _books(self, api_key: str | None, query: Query) -> RestResult:
        """The ``books`` snapshot; its integer ``seqId`` continues the sequence of
        ``books``, ``books-l2-tbt`` and ``books50-l2-tbt``."""
        return self._book(query, self._views.books)

    def _books_rpi(self, api_key: str | None, query: Query) -> RestResult:
        """The ``books-rpi`` snapshot (levels ``[price, totalQty, nonRpiQty, count]``,
        no checksum); its ``seqId`` continues the ``books-rpi`` channel's."""
        return self._book(query, self._views.books_rpi)

    # -- signed ----------------------------------------------------------------
    # The route is signed, so api_key is the key the headers proved.

    def _order(self, api_key: str | None, query: Query) -> RestResult:
        assert api_key is not None
        inst_id = query.get("instId") or None
        ord_id = query.get("ordId") or None
        cl_ord_id = query.get("clOrdId") or None
        code, msg, data = self._views.order(api_key, inst_id, ord_id, cl_ord_id)
        return 200, {"code": code, "msg": msg, "data": data}

    def _sprd_order(self, api_key: str | None, query: Query) -> RestResult:
        assert api_key is not None
        ord_id = query.get("ordId") or None
        cl_ord_id = query.get("clOrdId") or None
        code, msg, data = self._views.sprd_order(api_key, ord_id, cl_ord_id)
        return 200, {"code": code, "msg": msg, "data": data}

    def _orders_pending(self, api_key: str | None, query: Query) -> RestResult:
        assert api_key is not None
        return _ok(self._views.orders_pending(
            api_key, query.get("instType") or None, query.get("instId") or None,
            inst_family=query.get("instFamily") or None, ord_type=query.get("ordType") or None,
            state=_optional(query, "state", ("live", "partially_filled")),
            after=_digits(query, "after"), before=_digits(query, "before"),
            limit=_limit(query),
        ))

    def _orders_history(self, api_key: str | None, query: Query, archive: bool = False
                        ) -> RestResult:
        assert api_key is not None
        inst_type = _required(query, "instType", REST_INST_TYPES)
        return _ok(self._views.orders_history(
            api_key, inst_type, archive=archive, now=self._view_ms(),
            inst_id=query.get("instId") or None, inst_family=query.get("instFamily") or None,
            ord_type=query.get("ordType") or None,
            state=_optional(query, "state", ("canceled", "filled", "mmp_canceled")),
            begin=_digits(query, "begin"), end=_digits(query, "end"),
            after=_digits(query, "after"), before=_digits(query, "before"),
            limit=_limit(query),
        ))

    def _orders_archive(self, api_key: str | None, query: Query) -> RestResult:
        return self._orders_history(api_key, query, archive=True)

    def _fills(self, api_key: str | None, query: Query, history: bool = False) -> RestResult:
        assert api_key is not None
        inst_type = (_required(query, "instType", REST_INST_TYPES) if history
                     else _optional(query, "instType", REST_INST_TYPES))
        return _ok(self._views.fills(
            api_key, now=self._view_ms(), history=history, inst_type=inst_type,
            inst_id=query.get("instId") or None, inst_family=query.get("instFamily") or None,
            ord_id=query.get("ordId") or None, sub_type=query.get("subType") or None,
            begin=_digits(query, "begin"), end=_digits(query, "end"),
            after=_digits(query, "after"), before=_digits(query, "before"),
            limit=_limit(query),
        ))

    def _fills_history(self, api_key: str | None, query: Query) -> RestResult:
        return self._fills(api_key, query, history=True)

    def _sprd_trades(self, api_key: str | None, query: Query) -> RestResult:
        assert api_key is not None
        return _ok(self._views.sprd_trades(
            api_key, now=self._view_ms(), sprd_id=query.get("sprdId") or None,
            trade_id=query.get("tradeId") or None, ord_id=query.get("ordId") or None,
            begin=_digits(query, "begin"), end=_digits(query, "end"),
            begin_id=_digits(query, "beginId"), end_id=_digits(query, "endId"),
            limit=_limit(query),
        ))

    def _positions(self, api_key: str | None, query: Query) -> RestResult:
        assert api_key is not None
        inst_type = _optional(query, "instType", ("MARGIN", "SWAP", "FUTURES", "OPTION"))
        return _ok(self._views.positions(api_key, inst_type, _ids(query, "instId", 10),
                                         _ids(query, "posId", 20), self._view_ms()))

    def _positions_history(self, api_key: str | None, query: Query) -> RestResult:
        assert api_key is not None
        return _ok(self._views.positions_history(
            api_key, now=self._view_ms(),
            inst_type=_optional(query, "instType", ("MARGIN", "SWAP", "FUTURES", "OPTION")),
            inst_id=query.get("instId") or None,
            mgn_mode=_optional(query, "mgnMode", ("cross", "isolated")),
            type=query.get("type") or None, pos_id=query.get("posId") or None,
            after=_digits(query, "after"), before=_digits(query, "before"),
            limit=_limit(query),
        ))

    def _config(self, api_key: str | None, query: Query) -> RestResult:
        assert api_key is not None
        return _ok([self._views.account_config(api_key)])

    def _leverage_info(self, api_key: str | None, query: Query) -> RestResult:
        assert api_key is not None
        mgn_mode = _required(query, "mgnMode", ("cross", "isolated"))
        inst_ids = _ids(query, "instId", 20)
        if not inst_ids:
            if query.get("ccy"):
                return _ok([])  # currency-level (margin) leverage is not modelled
            return _err(400, "50015", "Either parameter instId or ccy is required.")
        code, msg, data = self._views.leverage_info(api_key, inst_ids, mgn_mode)
        return 200, {"code": code, "msg": msg, "data": data}

    def _max_size(self, api_key: str | None, query: Query) -> RestResult:
        assert api_key is not None
        inst_ids = _ids(query, "instId", 5)
        if not inst_ids:
            return _empty("instId")
        td_mode = _required(query, "tdMode", ("cash", "cross", "isolated", "spot_isolated"))
        px = None
        if query.get("px"):
            px = parse_dec(query["px"])
            if px is None or px <= 0:
                raise BadParam(_bad("px"))
        code, msg, data = self._views.max_size(api_key, inst_ids, td_mode, px)
        return 200, {"code": code, "msg": msg, "data": data}

    def _bills(self, api_key: str | None, query: Query, archive: bool = False) -> RestResult:
        assert api_key is not None
        return _ok(self._views.bills(
            api_key, now=self._view_ms(), archive=archive,
            inst_type=query.get("instType") or None, inst_id=query.get("instId") or None,
            ccy=query.get("ccy") or None,
            mgn_mode=_optional(query, "mgnMode", ("cross", "isolated")),
            type=query.get("type") or None, sub_type=query.get("subType") or None,
            begin=_digits(query, "begin"), end=_digits(query, "end"),
            after=_digits(query, "after"), before=_digits(query, "before"),
            limit=_limit(query),
        ))

    def _bills_archive(self, api_key: str | None, query: Query) -> RestResult:
        return self._bills(api_key, query, archive=True)

    # -- POST --------------------------------------------------------------------

    def _set_leverage_post(self, api_key: str, body: Any, headers: Mapping[str, str]
                           ) -> RestResult:
        if not isinstance(body, dict):
            return _bad("body")
        fields = {k: v for k, v in body.items() if v not in ("", None)}
        for name in ("lever", "mgnMode"):
            if name not in fields:
                return _empty(name)
        mgn_mode = fields["mgnMode"]
        if mgn_mode not in ("cross", "isolated"):
            return _bad("mgnMode")
        lever = parse_dec(fields["lever"]) if isinstance(fields["lever"], str) else None
        if lever is None:
            return _bad("lever")
        inst_id = fields.get("instId")
        if not isinstance(inst_id, str):
            if "ccy" in fields:
                return _bad("ccy")  # currency-level (margin) leverage is not modelled
            return _err(400, "50015", "Either parameter instId or ccy is required.")
        code, msg, data = self._set_leverage(api_key, inst_id, lever, mgn_mode)
        return 200, {"code": code, "msg": msg, "data": data}

    def _trade_post(
        self, op: str, api_key: str, body: Any, headers: Mapping[str, str]
    ) -> RestResult:
        """A trade POST: the engine's op for the path, answered the REST way.

        The items are the body (an array for the batch endpoints). OKX's
        ``expTime`` header is checked here: one in the past fails every item with
        ``sCode 50036`` under ``code "1"`` (as seen on OKX's REST gateway). The
        op's pushes go to the WebSocket subscribers.
        """
        batch = op in ("batch-orders", "batch-cancel-orders", "batch-amend-orders")
        if batch:
            if not isinstance(body, list) or not all(isinstance(a, dict) for a in body):
                return _bad("body")
            items: list[dict[str, Any]] = body
        else:
            if not isinstance(body, dict):
                return _bad("body")
            items = [body]
        now = self._now_ms()
        exp = headers.get("exptime", "")
        if exp and op in EXP_TIME_OPS:
            if not _DIGITS.match(exp):
                return _bad("expTime")
            if now > int(exp):
                data = [fail_item(op, a, now, "50036", MSG["50036"]) for a in items]
                return 200, {"code": "1", "msg": "All operations failed", "data": data,
                             "inTime": str(now * 1000), "outTime": str(now * 1000 + 200)}
        kind = "business" if op.startswith("sprd-") else "private"
        result = self._trade_op(api_key, kind, {"id": "rest", "op": op, "args": items},
                                by_inst_id=True)
        self._deliver(result.emits)
        resp = result.response
        code = resp.get("code")
        if code == "50011":
            return _bare(429, "50011", "Too Many Requests")
        out: dict[str, Any] = {"code": code, "msg": resp.get("msg", ""),
                               "data": resp.get("data", [])}
        if code == "1" and not out["msg"]:
            out["msg"] = "All operations failed"
        if op in ORDER_OPS:
            out["inTime"] = resp.get("inTime", "")
            out["outTime"] = resp.get("outTime", "")
        if code in ("0", "1", "2"):
            return 200, out
        if code == "60013":
            # The WebSocket's "Invalid args" (an empty batch, more than 20 cancels):
            # REST has no such code; the nearest is a parameter error.
            return _err(400, "51000", "Parameter body error")
        return 200 if code not in ("50014", "50015", "51000") else 400, out

    def _sprd_orders_pending(self, api_key: str | None, query: Query) -> RestResult:
        assert api_key is not None
        ord_type = query.get("ordType") or None
        if ord_type is not None and ord_type not in SPRD_ORD_TYPES:
            return _err(400, "51000", "Parameter ordType error")
        state = query.get("state") or None
        if state is not None and state not in ("live", "partially_filled"):
            return _err(400, "51000", "Parameter state error")
        ids: dict[str, int | None] = {}
        for name in ("beginId", "endId"):
            text = query.get(name, "")
            if text and not text.isdigit():
                return _err(400, "51000", f"Parameter {name} error")
            ids[name] = int(text) if text else None
        limit_text = query.get("limit", "") or "100"
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            return _err(400, "51000", "Parameter limit error")
        return _ok(self._views.sprd_orders_pending(
            api_key, sprd_id=query.get("sprdId") or None, ord_type=ord_type, state=state,
            begin_id=ids["beginId"], end_id=ids["endId"], limit=int(limit_text),
        ))

    def _currencies(self, api_key: str | None, query: Query) -> RestResult:
        wanted = [c for c in query.get("ccy", "").split(",") if c]
        return _ok(self._views.currencies(wanted or None))

    def _balance(self, api_key: str | None, query: Query) -> RestResult:
        assert api_key is not None
        wanted = [c for c in query.get("ccy", "").split(",") if c]
        return _ok([self._views.balance(api_key, wanted or None, self._view_ms())])
