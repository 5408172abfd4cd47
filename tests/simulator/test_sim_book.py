"""The engine's order book: OKX's book checksum, and levels that keep running totals.

Book levels keep running totals of their queued orders (cost independent of queue depth).

Measured (CPU time, ``Exchange.trade_op`` directly, rate limits off) by placing
6,000 resting 0.001 BTC bids at one price 10 USDT under the best bid. Before the
running totals, each publish re-summed the level: 0.24 ms per order for the first
thousand, 1.5 ms for the sixth thousand; with 6,000 queued an in-place amend took
1.4 ms, a cancel 1.3 ms and a market step 2.2 ms. After: 0.15-0.30 ms per order
throughout, amend and cancel 0.14 ms, a market step 1.5 ms (1.3 ms with 1,000
queued; the rest is the 400-level book diff). These tests assert the mechanism
(totals that match a recount; how often an order's open size is read), not timings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from simulator_support import D, assert_consistent, bid_level, by_id, inside_bid, run_ok, spot

from okx_trio.testing._engine import Exchange
from okx_trio.testing._engine_book import book_checksum
from okx_trio.testing._engine_model import ZERO, Order


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


@pytest.fixture
def exchange_options() -> dict[str, Any]:
    return {"rate_limit": False, "balances": {"USDT": "100000000", "BTC": "10000"}}


def test_totals_follow_add_fill_amend_cancel_and_self_trade(ex: Exchange) -> None:
    px = inside_bid(ex)
    ids = []
    for i in range(6):
        key = "keyA" if i % 2 == 0 else "keyB"
        res = run_ok(ex, "order", [spot("buy", px, "0.003")], key=key)
        ids.append((key, res.response["data"][0]["ordId"]))
    lvl = bid_level(ex, px)
    assert lvl.synth == 0
    assert (lvl.user, lvl.by_key) == (D("0.018"), {"keyA": D("0.009"), "keyB": D("0.009")})
    assert_consistent(lvl)
    assert ex.book("BTC-USDT")[0][0] == (str(px), "0.018")

    # A synthetic-free taker (keyB selling) fills the head fully and the second partly;
    # keyB's own queued orders are self-trade cancelled as the queue reaches them.
    run_ok(ex, "order", [spot("sell", px, "0.004", "ioc")], key="keyB")
    assert_consistent(lvl)
    head, second, third = (by_id(ex, ord_id) for _, ord_id in ids[:3])
    assert (head.state, head.booked) == ("filled", ZERO)
    assert (second.state, second.booked) == ("canceled", ZERO)  # self-trade prevention
    assert (third.state, third.leaves, third.booked) == ("partially_filled", D("0.002"),
                                                          D("0.002"))
    assert lvl.user == D("0.002") + D("0.003") + D("0.003") + D("0.003")

    # In-place shrink (same price, smaller size) keeps the queue position.
    run_ok(ex, "amend-order", [{"instIdCode": 100001, "ordId": ids[4][1], "newSz": "0.001"}])
    assert_consistent(lvl)
    assert lvl.by_key["keyA"] == D("0.002") + D("0.001")
    # Growing it re-queues at the back with the new size.
    run_ok(ex, "amend-order", [{"instIdCode": 100001, "ordId": ids[4][1], "newSz": "0.005"}])
    assert_consistent(lvl)
    assert lvl.orders[-1].ord_id == ids[4][1]
    # Amending the price moves the size to the other level.
    run_ok(ex, "amend-order", [{"instIdCode": 100001, "ordId": ids[3][1],
                             "newPx": str(px - 1)}], key="keyB")
    assert_consistent(lvl)
    assert_consistent(bid_level(ex, px - 1))
    assert "keyB" in bid_level(ex, px - 1).by_key

    for key, ord_id in ids:
        if by_id(ex, ord_id).pending:
            run_ok(ex, "cancel-order", [{"instIdCode": 100001, "ordId": ord_id}], key=key)
    assert px not in ex.instruments["BTC-USDT"].book.bids.levels
    assert all(o.booked == 0 for o in ex.order_list())


def test_peek_excludes_own_orders_through_the_per_account_total(ex: Exchange) -> None:
    px = inside_bid(ex)
    run_ok(ex, "order", [spot("buy", px, "0.002")], key="keyA")
    run_ok(ex, "order", [spot("buy", px, "0.003")], key="keyB")
    lvl = bid_level(ex, px)
    assert lvl.others("keyA") == D("0.003")
    assert lvl.others("keyB") == D("0.002")
    assert lvl.others(None) == D("0.005")
    # keyA's fill-or-kill sell can only count keyB's 0.003 at this price.
    res = ex.trade_op("keyA", "private", {"id": "f1", "op": "order",
                                          "args": [spot("sell", px, "0.004", "fok")]})
    assert res.response["data"][0]["sCode"] == "0"
    fok = ex.order_list()[-1]
    assert (fok.state, fok.acc_fill_sz) == ("canceled", ZERO)
    assert_consistent(lvl)


def test_placing_at_a_deep_level_reads_a_constant_number_of_open_sizes(
    monkeypatch: pytest.MonkeyPatch,
    ex: Exchange,
) -> None:
    # Deep enough below the best bid that a market step does not trade it, and
    # off the synthetic grid.
    px = D(ex.book("BTC-USDT")[0][0][0]) - D("50.1")
    reads = 0
    real = Order.leaves

    def counted(self: Order) -> Decimal:
        nonlocal reads
        reads += 1
        return real.fget(self)  # type: ignore[no-any-return,misc]

    monkeypatch.setattr(Order, "leaves", property(counted))
    side = ex.instruments["BTC-USDT"].book.bids
    for depth in (10, 2000):
        while px not in side.levels or len(side.levels[px].orders) < depth:
            run_ok(ex, "order", [spot("buy", px, "0.001")])
        reads = 0
        run_ok(ex, "order", [spot("buy", px, "0.001")])
        newest = ex.order_list()[-1].ord_id
        run_ok(ex, "amend-order", [{"instIdCode": 100001, "ordId": newest, "newSz": "0.0005"}])
        run_ok(ex, "cancel-order", [{"instIdCode": 100001, "ordId": newest}])
        ex.market_step()
        # Before the running totals each of these re-summed the whole queue
        # (thousands of reads at depth 2000).
        assert reads < 60, (depth, reads)
    assert_consistent(side.levels[px])
