"""Spread trading: place, amend and cancel spread orders, then ``sprd-mass-cancel``.

    python examples/spread_orders.py [--sprd-id ID] [--base-url URL --api-key K ...]

Spread ops go over the business connection (okx_trio routes them). The
``sprd-orders`` channel reports each order's state; a task in the same nursery
prints it while the main task trades.
"""

from __future__ import annotations

import argparse
from decimal import Decimal

import _support
import trio

import okx_trio
from okx_trio import (
    AmendSpreadOrder,
    CancelSpreadOrder,
    MassCancelSpread,
    PlaceSpreadOrder,
    Push,
)
from okx_trio.views import SprdOrder


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sprd-id", default="BTC-USDT_BTC-USDT-SWAP", help="the spread")
    parser.add_argument("--tick", default="0.1", help="price tick of the spread")


async def top_of_spread(ws: okx_trio.WsClient, sprd_id: str) -> tuple[Decimal, Decimal]:
    """Best bid and ask of the spread, from its first ``sprd-tickers`` push."""
    async with ws.subscribe({"channel": "sprd-tickers", "sprdId": sprd_id}) as stream:
        async for item in stream:
            if isinstance(item, Push) and item.data:
                return Decimal(item.data[0]["bidPx"]), Decimal(item.data[0]["askPx"])
    raise RuntimeError("the sprd-tickers stream ended")


async def print_states(ws: okx_trio.WsClient, sprd_id: str,
                       task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    async with ws.subscribe({"channel": "sprd-orders", "sprdId": sprd_id}) as sub:
        task_status.started()  # subscribed: nothing the main task does is missed
        async for item in sub:
            if isinstance(item, Push):
                for order in item.view_as(SprdOrder):
                    print(f"  sprd-orders: {order.cl_ord_id} {order.side} {order.sz} @ "
                          f"{order.px} is {order.state}")


async def main(argv: list[str] | None = None) -> None:
    args = _support.parse_args(__doc__, argv, extra=options)
    sprd_id, tick = args.sprd_id, Decimal(args.tick)
    async with (
        _support.exchange(args) as ex,
        okx_trio.open_ws_api_client(**ex.options) as api,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(print_states, api.ws_client, sprd_id)
        bid, ask = await top_of_spread(api.ws_client, sprd_id)
        print(f"{sprd_id}: bid {bid} ask {ask}")

        buy = await api.submit_spread_order(PlaceSpreadOrder(
            sprd_id=sprd_id, side="buy", ord_type="limit", sz="0.01", px=bid - 10 * tick))
        sell = await api.submit_spread_order(PlaceSpreadOrder(
            sprd_id=sprd_id, side="sell", ord_type="limit", sz="0.01", px=ask + 10 * tick))
        print(f"placed buy {buy.cl_ord_id} and sell {sell.cl_ord_id}")

        amended = await api.amend_spread_order(
            AmendSpreadOrder(ord_id=buy.ord_id, new_px=bid - 5 * tick))
        print(f"amended buy {amended.cl_ord_id} to {bid - 5 * tick}")

        await api.cancel_spread_order(CancelSpreadOrder(cl_ord_id=sell.cl_ord_id))
        print(f"cancelled sell {sell.cl_ord_id}")
        try:
            await api.amend_spread_order(AmendSpreadOrder(ord_id=sell.ord_id, new_sz="0.02"))
        except okx_trio.OkxOrderError as exc:
            print(f"amending the cancelled order is refused: sCode {exc.s_code}")

        # Cancel every spread order left on this spread in one request.
        done = await api.mass_cancel_spread_orders(MassCancelSpread(sprd_id=sprd_id))
        print(f"sprd-mass-cancel: result {done}")
        await trio.sleep(0.5)  # let the last sprd-orders pushes arrive
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main)
