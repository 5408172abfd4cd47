"""Tests for the lazily built typed views of ``Push.data`` (okx_trio._views)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from okx_trio import Push, views
from okx_trio._convert import converter
from okx_trio._exceptions import OkxProtocolError
from okx_trio._views import (
    Account,
    BalanceAndPosition,
    BookData,
    BookLevel,
    Candle,
    Fill,
    Order,
    Position,
    SprdOrder,
    SprdTrade,
    Ticker,
    Trade,
    view_items,
    view_type,
)


def without_empty(item: dict[str, Any]) -> dict[str, Any]:
    """What a round trip gives back: empty strings read as None, None is omitted."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if value == "":
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = [without_empty(v) for v in value]
        out[key] = value
    return out


def round_trips(view: Any, item: dict[str, Any]) -> None:
    assert converter.unstructure(view) == without_empty(item)
    assert converter.structure(converter.unstructure(view), type(view)) == view


TICKER = {
    "instType": "SPOT",
    "instId": "BTC-USDT",
    "last": "9999.99",
    "lastSz": "0.1",
    "askPx": "10000",
    "askSz": "1",
    "bidPx": "9999.9",
    "bidSz": "2",
    "open24h": "9000",
    "high24h": "10100",
    "low24h": "8900",
    "volCcy24h": "123.4",
    "vol24h": "0.0123",
    "sodUtc0": "9500",
    "sodUtc8": "9400",
    "ts": "1700000000000",
    "newField2027": {"nested": [1, 2]},
}

ORDER = {
    "instType": "SPOT",
    "instId": "BTC-USDT",
    "ordId": "683000000000000001",
    "clOrdId": "b15",
    "tag": "",
    "px": "30000",
    "sz": "0.010",
    "ordType": "limit",
    "side": "buy",
    "posSide": "",
    "tdMode": "cash",
    "state": "live",
    "accFillSz": "0",
    "avgPx": "0",
    "fillPx": "",
    "fillSz": "0",
    "tradeId": "",
    "fillTime": "",
    "fee": "0",
    "feeCcy": "BTC",
    "reqId": "",
    "amendResult": "",
    "cancelSource": "",
    "code": "0",
    "msg": "",
    "reduceOnly": "false",
    "isTpLimit": "true",
    "attachAlgoOrds": [{"attachAlgoId": "1", "tpTriggerPx": "31000"}],
    "linkedAlgoOrd": {"algoId": ""},
    "cTime": "1700000000123",
    "uTime": "1700000000124",
}


def test_ticker_view_types_and_unknown_field_kept() -> None:
    push = Push(arg={"channel": "tickers", "instId": "BTC-USDT"}, data=[TICKER])
    (ticker,) = push.view()
    assert isinstance(ticker, Ticker)
    assert ticker.inst_id == "BTC-USDT"
    assert ticker.last == Decimal("9999.99")
    assert ticker.open_24h == Decimal("9000")
    assert ticker.vol_ccy_24h == Decimal("123.4")
    assert ticker.sod_utc8 == Decimal("9400")
    assert ticker.ts == 1700000000000
    assert ticker.extra == {"newField2027": {"nested": [1, 2]}}
    round_trips(ticker, TICKER)
    # The push itself is untouched: data stays the raw dicts.
    assert push.data[0] is TICKER


def test_order_view_empty_strings_bools_and_extra() -> None:
    (order,) = view_items("orders", [ORDER])
    assert isinstance(order, Order)
    assert order.ord_id == "683000000000000001"
    assert order.cl_ord_id == "b15"
    assert order.sz == Decimal("0.010")
    assert order.tag is None
    assert order.fill_px is None
    assert order.fill_time is None
    assert order.trade_id is None
    assert order.code == "0"
    assert order.reduce_only is False
    assert order.is_tp_limit is True
    assert order.attach_algo_ords == [{"attachAlgoId": "1", "tpTriggerPx": "31000"}]
    assert order.c_time == 1700000000123
    assert order.u_time == 1700000000124
    assert order.extra == {"linkedAlgoOrd": {"algoId": ""}}
    round_trips(order, ORDER)


def test_trades_fills_positions() -> None:
    trade = {
        "instId": "BTC-USDT",
        "tradeId": "130639474",
        "px": "42219.9",
        "sz": "0.12060306",
        "side": "buy",
        "ts": "1630048897897",
        "count": "3",
        "source": "0",
        "seqId": 1234,
    }
    (t,) = view_items("trades", [trade])
    assert t == Trade(
        inst_id="BTC-USDT",
        trade_id="130639474",
        px=Decimal("42219.9"),
        sz=Decimal("0.12060306"),
        side="buy",
        count=3,
        source="0",
        seq_id=1234,
        ts=1630048897897,
    )
    round_trips(t, trade)
    assert isinstance(view_items("trades-all", [trade])[0], Trade)

    fill = {
        "instId": "BTC-USDT-SWAP",
        "fillSz": "100",
        "fillPx": "70000",
        "side": "buy",
        "ts": "1705449605015",
        "ordId": "680800019749904384",
        "clOrdId": "0",
        "tradeId": "12345",
        "execType": "T",
        "count": "10",
    }
    (f,) = view_items("fills", [fill])
    assert isinstance(f, Fill)
    assert f.fill_px == Decimal("70000")
    assert f.count == 10
    assert f.cl_ord_id == "0"
    round_trips(f, fill)

    position = {
        "instType": "SWAP",
        "instId": "BTC-USDT-SWAP",
        "mgnMode": "cross",
        "posId": "307173036051017730",
        "posSide": "net",
        "pos": "-2",
        "avgPx": "41000.5",
        "upl": "",
        "lever": "10",
        "liqPx": "",
        "closeOrderAlgo": [],
        "cTime": "1700000000000",
        "uTime": "1700000000001",
        "pTime": "1700000000002",
        "bizRefId": "x",
    }
    (p,) = view_items("positions", [position])
    assert isinstance(p, Position)
    assert p.pos == Decimal("-2")
    assert p.upl is None
    assert p.close_order_algo == []
    assert p.p_time == 1700000000002
    assert p.extra == {"bizRefId": "x"}
    assert converter.structure(converter.unstructure(p), Position) == p


def test_account_with_details() -> None:
    account = {
        "uTime": "1700000000000",
        "totalEq": "41624.32",
        "isoEq": "3624.32",
        "adjEq": "",
        "mgnRatio": "",
        "details": [
            {
                "ccy": "BTC",
                "eq": "1.5",
                "cashBal": "1.5",
                "availBal": "1.2",
                "frozenBal": "0.3",
                "eqUsd": "60000",
                "uTime": "1700000000000",
                "smtSyncEq": "0",
            },
            {"ccy": "USDT", "eq": "100", "upl": ""},
        ],
        "newTopLevel": "1",
    }
    (acct,) = view_items("account", [account])
    assert isinstance(acct, Account)
    assert acct.total_eq == Decimal("41624.32")
    assert acct.adj_eq is None
    btc, usdt = acct.details
    assert btc.ccy == "BTC"
    assert btc.avail_bal == Decimal("1.2")
    assert btc.u_time == 1700000000000
    assert btc.extra == {"smtSyncEq": "0"}
    assert usdt.upl is None
    assert acct.extra == {"newTopLevel": "1"}
    round_trips(acct, account)


def test_balance_and_position() -> None:
    item = {
        "pTime": "1700000000000",
        "eventType": "filled",
        "balData": [{"ccy": "USDT", "cashBal": "1000.5", "uTime": "1700000000000"}],
        "posData": [
            {
                "posId": "1",
                "tradeId": "2",
                "instId": "BTC-USDT-SWAP",
                "instType": "SWAP",
                "mgnMode": "cross",
                "posSide": "net",
                "pos": "3",
                "ccy": "USDT",
                "posCcy": "",
                "avgPx": "70000",
                "nonSettleAvgPx": "",
                "settledPnl": "",
                "uTime": "1700000000000",
            }
        ],
        "trades": [{"instId": "BTC-USDT-SWAP", "tradeId": "2"}],
    }
    (bp,) = view_items("balance_and_position", [item])
    assert isinstance(bp, BalanceAndPosition)
    assert bp.event_type == "filled"
    assert bp.bal_data[0].cash_bal == Decimal("1000.5")
    assert bp.pos_data[0].pos == Decimal("3")
    assert bp.pos_data[0].pos_ccy is None
    assert bp.trades[0].trade_id == "2"
    round_trips(bp, item)


def test_spread_orders_and_trades_with_legs() -> None:
    order = {
        "sprdId": "BTC-USDT_BTC-USDT-SWAP",
        "ordId": "412",
        "clOrdId": "sp1",
        "tag": "",
        "px": "12",
        "sz": "1",
        "ordType": "limit",
        "side": "buy",
        "fillSz": "0",
        "fillPx": "",
        "tradeId": "",
        "accFillSz": "0",
        "pendingFillSz": "1",
        "pendingSettleSz": "0",
        "canceledSz": "0",
        "state": "live",
        "avgPx": "0",
        "cancelSource": "",
        "uTime": "1",
        "cTime": "1",
        "code": "0",
        "msg": "",
        "reqId": "",
        "amendResult": "",
    }
    (so,) = view_items("sprd-orders", [order])
    assert isinstance(so, SprdOrder)
    assert so.pending_fill_sz == Decimal("1")
    assert so.state == "live"
    round_trips(so, order)

    trade = {
        "sprdId": "BTC-USDT_BTC-USDT-SWAP",
        "tradeId": "9",
        "ordId": "412",
        "clOrdId": "sp1",
        "tag": "",
        "fillPx": "12",
        "fillSz": "1",
        "side": "buy",
        "state": "filled",
        "execType": "M",
        "ts": "1700000000000",
        "code": "0",
        "msg": "",
        "legs": [
            {
                "instId": "BTC-USDT",
                "px": "70000",
                "sz": "1",
                "szCont": "",
                "side": "buy",
                "fillPnl": "",
                "fee": "-0.1",
                "feeCcy": "USDT",
                "tradeId": "100",
                "legFuture": "y",
            },
            {"instId": "BTC-USDT-SWAP", "px": "70012", "sz": "1", "szCont": "0.01"},
        ],
    }
    (st_,) = view_items("sprd-trades", [trade])
    assert isinstance(st_, SprdTrade)
    assert [leg.inst_id for leg in st_.legs] == ["BTC-USDT", "BTC-USDT-SWAP"]
    assert st_.legs[0].fee == Decimal("-0.1")
    assert st_.legs[0].extra == {"legFuture": "y"}
    assert st_.legs[1].sz_cont == Decimal("0.01")
    round_trips(st_, trade)


def test_books_levels() -> None:
    item = {
        "asks": [["100.6", "3", "0", "2"], ["100.8", "1", "0", "1"]],
        "bids": [["100.5", "2", "0", "1"]],
        "ts": "1700000000000",
        "checksum": 1210148172,
        "prevSeqId": -1,
        "seqId": 1000,
    }
    push = Push(arg={"channel": "books", "instId": "X"}, data=[item], action="snapshot")
    (book,) = push.view()
    assert isinstance(book, BookData)
    assert book.asks[0] == BookLevel(Decimal("100.6"), Decimal("3"), 2)
    assert book.bids == [BookLevel(Decimal("100.5"), Decimal("2"), 1)]
    assert book.prev_seq_id == -1
    assert book.seq_id == 1000
    assert book.checksum == 1210148172
    round_trips(book, item)
    books5 = {"asks": [["1", "1", "0", "1"]], "bids": [], "instId": "X", "ts": "1", "seqId": 2}
    (b5,) = view_items("books5", [books5])
    assert b5.inst_id == "X"
    assert b5.prev_seq_id is None
    for channel in ("bbo-tbt", "books-l2-tbt", "books50-l2-tbt"):
        assert view_type(channel) is BookData


def test_candles() -> None:
    row = ["1700000000000", "1", "2", "0.5", "1.5", "10", "20", "30", "1"]
    push = Push(arg={"channel": "candle1m", "instId": "X"}, data=[row])
    (candle,) = push.view()
    assert candle == Candle(
        ts=1700000000000,
        open=Decimal("1"),
        high=Decimal("2"),
        low=Decimal("0.5"),
        close=Decimal("1.5"),
        vol=Decimal("10"),
        vol_ccy=Decimal("20"),
        vol_ccy_quote=Decimal("30"),
        confirm=True,
    )
    assert converter.unstructure(candle) == row
    mark = ["1700000000000", "1", "2", "0.5", "1.5", "0"]
    (m,) = view_items("mark-price-candle1H", [mark])
    assert m.vol is None
    assert m.confirm is False
    assert converter.unstructure(m) == mark
    future = [*row, "extra-col"]
    (fc,) = view_items("candle1s", [future])
    assert fc.extra == ["extra-col"]
    assert converter.unstructure(fc) == future
    assert view_type("index-candle1D") is Candle
    assert view_type("sprd-candle1m") is Candle


def test_mark_price_and_funding_rate_pushes_have_the_rest_views() -> None:
    push = Push(arg={"channel": "mark-price", "instId": "BTC-USDT-SWAP"},
                data=[{"instType": "SWAP", "instId": "BTC-USDT-SWAP", "markPx": "60000.5",
                       "ts": "1700000000000"}])
    (mark,) = push.view_as(views.MarkPrice)
    assert (mark.mark_px, mark.ts) == (Decimal("60000.5"), 1_700_000_000_000)
    push = Push(arg={"channel": "funding-rate", "instId": "BTC-USDT-SWAP"},
                data=[{"instId": "BTC-USDT-SWAP", "fundingRate": "0.0001",
                       "fundingTime": "1700006400000", "nextFundingRate": ""}])
    (rate,) = push.view_as(views.FundingRate)
    assert (rate.funding_rate, rate.next_funding_rate) == (Decimal("0.0001"), None)
    assert rate.funding_time == 1_700_006_400_000


def test_unknown_channel_gives_raw_dicts() -> None:
    data = [{"instId": "BTC-USD", "idxPx": "1"}]
    push = Push(arg={"channel": "index-tickers", "instId": "BTC-USD"}, data=data)
    views = push.view()
    assert views == data
    assert views is not data
    assert views[0] is data[0]
    assert Push(arg={}, data=[]).view() == []


@pytest.mark.parametrize(
    ("channel", "item"),
    [
        ("tickers", {"last": "not-a-number"}),
        ("orders", {"reduceOnly": "maybe"}),
        ("orders", {"cTime": "12.5"}),
        ("orders", "not a dict"),
        ("books", {"asks": [["1"]]}),
        ("candle1m", ["1700000000000", "1"]),
        ("candle1m", ["", "1", "2", "3", "4", "0"]),
        ("account", {"details": [{"eq": "x"}]}),
    ],
)
def test_malformed_items_raise_protocol_error(channel: str, item: Any) -> None:
    with pytest.raises(OkxProtocolError, match=channel):
        view_items(channel, [item])


def test_views_are_built_on_each_call_and_frozen() -> None:
    push = Push(arg={"channel": "orders", "instType": "ANY"}, data=[ORDER])
    first = push.view()
    second = push.view()
    assert first == second
    assert first[0] is not second[0]
    with pytest.raises(AttributeError):
        first[0].state = "filled"


_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=4).map(
    lambda d: format(d, "f")
)


@settings(max_examples=80, deadline=None)
@given(
    px=st.one_of(st.just(""), _decimals),
    sz=_decimals,
    state=st.sampled_from(["live", "partially_filled", "filled", "canceled", ""]),
    u_time=st.integers(0, 2**45).map(str),
    reduce_only=st.sampled_from(["true", "false", ""]),
    unknown=st.dictionaries(
        st.text("abcdefXYZ", min_size=3, max_size=8).map(lambda s: "zz" + s),
        st.one_of(st.text(min_size=1, max_size=5), st.integers(), st.none()),
        max_size=4,
    ),
)
def test_property_order_round_trip_keeps_unknown_fields(
    px: str, sz: str, state: str, u_time: str, reduce_only: str, unknown: dict[str, Any]
) -> None:
    item = {
        "ordId": "1",
        "px": px,
        "sz": sz,
        "state": state,
        "uTime": u_time,
        "reduceOnly": reduce_only,
        **unknown,
    }
    (order,) = view_items("orders", [item])
    assert order.extra == unknown
    assert order.px == (Decimal(px) if px else None)
    assert order.u_time == int(u_time)
    round_trips(order, item)
