"""The REST client's account endpoints against the simulator's accounts (signed)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing
from support.rest_api import (
    SWAP,
    UNKNOWN,
    WRONG,
    collect,
    rest_on_virtual_time,
    spot_buy,
    swap_market,
)

from okx_trio import OkxAuthError, views
from okx_trio._okx import REST_LIMITS
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS


async def test_balance_follows_the_accounts_trades(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        before = await rest.balance()
        assert isinstance(before, views.Account)
        assert {d.ccy for d in before.details} == {"BTC", "ETH", "USDT"}
        await rest.submit_new_order(spot_buy("0.01"))
        after = await rest.balance(["BTC", "USDT"])
        assert [d.ccy for d in after.details] == ["BTC", "USDT"]
        cash = sim.balances(CREDS.api_key)
        for detail in after.details:
            assert detail.cash_bal == cash[detail.ccy]
        btc = {d.ccy: d.cash_bal for d in before.details}["BTC"]
        assert after.details[0].cash_bal is not None
        assert btc is not None
        assert after.details[0].cash_bal > btc
        assert (await rest.balance("ETH")).details[0].ccy == "ETH"
        with pytest.raises(ValueError, match="currencies"):
            await rest.balance([f"C{i}" for i in range(21)])


async def test_positions_and_their_history(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (_, rest):
        assert await rest.positions() == []
        await rest.submit_new_order(swap_market("buy", "3"))
        (pos,) = await rest.positions(inst_type="SWAP")
        assert isinstance(pos, views.Position)
        assert (pos.inst_id, pos.pos, pos.mgn_mode) == (SWAP, Decimal(3), "cross")
        assert pos.avg_px is not None
        assert pos.avg_px > 0
        # Close in three steps, one (virtual) second apart: three history records.
        for sz in ("1", "1", "1"):
            await trio.sleep(1)
            await rest.submit_new_order(swap_market("sell", sz))
        assert await rest.positions() == []
        # A flat position is still listed when asked for by instId.
        (flat,) = await rest.positions(inst_id=SWAP)
        assert flat.pos == 0
        history = await collect(rest.positions_history(page_size=1))
        assert [h.type for h in history] == ["2", "1", "1"]
        assert [h.close_total_pos for h in history] == [Decimal(3), Decimal(2), Decimal(1)]
        assert all(h.open_max_pos == Decimal(3) and h.direction == "long" for h in history)
        assert history[0].u_time is not None
        assert history[-1].u_time is not None
        assert history[0].u_time > history[-1].u_time
        assert [h.pos_id for h in history] == [pos.pos_id] * 3
        assert await collect(rest.positions_history(after=history[0].u_time)) == history[1:]
        assert await collect(rest.positions_history(inst_type="FUTURES")) == []


async def test_config_leverage_and_max_size(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        config = await rest.account_config()
        assert config.uid == sim.engine.uid(CREDS.api_key)
        assert (config.pos_mode, config.acct_lv) == ("net_mode", "2")
        assert config.auto_loan is False

        (lev,) = await rest.leverage_info("cross", inst_id=SWAP)
        assert lev.lever == Decimal(10)
        (size10,) = await rest.max_size(SWAP, "cross")
        assert size10.max_buy is not None
        assert size10.max_buy > 0
        changed = await rest.set_leverage("5", "cross", inst_id=SWAP)
        assert (changed.inst_id, changed.lever) == (SWAP, Decimal(5))
        assert (await rest.leverage_info("cross", inst_id=SWAP))[0].lever == Decimal(5)
        # Half the leverage: about half the size the same margin holds.
        (size5,) = await rest.max_size(SWAP, "cross")
        assert size5.max_buy is not None
        assert abs(size5.max_buy * 2 - size10.max_buy) <= Decimal("0.02")
        # New positions hold margin at the new leverage.
        await rest.submit_new_order(swap_market("buy", "2"))
        (pos,) = await rest.positions()
        assert pos.lever == Decimal(5)
        assert pos.imr is not None
        assert pos.avg_px is not None
        assert pos.imr == 2 * pos.avg_px * Decimal("0.01") / 5

        (spot,) = await rest.max_size("BTC-USDT", "cash")
        assert spot.max_sell == sim.balances(CREDS.api_key)["BTC"]
        with pytest.raises(ValueError, match="mgn_mode"):
            await rest.set_leverage("5", "portfolio", inst_id=SWAP)
        with pytest.raises(ValueError, match="lever"):
            await rest.set_leverage("-1", "cross", inst_id=SWAP)
        with pytest.raises(ValueError, match="td_mode"):
            await rest.max_size(SWAP, "crossed")


async def test_bills_are_paged_back_by_bill_id(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        for _ in range(7):
            await rest.submit_new_order(spot_buy())
        bills = await collect(rest.bills(page_size=4))
        recorded = list(reversed(sim.engine.accounts[CREDS.api_key].bills))
        assert [b.bill_id for b in bills] == [r.bill_id for r in recorded]
        assert len(bills) >= 14  # one bill per currency a fill moves
        ids = [int(b.bill_id or 0) for b in bills]
        assert ids == sorted(ids, reverse=True)
        btc = [b for b in bills if b.ccy == "BTC"]
        assert all(b.type == "2" and b.sub_type == "1" for b in btc)
        assert btc[0].bal == sim.balances(CREDS.api_key)["BTC"]
        assert await collect(rest.bills(ccy="USDT", limit=3)) == [
            b for b in bills if b.ccy == "USDT"][:3]
        archive = await collect(rest.bills_archive())
        assert archive == bills


async def test_bills_burst_is_paced_to_five_per_second(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert REST_LIMITS["GET /api/v5/account/bills"][:2] == (5, 1.0)
    async with rest_on_virtual_time(monkeypatch) as (_, rest):
        for _ in range(10):
            await rest.submit_new_order(spot_buy())
        start = trio.current_time()
        bills = await collect(rest.bills(page_size=1))  # 21 requests, 4 per second paced
        assert len(bills) == 20
        assert trio.current_time() - start >= 4.0


@pytest.mark.parametrize(("creds", "code"), [(WRONG, "50113"), (UNKNOWN, "50111")])
async def test_a_wrong_key_is_refused_with_okxs_code(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch,
    creds: object, code: str,
) -> None:
    async with rest_on_virtual_time(monkeypatch, credentials=creds) as (_, rest):
        for call in (rest.balance(), rest.positions(), rest.account_config(),
                     rest.leverage_info("cross", inst_id=SWAP), rest.max_size(SWAP, "cross"),
                     rest.set_leverage("3", "cross", inst_id=SWAP),
                     collect(rest.bills()), collect(rest.positions_history())):
            with pytest.raises(OkxAuthError) as refused:
                await call
            assert refused.value.code == code


async def test_private_endpoints_need_credentials(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch, credentials=None) as (_, rest):
        with pytest.raises(ValueError, match="credentials"):
            await rest.balance()
        with pytest.raises(ValueError, match="credentials"):
            rest.bills()
