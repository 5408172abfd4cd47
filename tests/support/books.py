"""A scripted OKX order book for one instrument: WebSocket pushes and REST snapshots.

For the book channels the simulator does not serve the way a test needs
(``books-rpi``, ``books50-l2-tbt`` in the ``books`` sequence, a REST snapshot
that lags, a WebSocket that stops sending snapshots after the first one).
Everything runs in memory (a ``MemoryConnector`` for the WebSocket, an
``httpx.MockTransport`` for REST), so tests use ``MockClock``.

The book moves only when the test calls :meth:`BookVenue.step`; each step
changes one to three levels and pushes one update with the next ``seqId``.
REST answers ``GET /api/v5/market/books`` and ``/market/books-rpi`` with the
current book and its ``seqId`` (or, once, an older state: ``stale_rest``).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
import trio

import okx_trio
from okx_trio._transport import MemoryConnector, MemoryTransport, TransportClosed

from .scripted import CREDS


class BookVenue:
    """One instrument's book, pushed on ``channel`` and served over REST.

    Args:
        channel: the book channel subscribed (``books``, ``books-rpi``...).
        snapshots: whether the n-th subscription (0-based) gets a WebSocket snapshot.
        rpi: levels ``[px, totalQty, nonRpiQty, count]`` instead of ``[px, sz, "0", count]``.
    """

    def __init__(self, inst_id: str = "BTC-USDT", channel: str = "books", *,
                 snapshots: Callable[[int], bool] = lambda n: False, rpi: bool = False,
                 seed: int = 7) -> None:
        self.inst_id = inst_id
        self.channel = channel
        self.snapshots = snapshots
        self.rpi = rpi
        self.rng = random.Random(seed)
        self.seq = 1000
        self.bids: dict[str, list[str]] = {}
        self.asks: dict[str, list[str]] = {}
        for i in range(10):
            self.bids[f"{99 - i}"] = self._level(f"{99 - i}")
            self.asks[f"{101 + i}"] = self._level(f"{101 + i}")
        self.history: list[tuple[int, dict[str, Any]]] = [(self.seq, self.book_item(400))]
        self.subscribers: list[MemoryTransport] = []
        self.control: list[tuple[float, str]] = []
        """``(time, op)`` of every subscribe/unsubscribe/login frame received."""
        self.subscriptions = 0
        self.rest_calls: list[dict[str, str]] = []
        self.rest_down = False
        self.stale_rest = 0
        """How many coming REST answers show the state from before the first step."""

    # -- the book

    def _level(self, px: str, size: int | None = None) -> list[str]:
        sz = size if size is not None else self.rng.randint(1, 9)
        if self.rpi:
            non_rpi = self.rng.randint(0, sz)
            return [px, str(sz), str(non_rpi), str(self.rng.randint(1, 4))]
        return [px, str(sz), "0", str(self.rng.randint(1, 4))]

    def _sorted(self, side: dict[str, list[str]], descending: bool) -> list[list[str]]:
        return [side[px] for px in sorted(side, key=float, reverse=descending)]

    def book_item(self, depth: int) -> dict[str, Any]:
        return {"asks": self._sorted(self.asks, False)[:depth],
                "bids": self._sorted(self.bids, True)[:depth],
                "ts": "1700000000000", "seqId": self.seq}

    def raw_bids(self) -> list[tuple[str, str]]:
        return [(lvl[0], lvl[1]) for lvl in self._sorted(self.bids, True)]

    def raw_asks(self) -> list[tuple[str, str]]:
        return [(lvl[0], lvl[1]) for lvl in self._sorted(self.asks, False)]

    def non_rpi_bids(self) -> list[tuple[str, str]]:
        return [(lvl[0], lvl[2]) for lvl in self._sorted(self.bids, True) if lvl[2] != "0"]

    # -- pushes

    def _push(self, action: str, item: dict[str, Any]) -> bytes:
        return orjson.dumps({"arg": {"channel": self.channel, "instId": self.inst_id},
                             "action": action, "data": [item]})

    async def step(self, n: int = 1) -> None:
        """Change the book ``n`` times, pushing one update each."""
        for _ in range(n):
            changed_bids: list[list[str]] = []
            changed_asks: list[list[str]] = []
            for _ in range(self.rng.randint(1, 3)):
                bid_side = self.rng.random() < 0.5
                side = self.bids if bid_side else self.asks
                px = str(self.rng.randint(85, 99) if bid_side else self.rng.randint(101, 115))
                if px in side and self.rng.random() < 0.3:
                    del side[px]
                    level = [px, "0", "0", "0"]
                else:
                    level = side[px] = self._level(px)
                (changed_bids if bid_side else changed_asks).append(level)
            prev = self.seq
            self.seq += self.rng.randint(1, 3)
            self.history.append((self.seq, self.book_item(400)))
            await self.send(self._push("update", {
                "asks": changed_asks, "bids": changed_bids, "ts": "1700000000000",
                "checksum": 0, "prevSeqId": prev, "seqId": self.seq}))

    async def send_gap(self) -> None:
        """Push an update that does not chain (a missed message)."""
        prev = self.seq + 5
        self.seq += 6
        await self.send(self._push("update", {"asks": [], "bids": [], "ts": "1",
                                              "prevSeqId": prev, "seqId": self.seq}))

    async def send(self, frame: bytes) -> None:
        for t in list(self.subscribers):
            try:
                await t.send(frame)
            except TransportClosed:
                self.subscribers.remove(t)

    # -- the WebSocket server

    async def handler(self, path: str, transport: MemoryTransport) -> None:
        try:
            while True:
                raw = await transport.receive()
                if raw == b"ping":
                    await transport.send(b"pong")
                    continue
                req = orjson.loads(raw)
                op = req["op"]
                self.control.append((trio.current_time(), op))
                if op == "login":
                    await transport.send(orjson.dumps(
                        {"event": "login", "code": "0", "msg": "", "connId": "b00c"}))
                    continue
                arg = req["args"][0]
                await transport.send(orjson.dumps({"id": req["id"], "event": op, "arg": arg,
                                                   "connId": "b00c"}))
                if op == "subscribe":
                    n = self.subscriptions
                    self.subscriptions += 1
                    if transport not in self.subscribers:
                        self.subscribers.append(transport)
                    if self.snapshots(n):
                        item = {**self.book_item(400), "prevSeqId": -1, "checksum": 0}
                        await transport.send(self._push("snapshot", item))
                elif transport in self.subscribers:
                    self.subscribers.remove(transport)
        except TransportClosed:
            pass

    # -- REST

    def rest(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        query = dict(parse_qsl(urlsplit(str(request.url)).query))
        self.rest_calls.append({"path": path, **query})
        want = "/api/v5/market/books-rpi" if self.rpi else "/api/v5/market/books"
        if self.rest_down:
            raise httpx.ConnectError("REST is down", request=request)
        if path != want:
            return httpx.Response(200, json={"code": "51000", "msg": f"wrong endpoint {path}",
                                             "data": []})
        depth = int(query.get("sz", "1"))
        if self.stale_rest > 0:
            self.stale_rest -= 1
            _, item = self.history[0]
        else:
            item = self.book_item(depth)
        item = {**item, "asks": item["asks"][:depth], "bids": item["bids"][:depth]}
        return httpx.Response(200, json={"code": "0", "msg": "", "data": [item]})


@asynccontextmanager
async def venue_client(venue: BookVenue, **options: Any) -> AsyncIterator[okx_trio.WsClient]:
    """A client whose WebSocket and REST are both served by ``venue``."""
    async with trio.open_nursery() as nursery:
        connector = MemoryConnector(venue.handler, nursery)
        connector.rest_transport = httpx.MockTransport(venue.rest)
        options.setdefault("credentials", CREDS)
        async with okx_trio.open_ws_client(base_url="ws://127.0.0.1:9", transport=connector,
                                           log_lifecycle=False, **options) as client:
            yield client
        nursery.cancel_scope.cancel()
