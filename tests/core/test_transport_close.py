"""Closing a transport while it is busy, over 127.0.0.1 (issue 13, item 1).

A close races everything else a connection does: its reader task reading
pushes, the reader being cancelled part-way, another task aborting it. Whatever
the interleaving, ``aclose()`` ends promptly (the close timeout is raised to
30 s here so that waiting it out cannot pass for a prompt close), and nothing
but ``TransportClosed`` leaves any of those tasks: never a
``trio.ClosedResourceError`` or ``BusyResourceError``.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import pytest
import trio
from support.streams import spot_only

from okx_trio import _transport
from okx_trio._transport import Transport, TransportClosed, as_connector
from okx_trio.testing import Simulator, open_simulator

TRANSPORTS = ["websockets", "trio-websocket"]
BUSY = [{"channel": "tickers", "instId": "BTC-USDT"}, {"channel": "trades", "instId": "BTC-USDT"},
        {"channel": "books", "instId": "BTC-USDT"}]


@asynccontextmanager
async def busy_simulator() -> AsyncIterator[Simulator]:
    # connect_limit=None: these races open up to 20 raw connections back to back,
    # beyond OKX's 3 per second; they are about closing, not connection pacing.
    async with open_simulator(market_interval=0.002, instruments=spot_only(),
                              rate_limit=False, connect_limit=None) as sim:
        yield sim


async def open_busy(sim: Simulator, name: str, nursery: trio.Nursery) -> Transport:
    """A public connection subscribed to three busy channels."""
    connect = as_connector(name)
    t = await connect(sim.base_url + "/ws/v5/public", ssl_context=None, nursery=nursery)
    await t.send(orjson.dumps({"id": "s1", "op": "subscribe", "args": BUSY}))
    for _ in range(4):
        await t.receive()
    return t


async def read_until_closed(t: Transport, counts: dict[str, int]) -> None:
    try:
        while True:
            counts["read"] += len(await t.receive_many())
    except TransportClosed:
        counts["closed"] += 1


async def prompt_aclose(t: Transport) -> None:
    """``t.aclose()``, asserting it took well under the 30 s close timeout. Timed,
    not only bounded by ``fail_after``: a close that waits in a shielded scope is
    not interrupted by the deadline and would otherwise pass after 30 s."""
    t0 = trio.current_time()
    with trio.fail_after(5):
        await t.aclose(1000, "bye")
    assert trio.current_time() - t0 < 5


@pytest.fixture(autouse=True)
def _long_close_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_transport, "CLOSE_TIMEOUT", 30.0)


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_aclose_while_the_reader_reads_pushes(name: str) -> None:
    async with busy_simulator() as sim:
        for _ in range(5):
            async with trio.open_nursery() as nursery:
                t = await open_busy(sim, name, nursery)
                counts = {"read": 0, "closed": 0}
                nursery.start_soon(read_until_closed, t, counts)
                await trio.sleep(0.05)
                await prompt_aclose(t)
            assert counts["closed"] == 1
            assert counts["read"] > 0


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_aclose_after_the_reader_stopped(name: str) -> None:
    async with busy_simulator() as sim:
        for stop_during_close in (False, True):
            async with trio.open_nursery() as nursery:
                t = await open_busy(sim, name, nursery)
                reader_scope = trio.CancelScope()
                nursery.start_soon(_read_in, reader_scope, t)
                await trio.sleep(0.05)
                if not stop_during_close:
                    reader_scope.cancel()
                    await trio.sleep(0.01)
                else:
                    nursery.start_soon(_cancel_soon, reader_scope)
                await prompt_aclose(t)


async def _read_in(scope: trio.CancelScope, t: Transport) -> None:
    with scope:
        await read_until_closed(t, {"read": 0, "closed": 0})


async def _cancel_soon(scope: trio.CancelScope) -> None:
    await trio.lowlevel.checkpoint()
    scope.cancel()


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_abort_racing_aclose_lets_nothing_but_transport_closed_out(name: str) -> None:
    rng = random.Random(7)
    async with busy_simulator() as sim:
        for _ in range(20):
            async with trio.open_nursery() as nursery:
                t = await open_busy(sim, name, nursery)
                counts = {"read": 0, "closed": 0}
                nursery.start_soon(read_until_closed, t, counts)
                await trio.sleep(0.01)
                delay = rng.randrange(6)

                nursery.start_soon(_abort_later, t, delay)
                await prompt_aclose(t)
                # A send after all that is a TransportClosed too.
                with pytest.raises(TransportClosed):
                    await t.send(b"ping")


async def _abort_later(t: Transport, checkpoints: int) -> None:
    for _ in range(checkpoints):
        await trio.lowlevel.checkpoint()
    t.abort()
