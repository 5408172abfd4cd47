"""Deadlines that mean the same everywhere (issue 13, item 7).

A request's deadline is the earlier of its ``timeout`` and the caller's own
(``trio.current_effective_deadline()``), and that is the ``expTime`` the
exchange is sent. A caller cancelled after its request was written learns
nothing, so the client records it: an ``abandoned`` lifecycle event (op, id,
clOrdId) and ``resolve(cl_ord_id=...)`` that waits until the exchange has
certainly finished with it. Simulator in memory, virtual time.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
import trio
import trio.testing
from support.orders import bid, mid, trading

from okx_trio import AbandonedRequest, LifecycleEvent, OkxRequestTimeout
from okx_trio.testing import Simulator


def exp_time_of_last(sim: Simulator, op: str = "order") -> int:
    (frame,) = [r for r in sim.frames if r.op == op][-1:]
    return int(frame.obj["expTime"])


@pytest.mark.parametrize(("outer", "timeout", "expected_ms"), [
    (0.5, 2.0, 500),      # the caller's scope is earlier: its deadline is sent
    (0.5, None, 500),     # (request_timeout 10 s otherwise)
    (5.0, 2.0, 2000),     # the timeout is earlier
    (math.inf, 2.0, 2000),
])
async def test_exp_time_is_the_earlier_of_timeout_and_the_callers_deadline(
    autojump_clock: trio.testing.MockClock, outer: float, timeout: float | None,
    expected_ms: int,
) -> None:
    with trio.fail_after(60):
        async with trading() as (sim, api, _):
            sim.faults.delay("order", 10.0)  # no answer before either deadline
            wall_ms = time.time() * 1000
            with trio.move_on_after(outer):
                try:
                    await api.submit_new_order(bid(mid(sim) - 100), timeout=timeout)
                except OkxRequestTimeout:
                    pass
            sent = exp_time_of_last(sim)
            # The wall clock hardly moves on virtual time: expTime - now is the deadline.
            assert sent - wall_ms == pytest.approx(expected_ms, abs=50)


async def test_callers_deadline_equal_to_the_timeout_leaves_as_its_cancellation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Both deadlines at the same instant: the caller's own scope catches it (an
    OkxRequestTimeout escaped the caller's ``move_on_after``)."""
    with trio.fail_after(60):
        async with trading() as (sim, api, _):
            sim.faults.delay("order", 10.0)
            with trio.move_on_after(2.0) as scope:
                await api.submit_new_order(bid(mid(sim) - 100), timeout=2.0)
            assert scope.cancelled_caught


async def abandon_one(sim: Simulator, api: Any, events: Any) -> tuple[LifecycleEvent, float]:
    """Place an order whose answer is held, give up on it after 0.5 s; return the
    ``abandoned`` event and when it came."""
    with trio.move_on_after(0.5):
        await api.submit_new_order(bid(mid(sim) - 100))
    async for ev in events:
        if ev.kind == "abandoned":
            return ev, trio.current_time()
    raise AssertionError("no abandoned event")


async def test_a_cancelled_caller_leaves_an_abandoned_event_and_resolve_finds_the_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with trading() as (sim, api, _):
            sim.faults.delay("order", 5.0)  # acted on at once, answered late
            async with api.ws_client.events() as events:
                ev, _at = await abandon_one(sim, api, events)
            detail = ev.detail
            assert isinstance(detail, AbandonedRequest)
            assert ev.connection == "private"
            assert detail.op == "order"
            assert detail.id == next(r for r in sim.frames if r.op == "order").obj["id"]
            placed = sim.orders.find(cl_ord_id=detail.cl_ord_id)
            assert placed is not None  # the generated clOrdId, known to the app now
            assert detail.request[0]["clOrdId"] == detail.cl_ord_id
            assert detail.exp_time == exp_time_of_last(sim)
            res = await api.resolve(cl_ord_id=detail.cl_ord_id, inst_id="BTC-USDT")
            assert res.outcome == "acted"
            assert res.orders[0].ord_id == placed.ord_id


async def test_resolve_of_an_abandoned_place_waits_until_the_exchange_is_done_with_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Never reached the exchange: "not_found", but only once its expTime (plus a
    margin) has passed; before that the place could still act."""
    with trio.fail_after(60):
        async with trading() as (sim, api, _):
            sim.faults.swallow("order", "before")
            async with api.ws_client.events() as events:
                ev, at = await abandon_one(sim, api, events)
            detail = ev.detail
            assert isinstance(detail, AbandonedRequest)
            assert detail.exp_time is not None
            res = await api.resolve(cl_ord_id=detail.cl_ord_id, inst_id="BTC-USDT")
            assert res.outcome == "not_found"
            # expTime was 0.5 s after the send (the caller's deadline), plus 1 s margin.
            assert trio.current_time() >= at + 1.0 - 0.05


async def test_no_abandoned_event_for_a_request_never_written(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with trading() as (sim, api, _):
            async with api.ws_client.events() as events:
                with trio.CancelScope() as scope:
                    scope.cancel()
                    await api.submit_new_order(bid(mid(sim) - 100))
                await api.submit_new_order(bid(mid(sim) - 100))
                await trio.sleep(1)
                kinds = [e.kind for e in events.buffer]
            assert "abandoned" not in kinds
            assert len([r for r in sim.frames if r.op == "order"]) == 1
