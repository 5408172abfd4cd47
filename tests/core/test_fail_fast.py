"""A newcomer's connection mistakes end at once, with an error naming the cause.

Permanent failures (nothing listens on the port, a 404 on the upgrade, a host
that does not resolve, TLS against a plain server or plain against TLS) fail
every waiting call with ``OkxConnectError`` within 2 s, over real sockets on
127.0.0.1 (a host that does not resolve: the autouse fixture makes any
non-loopback name fail as DNS would). Transient ones (503, refusals in memory)
are retried as before, and the error raised at the deadline carries the last
failure as its ``__cause__`` (timed on MockClock).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import pytest
import trio
import trio.testing
from support import internals

import okx_trio
from okx_trio import OkxConnectError, OkxNotSent
from okx_trio._transport import Connector, Transport, TransportConnectError
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, open_simulator

ORDER = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "px": "50000", "sz": "0.001"}
TRANSPORTS = ["websockets", "trio-websocket"]
FAST = 2.0
"""Every mistake below must end within this many seconds (the issue's bound)."""


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def answer_404(stream: trio.SocketStream) -> None:
    """A plain HTTP server that has no WebSocket endpoint: 404 to every request."""
    try:
        await stream.receive_some(65536)
        await stream.send_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                              b"Connection: close\r\n\r\n")
    except trio.BrokenResourceError:
        pass
    finally:
        await stream.aclose()


@asynccontextmanager
async def http_404_server() -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, host="127.0.0.1"), answer_404, 0)
        listener = listeners[0]
        yield f"ws://127.0.0.1:{listener.socket.getsockname()[1]}"
        nursery.cancel_scope.cancel()


async def place_fails_fast(base_url: str, transport: str, **options: Any) -> OkxConnectError:
    """Place one order through ``base_url``; it must end in OkxConnectError within 2 s."""
    async with okx_trio.open_ws_api_client(credentials=CREDS, base_url=base_url,
                                           transport=transport, **options) as api:
        with trio.fail_after(FAST), pytest.raises(OkxConnectError) as info:
            await api.submit_new_order(ORDER)
        # Every later call fails the same way at once, without a new attempt.
        with trio.fail_after(0.5), pytest.raises(OkxConnectError):
            await api.submit_new_order(ORDER)
    error = info.value
    assert isinstance(error.__cause__, TransportConnectError)
    assert error.__cause__.permanent
    assert error.connection == "private"
    assert error.url is not None
    assert error.url.endswith("/ws/v5/private")
    return error


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_wrong_port_fails_at_once(transport: str) -> None:
    error = await place_fails_fast(f"ws://127.0.0.1:{dead_port()}", transport)
    assert "connection refused" in str(error)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_404_on_the_upgrade_fails_at_once(transport: str) -> None:
    async with http_404_server() as url:
        error = await place_fails_fast(url, transport)
    assert "HTTP 404" in str(error)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_misspelt_host_fails_at_once(transport: str) -> None:
    # The autouse fixture makes every non-loopback name fail to resolve, as DNS
    # does for a misspelt host.
    error = await place_fails_fast("ws://okx-simulater.invalid:8765", transport)
    assert "cannot resolve the host 'okx-simulater.invalid'" in str(error)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_wss_against_a_plain_server_fails_at_once(transport: str) -> None:
    async with open_simulator(accounts=[CREDS], market_interval=None) as sim:
        url = sim.base_url.replace("ws://", "wss://")
        error = await place_fails_fast(url, transport)
    assert "TLS handshake" in str(error)
    assert "use ws://" in str(error)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_ws_against_a_tls_server_fails_at_once(transport: str) -> None:
    pytest.importorskip("trustme")
    async with open_simulator(accounts=[CREDS], market_interval=None, tls=True) as sim:
        url = sim.base_url.replace("wss://", "ws://")
        error = await place_fails_fast(url, transport)
    # The simulator's TLS port answers plain HTTP as nginx does.
    assert "HTTP 400: The plain HTTP request was sent to HTTPS port" in str(error)


async def test_untrusted_certificate_fails_at_once() -> None:
    pytest.importorskip("trustme")
    async with open_simulator(accounts=[CREDS], market_interval=None, tls=True) as sim:
        error = await place_fails_fast(sim.base_url, "websockets")
    assert "certificate is not trusted" in str(error)


async def _drops_every_connection(task_status: trio.TaskStatus[int]) -> None:
    """Accepts TCP connections and closes them at once, as an overloaded load
    balancer may: a TLS handshake sees the connection closed, no answer."""
    async def handler(stream: trio.SocketStream) -> None:
        await stream.aclose()

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handler, listeners)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_connection_closed_during_tls_is_retried_and_named(transport: str) -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(_drops_every_connection)
        async with okx_trio.open_ws_api_client(
            credentials=CREDS, base_url=f"wss://127.0.0.1:{port}", transport=transport,
            reconnect_max=0.2,
        ) as api, api.ws_client.events() as events:
            with trio.fail_after(FAST + 1), pytest.raises(OkxNotSent) as info:
                await api.submit_new_order(ORDER, timeout=1)
            attempts = sum(e.kind == "exception" for e in events.buffer)
        nursery.cancel_scope.cancel()
    assert attempts >= 2  # retried, not given up
    assert "closed the connection during the TLS handshake (a plain server? use ws://)" in (
        str(info.value))
    assert isinstance(info.value.__cause__, TransportConnectError)
    assert not info.value.__cause__.permanent


async def test_connect_ws_api_against_a_dead_port_fails_at_once() -> None:
    async with okx_trio.open_ws_api_client(credentials=CREDS,
                                           base_url=f"ws://127.0.0.1:{dead_port()}") as api:
        with trio.fail_after(FAST), pytest.raises(OkxConnectError, match="connection refused"):
            await api.connect_ws_api()


async def test_subscribe_against_a_dead_port_fails_at_once() -> None:
    async with okx_trio.open_ws_client(base_url=f"ws://127.0.0.1:{dead_port()}") as ws:
        with trio.fail_after(FAST), pytest.raises(OkxConnectError, match="connection refused"):
            async with ws.subscribe({"channel": "tickers", "instId": "BTC-USDT"}):
                pass  # pragma: no cover


async def test_a_transient_refusal_is_retried_and_named_at_the_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_simulator(accounts=[CREDS], market_interval=None) as sim:
        sim.faults.refuse_connections()
        # reconnect_max bounds the jittered backoff, so the attempt after the
        # refusals end comes within the second order's deadline.
        async with okx_trio.open_ws_api_client(
            credentials=CREDS, base_url=sim.base_url, transport=sim.connect_memory(),
            reconnect_max=1.0,
        ) as api:
            with pytest.raises(OkxNotSent) as info:
                await api.submit_new_order(ORDER, timeout=5)
            assert trio.current_time() == pytest.approx(5, abs=0.01)
            cause = info.value.__cause__
            assert isinstance(cause, TransportConnectError)
            assert not cause.permanent
            assert "connection refused (in-memory server)" in str(info.value)
            # Still retrying: the refusal ends and the next order goes through.
            sim.faults.clear()
            ack = await api.submit_new_order(ORDER, timeout=5)
            assert ack.ok


async def test_a_503_over_sockets_is_retried_and_named_at_the_deadline() -> None:
    async with open_simulator(accounts=[CREDS], market_interval=None) as sim:
        sim.faults.refuse_connections()
        async with okx_trio.open_ws_api_client(credentials=CREDS, base_url=sim.base_url) as api:
            with trio.fail_after(FAST + 1), pytest.raises(OkxNotSent) as info:
                await api.submit_new_order(ORDER, timeout=1)
    assert "HTTP 503" in str(info.value)
    assert isinstance(info.value.__cause__, TransportConnectError)
    assert not info.value.__cause__.permanent


class _BreaksAfterFirst(Connector):
    """Opens the first connection of a kind, then fails every later attempt
    permanently (a DNS outage after the client was up)."""

    def __init__(self, inner: Connector) -> None:
        self.inner = inner
        self.rest_transport = inner.rest_transport
        self.opened: set[str] = set()
        self.refused = 0

    async def __call__(self, url: str, *, ssl_context: Any, nursery: trio.Nursery) -> Transport:
        if url in self.opened:
            self.refused += 1
            await trio.lowlevel.checkpoint()
            raise TransportConnectError("cannot resolve the host 'sim': outage", permanent=True)
        self.opened.add(url)
        return await self.inner(url, ssl_context=ssl_context, nursery=nursery)


async def test_permanent_failures_after_the_first_success_are_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_simulator(accounts=[CREDS], market_interval=None) as sim:
        connector = _BreaksAfterFirst(sim.connect_memory())
        async with okx_trio.open_ws_api_client(credentials=CREDS, base_url=sim.base_url,
                                               transport=connector) as api:
            assert (await api.submit_new_order(ORDER)).ok
            async with api.ws_client.events() as events:
                sim.faults.drop("private")
                async for event in events:
                    if event.kind == "reconnect":
                        break
            with pytest.raises(OkxNotSent) as info:
                await api.submit_new_order(ORDER, timeout=5)
            assert isinstance(info.value.__cause__, TransportConnectError)
            assert "outage" in str(info.value)
            assert connector.refused >= 3  # retried with backoff, not given up
            (private,) = [s for s in internals.sessions(api) if s.kind == "private"]
            assert private.failed is None
