"""``RestApiClient``: OKX's REST endpoints a bot needs, typed, paced and trio-native.

Market data, account, trade and spread endpoints as methods that validate
their arguments before anything is sent, pace themselves to OKX's limit for
the endpoint (``REST_LIMITS``, the same rolling windows as
the WebSocket trade ops; the trade POSTs spend from the very buckets the
WebSocket ops use, as OKX counts them together), and return the typed views of
``okx_trio.views`` (``str``/``Decimal``/``int`` fields; an order is an
``Order`` whichever way it was read). History endpoints
return ``Pages``, async iterators that hold one page at a time.

Requests go through the client's ``RestClient`` (httpx's
async client on trio: no call blocks the event loop), which signs them and
maps every failure into the ``OkxError`` tree. Each method takes a keyword-only
``timeout`` (seconds; ``None``: the client's ``request_timeout``; ``math.inf``:
none) covering the wait for the rate limit and the request: a deadline that
passes while waiting raises ``OkxNotSent``, one that passes during the request
``OkxRequestTimeout``.

The place, amend and cancel methods carry the names, request models and
outcome classes of ``WsApiClient``'s (``submit_new_order``
returns an ``OrderAck`` or raises ``OkxOrderError``...), so a bot can fall back
to REST by calling the same method on ``api.rest``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Protocol, TypeVar

import trio

from ._answers import Kind, expired, judge
from ._clock import ExchangeClock
from ._exceptions import (
    OkxApiError,
    OkxBatchError,
    OkxNotSent,
    OkxProtocolError,
    OkxRateLimitError,
    OkxRequestError,
    OkxRequestTimeout,
)
from ._formats import is_decimal, is_digits
from ._instruments import InstrumentCache
from ._models import Instrument, OrderAck, Response
from ._okx import (
    CANDLE_BARS,
    EXP_TIME_OPS,
    HISTORY_CANDLE_BARS,
    REST_LIMITS,
    REST_PAGES,
    REST_TRADE_OPS,
)
from ._order_prep import check_exp_time, prepare_orders
from ._pacing import RateLimiter
from ._protocol import check_id
from ._requests import (
    TD_MODES,
    AmendOrder,
    AmendSpreadOrder,
    CancelOrder,
    CancelSpreadOrder,
    MassCancel,
    MassCancelSpread,
    PlaceOrder,
    PlaceSpreadOrder,
    coerce,
    coerce_batch,
)
from ._rest import RestClient
from ._rest_pages import Pages, first_of, page_params
from ._views import (
    Account,
    AccountConfig,
    Bill,
    BookData,
    Candle,
    Fill,
    FundingRate,
    Leverage,
    MarkPrice,
    MaxSize,
    Order,
    Position,
    PositionHistory,
    SprdOrder,
    SprdTrade,
    Spread,
    Ticker,
    Trade,
    structure_items,
)

__all__ = ["OrderHooks", "RestApiClient", "RestHost"]

V = TypeVar("V")

CONNECTION: Final = "rest"
MGN_MODES: Final = frozenset({"cross", "isolated"})
POS_SIDES: Final = frozenset({"long", "short", "net"})
MAX_CCYS: Final = 20

_OP_PATHS: Final = {op: endpoint.split(" ", 1)[1] for endpoint, op in REST_TRADE_OPS.items()}


class OrderHooks(Protocol):
    """What the trade client (``WsApiClient``) wants to know of orders sent over REST:
    the same as of its own, so its tracker and ``resolve()`` treat them alike."""

    def before_send(self, op: str, wires: list[dict[str, Any]]) -> None:
        """A trade op with these items is about to be sent."""
        ...

    def refused(self, op: str, error: OkxApiError, wires: list[dict[str, Any]]) -> None:
        """The exchange refused it (whole or in part)."""
        ...

    def unknown(
        self, error: OkxRequestError | OkxProtocolError, *, exp_time: int | None,
        sent_at: float, deadline: float, now_ms_at_send: int,
    ) -> None:
        """It was sent and its outcome is unknown (``OkxConnectionLost``,
        ``OkxRequestTimeout``, or an answer that proves nothing)."""
        ...


class RestHost(Protocol):
    """What the REST client needs from the client it belongs to (its core)."""

    @property
    def rest(self) -> RestClient:
        """The signing, error-mapping HTTP helper (created on first use)."""
        ...

    @property
    def instruments(self) -> InstrumentCache:
        """The client's instrument cache."""
        ...

    limiter: RateLimiter | None
    """The trade-op rate limiter the WebSocket ops use (``None``: not paced)."""

    def cl_ord_ids(self) -> str:
        """A fresh clOrdId."""
        ...

    def deadline(self, timeout: float | None) -> float:
        """The deadline (trio time) of a call given ``timeout=``."""
        ...

    def now_ms(self) -> int:
        """The exchange's idea of now, Unix ms."""
        ...

    @property
    def clock(self) -> ExchangeClock:
        """The exchange's clock as the client knows it (doubted after a 50036)."""
        ...

    async def ensure_clock(self, until: float) -> None:
        """Measure the exchange's clock first if that is due (bounded by ``until``)."""
        ...

    async def sync_time(self) -> int:
        """Measure and apply the exchange clock offset; returns it."""
        ...


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    return value


def _opt_text(value: object, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _one_of(value: object, name: str, allowed: frozenset[str] | tuple[str, ...]) -> str:
    text = _text(value, name)
    if text not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(sorted(allowed))}; got {text!r}")
    return text


def _opt_one_of(value: object, name: str, allowed: frozenset[str]) -> str | None:
    return None if value is None else _one_of(value, name, allowed)


def _cursor(value: object, name: str) -> str | None:
    """A cursor or time bound: an ``int`` or a string of ASCII digits."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{name} must not be negative; got {value}")
        return str(value)
    if isinstance(value, str) and is_digits(value):
        return value
    raise TypeError(f"{name} must be an int or a string of digits, not {value!r}")


def _count(value: object, name: str, maximum: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1 or (maximum is not None and value > maximum):
        bound = f" and at most {maximum}" if maximum is not None else ""
        raise ValueError(f"{name} must be at least 1{bound}; got {value}")
    return value


def _number(value: object, name: str) -> str | None:
    """A price, size or leverage: ``str`` in plain decimal notation, or ``Decimal``."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name} must be a finite number; got {value!r}")
        return format(value, "f")
    if isinstance(value, str):
        if not is_decimal(value):
            raise ValueError(f"{name} must be a number in plain decimal notation; got {value!r}")
        return value
    raise TypeError(f"{name} must be a str or Decimal, not {type(value).__name__}")


def _ccys(ccy: str | Sequence[str] | None) -> str | None:
    if ccy is None:
        return None
    items = [ccy] if isinstance(ccy, str) else list(ccy)
    if not items or len(items) > MAX_CCYS:
        raise ValueError(f"give 1 to {MAX_CCYS} currencies; got {len(items)}")
    return ",".join(_text(c, "ccy") for c in items)


class RestApiClient:
    """OKX's REST API for a bot: market data, account, trade and spread endpoints.

    Reached from a client as ``ws.rest`` / ``api.rest`` (sharing its
    credentials, clock offset, REST URL, timeouts, instrument cache and trade
    rate limits), or on its own with ``open_rest_client``. Not
    constructed directly.

    Every method validates its arguments before anything is sent
    (``ValueError``/``TypeError``), waits for OKX's rate limit of its endpoint
    (client-side, at 90 %; ``rate_limit=False`` turns this off) and takes a
    keyword-only ``timeout``. Errors common to every method:

    * ``OkxNotSent``: never sent (deadline passed while paced, client closed,
      server unreachable); safe to retry;
    * ``OkxRequestTimeout`` / ``OkxConnectionLost``: sent, no answer (for a
      place, amend or cancel: outcome unknown, see ``WsApiClient.resolve``);
    * ``OkxRateLimitError``: OKX answered 50011 (HTTP 429) anyway;
    * ``OkxAuthError``: the signature or key was refused (50101-50119);
    * ``OkxApiError``: any other refusal (``code``, ``msg``, ``op`` =
      ``"GET /api/v5/..."``; the trade methods raise what ``WsApiClient``'s do,
      with the WebSocket op name as ``op``);
    * ``OkxProtocolError``: an answer that is not OKX's shape.
    """

    def __init__(
        self,
        host: RestHost,
        *,
        rate_limit: bool = True,
        send_exp_time: bool = True,
        headroom: float = 0.9,
    ) -> None:
        self._host = host
        self._limiter: RateLimiter | None = None
        if rate_limit:
            self._limiter = RateLimiter(
                headroom,
                limits={ep: (n, key is not None) for ep, (n, _, key) in REST_LIMITS.items()},
                windows={ep: w for ep, (_, w, _) in REST_LIMITS.items()},
                inst_key=_same,
                sub_account_limit=None,  # an order cap: the trade limiter's business
            )
        self.send_exp_time = send_exp_time
        """Send the deadline as OKX's ``expTime`` header on places and amends."""
        self.order_hooks: OrderHooks | None = None
        """Told of every trade op sent (the trade client of the same core sets it)."""

    def __repr__(self) -> str:
        return f"<RestApiClient {self._host.rest.base_url}>"

    # ------------------------------------------------------------- the core

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        signed: bool | None = None,
        timeout: float | None = None,
    ) -> list[Any]:
        """Send any OKX REST request; returns the answer's ``data`` list as received.

        For the endpoints this client has no method for. Endpoints with a
        known rate limit are paced as the typed methods are (the trade POSTs on
        the WebSocket ops' buckets).

        Args:
            method: ``"GET"`` or ``"POST"``.
            path: e.g. ``"/api/v5/asset/balances"`` (no query string).
            params: query parameters, OKX's names, ``str`` values.
            body: the JSON body of a ``POST`` (an object, or a list for batches).
            signed: sign the request; default: when the client has credentials.
            timeout: seconds (see the class docstring).

        Raises:
            ValueError, TypeError: a bad method, path or parameter.
            OkxError: see the class docstring.
        """
        if params is not None:
            if not isinstance(params, Mapping):
                raise TypeError("params must be a mapping of str to str")
            for k, v in params.items():
                if not isinstance(k, str) or not isinstance(v, str):
                    raise TypeError(f"params must map str to str; got {k!r}: {v!r}")
        if signed is None:
            signed = self._host.rest.signed
        method = _text(method, "method").upper()
        endpoint = f"{method} {_text(path, 'path')}"
        op = REST_TRADE_OPS.get(endpoint)
        deadline = self._host.deadline(timeout)
        if op is not None and self._host.limiter is not None:
            items = body if isinstance(body, list) else [body]
            await self._acquire(self._host.limiter, op, list(items), deadline, endpoint)
        return await self._call(method, path, params, body, signed, deadline)

    async def sync_time(self) -> int:
        """Measure the offset from ``GET /api/v5/public/time``, apply it, return it (ms).

        The offset is the client's: signed REST requests, WebSocket logins and
        ``expTime`` all use it.
        """
        return await self._host.sync_time()

    async def pace(self, endpoint: str, params: Mapping[str, str | None]) -> None:
        """Wait until OKX's limit of ``endpoint`` (``"GET /api/v5/..."``) allows one more
        request with ``params``, and count it. A checkpoint.

        The client's own REST calls (order look-ups, book resyncs) wait here too.
        """
        rule = REST_LIMITS.get(endpoint)
        if rule is not None and self._limiter is not None:
            key = params.get(rule[2]) if rule[2] is not None else None
            await self._limiter.acquire(endpoint, [key])
        else:
            await trio.lowlevel.checkpoint()

    async def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
        signed: bool,
        deadline: float,
        headers: Mapping[str, str] | None = None,
    ) -> list[Any]:
        endpoint = f"{method} {path}"
        rule = REST_LIMITS.get(endpoint)
        if rule is not None and self._limiter is not None:
            key = (params or {}).get(rule[2]) if rule[2] is not None else None
            await self._acquire(self._limiter, endpoint, [key], deadline, endpoint)
        with trio.move_on_at(deadline) as scope:
            return await self._host.rest.call(
                method, path, params=params, body=body, signed=signed, headers=headers,
                pace=False,
            )
        assert scope.cancelled_caught
        raise OkxRequestTimeout(f"{endpoint}: no answer before the deadline", endpoint,
                                connection=CONNECTION)

    @staticmethod
    async def _acquire(
        limiter: RateLimiter, op: str, args: list[Any], deadline: float, what: str,
        cl_ord_id: str | None = None,
    ) -> None:
        with trio.move_on_at(deadline):
            await limiter.acquire(op, args)
            return
        raise OkxNotSent(f"{what}: the deadline passed while waiting for the rate limit",
                         op, None, cl_ord_id, [a for a in args if isinstance(a, Mapping)],
                         CONNECTION)

    async def _get(
        self, path: str, params: Mapping[str, str], cls: type[V], *, signed: bool,
        timeout: float | None,
    ) -> list[V]:
        deadline = self._host.deadline(timeout)
        data = await self._call("GET", path, params, None, signed, deadline)
        return structure_items(f"GET {path}", data, cls)

    async def _get_one(
        self, path: str, params: Mapping[str, str], cls: type[V], *, signed: bool,
        timeout: float | None,
    ) -> V:
        items = await self._get(path, params, cls, signed=signed, timeout=timeout)
        return first_of(f"GET {path}", items)  # type: ignore[no-any-return]

    def _pages(
        self, path: str, params: dict[str, str], cls: type[V], *, signed: bool,
        limit: int | None, page_size: int | None, timeout: float | None,
    ) -> Pages[V]:
        endpoint = f"GET {path}"
        cursor, older, newer, most = REST_PAGES[endpoint]
        _count(limit, "limit")
        size = _count(page_size, "page_size", most) or most
        if limit is not None and page_size is None:
            size = min(size, limit)
        self._host.deadline(timeout)  # validates timeout now, not at the first page

        async def fetch(query: dict[str, str]) -> list[Any]:
            return await self._call("GET", path, query, None, signed,
                                    self._host.deadline(timeout))

        def build(rows: list[Any]) -> list[V]:
            return structure_items(endpoint, rows, cls)

        return Pages(endpoint, fetch, build, params=params, cursor=cursor, older=older,
                     newer=newer, page_size=size, limit=limit)

    def _signed(self) -> bool:
        if not self._host.rest.signed:
            raise ValueError("this endpoint is private: the client needs credentials")
        return True

    # ----------------------------------------------------------- market data

    async def tickers(
        self, inst_type: str, *, inst_family: str | None = None, timeout: float | None = None
    ) -> list[Ticker]:
        """``GET /api/v5/market/tickers``: the latest ticker of every instrument of a type.

        Args:
            inst_type: ``SPOT``, ``SWAP``, ``FUTURES`` or ``OPTION``.
            inst_family: only this family (derivatives), e.g. ``BTC-USD``.
        """
        params = page_params(instType=_text(inst_type, "inst_type"),
                             instFamily=_opt_text(inst_family, "inst_family"))
        return await self._get("/api/v5/market/tickers", params, Ticker, signed=False,
                               timeout=timeout)

    async def ticker(self, inst_id: str, *, timeout: float | None = None) -> Ticker:
        """``GET /api/v5/market/ticker``: the latest ticker of one instrument."""
        params = {"instId": _text(inst_id, "inst_id")}
        return await self._get_one("/api/v5/market/ticker", params, Ticker, signed=False,
                                   timeout=timeout)

    async def order_book(
        self, inst_id: str, *, depth: int = 400, timeout: float | None = None
    ) -> BookData:
        """``GET /api/v5/market/books``: a snapshot of the order book.

        Args:
            inst_id: the instrument.
            depth: levels per side, 1-400 (OKX's ``sz``).

        Returns:
            asks and bids best first, ``ts`` and ``seq_id`` (the sequence of the
            ``books`` channel: a live book resyncs from it).
        """
        params = {"instId": _text(inst_id, "inst_id"), "sz": str(_count(depth, "depth", 400))}
        return await self._get_one("/api/v5/market/books", params, BookData, signed=False,
                                   timeout=timeout)

    def candles(
        self,
        inst_id: str,
        *,
        bar: str = "1m",
        after: int | None = None,
        before: int | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[Candle]:
        """``GET /api/v5/market/candles``: recent candles, newest first (paged).

        OKX serves the latest 1,440 bars here; older ones come from
        ``history_candles``. The newest candle may still be forming
        (``confirm`` False).

        Args:
            inst_id: the instrument.
            bar: ``1m``, ``3m``, ``5m``, ``15m``, ``30m``, ``1H``, ``2H``, ``4H``,
                ``6H``, ``12H``, ``1D``, ``2D``, ``3D``, ``1W``, ``1M``, ``3M``
                (UTC+8 aligned from 6H) or ``6Hutc``...``3Mutc``.
            after: only candles older than this ``ts`` (ms).
            before: only candles newer than this ``ts`` (ms).
            limit: stop after this many candles (default: all there are).
            page_size: candles per request (at most 300).
        """
        params = page_params(instId=_text(inst_id, "inst_id"),
                             bar=_one_of(bar, "bar", CANDLE_BARS),
                             after=_cursor(after, "after"), before=_cursor(before, "before"))
        return self._pages("/api/v5/market/candles", params, Candle, signed=False, limit=limit,
                           page_size=page_size, timeout=timeout)

    def history_candles(
        self,
        inst_id: str,
        *,
        bar: str = "1m",
        after: int | None = None,
        before: int | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[Candle]:
        """``GET /api/v5/market/history-candles``: candles of recent years (paged).

        Arguments as ``candles``; ``bar`` also takes ``1s``.
        """
        params = page_params(instId=_text(inst_id, "inst_id"),
                             bar=_one_of(bar, "bar", HISTORY_CANDLE_BARS),
                             after=_cursor(after, "after"), before=_cursor(before, "before"))
        return self._pages("/api/v5/market/history-candles", params, Candle, signed=False,
                           limit=limit, page_size=page_size, timeout=timeout)

    async def trades(
        self, inst_id: str, *, limit: int = 100, timeout: float | None = None
    ) -> list[Trade]:
        """``GET /api/v5/market/trades``: the latest public trades (up to 500), newest first."""
        params = {"instId": _text(inst_id, "inst_id"), "limit": str(_count(limit, "limit", 500))}
        return await self._get("/api/v5/market/trades", params, Trade, signed=False,
                               timeout=timeout)

    def history_trades(
        self,
        inst_id: str,
        *,
        after: int | str | None = None,
        before: int | str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[Trade]:
        """``GET /api/v5/market/history-trades``: public trades of the last 3 months (paged
        by ``tradeId``, newest first).

        Args:
            after: only trades older than this ``tradeId``.
            before: only trades newer than this ``tradeId``.
        """
        params = page_params(instId=_text(inst_id, "inst_id"), type="1",
                             after=_cursor(after, "after"), before=_cursor(before, "before"))
        return self._pages("/api/v5/market/history-trades", params, Trade, signed=False,
                           limit=limit, page_size=page_size, timeout=timeout)

    async def instruments(
        self,
        inst_type: str,
        *,
        inst_family: str | None = None,
        inst_id: str | None = None,
        timeout: float | None = None,
    ) -> list[Instrument]:
        """``GET /api/v5/public/instruments``: instrument definitions.

        The answer also refreshes the client's instrument cache (``instIdCode``,
        tick, lot and minimum size the order methods check against).

        Args:
            inst_type: ``SPOT``, ``MARGIN``, ``SWAP``, ``FUTURES`` or ``OPTION``.
            inst_family: the family; OKX requires it for ``OPTION``.
            inst_id: only this instrument.

        Returns:
            each instrument's rules, with the item as received in ``raw``.
        """
        params = page_params(instType=_text(inst_type, "inst_type"),
                             instFamily=_opt_text(inst_family, "inst_family"),
                             instId=_opt_text(inst_id, "inst_id"))
        data = await self._call("GET", "/api/v5/public/instruments", params, None, False,
                                self._host.deadline(timeout))
        out = []
        for item in data:
            if not isinstance(item, Mapping) or not isinstance(item.get("instId"), str):
                raise OkxProtocolError("GET /api/v5/public/instruments: an item has no instId")
            inst = Instrument.from_okx(item, inst_type)
            self._host.instruments.add(inst)
            out.append(inst)
        return out

    async def mark_prices(
        self,
        inst_type: str,
        *,
        inst_family: str | None = None,
        inst_id: str | None = None,
        timeout: float | None = None,
    ) -> list[MarkPrice]:
        """``GET /api/v5/public/mark-price``: mark prices (``MARGIN``, ``SWAP``,
        ``FUTURES``, ``OPTION``)."""
        params = page_params(instType=_text(inst_type, "inst_type"),
                             instFamily=_opt_text(inst_family, "inst_family"),
                             instId=_opt_text(inst_id, "inst_id"))
        return await self._get("/api/v5/public/mark-price", params, MarkPrice, signed=False,
                               timeout=timeout)

    async def funding_rate(self, inst_id: str, *, timeout: float | None = None) -> FundingRate:
        """``GET /api/v5/public/funding-rate``: the current funding rate of a swap."""
        params = {"instId": _text(inst_id, "inst_id")}
        return await self._get_one("/api/v5/public/funding-rate", params, FundingRate,
                                   signed=False, timeout=timeout)

    async def server_time(self, *, timeout: float | None = None) -> int:
        """``GET /api/v5/public/time``: the exchange's clock, Unix ms."""
        data = await self._call("GET", "/api/v5/public/time", None, None, False,
                                self._host.deadline(timeout))
        item = first_of("GET /api/v5/public/time", data)
        try:
            return int(item["ts"])
        except (KeyError, TypeError, ValueError):
            raise OkxProtocolError("GET /api/v5/public/time: no ts in the answer") from None

    # --------------------------------------------------------------- account

    async def balance(
        self, ccy: str | Sequence[str] | None = None, *, timeout: float | None = None
    ) -> Account:
        """``GET /api/v5/account/balance``: equity and balances (the ``account`` channel's shape).

        Args:
            ccy: one currency or up to 20; default every currency with a balance.
        """
        params = page_params(ccy=_ccys(ccy))
        return await self._get_one("/api/v5/account/balance", params, Account,
                                   signed=self._signed(), timeout=timeout)

    async def positions(
        self,
        *,
        inst_type: str | None = None,
        inst_id: str | Sequence[str] | None = None,
        pos_id: str | None = None,
        timeout: float | None = None,
    ) -> list[Position]:
        """``GET /api/v5/account/positions``: open positions (the ``positions`` channel's shape).

        Args:
            inst_type: ``MARGIN``, ``SWAP``, ``FUTURES`` or ``OPTION``.
            inst_id: one instrument or up to 10.
            pos_id: one position id.
        """
        ids = None
        if inst_id is not None:
            items = [inst_id] if isinstance(inst_id, str) else list(inst_id)
            if not 1 <= len(items) <= 10:
                raise ValueError(f"give 1 to 10 inst_id; got {len(items)}")
            ids = ",".join(_text(i, "inst_id") for i in items)
        params = page_params(instType=_opt_text(inst_type, "inst_type"), instId=ids,
                             posId=_opt_text(pos_id, "pos_id"))
        return await self._get("/api/v5/account/positions", params, Position,
                               signed=self._signed(), timeout=timeout)

    def positions_history(
        self,
        *,
        inst_type: str | None = None,
        inst_id: str | None = None,
        mgn_mode: str | None = None,
        type: str | None = None,
        pos_id: str | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[PositionHistory]:
        """``GET /api/v5/account/positions-history``: closed positions of the last 3
        months (paged by ``uTime``, newest first; positions closed at the same
        ms come together).

        Args:
            type: ``1`` partly closed, ``2`` closed, ``3`` liquidated...
            after: only positions updated before this ``uTime`` (ms).
            before: only positions updated after this ``uTime`` (ms).
        """
        params = page_params(instType=_opt_text(inst_type, "inst_type"),
                             instId=_opt_text(inst_id, "inst_id"),
                             mgnMode=_opt_one_of(mgn_mode, "mgn_mode", MGN_MODES),
                             type=_opt_text(type, "type"), posId=_opt_text(pos_id, "pos_id"),
                             after=_cursor(after, "after"), before=_cursor(before, "before"))
        return self._pages("/api/v5/account/positions-history", params, PositionHistory,
                           signed=self._signed(), limit=limit, page_size=page_size,
                           timeout=timeout)

    async def account_config(self, *, timeout: float | None = None) -> AccountConfig:
        """``GET /api/v5/account/config``: account mode, position mode, key permissions."""
        return await self._get_one("/api/v5/account/config", {}, AccountConfig,
                                   signed=self._signed(), timeout=timeout)

    async def leverage_info(
        self,
        mgn_mode: str,
        *,
        inst_id: str | None = None,
        ccy: str | None = None,
        timeout: float | None = None,
    ) -> list[Leverage]:
        """``GET /api/v5/account/leverage-info``: the leverage set for instruments.

        Args:
            mgn_mode: ``cross`` or ``isolated``.
            inst_id: the instrument(s), comma-separated (up to 20); or ``ccy``.
            ccy: the currency (cross margin at currency level).
        """
        if inst_id is None and ccy is None:
            raise ValueError("give inst_id or ccy")
        params = page_params(mgnMode=_one_of(mgn_mode, "mgn_mode", MGN_MODES),
                             instId=_opt_text(inst_id, "inst_id"), ccy=_opt_text(ccy, "ccy"))
        return await self._get("/api/v5/account/leverage-info", params, Leverage,
                               signed=self._signed(), timeout=timeout)

    async def set_leverage(
        self,
        lever: str | Decimal,
        mgn_mode: str,
        *,
        inst_id: str | None = None,
        ccy: str | None = None,
        pos_side: str | None = None,
        timeout: float | None = None,
    ) -> Leverage:
        """``POST /api/v5/account/set-leverage``: set the leverage of an instrument.

        Args:
            lever: the leverage, e.g. ``"5"``.
            mgn_mode: ``cross`` or ``isolated``.
            inst_id: the instrument (or ``ccy``).
            ccy: the currency (cross margin at currency level).
            pos_side: ``long`` or ``short`` (isolated, long/short position mode).
        """
        if inst_id is None and ccy is None:
            raise ValueError("give inst_id or ccy")
        lever_text = _number(lever, "lever")
        assert lever_text is not None
        if Decimal(lever_text) <= 0:
            raise ValueError(f"lever must be positive; got {lever!r}")
        body = page_params(lever=lever_text, mgnMode=_one_of(mgn_mode, "mgn_mode", MGN_MODES),
                           instId=_opt_text(inst_id, "inst_id"), ccy=_opt_text(ccy, "ccy"),
                           posSide=_opt_one_of(pos_side, "pos_side", POS_SIDES))
        data = await self._call("POST", "/api/v5/account/set-leverage", None, body,
                                self._signed(), self._host.deadline(timeout))
        items = structure_items("POST /api/v5/account/set-leverage", data, Leverage)
        return first_of("POST /api/v5/account/set-leverage", items)  # type: ignore[no-any-return]

    async def max_size(
        self,
        inst_id: str,
        td_mode: str,
        *,
        ccy: str | None = None,
        px: str | Decimal | None = None,
        leverage: str | Decimal | None = None,
        timeout: float | None = None,
    ) -> list[MaxSize]:
        """``GET /api/v5/account/max-size``: the largest buy and sell order possible now.

        Args:
            inst_id: the instrument (or up to 5 of one type, comma-separated).
            td_mode: ``cash``, ``cross``, ``isolated`` or ``spot_isolated``.
            ccy: the margin currency.
            px: the price to size at (default: the current price).
            leverage: the leverage to size at.
        """
        params = page_params(instId=_text(inst_id, "inst_id"),
                             tdMode=_one_of(td_mode, "td_mode", TD_MODES),
                             ccy=_opt_text(ccy, "ccy"), px=_number(px, "px"),
                             leverage=_number(leverage, "leverage"))
        return await self._get("/api/v5/account/max-size", params, MaxSize,
                               signed=self._signed(), timeout=timeout)

    def bills(
        self,
        *,
        inst_type: str | None = None,
        inst_id: str | None = None,
        ccy: str | None = None,
        mgn_mode: str | None = None,
        type: str | None = None,
        sub_type: str | None = None,
        begin: int | None = None,
        end: int | None = None,
        after: int | str | None = None,
        before: int | str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[Bill]:
        """``GET /api/v5/account/bills``: balance changes of the last 7 days (paged by
        ``billId``, newest first; OKX allows 5 requests per second).

        Args:
            type: ``1`` transfer, ``2`` trade, ``3`` delivery, ``8`` funding fee...
            sub_type: ``1`` buy, ``2`` sell, ``173``/``174`` funding fee...
            begin: only bills from this ``ts`` (ms) on.
            end: only bills before this ``ts`` (ms).
            after: only bills older than this ``billId``.
            before: only bills newer than this ``billId``.
        """
        return self._pages("/api/v5/account/bills", self._bill_params(locals()), Bill,
                           signed=self._signed(), limit=limit, page_size=page_size,
                           timeout=timeout)

    def bills_archive(
        self,
        *,
        inst_type: str | None = None,
        inst_id: str | None = None,
        ccy: str | None = None,
        mgn_mode: str | None = None,
        type: str | None = None,
        sub_type: str | None = None,
        begin: int | None = None,
        end: int | None = None,
        after: int | str | None = None,
        before: int | str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[Bill]:
        """``GET /api/v5/account/bills-archive``: balance changes of the last 3 months
        (arguments as ``bills``)."""
        return self._pages("/api/v5/account/bills-archive", self._bill_params(locals()), Bill,
                           signed=self._signed(), limit=limit, page_size=page_size,
                           timeout=timeout)

    @staticmethod
    def _bill_params(a: Mapping[str, Any]) -> dict[str, str]:
        return page_params(
            instType=_opt_text(a["inst_type"], "inst_type"),
            instId=_opt_text(a["inst_id"], "inst_id"), ccy=_opt_text(a["ccy"], "ccy"),
            mgnMode=_opt_one_of(a["mgn_mode"], "mgn_mode", MGN_MODES),
            type=_opt_text(a["type"], "type"), subType=_opt_text(a["sub_type"], "sub_type"),
            begin=_cursor(a["begin"], "begin"), end=_cursor(a["end"], "end"),
            after=_cursor(a["after"], "after"), before=_cursor(a["before"], "before"),
        )

    # ------------------------------------------------------------ trade reads

    async def order(
        self,
        inst_id: str,
        *,
        ord_id: str | None = None,
        cl_ord_id: str | None = None,
        timeout: float | None = None,
    ) -> Order:
        """``GET /api/v5/trade/order``: one order's current state (``ord_id`` wins).

        Raises:
            OkxApiError: ``51603`` the order does not exist (OKX keeps canceled
                orders that never filled for 2 hours only).
        """
        params = page_params(instId=_text(inst_id, "inst_id"), **_order_ref(ord_id, cl_ord_id))
        return await self._get_one("/api/v5/trade/order", params, Order, signed=self._signed(),
                                   timeout=timeout)

    def orders_pending(
        self,
        *,
        inst_type: str | None = None,
        inst_family: str | None = None,
        inst_id: str | None = None,
        ord_type: str | None = None,
        state: str | None = None,
        after: int | str | None = None,
        before: int | str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[Order]:
        """``GET /api/v5/trade/orders-pending``: open orders, newest first (paged by ``ordId``).

        Args:
            state: ``live`` or ``partially_filled``.
        """
        params = page_params(
            instType=_opt_text(inst_type, "inst_type"),
            instFamily=_opt_text(inst_family, "inst_family"),
            instId=_opt_text(inst_id, "inst_id"), ordType=_opt_text(ord_type, "ord_type"),
            state=_opt_one_of(state, "state", frozenset({"live", "partially_filled"})),
            after=_cursor(after, "after"), before=_cursor(before, "before"),
        )
        return self._pages("/api/v5/trade/orders-pending", params, Order, signed=self._signed(),
                           limit=limit, page_size=page_size, timeout=timeout)

    def orders_history(
        self,
        inst_type: str,
        *,
        inst_family: str | None = None,
        inst_id: str | None = None,
        ord_type: str | None = None,
        state: str | None = None,
        category: str | None = None,
        begin: int | None = None,
        end: int | None = None,
        after: int | str | None = None,
        before: int | str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[Order]:
        """``GET /api/v5/trade/orders-history``: orders completed in the last 7 days,
        newest first (paged by ``ordId``). Canceled orders that never filled
        are kept 2 hours only.

        Args:
            inst_type: ``SPOT``, ``MARGIN``, ``SWAP``, ``FUTURES`` or ``OPTION``.
            state: ``canceled``, ``filled`` or ``mmp_canceled``.
            begin: only orders created from this ``cTime`` (ms) on.
            end: only orders created before this ``cTime`` (ms).
        """
        return self._pages("/api/v5/trade/orders-history", self._history_params(locals()),
                           Order, signed=self._signed(), limit=limit, page_size=page_size,
                           timeout=timeout)

    def orders_history_archive(
        self,
        inst_type: str,
        *,
        inst_family: str | None = None,
        inst_id: str | None = None,
        ord_type: str | None = None,
        state: str | None = None,
        category: str | None = None,
        begin: int | None = None,
        end: int | None = None,
        after: int | str | None = None,
        before: int | str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[Order]:
        """``GET /api/v5/trade/orders-history-archive``: orders of the last 3 months
        (arguments as ``orders_history``; canceled orders that never
        filled are not kept)."""
        return self._pages("/api/v5/trade/orders-history-archive",
                           self._history_params(locals()), Order, signed=self._signed(),
                           limit=limit, page_size=page_size, timeout=timeout)

    @staticmethod
    def _history_params(a: Mapping[str, Any]) -> dict[str, str]:
        return page_params(
            instType=_text(a["inst_type"], "inst_type"),
            instFamily=_opt_text(a["inst_family"], "inst_family"),
            instId=_opt_text(a["inst_id"], "inst_id"),
            ordType=_opt_text(a["ord_type"], "ord_type"),
            state=_opt_one_of(a["state"], "state",
                              frozenset({"canceled", "filled", "mmp_canceled"})),
            category=_opt_text(a["category"], "category"),
            begin=_cursor(a["begin"], "begin"), end=_cursor(a["end"], "end"),
            after=_cursor(a["after"], "after"), before=_cursor(a["before"], "before"),
        )

    def fills(
        self,
        *,
        inst_type: str | None = None,
        inst_family: str | None = None,
        inst_id: str | None = None,
        ord_id: str | None = None,
        sub_type: str | None = None,
        begin: int | None = None,
        end: int | None = None,
        after: int | str | None = None,
        before: int | str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[Fill]:
        """``GET /api/v5/trade/fills``: the account's fills of the last 3 days, newest
        first (paged by ``billId``).

        Args:
            ord_id: only this order's fills.
            begin: only fills from this ``ts`` (ms) on.
            end: only fills before this ``ts`` (ms).
            after: only fills older than this ``billId``.
            before: only fills newer than this ``billId``.
        """
        return self._pages("/api/v5/trade/fills", self._fill_params(locals()), Fill,
                           signed=self._signed(), limit=limit, page_size=page_size,
                           timeout=timeout)

    def fills_history(
        self,
        inst_type: str,
        *,
        inst_family: str | None = None,
        inst_id: str | None = None,
        ord_id: str | None = None,
        sub_type: str | None = None,
        begin: int | None = None,
        end: int | None = None,
        after: int | str | None = None,
        before: int | str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[Fill]:
        """``GET /api/v5/trade/fills-history``: fills of the last 3 months (arguments as
        ``fills``; ``inst_type`` is required; OKX allows 10 requests per 2 s)."""
        _text(inst_type, "inst_type")
        return self._pages("/api/v5/trade/fills-history", self._fill_params(locals()), Fill,
                           signed=self._signed(), limit=limit, page_size=page_size,
                           timeout=timeout)

    @staticmethod
    def _fill_params(a: Mapping[str, Any]) -> dict[str, str]:
        return page_params(
            instType=_opt_text(a["inst_type"], "inst_type"),
            instFamily=_opt_text(a["inst_family"], "inst_family"),
            instId=_opt_text(a["inst_id"], "inst_id"), ordId=_opt_text(a["ord_id"], "ord_id"),
            subType=_opt_text(a["sub_type"], "sub_type"),
            begin=_cursor(a["begin"], "begin"), end=_cursor(a["end"], "end"),
            after=_cursor(a["after"], "after"), before=_cursor(a["before"], "before"),
        )

    # ------------------------------------------------------ trade: place etc.

    async def submit_new_order(
        self,
        params: PlaceOrder | Mapping[str, Any],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> OrderAck:
        """``POST /api/v5/trade/order``: place one order (as ``WsApiClient.submit_new_order``).

        A ``clOrdId`` is generated when ``params`` has none; the deadline goes
        out as OKX's ``expTime`` header unless ``exp_time`` is given.

        Raises:
            OkxOrderError: refused (``.ack``, ``.s_code``); ``OkxOrderRateLimitError``
                for 50011/50061.
        """
        return await self._single("order", coerce(PlaceOrder, params), exp_time, timeout)

    async def submit_multiple_orders(
        self,
        params: Sequence[PlaceOrder | Mapping[str, Any]],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> list[OrderAck]:
        """``POST /api/v5/trade/batch-orders``: place 1-20 orders in one request.

        Raises:
            OkxBatchError: some or all refused (every ack kept, in order).
        """
        return await self._batch("batch-orders", coerce_batch(PlaceOrder, params), exp_time,
                                 timeout)

    async def cancel_order(
        self,
        params: CancelOrder | Mapping[str, Any],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> OrderAck:
        """``POST /api/v5/trade/cancel-order``: cancel one order by ``ordId`` or ``clOrdId``.

        Raises:
            OkxOrderError: refused (e.g. 51400: already filled, canceled or unknown).
        """
        return await self._single("cancel-order", coerce(CancelOrder, params), exp_time,
                                  timeout)

    async def cancel_multiple_orders(
        self,
        params: Sequence[CancelOrder | Mapping[str, Any]],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> list[OrderAck]:
        """``POST /api/v5/trade/cancel-batch-orders``: cancel 1-20 orders.

        Raises:
            OkxBatchError: some or all refused (every ack kept, in order).
        """
        return await self._batch("batch-cancel-orders", coerce_batch(CancelOrder, params),
                                 exp_time, timeout)

    async def amend_order(
        self,
        params: AmendOrder | Mapping[str, Any],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> OrderAck:
        """``POST /api/v5/trade/amend-order``: change the size and/or price of one order.

        Raises:
            OkxOrderError: refused (e.g. 51503: the order is gone).
        """
        return await self._single("amend-order", coerce(AmendOrder, params), exp_time, timeout)

    async def amend_multiple_orders(
        self,
        params: Sequence[AmendOrder | Mapping[str, Any]],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> list[OrderAck]:
        """``POST /api/v5/trade/amend-batch-orders``: amend 1-20 orders.

        Raises:
            OkxBatchError: some or all refused (every ack kept, in order).
        """
        return await self._batch("batch-amend-orders", coerce_batch(AmendOrder, params),
                                 exp_time, timeout)

    async def mass_cancel_orders(
        self,
        params: MassCancel | Mapping[str, Any],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> bool:
        """``POST /api/v5/trade/mass-cancel``: cancel every MMP order of an option family.

        Returns:
            the exchange's ``result``.
        """
        return await self._mass("mass-cancel", coerce(MassCancel, params), exp_time, timeout)

    # ----------------------------------------------------------------- spread

    async def spreads(
        self,
        *,
        base_ccy: str | None = None,
        inst_id: str | None = None,
        sprd_id: str | None = None,
        state: str | None = None,
        timeout: float | None = None,
    ) -> list[Spread]:
        """``GET /api/v5/sprd/spreads``: the spreads and their legs.

        Args:
            inst_id: only spreads with this leg.
            state: ``live``, ``suspend`` or ``expired``.
        """
        params = page_params(baseCcy=_opt_text(base_ccy, "base_ccy"),
                             instId=_opt_text(inst_id, "inst_id"),
                             sprdId=_opt_text(sprd_id, "sprd_id"),
                             state=_opt_one_of(state, "state",
                                               frozenset({"live", "suspend", "expired"})))
        return await self._get("/api/v5/sprd/spreads", params, Spread, signed=False,
                               timeout=timeout)

    async def spread_order(
        self,
        *,
        ord_id: str | None = None,
        cl_ord_id: str | None = None,
        timeout: float | None = None,
    ) -> SprdOrder:
        """``GET /api/v5/sprd/order``: one spread order's current state (``ord_id`` wins)."""
        params = page_params(**_order_ref(ord_id, cl_ord_id))
        return await self._get_one("/api/v5/sprd/order", params, SprdOrder,
                                   signed=self._signed(), timeout=timeout)

    def spread_orders_pending(
        self,
        *,
        sprd_id: str | None = None,
        ord_type: str | None = None,
        state: str | None = None,
        after: int | str | None = None,
        before: int | str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[SprdOrder]:
        """``GET /api/v5/sprd/orders-pending``: open spread orders, newest first (paged
        by ``ordId`` with OKX's ``endId``/``beginId``; OKX allows 10 requests per 2 s).

        Args:
            after: only orders older than this ``ordId`` (OKX's ``endId``).
            before: only orders newer than this ``ordId`` (OKX's ``beginId``).
        """
        params = page_params(
            sprdId=_opt_text(sprd_id, "sprd_id"), ordType=_opt_text(ord_type, "ord_type"),
            state=_opt_one_of(state, "state", frozenset({"live", "partially_filled"})),
            endId=_cursor(after, "after"), beginId=_cursor(before, "before"),
        )
        return self._pages("/api/v5/sprd/orders-pending", params, SprdOrder,
                           signed=self._signed(), limit=limit, page_size=page_size,
                           timeout=timeout)

    def spread_trades(
        self,
        *,
        sprd_id: str | None = None,
        trade_id: str | None = None,
        ord_id: str | None = None,
        begin: int | None = None,
        end: int | None = None,
        after: int | str | None = None,
        before: int | str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Pages[SprdTrade]:
        """``GET /api/v5/sprd/trades``: the account's spread trades of the last 7 days,
        newest first (paged by ``tradeId`` with ``endId``/``beginId``).

        Args:
            after: only trades older than this ``tradeId`` (OKX's ``endId``).
            before: only trades newer than this ``tradeId`` (OKX's ``beginId``).
        """
        params = page_params(
            sprdId=_opt_text(sprd_id, "sprd_id"), tradeId=_opt_text(trade_id, "trade_id"),
            ordId=_opt_text(ord_id, "ord_id"),
            begin=_cursor(begin, "begin"), end=_cursor(end, "end"),
            endId=_cursor(after, "after"), beginId=_cursor(before, "before"),
        )
        return self._pages("/api/v5/sprd/trades", params, SprdTrade, signed=self._signed(),
                           limit=limit, page_size=page_size, timeout=timeout)

    async def submit_spread_order(
        self,
        params: PlaceSpreadOrder | Mapping[str, Any],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> OrderAck:
        """``POST /api/v5/sprd/order``: place one spread order.

        Raises:
            OkxOrderError: the exchange refused the order.
        """
        return await self._single("sprd-order", coerce(PlaceSpreadOrder, params), exp_time,
                                  timeout)

    async def amend_spread_order(
        self,
        params: AmendSpreadOrder | Mapping[str, Any],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> OrderAck:
        """``POST /api/v5/sprd/amend-order``: amend one spread order.

        Raises:
            OkxOrderError: refused (51503, 51509, 51510...).
        """
        return await self._single("sprd-amend-order", coerce(AmendSpreadOrder, params),
                                  exp_time, timeout)

    async def cancel_spread_order(
        self,
        params: CancelSpreadOrder | Mapping[str, Any],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> OrderAck:
        """``POST /api/v5/sprd/cancel-order``: cancel one spread order.

        Raises:
            OkxOrderError: refused (51400, 51401, 51402...).
        """
        return await self._single("sprd-cancel-order", coerce(CancelSpreadOrder, params),
                                  exp_time, timeout)

    async def mass_cancel_spread_orders(
        self,
        params: MassCancelSpread | Mapping[str, Any] | None = None,
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> bool:
        """``POST /api/v5/sprd/mass-cancel``: cancel every spread order, or one spread's.

        Returns:
            the exchange's ``result``.
        """
        mass = MassCancelSpread() if params is None else coerce(MassCancelSpread, params)
        return await self._mass("sprd-mass-cancel", mass, exp_time, timeout)

    # ------------------------------------------------------ trade internals

    async def _single(
        self, op: str, model: Any, exp_time: int | None, timeout: float | None
    ) -> OrderAck:
        ack: OrderAck = await self._order_op(op, [model], "single", exp_time, timeout)
        return ack

    async def _batch(
        self, op: str, models: list[Any], exp_time: int | None, timeout: float | None
    ) -> list[OrderAck]:
        acks: list[OrderAck] = await self._order_op(op, models, "batch", exp_time, timeout)
        return acks

    async def _mass(
        self, op: str, model: Any, exp_time: int | None, timeout: float | None
    ) -> bool:
        result: bool = await self._order_op(op, [model], "mass", exp_time, timeout)
        return result

    async def _order_op(
        self, op: str, models: list[Any], kind: Kind, exp_time: int | None,
        timeout: float | None,
    ) -> Any:
        """Prepare, pace and send one trade op; what its answer proves (``_answers.judge``,
        the WebSocket ops' judge: the answer is believed only when it matches)."""
        check_exp_time(op, exp_time)
        self._signed()
        host = self._host
        deadline = host.deadline(timeout)
        # Over for the caller at the earlier of its timeout and its own deadline (a
        # trio scope around the call): that is what expTime tells the exchange, as
        # over WebSocket, so OKX never acts on an order the caller gave up on.
        until = min(deadline, trio.current_effective_deadline())
        wires = await prepare_orders(
            op, models, instruments=host.instruments, next_cl_ord_id=host.cl_ord_ids,
            deadline=deadline, connection=CONNECTION, inst_field="instId",
        )
        first_cl = wires[0].get("clOrdId") if wires else None
        if host.limiter is not None:
            await self._acquire(host.limiter, op, wires, deadline, op, first_cl)
        if (exp_time is None and self.send_exp_time and op in EXP_TIME_OPS
                and math.isfinite(until)):
            # expTime is judged by OKX's clock: measure it first if that is due.
            await host.ensure_clock(until)
            exp_time = host.now_ms() + int((until - trio.current_time()) * 1000)
        headers = {"expTime": str(exp_time)} if exp_time is not None else None
        body: Any = wires if kind == "batch" else wires[0]
        path = _OP_PATHS[op]
        hooks = self.order_hooks
        if hooks is not None:
            hooks.before_send(op, wires)
        sent_at = trio.current_time()
        now_ms_at_send = host.now_ms()

        def unknown(error: OkxRequestError | OkxProtocolError) -> None:
            if hooks is not None:
                hooks.unknown(error, exp_time=exp_time, sent_at=sent_at, deadline=deadline,
                              now_ms_at_send=now_ms_at_send)

        answer: Response | OkxApiError
        try:
            with trio.move_on_at(deadline) as scope:
                data = await host.rest.call("POST", path, body=body, signed=True,
                                            headers=headers, pace=False)
        except OkxApiError as exc:
            if expired(exc):
                host.clock.doubt()
            # Named like the WebSocket op's refusal, then judged like it.
            cls = OkxRateLimitError if isinstance(exc, OkxRateLimitError) else OkxApiError
            answer = cls(exc.code, exc.msg, op, None, exc.data)
        except OkxRequestError as exc:
            # Same class (not sent / lost / timed out), named like the WebSocket op's.
            error = type(exc)(f"{op} over REST: {exc.message}", op, None, first_cl, wires,
                              CONNECTION)
            if not isinstance(error, OkxNotSent):
                unknown(error)
            raise error from exc
        else:
            if scope.cancelled_caught:
                timed_out = OkxRequestTimeout(f"{op} over REST: no answer before the deadline",
                                              op, None, first_cl, wires, CONNECTION)
                unknown(timed_out)
                raise timed_out
            answer = Response("", op, "0", "", data)
        try:
            return judge(op, kind, wires, answer, CONNECTION)
        except OkxProtocolError as exc:
            # Received, answered in a way that proves nothing: outcome unknown.
            if hooks is not None and isinstance(exc, OkxBatchError):
                hooks.refused(op, exc, wires)
            unknown(exc)
            raise
        except OkxApiError as exc:
            if expired(exc):
                host.clock.doubt()
            if hooks is not None:
                hooks.refused(op, exc, wires)
            raise


def _same(arg: Any) -> Any:
    return arg


def _order_ref(ord_id: str | None, cl_ord_id: str | None) -> dict[str, str | None]:
    if ord_id is None and cl_ord_id is None:
        raise ValueError("give ord_id or cl_ord_id")
    return {
        "ordId": _opt_text(ord_id, "ord_id"),
        "clOrdId": None if cl_ord_id is None else check_id(cl_ord_id, "cl_ord_id"),
    }
