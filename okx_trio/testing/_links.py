"""Server-side connection links: one surface over sockets and in-memory transports.

The simulator's protocol code (login, subscriptions, trade ops, faults) talks to
a ``Link`` and never knows whether a real TCP socket (websockets'
sans-I/O ``ServerProtocol`` over a trio stream) or an in-memory
``okx_trio._transport.MemoryTransport`` is underneath. Both support the
operations fault injection needs: send a text frame (also one that is not
valid JSON), close with a code, abort without a close handshake (a TCP reset
for sockets), and muting the answers to control pings.
"""

from __future__ import annotations

import socket
import struct
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

import attrs
import trio
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from .._transport import QUIET_LOGGER, MemoryTransport, TransportClosed
from ._rules import MAX_FRAME

# Bound on the polite close handshake; after it the socket is just closed.
CLOSE_TIMEOUT = 2.0


class LinkClosed(Exception):
    """The peer closed the connection (``code`` as received, 1006 when abrupt)."""

    def __init__(self, code: int = 1006, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


@attrs.frozen
class Message:
    """One complete message received from the client."""

    data: bytes
    """The payload (UTF-8 text unless ``binary``)."""
    binary: bool = False
    """True for a WebSocket binary message."""


class Link(Protocol):
    """What the simulator needs from one client connection."""

    kind: str
    """``"socket"`` or ``"memory"``."""

    async def send(self, data: bytes) -> None:
        """Send one text frame (the payload is not checked: faults send bad ones)."""

    async def send_many(self, frames: Sequence[bytes]) -> None:
        """Send several text frames (in one write where the link can)."""

    async def receive(self) -> Message:
        """The next message; raises ``LinkClosed`` once the client is gone."""

    async def close(self, code: int, reason: str) -> None:
        """Close with a close frame (bounded in time); idempotent."""

    def abort(self) -> None:
        """Drop the connection at once (TCP reset for sockets)."""

    def set_pong_filter(self, muted: Callable[[], bool]) -> None:
        """Control pings go unanswered while ``muted()`` is true."""


class _MutableServerProtocol(ServerProtocol):
    """``ServerProtocol`` whose automatic pong replies can be switched off."""

    pongs_muted: Callable[[], bool] = staticmethod(lambda: False)

    def send_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PONG and self.pongs_muted():
            return
        super().send_frame(frame)


def new_server_protocol(compression: bool = True) -> ServerProtocol:
    """A sans-I/O server protocol with the simulator's limits.

    ``permessage-deflate`` is offered to clients that ask for it, as OKX does.
    """
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

    extensions = [ServerPerMessageDeflateFactory()] if compression else None
    # The quiet logger: websockets would log every frame (a login's signature
    # and passphrase) at DEBUG through the logger it is given.
    return _MutableServerProtocol(extensions=extensions, max_size=MAX_FRAME, logger=QUIET_LOGGER)


def raw_socket_of(stream: trio.abc.Stream) -> trio.socket.SocketType | None:
    """The trio socket under a (possibly TLS-wrapped) stream."""
    if isinstance(stream, trio.SSLStream):
        stream = stream.transport_stream
    if isinstance(stream, trio.SocketStream):
        return stream.socket
    return None


def reset_stream(stream: trio.abc.Stream) -> None:
    """Close the stream's socket with SO_LINGER 0, which sends a TCP RST."""
    sock = raw_socket_of(stream)
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _state(protocol: ServerProtocol) -> State:
    # A function call, so type checkers do not keep a narrowed state across sends.
    return protocol.state


class SocketLink:
    """A WebSocket connection over a trio stream, after the handshake."""

    kind = "socket"

    def __init__(self, stream: trio.abc.Stream, protocol: ServerProtocol) -> None:
        self._stream = stream
        self._protocol = protocol
        self._lock = trio.Lock()
        self._messages: deque[Message] = deque()
        self._fragments: list[bytes] = []
        self._fragment_binary = False
        self._closed: LinkClosed | None = None
        self._eof_sent = False
        self._partial = False

    def set_pong_filter(self, muted: Callable[[], bool]) -> None:
        if isinstance(self._protocol, _MutableServerProtocol):
            self._protocol.pongs_muted = muted

    async def _flush(self) -> None:
        # One lock for every writer keeps frames in protocol order (the reader
        # flushes pongs and close replies, the writer flushes messages).
        async with self._lock:
            chunks = self._protocol.data_to_send()
            if not chunks:
                return
            eof = False
            payload = []
            for chunk in chunks:
                if chunk == b"":
                    eof = True
                else:
                    payload.append(chunk)
            try:
                if payload:
                    # Set while a write is under way: a write cut short by a
                    # cancellation leaves half a frame on the wire.
                    self._partial = True
                    await self._stream.send_all(b"".join(payload))
                    self._partial = False
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                self._set_closed(1006, "send failed")
                raise self._closed_exc() from exc
            if eof and not self._eof_sent:
                self._eof_sent = True
                if self._protocol.close_rcvd is not None:
                    # Close handshake complete: the server closes the TCP
                    # connection first (RFC 6455), and the client waits for it.
                    with trio.CancelScope(shield=True):
                        await trio.aclose_forcefully(self._stream)
                    return
                # We failed the connection (e.g. 1009) while the client may
                # still be sending: half-close so it sees EOF after our close
                # frame, and close() drains the rest, so it never gets a reset.
                if isinstance(self._stream, trio.abc.HalfCloseableStream):
                    try:
                        await self._stream.send_eof()
                    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                        pass

    def _set_closed(self, code: int, reason: str) -> None:
        if self._closed is None:
            self._closed = LinkClosed(code, reason)

    def _closed_exc(self) -> LinkClosed:
        c = self._closed or LinkClosed()
        return LinkClosed(c.code, c.reason)

    async def send(self, data: bytes) -> None:
        if self._closed is not None or self._protocol.state is not State.OPEN:
            self._set_closed(1006, "connection is closing")
            raise self._closed_exc()
        self._protocol.send_text(data)
        await self._flush()

    async def send_many(self, frames: Sequence[bytes]) -> None:
        if self._closed is not None or self._protocol.state is not State.OPEN:
            self._set_closed(1006, "connection is closing")
            raise self._closed_exc()
        for data in frames:
            self._protocol.send_text(data)
        await self._flush()

    def absorb(self, events: Sequence[object]) -> None:
        """Take frames that arrived together with the handshake request."""
        self._take_frames(events)

    def _take_events(self) -> None:
        self._take_frames(self._protocol.events_received())

    def _take_frames(self, events: Sequence[object]) -> None:
        for event in events:
            if not isinstance(event, Frame):
                continue
            opcode = event.opcode
            if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
                binary = opcode is Opcode.BINARY
                if event.fin:
                    self._messages.append(Message(bytes(event.data), binary))
                else:
                    self._fragments = [bytes(event.data)]
                    self._fragment_binary = binary
            elif opcode is Opcode.CONT:
                self._fragments.append(bytes(event.data))
                if event.fin:
                    self._messages.append(
                        Message(b"".join(self._fragments), self._fragment_binary)
                    )
                    self._fragments = []

    async def receive(self) -> Message:
        while not self._messages:
            if self._closed is not None:
                raise self._closed_exc()
            try:
                data = await self._stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                self._set_closed(1006, "connection reset")
                continue
            if data:
                self._protocol.receive_data(data)
            else:
                self._protocol.receive_eof()
            self._take_events()
            try:
                await self._flush()
            except LinkClosed:
                pass
            rcvd = self._protocol.close_rcvd
            if rcvd is not None:
                self._set_closed(rcvd.code, rcvd.reason)
            elif self._protocol.parser_exc is not None or not data:
                sent = self._protocol.close_sent
                if sent is not None:
                    # We failed the connection (e.g. 1009 for a huge frame).
                    self._set_closed(sent.code, sent.reason)
                else:
                    self._set_closed(1006, "connection lost")
        return self._messages.popleft()

    async def close(self, code: int, reason: str) -> None:
        if self._partial:
            # Half a frame is out: a close frame after it would be garbage.
            self.abort()
            return
        with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
            try:
                if _state(self._protocol) is State.OPEN:
                    self._protocol.send_close(code, reason)
                    await self._flush()
                # Drain until the client's EOF (its close reply goes through the
                # protocol), so it sees a clean close rather than a reset.
                while True:
                    data = await self._stream.receive_some(65536)
                    if _state(self._protocol) is not State.CLOSED:
                        if data:
                            self._protocol.receive_data(data)
                        else:
                            self._protocol.receive_eof()
                        self._protocol.events_received()
                        await self._flush()
                    if not data:
                        break
            except (LinkClosed, trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass
        self._set_closed(code, reason)
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(self._stream)

    def abort(self) -> None:
        self._set_closed(1006, "aborted")
        reset_stream(self._stream)


class MemoryLink:
    """The server end of an in-memory connection (no sockets, works under MockClock)."""

    kind = "memory"

    def __init__(self, transport: MemoryTransport) -> None:
        self._transport = transport

    def set_pong_filter(self, muted: Callable[[], bool]) -> None:
        # In-memory connections have no control frames.
        del muted

    async def send(self, data: bytes) -> None:
        try:
            await self._transport.send(data)
        except TransportClosed as exc:
            raise LinkClosed(exc.code, exc.reason) from None

    async def send_many(self, frames: Sequence[bytes]) -> None:
        for data in frames:
            await self.send(data)

    async def receive(self) -> Message:
        try:
            data = await self._transport.receive()
        except TransportClosed as exc:
            raise LinkClosed(exc.code, exc.reason) from None
        return Message(data)

    async def close(self, code: int, reason: str) -> None:
        await self._transport.aclose(code, reason)

    def abort(self) -> None:
        self._transport.abort()
