"""The floor: the least a trio client can do to exchange the same OKX frames.

websockets' sans-I/O ``ClientProtocol`` driven over a trio TCP stream, frames
encoded and decoded with orjson, nothing else: no session, no reconnects, no
deadlines, no typed results. okx_trio's default transport is built from the same
parts, so ``okx_trio / floor`` is the price of everything the library adds.
This module never imports okx_trio's session code.

A raw trio-websocket client (``TrioWebsocketFloor``) is here too, for the
transport comparison only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson
import trio
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response as WsResponse
from websockets.uri import parse_uri

from .measure import Clock, Sample

ORDER_ARGS: dict[str, Any] = {
    "instIdCode": 100001,
    "tdMode": "cash",
    "side": "buy",
    "ordType": "ioc",
    "sz": "0.0001",
    "px": "30000",
}
"""The order every contender places (okx_trio adds the same ``clOrdId`` and ``expTime``)."""


def login_frame(api_key: str, secret: str, passphrase: str) -> bytes:
    """An OKX login frame signed now."""
    ts = str(int(time.time()))
    mac = hmac.new(secret.encode(), f"{ts}GET/users/self/verify".encode(), hashlib.sha256)
    sign = base64.b64encode(mac.digest()).decode()
    return orjson.dumps({"op": "login", "args": [
        {"apiKey": api_key, "passphrase": passphrase, "timestamp": ts, "sign": sign}]})


class Floor:
    """One bare WebSocket connection: ``send(bytes)`` and ``receive() -> bytes``."""

    def __init__(self, stream: trio.SocketStream, protocol: ClientProtocol) -> None:
        self.stream = stream
        self.protocol = protocol
        self.messages: deque[bytes] = deque()
        self.lock = trio.StrictFIFOLock()

    @classmethod
    async def connect(cls, url: str) -> Floor:
        """Open ``url`` (``ws://`` only) and finish the handshake."""
        uri = parse_uri(url)
        stream = await trio.open_tcp_stream(uri.host, uri.port)
        protocol = ClientProtocol(uri, max_size=None)
        protocol.send_request(protocol.connect())
        await stream.send_all(b"".join(protocol.data_to_send()))
        self = cls(stream, protocol)
        while True:
            data = await stream.receive_some(65536)
            if not data:
                raise ConnectionError("closed during the handshake")
            protocol.receive_data(data)
            events = protocol.events_received()
            if any(isinstance(e, WsResponse) for e in events):
                self._take(e for e in events if not isinstance(e, WsResponse))
                return self

    def _take(self, events: Any) -> None:
        for frame in events:
            if frame.opcode is Opcode.TEXT:
                self.messages.append(frame.data)

    async def send(self, data: bytes) -> None:
        """Send one text frame."""
        self.protocol.send_text(data)
        async with self.lock:
            await self.stream.send_all(b"".join(self.protocol.data_to_send()))

    async def receive(self) -> bytes:
        """The next text message (bytes)."""
        messages = self.messages
        while not messages:
            data = await self.stream.receive_some(262144)
            if not data:
                raise ConnectionError("connection closed")
            self.protocol.receive_data(data)
            self._take(self.protocol.events_received())
        return messages.popleft()

    async def aclose(self) -> None:
        """Close without ceremony (the server does not care)."""
        await trio.aclose_forcefully(self.stream)


class TrioWebsocketFloor:
    """The same bare client on trio-websocket (wsproto underneath)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def connect(cls, url: str, nursery: trio.Nursery) -> TrioWebsocketFloor:
        """Open ``url``; trio-websocket's reader task runs in ``nursery``."""
        from trio_websocket import connect_websocket_url

        return cls(await connect_websocket_url(nursery, url, max_message_size=2**24))

    async def send(self, data: bytes) -> None:
        """Send one text frame."""
        await self.ws.send_message(data.decode())

    async def receive(self) -> bytes:
        """The next message; text comes back as str, which orjson reads as well."""
        msg = await self.ws.get_message()
        return msg  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Close the WebSocket."""
        await self.ws.aclose()


Conn = Floor | TrioWebsocketFloor


async def login(conn: Conn, creds: tuple[str, str, str]) -> None:
    """Log in and wait for the ack."""
    await conn.send(login_frame(*creds))
    while True:
        obj = orjson.loads(await conn.receive())
        if obj.get("event") == "login":
            return
        if obj.get("event") == "error":
            raise RuntimeError(f"login refused: {obj}")


class Ids:
    """Request ids and clOrdIds shaped like okx_trio's (prefix + base-36 counter)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.counter = itertools.count(1)

    def __call__(self) -> str:
        return self.prefix + _base36(next(self.counter))


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def order_frame(req_id: str, cl_ord_id: str, inst_id_code: int) -> bytes:
    """The ``order`` frame okx_trio's ``submit_new_order`` sends, with a 10 s expTime."""
    args = {**ORDER_ARGS, "instIdCode": inst_id_code, "clOrdId": cl_ord_id}
    exp = str(int(time.time() * 1000) + 10000)
    return orjson.dumps({"id": req_id, "op": "order", "expTime": exp, "args": [args]})


WARMUP = 50


async def sequential(conn: Conn, n: int, inst_id_code: int) -> Sample:
    """``n`` order round trips one after another (after a warm-up); seconds per round trip."""
    ids, cl_ids = Ids("fl0000"), Ids("cl000000")
    clock = Clock()
    for i in range(n + WARMUP):
        if i == WARMUP:
            clock.restart()
        req_id = ids()
        await conn.send(order_frame(req_id, cl_ids(), inst_id_code))
        while True:
            obj = orjson.loads(await conn.receive())
            if obj.get("id") == req_id:
                if obj["code"] != "0" or obj["data"][0]["sCode"] != "0":
                    raise RuntimeError(f"order failed: {obj}")
                break
        if i >= WARMUP:
            clock.lap()
    return clock.per_op(n)


async def pipelined(conn: Conn, total: int, concurrency: int, inst_id_code: int) -> Sample:
    """``total`` orders from ``concurrency`` tasks; requests per second."""
    ids, cl_ids = Ids("fp0000"), Ids("cp000000")
    waiting: dict[str, trio.Event] = {}
    results: dict[str, Any] = {}
    per_task = total // concurrency

    async def reader() -> None:
        while True:
            obj = orjson.loads(await conn.receive())
            event = waiting.pop(obj.get("id"), None)
            if event is not None:
                results[obj["id"]] = obj
                event.set()

    async def worker(count: int) -> None:
        for _ in range(count):
            req_id = ids()
            event = waiting[req_id] = trio.Event()
            await conn.send(order_frame(req_id, cl_ids(), inst_id_code))
            await event.wait()
            if results.pop(req_id)["code"] != "0":
                raise RuntimeError("order failed")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await worker(WARMUP)
        clock = Clock()
        async with trio.open_nursery() as workers:
            for _ in range(concurrency):
                workers.start_soon(worker, per_task)
        sample = clock.rate(per_task * concurrency)
        nursery.cancel_scope.cancel()
    return sample


async def pushes(conn: Conn, n: int, channel: str, read: Callable[[Any], Any]) -> Sample:
    """Subscribe and consume ``n`` pushes reading one field; pushes per second.

    Timed from the first push to the last, so the connection and the subscribe
    round trip are not part of it.
    """
    await conn.send(orjson.dumps({"id": "s1", "op": "subscribe",
                                  "args": [{"channel": channel, "instId": "BTC-USDT"}]}))
    count = 0
    clock = Clock()
    sink = None
    while count < n:
        obj = orjson.loads(await conn.receive())
        if "data" in obj:
            sink = read(obj["data"][0])
            count += 1
            if count == 1:
                clock.restart()
    del sink
    return clock.rate(n - 1)


async def raw_capacity(url: str, n: int, channel: str) -> float:
    """How fast the server can send: pushes/s into a socket that only counts bytes.

    No WebSocket parsing and no JSON: the first push's frame size estimates the
    total, so this measures the server and the kernel, not a client.
    """
    conn = await Floor.connect(url)
    await conn.send(orjson.dumps({"id": "s1", "op": "subscribe",
                                  "args": [{"channel": channel, "instId": "BTC-USDT"}]}))
    # The ack and the first two pushes go through the protocol; the rest is counted
    # raw, in frames of the second push's size (the first may be a book snapshot).
    await conn.receive()
    await conn.receive()
    sample = await conn.receive()
    start = time.perf_counter()
    frame = len(sample) + (4 if len(sample) < 65536 else 10)
    received = frame * len(conn.messages)
    target = frame * (n - 2) * 0.98
    while received < target:
        data = await conn.stream.receive_some(1 << 20)
        if not data:
            break
        received += len(data)
    elapsed = time.perf_counter() - start
    await conn.aclose()
    return received / frame / elapsed
