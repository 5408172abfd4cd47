"""The test code shown in docs/guide/testing.md, kept here so the guide stays true.

Keep the two tests below identical to the guide's snippets (apart from this
docstring and the imports).
"""

from __future__ import annotations

import pytest
import trio

import okx_trio
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, open_simulator

ORDER = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "px": "50000", "sz": "0.001"}


async def test_order_rests_and_survives_a_reconnect() -> None:
    with trio.fail_after(20):
        async with (
            open_simulator(accounts=[CREDS], market_interval=None) as sim,
            okx_trio.open_ws_api_client(credentials=CREDS, base_url=sim.base_url) as api,
            api.track_orders(),
        ):
            ack = await api.submit_new_order(ORDER)
            assert sim.orders[ack.ord_id].state == "live"     # the exchange's own view

            async with api.ws_client.events() as events:
                sim.faults.drop("private")                     # the exchange closes it
                async for event in events:
                    if event.kind == "reconnected":
                        break
            await api.cancel_order({"instIdCode": 100001, "ordId": ack.ord_id})
            done = await api.wait_order(ord_id=ack.ord_id, states=["canceled"])
            assert done.state == "canceled"


async def test_timeout_then_the_truth(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        open_simulator(accounts=[CREDS], market_interval=None) as sim,
        okx_trio.open_ws_api_client(
            credentials=CREDS, base_url=sim.base_url, transport=sim.connect_memory()
        ) as api,
    ):
        sim.faults.swallow("order", when="after")      # act, but never answer
        with pytest.raises(okx_trio.OkxRequestTimeout) as info:
            await api.submit_new_order(ORDER, timeout=5)
        assert trio.current_time() >= 5                # five virtual seconds, no waiting
        assert sim.orders.find(cl_ord_id=info.value.cl_ord_id).state == "live"


def test_guide_shows_these_tests() -> None:
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs/guide/testing.md").read_text()
    source = Path(__file__).read_text()
    for name in ("test_order_rests_and_survives_a_reconnect", "test_timeout_then_the_truth"):
        start = source.index(f"async def {name}")
        body = source[start:source.index("\n\n\n", start)]
        assert body in guide, f"docs/guide/testing.md no longer shows {name} as tested"
