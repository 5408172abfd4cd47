"""A session with the unmodified ccxt (``ccxt.pro.okx``, asyncio) against the okx_trio simulator.

Run by test_third_party_clients.py in a subprocess. ccxt is pointed at the
simulator only through its URL table (``urls["api"]["rest"]`` and
``urls["api"]["ws"]``), with every capability left as shipped: ``load_markets``
fetches the currencies (signed ``GET /api/v5/asset/currencies``) and the
instruments of each type; orders go over the WebSocket trade API
(``create_order_ws``, which adds ``tgtCcy`` to a spot limit order), look-ups over
signed REST. The script prints one JSON object with what happened.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import ccxt.pro as ccxtpro

BASE = os.environ["SIM_BASE_URL"]
REST = os.environ["SIM_REST_URL"]

out: dict[str, Any] = {"steps": {}, "errors": []}


async def session() -> None:
    steps = out["steps"]
    exchange = ccxtpro.okx({
        "apiKey": os.environ["SIM_API_KEY"],
        "secret": os.environ["SIM_SECRET_KEY"],
        "password": os.environ["SIM_PASSPHRASE"],
    })
    exchange.urls["api"]["rest"] = REST
    exchange.urls["api"]["ws"] = BASE + "/ws/v5"
    try:
        steps["has_fetch_currencies"] = exchange.has["fetchCurrencies"]
        markets = await exchange.load_markets()
        steps["markets"] = sorted(markets)
        steps["currencies"] = {
            code: sorted(c["networks"]) for code, c in exchange.currencies.items()
            if c["info"]  # only those from the exchange (ccxt adds a few fiat codes)
        }
        ticker = await exchange.watch_ticker("BTC/USDT")
        steps["ticker"] = {"symbol": ticker["symbol"], "last": ticker["last"]}
        book = await exchange.watch_order_book("BTC/USDT")
        best_bid, best_ask = book["bids"][0][0], book["asks"][0][0]
        steps["book"] = best_bid < best_ask

        price = round(best_bid - 500, 1)
        order = await exchange.create_order_ws("BTC/USDT", "limit", "buy", 0.001, price)
        steps["create_order_ws"] = bool(order["id"])
        open_orders = await exchange.fetch_open_orders("BTC/USDT")
        steps["open_orders"] = [(o["id"] == order["id"], o["status"], o["price"])
                                for o in open_orders]
        await exchange.cancel_order_ws(order["id"], "BTC/USDT")
        fetched = await exchange.fetch_order(order["id"], "BTC/USDT")
        steps["fetch_order"] = {"status": fetched["status"], "type": fetched["type"],
                                "amount": fetched["amount"], "price": fetched["price"]}
        balance = await exchange.fetch_balance()
        steps["balance_usdt"] = balance["USDT"]["total"]
    finally:
        await exchange.close()


async def main() -> None:
    try:
        await asyncio.wait_for(session(), 25)
    except BaseException as exc:  # report, never hang
        out["errors"].append(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
