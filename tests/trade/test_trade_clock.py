"""The exchange's clock: measured before the first order, and again when in doubt.

A local clock 20 s off OKX's passes the login (30 s window) but makes every
``expTime`` wrong: OKX refuses each order with 50036. The client reads OKX's
clock (``GET /api/v5/public/time``) before the first op that carries
``expTime`` (or in ``connect_ws_api()``), once per client, bounded in time, and
again after a 50036 or when a trade answer's ``inTime``/``outTime`` contradict
the offset. Here the simulator's clock is off the local one
(``sim.clock_offset_ms``, the simulator's documented clock option).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from support.orders import CREDS, bid, mid
from support.rest import MemoryRest

from okx_trio import OkxApiError, WsApiClient, open_ws_api_client
from okx_trio._clock import MEASURE_TIMEOUT, RETRY_INTERVAL
from okx_trio.testing import Simulator, open_simulator

TIME = "/api/v5/public/time"


class HangingTime(httpx.AsyncBaseTransport):
    """The simulator's REST, except that ``public/time`` never answers while ``hang``."""

    def __init__(self, inner: MemoryRest) -> None:
        self.inner = inner
        self.hang = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == TIME and self.hang:
            self.inner.calls.append((request.method, request.url.raw_path.decode()))
            await trio.sleep_forever()
        return await self.inner.handle_async_request(request)


@asynccontextmanager
async def skewed(offset_ms: int, *, hang: bool = False, **options: Any,
                 ) -> AsyncIterator[tuple[Simulator, WsApiClient, MemoryRest]]:
    """A simulator whose clock is ``offset_ms`` ahead of the local one, and a client."""
    async with open_simulator(accounts=[CREDS], market_interval=None, idle_timeout=None,
                              rate_limit=False) as sim:
        sim.clock_offset_ms = offset_ms
        rest = MemoryRest(sim)
        connector = sim.connect_memory()
        connector.rest_transport = HangingTime(rest) if hang else rest
        opts: dict[str, Any] = {"credentials": CREDS, "base_url": sim.base_url,
                                "transport": connector, "log_lifecycle": False,
                                "rate_limit": False}
        opts.update(options)
        async with open_ws_api_client(**opts) as api:
            yield sim, api, rest


def time_calls(rest: MemoryRest) -> int:
    return rest.paths().count(TIME)


def order(sim: Simulator) -> dict[str, Any]:
    return bid(mid(sim) * 9 / 10)


async def test_first_order_reads_the_exchange_clock(autojump_clock: trio.testing.MockClock) -> None:
    async with skewed(20_000) as (sim, api, rest):
        with trio.fail_after(10):
            ack = await api.submit_new_order(order(sim), timeout=5)
        assert ack.ok
        assert time_calls(rest) == 1
        assert api.ws_client.time_offset_ms == pytest.approx(20_000, abs=1_000)
        sent = sim.frames.ops("order")[-1]
        # expTime is the deadline by the exchange's clock: 5 s from its now.
        assert int(sent["expTime"]) - sim._now_ms() == pytest.approx(5_000, abs=1_000)
        # The login came after the measurement: its timestamp is OKX's time too.
        login = sim.frames.ops("login")[0]["args"][0]
        assert int(login["timestamp"]) * 1000 == pytest.approx(sim._now_ms(), abs=2_000)
        # Once per client.
        await api.amend_order({"instIdCode": 100001, "ordId": ack.ord_id, "newSz": "0.02"})
        assert time_calls(rest) == 1


async def test_connect_ws_api_reads_the_clock_first(autojump_clock: trio.testing.MockClock) -> None:
    async with skewed(-20_000) as (sim, api, rest):
        with trio.fail_after(10):
            await api.connect_ws_api()
            assert time_calls(rest) == 1
            assert api.ws_client.time_offset_ms == pytest.approx(-20_000, abs=1_000)
            assert (await api.submit_new_order(order(sim))).ok
        assert time_calls(rest) == 1


async def test_concurrent_first_orders_share_one_measurement(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with skewed(20_000) as (sim, api, rest):
        acks = []

        async def place() -> None:
            acks.append(await api.submit_new_order(order(sim)))

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                for _ in range(10):
                    nursery.start_soon(place)
        assert len(acks) == 10
        assert all(a.ok for a in acks)
        assert time_calls(rest) == 1


async def test_expired_answer_measures_again(autojump_clock: trio.testing.MockClock) -> None:
    async with skewed(20_000) as (sim, api, rest):
        with trio.fail_after(10):
            assert (await api.submit_new_order(order(sim), timeout=5)).ok
            sim.clock_offset_ms = 40_000  # the exchange's clock moved 20 s further
            with pytest.raises(OkxApiError) as info:
                await api.submit_new_order(order(sim), timeout=5)
            assert "50036" in (info.value.code, *(i.get("sCode") for i in info.value.data))
            assert time_calls(rest) == 1
            assert (await api.submit_new_order(order(sim), timeout=5)).ok
        assert time_calls(rest) == 2
        assert api.ws_client.time_offset_ms == pytest.approx(40_000, abs=1_000)


async def test_in_and_out_times_that_contradict_the_offset_measure_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with skewed(20_000) as (sim, api, rest):
        with trio.fail_after(10):
            assert (await api.submit_new_order(order(sim))).ok
            # 5 s further: expTime (10 s ahead) still passes, but the gateway's
            # inTime/outTime say the offset is off by 5 s.
            sim.clock_offset_ms = 25_000
            assert (await api.submit_new_order(order(sim))).ok
            assert time_calls(rest) == 1
            assert (await api.submit_new_order(order(sim))).ok
        assert time_calls(rest) == 2
        assert api.ws_client.time_offset_ms == pytest.approx(25_000, abs=1_000)


async def test_reading_the_clock_is_bounded_and_fails_open(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with skewed(0, hang=True) as (sim, api, rest), api.ws_client.events() as events:
        with trio.fail_after(60):
            start = trio.current_time()
            assert (await api.submit_new_order(order(sim))).ok
            waited = trio.current_time() - start
            assert MEASURE_TIMEOUT <= waited < MEASURE_TIMEOUT + 0.5
            event = await events.__anext__()
            assert (event.kind, event.connection) == ("exception", "rest")
            # No new attempt for a while: the next order does not wait.
            start = trio.current_time()
            assert (await api.submit_new_order(order(sim))).ok
            assert trio.current_time() - start < 0.1
            assert time_calls(rest) == 1
            await trio.sleep(RETRY_INTERVAL)
            assert (await api.submit_new_order(order(sim))).ok
            assert time_calls(rest) == 2


async def test_measured_offset_respects_the_callers_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with skewed(0, hang=True) as (sim, api, rest):
        with trio.fail_after(10):
            start = trio.current_time()
            with trio.move_on_after(0.5):
                await api.submit_new_order(order(sim))
            assert trio.current_time() - start == pytest.approx(0.5)
        assert time_calls(rest) == 1
        assert sim.frames.ops("order") == []


async def test_sync_clock_false_leaves_the_offset_alone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with skewed(20_000, sync_clock=False) as (sim, api, rest):
        with trio.fail_after(10):
            await api.connect_ws_api()
            for _ in range(2):
                with pytest.raises(OkxApiError) as info:
                    await api.submit_new_order(order(sim), timeout=5)
                assert "50036" in (info.value.code, *(i.get("sCode") for i in info.value.data))
        assert time_calls(rest) == 0
        assert api.ws_client.time_offset_ms == 0


async def test_an_offset_set_by_the_user_is_kept(autojump_clock: trio.testing.MockClock) -> None:
    async with skewed(20_000) as (sim, api, rest):
        api.set_time_offset_ms(20_000)
        with trio.fail_after(10):
            assert (await api.submit_new_order(order(sim))).ok
        assert time_calls(rest) == 0
        assert api.ws_client.time_offset_ms == 20_000


# -- orders over REST: the same clock, the same deadlines


async def test_first_rest_order_reads_the_exchange_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with skewed(20_000) as (sim, api, rest):
        with trio.fail_after(10):
            ack = await api.rest.submit_new_order(order(sim), timeout=5)
        assert ack.ok
        assert time_calls(rest) == 1
        assert api.ws_client.time_offset_ms == pytest.approx(20_000, abs=1_000)


async def test_rest_expired_answer_measures_again(autojump_clock: trio.testing.MockClock) -> None:
    async with skewed(20_000) as (sim, api, rest):
        with trio.fail_after(10):
            assert (await api.rest.submit_new_order(order(sim), timeout=5)).ok
            sim.clock_offset_ms = 40_000
            with pytest.raises(OkxApiError) as info:
                await api.rest.submit_new_order(order(sim), timeout=5)
            assert "50036" in (info.value.code, *(i.get("sCode") for i in info.value.data))
            assert (await api.rest.submit_new_order(order(sim), timeout=5)).ok
        assert time_calls(rest) == 2
        assert api.ws_client.time_offset_ms == pytest.approx(40_000, abs=1_000)


async def test_rest_exp_time_is_the_callers_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with skewed(0) as (sim, api, rest):
        with trio.fail_after(10):
            await api.ws_client.sync_time()
            before = time.time() * 1000 + api.ws_client.time_offset_ms
            with trio.move_on_after(0.5):
                assert (await api.rest.submit_new_order(order(sim), timeout=5)).ok
            after = time.time() * 1000 + api.ws_client.time_offset_ms
        exp = int(rest.headers[-1]["exptime"])
        # The caller gives up after 0.5 s: that is what the exchange is told, not 5 s.
        assert before + 400 <= exp <= after + 500
