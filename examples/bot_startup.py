"""A bot starting up the way real bots do: REST first, then trading over WebSocket.

    python examples/bot_startup.py [--base-url URL --api-key K ...]

Before it trades, a bot reads where it stands, over REST (``api.rest``, on the
same client as the WebSocket trading): the exchange's clock, its balance, the
orders a previous run left open, its positions, and candles to warm an
indicator up (a moving average here). It then cancels the leftover orders and
trades over the WebSocket, with the order tracker watching, and ends by
reading its fills back over REST.

With the embedded simulator a "previous run" is played first (through
``open_rest_client``, a REST-only client): it leaves an order open and a swap
position, and trades, so there is something to find.
"""

from __future__ import annotations

from decimal import Decimal

import _support
import trio

import okx_trio
from okx_trio import CancelOrder, PlaceOrder

INST_ID = "BTC-USDT"
SWAP = "BTC-USDT-SWAP"
WARM_UP = 20
"""Candles the moving average wants."""


async def previous_run(options: dict[str, object]) -> None:
    """What an earlier run of the bot left behind (embedded simulator only)."""
    async with okx_trio.open_rest_client(**options) as rest:
        for _ in range(3):  # trades, so the market has candles
            await rest.submit_new_order({"instId": INST_ID, "tdMode": "cash", "side": "buy",
                                         "ordType": "market", "sz": "0.001",
                                         "tgtCcy": "base_ccy"})
            await trio.sleep(0.5)
        ticker = await rest.ticker(INST_ID)
        assert ticker.bid_px is not None
        await rest.submit_new_order({"instId": INST_ID, "tdMode": "cash", "side": "buy",
                                     "ordType": "limit", "sz": "0.001",
                                     "px": str((ticker.bid_px * Decimal("0.95")).quantize(
                                         Decimal("0.1")))})
        await rest.submit_new_order({"instId": SWAP, "tdMode": "cross", "side": "buy",
                                     "ordType": "market", "sz": "1"})


async def main(argv: list[str] | None = None) -> None:
    args = _support.parse_args(__doc__, argv)
    async with _support.exchange(args) as ex:
        if ex.sim is not None:
            await previous_run(ex.options)
        async with okx_trio.open_ws_api_client(**ex.options, track_orders=True) as api:
            rest = api.rest

            # 1. The exchange's clock: signatures and expTime depend on it.
            offset = await rest.sync_time()
            print(f"clock offset: {offset} ms")

            # 2. What there is to trade with.
            balance = await rest.balance(["USDT", "BTC"])
            for detail in balance.details:
                print(f"balance: {detail.ccy} available {detail.avail_bal}")

            # 3. Orders a previous run left open (paged, one page in memory at a time).
            leftovers = [o async for o in rest.orders_pending(inst_type="SPOT")]
            print(f"open orders from before: {len(leftovers)}")

            # 4. Positions.
            for pos in await rest.positions():
                print(f"position: {pos.inst_id} {pos.pos} @ {pos.avg_px}")

            # 5. Warm-up candles, newest first.
            candles = [c async for c in rest.candles(INST_ID, bar="1m", limit=WARM_UP)]
            closes = [c.close for c in candles]
            sma = sum(closes, Decimal(0)) / len(closes) if closes else None
            if sma is None:
                print("warm-up: no candle yet")
            else:
                print(f"warm-up: {len(candles)} candles of 1m (wanted {WARM_UP}), "
                      f"moving average {sma:.1f}")

            # Now trade over the WebSocket. First the leftovers go.
            if leftovers:
                acks = await api.cancel_multiple_orders(
                    [CancelOrder(inst_id=o.inst_id, ord_id=o.ord_id) for o in leftovers])
                print(f"cancelled {len(acks)} leftover order(s) over WebSocket")

            market = await _support.quote(api, INST_ID)
            reference = min(market.bid, sma) if sma is not None else market.bid
            px = _support.to_tick(reference * Decimal("0.99"), market.tick)
            ack = await api.submit_new_order(PlaceOrder(
                inst_id=INST_ID, td_mode="cash", side="buy", ord_type="post_only",
                sz="0.001", px=px))
            live = await api.wait_order(cl_ord_id=ack.cl_ord_id, states=("live",))
            print(f"bid resting over WebSocket: {live.ord_id} at {live.px} ({live.state})")
            await api.cancel_order(CancelOrder(inst_id=INST_ID, ord_id=ack.ord_id))
            done = await api.wait_order(cl_ord_id=ack.cl_ord_id)
            print(f"bid {done.state}")

            # The order shows in the 7-day history; the fills of the last 3 days.
            history = [o.ord_id async for o in rest.orders_history("SPOT", limit=10)]
            print(f"in the order history: {ack.ord_id in history}")
            fills = [f async for f in rest.fills(limit=5)]
            print(f"recent fills: {len(fills)}")


if __name__ == "__main__":
    trio.run(main)
