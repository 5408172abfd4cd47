"""HTTP on the simulator's port: REST requests and WebSocket upgrades, sockets and memory.

:class:`HttpServer` serves each TCP connection (``trio.serve_tcp``'s handler):
keep-alive HTTP/1.1 requests answered by the REST handler, or one WebSocket
upgrade (websockets' sans-I/O ``ServerProtocol``) after which the connection is
handed over as a :class:`~._links.SocketLink`. :class:`RestMemoryTransport`
serves the same REST handler to an ``httpx`` client in-process, with no
socket and no timer (``trio.testing.MockClock`` tests).

It is given callables, not the simulator: ``reply`` answers a REST request,
``serve_link`` serves an accepted WebSocket, ``refuse`` says whether to refuse
an upgrade (fault injection).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import orjson
import trio
from websockets.http11 import Request

from ._links import Link, SocketLink, new_server_protocol
from ._rules import MAX_FRAME, path_kind

log = logging.getLogger("okx_trio.simulator")

HTTP_IDLE_TIMEOUT = 30.0
"""Keep-alive HTTP connections idle longer than this are closed."""
MAX_HTTP_HEAD = 64 * 1024
"""Request heads larger than this get 431."""

Reply = Callable[[str, str, Mapping[str, str], bytes], tuple[int, dict[str, Any]]]
"""``reply(method, target, headers, body) -> (status, JSON body)``; lower-case header names."""
ServeLink = Callable[[Link, str], Awaitable[None]]
"""``serve_link(link, raw_path)``: serve an accepted WebSocket until it closes."""


def answer_rest(
    handle: Reply, method: str, target: str, headers: Mapping[str, str], body: bytes
) -> tuple[int, dict[str, Any]]:
    """``handle``'s answer to a plain HTTP request, for sockets and memory alike.

    A WebSocket path without an upgrade gets 400; a failing handler gets 500
    (50026) and is logged, and the server keeps serving.
    """
    if path_kind(target) is not None:
        return 400, {"code": "400", "msg": "WebSocket upgrade expected", "data": []}
    try:
        return handle(method, target, headers, body)
    except Exception:
        log.exception("simulator: REST handler failed for %s", target)
        return 500, {"code": "50026", "msg": "System error. Try again later", "data": []}


class HttpServer:
    """The simulator's port: HTTP/1.1 REST requests and WebSocket upgrades.

    Args:
        reply: answers a REST request (see :func:`answer_rest`).
        serve_link: serves an accepted WebSocket connection.
        refuse: True when the next upgrade must be refused with 503.
        ssl_context: serve TLS with it (``https://``/``wss://``), else plain.
    """

    def __init__(
        self,
        *,
        reply: Reply,
        serve_link: ServeLink,
        refuse: Callable[[], bool],
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self._reply = reply
        self._serve_link = serve_link
        self._refuse = refuse
        self._ssl_context = ssl_context

    async def handle_tcp(self, stream: trio.SocketStream) -> None:
        """Serve one TCP connection (``trio.serve_tcp``'s handler) until it closes."""
        conn_stream: trio.abc.Stream = stream
        try:
            if self._ssl_context is not None:
                conn_stream = trio.SSLStream(
                    stream, self._ssl_context, server_side=True, https_compatible=True
                )
            await self._serve_http(conn_stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError, ssl.SSLError):
            pass
        except Exception:
            log.exception("simulator: unexpected error on a TCP connection")
        finally:
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(conn_stream)

    async def _serve_http(self, stream: trio.abc.Stream) -> None:
        buf = bytearray()
        while True:
            head = b""
            with trio.move_on_after(HTTP_IDLE_TIMEOUT):
                while True:
                    end = buf.find(b"\r\n\r\n")
                    if end >= 0:
                        head = bytes(buf[: end + 4])
                        del buf[: end + 4]
                        break
                    if len(buf) > MAX_HTTP_HEAD:
                        await write_http(stream, 431, {"code": "431", "msg": "Headers too large",
                                                        "data": []}, close=True)
                        return
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    buf += data
            if not head:
                return
            parsed = parse_head(head)
            if parsed is None:
                await write_http(stream, 400, {"code": "400", "msg": "Bad Request", "data": []},
                                  close=True)
                return
            method, target, version, headers = parsed
            if "websocket" in headers.get("upgrade", "").lower():
                await self._websocket(stream, head + bytes(buf), target)
                return
            if "chunked" in headers.get("transfer-encoding", "").lower():
                await write_http(stream, 411, {"code": "411", "msg": "Length Required",
                                                "data": []}, close=True)
                return
            length_text = headers.get("content-length", "0") or "0"
            if not length_text.isdigit() or int(length_text) > MAX_FRAME:
                await write_http(stream, 400, {"code": "400", "msg": "Bad Request", "data": []},
                                  close=True)
                return
            length = int(length_text)
            while len(buf) < length:
                data = await stream.receive_some(65536)
                if not data:
                    return
                buf += data
            body = bytes(buf[:length])
            del buf[:length]
            status, payload = self._reply(method, target, headers, body)
            close = version == "HTTP/1.0" or headers.get("connection", "").lower() == "close"
            await write_http(stream, status, payload, close=close, head_only=method == "HEAD")
            if close:
                return

    async def _websocket(self, stream: trio.abc.Stream, received: bytes, target: str) -> None:
        protocol = new_server_protocol()
        protocol.receive_data(received)
        events = protocol.events_received()
        request = next((e for e in events if isinstance(e, Request)), None)
        if request is None:
            # websockets already queued its own error response, if any.
            out = b"".join(protocol.data_to_send())
            if out:
                await stream.send_all(out)
            return
        kind = path_kind(request.path)
        if kind is None:
            response = protocol.reject(404, "Not Found\n")
        elif self._refuse():
            response = protocol.reject(503, "Service Unavailable\n")
        else:
            response = protocol.accept(request)
        protocol.send_response(response)
        out = b"".join(protocol.data_to_send())
        if out:
            await stream.send_all(out)
        if response.status_code != 101:
            return
        link = SocketLink(stream, protocol)
        link.absorb(events)
        await self._serve_link(link, request.path)




def parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]] | None:
    """``(method, target, version, headers)`` of an HTTP/1.x request head, None if malformed.

    Header names are lower-cased; a repeated header keeps its last value.
    """
    try:
        text = head.decode("latin-1")
        lines = text.split("\r\n")
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        return None
    if not version.startswith("HTTP/1.") or not target.startswith("/"):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return None
        headers[name.strip().lower()] = value.strip()
    return method, target, version, headers


_PHRASES = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}


async def write_http(
    stream: trio.abc.Stream,
    status: int,
    payload: dict[str, Any],
    *,
    close: bool,
    head_only: bool = False,
) -> None:
    """Write one JSON response (``head_only``: the head of it, for ``HEAD``)."""
    body = orjson.dumps(payload)
    head = (
        f"HTTP/1.1 {status} {_PHRASES.get(status, 'Error')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n"
        "\r\n"
    ).encode()
    await stream.send_all(head if head_only else head + body)


class RestMemoryTransport(httpx.AsyncBaseTransport):
    """Serves httpx requests with ``reply``, no socket involved.

    Args:
        reply: answers a REST request (see :func:`answer_rest`).
        running: False once the simulator has stopped (requests then fail
            with ``httpx.ConnectError``).
    """

    def __init__(self, reply: Reply, running: Callable[[], bool]) -> None:
        self._reply = reply
        self._running = running

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request in-process."""
        await trio.lowlevel.checkpoint()
        if not self._running():
            raise httpx.ConnectError("the simulator is not running", request=request)
        body = await request.aread()
        if len(body) > MAX_FRAME:
            status, payload = 400, {"code": "400", "msg": "Bad Request", "data": []}
        else:
            headers = {name.lower(): value for name, value in request.headers.items()}
            target = request.url.raw_path.decode("ascii")
            status, payload = self._reply(request.method, target, headers, body)
        content = b"" if request.method == "HEAD" else orjson.dumps(payload)
        return httpx.Response(
            status, headers={"Content-Type": "application/json"}, content=content,
            request=request,
        )
