"""Place, amend and cancel one order, handling each class of error.

    python examples/place_amend_cancel.py [--base-url URL --api-key K ...]

The order is a small limit buy 2 % under the best bid, so it rests; it is then
moved to 1 % under the bid and cancelled. A second cancel of the same order
shows what a refusal looks like (``OkxOrderError`` with OKX's ``sCode``).
``place()`` shows the error handling a bot needs around every order.
"""

from __future__ import annotations

import _support
import trio

import okx_trio
from okx_trio import AmendOrder, CancelOrder, OrderAck, PlaceOrder

INST_ID = "BTC-USDT"


async def place(api: okx_trio.WsApiClient, order: PlaceOrder) -> OrderAck | None:
    """Place ``order``; returns its ack, or None when it was not placed."""
    try:
        return await api.submit_new_order(order, timeout=5)
    except okx_trio.OkxRateLimitError:
        # 50011/50061, for the request or this order (first: a rate-limited order
        # is an OkxOrderError too). Nothing was done: try again later.
        print("rate limited (50011): slow down and try again later")
    except okx_trio.OkxOrderError as exc:
        # The exchange refused this order: nothing rests, exc.ack says why.
        print(f"refused: sCode {exc.s_code} {exc.s_msg!r}")
    except okx_trio.OkxNotSent:
        # Never reached the socket (deadline passed while queued or rate-limited): safe to retry.
        print("not sent: safe to retry")
    except (okx_trio.OkxConnectionLost, okx_trio.OkxRequestTimeout) as exc:
        # Written, then no answer: the order may or may not exist. Never place it
        # again blindly; look it up by its clOrdId (see resolve_unknown.py).
        print(f"outcome unknown for clOrdId {exc.cl_ord_id}: {exc}")
    return None


async def main(argv: list[str] | None = None) -> None:
    args = _support.parse_args(__doc__, argv)
    async with (
        _support.exchange(args) as ex,
        okx_trio.open_ws_api_client(**ex.options) as api,
    ):
        market = await _support.quote(api, INST_ID)
        px = market.below_bid("0.02")

        order = PlaceOrder(inst_id=INST_ID, td_mode="cash", side="buy", ord_type="limit",
                           sz="0.001", px=px)
        ack = await place(api, order)
        if ack is None:
            return
        print(f"placed: ordId {ack.ord_id} clOrdId {ack.cl_ord_id} at {px}")

        new_px = market.below_bid("0.01")
        amended = await api.amend_order(
            AmendOrder(inst_id=INST_ID, ord_id=ack.ord_id, new_px=new_px)
        )
        print(f"amended: ordId {amended.ord_id} to {new_px} (sCode {amended.s_code})")

        cancel = CancelOrder(inst_id=INST_ID, ord_id=ack.ord_id)
        cancelled = await api.cancel_order(cancel)
        print(f"cancelled: ordId {cancelled.ord_id} ({cancelled.s_msg})")

        try:
            await api.cancel_order(cancel)
        except okx_trio.OkxOrderError as exc:
            print(f"second cancel refused as expected: sCode {exc.s_code} {exc.s_msg!r}")


if __name__ == "__main__":
    trio.run(main)
