"""Subscriptions that survive reconnects, and sequence-checked order books.

:class:`SubscriptionManager` (one per client, created on first use) keeps one
*server subscription* per distinct arg, shared by every local subscriber of
that arg and reference counted: the first subscriber sends the ``subscribe``,
the last one out sends the ``unsubscribe``. It hooks into every
:class:`~okx_trio._session.Session`:

* ``push_handler``: called by the session's reader for each push of the
  active connection (and of one being retired after a 64008 notice); it hands
  the push to the subscribers of its arg, if it came from the connection that
  arg is live on, without ever blocking (each subscriber has a bounded buffer,
  see :class:`Subscription`);
* ``on_lost``: the active connection dropped: every subscriber whose stream was
  live gets ``Gap(reason="reconnect")`` at once, so the gap sits before the
  first push of the next connection;
* ``on_activated``: a connection became active (after its login, so private
  channels are only re-sent once logged in): every live arg is subscribed
  again. After a 64008 notice the session opens the new connection before
  closing the old one (make-before-break): each arg keeps taking its pushes
  from the old connection until the new connection acknowledges it, then from
  the new one, and the session closes the old connection only after those
  acks (and the answers to requests in flight there). Nothing is lost, so no
  ``Gap`` is given; an event the exchange pushed on both connections around
  the ack may arrive twice (order-book feeds restart from the new snapshot);
* ``on_failed`` / ``on_conn_count``: a fatal session error, or a
  ``channel-conn-count-error``, fails the affected subscriptions; the error is
  raised from the subscriber's next iteration.

Order books (:class:`LiveOrderBook`) are kept by a shared ``_BookFeed`` per
channel and instrument, which applies pushes in the reader with
:class:`~okx_trio._orderbook.BookState` and resynchronises in a small
background task when the chain breaks.
"""

from __future__ import annotations

import copy
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs
import trio

from ._exceptions import (
    OkxApiError,
    OkxConnectionLost,
    OkxError,
    OkxNotSent,
    OkxProtocolError,
    OkxRequestTimeout,
)
from ._models import Gap, Push
from ._orderbook import CHANNEL_DEPTHS, BookState, OrderBook
from ._protocol import ChannelConnCount, SubscribeAck, route_channel

if TYPE_CHECKING:
    from decimal import Decimal

    from ._client import WsClient
    from ._session import Connection, Pending, Session

__all__ = [
    "BookStatistics",
    "LiveOrderBook",
    "Subscription",
    "SubscriptionError",
    "SubscriptionManager",
    "SubscriptionStatistics",
]

log = logging.getLogger("okx_trio")

PUBLIC_BUFFER: Final = 1024
"""Default buffer (pushes) of a subscriber to market-data channels."""
PRIVATE_BUFFER: Final = 8192
"""Default buffer of a subscriber to account channels, where every push matters."""
LARGE_BUFFER_CHANNELS: Final = frozenset(
    {"orders", "fills", "positions", "account", "balance_and_position", "sprd-orders",
     "sprd-trades", "orders-algo", "algo-advance", "liquidation-warning"}
)
"""Channels whose subscribers get :data:`PRIVATE_BUFFER` by default."""
UNSUBSCRIBE_WAIT: Final = 5.0
"""Longest time leaving a subscription waits for the ``unsubscribe`` ack."""
SNAPSHOT_TIMEOUT: Final = 2.0
"""How long an order book waits for a WebSocket snapshot before asking REST."""
REST_CHANNELS: Final = frozenset({"books", "books-l2-tbt"})
"""Book channels whose sequence matches ``GET /api/v5/market/books``."""
_FULL_BOOK_CHANNELS: Final = frozenset({"books5", "bbo-tbt"})
_RETRY_INITIAL: Final = 0.2
_RETRY_MAX: Final = 5.0
_ALIAS_LIMIT: Final = 4096
FAIR_EVERY: Final = 256
"""Buffered items a subscriber may take without a schedule point."""

_Key = frozenset[tuple[str, Any]]


class SubscriptionError(OkxApiError):
    """The exchange refused a subscription (an ``OkxApiError`` naming the arg).

    Attributes:
        arg: the refused arg; also ``data[0]``.
    """

    def __init__(
        self,
        code: str,
        msg: str,
        op: str | None = "subscribe",
        id: str | None = None,
        arg: Mapping[str, Any] | None = None,
    ) -> None:
        arg_dict = dict(arg or {})
        OkxError.__init__(self, code, msg, op, id, arg_dict)
        self.code = code
        self.msg = msg
        self.op = op
        self.id = id
        self.arg: dict[str, Any] = arg_dict
        self.data: list[Mapping[str, Any]] = [arg_dict]

    def __str__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in self.arg.items())
        return f"OKX {self.op or 'subscribe'} of {{{fields}}} refused: {self.code} {self.msg}"


@attrs.frozen
class SubscriptionStatistics:
    """A snapshot of one subscriber's buffer (see :meth:`Subscription.statistics`)."""

    buffered: int
    """Items (pushes and gaps) waiting to be read."""
    dropped: int
    """Pushes discarded from the full buffer since the subscription began."""
    capacity: int
    """The buffer size."""


@attrs.frozen
class BookStatistics:
    """A snapshot of an order book's counters (see :meth:`LiveOrderBook.statistics`)."""

    updates: int
    """Pushes applied to the book (snapshots included)."""
    resyncs: int
    """Times the book was found invalid and rebuilt."""
    rest_snapshots: int
    """Rebuilds that used ``GET /api/v5/market/books``."""
    coalesced: int
    """Updates that got no yield of their own because the reader was behind."""
    buffered: int
    """Updates held while waiting for a REST snapshot."""
    synced: bool
    """True while the book is valid."""


# ---------------------------------------------------------------------------
# Validation


def _normalize_args(args: Sequence[Any]) -> list[dict[str, str]]:
    if not args:
        raise ValueError("subscribe() needs at least one arg, e.g. {'channel': 'tickers', ...}")
    out: list[dict[str, str]] = []
    seen: set[_Key] = set()
    for i, arg in enumerate(args):
        if not isinstance(arg, Mapping):
            raise TypeError(f"subscribe arg {i} must be a mapping, not {type(arg).__name__}")
        norm: dict[str, str] = {}
        for field, value in arg.items():
            if not isinstance(field, str):
                raise TypeError(f"subscribe arg {i}: field names must be str, got {field!r}")
            if not isinstance(value, str):
                raise TypeError(
                    f"subscribe arg {i}: field {field!r} must be a str, "
                    f"not {type(value).__name__}"
                )
            norm[field] = value
        if not norm.get("channel"):
            raise ValueError(f"subscribe arg {i} needs a non-empty 'channel'")
        key = frozenset(norm.items())
        if key in seen:
            raise ValueError(f"subscribe arg {i} repeats an earlier arg: {norm}")
        seen.add(key)
        out.append(norm)
    return out


def _capacity_for(args: Sequence[Mapping[str, str]]) -> int:
    if any(a["channel"] in LARGE_BUFFER_CHANNELS for a in args):
        return PRIVATE_BUFFER
    return PUBLIC_BUFFER


def _copy_error(exc: OkxError) -> OkxError:
    # Each subscriber raises its own copy, so tracebacks do not pile up on one object.
    try:
        return copy.copy(exc)
    except Exception:  # pragma: no cover - every OkxError keeps its args
        return exc


# ---------------------------------------------------------------------------
# Server subscriptions


class _Sink(Protocol):
    def _deliver(self, push: Push) -> None: ...

    def _gap(self, reason: str) -> None: ...

    def _fail(self, exc: OkxError) -> None: ...


class _ServerSub:
    """One arg subscribed on the exchange, shared by its local subscribers.

    ``state``: ``subscribing`` (a subscribe is queued or in flight),
    ``live`` (acknowledged on ``conn``), ``down`` (to be sent when a usable
    connection is active), ``failed`` (refused; ``error``).
    """

    __slots__ = ("arg", "conn", "error", "ever_live", "key", "kind", "needs_login",
                 "pending", "released", "session", "settled", "sinks", "state")

    def __init__(self, session: Session, arg: dict[str, str], key: _Key, kind: str,
                 needs_login: bool) -> None:
        self.session = session
        self.arg = arg
        self.key = key
        self.kind = kind
        self.needs_login = needs_login
        self.sinks: list[_Sink] = []
        self.state = "down"
        self.pending: Pending | None = None
        self.conn: object | None = None
        self.ever_live = False
        self.error: OkxError | None = None
        self.settled = trio.Event()
        self.released = False

    def __repr__(self) -> str:
        return f"<server subscription {self.arg} {self.state} sinks={len(self.sinks)}>"

    def set_state(self, state: str) -> None:
        self.state = state
        if state in ("live", "failed"):
            self.settled.set()
        elif self.settled.is_set():
            self.settled = trio.Event()


# ---------------------------------------------------------------------------
# Subscribers


class Subscription:
    """The pushes of one ``subscribe()`` call: an async iterator of :class:`Push` and :class:`Gap`.

    Yielded by ``async with client.subscribe(*args) as sub``; iterate it with
    ``async for item in sub``. Items of all its args arrive in the order the
    exchange pushed them (per connection).

    * A :class:`Gap` marks a place where pushes may be missing: ``"reconnect"``
      (the connection was replaced; the args were subscribed again) or
      ``"dropped"`` (``dropped`` pushes were discarded because this subscriber
      fell behind: the buffer holds ``capacity`` items and the oldest go
      first). The Gap stands exactly where the missing pushes would have been.
    * A later failure of the subscription (a resubscription the exchange
      refuses, a ``channel-conn-count-error``, a refused login) is raised from
      the next iteration at once, ahead of any pushes still buffered, and again
      from every later one.
    * The iteration ends when the ``async with`` block exits.

    One consumer task is the intended use; several tasks may iterate it, each
    item then goes to exactly one of them.
    """

    def __init__(self, args: Sequence[dict[str, str]], capacity: int) -> None:
        self.args: tuple[dict[str, str], ...] = tuple(args)
        """The args of this subscription, as given."""
        self._capacity = capacity
        self._buffer: deque[Push | Gap] = deque()
        self._wake = trio.Event()
        self._dropped = 0
        self._lost_gap = False
        self._dropped_total = 0
        self._error: OkxError | None = None
        self._closed = False
        self._servers: list[_ServerSub] = []
        self._run = 0

    def __repr__(self) -> str:
        channels = ",".join(a["channel"] for a in self.args)
        return f"<Subscription {channels} buffered={len(self._buffer)}>"

    # -- fed by the manager (the session's reader): never blocks

    def _deliver(self, push: Push) -> None:
        buf = self._buffer
        if len(buf) >= self._capacity:
            self._drop_oldest()
        buf.append(push)
        self._wake.set()

    def _drop_oldest(self) -> None:
        old = self._buffer.popleft()
        if type(old) is Push:
            self._dropped += 1
            self._dropped_total += 1
        else:
            self._lost_gap = True

    def _gap(self, reason: str) -> None:
        buf = self._buffer
        # Merge with a Gap still unread at the tail; once read, a new loss needs its own.
        if self._closed or (buf and type(buf[-1]) is Gap):
            return
        if len(buf) >= self._capacity:
            self._drop_oldest()
        buf.append(Gap(reason))
        self._wake.set()

    def _fail(self, exc: OkxError) -> None:
        if self._error is None:
            self._error = exc
        self._wake.set()

    def _close(self) -> None:
        self._closed = True
        self._buffer.clear()
        self._wake.set()

    # -- the consumer side

    def statistics(self) -> SubscriptionStatistics:
        """Buffered items, pushes dropped so far, and the buffer size."""
        return SubscriptionStatistics(len(self._buffer), self._dropped_total, self._capacity)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Push | Gap:
        # The reader decodes a whole socket read (often 100+ pushes) per
        # scheduler round; taking one item per round would overflow the buffer.
        # Buffered items are returned at once, with a schedule point every
        # FAIR_EVERY items so the loop stays fair.
        if self._buffer and self._error is None and not self._dropped and not self._lost_gap:
            self._run += 1
            if self._run < FAIR_EVERY:
                # Still a cancel point, just not a schedule point.
                await trio.lowlevel.checkpoint_if_cancelled()
                return self._buffer.popleft()
        self._run = 0
        await trio.lowlevel.checkpoint()
        while True:
            if self._error is not None:
                raise _copy_error(self._error)
            if self._dropped or self._lost_gap:
                n = self._dropped
                self._dropped = 0
                self._lost_gap = False
                return Gap("dropped" if n else "reconnect", n)
            if self._buffer:
                return self._buffer.popleft()
            if self._closed:
                raise StopAsyncIteration
            self._wake = trio.Event()
            await self._wake.wait()


class LiveOrderBook:
    """An order book kept current from an OKX book channel (``client.order_book()``).

    Read it like :class:`~okx_trio._orderbook.OrderBook`: ``bids`` and
    ``asks`` (sorted ``(price, size)`` ``Decimal`` pairs, best first),
    ``best_bid``, ``best_ask``, ``seq_id``, ``ts``, ``raw_bids()``,
    ``raw_asks()``, ``checksum()``. Between two awaits it does not change.

    Iterating it (``async for book in ob``) yields the book itself after
    applied updates, and a :class:`Gap` when the book became invalid (a
    sequence gap, an invalid reset, a missing snapshot, a checksum mismatch:
    ``reason="resync"``; a replaced connection: ``reason="reconnect"``). After
    a Gap the next yield is the rebuilt book; until then ``synced`` is False
    and the levels are stale. A reader that falls behind gets one yield for
    several updates (the view is always the latest state, so nothing is lost;
    ``statistics().coalesced`` counts them). Empty keepalive updates are not
    yielded. A fatal error of the subscription is raised from the next
    iteration. Several ``order_book()`` calls for the same channel and
    instrument share one book; one consumer task per object is the intended use.
    """

    def __init__(self, feed: _BookFeed) -> None:
        self._feed = feed
        self._book: OrderBook = feed.book
        self._wake = trio.Event()
        # The first iteration yields the current book when it is already valid.
        self._changed = not feed.resyncing
        self._gaps: deque[Gap] = deque(maxlen=8)
        self._coalesced = 0
        self._error: OkxError | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<LiveOrderBook {self._book!r} synced={self.synced}>"

    # -- the OrderBook view

    @property
    def inst_id(self) -> str:
        """The instrument id."""
        return self._book.inst_id

    @property
    def channel(self) -> str:
        """The OKX channel feeding the book."""
        return self._book.channel

    @property
    def depth(self) -> int:
        """Levels kept per side."""
        return self._book.depth

    @property
    def bids(self) -> list[tuple[Decimal, Decimal]]:
        """Bid levels, best (highest price) first. Do not mutate the list."""
        return self._book.bids

    @property
    def asks(self) -> list[tuple[Decimal, Decimal]]:
        """Ask levels, best (lowest price) first. Do not mutate the list."""
        return self._book.asks

    @property
    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """The highest bid ``(price, size)``, or ``None``."""
        return self._book.best_bid

    @property
    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """The lowest ask ``(price, size)``, or ``None``."""
        return self._book.best_ask

    @property
    def seq_id(self) -> int | None:
        """``seqId`` of the last applied push."""
        return self._book.seq_id

    @property
    def ts(self) -> int | None:
        """Exchange time (ms) of the last applied push."""
        return self._book.ts

    @property
    def synced(self) -> bool:
        """True while the book is valid (False during a resynchronisation)."""
        return not self._feed.resyncing

    @property
    def book(self) -> OrderBook:
        """The underlying :class:`~okx_trio._orderbook.OrderBook` (shared, read-only)."""
        return self._book

    def raw_bids(self, n: int | None = None) -> list[tuple[str, str]]:
        """Bid ``(price, size)`` strings as received, best first."""
        return self._book.raw_bids(n)

    def raw_asks(self, n: int | None = None) -> list[tuple[str, str]]:
        """Ask ``(price, size)`` strings as received, best first."""
        return self._book.raw_asks(n)

    def checksum(self) -> int:
        """OKX's CRC32 of the current book (signed)."""
        return self._book.checksum()

    def statistics(self) -> BookStatistics:
        """Counters: updates applied, resyncs, REST snapshots, coalesced yields."""
        feed = self._feed
        return BookStatistics(
            updates=feed.updates, resyncs=feed.resyncs, rest_snapshots=feed.rest_snapshots,
            coalesced=self._coalesced, buffered=feed.state.buffered, synced=not feed.resyncing,
        )

    # -- fed by the feed

    def _notify(self) -> None:
        if self._changed:
            self._coalesced += 1
        self._changed = True
        self._wake.set()

    def _gap(self, reason: str) -> None:
        # The update not read yet is superseded by the rebuilt book.
        self._changed = False
        if not self._gaps or self._gaps[-1].reason != reason:
            self._gaps.append(Gap(reason))
        self._wake.set()

    def _fail(self, exc: OkxError) -> None:
        if self._error is None:
            self._error = exc
        self._wake.set()

    # -- iteration

    def __aiter__(self) -> LiveOrderBook:
        return self

    async def __anext__(self) -> LiveOrderBook | Gap:
        await trio.lowlevel.checkpoint()
        while True:
            if self._error is not None:
                raise _copy_error(self._error)
            if self._gaps:
                return self._gaps.popleft()
            if self._changed:
                self._changed = False
                return self
            if self._closed:
                raise StopAsyncIteration
            self._wake = trio.Event()
            await self._wake.wait()


class _BookFeed:
    """One book channel of one instrument, shared by its :class:`LiveOrderBook` s.

    Always either synced or resynchronising (``resyncing``). A resync starts
    with ``BookState.start_resync()`` (updates are held) and ends when a
    snapshot is applied: the WebSocket one after a resubscription or a
    reconnect, or, when none comes within ``snapshot_timeout`` (OKX announced
    that snapshots go away), a REST snapshot joined to the held updates. Once
    a subscription came without a snapshot the feed uses REST directly.
    """

    def __init__(self, manager: SubscriptionManager, arg: dict[str, str], key: _Key,
                 snapshot_timeout: float) -> None:
        self.manager = manager
        self.arg = arg
        self.key = key
        self.channel = arg["channel"]
        self.inst_id = arg["instId"]
        self.state = BookState(self.inst_id, self.channel)
        self.book = self.state.book
        self.full_book = self.channel in _FULL_BOOK_CHANNELS
        self.snapshot_timeout = snapshot_timeout
        self.handles: list[LiveOrderBook] = []
        self.ss: _ServerSub | None = None
        self.error: OkxError | None = None
        self.updates = 0
        self.resyncs = 0
        self.rest_snapshots = 0
        self.rest_mode = False
        self.resyncing = True
        self.want_resubscribe = False
        self.attempts = 0
        self.synced_event = trio.Event()
        self.kick = trio.Event()
        self.scope = trio.CancelScope()
        self.done = trio.Event()
        self.state.start_resync()

    # -- sink interface (called from the session's reader)

    def _deliver(self, push: Push) -> None:
        if self.error is not None:
            return
        state = self.state
        action = push.action
        for item in push.data:
            try:
                result = state.apply(item, action)
            except ValueError as exc:
                log.warning("%s %s: malformed book push (%s); resynchronising",
                            self.channel, self.inst_id, exc)
                self._begin_resync("resync", resubscribe=True)
                continue
            status = result.status
            if status == "applied":
                self.updates += 1
                if self.resyncing:
                    if state.synced:
                        self._end_resync()
                else:
                    for h in self.handles:
                        h._notify()
            elif status == "resync":
                self._begin_resync("resync", resubscribe=result.reason != "no-snapshot")

    def _gap(self, reason: str) -> None:
        if reason == "reconnect":
            # The new subscription sends a fresh snapshot.
            self._begin_resync("reconnect", resubscribe=False)

    def _fail(self, exc: OkxError) -> None:
        if self.error is None:
            self.error = exc
        for h in self.handles:
            h._fail(_copy_error(exc))
        self.synced_event.set()
        self.kick.set()

    # -- resynchronisation

    def _begin_resync(self, reason: str, *, resubscribe: bool) -> None:
        self.state.start_resync()
        if resubscribe and not self.rest_mode and not self.full_book:
            self.want_resubscribe = True
        if not self.resyncing:
            self.resyncing = True
            self.resyncs += 1
            self.synced_event = trio.Event()
            for h in self.handles:
                h._gap(reason)
        self.kick.set()

    def _end_resync(self) -> None:
        self.attempts = 0
        self.resyncing = False
        self.want_resubscribe = False
        self.synced_event.set()
        for h in self.handles:
            h._notify()

    async def keeper(self) -> None:
        """Background task: drive resynchronisations until the feed closes."""
        try:
            with self.scope:
                while True:
                    if not self.resyncing or self.error is not None:
                        self.kick = trio.Event()
                        await self.kick.wait()
                        continue
                    await self._resync_step()
        finally:
            self.done.set()

    async def _wait_live(self) -> bool:
        ss = self.ss
        assert ss is not None
        while ss.state != "live":
            if ss.state == "failed" or self.error is not None:
                return False
            await ss.settled.wait()
        return True

    async def _resync_step(self) -> None:
        ss = self.ss
        assert ss is not None
        if self.want_resubscribe:
            if self.attempts:
                # Repeated failures: back off, the 480/hour control budget is shared.
                await trio.sleep(min(_RETRY_INITIAL * 2 ** (self.attempts - 1), _RETRY_MAX))
            self.attempts += 1
            self.want_resubscribe = False
            self.manager._resubscribe(ss, self)
        if not await self._wait_live():
            self.kick = trio.Event()
            await self.kick.wait()
            return
        if self.full_book:
            # Every push is a whole book: the next one resynchronises.
            await self.synced_event.wait()
            return
        if not self.rest_mode:
            with trio.move_on_after(self.snapshot_timeout):
                await self.synced_event.wait()
            if self._settled() or ss.state != "live":
                return
        if self.channel in REST_CHANNELS:
            if not self.rest_mode:
                log.info("%s %s: no snapshot within %gs; using REST snapshots",
                         self.channel, self.inst_id, self.snapshot_timeout)
            self.rest_mode = True
            await self._rest_resync()
        else:
            self.want_resubscribe = True
            await trio.sleep(_RETRY_INITIAL)

    def _settled(self) -> bool:
        # A method, so type checkers do not carry a narrowing across awaits.
        return not self.resyncing or self.error is not None

    async def _rest_resync(self) -> None:
        client = self.manager.client
        delay = _RETRY_INITIAL
        while self.resyncing and self.error is None:
            try:
                item = await client.rest.get_order_book(self.inst_id, sz=self.book.depth)
            except (OkxError, ValueError) as exc:
                client.emit("exception", self.ss.kind if self.ss else "public", exc)
                await trio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)
                continue
            if self._settled():
                return
            state = self.state
            if not state.resyncing:
                state.start_resync()
            try:
                result = state.apply_rest_snapshot(item)
            except ValueError as exc:
                client.emit("exception", self.ss.kind if self.ss else "public",
                            OkxProtocolError(f"bad REST order book snapshot: {exc}"))
                state.start_resync()
                await trio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)
                continue
            if result.applied:
                self.rest_snapshots += 1
                self._end_resync()
                return
            # Older than the held updates, or they do not continue it: fetch again.
            if not state.resyncing:
                state.start_resync()
            await trio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)


# ---------------------------------------------------------------------------
# The manager


class SubscriptionManager:
    """The client's subscriptions and order books (``client._subs()``)."""

    def __init__(self, client: WsClient) -> None:
        self.client = client
        self._subs: dict[_Key, _ServerSub] = {}
        self._alias: dict[_Key, _ServerSub | None] = {}
        self._feeds: dict[_Key, _BookFeed] = {}
        self._unsubs: dict[Session, set[Pending]] = {}
        self._changed = trio.Event()
        self.unrouted = 0
        """Pushes that matched no subscription (e.g. right after an unsubscribe)."""

    # -- session hooks

    def attach(self, session: Session) -> None:
        """Hook into a session (called by the client for every session it creates)."""
        session.push_handler = self._dispatch
        session.on_activated.append(self._on_activated)
        session.on_lost.append(self._on_lost)
        session.on_failed.append(self._on_failed)
        session.on_conn_count.append(self._on_conn_count)

    def count(self) -> int:
        """Server subscriptions currently acknowledged on a live connection."""
        return sum(1 for ss in self._subs.values() if ss.state == "live")

    def _dispatch(self, push: Push, conn: Connection) -> None:
        arg = push.arg
        try:
            key: _Key | None = frozenset(arg.items())
        except TypeError:
            key = None
        ss = self._subs.get(key) if key is not None else None
        if ss is None:
            ss = self._route(arg, key)
            if ss is None:
                self.unrouted += 1
                log.debug("push for %s matches no subscription", arg)
                return
        if ss.conn is not None and ss.conn is not conn:
            # The other side of a 64008 switch-over: this arg is live elsewhere.
            return
        for sink in ss.sinks:
            sink._deliver(push)

    def _route(self, arg: Mapping[str, Any], key: _Key | None) -> _ServerSub | None:
        """Find the subscription of a push whose arg is not exactly the subscribed one
        (private channels add ``uid``)."""
        if key is not None and key in self._alias:
            return self._alias[key]
        channel = arg.get("channel")
        found: _ServerSub | None = None
        loose: _ServerSub | None = None
        for ss in self._subs.values():
            if ss.arg["channel"] != channel:
                continue
            if ss.arg.items() <= arg.items():
                found = ss
                break
            if loose is None and all(
                arg.get(k, v) == v or (k == "instType" and v == "ANY")
                for k, v in ss.arg.items()
            ):
                loose = ss
        found = found or loose
        if key is not None:
            if len(self._alias) >= _ALIAS_LIMIT:
                self._alias.clear()
            self._alias[key] = found
        return found

    def _table_changed(self) -> None:
        self._alias.clear()

    def _state_changed(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _on_lost(self, session: Session) -> None:
        gapped: dict[int, _Sink] = {}
        for ss in list(self._subs.values()):
            if ss.session is not session:
                continue
            if ss.state == "live":
                ss.set_state("down")
            if ss.ever_live and ss.state != "failed":
                for sink in ss.sinks:
                    gapped[id(sink)] = sink
        self._drop_unsent_unsubscribes(session)
        for sink in gapped.values():
            sink._gap("reconnect")
        self._state_changed()

    def _on_activated(self, session: Session) -> None:
        conn = session.active
        self._drop_unsent_unsubscribes(session)
        for ss in list(self._subs.values()):
            if ss.session is not session or not ss.sinks:
                continue
            if ss.state == "down":
                self._send_subscribe(ss)
            elif ss.state == "live" and ss.conn is not conn:
                # Make-before-break: the arg stays on the old connection (ss.conn)
                # until the new one acknowledges it.
                self._send_subscribe(ss)
        self._state_changed()

    def _on_failed(self, session: Session, exc: OkxError) -> None:
        for ss in list(self._subs.values()):
            if ss.session is session and ss.state != "failed":
                self._fail_sub(ss, _copy_error(exc))

    def _on_conn_count(self, session: Session, ev: ChannelConnCount) -> None:
        if not ev.error:
            return
        active = session.active
        if ev.conn_id and active is not None and active.conn_id and ev.conn_id != active.conn_id:
            return
        for ss in list(self._subs.values()):
            if ss.session is session and ss.arg["channel"] == ev.channel and ss.state in (
                "live", "subscribing"
            ):
                self._fail_sub(ss, SubscriptionError(
                    "channel-conn-count-error",
                    f"connection count of channel {ev.channel} over the limit "
                    f"(connCount {ev.conn_count}); the exchange dropped this subscription",
                    "subscribe", None, ss.arg,
                ))

    # -- subscribe / unsubscribe frames

    def _send_subscribe(self, ss: _ServerSub) -> None:
        session = ss.session
        if ss.needs_login and not session.logged_in:
            # Sent by _on_activated once a logged-in connection is active.
            session.require_login()
            ss.pending = None
            ss.set_state("down")
            return
        rid = self.client.next_id()
        ss.set_state("subscribing")

        def done(p: Pending) -> None:
            self._on_subscribe_result(ss, p)

        ss.pending = session.enqueue_control(rid, "subscribe", [ss.arg], done)

    def _on_subscribe_result(self, ss: _ServerSub, p: Pending) -> None:
        session = ss.session
        session.forget(p.id)
        if ss.pending is not p or ss.released:
            return
        ss.pending = None
        result = p.result
        if isinstance(result, SubscribeAck):
            if p.conn is not session.active:
                # Acked on a connection that has been replaced or lost meanwhile.
                self._resubscribe_later(ss)
            else:
                ss.conn = p.conn
                ss.ever_live = True
                ss.set_state("live")
        elif (isinstance(result, OkxConnectionLost) and session.failed is None
              and not session.closing):
            self._resubscribe_later(ss)
        elif isinstance(result, OkxApiError):
            self._fail_sub(ss, SubscriptionError(result.code, result.msg, "subscribe", p.id,
                                                 ss.arg))
        elif isinstance(result, OkxError):
            self._fail_sub(ss, result)
        else:
            self._fail_sub(ss, OkxProtocolError(f"unexpected answer to subscribe: {result!r}"))
        self._state_changed()

    def _resubscribe_later(self, ss: _ServerSub) -> None:
        if ss.session.active is not None:
            self._send_subscribe(ss)
        else:
            ss.set_state("down")

    def _fail_sub(self, ss: _ServerSub, exc: OkxError) -> None:
        ss.error = exc
        ss.pending = None
        ss.set_state("failed")
        for sink in list(ss.sinks):
            sink._fail(_copy_error(exc))
        self._state_changed()

    def _send_unsubscribe(self, session: Session, arg: dict[str, str]) -> Pending:
        rid = self.client.next_id()
        outstanding = self._unsubs.setdefault(session, set())

        def done(p: Pending) -> None:
            session.forget(p.id)
            outstanding.discard(p)
            if isinstance(p.result, OkxApiError):
                log.debug("unsubscribe of %s refused: %s", arg, p.result)

        p = session.enqueue_control(rid, "unsubscribe", [arg], done)
        outstanding.add(p)
        return p

    def _drop_unsent_unsubscribes(self, session: Session) -> None:
        # A new connection never had those args: nothing to unsubscribe there.
        for p in list(self._unsubs.get(session, ())):
            if not p.written and not p.done:
                p.abandoned = True
                p.resolve(OkxNotSent("not needed on the new connection", "unsubscribe", p.id,
                                     None, p.args, session.kind))

    def _resubscribe(self, ss: _ServerSub, requester: _Sink) -> None:
        """Unsubscribe and subscribe again (a fresh book snapshot)."""
        if ss.state != "live" or ss.released:
            return
        self._send_unsubscribe(ss.session, ss.arg)
        for sink in ss.sinks:
            if sink is not requester:
                sink._gap("resync")
        self._send_subscribe(ss)
        self._state_changed()

    # -- acquiring and releasing

    def _acquire(self, sink: _Sink, arg: dict[str, str]) -> _ServerSub:
        key = frozenset(arg.items())
        ss = self._subs.get(key)
        if ss is None:
            kind, needs_login = route_channel(arg["channel"])
            session = self.client._session(kind)
            session._check_usable()
            ss = _ServerSub(session, arg, key, kind, needs_login)
            self._subs[key] = ss
            self._table_changed()
            ss.sinks.append(sink)
            self._send_subscribe(ss)
        else:
            ss.session._check_usable()
            ss.sinks.append(sink)
            if ss.state == "failed":
                # A newcomer tries again; the earlier subscribers keep their error.
                ss.error = None
                self._send_subscribe(ss)
        return ss

    def _release(self, sink: _Sink, ss: _ServerSub) -> Pending | None:
        """Detach ``sink``; the last one out unsubscribes (returns that request)."""
        if sink in ss.sinks:
            ss.sinks.remove(sink)
        if ss.sinks or ss.released:
            return None
        ss.released = True
        if self._subs.get(ss.key) is ss:
            del self._subs[ss.key]
            self._table_changed()
        session = ss.session
        p = ss.pending
        ss.pending = None
        unsubscribe = False
        if ss.state == "live":
            unsubscribe = ss.conn is session.active
        elif ss.state == "subscribing" and p is not None and not p.done:
            if p.written:
                unsubscribe = p.conn is session.active
            else:
                p.abandoned = True
                p.resolve(OkxNotSent("released before it was sent", "subscribe", p.id, None,
                                     p.args, session.kind))
        ss.set_state("released")
        self._state_changed()
        if unsubscribe and session.failed is None and not session.closing:
            return self._send_unsubscribe(session, ss.arg)
        return None

    async def _release_all(self, sink: _Sink, subs: Sequence[_ServerSub]) -> None:
        """Release ``subs`` and wait (shielded, bounded) for the unsubscribe acks."""
        waits = [p for p in (self._release(sink, ss) for ss in subs) if p is not None]
        if not waits:
            return
        timeout = self.client.options.request_timeout or UNSUBSCRIBE_WAIT
        with trio.move_on_after(min(timeout, UNSUBSCRIBE_WAIT), shield=True):
            for p in waits:
                await p.event.wait()

    def _client_deadline(self) -> float:
        timeout = self.client.options.request_timeout
        return math.inf if timeout is None else trio.current_time() + timeout

    async def _wait_settled(self, subs: Sequence[_ServerSub], deadline: float) -> None:
        """Wait until every sub is acknowledged; raise the first failure (in arg order)."""
        with trio.move_on_at(deadline):
            while True:
                for ss in subs:
                    if ss.state == "failed":
                        assert ss.error is not None
                        raise _copy_error(ss.error)
                if all(ss.state == "live" for ss in subs):
                    return
                await self._changed.wait()
        for ss in subs:
            if ss.state != "live":
                p = ss.pending
                rid = p.id if p is not None else None
                if p is not None and p.written:
                    raise OkxRequestTimeout(f"no subscribe ack for {ss.arg} before the deadline",
                                            "subscribe", rid, None, [ss.arg], ss.kind)
                raise OkxNotSent(f"subscribe of {ss.arg} not sent before the deadline",
                                 "subscribe", rid, None, [ss.arg], ss.kind)

    def _check_credentials(self, args: Sequence[Mapping[str, str]]) -> None:
        if self.client.options.credentials is not None:
            return
        for arg in args:
            kind, needs_login = route_channel(arg["channel"])
            if needs_login:
                raise ValueError(
                    f"channel {arg['channel']!r} needs a login ({kind} connection): "
                    "pass credentials= to the client"
                )

    # -- public entry points

    @asynccontextmanager
    async def subscribe(
        self, *args: Mapping[str, Any], buffer_size: int | None = None
    ) -> AsyncIterator[Subscription]:
        """Subscribe to ``args`` for the duration of an ``async with`` block.

        Each arg is a mapping of OKX arg fields (``channel`` required, every
        value a ``str``); it is routed to the public, private or business
        connection by its channel name (unknown names go to public) and sent in
        its own ``subscribe`` request. Private channels go out only after the
        login. Entering returns once every arg is acknowledged (deadline: the
        client's ``request_timeout``). Several subscribers of the same arg
        share one exchange subscription; the last to leave unsubscribes.
        Exiting unsubscribes, waiting for the ack at most a few seconds, even
        when cancelled. A subscriber that joins an arg already live receives
        only the pushes from then on (use ``order_book()`` for books).

        Args:
            *args: the channel args, e.g. ``{"channel": "tickers", "instId": "BTC-USDT"}``.
            buffer_size: pushes buffered for a slow reader before the oldest are
                dropped (announced by ``Gap("dropped")``); default 1024, or 8192
                when an arg is an account channel (orders, fills, positions...).

        Yields:
            the :class:`Subscription` (an async iterator of ``Push`` and ``Gap``).

        Raises:
            SubscriptionError: an ``OkxApiError`` naming the refused arg; the args
                acknowledged before were unsubscribed again.
            OkxRequestTimeout, OkxNotSent: no ack before the deadline.
            OkxAuthError: the login of the needed connection was refused.
            ValueError, TypeError: invalid args, or a private channel without
                credentials; nothing was sent.
        """
        normalized = _normalize_args(args)
        if buffer_size is None:
            capacity = _capacity_for(normalized)
        else:
            if isinstance(buffer_size, bool) or not isinstance(buffer_size, int):
                raise TypeError("buffer_size must be an int")
            if buffer_size < 1:
                raise ValueError(f"buffer_size must be >= 1, got {buffer_size}")
            capacity = buffer_size
        self._check_credentials(normalized)
        deadline = self._client_deadline()
        sub = Subscription(normalized, capacity)
        try:
            for arg in normalized:
                sub._servers.append(self._acquire(sub, arg))
            await self._wait_settled(sub._servers, deadline)
            if sub._error is not None:
                raise _copy_error(sub._error)
        except BaseException:
            sub._close()
            await self._release_all(sub, sub._servers)
            raise
        try:
            yield sub
        finally:
            sub._close()
            await self._release_all(sub, sub._servers)

    @asynccontextmanager
    async def order_book(
        self, inst_id: str, *, channel: str = "books", snapshot_timeout: float | None = None
    ) -> AsyncIterator[LiveOrderBook]:
        """A local order book of ``inst_id`` kept from ``channel`` (see :class:`LiveOrderBook`).

        Entering returns once the book holds its first snapshot.

        Args:
            inst_id: the instrument, e.g. ``"BTC-USDT"``.
            channel: ``books`` (400 levels), ``books5``, ``bbo-tbt``,
                ``books-l2-tbt``, ``books50-l2-tbt`` (these two log in on the
                public connection and need credentials) or ``books-elp``.
            snapshot_timeout: seconds to wait for a WebSocket snapshot before
                using ``GET /api/v5/market/books`` (``books``,
                ``books-l2-tbt``) or subscribing again (other channels);
                default 2.

        Raises:
            SubscriptionError: the exchange refused the subscription.
            OkxRequestTimeout, OkxNotSent: no ack or no snapshot in time.
            ValueError, TypeError: bad ``inst_id``/``channel``, or a VIP
                channel without credentials.
        """
        if not isinstance(inst_id, str):
            raise TypeError(f"inst_id must be a str, not {type(inst_id).__name__}")
        if not inst_id:
            raise ValueError("inst_id must be a non-empty string")
        if not isinstance(channel, str):
            raise TypeError(f"channel must be a str, not {type(channel).__name__}")
        if channel not in CHANNEL_DEPTHS:
            raise ValueError(f"channel must be one of {sorted(CHANNEL_DEPTHS)}, got {channel!r}")
        if snapshot_timeout is None:
            snapshot_timeout = SNAPSHOT_TIMEOUT
        elif isinstance(snapshot_timeout, bool) or not isinstance(snapshot_timeout, (int, float)):
            raise TypeError("snapshot_timeout must be a number of seconds")
        elif not snapshot_timeout > 0:
            raise ValueError(f"snapshot_timeout must be positive, got {snapshot_timeout!r}")
        arg = {"channel": channel, "instId": inst_id}
        self._check_credentials([arg])
        deadline = self._client_deadline()
        key = frozenset(arg.items())
        feed = self._feeds.get(key)
        if feed is None:
            feed = _BookFeed(self, arg, key, float(snapshot_timeout))
            feed.ss = self._acquire(feed, arg)
            if feed.ss.state == "live":
                # Joined a live raw subscription: a snapshot needs a fresh subscribe.
                feed.want_resubscribe = True
            self._feeds[key] = feed
            self.client._nursery.start_soon(feed.keeper, name=f"okx_trio book {channel} {inst_id}")
        handle = LiveOrderBook(feed)
        feed.handles.append(handle)
        try:
            assert feed.ss is not None
            await self._wait_settled([feed.ss], deadline)
            sync_deadline = deadline + feed.snapshot_timeout
            with trio.move_on_at(sync_deadline):
                while feed.resyncing and feed.error is None:
                    await feed.synced_event.wait()
            if feed.error is not None:
                raise _copy_error(feed.error)
            if feed.resyncing:
                raise OkxRequestTimeout(f"no order book snapshot for {arg} before the deadline",
                                        "subscribe", None, None, [arg], feed.ss.kind)
        except BaseException:
            await self._close_handle(feed, handle)
            raise
        try:
            yield handle
        finally:
            await self._close_handle(feed, handle)

    async def _close_handle(self, feed: _BookFeed, handle: LiveOrderBook) -> None:
        handle._closed = True
        handle._wake.set()
        if handle in feed.handles:
            feed.handles.remove(handle)
        if feed.handles:
            return
        if self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]
        feed.scope.cancel()
        with trio.move_on_after(UNSUBSCRIBE_WAIT, shield=True):
            await feed.done.wait()
        if feed.ss is not None:
            await self._release_all(feed, [feed.ss])

    def tables(self) -> dict[str, int]:
        """Sizes of the internal tables (for tests and monitoring)."""
        return {
            "server_subscriptions": len(self._subs),
            "books": len(self._feeds),
            "pending_unsubscribes": sum(len(v) for v in self._unsubs.values()),
        }
