"""A batch place in which one order fails, then a batch cancel of the others.

    python examples/batch_orders.py [--base-url URL --api-key K ...]

OKX answers a batch with code ``"2"`` when some items fail. okx_trio then
raises ``OkxBatchError`` carrying every item's ack in request order, so the
orders that *were* placed are never lost from view: here they are cancelled
with one ``batch-cancel-orders`` request.
"""

from __future__ import annotations

import _support
import trio

import okx_trio
from okx_trio import CancelOrder, OrderAck, PlaceOrder

INST_ID = "BTC-USDT"


async def main(argv: list[str] | None = None) -> None:
    args = _support.parse_args(__doc__, argv)
    async with (
        _support.exchange(args) as ex,
        okx_trio.open_ws_api_client(**ex.options) as api,
    ):
        market = await _support.quote(api, INST_ID)
        orders = [
            PlaceOrder(inst_id=INST_ID, td_mode="cash", side="buy", ord_type="limit",
                       sz="0.001", px=market.below_bid("0.02")),
            PlaceOrder(inst_id=INST_ID, td_mode="cash", side="buy", ord_type="limit",
                       sz="0.001", px=market.below_bid("0.03")),
            # A buy 50 % over the market is outside OKX's price limit: refused (51006).
            PlaceOrder(inst_id=INST_ID, td_mode="cash", side="buy", ord_type="limit",
                       sz="0.001", px=market.above_ask("0.5")),
        ]
        placed: list[OrderAck]
        try:
            placed = await api.submit_multiple_orders(orders)
        except okx_trio.OkxBatchError as exc:
            print(f"batch answered with code {exc.code}: "
                  f"{len(exc.succeeded)} placed, {len(exc.failed)} refused")
            for ack in exc.failed:
                print(f"  refused clOrdId {ack.cl_ord_id}: sCode {ack.s_code} {ack.s_msg!r}")
            if exc.rate_limited:
                print(f"  {len(exc.rate_limited)} of them only because of the rate limit")
            placed = exc.succeeded
        else:
            print(f"all {len(placed)} orders placed")
        for ack in placed:
            print(f"  placed ordId {ack.ord_id} clOrdId {ack.cl_ord_id}")

        if not placed:
            return
        cancels = [CancelOrder(inst_id=INST_ID, ord_id=ack.ord_id) for ack in placed]
        try:
            cancelled = await api.cancel_multiple_orders(cancels)
        except okx_trio.OkxBatchError as exc:
            # Some filled or were cancelled meanwhile: the acks say which.
            cancelled = exc.succeeded
        print(f"batch cancel: {len(cancelled)} of {len(cancels)} cancelled")


if __name__ == "__main__":
    trio.run(main)
