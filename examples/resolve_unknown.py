"""Turn "outcome unknown" into the exchange's truth with ``api.resolve``.

    python examples/resolve_unknown.py [--base-url URL --api-key K ...]

``OkxConnectionLost`` (the connection dropped after the request was written)
and ``OkxRequestTimeout`` (no answer before the deadline) honestly say "the
exchange may or may not have acted". Placing again could double the order;
giving up could leave an order behind. ``api.resolve(exc)`` asks the exchange
(signed REST, by the ``clOrdId`` every order carries) and answers ``acted``
or ``not_found``; it concludes ``not_found`` only once the exchange has
certainly finished with the request (after its ``expTime``).

With the embedded simulator both cases are staged with fault injection: an
order the exchange accepted whose answer is lost, and an order that never
reached it. Against another server, only the look-up by id is shown.
"""

from __future__ import annotations

import secrets

import _support
import trio

import okx_trio
from okx_trio import CancelOrder, PlaceOrder

INST_ID = "BTC-USDT"


async def place_exactly_once(api: okx_trio.WsApiClient, order: PlaceOrder) -> str | None:
    """Place ``order``, never twice; returns its ordId, or None if it was not placed."""
    for _attempt in range(3):
        try:
            ack = await api.submit_new_order(order, timeout=2)
            return ack.ord_id
        except okx_trio.OkxNotSent:
            continue  # never left this process: placing again is safe
        except (okx_trio.OkxConnectionLost, okx_trio.OkxRequestTimeout) as exc:
            print(f"  {type(exc).__name__} for clOrdId {exc.cl_ord_id}: resolving...")
            resolution = await api.resolve(exc)
            print(f"  resolved: {resolution.outcome}")
            if resolution.outcome == "acted":
                found = resolution.orders[0]
                print(f"  the order exists: ordId {found.ord_id}, state {found.state}")
                return found.ord_id
            if resolution.outcome == "unknown":
                raise  # the exchange could not be asked in time: a human should look
            # not_found: the exchange has certainly not placed it; placing the
            # same order again (same clOrdId) cannot double it.
            print("  the exchange never placed it: placing it again")
    return None


async def main(argv: list[str] | None = None) -> None:
    args = _support.parse_args(__doc__, argv)
    async with (
        _support.exchange(args) as ex,
        okx_trio.open_ws_api_client(**ex.options) as api,
    ):
        market = await _support.quote(api, INST_ID)
        sim = ex.sim
        run = secrets.token_hex(4)  # clOrdIds must be unique per account

        def order(fraction: str, cl_ord_id: str) -> PlaceOrder:
            return PlaceOrder(inst_id=INST_ID, td_mode="cash", side="buy", ord_type="limit",
                              sz="0.001", px=market.below_bid(fraction), cl_ord_id=cl_ord_id)

        print("1. the exchange places the order, then the connection drops before the answer")
        if sim is not None:
            sim.faults.drop_on("order", when="after")
        first = await place_exactly_once(api, order("0.02", f"r{run}a"))

        print("2. the request never reaches the exchange and no answer comes")
        if sim is not None:
            sim.faults.swallow("order", when="before")
        second = await place_exactly_once(api, order("0.03", f"r{run}b"))

        print("3. looking an order up by its clOrdId works at any time")
        resolution = await api.resolve(cl_ord_id=f"r{run}a", inst_id=INST_ID)
        print(f"  r{run}a: {resolution.outcome}, state {resolution.orders[0].state}")

        for ord_id in (first, second):
            if ord_id is not None:
                await api.cancel_order(CancelOrder(inst_id=INST_ID, ord_id=ord_id))
        if sim is not None:
            mine = [o for o in sim.orders if o.cl_ord_id.startswith(f"r{run}")]
            print(f"orders on the exchange: {len(mine)} (each placed exactly once)")


if __name__ == "__main__":
    trio.run(main)
