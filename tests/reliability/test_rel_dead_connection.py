"""Dead connections: the exchange stops answering pings.

On virtual time over the simulator's in-memory links: the client must notice
within ``heartbeat_interval + pong_timeout`` of the last frame it received,
reconnect, log in again, resubscribe every live arg and hand every subscriber
a ``Gap(reason="reconnect")`` before the first push of the new connection.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing
from support.reliability import RecordingConnector, sizes

from okx_trio import Gap, LifecycleEvent, Push, open_ws_client
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, open_simulator

TICKERS = {"channel": "tickers", "instId": "BTC-USDT"}
ORDERS = {"channel": "orders", "instType": "ANY"}
ORDER = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "px": "30000", "sz": "0.001"}


async def next_item(sub: Any) -> Push | Gap:
    item: Push | Gap = await sub.__anext__()
    return item


async def wait_until(predicate: Any, step: float = 0.001) -> None:
    while not predicate():
        await trio.sleep(step)


@pytest.mark.parametrize(("interval", "window"), [(20.0, 5.0), (7.5, 1.5)])
@sizes(1, 100, name="cycles")
async def test_muted_pongs_detected_in_time_then_relogin_resubscribe_and_gap(
    interval: float, window: float, cycles: int, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(cycles * 200 + 100):  # virtual seconds
        async with open_simulator(accounts=[CREDS], market_interval=None, idle_timeout=None,
                                  rate_limit=False) as sim:
            connector = RecordingConnector(sim.connect_memory(), keep_frames=False)
            async with open_ws_client(
                credentials=CREDS, base_url=sim.base_url, transport=connector,
                rate_limit=False, log_lifecycle=False, heartbeat_interval=interval,
                pong_timeout=window,
            ) as client, client.events() as events, \
                    client.subscribe(TICKERS) as tick_a, client.subscribe(TICKERS) as tick_b, \
                    client.subscribe(ORDERS) as orders:
                subscribers = {"tickers a": tick_a, "tickers b": tick_b, "orders": orders}
                # Drain what the first connections delivered (the tickers snapshot).
                await trio.lowlevel.checkpoint()
                for name, sub in subscribers.items():
                    while sub.statistics().buffered:
                        assert isinstance(await next_item(sub), Push), name
                seen: list[tuple[float, LifecycleEvent]] = []
                changed = [trio.Event()]

                async def watch() -> None:
                    async for ev in events:
                        seen.append((trio.current_time(), ev))
                        changed[0].set()
                        changed[0] = trio.Event()

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(watch)
                    for cycle in range(1, cycles + 1):
                        sim.faults.mute_pongs()
                        live = {t.path: t for t in connector.transports if t.closed_at is None}
                        assert set(live) == {"public", "private"}
                        last_rx = {path: connector.last_rx[t.number] for path, t in live.items()}

                        def lost(path: str, n: int = cycle) -> list[float]:
                            return [t for t, ev in seen
                                    if ev.kind == "reconnect" and ev.connection == path][n - 1:]

                        while not (lost("public") and lost("private")):
                            await changed[0].wait()
                        sim.faults.unmute_pongs()
                        for path in ("public", "private"):
                            # Detected exactly one silence interval plus one pong window
                            # after the last frame received on that connection.
                            assert lost(path)[0] - last_rx[path] == pytest.approx(
                                interval + window, abs=1e-6)
                            reasons = [ev.detail for _, ev in seen
                                       if ev.kind == "reconnect" and ev.connection == path]
                            assert "no pong" in str(reasons[-1])
                        # Reconnected, logged in again, resubscribed, and a Gap for everyone.
                        for name, sub in subscribers.items():
                            item = await next_item(sub)
                            assert item == Gap("reconnect", 0), name
                        await wait_until(lambda: client.statistics().subscriptions == 2)
                        stats = client.statistics()
                        assert stats.reconnects == {"public": cycle, "private": cycle}
                        assert sorted(stats.connected) == ["private", "public"]
                        logins = sim.frames.ops("login")
                        assert len(logins) == cycle + 1
                        assert all(f["args"][0]["apiKey"] == CREDS.api_key for f in logins)
                        subs = Counter(a["channel"] for f in sim.frames.ops("subscribe")
                                       for a in f["args"])
                        assert subs == {"tickers": cycle + 1, "orders": cycle + 1}
                        # The new tickers subscription starts with its snapshot, after the Gap.
                        for name in ("tickers a", "tickers b"):
                            push = await next_item(subscribers[name])
                            assert isinstance(push, Push), name
                            assert push.arg["instId"] == "BTC-USDT"
                        # Trading works on the new private connection, and its push
                        # reaches the orders subscriber after its Gap.
                        await client.request("order", [ORDER])
                        push = await next_item(orders)
                        assert isinstance(push, Push)
                        assert push.data[0]["state"] == "live"
                    nursery.cancel_scope.cancel()
                assert len(connector.attempts) == 2 * (cycles + 1)


async def test_second_reconnect_without_pushes_in_between_is_announced_too(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(120):
        async with open_simulator(accounts=[CREDS], market_interval=None,
                                  idle_timeout=None) as sim, open_ws_client(
            credentials=CREDS, base_url=sim.base_url, transport=sim.connect_memory(),
            rate_limit=False, log_lifecycle=False,
        ) as client, client.subscribe(ORDERS) as orders:
            for reconnect in (1, 2):
                assert sim.faults.drop("private") == 1
                # The Gap of each reconnect reaches the subscriber, even though
                # nothing was pushed between the two.
                with trio.fail_after(10):
                    assert await next_item(orders) == Gap("reconnect", 0), reconnect
                await wait_until(lambda: client.statistics().subscriptions == 1)
