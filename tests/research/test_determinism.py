"""The same recording, seed and bot give the same fills, byte for byte, run after run."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import orjson
import trio
import trio.testing

import okx_trio
from okx_trio import Gap
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, open_simulator

ORDER = {"instIdCode": 100001, "tdMode": "cash", "ordType": "limit"}


async def quoting_bot(api: okx_trio.WsApiClient) -> None:
    """Quotes the best bid and ask on every book change, and every 0.5 s crosses the
    spread with a small IOC order (timers and pushes both drive it)."""

    async def cross() -> None:
        side = "buy"
        while True:
            await trio.sleep(0.5)
            px = "62000" if side == "buy" else "58000"
            await api.submit_new_order({**ORDER, "ordType": "ioc", "side": side, "px": px,
                                        "sz": "0.003"})
            side = "sell" if side == "buy" else "buy"

    async with trio.open_nursery() as nursery:
        nursery.start_soon(cross)
        quotes: dict[str, tuple[str, Decimal]] = {}
        async with api.ws_client.order_book("BTC-USDT") as book:
            async for update in book:
                if isinstance(update, Gap) or not update.best_bid or not update.best_ask:
                    continue
                for side, (px, _) in (("buy", update.best_bid), ("sell", update.best_ask)):
                    current = quotes.get(side)
                    if current is not None and current[1] == px:
                        continue
                    if current is not None:
                        try:
                            await api.cancel_order({"instIdCode": 100001, "ordId": current[0]})
                        except okx_trio.OkxOrderError:
                            pass  # filled meanwhile
                    ack = await api.submit_new_order({**ORDER, "side": side, "px": str(px),
                                                      "sz": "0.01"})
                    assert ack.ord_id is not None
                    quotes[side] = (ack.ord_id, px)


async def run_once(recording: Path, seed: int) -> bytes:
    async with open_simulator(accounts=[CREDS], replay=recording, seed=seed) as sim:
        assert sim.replay is not None
        async with (
            okx_trio.open_ws_api_client(credentials=CREDS, base_url=sim.base_url,
                                        transport=sim.connect_memory(), id_prefix="bot",
                                        random=random.Random(seed)) as api,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(quoting_bot, api)
            await sim.replay.wait_done()
            nursery.cancel_scope.cancel()
        fills = sim.engine.accounts[CREDS.api_key].fills
        return orjson.dumps([
            [f.ts, f.ord_id, f.cl_ord_id, f.trade_id, f.side, str(f.px), str(f.sz), str(f.fee),
             f.exec_type] for f in fills
        ] + [[o.ord_id, o.state, str(o.acc_fill_sz), o.u_time] for o in sim.orders])


async def test_the_same_bot_on_the_same_recording_fills_the_same(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = tmp_path / "market.jsonl.gz"
    async with (
        open_simulator(seed=11, market_interval=0.1) as sim,
        okx_trio.record(path, ["books:BTC-USDT", "trades:BTC-USDT"], base_url=sim.base_url,
                        transport=sim.connect_memory()),
    ):
        await trio.sleep(12)
    runs = [await run_once(path, seed=1) for _ in range(3)]
    fills = orjson.loads(runs[0])
    assert sum(1 for f in fills if len(f) == 9 and f[-1] == "M") > 5  # resting orders filled
    assert sum(1 for f in fills if len(f) == 9 and f[-1] == "T") > 5  # IOC orders took
    assert runs[1] == runs[0]
    assert runs[2] == runs[0]
