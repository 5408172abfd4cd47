"""A bare OKX WebSocket connection for protocol-level tests of the simulator.

``open_probe`` connects to one path of a running ``Simulator`` (over
a real socket or in memory) and lets a test send any frame, valid or not, and
read the answers back as decoded JSON. It implements no client logic at all.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson
import trio

from .._models import Credentials
from .._transport import Connector, Transport, TransportClosed, connect_websockets
from ._auth import login_sign


class ProbeTarget(Protocol):
    """What the probe needs of a running simulator."""

    base_url: str
    """``ws://`` or ``wss://`` and the port."""

    def connect_memory(self) -> Connector:
        """A connector for in-memory connections."""

    def client_ssl_context(self) -> ssl.SSLContext:
        """A context that trusts the simulator's certificate (TLS only)."""


class Probe:
    """One raw connection: ``send`` anything, ``recv`` frames as JSON (or ``"pong"``)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.received: list[Any] = []
        """Every frame read so far (decoded), in order."""

    async def send(self, frame: dict[str, Any] | list[Any] | bytes | str) -> None:
        """Send a frame: a dict/list is JSON-encoded, bytes/str go as they are."""
        if isinstance(frame, (dict, list)):
            data = orjson.dumps(frame)
        elif isinstance(frame, str):
            data = frame.encode()
        else:
            data = frame
        await self.transport.send(data)

    async def recv(self) -> Any:
        """The next frame: decoded JSON, or the text itself if it is not JSON."""
        raw = await self.transport.receive()
        try:
            value: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = raw.decode("utf-8", "replace")
        self.received.append(value)
        return value

    async def expect(
        self, predicate: Callable[[Any], bool], *, limit: int = 1000
    ) -> Any:
        """Read frames until one satisfies ``predicate``; return it."""
        for _ in range(limit):
            frame = await self.recv()
            if predicate(frame):
                return frame
        raise AssertionError(f"no matching frame in {limit} frames")

    async def expect_event(self, event: str | None = None, **fields: Any) -> dict[str, Any]:
        """Skip pushes until an event (``{"event": ...}``) or response (``{"op": ...}``)
        frame, optionally with ``event`` and the given field values."""

        def match(frame: Any) -> bool:
            if not isinstance(frame, dict) or ("arg" in frame and "data" in frame):
                return False
            if event is not None and frame.get("event") != event:
                return False
            return all(frame.get(k) == v for k, v in fields.items())

        result: dict[str, Any] = await self.expect(match)
        return result

    async def login(
        self,
        creds: Credentials,
        *,
        timestamp: str | None = None,
        id: str | None = None,
    ) -> dict[str, Any]:
        """Send a login for ``creds`` and return the login or error event."""
        ts = timestamp if timestamp is not None else str(int(time.time()))
        frame: dict[str, Any] = {
            "op": "login",
            "args": [
                {
                    "apiKey": creds.api_key,
                    "passphrase": creds.passphrase,
                    "timestamp": ts,
                    "sign": login_sign(creds.secret_key, ts),
                }
            ],
        }
        if id is not None:
            frame["id"] = id
        await self.send(frame)
        answer: dict[str, Any] = await self.expect(
            lambda f: isinstance(f, dict) and f.get("event") in ("login", "error")
        )
        return answer

    async def wait_closed(self) -> TransportClosed:
        """Read (and keep) frames until the server closes; return the close."""
        while True:
            try:
                await self.recv()
            except TransportClosed as exc:
                return exc

    async def aclose(self) -> None:
        """Close the connection politely."""
        await self.transport.aclose()


@asynccontextmanager
async def open_probe(
    sim: ProbeTarget, path: str = "public", *, memory: bool = False, query: str = ""
) -> AsyncIterator[Probe]:
    """A ``Probe`` on ``/ws/v5/<path><query>`` of ``sim``.

    ``memory=True`` connects through ``Simulator.connect_memory`` (no socket).
    """
    url = f"{sim.base_url}/ws/v5/{path}{query}"
    # Neither connector starts tasks in this nursery; it only satisfies the
    # connector signature, so the probe itself is not yielded inside it.
    async with trio.open_nursery() as nursery:
        if memory:
            transport = await sim.connect_memory()(url, ssl_context=None, nursery=nursery)
        else:
            ctx = sim.client_ssl_context() if urlsplit(url).scheme == "wss" else None
            transport = await connect_websockets(url, ssl_context=ctx, nursery=nursery)
    probe = Probe(transport)
    try:
        yield probe
    finally:
        with trio.CancelScope(shield=True):
            await transport.aclose()
