"""TLS driven by hand over a connected socket: ``SocketTlsStream``.

``trio.SSLStream`` is general: any number of tasks may call it, so it takes
an internal lock with a schedule point on every send and receive, its socket
write adds another schedule point after a write that fit, and its receive
tries ``recv`` before waiting (a failed system call when nothing is there).
Over ``wss://`` that made a request/answer round trip cost six task steps
where ``ws://`` takes three. The WebSocket transport already serialises its
writers and its readers with locks of its own, so here the TLS state machine
(``ssl.SSLObject`` over two ``ssl.MemoryBIO``) is driven on the socket's file
descriptor directly, the way the transport drives a plain TCP socket: a write
that fits in the kernel's buffer returns without a schedule point, and a read
after one that drained the socket parks in ``wait_readable`` first.

The rules that keep the TLS byte stream whole:

* Ciphertext leaves the outgoing BIO only in ``write``, one at a time (the
  transport's writer calls it under its send lock), and ``write`` empties the
  BIO before it returns. Bytes a read makes OpenSSL produce (a TLS 1.2
  renegotiation's hello) are written by the write under way if there is one,
  else by ``read`` itself before it waits for the peer, else (when the read
  returns plaintext) by the transport's next flush: never cut into the middle
  of another write.
* A write cancelled (or failed) while waiting for room in the kernel's buffer
  keeps what it had not written; the next write sends it first. The peer never
  sees one record cut short and another begun. A write encrypts before it
  waits for anything, so a cancelled one never loses what it was given.
* A write OpenSSL refuses until the server's next handshake message is read
  (a TLS 1.2 renegotiation half done) ends the connection rather than wait
  for the reader, which could be waiting for the same write's lock.
* A read is cancel-safe: it waits (for the socket, or to send what OpenSSL
  answered) only while it holds no plaintext.

Ends of the stream follow ``trio.SSLStream(https_compatible=True)``, as the
transport always used: a ``close_notify`` and a TCP close without one
("ragged EOF") both read as the end (``b""``); any other TLS or socket error
is raised. POSIX only (``os.read``/``os.write`` on a socket's descriptor).
"""

from __future__ import annotations

import os
import ssl

import trio

READ_SIZE = 65536
"""Most bytes one read takes from the socket, and most plaintext ``read`` returns
(plus at most one TLS record)."""
RECORD_SIZE = 16384
"""The most plaintext one TLS record carries: the size of each ``SSLObject.read``."""


class SocketWriter:
    """``send_all`` on a socket's descriptor, shared by the plain (``ws://``)
    and the TLS (``wss://``) paths: a schedule point only when the kernel's
    buffer is full, and a wait for room that is cancelled keeps the rest
    (``unsent``), which the next write sends first, so the peer never sees one
    frame or record cut short and another begun in its place. POSIX only.
    """

    __slots__ = ("sock", "unsent")

    def __init__(self, sock: trio.socket.SocketType) -> None:
        self.sock = sock
        self.unsent: bytes | memoryview = b""
        """What a cancelled write left unwritten: it goes out before anything else."""

    async def write(self, payload: bytes) -> None:
        """Write ``unsent``, then ``payload``, all of it (``OSError`` once the
        socket is closed: ``fileno()`` is then -1)."""
        if self.unsent:
            payload = bytes(self.unsent) + payload
            self.unsent = b""
        view = memoryview(payload)
        sock = self.sock
        while view:
            try:
                sent = os.write(sock.fileno(), view)
            except BlockingIOError:
                sent = 0
            if sent == len(view):
                return
            view = view[sent:]
            self.unsent = view  # if the wait is cancelled, the next write sends it
            await trio.lowlevel.wait_writable(sock)
            self.unsent = b""


def is_eof(exc: BaseException) -> bool:
    """Whether a TLS error is the peer closing TCP without a ``close_notify``.

    Checked as trio does (``trio._ssl._is_eof``): some OpenSSL and Python
    versions raise a plain ``SSLError`` naming ``UNEXPECTED_EOF_WHILE_READING``
    instead of ``SSLEOFError``.
    """
    return isinstance(exc, ssl.SSLEOFError) or (
        "UNEXPECTED_EOF_WHILE_READING" in str(getattr(exc, "strerror", "") or ""))


class SocketTlsStream(trio.abc.Stream):
    """A client TLS connection over a ``trio.SocketStream``, driven by hand (internal).

    ``do_handshake`` first. Then the transport uses ``write`` and ``read``
    (one writer and one reader at a time: the transport's send and read
    locks); ``send_all``, ``receive_some`` and ``aclose`` keep the
    ``trio.abc.Stream`` contract for generic callers (the WebSocket upgrade),
    with its errors: ``trio.BrokenResourceError`` from the TLS or socket
    error, ``trio.ClosedResourceError`` once closed here.
    """

    def __init__(self, transport_stream: trio.SocketStream, ssl_context: ssl.SSLContext,
                 server_hostname: str) -> None:
        self.transport_stream = transport_stream
        self.socket = transport_stream.socket
        """The trio socket: what ``abort`` closes and the waits wait on."""
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        # SNI and hostname verification as trio.SSLStream and the stdlib do
        # them: from the context (create_default_context: CERT_REQUIRED,
        # check_hostname) and server_hostname.
        self.ssl_object = ssl_context.wrap_bio(self._incoming, self._outgoing,
                                               server_hostname=server_hostname)
        self._writer = SocketWriter(self.socket)
        """Writes the ciphertext; keeps what a cancelled write left (``unsent``)."""
        self._drained = True
        """The last socket read returned less than ``READ_SIZE``: wait before reading."""
        self._leftover = b""
        """Plaintext ``receive_some`` read beyond its ``max_bytes``: ``read`` returns it first."""
        self._closed = False
        self._handshook = False
        self._error: ssl.SSLError | None = None
        """An error met after plaintext that ``read`` returned first."""
        self._writing = False
        """A ``write`` is under way (it may be waiting for room)."""
        self._write_turn = trio.lowlevel.ParkingLot()
        """Writes waiting for the one under way (FIFO, handed over in turn)."""


    # -- the socket ---------------------------------------------------------

    async def _read_socket(self) -> bool:
        """One read of the socket into the incoming BIO (EOF becomes the BIO's EOF).

        Parks in ``wait_readable`` first when the last read drained the socket,
        so a read never starts with a failed ``recv``. Returns whether it parked.
        """
        sock = self.socket
        parked = False
        while True:
            if self._drained:
                await trio.lowlevel.wait_readable(sock)
                parked = True
            try:
                # fileno() is -1 once closed (an abort): os.read raises OSError.
                raw = os.read(sock.fileno(), READ_SIZE)
            except BlockingIOError:
                self._drained = True
                continue
            self._drained = len(raw) < READ_SIZE
            if raw:
                self._incoming.write(raw)
            else:
                self._incoming.write_eof()
            return parked

    def _write_nowait(self) -> None:
        """Best effort, never waiting: what the BIO holds, unless a write is cut
        short (its rest would have to go first). For an alert or a close_notify
        on the way out, when nothing will be written after it."""
        data = self._outgoing.read()
        if data and not self._writer.unsent and not self._writing:
            try:
                os.write(self.socket.fileno(), data)
            except OSError:
                pass

    @property
    def wants_flush(self) -> bool:
        """Ciphertext is waiting to be written (the next ``write`` sends it)."""
        return bool(self._outgoing.pending or self._writer.unsent)

    async def write(self, payload: bytes | bytearray | memoryview) -> None:
        """Encrypt ``payload`` (may be empty: then only what is waiting) at once,
        then write what the outgoing BIO holds.

        One write at a time (the transport's writer, or ``read`` sending what
        OpenSSL produced while reading): a second encrypts first, so its
        ciphertext is queued behind the first's, and then waits for its turn.
        Cancelled while it waits, nothing is lost: what it encrypted goes out
        with the write under way or the transport's next flush. Not a
        cancellation point of its own (the transport checks before it takes
        bytes out of the WebSocket protocol); a schedule point only when the
        kernel's buffer is full. Raises ``ssl.SSLError`` or ``OSError``
        (``trio.ClosedResourceError`` if the socket is closed while waiting).

        If OpenSSL will not encrypt until it has read the server's next
        handshake message (``SSLWantReadError``: a TLS 1.2 renegotiation the
        server started is half done), the connection is given up
        (``trio.BrokenResourceError``; the session reconnects). Waiting for the
        reader instead could wait for ever: the reader may itself be waiting for
        the transport's send lock, held by this write, to answer a ping.
        """
        if payload:
            try:
                self.ssl_object.write(payload)
            except ssl.SSLWantReadError:
                raise trio.BrokenResourceError(
                    "TLS renegotiation in progress: OpenSSL will not encrypt before "
                    "the server's next handshake message; connection given up") from None
        if self._writing:
            await self._write_turn.park()  # handed over: _writing stays True
        else:
            self._writing = True
        try:
            await self._write_out()
        finally:
            if self._write_turn:
                self._write_turn.unpark()
            else:
                self._writing = False

    async def _write_out(self) -> None:
        """Write the rest of a cut-short write, then the BIO, until both are empty."""
        out = self._outgoing
        await self._writer.write(out.read())
        # Whatever entered the BIO meanwhile (a read's output while the write
        # waited for room) goes now: the BIO is empty between writes.
        while out.pending:
            await self._writer.write(out.read())

    async def read(self) -> bytes:
        """Plaintext: what the TLS layer holds already, else one read of the socket.

        Returns ``b""`` at the end (``close_notify``, or TCP closed without one)
        and at least one byte otherwise, up to about ``READ_SIZE``; handshake
        messages after the handshake (TLS 1.3 session tickets) are taken in
        passing. A checkpoint: parking in ``wait_readable`` is one, otherwise a
        schedule point at the end (shielded: what was decrypted is returned,
        never lost). Raises ``ssl.SSLError`` or ``OSError``.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._leftover:
            data, self._leftover = self._leftover, b""
            await trio.lowlevel.cancel_shielded_checkpoint()
            return data
        return await self._read()

    async def _read(self) -> bytes:
        if self._error is not None:
            if is_eof(self._error):
                await trio.lowlevel.cancel_shielded_checkpoint()
                return b""
            raise self._error
        ssl_read = self.ssl_object.read
        pending = self.ssl_object.pending
        incoming = self._incoming
        parked = False
        while True:
            chunks: list[bytes] = []
            size = 0
            ended = False
            try:
                while True:
                    chunk = ssl_read(RECORD_SIZE)
                    if not chunk:  # the peer's close_notify
                        ended = True
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= READ_SIZE or not (incoming.pending or pending()):
                        break
            except ssl.SSLWantReadError:
                # Needs more ciphertext. With the BIO at its EOF OpenSSL says
                # SSLEOFError instead; this guard only keeps a surprise from
                # spinning on a closed socket.
                ended = incoming.eof
            except ssl.SSLError as exc:
                if chunks:
                    self._error = exc  # what came before it first; the next read ends there
                elif is_eof(exc):
                    ended = True  # a ragged EOF ends the stream (https_compatible)
                else:
                    raise
            if chunks or ended:
                # Bytes OpenSSL wrote while reading wait for the transport's
                # next flush (it checks wants_flush): a write here could stop
                # for room while holding plaintext a cancellation would lose.
                break
            if self._outgoing.pending and not self._writing:
                # OpenSSL answered something (a renegotiation's hello) and no
                # application data came: send it before waiting for the peer,
                # which waits for it. A write in progress sends it instead.
                await self.write(b"")
            parked = await self._read_socket() or parked
        if not parked:
            await trio.lowlevel.cancel_shielded_checkpoint()
        if not chunks:
            return b""
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # -- trio.abc.Stream ----------------------------------------------------

    async def do_handshake(self) -> None:
        """The TLS handshake, with SNI and the context's certificate checks.

        Raises ``ssl.SSLError`` (``SSLCertVerificationError`` for a certificate
        not trusted, ``WRONG_VERSION_NUMBER`` for an answer that is not TLS,
        ``SSLEOFError`` for a connection closed during it) or ``OSError``.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                self.ssl_object.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            except ssl.SSLError:
                # The alert OpenSSL wrote tells the server why (an unknown CA);
                # the connection is over, so it is not waited for.
                self._write_nowait()
                raise
            if self._outgoing.pending:
                await self.write(b"")
            if done:
                self._handshook = True
                return
            await self._read_socket()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """``trio.abc.SendStream.send_all``: encrypt ``data`` and write it all."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closed:
            raise trio.ClosedResourceError("the TLS stream is closed")
        try:
            await self.write(data)
        except (ssl.SSLError, OSError) as exc:
            raise trio.BrokenResourceError(f"TLS send failed: {exc!r}") from exc
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        """Until the socket has room (``trio.abc.SendStream``)."""
        await trio.lowlevel.wait_writable(self.socket)

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """``trio.abc.ReceiveStream.receive_some``: plaintext, ``b""`` at the end."""
        if self._closed:
            raise trio.ClosedResourceError("the TLS stream is closed")
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        try:
            data = await self.read()
        except (ssl.SSLError, OSError) as exc:
            raise trio.BrokenResourceError(f"TLS receive failed: {exc!r}") from exc
        if max_bytes is not None and len(data) > max_bytes:
            data, self._leftover = data[:max_bytes], data[max_bytes:]
        return data

    async def aclose(self) -> None:
        """Close: a ``close_notify`` if it can go at once (never waited for), then the socket.

        The peer's ``close_notify`` is not awaited (``https_compatible``, as
        trio's ``SSLStream`` was used): the WebSocket close handshake has said
        goodbye already.
        """
        if not self._closed:
            self._closed = True
            if self._handshook and self.socket.fileno() != -1:
                try:
                    self.ssl_object.unwrap()
                except ssl.SSLError:
                    pass  # SSLWantReadError: the peer's close_notify, not awaited
                self._write_nowait()
        await self.transport_stream.aclose()
