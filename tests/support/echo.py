"""A trio-websocket echo server on 127.0.0.1 for the transport's socket tests."""

from __future__ import annotations

import ssl

import trio
from trio_websocket import WebSocketRequest, serve_websocket


async def echo_server(nursery: trio.Nursery, ctx: ssl.SSLContext | None = None,
                      slow: bool = False) -> str:
    """Start it in ``nursery``; returns its ``ws://`` URL (``wss://`` with ``ctx``).

    Each message comes back as sent, except ``burst``, answered with 300
    messages; ``slow`` pauses before each answer so a client's big write has to
    wait for room in the socket.
    """
    async def handler(request: WebSocketRequest) -> None:
        ws = await request.accept()
        while True:
            try:
                message = await ws.get_message()
            except Exception:
                return
            if slow:
                await trio.sleep(0.05)  # the client's big write must wait for room
            if message == "burst":
                for i in range(300):
                    await ws.send_message(f"m{i}")
                continue
            await ws.send_message(message)

    server = await nursery.start(serve_websocket, handler, "127.0.0.1", 0, ctx)
    scheme = "ws" if ctx is None else "wss"
    return f"{scheme}://127.0.0.1:{server.port}/ws"
