"""The minimal server's pushes served from memory, for ``--profile --only push``.

``PushFeed`` is a ``trio.abc.Stream`` that answers what a client writes with
the minimal server's own code (``server.Conn``: acks, then the stream of
pre-encoded tickers or books updates) and hands the bytes back from memory.
No socket and no second process: what a client spends per push over it is its
own work (WebSocket parsing, decoding, routing, delivery, scheduling), with
nothing the kernel or another vCPU adds, so two builds can be compared to a
fraction of a µs where the separate-process figure moves by several.

Its ``receive_some`` behaves like trio's socket stream when data is waiting:
a cancellation point before the read and a schedule point after it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import trio
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from . import server

URL = "ws://127.0.0.1:9"
"""The URL clients are given (nothing listens there: the feed is the server)."""


class PushFeed(trio.abc.Stream):
    """One client connection to an in-memory minimal server (see the module docstring)."""

    def __init__(self) -> None:
        conn = server.Conn.__new__(server.Conn)
        conn.sock = self  # type: ignore[assignment]  # Conn writes with sock.sendall()
        conn.protocol = ServerProtocol(state=State.OPEN, max_size=None)
        conn.conn_id, conn.out, conn.streams = "feed", [], []
        self._conn = conn
        self._chunks: deque[bytes] = deque()
        self._offset = 0
        self._wake = trio.Event()
        self._closed = False

    def sendall(self, data: bytes) -> None:
        """What the server side writes (``server.Conn`` calls it)."""
        if data:
            self._chunks.append(data)
            self._wake.set()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """The client's bytes: the server side reads them and queues its answers."""
        await trio.lowlevel.checkpoint_if_cancelled()
        conn = self._conn
        proto = conn.protocol
        proto.receive_data(bytes(data))
        for frame in proto.events_received():
            if isinstance(frame, Frame) and frame.opcode is Opcode.TEXT:
                conn.on_message(bytes(frame.data))
        conn.flush()
        while conn.streams:
            conn.stream_pushes(*conn.streams.pop(0))
        if proto.close_rcvd is not None:
            self._closed = True
            self._wake.set()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        """Never blocks."""
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Up to ``max_bytes`` of what the server side wrote (b"" once it closed)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        chunks = self._chunks
        while not chunks and not self._closed:
            self._wake = trio.Event()
            await self._wake.wait()
        limit = max_bytes or 65536
        out: list[bytes] = []
        size = 0
        while chunks and size < limit:
            chunk = chunks[0]
            take = chunk[self._offset:self._offset + limit - size]
            out.append(take)
            size += len(take)
            self._offset += len(take)
            if self._offset == len(chunk):
                chunks.popleft()
                self._offset = 0
        await trio.lowlevel.cancel_shielded_checkpoint()
        return b"".join(out)

    async def aclose(self) -> None:
        """Closed (nothing to release)."""
        self._closed = True
        self._wake.set()
        await trio.lowlevel.checkpoint()


def client_protocol(max_size: int | None = None, logger: Any = None) -> ClientProtocol:
    """A websockets client protocol already past its handshake."""
    return ClientProtocol(parse_uri(URL), state=State.OPEN, max_size=max_size, logger=logger)


async def floor_pushes(n: int, channel: str, field: str) -> Any:
    """The floor's push loop (``floor.pushes``) over a ``PushFeed``."""
    from . import floor

    conn = floor.Floor(PushFeed(), client_protocol())  # type: ignore[arg-type]
    sample = await floor.pushes(conn, n, channel, lambda d: d[field])
    await conn.aclose()
    return sample


async def okx_pushes(n: int, channel: str, field: str) -> Any:
    """okx_trio's ``subscribe`` + ``async for`` (``contenders.subscribe_pushes``) over a
    ``PushFeed``, through the default transport (``WebsocketsTransport``)."""
    from okx_trio._transport import MAX_MESSAGE_SIZE, QUIET_LOGGER, WebsocketsTransport

    from . import contenders

    async def connect(url: str, *, ssl_context: Any, nursery: trio.Nursery) -> Any:
        await trio.lowlevel.checkpoint()
        return WebsocketsTransport(PushFeed(), client_protocol(MAX_MESSAGE_SIZE, QUIET_LOGGER))

    return await contenders.subscribe_pushes(URL, n, channel, field, connect)  # type: ignore[arg-type]


async def design_floor_pushes(n: int, channel: str, field: str, batch: int) -> Any:
    """okx_trio's push shape built lean over a ``PushFeed`` (no okx_trio code).

    A reader task reads and parses the stream, decodes each message with
    orjson and hands it to the consumer task through a deque, waking it with
    an Event when it is parked, with a schedule point after every ``batch``
    messages of a read; the consumer takes buffered items with a cancellation
    point each, and parks when there are none.
    """
    from collections import deque

    import orjson

    from .measure import Clock

    feed = PushFeed()
    protocol = client_protocol()
    protocol.send_text(orjson.dumps({"id": "s1", "op": "subscribe",
                                     "args": [{"channel": channel, "instId": "BTC-USDT"}]}))
    await feed.send_all(b"".join(protocol.data_to_send()))
    buffer: deque[Any] = deque()
    parked: list[trio.Event] = []
    loads, text = orjson.loads, Opcode.TEXT

    async def reader() -> None:
        messages: deque[bytes] = deque()
        while True:
            protocol.receive_data(await feed.receive_some(65536))
            for frame in protocol.events_received():
                if frame.opcode is text:  # type: ignore[union-attr]
                    messages.append(frame.data)  # type: ignore[union-attr,arg-type]
            while messages:
                for _ in range(min(batch, len(messages))):
                    obj = loads(messages.popleft())
                    if "data" in obj:
                        buffer.append(obj)
                if parked:
                    parked.pop().set()
                if messages:
                    await trio.lowlevel.cancel_shielded_checkpoint()

    async def next_item() -> Any:
        if buffer:
            await trio.lowlevel.checkpoint_if_cancelled()
            return buffer.popleft()
        while not buffer:
            event = trio.Event()
            parked.append(event)
            await event.wait()
        return buffer.popleft()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        clock = Clock()
        sink = None
        for count in range(1, n + 1):
            sink = (await next_item())["data"][0][field]
            if count == 1:
                clock.restart()
        sample = clock.rate(n - 1)
        del sink
        nursery.cancel_scope.cancel()
    return sample
