"""The shared internals of one client, and the nursery that bounds them.

``ClientCore`` is what ``WsClient`` and ``WsApiClient`` are built on:
the options, the nursery, the request ids, the three sessions (created on
first use), the lifecycle events, the connection pacing and backoff, the
exchange clock offset, the REST helper and the typed REST client, the instrument cache, the rate
limiter (its buckets keyed through that cache from the start), the
subscriptions and the live order books. It is the host every lower part
needs (``SessionHost``, ``SubscriptionHost``, ``BookHost``, ``TrackerHost``,
``OrderContext``): each gets it through that small interface, never through
the public client objects.

``open_core`` opens it for the duration of an ``async with`` block and
keeps the openers' exception contract (one meaningful exception, never an
exception group made by this library).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import trio

from . import _clock
from ._books import OrderBooks
from ._clock import ExchangeClock
from ._events import EventHub
from ._exceptions import OkxError, OkxInternalError, OkxNotSent, OkxRequestTimeout
from ._instruments import InstrumentCache
from ._models import AbandonedRequest, ClientStatistics
from ._okx import ConnectionName
from ._options import ClientOptions, deadline_of
from ._order_prep import cl_ord_id_generator
from ._outcomes import UnknownOutcomes
from ._pacing import Backoff, ConnectPacer, RateLimiter
from ._protocol import IdGenerator
from ._rest import RestClient
from ._rest_api import RestApiClient
from ._session import Session
from ._subscriptions import Subscription, SubscriptionManager
from ._transport import Connector, Transport, as_connector, default_ssl_context
from ._urls import rest_base_url, ws_url

__all__ = ["KINDS", "ClientCore", "open_core"]

KINDS: tuple[ConnectionName, ...] = ("public", "private", "business")
"""The connections a client may open."""


class ClientCore:
    """The shared internals of one client (see the module docstring)."""

    def __init__(self, options: ClientOptions, nursery: trio.Nursery) -> None:
        self._options = options
        self._nursery = nursery
        self.ids = IdGenerator(options.id_prefix)
        """Request ids, unique for the client's life."""
        self.cl_ord_ids = cl_ord_id_generator(self.ids.prefix, options.random)
        """Generated clOrdIds (WebSocket and REST places alike), never equal to a request id."""
        self.sessions: dict[str, Session] = {}
        """The sessions opened so far, by connection kind."""
        self.events = EventHub(log_events=options.log_lifecycle)
        self.connector: Connector = as_connector(options.transport,
                                                 compression=options.compression)
        self._pacer = ConnectPacer(options.max_connects_per_second)
        self._backoff = Backoff(options.reconnect_initial, options.reconnect_max,
                                options.random)
        self.clock = ExchangeClock(self._read_offset, automatic=options.sync_clock)
        """The exchange's clock: the offset, and when to measure it (``_clock``)."""
        self._rest: RestClient | None = None
        self._rest_api: RestApiClient | None = None
        self._tls: ssl.SSLContext | None = options.ssl_context
        self._tls_lock = trio.Lock()
        self._rest_ready = trio.Event()
        self._instruments = InstrumentCache(self._fetch_instruments)
        self.limiter: RateLimiter | None = (
            RateLimiter(inst_key=self._instruments.rate_key,
                        inst_type=self._instruments.inst_type_of)
            if options.rate_limit else None
        )
        """Client-side pacing to OKX's trade-op limits (``None``: ``rate_limit=False``)."""
        self._subscriptions: SubscriptionManager | None = None
        self._books: OrderBooks | None = None
        self.unknowns = UnknownOutcomes()
        """When the exchange is certainly done with each recent request of unknown
        outcome (timed out, connection lost, abandoned by its caller)."""
        self.closed = False

    # -- what every part reads

    def check_open(self) -> None:
        """Refuse a call made after the client's block ended: a programming error.

        Raises:
            trio.ClosedResourceError: the client is closed (or closing).
        """
        if self.closed:
            raise trio.ClosedResourceError(
                "the okx_trio client is closed: use it inside its async with block"
            )

    @property
    def options(self) -> ClientOptions:
        """The client's options."""
        return self._options

    @property
    def nursery(self) -> trio.Nursery:
        """The client's nursery: every background task of the client runs here."""
        return self._nursery

    @property
    def instruments(self) -> InstrumentCache:
        """The instrument cache (``instId`` -> ``instIdCode``), filled from REST on demand."""
        return self._instruments

    @property
    def rest(self) -> RestClient:
        """The REST helper.

        Built in a worker thread when the client opens (``warm_up``): its
        first build takes tens of milliseconds (httpx's TLS setup), which on the
        event loop would stall every feed. Asked for before that is done, it is
        built here; never after the client closed.

        Raises:
            OkxNotSent: the client closed before it was ever needed (a background
                task's late call; calls of the user are refused by ``check_open``).
        """
        if self._rest is None:
            if self.closed:
                raise OkxNotSent("the client is closed", connection="rest")
            self._adopt_rest(self._new_rest())
        assert self._rest is not None
        return self._rest

    @property
    def rest_api(self) -> RestApiClient:
        """The typed REST client (``ws.rest``, ``api.rest``), created on first use.

        It sends through ``rest`` and shares the client's instrument cache,
        clock offset, deadlines and trade-op rate limiter.
        """
        if self._rest_api is None:
            self._rest_api = RestApiClient(self, rate_limit=self._options.rate_limit,
                                           send_exp_time=self._options.send_exp_time)
        return self._rest_api

    def _new_rest(self) -> RestClient:
        o = self._options
        base = rest_base_url(base_url=o.base_url, rest_url=o.rest_url, market=o.market,
                             demo_trading=o.demo_trading)
        return RestClient(
            base, ssl_context=o.ssl_context, credentials=o.credentials,
            demo_trading=o.demo_trading, time_offset_ms=lambda: self.clock.offset_ms,
            # An in-memory connector (the simulator's) may serve REST in memory too.
            transport=self.connector.rest_transport,
        )

    def _adopt_rest(self, rest: RestClient) -> bool:
        if self._rest is not None:
            return False
        self._rest = rest
        # Every REST call of the client (order look-ups, book resyncs, instrument
        # lists) is paced to OKX's limit of its endpoint, as the typed ones are.
        rest.pace = self.rest_api.pace
        return True

    async def tls_context(self) -> ssl.SSLContext:
        """The TLS context of the client's ``wss://`` connections: ``ssl_context=``
        when given, else one verifying against the system store, built in a
        worker thread (loading the store takes tens of milliseconds) once per
        process and shared by every client."""
        if self._tls is None:
            async with self._tls_lock:
                if self._tls is None:
                    self._tls = await trio.to_thread.run_sync(default_ssl_context,
                                                              abandon_on_cancel=True)
        return self._tls

    async def warm_up(self) -> None:
        """Build what is slow to build (the TLS context, the REST client) in worker
        threads now, side by side, so that nothing on the event loop waits for it."""
        o = self._options
        urls = [ws_url(kind, market=o.market, demo_trading=o.demo_trading, base_url=o.base_url)
                for kind in KINDS]
        try:
            async with trio.open_nursery() as nursery:
                if any(url.startswith("wss:") for url in urls):
                    nursery.start_soon(self.tls_context)
                if self._rest is None:
                    rest = await trio.to_thread.run_sync(self._new_rest, abandon_on_cancel=True)
                    if not self._adopt_rest(rest):
                        await rest.aclose()  # built meanwhile on first use: unused
        finally:
            self._rest_ready.set()

    async def rest_client(self) -> RestClient:
        """The REST helper. Over the network its first build sets up TLS (tens of
        milliseconds): then this waits for the warm-up's worker thread rather than
        building it on the event loop. An in-memory REST transport builds at once."""
        if self._rest is None and self.connector.rest_transport is None:
            await self._rest_ready.wait()
        return self.rest

    async def _fetch_instruments(
        self, inst_type: str, *, inst_family: str | None = None, series_id: str | None = None
    ) -> list[dict[str, Any]]:
        rest = await self.rest_client()
        return await rest.get_instruments(inst_type, inst_family=inst_family,
                                          series_id=series_id)

    def next_id(self) -> str:
        """A fresh request id."""
        return self.ids()

    def deadline(self, timeout: float | None) -> float:
        """The deadline (trio time) of a call given ``timeout=`` now (see ``deadline_of``)."""
        return deadline_of(timeout, self._options.request_timeout, trio.current_time())

    # -- the clock

    @property
    def time_offset_ms(self) -> int:
        """Milliseconds added to the local clock for login timestamps and ``expTime``."""
        return self.clock.offset_ms

    def set_time_offset_ms(self, ms: int) -> None:
        """Set the offset between the exchange's clock and the local clock."""
        if isinstance(ms, bool) or not isinstance(ms, int):
            raise TypeError("time offset must be an int number of milliseconds")
        self.clock.set(ms)

    def now_ms(self) -> int:
        """The exchange's idea of now: local wall clock plus the offset."""
        return self.clock.now_ms()

    async def sync_time(self, timeout: float | None = None) -> int:
        """Measure the offset from ``GET /api/v5/public/time`` and apply it; returns it.

        Bounded: ``timeout`` seconds (``None``: the client's ``request_timeout``),
        however slowly the server answers.

        Raises:
            OkxRequestTimeout: no whole answer before the deadline.
            OkxError: the REST request failed.
        """
        deadline = self.deadline(timeout)
        with trio.move_on_at(deadline):
            rest = await self.rest_client()
            before = _clock.wall_ms()
            server_ms = await rest.get_server_time_ms()
            after = _clock.wall_ms()
            offset = int(server_ms - (before + after) / 2)
            self.clock.set(offset)
            return offset
        raise OkxRequestTimeout("no answer to GET /api/v5/public/time before the deadline",
                                "GET /api/v5/public/time", connection="rest")

    async def _read_offset(self, deadline: float) -> int:
        return await self.sync_time(max(deadline - trio.current_time(), 0.001))

    async def ensure_clock(self, until: float) -> None:
        """Measure the exchange's clock first if it is due (before the first op
        carrying ``expTime``, or after a doubt), bounded by ``until`` and
        ``_clock.MEASURE_TIMEOUT``; a failure is reported, and the request goes
        out with the offset it has."""
        failure = await self.clock.ensure(until)
        if failure is not None:
            self.emit("exception", "rest", failure)

    # -- the session host

    def emit(self, kind: str, connection: str, detail: Any = None) -> None:
        """Publish a lifecycle event to ``events()`` subscribers and the log."""
        self.events.emit(kind, connection, detail)

    def abandoned(self, request: AbandonedRequest) -> None:
        """A written request's caller was cancelled before its answer: remember when
        the exchange is certainly done with it (for ``resolve``), and tell the app."""
        self.unknowns.record_abandoned(
            request.op, request.id, request.request, exp_time=request.exp_time,
            now=trio.current_time(), now_ms=self.now_ms(),
        )
        self.emit("abandoned", request.connection, request)

    def backoff_delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff: 0-100 ms first, doubling up to ``reconnect_max``."""
        return self._backoff.delay(attempt)

    async def pace_connect(self) -> None:
        """Keep new connections within OKX's limit (3 per second)."""
        await self._pacer.wait()

    async def connect(self, url: str, nursery: trio.Nursery) -> Transport:
        """Open a transport to ``url`` with the client's connector and TLS context."""
        ssl_context = await self.tls_context() if url.startswith("wss:") else None
        return await self.connector(url, ssl_context=ssl_context, nursery=nursery)

    # -- sessions

    def session(self, kind: str) -> Session:
        """The session of connection ``kind``, created and started on first use.

        Raises:
            OkxNotSent: the client is closed.
        """
        session = self.sessions.get(kind)
        if session is None:
            if self.closed:
                raise OkxNotSent("the client is closed", connection=kind)
            o = self._options
            url = ws_url(kind, market=o.market, demo_trading=o.demo_trading, base_url=o.base_url)
            login = kind != "public" and o.credentials is not None
            session = Session(self, kind, url, login=login)
            self.sessions[kind] = session
            if self._subscriptions is not None:
                self._subscriptions.attach(session)
            self._nursery.start_soon(session.run, name=f"okx_trio {kind} session")
        return session

    async def ensure_connected(self, connection: str, timeout: float | None = None) -> None:
        """Open (and log in) ``connection`` now; raises OkxAuthError/TooSlowError."""
        if connection not in KINDS:
            raise ValueError(f"connection must be one of {KINDS}, got {connection!r}")
        if connection != "public" and self._options.credentials is None:
            raise ValueError(f"credentials are required for the {connection} connection")
        session = self.session(connection)
        o = self._options
        t = o.connect_timeout + o.login_timeout if timeout is None else timeout
        with trio.fail_after(t):
            await session.wait_ready()
        session.check_usable()

    # -- subscriptions and books

    def subscriptions(self) -> SubscriptionManager:
        """The subscription manager, created (and hooked into every session) on first use."""
        if self._subscriptions is None:
            self._subscriptions = SubscriptionManager(self)
            for session in self.sessions.values():
                self._subscriptions.attach(session)
        return self._subscriptions

    def books(self) -> OrderBooks:
        """The live order books, created on first use."""
        if self._books is None:
            self._books = OrderBooks(self.subscriptions(), self)
        return self._books

    def subscribe(self, *args: Mapping[str, Any]) -> AbstractAsyncContextManager[Subscription]:
        """``subscribe(*args)`` with the default buffer (the order tracker's use)."""
        return self.subscriptions().subscribe(*args)

    async def wait_live(self, sub: Subscription) -> None:
        """Until every arg of ``sub`` is acknowledged again."""
        await self.subscriptions().wait_live(sub)

    # -- statistics and closing

    def statistics(self) -> ClientStatistics:
        """Counts of pending requests, live connections, reconnects and subscriptions."""
        manager = self._subscriptions
        return ClientStatistics(
            pending=sum(len(s.pending) for s in self.sessions.values()),
            connected=tuple(k for k, s in self.sessions.items() if s.active is not None),
            reconnects={k: s.reconnects for k, s in self.sessions.items()},
            subscriptions=manager.count() if manager is not None else 0,
            unrouted_pushes=manager.unrouted if manager is not None else 0,
        )

    def tables(self) -> dict[str, int]:
        """Sizes of the internal subscription tables (for tests and monitoring)."""
        subs = self.subscriptions().tables()
        return {
            "server_subscriptions": subs["server_subscriptions"],
            "books": self._books.count() if self._books is not None else 0,
            "pending_unsubscribes": subs["pending_unsubscribes"],
        }

    async def aclose(self) -> None:
        """Close every session politely (bounded), then the REST helper."""
        self.closed = True
        for session in list(self.sessions.values()):
            await session.aclose()
        if self._rest is not None:
            with trio.CancelScope(shield=True):
                await self._rest.aclose()


# ---------------------------------------------------------------------------
# The opener
#
# Contract: what leaves the block is the caller's own exception as itself (its
# own cancellation included); else a bare KeyboardInterrupt when there is one
# anywhere in the tree; else a lone OkxError when that is all that failed;
# else OkxInternalError chained from the group. The client's own failures are
# delivered to the calls that wait on them, so the nursery below only ever
# holds background tasks that do not raise expected errors.


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
async def open_core(options: ClientOptions) -> AsyncIterator[ClientCore]:
    """A ``ClientCore`` for the duration of an ``async with`` block.

    Entering does not block on the network; exiting closes every connection
    politely (bounded in time) and ends every task the client started.
    """
    user_exc: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            core = ClientCore(options, nursery)
            nursery.start_soon(core.warm_up, name="okx_trio warm-up")
            try:
                yield core
            except BaseException as exc:
                user_exc = exc
                raise
            finally:
                await core.aclose()
                nursery.cancel_scope.cancel(reason="client closing")
    except BaseExceptionGroup as group:
        _raise(_what_leaves(group, user_exc))


def _what_leaves(group: BaseExceptionGroup[BaseException],
                 user_exc: BaseException | None) -> BaseException:
    """The one exception the opener raises for ``group`` (see the contract above)."""
    leaves = _leaves(group)
    others = [e for e in leaves if not isinstance(e, trio.Cancelled)]
    if user_exc is not None:
        mine = {id(e) for e in _leaves(user_exc)}
        if all(id(e) in mine for e in others):
            # Only the caller's own exception (or its cancellation) and Cancelled.
            return user_exc
    for leaf in leaves:
        if isinstance(leaf, KeyboardInterrupt):
            return leaf
    if not others:
        # Only cancellations: the caller's scope was cancelled while the client closed.
        return leaves[0]
    if len(others) == 1 and isinstance(others[0], OkxError):
        return others[0]
    error = OkxInternalError("a background task of okx_trio failed; please report it")
    error.__cause__ = group
    return error


def _leaves(exc: BaseException) -> list[BaseException]:
    """Every non-group exception in ``exc``'s tree, depth first.

    Leaves keep their identity when trio splits or rebuilds groups (it does, to
    filter out ``Cancelled``), whereas the groups themselves do not.
    """
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]
