"""What leaves ``open_ws_client``: the user's own exception, whatever its shape.

The contract (docs, "Sessions and nurseries"): errors leave it as one exception
of the OkxError tree (or the user's own), never an ExceptionGroup made by the
library.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from okx_trio import OkxError, open_ws_client
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, Simulator


async def fail_inside(sim: Simulator) -> None:
    async with open_ws_client(credentials=CREDS, base_url=sim.base_url,
                              transport=sim.connect_memory()) as client:
        await client.request("order", [{"instIdCode": 100001, "tdMode": "cash", "side": "buy",
                                        "ordType": "limit", "px": "30000", "sz": "0.001"}])
        raise KeyError("mine")


async def fail_in_own_nursery(sim: Simulator) -> None:
    async with open_ws_client(credentials=CREDS, base_url=sim.base_url,
                              transport=sim.connect_memory()), trio.open_nursery() as nursery:
        # The user's own nursery fails: its group must come out untouched.
        nursery.start_soon(trio.sleep_forever)
        raise KeyError("mine")


async def test_user_exception_leaves_as_itself(
    autojump_clock: trio.testing.MockClock, sim: Simulator
) -> None:
    with trio.fail_after(30):
        with pytest.raises(KeyError, match="mine"):
            await fail_inside(sim)


async def test_user_exception_group_leaves_as_itself(
    autojump_clock: trio.testing.MockClock, sim: Simulator,
) -> None:
    with trio.fail_after(30):
        with pytest.raises(BaseExceptionGroup) as info:
            await fail_in_own_nursery(sim)
        assert not isinstance(info.value, OkxError)
        assert info.value.subgroup(KeyError) is not None
