"""wss:// with the TLS the transport drives itself (``SocketTlsStream``, POSIX),
over real sockets on 127.0.0.1.

Against the simulator's TLS mode (round trips, pushes, the task steps of a
round trip), against trio-websocket's TLS server (messages larger than a TLS
record and than one read, both ways) and against a scripted server whose
TLS is an ``ssl.SSLObject`` on memory BIOs driven by the test: records cut
byte by byte, the ways a server ends a connection (each compared with
``trio.SSLStream``, the path the transport takes elsewhere), cancellation in
the middle of a read and of a write, and a TLS 1.2 renegotiation (OpenSSL
writes while the client reads) arriving while a write is cut short.
"""

from __future__ import annotations

import collections
import ctypes
import os
import socket
import ssl
import struct
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from support.echo import echo_server
from support.internals import transports
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

import okx_trio
from okx_trio import _transport
from okx_trio._tls import SocketTlsStream
from okx_trio._transport import QUIET_LOGGER, TransportClosed, connect_websockets
from okx_trio.testing import DEFAULT_CREDENTIALS, open_simulator

trustme = pytest.importorskip("trustme")

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the driven TLS path is POSIX-only")

ORDER = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "ioc",
         "sz": "0.0001", "px": "1000"}


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture
def server_ctx(ca: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture
def client_ctx(ca: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def driven(t: object) -> SocketTlsStream:
    """The transport's driven TLS stream (fails if it took another path)."""
    assert isinstance(t, _transport.WebsocketsTransport)
    tls = t._tls
    assert isinstance(tls, SocketTlsStream), type(t._stream)
    return tls


# ---------------------------------------------------------------------------
# Against the simulator


async def test_round_trips_and_pushes_over_wss_use_the_driven_tls() -> None:
    async with (
        open_simulator(accounts=[DEFAULT_CREDENTIALS], tls=True, market_interval=0.02,
                       rate_limit=False) as sim,
        okx_trio.open_ws_api_client(base_url=sim.base_url, credentials=DEFAULT_CREDENTIALS,
                                    ssl_context=sim.client_ssl_context(),
                                    rate_limit=False) as api,
    ):
        with trio.fail_after(20):
            for _ in range(30):
                ack = await api.submit_new_order(ORDER)
                assert ack.ok
            client = api.ws_client
            async with client.subscribe({"channel": "tickers", "instId": "BTC-USDT"}) as sub:
                pushes = 0
                async for _ in sub:
                    pushes += 1
                    if pushes == 10:
                        break
        kinds = transports(client)
        assert len(kinds) == 2  # private (orders) and public (tickers)
        for t in kinds:
            tls = driven(t)
            assert tls.ssl_object.version() == "TLSv1.3"


class _Steps(trio.abc.Instrument):
    """Task steps of the client's tasks (the simulator's, in this process too, left out)."""

    def __init__(self) -> None:
        self.by_task: collections.Counter[str] = collections.Counter()

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if "testing" not in task.name and "_run_handler" not in task.name:
            self.by_task[task.name.rsplit(".", 1)[-1]] += 1


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
async def test_a_round_trip_takes_three_task_steps_over_ws_and_wss(tls: bool) -> None:
    # The caller wakes for its answer, the writer for the request (and writes
    # it without a schedule point), the reader for the answer (parked in
    # wait_readable: no failed recv first). trio.SSLStream took 6: a lock's
    # schedule point on every send and receive, one after the socket write.
    n = 30
    steps = _Steps()
    async with (
        open_simulator(accounts=[DEFAULT_CREDENTIALS], tls=tls, rate_limit=False,
                       market_interval=None, idle_timeout=None) as sim,
        okx_trio.open_ws_client(base_url=sim.base_url, credentials=DEFAULT_CREDENTIALS,
                                ssl_context=sim.client_ssl_context() if tls else None,
                                rate_limit=False, log_lifecycle=False) as client,
    ):

        async def one() -> None:
            try:
                await client.request("order", [ORDER])
            except okx_trio.OkxApiError:
                pass  # refused (no instIdCode): a whole round trip all the same

        for _ in range(5):
            await one()
        if tls:
            driven(transports(client)[0])
        trio.lowlevel.add_instrument(steps)
        try:
            for _ in range(n):
                await one()
        finally:
            trio.lowlevel.remove_instrument(steps)
    caller = trio.lowlevel.current_task().name.rsplit(".", 1)[-1]
    assert steps.by_task == {"_writer": n, "_reader": n, caller: n}, steps.by_task


# ---------------------------------------------------------------------------
# Against trio-websocket's TLS server


async def test_messages_larger_than_a_record_and_a_read_both_ways(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
) -> None:
    big = ("x" * 999 + "y") * 900  # 900 kB: ~55 TLS records, many socket reads
    mid = "z" * 20000  # more than one record (16 kB of plaintext)
    async with trio.open_nursery() as nursery:
        url = await echo_server(nursery, server_ctx, slow=True)
        t = await connect_websockets(url, ssl_context=client_ctx, nursery=nursery)
        tls = driven(t)
        tls.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        with trio.fail_after(30):
            await t.send(big.encode())  # waits for room many times
            await t.send(mid.encode())
            await t.send(b"after")
            assert await t.receive() == big.encode()
            assert await t.receive() == mid.encode()
            assert await t.receive() == b"after"
            await t.send(b"burst")  # many records arrive in one read
            got: list[bytes] = []
            while len(got) < 300:
                got += await t.receive_many()
        assert got == [f"m{i}".encode() for i in range(300)]
        await t.aclose()
        nursery.cancel_scope.cancel()


async def test_an_untrusted_certificate_fails_the_handshake(server_ctx: ssl.SSLContext) -> None:
    async with trio.open_nursery() as nursery:
        url = await echo_server(nursery, server_ctx)
        with pytest.raises(_transport.TransportConnectError) as info:
            await connect_websockets(url, ssl_context=None, nursery=nursery)
        nursery.cancel_scope.cancel()
    assert info.value.permanent
    assert "the server's certificate is not trusted" in str(info.value)
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)


async def test_the_host_name_is_verified(ca: Any, client_ctx: ssl.SSLContext) -> None:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("somewhere.example").configure_cert(ctx)  # trusted, for another name
    async with trio.open_nursery() as nursery:
        url = await echo_server(nursery, ctx)
        with pytest.raises(_transport.TransportConnectError) as info:
            await connect_websockets(url, ssl_context=client_ctx, nursery=nursery)
        nursery.cancel_scope.cancel()
    assert "IP address mismatch" in str(info.value)


# ---------------------------------------------------------------------------
# Against a scripted server


class Peer:
    """The server end of one connection, scripted by the test.

    websockets' ``ServerProtocol`` over TLS (an ``ssl.SSLObject`` on memory
    BIOs) or plain, on the accepted socket. ``split`` sends every byte in a
    write of its own and lets the client run between two bytes.
    """

    def __init__(self, stream: trio.SocketStream, ctx: ssl.SSLContext | None) -> None:
        self.stream = stream
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inc, self.out, server_side=True) if ctx else None
        self.ws = ServerProtocol(max_size=None, logger=QUIET_LOGGER)
        self.messages: list[bytes] = []
        self.split = False

    async def send_raw(self, data: bytes) -> None:
        if not self.split:
            await self.stream.send_all(data)
            return
        for i in range(len(data)):
            await self.stream.send_all(data[i:i + 1])
            await trio.testing.wait_all_tasks_blocked()

    async def flush(self) -> None:
        """What the WebSocket protocol (and the TLS layer) has to send."""
        data = b"".join(self.ws.data_to_send())
        if self.tls is not None:
            if data:
                self.tls.write(data)
            data = self.out.read()
        if data:
            await self.send_raw(data)

    async def handshake(self) -> None:
        assert self.tls is not None
        while True:
            try:
                self.tls.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            await self.flush()  # with TLS 1.3, the session tickets go with it
            if done:
                return
            raw = await self.stream.receive_some(65536)
            assert raw
            self.inc.write(raw)

    async def receive(self) -> bool:
        """One socket read through TLS into the protocol; answers the upgrade.

        With TLS, plaintext already in the BIO (the client's first bytes can
        come with its last handshake message) is taken before reading.
        """
        raw = b"-"
        plain = self._decrypt() if self.tls is not None else b""
        if not plain:
            raw = await self.stream.receive_some(65536)
            plain = raw
            if self.tls is not None:
                if raw:
                    self.inc.write(raw)
                else:
                    self.inc.write_eof()
                plain = self._decrypt()
        if plain:
            self.ws.receive_data(plain)
        if not raw:
            self.ws.receive_eof()
        for event in self.ws.events_received():
            if isinstance(event, Request):
                self.ws.send_response(self.ws.accept(event))
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.messages.append(bytes(event.data))
        await self.flush()  # the upgrade's answer, pongs, handshake messages
        return bool(raw)

    def _decrypt(self) -> bytes:
        assert self.tls is not None
        plain = b""
        try:
            while chunk := self.tls.read(65536):
                plain += chunk
        except ssl.SSLWantReadError:
            pass
        return plain

    async def receive_until(self, done: Callable[[], bool]) -> None:
        while not done():
            assert await self.receive(), "the client closed the connection"

    async def send_text(self, data: bytes) -> None:
        self.ws.send_text(data)
        await self.flush()

    def reset(self) -> None:
        sock = self.stream.socket
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


@asynccontextmanager
async def scripted(
    server_ctx: ssl.SSLContext | None, client_ctx: ssl.SSLContext | None, *, split: bool = False,
) -> AsyncIterator[tuple[_transport.WebsocketsTransport, Peer]]:
    """A client transport connected (TLS, upgrade) to a scripted peer."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    scheme = "wss" if server_ctx is not None else "ws"
    opened: list[_transport.Transport] = []
    async with trio.open_nursery() as nursery:

        async def connect() -> None:
            opened.append(await connect_websockets(f"{scheme}://127.0.0.1:{port}/ws",
                                                   ssl_context=client_ctx, nursery=nursery))

        nursery.start_soon(connect)
        with trio.fail_after(20):
            stream = await listeners[0].accept()
            await listeners[0].aclose()
            peer = Peer(stream, server_ctx)
            peer.split = split
            if peer.tls is not None:
                await peer.handshake()
            await peer.receive_until(lambda: peer.ws.state is State.OPEN)
            peer.split = False
            while not opened:
                await trio.sleep(0.001)
        t = opened[0]
        assert isinstance(t, _transport.WebsocketsTransport)
        try:
            yield t, peer
        finally:
            t.abort()
            await trio.aclose_forcefully(stream)


async def test_records_cut_byte_by_byte(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
) -> None:
    # Every byte of the server's handshake flight, its session tickets, the
    # upgrade's answer and two messages arrives in a read of its own.
    async with scripted(server_ctx, client_ctx, split=True) as (t, peer):
        tls = driven(t)
        assert tls.ssl_object.version() == "TLSv1.3"
        got: list[bytes] = []

        async def read() -> None:
            got.append(await t.receive())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            peer.split = True
            peer.ws.send_text(b"first " * 3000)  # 18 kB: two records
            peer.ws.send_text(b"second")
            data = b"".join(peer.ws.data_to_send())
            assert peer.tls is not None
            peer.tls.write(data)
            cipher = peer.out.read()
            await peer.send_raw(cipher[:-1])
            await trio.testing.wait_all_tasks_blocked()
            assert got == []  # one byte short of both records: nothing yet
            await peer.send_raw(cipher[-1:])
        assert got == [b"first " * 3000]
        with trio.fail_after(5):
            assert await t.receive() == b"second"
        await t.send(b"back")
        await peer.receive_until(lambda: peer.messages == [b"back"])


ENDINGS = ["close frame", "close_notify", "ragged EOF", "reset"]
EXPECTED = {
    "close frame": (4000, "bye"),
    "close_notify": (1006, "connection closed without a close frame"),
    "ragged EOF": (1006, "connection closed without a close frame"),
    "reset": (1006, "connection reset"),
}


@pytest.mark.parametrize("path", ["driven", "trio.SSLStream"])
@pytest.mark.parametrize("ending", ENDINGS)
async def test_each_way_a_server_ends_the_connection(
    path: str, ending: str, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same outcome on both paths: the driven TLS ends a connection as
    # trio.SSLStream(https_compatible=True) did.
    if path != "driven":
        monkeypatch.setattr(_transport, "DRIVE_SOCKETS", False)
    async with scripted(server_ctx, client_ctx) as (t, peer):
        if path == "driven":
            driven(t)
        else:
            assert isinstance(t._stream, trio.SSLStream)
        await peer.send_text(b"last")
        assert await t.receive() == b"last"
        outcome: list[TransportClosed] = []

        async def read() -> None:
            try:
                await t.receive()
            except TransportClosed as exc:
                outcome.append(exc)

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(read)
                await trio.testing.wait_all_tasks_blocked()
                assert peer.tls is not None
                if ending == "close frame":
                    peer.ws.send_close(4000, "bye")
                    await peer.flush()
                    await peer.receive_until(lambda: peer.ws.close_rcvd is not None)
                elif ending == "close_notify":
                    with pytest.raises(ssl.SSLWantReadError):
                        peer.tls.unwrap()
                    await peer.flush()
                    await peer.stream.aclose()
                elif ending == "ragged EOF":
                    await peer.stream.aclose()
                else:
                    peer.reset()
        assert [(e.code, e.reason) for e in outcome] == [EXPECTED[ending]]
        with pytest.raises(TransportClosed):
            await t.send(b"x")


async def test_abort_ends_a_read_and_a_write_waiting_on_the_socket(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
) -> None:
    async with scripted(server_ctx, client_ctx) as (t, _peer):
        tls = driven(t)
        outcome: list[str] = []

        async def read() -> None:
            with pytest.raises(TransportClosed):
                await t.receive()
            outcome.append("read")

        async def write() -> None:
            with pytest.raises(TransportClosed):
                await t.send(b"w" * 3_000_000)  # the peer does not read: waits for room
            outcome.append("write")

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(read)
                nursery.start_soon(write)
                await trio.testing.wait_all_tasks_blocked()
                assert tls._writer.unsent
                t.abort()
        assert sorted(outcome) == ["read", "write"]
        assert tls.socket.fileno() == -1
        with pytest.raises(TransportClosed):
            await t.send(b"x")


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
async def test_a_write_cancelled_while_waiting_for_room_goes_out_whole_later(
    tls: bool, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
) -> None:
    # The peer does not read, so the big write stops for room; its caller is
    # cancelled there. The rest is kept and goes first on the next write: the
    # peer sees the message whole, then the next one (not a frame cut short).
    big = b"b" * 3_000_000
    async with scripted(server_ctx if tls else None, client_ctx) as (t, peer):
        if tls:
            driven(t)
        with trio.CancelScope() as scope:

            async def cancel_when_stuck() -> None:
                await trio.testing.wait_all_tasks_blocked()
                scope.cancel()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(cancel_when_stuck)
                await t.send(big)
        assert scope.cancelled_caught  # stopped in the middle of the write
        assert ((t._writer is not None and t._writer.unsent)
                or (t._tls is not None and t._tls.wants_flush))
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(peer.receive_until, lambda: len(peer.messages) == 2)
                await t.send(b"next")
        assert peer.messages == [big, b"next"]


async def test_a_read_cancelled_in_the_middle_of_a_record_loses_nothing(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
) -> None:
    async with scripted(server_ctx, client_ctx) as (t, peer):
        driven(t)
        assert peer.tls is not None
        peer.ws.send_text(b"m" * 10000)
        peer.tls.write(b"".join(peer.ws.data_to_send()))
        cipher = peer.out.read()
        with trio.CancelScope() as scope:

            async def half_then_cancel() -> None:
                await peer.send_raw(cipher[:5000])  # half a record
                await trio.testing.wait_all_tasks_blocked()
                scope.cancel()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(half_then_cancel)
                await t.receive()
        assert scope.cancelled_caught
        await peer.send_raw(cipher[5000:])
        with trio.fail_after(5):
            assert await t.receive() == b"m" * 10000


# ---------------------------------------------------------------------------
# A TLS 1.2 renegotiation: OpenSSL writes while the client reads


def _ssl_handle(obj: ssl.SSLObject) -> tuple[Any, int] | None:
    """libssl and the ``SSL *`` of an ``SSLObject`` (Python has no call to
    renegotiate), or ``None`` where they cannot be reached safely."""
    if sys.implementation.name != "cpython":
        return None
    try:
        lib = ctypes.CDLL(ssl._ssl.__file__)  # type: ignore[attr-defined]
        for name in ("SSL_renegotiate", "SSL_do_handshake", "SSL_renegotiate_pending"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        lib.SSL_get_ex_data.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.SSL_get_ex_data.restype = ctypes.c_void_p
    except (OSError, AttributeError):
        return None
    inner = obj._sslobj  # type: ignore[attr-defined]
    # CPython's PySSLSocket: the object header, the socket's weak reference, SSL *.
    offset = object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p)
    handle = ctypes.c_void_p.from_address(id(inner) + offset).value
    # CPython stores the PySSLSocket as the SSL's app data: the pointer is right.
    if not handle or lib.SSL_get_ex_data(handle, 0) != id(inner):
        return None
    return lib, handle


async def test_a_renegotiation_waits_for_the_write_in_progress(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
) -> None:
    # The client's write stops for room (the server is not reading); the
    # server asks for a renegotiation; the client's reader takes the request
    # in, and OpenSSL writes the client's hello into the outgoing buffer. It
    # must wait for the write in progress: cut into it, the server would see
    # a record interrupted by another and fail. Then a message is sent while
    # the handshake is unfinished.
    server_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    big = b"r" * 3_000_000
    async with scripted(server_ctx, client_ctx) as (t, peer):
        tls = driven(t)
        assert peer.tls is not None
        handle = _ssl_handle(peer.tls)
        if handle is None:
            pytest.skip("no way to reach libssl from here")
        lib, ssl_ptr = handle
        received: list[bytes] = []
        async with trio.open_nursery() as nursery:

            async def reader() -> None:
                while True:
                    try:
                        received.extend(await t.receive_many())
                    except TransportClosed:
                        return

            nursery.start_soon(t.send, big)
            await trio.testing.wait_all_tasks_blocked()
            assert tls._writer.unsent  # stopped for room, holding the send lock
            assert lib.SSL_renegotiate(ssl_ptr) == 1
            assert lib.SSL_do_handshake(ssl_ptr) == 1  # writes the HelloRequest
            await peer.flush()
            nursery.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()
            assert tls._writer.unsent  # still stopped
            assert tls._outgoing.pending  # the client's hello, waiting its turn
            assert lib.SSL_renegotiate_pending(ssl_ptr) == 1
            with trio.fail_after(20):
                # The server reads: the big message whole, then the hello; the
                # handshake goes on (its answers from peer.receive's flush).
                await peer.receive_until(lambda: peer.messages == [big])
                # The handshake needs the server's Finished, which it sends only
                # after its next read: this message goes while it is unfinished.
                nursery.start_soon(t.send, b"during")
                await trio.testing.wait_all_tasks_blocked()
                assert lib.SSL_renegotiate_pending(ssl_ptr) == 1
                await peer.receive_until(lambda: len(peer.messages) == 2)
                assert lib.SSL_renegotiate_pending(ssl_ptr) == 0  # completed
                await peer.send_text(b"from the server")
                while received != [b"from the server"]:
                    await trio.sleep(0.001)
            assert peer.messages == [big, b"during"]

            # Again with nothing being written: the reader sends the hello
            # itself before it waits for the server's answer, which waits for it.
            assert lib.SSL_renegotiate(ssl_ptr) == 1
            assert lib.SSL_do_handshake(ssl_ptr) == 1
            await peer.flush()
            with trio.fail_after(10):
                while lib.SSL_renegotiate_pending(ssl_ptr):
                    assert await peer.receive()
            await t.send(b"after")
            await peer.send_text(b"and back")
            with trio.fail_after(10):
                await peer.receive_until(lambda: peer.messages[-1:] == [b"after"])
                while received[-1:] != [b"and back"]:
                    await trio.sleep(0.001)
            nursery.cancel_scope.cancel()


class _RefusesOneWrite:
    """An ``SSLObject`` whose next ``write`` needs the peer's next message first,
    as OpenSSL may answer during a renegotiation (``SSLWantReadError``)."""

    def __init__(self, inner: ssl.SSLObject) -> None:
        self._inner = inner
        self.refused = 0

    def write(self, data: bytes) -> int:
        if not self.refused:
            self.refused += 1
            raise ssl.SSLWantReadError
        return self._inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_a_write_that_needs_a_read_ends_the_connection(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
) -> None:
    # OpenSSL refusing to encrypt until it reads the server's next handshake
    # message (a TLS 1.2 renegotiation half done) ends the connection: the
    # send fails with TransportClosed, and so does the reader, at once.
    # (Waiting for the reader deadlocked when the reader itself needed the
    # send lock, held by the refused write, to answer a ping.)
    async with scripted(server_ctx, client_ctx) as (t, peer):
        tls = driven(t)
        proxy = _RefusesOneWrite(tls.ssl_object)
        tls.ssl_object = proxy  # type: ignore[assignment]
        outcome: list[BaseException] = []

        async def send() -> None:
            try:
                await t.send(b"refused")
            except TransportClosed as exc:
                outcome.append(exc)

        ended: list[bool] = []

        async def receive() -> None:
            try:
                while True:
                    await t.receive()
            except TransportClosed:
                ended.append(True)

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(receive)
                await trio.testing.wait_all_tasks_blocked()
                nursery.start_soon(send)
                await trio.testing.wait_all_tasks_blocked()
                assert proxy.refused == 1
                assert [type(e) for e in outcome] == [TransportClosed]
                # The reader, parked on the socket, ends when the socket does.
                peer.reset()
        assert ended == [True]
        assert peer.messages == []


@pytest.mark.parametrize("drive", [True, False], ids=["driven", "trio.SSLStream"])
async def test_a_ping_right_after_a_hello_request_never_hangs(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, drive: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A real TLS 1.2 renegotiation: the server asks for one and pings in the
    # same flight. The reader's pong is refused by OpenSSL until the server's
    # next handshake message, which only the reader could read: the driven path
    # deadlocked here (the reader waiting for itself). Now the connection ends
    # at once (TransportClosed: the session reconnects); trio.SSLStream, which
    # reads and writes under one lock, completes the renegotiation.
    from okx_trio import _transport

    monkeypatch.setattr(_transport, "DRIVE_SOCKETS", drive)
    server_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    async with scripted(server_ctx, client_ctx) as (t, peer):
        handle = _ssl_handle(peer.tls)
        if handle is None:
            pytest.skip("libssl's renegotiation calls cannot be reached safely here")
        lib, ssl_ptr = handle
        received: list[bytes] = []
        ended: list[bool] = []

        async def reader() -> None:
            try:
                while True:
                    received.extend(await t.receive_many())
            except TransportClosed:
                ended.append(True)
                t.abort()  # as the session does with a connection that ended

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(reader)
                await trio.testing.wait_all_tasks_blocked()
                assert lib.SSL_renegotiate(ssl_ptr) == 1
                assert lib.SSL_do_handshake(ssl_ptr) == 1  # the HelloRequest
                peer.ws.send_ping(b"p")
                await peer.flush()  # the HelloRequest and the ping in one flight
                try:
                    while lib.SSL_renegotiate_pending(ssl_ptr) and not ended:
                        if not await peer.receive():
                            break
                    if not ended:
                        await peer.send_text(b"after")
                        while received != [b"after"] and not ended:
                            await trio.sleep(0.01)
                except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError):
                    pass  # the client gave the connection up under the server
                if drive:
                    while not ended:
                        await trio.sleep(0.01)
                nursery.cancel_scope.cancel()
        if drive:
            assert ended == [True]
        else:
            assert received == [b"after"]
