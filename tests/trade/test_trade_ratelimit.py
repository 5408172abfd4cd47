"""The rate limiter: sans-IO window bookkeeping, then the trio wait under MockClock."""

from __future__ import annotations

import trio
import trio.testing

from okx_trio._pacing import RateLimiter
from okx_trio._ratelimit import RateWindows


def order(code: int = 1) -> list[dict[str, object]]:
    return [{"instIdCode": code, "tdMode": "cash"}]


def grant_times(
    windows: RateWindows, op: str, args: list[dict[str, object]], n: int
) -> list[float]:
    """Grant ``n`` requests as early as the windows allow, returning each grant time."""
    now = 0.0
    out = []
    for _ in range(n):
        while (at := windows.try_acquire(op, args, now)) is not None:
            assert at > now
            now = at
        out.append(now)
    return out


def test_exact_limit_per_rolling_window() -> None:
    w = RateWindows(headroom=1.0)
    times = grant_times(w, "order", order(), 200)
    assert times[:60] == [0.0] * 60
    assert times[60:120] == [2.0] * 60
    assert times[120:180] == [4.0] * 60
    assert times[180:] == [6.0] * 20


def test_headroom_lowers_the_limit() -> None:
    w = RateWindows(headroom=0.9)
    assert w.limit("order") == 54
    assert w.limit("batch-orders") == 270
    assert w.limit("mass-cancel") == 4
    assert w.limit("sprd-order") == 18
    assert w.limit("subscribe") is None
    times = grant_times(w, "order", order(), 110)
    assert [times.count(t) for t in (0.0, 2.0, 4.0)] == [54, 54, 2]


def test_rolling_not_fixed_window() -> None:
    """Any 2 s window holds at most N grants, whatever their spacing."""
    w = RateWindows(headroom=1.0, limits={"mass-cancel": (5, False)})
    args = [{"instType": "OPTION", "instFamily": "BTC-USD"}]
    grants = []
    for now in (0.0, 0.5, 0.5, 1.0, 1.5):
        assert w.try_acquire("mass-cancel", args, now) is None
        grants.append(now)
    # At 1.9 the window (-0.1, 1.9] holds five grants: wait until the first expires.
    assert w.try_acquire("mass-cancel", args, 1.9) == 2.0
    assert w.try_acquire("mass-cancel", args, 2.0) is None
    # The two grants at 0.5 leave the window at 2.5, not before.
    assert w.try_acquire("mass-cancel", args, 2.4) == 2.5
    assert w.try_acquire("mass-cancel", args, 2.5) is None
    assert w.try_acquire("mass-cancel", args, 2.5) is None
    assert w.try_acquire("mass-cancel", args, 2.5) == 3.0


def test_order_ops_are_per_instrument_and_independent() -> None:
    w = RateWindows(headroom=1.0)
    for _ in range(60):
        assert w.try_acquire("order", order(1), 0.0) is None
    assert w.try_acquire("order", order(1), 0.0) == 2.0
    # Another instrument, and the cancel and amend buckets, are untouched.
    assert w.try_acquire("order", order(2), 0.0) is None
    assert w.try_acquire("cancel-order", order(1), 0.0) is None
    assert w.try_acquire("amend-order", order(1), 0.0) is None
    # instId is the key when no code is given.
    for _ in range(60):
        assert w.try_acquire("order", [{"instId": "ETH-USDT"}], 0.0) is None
    assert w.try_acquire("order", [{"instId": "ETH-USDT"}], 0.0) == 2.0


def test_batches_count_orders_per_instrument() -> None:
    w = RateWindows(headroom=1.0)
    batch = order(1) * 10 + order(2) * 10
    for _ in range(30):
        assert w.try_acquire("batch-orders", batch, 0.0) is None
    # Instrument 1 now holds 300 orders: any batch touching it waits...
    assert w.try_acquire("batch-orders", order(1) * 2, 0.0) == 2.0
    # ...one touching only other instruments does not.
    assert w.try_acquire("batch-orders", order(3) * 20, 0.0) is None
    # A refused batch records nothing on any of its buckets.
    assert w.try_acquire("batch-orders", order(3) + order(1), 0.0) == 2.0
    assert w.try_acquire("batch-orders", order(3) * 2, 0.0) is None


def test_one_item_batch_counts_against_the_single_op() -> None:
    w = RateWindows(headroom=1.0)
    for _ in range(60):
        assert w.try_acquire("batch-orders", order(), 0.0) is None
    assert w.try_acquire("order", order(), 0.0) == 2.0
    assert w.try_acquire("batch-orders", order() * 2, 0.0) is None
    for _ in range(60):
        assert w.try_acquire("batch-cancel-orders", order(), 1.0) is None
    assert w.try_acquire("cancel-order", order(), 1.0) == 3.0


def test_user_level_ops() -> None:
    w = RateWindows(headroom=1.0)
    for i in range(20):
        assert w.try_acquire("sprd-order", [{"sprdId": f"S{i}"}], 0.0) is None
    assert w.try_acquire("sprd-order", [{"sprdId": "other"}], 0.0) == 2.0
    assert w.try_acquire("sprd-cancel-order", [{"ordId": "1"}], 0.0) is None
    for _ in range(5):
        assert w.try_acquire("sprd-mass-cancel", [{}], 0.0) is None
    assert w.try_acquire("sprd-mass-cancel", [{}], 1.0) == 2.0


def test_unknown_ops_are_not_paced() -> None:
    w = RateWindows(headroom=1.0)
    for _ in range(1000):
        assert w.try_acquire("some-new-op", [{}], 0.0) is None


def test_prune_forgets_idle_buckets() -> None:
    w = RateWindows(headroom=1.0)
    for code in range(100):
        w.try_acquire("order", order(code), 0.0)
    w.prune(5.0)
    w.prune(5.0)
    assert not w._buckets


async def test_acquire_waits_exactly_under_mock_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limiter = RateLimiter(headroom=1.0)
    granted: list[float] = []

    async def one() -> None:
        await limiter.acquire("order", order())
        granted.append(trio.current_time())

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for _ in range(130):
            nursery.start_soon(one)
    offsets = sorted(round(t - start, 9) for t in granted)
    assert offsets == [0.0] * 60 + [2.0] * 60 + [4.0] * 10
    assert limiter.waits == 70


async def test_cancelled_wait_records_nothing(autojump_clock: trio.testing.MockClock) -> None:
    limiter = RateLimiter(headroom=1.0, limits={"mass-cancel": (1, False)})
    args = [{"instType": "OPTION", "instFamily": "BTC-USD"}]
    await limiter.acquire("mass-cancel", args)
    t0 = trio.current_time()
    with trio.move_on_after(1.0):
        await limiter.acquire("mass-cancel", args)
    assert trio.current_time() - t0 == 1.0
    # Had the cancelled wait been counted, this would wait until t0 + 4.
    await limiter.acquire("mass-cancel", args)
    assert trio.current_time() - t0 == 2.0


async def test_acquire_is_a_checkpoint() -> None:
    limiter = RateLimiter()
    with trio.CancelScope() as scope:
        scope.cancel()
        await limiter.acquire("order", order())
    assert scope.cancelled_caught
    # Nothing was counted by the cancelled call.
    assert limiter.windows.ready_at(limiter.windows.demand("order", order()), 0.0) < 0


async def test_acquire_under_the_limit_does_not_yield() -> None:
    """An idle limiter costs no trip through the scheduler: the request's own wait
    for its answer is the schedule point. A task started just before the call has
    not run when it returns; a wait does yield."""
    limiter = RateLimiter(headroom=1.0, limits={"mass-cancel": (1, False)})
    args = [{"instType": "OPTION", "instFamily": "BTC-USD"}]
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other)
        await limiter.acquire("mass-cancel", args)
        assert ran == []
        await trio.testing.wait_all_tasks_blocked()
        assert ran == ["other"]
    with trio.move_on_after(0.01):
        await limiter.acquire("mass-cancel", args)  # over the limit: waits
    assert limiter.waits == 0


def test_instrument_key_can_group_instruments() -> None:
    """Options are counted per instrument family: the key function decides."""
    w = RateWindows(headroom=1.0)
    w.inst_key = lambda arg: "BTC-USD" if arg["instIdCode"] in (1, 2) else arg["instIdCode"]
    for _ in range(30):
        assert w.try_acquire("order", order(1), 0.0) is None
        assert w.try_acquire("order", order(2), 0.0) is None
    assert w.try_acquire("order", order(1), 0.0) == 2.0
    assert w.try_acquire("order", order(2), 0.0) == 2.0
    assert w.try_acquire("order", order(3), 0.0) is None
