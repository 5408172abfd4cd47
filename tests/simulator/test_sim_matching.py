"""The simulator engine's matching: fills, balances, order types, positions, the walk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from simulator_support import T0, Clock, D, place, pushes, run, spot, top

from okx_trio.testing._engine import Exchange


@pytest.fixture
def exchange_options() -> dict[str, Any]:
    return {"rate_limit": False}


def test_partial_fill_against_synthetic_liquidity(ex: Exchange) -> None:
    _, _, ask, ask_sz = top(ex)
    acct = ex.accounts["keyA"]
    usdt0, btc0 = acct.balances["USDT"], acct.balances["BTC"]
    sz = ask_sz + D("0.3")
    res = place(ex, spot("buy", ask, sz))
    (p,) = pushes(res)
    assert p["state"] == "partially_filled"
    assert (D(p["fillSz"]), D(p["fillPx"]), p["execType"]) == (ask_sz, ask, "T")
    assert p["tradeId"]
    assert p["fillTime"] == str(T0)
    fee = ask_sz * D("0.001")
    assert D(p["fillFee"]) == -fee
    assert D(p["fee"]) == -fee
    assert (p["feeCcy"], p["fillFeeCcy"]) == ("BTC", "BTC")
    assert D(p["accFillSz"]) == ask_sz
    assert D(p["avgPx"]) == ask
    (f,) = pushes(res, "fills")
    assert (f["tradeId"], f["execType"], f["side"]) == (p["tradeId"], "T", "buy")
    (t,) = pushes(res, "trades")
    assert (D(t["px"]), D(t["sz"]), t["side"], t["tradeId"]) == (ask, ask_sz, "buy", p["tradeId"])
    # Balances: quote paid, base received net of fee, remainder frozen at the limit.
    assert acct.balances["USDT"] == usdt0 - ask * ask_sz
    assert acct.balances["BTC"] == btc0 + ask_sz - fee
    assert acct.frozen["USDT"] == ask * D("0.3")
    # The remainder rests at the top of the bids.
    bid, bid_sz, new_ask, _ = top(ex)
    assert (bid, bid_sz) == (ask, D("0.3"))
    assert new_ask > ask
    bp = pushes(res, "balance_and_position")[0]
    assert bp["eventType"] == "filled"
    assert {b["ccy"] for b in bp["balData"]} == {"BTC", "USDT"}
    assert bp["trades"] == [{"instId": "BTC-USDT", "tradeId": p["tradeId"]}]


def test_users_trade_with_each_other(ex: Exchange) -> None:
    bid, _, ask, _ = top(ex)
    px = bid + D("0.5")
    assert px < ask
    a, b = ex.accounts["keyA"], ex.accounts["keyB"]
    a0, b0 = dict(a.balances), dict(b.balances)
    maker = place(ex, spot("sell", px, "0.2", clOrdId="123"), key="keyA")
    assert [p["state"] for p in pushes(maker)] == ["live"]
    assert a.frozen["BTC"] == D("0.2")
    taker = place(ex, spot("buy", px, "0.5"), key="keyB")
    mk = pushes(taker, key="keyA")
    tk = pushes(taker, key="keyB")
    assert [(p["state"], p["execType"]) for p in mk] == [("filled", "M")]
    assert [(p["state"], p["execType"]) for p in tk] == [("partially_filled", "T")]
    assert mk[0]["tradeId"] == tk[0]["tradeId"]
    assert D(mk[0]["fillFee"]) == -(px * D("0.2") * D("0.0008"))
    assert mk[0]["fillFeeCcy"] == "USDT"
    fills = pushes(taker, "fills", key="keyA")
    assert fills[0]["clOrdId"] == "123"  # a positive integer clOrdId is echoed
    assert pushes(taker, "fills", key="keyB")[0]["clOrdId"] == "0"
    assert a.balances["BTC"] == a0["BTC"] - D("0.2")
    assert a.balances["USDT"] == a0["USDT"] + px * D("0.2") * (1 - D("0.0008"))
    assert a.frozen["BTC"] == 0
    assert b.balances["BTC"] == b0["BTC"] + D("0.2") * (1 - D("0.001"))
    assert b.balances["USDT"] == b0["USDT"] - px * D("0.2")
    assert b.frozen["USDT"] == px * D("0.3")
    new_bid, new_bid_sz, _, _ = top(ex)
    assert (new_bid, new_bid_sz) == (px, D("0.3"))
    # Per-account pushes are addressed to their owner only.
    assert {e.api_key for e in taker.emits if e.channel in ("orders", "fills", "account")} == {
        "keyA", "keyB"}


def test_price_time_priority(ex: Exchange) -> None:
    bid, _, _ask, _ = top(ex)
    px = bid + D("0.5")
    first = place(ex, spot("sell", px, "0.1"), key="keyB").response["data"][0]["ordId"]
    second = place(ex, spot("sell", px, "0.1"), key="keyB").response["data"][0]["ordId"]
    better = place(ex, spot("sell", px - D("0.1"), "0.1"), key="keyB").response["data"][0][
        "ordId"]
    res = place(ex, spot("buy", px, "0.25"))
    filled = [(p["ordId"], p["fillSz"]) for p in pushes(res) if p["execType"] == "M"]
    assert filled == [(better, "0.1"), (first, "0.1"), (second, "0.05")]
    (t1, t2) = pushes(res, "trades")
    assert (D(t1["px"]), t1["count"], D(t2["px"]), t2["count"]) == (
        px - D("0.1"), "1", px, "2")
    assert len(pushes(res, "trades-all")) == 3


def test_self_trade_prevention_cancels_maker(ex: Exchange) -> None:
    bid, _, _, _ = top(ex)
    px = bid + D("0.5")
    maker = place(ex, spot("sell", px, "0.1")).response["data"][0]["ordId"]
    res = place(ex, spot("buy", px, "0.1"))
    states = [(p["ordId"], p["state"], p["cancelSource"]) for p in pushes(res)]
    assert states[0] == (maker, "canceled", "32")
    assert states[1][1] == "live"


def test_post_only(ex: Exchange) -> None:
    bid, _, ask, _ = top(ex)
    res = place(ex, spot("buy", ask, "0.01", "post_only"))
    assert res.response["data"][0]["sCode"] == "0"
    assert [(p["state"], p["cancelSource"]) for p in pushes(res)] == [("canceled", "31")]
    assert not pushes(res, "fills")
    assert ex.accounts["keyA"].frozen["USDT"] == 0
    res = place(ex, spot("buy", bid, "0.01", "post_only"))
    assert [p["state"] for p in pushes(res)] == ["live"]


def test_fok(ex: Exchange) -> None:
    _, _, ask, ask_sz = top(ex)
    res = place(ex, spot("buy", ask, ask_sz + D("0.01"), "fok"))
    assert [(p["state"], p["cancelSource"]) for p in pushes(res)] == [("canceled", "13")]
    assert top(ex)[2:] == (ask, ask_sz)
    res = place(ex, spot("buy", ask, ask_sz, "fok"))
    assert [p["state"] for p in pushes(res)] == ["filled"]
    assert ex.accounts["keyA"].frozen["USDT"] == 0


def test_ioc(ex: Exchange) -> None:
    _, _, ask, ask_sz = top(ex)
    res = place(ex, spot("buy", ask, ask_sz + D("1"), "ioc"))
    assert [(p["state"], p["cancelSource"]) for p in pushes(res)] == [
        ("partially_filled", ""), ("canceled", "14")]
    assert D(pushes(res)[-1]["accFillSz"]) == ask_sz
    assert ex.accounts["keyA"].frozen["USDT"] == 0
    bid, _, _, _ = top(ex)
    res = place(ex, spot("buy", bid - 10, "0.01", "ioc"))
    assert [(p["state"], p["cancelSource"]) for p in pushes(res)] == [("canceled", "14")]


def test_market_orders_spot(ex: Exchange) -> None:
    acct = ex.accounts["keyA"]
    usdt0 = acct.balances["USDT"]
    res = place(ex, spot("buy", None, "1000", "market"))
    ps = pushes(res)
    assert ps[-1]["state"] == "filled"
    assert ps[-1]["tgtCcy"] == "quote_ccy"
    assert ps[-1]["px"] == ""
    spent = usdt0 - acct.balances["USDT"]
    assert D("999") < spent <= D("1000")
    btc0 = acct.balances["BTC"]
    res = place(ex, spot("sell", None, "0.5", "market"))
    assert pushes(res)[-1]["state"] == "filled"
    assert acct.balances["BTC"] == btc0 - D("0.5")
    res = place(ex, spot("buy", None, "0.1", "market", tgtCcy="base_ccy"))
    assert D(pushes(res)[-1]["accFillSz"]) == D("0.1")
    res = run(ex, "order", [spot("buy", None, "2000000", "market")])
    assert res.response["data"][0]["sCode"] == "51008"



def test_tgt_ccy_is_ignored_where_okx_ignores_it(ex: Exchange) -> None:
    """OKX applies ``tgtCcy`` to SPOT market orders only (ccxt sends it on every spot order)."""
    bid, _, ask, _ = top(ex)
    for tgt in ("quote_ccy", "base_ccy"):
        res = place(ex, spot("buy", bid - 100, "0.01", tgtCcy=tgt))
        (live,) = pushes(res)
        # The size stays in BTC (a quote-sized 0.01 would be below the minimum).
        assert (live["state"], live["sz"], live["tgtCcy"]) == ("live", "0.01", "")
    res = place(ex, spot("sell", ask + 100, "0.02", "post_only", tgtCcy="quote_ccy"))
    assert pushes(res)[0]["tgtCcy"] == ""
    res = place(ex, spot("buy", ask, "0.001", "ioc", tgtCcy="quote_ccy"))
    assert D(pushes(res)[-1]["accFillSz"]) == D("0.001")
    # On a swap market order it is ignored too: the size is contracts.
    arg = {"instIdCode": 200001, "tdMode": "cross", "side": "buy", "ordType": "market",
           "sz": "2", "tgtCcy": "quote_ccy"}
    res = place(ex, arg)
    assert (pushes(res)[-1]["accFillSz"], pushes(res)[-1]["tgtCcy"]) == ("2", "")
    # A value OKX does not know is still a parameter error.
    res = run(ex, "order", [spot("buy", bid - 100, "0.01", tgtCcy="usd")])
    assert res.response["data"][0]["sCode"] == "51000"

def test_swap_position_lifecycle(ex: Exchange) -> None:
    acct = ex.accounts["keyA"]
    usdt0 = acct.balances["USDT"]
    arg = {"instIdCode": 200001, "tdMode": "cross", "side": "buy", "ordType": "market",
           "sz": "2"}
    res = place(ex, arg)
    assert pushes(res)[-1]["state"] == "filled"
    assert pushes(res)[-1]["posSide"] == "net"
    (pos,) = pushes(res, "positions")
    assert (pos["pos"], pos["instId"], pos["mgnMode"], pos["posSide"]) == (
        "2", "BTC-USDT-SWAP", "cross", "net")
    position = acct.positions["BTC-USDT-SWAP"]
    assert position.margin == position.avg_px * 2 * D("0.01") / 10
    assert acct.frozen["USDT"] == position.margin
    fee = -D(pushes(res)[-1]["fee"])
    assert acct.balances["USDT"] == usdt0 - fee
    bp = pushes(res, "balance_and_position")[0]
    assert bp["posData"][0]["pos"] == "2"
    # Close it with a reduce-only sell.
    res = place(ex, {**arg, "side": "sell", "reduceOnly": True})
    assert acct.positions["BTC-USDT-SWAP"].pos == 0
    assert acct.frozen["USDT"] == 0
    (pos,) = pushes(res, "positions")
    assert pos["pos"] == "0"
    # Reduce-only with nothing to reduce.
    res = run(ex, "order", [{**arg, "side": "sell", "reduceOnly": True}])
    assert res.response["data"][0]["sCode"] == "51169"
    # Margin check.
    res = run(ex, "order", [{**arg, "sz": "100000"}])
    assert res.response["data"][0]["sCode"] == "51008"


def test_swap_limit_freezes_margin_and_optimal_limit_ioc(ex: Exchange) -> None:
    bid, _, _, _ = top(ex, "BTC-USDT-SWAP")
    acct = ex.accounts["keyA"]
    arg = {"instIdCode": 200001, "tdMode": "isolated", "side": "buy", "ordType": "limit",
           "px": str(bid - 100), "sz": "10"}
    place(ex, arg)
    assert acct.frozen["USDT"] == (bid - 100) * 10 * D("0.01") / 10
    res = place(ex, {"instIdCode": 200001, "tdMode": "cross", "side": "sell",
                     "ordType": "optimal_limit_ioc", "sz": "1"})
    assert pushes(res)[-1]["state"] == "filled"
    assert acct.positions["BTC-USDT-SWAP"].pos == -1
    # optimal_limit_ioc takes only the best level; the rest is canceled like an ioc.
    _, _, ask, ask_sz = top(ex, "BTC-USDT-SWAP")
    res = place(ex, {"instIdCode": 200001, "tdMode": "cross", "side": "buy",
                     "ordType": "optimal_limit_ioc", "sz": str(ask_sz + 5)})
    states = [(p["state"], p["cancelSource"]) for p in pushes(res)]
    assert states == [("partially_filled", ""), ("canceled", "14")]
    assert D(pushes(res)[0]["fillPx"]) == ask
    assert pushes(res)[0]["px"] == ""


def test_option_orders(ex: Exchange) -> None:
    _, _, ask, _ = top(ex, "BTC-USD-261225-60000-C")
    arg = {"instIdCode": 300001, "tdMode": "cross", "side": "buy",
           "ordType": "limit", "px": str(ask), "sz": "1"}
    res = place(ex, arg)
    assert pushes(res)[-1]["state"] == "filled"
    assert pushes(res)[-1]["feeCcy"] == "BTC"
    res = run(ex, "order", [{**arg, "ordType": "market"}])
    assert res.response["data"][0]["sCode"] == "51000"


def test_market_step_fills_resting_orders_as_maker(ex: Exchange, clock: Clock) -> None:
    _, _, ask, _ = top(ex)
    ord_id = place(ex, spot("buy", ask - D("0.1"), "0.05")).response["data"][0]["ordId"]
    seen: list[dict[str, Any]] = []
    for _ in range(400):
        clock.t += 100
        seen += pushes(ex.market_step(), key="keyA")
        order = ex.find_order("keyA", ord_id=ord_id)
        assert order is not None
        if order.state == "filled":
            break
    assert order.state == "filled"
    fills = [p for p in seen if p["ordId"] == ord_id and p["fillSz"] != "0"]
    assert fills
    assert all(p["execType"] == "M" for p in fills)
    assert D(fills[-1]["accFillSz"]) == D("0.05")
    assert ex.accounts["keyA"].frozen["USDT"] == 0


def test_market_step_keeps_book_sane(ex: Exchange, clock: Clock) -> None:
    for _ in range(60):
        clock.t += 100
        ex.market_step()
        for inst_id in ("BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP", "BTC-USD-261225-60000-C",
                        "BTC-USDT_BTC-USDT-SWAP"):
            bids, asks = ex.book(inst_id)
            assert bids
            assert asks
            assert D(bids[0][0]) < D(asks[0][0])
            assert 50 <= len(bids) <= 200 or inst_id.startswith("BTC-USD-")
            assert 50 <= len(asks) <= 200
            tick = ex.instruments.get(inst_id, ex.spreads.get(inst_id)).tick  # type: ignore[union-attr]
            assert all(D(px) % tick == 0 and D(sz) > 0 for px, sz in bids + asks)
            assert [D(p) for p, _ in bids] == sorted((D(p) for p, _ in bids), reverse=True)
            assert [D(p) for p, _ in asks] == sorted(D(p) for p, _ in asks)


def test_spread_users_trade_with_each_other(ex: Exchange) -> None:
    bid, _, ask, _ = top(ex, "BTC-USDT_BTC-USDT-SWAP")
    px = bid + D("0.1")
    assert px < ask
    sprd = {"sprdId": "BTC-USDT_BTC-USDT-SWAP", "ordType": "limit", "px": str(px)}
    run(ex, "sprd-order", [{**sprd, "side": "sell", "sz": "1"}], key="keyA")
    res = run(ex, "sprd-order", [{**sprd, "side": "buy", "sz": "1.5"}], key="keyB")
    a = pushes(res, "sprd-orders", key="keyA")
    b = pushes(res, "sprd-orders", key="keyB")
    assert [(p["state"], p["fillSz"]) for p in a] == [("filled", "1")]
    assert [(p["state"], p["fillSz"], p["pendingFillSz"]) for p in b] == [
        ("partially_filled", "1", "0.5")]
    ta = pushes(res, "sprd-trades", key="keyA")[0]
    tb = pushes(res, "sprd-trades", key="keyB")[0]
    assert (ta["execType"], tb["execType"]) == ("M", "T")
    assert ta["tradeId"] == tb["tradeId"]
    assert [leg["side"] for leg in ta["legs"]] == ["buy", "sell"]
    assert D(ta["legs"][1]["px"]) - D(ta["legs"][0]["px"]) == px


def test_determinism(make_exchange: Callable[..., Exchange], clock: Clock) -> None:
    seed = 7

    def session(s: int) -> list[Any]:
        clock.t = T0
        ex = make_exchange(seed=s)
        out: list[Any] = []
        for i in range(25):
            clock.t += 100
            out += [(e.channel, e.data) for e in ex.market_step()]
            if i % 5 == 0:
                _, _, ask, _ = top(ex)
                res = run(ex, "order", [spot("buy", ask, "0.3")], req_id="x1")
                out.append(res.response)
                out += [(e.channel, e.data) for e in res.emits]
        return out

    assert session(seed) == session(seed)
    assert session(seed) != session(seed + 100)
