"""The order tracker against the simulator: its state equals the exchange's books."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing
from support import internals
from support.orders import (
    BTC,
    CREDS,
    SPREAD,
    ask,
    bid,
    describe,
    market,
    mid,
    same,
    trading,
)

from okx_trio import (
    OkxApiError,
    OkxConnectionLost,
    OkxRequestError,
    OrderTracker,
    WsApiClient,
    open_ws_api_client,
)
from okx_trio.testing import Simulator

TICK = Decimal("0.1")


def open_orders(sim: Simulator, spread: bool | None = None) -> list[Any]:
    return [
        o for o in sim.orders.open()
        if spread is None or (o.sprd_id is not None) == spread
    ]


def assert_tracker_equals_exchange(sim: Simulator, tracker: OrderTracker) -> None:
    orders = [o for o in sim.engine.order_list() if o.api_key == CREDS.api_key]
    wrong = [describe(tracker.get(ord_id=o.ord_id), o) for o in orders
             if not same(tracker.get(ord_id=o.ord_id), o)]
    assert not wrong, "\n".join(wrong)
    assert {t.ord_id for t in tracker} == {o.ord_id for o in orders}


async def settle_tracker(tracker: OrderTracker) -> None:
    """Until no tracked order is stale (the refresh after a gap is done)."""
    with trio.fail_after(30):
        while any(o.stale for o in tracker):
            await trio.sleep(0.1)
        await trio.sleep(0.5)


async def random_session(sim: Simulator, api: WsApiClient, rng: random.Random, steps: int,
                         *, drop_at: set[int]) -> None:
    """Places (single, batch, spread), amends, cancels and market moves, sequentially."""
    for step in range(steps):
        if step in drop_at:
            # The private connection drops; the market moves while it is down, so
            # the pushes of those fills are lost to the tracker.
            sim.faults.drop("private" if step % 2 == 0 else None, mode="reset")
            market(sim, 3)
        m = mid(sim)
        action = rng.random()
        try:
            if action < 0.25:
                offset = TICK * rng.randint(-30, 30)
                size = str(Decimal(rng.randint(1, 150)) / 100)
                make = bid if rng.random() < 0.5 else ask
                await api.submit_new_order(make(m + offset, size))
            elif action < 0.35:
                await api.submit_multiple_orders([
                    (bid if i % 2 else ask)(m + TICK * rng.randint(-30, 30),
                                            str(Decimal(rng.randint(1, 80)) / 100))
                    for i in range(rng.randint(2, 4))
                ])
            elif action < 0.42:
                spread_mid = mid(sim, SPREAD)
                await api.submit_spread_order({
                    "sprdId": SPREAD, "side": rng.choice(("buy", "sell")), "ordType": "limit",
                    "px": str(spread_mid + TICK * rng.randint(-5, 5)),
                    "sz": str(Decimal(rng.randint(1, 300)) / 100),
                })
            elif action < 0.6:
                candidates = open_orders(sim, spread=False)
                if candidates:
                    o = rng.choice(candidates)
                    change: dict[str, Any] = {"instIdCode": BTC, "ordId": o.ord_id,
                                              "reqId": f"a{step}"}
                    if rng.random() < 0.5:
                        change["newPx"] = str(o.px + TICK * rng.randint(-10, 10) or TICK)
                    else:
                        change["newSz"] = str(o.sz + Decimal(rng.randint(-20, 40)) / 100)
                    await api.amend_order(change)
            elif action < 0.72:
                candidates = open_orders(sim)
                if candidates:
                    o = rng.choice(candidates)
                    if o.sprd_id:
                        await api.cancel_spread_order({"ordId": o.ord_id})
                    else:
                        await api.cancel_order({"instIdCode": BTC, "clOrdId": o.cl_ord_id})
            elif action < 0.78:
                candidates = open_orders(sim, spread=False)
                chosen = rng.sample(candidates, min(len(candidates), 3))
                if chosen:
                    await api.cancel_multiple_orders(
                        [{"instIdCode": BTC, "ordId": o.ord_id} for o in chosen]
                    )
            else:
                market(sim, rng.randint(1, 3))
        except (OkxApiError, OkxRequestError, ValueError):
            pass  # refused, or sent into a dropping connection: part of the game
        await trio.sleep(rng.choice((0, 0, 0.01, 0.2)))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_session_with_reconnects_matches_the_exchange(
    autojump_clock: trio.testing.MockClock, seed: int
) -> None:
    rng = random.Random(seed)
    with trio.fail_after(300):
        async with trading() as (sim, api, rest):
            async with api.track_orders() as tracker:
                assert api.orders is tracker
                await random_session(sim, api, rng, 120, drop_at={40, 80})
                await settle_tracker(tracker)
                assert_tracker_equals_exchange(sim, tracker)
                states = {o.state for o in tracker}
                assert {"filled", "canceled"} <= states
                assert any(0 < o.acc_fill_sz < (o.sz or 0) for o in tracker)  # partial fills
                assert any(o.is_spread for o in tracker)
                assert any(o.raw.get("amendResult") == "0" for o in tracker) or any(
                    t.startswith("a") for o in sim.orders for t in o.req_ids
                )
                # The reconnects cost pushes: REST filled them in.
                assert tracker.refreshes > 0
                assert "/api/v5/trade/orders-pending" in rest.paths()
            assert api.orders is None


async def test_fills_while_disconnected_are_refreshed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with trading(track_orders=True) as (sim, api, _rest):
            tracker = api.orders
            assert tracker is not None
            m = mid(sim)
            resting = [await api.submit_new_order(bid(m - TICK * i, "0.2")) for i in (1, 2, 3)]
            far = await api.submit_new_order(bid(m - 500))
            spread = await api.submit_spread_order(
                {"sprdId": SPREAD, "side": "buy", "ordType": "limit",
                 "px": str(mid(sim, SPREAD) - 1), "sz": "0.05"}
            )
            await trio.sleep(0.1)
            assert all(tracker.get(ord_id=a.ord_id) is not None for a in [*resting, far, spread])
            sim.faults.drop("private", mode="reset")
            filled_before = {o.ord_id for o in sim.orders if o.state == "filled"}
            for _ in range(50):
                market(sim)
                if all(sim.orders.find(ord_id=a.ord_id).state != "live"  # type: ignore[union-attr]
                       for a in resting):
                    break
            changed = {o.ord_id for o in sim.orders if o.state != "live"} - filled_before
            assert changed, "the market did not touch the resting orders"
            # Stale until refreshed (the gap is seen as soon as the drop is).
            await trio.lowlevel.checkpoint()
            stale = {o.ord_id for o in tracker if o.stale}
            assert {a.ord_id for a in resting} <= stale or not stale
            await settle_tracker(tracker)
            assert_tracker_equals_exchange(sim, tracker)
            # The spread order lives on the business connection: never stale here.
            assert tracker.get(ord_id=spread.ord_id).stale is False  # type: ignore[union-attr]
            # A place sent while the private connection was down and unanswered
            # in the gap is found through the clOrdId the tracker expected.
            sim.faults.drop_on("order", when="after")
            with pytest.raises(OkxConnectionLost) as lost:
                await api.submit_new_order(bid(m - 400))
            placed = sim.orders.find(cl_ord_id=lost.value.cl_ord_id)
            assert placed is not None
            await settle_tracker(tracker)
            with trio.fail_after(10):
                while tracker.get(cl_ord_id=placed.cl_ord_id) is None:
                    await trio.sleep(0.1)
            assert same(tracker.get(cl_ord_id=placed.cl_ord_id), placed)


async def test_spread_orders_are_tracked(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with trading(track_orders=True) as (sim, api, _):
            tracker = api.orders
            assert tracker is not None
            s_mid = mid(sim, SPREAD)
            taker = await api.submit_spread_order(
                {"sprdId": SPREAD, "side": "buy", "ordType": "limit", "px": str(s_mid + 1),
                 "sz": "0.5"}
            )
            rest_ = await api.submit_spread_order(
                {"sprdId": SPREAD, "side": "sell", "ordType": "limit", "px": str(s_mid + 1),
                 "sz": "0.05"}
            )
            await api.amend_spread_order({"ordId": rest_.ord_id, "newSz": "0.07", "reqId": "q1"})
            await trio.sleep(0.1)
            for ack in (taker, rest_):
                order = sim.orders.find(ord_id=ack.ord_id)
                assert order is not None
                tracked = tracker.get(ord_id=ack.ord_id)
                assert same(tracked, order), describe(tracked, order)
                assert tracked is not None
                assert tracked.sprd_id == SPREAD
                assert tracked.inst_id is None
            assert internals.tracker_state(api).table.amend_result(
                internals.tracker_state(api).table.entry(rest_.ord_id, None), "q1") == "0"


async def test_track_orders_block_subscribes_and_unsubscribes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        async with trading() as (sim, api, _):
            assert api.orders is None
            async with api.track_orders() as tracker:
                subscribed = [a for f in sim.frames.ops("subscribe") for a in f["args"]]
                assert {"channel": "orders", "instType": "ANY"} in subscribed
                assert {"channel": "sprd-orders"} in subscribed
                async with api.track_orders() as inner:
                    assert inner is tracker  # nested: the running tracker
                assert api.orders is tracker
                ack = await api.submit_new_order(bid(mid(sim) - 100))
                await trio.sleep(0.1)
                assert tracker.get(cl_ord_id=ack.cl_ord_id) is not None
                assert "OrderTracker orders=1" in repr(tracker)
            unsubscribed = [a["channel"] for f in sim.frames.ops("unsubscribe") for a in f["args"]]
            assert sorted(unsubscribed) == ["orders", "sprd-orders"]
            assert api.orders is None


async def test_track_orders_option_sees_the_very_first_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """With track_orders=True the first place waits for the subscriptions, so the
    tracker has the order's first push."""
    with trio.fail_after(30):
        async with trading(track_orders=True) as (sim, api, _):
            ack = await api.submit_new_order(bid(mid(sim) - 100))
            await trio.sleep(0.05)
            assert api.orders is not None
            tracked = api.orders.get(ord_id=ack.ord_id)
            assert tracked is not None
            assert tracked.state == "live"
            first_sub = min(r.time for r in sim.frames if r.op == "subscribe")
            first_order = min(r.time for r in sim.frames if r.op == "order")
            assert first_sub <= first_order


async def test_tracking_needs_credentials() -> None:
    with pytest.raises(ValueError, match="credentials"):
        async with open_ws_api_client(track_orders=True, base_url="ws://127.0.0.1:9"):
            pass  # pragma: no cover
    async with open_ws_api_client(base_url="ws://127.0.0.1:9") as api:
        with pytest.raises(ValueError, match="credentials"):
            async with api.track_orders():
                pass  # pragma: no cover


async def test_switch_over_losing_the_old_connection_first_refreshes_the_tracker(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """64008 on the private connection; the old one closes before the new one's
    ``orders`` ack. The changes pushed in between are not silently lost: the
    tracker gets a Gap, marks its open orders stale and refreshes them."""
    with trio.fail_after(60):
        async with trading(track_orders=True) as (sim, api, _rest):
            tracker = api.orders
            assert tracker is not None
            m = mid(sim)
            resting = [await api.submit_new_order(bid(m - 500 - i)) for i in range(3)]
            await trio.sleep(0.1)
            sim.faults.delay("subscribe", 2.0)  # the new connection's acks come late
            old = {c.conn_id for c in sim.connections if c.path == "private"}
            sim.faults.notice("private", close_after=0.5)
            await trio.sleep(1.0)  # the old connection is gone, the new ack not in yet
            assert not old & {c.conn_id for c in sim.connections}
            assert all(tracker.get(ord_id=a.ord_id).stale for a in resting)  # type: ignore[union-attr]
            # Cancelled on the exchange meanwhile (the answers come on the new one).
            for ack in resting:
                await api.cancel_order({"instIdCode": BTC, "ordId": ack.ord_id})
            for ack in resting:
                order = await api.wait_order(ord_id=ack.ord_id, states=("canceled",),
                                             timeout=10)
                assert order.state == "canceled"
            await settle_tracker(tracker)
            assert_tracker_equals_exchange(sim, tracker)
