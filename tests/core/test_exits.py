"""Leaving the client the way trio expects (issue 13, items 1 and 5).

What leaves an opener: the caller's own cancellation as itself, a bare
``KeyboardInterrupt`` when there is one anywhere in the tree, a single
``OkxError`` when that is the meaning, ``OkxInternalError`` chained from the
group otherwise. No transport swallows a ``BaseException`` or lets a
``ClosedResourceError`` out, and leaving never waits for an answer that
cannot come.
"""

from __future__ import annotations

import math
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing
from support import internals
from support.scripted import CREDS, ORDER, ScriptedServer, scripted_client
from support.streams import next_push, sim_client

import okx_trio
from okx_trio._transport import Transport, memory_pair
from okx_trio.testing import DEFAULT_CREDENTIALS, open_simulator

TICKERS = {"channel": "tickers", "instId": "BTC-USDT"}
TRANSPORTS = ["websockets", "trio-websocket"]


# -- item 1: leaving by cancellation


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_cancelling_the_client_block_leaves_quietly(
    transport: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``move_on_after`` around the whole client: its own cancellation, caught by
    it, every time (it came out as OkxInternalError 20 times out of 20), and at
    once: the close handshakes do not wait out their timeouts (raised to 30 s
    here, so that one waited out fails the 10 s bound)."""
    from okx_trio import _session, _transport

    monkeypatch.setattr(_transport, "CLOSE_TIMEOUT", 30.0)
    monkeypatch.setattr(_session, "CLOSE_WAIT", 30.0)
    monkeypatch.setattr(_session, "DROP_CLOSE_WAIT", 30.0)
    async with open_simulator(market_interval=0.05) as sim:
        for i in range(10):
            with trio.fail_after(10):
                with trio.move_on_after(0.2 + 0.01 * i) as scope:
                    async with okx_trio.open_ws_api_client(
                        base_url=sim.base_url, credentials=DEFAULT_CREDENTIALS,
                        transport=transport, log_lifecycle=False,
                    ) as api:
                        await api.connect_ws_api()
                        if i % 2:
                            async with api.ws_client.subscribe(TICKERS) as sub:
                                await next_push(sub)
                                await trio.sleep_forever()
                        await trio.sleep_forever()
                assert scope.cancelled_caught


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_failing_sibling_gets_only_its_own_error(transport: str) -> None:
    async with open_simulator(market_interval=0.05) as sim:
        for _ in range(5):
            with trio.fail_after(10), pytest.raises(ExceptionGroup) as info:  # noqa: PT012
                async with (
                    okx_trio.open_ws_api_client(
                        base_url=sim.base_url, credentials=DEFAULT_CREDENTIALS,
                        transport=transport, log_lifecycle=False,
                    ) as api,
                    trio.open_nursery() as nursery,
                ):
                    await api.connect_ws_api()

                    async def fail() -> None:
                        await trio.sleep(0.05)
                        raise ValueError("mine")

                    nursery.start_soon(fail)
                    await trio.sleep_forever()
            assert info.group_contains(ValueError, match="mine")
            assert [type(e) for e in info.value.exceptions] == [ValueError]


class _CancelAsSupervisorWakes(trio.abc.Instrument):
    """Cancels ``scope`` right after the step in which a session's supervisor is
    woken with its connection ready (its login answered, or its tasks started):
    the supervisor then runs once more with that value, in the same batch as the
    connection's tasks receive their cancellation, in either order."""

    def __init__(self, scope: trio.CancelScope, ready: Callable[[], bool]) -> None:
        self.scope = scope
        self.ready = ready
        self.armed = False
        self.fired = False

    def task_scheduled(self, task: trio.lowlevel.Task) -> None:
        if not self.armed and task.name.endswith(" session") and self.ready():
            self.armed = True

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        if self.armed and not self.fired:
            self.fired = True
            self.scope.cancel()


@pytest.mark.parametrize("kind", ["public", "private"])
async def test_cancelled_as_a_connection_opens_leaves_quietly(
    kind: str, autojump_clock: trio.testing.MockClock,
) -> None:
    """The caller's scope cancelled just as a connection becomes ready: when its
    tasks ended before the supervisor ran again, activating it started a task in
    a closed nursery (OkxInternalError from the caller's own ``move_on_after``,
    seen about once in 20 runs of the test above). trio runs a batch in either
    order, so 20 rounds miss it with odds of 1 in a million."""
    async with open_simulator() as sim:
        for _ in range(20):
            with trio.fail_after(10), trio.CancelScope() as scope:
                async with okx_trio.open_ws_client(
                    base_url=sim.base_url, credentials=DEFAULT_CREDENTIALS,
                    transport=sim.connect_memory(), log_lifecycle=False, rate_limit=False,
                ) as client:

                    def ready() -> bool:
                        conns = [c for s in internals.sessions(client) for c in s.connections]
                        # Public: the next wake-up after it exists is its tasks' start.
                        return bool(conns) and (
                            kind == "public" or conns[-1].login_result is not None)

                    instrument = _CancelAsSupervisorWakes(scope, ready)
                    trio.lowlevel.add_instrument(instrument)
                    try:
                        await internals.connect(client, kind)
                        await trio.sleep_forever()
                    finally:
                        trio.lowlevel.remove_instrument(instrument)
            assert scope.cancelled_caught
            assert instrument.fired


async def test_leaving_after_the_client_was_cancelled_does_not_wait_for_unsubscribe_acks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The caller's scope cancels the client's tasks too: no unsubscribe answer can
    come, so leaving the subscription does not wait for one (it waited 5 s)."""
    server = ScriptedServer()
    with trio.fail_after(60):
        async with trio.open_nursery() as server_nursery:
            connector = server.memory_connector(server_nursery)
            with trio.move_on_after(1) as scope:
                async with okx_trio.open_ws_client(
                    base_url="ws://127.0.0.1:9", transport=connector, credentials=CREDS,
                    rate_limit=False,
                ) as client, client.subscribe(TICKERS, {"channel": "orders",
                                                        "instType": "ANY"}):
                    await trio.sleep_forever()
            assert scope.cancelled_caught
            assert trio.current_time() == 1.0
            server_nursery.cancel_scope.cancel()


async def test_leaving_after_the_connection_died_does_not_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    server.hold = lambda conn, obj: obj["op"] == "unsubscribe"
    with trio.fail_after(60):
        async with scripted_client(server) as (client, connector):
            async with client.subscribe(TICKERS):
                connector.refuse = lambda: True
                server.conns[0].abort()
                await server.wait_for(lambda: server.conns[0].closed)
                t0 = trio.current_time()
            assert trio.current_time() == t0


# -- item 5: Ctrl-C is Ctrl-C


class _InterruptingTransport(Transport):
    """Raises KeyboardInterrupt from ``receive`` once ``armed`` (as a signal would
    in the reader task)."""

    def __init__(self, inner: Transport, armed: Callable[[], bool]) -> None:
        self._inner = inner
        self._armed = armed

    async def send(self, data: bytes) -> None:
        await self._inner.send(data)

    async def receive(self) -> bytes:
        data = await self._inner.receive()
        if self._armed():
            raise KeyboardInterrupt
        return data

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        await self._inner.aclose(code, reason)

    def abort(self) -> None:
        self._inner.abort()


async def test_interrupt_in_the_reader_leaves_as_a_bare_keyboard_interrupt(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    armed = {"on": False}
    with trio.fail_after(60):
        async with trio.open_nursery() as server_nursery:
            inner = server.memory_connector(server_nursery)

            async def connect(url: str, *, ssl_context: Any, nursery: trio.Nursery) -> Transport:
                return _InterruptingTransport(
                    await inner(url, ssl_context=ssl_context, nursery=nursery),
                    lambda: armed["on"])

            with pytest.raises(KeyboardInterrupt) as info:  # noqa: PT012
                async with okx_trio.open_ws_client(
                    base_url="ws://127.0.0.1:9", transport=connect, credentials=CREDS,
                    rate_limit=False,
                ) as client:
                    await client.request("order", ORDER)
                    armed["on"] = True
                    await server.conns[0].send(b"pong")
                    await trio.sleep_forever()
            assert type(info.value) is KeyboardInterrupt
            server_nursery.cancel_scope.cancel()


async def test_interrupt_in_the_reader_inside_a_subscription_leaves_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Ctrl-C landing in the reader (a signal interrupts whichever task runs)
    while the caller holds subscriptions: the client's tasks are gone, so
    leaving them waits for no unsubscribe answer (the demo's Ctrl-C sometimes
    took 5 s per open subscription)."""
    server = ScriptedServer()
    armed = {"on": False}
    with trio.fail_after(60):
        async with trio.open_nursery() as server_nursery:
            inner = server.memory_connector(server_nursery)

            async def connect(url: str, *, ssl_context: Any, nursery: trio.Nursery) -> Transport:
                return _InterruptingTransport(
                    await inner(url, ssl_context=ssl_context, nursery=nursery),
                    lambda: armed["on"])

            with pytest.raises(KeyboardInterrupt) as info:  # noqa: PT012
                async with okx_trio.open_ws_client(
                    base_url="ws://127.0.0.1:9", transport=connect, credentials=CREDS,
                    rate_limit=False,
                ) as client, client.subscribe(TICKERS, {"channel": "orders",
                                                        "instType": "ANY"}):
                    armed["on"] = True
                    t0 = trio.current_time()
                    await server.conns[0].send(b"pong")
                    await trio.sleep_forever()
            assert type(info.value) is KeyboardInterrupt
            assert trio.current_time() == t0
            server_nursery.cancel_scope.cancel()


def _interrupt_soon(delay: float) -> threading.Thread:
    """SIGINT to this process from another thread: trio delivers it to the main task."""
    def fire() -> None:
        import time
        time.sleep(delay)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=fire, daemon=True)
    thread.start()
    return thread


def test_ctrl_c_in_connect_ws_api_is_a_bare_keyboard_interrupt() -> None:
    """Ctrl-C while the caller's task waits in ``connect_ws_api()`` (the login never
    answered): a bare KeyboardInterrupt (it was BaseExceptionGroup([KeyboardInterrupt])
    from a nursery opened in the caller's task)."""
    async def main() -> None:
        async def connect(url: str, *, ssl_context: Any, nursery: trio.Nursery) -> Transport:
            client, server = memory_pair()
            nursery.start_soon(_mute_handler, url, server)
            return client

        async with okx_trio.open_ws_api_client(
            base_url="ws://127.0.0.1:9", transport=connect, credentials=CREDS,
            login_timeout=60, connect_timeout=60,
        ) as api:
            thread = _interrupt_soon(0.3)
            try:
                await api.connect_ws_api()
            finally:
                thread.join()

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's default handler here")
    with pytest.raises(KeyboardInterrupt) as info:
        trio.run(main)
    assert type(info.value) is KeyboardInterrupt


async def _mute_handler(path: str, transport: Any) -> None:
    """A server that reads everything and answers nothing (a login that hangs)."""
    try:
        while True:
            await transport.receive()
    except Exception:
        return


async def test_interrupt_in_trio_websocket_is_not_swallowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """KeyboardInterrupt raised in trio-websocket's own reader task reaches the
    caller bare (the holder swallowed it and the client reconnected)."""
    real_open = trio.open_tcp_stream
    armed = {"on": False}

    class Stream(trio.abc.Stream):
        def __init__(self, inner: trio.SocketStream) -> None:
            self._inner = inner
            self.socket = inner.socket

        async def send_all(self, data: bytes | bytearray | memoryview) -> None:
            await self._inner.send_all(data)

        async def wait_send_all_might_not_block(self) -> None:
            await self._inner.wait_send_all_might_not_block()

        async def receive_some(self, max_bytes: int | None = None) -> bytes:
            data = await self._inner.receive_some(max_bytes)
            if armed["on"]:
                raise KeyboardInterrupt
            return data

        async def aclose(self) -> None:
            await self._inner.aclose()

    async def open_tcp_stream(*args: Any, **kwargs: Any) -> Any:
        return Stream(await real_open(*args, **kwargs))

    async with open_simulator(market_interval=0.05) as sim:
        monkeypatch.setattr(trio, "open_tcp_stream", open_tcp_stream)
        with trio.fail_after(10), pytest.raises(KeyboardInterrupt) as info:  # noqa: PT012
            async with okx_trio.open_ws_client(
                base_url=sim.base_url, transport="trio-websocket", log_lifecycle=False,
            ) as client, client.subscribe(TICKERS) as sub:
                await next_push(sub)
                armed["on"] = True
                async for _ in sub:
                    pass
        assert type(info.value) is KeyboardInterrupt


async def test_a_closed_client_refuses_calls(autojump_clock: trio.testing.MockClock) -> None:
    # Use after close is a programming error, not a "safe to retry" OkxNotSent
    # (tests/core/test_config_errors.py checks every entry point).
    async with sim_client(memory=True) as (_sim, client):
        pass
    with pytest.raises(trio.ClosedResourceError):
        await client.request("order", [ORDER[0]], timeout=math.inf)



@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_closing_with_live_subscriptions_completes_the_close_handshake(
    transport: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Leaving the client while subscriptions are live (the order tracker's, and a
    busy public one in the client's nursery): every close handshake completes at
    once. The close timeouts are raised to 30 s so that waiting one out cannot
    pass for a prompt close."""
    from okx_trio import _session, _transport

    monkeypatch.setattr(_transport, "CLOSE_TIMEOUT", 30.0)
    monkeypatch.setattr(_session, "CLOSE_WAIT", 30.0)
    async with open_simulator(market_interval=0.005) as sim:
        for _ in range(3):
            with trio.fail_after(60):
                async with okx_trio.open_ws_api_client(
                    base_url=sim.base_url, credentials=DEFAULT_CREDENTIALS, transport=transport,
                    log_lifecycle=False, track_orders=True,
                ) as api:
                    ws = api.ws_client
                    live = trio.Event()

                    async def follow(ws: okx_trio.WsClient = ws, live: trio.Event = live) -> None:
                        async with ws.subscribe(TICKERS, {"channel": "books",
                                                          "instId": "BTC-USDT"}) as sub:
                            await next_push(sub)
                            live.set()
                            async for _ in sub:
                                pass

                    internals.nursery(api).start_soon(follow)
                    await live.wait()
                    await api.connect_ws_api()
                    t0 = trio.current_time()
                # Exiting takes the close handshakes only (30 s if one were waited out).
                assert trio.current_time() - t0 < 5


def test_ctrl_c_in_resolve_of_a_batch_is_a_bare_keyboard_interrupt() -> None:
    """``resolve()`` of a batch looks its items up side by side without a nursery in
    the caller's task, so Ctrl-C while it waits is a bare KeyboardInterrupt."""

    async def main() -> None:
        async with open_simulator(market_interval=None, rate_limit=False) as sim:
            sim.faults.drop_on("batch-orders", when="before")
            async with okx_trio.open_ws_api_client(
                base_url=sim.base_url, transport=sim.connect_memory(),
                credentials=DEFAULT_CREDENTIALS, log_lifecycle=False,
            ) as api:
                order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy",
                         "ordType": "limit", "sz": "0.01", "px": "1000"}
                try:
                    await api.submit_multiple_orders([order, dict(order, px="1001")])
                except okx_trio.OkxConnectionLost as exc:
                    lost = exc
                thread = _interrupt_soon(0.3)
                try:
                    await api.resolve(lost, settle_delay=30)
                finally:
                    thread.join()

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's default handler here")
    with pytest.raises(KeyboardInterrupt) as info:
        trio.run(main)
    assert type(info.value) is KeyboardInterrupt


def test_what_leaves_the_opener() -> None:
    """The opener's choice, on groups shaped as trio's nested nurseries make them."""
    from okx_trio import OkxConnectionLost, OkxInternalError
    from okx_trio._core import _what_leaves

    def cancelled() -> BaseException:
        try:
            raise trio.Cancelled._create()  # type: ignore[attr-defined]
        except trio.Cancelled as exc:
            return exc

    ki = KeyboardInterrupt()
    nested = BaseExceptionGroup("core", [cancelled(), BaseExceptionGroup(
        "session", [BaseExceptionGroup("connection", [ki, cancelled()])])])
    assert _what_leaves(nested, None) is ki
    # The caller's own exception wins when it is all there is besides Cancelled;
    # an interrupt elsewhere in the tree wins over it.
    mine = ValueError("mine")
    assert _what_leaves(BaseExceptionGroup("core", [mine, cancelled()]), mine) is mine
    assert _what_leaves(BaseExceptionGroup("core", [mine, nested]), mine) is ki
    # The caller's own cancellation leaves as itself.
    own = cancelled()
    assert _what_leaves(BaseExceptionGroup("core", [own, cancelled()]), own) is own
    # A lone OkxError, however deep.
    lost = OkxConnectionLost("x")
    assert _what_leaves(BaseExceptionGroup("a", [cancelled(), ExceptionGroup(
        "b", [lost])]), None) is lost
    # Anything else: OkxInternalError chained from the group.
    group = BaseExceptionGroup("a", [lost, RuntimeError("bug")])
    out = _what_leaves(group, None)
    assert isinstance(out, OkxInternalError)
    assert out.__cause__ is group
