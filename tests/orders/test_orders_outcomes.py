"""When an unknown outcome is settled, and what an order's state proves: the sans-I/O rules.

Synchronous: every time is a number passed in.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from okx_trio import OkxConnectionLost, OkxRequestTimeout, TrackedOrder
from okx_trio._outcomes import SETTLE_DELAY, SETTLE_MARGIN, Query, UnknownOutcomes, judge, query_ids


def lost(op: str, *items: dict[str, Any], id: str = "r1") -> OkxConnectionLost:
    return OkxConnectionLost("lost", op, id, None, list(items), "private")


def test_settle_time_of_a_request_sent_with_an_explicit_exp_time() -> None:
    u = UnknownOutcomes()
    # Sent at t=10 when the exchange clock read 1_000_000 ms, to expire at 1_003_000.
    settle = u.record(lost("order", {"clOrdId": "c1"}), exp_time=1_003_000, sent_at=10.0,
                      deadline=math.inf, now_ms_at_send=1_000_000, send_exp_time=True, now=11.0)
    assert settle == 10.0 + 3.0 + SETTLE_MARGIN
    assert u.for_request("r1") == settle
    assert u.for_cl_ord_id("c1") == settle  # a place: remembered by clOrdId too


def test_settle_time_of_a_request_whose_deadline_was_sent_as_exp_time() -> None:
    u = UnknownOutcomes()
    settle = u.record(lost("amend-order", {"clOrdId": "c1"}), exp_time=None, sent_at=10.0,
                      deadline=14.0, now_ms_at_send=0, send_exp_time=True, now=12.0)
    assert settle == 14.0 + SETTLE_MARGIN
    assert u.for_cl_ord_id("c1") is None  # not a place


@pytest.mark.parametrize(("op", "send_exp_time", "deadline"), [
    ("cancel-order", True, 14.0),      # no expTime on cancels
    ("order", False, 14.0),            # expTime turned off
    ("order", True, math.inf),         # no deadline, so no expTime
])
def test_settle_delay_without_exp_time(op: str, send_exp_time: bool, deadline: float) -> None:
    u = UnknownOutcomes()
    err = OkxRequestTimeout("timeout", op, "r2", None, [{"clOrdId": "c2"}], "private")
    settle = u.record(err, exp_time=None, sent_at=10.0, deadline=deadline, now_ms_at_send=0,
                      send_exp_time=send_exp_time, now=12.0)
    assert settle == 12.0 + SETTLE_DELAY


def test_unknown_outcomes_are_bounded() -> None:
    u = UnknownOutcomes(limit=2)
    for k in range(3):
        u.record(lost("order", {"clOrdId": f"c{k}"}, id=f"r{k}"), exp_time=None, sent_at=0.0,
                 deadline=math.inf, now_ms_at_send=0, send_exp_time=False, now=float(k))
    assert u.for_request("r0") is None
    assert u.for_cl_ord_id("c0") is None
    assert u.for_request("r2") == 2.0 + SETTLE_DELAY
    assert u.for_request(None) is None


def order(state: str, px: str = "100", sz: str = "1") -> TrackedOrder:
    return TrackedOrder.from_okx({"ordId": "9", "clOrdId": "c", "instId": "BTC-USDT",
                                  "state": state, "px": px, "sz": sz, "uTime": "1"})


def query(op: str, **wire: Any) -> Query:
    return Query.of(op, {"ordId": "9", **wire}, "BTC-USDT")


def test_what_an_order_proves_about_a_place_and_a_cancel() -> None:
    place = Query.of("order", {"clOrdId": "c"}, "BTC-USDT")
    assert judge(place, order("live"), None) == "acted"
    assert judge(place, None, None) is None  # not yet seen: the request may still act
    cancel = query("cancel-order")
    assert judge(cancel, order("canceled"), None) == "acted"
    assert judge(cancel, order("mmp_canceled"), None) == "acted"
    assert judge(cancel, order("filled"), None) == "not_found"
    assert judge(cancel, order("live"), None) is None
    assert judge(cancel, None, None) == "not_found"


def test_what_an_order_proves_about_an_amend() -> None:
    amend = query("amend-order", newPx="101", reqId="q1")
    assert (amend.new_px, amend.new_sz, amend.req_id) == (Decimal(101), None, "q1")
    assert judge(amend, order("live", px="101"), None) == "acted"
    assert judge(amend, order("live", px="100"), None) is None
    assert judge(amend, order("filled", px="100"), None) == "not_found"
    assert judge(amend, order("live", px="100"), "-1") == "not_found"  # amendResult
    assert judge(amend, order("live", px="100"), "0") == "acted"


def test_query_ids() -> None:
    assert query_ids("order", {"ordId": "x", "clOrdId": "c"}) == ("place", "regular", None, "c")
    assert query_ids("sprd-cancel-order", {"ordId": "9"}) == ("cancel", "spread", "9", None)
    assert query_ids("batch-amend-orders", {"clOrdId": "c"}) == ("amend", "regular", None, "c")
    with pytest.raises(ValueError, match="neither ordId nor clOrdId"):
        query_ids("order", {"ordId": "x"})  # a place's ordId is the exchange's to give
