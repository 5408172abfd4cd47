"""HTTP on the simulator's port: REST requests and WebSocket upgrades, sockets and memory.

``HttpServer`` serves each TCP connection (``trio.serve_tcp``'s handler):
keep-alive HTTP/1.1 requests parsed by h11 and answered by the REST handler, or
one WebSocket upgrade (websockets' sans-I/O ``ServerProtocol``) after which the
connection is handed over as a ``SocketLink``. ``RestMemoryTransport``
serves the same REST handler to an ``httpx`` client in-process, with no
socket and no timer (``trio.testing.MockClock`` tests).

It is given callables, not the simulator: ``reply`` answers a REST request,
``serve_link`` serves an accepted WebSocket, ``refuse`` says whether to refuse
an upgrade (fault injection: 503), ``admit`` whether a peer may open one more
connection now (OKX's 3 per second per IP: 429 otherwise).
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import h11
import httpx
import orjson
import trio
from websockets.http11 import Request

from ._links import Link, SocketLink, new_server_protocol, raw_socket_of
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


TLS_HANDSHAKE = b"\x16"
"""The first byte of a TLS record carrying a handshake (a ClientHello)."""
_PLAIN_ON_TLS_BODY = b"The plain HTTP request was sent to HTTPS port\n"
PLAIN_ON_TLS_ANSWER = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
    % (len(_PLAIN_ON_TLS_BODY), _PLAIN_ON_TLS_BODY)
)
"""What the TLS port answers a client that speaks plain HTTP to it (nginx's words)."""


async def _plain_http_on_tls_port(stream: trio.SocketStream) -> bool:
    """Answer a client that speaks plain HTTP to the TLS port as nginx does (400,
    then close), so a ``ws://`` URL for a ``wss://`` server fails at once with a
    reason instead of a silent close. Returns True when it did."""
    with trio.move_on_after(HTTP_IDLE_TIMEOUT):
        first = await stream.socket.recv(1, socket.MSG_PEEK)
        if first and first != TLS_HANDSHAKE:
            await stream.send_all(PLAIN_ON_TLS_ANSWER)
            return True
    return False


class HttpServer:
    """The simulator's port: HTTP/1.1 REST requests and WebSocket upgrades.

    Requests are parsed by h11 (keep-alive, pipelining, ``Content-Length`` and
    chunked bodies, HTTP/1.0); a WebSocket upgrade is handed to websockets'
    sans-I/O server protocol with the bytes of its request.

    Args:
        reply: answers a REST request (see ``answer_rest``).
        serve_link: serves an accepted WebSocket connection.
        refuse: True when the next upgrade must be refused with 503.
        ssl_context: serve TLS with it (``https://``/``wss://``), else plain.
        admit: ``admit(peer IP)``: False when the upgrade must be refused with 429
            (too many new connections); counts the ones it admits.
    """

    def __init__(
        self,
        *,
        reply: Reply,
        serve_link: ServeLink,
        refuse: Callable[[], bool],
        ssl_context: ssl.SSLContext | None,
        admit: Callable[[str], bool] = lambda peer: True,
    ) -> None:
        self._reply = reply
        self._serve_link = serve_link
        self._refuse = refuse
        self._ssl_context = ssl_context
        self._admit = admit

    async def handle_tcp(self, stream: trio.SocketStream) -> None:
        """Serve one TCP connection (``trio.serve_tcp``'s handler) until it closes."""
        conn_stream: trio.abc.Stream = stream
        try:
            if self._ssl_context is not None:
                if await _plain_http_on_tls_port(stream):
                    return
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
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HTTP_HEAD)
        while True:
            try:
                request = await self._next_request(stream, conn)
                if request is None:
                    return
                if "websocket" in _header(request, b"upgrade").lower():
                    await self._websocket(stream, conn, request)
                    return
                body = await self._read_body(stream, conn)
            except h11.RemoteProtocolError as exc:
                await self._refuse_request(stream, conn, exc.error_status_hint)
                return
            if body is None:
                await self._send(stream, conn, 400, {"code": "400", "msg": "Bad Request"}, False)
                return
            method = request.method.decode("ascii")
            headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                       for name, value in request.headers}
            status, payload = self._reply(method, request.target.decode("latin-1"), headers, body)
            await self._send(stream, conn, status, payload, method == "HEAD")
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return  # HTTP/1.0, Connection: close, or a request h11 cannot reuse
            conn.start_next_cycle()

    @staticmethod
    async def _receive(stream: trio.abc.Stream, conn: h11.Connection) -> None:
        data = await stream.receive_some(65536)
        conn.receive_data(bytes(data))  # b"" tells h11 the peer closed

    async def _next_request(
        self, stream: trio.abc.Stream, conn: h11.Connection
    ) -> h11.Request | None:
        """The next request's head, or ``None`` when the client is gone or idle too long."""
        with trio.move_on_after(HTTP_IDLE_TIMEOUT):
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    await self._receive(stream, conn)
                    continue
                if isinstance(event, h11.Request):
                    return event
                return None  # ConnectionClosed (or PAUSED, which a new cycle never is)
        return None

    async def _read_body(self, stream: trio.abc.Stream, conn: h11.Connection) -> bytes | None:
        """The request body (``None`` when it is larger than a frame may be)."""
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                await self._receive(stream, conn)
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_FRAME:
                    return None
            elif isinstance(event, h11.EndOfMessage):
                return bytes(body)
            else:
                raise h11.RemoteProtocolError("the request ended early", 400)

    async def _refuse_request(
        self, stream: trio.abc.Stream, conn: h11.Connection, status: int
    ) -> None:
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            await self._send(stream, conn, status, {"code": str(status),
                                                    "msg": _PHRASES.get(status, "Error")}, False)

    @staticmethod
    async def _send(
        stream: trio.abc.Stream, conn: h11.Connection, status: int, payload: dict[str, Any],
        head_only: bool,
    ) -> None:
        body = orjson.dumps(payload)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        out = conn.send(h11.Response(status_code=status, headers=headers,
                                     reason=_PHRASES.get(status, "Error")))
        if not head_only:
            out += conn.send(h11.Data(data=body))
        out += conn.send(h11.EndOfMessage())
        await stream.send_all(out)

    async def _websocket(
        self, stream: trio.abc.Stream, conn: h11.Connection, request: h11.Request
    ) -> None:
        # websockets parses the handshake itself: hand it the request as bytes
        # (h11 validated it) and whatever the client sent after it.
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                await self._receive(stream, conn)
            elif event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                break
        head = b"%s %s HTTP/%s\r\n" % (request.method, request.target, request.http_version)
        head += b"".join(b"%s: %s\r\n" % (name, value)
                         for name, value in request.headers.raw_items())
        received = head + b"\r\n" + conn.trailing_data[0]
        protocol = new_server_protocol()
        protocol.receive_data(received)
        events = protocol.events_received()
        parsed = next((e for e in events if isinstance(e, Request)), None)
        if parsed is None:
            # websockets already queued its own error response, if any.
            out = b"".join(protocol.data_to_send())
            if out:
                await stream.send_all(out)
            return
        kind = path_kind(parsed.path)
        if kind is None:
            response = protocol.reject(404, "Not Found\n")
        elif self._refuse():
            response = protocol.reject(503, "Service Unavailable\n")
        elif not self._admit(peer_ip(stream)):
            response = protocol.reject(429, "Too Many Requests\n")
        else:
            response = protocol.accept(parsed)
        protocol.send_response(response)
        out = b"".join(protocol.data_to_send())
        if out:
            await stream.send_all(out)
        if response.status_code != 101:
            return
        link = SocketLink(stream, protocol)
        link.absorb(events)
        await self._serve_link(link, parsed.path)


def _header(request: h11.Request, name: bytes) -> str:
    for key, value in request.headers:
        if key == name:
            return value.decode("latin-1")
    return ""


def peer_ip(stream: trio.abc.Stream) -> str:
    """The client's IP address (``""`` when the stream has no socket)."""
    sock = raw_socket_of(stream)
    if sock is None:
        return ""
    try:
        return str(sock.getpeername()[0])
    except OSError:
        return ""


_PHRASES = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}


class RestMemoryTransport(httpx.AsyncBaseTransport):
    """Serves httpx requests with ``reply``, no socket involved.

    Args:
        reply: answers a REST request (see ``answer_rest``).
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
