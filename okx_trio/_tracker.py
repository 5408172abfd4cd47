"""The order tracker: the account's orders kept current from the private order channels.

``OrderTracker`` subscribes to ``orders`` (private) and ``sprd-orders``
(business) and feeds every push item to its ``TrackerState``, whose
``OrderTable`` applies OKX's ordering and
de-duplication rules (see ``_order_state``) and whose waiters wake the tasks
waiting on an order.

On start the tracker loads the open orders (``orders-pending``, first page;
spread orders only from their pushes on). A ``Gap`` (reconnect,
or pushes dropped for a slow reader) marks the open orders of that channel
``stale``; once the subscription is live again the tracker asks the exchange
(signed REST: ``orders-pending``, then ``GET /api/v5/trade/order`` /
``/api/v5/sprd/order`` for each open order it holds and for every order this
client placed but has not seen yet) and the answers, like any later push of an
order, clear the flag.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, Final, Protocol

import trio

from ._exceptions import OkxAuthError, OkxError, OkxProtocolError, OkxWaitTimeout, copy_error
from ._instruments import InstrumentCache
from ._models import Gap, TrackedOrder
from ._okx import ORDER_STATES
from ._order_lookup import fetch_order, inst_id_of, retrying
from ._order_state import DEFAULT_MAX_TERMINAL, DEFAULT_TERMINAL_TTL, Kind, OrderTable
from ._push import Push
from ._rest import RestClient
from ._subscriptions import Subscription

__all__ = [
    "OrderTracker",
    "TrackerHost",
    "TrackerState",
    "open_tracking",
    "run_tracking",
    "wait_for_order",
]

log = logging.getLogger("okx_trio")

REST_PACE: Final = 0.05
"""Seconds between the tracker's per-order REST look-ups (OKX: 60 per 2 s)."""
REFRESH_TIMEOUT: Final = 30.0
"""Seconds the tracker keeps retrying one REST look-up of a refresh before giving up
(the orders then stay stale until the next gap or push)."""
_EXPECTED_GIVE_UP: Final = 60.0


class TrackerHost(Protocol):
    """What the tracker needs from the client that runs it (its core)."""

    @property
    def nursery(self) -> trio.Nursery:
        """Where the tracker's tasks run (the client's nursery)."""
        ...

    @property
    def rest(self) -> RestClient:
        """The REST helper (signed order look-ups)."""
        ...

    @property
    def instruments(self) -> InstrumentCache:
        """The instrument cache (instId of an item that carries only instIdCode)."""
        ...

    def subscribe(self, *args: Mapping[str, Any]) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe to channel args (``WsClient.subscribe``)."""
        ...

    def emit(self, kind: str, connection: str, detail: Any = None) -> None:
        """Publish a lifecycle event (a push the tracker could not apply)."""

    async def wait_live(self, sub: Subscription) -> None:
        """Until every arg of ``sub`` is acknowledged again (after a reconnect)."""


_CONNECTION: Final[Mapping[Kind, str]] = {"regular": "private", "spread": "business"}


def _keys(ord_id: str | None, cl_ord_id: str | None) -> list[str]:
    keys = []
    if ord_id:
        keys.append("o" + ord_id)
    if cl_ord_id:
        keys.append("c" + cl_ord_id)
    return keys


class TrackerState:
    """A tracker's table of orders and the tasks waiting for an order to change.

    What ``resolve()`` consults while a tracker runs; the tracker feeds it.
    """

    def __init__(
        self,
        *,
        max_terminal: int = DEFAULT_MAX_TERMINAL,
        terminal_ttl: float = DEFAULT_TERMINAL_TTL,
    ) -> None:
        self.table = OrderTable(max_terminal=max_terminal, terminal_ttl=terminal_ttl)
        self._waiters: dict[str, set[trio.Event]] = {}

    def apply(self, item: Mapping[str, Any], kind: Kind, *, push: bool) -> TrackedOrder | None:
        """Merge one push or REST item (see ``OrderTable.apply``) and wake its waiters."""
        merged = self.table.apply(item, kind, push=push, now=trio.current_time())
        if merged is not None:
            for key in _keys(merged.ord_id, merged.cl_ord_id):
                for event in self._waiters.pop(key, ()):
                    event.set()
        return merged

    def waiter(self, ord_id: str | None, cl_ord_id: str | None) -> trio.Event:
        """An event set at the next change of that order (or a failure)."""
        event = trio.Event()
        for key in _keys(ord_id, cl_ord_id):
            self._waiters.setdefault(key, set()).add(event)
        return event

    def unwait(self, event: trio.Event, ord_id: str | None, cl_ord_id: str | None) -> None:
        """Forget a ``waiter`` event (always, once done waiting)."""
        for key in _keys(ord_id, cl_ord_id):
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[key]

    def wake_all(self) -> None:
        """Wake every waiter (a channel failed)."""
        waiters = self._waiters
        self._waiters = {}
        for events in waiters.values():
            for event in events:
                event.set()


class OrderTracker:
    """The latest state of the account's orders, from the private order channels.

    Not constructed directly: open it with ``async with api.track_orders() as
    orders`` or ``open_ws_api_client(track_orders=True)`` (then ``api.orders``).
    Iterating gives the tracked orders (a snapshot); ``len()`` counts them.

    The rules applied: a push whose ``tradeId`` was already applied is a
    duplicate; only the first terminal push of an order and the first push of
    an amend's ``reqId`` count; a terminal state is never overwritten;
    otherwise the newer ``uTime`` wins, the state never moves back and
    ``accFillSz`` never decreases. After a gap in a channel its open orders
    are ``stale`` until refreshed (a later push, or the tracker's REST
    refresh). Memory is bounded: a terminal order is forgotten once more than
    ``max_terminal`` are held, or ``terminal_ttl`` seconds after it ended.
    """

    def __init__(self, host: TrackerHost, state: TrackerState) -> None:
        self._host = host
        self._state = state
        self._table = state.table
        self._subs: dict[Kind, Subscription] = {}
        self._refresh_wanted: dict[Kind, trio.Event] = {
            "regular": trio.Event(), "spread": trio.Event()
        }
        self._errors: dict[Kind, OkxError] = {}
        self.started = trio.Event()
        """Set once the subscriptions are acknowledged (or failed)."""
        self.refreshes = 0
        """Orders refreshed from REST after gaps."""

    def __repr__(self) -> str:
        stale = sum(1 for o in self._table.orders() if o.stale)
        return f"<OrderTracker orders={len(self._table)} stale={stale}>"

    # -- reading

    @property
    def max_terminal(self) -> int:
        """Terminal orders kept before the oldest is forgotten."""
        return self._table.max_terminal

    @property
    def terminal_ttl(self) -> float:
        """Seconds a terminal order is kept."""
        return self._table.terminal_ttl

    @property
    def duplicates(self) -> int:
        """Pushes dropped as duplicates."""
        return self._table.duplicates

    @property
    def malformed(self) -> int:
        """Items ignored because they had no ``ordId``."""
        return self._table.malformed

    def get(
        self, *, cl_ord_id: str | None = None, ord_id: str | None = None
    ) -> TrackedOrder | None:
        """The tracked order with ``ord_id`` (wins) or ``cl_ord_id``, or ``None``.

        Raises:
            ValueError: neither id given.
        """
        if ord_id is None and cl_ord_id is None:
            raise ValueError("give ord_id or cl_ord_id")
        entry = self._table.entry(ord_id, cl_ord_id)
        return entry.order if entry is not None else None

    def __iter__(self) -> Iterator[TrackedOrder]:
        return iter(self._table.orders())

    def __len__(self) -> int:
        return len(self._table)

    @property
    def error(self) -> OkxError | None:
        """The failure of a channel subscription, if one failed (then raised by waits)."""
        kinds: tuple[Kind, ...] = ("regular", "spread")
        for kind in kinds:
            exc = self._errors.get(kind)
            if exc is not None:
                return exc
        return None

    async def wait(
        self,
        *,
        cl_ord_id: str | None = None,
        ord_id: str | None = None,
        states: Iterable[str] = ("filled", "canceled", "mmp_canceled"),
        deadline: float = math.inf,
    ) -> TrackedOrder:
        """Wait until the order is in one of ``states`` (see ``WsApiClient.wait_order``).

        Raises:
            OkxWaitTimeout: ``deadline`` (trio time) passed first.
            OkxError: the order's channel subscription failed.
        """
        wanted = _check_states(states)
        if ord_id is None and cl_ord_id is None:
            raise ValueError("give ord_id or cl_ord_id")
        table = self._table
        kind_hint: Kind | None = None
        while True:
            entry = table.entry(ord_id, cl_ord_id)
            if entry is not None:
                kind_hint = entry.kind
                order = entry.order
                if order.state in wanted or order.terminal:
                    return order
            error = self._errors.get(kind_hint) if kind_hint else self.error
            if error is not None:
                raise copy_error(error)
            event = self._state.waiter(ord_id, cl_ord_id)
            try:
                with trio.move_on_at(deadline):
                    await event.wait()
            finally:
                self._state.unwait(event, ord_id, cl_ord_id)
            if trio.current_time() >= deadline and not event.is_set():
                last = table.entry(ord_id, cl_ord_id)
                ident = f"clOrdId {cl_ord_id}" if cl_ord_id else f"ordId {ord_id}"
                raise OkxWaitTimeout(
                    f"order {ident} did not reach {'/'.join(sorted(wanted))} in time",
                    "wait_order", None, cl_ord_id, (), None,
                    last.order if last is not None else None,
                )

    # -- feeding

    def _on_gap(self, kind: Kind) -> None:
        self._table.mark_stale(kind)
        self._refresh_wanted[kind].set()

    async def _consume(self, kind: Kind) -> None:
        sub = self._subs[kind]
        try:
            async for item in sub:
                if isinstance(item, Gap):
                    self._on_gap(kind)
                elif isinstance(item, Push):
                    self._take(kind, item)
        except OkxError as exc:
            log.warning("order tracker: the %s order channel failed: %s", kind, exc)
            self._errors[kind] = exc
            self._state.wake_all()

    def _take(self, kind: Kind, push: Push) -> None:
        """Apply one push; what cannot be applied counts as a gap in the channel.

        An item the order table refuses (malformed: see ``TrackedOrder.from_okx``)
        or any fault while applying it is reported as an ``exception`` lifecycle
        event, and the channel's open orders are marked stale and refreshed from
        REST, as after a ``Gap``: the order it concerned may have changed unseen.
        """
        table = self._table
        refused = table.malformed
        error: Exception | None = None
        try:
            for d in push.data:
                if isinstance(d, Mapping):
                    self._state.apply(d, kind, push=True)
                else:
                    table.malformed += 1
        except Exception as exc:
            error = exc
        if error is None and table.malformed == refused:
            return
        if error is None:
            error = OkxProtocolError(
                f"order tracker: {push.channel} push with {table.malformed - refused} "
                f"malformed item(s): {push.data!r:.200}")
        log.warning("order tracker: %s; refreshing the %s orders", error, kind)
        self._host.emit("exception", _CONNECTION[kind], error)
        self._on_gap(kind)

    async def _refresher(self, kind: Kind) -> None:
        while True:
            await self._refresh_wanted[kind].wait()
            self._refresh_wanted[kind] = trio.Event()
            sub = self._subs.get(kind)
            if sub is not None:
                # Until the channel is subscribed again (pushes from then on are seen).
                await self._host.wait_live(sub)
            try:
                await self._refresh(kind)
            except OkxAuthError as exc:
                log.warning("order tracker: REST refresh refused: %s", exc)
            except OkxError as exc:
                log.warning("order tracker: REST refresh failed (%s); orders stay stale", exc)

    async def _refresh(self, kind: Kind) -> None:
        """Ask REST for every open order of ``kind`` held, and every expected order."""
        rest = self._host.rest
        table = self._table
        state = self._state
        seen: set[str] = set()
        # Open orders first (one request), so only the orders that ended while
        # the stream was down need a look-up of their own.
        pending = await retrying(
            rest.get_orders_pending if kind == "regular" else rest.get_sprd_orders_pending,
            trio.current_time() + REFRESH_TIMEOUT,
        )
        for item in pending:
            order = state.apply(item, kind, push=False)
            if order is not None:
                seen.add(order.ord_id)
                self.refreshes += 1
        targets = [
            e.order for e in list(table.entries())
            if e.kind == kind and not e.order.terminal and e.order.ord_id not in seen
        ]
        for order in targets:
            found = await self._fetch(kind, order.inst_id, ord_id=order.ord_id)
            if found is not None:
                state.apply(found, kind, push=False)
                self.refreshes += 1
            await trio.sleep(REST_PACE)
        now = trio.current_time()
        for cl, exp in table.expected():
            if exp.kind != kind or table.knows_cl_ord_id(cl):
                continue
            inst_id = None
            if kind == "regular":
                inst_id = await inst_id_of(
                    self._host.instruments, functools.partial(self._tracked_inst_id, cl),
                    exp.wire, trio.current_time() + REFRESH_TIMEOUT,
                )
                if inst_id is None:
                    table.unexpect(cl)  # no such instrument: refused
                    continue
            found = await self._fetch(kind, inst_id, cl_ord_id=cl)
            if found is not None:
                state.apply(found, kind, push=False)
                self.refreshes += 1
            elif now - exp.since > _EXPECTED_GIVE_UP:
                table.unexpect(cl)
            await trio.sleep(REST_PACE)

    def _tracked_inst_id(self, cl_ord_id: str) -> str | None:
        entry = self._table.entry(None, cl_ord_id)
        return entry.order.inst_id if entry is not None else None

    async def _fetch(
        self, kind: Kind, inst_id: str | None, *, ord_id: str | None = None,
        cl_ord_id: str | None = None,
    ) -> dict[str, Any] | None:
        found, item = await fetch_order(self._host.rest, kind, inst_id, ord_id, cl_ord_id,
                                        trio.current_time() + REFRESH_TIMEOUT)
        return item if found else None


@asynccontextmanager
async def open_tracking(tracker: OrderTracker) -> AsyncIterator[None]:
    """Subscribe ``tracker`` (raising any refusal) and run its tasks until exit."""
    host = tracker._host
    async with AsyncExitStack() as stack:
        tracker._subs["regular"] = await stack.enter_async_context(
            host.subscribe({"channel": "orders", "instType": "ANY"})
        )
        tracker._subs["spread"] = await stack.enter_async_context(
            host.subscribe({"channel": "sprd-orders"})
        )
        scope = trio.CancelScope()
        done = trio.Event()

        async def tasks() -> None:
            try:
                with scope:
                    async with trio.open_nursery() as nursery:
                        for kind in ("regular", "spread"):
                            nursery.start_soon(tracker._consume, kind)
                            nursery.start_soon(tracker._refresher, kind)
            finally:
                done.set()

        # In the client's nursery, so the caller's block never runs inside a
        # nursery of ours (its exceptions stay themselves).
        # Orders that were open before the tracker started have no push to
        # come: load them (orders-pending) in the background.
        tracker._refresh_wanted["regular"].set()
        host.nursery.start_soon(tasks, name="okx_trio order tracker")
        tracker.started.set()
        try:
            yield
        finally:
            scope.cancel()
            with trio.CancelScope(shield=True):
                await done.wait()


async def run_tracking(tracker: OrderTracker) -> None:
    """The ``track_orders=True`` task: runs ``tracker`` for the client's life."""
    try:
        async with open_tracking(tracker):
            await trio.sleep_forever()
    except OkxError as exc:
        log.warning("order tracker could not subscribe: %s", exc)
        tracker._errors.setdefault("regular", exc)
        tracker._errors.setdefault("spread", exc)
        tracker._state.wake_all()
    finally:
        tracker.started.set()


def _check_states(states: Iterable[str]) -> frozenset[str]:
    if isinstance(states, str):
        states = (states,)
    try:
        wanted = frozenset(states)
    except TypeError:
        raise TypeError("states must be an iterable of state names") from None
    if not wanted:
        raise ValueError("states must name at least one state")
    for s in wanted:
        if not isinstance(s, str):
            raise TypeError(f"states must be strings, got {type(s).__name__}")
        if s not in ORDER_STATES:
            raise ValueError(f"unknown order state {s!r}; expected some of {sorted(ORDER_STATES)}")
    return wanted


async def wait_for_order(
    tracker: OrderTracker | None,
    *,
    cl_ord_id: str | None,
    ord_id: str | None,
    states: Iterable[str],
    deadline: float,
) -> TrackedOrder:
    """The implementation of ``WsApiClient.wait_order``."""
    if tracker is None:
        raise RuntimeError(
            "wait_order needs an order tracker: open the client with track_orders=True "
            "or wait inside `async with api.track_orders():`"
        )
    for name, value in (("cl_ord_id", cl_ord_id), ("ord_id", ord_id)):
        if value is not None and (not isinstance(value, str) or not value):
            raise TypeError(f"{name} must be a non-empty str")
    return await tracker.wait(cl_ord_id=cl_ord_id, ord_id=ord_id, states=states,
                              deadline=deadline)
