"""The simulator judged by real third-party OKX clients, used unchanged.

Each test starts ``python -m okx_trio simulator --port 0`` (the CLI users run)
and drives it with a client session script:

* okx-api 3.2.3 (Node, pinned in package.json / package-lock.json, installed by
  ``make`` with ``npm ci``): REST, a ticker subscription, login, the 11
  WebsocketAPIClient methods, and the 51400 of a second cancel
  (``okx_api_session.js``);
* python-okx over ``--tls`` with ``SSL_CERT_FILE``: REST, subscriptions, login
  and its WebSocket order methods, spread ops on the business path
  (``python_okx_session.py``);
* python-okx's REST client over plain HTTP: balance, positions, open orders and
  candles as a bot reads them at start-up, orders placed, amended and cancelled
  through REST in its request style, the history endpoints, several connections
  at once, and a wrong key refused (``python_okx_rest_session.py``);
* ccxt (``ccxt.pro.okx``, from the bench extra) with only its URLs changed:
  ``load_markets`` with the currency list, ticker and book streams, a limit
  order over the WebSocket trade API (ccxt adds ``tgtCcy``), open orders, cancel,
  order and balance look-ups (``ccxt_session.py``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node")


@asynccontextmanager
async def simulator_cli(*args: str) -> AsyncIterator[dict[str, str]]:
    """Run the simulator CLI on a free port; yield what it printed (``key=value`` lines)."""
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "okx_trio", "simulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        buf = b""
        with trio.fail_after(20):
            while b"ready\n" not in buf:
                chunk = await proc.stdout.receive_some(4096)
                assert chunk, f"simulator exited early: {buf!r}"
                buf += chunk
        info = {}
        for line in buf.decode().splitlines():
            key, sep, value = line.partition("=")
            if sep and " " not in key:
                info[key] = value
        yield info
        proc.send_signal(signal.SIGTERM)  # a clean stop; Ctrl-C (SIGINT) exits 130
        with trio.fail_after(10):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
        with trio.CancelScope(shield=True):
            await proc.wait()
            await proc.stdout.aclose()


async def run_session(cmd: list[str], info: dict[str, str], **env: str) -> dict[str, Any]:
    environ = dict(
        os.environ,
        SIM_BASE_URL=info["base_url"],
        SIM_REST_URL=info["rest_url"],
        SIM_API_KEY=info["api_key"],
        SIM_SECRET_KEY=info["secret_key"],
        SIM_PASSPHRASE=info["passphrase"],
        **env,
    )
    with trio.fail_after(40):
        result = await trio.run_process(
            cmd, cwd=HERE, env=environ, capture_stdout=True, capture_stderr=True, check=False
        )
    lines = result.stdout.decode().strip().splitlines()
    assert lines, f"no output; stderr: {result.stderr.decode()[-2000:]}"
    report: dict[str, Any] = json.loads(lines[-1])
    assert report["errors"] == [], (report, result.stderr.decode()[-2000:])
    return report


def _ok(item: dict[str, Any]) -> bool:
    return item["code"] == "0" and item["sCode"] == "0" and bool(item["ordId"])


@pytest.mark.skipif(NODE is None, reason="node is not installed: okx-api interop needs Node.js")
async def test_okx_api_full_session() -> None:
    if not (HERE / "node_modules" / "okx-api").is_dir():
        pytest.skip("okx-api is not installed: run `npm ci` in tests/interop (make does it)")
    assert NODE is not None
    # mass-cancel needs Portfolio Margin mode and the MMP privilege, as on OKX.
    async with simulator_cli("--portfolio-margin", "--mmp") as info:
        report = await run_session([NODE, "okx_api_session.js"], info)
    steps = report["steps"]
    assert steps["rest_time"] is True
    assert isinstance(steps["rest_inst_id_code"], int)
    assert steps["ticker"]["instId"] == "BTC-USDT"
    assert steps["login"] is True
    for method in ("submitNewOrder", "amendOrder", "cancelOrder", "submitSpreadOrder",
                   "amendSpreadOrder", "cancelSpreadOrder"):
        assert _ok(steps[method]), (method, steps[method])
    for method in ("submitMultipleOrders", "amendMultipleOrders", "cancelMultipleOrders"):
        assert steps[method] == ["0", "0"], (method, steps[method])
    assert steps["massCancelOrders"] == {"code": "0", "result": True}
    assert steps["massCancelSpreadOrders"] == {"code": "0", "result": True}
    again = steps["cancelOrderAgain"]
    assert (again["code"], again["sCode"]) == ("1", "51400")
    assert steps["orders_push"]["state"] == "canceled"
    assert steps["orders_push"]["uid"]
    assert steps["rest_order_state"] == "canceled"
    assert steps["rest_pending"] == 0


@pytest.mark.skipif(
    importlib.util.find_spec("okx") is None, reason="python-okx is not installed (test extra)"
)
async def test_python_okx_full_session_over_tls() -> None:
    async with simulator_cli("--tls", "--portfolio-margin", "--mmp") as info:
        assert info["base_url"].startswith("wss://")
        report = await run_session(
            [sys.executable, "python_okx_session.py"], info, SSL_CERT_FILE=info["ca_file"]
        )
    steps = report["steps"]
    assert steps["rest_time"] is True
    assert steps["rest_instruments"] == ["BTC-USDT", "ETH-USDT"]
    assert steps["ticker"] == "BTC-USDT"
    assert steps["login"] == "0"
    assert steps["subscribe"] is True
    for method in ("place_order", "amend_order", "cancel_order", "sprd_order",
                   "sprd_cancel_order"):
        assert _ok(steps[method]), (method, steps[method])
    for method in ("batch_orders", "batch_amend_orders", "batch_cancel_orders"):
        assert steps[method] == ["0", "0"], (method, steps[method])
    assert (steps["cancel_order_again"]["code"], steps["cancel_order_again"]["sCode"]) == (
        "1", "51400"
    )
    assert steps["mass_cancel"] == {"code": "0", "result": True}
    assert steps["orders_push"] == "canceled"
    assert steps["business_login"] == "0"
    assert steps["rest_sprd_pending"] is True
    assert steps["rest_get_order"] == "canceled"
    assert steps["rest_pending"] == 0


@pytest.mark.skipif(
    importlib.util.find_spec("okx") is None, reason="python-okx is not installed (test extra)"
)
async def test_python_okx_rest_client_reads_and_trades() -> None:
    async with simulator_cli() as info:
        report = await run_session([sys.executable, "python_okx_rest_session.py"], info)
    steps = report["steps"]
    # What a bot reads at start-up: balance, positions, open orders, candles.
    assert steps["balance_ccys"] == ["BTC", "ETH", "USDT"]
    assert steps["balance_two"] == ["BTC", "USDT"]
    assert steps["positions_before"] == []
    assert steps["pending_before"] == []
    assert steps["candles"]
    assert all(n == 9 for n in steps["candles"])
    assert steps["history_candles"] >= 1
    # Trading through REST in python-okx's request style.
    assert (steps["market_buy"], steps["limit_place"], steps["amend"]) == ("0", "0", "0")
    assert steps["get_order"] == "live"
    assert steps["pending"] == [True]
    assert steps["amended_sz"] == "0.002"
    assert steps["cancel"] == "0"
    assert steps["cancel_again"] == ["1", "51400"]
    assert steps["batch_place"] == ["0", "0"]
    assert steps["batch_cancel"] == ["0", "0"]
    assert steps["position"] == ["BTC-USDT-SWAP", "2"]
    assert steps["positions_after_close"] == []
    assert steps["positions_history"] == ["2"]
    assert steps["tickers"] == ["BTC-USDT", "ETH-USDT"]
    assert 1 <= steps["trades"] <= 3
    assert steps["funding"] == steps["mark"] == "BTC-USDT-SWAP"
    assert steps["config_pos_mode"] == "net_mode"
    assert steps["set_leverage"] == steps["leverage"] == "5"
    assert steps["max_size"] is True
    assert steps["bills"] >= 4
    assert steps["fills"] >= 3
    assert steps["fills_history"] >= 1
    assert steps["orders_history"] >= 2
    assert steps["spreads"] == ["BTC-USDT_BTC-USDT-SWAP"]
    assert steps["concurrent"] == ["USDT0", "USDT1", "USDT2", "USDT3"]
    assert steps["wrong_key"] == "50113"


@pytest.mark.skipif(
    importlib.util.find_spec("ccxt") is None,
    reason="ccxt is not installed (it is in the test extra: make test installs it)",
)
async def test_ccxt_pro_session() -> None:
    async with simulator_cli() as info:
        report = await run_session([sys.executable, "ccxt_session.py"], info)
    steps = report["steps"]
    # The currency look-up stays on: ccxt calls the signed GET /api/v5/asset/currencies.
    assert steps["has_fetch_currencies"] is True
    assert {"BTC", "ETH", "USDT"} <= set(steps["currencies"])
    assert steps["currencies"]["USDT"] == ["ERC20"]
    assert {"BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"} <= set(steps["markets"])
    assert any(m.startswith("BTC/USD:BTC-") for m in steps["markets"])  # options by uly
    assert steps["ticker"]["symbol"] == "BTC/USDT"
    assert steps["ticker"]["last"] > 0
    assert steps["book"] is True
    assert steps["create_order_ws"] is True
    assert [(same, status) for same, status, _ in steps["open_orders"]] == [(True, "open")]
    fetched = steps["fetch_order"]
    assert (fetched["status"], fetched["type"], fetched["amount"]) == ("canceled", "limit", 0.001)
    assert fetched["price"] == steps["open_orders"][0][2]
    assert steps["balance_usdt"] > 0
