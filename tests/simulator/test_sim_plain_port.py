"""A TLS client on the simulator's plain port is answered and closed at once.

A newcomer who writes ``wss://`` for ``okx-trio simulator`` (plain by default)
sends a TLS ClientHello to a plain HTTP server: it must get an answer and a
close, not a connection that stays silent until some timeout.
"""

from __future__ import annotations

import ssl

import pytest
import trio

from okx_trio.testing import open_simulator


def client_hello() -> bytes:
    """The first flight of a real TLS client (a ClientHello record)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = outgoing.read()
    assert hello[:1] == b"\x16"  # a handshake record
    return hello


async def test_a_tls_hello_on_the_plain_port_is_answered_and_closed() -> None:
    async with open_simulator(market_interval=None) as sim:
        host, port = sim.base_url.removeprefix("ws://").split(":")
        stream = await trio.open_tcp_stream(host, int(port))
        async with stream:
            await stream.send_all(client_hello())
            answer = b""
            with trio.fail_after(2):
                while chunk := await stream.receive_some(65536):
                    answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ")


async def test_a_tls_handshake_on_the_plain_port_fails_at_once() -> None:
    async with open_simulator(market_interval=None) as sim:
        host, port = sim.base_url.removeprefix("ws://").split(":")
        stream = await trio.open_tcp_stream(host, int(port))
        tls = trio.SSLStream(stream, ssl.create_default_context(), server_hostname="localhost")
        with trio.fail_after(2), pytest.raises(trio.BrokenResourceError):
            await tls.do_handshake()
        await trio.aclose_forcefully(tls)
