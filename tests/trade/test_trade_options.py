"""Options by ``instId``: OKX lists OPTION instruments one family at a time.

``GET /api/v5/public/instruments?instType=OPTION`` without ``instFamily`` is
refused by OKX (50015, HTTP 400). The client fetches an option's family (from
the id: its first two parts), caches per family, and keys the option's
rate-limit bucket by the family the record names (OKX counts option orders per
family). The simulator here refuses the family-less request the way OKX does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import trio
import trio.testing
from support import internals
from support.orders import trading

from okx_trio import OkxNotSent, WsApiClient
from okx_trio.testing import Simulator
from okx_trio.testing._engine_model import InstrumentSpec, default_instruments

BTC_CALL = "BTC-USD-261225-60000-C"
BTC_PUT = "BTC-USD-261225-60000-P"
BTC_CALL_70 = "BTC-USD-261225-70000-C"
ETH_CALL = "ETH-USD-261225-3000-C"


def instruments() -> list[InstrumentSpec]:
    """The default set plus an ETH-USD option (a second family)."""
    eth = InstrumentSpec(
        ETH_CALL, "OPTION", 310001, tick_sz="0.0005", lot_sz="1", min_sz="1",
        start_px="0.05", level_sz="100", settle_ccy="ETH", ct_val="0.1", ct_mult="1",
        ct_val_ccy="ETH", inst_family="ETH-USD", lever="1", opt_type="C", stk="3000",
        exp_time="1798185600000", max_lmt_sz="10000", max_mkt_sz="5000",
    )
    return [*default_instruments(), eth]


def refuse_options_without_family(sim: Simulator) -> None:
    """Answer ``instType=OPTION`` without ``instFamily`` as OKX does (50015, HTTP 400)."""
    handle = sim._rest.handle

    def strict(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Any:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query))
        if (parts.path == "/api/v5/public/instruments" and query.get("instType") == "OPTION"
                and not (query.get("instFamily") or query.get("uly"))):
            return 400, {"code": "50015",
                         "msg": "Either parameter uly or instFamily is required", "data": []}
        return handle(method, target, headers, body)

    sim._rest.handle = strict  # type: ignore[method-assign]


@asynccontextmanager
async def option_trading(**options: Any) -> AsyncIterator[tuple[Simulator, WsApiClient, Any]]:
    async with trading(sim_options={"instruments": instruments()}, **options) as (sim, api, rest):
        refuse_options_without_family(sim)
        yield sim, api, rest


def option_order(inst_id: str, **extra: Any) -> dict[str, Any]:
    return {"instId": inst_id, "tdMode": "cross", "side": "sell", "ordType": "limit",
            "px": "0.1", "sz": "1", **extra}


def instrument_queries(rest: Any) -> list[dict[str, str]]:
    return [dict(parse_qsl(urlsplit(t).query)) for _, t in rest.calls
            if urlsplit(t).path == "/api/v5/public/instruments"]


async def test_option_order_by_inst_id_fetches_its_family_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with option_trading() as (sim, api, rest):
        with trio.fail_after(10):
            ack = await api.submit_new_order(option_order(BTC_CALL))
            assert ack.ok
            assert sim.frames.ops("order")[-1]["args"][0]["instIdCode"] == 300001
            # Same family: from the cache.
            assert (await api.submit_new_order(option_order(BTC_PUT))).ok
            assert sim.frames.ops("order")[-1]["args"][0]["instIdCode"] == 300002
            # Another family: fetched on its own.
            assert (await api.submit_new_order(option_order(ETH_CALL))).ok
            assert sim.frames.ops("order")[-1]["args"][0]["instIdCode"] == 310001
    assert instrument_queries(rest) == [
        {"instType": "OPTION", "instFamily": "BTC-USD"},
        {"instType": "OPTION", "instFamily": "ETH-USD"},
    ]
    inst = api.instrument(ETH_CALL)
    assert inst is not None
    assert inst.raw["instFamily"] == "ETH-USD"


async def test_option_cancel_and_amend_by_inst_id(autojump_clock: trio.testing.MockClock) -> None:
    async with option_trading() as (sim, api, rest):
        with trio.fail_after(10):
            ack = await api.submit_new_order(option_order(BTC_CALL_70, px="0.5"))
            await api.amend_order({"instId": BTC_CALL_70, "ordId": ack.ord_id, "newPx": "0.4"})
            await api.cancel_order({"instId": BTC_CALL_70, "ordId": ack.ord_id})
    assert sim.frames.ops("amend-order")[-1]["args"][0]["instIdCode"] == 300003
    assert sim.frames.ops("cancel-order")[-1]["args"][0]["instIdCode"] == 300003
    assert len(instrument_queries(rest)) == 1


async def test_option_rate_limit_bucket_is_the_family(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """60 orders over three options of one family: OKX counts them together (60
    per 2 s, 54 with the client's headroom), so the first 2 s carry 54."""
    async with option_trading(rate_limit=True) as (sim, api, _rest):
        await api.load_instruments("OPTION", inst_family="BTC-USD")
        start = trio.current_time()
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for i in range(60):
                    inst = (BTC_CALL, BTC_PUT, BTC_CALL_70)[i % 3]
                    nursery.start_soon(api.submit_new_order,
                                       option_order(inst, px=str(1 + i), sz="1"))
        order_times = [r.time - start for r in sim.frames if r.op == "order"]
        assert sum(1 for t in order_times if t < 2.0) == 54
        limiter = internals.core(api).limiter
        assert limiter is not None
        keys = {key for key, _, _ in limiter.windows.demand(
            "order", [{"instIdCode": 300001}, {"instIdCode": 300003}])}
        assert keys == {("order", ("family", "BTC-USD")), ("sub-account", None)}
    assert len(sim.frames.ops("order")) == 60


async def test_option_family_without_a_listing_is_refused_clearly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with option_trading() as (sim, api, rest):
        with trio.fail_after(10):
            with pytest.raises(ValueError, match=r"BTC-USD-261225-99999-C.*family BTC-USD"):
                await api.submit_new_order(option_order("BTC-USD-261225-99999-C"))
            with pytest.raises(ValueError, match="inst_family"):
                await api.load_instruments("OPTION")
            with pytest.raises(ValueError, match="series_id"):
                await api.load_instruments("EVENTS")
    assert sim.frames.ops("order") == []
    assert instrument_queries(rest) == [{"instType": "OPTION", "instFamily": "BTC-USD"}]


async def test_a_failed_family_fetch_is_not_sent(autojump_clock: trio.testing.MockClock) -> None:
    async with option_trading() as (_sim, api, rest):
        rest.fail_next = 1
        with trio.fail_after(10), pytest.raises(OkxNotSent, match="OPTION BTC-USD"):
            await api.submit_new_order(option_order(BTC_CALL))
        assert (await api.submit_new_order(option_order(BTC_CALL))).ok
