"""Subscriptions that survive reconnects.

``SubscriptionManager`` (one per client, created on first use) keeps one
*server subscription* per distinct arg, shared by every local subscriber of
that arg and reference counted: the first subscriber sends the ``subscribe``,
the last one out sends the ``unsubscribe``. It hooks into every
``Session``:

* ``push_handler``: called by the session's reader for each push of the
  active connection (and of one being retired after a 64008 notice); it hands
  the push to the subscribers of its arg, if it came from the connection that
  arg is live on, without ever blocking (each subscriber has a bounded buffer,
  see ``Subscription``);
* the connections themselves: an arg acknowledged on a connection lives in
  that connection's ``args`` (the ``ServerSubscription`` is its
  ``ArgHolder``); when the connection ends, active or being retired, the arg's
  subscribers get ``Gap(reason="reconnect")`` at once (so the gap sits before
  the first push of the next connection) and the arg is subscribed again;
* ``on_activated``: a connection became active (after its login, so private
  channels are only re-sent once logged in): every live arg is subscribed
  again. After a 64008 notice the session opens the new connection before
  closing the old one (make-before-break): each arg keeps taking its pushes
  from the old connection until the new connection acknowledges it, then from
  the new one, and the session closes the old connection only after those
  acks (and the answers to requests in flight there). Nothing is lost, so no
  ``Gap`` is given; an event the exchange pushed on both connections around
  the ack may arrive twice (order-book feeds restart from the new snapshot).
  Should the old connection end before the new one acknowledges an arg, that
  arg's subscribers get a ``Gap`` then;
* ``on_failed`` / ``on_conn_count``: a fatal session error, or a
  ``channel-conn-count-error``, fails the affected subscriptions; the error is
  raised from the subscriber's next iteration.

A subscriber is anything with the ``Sink`` methods: the buffer behind a
``Subscription``, or an order book's feed (``_books``).
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, Protocol

import attrs
import trio

from ._connection import Connection, Pending
from ._exceptions import (
    OkxApiError,
    OkxConnectionLost,
    OkxError,
    OkxNotSent,
    OkxProtocolError,
    OkxRequestTimeout,
    SubscriptionError,
    copy_error,
)
from ._models import Gap
from ._okx import check_channel, route_channel
from ._options import ClientOptions
from ._protocol import ChannelConnCount, SubscribeAck
from ._push import Push
from ._session import Session

__all__ = [
    "ServerSubscription",
    "Sink",
    "Subscription",
    "SubscriptionHost",
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
"""Channels whose subscribers get ``PRIVATE_BUFFER`` by default."""
UNSUBSCRIBE_WAIT: Final = 5.0
"""Longest time leaving a subscription waits for the ``unsubscribe`` ack."""
_ALIAS_LIMIT: Final = 4096
FAIR_EVERY: Final = 256
"""Buffered items a subscriber may take without a schedule point."""

Key = frozenset[tuple[str, Any]]
"""A subscription arg as a hashable key."""
_RELEASED_LIMIT: Final = 1024


def _account_match(subscribed: Mapping[str, str], pushed: Mapping[str, Any]) -> int:
    """How many fields of an account-channel push's arg match a subscription's, or -1.

    ``uid`` (added by OKX) is ignored; every other field the push names must
    be in the subscription with the same value (``instType`` ``ANY`` covers any
    type); fields of the subscription the push leaves out are allowed.
    """
    score = 0
    for field, value in pushed.items():
        if field == "uid":
            continue
        want = subscribed.get(field)
        if want is None:
            return -1
        if value == want:
            score += 1
        elif not (field == "instType" and want == "ANY" and isinstance(value, str)):
            return -1
    return score


def _connection_of(channel: object) -> str:
    return route_channel(channel)[0] if isinstance(channel, str) else "public"


def _short(arg: Mapping[str, Any]) -> str:
    text = repr(dict(arg))
    return text if len(text) <= 200 else text[:200] + "..."


@attrs.frozen
class SubscriptionStatistics:
    """A snapshot of one subscriber's buffer (see ``Subscription.statistics``)."""

    buffered: int
    """Items (pushes and gaps) waiting to be read."""
    dropped: int
    """Pushes discarded from the full buffer since the subscription began."""
    capacity: int
    """The buffer size."""


class SubscriptionHost(Protocol):
    """What the subscriptions need from the client that runs them (its core)."""

    @property
    def options(self) -> ClientOptions:
        """The client's options (``request_timeout``, ``credentials``)."""
        ...

    def session(self, kind: str) -> Session:
        """The session of connection ``kind``, created (and started) on first use."""
        ...

    def next_id(self) -> str:
        """A fresh request id."""
        ...

    def emit(self, kind: str, connection: str, detail: Any = None) -> None:
        """Publish a lifecycle event (a push for nothing subscribed, a failed subscriber)."""


# ---------------------------------------------------------------------------
# Validation


def _normalize_args(args: Sequence[Any]) -> list[dict[str, str]]:
    if not args:
        raise ValueError("subscribe() needs at least one arg, e.g. {'channel': 'tickers', ...}")
    out: list[dict[str, str]] = []
    seen: set[Key] = set()
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
        check_channel(norm["channel"])
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


# ---------------------------------------------------------------------------
# Server subscriptions


class Sink(Protocol):
    """A local subscriber of server subscriptions (called from the session's reader)."""

    def deliver(self, push: Push) -> None:
        """Take one push; never blocks."""

    def gap(self, reason: str) -> None:
        """Pushes may be missing from here on (``"reconnect"``, ``"resync"``)."""

    def fail(self, exc: OkxError) -> None:
        """The subscription failed for good."""


class ServerSubscription:
    """One arg subscribed on the exchange, shared by its local subscribers.

    ``state``: ``subscribing`` (a subscribe is queued or in flight),
    ``live`` (acknowledged on ``conn``), ``down`` (to be sent when a usable
    connection is active), ``failed`` (refused; ``error``), ``released``.
    """

    __slots__ = ("account_data", "arg", "conn", "error", "ever_live", "key", "kind", "manager",
                 "needs_login", "pending", "released", "session", "settled", "sinks", "state")

    def __init__(self, manager: SubscriptionManager, session: Session, arg: dict[str, str],
                 key: Key, kind: str, needs_login: bool) -> None:
        self.manager = manager
        self.session = session
        self.arg = arg
        self.key = key
        self.kind = kind
        self.needs_login = needs_login
        self.account_data = needs_login and kind != "public"
        """An account channel: OKX adds ``uid`` to its pushes' arg (see ``_route``)."""
        self.sinks: list[Sink] = []
        self.state = "down"
        self.pending: Pending | None = None
        self.conn: Connection | None = None
        """The connection this arg is acknowledged on (it is in that one's ``args``)."""
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

    def connection_lost(self, conn: Connection) -> None:
        """The connection this arg was live on ended (the ``ArgHolder`` method)."""
        self.manager._arg_lost(self, conn)


# ---------------------------------------------------------------------------
# Subscribers


class _Inbox:
    """The bounded buffer behind a ``Subscription`` (its ``Sink``)."""

    __slots__ = ("buffer", "capacity", "closed", "dropped", "dropped_total", "error",
                 "lost_gap", "waiter")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.buffer: deque[Push | Gap] = deque()
        self.waiter: trio.Event | None = None
        """What parked consumers wait on; None while none is parked (a push then
        costs no ``Event.set``)."""
        self.dropped = 0
        self.lost_gap = False
        self.dropped_total = 0
        self.error: OkxError | None = None
        self.closed = False

    # Fed by the manager (the session's reader): never blocks.

    def deliver(self, push: Push) -> None:
        buf = self.buffer
        if len(buf) >= self.capacity:
            self._drop_oldest()
        buf.append(push)
        if self.waiter is not None:
            self.wake()

    def wake(self) -> None:
        """Wake every parked consumer (each looks again; one may find nothing)."""
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            waiter.set()

    async def wait(self) -> None:
        """Park until something changes (a push, a gap, a failure, the close)."""
        waiter = self.waiter
        if waiter is None:
            waiter = self.waiter = trio.Event()
        await waiter.wait()

    def _drop_oldest(self) -> None:
        old = self.buffer.popleft()
        if type(old) is Push:
            self.dropped += 1
            self.dropped_total += 1
        else:
            self.lost_gap = True

    def gap(self, reason: str) -> None:
        buf = self.buffer
        # Merge with a Gap still unread at the tail; once read, a new loss needs its own.
        if self.closed or (buf and type(buf[-1]) is Gap):
            return
        if len(buf) >= self.capacity:
            self._drop_oldest()
        buf.append(Gap(reason))
        self.wake()

    def fail(self, exc: OkxError) -> None:
        if self.error is None:
            self.error = exc
        self.wake()

    def close(self) -> None:
        self.closed = True
        self.buffer.clear()
        self.wake()


class Subscription:
    """The pushes of one ``subscribe()`` call: an async iterator of ``Push`` and ``Gap``.

    Yielded by ``async with client.subscribe(*args) as sub``; iterate it with
    ``async for item in sub``. Items of all its args arrive in the order the
    exchange pushed them (per connection).

    * A ``Gap`` marks a place where pushes may be missing: ``"reconnect"``
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
        self._inbox = _Inbox(capacity)
        self._servers: list[ServerSubscription] = []
        self._run = 0

    def __repr__(self) -> str:
        channels = ",".join(a["channel"] for a in self.args)
        return f"<Subscription {channels} buffered={len(self._inbox.buffer)}>"

    def statistics(self) -> SubscriptionStatistics:
        """Buffered items, pushes dropped so far, and the buffer size."""
        inbox = self._inbox
        return SubscriptionStatistics(len(inbox.buffer), inbox.dropped_total, inbox.capacity)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Push | Gap:
        # The reader decodes a whole socket read (often 100+ pushes) per
        # scheduler round; taking one item per round would overflow the buffer.
        # Buffered items are returned at once, with a schedule point every
        # FAIR_EVERY items so the loop stays fair.
        inbox = self._inbox
        if inbox.buffer and inbox.error is None and not inbox.dropped and not inbox.lost_gap:
            self._run += 1
            if self._run < FAIR_EVERY:
                # Still a cancel point, just not a schedule point.
                await trio.lowlevel.checkpoint_if_cancelled()
                return inbox.buffer.popleft()
        self._run = 0
        if (inbox.buffer or inbox.error is not None or inbox.dropped or inbox.lost_gap
                or inbox.closed):
            await trio.lowlevel.checkpoint()
        else:
            # Nothing to take: parking is the schedule point (a checkpoint
            # first would only cost the reader's next batch a scheduler round).
            await inbox.wait()
        while True:
            if inbox.error is not None:
                raise copy_error(inbox.error)
            if inbox.dropped or inbox.lost_gap:
                n = inbox.dropped
                inbox.dropped = 0
                inbox.lost_gap = False
                return Gap("dropped" if n else "reconnect", n)
            if inbox.buffer:
                return inbox.buffer.popleft()
            if inbox.closed:
                raise StopAsyncIteration
            await inbox.wait()


# ---------------------------------------------------------------------------
# The manager


class SubscriptionManager:
    """The client's subscriptions (created by the client's core on first use)."""

    def __init__(self, host: SubscriptionHost) -> None:
        self._host = host
        self._subs: dict[Key, ServerSubscription] = {}
        self._alias: dict[Key, ServerSubscription | None] = {}
        self._unsubs: dict[Session, set[Pending]] = {}
        self._changed = trio.Event()
        self._released: OrderedDict[Key, None] = OrderedDict()
        """Args unsubscribed lately: pushes for them may still be in flight."""
        self.unrouted = 0
        """Pushes that matched no subscription (e.g. right after an unsubscribe)."""

    # -- session hooks

    def attach(self, session: Session) -> None:
        """Hook into a session (called by the client for every session it creates)."""
        session.push_handler = self._dispatch
        session.on_activated.append(self._on_activated)
        session.on_failed.append(self._on_failed)
        session.on_conn_count.append(self._on_conn_count)

    def count(self) -> int:
        """Server subscriptions currently acknowledged on a live connection."""
        return sum(1 for ss in self._subs.values() if ss.state == "live")

    def _dispatch(self, push: Push, conn: Connection) -> None:
        arg = push.arg
        try:
            key: Key | None = frozenset(arg.items())
        except TypeError:
            key = None
        ss = self._subs.get(key) if key is not None else None
        if ss is None:
            ss = self._route(arg, key)
            if ss is None:
                self.unrouted += 1
                return
        if ss.conn is not None and ss.conn is not conn:
            # The other side of a 64008 switch-over: this arg is live elsewhere.
            return
        for sink in ss.sinks:
            try:
                sink.deliver(push)
            except Exception as exc:
                # One subscriber's fault stays its own: reported, a Gap, the rest go on.
                self._sink_failed(ss, sink, exc)

    def _sink_failed(self, ss: ServerSubscription, sink: Sink, exc: Exception) -> None:
        log.error("a subscriber of %s failed on a push", ss.arg, exc_info=exc)
        self._host.emit("exception", ss.kind, exc)
        try:
            sink.gap("resync")
        except Exception:  # pragma: no cover - a Sink's gap() only records a marker
            log.exception("a subscriber of %s failed to take a gap", ss.arg)

    def _route(self, arg: Mapping[str, Any], key: Key | None) -> ServerSubscription | None:
        """The subscription of a push whose arg is not exactly a subscribed one, or None.

        OKX echoes the subscribed arg in every push. On account channels
        (private and business channels that need a login) it adds ``uid``, and
        its documented examples leave filters out (``ccy``, ``instFamily``,
        ``extraParams``); an ``instType: ANY`` subscription covers every concrete
        ``instType``. So there a push goes to the subscription that names every
        field the push names (``uid`` aside) with the same value, preferring the
        one that matches most fields. Market-data channels match exactly or not
        at all: a push that names fewer fields, or other values, than a
        subscription is not for it. A push matching nothing is counted
        (``unrouted``) and, unless its arg was unsubscribed recently (pushes in
        flight then are expected), reported as an ``exception`` lifecycle event.
        """
        if key is not None and key in self._alias:
            return self._alias[key]
        channel = arg.get("channel")
        found: ServerSubscription | None = None
        best = -1
        for ss in self._subs.values():
            if ss.arg["channel"] != channel or not ss.account_data:
                continue
            score = _account_match(ss.arg, arg)
            if score > best:
                found, best = ss, score
        if key is not None:
            if len(self._alias) >= _ALIAS_LIMIT:
                self._alias.clear()
            self._alias[key] = found
        if found is None and not self._recently_released(arg, key):
            # Reported once per arg until the subscription table changes.
            log.warning("a push for %s matches no subscription; not delivered", arg)
            self._host.emit("exception", _connection_of(channel), OkxProtocolError(
                f"a push for {_short(arg)} matches no subscription; not delivered"))
        return found

    def _recently_released(self, arg: Mapping[str, Any], key: Key | None) -> bool:
        if key is None:
            return False
        if key in self._released:
            return True
        if "uid" in arg:
            return frozenset((k, v) for k, v in key if k != "uid") in self._released
        return False

    def _table_changed(self) -> None:
        self._alias.clear()

    def _state_changed(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # -- where each arg is live (the connection owns the fact)

    @staticmethod
    def _set_live_on(ss: ServerSubscription, conn: Connection) -> None:
        old = ss.conn
        if old is not None and old is not conn and old.args.get(ss.key) is ss:
            del old.args[ss.key]
        ss.conn = conn
        conn.args[ss.key] = ss

    @staticmethod
    def _unset_live(ss: ServerSubscription) -> None:
        conn = ss.conn
        if conn is not None and conn.args.get(ss.key) is ss:
            del conn.args[ss.key]
        ss.conn = None

    def _arg_lost(self, ss: ServerSubscription, conn: Connection) -> None:
        """``conn``, where ``ss`` was live, ended: its subscribers get a Gap (pushes
        may be missing from here on) and the arg is subscribed again, unless a
        subscribe is already on its way (after a 64008 notice)."""
        if ss.conn is conn:
            ss.conn = None
        if ss.released or ss.state == "failed":
            return
        for sink in ss.sinks:
            sink.gap("reconnect")
        if ss.pending is None:
            self._resubscribe_later(ss)
        elif ss.state == "live":
            ss.set_state("subscribing")
        self._state_changed()

    def _on_activated(self, session: Session) -> None:
        conn = session.active
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
                self._fail_sub(ss, copy_error(exc))

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

    def _send_subscribe(self, ss: ServerSubscription) -> None:
        session = ss.session
        if ss.needs_login and not session.logged_in:
            # Sent by _on_activated once a logged-in connection is active.
            session.require_login()
            ss.pending = None
            ss.set_state("down")
            return
        rid = self._host.next_id()
        ss.set_state("subscribing")

        def done(p: Pending) -> None:
            self._on_subscribe_result(ss, p)

        ss.pending = session.enqueue_control(rid, "subscribe", [ss.arg], done)

    def _on_subscribe_result(self, ss: ServerSubscription, p: Pending) -> None:
        session = ss.session
        session.forget(p.id)
        if ss.pending is not p or ss.released:
            return
        ss.pending = None
        result = p.result
        if isinstance(result, SubscribeAck):
            conn = p.conn
            assert conn is not None  # an ack comes for a frame written on a connection
            self._set_live_on(ss, conn)
            ss.ever_live = True
            if conn is not session.active:
                # Acked on a connection being retired meanwhile: live there until
                # the active one acknowledges it too.
                self._send_subscribe(ss)
            else:
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

    def _resubscribe_later(self, ss: ServerSubscription) -> None:
        if ss.session.active is not None:
            self._send_subscribe(ss)
        else:
            ss.set_state("down")

    def _fail_sub(self, ss: ServerSubscription, exc: OkxError) -> None:
        ss.error = exc
        ss.pending = None
        self._unset_live(ss)
        ss.set_state("failed")
        for sink in list(ss.sinks):
            sink.fail(copy_error(exc))
        self._state_changed()

    def _send_unsubscribe(self, session: Session, arg: dict[str, str],
                          target: Connection) -> Pending:
        """Unsubscribe ``arg`` on ``target``, the connection it is live on (on no other)."""
        rid = self._host.next_id()
        outstanding = self._unsubs.setdefault(session, set())

        def done(p: Pending) -> None:
            session.forget(p.id)
            outstanding.discard(p)
            if isinstance(p.result, OkxApiError):
                log.debug("unsubscribe of %s refused: %s", arg, p.result)

        p = session.enqueue_control(rid, "unsubscribe", [arg], done, target=target)
        if not p.done:
            outstanding.add(p)
        return p

    def resubscribe(self, ss: ServerSubscription, requester: Sink) -> None:
        """Unsubscribe and subscribe again (a fresh book snapshot); the other
        subscribers of ``ss`` get ``Gap("resync")``."""
        if ss.state != "live" or ss.released or ss.conn is None:
            return
        self._send_unsubscribe(ss.session, ss.arg, ss.conn)
        for sink in ss.sinks:
            if sink is not requester:
                sink.gap("resync")
        self._send_subscribe(ss)
        self._state_changed()

    # -- acquiring and releasing

    def acquire(self, sink: Sink, arg: dict[str, str]) -> ServerSubscription:
        """Attach ``sink`` to the server subscription of ``arg``, subscribing if it is the first."""
        key = frozenset(arg.items())
        ss = self._subs.get(key)
        if ss is None:
            kind, needs_login = route_channel(arg["channel"])
            session = self._host.session(kind)
            session.check_usable()
            ss = ServerSubscription(self, session, arg, key, kind, needs_login)
            self._subs[key] = ss
            self._table_changed()
            ss.sinks.append(sink)
            self._send_subscribe(ss)
        else:
            ss.session.check_usable()
            ss.sinks.append(sink)
            if ss.state == "failed":
                # A newcomer tries again; the earlier subscribers keep their error.
                ss.error = None
                self._send_subscribe(ss)
        return ss

    def _release(self, sink: Sink, ss: ServerSubscription) -> Pending | None:
        """Detach ``sink``; the last one out unsubscribes (returns that request)."""
        if sink in ss.sinks:
            ss.sinks.remove(sink)
        if ss.sinks or ss.released:
            return None
        ss.released = True
        if self._subs.get(ss.key) is ss:
            del self._subs[ss.key]
            self._released[ss.key] = None
            self._released.move_to_end(ss.key)
            if len(self._released) > _RELEASED_LIMIT:
                self._released.popitem(last=False)
            self._table_changed()
        session = ss.session
        p = ss.pending
        ss.pending = None
        # The connection to unsubscribe on: the one the arg is live on, or the one
        # its subscribe was written on. Only the active one: a connection being
        # retired closes soon anyway.
        target: Connection | None = None
        if ss.state == "live":
            target = ss.conn
        elif ss.state == "subscribing" and p is not None and not p.done:
            if p.written:
                target = p.conn
            else:
                p.abandon()
                p.resolve(OkxNotSent("released before it was sent", "subscribe", p.id, None,
                                     p.args, session.kind))
        self._unset_live(ss)
        ss.set_state("released")
        self._state_changed()
        if (target is not None and target is session.active and session.failed is None
                and not session.closing):
            return self._send_unsubscribe(session, ss.arg, target)
        return None

    async def release_all(self, sink: Sink, subs: Sequence[ServerSubscription]) -> None:
        """Release ``subs`` and wait (shielded, bounded) for the unsubscribe acks."""
        waits = [p for p in (self._release(sink, ss) for ss in subs) if p is not None]
        if not waits:
            return
        timeout = self._host.options.request_timeout or UNSUBSCRIBE_WAIT
        with trio.move_on_after(min(timeout, UNSUBSCRIBE_WAIT), shield=True):
            for p in waits:
                await p.event.wait()

    def deadline(self) -> float:
        """The deadline of a subscribe entered now (the client's ``request_timeout``)."""
        timeout = self._host.options.request_timeout
        return math.inf if timeout is None else trio.current_time() + timeout

    async def wait_settled(self, subs: Sequence[ServerSubscription], deadline: float) -> None:
        """Wait until every sub is acknowledged; raise the first failure (in arg order)."""
        with trio.move_on_at(deadline):
            while True:
                for ss in subs:
                    if ss.state == "failed":
                        assert ss.error is not None
                        raise copy_error(ss.error)
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

    def check_credentials(self, args: Sequence[Mapping[str, str]]) -> None:
        """Refuse a channel that needs a login when the client has no credentials."""
        if self._host.options.credentials is not None:
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
            the ``Subscription`` (an async iterator of ``Push`` and ``Gap``).

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
        self.check_credentials(normalized)
        deadline = self.deadline()
        sub = Subscription(normalized, capacity)
        inbox = sub._inbox
        try:
            for arg in normalized:
                sub._servers.append(self.acquire(inbox, arg))
            await self.wait_settled(sub._servers, deadline)
            if inbox.error is not None:
                raise copy_error(inbox.error)
        except BaseException:
            inbox.close()
            await self.release_all(inbox, sub._servers)
            raise
        try:
            yield sub
        finally:
            inbox.close()
            await self.release_all(inbox, sub._servers)

    async def wait_live(self, sub: Subscription) -> None:
        """Until every arg of ``sub`` is acknowledged again (or failed): pushes
        from then on are seen."""
        while any(ss.state not in ("live", "failed") for ss in sub._servers):
            await self._changed.wait()

    def tables(self) -> dict[str, int]:
        """Sizes of the internal tables (for tests and monitoring)."""
        return {
            "server_subscriptions": len(self._subs),
            "pending_unsubscribes": sum(len(v) for v in self._unsubs.values()),
        }
