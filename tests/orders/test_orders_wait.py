"""``WsApiClient.wait_order`` against the simulator, on virtual time."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
import trio
import trio.testing
from support.orders import BTC, bid, market, mid, trading

from okx_trio import OkxRequestTimeout, OkxWaitTimeout


async def test_wait_for_a_fill(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with trading(track_orders=True) as (sim, api, _):
            ack = await api.submit_new_order(bid(mid(sim) - Decimal("0.2"), "0.3"))
            assert ack.cl_ord_id is not None
            filled_at: list[float] = []

            async def move_market() -> None:
                order = sim.orders.find(ord_id=ack.ord_id)
                assert order is not None
                while order.state != "filled":
                    await trio.sleep(0.5)
                    market(sim)
                filled_at.append(trio.current_time())

            async with trio.open_nursery() as nursery:
                nursery.start_soon(move_market)
                order = await api.wait_order(cl_ord_id=ack.cl_ord_id, timeout=math.inf)
            assert order.state == "filled"
            assert order.acc_fill_sz == Decimal("0.3")
            assert order.ord_id == ack.ord_id
            # Returned with the push, not at some later poll.
            assert trio.current_time() - filled_at[0] < 0.01


async def test_wait_for_a_cancel_and_for_states_already_reached(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with trading(track_orders=True) as (sim, api, _):
            ack = await api.submit_new_order(bid(mid(sim) - 300))
            live = await api.wait_order(ord_id=ack.ord_id, states=("live",))
            assert live.state == "live"

            async def cancel_later() -> None:
                await trio.sleep(3)
                await api.cancel_order({"instIdCode": BTC, "ordId": ack.ord_id})

            start = trio.current_time()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(cancel_later)
                done = await api.wait_order(ord_id=ack.ord_id, states=["canceled"])
            assert done.state == "canceled"
            assert 3 <= trio.current_time() - start < 3.1
            # Already there: no waiting at all.
            t = trio.current_time()
            again = await api.wait_order(cl_ord_id=ack.cl_ord_id)
            assert again == done
            assert trio.current_time() == t


async def test_a_terminal_state_outside_the_wanted_ones_ends_the_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with trading(track_orders=True) as (sim, api, _):
            ack = await api.submit_new_order(bid(mid(sim) - 300))

            async def cancel_later() -> None:
                await trio.sleep(1)
                await api.cancel_order({"instIdCode": BTC, "ordId": ack.ord_id})

            async with trio.open_nursery() as nursery:
                nursery.start_soon(cancel_later)
                order = await api.wait_order(ord_id=ack.ord_id, states=("filled",))
            assert order.state == "canceled"


async def test_timeout_raises_with_the_last_state(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with trading(track_orders=True, request_timeout=4) as (sim, api, _):
            ack = await api.submit_new_order(bid(mid(sim) - 300))
            start = trio.current_time()
            with pytest.raises(OkxWaitTimeout) as info:
                await api.wait_order(cl_ord_id=ack.cl_ord_id, timeout=2.5)
            assert trio.current_time() - start == 2.5
            assert isinstance(info.value, OkxRequestTimeout)
            assert info.value.order is not None
            assert info.value.order.state == "live"
            assert info.value.cl_ord_id == ack.cl_ord_id
            assert ack.cl_ord_id in str(info.value)
            # timeout=None: the client's request_timeout.
            start = trio.current_time()
            with pytest.raises(OkxWaitTimeout) as never:
                await api.wait_order(cl_ord_id="neverplaced")
            assert trio.current_time() - start == 4
            assert never.value.order is None


async def test_wait_needs_a_tracker_and_valid_arguments(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with trading() as (_, api, _):
            with pytest.raises(RuntimeError, match="track_orders"):
                await api.wait_order(cl_ord_id="x")
            async with api.track_orders():
                with pytest.raises(ValueError, match="cl_ord_id or ord_id"):
                    await api.wait_order()
                with pytest.raises(ValueError, match="unknown order state 'done'"):
                    await api.wait_order(cl_ord_id="x", states=("filled", "done"))
                with pytest.raises(ValueError, match="at least one"):
                    await api.wait_order(cl_ord_id="x", states=())
                with pytest.raises(TypeError, match="states"):
                    await api.wait_order(cl_ord_id="x", states=5)  # type: ignore[arg-type]
                with pytest.raises(TypeError, match="cl_ord_id"):
                    await api.wait_order(cl_ord_id=7)  # type: ignore[arg-type]
                with pytest.raises(ValueError, match="timeout"):
                    await api.wait_order(cl_ord_id="x", timeout=-1)
