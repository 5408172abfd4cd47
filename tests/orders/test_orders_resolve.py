"""``WsApiClient.resolve``: every outcome-unknown request turned into the exchange's truth.

The simulator's faults make each case: ``drop_on(op, when="after")`` and
``swallow(op, when="after")`` act on the request and withhold the answer (the
exchange acted); ``when="before"`` loses the request (the exchange never saw it).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.testing
from support.orders import BTC, SPREAD, ask, bid, mid, same, trading

from okx_trio import (
    OkxApiError,
    OkxConnectionLost,
    OkxNotSent,
    OkxRequestError,
    OkxRequestTimeout,
    Resolution,
    WsApiClient,
)
from okx_trio.testing import Simulator

REGULAR = {"order": "place", "amend-order": "amend", "cancel-order": "cancel"}
SPREADS = {"sprd-order": "place", "sprd-amend-order": "amend", "sprd-cancel-order": "cancel"}


async def fail_with_fault(
    sim: Simulator, api: WsApiClient, op: str, when: str, fault: str, call: Any
) -> OkxRequestError:
    """Run ``call()`` under the fault and return the outcome-unknown error it raised."""
    if fault == "drop":
        sim.faults.drop_on(op, when=when)
        with pytest.raises(OkxConnectionLost) as lost:
            await call()
        return lost.value
    sim.faults.swallow(op, when=when)
    with pytest.raises(OkxRequestTimeout) as timed_out:
        await call()
    return timed_out.value


def check_single_truth(sim: Simulator, res: Resolution, action: str, expect_acted: bool,
                       target: str | None, new_px: Decimal | None) -> None:
    assert res.outcome == ("acted" if expect_acted else "not_found")
    assert len(res.items) == 1
    if action == "place":
        cl = res.items[0].request["clOrdId"]
        order = sim.orders.find(cl_ord_id=cl)
        assert (order is not None) == expect_acted
        if order is not None:
            assert same(res.orders[0], order)
        else:
            assert res.orders == ()
        return
    order = sim.orders.find(ord_id=target)
    assert order is not None
    # The order exists either way: its current state comes back.
    assert len(res.orders) == 1
    assert same(res.orders[0], order)
    if action == "amend":
        assert (order.px == new_px) == expect_acted
    else:
        assert (order.state == "canceled") == expect_acted


@pytest.mark.parametrize("track", [False, True], ids=["rest", "tracker"])
@pytest.mark.parametrize("fault", ["drop", "swallow"])
@pytest.mark.parametrize("when", ["after", "before"])
@pytest.mark.parametrize("op", list(REGULAR))
async def test_resolve_place_amend_cancel(
    autojump_clock: trio.testing.MockClock, op: str, when: str, fault: str, track: bool
) -> None:
    action = REGULAR[op]
    with trio.fail_after(120):
        async with trading(track_orders=track) as (sim, api, rest):
            m = mid(sim)
            resting = await api.submit_new_order(bid(m - 300))
            new_px = m - 250
            calls = {
                "place": lambda: api.submit_new_order(bid(m - 200), timeout=3),
                "amend": lambda: api.amend_order(
                    {"instIdCode": BTC, "ordId": resting.ord_id, "newPx": str(new_px)},
                    timeout=3),
                "cancel": lambda: api.cancel_order(
                    {"instIdCode": BTC, "clOrdId": resting.cl_ord_id}, timeout=3),
            }
            error = await fail_with_fault(sim, api, op, when, fault, calls[action])
            start = trio.current_time()
            asked = len(rest.calls)
            res = await api.resolve(error)
            assert res.op == op
            check_single_truth(sim, res, action, when == "after", resting.ord_id, new_px)
            elapsed = trio.current_time() - start
            if when == "after":
                assert elapsed < 0.5  # the truth was there at once
            elif action in ("place", "amend") and fault == "drop":
                # expTime (3 s after sending) plus the settle margin must pass first.
                assert elapsed >= 3
            if track and fault == "swallow" and when == "after":
                # The connection stayed up: the tracker had the answer, no REST look-up.
                assert "/api/v5/trade/order" not in rest.paths()[asked:]


@pytest.mark.parametrize("when", ["after", "before"])
@pytest.mark.parametrize("op", list(SPREADS))
async def test_resolve_spread_ops(
    autojump_clock: trio.testing.MockClock, op: str, when: str
) -> None:
    action = SPREADS[op]
    with trio.fail_after(120):
        async with trading() as (sim, api, _):
            s_mid = mid(sim, SPREAD)
            resting = await api.submit_spread_order(
                {"sprdId": SPREAD, "side": "buy", "ordType": "limit", "px": str(s_mid - 1),
                 "sz": "0.05"})
            new_px = s_mid - Decimal("0.5")
            calls = {
                "place": lambda: api.submit_spread_order(
                    {"sprdId": SPREAD, "side": "sell", "ordType": "limit", "px": str(s_mid + 1),
                     "sz": "0.05"}, timeout=3),
                "amend": lambda: api.amend_spread_order(
                    {"ordId": resting.ord_id, "newPx": str(new_px)}, timeout=3),
                "cancel": lambda: api.cancel_spread_order({"ordId": resting.ord_id}, timeout=3),
            }
            error = await fail_with_fault(sim, api, op, when, "drop", calls[action])
            res = await api.resolve(error)
            check_single_truth(sim, res, action, when == "after", resting.ord_id, new_px)


@pytest.mark.parametrize("when", ["after", "before"])
async def test_resolve_batches_item_by_item(
    autojump_clock: trio.testing.MockClock, when: str
) -> None:
    with trio.fail_after(120):
        async with trading() as (sim, api, _):
            m = mid(sim)
            a = await api.submit_new_order(bid(m - 300))
            b = await api.submit_new_order(bid(m - 301))
            acted = when == "after"

            # A place batch whose second item the exchange refuses (below minimum size).
            sim.faults.drop_on("batch-orders", when=when)
            with pytest.raises(OkxConnectionLost) as lost:
                await api.submit_multiple_orders(
                    [bid(m - 200), bid(m - 201, "0.000001"), ask(m + 200)], timeout=3)
            res = await api.resolve(lost.value)
            outcomes = [i.outcome for i in res.items]
            if acted:
                assert outcomes == ["acted", "not_found", "acted"]
                assert res.outcome == "mixed"
                assert len(res.orders) == 2
            else:
                assert outcomes == ["not_found"] * 3
                assert res.outcome == "not_found"
            for item in res.items:
                exists = sim.orders.find(cl_ord_id=item.request["clOrdId"]) is not None
                assert exists == (item.outcome == "acted")

            sim.faults.drop_on("batch-amend-orders", when=when)
            with pytest.raises(OkxConnectionLost) as lost:
                await api.amend_multiple_orders([
                    {"instIdCode": BTC, "ordId": a.ord_id, "newSz": "0.02"},
                    {"instIdCode": BTC, "clOrdId": b.cl_ord_id, "newPx": str(m - 290)},
                ], timeout=3)
            res = await api.resolve(lost.value)
            assert res.outcome == ("acted" if acted else "not_found")
            order_a, order_b = sim.orders.find(ord_id=a.ord_id), sim.orders.find(ord_id=b.ord_id)
            assert order_a is not None
            assert order_b is not None
            assert (order_a.sz == Decimal("0.02")) == acted
            assert (order_b.px == m - 290) == acted
            assert same(res.orders[0], order_a)
            assert same(res.orders[1], order_b)

            sim.faults.drop_on("batch-cancel-orders", when=when)
            with pytest.raises(OkxConnectionLost) as lost:
                await api.cancel_multiple_orders([
                    {"instIdCode": BTC, "ordId": a.ord_id},
                    {"instIdCode": BTC, "ordId": b.ord_id},
                ], timeout=3)
            res = await api.resolve(lost.value)
            assert res.outcome == ("acted" if acted else "not_found")
            assert [o.state for o in res.orders] == (
                ["canceled"] * 2 if acted else ["live"] * 2)
            assert {o.state for o in sim.orders if o.ord_id in (a.ord_id, b.ord_id)} == (
                {"canceled"} if acted else {"live"})


async def test_failed_amend_seen_by_its_req_id(autojump_clock: trio.testing.MockClock) -> None:
    """The amend reached the exchange and failed (post-only would take): the tracker
    saw amendResult -1 for its reqId, so the answer is "not_found" at once."""
    with trio.fail_after(60):
        async with trading(track_orders=True) as (sim, api, rest):
            m = mid(sim)
            po = await api.submit_new_order(bid(m - 100, ordType="post_only"))
            sim.faults.swallow("amend-order", when="after")
            with pytest.raises(OkxRequestTimeout) as timed_out:
                await api.amend_order(
                    {"instIdCode": BTC, "ordId": po.ord_id, "newPx": str(m + 100),
                     "reqId": "r1"}, timeout=2)
            before = len(rest.calls)
            start = trio.current_time()
            res = await api.resolve(timed_out.value)
            assert res.outcome == "not_found"
            assert trio.current_time() == start
            assert len(rest.calls) == before
            assert res.orders[0].state == "live"
            assert res.orders[0].px == m - 100


async def test_resolve_by_id(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with trading() as (sim, api, _):
            m = mid(sim)
            ack = await api.submit_new_order(bid(m - 100))
            res = await api.resolve(cl_ord_id=ack.cl_ord_id, inst_id="BTC-USDT")
            assert res.outcome == "acted"
            assert res.op is None
            assert res.orders[0].ord_id == ack.ord_id
            res = await api.resolve(ord_id=ack.ord_id, inst_id="BTC-USDT")
            assert res.outcome == "acted"
            # Never placed: answered at once, no settle wait.
            start = trio.current_time()
            res = await api.resolve(cl_ord_id="nosuchorder", inst_id="BTC-USDT")
            assert res.outcome == "not_found"
            assert trio.current_time() == start
            # A clOrdId from a lost place: its settle time is remembered.
            sim.faults.drop_on("order", when="before")
            with pytest.raises(OkxConnectionLost) as lost:
                await api.submit_new_order(bid(m - 100), timeout=4)
            assert lost.value.cl_ord_id is not None
            res = await api.resolve(cl_ord_id=lost.value.cl_ord_id, inst_id="BTC-USDT")
            assert res.outcome == "not_found"
            assert trio.current_time() - start >= 4
            # Spread orders by sprd_id.
            s = await api.submit_spread_order(
                {"sprdId": SPREAD, "side": "buy", "ordType": "limit",
                 "px": str(mid(sim, SPREAD) - 1), "sz": "0.05"})
            res = await api.resolve(cl_ord_id=s.cl_ord_id, sprd_id=SPREAD)
            assert res.outcome == "acted"
            assert res.orders[0].sprd_id == SPREAD
            with pytest.raises(ValueError, match="inst_id"):
                await api.resolve(cl_ord_id=ack.cl_ord_id)
            # A tracker knows the instrument: it loads the open orders on start.
            async with api.track_orders() as tracker:
                with trio.fail_after(5):
                    while tracker.get(ord_id=ack.ord_id) is None:
                        await trio.sleep(0.1)
                res = await api.resolve(ord_id=ack.ord_id)
                assert res.outcome == "acted"
                assert res.orders[0].inst_id == "BTC-USDT"


async def test_not_sent_needs_no_question(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with trading() as (sim, api, rest):
            await api.submit_new_order(bid(mid(sim) - 100))  # warm up
            before = len(rest.calls)
            error = OkxNotSent("never sent", "batch-orders", None, "x1",
                               [bid(1, clOrdId="x1"), bid(1, clOrdId="x2")], "private")
            res = await api.resolve(error)
            assert res.outcome == "not_found"
            assert len(res.items) == 2
            assert len(rest.calls) == before


async def test_transient_rest_failures_are_retried_within_the_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with trading() as (sim, api, rest):
            m = mid(sim)
            sim.faults.drop_on("order", when="after")
            with pytest.raises(OkxConnectionLost) as lost:
                await api.submit_new_order(bid(m - 100), timeout=2)
            await api.load_instruments("SPOT")
            rest.fail_next = 3
            res = await api.resolve(lost.value)
            assert res.outcome == "acted"
            assert rest.fail_next == 0

            # An exchange that never answers: "unknown" when the deadline passes.
            rest.fail_next = 10**9
            start = trio.current_time()
            res = await api.resolve(lost.value, timeout=5)
            assert res.outcome == "unknown"
            assert res.orders == ()
            assert 5 <= trio.current_time() - start < 5.5


async def test_default_timeout_outlasts_the_settle_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The request's deadline was 10 s (the default); resolve's default deadline
    counts from when the exchange is done with it, so it does not give up."""
    with trio.fail_after(60):
        async with trading() as (sim, api, _):
            sim.faults.drop_on("order", when="before")
            with pytest.raises(OkxConnectionLost) as lost:
                await api.submit_new_order(bid(mid(sim) - 100))
            start = trio.current_time()
            res = await api.resolve(lost.value)
            assert res.outcome == "not_found"
            assert 10 <= trio.current_time() - start < 12
            # An explicit timeout is a plain deadline.
            sim.faults.drop_on("order", when="before")
            with pytest.raises(OkxConnectionLost) as lost:
                await api.submit_new_order(bid(mid(sim) - 100))
            assert (await api.resolve(lost.value, timeout=2)).outcome == "unknown"
            # settle_delay overrides the recorded settle time.
            res = await api.resolve(lost.value, settle_delay=0)
            assert res.outcome == "not_found"


async def test_bad_arguments(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with trading() as (_, api, _):
            with pytest.raises(TypeError, match="OkxApiError"):
                await api.resolve(OkxApiError("1", "no"))  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="mass-cancel"):
                await api.resolve(OkxConnectionLost("x", "mass-cancel", "1", None,
                                                    [{"instType": "OPTION"}]))
            with pytest.raises(ValueError, match="no request items"):
                await api.resolve(OkxConnectionLost("x", "order", "1"))
            with pytest.raises(ValueError, match="not both"):
                await api.resolve(OkxConnectionLost("x", "order", "1", "c", [{"clOrdId": "c"}]),
                                  cl_ord_id="c")
            with pytest.raises(ValueError, match="cl_ord_id / ord_id"):
                await api.resolve()
            with pytest.raises(ValueError, match="settle_delay"):
                await api.resolve(cl_ord_id="c", inst_id="BTC-USDT", settle_delay=-1)
            with pytest.raises(ValueError, match="settle_delay"):
                await api.resolve(cl_ord_id="c", inst_id="BTC-USDT", settle_delay=math.inf)
            with pytest.raises(TypeError, match="ord_id"):
                await api.resolve(ord_id=5, inst_id="BTC-USDT")  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="not both"):
                await api.resolve(ord_id="5", inst_id="BTC-USDT", sprd_id=SPREAD)


async def test_a_running_tracker_learns_what_resolve_found(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The tracker runs and holds no order yet. The connection drops after the
    # exchange acted and before the answer or the order's push: the tracker's
    # refresh after the gap finds nothing open (the order filled at once), so only
    # the REST look-up of resolve() sees it. What resolve() found, the tracker
    # knows too, as it does when it already holds other orders.
    with trio.fail_after(60):
        async with trading(track_orders=True) as (sim, api, _rest):
            tracker = api.orders
            assert tracker is not None
            assert len(tracker) == 0
            m = mid(sim)
            sim.faults.drop_on("order", when="after")
            with pytest.raises(OkxConnectionLost) as lost:
                await api.submit_new_order(bid(m + 100, ordType="ioc"), timeout=3)
            res = await api.resolve(lost.value)
            assert res.outcome == "acted"
            cl = res.items[0].request["clOrdId"]
            order = sim.orders.find(cl_ord_id=cl)
            assert order is not None
            assert order.state == "filled"
            assert same(tracker.get(cl_ord_id=cl), order)
