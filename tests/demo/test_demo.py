"""``okx-trio demo``: a short run end to end, its output, and its command line.

The run happens in a worker thread (the demo calls ``trio.run`` itself, as
``okx-trio demo`` does) so the test can bound it with ``trio.fail_after``.
"""

from __future__ import annotations

import functools
import io
import re
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
import trio

from okx_trio import Credentials, _demo, open_ws_api_client
from okx_trio._demo import Console, Stats, main, render_summary
from okx_trio.testing import open_simulator

CREDS = Credentials(
    api_key="demo-test-key", secret_key="TOPSECRETDEMOSECRET0123456789", passphrase="Pass-Phrase-9"
)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def table(text: str) -> dict[str, str]:
    """The summary rows as ``label -> value``."""
    rows = {}
    for line in text.split("Summary:", 1)[1].splitlines()[2:]:
        match = re.match(r"^(\S.*?)\s{2,}(\S+(?: ms)?)(?:\s+\(.*\))?$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


async def test_short_demo_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_demo, "_credentials", lambda: CREDS)
    out = io.StringIO()
    written = tmp_path / "run.jsonl"
    run = functools.partial(main, ["--duration", "4", "--seed", "1", "--out", str(written)],
                            stream=out)
    with trio.fail_after(40):
        code = await trio.to_thread.run_sync(run, abandon_on_cancel=True)
    text = out.getvalue()
    assert code == 0, text
    rows = table(text)
    assert int(rows["orders placed"]) > 0
    assert int(rows["orders amended"]) > 0
    assert int(rows["orders cancelled"]) > 0
    assert int(rows["spread orders"]) == 2
    assert int(rows["fills"]) > 0
    assert int(rows["reconnects"]) >= 1
    assert int(rows["orders left open"]) == 0
    assert rows["round trip p50"].endswith(" ms")
    # Every note is measured: the PnL is split into the fills' fees and the rest.
    pnl = re.search(r"PnL \(simulated USDT\)\s+(\S+)\s+\(fees (\S+), trading ([^;]+);", text)
    assert pnl is not None, text
    total, fees, trading = (Decimal(g) for g in pnl.groups())
    assert fees < 0                                  # maker fees were charged
    assert abs(fees + trading - total) <= Decimal("0.01")
    assert "mostly" not in text
    # The fault halfway through is explained in words, and the unknown outcome resolved.
    assert "reconnect:" in text
    assert "reconnected:" in text
    assert "outcome unknown:" in text
    assert "resolved:" in text
    assert "batch place:" in text
    assert "batch cancel:" in text
    assert "mass_cancel_spread_orders" in text
    # Not a terminal: progress as plain lines, no carriage returns.
    assert "\r" not in text
    assert sum(line.startswith("[") for line in text.splitlines()) >= 2
    # Secrets never reach the output.
    assert CREDS.secret_key not in text
    assert CREDS.passphrase not in text
    # --out: every fill and the book's top after each change, for a notebook.
    assert text.splitlines()[-1] == f"out={written}"
    lines = [orjson.loads(line) for line in written.read_bytes().splitlines()]
    fills = [r for r in lines if r["type"] == "fill"]
    books = [r for r in lines if r["type"] == "book"]
    assert lines == fills + books
    assert fills
    assert all(f["instId"] == "BTC-USDT" for f in fills)
    # The file holds them all: its buys less its sells and base-currency fees are
    # the change of the BTC balance the summary shows (to its 6 decimals).
    base = sum((Decimal(f["sz"]) if f["side"] == "buy" else -Decimal(f["sz"])) for f in fills)
    base += sum(Decimal(f["fee"]) for f in fills if f["feeCcy"] == "BTC")
    assert base.quantize(Decimal("1e-6")) == Decimal(rows["BTC bought - sold"])
    assert len(books) > 10
    assert [b["ts"] for b in books] == sorted(b["ts"] for b in books)
    assert all(len(b["bids"]) == len(b["asks"]) == 1 and b["mid"] for b in books)


def test_progress_line_is_redrawn_on_a_terminal() -> None:
    out = Terminal()
    console = Console(out, live=out.isatty(), verbose=False)
    console.status("[  1.0s] placed 1")
    console.say("reconnect: the private connection dropped")
    console.status("[  2.0s] placed 2")
    console.end_status()
    text = out.getvalue()
    assert text.startswith("\r\x1b[K[  1.0s] placed 1")
    # A message clears the line, prints itself, then redraws the progress below it.
    assert "\r\x1b[Kreconnect: the private connection dropped\n[  1.0s] placed 1" in text
    assert text.endswith("\r\x1b[K[  2.0s] placed 2\n")


def test_verbose_details_only_when_asked() -> None:
    quiet, loud = io.StringIO(), io.StringIO()
    Console(quiet, live=False, verbose=False).detail("placed: buy")
    Console(loud, live=False, verbose=True).detail("placed: buy")
    assert quiet.getvalue() == ""
    assert "placed: buy" in loud.getvalue()


def test_summary_percentiles() -> None:
    stats = Stats(latencies=[i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert stats.latency_ms(50) == pytest.approx(50)
    assert stats.latency_ms(99) == pytest.approx(99)
    assert stats.latency_ms(100) == pytest.approx(100)
    summary = _demo.Summary(stats, 4.0, 7, pnl=Decimal("-1.5"), mark=None,
                            base_delta=Decimal("0.01"), open_left=0, fully_filled=0)
    rows = table(render_summary(summary))
    assert rows["round trip p99"] == "99.00 ms"
    assert rows["PnL (simulated USDT)"] == "-1.50"


def test_summary_notes_say_only_what_was_counted() -> None:
    stats = Stats(spread_amends=0, fees={"USDT": Decimal("-0.5"), "BTC": Decimal("-0.00001")})
    stats.refused("amend", "51503")
    stats.refused("amend", "51503")
    stats.refused("place", "51008")
    summary = _demo.Summary(stats, 4.0, 7, pnl=Decimal("-2.0"), mark=Decimal("60000.05"),
                            base_delta=Decimal("0.01"), open_left=0, fully_filled=0,
                            spread_states={"canceled": 2})
    text = render_summary(summary)
    assert table(text)["refused by the exchange"] == "3"
    assert "(amend 51503: 2, place 51008: 1)" in text
    assert "(0 amended; at the end: 2 canceled)" in text
    # -0.5 USDT and 0.00001 BTC at 60000.05: -1.10 fees, the rest is trading.
    assert "(fees -1.10, trading -0.90; BTC marked at mid 60000.05)" in text

    quiet = _demo.Summary(Stats(), 4.0, 7, pnl=Decimal(0), mark=None, base_delta=Decimal(0),
                          open_left=0, fully_filled=0)
    text = render_summary(quiet)
    line = next(x for x in text.splitlines() if x.startswith("refused by the exchange"))
    assert line.split() == ["refused", "by", "the", "exchange", "0"]   # no reason for nothing
    assert "no mid price" in text


@pytest.mark.parametrize(
    "argv", [["--duration", "0"], ["--duration", "x"], ["--seed", "a"], ["--", "--duration", "0"],
             ["--out", "/nonexistent-dir/run.jsonl"], ["--out", "/"]]
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "okx-trio demo" in capsys.readouterr().err


async def test_the_bot_counts_a_too_frequent_refusal_and_goes_on() -> None:
    """A place refused whole as too frequent (50011, ``OkxRateLimitError``, not an
    order error) is a refusal like any other: counted, the order marked
    rejected, the bot still running. The client's own pacing is off here so the
    exchange's limit is reached (60 places per 2 s per instrument)."""
    async with (
        open_simulator([CREDS], market_interval=None) as sim,
        open_ws_api_client(credentials=CREDS, base_url=sim.base_url, rate_limit=False,
                           log_lifecycle=False) as api,
        api.track_orders() as tracker,
    ):
        bot = _demo.Bot(api, tracker, Console(io.StringIO(), live=False, verbose=False), sim)
        px = Decimal(sim.book(_demo.INST_ID)[0][0][0]) - 500
        placed: list[_demo.BotOrder] = []

        async def place() -> None:
            placed.append(await bot.place("buy", px, "quote"))

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                for _ in range(80):
                    nursery.start_soon(place)
    refused = bot.stats.refusals["place 50011"]
    assert refused > 0
    assert bot.stats.placed + refused == 80
    assert sum(o.local == "rejected" for o in placed) == refused
