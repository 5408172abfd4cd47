"""Connect to OKX *demo trading* (simulated money) with your own API key.

    export OKX_API_KEY=... OKX_SECRET_KEY=... OKX_PASSPHRASE=...
    python examples/okx_demo_trading.py [--market prod|eea|us] [--inst-id BTC-USDT]

Create the key under "Demo trading" in the OKX web site (a demo key does not
work for live trading, and the other way round: OKX answers 50101). The
script logs in, measures the clock offset, reads the order book, places the
smallest allowed limit buy 3 % under the best bid (it rests, never fills),
waits for its ``orders`` push and cancels it. Nothing here reaches live
trading: ``demo_trading=True`` picks OKX's demo endpoints.
"""

from __future__ import annotations

import argparse
import os
import sys

import _support
import trio

import okx_trio
from okx_trio import CancelOrder, PlaceOrder, Push

ENV_VARS = ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE")


def credentials_from_env() -> okx_trio.Credentials | None:
    values = [os.environ.get(name, "") for name in ENV_VARS]
    if not all(values):
        return None
    return okx_trio.Credentials(*values)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Place and cancel one order on OKX demo trading.")
    parser.add_argument("--market", default="prod", choices=("prod", "eea", "us"))
    parser.add_argument("--inst-id", default="BTC-USDT")
    args = parser.parse_args(argv)
    creds = credentials_from_env()
    if creds is None:
        missing = ", ".join(name for name in ENV_VARS if not os.environ.get(name))
        print(f"set {missing} to a demo-trading API key first (see the docstring)",
              file=sys.stderr)
        return 2

    async with okx_trio.open_ws_api_client(
        credentials=creds, market=args.market, demo_trading=True
    ) as api:
        offset = await api.sync_time()  # login and expTime use the exchange's clock
        print(f"clock offset to OKX: {offset} ms")
        await api.connect_ws_api()  # log in now: a bad key fails here, not on the order
        print("logged in (private and business connections)")

        market = await _support.quote(api, args.inst_id)
        px = market.below_bid("0.03")
        print(f"{args.inst_id}: bid {market.bid} ask {market.ask}; "
              f"placing a buy of {market.min_sz} at {px}")

        orders = {"channel": "orders", "instType": "SPOT", "instId": args.inst_id}
        async with api.ws_client.subscribe(orders) as stream:
            ack = await api.submit_new_order(PlaceOrder(
                inst_id=args.inst_id, td_mode="cash", side="buy", ord_type="limit",
                sz=market.min_sz, px=px))
            print(f"placed: ordId {ack.ord_id} clOrdId {ack.cl_ord_id}")
            with trio.move_on_after(5):
                async for item in stream:
                    if isinstance(item, Push) and any(
                        o.get("ordId") == ack.ord_id for o in item.data
                    ):
                        print(f"orders channel: {item.data[0]['state']}")
                        break
            await api.cancel_order(CancelOrder(inst_id=args.inst_id, ord_id=ack.ord_id))
            print("cancelled")
    return 0


if __name__ == "__main__":
    sys.exit(trio.run(main))
