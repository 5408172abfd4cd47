"""Keeps ``python -m benchmarks`` from rotting: its smallest mode runs end to end.

Nothing here looks at a timing: the benchmarks measure speed, tests never
assert it. The run uses only 127.0.0.1 (the benchmark server is a local
subprocess).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_floor_only_quick_run_prints_the_table() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "floor", "--reps", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "rate limiting is OFF" in text
    assert "server capacity:" in text
    rows = [line for line in text.splitlines() if line.startswith(("Sequential", "Push"))]
    # The floor rows of both benchmarks, each with a measured figure.
    assert any("floor" in r and "µs" in r for r in rows), text
    assert any("floor" in r and "/s" in r for r in rows), text


def test_push_feed_serves_every_push_to_each_client() -> None:
    # The in-memory feed behind `--profile --only push`: the floor, the design
    # floor and okx_trio each get every push the minimal server streams.
    code = (
        "import trio\n"
        "from benchmarks import pushfeed, server\n"
        "for channel, field in (('tickers', 'last'), ('books', 'ts')):\n"
        "    server.STATS.push_n = 300\n"
        "    for s in (trio.run(pushfeed.floor_pushes, 300, channel, field),\n"
        "              trio.run(pushfeed.design_floor_pushes, 300, channel, field, 16),\n"
        "              trio.run(pushfeed.okx_pushes, 300, channel, field)):\n"
        "        assert s.value > 0 and s.extra.get('dropped', 0) == 0, s\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
