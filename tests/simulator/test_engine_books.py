"""The simulator engine's public data: book seqId chains, checksums, snapshots, REST items."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from okx_trio._models import Credentials
from okx_trio.testing._engine import Emit, Exchange
from okx_trio.testing._engine_book import book_checksum

KA = Credentials("keyA", "secretA", "passA")
T0 = 1_700_000_000_000
D = Decimal


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> int:
        return self.t


def make(**kw: Any) -> tuple[Exchange, Clock]:
    clock = Clock()
    return Exchange([KA], now_ms=clock, rate_limit=False, **kw), clock


class Replica:
    """A client-side book per okx-protocol.md 7.3/7.4."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.bids = {lvl[0]: lvl for lvl in snapshot["bids"]}
        self.asks = {lvl[0]: lvl for lvl in snapshot["asks"]}
        self.seq = snapshot["seqId"]
        assert snapshot["prevSeqId"] == -1

    def apply(self, item: dict[str, Any]) -> None:
        assert item["prevSeqId"] == self.seq, "seqId chain broken"
        for side, levels in (("bids", item["bids"]), ("asks", item["asks"])):
            book = getattr(self, side)
            for lvl in levels:
                if lvl[1] == "0":
                    book.pop(lvl[0], None)
                else:
                    book[lvl[0]] = lvl
        self.seq = item["seqId"]

    def sides(self) -> tuple[list[list[str]], list[list[str]]]:
        bids = sorted(self.bids.values(), key=lambda lvl: -D(lvl[0]))
        asks = sorted(self.asks.values(), key=lambda lvl: D(lvl[0]))
        return bids, asks


def books_updates(emits: list[Emit], inst_id: str, channel: str = "books") -> list[dict[str, Any]]:
    out = []
    for e in emits:
        if e.channel == channel and e.inst_id == inst_id:
            assert e.action == "update"
            out.append(e.data[0])
    return out


@pytest.mark.parametrize(
    ("bids", "asks", "expected"),
    [
        ([["100.5", "2"], ["100.4", "1"]], [["100.6", "3"], ["100.8", "1"], ["101", "4"]],
         1210148172),
        ([["100.5", "2.5"], ["100.4", "1"]], [["100.7", "5"], ["100.8", "1"], ["101", "4"]],
         1466225588),
        ([["3366.1", "7"], ["3366", "6"]], [["3366.8", "9"], ["3368", "8"]], -1881014294),
        ([["3366.1", "7"]], [["3366.8", "9"], ["3368", "8"], ["3372", "8"]], 831078360),
    ],
)
def test_checksum_worked_examples(
    bids: list[list[str]], asks: list[list[str]], expected: int
) -> None:
    assert book_checksum(bids, asks) == expected


def test_checksum_uses_top_25_only() -> None:
    bids = [[str(1000 - i), "1"] for i in range(30)]
    asks = [[str(1001 + i), "1"] for i in range(30)]
    assert book_checksum(bids, asks) == book_checksum(bids[:25], asks[:25])
    assert book_checksum(bids, asks) != book_checksum(bids[:24], asks[:25])


@pytest.mark.parametrize("checksum", [False, True])
def test_books_chain_and_replica(checksum: bool) -> None:
    ex, clock = make(checksum=checksum, seed=3)
    (snap,) = ex.initial_pushes(None, {"channel": "books", "instId": "BTC-USDT"})
    assert (snap.channel, snap.action, snap.inst_id) == ("books", "snapshot", "BTC-USDT")
    item = snap.data[0]
    assert isinstance(item["seqId"], int)
    assert item["prevSeqId"] == -1
    assert item["checksum"] == (book_checksum(item["bids"], item["asks"]) if checksum else 0)
    assert 50 <= len(item["bids"]) <= 200
    assert 50 <= len(item["asks"]) <= 200
    replica = Replica(item)
    for i in range(30):
        clock.t += 100
        emits = ex.market_step()
        if i % 4 == 0:
            bids, asks = ex.book("BTC-USDT")
            res = ex.trade_op("keyA", "private", {"id": "o1", "op": "order", "args": [{
                "instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                "px": asks[1][0], "sz": "0.7"}]})
            assert res.response["code"] == "0"
            emits += res.emits
        for upd in books_updates(emits, "BTC-USDT"):
            assert upd["seqId"] > upd["prevSeqId"]
            assert upd["ts"] == str(clock.t)
            for lvl in upd["bids"] + upd["asks"]:
                assert len(lvl) == 4
                assert lvl[2] == "0"
                assert all(isinstance(x, str) for x in lvl)
            assert [D(lvl[0]) for lvl in upd["bids"]] == sorted(
                (D(lvl[0]) for lvl in upd["bids"]), reverse=True)
            replica.apply(upd)
            rb, ra = replica.sides()
            expected = book_checksum(rb, ra) if checksum else 0
            assert upd["checksum"] == expected
        rb, ra = replica.sides()
        bids, asks = ex.book("BTC-USDT")
        assert [(lvl[0], lvl[1]) for lvl in rb] == bids[:400]
        assert [(lvl[0], lvl[1]) for lvl in ra] == asks[:400]
        assert D(rb[0][0]) < D(ra[0][0])
    rest = ex.rest.books("BTC-USDT", 400, T0)
    assert rest["seqId"] == replica.seq
    rb, ra = replica.sides()
    assert rest["bids"] == rb
    assert rest["asks"] == ra
    assert len(ex.rest.books("BTC-USDT", 5, T0)["bids"]) == 5


def test_books_l2_tbt_and_books50_chains() -> None:
    ex, clock = make(seed=5)
    snaps = {ch: ex.initial_pushes(None, {"channel": ch, "instId": "ETH-USDT"})[0].data[0]
             for ch in ("books-l2-tbt", "books50-l2-tbt")}
    assert len(snaps["books50-l2-tbt"]["bids"]) == 50
    replicas = {ch: Replica(item) for ch, item in snaps.items()}
    for _ in range(20):
        clock.t += 100
        emits = ex.market_step()
        for ch, rep in replicas.items():
            for upd in books_updates(emits, "ETH-USDT", ch):
                rep.apply(upd)
    bids, _ = ex.book("ETH-USDT")
    rb, _ = replicas["books50-l2-tbt"].sides()
    assert [(lvl[0], lvl[1]) for lvl in rb] == bids[:50]
    rb, _ = replicas["books-l2-tbt"].sides()
    assert [(lvl[0], lvl[1]) for lvl in rb] == bids[:400]


def test_reset_and_heartbeat() -> None:
    ex, clock = make(seed=11)
    snap = ex.initial_pushes(None, {"channel": "books", "instId": "BTC-USDT"})[0].data[0]
    replica = Replica(snap)
    hb = ex.book_heartbeat("BTC-USDT", "books")
    assert hb is not None
    assert hb.action == "update"
    assert hb.data[0]["asks"] == []
    assert hb.data[0]["bids"] == []
    assert hb.data[0]["seqId"] == hb.data[0]["prevSeqId"] == snap["seqId"]
    replica.apply(hb.data[0])
    ex.reset_book_sequence("BTC-USDT")
    clock.t += 100
    (upd,) = books_updates(ex.market_step(), "BTC-USDT")
    assert upd["prevSeqId"] == snap["seqId"]
    assert upd["seqId"] < upd["prevSeqId"]
    replica.apply(upd)
    clock.t += 100
    (nxt,) = books_updates(ex.market_step(), "BTC-USDT")
    assert nxt["prevSeqId"] == upd["seqId"] < nxt["seqId"]
    b5 = ex.book_heartbeat("BTC-USDT", "books5")
    assert b5 is not None
    assert b5.channel == "books5"
    assert len(b5.data[0]["bids"]) == 5
    assert ex.book_heartbeat("BTC-USDT", "tickers") is None
    assert ex.book_heartbeat("NOPE", "books") is None


def test_books5_bbo_tickers_trades() -> None:
    ex, clock = make(seed=2)
    (b5,) = ex.initial_pushes(None, {"channel": "books5", "instId": "BTC-USDT"})
    item = b5.data[0]
    assert set(item) == {"asks", "bids", "instId", "ts", "seqId"}
    assert len(item["asks"]) == 5
    assert item["instId"] == "BTC-USDT"
    (bbo,) = ex.initial_pushes(None, {"channel": "bbo-tbt", "instId": "BTC-USDT"})
    assert bbo.data[0]["bids"] == item["bids"][:1]
    (tk,) = ex.initial_pushes(None, {"channel": "tickers", "instId": "BTC-USDT"})
    t = tk.data[0]
    assert (t["instType"], t["instId"]) == ("SPOT", "BTC-USDT")
    assert (t["bidPx"], t["askPx"]) == (item["bids"][0][0], item["asks"][0][0])
    for key in ("last", "lastSz", "open24h", "high24h", "low24h", "vol24h", "volCcy24h",
                "sodUtc0", "sodUtc8", "ts", "bidSz", "askSz"):
        assert isinstance(t[key], str)
    trade_ids: list[str] = []
    channels: set[str] = set()
    for _ in range(40):
        clock.t += 100
        for e in ex.market_step():
            channels.add(e.channel)
            if e.channel == "trades" and e.inst_id == "BTC-USDT":
                d = e.data[0]
                assert set(d) == {"instId", "tradeId", "px", "sz", "side", "ts", "count",
                                  "source", "seqId"}
                trade_ids.append(d["tradeId"])
    assert {"books", "books5", "bbo-tbt", "tickers", "trades", "trades-all",
            "sprd-books5", "sprd-bbo-tbt", "sprd-tickers"} <= channels
    assert trade_ids
    assert len(set(trade_ids)) == len(trade_ids)
    assert [int(i) for i in trade_ids] == sorted(int(i) for i in trade_ids)


def test_initial_pushes_private_and_misc() -> None:
    ex, _ = make()
    assert ex.initial_pushes("keyA", {"channel": "orders", "instType": "ANY"}) == []
    assert ex.initial_pushes("keyA", {"channel": "fills"}) == []
    assert ex.initial_pushes(None, {"channel": "account"}) == []
    (acc,) = ex.initial_pushes("keyA", {"channel": "account"})
    assert acc.api_key == "keyA"
    assert acc.extra == {"eventType": "snapshot", "curPage": 1, "lastPage": True}
    details = {d["ccy"]: d for d in acc.data[0]["details"]}
    assert set(details) == {"USDT", "BTC", "ETH"}
    assert details["USDT"]["cashBal"] == "1000000"
    assert details["USDT"]["availBal"] == "1000000"
    (acc,) = ex.initial_pushes("keyA", {"channel": "account", "ccy": "BTC"})
    assert [d["ccy"] for d in acc.data[0]["details"]] == ["BTC"]
    assert acc.ccy == "BTC"
    (pos,) = ex.initial_pushes("keyA", {"channel": "positions", "instType": "ANY"})
    assert pos.data == []
    assert pos.extra is not None
    assert pos.extra["eventType"] == "snapshot"
    ex.trade_op("keyA", "private", {"id": "p", "op": "order", "args": [{
        "instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "sell", "ordType": "market",
        "sz": "3"}]})
    (pos,) = ex.initial_pushes("keyA", {"channel": "positions", "instType": "SWAP"})
    assert [p["pos"] for p in pos.data] == ["-3"]
    (pos,) = ex.initial_pushes("keyA", {"channel": "positions", "instType": "OPTION"})
    assert pos.data == []
    (bp,) = ex.initial_pushes("keyA", {"channel": "balance_and_position"})
    assert bp.data[0]["eventType"] == "snapshot"
    assert [p["pos"] for p in bp.data[0]["posData"]] == ["-3"]
    (ins,) = ex.initial_pushes(None, {"channel": "instruments", "instType": "SPOT"})
    assert [i["instId"] for i in ins.data] == ["BTC-USDT", "ETH-USDT"]
    (sp,) = ex.initial_pushes(None, {"channel": "sprd-books5",
                                     "sprdId": "BTC-USDT_BTC-USDT-SWAP"})
    assert len(sp.data[0]["bids"][0]) == 3
    assert ex.initial_pushes(None, {"channel": "trades", "instId": "BTC-USDT"}) == []


def test_rest_instruments() -> None:
    ex, _ = make()
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


def test_rest_orders() -> None:
    ex, _ = make()
    bid = ex.book("BTC-USDT")[0][0][0]
    res = ex.trade_op("keyA", "private", {"id": "p", "op": "order", "args": [{
        "instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
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


@pytest.mark.parametrize(
    ("path", "arg", "code"),
    [
        ("public", {"channel": "tickers", "instId": "BTC-USDT"}, None),
        ("public", {"channel": "tickers", "instId": "NOPE"}, "60018"),
        ("public", {"channel": "tickers"}, "60013"),
        ("public", {"channel": "nonsense"}, "60018"),
        ("public", {"channel": "books", "instId": "BTC-USDT"}, None),
        ("public", {"channel": "instruments", "instType": "SPOT"}, None),
        ("public", {"channel": "instruments"}, "60013"),
        ("public", {"channel": "orders", "instType": "ANY"}, "60018"),
        ("private", {"channel": "orders", "instType": "ANY"}, None),
        ("private", {"channel": "orders"}, "60013"),
        ("private", {"channel": "orders", "instType": "BOND"}, "60018"),
        ("private", {"channel": "positions", "instType": "SPOT"}, "60018"),
        ("private", {"channel": "account", "ccy": "BTC"}, None),
        ("private", {"channel": "balance_and_position"}, None),
        ("private", {"channel": "sprd-orders"}, "64001"),
        ("public", {"channel": "candle1m", "instId": "BTC-USDT"}, "64001"),
        ("business", {"channel": "candle1m", "instId": "BTC-USDT"}, None),
        ("business", {"channel": "tickers", "instId": "BTC-USDT"}, "64002"),
        ("business", {"channel": "orders", "instType": "ANY"}, "64002"),
        ("business", {"channel": "sprd-orders"}, None),
        ("business", {"channel": "sprd-trades", "sprdId": "NOPE"}, "60018"),
        ("business", {"channel": "sprd-books5", "sprdId": "BTC-USDT_BTC-USDT-SWAP"}, None),
        ("business", {"channel": "sprd-books5"}, "60013"),
        ("public", {}, "60013"),
    ],
)
def test_channel_error(path: str, arg: dict[str, Any], code: str | None) -> None:
    ex, _ = make()
    err = ex.channel_error(path, arg)
    if code is None:
        assert err is None
    else:
        assert err is not None
        assert err[0] == code
        assert err[1]


def test_configurable_instruments_and_balances() -> None:
    from okx_trio.testing._engine_model import InstrumentSpec

    spec = InstrumentSpec("SOL-USDT", "SPOT", 7, tick_sz="0.01", lot_sz="0.01", min_sz="0.1",
                          start_px="150", level_sz="20", base_ccy="SOL", quote_ccy="USDT")
    ex = Exchange([KA], instruments=[spec], balances={"USDT": "500", "SOL": "2"},
                  now_ms=Clock())
    assert list(ex.instruments) == ["SOL-USDT"]
    assert ex.spreads == {}
    assert ex.accounts["keyA"].balances == {"USDT": D("500"), "SOL": D("2")}
    res = ex.trade_op("keyA", "private", {"id": "a", "op": "order", "args": [{
        "instIdCode": 7, "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "140",
        "sz": "4"}]})
    assert res.response["data"][0]["sCode"] == "51008"
    uid = ex.accounts["keyA"].uid
    assert len(uid) == 15
    assert uid.isdigit()
    with pytest.raises(ValueError, match="duplicate"):
        Exchange([KA], instruments=[spec, spec])
    with pytest.raises(ValueError, match="duplicate"):
        Exchange([KA, KA])
