"""The transport seam: send a text frame, receive a text frame, close.

The session never knows what is underneath. Three implementations:

* ``connect_websockets`` (the default): websockets' sans-I/O
  ``ClientProtocol`` driven over trio streams. It is about twice as fast as
  trio-websocket on this workload because it avoids a per-message task hop.
  On POSIX it drives the socket itself, TLS included (``_tls``).
* ``connect_trio_websocket``: trio-websocket (wsproto underneath).
* ``MemoryTransport`` pairs (``memory_pair``, ``MemoryConnector``):
  no sockets, so timing tests run under ``trio.testing.MockClock``.

A ``Connector`` is ``await connector(url, ssl_context=..., nursery=...)``;
it returns a ``Transport`` or raises ``TransportConnectError``.
``receive()`` returns the payload of one complete text message as UTF-8 bytes
and raises ``TransportClosed`` once the connection is gone. Every
capability is on those two interfaces, the optional ones with a default.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx
import trio

from ._tls import SocketTlsStream, SocketWriter

# A frame bigger than this is refused (OKX pushes are far smaller; a 400-level
# book snapshot is ~30 kB).
MAX_MESSAGE_SIZE = 8 * 1024 * 1024
CLOSE_TIMEOUT = 2.0
READ_SIZE = 65536
"""Most bytes one read takes from the stream."""
RECEIVE_BATCH = 16
"""Messages ``receive_many`` first hands over between two schedule points (the
size then adapts to what the caller keeps per message: ``_next_batch``)."""
RECEIVE_BATCH_MAX = 128
"""Most messages ``receive_many`` hands over between two schedule points."""
RECEIVE_BATCH_TIME = 0.001
"""Seconds the caller may spend on one batch (as measured on the last one):
handlers that run in the reader (order books, the order tracker) can take tens
of µs a message, and a batch is one uninterrupted task step."""
_clock = time.perf_counter
"""What ``receive_many`` times its caller with (tests replace it)."""
DRIVE_SOCKETS = os.name == "posix"
"""The websockets transport drives its socket itself (``os.read``/``os.write``
on the descriptor, TLS through ``SocketTlsStream``); elsewhere it uses trio's
``SocketStream`` and ``SSLStream``. Tests set it to ``False`` to run that path."""


class TransportClosed(Exception):
    """The connection is closed; ``code`` is the WebSocket close code (1006: abnormal)."""

    def __init__(self, code: int = 1006, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"connection closed ({self.code}{': ' + self.reason if self.reason else ''})"


class TransportConnectError(Exception):
    """Opening the connection failed (TCP, TLS or the WebSocket handshake).

    ``permanent`` says whether trying the same URL again is pointless: the host
    name does not resolve, nothing listens on the port, TLS failed (a plain
    server behind ``wss://``, a certificate not trusted), or the server answered
    the upgrade with a 3xx/4xx status (wrong path, not a WebSocket endpoint).
    Timeouts, 5xx answers, 408/429 and resets are transient. The message names
    the reason; ``__cause__`` is the underlying error.
    """

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message, permanent)
        self.message = message
        self.permanent = permanent

    def __str__(self) -> str:
        return self.message


class Transport:
    """One open WebSocket connection carrying text frames: the seam under a session.

    Subclass it and implement ``send``, ``receive``, ``aclose`` and
    ``abort``; ``send_many`` and ``receive_many`` have defaults
    built on those, which an implementation overrides when it can do better
    (one socket write for several frames, every message of one socket read).
    """

    async def send(self, data: bytes) -> None:
        """Send one text message (UTF-8 bytes); raises ``TransportClosed``."""
        raise NotImplementedError

    async def receive(self) -> bytes:
        """The next text message; raises ``TransportClosed`` when closed."""
        raise NotImplementedError

    async def send_many(self, frames: Sequence[bytes]) -> None:
        """Send several text messages, in order (default: one ``send`` each)."""
        for data in frames:
            await self.send(data)

    async def receive_many(self) -> list[bytes]:
        """One or more received messages, in order (default: one ``receive``).

        Waits for at least one; raises ``TransportClosed`` when closed.
        """
        return [await self.receive()]

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close politely (close handshake, bounded in time). Idempotent."""
        raise NotImplementedError

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake."""
        raise NotImplementedError


class Connector:
    """Opens transports: ``await connector(url, ssl_context=..., nursery=...)``.

    The client's ``transport=`` option takes one (a simulator's
    ``connect_memory()`` is one); a plain async function with that signature
    is wrapped in one. ``nursery`` is where a transport may start background
    tasks of its own; they must end when it closes.
    """

    rest_transport: httpx.AsyncBaseTransport | None = None
    """An ``httpx`` transport for the client's REST helper to use instead of the
    network (an in-memory server serves REST in memory too), or ``None``."""

    async def __call__(
        self, url: str, *, ssl_context: ssl.SSLContext | None, nursery: trio.Nursery
    ) -> Transport:
        """Open ``url``; raises ``TransportConnectError`` when that fails."""
        raise NotImplementedError


class _AdaptedTransport(Transport):
    """A duck-typed transport (send/receive/aclose/abort) behind the full interface."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def send(self, data: bytes) -> None:
        await self._inner.send(data)

    async def receive(self) -> bytes:
        data: bytes = await self._inner.receive()
        return data

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        await self._inner.aclose(code, reason)

    def abort(self) -> None:
        self._inner.abort()


class FunctionConnector(Connector):
    """A plain ``async def connect(url, *, ssl_context, nursery)`` as a ``Connector``.

    What it returns is used as is when it is a ``Transport``, and adapted
    otherwise (an object with ``send``, ``receive``, ``aclose`` and ``abort``).
    """

    def __init__(self, connect: Callable[..., Awaitable[Any]]) -> None:
        self._connect = connect

    async def __call__(
        self, url: str, *, ssl_context: ssl.SSLContext | None, nursery: trio.Nursery
    ) -> Transport:
        transport = await self._connect(url, ssl_context=ssl_context, nursery=nursery)
        return transport if isinstance(transport, Transport) else _AdaptedTransport(transport)


def as_connector(transport: object, *, compression: bool = False) -> Connector:
    """The connector for the client's ``transport=`` option.

    ``"websockets"`` (websockets' sans-I/O protocol on trio streams, with
    ``compression`` if asked), ``"trio-websocket"``, a ``Connector``, or a
    plain async function (wrapped in a ``FunctionConnector``).
    """
    if transport == "websockets":
        return _WebsocketsConnector(compression)
    if transport == "trio-websocket":
        return FunctionConnector(connect_trio_websocket)
    if isinstance(transport, Connector):
        return transport
    if callable(transport):
        return FunctionConnector(transport)
    raise TypeError("transport must be 'websockets', 'trio-websocket' or a connector")


class _WebsocketsConnector(Connector):
    def __init__(self, compression: bool) -> None:
        self._compression = compression

    async def __call__(
        self, url: str, *, ssl_context: ssl.SSLContext | None, nursery: trio.Nursery
    ) -> Transport:
        return await connect_websockets(url, ssl_context=ssl_context, nursery=nursery,
                                        compression=self._compression)


# ---------------------------------------------------------------------------
# websockets sans-I/O over trio streams

class _Mutex:
    """A FIFO lock for the transport's two tasks, held across awaits (internal).

    ``trio.Lock`` records its owner and registers a parking-lot breaker on
    every acquire and release (~1 µs a pair, paid twice per round trip: once
    to write, once to read). These locks are taken and released in one
    function, so the owner bookkeeping buys nothing. Taking a free lock is
    ``if not m.held: m.held = True`` (no schedule point, like
    ``acquire_nowait``); ``release`` hands the lock to the longest waiter,
    as ``trio.Lock`` does.
    """

    __slots__ = ("_lot", "held")

    def __init__(self) -> None:
        self.held = False
        self._lot = trio.lowlevel.ParkingLot()

    async def acquire(self) -> None:
        """``trio.Lock.acquire``: a checkpoint, parking while the lock is held."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self.held:
            # Cancelled while parked: still in the lot's queue, never the owner.
            await self._lot.park()
        else:
            self.held = True
            await trio.lowlevel.cancel_shielded_checkpoint()

    def release(self) -> None:
        if self._lot:
            self._lot.unpark()  # the woken task owns it now (held stays True)
        else:
            self.held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()



class WebsocketsTransport(Transport):
    """websockets' sans-I/O ``ClientProtocol`` over a trio stream.

    One task at a time reads the stream (``_read_lock``): the reader task, or
    ``aclose`` waiting for the peer's close frame once the reader has
    stopped or stepped aside, so the two never race for the socket. Every
    stream error, including the ``ClosedResourceError`` an ``abort`` from
    another task causes, becomes ``TransportClosed``.
    """

    def __init__(self, stream: trio.abc.Stream, protocol: object) -> None:
        from websockets.client import ClientProtocol
        from websockets.exceptions import InvalidState
        from websockets.frames import Opcode

        assert isinstance(protocol, ClientProtocol)
        self._stream = stream
        self._protocol: ClientProtocol = protocol
        self._send_lock = _Mutex()
        self._read_lock = _Mutex()
        self._messages: deque[bytes] = deque()
        self._fragments: list[bytes] = []
        self._closed: TransportClosed | None = None
        self._peer_closed = trio.Event()
        # Looked up once: a function-level import costs a module lookup per frame.
        self._invalid_state = InvalidState
        self._text, self._binary, self._cont = Opcode.TEXT, Opcode.BINARY, Opcode.CONT
        # A plain TCP stream (ws://) on a POSIX system is driven through its
        # socket directly: a write that fits in the kernel's buffer returns
        # without the schedule point ``send_all`` adds after it, and a read
        # after a read that drained the socket parks in ``wait_readable``
        # first instead of paying a failed ``recv`` (EAGAIN) on the path of
        # every answer. TLS (wss://) does the same through ``SocketTlsStream``
        # (``write``/``read``); any other stream goes through trio's Stream calls.
        self._socket: Any = (stream.socket if type(stream) is trio.SocketStream
                             and DRIVE_SOCKETS else None)
        self._tls = stream if type(stream) is SocketTlsStream else None
        self._drained = True
        """The last read returned less than ``READ_SIZE``: the socket is empty."""
        self._batch = RECEIVE_BATCH
        """How many messages ``receive_many`` hands over at a time (adapts)."""
        self._handed = 0
        self._young: tuple[int, int, int] = (0, 0, 0)
        self._handed_at = 0.0
        """``gc.get_count()`` when a batch was handed over with more to come."""
        self._writer = SocketWriter(self._socket) if self._socket is not None else None
        """Writes on the plain socket; keeps what a cancelled write left (``unsent``)."""

    async def _flush(self) -> None:
        """Write what the protocol (and the TLS layer) has to send, in order.

        A cancellation point, checked before any byte leaves the protocol (a
        cancelled flush loses nothing); a schedule point only when the socket's
        buffer is full (the socket paths) or as trio's ``send_all`` makes it.
        """
        # Draining under the lock keeps bytes in protocol order even when the
        # reader (pong replies, close replies) and the writer both flush.
        # A free lock is taken without a schedule point.
        await trio.lowlevel.checkpoint_if_cancelled()
        lock = self._send_lock
        if lock.held:
            await lock.acquire()
        else:
            lock.held = True
        try:
            chunks = self._protocol.data_to_send()
            tls = self._tls
            # The TLS layer may hold bytes of its own (a read's output, the
            # rest of a cancelled write): the holder of this lock writes them.
            if not chunks and (tls is None or not tls.wants_flush):
                return
            payload = b"".join(chunks)
            try:
                if tls is not None:
                    await tls.write(payload)
                elif self._writer is not None:
                    await self._writer.write(payload)
                elif payload:
                    await self._stream.send_all(payload)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                # ssl.SSLError is an OSError.
                self._set_closed(1006, "send failed")
                raise self._closed_exc() from exc
        finally:
            lock.release()

    async def _read_socket(self) -> bytes:
        """One read of the socket, waiting for it to be readable first."""
        sock = self._socket
        while True:
            await trio.lowlevel.wait_readable(sock)
            try:
                return os.read(sock.fileno(), READ_SIZE)
            except BlockingIOError:
                continue

    def _set_closed(self, code: int, reason: str) -> None:
        if self._closed is None:
            self._closed = TransportClosed(code, reason)

    def _closed_exc(self) -> TransportClosed:
        c = self._closed or TransportClosed()
        return TransportClosed(c.code, c.reason)

    async def send(self, data: bytes) -> None:
        if self._closed is not None:
            raise self._closed_exc()
        try:
            self._protocol.send_text(data)
        except self._invalid_state:
            self._set_closed(1006, "connection is closing")
            raise self._closed_exc() from None
        await self._flush()

    async def send_many(self, frames: Sequence[bytes]) -> None:
        """Send several text messages with one write."""
        if self._closed is not None:
            raise self._closed_exc()
        try:
            for data in frames:
                self._protocol.send_text(data)
        except self._invalid_state:
            self._set_closed(1006, "connection is closing")
            raise self._closed_exc() from None
        await self._flush()

    async def receive_many(self) -> list[bytes]:
        """A batch of received messages (at least one; waits for it), in order.

        A read of 64 KiB holds 100+ small messages. They are handed over a
        batch at a time with a schedule point between two batches of the same
        read, so the tasks the previous batch woke (stream consumers) run and
        free it first: decoding a whole read at once keeps every message of it
        alive together, and their containers set off CPython's cyclic GC
        several times per read (books updates: ~6 µs per push). A schedule
        point costs several µs, so a batch is as large as the GC allows: its
        size follows how many container objects the caller kept alive per
        message of the previous batch, and by the time it took
        (``_kept_per_message``, ``_fit_batch``).
        """
        messages = self._messages
        if not messages:
            await self._wait_messages()
        else:
            kept = self._kept_per_message()
            spent = (_clock() - self._handed_at) / self._handed if self._handed else 0.0
            await trio.lowlevel.cancel_shielded_checkpoint()
            self._batch = self._fit_batch(kept, spent)
        size = self._batch
        if len(messages) <= size:
            out = list(messages)
            messages.clear()
            self._handed = 0
            return out
        out = [messages.popleft() for _ in range(size)]
        # More of this read remains: note the young generation's count, to see
        # at the next call how much this batch kept alive.
        self._handed, self._young = size, gc.get_count()
        self._handed_at = _clock()
        return out

    def _kept_per_message(self) -> float:
        """Container objects the batch handed over last kept alive per message
        (-1: a collection ran meanwhile, the batch was too large).

        Between handing a batch over and the next call only the caller runs
        (the session's reader, decoding and delivering it), so the growth of
        the young generation's count is what that batch keeps alive until its
        consumers run. A collection changes the older generations' counts.
        """
        if not self._handed:
            return 0.0  # messages this transport queued itself (with the handshake)
        young, before = gc.get_count(), self._young
        if young[1:] != before[1:]:
            return -1.0
        return max(0, young[0] - before[0]) / self._handed

    def _fit_batch(self, kept: float, spent: float) -> int:
        """The next batch: as many messages (up to ``RECEIVE_BATCH_MAX``) as fill
        half the room left under the young generation's threshold at ``kept``
        objects each; half the last batch after a collection; twice the last
        when it kept nothing (what it freed may hide what it kept). Never more
        than the caller handles in ``RECEIVE_BATCH_TIME`` at ``spent`` seconds
        a message.

        The room is taken after the schedule point: consumers that have not
        run yet still hold their batch, and it counts against the next one.
        """
        threshold = gc.get_threshold()[0]
        if not threshold or not gc.isenabled():
            size = RECEIVE_BATCH_MAX
        elif kept < 0:
            size = max(1, self._batch // 2)
        elif kept == 0:
            size = min(RECEIVE_BATCH_MAX, 2 * self._batch)
        else:
            room = (threshold - gc.get_count()[0]) // 2
            size = max(1, min(RECEIVE_BATCH_MAX, int(room / kept)))
        if spent * size > RECEIVE_BATCH_TIME:
            size = max(1, int(RECEIVE_BATCH_TIME / spent))
        return size

    async def receive(self) -> bytes:
        await self._wait_messages()
        return self._messages.popleft()

    async def _wait_messages(self) -> None:
        """Until a complete message is received (``TransportClosed`` if none will be)."""
        while not self._messages:
            if self._closed is not None:
                raise self._closed_exc()
            lock = self._read_lock
            if lock.held:
                await lock.acquire()
            else:
                lock.held = True
            try:
                if self._closed is None and not self._messages:
                    await self._read_once()
            finally:
                lock.release()

    async def _read_once(self) -> None:
        """Read from the stream once and feed the protocol (holding ``_read_lock``)."""
        tls = self._tls
        try:
            if tls is not None:
                # Plaintext: what TLS holds already, else one socket read
                # (parked in wait_readable first when the last one drained it).
                data: bytes | bytearray = await tls.read()
            elif self._socket is not None and self._drained:
                data = await self._read_socket()
            else:
                # More may be waiting: trio's read tries first, then yields.
                data = await self._stream.receive_some(READ_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            # ssl.SSLError (a bad record, an alert) is an OSError.
            self._set_closed(1006, "connection reset")
            self._peer_closed.set()
            return
        self._drained = len(data) < READ_SIZE
        if not data:
            self._protocol.receive_eof()
        else:
            self._protocol.receive_data(data)
        control = False
        text, binary, cont = self._text, self._binary, self._cont
        for frame in self._protocol.events_received():
            opcode = frame.opcode  # type: ignore[union-attr]
            if opcode is text or opcode is binary:
                if frame.fin:  # type: ignore[union-attr]
                    self._messages.append(bytes(frame.data))  # type: ignore[union-attr]
                else:
                    self._fragments = [bytes(frame.data)]  # type: ignore[union-attr]
            elif opcode is cont:
                self._fragments.append(bytes(frame.data))  # type: ignore[union-attr]
                if frame.fin:  # type: ignore[union-attr]
                    self._messages.append(b"".join(self._fragments))
                    self._fragments = []
            else:
                control = True
        ended = self._protocol.close_rcvd is not None or not data
        # Pongs to control pings and close replies are queued by the protocol;
        # plain data needs no flush (and no lock round trip). Bytes the TLS
        # layer produced while reading (a TLS 1.2 renegotiation's hello) are
        # written by whoever holds the send lock before it lets go (it may be
        # waiting for room in the middle of a write), else flushed here.
        if not control and tls is not None and tls.wants_flush and not self._send_lock.held:
            control = True
        if control or ended:
            try:
                await self._flush()
            except TransportClosed:
                pass
        if ended:
            self._peer_closed.set()
            rcvd = self._protocol.close_rcvd
            if rcvd is not None:
                self._set_closed(rcvd.code, rcvd.reason)
            else:
                self._set_closed(1006, "connection closed without a close frame")
            with trio.move_on_after(0):
                await self._close_stream()
        elif self._protocol.parser_exc is not None:
            self._set_closed(1002, "protocol error")

    async def _close_stream(self) -> None:
        try:
            await trio.aclose_forcefully(self._stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        from websockets.protocol import State

        if self._closed is None:
            self._set_closed(code, reason or "closed by client")
            with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
                if self._protocol.state is State.OPEN:
                    self._protocol.send_close(code, reason)
                    try:
                        await self._flush()
                        # The peer's close frame: read by the reader task if it
                        # is reading now, else here (never both at once).
                        while not self._peer_closed.is_set():
                            async with self._read_lock:
                                if not self._peer_closed.is_set():
                                    await self._read_once()
                    except TransportClosed:
                        pass
        with trio.CancelScope(shield=True):
            await self._close_stream()

    def abort(self) -> None:
        self._set_closed(1006, "aborted")
        self._peer_closed.set()
        sock = getattr(self._stream, "socket", None)
        if sock is None:
            inner = getattr(self._stream, "transport_stream", None)
            sock = getattr(inner, "socket", None)
        if sock is not None:
            sock.close()


def _quiet_logger() -> logging.Logger:
    """A logger that drops everything below ERROR and is not in the logging tree.

    websockets logs every frame at DEBUG through the logger it is given; a login
    frame carries the signature and passphrase, so the protocol objects get this
    one, which no logging configuration can turn up (and websockets then skips
    formatting those messages altogether).
    """
    quiet = logging.Logger("okx_trio.websockets", logging.ERROR)
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    return quiet


QUIET_LOGGER = _quiet_logger()
"""The logger handed to websockets' protocol objects (see ``_quiet_logger``)."""


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]


def tcp_connect_error(host: str, port: int, exc: OSError) -> TransportConnectError:
    """The connect error for a failed ``trio.open_tcp_stream(host, port)``.

    A name that does not resolve and a port where every address refused the
    connection are permanent; anything else (unreachable, timed out) is not.
    """
    if isinstance(exc, socket.gaierror):
        # EAI_AGAIN: "temporary failure in name resolution" (the resolver is down).
        transient = exc.errno == socket.EAI_AGAIN
        return TransportConnectError(f"cannot resolve the host {host!r}: {exc}",
                                     permanent=not transient)
    # trio tries every address and raises OSError from a group of the attempts.
    attempts = _leaves(exc.__cause__) if exc.__cause__ is not None else [exc]
    if attempts and all(isinstance(e, ConnectionRefusedError) for e in attempts):
        return TransportConnectError(
            f"cannot connect to {host}:{port}: connection refused (nothing listens on "
            "that port: check the port in base_url)", permanent=True)
    detail = "; ".join(str(e) for e in attempts) or str(exc)
    return TransportConnectError(f"cannot connect to {host}:{port}: {detail}")


def tls_connect_error(host: str, port: int, exc: BaseException) -> TransportConnectError:
    """The connect error for a failed TLS handshake with ``host:port``.

    An untrusted certificate, or an answer that is not TLS (a plain server
    behind ``wss://`` answers the hello with HTTP 400), is permanent. A
    connection closed or reset before any answer is not: an overloaded load
    balancer does that too (the message still names the likely mistake).
    """
    cause = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) else exc
    permanent = True
    if isinstance(cause, ssl.SSLCertVerificationError):
        why = f"the server's certificate is not trusted: {cause}"
    elif isinstance(cause, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(cause):
        why = "the server does not speak TLS (a plain server: use ws://)"
    elif cause is None or isinstance(cause, (ssl.SSLEOFError, ssl.SSLZeroReturnError,
                                             ConnectionError)):
        permanent = False
        why = ("the server closed the connection during the TLS handshake "
               "(a plain server? use ws://)")
    else:
        why = f"{cause!r}"
    return TransportConnectError(f"TLS handshake with {host}:{port} failed: {why}",
                                 permanent=permanent)


def status_connect_error(host: str, port: int, resource: str, status: int,
                         body: bytes = b"") -> TransportConnectError:
    """The connect error for a WebSocket upgrade answered with HTTP ``status``.

    3xx and 4xx mean the URL is wrong (or not a WebSocket endpoint): permanent,
    except 408 and 429 (try later). 5xx: the server has trouble, try again.
    The first line of a text body is quoted: servers say why there (nginx:
    "The plain HTTP request was sent to HTTPS port").
    """
    permanent = 300 <= status < 500 and status not in (408, 429)
    hint = ""
    if status == 404:
        hint = " (no WebSocket endpoint at that path: is base_url the OKX server's root?)"
    elif 300 <= status < 400:
        hint = " (a redirect: base_url names another address)"
    said = body[:200].decode("utf-8", "replace").strip().splitlines()[:1]
    if said and said[0].isprintable():
        hint += f": {said[0]}"
    return TransportConnectError(
        f"{host}:{port} refused the WebSocket upgrade of {resource} with HTTP {status}{hint}",
        permanent=permanent)


def _host_port(url: str) -> tuple[bool, str, int, str]:
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"not a WebSocket URL: {url!r}")
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    return secure, host, port, parts.path + (f"?{parts.query}" if parts.query else "")


_DEFAULT_CONTEXT: list[ssl.SSLContext] = []
"""The process's default ``wss://`` context, once built (see ``default_ssl_context``)."""
_DEFAULT_LOCK = threading.Lock()


def default_ssl_context() -> ssl.SSLContext:
    """A verifying TLS context from the system store (TLS is verified by default),
    built once per process and shared by every client's ``wss://`` connections:
    loading the store costs ~0.7 MiB and tens of milliseconds each time."""
    if not _DEFAULT_CONTEXT:
        # Built in worker threads (never on the event loop): one loads, others wait.
        with _DEFAULT_LOCK:
            if not _DEFAULT_CONTEXT:
                _DEFAULT_CONTEXT.append(ssl.create_default_context())
    return _DEFAULT_CONTEXT[0]


async def connect_websockets(
    url: str,
    *,
    ssl_context: ssl.SSLContext | None,
    nursery: trio.Nursery,
    compression: bool = False,
) -> Transport:
    """Open ``url`` with websockets' sans-I/O client protocol over trio streams."""
    from websockets.client import ClientProtocol
    from websockets.exceptions import InvalidStatus
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.frames import Frame
    from websockets.http11 import Response as WsResponse
    from websockets.uri import parse_uri

    secure, host, port, resource = _host_port(url)
    try:
        stream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
    except OSError as exc:
        raise tcp_connect_error(host, port, exc) from exc
    try:
        if secure:
            ctx = ssl_context or default_ssl_context()
            # On POSIX the transport drives TLS itself (SocketTlsStream: three
            # task steps per round trip instead of trio.SSLStream's six).
            tls: SocketTlsStream | trio.SSLStream[trio.abc.Stream] = (
                SocketTlsStream(stream, ctx, host)
                if DRIVE_SOCKETS and isinstance(stream, trio.SocketStream) else
                trio.SSLStream(stream, ctx, server_hostname=host, https_compatible=True))
            stream = tls
            try:
                await tls.do_handshake()
            except (trio.BrokenResourceError, ssl.SSLError, OSError) as exc:
                # trio.SSLStream raises BrokenResourceError from the TLS or
                # socket error, SocketTlsStream that error itself.
                raise tls_connect_error(host, port, exc) from exc
        extensions = [ClientPerMessageDeflateFactory()] if compression else None
        protocol = ClientProtocol(
            parse_uri(url), extensions=extensions, max_size=MAX_MESSAGE_SIZE, logger=QUIET_LOGGER
        )
        protocol.send_request(protocol.connect())
        await stream.send_all(b"".join(protocol.data_to_send()))
        while True:
            data = await stream.receive_some(65536)
            if not data:
                protocol.receive_eof()
            else:
                protocol.receive_data(data)
            events = protocol.events_received()
            failure = protocol.handshake_exc
            if isinstance(failure, InvalidStatus):
                raise status_connect_error(host, port, resource, failure.response.status_code,
                                           bytes(failure.response.body or b"")) from failure
            if failure is not None:
                raise _handshake_error(host, port, failure, data, secure) from failure
            if any(isinstance(e, WsResponse) for e in events):
                break
            if not data:
                raise _handshake_error(host, port, None, data, secure)
        transport = WebsocketsTransport(stream, protocol)
        # Frames that arrived together with the handshake response.
        for frame in events:
            if isinstance(frame, Frame) and frame.fin:
                transport._messages.append(bytes(frame.data))
        return transport
    except BaseException as exc:
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(stream)
        if isinstance(exc, (ssl.SSLError, trio.BrokenResourceError, OSError)):
            detail = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) else exc
            raise TransportConnectError(f"cannot open {host}:{port}: {detail!r}") from exc
        raise


def _handshake_error(host: str, port: int, failure: BaseException | None, data: bytes | bytearray,
                     secure: bool) -> TransportConnectError:
    """The connect error for an upgrade that got no HTTP answer, or a broken one.

    An answer that is not HTTP (a TLS server behind ``ws://``, another
    protocol) is permanent. A connection closed before any answer is not (a
    server restarting does that too); the message names the likely mistake.
    """
    hint = "" if secure else " (a TLS server? use wss://)"
    if failure is None or (not data and isinstance(failure.__cause__, EOFError)):
        return TransportConnectError(
            f"{host}:{port} closed the connection during the WebSocket handshake{hint}")
    return TransportConnectError(
        f"{host}:{port} did not answer the WebSocket handshake with HTTP: {failure}{hint}",
        permanent=True)


# ---------------------------------------------------------------------------
# trio-websocket


def _closed_from(exc: Exception) -> TransportClosed:
    reason = getattr(exc, "reason", None)
    code = getattr(reason, "code", None) or 1006
    text = getattr(reason, "reason", None) or ""
    return TransportClosed(int(code), str(text))


class TrioWebsocketTransport(Transport):
    """trio-websocket's ``WebSocketConnection`` behind the seam."""

    def __init__(self, ws: object, stream: trio.abc.Stream, done: trio.Event) -> None:
        self._ws = ws
        # trio-websocket leaves the TCP stream open after an abrupt peer reset;
        # closing it ourselves guarantees no socket outlives the transport.
        self._stream = stream
        self._done = done
        self._aborted = False
        self._close_scope: trio.CancelScope | None = None

    async def send(self, data: bytes) -> None:
        from trio_websocket import ConnectionClosed

        try:
            await self._ws.send_message(data.decode())  # type: ignore[attr-defined]
        except ConnectionClosed as exc:
            raise _closed_from(exc) from None

    async def receive(self) -> bytes:
        from trio_websocket import ConnectionClosed

        try:
            msg = await self._ws.get_message()  # type: ignore[attr-defined]
        except ConnectionClosed as exc:
            raise _closed_from(exc) from None
        return msg.encode() if isinstance(msg, str) else bytes(msg)

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        # Bounded here, and by any deadline the caller set (not shielded from it);
        # an abort() from another task ends the wait for the close handshake at once.
        if not self._aborted:
            with trio.move_on_after(CLOSE_TIMEOUT) as scope:
                self._close_scope = scope
                try:
                    await self._ws.aclose(code, reason or None)  # type: ignore[attr-defined]
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    pass
            self._close_scope = None
        with trio.CancelScope(shield=True):
            try:
                await trio.aclose_forcefully(self._stream)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass
        self._done.set()

    def abort(self) -> None:
        self._aborted = True
        if self._close_scope is not None:
            self._close_scope.cancel()
        stream = self._stream
        sock = getattr(stream, "socket", None) or getattr(
            getattr(stream, "transport_stream", None), "socket", None
        )
        if sock is not None:
            sock.close()
        self._done.set()


class _TrioWebsocketFailed(Exception):
    """trio-websocket's own reader task failed during the opening handshake."""


class _ClosedBeforeOpen(Exception):
    """The server closed the connection before answering the WebSocket upgrade."""


class _EofBeforeOpen(trio.abc.Stream):
    """A pass-through stream that turns an EOF before the upgrade was answered into
    an error: trio-websocket's reader stops quietly on EOF, which would leave its
    opening handshake waiting until our connect timeout."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.opened = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.inner.receive_some(max_bytes)
        if not data and not self.opened:
            raise _ClosedBeforeOpen
        return data

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _hold_trio_websocket(
    stream: trio.SocketStream | trio.SSLStream[trio.SocketStream],
    host_header: str,
    resource: str,
    *,
    task_status: trio.TaskStatus[TrioWebsocketTransport] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Own trio-websocket's reader task in a nursery of our own.

    trio-websocket raises from its reader task (e.g. ``ConnectionRejected`` on an
    HTTP 503 answer to the upgrade); in the session's nursery that would end the
    whole client. Here a failure before the connection is open becomes a connect
    error, and one after it only ends this connection (the session's reader then
    sees it closed, or its heartbeat declares it dead).
    """
    from trio_websocket import wrap_client_stream

    done = trio.Event()
    started = False
    watched = _EofBeforeOpen(stream)
    try:
        async with trio.open_nursery() as inner:
            ws = await wrap_client_stream(
                inner, watched, host_header, resource,  # type: ignore[arg-type]
                max_message_size=MAX_MESSAGE_SIZE,
            )
            watched.opened = True
            started = True
            task_status.started(TrioWebsocketTransport(ws, stream, done))
            await done.wait()
            inner.cancel_scope.cancel(reason="transport closed")
    except BaseExceptionGroup as group:
        _, rest = group.split(trio.Cancelled)
        if rest is None:
            raise
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(stream)
        # An interrupt (KeyboardInterrupt, SystemExit) is never swallowed: it goes
        # up as it is, and the client's opener gives it to the caller bare.
        errors, interrupts = rest.split(Exception)
        if interrupts is not None:
            raise interrupts from None
        if not started:
            assert errors is not None
            raise _TrioWebsocketFailed("; ".join(repr(e) for e in errors.exceptions)) from group


async def connect_trio_websocket(
    url: str, *, ssl_context: ssl.SSLContext | None, nursery: trio.Nursery
) -> Transport:
    """Open ``url`` with trio-websocket; its reader task lives in ``nursery``.

    TCP and TLS are opened here rather than by trio-websocket so that a refused
    certificate fails at once instead of leaving its handshake waiting.
    """
    from trio_websocket import ConnectionRejected, HandshakeError

    secure, host, port, resource = _host_port(url)
    try:
        tcp = await trio.open_tcp_stream(host, port)
    except OSError as exc:
        raise tcp_connect_error(host, port, exc) from exc
    stream: trio.SocketStream | trio.SSLStream[trio.SocketStream] = tcp
    try:
        if secure:
            ctx = ssl_context or default_ssl_context()
            tls = trio.SSLStream(tcp, ctx, server_hostname=host, https_compatible=True)
            try:
                await tls.do_handshake()
            except (trio.BrokenResourceError, ssl.SSLError) as exc:
                raise tls_connect_error(host, port, exc) from exc
            stream = tls
        host_header = host if port in (80, 443) else f"{host}:{port}"
        transport: TrioWebsocketTransport = await nursery.start(
            _hold_trio_websocket, stream, host_header, resource or "/"
        )
    except BaseException as exc:
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(stream)
        if isinstance(exc, TransportConnectError):
            raise
        leaves = _leaves(exc.__cause__ or exc)
        if any(isinstance(e, _ClosedBeforeOpen) for e in leaves):
            raise _handshake_error(host, port, None, b"", secure) from None
        rejected = [e for e in leaves if isinstance(e, ConnectionRejected)]
        if isinstance(exc, (HandshakeError, _TrioWebsocketFailed)) and rejected:
            raise status_connect_error(host, port, resource or "/", rejected[0].status_code,
                                       bytes(rejected[0].body or b"")) from exc
        if isinstance(exc, (ssl.SSLError, trio.BrokenResourceError, OSError, HandshakeError,
                            _TrioWebsocketFailed)):
            detail = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) else exc
            raise TransportConnectError(f"cannot open {host}:{port}: {detail!r}") from exc
        raise
    return transport


# ---------------------------------------------------------------------------
# In memory


@attrs.frozen
class _CloseFrame:
    code: int
    reason: str


MEMORY_BUFFER = 1024


class MemoryTransport(Transport):
    """One end of an in-memory WebSocket connection (see ``memory_pair``)."""

    def __init__(
        self,
        send: trio.MemorySendChannel[bytes | _CloseFrame],
        receive: trio.MemoryReceiveChannel[bytes | _CloseFrame],
    ) -> None:
        self._send = send
        self._receive = receive
        self._closed: TransportClosed | None = None
        self.sent_close: _CloseFrame | None = None

    @property
    def closed(self) -> bool:
        """True once this end saw or made a close."""
        return self._closed is not None

    async def send(self, data: bytes | str) -> None:
        if self._closed is not None:
            raise TransportClosed(self._closed.code, self._closed.reason)
        if isinstance(data, str):
            data = data.encode()
        try:
            await self._send.send(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._closed = TransportClosed(1006, "peer went away")
            raise TransportClosed(1006, "peer went away") from None

    async def receive(self) -> bytes:
        if self._closed is not None:
            raise TransportClosed(self._closed.code, self._closed.reason)
        try:
            item = await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            self._closed = TransportClosed(1006, "connection lost")
            self._teardown()
            raise TransportClosed(1006, "connection lost") from None
        if isinstance(item, _CloseFrame):
            self._closed = TransportClosed(item.code, item.reason)
            if self.sent_close is None:
                # Echo the close like a real peer, then tear down.
                self.sent_close = item
                try:
                    self._send.send_nowait(_CloseFrame(item.code, item.reason))
                except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
            self._teardown()
            raise TransportClosed(item.code, item.reason)
        return item

    def _teardown(self) -> None:
        self._send.close()
        self._receive.close()

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        if self._closed is None:
            self._closed = TransportClosed(code, reason)
            self.sent_close = _CloseFrame(code, reason)
            try:
                self._send.send_nowait(_CloseFrame(code, reason))
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                pass
        self._teardown()
        await trio.lowlevel.checkpoint()

    def abort(self) -> None:
        if self._closed is None:
            self._closed = TransportClosed(1006, "aborted")
        self._teardown()


def memory_pair(buffer: int = MEMORY_BUFFER) -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected in-memory transports: (client end, server end)."""
    if buffer == math.inf:
        raise ValueError("memory transports need a bounded buffer")
    a_send, b_recv = trio.open_memory_channel[bytes | _CloseFrame](buffer)
    b_send, a_recv = trio.open_memory_channel[bytes | _CloseFrame](buffer)
    return MemoryTransport(a_send, a_recv), MemoryTransport(b_send, b_recv)


ServerHandler = Callable[[str, MemoryTransport], Awaitable[None]]


class MemoryConnector(Connector):
    """A connector whose connections are served in-process by ``handler(path, transport)``.

    ``handler`` runs in ``server_nursery`` for each new connection, with the path
    and query of the URL (``/ws/v5/private?brokerId=9999``). Set ``refuse`` to an
    exception factory to make new connections fail, as a refusing server would.
    """

    def __init__(self, handler: ServerHandler, server_nursery: trio.Nursery) -> None:
        self._handler = handler
        self._nursery = server_nursery
        self.refuse: Callable[[], bool] | None = None
        self.connections = 0

    async def __call__(
        self, url: str, *, ssl_context: ssl.SSLContext | None, nursery: trio.Nursery
    ) -> Transport:
        await trio.lowlevel.checkpoint()
        if self.refuse is not None and self.refuse():
            raise TransportConnectError("connection refused (in-memory server)")
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        client, server = memory_pair()
        self.connections += 1
        self._nursery.start_soon(self._handler, path, server)
        return client
