"""The order tracker's table: OKX's ordering and de-duplication rules, sans-I/O.

``OrderTable`` holds the latest state of every tracked order and applies
each ``orders`` / ``sprd-orders`` push item or REST item to it. Everything that
decides an order's state lives here, and every method that depends on time
takes ``now``, so the rules are tested synchronously, item by item. The rules:

* a push whose ``tradeId`` was already applied to the order is a duplicate;
* only the first ``filled``/``canceled``/``mmp_canceled`` push of an order counts;
* only the first push of an amend's ``reqId`` counts;
* a terminal state (``filled``, ``canceled``, ``mmp_canceled``) is never
  overwritten; otherwise the newer ``uTime`` wins, the state never moves
  back (``live`` < ``partially_filled`` < terminal) and ``accFillSz`` never
  decreases;
* a gap in a channel marks its open orders ``stale`` until a later push or a
  REST answer proves them current (a REST answer no newer than the state held
  proves it current too; an old push proves nothing);
* memory is bounded: an order that reached a terminal state is forgotten once
  more than ``max_terminal`` terminal orders are held, or ``terminal_ttl``
  seconds after it ended, whichever comes first; open orders are never
  evicted (OKX caps them per account);
* a place this client is about to send is *expected* by its ``clOrdId`` until
  the order shows up (the tracker asks REST for expected orders after a gap).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, Final, Literal

import attrs

from ._formats import is_digits
from ._models import TrackedOrder
from ._okx import TERMINAL_STATES

__all__ = [
    "DEFAULT_MAX_TERMINAL",
    "DEFAULT_TERMINAL_TTL",
    "Entry",
    "Expected",
    "Kind",
    "OrderTable",
    "merge",
]

Kind = Literal["regular", "spread"]
"""Which order channel an order comes from: ``orders`` or ``sprd-orders``."""

DEFAULT_MAX_TERMINAL: Final = 10_000
"""Terminal orders a tracker keeps before forgetting the oldest."""
DEFAULT_TERMINAL_TTL: Final = 3600.0
"""Seconds a tracker keeps an order after it reached a terminal state."""
EXPECTED_LIMIT: Final = 10_000
"""Expected places remembered at most (the oldest are forgotten first)."""

_RANK: Final = {"live": 0, "partially_filled": 1}


def _rank(state: str) -> int:
    return 2 if state in TERMINAL_STATES else _RANK.get(state, 0)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and is_digits(value):
        return int(value)
    return 0


class Entry:
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
class Expected:
    """A place sent (or about to be) whose order has not shown up yet."""

    kind: Kind
    wire: Mapping[str, Any]
    since: float


def merge(cur: TrackedOrder, new: TrackedOrder, *, push: bool) -> TrackedOrder:
    """The state after ``new`` (a push, or a REST answer when ``push`` is False)
    arrives for an order whose state is ``cur``."""
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


def _duplicate(entry: Entry, new: TrackedOrder, trade_id: str, req_id: str,
               amend_result: str) -> bool:
    if trade_id:
        return trade_id in entry.trade_ids
    if new.terminal:
        return entry.final_pushed
    # Only the amend's own push is de-duplicated by reqId: a reqId that
    # lingers on later pushes must not hide their changes.
    return bool(req_id and amend_result and req_id in entry.req_ids)


class OrderTable:
    """The latest state of every tracked order, by ``ordId`` and ``clOrdId``.

    Args:
        max_terminal: terminal orders kept before the oldest is forgotten.
        terminal_ttl: seconds a terminal order is kept after it ended.

    Raises:
        TypeError, ValueError: a bad bound.
    """

    def __init__(
        self,
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
        self.max_terminal = max_terminal
        self.terminal_ttl = float(terminal_ttl)
        self._orders: dict[str, Entry] = {}
        self._by_cl: dict[str, str] = {}
        self._ended: OrderedDict[str, float] = OrderedDict()
        self._expected: OrderedDict[str, Expected] = OrderedDict()
        self.duplicates = 0
        """Pushes dropped as duplicates."""
        self.malformed = 0
        """Items ignored because they had no ``ordId``."""

    # -- reading

    def __len__(self) -> int:
        return len(self._orders)

    def orders(self) -> list[TrackedOrder]:
        """Every tracked order (a snapshot)."""
        return [e.order for e in self._orders.values()]

    def entries(self) -> Iterator[Entry]:
        """Every entry (do not change the table while iterating)."""
        return iter(self._orders.values())

    def entry(self, ord_id: str | None, cl_ord_id: str | None) -> Entry | None:
        """The entry with ``ord_id`` (which wins; ``cl_ord_id`` must then match) or
        ``cl_ord_id``, or ``None``."""
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

    def knows_cl_ord_id(self, cl_ord_id: str) -> bool:
        """True when an order with this ``clOrdId`` is held."""
        return cl_ord_id in self._by_cl

    @staticmethod
    def amend_result(entry: Entry | None, req_id: str | None) -> str | None:
        """The ``amendResult`` the order's pushes gave for an amend's ``reqId``."""
        if entry is None or not req_id:
            return None
        return entry.req_ids.get(req_id)

    # -- applying pushes and REST items

    def apply(
        self, item: Mapping[str, Any], kind: Kind, *, push: bool, now: float
    ) -> TrackedOrder | None:
        """Merge one push item (``push``) or REST item; the new state, or ``None`` if
        the item was dropped (a duplicate, or no ``ordId``)."""
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
            entry = Entry(new, kind)
            self._orders[new.ord_id] = entry
            merged = new
        else:
            if push and _duplicate(entry, new, trade_id, req_id, amend_result):
                self.duplicates += 1
                return None
            merged = merge(entry.order, new, push=push)
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
            self._ended[merged.ord_id] = now
        self.evict(now)
        return merged

    def evict(self, now: float) -> None:
        """Forget terminal orders beyond ``max_terminal`` or older than ``terminal_ttl``."""
        ended = self._ended
        if not ended:
            return
        cutoff = now - self.terminal_ttl
        while ended:
            ord_id, at = next(iter(ended.items()))
            if len(ended) <= self.max_terminal and at > cutoff:
                break
            ended.popitem(last=False)
            entry = self._orders.pop(ord_id, None)
            cl = entry.order.cl_ord_id if entry is not None else None
            if cl and self._by_cl.get(cl) == ord_id:
                del self._by_cl[cl]

    def mark_stale(self, kind: Kind) -> None:
        """A gap in ``kind``'s channel: its open orders may have changed unseen."""
        for entry in self._orders.values():
            if entry.kind == kind and not entry.order.terminal and not entry.order.stale:
                entry.order = attrs.evolve(entry.order, stale=True)

    # -- expected places

    def expect(self, kind: Kind, cl_ord_id: str, wire: Mapping[str, Any], now: float) -> None:
        """A place carrying ``cl_ord_id`` (its item ``wire``) is about to be sent."""
        if cl_ord_id in self._by_cl:
            return
        self._expected[cl_ord_id] = Expected(kind, wire, now)
        self._expected.move_to_end(cl_ord_id)
        while len(self._expected) > EXPECTED_LIMIT:
            self._expected.popitem(last=False)

    def unexpect(self, cl_ord_id: str) -> None:
        """The place of ``cl_ord_id`` was refused, or given up on: no order will appear."""
        self._expected.pop(cl_ord_id, None)

    def expected(self) -> list[tuple[str, Expected]]:
        """The expected places, oldest first (a snapshot)."""
        return list(self._expected.items())
