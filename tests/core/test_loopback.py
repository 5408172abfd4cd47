"""The session over real loopback sockets, for both transports, against a scripted server.

The server side is trio-websocket's server (a different WebSocket implementation
from the default client transport, so the two cross-check each other).
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trustme
from support.scripted import CREDS, Conn, ScriptedServer
from trio_websocket import WebSocketRequest, serve_websocket

import okx_trio
from okx_trio import OkxConnectError, OkxConnectionLost

ORDER = [{"instIdCode": 1, "tdMode": "cash", "side": "buy", "ordType": "limit",
          "sz": "1", "px": "1"}]
TRANSPORTS = ["websockets", "trio-websocket"]


@asynccontextmanager
async def loopback_server(
    server: ScriptedServer, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[str]:
    async def handler(request: WebSocketRequest) -> None:
        ws = await request.accept()
        stream: Any = ws._stream  # the socket under the WebSocket, for abrupt resets

        def abort() -> None:
            sock = getattr(stream, "socket", None) or stream.transport_stream.socket
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()

        async def send(data: bytes) -> None:
            await ws.send_message(data.decode())

        async def close(code: int = 1000, reason: str = "") -> None:
            await ws.aclose(code, reason)

        conn = Conn(len(server.conns), request.path, send, close, abort)
        await server.serve(conn, ws.get_message)

    async with trio.open_nursery() as nursery:
        ws_server = await nursery.start(serve_websocket, handler, "127.0.0.1", 0, ssl_context)
        port = ws_server.port
        scheme = "wss" if ssl_context is not None else "ws"
        yield f"{scheme}://127.0.0.1:{port}"
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_login_and_round_trip(transport: str) -> None:
    server = ScriptedServer()
    with trio.fail_after(10):
        async with loopback_server(server) as url, okx_trio.open_ws_client(
            base_url=url, credentials=CREDS, transport=transport, rate_limit=False
        ) as client:
            for i in range(20):
                resp = await client.request("order", [dict(ORDER[0], clOrdId=f"c{i}")])
                assert resp.data[0]["echo"]["clOrdId"] == f"c{i}"
    assert server.conns[0].path == "/ws/v5/private"
    assert len(server.ops("login")) == 1
    assert len(server.ops("order")) == 20


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("how", ["close", "reset"])
async def test_drop_during_request_then_reconnect(transport: str, how: str) -> None:
    server = ScriptedServer()
    server.hold_ops = {"order"}
    with trio.fail_after(15):
        async with loopback_server(server) as url, okx_trio.open_ws_client(
            base_url=url, credentials=CREDS, transport=transport, rate_limit=False
        ) as client:
            async with trio.open_nursery() as nursery:

                async def drop() -> None:
                    await server.wait_for(lambda: len(server.ops("order")) == 1)
                    if how == "close":
                        await server.conns[0].close(1011, "server going away")
                    else:
                        server.conns[0].abort()

                nursery.start_soon(drop)
                with pytest.raises(OkxConnectionLost):
                    await client.request("order", ORDER)
            server.hold_ops = set()
            resp = await client.request("order", ORDER)
            assert resp.code == "0"
            assert client.statistics().reconnects["private"] == 1
    assert len(server.ops("login")) == 2
    assert len(server.ops("order")) == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tls_verified_by_default(transport: str) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    server = ScriptedServer()
    with trio.fail_after(15):
        async with loopback_server(server, server_ctx) as url:
            async with okx_trio.open_ws_client(
                base_url=url, credentials=CREDS, transport=transport, rate_limit=False
            ) as client, client.events() as events:
                # Not retried until the deadline: an untrusted certificate will
                # not become trusted (issue 16, fail fast with the cause).
                with trio.fail_after(2), pytest.raises(OkxConnectError) as info:
                    await client.request("order", ORDER, timeout=10.0)
                assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
                failures = [e for e in events.buffer if e.kind == "exception"]
                assert failures
                assert "CERTIFICATE_VERIFY_FAILED" in str(failures[0].detail)
            assert server.received == []
            async with okx_trio.open_ws_client(
                base_url=url, credentials=CREDS, transport=transport, rate_limit=False,
                ssl_context=client_ctx,
            ) as client:
                assert (await client.request("order", ORDER)).code == "0"
    assert len(server.ops("order")) == 1
