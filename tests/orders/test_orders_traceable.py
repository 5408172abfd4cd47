"""Every order is traceable: a place without clOrdId gets a generated one, on
every place path, visible on the ack and on every error, and it is the id the
exchange files the order under."""

from __future__ import annotations

import re

import pytest
import trio
import trio.testing
from support.orders import BTC, SPREAD, ask, bid, mid, trading

from okx_trio import (
    OkxBatchError,
    OkxConnectionLost,
    OkxOrderError,
    OkxRequestTimeout,
)

ID = re.compile(r"^[A-Za-z0-9]{1,32}$")


async def test_acks_carry_generated_ids_the_exchange_uses(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        async with trading() as (sim, api, _):
            m = mid(sim)
            single = await api.submit_new_order(bid(m - 50))
            batch = await api.submit_multiple_orders([bid(m - 60), ask(m + 60), bid(m - 70)])
            spread = await api.submit_spread_order(
                {"sprdId": SPREAD, "side": "buy", "ordType": "limit", "px": "15", "sz": "0.01"}
            )
            given = await api.submit_new_order(bid(m - 80, clOrdId="mine1"))
            acks = [single, *batch, spread]
            ids = [a.cl_ord_id for a in acks]
            assert all(i is not None and ID.match(i) for i in ids)
            assert len(set(ids)) == len(ids)
            for ack in acks:
                order = sim.orders.find(cl_ord_id=ack.cl_ord_id)
                assert order is not None
                assert order.ord_id == ack.ord_id
            assert given.cl_ord_id == "mine1"
            assert sim.orders.find(cl_ord_id="mine1") is not None
            sent = [a["clOrdId"] for f in sim.frames.ops("batch-orders") for a in f["args"]]
            assert sent == [a.cl_ord_id for a in batch]


async def test_refusals_carry_the_generated_ids(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(30):
        async with trading() as (sim, api, _):
            m = mid(sim)
            with pytest.raises(OkxOrderError) as single:
                await api.submit_new_order(bid(m, sz="0.000001"))  # under the minimum: 51020
            assert single.value.s_code == "51020"
            assert single.value.ack is not None
            assert single.value.ack.cl_ord_id
            sent = sim.frames.ops("order")[-1]["args"][0]["clOrdId"]
            assert single.value.ack.cl_ord_id == sent

            with pytest.raises(OkxBatchError) as batch:
                await api.submit_multiple_orders([bid(m - 50), bid(m, sz="0.000001")])
            acks = batch.value.acks
            sent_batch = [a["clOrdId"] for a in sim.frames.ops("batch-orders")[-1]["args"]]
            assert [a.cl_ord_id for a in acks] == sent_batch
            assert [a.ok for a in acks] == [True, False]

            with pytest.raises(OkxOrderError) as spread:
                await api.submit_spread_order(
                    {"sprdId": SPREAD, "side": "buy", "ordType": "limit", "px": "15",
                     "sz": "0.001"}
                )
            assert spread.value.ack is not None
            assert spread.value.ack.cl_ord_id == sim.frames.ops("sprd-order")[-1]["args"][0][
                "clOrdId"
            ]


@pytest.mark.parametrize(
    ("op", "count"), [("order", 1), ("batch-orders", 3), ("sprd-order", 1)]
)
async def test_unknown_outcomes_carry_the_generated_ids(
    autojump_clock: trio.testing.MockClock, op: str, count: int
) -> None:
    with trio.fail_after(30):
        async with trading() as (sim, api, _):
            m = mid(sim)

            async def place() -> None:
                if op == "order":
                    await api.submit_new_order(bid(m - 50), timeout=2)
                elif op == "batch-orders":
                    await api.submit_multiple_orders([bid(m - 50), bid(m - 51), ask(m + 50)],
                                                     timeout=2)
                else:
                    await api.submit_spread_order(
                        {"sprdId": SPREAD, "side": "sell", "ordType": "limit", "px": "25",
                         "sz": "0.01"}, timeout=2,
                    )

            sim.faults.drop_on(op, when="after")
            with pytest.raises(OkxConnectionLost) as lost:
                await place()
            sim.faults.swallow(op, when="after")
            with pytest.raises(OkxRequestTimeout) as timed_out:
                await place()
            for exc in (lost.value, timed_out.value):
                ids = [item["clOrdId"] for item in exc.request]
                assert len(ids) == count
                assert all(ID.match(i) for i in ids)
                assert exc.cl_ord_id == ids[0]
                # The exchange acted: it holds every order under the generated id.
                assert all(sim.orders.find(cl_ord_id=i) is not None for i in ids)


async def test_place_by_inst_id_code_only_keeps_the_id_on_the_wire(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        async with trading() as (sim, api, _):
            ack = await api.submit_new_order(
                {"instIdCode": BTC, "tdMode": "cash", "side": "buy", "ordType": "market",
                 "sz": "10", "tgtCcy": "quote_ccy"}
            )
            order = sim.orders.find(cl_ord_id=ack.cl_ord_id)
            assert order is not None
            assert order.state == "filled"
