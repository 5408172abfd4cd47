"""The tracker's ordering and de-duplication rules, item by item, on the sans-I/O table.

Synchronous: ``OrderTable`` takes ``now`` as an argument, so time is a number here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from okx_trio import OrderTracker, Resolution, ResolvedItem, TrackedOrder
from okx_trio._order_state import Kind
from okx_trio._tracker import TrackerState


def item(state: str = "live", u: int = 1000, acc: str = "0", **extra: Any) -> dict[str, Any]:
    base = {
        "instType": "SPOT", "instId": "BTC-USDT", "ordId": "1", "clOrdId": "c1",
        "px": "100", "sz": "2", "side": "buy", "state": state, "accFillSz": acc,
        "avgPx": "0" if acc == "0" else "100", "tradeId": "", "reqId": "", "amendResult": "",
        "cTime": "900", "uTime": str(u),
    }
    base.update(extra)
    return base


class Rig(OrderTracker):
    """A tracker whose table is fed synchronously, on a clock of its own (``now``).

    Reading a tracker needs no client, so the host is left out.
    """

    def __init__(self, **kwargs: Any) -> None:
        state = TrackerState(**kwargs)
        super().__init__(None, state)  # type: ignore[arg-type]
        self.table = state.table
        self.now = 0.0

    def push(self, item: dict[str, Any], kind: Kind = "regular") -> TrackedOrder | None:
        return self.table.apply(item, kind, push=True, now=self.now)

    def rest(self, item: dict[str, Any], kind: Kind = "regular") -> TrackedOrder | None:
        return self.table.apply(item, kind, push=False, now=self.now)

    def mark_stale(self, kind: Kind) -> None:
        self.table.mark_stale(kind)


def tracker(**kwargs: Any) -> Rig:
    return Rig(**kwargs)


def state(t: Rig) -> TrackedOrder:
    order = t.get(ord_id="1")
    assert order is not None
    return order


def test_fields_and_lookup_by_either_id() -> None:
    t = tracker()
    t.push(item())
    o = state(t)
    assert (o.inst_id, o.sprd_id, o.ord_id, o.cl_ord_id) == ("BTC-USDT", None, "1", "c1")
    assert (o.px, o.sz, o.acc_fill_sz, o.side, o.u_time) == (
        Decimal(100), Decimal(2), Decimal(0), "buy", 1000)
    assert t.get(cl_ord_id="c1") == o
    assert t.get(cl_ord_id="c1", ord_id="1") == o
    assert t.get(cl_ord_id="other", ord_id="1") is None
    assert t.get(ord_id="2") is None
    assert list(t) == [o]
    assert len(t) == 1
    with pytest.raises(ValueError, match="ord_id or cl_ord_id"):
        t.get()
    spread = TrackedOrder.from_okx({"sprdId": "A_B", "ordId": "9", "clOrdId": "", "state": "live",
                                    "px": "", "sz": "1"})
    assert spread.is_spread
    assert spread.inst_id is None
    assert spread.px is None
    assert spread.cl_ord_id is None


def test_newer_u_time_wins_and_older_is_ignored() -> None:
    t = tracker()
    t.push(item(u=1000))
    t.push(item(u=1002, px="101", reqId="r1", amendResult="0"))
    assert state(t).px == Decimal(101)
    t.push(item(u=1001, px="99"))  # late, older
    assert state(t).px == Decimal(101)
    assert state(t).u_time == 1002


def test_state_never_moves_back_and_fills_never_shrink() -> None:
    t = tracker()
    t.push(item("partially_filled", u=1000, acc="1", tradeId="t1"))
    # Same uTime, lower state and fill (a duplicate with new content order).
    t.push(item("live", u=1000, acc="0"))
    assert state(t).state == "partially_filled"
    assert state(t).acc_fill_sz == Decimal(1)
    # Newer, but with a smaller accFillSz: the fill count is kept.
    t.push(item("partially_filled", u=1005, acc="0.5", px="102"))
    assert state(t).acc_fill_sz == Decimal(1)
    assert state(t).px == Decimal(102)


def test_terminal_states_are_never_overwritten() -> None:
    t = tracker()
    t.push(item("canceled", u=1000))
    t.push(item("live", u=2000))
    t.rest(item("live", u=2000))  # even from REST
    assert state(t).state == "canceled"
    # A terminal state wins over a newer non-terminal one.
    t2 = tracker()
    t2.push(item("partially_filled", u=3000, acc="1", tradeId="t1"))
    t2.push(item("filled", u=2000, acc="2", tradeId="t2"))
    assert state(t2).state == "filled"
    assert state(t2).acc_fill_sz == Decimal(2)


def test_duplicates_are_dropped() -> None:
    t = tracker()
    t.push(item("partially_filled", u=1000, acc="1", tradeId="t1"))
    # The same fill again (same tradeId, later uTime, stale content).
    t.push(item("partially_filled", u=1004, acc="1", tradeId="t1", px="50"))
    assert state(t).px == Decimal(100)
    assert t.duplicates == 1
    # Only the first push of an amend's reqId counts.
    t.push(item("partially_filled", u=1006, acc="1", reqId="r1", amendResult="0", px="101"))
    t.push(item("partially_filled", u=1007, acc="1", reqId="r1", amendResult="0", px="90"))
    assert state(t).px == Decimal(101)
    assert t.duplicates == 2
    # A reqId that lingers on later fill pushes does not hide them.
    t.push(item("partially_filled", u=1008, acc="1.5", tradeId="t2", reqId="r1"))
    assert state(t).acc_fill_sz == Decimal("1.5")
    # Only the first canceled push of an order counts.
    t.push(item("canceled", u=1010, acc="1.5"))
    t.push(item("canceled", u=1011, acc="1.5"))
    assert t.duplicates == 3
    assert state(t).u_time == 1010
    assert t.table.amend_result(t.table.entry("1", None), "r1") == "0"


def test_items_without_ord_id_are_counted_not_kept() -> None:
    t = tracker()
    t.push({"state": "live"})
    t.push(item(ordId=""))
    assert len(t) == 0
    assert t.malformed == 2


def test_gap_marks_open_orders_stale_until_refreshed() -> None:
    t = tracker()
    t.push(item(u=1000))
    t.push(item("filled", u=1000, ordId="2", clOrdId="c2", acc="2", tradeId="x"))
    t.push({**item(u=1000, ordId="3", clOrdId="s3"), "sprdId": "A_B"}, "spread")
    t.mark_stale("regular")
    assert state(t).stale
    assert t.get(ord_id="2").stale is False  # type: ignore[union-attr]  # terminal: final
    assert t.get(ord_id="3").stale is False  # type: ignore[union-attr]  # other channel
    # A REST answer no newer than what we hold still proves we are current.
    t.rest(item(u=1000))
    assert not state(t).stale
    t.mark_stale("regular")
    t.push(item(u=999))  # an old push proves nothing
    assert state(t).stale
    t.push(item(u=1001))
    assert not state(t).stale


def test_terminal_orders_are_evicted_by_count_and_age() -> None:
    t = tracker(max_terminal=2, terminal_ttl=60)
    t.push(item(ordId="open", clOrdId="open"))
    for i in range(3):
        t.push(item("canceled", ordId=f"d{i}", clOrdId=f"d{i}"))
    assert t.get(ord_id="d0") is None
    assert t.get(cl_ord_id="d0") is None
    assert t.get(ord_id="d1") is not None
    assert t.get(ord_id="d2") is not None
    t.now += 61
    t.push(item("live", ordId="new", clOrdId="new"))
    assert t.get(ord_id="d1") is None
    assert t.get(ord_id="d2") is None
    assert t.get(ord_id="open") is not None  # open orders are never evicted
    assert len(t) == 2


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"max_terminal": -1}, ValueError), ({"max_terminal": 1.5}, TypeError),
     ({"terminal_ttl": -1}, ValueError), ({"terminal_ttl": "1"}, TypeError)],
)
def test_bounds_are_checked(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        tracker(**kwargs)


def test_resolution_summary() -> None:
    def r(outcome: str) -> ResolvedItem:
        return ResolvedItem(outcome, None, {})  # type: ignore[arg-type]

    assert Resolution.of([r("acted"), r("acted")], "batch-orders").outcome == "acted"
    assert Resolution.of([r("not_found")], "order").outcome == "not_found"
    assert Resolution.of([r("acted"), r("not_found")], "batch-orders").outcome == "mixed"
    assert Resolution.of([r("acted"), r("unknown")], "batch-orders").outcome == "unknown"
