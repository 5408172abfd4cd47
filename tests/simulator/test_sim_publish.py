"""What the exchange pushes: book seqId chains and checksums, keepalives, snapshots, tickers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from simulator_support import KA, T0, Clock, D, Replica, books_updates

from okx_trio.testing._engine import Exchange
from okx_trio.testing._engine_book import book_checksum


@pytest.fixture
def exchange_options() -> dict[str, Any]:
    return {"accounts": [KA], "rate_limit": False}


@pytest.mark.parametrize("checksum", [False, True])
def test_books_chain_and_replica(
    checksum: bool,
    make_exchange: Callable[..., Exchange],
    clock: Clock,
) -> None:
    ex = make_exchange(checksum=checksum, seed=3)
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
                "instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
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


def test_books_l2_tbt_and_books50_chains(
    make_exchange: Callable[..., Exchange],
    clock: Clock,
) -> None:
    ex = make_exchange(seed=5)
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


def test_reset_and_heartbeat(make_exchange: Callable[..., Exchange], clock: Clock) -> None:
    ex = make_exchange(seed=11)
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


def test_books5_bbo_tickers_trades(make_exchange: Callable[..., Exchange], clock: Clock) -> None:
    ex = make_exchange(seed=2)
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


def test_initial_pushes_private_and_misc(ex: Exchange) -> None:
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
        "instIdCode": 200001, "tdMode": "cross", "side": "sell", "ordType": "market",
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


def _sync_from_rest(
    ex: Exchange, clock: Clock, channel: str, depth: int, rest: Callable[..., dict[str, Any]]
) -> Replica:
    """OKX's recipe without a snapshot: buffer the updates, take the REST snapshot,
    drop the updates it already holds; the first one kept must straddle it."""
    buffered = []
    for _ in range(3):
        clock.t += 100
        buffered += books_updates(ex.market_step(), "BTC-USDT", channel)
    first_prev = buffered[0]["prevSeqId"]
    snap = rest("BTC-USDT", 400, clock.t)
    assert isinstance(snap["seqId"], int)
    assert snap["seqId"] >= first_prev  # else OKX says: fetch again
    kept = [u for u in buffered if u["seqId"] > snap["seqId"]]
    replica = Replica({"bids": snap["bids"][:depth], "asks": snap["asks"][:depth],
                       "seqId": snap["seqId"], "prevSeqId": -1})
    if kept:
        assert kept[0]["prevSeqId"] <= snap["seqId"] < kept[0]["seqId"]
        replica.seq = kept[0]["prevSeqId"]
    for upd in kept:
        replica.apply(upd)
    for _ in range(20):
        clock.t += 100
        for upd in books_updates(ex.market_step(), "BTC-USDT", channel):
            replica.apply(upd)
    return replica


@pytest.mark.parametrize(("channel", "depth"), [("books", 400), ("books-l2-tbt", 400),
                                                ("books50-l2-tbt", 50)])
def test_book_channels_sync_from_the_rest_snapshot(
    channel: str, depth: int, make_exchange: Callable[..., Exchange], clock: Clock
) -> None:
    # books, books-l2-tbt and books50-l2-tbt share one seqId sequence, the one
    # GET /api/v5/market/books returns, so each can sync from it (OKX's recipe
    # for when the initial snapshot is gone).
    ex = make_exchange(seed=21, book_snapshots=False)
    assert ex.initial_pushes(None, {"channel": channel, "instId": "BTC-USDT"}) == []
    replica = _sync_from_rest(ex, clock, channel, depth, ex.rest.books)
    bids, asks = ex.book("BTC-USDT")
    rb, ra = replica.sides()
    assert [(lvl[0], lvl[1]) for lvl in rb] == bids[:depth]
    assert [(lvl[0], lvl[1]) for lvl in ra] == asks[:depth]


def test_books50_follows_the_books_sequence(
    make_exchange: Callable[..., Exchange], clock: Clock
) -> None:
    ex = make_exchange(seed=8)
    seen = 0
    for _ in range(30):
        clock.t += 100
        emits = ex.market_step()
        for upd in books_updates(emits, "BTC-USDT", "books50-l2-tbt"):
            (books,) = books_updates(emits, "BTC-USDT")
            assert upd["seqId"] == books["seqId"]
            seen += 1
    assert seen > 5


def test_books_rpi_channel_and_rest_twin(
    make_exchange: Callable[..., Exchange], clock: Clock
) -> None:
    ex = make_exchange(seed=13, book_snapshots=False)
    # books-rpi documents its initial full push: it comes whatever book_snapshots says.
    (snap,) = ex.initial_pushes(None, {"channel": "books-rpi", "instId": "BTC-USDT"})
    assert (snap.channel, snap.action) == ("books-rpi", "snapshot")
    item = snap.data[0]
    assert set(item) == {"asks", "bids", "ts", "prevSeqId", "seqId"}  # no checksum
    assert item["prevSeqId"] == -1
    books = ex.rest.books("BTC-USDT", 400, T0)
    assert item["seqId"] != books["seqId"]  # a sequence of its own
    # [price, totalQty, nonRpiQty, count]: no RPI liquidity, so nonRpiQty == totalQty.
    assert item["bids"] == [[p, s, s, c] for p, s, _, c in books["bids"]]
    replica = Replica(item)
    for _ in range(20):
        clock.t += 100
        for upd in books_updates(ex.market_step(), "BTC-USDT", "books-rpi"):
            assert "checksum" not in upd
            assert all(lvl[1] == lvl[2] for lvl in upd["bids"] + upd["asks"])
            replica.apply(upd)
    rest = ex.rest.books_rpi("BTC-USDT", 400, clock.t)
    assert rest["seqId"] == replica.seq
    rb, ra = replica.sides()
    assert (rest["bids"], rest["asks"]) == (rb, ra)
    assert len(ex.rest.books_rpi("BTC-USDT", 1, clock.t)["asks"]) == 1
    # A sequence reset reaches books-rpi too; its keepalive is empty and unchained.
    ex.reset_book_sequence("BTC-USDT")
    clock.t += 100
    (upd,) = books_updates(ex.market_step(), "BTC-USDT", "books-rpi")
    assert upd["seqId"] < upd["prevSeqId"] == replica.seq
    beat = ex.book_heartbeat("BTC-USDT", "books-rpi")
    assert beat is not None
    assert beat.data[0] == {"asks": [], "bids": [], "ts": beat.data[0]["ts"],
                            "prevSeqId": upd["seqId"], "seqId": upd["seqId"]}


def test_without_book_snapshots_other_channels_still_start_with_one(
    make_exchange: Callable[..., Exchange],
) -> None:
    ex = make_exchange(book_snapshots=False)
    for channel in ("books", "books-l2-tbt", "books50-l2-tbt"):
        assert ex.initial_pushes(None, {"channel": channel, "instId": "BTC-USDT"}) == []
    for channel in ("books5", "bbo-tbt", "tickers", "books-rpi"):
        assert ex.initial_pushes(None, {"channel": channel, "instId": "BTC-USDT"}), channel
