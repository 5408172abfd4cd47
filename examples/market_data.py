"""Market data: tickers and trades as pushes, and a local order book.

    python examples/market_data.py [--inst-id ID] [--seconds N] [--base-url URL]

Two tasks in one nursery: one reads ``tickers`` and ``trades`` pushes (typed
views built with ``Push.view()``), the other follows a sequence-checked order
book. Both see a ``Gap`` when data may be missing (a reconnect, a slow reader,
a rebuilt book) and carry on. No credentials are needed for public data.
"""

from __future__ import annotations

import argparse

import _support
import trio

import okx_trio
from okx_trio import Gap
from okx_trio.views import Ticker, Trade


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inst-id", default="BTC-USDT", help="instrument (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to watch")


async def watch_pushes(ws: okx_trio.WsClient, inst_id: str) -> None:
    args = ({"channel": "tickers", "instId": inst_id}, {"channel": "trades", "instId": inst_id})
    async with ws.subscribe(*args) as stream:
        async for item in stream:
            if isinstance(item, Gap):
                print(f"pushes may be missing here ({item.reason})")
                continue
            for view in item.view():  # typed views, with Decimal prices
                if isinstance(view, Ticker):
                    print(f"ticker: last {view.last} bid {view.bid_px} ask {view.ask_px}")
                elif isinstance(view, Trade):
                    print(f"trade:  {view.side:4} {view.sz} @ {view.px}")


async def watch_book(ws: okx_trio.WsClient, inst_id: str) -> None:
    async with ws.order_book(inst_id) as book:  # entered once the snapshot is in
        async for update in book:
            if isinstance(update, Gap):
                print(f"book: {update.reason}; rebuilding from a fresh snapshot")
                continue
            if update.best_bid is None or update.best_ask is None:
                continue
            (bid, bid_sz), (ask, ask_sz) = update.best_bid, update.best_ask
            depth = sum(size for _, size in update.bids[:5])
            print(f"book:   {bid_sz} @ {bid} | {ask} @ {ask_sz}  spread {ask - bid}  "
                  f"5-level bid depth {depth}  seqId {update.seq_id}")


async def main(argv: list[str] | None = None) -> None:
    args = _support.parse_args(__doc__, argv, extra=options)
    async with (
        _support.exchange(args) as ex,
        # Public channels need no credentials.
        okx_trio.open_ws_client(base_url=ex.options["base_url"]) as ws,
    ):
        with trio.move_on_after(args.seconds):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch_pushes, ws, args.inst_id)
                nursery.start_soon(watch_book, ws, args.inst_id)


if __name__ == "__main__":
    trio.run(main)
