"""Book levels keep running totals of their queued orders (cost independent of queue depth).

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

from okx_trio._models import Credentials
from okx_trio.testing._engine import Exchange, TradeResult
from okx_trio.testing._engine_book import Level
from okx_trio.testing._engine_model import ZERO, Order, fmt

KA = Credentials("keyA", "secretA", "passA")
KB = Credentials("keyB", "secretB", "passB")
T0 = 1_700_000_000_000
D = Decimal


def make() -> Exchange:
    return Exchange([KA, KB], now_ms=lambda: T0, rate_limit=False,
                    balances={"USDT": "100000000", "BTC": "10000"})


def run(ex: Exchange, op: str, args: list[dict[str, Any]], key: str = "keyA") -> TradeResult:
    res = ex.trade_op(key, "private", {"id": "x1", "op": op, "args": args})
    assert res.response["code"] == "0", res.response
    return res


def bid(px: Decimal, sz: str, ord_type: str = "limit", side: str = "buy") -> dict[str, Any]:
    return {"instId": "BTC-USDT", "tdMode": "cash", "side": side, "ordType": ord_type,
            "px": str(px), "sz": sz}


def inside_bid(ex: Exchange) -> Decimal:
    """A price strictly between the best bid and ask (so user orders form the best bid)."""
    bids, asks = ex.book("BTC-USDT")
    px = D(bids[0][0]) + D("0.1")
    assert px < D(asks[0][0])
    return px


def by_id(ex: Exchange, ord_id: str) -> Order:
    order = next((o for o in ex.order_list() if o.ord_id == ord_id), None)
    assert order is not None
    return order


def level(ex: Exchange, px: Decimal) -> Level:
    return ex.instruments["BTC-USDT"].book.bids.levels[px]


def recount(lvl: Level) -> tuple[Decimal, dict[str, Decimal]]:
    by_key: dict[str, Decimal] = {}
    for o in lvl.orders:
        by_key[o.api_key] = by_key.get(o.api_key, ZERO) + o.leaves
    return sum(by_key.values(), ZERO), by_key


def assert_consistent(lvl: Level) -> None:
    user, by_key = recount(lvl)
    assert (lvl.user, lvl.by_key) == (user, by_key)
    assert all(o.booked == o.leaves for o in lvl.orders)
    assert lvl.published() == [lvl.px_s, fmt(lvl.synth + user), "0",
                               str(len(lvl.orders) + (lvl.synth_cnt if lvl.synth else 0))]


def test_totals_follow_add_fill_amend_cancel_and_self_trade() -> None:
    ex = make()
    px = inside_bid(ex)
    ids = []
    for i in range(6):
        key = "keyA" if i % 2 == 0 else "keyB"
        res = run(ex, "order", [bid(px, "0.003")], key=key)
        ids.append((key, res.response["data"][0]["ordId"]))
    lvl = level(ex, px)
    assert lvl.synth == 0
    assert (lvl.user, lvl.by_key) == (D("0.018"), {"keyA": D("0.009"), "keyB": D("0.009")})
    assert_consistent(lvl)
    assert ex.book("BTC-USDT")[0][0] == (str(px), "0.018")

    # A synthetic-free taker (keyB selling) fills the head fully and the second partly;
    # keyB's own queued orders are self-trade cancelled as the queue reaches them.
    run(ex, "order", [bid(px, "0.004", "ioc", "sell")], key="keyB")
    assert_consistent(lvl)
    head, second, third = (by_id(ex, ord_id) for _, ord_id in ids[:3])
    assert (head.state, head.booked) == ("filled", ZERO)
    assert (second.state, second.booked) == ("canceled", ZERO)  # self-trade prevention
    assert (third.state, third.leaves, third.booked) == ("partially_filled", D("0.002"),
                                                          D("0.002"))
    assert lvl.user == D("0.002") + D("0.003") + D("0.003") + D("0.003")

    # In-place shrink (same price, smaller size) keeps the queue position.
    run(ex, "amend-order", [{"instId": "BTC-USDT", "ordId": ids[4][1], "newSz": "0.001"}])
    assert_consistent(lvl)
    assert lvl.by_key["keyA"] == D("0.002") + D("0.001")
    # Growing it re-queues at the back with the new size.
    run(ex, "amend-order", [{"instId": "BTC-USDT", "ordId": ids[4][1], "newSz": "0.005"}])
    assert_consistent(lvl)
    assert lvl.orders[-1].ord_id == ids[4][1]
    # Amending the price moves the size to the other level.
    run(ex, "amend-order", [{"instId": "BTC-USDT", "ordId": ids[3][1],
                             "newPx": str(px - 1)}], key="keyB")
    assert_consistent(lvl)
    assert_consistent(level(ex, px - 1))
    assert "keyB" in level(ex, px - 1).by_key

    for key, ord_id in ids:
        if by_id(ex, ord_id).pending:
            run(ex, "cancel-order", [{"instId": "BTC-USDT", "ordId": ord_id}], key=key)
    assert px not in ex.instruments["BTC-USDT"].book.bids.levels
    assert all(o.booked == 0 for o in ex.order_list())


def test_peek_excludes_own_orders_through_the_per_account_total() -> None:
    ex = make()
    px = inside_bid(ex)
    run(ex, "order", [bid(px, "0.002")], key="keyA")
    run(ex, "order", [bid(px, "0.003")], key="keyB")
    lvl = level(ex, px)
    assert lvl.others("keyA") == D("0.003")
    assert lvl.others("keyB") == D("0.002")
    assert lvl.others(None) == D("0.005")
    # keyA's fill-or-kill sell can only count keyB's 0.003 at this price.
    res = ex.trade_op("keyA", "private", {"id": "f1", "op": "order",
                                          "args": [bid(px, "0.004", "fok", "sell")]})
    assert res.response["data"][0]["sCode"] == "0"
    fok = ex.order_list()[-1]
    assert (fok.state, fok.acc_fill_sz) == ("canceled", ZERO)
    assert_consistent(lvl)


def test_placing_at_a_deep_level_reads_a_constant_number_of_open_sizes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ex = make()
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
            run(ex, "order", [bid(px, "0.001")])
        reads = 0
        run(ex, "order", [bid(px, "0.001")])
        newest = ex.order_list()[-1].ord_id
        run(ex, "amend-order", [{"instId": "BTC-USDT", "ordId": newest, "newSz": "0.0005"}])
        run(ex, "cancel-order", [{"instId": "BTC-USDT", "ordId": newest}])
        ex.market_step()
        # Before the running totals each of these re-summed the whole queue
        # (thousands of reads at depth 2000).
        assert reads < 60, (depth, reads)
    assert_consistent(side.levels[px])
