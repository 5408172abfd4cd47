"""A small OKX REST helper on httpx (which runs on trio through anyio).

Public endpoints the WebSocket client needs (server time, instruments,
order-book snapshots) and signed private look-ups used to resolve "outcome
unknown" orders (``GET /api/v5/trade/order``, ``/api/v5/sprd/order``,
``/api/v5/trade/orders-pending``).

Every failure is mapped into the ``OkxError`` tree in one place
(``RestClient._exchange`` and ``_parse_data``):

* could not connect (refused, DNS, TLS verification, pool timeout) ->
  ``OkxNotSent`` (nothing reached the server);
* no answer in time after sending -> ``OkxRequestTimeout``;
* connection dropped after sending -> ``OkxConnectionLost``;
* HTTP 429 or ``code`` 50011/50061 -> ``OkxRateLimitError``;
* authentication codes (501xx) -> ``OkxAuthError``;
* any other ``code != "0"`` -> ``OkxApiError`` with ``op="GET /path"``;
* a body that is not OKX's JSON envelope -> ``OkxProtocolError``.

Secrets never leave this module except inside the signed request headers:
they are not logged, not in ``repr()`` and not in any exception message.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

from . import _clock
from ._exceptions import (
    OkxApiError,
    OkxAuthError,
    OkxConnectionLost,
    OkxError,
    OkxNotSent,
    OkxProtocolError,
    OkxRateLimitError,
    OkxRequestTimeout,
)
from ._models import Credentials
from ._okx import AUTH_ERROR_CODES, RATE_LIMIT_CODES
from ._protocol import check_id, rest_sign

__all__ = ["RestClient", "rest_timestamp"]

log = logging.getLogger("okx_trio")

_CONNECTION = "rest"


_DEFAULT_CONTEXTS: dict[tuple[str | None, ...], ssl.SSLContext] = {}
"""httpx's default verifying contexts, one per trust source (see ``default_rest_ssl_context``)."""
_DEFAULT_LOCK = threading.Lock()


def default_rest_ssl_context(trust_env: bool) -> ssl.SSLContext:
    """httpx's default verifying context (certifi's store; with ``trust_env``,
    ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set), built once per process.

    Every client builds a REST client, and each context loads a whole trust
    store: ~0.7 MiB and tens of milliseconds apiece. ``SSLContext`` is meant to
    be shared; the ones built here are never changed after they are made but
    for httpx setting the same ALPN list on each connection.
    """
    key: tuple[str | None, ...] = (
        ("env", os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        if trust_env else ("certifi",))
    ctx = _DEFAULT_CONTEXTS.get(key)
    if ctx is None:
        # RestClients are built in worker threads: one loads the store, others wait.
        with _DEFAULT_LOCK:
            ctx = _DEFAULT_CONTEXTS.get(key)
            if ctx is None:
                ctx = _DEFAULT_CONTEXTS[key] = httpx.create_ssl_context(trust_env=trust_env)
    return ctx


def rest_timestamp(ms: int) -> str:
    """OKX's REST timestamp: ISO 8601 UTC with milliseconds, e.g. ``2020-12-08T09:08:57.715Z``."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class RestClient:
    """A small async OKX REST client (httpx on trio).

    Use it as ``async with RestClient(...) as rest:``, or call ``aclose``
    when done. TLS is verified by default (``ssl_context=None`` means httpx's
    default verifying context).
    """

    def __init__(
        self,
        base_url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = 10.0,
        credentials: Credentials | None = None,
        demo_trading: bool = False,
        time_offset_ms: Callable[[], int] | None = None,
        trust_env: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Create the client (no connection is opened until the first request).

        Args:
            base_url: ``http(s)://host[:port]``, see ``rest_base_url``.
            ssl_context: context for ``https://``; default: verify with httpx's
                default trust store (one context shared by the process's clients).
            timeout: seconds allowed for each phase (connect, write, read, pool);
                ``None`` for none.
            credentials: needed for the signed (private) requests.
            demo_trading: send ``x-simulated-trading: 1`` on every request.
            time_offset_ms: returns the ms to add to the local clock for
                request timestamps (the client's measured server-time offset).
            trust_env: let httpx read proxy settings and ``.netrc`` from the
                environment (off by default so requests go where they are told).
            transport: an httpx transport to use instead of the network (the
                simulator's in-memory REST, ``sim.connect_memory().rest_transport``).

        Raises:
            ValueError: a bad ``base_url`` or ``timeout``.
            TypeError: ``credentials`` is not a ``Credentials``.
        """
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http:// or https:// URL, got {base_url!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout!r}")
        if credentials is not None and not isinstance(credentials, Credentials):
            raise TypeError(
                f"credentials must be okx_trio.Credentials, not {type(credentials).__name__}"
            )
        self.base_url = base_url.rstrip("/")
        self.demo_trading = demo_trading
        self._credentials = credentials
        self._time_offset_ms = time_offset_ms
        self._closed = False
        self.pace: Callable[[str, Mapping[str, str | None]], Awaitable[None]] | None = None
        """Awaited before each request with ``("METHOD /path", params)``: waits until
        OKX's rate limit of the endpoint allows it (the client's REST limiter)."""
        headers = {"Accept": "application/json", "User-Agent": "okx-trio"}
        if demo_trading:
            headers["x-simulated-trading"] = "1"
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            verify=(ssl_context if ssl_context is not None
                    else default_rest_ssl_context(trust_env)),
            timeout=httpx.Timeout(timeout),
            headers=headers,
            trust_env=trust_env,
            transport=transport,
        )

    def __repr__(self) -> str:
        return (
            f"<RestClient {self.base_url} demo_trading={self.demo_trading} "
            f"signed={self._credentials is not None}{' closed' if self._closed else ''}>"
        )

    @property
    def signed(self) -> bool:
        """True when the client has credentials (it can sign requests)."""
        return self._credentials is not None

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._client.aclose()

    # -- public endpoints ----------------------------------------------------

    async def get_server_time_ms(self) -> int:
        """``GET /api/v5/public/time``: the exchange's clock in ms.

        Raises:
            OkxError: see the module docstring.
        """
        data = await self._request("GET", "/api/v5/public/time")
        try:
            return int(data[0]["ts"])
        except (IndexError, KeyError, TypeError, ValueError):
            raise OkxProtocolError("GET /api/v5/public/time: no ts in the answer") from None

    async def get_instruments(
        self,
        inst_type: str,
        inst_id: str | None = None,
        *,
        inst_family: str | None = None,
        series_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/public/instruments``: instrument definitions as received.

        Args:
            inst_type: ``SPOT``, ``MARGIN``, ``SWAP``, ``FUTURES``, ``OPTION``,
                ``EVENTS``.
            inst_id: only this instrument.
            inst_family: only this family (``BTC-USD``); required for ``OPTION``.
            series_id: only this series (``BTC-ABOVE-DAILY``); required for ``EVENTS``.

        Raises:
            ValueError: empty ``inst_type``, ``OPTION`` without ``inst_family`` or
                ``EVENTS`` without ``series_id`` (OKX would refuse them: 50015).
            OkxError: see the module docstring.
        """
        _need_str(inst_type, "inst_type")
        params = {"instType": inst_type}
        if inst_id is not None:
            params["instId"] = _need_str(inst_id, "inst_id")
        if inst_family is not None:
            params["instFamily"] = _need_str(inst_family, "inst_family")
        elif inst_type == "OPTION":
            raise ValueError("OKX lists OPTION instruments one family at a time: "
                             "give inst_family (e.g. 'BTC-USD')")
        if series_id is not None:
            params["seriesId"] = _need_str(series_id, "series_id")
        elif inst_type == "EVENTS":
            raise ValueError("OKX lists EVENTS instruments one series at a time: "
                             "give series_id (e.g. 'BTC-ABOVE-DAILY')")
        return await self._request("GET", "/api/v5/public/instruments", params=params)

    async def get_order_book(
        self, inst_id: str, sz: int = 400, *, rpi: bool = False
    ) -> dict[str, Any]:
        """``GET /api/v5/market/books``: an order-book snapshot (the first data item).

        The item is as received: ``asks``, ``bids`` (``[px, sz, "0", count]``),
        ``ts`` and ``seqId`` (the sequence the book channels chain to); feed it
        to ``BookState.apply_rest_snapshot``.

        Args:
            inst_id: the instrument.
            sz: levels per side, 1-400.
            rpi: ask ``GET /api/v5/market/books-rpi`` instead: the book with
                Retail Price Improvement orders, levels ``[px, totalQty,
                nonRpiQty, count]``, in the ``books-rpi`` channel's sequence.

        Raises:
            ValueError: empty ``inst_id`` or ``sz`` not an int from 1 to 400.
            OkxError: see the module docstring.
        """
        _need_str(inst_id, "inst_id")
        if not isinstance(sz, int) or isinstance(sz, bool) or not 1 <= sz <= 400:
            raise ValueError(f"sz must be an int from 1 to 400, got {sz!r}")
        path = "/api/v5/market/books-rpi" if rpi else "/api/v5/market/books"
        params = {"instId": inst_id, "sz": str(sz)}
        data = await self._request("GET", path, params=params)
        if not data:
            raise OkxProtocolError(f"GET {path}: no order book for {inst_id}")
        return data[0]

    # -- signed endpoints ------------------------------------------------------

    async def request_signed(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> list[dict[str, Any]]:
        """Send a signed private request and return the answer's ``data`` list.

        The signature covers ``timestamp + METHOD + path?query + body`` exactly
        as sent (OKX REST authentication); the timestamp is the local clock
        plus ``time_offset_ms()``.

        Args:
            method: ``"GET"`` or ``"POST"``.
            path: e.g. ``"/api/v5/trade/order"``.
            params: query parameters (``None`` values are left out).
            body: a JSON-serialisable body (``POST``).

        Raises:
            ValueError: no credentials, a bad method or path.
            OkxError: see the module docstring.
        """
        if self._credentials is None:
            raise ValueError("signed REST requests need credentials")
        return await self._request(method, path, params=params, body=body, signed=True)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | None] | None = None,
        body: Any = None,
        signed: bool = False,
        headers: Mapping[str, str] | None = None,
        pace: bool = True,
    ) -> list[Any]:
        """Send one request and return the answer's ``data`` list as received.

        The items are objects for most endpoints and arrays for candles; the
        typed client (``RestApiClient``) builds its views from them.

        Args:
            method: ``"GET"`` or ``"POST"``.
            path: e.g. ``"/api/v5/market/candles"``.
            params: query parameters (``None`` values are left out).
            body: a JSON-serialisable body (``POST``).
            signed: sign the request (needs credentials).
            headers: more request headers (``expTime``).
            pace: wait for ``pace`` first (off when the caller has paced).

        Raises:
            ValueError: a bad method or path, or ``signed`` without credentials.
            OkxError: see the module docstring.
        """
        if signed and self._credentials is None:
            raise ValueError("signed REST requests need credentials")
        status, content, op = await self._exchange(method, path, params, body, signed, headers,
                                                   pace)
        return _parse_data(status, content, op)

    async def get_order(
        self, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> dict[str, Any] | None:
        """``GET /api/v5/trade/order``: one order's current state as received.

        Returns ``None`` when the answer holds no item; an unknown order is
        reported by OKX as ``OkxApiError`` code ``51603``.

        Raises:
            ValueError: neither ``ord_id`` nor ``cl_ord_id``, or a malformed id.
            OkxError: see the module docstring.
        """
        params = {"instId": _need_str(inst_id, "inst_id"), **_order_ids(ord_id, cl_ord_id)}
        data = await self.request_signed("GET", "/api/v5/trade/order", params)
        return data[0] if data else None

    async def get_sprd_order(
        self, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> dict[str, Any] | None:
        """``GET /api/v5/sprd/order``: one spread order's current state as received.

        Returns ``None`` when the answer holds no item.

        Raises:
            ValueError: neither ``ord_id`` nor ``cl_ord_id``, or a malformed id.
            OkxError: see the module docstring.
        """
        data = await self.request_signed("GET", "/api/v5/sprd/order", _order_ids(ord_id, cl_ord_id))
        return data[0] if data else None

    async def get_orders_pending(
        self, inst_type: str | None = None, inst_id: str | None = None
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/trade/orders-pending``: open orders as received (first page).

        Raises:
            ValueError: an empty ``inst_type`` or ``inst_id``.
            OkxError: see the module docstring.
        """
        params: dict[str, str] = {}
        if inst_type is not None:
            params["instType"] = _need_str(inst_type, "inst_type")
        if inst_id is not None:
            params["instId"] = _need_str(inst_id, "inst_id")
        return await self.request_signed("GET", "/api/v5/trade/orders-pending", params)

    async def get_sprd_orders_pending(self, sprd_id: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/v5/sprd/orders-pending``: open spread orders as received (first page).

        Raises:
            ValueError: an empty ``sprd_id``.
            OkxError: see the module docstring.
        """
        params: dict[str, str] = {}
        if sprd_id is not None:
            params["sprdId"] = _need_str(sprd_id, "sprd_id")
        return await self.request_signed("GET", "/api/v5/sprd/orders-pending", params)

    # -- the one place requests are sent and errors mapped ---------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | None] | None = None,
        body: Any = None,
        signed: bool = False,
    ) -> list[dict[str, Any]]:
        status, content, op = await self._exchange(method, path, params, body, signed, None, True)
        data = _parse_data(status, content, op)
        items = [d for d in data if isinstance(d, dict)]
        if len(items) != len(data):
            raise OkxProtocolError(f"{op}: data is not a list of objects")
        return items

    async def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | None] | None,
        body: Any,
        signed: bool,
        extra_headers: Mapping[str, str] | None,
        pace: bool,
    ) -> tuple[int, bytes, str]:
        """Send one request: ``(HTTP status, body, "METHOD /path")``."""
        method = method.upper()
        if method not in ("GET", "POST"):
            raise ValueError(f"method must be GET or POST, got {method!r}")
        if not isinstance(path, str) or not path.startswith("/") or "?" in path:
            raise ValueError(f"path must start with '/' and carry no query, got {path!r}")
        op = f"{method} {path}"
        if pace and self.pace is not None and not self._closed:
            await self.pace(op, params or {})
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        target = f"{path}?{query}" if query else path
        body_text = "" if body is None else orjson.dumps(body).decode()
        headers: dict[str, str] = dict(extra_headers or {})
        if body is not None:
            headers["Content-Type"] = "application/json"
        if signed:
            headers.update(self._auth_headers(method, target, body_text))
        if self._closed:
            raise OkxNotSent(f"{op}: the REST client is closed", op, connection=_CONNECTION)
        started = time.perf_counter()
        try:
            response = await self._client.request(
                method,
                target,
                content=body_text.encode() if body is not None else None,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise _transport_error(exc, op) from exc
        log.debug(
            "REST %s -> HTTP %d in %.1f ms",
            op,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response.status_code, response.content, op

    def _auth_headers(self, method: str, target: str, body: str) -> dict[str, str]:
        creds = self._credentials
        assert creds is not None  # checked by request_signed
        offset = self._time_offset_ms() if self._time_offset_ms is not None else 0
        # The one local wall clock (``_clock.wall_ms``), the same as ``expTime``'s:
        # a test that pins it pins both.
        timestamp = rest_timestamp(int(_clock.wall_ms()) + int(offset))
        return {
            "OK-ACCESS-KEY": creds.api_key,
            "OK-ACCESS-SIGN": rest_sign(creds.secret_key, timestamp, method, target, body),
            "OK-ACCESS-TIMESTAMP": timestamp,
            "OK-ACCESS-PASSPHRASE": creds.passphrase,
        }


def _need_str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{field} must not be empty")
    return value


def _order_ids(ord_id: str | None, cl_ord_id: str | None) -> dict[str, str]:
    if ord_id is None and cl_ord_id is None:
        raise ValueError("give ord_id or cl_ord_id")
    ids: dict[str, str] = {}
    if ord_id is not None:
        ids["ordId"] = _need_str(ord_id, "ord_id")
    if cl_ord_id is not None:
        ids["clOrdId"] = check_id(cl_ord_id, "cl_ord_id")
    return ids


def _root_cause(exc: BaseException) -> BaseException:
    """The first exception along the cause/context chain that has a message."""
    for _ in range(10):  # chains are short; the bound guards against cycles
        nxt = exc.__cause__ or exc.__context__
        if str(exc) or nxt is None:
            break
        exc = nxt
    return exc


def _transport_error(exc: httpx.HTTPError, op: str) -> OkxError:
    """Map an httpx failure to the OkxError tree (messages carry no headers)."""
    kind = type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        # httpx often leaves its own message empty (a TLS failure); the cause says why.
        detail = str(exc) or repr(_root_cause(exc))
        return OkxNotSent(
            f"{op}: could not reach the REST server ({kind}: {detail})", op,
            connection=_CONNECTION,
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return OkxNotSent(f"{op}: {exc}", op, connection=_CONNECTION)
    if isinstance(exc, httpx.TimeoutException):
        return OkxRequestTimeout(f"{op}: no answer in time ({kind})", op, connection=_CONNECTION)
    if isinstance(exc, httpx.TransportError):
        return OkxConnectionLost(
            f"{op}: connection lost before the answer ({kind}: {exc})", op, connection=_CONNECTION
        )
    return OkxProtocolError(f"{op}: bad HTTP answer ({kind}: {exc})")


def _parse_data(status: int, content: bytes, op: str) -> list[Any]:
    """Turn an HTTP answer into its ``data`` list, or raise the mapped error.

    Real 401 and 429 bodies carry no ``data`` key (``{"msg":..., "code":...}``)
    and old ones a numeric ``code``: both are read.
    """
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError:
        payload = None
    if not isinstance(payload, dict) or "code" not in payload:
        if status == 429:
            raise OkxRateLimitError("429", "HTTP 429 Too Many Requests", op)
        raise OkxProtocolError(
            f"{op}: HTTP {status} without OKX's JSON envelope ({len(content)} bytes)"
        )
    code = str(payload["code"])
    msg = str(payload.get("msg") or "")
    data = payload.get("data")
    if code == "0":
        if not 200 <= status < 300:
            raise OkxProtocolError(f"{op}: HTTP {status} with code 0")
        if not isinstance(data, list):
            raise OkxProtocolError(f"{op}: data is not a list")
        return data
    items = [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
    if status == 429 or code in RATE_LIMIT_CODES:
        raise OkxRateLimitError(code, msg, op, None, items)
    if code in AUTH_ERROR_CODES:
        raise OkxAuthError(code, msg, _CONNECTION)
    raise OkxApiError(code, msg, op, None, items)
