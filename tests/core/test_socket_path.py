"""The websockets transport driving a plain TCP socket itself (ws:// on POSIX),
over 127.0.0.1 against trio-websocket's server: frames larger than the kernel's
buffers both ways (a write that must wait for room, reads that fill the buffer),
many frames in one read, and the writer's scheduler work per request."""

from __future__ import annotations

import collections
import os
import socket

import pytest
import trio
import trio.testing
from support.echo import echo_server

import okx_trio
from okx_trio import _transport
from okx_trio._transport import TransportClosed, connect_websockets
from okx_trio.testing import DEFAULT_CREDENTIALS, open_simulator

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the socket path is POSIX-only")


async def test_the_plain_socket_path_is_taken() -> None:
    async with trio.open_nursery() as nursery:
        url = await echo_server(nursery)
        t = await connect_websockets(url, ssl_context=None, nursery=nursery)
        assert isinstance(t, _transport.WebsocketsTransport)
        assert t._socket is not None
        await t.aclose()
        nursery.cancel_scope.cancel()


async def test_frames_larger_than_the_socket_buffers_both_ways() -> None:
    big = ("x" * 999 + "y") * 900  # 900 kB (trio-websocket's server takes up to 1 MiB)
    async with trio.open_nursery() as nursery:
        url = await echo_server(nursery, slow=True)
        t = await connect_websockets(url, ssl_context=None, nursery=nursery)
        # A small send buffer: the write goes out in pieces, waiting for room.
        assert isinstance(t, _transport.WebsocketsTransport)
        sock = t._stream.socket  # type: ignore[attr-defined]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        with trio.fail_after(20):
            await t.send(big.encode())
            await t.send(b"after")
            assert await t.receive() == big.encode()  # read in many full reads
            assert await t.receive() == b"after"
        await t.aclose()
        nursery.cancel_scope.cancel()


async def test_many_frames_in_one_read_come_out_in_order() -> None:
    async with trio.open_nursery() as nursery:
        url = await echo_server(nursery)
        t = await connect_websockets(url, ssl_context=None, nursery=nursery)
        got: list[bytes] = []
        with trio.fail_after(10):
            await t.send(b"burst")
            while len(got) < 300:
                got += await t.receive_many()
        assert got == [f"m{i}".encode() for i in range(300)]
        await t.aclose()
        nursery.cancel_scope.cancel()


async def test_abort_while_the_reader_waits_for_the_socket() -> None:
    async with trio.open_nursery() as nursery:
        url = await echo_server(nursery)
        t = await connect_websockets(url, ssl_context=None, nursery=nursery)
        outcome: list[BaseException] = []

        async def read() -> None:
            try:
                await t.receive()
            except TransportClosed as exc:
                outcome.append(exc)

        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        t.abort()
        with trio.fail_after(5):
            while not outcome:
                await trio.sleep(0.01)
        assert isinstance(outcome[0], TransportClosed)
        with pytest.raises(TransportClosed):
            await t.send(b"x")
        nursery.cancel_scope.cancel()


class _Steps(trio.abc.Instrument):
    def __init__(self) -> None:
        self.by_task: collections.Counter[str] = collections.Counter()

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.by_task[task.name] += 1


async def test_the_writer_takes_one_step_per_request_over_a_socket() -> None:
    # The writer wakes for the request and writes it; it used to take a second
    # step after the write (the schedule point trio's send_all adds).
    order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "ioc",
             "sz": "0.0001", "px": "1000"}
    async with (
        open_simulator(accounts=[DEFAULT_CREDENTIALS], rate_limit=False, market_interval=None,
                       idle_timeout=None) as sim,
        okx_trio.open_ws_api_client(base_url=sim.base_url, credentials=DEFAULT_CREDENTIALS,
                                    rate_limit=False, transport="websockets") as api,
    ):
        for _ in range(3):
            await api.submit_new_order(order)
        steps = _Steps()
        trio.lowlevel.add_instrument(steps)
        try:
            for _ in range(20):
                await api.submit_new_order(order)
        finally:
            trio.lowlevel.remove_instrument(steps)
    assert steps.by_task["okx_trio._session.Session._writer"] == 20, steps.by_task


async def test_the_transport_lock_is_exclusive_fifo_and_cancellable() -> None:
    # The lock the reader and the writer share with aclose (a lighter
    # trio.Lock): a release hands it to the longest waiter; a waiter cancelled
    # while parked never gets it; it ends free.
    lock = _transport._Mutex()
    order: list[str] = []

    async def take(name: str, task_status: trio.TaskStatus[trio.CancelScope]) -> None:
        with trio.CancelScope() as scope:
            task_status.started(scope)
            async with lock:
                order.append(f"{name}+")
                await trio.lowlevel.checkpoint()  # held across a schedule point
                order.append(f"{name}-")

    async with trio.open_nursery() as nursery:
        await lock.acquire()
        scopes = {name: await nursery.start(take, name) for name in "abcd"}
        await trio.testing.wait_all_tasks_blocked()
        scopes["b"].cancel()  # parked: leaves the queue
        await trio.testing.wait_all_tasks_blocked()
        assert order == []
        lock.release()
    assert order == ["a+", "a-", "c+", "c-", "d+", "d-"]
    assert not lock.held
    await lock.acquire()  # free again: taken at once
    assert lock.held
    lock.release()
    assert not lock.held
