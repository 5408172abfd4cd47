"""``okx_trio.replay.run_replay``: a bot on a recording, its fills byte for byte the same
run after run, the PnL as defined, latencies, files for a notebook, the plot, and
``okx-trio replay``."""

from __future__ import annotations

import functools
import os
import sys
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
import trio
import trio.testing

import okx_trio
from okx_trio._cli import main
from okx_trio._recording_io import RecordingWriter
from okx_trio.replay import ReplayResult, run_replay
from okx_trio.testing import open_simulator

BTC = {"channel": "books", "instId": "BTC-USDT"}
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
START = 1_800_000_000_000_000_000


def _write(path: Path) -> Path:
    """Asks at 100.1 then 100.3; a buyer takes our ask at 100.2 at 2 s; the mid ends at 101."""
    writer = RecordingWriter(path, source="ws://test",
                             channels=[BTC, {"channel": "trades", "instId": "BTC-USDT"}])
    writer.open(START)

    def book(t: float, action: str, bids: list[list[str]], asks: list[list[str]],
             seq: int, prev: int) -> None:
        writer.write_push(START + int(t * 1e9), BTC, [{
            "asks": asks, "bids": bids, "ts": str(START // 1_000_000 + int(t * 1000)),
            "checksum": 0, "prevSeqId": prev, "seqId": seq}], action)

    book(0, "snapshot", [["99.9", "1", "0", "1"]], [["100.1", "1", "0", "1"],
                                                    ["100.3", "1", "0", "1"]], 1, -1)
    writer.write_push(START + int(2e9), {"channel": "trades", "instId": "BTC-USDT"}, [{
        "instId": "BTC-USDT", "tradeId": "7", "px": "100.3", "sz": "5", "side": "buy",
        "ts": str(START // 1_000_000 + 2000)}])
    book(3, "update", [["99.9", "0", "0", "0"], ["100.9", "1", "0", "1"]],
         [["100.1", "0", "0", "0"], ["100.3", "0", "0", "0"], ["101.1", "1", "0", "1"]], 2, 1)
    writer.close(START + int(3e9))
    return path


async def buy_then_offer(api: okx_trio.WsApiClient) -> None:
    """Buys 0.5 at the ask (100.1), then offers 0.5 at 100.2, below the next level."""
    async with api.ws_client.order_book("BTC-USDT") as book:
        assert book.best_ask is not None
        await api.submit_new_order({"instIdCode": 100001, "tdMode": "cash", "side": "buy",
                                    "ordType": "limit", "px": "100.1", "sz": "0.5"})
        await api.submit_new_order({"instIdCode": 100001, "tdMode": "cash", "side": "sell",
                                    "ordType": "limit", "px": "100.2", "sz": "0.5"})
        await trio.sleep_forever()


async def test_fills_pnl_and_latency(tmp_path: Path,
                                     autojump_clock: trio.testing.MockClock) -> None:
    result = await run_replay(_write(tmp_path / "r.jsonl.gz"), buy_then_offer, latency=0.01)
    assert result.records == 3
    assert [(f.side, f.fill_px, f.fill_sz, f.exec_type) for f in result.fills] == [
        ("buy", Decimal("100.1"), Decimal("0.5"), "T"),
        ("sell", Decimal("100.2"), Decimal("0.5"), "M"),  # the trade through 100.2 at 2 s
    ]
    assert [f.ts for f in result.fills][1] == START // 1_000_000 + 2000
    (pnl,) = result.pnl()
    # Cash: -50.05 + 50.1; fees: 0.1 % of 0.5 BTC at 100.1 (in BTC), 0.08 % of 50.1 USDT.
    taker_fee = Decimal("0.5") * Decimal("0.001") * Decimal("100.1")
    maker_fee = Decimal("50.1") * Decimal("0.0008")
    assert pnl.cash == Decimal("0.05")
    assert pnl.position == 0  # bought and sold 0.5 (the fee in BTC is in fees)
    assert pnl.fees == -(taker_fee + maker_fee)
    assert pnl.mark == Decimal(101)
    assert pnl.pnl == pnl.cash + pnl.fees + pnl.position * Decimal(101)
    assert result.orders_sent == 2
    assert result.latencies == pytest.approx([0.02, 0.02])  # 10 ms each way
    assert [s.mid for s in result.book] == [Decimal("100.0"), Decimal("100.0"), Decimal(101)]
    assert result.equity()[-1][1] == pnl.pnl
    summary = result.summary()
    assert "fills      2 (1 buys, 1 sells; 1 maker, 1 taker)" in summary
    assert "PnL = cash from fills + position at the last recorded mid + fees" in summary
    assert "p50 20.00 ms" in summary


async def test_the_same_bot_gives_the_same_bytes(tmp_path: Path,
                                                 autojump_clock: trio.testing.MockClock) -> None:
    path = tmp_path / "m.jsonl.gz"
    async with (
        open_simulator(seed=4, market_interval=0.1) as sim,
        okx_trio.record(path, ["books:BTC-USDT", "trades:BTC-USDT"], base_url=sim.base_url,
                        transport=sim.connect_memory()),
    ):
        await trio.sleep(10)
    from examples_bot import quote  # examples/replay_bot.py's bot, on sys.path below

    runs = [await run_replay(path, quote, seed=2, latency=0.003) for _ in range(2)]
    assert len(runs[0].fills) > 5
    assert runs[0].to_jsonl() == runs[1].to_jsonl()
    # Run after run means process after process too (another hash seed included).
    script = (
        "import functools, sys, trio, trio.testing\n"
        f"sys.path.insert(0, {str(EXAMPLES)!r})\n"
        "from replay_bot import quote\n"
        "from okx_trio.replay import run_replay\n"
        f"result = trio.run(functools.partial(run_replay, {str(path)!r}, quote, seed=2,\n"
        "                                     latency=0.003),\n"
        "                   clock=trio.testing.MockClock(autojump_threshold=0))\n"
        "sys.stdout.buffer.write(result.to_jsonl())\n")
    other = await trio.run_process([sys.executable, "-c", script], capture_stdout=True,
                                   env={**os.environ, "PYTHONHASHSEED": "4242"})
    assert other.stdout == runs[0].to_jsonl()


@pytest.fixture(autouse=True)
def _examples_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "examples_bot.py").write_text(
        f"import sys\nsys.path.insert(0, {str(EXAMPLES)!r})\nfrom replay_bot import quote\n")
    monkeypatch.syspath_prepend(str(shim))


async def test_a_failing_bot_raises_its_own_error(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    async def broken(api: okx_trio.WsApiClient) -> None:
        raise KeyError("bot bug")

    with pytest.raises(KeyError, match="bot bug"):
        await run_replay(_write(tmp_path / "b.jsonl.gz"), broken)
    with pytest.raises(ValueError, match="latency"):
        await run_replay(tmp_path / "b.jsonl.gz", broken, latency=-1)


def test_files_for_a_notebook_and_the_plot(tmp_path: Path) -> None:
    result: ReplayResult = trio.run(
        functools.partial(run_replay, _write(tmp_path / "n.jsonl.gz"), buy_then_offer,
                          book_depth=2),
        clock=trio.testing.MockClock(autojump_threshold=0))
    rows = [orjson.loads(line) for line in result.write(tmp_path / "run.jsonl").read_bytes()
            .splitlines()]
    assert [r["type"] for r in rows] == ["fill", "fill", "book", "book", "book"]
    assert rows[0]["px"] == "100.1"
    assert rows[2]["asks"] == [["100.1", "1"], ["100.3", "1"]]
    image = result.plot(tmp_path / "run.png")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_okx_trio_replay_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bot = tmp_path / "mybot.py"
    bot.write_text("async def run(api):\n"
                   "    async with api.ws_client.order_book('BTC-USDT'):\n"
                   "        await api.submit_new_order({'instIdCode': 100001, 'tdMode': 'cash',"
                   " 'side': 'buy', 'ordType': 'market', 'sz': '0.5', 'tgtCcy': 'base_ccy'})\n")
    path = _write(tmp_path / "c.jsonl.gz")
    assert main(["replay", str(path), "--bot", f"{bot}:run", "--out",
                 str(tmp_path / "o.jsonl"), "--plot", str(tmp_path / "o.png")]) == 0
    out = capsys.readouterr().out
    assert "fills      1 (1 buys, 0 sells; 0 maker, 1 taker)" in out
    assert f"out={tmp_path / 'o.jsonl'}" in out
    assert (tmp_path / "o.png").exists()
    assert main(["replay", str(path), "--bot", "nosuchmodule_xyz:run"]) == 1
    assert "nosuchmodule_xyz" in capsys.readouterr().err
    assert main(["replay", str(path), "--bot", "nocolon"]) == 1
    assert "MODULE:FUNCTION" in capsys.readouterr().err
