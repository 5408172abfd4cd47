"""What the REST endpoints show of the exchange: instruments, orders, pending orders."""

from __future__ import annotations

from typing import Any

import pytest
from simulator_support import KA

from okx_trio.testing._engine import Exchange


@pytest.fixture
def exchange_options() -> dict[str, Any]:
    return {"accounts": [KA], "rate_limit": False}


def test_rest_instruments(ex: Exchange) -> None:
    spot = ex.rest.instruments("SPOT")
    assert [i["instIdCode"] for i in spot] == [100001, 100002]
    btc = spot[0]
    for key in ("instType", "instId", "instIdCode", "uly", "instFamily", "baseCcy", "quoteCcy",
                "settleCcy", "ctVal", "ctMult", "ctValCcy", "tickSz", "lotSz", "minSz",
                "maxLmtSz", "maxMktSz", "state", "listTime"):
        assert key in btc, key
    assert (btc["baseCcy"], btc["quoteCcy"], btc["tickSz"], btc["state"]) == (
        "BTC", "USDT", "0.1", "live")
    (swap,) = ex.rest.instruments("SWAP")
    assert (swap["instFamily"], swap["uly"], swap["ctVal"], swap["settleCcy"]) == (
        "BTC-USDT", "BTC-USDT", "0.01", "USDT")
    options = ex.rest.instruments("OPTION")
    assert len(options) == 3
    assert {o["instFamily"] for o in options} == {"BTC-USD"}
    assert ex.rest.instruments("SPOT", "ETH-USDT")[0]["instId"] == "ETH-USDT"
    assert ex.rest.instruments("FUTURES") == []
    ids = {i["instId"] for t in ("SPOT", "SWAP", "OPTION") for i in ex.rest.instruments(t)}
    assert "BTC-USDT_BTC-USDT-SWAP" not in ids


def test_rest_orders(ex: Exchange) -> None:
    bid = ex.book("BTC-USDT")[0][0][0]
    res = ex.trade_op("keyA", "private", {"id": "p", "op": "order", "args": [{
        "instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
        "px": bid, "sz": "0.01", "clOrdId": "q1"}]})
    ord_id = res.response["data"][0]["ordId"]
    code, msg, data = ex.rest.order("keyA", "BTC-USDT", ord_id, None)
    assert (code, msg) == ("0", "")
    (item,) = data
    assert (item["ordId"], item["clOrdId"], item["state"], item["px"]) == (
        ord_id, "q1", "live", bid)
    for key in ("accFillSz", "avgPx", "cTime", "uTime", "fee", "feeCcy", "fillPx", "fillSz",
                "tradeId", "instType", "ordType", "side", "tdMode", "category"):
        assert key in item
    assert ex.rest.order("keyA", "BTC-USDT", None, "q1")[2][0]["ordId"] == ord_id
    assert ex.rest.order("keyA", "BTC-USDT", "1", None) == ("51603", "Order does not exist", [])
    assert ex.rest.order("keyA", "ETH-USDT", ord_id, None)[0] == "51603"
    assert ex.rest.order("keyA", None, ord_id, None)[0] == "50014"
    assert ex.rest.order("keyA", "BTC-USDT", None, None)[0] == "50015"
    pending = ex.rest.orders_pending("keyA")
    assert [p["ordId"] for p in pending] == [ord_id]
    assert ex.rest.orders_pending("keyA", inst_type="SWAP") == []
    assert ex.rest.orders_pending("keyA", inst_id="ETH-USDT") == []
    res = ex.trade_op("keyA", "business", {"id": "s", "op": "sprd-order", "args": [{
        "sprdId": "BTC-USDT_BTC-USDT-SWAP", "side": "buy", "ordType": "limit", "px": "5",
        "sz": "1"}]})
    sprd_id = res.response["data"][0]["ordId"]
    code, _, data = ex.rest.sprd_order("keyA", sprd_id, None)
    assert code == "0"
    assert (data[0]["sprdId"], data[0]["state"]) == ("BTC-USDT_BTC-USDT-SWAP", "live")
    assert ex.rest.sprd_order("keyA", ord_id, None)[0] == "51603"
    assert len(ex.rest.orders_pending("keyA")) == 1
