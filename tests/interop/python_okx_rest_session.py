"""python-okx's own REST client, unmodified, against the okx_trio simulator over HTTP.

Run by test_third_party_clients.py in a subprocess. python-okx's REST classes
are blocking httpx clients (each one keeps its own keep-alive connection); they
are pointed at the simulator only through their ``domain`` argument. The
session reads what a bot reads at start-up (balance, positions, open orders,
candles), trades through the REST endpoints with python-okx's request style
(every optional field sent as ``""``, ``attachAlgoOrds: null``, the
``x-simulated-trading`` header as ``0`` or ``1``), reads the history, and runs
reads from several threads at once (several connections). It prints one JSON
object with what happened; the test asserts on it.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from okx import Account, MarketData, PublicData, SpreadTrading, Trade

REST = os.environ["SIM_REST_URL"]
KEY = os.environ["SIM_API_KEY"]
SECRET = os.environ["SIM_SECRET_KEY"]
PASSPHRASE = os.environ["SIM_PASSPHRASE"]
SWAP = "BTC-USDT-SWAP"

out: dict[str, Any] = {"steps": {}, "errors": []}
steps = out["steps"]


def ok(resp: dict[str, Any]) -> list[Any]:
    if resp.get("code") != "0":
        raise RuntimeError(f"refused: {resp}")
    data: list[Any] = resp["data"]
    return data


def session() -> None:
    # flag "1" (demo, python-okx's default) on some clients, "0" (live) on others:
    # the simulator is one environment and takes both headers.
    account = Account.AccountAPI(KEY, SECRET, PASSPHRASE, flag="1", domain=REST)
    trade = Trade.TradeAPI(KEY, SECRET, PASSPHRASE, flag="0", domain=REST)
    market = MarketData.MarketAPI(flag="1", domain=REST)
    public = PublicData.PublicAPI(flag="0", domain=REST)
    spread = SpreadTrading.SpreadTradingAPI(KEY, SECRET, PASSPHRASE, flag="0", domain=REST)

    # What a bot reads first.
    (bal,) = ok(account.get_account_balance())
    steps["balance_ccys"] = sorted(d["ccy"] for d in bal["details"])
    (two,) = ok(account.get_account_balance(ccy="BTC,USDT"))  # a raw comma in the query
    steps["balance_two"] = [d["ccy"] for d in two["details"]]
    steps["positions_before"] = ok(account.get_positions())
    steps["pending_before"] = ok(trade.get_order_list(instType="SPOT"))

    # Trading through REST, python-okx's way (empty strings for every unset field).
    bought = ok(trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy",
                                  ordType="market", sz="0.001", tgtCcy="base_ccy"))
    steps["market_buy"] = bought[0]["sCode"]
    (book,) = ok(market.get_orderbook(instId="BTC-USDT", sz="1"))
    px = f"{int(float(book['bids'][0][0]) * 0.9 * 10) / 10:.1f}"
    placed = ok(trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy",
                                  ordType="limit", sz="0.001", px=px, clOrdId="pyrest1"))
    ord_id = placed[0]["ordId"]
    steps["limit_place"] = placed[0]["sCode"]
    steps["get_order"] = ok(trade.get_order(instId="BTC-USDT", ordId=ord_id))[0]["state"]
    steps["pending"] = [o["ordId"] == ord_id for o in ok(trade.get_order_list(instType="SPOT"))]
    amended = ok(trade.amend_order(instId="BTC-USDT", ordId=ord_id, newSz="0.002"))
    steps["amend"] = amended[0]["sCode"]
    steps["amended_sz"] = ok(trade.get_order(instId="BTC-USDT", clOrdId="pyrest1"))[0]["sz"]
    steps["cancel"] = ok(trade.cancel_order(instId="BTC-USDT", clOrdId="pyrest1"))[0]["sCode"]
    again = trade.cancel_order(instId="BTC-USDT", ordId=ord_id)
    steps["cancel_again"] = [again["code"], again["data"][0]["sCode"]]
    batch = ok(trade.place_multiple_orders([
        {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
         "sz": "0.001", "px": px, "clOrdId": f"pybatch{i}"} for i in range(2)]))
    steps["batch_place"] = [b["sCode"] for b in batch]
    steps["batch_cancel"] = [c["sCode"] for c in ok(trade.cancel_multiple_orders(
        [{"instId": "BTC-USDT", "ordId": b["ordId"]} for b in batch]))]

    # A swap position, opened and closed: positions, then their history.
    ok(trade.place_order(instId=SWAP, tdMode="cross", side="buy", ordType="market", sz="2"))
    (pos,) = ok(account.get_positions(instType="SWAP"))
    steps["position"] = [pos["instId"], pos["pos"]]
    ok(trade.place_order(instId=SWAP, tdMode="cross", side="sell", ordType="market", sz="2"))
    steps["positions_after_close"] = ok(account.get_positions())
    steps["positions_history"] = [h["type"] for h in ok(account.get_positions_history())]

    # Market data: candles built from the trades above, tickers, trades.
    candles = ok(market.get_candlesticks(instId="BTC-USDT", bar="1m", limit="5"))
    steps["candles"] = [len(row) for row in candles]
    steps["history_candles"] = len(ok(market.get_history_candlesticks(instId="BTC-USDT")))
    steps["tickers"] = sorted(t["instId"] for t in ok(market.get_tickers(instType="SPOT")))
    steps["trades"] = len(ok(market.get_trades(instId="BTC-USDT", limit="3")))
    steps["funding"] = ok(public.get_funding_rate(instId=SWAP))[0]["instId"]
    steps["mark"] = ok(public.get_mark_price(instType="SWAP"))[0]["instId"]

    # Account settings and history.
    steps["config_pos_mode"] = ok(account.get_account_config())[0]["posMode"]
    steps["set_leverage"] = ok(account.set_leverage(lever="5", mgnMode="cross",
                                                    instId=SWAP))[0]["lever"]
    steps["leverage"] = ok(account.get_leverage(mgnMode="cross", instId=SWAP))[0]["lever"]
    steps["max_size"] = bool(ok(account.get_max_order_size(instId=SWAP, tdMode="cross")))
    steps["bills"] = len(ok(account.get_account_bills()))
    steps["fills"] = len(ok(trade.get_fills()))
    steps["fills_history"] = len(ok(trade.get_fills_history(instType="SPOT")))
    steps["orders_history"] = len(ok(trade.get_orders_history(instType="SPOT")))
    steps["spreads"] = [s["sprdId"] for s in ok(spread.get_spreads())]

    # Several connections at once: each python-okx object keeps its own.
    def read(i: int) -> str:
        acct = Account.AccountAPI(KEY, SECRET, PASSPHRASE, flag="1", domain=REST)
        (b,) = ok(acct.get_account_balance(ccy="USDT"))
        return str(b["details"][0]["ccy"]) + str(i)

    with ThreadPoolExecutor(4) as pool:
        steps["concurrent"] = sorted(pool.map(read, range(4)))

    # A wrong secret: refused with OKX's code (python-okx hands back the body).
    wrong = Account.AccountAPI(KEY, "WRONG-SECRET", PASSPHRASE, flag="1", domain=REST)
    steps["wrong_key"] = wrong.get_account_balance().get("code")


def main() -> None:
    try:
        session()
    except BaseException as exc:  # report, never hang
        out["errors"].append(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
