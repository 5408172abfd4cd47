"""Order tracking and "outcome unknown" resolution.

:class:`OrderTracker` keeps the latest state of every order of the account
from the ``orders`` (private) and ``sprd-orders`` (business) channels, applying
OKX's ordering and de-duplication rules (okx-protocol.md 8.1):

* a push whose ``tradeId`` was already applied to the order is a duplicate;
* only the first ``filled``/``canceled``/``mmp_canceled`` push of an order counts;
* only the first push of an amend's ``reqId`` counts;
* a terminal state (``filled``, ``canceled``, ``mmp_canceled``) is never
  overwritten; otherwise the newer ``uTime`` wins, the state never moves
  back (``live`` < ``partially_filled`` < terminal) and ``accFillSz`` never
  decreases.

On start the tracker loads the open orders (``orders-pending``, first page;
spread orders only from their pushes on). A :class:`~okx_trio.Gap` (reconnect,
or pushes dropped for a slow reader) marks the open orders of that channel
``stale``; once the subscription is live again the tracker asks the exchange
(signed REST: ``orders-pending``, then
``GET /api/v5/trade/order`` / ``/api/v5/sprd/order`` for each open order it
holds and for every order this client placed but has not seen yet) and the
answers, like any later push of an order, clear the flag.

Memory is bounded: an order that reached a terminal state is forgotten once
more than ``max_terminal`` terminal orders are held, or ``terminal_ttl``
seconds after it ended, whichever comes first. Open orders are never evicted
(OKX caps them per account).

:func:`resolve_outcome` (``WsApiClient.resolve``) turns an ``OkxConnectionLost``
or ``OkxRequestTimeout`` into the exchange's truth; :func:`wait_for_order`
(``WsApiClient.wait_order``) waits on the tracker.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs
import trio

from ._exceptions import (
    OkxApiError,
    OkxAuthError,
    OkxError,
    OkxNotSent,
    OkxProtocolError,
    OkxRateLimitError,
    OkxRequestError,
    OkxRequestTimeout,
)
from ._instruments import INST_TYPES, InstrumentFetchError
from ._models import Gap, Push
from ._protocol import EXP_TIME_OPS

if TYPE_CHECKING:
    from ._api_client import WsApiClient

__all__ = [
    "DEFAULT_MAX_TERMINAL",
    "DEFAULT_TERMINAL_TTL",
    "ORDER_STATES",
    "SETTLE_DELAY",
    "TERMINAL_STATES",
    "OkxWaitTimeout",
    "OrderTracker",
    "Resolution",
    "ResolvedItem",
    "TrackedOrder",
    "UnknownOutcomes",
    "resolve_outcome",
    "wait_for_order",
]

log = logging.getLogger("okx_trio")

TERMINAL_STATES: Final = frozenset({"filled", "canceled", "mmp_canceled"})
"""Order states that never change again."""
ORDER_STATES: Final = frozenset({"live", "partially_filled"}) | TERMINAL_STATES
"""Every order state OKX documents for ``orders`` and ``sprd-orders``."""
DEFAULT_MAX_TERMINAL: Final = 10_000
"""Terminal orders a tracker keeps before forgetting the oldest."""
DEFAULT_TERMINAL_TTL: Final = 3600.0
"""Seconds a tracker keeps an order after it reached a terminal state."""
SETTLE_DELAY: Final = 2.0
"""Seconds after an unanswered request without ``expTime`` (cancels, spread ops,
``timeout=math.inf``) after which the exchange is assumed to have finished with
it; with ``expTime`` the margin added after that time instead (clock offset)."""
SETTLE_MARGIN: Final = 1.0
"""Added after a request's ``expTime`` before "not on the exchange" is final."""
REST_PACE: Final = 0.05
"""Seconds between the tracker's per-order REST look-ups (OKX: 60 per 2 s)."""
REFRESH_TIMEOUT: Final = 30.0
"""Seconds the tracker keeps retrying one REST look-up of a refresh before giving up
(the orders then stay stale until the next gap or push)."""
_RETRY_INITIAL: Final = 0.2
_RETRY_MAX: Final = 2.0
_POLL: Final = 1.0
_LIVE_POLL: Final = 0.05
_EXPECTED_LIMIT: Final = 10_000
_EXPECTED_GIVE_UP: Final = 60.0
_UNKNOWN_LIMIT: Final = 4096
_NOT_FOUND_CODES: Final = frozenset({"51603", "51001"})
"""REST codes meaning the order (or its instrument) does not exist."""
_TRANSIENT_CODES: Final = frozenset({"50001", "50004", "50013", "50026"})
"""REST codes worth retrying: service unavailable, endpoint timeout, busy, system error."""

_RANK: Final = {"live": 0, "partially_filled": 1}
_PLACE_OPS: Final = frozenset({"order", "batch-orders", "sprd-order"})
_AMEND_OPS: Final = frozenset({"amend-order", "batch-amend-orders", "sprd-amend-order"})
_CANCEL_OPS: Final = frozenset({"cancel-order", "batch-cancel-orders", "sprd-cancel-order"})
_SPREAD_OPS: Final = frozenset({"sprd-order", "sprd-amend-order", "sprd-cancel-order"})

Kind = Literal["regular", "spread"]
Outcome = Literal["acted", "not_found", "unknown"]


def _rank(state: str) -> int:
    return 2 if state in TERMINAL_STATES else _RANK.get(state, 0)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dec(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


# ---------------------------------------------------------------------------
# Values


@attrs.frozen
class TrackedOrder:
    """The latest known state of one order (regular or spread).

    Sizes and prices are ``Decimal`` (``None`` where OKX sends ``""``, e.g.
    ``px`` of a market order).
    """

    inst_id: str | None
    """``instId`` of a regular order; ``None`` for a spread order."""
    sprd_id: str | None
    """``sprdId`` of a spread order; ``None`` for a regular order."""
    ord_id: str
    """OKX order id."""
    cl_ord_id: str | None
    """Client order id (``None`` when the order has none)."""
    state: str
    """``live``, ``partially_filled``, ``filled``, ``canceled`` or ``mmp_canceled``."""
    acc_fill_sz: Decimal
    """Filled quantity so far."""
    avg_px: Decimal | None
    """Average fill price (``0`` before any fill)."""
    px: Decimal | None
    """Order price."""
    sz: Decimal | None
    """Order size (after amends)."""
    side: str
    """``buy`` or ``sell``."""
    u_time: int
    """Last update, Unix ms (OKX ``uTime``)."""
    stale: bool = False
    """True after a gap in the channel until the order was refreshed (a later
    push or the tracker's REST refresh). Terminal orders are never stale."""
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    """The push or REST item this state came from, as received."""

    @property
    def terminal(self) -> bool:
        """True for ``filled``, ``canceled`` and ``mmp_canceled``."""
        return self.state in TERMINAL_STATES

    @property
    def is_spread(self) -> bool:
        """True for a spread order."""
        return self.sprd_id is not None

    @classmethod
    def from_okx(cls, item: Mapping[str, Any], *, stale: bool = False) -> TrackedOrder:
        """Build from an ``orders``/``sprd-orders`` push item or a REST order item.

        Raises:
            ValueError: the item has no ``ordId``.
        """
        ord_id = item.get("ordId")
        if not isinstance(ord_id, str) or not ord_id:
            raise ValueError("order item without ordId")
        sprd_id = _text(item.get("sprdId")) or None
        return cls(
            inst_id=None if sprd_id else (_text(item.get("instId")) or None),
            sprd_id=sprd_id,
            ord_id=ord_id,
            cl_ord_id=_text(item.get("clOrdId")) or None,
            state=_text(item.get("state")),
            acc_fill_sz=_dec(item.get("accFillSz")) or Decimal(0),
            avg_px=_dec(item.get("avgPx")),
            px=_dec(item.get("px")),
            sz=_dec(item.get("sz")),
            side=_text(item.get("side")),
            u_time=_int(item.get("uTime")),
            stale=stale,
            raw=dict(item),
        )


@attrs.frozen
class ResolvedItem:
    """What happened to one item of a request (see :class:`Resolution`)."""

    outcome: Outcome
    """``"acted"``, ``"not_found"`` or ``"unknown"``."""
    order: TrackedOrder | None
    """The order's current state, when the exchange has the order."""
    request: Mapping[str, Any]
    """The item as it was sent (OKX field names), or the ids looked up."""


@attrs.frozen
class Resolution:
    """The truth about a request whose outcome was unknown (``WsApiClient.resolve``).

    ``outcome`` for a place: ``"acted"`` the exchange has the order (its
    current state is in ``orders``); ``"not_found"`` no such order exists
    now that the exchange has certainly finished with the request (it never
    arrived, or was refused). For an amend: ``"acted"`` the order carries the
    amended price/size (or the tracker saw the amend's ``reqId`` succeed);
    ``"not_found"`` the amend did not take effect (never arrived, refused, or
    the order is gone). For a cancel: ``"acted"`` the order is canceled;
    ``"not_found"`` it is not (it filled, never existed, or the cancel never
    arrived). ``"unknown"``: the deadline passed before the exchange answered.
    For a batch, ``outcome`` is the items' common outcome, ``"unknown"`` if
    any item is unknown, else ``"mixed"``.
    """

    outcome: Literal["acted", "not_found", "unknown", "mixed"]
    """The summary outcome (see the class docstring)."""
    orders: tuple[TrackedOrder, ...]
    """The current state of every order found, in request order."""
    items: tuple[ResolvedItem, ...]
    """One entry per request item, in request order."""
    op: str | None = None
    """The op of the resolved request (``None`` for a look-up by id)."""

    @classmethod
    def of(cls, items: Sequence[ResolvedItem], op: str | None) -> Resolution:
        """Summarise per-item results."""
        outcomes = {i.outcome for i in items}
        summary: Literal["acted", "not_found", "unknown", "mixed"]
        if "unknown" in outcomes:
            summary = "unknown"
        elif outcomes == {"acted"}:
            summary = "acted"
        elif outcomes == {"not_found"} or not outcomes:
            summary = "not_found"
        else:
            summary = "mixed"
        orders = tuple(i.order for i in items if i.order is not None)
        return cls(summary, orders, tuple(items), op)


class OkxWaitTimeout(OkxRequestTimeout):
    """``wait_order`` reached its deadline before the order reached the states.

    Attributes:
        order: the order's last known state, or ``None`` if the tracker has
            never seen it.
    """

    def __init__(
        self,
        message: str,
        op: str | None = "wait_order",
        id: str | None = None,
        cl_ord_id: str | None = None,
        request: Sequence[Mapping[str, Any]] = (),
        connection: str | None = None,
        order: TrackedOrder | None = None,
    ) -> None:
        super().__init__(message, op, id, cl_ord_id, request, connection)
        self.args = (*self.args, order)
        self.order = order


# ---------------------------------------------------------------------------
# The tracker


class _Entry:
    """One tracked order plus its de-duplication memory."""

    __slots__ = ("c_time", "final_pushed", "kind", "order", "req_ids", "trade_ids")

    def __init__(self, order: TrackedOrder, kind: Kind) -> None:
        self.order = order
        self.kind: Kind = kind
        self.c_time = _int(order.raw.get("cTime"))
        self.trade_ids: set[str] = set()
        self.final_pushed = False
        self.req_ids: dict[str, str] = {}


@attrs.define
class _Expected:
    kind: Kind
    wire: Mapping[str, Any]
    since: float


class OrderTracker:
    """The latest state of the account's orders, from the private order channels.

    Not constructed directly: open it with ``async with api.track_orders() as
    orders`` or ``open_ws_api_client(track_orders=True)`` (then ``api.orders``).
    Iterating gives the tracked orders (a snapshot); ``len()`` counts them.
    See the module docstring for the rules applied and the memory bound.
    """

    def __init__(
        self,
        api: WsApiClient,
        *,
        max_terminal: int = DEFAULT_MAX_TERMINAL,
        terminal_ttl: float = DEFAULT_TERMINAL_TTL,
    ) -> None:
        if isinstance(max_terminal, bool) or not isinstance(max_terminal, int):
            raise TypeError("max_terminal must be an int")
        if max_terminal < 0:
            raise ValueError(f"max_terminal must be >= 0, got {max_terminal}")
        if isinstance(terminal_ttl, bool) or not isinstance(terminal_ttl, (int, float)):
            raise TypeError("terminal_ttl must be a number of seconds")
        if not terminal_ttl >= 0:
            raise ValueError(f"terminal_ttl must be >= 0, got {terminal_ttl}")
        self._api = api
        self.max_terminal = max_terminal
        """Terminal orders kept before the oldest is forgotten."""
        self.terminal_ttl = float(terminal_ttl)
        """Seconds a terminal order is kept."""
        self._orders: dict[str, _Entry] = {}
        self._by_cl: dict[str, str] = {}
        self._ended: OrderedDict[str, float] = OrderedDict()
        self._expected: OrderedDict[str, _Expected] = OrderedDict()
        self._waiters: dict[str, set[trio.Event]] = {}
        self._subs: dict[Kind, Any] = {}
        self._refresh_wanted: dict[Kind, trio.Event] = {
            "regular": trio.Event(), "spread": trio.Event()
        }
        self._errors: dict[Kind, OkxError] = {}
        self.started = trio.Event()
        """Set once the subscriptions are acknowledged (or failed)."""
        self.duplicates = 0
        """Pushes dropped as duplicates."""
        self.malformed = 0
        """Items ignored because they had no ``ordId``."""
        self.refreshes = 0
        """Orders refreshed from REST after gaps."""

    def __repr__(self) -> str:
        stale = sum(1 for e in self._orders.values() if e.order.stale)
        return f"<OrderTracker orders={len(self._orders)} stale={stale}>"

    # -- reading

    def get(
        self, *, cl_ord_id: str | None = None, ord_id: str | None = None
    ) -> TrackedOrder | None:
        """The tracked order with ``ord_id`` (wins) or ``cl_ord_id``, or ``None``.

        Raises:
            ValueError: neither id given.
        """
        if ord_id is None and cl_ord_id is None:
            raise ValueError("give ord_id or cl_ord_id")
        entry = self._entry(ord_id, cl_ord_id)
        return entry.order if entry is not None else None

    def __iter__(self) -> Iterator[TrackedOrder]:
        return iter([e.order for e in self._orders.values()])

    def __len__(self) -> int:
        return len(self._orders)

    @property
    def error(self) -> OkxError | None:
        """The failure of a channel subscription, if one failed (then raised by waits)."""
        kinds: tuple[Kind, ...] = ("regular", "spread")
        for kind in kinds:
            exc = self._errors.get(kind)
            if exc is not None:
                return exc
        return None

    def _entry(self, ord_id: str | None, cl_ord_id: str | None) -> _Entry | None:
        if ord_id is not None:
            entry = self._orders.get(ord_id)
            if entry is not None and cl_ord_id is not None and entry.order.cl_ord_id != cl_ord_id:
                return None
            return entry
        if cl_ord_id is not None:
            oid = self._by_cl.get(cl_ord_id)
            if oid is not None:
                return self._orders.get(oid)
        return None

    def _amend_result(self, entry: _Entry | None, req_id: str | None) -> str | None:
        if entry is None or not req_id:
            return None
        return entry.req_ids.get(req_id)

    # -- waiting

    def _waiter(self, ord_id: str | None, cl_ord_id: str | None) -> trio.Event:
        """An event set at the next change of that order (or a failure)."""
        event = trio.Event()
        for key in _keys(ord_id, cl_ord_id):
            self._waiters.setdefault(key, set()).add(event)
        return event

    def _unwait(self, event: trio.Event, ord_id: str | None, cl_ord_id: str | None) -> None:
        for key in _keys(ord_id, cl_ord_id):
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[key]

    def _wake(self, order: TrackedOrder) -> None:
        for key in _keys(order.ord_id, order.cl_ord_id):
            for event in self._waiters.pop(key, ()):
                event.set()

    def _wake_all(self) -> None:
        waiters = self._waiters
        self._waiters = {}
        for events in waiters.values():
            for event in events:
                event.set()

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
        kind_hint: Kind | None = None
        while True:
            entry = self._entry(ord_id, cl_ord_id)
            if entry is not None:
                kind_hint = entry.kind
                order = entry.order
                if order.state in wanted or order.terminal:
                    return order
            error = self._errors.get(kind_hint) if kind_hint else self.error
            if error is not None:
                raise _copy(error)
            event = self._waiter(ord_id, cl_ord_id)
            try:
                with trio.move_on_at(deadline):
                    await event.wait()
            finally:
                self._unwait(event, ord_id, cl_ord_id)
            if trio.current_time() >= deadline and not event.is_set():
                last = self._entry(ord_id, cl_ord_id)
                ident = f"clOrdId {cl_ord_id}" if cl_ord_id else f"ordId {ord_id}"
                raise OkxWaitTimeout(
                    f"order {ident} did not reach {'/'.join(sorted(wanted))} in time",
                    "wait_order", None, cl_ord_id, (), None,
                    last.order if last is not None else None,
                )

    # -- applying pushes and REST items

    def _apply(self, item: Mapping[str, Any], kind: Kind, *, push: bool) -> TrackedOrder | None:
        """Merge one push/REST item; returns the new state, or None if dropped."""
        try:
            new = TrackedOrder.from_okx(item)
        except ValueError:
            self.malformed += 1
            return None
        entry = self._orders.get(new.ord_id)
        trade_id = _text(item.get("tradeId"))
        req_id = _text(item.get("reqId"))
        amend_result = _text(item.get("amendResult"))
        if entry is None:
            entry = _Entry(new, kind)
            self._orders[new.ord_id] = entry
            merged = new
        else:
            if push and self._duplicate(entry, new, trade_id, req_id, amend_result):
                self.duplicates += 1
                return None
            merged = _merge(entry.order, new, push=push)
            entry.order = merged
        if push:
            if trade_id:
                entry.trade_ids.add(trade_id)
            if new.terminal:
                entry.final_pushed = True
        if req_id and amend_result:
            entry.req_ids.setdefault(req_id, amend_result)
        c_time = _int(item.get("cTime"))
        if c_time:
            entry.c_time = c_time
        cl = merged.cl_ord_id
        if cl:
            self._expected.pop(cl, None)
            current = self._by_cl.get(cl)
            other = self._orders.get(current) if current is not None else None
            if other is None or other is entry or entry.c_time >= other.c_time:
                self._by_cl[cl] = merged.ord_id
        if merged.terminal and merged.ord_id not in self._ended:
            self._ended[merged.ord_id] = trio.current_time()
        self._evict()
        self._wake(merged)
        return merged

    @staticmethod
    def _duplicate(
        entry: _Entry, new: TrackedOrder, trade_id: str, req_id: str, amend_result: str
    ) -> bool:
        if trade_id:
            return trade_id in entry.trade_ids
        if new.terminal:
            return entry.final_pushed
        # Only the amend's own push is de-duplicated by reqId: a reqId that
        # lingers on later pushes must not hide their changes.
        return bool(req_id and amend_result and req_id in entry.req_ids)

    def _evict(self) -> None:
        ended = self._ended
        if not ended:
            return
        cutoff = trio.current_time() - self.terminal_ttl
        while ended:
            ord_id, at = next(iter(ended.items()))
            if len(ended) <= self.max_terminal and at > cutoff:
                break
            ended.popitem(last=False)
            entry = self._orders.pop(ord_id, None)
            cl = entry.order.cl_ord_id if entry is not None else None
            if cl and self._by_cl.get(cl) == ord_id:
                del self._by_cl[cl]

    def _on_gap(self, kind: Kind) -> None:
        for entry in self._orders.values():
            if entry.kind == kind and not entry.order.terminal and not entry.order.stale:
                entry.order = attrs.evolve(entry.order, stale=True)
        self._refresh_wanted[kind].set()

    def _expect(self, kind: Kind, cl_ord_id: str, wire: Mapping[str, Any]) -> None:
        """A place carrying ``cl_ord_id`` (its item ``wire``) is about to be sent."""
        if cl_ord_id in self._by_cl:
            return
        self._expected[cl_ord_id] = _Expected(kind, wire, trio.current_time())
        self._expected.move_to_end(cl_ord_id)
        while len(self._expected) > _EXPECTED_LIMIT:
            self._expected.popitem(last=False)

    def _unexpect(self, cl_ord_id: str) -> None:
        """The place of ``cl_ord_id`` was refused: no order will appear."""
        self._expected.pop(cl_ord_id, None)

    # -- running

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        """Subscribe (raising any refusal), run the consumers until exit."""
        ws = self._api.ws_client
        async with AsyncExitStack() as stack:
            self._subs["regular"] = await stack.enter_async_context(
                ws.subscribe({"channel": "orders", "instType": "ANY"})
            )
            self._subs["spread"] = await stack.enter_async_context(
                ws.subscribe({"channel": "sprd-orders"})
            )
            scope = trio.CancelScope()
            done = trio.Event()

            async def tasks() -> None:
                try:
                    with scope:
                        async with trio.open_nursery() as nursery:
                            for kind in ("regular", "spread"):
                                nursery.start_soon(self._consume, kind)
                                nursery.start_soon(self._refresher, kind)
                finally:
                    done.set()

            # In the client's nursery, so the caller's block never runs inside a
            # nursery of ours (its exceptions stay themselves).
            # Orders that were open before the tracker started have no push to
            # come: load them (orders-pending) in the background.
            self._refresh_wanted["regular"].set()
            ws._nursery.start_soon(tasks, name="okx_trio order tracker")
            self.started.set()
            try:
                yield
            finally:
                scope.cancel()
                with trio.CancelScope(shield=True):
                    await done.wait()

    async def _run_forever(self) -> None:
        """The ``track_orders=True`` task: runs for the client's life."""
        try:
            async with self._running():
                await trio.sleep_forever()
        except OkxError as exc:
            log.warning("order tracker could not subscribe: %s", exc)
            self._errors.setdefault("regular", exc)
            self._errors.setdefault("spread", exc)
            self._wake_all()
        finally:
            self.started.set()

    async def _consume(self, kind: Kind) -> None:
        sub = self._subs[kind]
        try:
            async for item in sub:
                if isinstance(item, Gap):
                    self._on_gap(kind)
                elif isinstance(item, Push):
                    for d in item.data:
                        if isinstance(d, Mapping):
                            self._apply(d, kind, push=True)
        except OkxError as exc:
            log.warning("order tracker: the %s order channel failed: %s", kind, exc)
            self._errors[kind] = exc
            self._wake_all()

    async def _refresher(self, kind: Kind) -> None:
        while True:
            await self._refresh_wanted[kind].wait()
            self._refresh_wanted[kind] = trio.Event()
            await self._wait_live(kind)
            try:
                await self._refresh(kind)
            except OkxAuthError as exc:
                log.warning("order tracker: REST refresh refused: %s", exc)
            except OkxError as exc:
                log.warning("order tracker: REST refresh failed (%s); orders stay stale", exc)

    async def _wait_live(self, kind: Kind) -> None:
        """Until the channel is subscribed again (pushes from then on are seen)."""
        servers = getattr(self._subs.get(kind), "_servers", None) or ()
        manager = self._api.ws_client._subscriptions
        while any(getattr(ss, "state", "live") not in ("live", "failed") for ss in servers):
            changed = getattr(manager, "_changed", None)
            if isinstance(changed, trio.Event):
                await changed.wait()
            else:  # pragma: no cover - the manager always has the event
                await trio.sleep(_LIVE_POLL)

    async def _refresh(self, kind: Kind) -> None:
        """Ask REST for every open order of ``kind`` held, and every expected order."""
        rest = self._api.ws_client.rest
        seen: set[str] = set()
        # Open orders first (one request), so only the orders that ended while
        # the stream was down need a look-up of their own.
        pending = await _retrying(
            rest.get_orders_pending if kind == "regular" else rest.get_sprd_orders_pending,
            trio.current_time() + REFRESH_TIMEOUT,
        )
        for item in pending:
            order = self._apply(item, kind, push=False)
            if order is not None:
                seen.add(order.ord_id)
                self.refreshes += 1
        targets = [
            e.order for e in list(self._orders.values())
            if e.kind == kind and not e.order.terminal and e.order.ord_id not in seen
        ]
        for order in targets:
            item = await self._fetch(kind, order.inst_id, ord_id=order.ord_id)
            if item is not None:
                self._apply(item, kind, push=False)
                self.refreshes += 1
            await trio.sleep(REST_PACE)
        now = trio.current_time()
        for cl, exp in list(self._expected.items()):
            if exp.kind != kind or cl in self._by_cl:
                continue
            inst_id = None
            if kind == "regular":
                inst_id = await _inst_id_of(self._api, exp.wire, None, cl,
                                            trio.current_time() + REFRESH_TIMEOUT)
                if inst_id is None:
                    self._expected.pop(cl, None)  # no such instrument: refused
                    continue
            item = await self._fetch(kind, inst_id, cl_ord_id=cl)
            if item is not None:
                self._apply(item, kind, push=False)
                self.refreshes += 1
            elif now - exp.since > _EXPECTED_GIVE_UP:
                self._expected.pop(cl, None)
            await trio.sleep(REST_PACE)

    async def _fetch(
        self, kind: Kind, inst_id: str | None, *, ord_id: str | None = None,
        cl_ord_id: str | None = None,
    ) -> dict[str, Any] | None:
        found, item = await _rest_order(self._api, kind, inst_id, ord_id, cl_ord_id,
                                        trio.current_time() + REFRESH_TIMEOUT)
        return item if found else None


def _keys(ord_id: str | None, cl_ord_id: str | None) -> list[str]:
    keys = []
    if ord_id:
        keys.append("o" + ord_id)
    if cl_ord_id:
        keys.append("c" + cl_ord_id)
    return keys


def _merge(cur: TrackedOrder, new: TrackedOrder, *, push: bool) -> TrackedOrder:
    if cur.terminal:
        return cur
    if new.terminal:
        if new.acc_fill_sz < cur.acc_fill_sz:
            return attrs.evolve(new, acc_fill_sz=cur.acc_fill_sz, avg_px=cur.avg_px)
        return new
    if new.u_time < cur.u_time:
        # Older than what we hold: a REST answer still proves we are current.
        return cur if push or not cur.stale else attrs.evolve(cur, stale=False)
    state = new.state if _rank(new.state) >= _rank(cur.state) else cur.state
    if new.acc_fill_sz < cur.acc_fill_sz:
        return attrs.evolve(new, state=state, acc_fill_sz=cur.acc_fill_sz, avg_px=cur.avg_px)
    if state != new.state:
        return attrs.evolve(new, state=state)
    return new


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


def _copy(exc: OkxError) -> OkxError:
    import copy

    try:
        return copy.copy(exc)
    except Exception:  # pragma: no cover - every OkxError keeps its args
        return exc


# ---------------------------------------------------------------------------
# REST look-ups


class _Transient(Exception):
    """A REST attempt failed in a way worth retrying."""


async def _rest_once(api: WsApiClient, kind: Kind, inst_id: str | None, ord_id: str | None,
                     cl_ord_id: str | None) -> tuple[bool, dict[str, Any] | None]:
    """``(found, item)``: ``(False, None)`` when the exchange has no such order.

    Raises:
        _Transient: worth retrying.
        OkxAuthError, OkxApiError: a definite refusal.
    """
    rest = api.ws_client.rest
    try:
        if kind == "spread":
            item = await rest.get_sprd_order(ord_id=ord_id, cl_ord_id=cl_ord_id)
        else:
            if inst_id is None:
                return False, None
            item = await rest.get_order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)
    except OkxRateLimitError as exc:
        raise _Transient(str(exc)) from exc
    except OkxApiError as exc:
        if exc.code in _NOT_FOUND_CODES:
            return False, None
        if exc.code in _TRANSIENT_CODES:
            raise _Transient(str(exc)) from exc
        raise
    except (OkxRequestError, OkxProtocolError) as exc:
        raise _Transient(str(exc)) from exc
    return item is not None, item


async def _retrying(call: Callable[[], Any], deadline: float) -> Any:
    """``await call()``, retrying transient REST failures until ``deadline``.

    Raises:
        OkxRequestTimeout: no success before ``deadline``.
        OkxAuthError, OkxApiError: a definite refusal.
    """
    delay = _RETRY_INITIAL
    while True:
        with trio.move_on_at(deadline):
            try:
                return await call()
            except OkxRateLimitError as exc:
                log.debug("REST look-up rate limited, retrying: %s", exc)
            except OkxApiError as exc:
                if exc.code not in _TRANSIENT_CODES:
                    raise
                log.debug("REST look-up failed, retrying: %s", exc)
            except (OkxRequestError, OkxProtocolError) as exc:
                log.debug("REST look-up failed, retrying: %s", exc)
        if trio.current_time() + delay >= deadline:
            raise OkxRequestTimeout("REST look-up did not succeed before the deadline", "GET",
                                    connection="rest")
        await trio.sleep(delay)
        delay = min(delay * 2, _RETRY_MAX)


async def _rest_order(api: WsApiClient, kind: Kind, inst_id: str | None, ord_id: str | None,
                      cl_ord_id: str | None, deadline: float
                      ) -> tuple[bool, dict[str, Any] | None]:
    delay = _RETRY_INITIAL
    while True:
        with trio.move_on_at(deadline):
            try:
                return await _rest_once(api, kind, inst_id, ord_id, cl_ord_id)
            except _Transient as exc:
                log.debug("order look-up failed, retrying: %s", exc)
        if trio.current_time() + delay >= deadline:
            raise OkxRequestTimeout("REST order look-up did not succeed before the deadline",
                                    "GET", None, cl_ord_id, connection="rest")
        await trio.sleep(delay)
        delay = min(delay * 2, _RETRY_MAX)


# ---------------------------------------------------------------------------
# Unknown outcomes: when has the exchange certainly finished with a request?


class UnknownOutcomes:
    """The settle time (trio clock) of recent requests that ended outcome-unknown.

    Bounded: the oldest entries are forgotten past a few thousand.
    """

    def __init__(self, limit: int = _UNKNOWN_LIMIT) -> None:
        self._limit = limit
        self._by_id: OrderedDict[str, float] = OrderedDict()
        self._by_cl: OrderedDict[str, float] = OrderedDict()

    def record(
        self,
        exc: OkxRequestError,
        *,
        exp_time: int | None,
        sent_at: float,
        deadline: float,
        now_ms_at_send: int,
        send_exp_time: bool,
    ) -> float:
        """Remember when the exchange is done with ``exc``'s request; returns that time."""
        op = exc.op or ""
        now = trio.current_time()
        if op in EXP_TIME_OPS and exp_time is not None:
            settle = sent_at + (exp_time - now_ms_at_send) / 1000 + SETTLE_MARGIN
        elif op in EXP_TIME_OPS and send_exp_time and deadline != math.inf:
            settle = deadline + SETTLE_MARGIN
        else:
            settle = now + SETTLE_DELAY
        if exc.id:
            self._put(self._by_id, exc.id, settle)
        if op in _PLACE_OPS:
            for item in exc.request:
                cl = item.get("clOrdId")
                if isinstance(cl, str) and cl:
                    self._put(self._by_cl, cl, settle)
        return settle

    def _put(self, table: OrderedDict[str, float], key: str, value: float) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self._limit:
            table.popitem(last=False)

    def for_request(self, request_id: str | None) -> float | None:
        """The settle time recorded for a request id."""
        return self._by_id.get(request_id) if request_id else None

    def for_cl_ord_id(self, cl_ord_id: str | None) -> float | None:
        """The settle time recorded for a placed clOrdId."""
        return self._by_cl.get(cl_ord_id) if cl_ord_id else None


# ---------------------------------------------------------------------------
# Resolution


@attrs.frozen
class _Query:
    action: Literal["place", "amend", "cancel", "lookup"]
    kind: Kind
    request: Mapping[str, Any]
    ord_id: str | None
    cl_ord_id: str | None
    inst_id: str | None
    req_id: str | None = None
    new_sz: Decimal | None = None
    new_px: Decimal | None = None


def _judge(q: _Query, order: TrackedOrder | None, amend_result: str | None) -> Outcome | None:
    """The outcome ``order`` proves, or ``None`` while the request may still act."""
    if q.action in ("place", "lookup"):
        return "acted" if order is not None else None
    if order is None:
        return "not_found"
    if q.action == "cancel":
        if order.state in ("canceled", "mmp_canceled"):
            return "acted"
        return "not_found" if order.terminal else None
    # amend
    if amend_result is not None:
        return "not_found" if amend_result == "-1" else "acted"
    matches = (q.new_sz is None or order.sz == q.new_sz) and (
        q.new_px is None or order.px == q.new_px
    )
    if matches:
        return "acted"
    return "not_found" if order.terminal else None


async def resolve_outcome(
    api: WsApiClient,
    error: OkxRequestError | None,
    *,
    cl_ord_id: str | None,
    ord_id: str | None,
    inst_id: str | None,
    sprd_id: str | None,
    deadline: float,
    settle_delay: float | None,
    unknowns: UnknownOutcomes,
    extend: bool = False,
) -> Resolution:
    """The implementation of ``WsApiClient.resolve`` (see there).

    With ``extend`` (the default timeout) the deadline starts counting once
    the exchange has certainly finished with the request, so waiting that out
    never turns a definite answer into "unknown".
    """
    now = trio.current_time()
    if error is not None:
        if not isinstance(error, OkxRequestError):
            raise TypeError(
                "resolve() takes an OkxConnectionLost/OkxRequestTimeout (or OkxNotSent), "
                f"not {type(error).__name__}"
            )
        if cl_ord_id is not None or ord_id is not None:
            raise ValueError("give either an error or cl_ord_id/ord_id, not both")
        op = error.op or ""
        if op not in _PLACE_OPS | _AMEND_OPS | _CANCEL_OPS:
            raise ValueError(f"cannot resolve op {op!r}: only place, amend and cancel ops")
        if not error.request:
            raise ValueError("the error carries no request items to resolve")
        if isinstance(error, OkxNotSent):
            items = [ResolvedItem("not_found", None, dict(r)) for r in error.request]
            return Resolution.of(items, op)
        queries = [await _query_of(api, op, r, deadline) for r in error.request]
        settle = unknowns.for_request(error.id)
        if settle is None:
            settle = now + (SETTLE_DELAY if settle_delay is None else settle_delay)
        elif settle_delay is not None:
            settle = now + settle_delay
    else:
        op = None
        if cl_ord_id is None and ord_id is None:
            raise ValueError("give an error to resolve, or cl_ord_id / ord_id")
        if inst_id is not None and sprd_id is not None:
            raise ValueError("give inst_id or sprd_id, not both")
        for name, value in (("cl_ord_id", cl_ord_id), ("ord_id", ord_id), ("inst_id", inst_id),
                            ("sprd_id", sprd_id)):
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"{name} must be a non-empty str")
        kind: Kind | None = "spread" if sprd_id is not None else (
            "regular" if inst_id is not None else None)
        tracker = api.orders
        if kind is None and tracker is not None:
            entry = tracker._entry(ord_id, cl_ord_id)
            if entry is not None:
                kind = entry.kind
                inst_id = entry.order.inst_id
        if kind is None:
            raise ValueError("give inst_id (or sprd_id for a spread order): the exchange "
                             "needs it to look the order up")
        request = {k: v for k, v in (("instId", inst_id), ("sprdId", sprd_id),
                                     ("ordId", ord_id), ("clOrdId", cl_ord_id)) if v}
        queries = [_Query("lookup", kind, request, ord_id, cl_ord_id, inst_id)]
        known = unknowns.for_cl_ord_id(cl_ord_id)
        if settle_delay is not None:
            settle = now + settle_delay
        else:
            settle = known if known is not None else now
    if extend and settle > now:
        deadline += settle - now
    results: list[ResolvedItem | None] = [None] * len(queries)
    failure: list[BaseException] = []

    async def one(i: int, q: _Query, cancel: trio.CancelScope) -> None:
        try:
            results[i] = await _resolve_one(api, q, settle, deadline)
        except (OkxError, ValueError) as exc:
            failure.append(exc)
            cancel.cancel()

    if len(queries) == 1:
        results[0] = await _resolve_one(api, queries[0], settle, deadline)
    else:
        async with trio.open_nursery() as nursery:
            for i, q in enumerate(queries):
                nursery.start_soon(one, i, q, nursery.cancel_scope)
        if failure:
            raise failure[0]
    return Resolution.of([r for r in results if r is not None], op)


async def _query_of(api: WsApiClient, op: str, wire: Mapping[str, Any],
                    deadline: float) -> _Query:
    action: Literal["place", "amend", "cancel"] = (
        "place" if op in _PLACE_OPS else "amend" if op in _AMEND_OPS else "cancel"
    )
    kind: Kind = "spread" if op in _SPREAD_OPS else "regular"
    ord_id = _text(wire.get("ordId")) or None
    cl = _text(wire.get("clOrdId")) or None
    if action == "place":
        ord_id = None  # a place's ordId is the exchange's to give
    if ord_id is None and cl is None:
        raise ValueError(f"item {dict(wire)!r} has neither ordId nor clOrdId")
    inst_id = None
    if kind == "regular":
        inst_id = await _inst_id_of(api, wire, ord_id, cl, deadline)
    return _Query(
        action, kind, dict(wire), ord_id, cl, inst_id,
        req_id=_text(wire.get("reqId")) or None,
        new_sz=_dec(str(wire["newSz"])) if wire.get("newSz") is not None else None,
        new_px=_dec(str(wire["newPx"])) if wire.get("newPx") is not None else None,
    )


async def _inst_id_of(api: WsApiClient, wire: Mapping[str, Any], ord_id: str | None,
                      cl: str | None, deadline: float) -> str | None:
    """The instId of a regular op's item (REST needs it; the wire may hold only the code)."""
    inst_id = wire.get("instId")
    if isinstance(inst_id, str) and inst_id:
        return inst_id
    code = wire.get("instIdCode")
    if not isinstance(code, int) or isinstance(code, bool):
        return None
    cache = api._instruments
    inst = cache.get_by_code(code)
    if inst is not None:
        return inst.inst_id
    tracker = api.orders
    if tracker is not None:
        entry = tracker._entry(ord_id, cl)
        if entry is not None and entry.order.inst_id:
            return entry.order.inst_id
    with trio.move_on_at(deadline):
        for inst_type in INST_TYPES:
            if cache.loaded(inst_type):
                continue
            try:
                await cache.load(inst_type)
            except InstrumentFetchError:
                continue
            inst = cache.get_by_code(code)
            if inst is not None:
                return inst.inst_id
    # No listed instrument has this code: the exchange refused the request (51001).
    return None


async def _resolve_one(api: WsApiClient, q: _Query, settle: float,
                       deadline: float) -> ResolvedItem:
    if q.kind == "regular" and q.inst_id is None:
        # Unknown instrument code: the exchange cannot have acted on it.
        return ResolvedItem("not_found", None, q.request)
    last: TrackedOrder | None = None
    next_rest = trio.current_time()
    delay = _RETRY_INITIAL
    while True:
        tracker = api.orders
        entry = tracker._entry(q.ord_id, q.cl_ord_id) if tracker is not None else None
        amend_result = (tracker._amend_result(entry, q.req_id)
                        if tracker is not None and q.action == "amend" else None)
        if entry is not None and not entry.order.stale:
            last = entry.order
            verdict = _judge(q, entry.order, amend_result)
            if verdict is not None:
                return ResolvedItem(verdict, entry.order, q.request)
        now = trio.current_time()
        if now >= deadline:
            return ResolvedItem("unknown", last, q.request)
        if now >= next_rest:
            sent_at = now
            try:
                with trio.move_on_at(deadline):
                    found, item = await _rest_once(api, q.kind, q.inst_id, q.ord_id,
                                                   q.cl_ord_id)
                    order = None
                    if found and item is not None:
                        applied = tracker._apply(item, q.kind, push=False) if tracker else None
                        order = applied or TrackedOrder.from_okx(item)
                        last = order
                    verdict = _judge(q, order, amend_result)
                    if verdict is None and sent_at >= settle:
                        verdict = "not_found"
                    if verdict is not None:
                        return ResolvedItem(verdict, order, q.request)
                    next_rest = settle if tracker is not None else min(settle, now + _POLL)
                    delay = _RETRY_INITIAL
            except _Transient as exc:
                log.debug("resolve: REST look-up failed, retrying: %s", exc)
                next_rest = trio.current_time() + delay
                delay = min(delay * 2, _RETRY_MAX)
            except ValueError as exc:
                # A malformed id in the request: the exchange refused it (51000).
                log.debug("resolve: cannot look the order up: %s", exc)
                return ResolvedItem("not_found", None, q.request)
            continue
        wake = min(next_rest, deadline)
        if tracker is not None:
            event = tracker._waiter(q.ord_id, q.cl_ord_id)
            try:
                with trio.move_on_at(wake):
                    await event.wait()
            finally:
                tracker._unwait(event, q.ord_id, q.cl_ord_id)
        else:
            await trio.sleep_until(wake)


async def wait_for_order(
    api: WsApiClient,
    *,
    cl_ord_id: str | None,
    ord_id: str | None,
    states: Iterable[str],
    deadline: float,
) -> TrackedOrder:
    """The implementation of ``WsApiClient.wait_order``."""
    tracker = api.orders
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


