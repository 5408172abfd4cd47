"""A session with the unmodified python-okx SDK against the okx_trio simulator over TLS.

Run by test_third_party_clients.py in a subprocess (python-okx is asyncio code
and reads ``SSL_CERT_FILE`` like any OpenSSL client). The simulator's URLs and
credentials come from the environment; the script prints one JSON object with
what happened, and the test asserts on it.

python-okx is pointed at the simulator only through its own arguments: the
``url`` of its WebSocket clients and the ``domain`` of its REST clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from okx import MarketData, PublicData, SpreadTrading, Trade
from okx.websocket.WsPrivateAsync import WsPrivateAsync
from okx.websocket.WsPublicAsync import WsPublicAsync

BASE = os.environ["SIM_BASE_URL"]
REST = os.environ["SIM_REST_URL"]
KEY = os.environ["SIM_API_KEY"]
SECRET = os.environ["SIM_SECRET_KEY"]
PASSPHRASE = os.environ["SIM_PASSPHRASE"]

out: dict[str, Any] = {"steps": {}, "errors": []}


class Inbox:
    """Collects the decoded messages a python-okx client hands to its callback."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self._changed = asyncio.Event()

    def callback(self, message: str) -> None:
        try:
            self.messages.append(json.loads(message))
        except ValueError:
            self.messages.append(message)
        self._changed.set()

    async def wait(self, predicate: Any, timeout: float = 8.0) -> Any:
        async def find() -> Any:
            while True:
                for m in self.messages:
                    if isinstance(m, dict) and predicate(m):
                        return m
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def response(self, req_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.wait(lambda m: m.get("id") == req_id and "op" in m)
        return result


def first(resp: dict[str, Any]) -> dict[str, Any]:
    item = resp["data"][0] if resp.get("data") else {}
    return {"code": resp["code"], "sCode": item.get("sCode"), "ordId": item.get("ordId")}


def rest_steps() -> tuple[float, int]:
    public = PublicData.PublicAPI(flag="0", domain=REST)
    market = MarketData.MarketAPI(flag="0", domain=REST)
    out["steps"]["rest_time"] = int(public.get_system_time()["data"][0]["ts"]) > 0
    spot = public.get_instruments(instType="SPOT")["data"]
    out["steps"]["rest_instruments"] = sorted(i["instId"] for i in spot)
    book = market.get_orderbook(instId="BTC-USDT", sz="5")["data"][0]
    code = next(i["instIdCode"] for i in spot if i["instId"] == "BTC-USDT")
    return float(book["bids"][0][0]), code


async def session() -> None:
    best_bid, code = await asyncio.to_thread(rest_steps)

    def px(f: float) -> str:
        return f"{int(best_bid * f * 10) / 10:.1f}"

    # Public: a ticker subscription.
    pub_inbox = Inbox()
    pub = WsPublicAsync(url=f"{BASE}/ws/v5/public")
    await pub.start()
    await pub.subscribe([{"channel": "tickers", "instId": "BTC-USDT"}], pub_inbox.callback)
    tick = await pub_inbox.wait(lambda m: m.get("arg", {}).get("channel") == "tickers"
                                and "data" in m)
    out["steps"]["ticker"] = tick["data"][0]["instId"]

    # Private: login + orders subscription (python-okx logs in inside subscribe),
    # then its seven order methods.
    inbox = Inbox()
    priv = WsPrivateAsync(apiKey=KEY, passphrase=PASSPHRASE, secretKey=SECRET,
                          url=f"{BASE}/ws/v5/private")
    await priv.start()
    await priv.subscribe([{"channel": "orders", "instType": "ANY"}], inbox.callback)
    login = await inbox.wait(lambda m: m.get("event") in ("login", "error"))
    out["steps"]["login"] = login.get("code")
    await inbox.wait(lambda m: m.get("event") == "subscribe")
    out["steps"]["subscribe"] = True

    # Order ops name the instrument by instIdCode, as OKX requires since March 2026.
    order = {"instIdCode": code, "tdMode": "cash", "side": "buy", "ordType": "limit",
             "sz": "0.001"}
    await priv.place_order([{**order, "px": px(0.98), "clOrdId": "py1"}], id="p1")
    placed = await inbox.response("p1")
    out["steps"]["place_order"] = first(placed)
    ord_id = placed["data"][0]["ordId"]

    await priv.batch_orders([{**order, "px": px(0.97), "clOrdId": "py2"},
                             {**order, "px": px(0.96), "clOrdId": "py3"}], id="p2")
    out["steps"]["batch_orders"] = [d["sCode"] for d in (await inbox.response("p2"))["data"]]

    await priv.amend_order([{"instIdCode": code, "ordId": ord_id, "newPx": px(0.975)}],
                           id="p3")
    out["steps"]["amend_order"] = first(await inbox.response("p3"))

    await priv.batch_amend_orders([{"instIdCode": code, "clOrdId": "py2", "newSz": "0.002"},
                                   {"instIdCode": code, "clOrdId": "py3", "newSz": "0.002"}],
                                  id="p4")
    out["steps"]["batch_amend_orders"] = [
        d["sCode"] for d in (await inbox.response("p4"))["data"]
    ]

    await priv.cancel_order([{"instIdCode": code, "ordId": ord_id}], id="p5")
    out["steps"]["cancel_order"] = first(await inbox.response("p5"))
    await priv.cancel_order([{"instIdCode": code, "ordId": ord_id}], id="p6")
    out["steps"]["cancel_order_again"] = first(await inbox.response("p6"))

    await priv.batch_cancel_orders([{"instIdCode": code, "clOrdId": "py2"},
                                    {"instIdCode": code, "clOrdId": "py3"}], id="p7")
    out["steps"]["batch_cancel_orders"] = [
        d["sCode"] for d in (await inbox.response("p7"))["data"]
    ]

    await priv.mass_cancel([{"instType": "OPTION", "instFamily": "BTC-USD"}], id="p8")
    mass = await inbox.response("p8")
    out["steps"]["mass_cancel"] = {"code": mass["code"], "result": mass["data"][0]["result"]}

    push = await inbox.wait(lambda m: m.get("arg", {}).get("channel") == "orders"
                            and "data" in m and m["data"][0]["ordId"] == ord_id
                            and m["data"][0]["state"] == "canceled")
    out["steps"]["orders_push"] = push["data"][0]["state"]

    # Business: python-okx logs in on a "public" client and sends spread ops.
    biz_inbox = Inbox()
    biz = WsPublicAsync(url=f"{BASE}/ws/v5/business?brokerId=9999", apiKey=KEY,
                        passphrase=PASSPHRASE, secretKey=SECRET)
    await biz.start()
    biz.callback = biz_inbox.callback
    await biz.login()
    out["steps"]["business_login"] = (
        await biz_inbox.wait(lambda m: m.get("event") in ("login", "error"))
    ).get("code")
    await biz.send("sprd-order", [{"sprdId": "BTC-USDT_BTC-USDT-SWAP", "side": "buy",
                                   "ordType": "limit", "px": "1", "sz": "0.01"}], id="b1")
    sprd = await biz_inbox.response("b1")
    out["steps"]["sprd_order"] = first(sprd)

    # Signed REST: the open spread orders (python-okx sends every filter, empty).
    def sprd_pending() -> list[str]:
        spread = SpreadTrading.SpreadTradingAPI(KEY, SECRET, PASSPHRASE, flag="0", domain=REST)
        items = spread.get_active_orders(sprdId="BTC-USDT_BTC-USDT-SWAP")["data"]
        return [i["ordId"] for i in items]

    pending = await asyncio.to_thread(sprd_pending)
    out["steps"]["rest_sprd_pending"] = pending == [sprd["data"][0]["ordId"]]
    await biz.send("sprd-cancel-order", [{"ordId": sprd["data"][0]["ordId"]}], id="b2")
    out["steps"]["sprd_cancel_order"] = first(await biz_inbox.response("b2"))

    # Signed REST: the order's final state.
    def rest_private() -> None:
        trade = Trade.TradeAPI(KEY, SECRET, PASSPHRASE, flag="0", domain=REST)
        out["steps"]["rest_get_order"] = trade.get_order(instId="BTC-USDT",
                                                         ordId=ord_id)["data"][0]["state"]
        out["steps"]["rest_pending"] = len(trade.get_order_list(instType="SPOT")["data"])

    await asyncio.to_thread(rest_private)

    for client in (pub, priv, biz):
        await client.stop()


async def main() -> None:
    try:
        await asyncio.wait_for(session(), 25)
    except BaseException as exc:  # report, never hang
        out["errors"].append(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    # python-okx leaves consume tasks behind; the result is out, so leave now.
    os._exit(0)
