"""Every script in examples/ runs against an embedded simulator (127.0.0.1 only).

The examples are imported from their directory and their ``main(argv)`` is
awaited in-process (each starts its own simulator when no ``--base-url`` is
given); one is also run as a script in a subprocess, and one against a
simulator the test starts, through ``--base-url``. ``okx_demo_trading.py``
talks to real OKX, so it is only imported and checked to refuse to run
without its environment variables.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
import trio
import trio.testing

import okx_trio
from okx_trio import PlaceOrder
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, Simulator, open_simulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


Loader = Callable[[str], ModuleType]
Capture = pytest.CaptureFixture[str]


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> Loader:
    monkeypatch.syspath_prepend(str(EXAMPLES))

    def loader(name: str) -> ModuleType:
        return importlib.import_module(name)

    return loader


def test_every_example_is_tested() -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    assert scripts == {
        "place_amend_cancel", "batch_orders", "spread_orders", "market_data",
        "private_stream", "resolve_unknown", "okx_demo_trading", "bot_startup", "replay_bot",
    }


async def test_place_amend_cancel(load: Loader, capsys: Capture) -> None:
    with trio.fail_after(20):
        await load("place_amend_cancel").main([])
    out = capsys.readouterr().out
    assert "placed: ordId" in out
    assert "amended: ordId" in out
    assert "cancelled: ordId" in out
    assert "second cancel refused as expected: sCode 51400" in out


async def test_place_handles_a_request_level_rate_limit(load: Loader, capsys: Capture) -> None:
    # 50 orders from each of two clients of one account within 2 s: the
    # exchange's limit (60 per 2 s per instrument) answers part of them with a
    # request-level 50011, which place() must handle as the errors table says.
    example = load("place_amend_cancel")
    results: list[object] = []
    with trio.fail_after(20):
        async with (
            open_simulator(accounts=[CREDS]) as sim,
            okx_trio.open_ws_api_client(credentials=CREDS, base_url=sim.base_url) as one,
            okx_trio.open_ws_api_client(credentials=CREDS, base_url=sim.base_url) as two,
        ):
            market = await example._support.quote(one, "BTC-USDT")
            await two.load_instruments("SPOT")
            order = PlaceOrder(inst_id="BTC-USDT", td_mode="cash", side="buy",
                               ord_type="limit", sz="0.001", px=market.below_bid("0.05"))

            async def place(api: okx_trio.WsApiClient) -> None:
                results.append(await example.place(api, order))   # nothing escapes

            async with trio.open_nursery() as nursery:
                for _ in range(50):
                    nursery.start_soon(place, one)
                    nursery.start_soon(place, two)
    out = capsys.readouterr().out
    limited = out.count("rate limited")
    placed = sum(ack is not None for ack in results)
    assert len(results) == 100
    assert limited > 0, out                       # the exchange did answer 50011
    assert placed + limited == 100, out           # every other order was placed


async def test_batch_with_partial_failure(load: Loader, capsys: Capture) -> None:
    with trio.fail_after(20):
        await load("batch_orders").main([])
    out = capsys.readouterr().out
    assert "batch answered with code 2: 2 placed, 1 refused" in out
    assert "sCode 51006" in out
    assert "batch cancel: 2 of 2 cancelled" in out


async def test_batch_against_a_given_base_url(load: Loader, capsys: Capture) -> None:
    # --base-url without keys uses the account `okx-trio simulator` serves by default.
    with trio.fail_after(20):
        async with open_simulator() as sim:
            await load("batch_orders").main(["--base-url", sim.base_url])
            assert len(sim.orders) == 2
            assert not sim.orders.open()
    assert "batch cancel: 2 of 2 cancelled" in capsys.readouterr().out


async def test_spread_orders(load: Loader, capsys: Capture) -> None:
    with trio.fail_after(20):
        await load("spread_orders").main([])
    out = capsys.readouterr().out
    assert "placed buy" in out
    assert "amended buy" in out
    assert "amending the cancelled order is refused: sCode 51509" in out
    assert "sprd-mass-cancel: result True" in out
    assert out.count("is canceled") == 2  # the cancelled sell, then the mass-cancelled buy


async def test_market_data(load: Loader, capsys: Capture) -> None:
    with trio.fail_after(20):
        await load("market_data").main(["--seconds", "1.5"])
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("book:") and "seqId" in line for line in lines)
    assert any(line.startswith("ticker: last") for line in lines)


async def test_private_stream_survives_a_reconnect(load: Loader, capsys: Capture) -> None:
    with trio.fail_after(30):
        await load("private_stream").main([])
    out = capsys.readouterr().out
    assert "connection lost while placing" in out
    assert "gap (reconnect): rebuilt the table from the exchange" in out
    assert "open orders: 3" in out
    assert "every order cancelled" in out


async def test_resolve_unknown(load: Loader, capsys: Capture) -> None:
    with trio.fail_after(30):
        await load("resolve_unknown").main([])
    out = capsys.readouterr().out
    assert "OkxConnectionLost" in out
    assert "resolved: acted" in out
    assert "OkxRequestTimeout" in out
    assert "resolved: not_found" in out
    assert "orders on the exchange: 2 (each placed exactly once)" in out


async def test_bot_startup_reads_over_rest_then_trades_over_websocket(
    load: Loader, capsys: Capture
) -> None:
    with trio.fail_after(30):
        await load("bot_startup").main([])
    out = capsys.readouterr().out
    assert "balance: USDT available" in out
    assert "open orders from before: 1" in out
    assert "position: BTC-USDT-SWAP 1 @" in out
    assert "warm-up: " in out
    assert "candles of 1m (wanted 20), moving average" in out
    assert "cancelled 1 leftover order(s) over WebSocket" in out
    assert "(live)" in out
    assert "bid canceled" in out
    assert "in the order history: True" in out
    assert "recent fills: 4" in out


async def test_okx_demo_trading_refuses_without_credentials(
    load: Loader, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OKX_API_KEY", "only-the-key")
    module = load("okx_demo_trading")
    with trio.fail_after(5):
        assert await module.main([]) == 2
    err = capsys.readouterr().err
    assert "OKX_SECRET_KEY, OKX_PASSPHRASE" in err
    assert "OKX_API_KEY," not in err


def test_an_example_runs_as_a_script() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "place_amend_cancel.py")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "second cancel refused as expected" in result.stdout


# -- replay_bot.py, tested with okx_trio's pytest plugin (okx_simulator, okx_api) ----------


@pytest.fixture
async def okx_recording(tmp_path: Path, load: Loader,
                        autojump_clock: trio.testing.MockClock) -> Path:
    """The plugin's okx_simulator replays this: 20 s of the simulator's own market."""
    path = tmp_path / "market.jsonl.gz"
    await load("replay_bot").record_a_market(path, 20)
    return path


async def test_replay_bot_quotes_the_recorded_book_within_its_limit(
    load: Loader, okx_simulator: Simulator, okx_api: okx_trio.WsApiClient,
    autojump_clock: trio.testing.MockClock,
) -> None:
    bot = load("replay_bot")
    replay = okx_simulator.replay
    assert replay is not None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bot.quote, okx_api)
        await replay.wait_done()  # 20 s of market, in virtual time, in lockstep with the bot
        bids, asks = replay.top("BTC-USDT")
        quotes = {o.side: o.px for o in okx_simulator.orders.open()}
        nursery.cancel_scope.cancel()
    # Its live quotes sit on the recorded best bid and ask...
    assert quotes
    assert quotes.get("buy", bids[0][0]) == bids[0][0]
    assert quotes.get("sell", asks[0][0]) == asks[0][0]
    # ...it traded as a maker only (post-only), and never held more than its limit.
    fills = okx_simulator.engine.accounts[CREDS.api_key].fills
    assert len(fills) > 4
    assert {f.exec_type for f in fills} == {"M"}
    position = Decimal(0)
    for fill in fills:
        position += fill.sz if fill.side == "buy" else -fill.sz
        assert abs(position) <= Decimal("0.03")


def test_replay_bot_runs_the_whole_loop(tmp_path: Path, load: Loader,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "market.jsonl.gz"
    bot = load("replay_bot")
    trio.run(bot.record_a_market, path, 15, clock=trio.testing.MockClock(autojump_threshold=0))
    result = bot.main(["--recording", str(path), "--out", str(tmp_path / "run.jsonl")])
    out = capsys.readouterr().out
    assert out.startswith(f"replay     {path}: ")
    assert "ack rtt    p50 10.00 ms" in out  # 5 ms each way
    assert result.fills
    assert (tmp_path / "run.jsonl").read_bytes() == result.to_jsonl()
