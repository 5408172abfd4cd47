"""A tiny scripted OKX server for session tests (in memory or over loopback sockets)."""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import trio

import okx_trio
from okx_trio import Credentials
from okx_trio._transport import MemoryConnector, TransportClosed

CREDS = Credentials(api_key="test-key", secret_key="TOPSECRET-do-not-log-42",
                    passphrase="Hidden-Passphrase-77")
ORDER = [{"instIdCode": 1, "tdMode": "cash", "side": "buy", "ordType": "limit",
          "sz": "1", "px": "1"}]
"""The args of a minimal ``order`` request."""


class MaxRandom(random.Random):
    """A random source pinned to the top of every range: backoff is deterministic."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Conn:
    """One server-side connection of the scripted server."""

    def __init__(self, number: int, path: str, send: Any, close: Any, abort: Any) -> None:
        self.number = number
        self.path = path
        self.send = send
        self.close = close
        self.abort = abort
        self.closed = False


class ScriptedServer:
    """Answers login, subscribe and ops the way OKX does; knobs make it misbehave."""

    def __init__(self) -> None:
        self.received: list[tuple[int, float, Any]] = []
        self.pings: list[tuple[int, float]] = []
        self.conns: list[Conn] = []
        self.login_codes: deque[str] = deque()
        self.answer_pings = True
        self.hold_ops: set[str] = set()
        self.clock_offset_ms = 0
        """Added to the wall clock by ``GET /api/v5/public/time``."""
        self.time_requests = 0
        """``GET /api/v5/public/time`` requests answered."""
        self.ack_without_id: set[str] = set()
        """Ops (``subscribe``, ``unsubscribe``) answered without the request's ``id``
        (OKX's generic unsubscribe page shows none)."""
        self.before_login: list[dict[str, Any]] = []
        """Frames sent just before each login answer (without a pause)."""
        self.after_login: list[dict[str, Any]] = []
        """Frames sent just after each login answer (without a pause)."""
        self.on_op: Callable[[Conn, dict[str, Any]], dict[str, Any] | None] | None = None
        self.hold: Callable[[Conn, dict[str, Any]], bool] | None = None
        """Requests (any op but login, subscribe included) this says yes to go unanswered
        and are kept in :attr:`held`."""
        self.held: list[tuple[Conn, dict[str, Any]]] = []
        self._changed = trio.Event()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            await self._changed.wait()

    def ops(self, op: str) -> list[dict[str, Any]]:
        return [obj for _, _, obj in self.received if isinstance(obj, dict) and obj.get("op") == op]

    async def serve(self, conn: Conn, receive: Callable[[], Any]) -> None:
        self.conns.append(conn)
        self._notify()
        try:
            while True:
                data = await receive()
                if isinstance(data, str):
                    data = data.encode()
                now = trio.current_time()
                if data == b"ping":
                    self.pings.append((conn.number, now))
                    self._notify()
                    if self.answer_pings:
                        await conn.send(b"pong")
                    continue
                if data == b"pong":
                    self.received.append((conn.number, now, "pong"))
                    self._notify()
                    continue
                obj = orjson.loads(data)
                self.received.append((conn.number, now, obj))
                self._notify()
                await self._answer(conn, obj)
        except (TransportClosed, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except Exception as exc:  # trio-websocket's ConnectionClosed
            if type(exc).__name__ != "ConnectionClosed":
                raise
        finally:
            conn.closed = True
            self._notify()

    async def _answer(self, conn: Conn, obj: dict[str, Any]) -> None:
        op = obj.get("op")
        if op == "login":
            code = self.login_codes.popleft() if self.login_codes else "0"
            if code == "0":
                reply = {"event": "login", "code": "0", "msg": "", "connId": f"c{conn.number:07d}"}
            else:
                reply = {"event": "error", "code": code, "msg": "login refused",
                         "connId": f"c{conn.number:07d}"}
            for frame in [*self.before_login, reply, *self.after_login]:
                await conn.send(orjson.dumps(frame))
            return
        if self.hold is not None and self.hold(conn, obj):
            self.held.append((conn, obj))
            self._notify()
            return
        if op in ("subscribe", "unsubscribe"):
            for arg in obj["args"]:
                ack = {"id": obj.get("id"), "event": op, "arg": arg, "connId": "c0"}
                if op in self.ack_without_id:
                    del ack["id"]
                await conn.send(orjson.dumps(ack))
            return
        if op in self.hold_ops:
            return
        if self.on_op is not None:
            reply = self.on_op(conn, obj)
            if reply is not None:
                await conn.send(orjson.dumps(reply))
                return
        await conn.send(orjson.dumps({
            "id": obj["id"], "op": op, "code": "0", "msg": "",
            "data": [{"sCode": "0", "sMsg": "", "echo": a} for a in obj["args"]],
        }))

    @staticmethod
    async def ack(conn: Conn, obj: dict[str, Any]) -> None:
        """Send the acks of a held ``subscribe``/``unsubscribe`` request on ``conn``."""
        for arg in obj["args"]:
            await conn.send(orjson.dumps({"id": obj.get("id"), "event": obj["op"], "arg": arg,
                                          "connId": f"c{conn.number:07d}"}))

    @staticmethod
    async def push(conn: Conn, arg: dict[str, Any], n: int) -> None:
        """Send one push of ``arg`` whose data is ``[{"n": "<n>"}]`` on ``conn``."""
        await conn.send(orjson.dumps({"arg": arg, "data": [{"n": str(n)}]}))

    def memory_connector(self, nursery: trio.Nursery) -> MemoryConnector:
        async def handler(path: str, transport: Any) -> None:
            conn = Conn(len(self.conns), path, transport.send, transport.aclose, transport.abort)
            await self.serve(conn, transport.receive)

        connector = MemoryConnector(handler, nursery)
        connector.rest_transport = self.rest_transport()
        return connector

    def rest_transport(self) -> httpx.AsyncBaseTransport:
        """REST in memory: ``GET /api/v5/public/time`` answers the wall clock plus
        ``clock_offset_ms`` (the client reads OKX's clock there before its first
        order); any other path fails to connect, as an absent REST server would."""

        def answer(request: httpx.Request) -> httpx.Response:
            if request.url.path != "/api/v5/public/time":
                raise httpx.ConnectError("the scripted server serves no REST", request=request)
            self.time_requests += 1
            ts = str(int(time.time() * 1000) + self.clock_offset_ms)
            return httpx.Response(200, json={"code": "0", "msg": "", "data": [{"ts": ts}]})

        return httpx.MockTransport(answer)


@asynccontextmanager
async def scripted_client(
    server: ScriptedServer, *, rest_transport: httpx.AsyncBaseTransport | None = None,
    **options: Any,
) -> AsyncIterator[tuple[okx_trio.WsClient, MemoryConnector]]:
    """A ``WsClient`` whose connections ``server`` serves in memory (credentials,
    no rate limiting, deterministic backoff unless ``options`` say otherwise), and
    whose REST calls go to ``rest_transport`` when given."""
    options.setdefault("credentials", CREDS)
    options.setdefault("rate_limit", False)
    options.setdefault("random", MaxRandom())
    async with trio.open_nursery() as server_nursery:
        connector = server.memory_connector(server_nursery)
        if rest_transport is not None:
            connector.rest_transport = rest_transport
        async with okx_trio.open_ws_client(
            base_url="ws://127.0.0.1:9", transport=connector, **options
        ) as client:
            yield client, connector
        server_nursery.cancel_scope.cancel()
