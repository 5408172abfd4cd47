"""A small market maker, run on a replayed recording: the research loop in one script.

    python examples/replay_bot.py [--recording FILE] [--latency S] [--out run.jsonl]
                                  [--plot run.png]

``quote()`` is the bot: it joins the best bid and ask of the book with one
post-only order each, moves them when the top of the book moves, and stops
buying (selling) once its position reaches ``+max_position`` (``-max_position``).
It is written against ``okx_trio.WsApiClient`` only, so the same function
trades on OKX, on the simulator's random walk, or on a replay.

Without ``--recording`` the script first records a minute of an embedded
simulator's market (offline, in virtual time), then runs the bot on it with
``okx_trio.replay.run_replay`` (virtual time: the same fills every run) and
prints the summary. ``tests/examples`` tests the bot with the pytest plugin's
fixtures.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
from decimal import Decimal
from pathlib import Path

import trio
import trio.testing

import okx_trio
from okx_trio import Gap, views
from okx_trio.replay import run_replay
from okx_trio.testing import open_simulator


async def quote(api: okx_trio.WsApiClient, inst_id: str = "BTC-USDT",
                size: Decimal = Decimal("0.01"), max_position: Decimal = Decimal("0.03")) -> None:
    """Quote the best bid and ask of ``inst_id`` (see the module docstring); runs until
    cancelled."""
    position = Decimal(0)
    quotes: dict[str, tuple[str, Decimal]] = {}  # side -> (ordId, price) of our live order

    async def follow_orders(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
                            ) -> None:
        nonlocal position
        async with api.ws_client.subscribe({"channel": "orders", "instType": "ANY"}) as orders:
            task_status.started()
            async for push in orders:
                if isinstance(push, Gap):
                    continue  # a real bot would reconcile over REST here
                for order in push.view_as(views.Order):
                    if order.fill_sz:
                        position += order.fill_sz if order.side == "buy" else -order.fill_sz
                    mine = quotes.get(order.side or "")
                    if mine is not None and mine[0] == order.ord_id and order.state in (
                            "filled", "canceled"):
                        del quotes[order.side or ""]

    async def requote(side: str, px: Decimal) -> None:
        allowed = position < max_position if side == "buy" else position > -max_position
        mine = quotes.get(side)
        if mine is not None and (mine[1] != px or not allowed):
            del quotes[side]
            try:
                await api.cancel_order({"instId": inst_id, "ordId": mine[0]})
            except okx_trio.OkxOrderError:
                pass  # filled meanwhile: the orders channel counts it
        if allowed and side not in quotes:
            try:
                ack = await api.submit_new_order({"instId": inst_id, "tdMode": "cash",
                                                  "side": side, "ordType": "post_only",
                                                  "px": str(px), "sz": str(size)})
            except okx_trio.OkxOrderError:
                return  # post-only would have taken: the book moved; next update
            if ack.ord_id is not None:
                quotes[side] = (ack.ord_id, px)

    await api.load_instruments("SPOT")
    async with trio.open_nursery() as nursery:
        await nursery.start(follow_orders)
        async with api.ws_client.order_book(inst_id) as book:
            async for update in book:
                if isinstance(update, Gap) or not update.best_bid or not update.best_ask:
                    continue
                await requote("buy", update.best_bid[0])
                await requote("sell", update.best_ask[0])


async def record_a_market(path: Path, seconds: float = 60) -> None:
    """Record the embedded simulator's market (call it under a MockClock)."""
    async with (
        open_simulator(seed=5) as sim,
        okx_trio.record(path, ["books:BTC-USDT", "trades:BTC-USDT"], base_url=sim.base_url,
                        transport=sim.connect_memory(), overwrite=True),
    ):
        await trio.sleep(seconds)


def main(argv: list[str] | None = None) -> okx_trio.replay.ReplayResult:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--recording", type=Path, help="a recording (default: record one)")
    parser.add_argument("--latency", type=float, default=0.005,
                        help="seconds each way between the bot and the exchange")
    parser.add_argument("--out", help="write the fills and book samples (JSON lines)")
    parser.add_argument("--plot", help="draw the run (needs the plot extra)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.recording
        if path is None:
            path = Path(tmp) / "market.jsonl.gz"
            trio.run(record_a_market, path, clock=trio.testing.MockClock(autojump_threshold=0))
        result = trio.run(functools.partial(run_replay, path, quote, latency=args.latency),
                          clock=trio.testing.MockClock(autojump_threshold=0))
    print(result.summary())
    if args.out:
        print(f"out={result.write(args.out)}")
    if args.plot:
        print(f"plot={result.plot(args.plot)}")
    return result


if __name__ == "__main__":
    main()
