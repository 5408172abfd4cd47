"""A private ``orders`` stream that stays correct across reconnects.

    python examples/private_stream.py [--base-url URL --api-key K ...]

okx_trio resubscribes by itself after a reconnect, but pushes sent while the
connection was down are lost. It says so: the stream yields
``Gap(reason="reconnect")`` exactly where pushes may be missing. The consumer
below keeps a table of open orders from the pushes and, on a Gap, rebuilds it
from the exchange (``GET /api/v5/trade/orders-pending``, signed REST). With
the embedded simulator the private connection is dropped on purpose while an
order is being placed, so the Gap really happens.
"""

from __future__ import annotations

from collections.abc import Callable

import _support
import trio

import okx_trio
from okx_trio import CancelOrder, Gap, PlaceOrder
from okx_trio.views import Order

INST_ID = "BTC-USDT"
OPEN_STATES = ("live", "partially_filled")


class OpenOrders:
    """Open orders by ordId, kept from the ``orders`` channel."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.changed = trio.Event()

    def update(self, ord_id: str, state: str) -> None:
        if state in OPEN_STATES:
            self.states[ord_id] = state
        else:
            self.states.pop(ord_id, None)
        self.changed.set()
        self.changed = trio.Event()

    async def wait_until(self, predicate: Callable[[dict[str, str]], bool]) -> None:
        while not predicate(self.states):
            await self.changed.wait()


async def follow_orders(ws: okx_trio.WsClient, book: OpenOrders,
                        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    arg = {"channel": "orders", "instType": "SPOT", "instId": INST_ID}
    async with ws.subscribe(arg) as stream:
        task_status.started()
        async for item in stream:
            if isinstance(item, Gap):
                # Pushes may be missing here: ask the exchange for the truth.
                book.states.clear()
                async for order in ws.rest.orders_pending(inst_type="SPOT", inst_id=INST_ID):
                    book.update(order.ord_id or "", order.state or "")
                print(f"gap ({item.reason}): rebuilt the table from the exchange, "
                      f"{len(book.states)} open orders")
                continue
            for view in item.view_as(Order):  # the orders channel's views
                print(f"push: {view.ord_id} {view.side} {view.px} {view.state}")
                if view.ord_id:
                    book.update(view.ord_id, view.state or "")


async def main(argv: list[str] | None = None) -> None:
    args = _support.parse_args(__doc__, argv)
    async with (
        _support.exchange(args) as ex,
        okx_trio.open_ws_api_client(**ex.options) as api,
        trio.open_nursery() as nursery,
    ):
        book = OpenOrders()
        await nursery.start(follow_orders, api.ws_client, book)
        market = await _support.quote(api, INST_ID)

        acks = []
        for i, fraction in enumerate(("0.02", "0.03", "0.04")):
            if i == 1 and ex.sim is not None:
                # The exchange accepts the next order, then the connection drops
                # before its answer and its push: both are lost.
                ex.sim.faults.drop_on("order", when="after")
            order = PlaceOrder(inst_id=INST_ID, td_mode="cash", side="buy", ord_type="limit",
                               sz="0.001", px=market.below_bid(fraction))
            try:
                acks.append(await api.submit_new_order(order))
            except okx_trio.OkxConnectionLost as exc:
                print(f"connection lost while placing {exc.cl_ord_id}; the stream will tell")

        with trio.fail_after(10):
            await book.wait_until(lambda states: len(states) == 3)
        print(f"open orders: {len(book.states)}")

        for ord_id in list(book.states):
            await api.cancel_order(CancelOrder(inst_id=INST_ID, ord_id=ord_id))
        with trio.fail_after(10):
            await book.wait_until(lambda states: not states)
        print("every order cancelled")
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main)
