"""The simulator's REST endpoints (plain HTTP/1.1 on the WebSocket port).

One routing table (:attr:`RestApi.routes`) maps each path to its handler,
whether it is signed (OKX's ``OK-ACCESS-*`` headers, checked by
:func:`._auth.check_rest_headers`) and the methods it answers. Today:

* public: ``/api/v5/public/time``, ``/api/v5/public/instruments``,
  ``/api/v5/market/books``;
* signed: ``/api/v5/trade/order``, ``/api/v5/sprd/order``,
  ``/api/v5/trade/orders-pending``, ``/api/v5/sprd/orders-pending``,
  ``/api/v5/asset/currencies``, ``/api/v5/account/balance``.

Bodies are OKX's ``{"code": "0", "msg": "", "data": [...]}``. Handlers read
the query and answer from the exchange's REST views (:mod:`._rest_views`); a new
endpoint is one handler and one table row. The HTTP wire (sockets, the
in-memory httpx transport) is :mod:`._http`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from ._auth import Lookup, check_rest_headers
from ._rest_views import RestViews
from ._rules import REST_INST_TYPES

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


@attrs.frozen
class Route:
    """One endpoint: its handler, whether it is signed, the methods it answers."""

    handler: Callable[[str | None, Query], RestResult]
    """``handler(api_key, query)``; ``api_key`` is ``None`` on public endpoints."""
    signed: bool = False
    """Needs OKX's auth headers (the handler then gets the proven API key)."""
    methods: frozenset[str] = frozenset({"GET", "HEAD"})
    """Other methods get 405 / 50115."""


class RestApi:
    """Dispatches one HTTP request to its endpoint.

    Args:
        views: what the endpoints show of the exchange.
        lookup: the credentials of an API key (``None`` if it does not exist).
        now_ms: the exchange clock (request timestamps, ``public/time``).
        account_key: the first API key of a key's account, which signed handlers
            get (every key of an account sees the account's orders and balances).
    """

    def __init__(
        self,
        views: RestViews,
        *,
        lookup: Lookup,
        now_ms: Callable[[], int],
        account_key: Callable[[str], str] = lambda api_key: api_key,
    ) -> None:
        self._views = views
        self._lookup = lookup
        self._now_ms = now_ms
        self._account_key = account_key
        self.routes: dict[str, Route] = {
            "/api/v5/public/time": Route(self._time),
            "/api/v5/public/instruments": Route(self._instruments),
            "/api/v5/market/books": Route(self._books),
            "/api/v5/trade/order": Route(self._order, signed=True),
            "/api/v5/sprd/order": Route(self._sprd_order, signed=True),
            "/api/v5/trade/orders-pending": Route(self._orders_pending, signed=True),
            "/api/v5/sprd/orders-pending": Route(self._sprd_orders_pending, signed=True),
            "/api/v5/asset/currencies": Route(self._currencies, signed=True),
            "/api/v5/account/balance": Route(self._balance, signed=True),
        }
        """path -> :class:`Route`: every endpoint the simulator serves."""

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> RestResult:
        """``(HTTP status, JSON body)`` for one request.

        ``target`` is the request target as sent (path and query), which is
        also what a signed request signed; ``headers`` have lower-case names.
        """
        parts = urlsplit(target)
        route = self.routes.get(parts.path)
        if route is None:
            return _err(404, "404", "Not Found")
        if method not in route.methods:
            return _err(405, "50115", "Invalid request method.")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        api_key: str | None = None
        if route.signed:
            auth = check_rest_headers(
                method, target, headers, body, now_ms=self._now_ms(), lookup=self._lookup
            )
            if isinstance(auth, tuple):
                return _err(*auth)
            api_key = self._account_key(auth)
        return route.handler(api_key, query)

    # -- public ----------------------------------------------------------------

    def _time(self, api_key: str | None, query: Query) -> RestResult:
        return _ok([{"ts": str(self._now_ms())}])

    def _instruments(self, api_key: str | None, query: Query) -> RestResult:
        inst_type = query.get("instType", "")
        if not inst_type:
            return _empty("instType")
        if inst_type not in REST_INST_TYPES:
            return _err(400, "51000", "Parameter instType error")
        inst_id = query.get("instId") or None
        family = query.get("instFamily") or query.get("uly") or None
        return _ok(self._views.instruments(inst_type, inst_id, family))

    def _books(self, api_key: str | None, query: Query) -> RestResult:
        inst_id = query.get("instId", "")
        if not inst_id:
            return _empty("instId")
        sz_text = query.get("sz", "") or "1"
        if not sz_text.isdigit() or not 1 <= int(sz_text) <= 5000:
            return _err(400, "51000", "Parameter sz error")
        if not self._views.knows(inst_id):
            return _err(200, "51001", "Instrument ID or Spread ID doesn't exist.")
        return _ok([self._views.books(inst_id, min(int(sz_text), 400), self._now_ms())])

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
        inst_type = query.get("instType") or None
        inst_id = query.get("instId") or None
        return _ok(self._views.orders_pending(api_key, inst_type, inst_id))

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
        return _ok([self._views.balance(api_key, wanted or None, self._now_ms())])
