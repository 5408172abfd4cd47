"""The REST client's spread endpoints (``sprd/*``): spreads, orders, trades, the
order methods, and OKX's ``beginId``/``endId`` cursors."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing
from support.rest_api import SPRD, UNKNOWN, WRONG, collect, rest_on_virtual_time

from okx_trio import OkxAuthError, OkxOrderError, views
from okx_trio._okx import REST_LIMITS
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS


def sprd_bid(px: str, **more: str) -> dict[str, str]:
    return {"sprdId": SPRD, "side": "buy", "ordType": "limit", "px": px, "sz": "0.01", **more}


async def test_spreads_and_spread_orders(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        (spread,) = await rest.spreads()
        assert isinstance(spread, views.Spread)
        assert spread.sprd_id == SPRD
        assert [(leg.inst_id, leg.side) for leg in spread.legs] == [
            ("BTC-USDT", "sell"), ("BTC-USDT-SWAP", "buy")]
        assert spread.tick_sz == Decimal("0.1")
        assert await rest.spreads(inst_id="BTC-USDT-SWAP") == [spread]
        assert await rest.spreads(state="expired") == []

        acks = [await rest.submit_spread_order(sprd_bid(str(1 + i))) for i in range(5)]
        assert all(a.ok and a.cl_ord_id for a in acks)
        order = await rest.spread_order(ord_id=acks[0].ord_id)
        assert isinstance(order, views.SprdOrder)
        assert (order.state, order.px, order.avg_px) == ("live", Decimal(1), Decimal(0))
        assert (await rest.spread_order(cl_ord_id=acks[0].cl_ord_id)).ord_id == acks[0].ord_id

        newest_first = [a.ord_id for a in reversed(acks)]
        pages = rest.spread_orders_pending(page_size=2)
        assert [o.ord_id async for o in pages] == newest_first
        assert pages.pages == 3
        assert [o.ord_id for o in await collect(
            rest.spread_orders_pending(after=newest_first[1], before=newest_first[4]))
        ] == newest_first[2:4]

        amended = await rest.amend_spread_order({"ordId": acks[1].ord_id, "newPx": "1.5"})
        assert amended.ok
        assert (await rest.spread_order(ord_id=acks[1].ord_id)).px == Decimal("1.5")
        assert (await rest.cancel_spread_order({"ordId": acks[1].ord_id})).ok
        with pytest.raises(OkxOrderError) as again:
            await rest.cancel_spread_order({"ordId": acks[1].ord_id})
        assert again.value.op == "sprd-cancel-order"
        assert again.value.s_code in ("51400", "51401")
        assert await rest.mass_cancel_spread_orders()
        assert await collect(rest.spread_orders_pending()) == []
        assert {o.state for o in sim.orders} == {"canceled"}


async def test_spread_trades_are_paged_by_trade_id(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        # Buying above the spread's market crosses its book: one trade each.
        _, asks = sim.book(SPRD)
        cross = asks[0][0]
        acks = [await rest.submit_spread_order(sprd_bid(cross, ordType="ioc"))
                for _ in range(5)]
        trades = await collect(rest.spread_trades(page_size=2))
        recorded = list(reversed(sim.engine.accounts[CREDS.api_key].sprd_trades))
        assert [t.trade_id for t in trades] == [r["tradeId"] for r in recorded]
        assert {t.ord_id for t in trades} == {a.ord_id for a in acks}
        for trade in trades:
            assert isinstance(trade, views.SprdTrade)
            assert (trade.state, trade.side, trade.code) == ("filled", "buy", "0")
            assert [leg.inst_id for leg in trade.legs] == ["BTC-USDT", "BTC-USDT-SWAP"]
        assert await collect(rest.spread_trades(after=trades[0].trade_id)) == trades[1:]
        assert await collect(rest.spread_trades(ord_id=acks[2].ord_id)) == [
            t for t in trades if t.ord_id == acks[2].ord_id]


async def test_spread_pending_burst_is_paced_without_50011(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, window, _ = REST_LIMITS["GET /api/v5/sprd/orders-pending"]
    async with rest_on_virtual_time(monkeypatch) as (_, rest):
        for i in range(25):
            await rest.submit_spread_order(sprd_bid(str(Decimal(1) + Decimal(i) / 10)))
        start = trio.current_time()
        assert len(await collect(rest.spread_orders_pending(page_size=1))) == 25
        # 26 requests at 9 per 2 s.
        assert trio.current_time() - start >= 2 * window


@pytest.mark.parametrize(("creds", "code"), [(WRONG, "50113"), (UNKNOWN, "50111")])
async def test_a_wrong_key_is_refused_with_okxs_code(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch,
    creds: object, code: str,
) -> None:
    async with rest_on_virtual_time(monkeypatch, credentials=creds) as (sim, rest):
        for call in (rest.spread_order(ord_id="1"), collect(rest.spread_orders_pending()),
                     collect(rest.spread_trades()), rest.submit_spread_order(sprd_bid("1")),
                     rest.mass_cancel_spread_orders()):
            with pytest.raises(OkxAuthError) as refused:
                await call
            assert refused.value.code == code
        assert len(sim.orders) == 0
