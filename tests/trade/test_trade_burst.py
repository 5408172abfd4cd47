"""Timing against the simulator on virtual time: the rate limiter, deadlines, expTime.

The simulator serves over in-memory links (``sim.connect_memory()``) so the
autojump clock can run: no sockets here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from okx_trio import (
    OkxApiError,
    OkxConnectionLost,
    OkxNotSent,
    OkxRateLimitError,
    OkxRequestTimeout,
    OrderAck,
    WsApiClient,
    open_ws_api_client,
)
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, Simulator, open_simulator

BTC = 100001


@asynccontextmanager
async def trading_on_virtual_time(
    **client_options: Any,
) -> AsyncIterator[tuple[Simulator, WsApiClient]]:
    async with open_simulator(accounts=[CREDS], market_interval=None, idle_timeout=None) as sim:
        # The exchange stamps requests with the wall clock; on virtual time its
        # rate windows and expTime checks must follow the trio clock instead.
        wall0 = int(time.time() * 1000)
        t0 = trio.current_time()
        sim._now_ms = lambda: wall0 + round((trio.current_time() - t0) * 1000)  # type: ignore[method-assign]
        async with open_ws_api_client(
            credentials=CREDS,
            base_url=sim.base_url,
            transport=sim.connect_memory(),
            log_lifecycle=False,
            **client_options,
        ) as api:
            yield sim, api


def bid() -> dict[str, Any]:
    return {
        "instIdCode": BTC,
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": "30000",
        "sz": "0.0001",
    }


def max_in_window(times: list[float], window: float = 2.0) -> int:
    """The most events in any half-open window ``(t - window, t]``."""
    times = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_burst_of_200_orders_is_spaced_per_the_rule(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):  # virtual seconds
        async with trading_on_virtual_time() as (sim, api):
            await api.connect_ws_api()
            limit = 54  # OKX's 60 per 2 s with the default 0.9 headroom
            start = trio.current_time()
            acks: list[OrderAck] = []

            async def place() -> None:
                acks.append(await api.submit_new_order(bid()))

            async with trio.open_nursery() as nursery:
                for _ in range(200):
                    nursery.start_soon(place)
            arrivals = sorted(r.time - start for r in sim.frames if r.op == "order")
            assert len(arrivals) == 200
            assert all(a.ok for a in acks)
            assert len(acks) == 200
            # Exactly OKX's rule at the client's limit: 54 at once, then 54 as
            # each window ends, and never more than 54 in any 2 s window.
            expected = [0.0] * limit + [2.0] * limit + [4.0] * limit + [6.0] * (200 - 3 * limit)
            assert [round(t, 6) for t in arrivals] == expected
            assert max_in_window(arrivals) == limit
            assert len(sim.orders) == 200


async def test_without_the_limiter_the_same_burst_trips_50011(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The control experiment: the simulator does enforce the limit on this clock."""
    with trio.fail_after(60):
        async with trading_on_virtual_time(rate_limit=False) as (_sim, api):
            await api.connect_ws_api()
            limited = 0

            async def place() -> None:
                nonlocal limited
                try:
                    await api.submit_new_order(bid())
                except OkxRateLimitError:
                    limited += 1

            async with trio.open_nursery() as nursery:
                for _ in range(100):
                    nursery.start_soon(place)
            assert limited == 40


async def test_deadline_passing_while_rate_limited_is_not_sent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with trading_on_virtual_time() as (sim, api):
            await api.connect_ws_api()
            for _ in range(54):
                await api.submit_new_order(bid())
            t = trio.current_time()
            with pytest.raises(OkxNotSent) as info:
                await api.submit_new_order(bid(), timeout=1.0)
            assert info.value.cl_ord_id is not None
            assert trio.current_time() - t == 1.0
            assert len([r for r in sim.frames if r.op == "order"]) == 54
            # The abandoned wait took no slot: the next order goes out when the
            # first window ends.
            await api.submit_new_order(bid())
            assert len(sim.orders) == 55


async def test_delayed_request_arrives_late_and_the_exchange_refuses_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A delay fault holds the login answer back 1.5 s, so the order queued
    behind it reaches the exchange after its 1 s ``expTime``: 50036, not acted on."""
    with trio.fail_after(60):
        async with trading_on_virtual_time() as (sim, api):
            sim.faults.delay("login", 1.5)
            exp = sim._now_ms() + 1000
            with pytest.raises(OkxApiError) as info:
                await api.submit_new_order(bid(), exp_time=exp, timeout=5.0)
            assert type(info.value) is OkxApiError
            assert info.value.code == "50036"
            sent = sim.frames.ops("order")
            assert [o["expTime"] for o in sent] == [str(exp)]
            assert len(sim.orders) == 0


async def test_generated_cl_ord_id_identifies_an_unknown_outcome(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Outcome unknown (timeout, dropped connection): the error names the
    generated clOrdId, under which the exchange really holds the order."""
    with trio.fail_after(60):
        async with trading_on_virtual_time() as (sim, api):
            await api.connect_ws_api()
            sim.faults.swallow("order", when="after")
            with pytest.raises(OkxRequestTimeout) as timed_out:
                await api.submit_new_order(bid(), timeout=1.0)
            assert timed_out.value.cl_ord_id is not None
            assert sim.orders.find(cl_ord_id=timed_out.value.cl_ord_id) is not None

            sim.faults.drop_on("batch-orders", when="after")
            with pytest.raises(OkxConnectionLost) as lost:
                await api.submit_multiple_orders([bid(), bid()])
            assert lost.value.cl_ord_id is not None
            sent = [a["clOrdId"] for a in lost.value.request]
            assert sent[0] == lost.value.cl_ord_id
            assert all(sim.orders.find(cl_ord_id=c) is not None for c in sent)
