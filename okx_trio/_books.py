"""Live order books: local, sequence-checked books kept from OKX's book channels.

``OrderBooks`` (one per client, created on first use) keeps one
``_BookFeed`` per channel and instrument, shared by every
``LiveOrderBook`` handle of it. A feed is a subscriber (a
``_subscriptions.Sink``) of one server subscription: it applies the pushes in
the session's reader with the sans-I/O ``BookState``
and, when the book must be rebuilt, resynchronises in a small background task
(``keeper``).

How a book is (re)built, OKX's way since it announced the end of the initial
snapshot on ``books``, ``books-l2-tbt`` and ``books50-l2-tbt`` (2026):

* After a subscription (the first, or on a new connection) the first push may
  be a WebSocket snapshot: it is used if it comes. An update arriving first
  says none will come on this connection; so does ``snapshot_timeout``
  passing in silence.
* Otherwise, and after every gap, reset or checksum failure, the book is
  rebuilt from REST with OKX's recipe (``BookState.apply_rest_snapshot``):
  updates are buffered, ``GET /api/v5/market/books`` (``/market/books-rpi`` for
  ``books-rpi``) gives a snapshot with ``seqId``, a snapshot older than the
  buffer is fetched again, and the buffered updates continue it. No control
  frame is spent: REST is preferred to unsubscribing and subscribing again.
  REST snapshot requests of all books are paced to 90 % of OKX's per-IP limits.
* The buffer is capped (``max_buffer``): on overflow it is dropped, the readers
  get ``Gap("resync")`` and the resync starts over.
* Only when REST keeps failing and the WebSocket does send snapshots is the arg
  subscribed again, with a bounded backoff and within a budget of
  ``RESUBSCRIBE_BUDGET`` resubscriptions per connection kind per hour (a
  quarter of OKX's 480 control frames), so no resync loop can exhaust the
  connection's control budget.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, Final, Protocol

import attrs
import trio

from ._exceptions import OkxError, OkxProtocolError, OkxRequestTimeout, copy_error
from ._models import Gap
from ._okx import (
    BOOK_CHANNEL_DEPTHS,
    CONTROL_WINDOW,
    FULL_BOOK_CHANNELS,
    REST_BOOK_CHANNELS,
    REST_LIMITS,
    RPI_BOOK_CHANNELS,
    check_channel,
)
from ._orderbook import DEFAULT_MAX_BUFFER, BookState, OrderBook
from ._pacing import room
from ._push import Push
from ._ratelimit import EventWindow
from ._rest import RestClient
from ._subscriptions import UNSUBSCRIBE_WAIT, Key, ServerSubscription, SubscriptionManager

__all__ = ["RESUBSCRIBE_BUDGET", "BookHost", "BookStatistics", "LiveOrderBook", "OrderBooks"]

log = logging.getLogger("okx_trio")

SNAPSHOT_TIMEOUT: Final = 2.0
"""How long a fresh subscription waits in silence for a WebSocket snapshot before REST."""
RESUBSCRIBE_BUDGET: Final = 60
"""Resubscriptions all books together may make per connection kind per hour, when REST
is unavailable (two control frames each: a quarter of OKX's 480 per hour)."""
REST_HEADROOM: Final = 0.9
"""Fraction of OKX's REST order-book limits the books use together."""
_REST_RETRY_INITIAL: Final = 0.2
_REST_RETRY_MAX: Final = 10.0
_REST_TRIES_BEFORE_RESUBSCRIBE: Final = 3
_STALE_RETRY: Final = 0.1
"""Wait before fetching a REST snapshot again when it was older than the buffer
(OKX refreshes ``/market/books`` every 50 ms, ``/market/books-rpi`` every 200 ms)."""
_STALE_RETRY_MAX: Final = 1.0
_RESUBSCRIBE_INITIAL: Final = 1.0
_RESUBSCRIBE_MAX: Final = 60.0
_MAX_EXPONENT: Final = 16
"""Backoff exponents stop here: ``2.0 ** n`` must never overflow, however long the outage."""


def _backoff(initial: float, attempt: int, maximum: float) -> float:
    """``initial * 2 ** (attempt - 1)``, capped at ``maximum``; bounded for any ``attempt``."""
    return min(initial * 2.0 ** min(max(attempt - 1, 0), _MAX_EXPONENT), maximum)


class BookHost(Protocol):
    """What the order books need from the client that runs them (its core)."""

    @property
    def nursery(self) -> trio.Nursery:
        """Where each feed's resync task runs (the client's nursery)."""
        ...

    @property
    def rest(self) -> RestClient:
        """The REST helper (order-book snapshots)."""
        ...

    def emit(self, kind: str, connection: str, detail: Any = None) -> None:
        """Publish a lifecycle event."""


@attrs.frozen
class BookStatistics:
    """A snapshot of an order book's counters (see ``LiveOrderBook.statistics``)."""

    updates: int
    """Pushes applied to the book (snapshots included)."""
    resyncs: int
    """Times the book was found invalid and rebuilt."""
    rest_snapshots: int
    """Rebuilds that used a REST snapshot (``GET /api/v5/market/books``, ``/books-rpi``)."""
    coalesced: int
    """Updates that got no yield of their own because the reader was behind."""
    buffered: int
    """Updates held while waiting for a REST snapshot."""
    synced: bool
    """True while the book is valid."""
    overflows: int = 0
    """Times the held updates reached the cap and were dropped (the resync restarted)."""
    resubscribes: int = 0
    """Resubscriptions made to get a WebSocket snapshot (only when REST was unavailable)."""


class LiveOrderBook:
    """An order book kept current from an OKX book channel (``client.order_book()``).

    Read it like ``OrderBook``: ``bids`` and
    ``asks`` (sorted ``(price, size)`` ``Decimal`` pairs, best first),
    ``best_bid``, ``best_ask``, ``seq_id``, ``ts``, ``raw_bids()``,
    ``raw_asks()``, ``checksum()``. Between two awaits it does not change.
    On ``books-rpi`` the sizes are OKX's ``totalQty`` (Retail Price
    Improvement orders included) and ``non_rpi_bids``/``non_rpi_asks`` give
    the ordinary part (``nonRpiQty``).

    Iterating it (``async for book in ob``) yields the book itself after
    applied updates, and a ``Gap`` when the book became invalid (a
    sequence gap, an invalid reset, a missing snapshot, a checksum mismatch,
    held updates over the cap: ``reason="resync"``; a replaced connection:
    ``reason="reconnect"``). After
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
    def non_rpi_bids(self) -> list[tuple[Decimal, Decimal]]:
        """``books-rpi``: bid ``(price, nonRpiQty)``, the part of each level an order
        without ``rpiTakerAccess`` can take (``bids`` carry ``totalQty``). Other
        channels: ``bids``."""
        return self._book.non_rpi_bids

    @property
    def non_rpi_asks(self) -> list[tuple[Decimal, Decimal]]:
        """``books-rpi``: ask ``(price, nonRpiQty)`` (see ``non_rpi_bids``)."""
        return self._book.non_rpi_asks

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
        """The underlying ``OrderBook`` (shared, read-only)."""
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
            overflows=feed.state.overflows, resubscribes=feed.resubscribes,
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
                raise copy_error(self._error)
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
    """One book channel of one instrument, shared by its ``LiveOrderBook`` s.

    Always either synced or resynchronising (``resyncing``); see the module
    docstring for how a resync runs. ``awaiting_ws_snapshot`` is True from a
    (re)subscription until its first push: only then can a WebSocket snapshot
    still come. ``ws_snapshots`` records what this feed saw: ``True`` once a
    WebSocket snapshot arrived, ``False`` once a subscription began with an
    update instead (OKX no longer sends them), ``None`` before either.
    """

    def __init__(self, books: OrderBooks, arg: dict[str, str], key: Key,
                 snapshot_timeout: float, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        self.books = books
        self.arg = arg
        self.key = key
        self.channel = arg["channel"]
        self.inst_id = arg["instId"]
        self.state = BookState(self.inst_id, self.channel, max_buffer=max_buffer)
        self.book = self.state.book
        self.full_book = self.channel in FULL_BOOK_CHANNELS
        self.rpi = self.channel in RPI_BOOK_CHANNELS
        self.snapshot_timeout = snapshot_timeout
        self.handles: list[LiveOrderBook] = []
        self.ss: ServerSubscription | None = None
        self.error: OkxError | None = None
        self.updates = 0
        self.resyncs = 0
        self.rest_snapshots = 0
        self.resubscribes = 0
        self.resyncing = True
        self.ws_snapshots: bool | None = None
        self.awaiting_ws_snapshot = True
        self.snapshot_missing = False
        self.resubscribe_attempts = 0
        self.synced_event = trio.Event()
        self.progress = trio.Event()
        """Set when the book synced or a subscription's first push was an update."""
        self.kick = trio.Event()
        self.scope = trio.CancelScope()
        self.done = trio.Event()
        self.state.start_resync()

    # -- the Sink interface (called from the session's reader)

    def deliver(self, push: Push) -> None:
        if self.error is not None:
            return
        state = self.state
        action = push.action
        first_push = self.awaiting_ws_snapshot
        self.awaiting_ws_snapshot = False
        for item in push.data:
            try:
                result = state.apply(item, action)
            except Exception as exc:
                # Whatever the item held (ValueError: refused by the book's
                # checks; anything else: a fault of ours), only this book pays:
                # it is reported, its readers get a Gap, and it resynchronises.
                self.reject(exc)
                continue
            status = result.status
            if status == "applied":
                self.updates += 1
                if action == "snapshot":
                    self.ws_snapshots = True
                if self.resyncing:
                    if state.synced:
                        self._end_resync()
                else:
                    for h in self.handles:
                        h._notify()
            elif status == "buffered":
                if first_push and not self.full_book:
                    # OKX sends a subscription's snapshot first: none is coming.
                    self._no_ws_snapshot()
            elif status == "resync":
                if result.reason == "overflow":
                    self._overflow()
                else:
                    self._begin_resync("resync")
            first_push = False

    def reject(self, exc: Exception) -> None:
        """A push this book could not apply: report it, resynchronise."""
        error: Exception = exc
        if isinstance(exc, ValueError):
            error = OkxProtocolError(f"malformed {self.channel} push for {self.inst_id}: {exc}")
            error.__cause__ = exc
        log.warning("%s %s: %s; resynchronising", self.channel, self.inst_id, error)
        self.books.host.emit("exception", self.ss.kind if self.ss else "public", error)
        self._begin_resync("resync")

    def gap(self, reason: str) -> None:
        if reason == "reconnect":
            # The arg is subscribed again on the new connection, which may send a snapshot.
            self._begin_resync("reconnect")
            self._expect_ws_snapshot()
        else:
            self._begin_resync("resync")

    def fail(self, exc: OkxError) -> None:
        if self.error is None:
            self.error = exc
        for h in self.handles:
            h._fail(copy_error(exc))
        self.synced_event.set()
        self.progress.set()
        self.kick.set()

    # -- resynchronisation state

    def _begin_resync(self, reason: str) -> None:
        self.state.start_resync()
        if not self.resyncing:
            self.resyncing = True
            self.resyncs += 1
            self.synced_event = trio.Event()
            for h in self.handles:
                h._gap(reason)
        self.kick.set()

    def _overflow(self) -> None:
        log.warning("%s %s: %d updates held without a snapshot; dropped, resync restarted",
                    self.channel, self.inst_id, self.state.max_buffer)
        for h in self.handles:
            h._gap("resync")
        self.kick.set()

    def _expect_ws_snapshot(self) -> None:
        self.awaiting_ws_snapshot = True
        self.snapshot_missing = False
        self.progress = trio.Event()

    def _no_ws_snapshot(self) -> None:
        if self.ws_snapshots is not False:
            log.info("%s %s: the subscription sent no snapshot; using REST snapshots",
                     self.channel, self.inst_id)
        self.ws_snapshots = False
        self.snapshot_missing = True
        self.progress.set()

    def _end_resync(self) -> None:
        self.resubscribe_attempts = 0
        self.resyncing = False
        self.synced_event.set()
        self.progress.set()
        for h in self.handles:
            h._notify()

    def _settled(self) -> bool:
        # A method, so type checkers do not carry a narrowing across awaits.
        return not self.resyncing or self.error is not None

    # -- the keeper task

    async def keeper(self) -> None:
        """Background task: drive resynchronisations until the feed closes."""
        try:
            with self.scope:
                while True:
                    if not self.resyncing or self.error is not None:
                        self.kick = trio.Event()
                        await self.kick.wait()
                        continue
                    try:
                        await self._resync_step()
                    except Exception as exc:
                        # A fault in one book's resync ends neither the client nor
                        # this book: reported, then tried again after a pause.
                        log.exception("%s %s: resynchronisation failed", self.channel,
                                      self.inst_id)
                        self.books.host.emit("exception", self.ss.kind if self.ss else "public",
                                             exc)
                        await trio.sleep(_REST_RETRY_MAX)
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
        if not await self._wait_live():
            self.kick = trio.Event()
            await self.kick.wait()
            return
        if self.full_book:
            # Every push is a whole book: the next one resynchronises.
            await self.synced_event.wait()
            return
        if self.awaiting_ws_snapshot and self.ws_snapshots is not False:
            with trio.move_on_after(self.snapshot_timeout):
                await self.progress.wait()
            if self._settled() or ss.state != "live":
                return
            if not self.snapshot_missing:
                log.info("%s %s: no snapshot within %gs; using a REST snapshot",
                         self.channel, self.inst_id, self.snapshot_timeout)
        self.awaiting_ws_snapshot = False
        if self.channel in REST_BOOK_CHANNELS and await self._rest_resync():
            return
        if self._settled():
            return
        # REST is unavailable, and the WebSocket sends snapshots: subscribe again.
        await self._resubscribe()

    async def _rest_resync(self) -> bool:
        """Rebuild the book from REST snapshots; False when REST looks unavailable
        and a resubscription could do instead (the WebSocket sends snapshots)."""
        books = self.books
        host = books.host
        ss = self.ss
        assert ss is not None
        failures = 0
        stale = 0
        while not self._settled() and ss.state == "live" and not self.awaiting_ws_snapshot:
            await books.pace_rest(self.rpi)
            epoch = self.state.epoch
            try:
                item = await host.rest.get_order_book(self.inst_id, sz=self.book.depth,
                                                      rpi=self.rpi)
            except Exception as exc:  # any failure of one fetch: report it, try again
                failures += 1
                host.emit("exception", ss.kind, exc)
                if failures >= _REST_TRIES_BEFORE_RESUBSCRIBE and self.ws_snapshots is not False:
                    return False
                await trio.sleep(_backoff(_REST_RETRY_INITIAL, failures, _REST_RETRY_MAX))
                continue
            if self._settled():
                return True
            failures = 0
            state = self.state
            if not state.resyncing:
                state.start_resync()
            try:
                result = state.apply_rest_snapshot(item, epoch=epoch)
            except Exception as exc:
                # A malformed snapshot, or a held update that turns out not to apply.
                error = OkxProtocolError(f"bad REST order book snapshot: {exc}")
                error.__cause__ = exc
                host.emit("exception", ss.kind, error)
                state.start_resync()
                await trio.sleep(_REST_RETRY_INITIAL)
                continue
            if result.applied:
                self.rest_snapshots += 1
                self._end_resync()
                return True
            if result.reason != "stale-snapshot":
                # The held updates do not continue the snapshot: hold anew.
                state.start_resync()
            stale += 1
            await trio.sleep(min(_STALE_RETRY * stale, _STALE_RETRY_MAX))
        return True

    async def _resubscribe(self) -> None:
        ss = self.ss
        assert ss is not None
        self.resubscribe_attempts += 1
        await trio.sleep(_backoff(_RESUBSCRIBE_INITIAL, self.resubscribe_attempts,
                                  _RESUBSCRIBE_MAX))
        await self.books.resubscribe_room(ss.kind)
        if self._settled() or ss.state != "live":
            return
        self.resubscribes += 1
        self._expect_ws_snapshot()
        self.state.start_resync()
        self.books.subscriptions.resubscribe(ss, self)


class OrderBooks:
    """The client's live order books (created by the client's core on first use)."""

    def __init__(self, subscriptions: SubscriptionManager, host: BookHost) -> None:
        self.subscriptions = subscriptions
        self.host = host
        self._feeds: dict[Key, _BookFeed] = {}
        self._rest_windows = {
            rpi: EventWindow(math.floor(limit * REST_HEADROOM), window)
            for rpi, (limit, window, _) in (
                (False, REST_LIMITS["GET /api/v5/market/books"]),
                (True, REST_LIMITS["GET /api/v5/market/books-rpi"]),
            )
        }
        self._resubscribe_windows: dict[str, EventWindow] = {}

    def count(self) -> int:
        """Order books currently kept (one per channel and instrument)."""
        return len(self._feeds)

    async def pace_rest(self, rpi: bool) -> None:
        """Wait until one more REST book snapshot fits (90 % of OKX's per-IP limit)."""
        await room(self._rest_windows[rpi])

    async def resubscribe_room(self, kind: str) -> None:
        """Wait until one more resynchronising resubscription fits the hourly budget."""
        window = self._resubscribe_windows.get(kind)
        if window is None:
            window = self._resubscribe_windows[kind] = EventWindow(RESUBSCRIBE_BUDGET,
                                                                   CONTROL_WINDOW)
        await room(window)

    @asynccontextmanager
    async def order_book(
        self, inst_id: str, *, channel: str = "books", snapshot_timeout: float | None = None,
        max_buffer: int | None = None,
    ) -> AsyncIterator[LiveOrderBook]:
        """A local order book of ``inst_id`` kept from ``channel`` (see ``LiveOrderBook``).

        Entering returns once the book holds its first snapshot.

        Args:
            inst_id: the instrument, e.g. ``"BTC-USDT"``.
            channel: ``books`` (400 levels), ``books5``, ``bbo-tbt``,
                ``books-l2-tbt``, ``books50-l2-tbt`` (these two log in on the
                public connection and need credentials) or ``books-rpi``
                (with Retail Price Improvement orders). ``books-elp`` is
                retired (``ValueError`` naming ``books-rpi``).
            snapshot_timeout: seconds a fresh subscription waits, in silence,
                for a WebSocket snapshot before taking a REST snapshot
                (``GET /api/v5/market/books``, ``/market/books-rpi`` for
                ``books-rpi``); an update arriving first ends the wait at once.
                Default 2.
            max_buffer: most updates held while a REST snapshot is fetched;
                beyond it they are dropped, the readers get ``Gap("resync")``
                and the resync restarts. Default 10 000.

        Raises:
            SubscriptionError: the exchange refused the subscription.
            OkxRequestTimeout, OkxNotSent: no ack or no snapshot in time.
            ValueError, TypeError: bad ``inst_id``/``channel``/options, or a VIP
                channel without credentials.
        """
        if not isinstance(inst_id, str):
            raise TypeError(f"inst_id must be a str, not {type(inst_id).__name__}")
        if not inst_id:
            raise ValueError("inst_id must be a non-empty string")
        if not isinstance(channel, str):
            raise TypeError(f"channel must be a str, not {type(channel).__name__}")
        check_channel(channel)
        if channel not in BOOK_CHANNEL_DEPTHS:
            raise ValueError(
                f"channel must be one of {sorted(BOOK_CHANNEL_DEPTHS)}, got {channel!r}"
            )
        if snapshot_timeout is None:
            snapshot_timeout = SNAPSHOT_TIMEOUT
        elif isinstance(snapshot_timeout, bool) or not isinstance(snapshot_timeout, (int, float)):
            raise TypeError("snapshot_timeout must be a number of seconds")
        elif not snapshot_timeout > 0:
            raise ValueError(f"snapshot_timeout must be positive, got {snapshot_timeout!r}")
        if max_buffer is None:
            max_buffer = DEFAULT_MAX_BUFFER
        elif isinstance(max_buffer, bool) or not isinstance(max_buffer, int):
            raise TypeError("max_buffer must be an int")
        elif max_buffer < 1:
            raise ValueError(f"max_buffer must be >= 1, got {max_buffer!r}")
        arg = {"channel": channel, "instId": inst_id}
        subs = self.subscriptions
        subs.check_credentials([arg])
        deadline = subs.deadline()
        key = frozenset(arg.items())
        feed = self._feeds.get(key)
        if feed is None:
            feed = _BookFeed(self, arg, key, float(snapshot_timeout), max_buffer)
            feed.ss = subs.acquire(feed, arg)
            if feed.ss.state == "live":
                # Joined a live raw subscription: its snapshot went by; take REST's.
                feed.awaiting_ws_snapshot = False
            self._feeds[key] = feed
            self.host.nursery.start_soon(feed.keeper, name=f"okx_trio book {channel} {inst_id}")
        handle = LiveOrderBook(feed)
        feed.handles.append(handle)
        try:
            assert feed.ss is not None
            await subs.wait_settled([feed.ss], deadline)
            sync_deadline = deadline + feed.snapshot_timeout
            with trio.move_on_at(sync_deadline):
                while feed.resyncing and feed.error is None:
                    await feed.synced_event.wait()
            if feed.error is not None:
                raise copy_error(feed.error)
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
            await self.subscriptions.release_all(feed, [feed.ss])

