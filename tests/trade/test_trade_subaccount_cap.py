"""OKX's per-sub-account order cap (50061): 1 000 new and amended orders per 2 s.

Each order of a batch counts; cancels do not; orders on spot and margin
instruments and MMP orders are exempt. The client paces it on the same
windows as the per-op limits, at the same 90 % headroom (900 per 2 s).
"""

from __future__ import annotations

from typing import Any

import trio
import trio.testing
from support.scripted import CREDS, ScriptedServer

import okx_trio
from okx_trio._ratelimit import SUB_ACCOUNT_KEY, RateWindows

SWAPS = [f"{c}-USDT-SWAP" for c in ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA")]


def swap_orders(inst_id: str, n: int, ord_type: str = "limit") -> list[dict[str, Any]]:
    return [{"instId": inst_id, "tdMode": "cross", "side": "buy", "ordType": ord_type,
             "sz": "1", "px": "1"} for _ in range(n)]


def account_demand(w: RateWindows, op: str, args: list[dict[str, Any]]) -> int:
    return sum(n for key, n, _ in w.demand(op, args) if key == SUB_ACCOUNT_KEY)


def test_cap_is_900_with_the_usual_headroom() -> None:
    assert RateWindows(headroom=0.9).sub_account_limit == 900
    assert RateWindows(headroom=1.0).sub_account_limit == 1000
    assert RateWindows(sub_account_limit=None).sub_account_limit is None


def test_what_counts() -> None:
    w = RateWindows()
    assert account_demand(w, "batch-orders", swap_orders("BTC-USDT-SWAP", 20)) == 20
    assert account_demand(w, "order", swap_orders("BTC-USD-250328", 1)) == 1
    assert account_demand(w, "order", swap_orders("BTC-USD-250328-60000-C", 1)) == 1
    amends = [{"instId": "ETH-USDT-SWAP", "ordId": str(i), "newSz": "2"} for i in range(7)]
    assert account_demand(w, "batch-amend-orders", amends) == 7
    assert account_demand(w, "amend-order", amends[:1]) == 1
    # An instrument named only by a code the limiter cannot place counts (safe side).
    assert account_demand(w, "order", [{"instIdCode": 12345, "ordType": "limit"}]) == 1


def test_what_is_exempt() -> None:
    w = RateWindows()
    cancels = [{"instId": "BTC-USDT-SWAP", "ordId": str(i)} for i in range(20)]
    assert account_demand(w, "batch-cancel-orders", cancels) == 0
    assert account_demand(w, "cancel-order", cancels[:1]) == 0
    assert account_demand(w, "batch-orders", swap_orders("BTC-USDT", 20)) == 0  # spot/margin
    assert account_demand(w, "batch-orders", swap_orders("BTC-USDT-SWAP", 5, "mmp")) == 0
    mixed = swap_orders("BTC-USDT-SWAP", 3, "mmp_and_post_only") + swap_orders(
        "BTC-USDT-SWAP", 2)
    assert account_demand(w, "batch-orders", mixed) == 2
    assert account_demand(w, "sprd-order", [{"sprdId": "X", "ordType": "limit"}]) == 0
    assert account_demand(w, "mass-cancel", [{"instType": "OPTION", "instFamily": "BTC-USD"}]
                          ) == 0


def test_batches_across_instruments_stop_at_the_cap() -> None:
    """Six swaps at 270 orders per 2 s each would allow 1 620; the account allows 900."""
    w = RateWindows(headroom=0.9)
    granted_at_zero = 0
    for _ in range(30):
        for inst in SWAPS:
            if w.try_acquire("batch-orders", swap_orders(inst, 20), 0.0) is None:
                granted_at_zero += 20
    assert granted_at_zero == 900
    assert w.try_acquire("batch-orders", swap_orders(SWAPS[0], 20), 1.99) == 2.0
    # Cancels go through: they do not count, and their own buckets are empty.
    cancels = [{"instId": SWAPS[0], "ordId": str(i)} for i in range(20)]
    assert w.try_acquire("batch-cancel-orders", cancels, 1.0) is None


async def test_burst_of_1800_orders_never_exceeds_the_cap_in_any_window(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    async with trio.open_nursery() as nursery:
        connector = server.memory_connector(nursery)
        async with okx_trio.open_ws_client(
            base_url="ws://127.0.0.1:9", transport=connector, credentials=CREDS,
            log_lifecycle=False, request_timeout=None,
        ) as client, trio.open_nursery() as senders:
            for inst in SWAPS:
                for _ in range(15):
                    senders.start_soon(client.request, "batch-orders",
                                       swap_orders(inst, 20))
        nursery.cancel_scope.cancel()
    times = sorted(t for _, t, obj in server.received
                   if isinstance(obj, dict) and obj.get("op") == "batch-orders"
                   for _ in obj["args"])
    assert len(times) == 1800
    # The busiest rolling 2 s window the server saw (a window is [t, t + 2)).
    busiest = max(sum(1 for u in times if t <= u < t + 2.0) for t in times)
    assert busiest == 900


async def test_rate_limit_false_leaves_the_cap_unpaced(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    async with trio.open_nursery() as nursery:
        connector = server.memory_connector(nursery)
        async with okx_trio.open_ws_client(
            base_url="ws://127.0.0.1:9", transport=connector, credentials=CREDS,
            log_lifecycle=False, rate_limit=False,
        ) as client:
            async with trio.open_nursery() as senders:
                for inst in SWAPS:
                    for _ in range(10):
                        senders.start_soon(client.request, "batch-orders",
                                           swap_orders(inst, 20))
            assert trio.current_time() < 0.1
        nursery.cancel_scope.cancel()
