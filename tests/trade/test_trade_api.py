"""WsApiClient against the real simulator over loopback sockets (127.0.0.1, port 0).

Every test is bounded by ``trio.fail_after`` on the real clock; none uses the
autojump clock (that is test_trade_burst.py, over the simulator's memory links).
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
import trio

from okx_trio import (
    AmendOrder,
    AmendSpreadOrder,
    CancelOrder,
    CancelSpreadOrder,
    MassCancel,
    MassCancelSpread,
    OkxApiError,
    OkxBatchError,
    OkxOrderError,
    OkxOrderRateLimitError,
    OkxRateLimitError,
    OrderAck,
    PlaceOrder,
    PlaceSpreadOrder,
    WsApiClient,
    open_ws_api_client,
)
from okx_trio._formats import ID_RE
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, SimAccount, Simulator, open_simulator

BTC = 100001  # the simulator's default instIdCodes of BTC-USDT and ETH-USDT
ETH = 100002
SPRD = "BTC-USDT_BTC-USDT-SWAP"
TRADE_OPS = {
    "order",
    "batch-orders",
    "cancel-order",
    "batch-cancel-orders",
    "amend-order",
    "batch-amend-orders",
    "mass-cancel",
    "sprd-order",
    "sprd-amend-order",
    "sprd-cancel-order",
    "sprd-mass-cancel",
}
# mass-cancel needs Portfolio Margin mode and the MMP privilege, on OKX as here.
MARKET_MAKER = SimAccount(CREDS, portfolio_margin=True, mmp=True)


@asynccontextmanager
async def trading(
    sim_options: dict[str, Any] | None = None, **client_options: Any
) -> AsyncIterator[tuple[Simulator, WsApiClient]]:
    async with open_simulator(
        accounts=[MARKET_MAKER], market_interval=None, **(sim_options or {})
    ) as sim:
        options: dict[str, Any] = {
            "credentials": CREDS,
            "base_url": sim.base_url,
            "log_lifecycle": False,
        }
        options.update(client_options)
        async with open_ws_api_client(**options) as api:
            yield sim, api


def bid(px: str = "30000", sz: str = "0.0001", **fields: Any) -> dict[str, Any]:
    """A BTC-USDT limit buy far below the market: it rests."""
    return {
        "instIdCode": BTC,
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": px,
        "sz": sz,
        **fields,
    }


def trade_frames(sim: Simulator) -> list[Any]:
    return [r for r in sim.frames if r.op in TRADE_OPS]


# ---------------------------------------------------------------------------
# Each of the eleven methods succeeding


async def test_order_methods_succeed_with_real_acks() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            ack = await api.submit_new_order(bid(tag="mytag"))
            assert isinstance(ack, OrderAck)
            assert ack.s_code == "0"
            assert ack.ord_id
            assert ack.cl_ord_id is not None
            assert ID_RE.match(ack.cl_ord_id)
            assert ack.tag == "mytag"
            assert isinstance(ack.ts, int)  # ms, as in the views
            assert ack.ts > 1_600_000_000_000
            assert ack.sub_code is None  # "" on the wire: absent
            order = sim.orders[ack.ord_id]
            assert order.cl_ord_id == ack.cl_ord_id
            assert order.state == "live"

            acks = await api.submit_multiple_orders(
                [
                    PlaceOrder(
                        inst_id_code=BTC,
                        td_mode="cash",
                        side="buy",
                        ord_type="limit",
                        px=Decimal("29000"),
                        sz="0.0001",
                        cl_ord_id="batch1",
                    ),
                    bid("28000", clOrdId="batch2"),
                ]
            )
            assert [a.cl_ord_id for a in acks] == ["batch1", "batch2"]
            assert all(a.ok and a.ord_id for a in acks)
            # One convention across ops: a field OKX leaves empty is None.
            assert [(a.tag, a.sub_code, a.req_id) for a in acks] == [(None, None, None)] * 2

            amended = await api.amend_order(
                AmendOrder(inst_id_code=BTC, ord_id=ack.ord_id, new_px="30001", req_id="r1")
            )
            assert amended.ok
            assert amended.req_id == "r1"
            assert amended.ord_id == ack.ord_id

            amends = await api.amend_multiple_orders(
                [
                    {"instIdCode": BTC, "clOrdId": "batch1", "newSz": "0.0002", "reqId": "r2"},
                    {"instIdCode": BTC, "clOrdId": "batch2", "newPx": "28001"},
                ]
            )
            assert amends[0].req_id == "r2"
            assert amends[1].req_id is None
            assert [a.cl_ord_id for a in amends] == ["batch1", "batch2"]

            cancelled = await api.cancel_order(CancelOrder(inst_id_code=BTC, ord_id=ack.ord_id))
            assert cancelled.ok
            assert cancelled.ord_id == ack.ord_id
            assert (cancelled.tag, cancelled.req_id, cancelled.sub_code) == (None, None, None)
            assert isinstance(cancelled.ts, int)
            cancels = await api.cancel_multiple_orders(
                [{"instIdCode": BTC, "clOrdId": "batch1"}, {"instIdCode": BTC, "clOrdId": "batch2"}]
            )
            assert [a.cl_ord_id for a in cancels] == ["batch1", "batch2"]
            assert {o.state for o in sim.orders} == {"canceled"}

            assert (
                await api.mass_cancel_orders(
                    MassCancel(inst_type="OPTION", inst_family="BTC-USD", lock_interval="0")
                )
                is True
            )


async def test_spread_methods_succeed_with_real_acks() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            ack = await api.submit_spread_order(
                PlaceSpreadOrder(
                    sprd_id=SPRD, side="buy", ord_type="limit", sz="1", px="1", tag="sp1"
                )
            )
            assert ack.ok
            assert ack.ord_id
            assert ack.cl_ord_id is not None
            assert ID_RE.match(ack.cl_ord_id)
            assert ack.tag == "sp1"
            amended = await api.amend_spread_order(
                AmendSpreadOrder(ord_id=ack.ord_id, new_px="1.5", req_id="q1")
            )
            assert amended.ok
            assert amended.req_id == "q1"
            cancelled = await api.cancel_spread_order(CancelSpreadOrder(cl_ord_id=ack.cl_ord_id))
            assert cancelled.ok
            assert cancelled.ord_id == ack.ord_id
            assert sim.orders[ack.ord_id].state == "canceled"

            second = await api.submit_spread_order(
                {"sprdId": SPRD, "side": "sell", "ordType": "limit", "sz": "1", "px": "90"}
            )
            assert await api.mass_cancel_spread_orders() is True
            assert sim.orders[second.ord_id or ""].state == "canceled"
            assert await api.mass_cancel_spread_orders(MassCancelSpread(sprd_id=SPRD)) is True


# ---------------------------------------------------------------------------
# Failures per item


async def test_single_ops_fail_with_order_error_and_ack() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            placed = await api.submit_new_order(bid(clOrdId="dup1"))
            with pytest.raises(OkxOrderError) as info:
                await api.submit_new_order(bid(clOrdId="dup1"))
            assert info.value.s_code == "51016"
            assert info.value.ack is not None
            assert info.value.ack.cl_ord_id == "dup1"
            assert info.value.code == "1"

            with pytest.raises(OkxOrderError) as info:
                await api.submit_new_order(bid(sz="1000"))  # 30 M USDT: far beyond the balance
            assert info.value.s_code == "51008"
            generated = info.value.ack.cl_ord_id if info.value.ack else None
            assert generated
            assert generated == trade_frames(sim)[-1].obj["args"][0]["clOrdId"]

            await api.cancel_order({"instIdCode": BTC, "ordId": placed.ord_id})
            with pytest.raises(OkxOrderError) as info:
                await api.cancel_order({"instIdCode": BTC, "ordId": placed.ord_id})
            assert info.value.s_code == "51400"
            with pytest.raises(OkxOrderError) as info:
                await api.amend_order({"instIdCode": BTC, "ordId": placed.ord_id, "newSz": "1"})
            assert info.value.s_code == "51503"
            with pytest.raises(OkxOrderError) as info:
                await api.cancel_spread_order({"ordId": "123456"})
            assert info.value.s_code == "51400"
            with pytest.raises(OkxOrderError) as info:
                await api.amend_spread_order({"ordId": "123456", "newSz": "2"})
            assert info.value.s_code == "51503"
            spread = {"sprdId": SPRD, "side": "buy", "ordType": "limit", "sz": "1", "px": "1"}
            await api.submit_spread_order({**spread, "clOrdId": "sdup"})
            with pytest.raises(OkxOrderError) as info:
                await api.submit_spread_order({**spread, "clOrdId": "sdup"})
            assert info.value.s_code == "51016"
            assert info.value.ack is not None
            assert info.value.ack.cl_ord_id == "sdup"


async def test_batch_partial_and_total_failures_keep_every_ack() -> None:
    with trio.fail_after(10):
        async with trading() as (_sim, api):
            await api.submit_new_order(bid(clOrdId="taken"))
            with pytest.raises(OkxBatchError) as info:
                await api.submit_multiple_orders(
                    [bid(clOrdId="fresh1"), bid(clOrdId="taken"), bid(clOrdId="fresh2")]
                )
            err = info.value
            assert err.code == "2"
            assert [a.cl_ord_id for a in err.acks] == ["fresh1", "taken", "fresh2"]
            assert [a.s_code for a in err.acks] == ["0", "51016", "0"]
            assert [a.cl_ord_id for a in err.succeeded] == ["fresh1", "fresh2"]
            assert all(a.ord_id for a in err.succeeded)
            assert err.rate_limited == []

            with pytest.raises(OkxBatchError) as info:
                await api.cancel_multiple_orders(
                    [{"instIdCode": BTC, "ordId": "1"}, {"instIdCode": BTC, "clOrdId": "nope"}]
                )
            assert info.value.code == "1"
            assert [a.s_code for a in info.value.acks] == ["51400", "51400"]
            assert info.value.succeeded == []


async def test_batch_with_a_rate_limited_item() -> None:
    """Item-shaped 50011 inside batches, partial (code 2) and total (code 1)."""
    with trio.fail_after(15):
        async with trading({"rate_limit_shape": "item"}, rate_limit=False) as (_sim, api):
            await api.submit_new_order(bid(clOrdId="taken"))
            # Fill BTC-USDT's batch-orders bucket to 299 of 300 orders.
            for n in [20] * 14 + [19]:
                await api.submit_multiple_orders([bid() for _ in range(n)])
            # Total failure (code 1): the first item takes the last slot and fails
            # on its own (duplicate clOrdId), the second is over the limit.
            with pytest.raises(OkxBatchError) as info:
                await api.submit_multiple_orders([bid(clOrdId="taken"), bid(clOrdId="over1")])
            err = info.value
            assert err.code == "1"
            assert [a.cl_ord_id for a in err.acks] == ["taken", "over1"]
            assert [a.s_code for a in err.acks] == ["51016", "50011"]
            assert [a.cl_ord_id for a in err.rate_limited] == ["over1"]
            assert err.succeeded == []
            # Partial (code 2): ETH-USDT's bucket is empty, BTC-USDT's is full.
            eth = {**bid(px="1000"), "instIdCode": ETH, "clOrdId": "eth1"}
            with pytest.raises(OkxBatchError) as info:
                await api.submit_multiple_orders([eth, bid(clOrdId="over2")])
            err = info.value
            assert err.code == "2"
            assert [a.s_code for a in err.acks] == ["0", "50011"]
            assert [a.cl_ord_id for a in err.rate_limited] == ["over2"]
            assert [a.cl_ord_id for a in err.succeeded] == ["eth1"]
            assert err.succeeded[0].ord_id


# ---------------------------------------------------------------------------
# Request-level errors


async def test_request_level_errors_are_api_errors() -> None:
    with trio.fail_after(10):
        async with trading() as (_sim, api):
            with pytest.raises(OkxApiError) as info:
                await api.mass_cancel_orders({"instType": "OPTION", "instFamily": "DOGE-USD"})
            assert type(info.value) is OkxApiError
            assert info.value.code != "0"
            assert info.value.data == []
            with pytest.raises(OkxApiError) as info:
                await api.mass_cancel_spread_orders({"sprdId": "NOPE_NOPE-SWAP"})
            assert type(info.value) is OkxApiError
            assert info.value.code == "51001"
            # An expTime already in the past: the exchange refuses the request whole.
            with pytest.raises(OkxApiError) as info:
                await api.submit_new_order(bid(), exp_time=int(time.time() * 1000) - 5000)
            assert type(info.value) is OkxApiError
            assert info.value.code == "50036"


@pytest.mark.parametrize("shape", ["top-level", "item"])
async def test_50011_in_both_shapes(shape: str) -> None:
    with trio.fail_after(10):
        async with trading({"rate_limit_shape": shape}, rate_limit=False) as (_sim, api):
            acks = []
            for _ in range(60):
                acks.append(await api.submit_new_order(bid()))
            assert all(a.ok for a in acks)
            if shape == "top-level":
                with pytest.raises(OkxRateLimitError) as info:
                    await api.submit_new_order(bid())
                assert not isinstance(info.value, OkxOrderError)
                assert info.value.code == "50011"
                # A one-item batch counts against the same bucket as the single op.
                with pytest.raises(OkxRateLimitError):
                    await api.submit_multiple_orders([bid()])
            else:
                with pytest.raises(OkxOrderRateLimitError) as info2:
                    await api.submit_new_order(bid(clOrdId="limited"))
                assert isinstance(info2.value, OkxRateLimitError)
                assert info2.value.s_code == "50011"
                assert info2.value.ack is not None
                assert info2.value.ack.cl_ord_id == "limited"


# ---------------------------------------------------------------------------
# instId -> instIdCode


class CountingFetch:
    def __init__(self, api: WsApiClient) -> None:
        self.rest = api.ws_client._core.rest  # the HTTP helper the instrument cache uses
        self.real = self.rest.get_instruments
        self.calls: list[str] = []
        self.rest.get_instruments = self

    async def __call__(self, inst_type: str, inst_id: str | None = None, **kw: Any) -> Any:
        self.calls.append(inst_type)
        return await self.real(inst_type, inst_id, **kw)


async def test_inst_id_mapped_to_code_on_the_wire() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            fetch = CountingFetch(api)
            ack = await api.submit_new_order({**bid(), "instIdCode": None, "instId": "BTC-USDT"})
            assert ack.ok
            sent = sim.frames.ops("order")[-1]["args"][0]
            assert sent["instIdCode"] == BTC
            assert sent["instId"] == "BTC-USDT"
            inst = api.instrument("BTC-USDT")
            assert inst is not None
            assert inst.inst_id_code == BTC
            assert inst.tick_sz is not None
            assert inst.lot_sz is not None
            assert inst.min_sz is not None
            await api.cancel_order(CancelOrder(inst_id="BTC-USDT", ord_id=ack.ord_id))
            assert sim.frames.ops("cancel-order")[-1]["args"][0]["instIdCode"] == BTC
            swap = await api.submit_new_order(
                {
                    "instId": "BTC-USDT-SWAP",
                    "tdMode": "cross",
                    "side": "buy",
                    "ordType": "limit",
                    "px": "30000",
                    "sz": "1",
                }
            )
            assert swap.ok
            swap_code = api.instrument("BTC-USDT-SWAP")
            assert swap_code is not None
            assert sim.frames.ops("order")[-1]["args"][0]["instIdCode"] == swap_code.inst_id_code
            assert fetch.calls == ["SPOT", "SWAP"]


async def test_one_fetch_for_many_concurrent_first_orders() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            fetch = CountingFetch(api)
            acks: list[OrderAck] = []

            async def place(inst_id: str) -> None:
                acks.append(
                    await api.submit_new_order(
                        {
                            **bid(),
                            "instIdCode": None,
                            "instId": inst_id,
                            "px": "1000" if inst_id == "ETH-USDT" else "30000",
                        }
                    )
                )

            async with trio.open_nursery() as nursery:
                for i in range(30):
                    nursery.start_soon(place, "BTC-USDT" if i % 3 else "ETH-USDT")
            assert fetch.calls == ["SPOT"]
            assert len(acks) == 30
            assert all(a.ok for a in acks)
            codes = {o["args"][0]["instIdCode"] for o in sim.frames.ops("order")}
            eth = api.instrument("ETH-USDT")
            assert eth is not None
            assert codes == {BTC, eth.inst_id_code}


async def test_unknown_inst_id_is_value_error_and_sends_nothing() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            with pytest.raises(ValueError, match="DOGE-XYZ"):
                await api.submit_new_order({**bid(), "instIdCode": None, "instId": "DOGE-XYZ"})
            with pytest.raises(ValueError, match="NOPE-USDT-SWAP"):
                await api.cancel_multiple_orders(
                    [{"instIdCode": BTC, "ordId": "1"}, {"instId": "NOPE-USDT-SWAP", "ordId": "2"}]
                )
            assert trade_frames(sim) == []


async def test_lot_and_tick_checked_locally_once_cached() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            await api.submit_new_order({**bid(), "instIdCode": None, "instId": "BTC-USDT"})
            before = len(trade_frames(sim))
            with pytest.raises(ValueError, match="51020"):
                await api.submit_new_order(bid(sz="0.000001"))
            with pytest.raises(ValueError, match="tick size"):
                await api.submit_new_order(bid(px="30000.05"))
            assert len(trade_frames(sim)) == before


# ---------------------------------------------------------------------------
# expTime


async def test_exp_time_on_the_four_ops_only() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            t0 = int(time.time() * 1000)
            a = await api.submit_new_order(bid(), timeout=5)
            await api.submit_multiple_orders([bid(clOrdId="e1")])
            await api.amend_order({"instIdCode": BTC, "ordId": a.ord_id, "newSz": "0.0002"})
            await api.amend_multiple_orders([{"instIdCode": BTC, "clOrdId": "e1", "newPx": "1"}])
            await api.cancel_order({"instIdCode": BTC, "ordId": a.ord_id})
            await api.cancel_multiple_orders([{"instIdCode": BTC, "clOrdId": "e1"}])
            await api.mass_cancel_orders({"instType": "OPTION", "instFamily": "BTC-USD"})
            s = await api.submit_spread_order(
                {"sprdId": SPRD, "side": "buy", "ordType": "limit", "sz": "1", "px": "1"}
            )
            await api.amend_spread_order({"ordId": s.ord_id, "newSz": "2"})
            await api.cancel_spread_order({"ordId": s.ord_id})
            await api.mass_cancel_spread_orders()
            frames = {r.op: r.obj for r in trade_frames(sim)}
            assert len(frames) == 11
            for op in ("order", "batch-orders", "amend-order", "batch-amend-orders"):
                exp = int(frames[op]["expTime"])
                # local clock plus the deadline (5 s for the first, 10 s default otherwise)
                assert t0 + 4000 < exp < int(time.time() * 1000) + 10_500
            assert int(frames["order"]["expTime"]) < t0 + 5500
            for op in TRADE_OPS - {"order", "batch-orders", "amend-order", "batch-amend-orders"}:
                assert "expTime" not in frames[op]


@asynccontextmanager
async def watchdog(seconds: float) -> AsyncIterator[None]:
    """Fail the block after ``seconds`` without setting a deadline on it: a trio
    deadline around a request is sent as its ``expTime``, a cancellation is not."""
    async with trio.open_nursery() as nursery:
        async def bark() -> None:
            await trio.sleep(seconds)
            raise trio.TooSlowError

        nursery.start_soon(bark)
        yield
        nursery.cancel_scope.cancel()


async def test_exp_time_honoured_by_the_exchange_clock() -> None:
    """The exchange's clock runs 20 s ahead: a 10 s deadline is already past there."""
    async with watchdog(10), trading() as (sim, api):
        sim.clock_offset_ms = 20_000
        api.set_time_offset_ms(0)
        with pytest.raises(OkxApiError) as info:
            await api.submit_new_order(bid())
        assert info.value.code == "50036"
        assert len(sim.orders) == 0
        # Without a deadline no expTime is sent, and the order goes through...
        assert (await api.submit_new_order(bid(), timeout=math.inf)).ok
        assert "expTime" not in sim.frames.ops("order")[-1]
        # ...and with the offset applied the deadline is right again.
        api.set_time_offset_ms(20_000)
        ack = await api.submit_new_order(bid())
        assert ack.ok
        assert int(sim.frames.ops("order")[-1]["expTime"]) > int(time.time() * 1000) + 25_000


async def test_explicit_exp_time_overrides_the_deadline() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            exp = int(time.time() * 1000) + 60_000
            await api.submit_new_order(bid(), exp_time=exp)
            assert sim.frames.ops("order")[-1]["expTime"] == str(exp)


async def test_no_exp_time_when_disabled() -> None:
    with trio.fail_after(10):
        async with trading(send_exp_time=False) as (sim, api):
            await api.submit_new_order(bid())
            assert "expTime" not in sim.frames.ops("order")[-1]


# ---------------------------------------------------------------------------
# Validation sends nothing; routing


async def test_validation_errors_send_nothing() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            bad_calls = [
                api.submit_new_order({**bid(), "sz": 0.1}),
                api.submit_new_order({**bid(), "clOrdId": "no-dashes"}),
                api.submit_new_order({**bid(), "tag": "x" * 17}),
                api.submit_new_order({**bid(), "px": None}),
                api.submit_multiple_orders([bid()] * 21),
                api.submit_multiple_orders([]),
                api.submit_multiple_orders([bid(clOrdId="a"), bid(clOrdId="a")]),
                api.cancel_order({"instIdCode": BTC}),
                api.amend_order({"instIdCode": BTC, "ordId": "1"}),
                api.amend_order({"instIdCode": BTC, "ordId": "1", "newSz": "1", "reqId": "r-1"}),
                api.mass_cancel_orders({"instFamily": "BTC-USD"}),
                api.submit_spread_order(
                    {"sprdId": SPRD, "side": "buy", "ordType": "limit", "sz": "1"}
                ),
                api.amend_spread_order({"ordId": "1"}),
                api.cancel_spread_order({}),
                api.mass_cancel_spread_orders({"sprdID": SPRD}),
                api.cancel_order({"instIdCode": BTC, "ordId": "1"}, exp_time=1),
                api.submit_new_order(bid(), timeout=-1),
            ]
            for call in bad_calls:
                with pytest.raises((ValueError, TypeError)):
                    await call
            assert trade_frames(sim) == []


async def test_routing_spread_on_business_orders_on_private() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            a = await api.submit_new_order(bid())
            await api.cancel_order({"instIdCode": BTC, "ordId": a.ord_id})
            await api.mass_cancel_orders({"instType": "OPTION", "instFamily": "BTC-USD"})
            s = await api.submit_spread_order(
                {"sprdId": SPRD, "side": "buy", "ordType": "limit", "sz": "1", "px": "1"}
            )
            await api.cancel_spread_order({"ordId": s.ord_id})
            await api.mass_cancel_spread_orders()
            paths = {r.op: r.path for r in trade_frames(sim)}
            assert paths == {
                "order": "private",
                "cancel-order": "private",
                "mass-cancel": "private",
                "sprd-order": "business",
                "sprd-cancel-order": "business",
                "sprd-mass-cancel": "business",
            }


async def test_connect_ws_api_logs_in_both_connections() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            await api.connect_ws_api()
            logins = {r.path for r in sim.frames if r.op == "login"}
            assert logins == {"private", "business"}
            assert trade_frames(sim) == []
            assert api.ws_client is not None


async def test_sync_time_measures_the_exchange_clock() -> None:
    with trio.fail_after(10):
        async with trading() as (sim, api):
            sim.clock_offset_ms = 7_000
            offset = await api.sync_time()
            assert 6_000 < offset < 8_000
            assert api.ws_client.time_offset_ms == offset
            ack = await api.submit_new_order(bid())
            assert ack.ok
