"""``open_ws_client`` and ``WsClient``: the nursery-scoped OKX WebSocket client."""

from __future__ import annotations

import logging
import math
import random
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio

from ._exceptions import OkxError, OkxInternalError
from ._models import ConnectionName, Credentials, LifecycleEvent, Response
from ._protocol import EXP_TIME_OPS, RESERVED_OPS, IdGenerator, route_op
from ._session import Session, wait_any
from ._transport import Connector, connect_trio_websocket, connect_websockets
from ._urls import WS_HOSTS, ws_url

log = logging.getLogger("okx_trio")

EVENT_BUFFER = 256
"""Lifecycle events kept per ``events()`` subscriber; the oldest is dropped first."""

_KINDS = ("public", "private", "business")


def _positive(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


def _check_heartbeat(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 < value < 30:
        raise ValueError(f"heartbeat_interval must be in (0, 30) seconds (OKX closes idle "
                         f"connections after 30 s), got {value!r}")


def _check_market(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in WS_HOSTS:
        raise ValueError(f"market must be one of {sorted(WS_HOSTS)}, got {value!r}")


def _check_transport(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, str):
        if value not in ("websockets", "trio-websocket"):
            raise ValueError(f"transport must be 'websockets', 'trio-websocket' or a connector, "
                             f"got {value!r}")
    elif not callable(value):
        raise TypeError("transport must be a name or a connector object")


@attrs.frozen(kw_only=True)
class ClientOptions:
    """The options of ``open_ws_client`` / ``open_ws_api_client`` (see API.md)."""

    credentials: Credentials | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Credentials))
    )
    market: str = attrs.field(default="prod", validator=_check_market)
    demo_trading: bool = False
    base_url: str | None = None
    rest_url: str | None = None
    ssl_context: ssl.SSLContext | None = None
    transport: Any = attrs.field(default="websockets", validator=_check_transport)
    request_timeout: float | None = attrs.field(default=10.0, validator=_positive)
    send_exp_time: bool = True
    rate_limit: bool = True
    heartbeat_interval: float = attrs.field(default=20.0, validator=_check_heartbeat)
    log_lifecycle: bool = True
    # Beyond API.md: tuning knobs, mostly for tests.
    pong_timeout: float = attrs.field(default=5.0, validator=_positive)
    connect_timeout: float = attrs.field(default=10.0, validator=_positive)
    login_timeout: float = attrs.field(default=10.0, validator=_positive)
    reconnect_initial: float = attrs.field(default=0.1, validator=_positive)
    reconnect_max: float = attrs.field(default=30.0, validator=_positive)
    max_connects_per_second: int = 3
    random: random.Random | None = None
    id_prefix: str | None = None
    compression: bool = False
    track_orders: bool = False


@attrs.frozen
class ClientStatistics:
    """A snapshot of the client's internal state (for monitoring and tests)."""

    pending: int
    """Requests waiting for an answer (all connections)."""
    connected: tuple[str, ...]
    """Connection kinds currently up."""
    reconnects: Mapping[str, int]
    """Reconnections per connection kind."""
    subscriptions: int
    """Live server-side subscriptions."""


class _EventStream:
    """An async iterator of lifecycle events with a bounded buffer (oldest dropped)."""

    def __init__(self) -> None:
        self.buffer: deque[LifecycleEvent] = deque(maxlen=EVENT_BUFFER)
        self._wake = trio.Event()
        self.dropped = 0

    def put(self, event: LifecycleEvent) -> None:
        if len(self.buffer) == self.buffer.maxlen:
            self.dropped += 1
        self.buffer.append(event)
        self._wake.set()

    def __aiter__(self) -> _EventStream:
        return self

    async def __anext__(self) -> LifecycleEvent:
        while not self.buffer:
            self._wake = trio.Event()
            await self._wake.wait()
        await trio.lowlevel.checkpoint()
        return self.buffer.popleft()


class WsClient:
    """The OKX WebSocket client. Not constructed directly: use :func:`open_ws_client`."""

    def __init__(self, options: ClientOptions, nursery: trio.Nursery) -> None:
        self.options = options
        self._nursery = nursery
        self._ids = IdGenerator(options.id_prefix)
        self._sessions: dict[str, Session] = {}
        self._event_streams: list[_EventStream] = []
        self._connect_times: deque[float] = deque()
        self._rng = options.random or random.Random()
        self._time_offset_ms = 0
        self._rest_client: Any = None
        self._closed = False
        self._rate_limiter: Any = None
        if options.rate_limit:
            try:
                from ._ratelimit import RateLimiter
            except ImportError:  # pragma: no cover - during development only
                pass
            else:
                self._rate_limiter = RateLimiter()
        transport = options.transport
        if transport == "websockets":
            compression = options.compression

            async def connector(url: str, *, ssl_context: ssl.SSLContext | None,
                                nursery: trio.Nursery) -> Any:
                return await connect_websockets(url, ssl_context=ssl_context, nursery=nursery,
                                                compression=compression)

            self.connector: Connector = connector
        elif transport == "trio-websocket":
            self.connector = connect_trio_websocket
        else:
            self.connector = transport
        self._subscriptions: Any = None

    def __repr__(self) -> str:
        up = [k for k, s in self._sessions.items() if s.active is not None]
        return f"<WsClient market={self.options.market!r} connected={up}>"

    # ------------------------------------------------------------------ time

    @property
    def time_offset_ms(self) -> int:
        """Milliseconds added to the local clock for login timestamps and ``expTime``."""
        return self._time_offset_ms

    def set_time_offset_ms(self, ms: int) -> None:
        """Set the offset between the exchange's clock and the local clock."""
        if isinstance(ms, bool) or not isinstance(ms, int):
            raise TypeError("time offset must be an int number of milliseconds")
        self._time_offset_ms = ms

    def now_ms(self) -> int:
        """The exchange's idea of now: local wall clock plus the offset."""
        return int(time.time() * 1000) + self._time_offset_ms

    async def sync_time(self) -> int:
        """Measure the offset from ``GET /api/v5/public/time`` and apply it; returns it."""
        before = time.time() * 1000
        server_ms = await self.rest.get_server_time_ms()
        after = time.time() * 1000
        offset = int(server_ms - (before + after) / 2)
        self._time_offset_ms = offset
        return offset

    @property
    def rest(self) -> Any:
        """The small REST helper (public endpoints, signed order look-ups)."""
        if self._rest_client is None:
            from ._rest import RestClient, rest_base_url

            o = self.options
            base = rest_base_url(base_url=o.base_url, rest_url=o.rest_url, market=o.market,
                                 demo_trading=o.demo_trading)
            self._rest_client = RestClient(
                base, ssl_context=o.ssl_context, credentials=o.credentials,
                demo_trading=o.demo_trading, time_offset_ms=lambda: self._time_offset_ms,
                # An in-memory connector (the simulator's) may serve REST in memory too.
                transport=getattr(o.transport, "rest_transport", None),
            )
        return self._rest_client

    # ------------------------------------------------------------- connections

    def _session(self, kind: str) -> Session:
        session = self._sessions.get(kind)
        if session is None:
            if self._closed:
                from ._exceptions import OkxNotSent

                raise OkxNotSent("the client is closed", connection=kind)
            o = self.options
            url = ws_url(kind, market=o.market, demo_trading=o.demo_trading, base_url=o.base_url)
            login = kind != "public" and o.credentials is not None
            session = Session(self, kind, url, login=login)
            self._sessions[kind] = session
            if self._subscriptions is not None:
                self._subscriptions.attach(session)
            self._nursery.start_soon(session.run, name=f"okx_trio {kind} session")
        return session

    async def _ensure_connected(self, connection: str, timeout: float | None = None) -> None:
        """Open (and log in) ``connection`` now; raises OkxAuthError/TooSlowError."""
        if connection not in _KINDS:
            raise ValueError(f"connection must be one of {_KINDS}, got {connection!r}")
        if connection != "public" and self.options.credentials is None:
            raise ValueError(f"credentials are required for the {connection} connection")
        session = self._session(connection)
        o = self.options
        t = o.connect_timeout + o.login_timeout if timeout is None else timeout
        with trio.fail_after(t):
            await wait_any(session.ready, session.failed_event)
        if session.failed is not None:
            raise session.failed

    def backoff_delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff: 0-100 ms first, doubling up to ``reconnect_max``."""
        o = self.options
        cap = min(o.reconnect_max, o.reconnect_initial * 2 ** (attempt - 1))
        return self._rng.uniform(0, cap)

    async def pace_connect(self) -> None:
        """Keep new connections within OKX's limit (3 per second)."""
        times = self._connect_times
        limit = self.options.max_connects_per_second
        while True:
            now = trio.current_time()
            while times and now >= times[0] + 1.0:
                times.popleft()
            if len(times) < limit:
                times.append(now)
                return
            await trio.sleep_until(times[0] + 1.0)

    # ------------------------------------------------------------------ events

    def emit(self, kind: str, connection: str, detail: Any = None) -> None:
        """Publish a lifecycle event to ``events()`` subscribers and the log."""
        event = LifecycleEvent(kind, connection, detail)
        if self.options.log_lifecycle:
            level = logging.WARNING if kind in ("exception", "reconnect") else logging.INFO
            if log.isEnabledFor(level):
                log.log(level, "%s connection: %s%s", connection, kind,
                        f" ({detail})" if detail is not None else "")
        for stream in self._event_streams:
            stream.put(event)

    @asynccontextmanager
    async def events(self) -> AsyncIterator[_EventStream]:
        """Lifecycle events (open, reconnect, reconnected, authenticated, notice,
        exception, conn-count) as an async iterator, from now until the block exits.

        The buffer is bounded (256); when it is full the oldest event is dropped.
        """
        stream = _EventStream()
        self._event_streams.append(stream)
        try:
            yield stream
        finally:
            self._event_streams.remove(stream)

    # ----------------------------------------------------------------- requests

    def _deadline(self, timeout: float | None) -> float:
        if timeout is None:
            timeout = self.options.request_timeout
        if timeout is None:
            return math.inf
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError("timeout must be a number of seconds, None or math.inf")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        return trio.current_time() + timeout

    async def request(
        self,
        op: str,
        args: Sequence[Mapping[str, Any]],
        *,
        connection: ConnectionName | None = None,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send an OKX trade-style ``op`` with its ``args`` and wait for the answer.

        The connection is chosen from the op (``connection`` overrides it, and is
        required for an op this client does not know). ``login``, ``subscribe`` and
        ``unsubscribe`` have their own API and are refused here.

        Args:
            op: the OKX op, e.g. ``"order"``.
            args: the list of argument objects, OKX field names.
            connection: ``"public"``, ``"private"`` or ``"business"``.
            exp_time: absolute Unix ms after which the exchange must not act; only
                for ops that accept ``expTime``. By default the deadline is sent.
            timeout: seconds; ``None`` uses the client's ``request_timeout``,
                ``math.inf`` means no deadline.

        Returns:
            the :class:`Response` (``code == "0"``).

        Raises:
            OkxApiError: the exchange answered with ``code != "0"``.
            OkxNotSent: the request never reached the socket (safe to retry).
            OkxConnectionLost: sent, then the connection dropped (outcome unknown).
            OkxRequestTimeout: sent, no answer before the deadline (outcome unknown).
            OkxAuthError: the connection's login was refused.
            ValueError, TypeError: invalid arguments; nothing was sent.
        """
        if not isinstance(op, str):
            raise TypeError(f"op must be a str, not {type(op).__name__}")
        if op in RESERVED_OPS:
            raise ValueError(f"op {op!r} has its own API (subscribe() logs in and subscribes)")
        kind: str | None = connection if connection is not None else route_op(op)
        if kind is None:
            raise ValueError(f"unknown op {op!r}: pass connection='private' or 'business'")
        if kind not in _KINDS:
            raise ValueError(f"connection must be one of {_KINDS}, got {kind!r}")
        if isinstance(args, (str, bytes, Mapping)) or not isinstance(args, Sequence):
            raise TypeError("args must be a list of objects (dicts)")
        for i, item in enumerate(args):
            if not isinstance(item, Mapping):
                raise TypeError(f"args[{i}] must be a mapping, not {type(item).__name__}")
        if exp_time is not None:
            if op not in EXP_TIME_OPS:
                raise ValueError(f"exp_time is not accepted by op {op!r} "
                                 f"(only {', '.join(sorted(EXP_TIME_OPS))})")
            if isinstance(exp_time, bool) or not isinstance(exp_time, int):
                raise TypeError("exp_time must be an int (Unix time in milliseconds)")
        if kind != "public" and self.options.credentials is None:
            raise ValueError(f"credentials are required for op {op!r} ({kind} connection)")
        deadline = self._deadline(timeout)
        exp_offset = None
        if (exp_time is None and self.options.send_exp_time and op in EXP_TIME_OPS
                and deadline != math.inf):
            exp_time = self.now_ms() + int((deadline - trio.current_time()) * 1000)
            exp_offset = self._time_offset_ms
        session = self._session(kind)
        limiter = self._rate_limiter if self.options.rate_limit else None
        return await session.request(
            self._ids(), op, list(args), exp_time=exp_time, deadline=deadline, limiter=limiter,
            exp_offset=exp_offset,
        )

    def _subs(self) -> Any:
        if self._subscriptions is None:
            from ._subscriptions import SubscriptionManager

            self._subscriptions = SubscriptionManager(self)
            for session in self._sessions.values():
                self._subscriptions.attach(session)
        return self._subscriptions

    def subscribe(self, *args: Mapping[str, Any], buffer_size: int | None = None) -> Any:
        """Subscribe to channels; see ``okx_trio._subscriptions.SubscriptionManager.subscribe``.

        An async context manager: entering sends one subscribe per arg and returns
        once every arg is acknowledged; it yields an async iterator of
        :class:`Push` and :class:`Gap`; exiting unsubscribes. ``buffer_size``
        overrides the per-subscriber buffer (default 1024 pushes, 8192 for
        account channels such as ``orders``).
        """
        return self._subs().subscribe(*args, buffer_size=buffer_size)

    def order_book(self, inst_id: str, *, channel: str = "books",
                   snapshot_timeout: float | None = None) -> Any:
        """A locally maintained, sequence-checked order book (async context manager).

        See ``okx_trio._subscriptions.SubscriptionManager.order_book``.
        """
        return self._subs().order_book(inst_id, channel=channel,
                                       snapshot_timeout=snapshot_timeout)

    def next_id(self) -> str:
        """A fresh request id (unique for the client's life)."""
        return self._ids()

    def statistics(self) -> ClientStatistics:
        """Counts of pending requests, live connections, reconnects and subscriptions."""
        subs = self._subscriptions.count() if self._subscriptions is not None else 0
        return ClientStatistics(
            pending=sum(len(s.pending) for s in self._sessions.values()),
            connected=tuple(k for k, s in self._sessions.items() if s.active is not None),
            reconnects={k: s.reconnects for k, s in self._sessions.items()},
            subscriptions=subs,
        )

    async def _aclose(self) -> None:
        self._closed = True
        for session in list(self._sessions.values()):
            await session.aclose()
        if self._rest_client is not None:
            with trio.CancelScope(shield=True):
                await self._rest_client.aclose()


def _raise(exc: BaseException) -> None:
    """Re-raise ``exc`` keeping the ``__context__`` it had (raising would overwrite it)."""
    __tracebackhide__ = True
    context = exc.__context__
    try:
        raise exc
    finally:
        exc.__context__ = context
        del exc, context


@asynccontextmanager
async def open_ws_client(**options: Any) -> AsyncIterator[WsClient]:
    """Open an OKX WebSocket client for the duration of an ``async with`` block.

    Connections open lazily (on the first request or subscription that needs
    them). Entering does not block on the network; exiting closes every
    connection politely (bounded in time) and ends every task the client started.

    An error of the block leaves it as itself; the client's own failures are
    delivered to the calls that wait on them, never as an exception group.
    See API.md for the options.
    """
    opts = ClientOptions(**options)
    user_exc: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            client = WsClient(opts, nursery)
            try:
                yield client
            except BaseException as exc:
                user_exc = exc
                raise
            finally:
                await client._aclose()
                nursery.cancel_scope.cancel(reason="client closing")
    except BaseExceptionGroup as group:
        # Contract: one meaningful exception, never a group made by this library.
        if user_exc is not None and _only_from(group, user_exc):
            _raise(user_exc)
        interrupts = group.subgroup(KeyboardInterrupt)
        if interrupts is not None:
            _raise(interrupts.exceptions[0])
        _, rest = group.split(trio.Cancelled)
        if rest is None:
            raise
        okx = rest.subgroup(OkxError)
        if okx is not None and okx is rest and len(rest.exceptions) == 1:
            _raise(rest.exceptions[0])
        raise OkxInternalError("a background task of okx_trio failed; please report it") from group


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]


def _only_from(group: BaseExceptionGroup[BaseException], user_exc: BaseException) -> bool:
    """True when every non-Cancelled leaf of ``group`` comes from the user's exception.

    Leaves keep their identity when trio splits or rebuilds groups (it does, to
    filter out ``Cancelled``), whereas the groups themselves do not.
    """
    mine = {id(e) for e in _leaves(user_exc)}
    others = [e for e in _leaves(group) if not isinstance(e, trio.Cancelled)]
    return bool(others) and all(id(e) in mine for e in others)
