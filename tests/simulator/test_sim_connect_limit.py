"""OKX's 3 new connections per second per IP: the state machine, then over sockets and memory."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from simulator_support import simulator

from okx_trio._transport import TransportConnectError, connect_websockets
from okx_trio.testing._connect_limit import ConnectLimit


def test_at_most_three_per_second_per_peer() -> None:
    limit = ConnectLimit(3)
    assert [limit.admit("10.0.0.1", t) for t in (0.0, 0.1, 0.2, 0.3)] == [
        True, True, True, False]
    assert limit.admit("10.0.0.2", 0.3)  # another address has its own budget
    assert not limit.admit("10.0.0.1", 0.99)
    # A refused attempt is not counted: at t=1.0 the first admission left the window.
    assert limit.admit("10.0.0.1", 1.0)
    assert not limit.admit("10.0.0.1", 1.05)
    assert limit.admit("10.0.0.1", 1.1)
    with pytest.raises(ValueError, match="connection limit"):
        ConnectLimit(0)


async def _connect(url: str) -> None:
    """Open and close one socket connection (the refusal raised as itself)."""
    refused: TransportConnectError | None = None
    async with trio.open_nursery() as nursery:
        try:
            transport = await connect_websockets(url, ssl_context=None, nursery=nursery)
        except TransportConnectError as exc:
            refused = exc
        else:
            await transport.aclose()
    if refused is not None:
        raise refused


async def test_fourth_socket_connection_in_a_second_gets_429() -> None:
    with trio.fail_after(10):
        async with simulator() as sim:
            url = sim.base_url + "/ws/v5/public"
            assert sim.connect_limit == 3
            for _ in range(3):
                await _connect(url)
            with pytest.raises(TransportConnectError, match="429"):
                await _connect(url)
            await trio.sleep(1.0)
            await _connect(url)
            sim.connect_limit = None  # off, for tests that connect many clients at once
            for _ in range(5):
                await _connect(url)
            with pytest.raises(ValueError, match="connect_limit"):
                sim.connect_limit = 0


async def test_memory_connections_count_too(autojump_clock: trio.testing.MockClock) -> None:
    async with simulator() as sim, trio.open_nursery() as nursery:
        connector = sim.connect_memory()
        url = sim.base_url + "/ws/v5/public"
        for _ in range(3):
            await (await connector(url, ssl_context=None, nursery=nursery)).aclose()
        with pytest.raises(TransportConnectError):
            await connector(url, ssl_context=None, nursery=nursery)
        await trio.sleep(1.0)
        await (await connector(url, ssl_context=None, nursery=nursery)).aclose()


async def test_no_limit_when_turned_off() -> None:
    with trio.fail_after(10):
        async with simulator(connect_limit=None) as sim:
            for _ in range(6):
                await _connect(sim.base_url + "/ws/v5/public")
