"""With the simulator's in-memory connector, the client's REST calls stay in memory too."""

from __future__ import annotations

import trio
import trio.testing

import okx_trio
from okx_trio.testing import open_simulator

CREDS = okx_trio.Credentials(api_key="mem-key", secret_key="mem-secret", passphrase="mem-pass")


async def test_rest_in_memory_under_mock_clock(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with open_simulator(accounts=[CREDS], market_interval=None) as sim, \
                okx_trio.open_ws_api_client(
                    credentials=CREDS, base_url=sim.base_url, transport=sim.connect_memory(),
                    rate_limit=False, log_lifecycle=False,
                ) as api:
            sim.clock_offset_ms = 123_456
            offset = await api.sync_time()
            assert abs(offset - 123_456) < 1_000
            # instId -> instIdCode needs the instruments list: fetched in memory.
            ack = await api.submit_new_order({"instId": "BTC-USDT", "tdMode": "cash",
                                              "side": "buy", "ordType": "limit",
                                              "sz": "0.01", "px": "30000"})
            found = await api.rest.order("BTC-USDT", ord_id=ack.ord_id)
            assert found.cl_ord_id == ack.cl_ord_id
