"""Bounded subscriber buffers: a slow reader loses its oldest pushes, announced in band."""

from __future__ import annotations

import trio
import trio.testing
from support import internals
from support.streams import VIP4, frames, inject, marks, next_push, sim_client

from okx_trio import Gap, Push
from okx_trio._subscriptions import PRIVATE_BUFFER, PUBLIC_BUFFER

TICKERS = {"channel": "tickers", "instId": "BTC-USDT"}
TRADES = {"channel": "trades", "instId": "BTC-USDT"}
# Raw trade-op args name the instrument by instIdCode, as OKX requires since 2026.
ORDER = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "sz": "0.01", "px": "58000"}


async def test_slow_reader_gets_dropped_gap_and_delays_nobody(
    autojump_clock: trio.testing.MockClock,
) -> None:
    total = 2000
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(60):
            await internals.connect(client, "private")
            async with client.subscribe(TICKERS) as fast:
                await next_push(fast)  # the initial ticker, before the slow one joins
                async with client.subscribe(TICKERS, buffer_size=100) as slow:
                    fast_seen: list[int] = []
                    done = trio.Event()

                    async def read_fast() -> None:
                        async for item in fast:
                            fast_seen.extend(marks([item]))
                            if len(fast_seen) == total:
                                done.set()
                                return

                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(read_fast)
                        inject(sim, "public", TICKERS, total)
                        # An order sent while the reader is busy with the burst is not held up.
                        t0 = trio.current_time()
                        resp = await client.request("order", [ORDER])
                        assert resp.code == "0"
                        assert trio.current_time() - t0 < 0.001
                        await done.wait()
                    assert fast_seen == list(range(total))
                    assert fast.statistics().dropped == 0
                    stats = slow.statistics()
                    assert stats.capacity == 100
                    assert stats.buffered == 100
                    assert stats.dropped == total - 100
                    # The Gap stands where the lost pushes were, the rest follows in order.
                    first = await slow.__anext__()
                    assert first == Gap("dropped", total - 100)
                    rest = [await slow.__anext__() for _ in range(100)]
                    assert all(isinstance(p, Push) for p in rest)
                    assert marks(rest) == list(range(total - 100, total))
                    assert slow.statistics().buffered == 0
                    inject(sim, "public", TICKERS, 1, start=total)
                    assert marks([await slow.__anext__()]) == [total]
                assert len(frames(sim, "subscribe", "tickers")) == 1


async def test_default_buffer_sizes_by_channel_kind(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, sim_options=VIP4) as (_sim, client):
        with trio.fail_after(60):
            async with client.subscribe(TICKERS) as public, \
                    client.subscribe({"channel": "orders", "instType": "ANY"}) as orders, \
                    client.subscribe(TICKERS, {"channel": "fills"}) as mixed:
                assert public.statistics().capacity == PUBLIC_BUFFER == 1024
                assert orders.statistics().capacity == PRIVATE_BUFFER == 8192
                assert mixed.statistics().capacity == PRIVATE_BUFFER


async def test_gap_markers_never_pile_up_and_survive_overflow(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(60):
            async with client.subscribe(TRADES, buffer_size=4) as sub:
                # Two quick drops before any new push: a single reconnect Gap.
                sim.faults.drop("public")
                await sim.frames.wait_for(lambda r: r.op == "subscribe"
                                          and r.conn_id == sim.connections[0].conn_id)
                await trio.sleep(0.1)
                sim.faults.drop("public")
                await trio.sleep(1)
                inject(sim, "public", TRADES, 1)
                await trio.sleep(0.1)
                items = [await sub.__anext__() for _ in range(sub.statistics().buffered)]
                assert [type(i) for i in items].count(Gap) == 1
                assert marks(items) == [0]
                # A reconnect Gap pushed out of a full buffer still leaves a Gap in front.
                sim.faults.drop("public")
                await trio.sleep(1)
                inject(sim, "public", TRADES, 10, start=1)
                await trio.sleep(0.1)
                assert await sub.__anext__() == Gap("dropped", 6)
                tail = [await sub.__anext__() for _ in range(4)]
                assert marks(tail) == [7, 8, 9, 10]
                assert sub.statistics().dropped == 6


async def test_several_tasks_iterating_one_subscription_all_wake_and_all_end(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Each item goes to exactly one of them; a task that parked while another
    # was parked too is not forgotten, and leaving the block ends every iteration.
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(60):
            await internals.connect(client, "public")
            got: dict[str, list[int]] = {"a": [], "b": []}
            ended: list[str] = []
            async with trio.open_nursery() as nursery, client.subscribe(TRADES) as sub:

                async def consume(name: str) -> None:
                    async for item in sub:
                        got[name].extend(marks([item]))
                    ended.append(name)

                nursery.start_soon(consume, "a")
                nursery.start_soon(consume, "b")
                await trio.testing.wait_all_tasks_blocked()
                for k in range(6):
                    # One at a time, so both are parked when each arrives.
                    inject(sim, "public", TRADES, 1, start=k)
                    await trio.testing.wait_all_tasks_blocked()
                assert sorted(got["a"] + got["b"]) == list(range(6))
                # Leaving the subscription's block (before the nursery's) ends both.
            assert sorted(ended) == ["a", "b"]
