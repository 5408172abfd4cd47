"""Optional extras: without trustme (the ``tls`` extra) the simulator's TLS mode
stops at once with a message naming the extra; nothing else needs it.

trustme is installed here (the ``test`` extra includes ``tls``), so its absence
is made the documented way, ``sys.modules["trustme"] = None`` (the next import
raises). tests/packaging/test_wheel.py checks the same on a real install
without extras.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import trio

from okx_trio._cli import main
from okx_trio.testing import open_simulator

HINT = "pip install 'okx-trio[tls]'"


@pytest.fixture
def no_trustme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trustme", None)


@pytest.mark.usefixtures("no_trustme")
async def test_open_simulator_tls_names_the_extra() -> None:
    with trio.fail_after(5), pytest.raises(ImportError, match=r"tls extra") as info:
        async with open_simulator(tls=True, market_interval=None):
            pytest.fail("the simulator started without trustme")
    assert HINT in str(info.value)
    assert info.value.name == "trustme"


@pytest.mark.usefixtures("no_trustme")
async def test_plain_simulator_needs_no_trustme() -> None:
    with trio.fail_after(5):
        async with open_simulator(market_interval=None) as sim:
            assert sim.base_url.startswith("ws://")


@pytest.mark.usefixtures("no_trustme")
def test_cli_tls_names_the_extra_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulator", "--tls", "--port", "0"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("okx-trio simulator: ")
    assert HINT in captured.err


def test_plot_names_the_extra_without_matplotlib(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    # As if matplotlib were not installed: None in sys.modules makes its import fail.
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    from okx_trio.replay import ReplayResult

    result = ReplayResult(recording="r", records=0, span=0.0, seed=0, fills=[], book=[],
                          latencies=[], orders_sent=0)
    with pytest.raises(ImportError, match=r"pip install 'okx-trio\[plot\]'"):
        result.plot(tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
