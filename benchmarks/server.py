"""A minimal OKX v5 responder for the benchmarks, run as its own process.

``python -m benchmarks.server`` listens on 127.0.0.1 (any free port), prints
``READY <port>`` and then obeys one-line commands on stdin:

* ``push <n>``: every later ``subscribe`` to ``tickers`` or ``books`` streams
  ``n`` pushes after its ack, as fast as the socket takes them;
* ``stats``: one JSON line with the process CPU time and counters;
* ``quit``.

It speaks just enough OKX for every client under test: ``login`` is accepted
without checking the signature, every trade op gets a canned success echoing
the request ``id`` and each item's ``clOrdId``, ``subscribe`` gets one ack per
arg, a text ``ping`` gets ``pong``. websockets' sans-I/O ``ServerProtocol``
does the handshake and parses the (masked) client frames, over blocking
sockets with one thread per connection; outgoing frames are framed here
(unmasked server frames are a two-to-ten byte header), and pushes are
pre-encoded and written in large batches, so the server spends far less CPU
per push than any client, and a fixed, small amount per request (the harness
measures both and prints them).
"""

from __future__ import annotations

import itertools
import json
import socket
import sys
import threading
import time
from typing import Any

import orjson
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

TRADE_OPS = frozenset(
    {
        "order",
        "batch-orders",
        "cancel-order",
        "batch-cancel-orders",
        "amend-order",
        "batch-amend-orders",
        "mass-cancel",
        "sprd-order",
        "sprd-amend-order",
        "sprd-cancel-order",
        "sprd-mass-cancel",
    }
)
PUSH_CHANNELS = frozenset({"tickers", "books"})
FINAL_TS = "1800000000000"
"""``ts`` of the last ticker of a stream (lets clients that coalesce see the end)."""
BATCH_BYTES = 256 * 1024
CYCLE = 256
"""Distinct pre-encoded tickers / book updates cycled through."""
BOOK_LEVELS = 50


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked, final WebSocket frame (RFC 6455 5.2) carrying ``payload``."""
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        return bytes((first, n)) + payload
    if n < 65536:
        return bytes((first, 126)) + n.to_bytes(2, "big") + payload
    return bytes((first, 127)) + n.to_bytes(8, "big") + payload


def ticker_payload(i: int, inst_id: str = "BTC-USDT", ts: str | None = None) -> bytes:
    """A realistic SPOT ticker push (about 400 bytes)."""
    last = 30000 + (i % 997) / 10
    item = {
        "instType": "SPOT",
        "instId": inst_id,
        "last": f"{last:.1f}",
        "lastSz": "0.0123",
        "askPx": f"{last + 0.1:.1f}",
        "askSz": "1.25",
        "bidPx": f"{last:.1f}",
        "bidSz": "2.5",
        "open24h": "29500.1",
        "high24h": "30500.9",
        "low24h": "29400.2",
        "volCcy24h": "123456789.12",
        "vol24h": "4321.987",
        "sodUtc0": "29800.5",
        "sodUtc8": "29700.5",
        "ts": ts or str(1700000000000 + i),
    }
    return orjson.dumps({"arg": {"channel": "tickers", "instId": inst_id}, "data": [item]})


def _levels(i: int, side: int, count: int) -> list[list[str]]:
    base = 30000 + side * (0.1 + (i % 7) / 10)
    step = 0.1 * side
    return [[f"{base + k * step:.1f}", f"{0.5 + ((i + k) % 13) / 10:.2f}", "0", str(1 + k % 4)]
            for k in range(count)]


def book_parts(i: int, inst_id: str = "BTC-USDT") -> tuple[bytes, bytes]:
    """A ``books`` update split around its sequence numbers: ``head + prev,seq + tail``."""
    obj = {
        "asks": _levels(i, 1, 5),
        "bids": _levels(i, -1, 5),
        "ts": str(1700000000000 + i),
        "checksum": 0,
    }
    body = orjson.dumps(obj)[:-1]  # drop the closing brace: the seq fields follow
    head = (b'{"arg":{"channel":"books","instId":' + orjson.dumps(inst_id)
            + b'},"action":"update","data":[' + body + b',"prevSeqId":')
    return head, b"}]}"


def book_snapshot(inst_id: str = "BTC-USDT") -> bytes:
    """The first ``books`` push: a 50-level snapshot, ``seqId`` 1."""
    obj = {
        "asks": _levels(0, 1, BOOK_LEVELS),
        "bids": _levels(0, -1, BOOK_LEVELS),
        "ts": "1700000000000",
        "checksum": 0,
        "prevSeqId": -1,
        "seqId": 1,
    }
    return orjson.dumps({"arg": {"channel": "books", "instId": inst_id},
                         "action": "snapshot", "data": [obj]})


class Stats:
    """Counters reported by the ``stats`` command."""

    def __init__(self) -> None:
        self.connections = 0
        self.open = 0
        self.requests = 0
        self.pushes = 0
        self.push_n = 0


STATS = Stats()
_ORD_IDS = itertools.count(683000000000000001)
_CONN_IDS = itertools.count(0x1000_0000)
_TICKERS: dict[str, bytes] = {}
_BOOKS: dict[str, list[tuple[bytes, bytes]]] = {}
_LOCK = threading.Lock()


def _ticker_cycle(inst_id: str) -> bytes:
    with _LOCK:
        blob = _TICKERS.get(inst_id)
        if blob is None:
            blob = _TICKERS[inst_id] = b"".join(ws_frame(ticker_payload(i, inst_id))
                                                for i in range(CYCLE))
    return blob


def _book_cycle(inst_id: str) -> list[tuple[bytes, bytes]]:
    with _LOCK:
        parts = _BOOKS.get(inst_id)
        if parts is None:
            parts = _BOOKS[inst_id] = [book_parts(i, inst_id) for i in range(CYCLE)]
    return parts


class Conn:
    """One client connection, served by its own thread with blocking socket calls.

    Blocking calls in a thread per connection keep the server's cost per message
    low: a request wakes the thread straight out of ``recv``, with no event loop
    in between.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.protocol = ServerProtocol(max_size=None)
        self.conn_id = f"{next(_CONN_IDS):08x}"
        self.out: list[bytes] = []
        self.streams: list[tuple[str, str, int]] = []

    def flush(self) -> None:
        # Protocol-generated bytes (pongs to control pings, close replies) first.
        proto = self.protocol.data_to_send()
        if not self.out and not proto:
            return
        chunk = b"".join(proto) + b"".join(self.out)
        self.out.clear()
        self.sock.sendall(chunk)

    def send(self, payload: bytes) -> None:
        self.out.append(ws_frame(payload))

    def event(self, obj: dict[str, Any]) -> None:
        obj["connId"] = self.conn_id
        self.send(orjson.dumps(obj))

    def serve(self) -> None:
        proto = self.protocol
        sock = self.sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            data = sock.recv(65536)
            if not data:
                return
            proto.receive_data(data)
            events = proto.events_received()
            if events:
                request = events[0]
                assert isinstance(request, Request)
                proto.send_response(proto.accept(request))
                self.flush()
                break
        STATS.connections += 1
        STATS.open += 1
        try:
            while True:
                data = sock.recv(262144)
                if not data:
                    return
                proto.receive_data(data)
                for frame in proto.events_received():
                    if isinstance(frame, Frame) and frame.opcode is Opcode.TEXT:
                        self.on_message(bytes(frame.data))
                self.flush()
                while self.streams:
                    self.stream_pushes(*self.streams.pop(0))
                if proto.close_rcvd is not None:
                    return
        finally:
            STATS.open -= 1

    def on_message(self, text: bytes) -> None:
        if text == b"ping":
            self.send(b"pong")
            return
        try:
            obj = orjson.loads(text)
            op = obj["op"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self.event({"event": "error", "code": "60012", "msg": "Invalid request"})
            return
        req_id = obj.get("id")
        if op in TRADE_OPS:
            STATS.requests += 1
            self.trade(op, req_id, obj.get("args") or [])
        elif op == "login":
            ack: dict[str, Any] = {"event": "login", "code": "0", "msg": ""}
            if req_id is not None:
                ack["id"] = req_id
            self.event(ack)
        elif op in ("subscribe", "unsubscribe"):
            for arg in obj.get("args") or []:
                ack = {"event": op, "arg": arg}
                if req_id is not None:
                    ack = {"id": req_id, **ack}
                self.event(ack)
                channel = arg.get("channel") if isinstance(arg, dict) else None
                if op == "subscribe" and channel in PUSH_CHANNELS and STATS.push_n > 0:
                    inst_id = str(arg.get("instId") or "BTC-USDT")
                    self.streams.append((channel, inst_id, STATS.push_n))
        else:
            err: dict[str, Any] = {"event": "error", "code": "60019", "msg": f"Invalid op: {op}"}
            if req_id is not None:
                err["id"] = req_id
            self.event(err)

    def trade(self, op: str, req_id: Any, args: list[Any]) -> None:
        now_us = time.time_ns() // 1000
        ts = str(now_us // 1000)
        items: list[dict[str, Any]] = []
        for arg in args:
            cl = arg.get("clOrdId", "") if isinstance(arg, dict) else ""
            tag = arg.get("tag", "") if isinstance(arg, dict) else ""
            items.append({"clOrdId": cl, "ordId": str(next(_ORD_IDS)), "tag": tag, "ts": ts,
                          "sCode": "0", "sMsg": "Order placed", "subCode": ""})
        if op in ("mass-cancel", "sprd-mass-cancel"):
            items = [{"result": True}]
        self.send(orjson.dumps({"id": req_id, "op": op, "code": "0", "msg": "", "data": items,
                                "inTime": str(now_us), "outTime": str(now_us + 5)}))

    def stream_pushes(self, channel: str, inst_id: str, n: int) -> None:
        """Write ``n`` pushes as fast as the socket takes them (after the acks)."""
        if channel == "tickers":
            cycle = _ticker_cycle(inst_id)
            body = n - 1
            # Whole cycles go out as one pre-built blob (about 100 kB each).
            for _ in range(body // CYCLE):
                self.sock.sendall(cycle)
                STATS.pushes += CYCLE
            tail = [ws_frame(ticker_payload(i, inst_id)) for i in range(body % CYCLE)]
            tail.append(ws_frame(ticker_payload(n, inst_id, ts=FINAL_TS)))
            self.sock.sendall(b"".join(tail))
            STATS.pushes += len(tail)
            return
        parts = _book_cycle(inst_id)
        self.sock.sendall(ws_frame(book_snapshot(inst_id)))
        STATS.pushes += 1
        batch: list[bytes] = []
        size = 0
        for seq in range(2, n + 1):
            head, tail_bytes = parts[seq % CYCLE]
            frame = ws_frame(head + b'%d,"seqId":%d' % (seq - 1, seq) + tail_bytes)
            batch.append(frame)
            size += len(frame)
            if size >= BATCH_BYTES:
                self.sock.sendall(b"".join(batch))
                STATS.pushes += len(batch)
                batch.clear()
                size = 0
        if batch:
            self.sock.sendall(b"".join(batch))
            STATS.pushes += len(batch)


TLS: Any = None
"""The server's ``ssl.SSLContext`` with ``--tls`` (wss://), else ``None``."""


def _handle(sock: socket.socket) -> None:
    try:
        if TLS is not None:
            sock = TLS.wrap_socket(sock, server_side=True)  # the handshake, in this thread
        Conn(sock).serve()
    except OSError:
        pass
    finally:
        sock.close()


def _accept(listener: socket.socket) -> None:
    while True:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_handle, args=(sock,), daemon=True).start()


def _reply(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _tls(ca_path: str) -> Any:
    """A server context for 127.0.0.1 from a CA made now (trustme: the ``tls``
    extra); the CA's certificate is written to ``ca_path`` for the clients."""
    import ssl

    import trustme

    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    ca.cert_pem.write_to_path(ca_path)
    return ctx


def main() -> None:
    """Serve until ``quit`` or the end of stdin; ``--tls CA_PATH`` serves wss://."""
    global TLS
    info = ""
    if sys.argv[1:2] == ["--tls"]:
        TLS = _tls(sys.argv[2])
        info = " " + json.dumps({"ca": sys.argv[2]})
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    sys.stdout.write(f"READY {listener.getsockname()[1]}{info}\n")
    sys.stdout.flush()
    threading.Thread(target=_accept, args=(listener,), daemon=True).start()
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "push":
            STATS.push_n = int(words[1])
            _reply({"ok": True})
        elif words[0] == "stats":
            _reply({"cpu": time.process_time(), "requests": STATS.requests,
                    "pushes": STATS.pushes, "connections": STATS.connections,
                    "open": STATS.open})
        elif words[0] == "quit":
            break
        else:
            _reply({"error": f"unknown command {words[0]!r}"})
    listener.close()


if __name__ == "__main__":
    main()
