"""One mistake, one class: an order that breaks its instrument's rules raises
``OkxOrderRuleError`` (an ``OkxOrderError`` and a ``ValueError``) whether the
client knows the instrument (refused before sending) or not (the exchange's
51020/51121 answer).

It used to be a ``ValueError`` when the instrument list was cached and an
``OkxOrderError`` otherwise, so a bot's ``except`` caught it on one path only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

import okx_trio
from okx_trio import OkxOrderError, OkxOrderRuleError
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, Simulator, open_simulator

BY_CODE = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
           "px": "50000"}
BY_ID = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
         "px": "50000"}
# BTC-USDT in the simulator: lot 0.00000001, minimum 0.00001; BTC-USDT-SWAP: lot 0.01.


@asynccontextmanager
async def client() -> AsyncIterator[tuple[Simulator, okx_trio.WsApiClient]]:
    async with (
        open_simulator(accounts=[CREDS], market_interval=None) as sim,
        okx_trio.open_ws_api_client(credentials=CREDS, base_url=sim.base_url,
                                    transport=sim.connect_memory()) as api,
    ):
        yield sim, api


def orders_received(sim: Simulator) -> int:
    return sum(1 for r in sim.frames if r.op in ("order", "batch-orders"))


async def refused(api: okx_trio.WsApiClient, params: Any) -> OkxOrderRuleError:
    with pytest.raises(OkxOrderRuleError) as info:
        await api.submit_new_order(params)
    error = info.value
    assert isinstance(error, OkxOrderError)
    assert isinstance(error, ValueError)
    return error


async def test_below_minimum_same_class_cached_or_not(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with client() as (sim, api):
        # Named by code, nothing cached: the exchange judges it (51020).
        remote = await refused(api, {**BY_CODE, "sz": "0.000001"})
        assert remote.sent
        assert remote.s_code == "51020"
        assert orders_received(sim) == 1
        # Named by id: the list is fetched and the order refused before sending.
        local = await refused(api, {**BY_ID, "sz": "0.000001"})
        assert not local.sent
        assert local.s_code == "51020"
        assert "below the minimum order size 0.00001 of BTC-USDT" in str(local)
        assert "nothing was sent" in str(local)
        assert local.ack is not None
        assert local.ack.cl_ord_id  # generated, as for every place
        assert local.op == "order"
        # Now cached: the same code-only order is refused locally too.
        cached = await refused(api, {**BY_CODE, "sz": "0.000001"})
        assert not cached.sent
        assert orders_received(sim) == 1
        assert type(remote) is type(local) is type(cached)


async def test_off_lot_same_class_cached_or_not(autojump_clock: trio.testing.MockClock) -> None:
    swap = {"instIdCode": 200001, "tdMode": "cross", "side": "buy", "ordType": "limit",
            "px": "50000", "sz": "0.015"}
    async with client() as (sim, api):
        remote = await refused(api, swap)
        assert (remote.sent, remote.s_code) == (True, "51121")
        await api.load_instruments("SWAP")
        local = await refused(api, swap)
        assert (local.sent, local.s_code) == (False, "51121")
        assert "not a multiple of the lot size 0.01" in str(local)
        assert orders_received(sim) == 1


async def test_off_tick_price_is_refused_before_sending(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with client() as (sim, api):
        local = await refused(api, {**BY_ID, "sz": "0.001", "px": "50000.05"})
        assert (local.sent, local.s_code) == (False, "51000")
        assert "tick size 0.1" in str(local)
        assert orders_received(sim) == 0


async def test_a_batch_names_the_item(autojump_clock: trio.testing.MockClock) -> None:
    async with client() as (sim, api):
        with pytest.raises(OkxOrderRuleError, match=r"batch item 1: PlaceOrder\.sz") as info:
            await api.submit_multiple_orders([{**BY_ID, "sz": "0.001"},
                                              {**BY_ID, "sz": "0.000001"}])
        assert not info.value.sent
        assert orders_received(sim) == 0


async def test_caught_as_value_error_or_order_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Code written for either of the old classes keeps catching it.
    async with client() as (_sim, api):
        # Nothing cached yet: the exchange's answer, caught as a ValueError too.
        with pytest.raises(ValueError, match="sCode 51020"):
            await api.submit_new_order({**BY_CODE, "sz": "0.000001"})
        # Refused before sending, caught as an OkxOrderError too.
        with pytest.raises(OkxOrderError, match="minimum order size"):
            await api.submit_new_order({**BY_ID, "sz": "0.000001"})
