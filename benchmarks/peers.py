"""Other OKX clients, each driven through its own API against the same server.

* python-okx (``okx.websocket.WsPrivateAsync`` / ``WsPublicAsync``, asyncio): it
  has no awaitable order call: ``place_order`` only sends, and every received
  message goes to one callback as a ``str``. The glue here matches responses by
  ``id`` with asyncio futures and decodes with orjson (generous to the peer).
  Its connection factory passes an SSL context even for ``ws://`` URLs, which
  websockets refuses; the factory is shimmed to leave it out for ``ws://``.
* ccxt (``ccxt.pro.okx``, asyncio): offline, with a hand-made markets dict (no
  REST call), its rate limiter off (``enableRateLimit: False``);
  ``create_order_ws`` with ``op = "order"``, request ids from a counter (its own
  collide, see ``_ccxt_exchange``); ``watch_ticker`` for pushes.
  ``watch_*`` hands back the newest state, not every push, so the clock stops
  when the last push's state (its unique ``ts``) is visible.
* okx-api (Node, ``benchmarks/node/bench.mjs``): ``WebsocketAPIClient.submitNewOrder``
  and ``WebsocketClient`` ``update`` events.

Each function returns the same figure as its okx_trio counterpart (seconds per
round trip, or pushes per second); an ImportError means "not installed".
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson

from .floor import ORDER_ARGS
from .measure import Clock, Sample
from .server import FINAL_TS

NODE_DIR = Path(__file__).resolve().parent / "node"
RUN_TIMEOUT = 120.0
"""Longest one peer run may take (a hung client fails its row, not the run)."""
WARMUP = 50
CREDS = ("bench-key", "bench-secret", "bench-pass")


class NotInstalled(Exception):
    """The peer's package (or runtime) is not available."""


# ---------------------------------------------------------------- python-okx


def _python_okx_shim() -> None:
    from okx.websocket import WebSocketFactory as factory_module

    factory = factory_module.WebSocketFactory
    if getattr(factory, "_bench_shim", False):
        return
    original = factory.connect

    async def connect(self: Any) -> Any:
        if not self.url.startswith("ws://"):
            return await original(self)
        import websockets

        self.websocket = await websockets.connect(self.url)
        return self.websocket

    factory.connect = connect
    factory._bench_shim = True


def _import_python_okx() -> Any:
    try:
        from okx.websocket.WsPrivateAsync import WsPrivateAsync
        from okx.websocket.WsPublicAsync import WsPublicAsync
    except ImportError as exc:
        raise NotInstalled("python-okx") from exc
    _python_okx_shim()
    return WsPrivateAsync, WsPublicAsync


async def _python_okx_sequential(url: str, n: int, code: int) -> Sample:
    ws_private_cls, _ = _import_python_okx()
    ws = ws_private_cls(CREDS[0], CREDS[2], CREDS[1], url + "/ws/v5/private")
    loop = asyncio.get_running_loop()
    waiting: dict[str, asyncio.Future[Any]] = {}
    logged_in = loop.create_future()

    def callback(message: str) -> None:
        obj = orjson.loads(message)
        if obj.get("event") == "login" and not logged_in.done():
            logged_in.set_result(obj)
            return
        fut = waiting.pop(obj.get("id"), None)
        if fut is not None:
            fut.set_result(obj)

    ws.callback = callback
    consumer = await ws.start()
    try:
        await ws.login()
        await logged_in
        counter = 0

        async def one() -> None:
            nonlocal counter
            counter += 1
            req_id = f"po{counter}"
            fut = waiting[req_id] = loop.create_future()
            await ws.place_order([{**ORDER_ARGS, "instIdCode": code, "clOrdId": f"pc{counter}"}],
                                 id=req_id)
            obj = await fut
            if obj["code"] != "0":
                raise RuntimeError(f"order refused: {obj}")

        for _ in range(WARMUP):
            await one()
        clock = Clock()
        for _ in range(n):
            await one()
        return clock.per_op(n)
    finally:
        consumer.cancel()
        await ws.stop()


async def _python_okx_pushes(url: str, n: int) -> Sample:
    _, ws_public_cls = _import_python_okx()
    ws = ws_public_cls(url + "/ws/v5/public")
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Sample] = loop.create_future()
    clock = Clock()
    count = 0

    def callback(message: str) -> None:
        nonlocal count
        obj = orjson.loads(message)
        data = obj.get("data")
        if data is None:
            return
        _ = data[0]["last"]
        count += 1
        if count == 1:
            clock.restart()
        if count == n and not done.done():
            done.set_result(clock.rate(n - 1))

    consumer = await ws.start()
    try:
        await ws.subscribe([{"channel": "tickers", "instId": "BTC-USDT"}], callback)
        return await done
    finally:
        consumer.cancel()
        await ws.stop()


def python_okx_sequential(url: str, n: int, code: int) -> Sample:
    """python-okx: ``place_order`` + the matching callback, one after another."""
    return asyncio.run(asyncio.wait_for(_python_okx_sequential(url, n, code), RUN_TIMEOUT))


def python_okx_pushes(url: str, n: int) -> Sample:
    """python-okx: ``WsPublicAsync.subscribe`` callback reading one field per push."""
    return asyncio.run(asyncio.wait_for(_python_okx_pushes(url, n), RUN_TIMEOUT))


# ---------------------------------------------------------------------- ccxt


IOC = {"timeInForce": "IOC"}
"""ccxt's spelling of ``ordType: "ioc"``, the order every contender sends."""


def _ccxt_market() -> dict[str, Any]:
    return {
        "id": "BTC-USDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT",
        "baseId": "BTC", "quoteId": "USDT", "settle": None, "settleId": None,
        "type": "spot", "spot": True, "margin": True, "swap": False, "future": False,
        "option": False, "active": True, "contract": False, "linear": None, "inverse": None,
        "contractSize": None, "expiry": None, "expiryDatetime": None, "strike": None,
        "optionType": None, "created": None, "taker": 0.001, "maker": 0.0008,
        "precision": {"amount": 0.00000001, "price": 0.1},
        "limits": {"amount": {"min": 0.00001, "max": None}, "price": {"min": None, "max": None},
                   "cost": {"min": None, "max": None}, "leverage": {"min": 1, "max": 10}},
        "info": {"instId": "BTC-USDT", "instType": "SPOT", "instIdCode": 100001},
        "instIdCode": 100001,
    }


def _ccxt_exchange(url: str, code: int) -> Any:
    try:
        import ccxt.pro as ccxtpro
    except ImportError as exc:
        raise NotInstalled("ccxt") from exc
    exchange = ccxtpro.okx({
        "apiKey": CREDS[0], "secret": CREDS[1], "password": CREDS[2],
        "enableRateLimit": False,
    })
    exchange.urls["api"]["ws"] = url + "/ws/v5"
    market = _ccxt_market()
    market["info"]["instIdCode"] = code
    market["instIdCode"] = code
    exchange.set_markets([market])
    exchange.options["createOrderWs"] = {"op": "order"}
    # ccxt's request id is the time in ms plus 4 random digits, and every id stays
    # in client.subscriptions: at several orders per ms a repeated id is never
    # sent and its future never resolves (a hung run in about one of three runs of
    # 1,050 orders). Unique ids leave the rest of its path as it is.
    ids = itertools.count(1)
    exchange.request_id = lambda: f"b{next(ids)}"
    return exchange


async def _ccxt_sequential(url: str, n: int, code: int) -> Sample:
    exchange = _ccxt_exchange(url, code)
    try:
        for _ in range(WARMUP):
            await exchange.create_order_ws("BTC/USDT", "limit", "buy", 0.0001, 30000, IOC)
        clock = Clock()
        for _ in range(n):
            order = await exchange.create_order_ws("BTC/USDT", "limit", "buy", 0.0001, 30000, IOC)
            if not order.get("id"):
                raise RuntimeError(f"order refused: {order}")
        return clock.per_op(n)
    finally:
        await exchange.close()


async def _ccxt_pushes(url: str, n: int) -> Sample:
    exchange = _ccxt_exchange(url, 100001)
    final = int(FINAL_TS)
    try:
        ticker = await exchange.watch_ticker("BTC/USDT")
        clock = Clock()
        wakeups = 0
        while ticker.get("timestamp") != final:
            ticker = await exchange.watch_ticker("BTC/USDT")
            _ = ticker["last"]
            wakeups += 1
        return clock.rate(n - 1, wakeups=wakeups)
    finally:
        await exchange.close()


def ccxt_sequential(url: str, n: int, code: int) -> Sample:
    """ccxt pro: ``create_order_ws`` awaited one after another."""
    return asyncio.run(asyncio.wait_for(_ccxt_sequential(url, n, code), RUN_TIMEOUT))


def ccxt_pushes(url: str, n: int) -> Sample:
    """ccxt pro: ``watch_ticker`` until the last push's state is visible."""
    return asyncio.run(asyncio.wait_for(_ccxt_pushes(url, n), RUN_TIMEOUT))


# ------------------------------------------------------------------- okx-api


def node_available() -> str | None:
    """Why okx-api cannot run here, or ``None`` when it can."""
    if shutil.which("node") is None:
        return "node not found"
    if not (NODE_DIR / "node_modules" / "okx-api").is_dir():
        return "okx-api not installed (make bench runs npm ci in benchmarks/node)"
    return None


def node_run(mode: str, url: str, n: int, code: int) -> Sample:
    """Run ``bench.mjs`` once (``rtt`` or ``push``)."""
    problem = node_available()
    if problem is not None:
        raise NotInstalled(problem)
    out = subprocess.run(
        ["node", str(NODE_DIR / "bench.mjs"), mode, url, str(n), str(code), *CREDS],
        cwd=NODE_DIR, capture_output=True, text=True, timeout=RUN_TIMEOUT,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"okx-api run failed ({out.returncode}): {out.stderr[-500:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return Sample(float(result["value"]), float(result["cpu"]))
