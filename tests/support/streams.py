"""Helpers for the stream tests: a simulator with a client attached to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

import okx_trio
from okx_trio import Gap, Push
from okx_trio.testing import DEFAULT_CREDENTIALS, SimAccount, Simulator, open_simulator
from okx_trio.testing._engine_model import default_instruments

CREDS = DEFAULT_CREDENTIALS
VIP4 = {"accounts": [SimAccount(CREDS, vip_level=4)]}
"""``sim_options`` for an account of fee tier VIP 4: OKX's minimum for ``books-l2-tbt``,
``books50-l2-tbt`` and ``fills`` (64003 below it)."""


def spot_only() -> list[Any]:
    """Only BTC-USDT: market steps are cheap, so tests can run many of them."""
    return [s for s in default_instruments() if s.inst_id == "BTC-USDT"]


@asynccontextmanager
async def sim_client(
    *,
    memory: bool,
    market_interval: float | None = None,
    checksum: bool = False,
    instruments: list[Any] | None = None,
    sim_options: dict[str, Any] | None = None,
    **options: Any,
) -> AsyncIterator[tuple[Simulator, okx_trio.WsClient]]:
    """A simulator and a client connected to it (in memory, or over loopback sockets)."""
    async with open_simulator(market_interval=market_interval, checksum=checksum,
                              instruments=instruments, **(sim_options or {})) as sim:
        opts: dict[str, Any] = {"base_url": sim.base_url, "credentials": CREDS,
                                "rate_limit": False, "log_lifecycle": False}
        if memory:
            opts["transport"] = sim.connect_memory()
        opts.update(options)
        async with okx_trio.open_ws_client(**opts) as client:
            yield sim, client


def frames(sim: Simulator, op: str, channel: str | None = None) -> list[dict[str, Any]]:
    """Request objects the simulator received with ``op`` (for args of ``channel``)."""
    out = []
    for obj in sim.frames.ops(op):
        if channel is None or any(a.get("channel") == channel for a in obj.get("args", [])):
            out.append(obj)
    return out


async def next_push(sub: Any, accept: Callable[[Push], bool] = lambda p: True) -> Push:
    """The next Push of ``sub`` that ``accept`` likes (Gaps are skipped)."""
    async for item in sub:
        if isinstance(item, Push) and accept(item):
            return item
    raise AssertionError("subscription ended")


async def next_item(sub: Any) -> Push | Gap:
    """The next item of ``sub``."""
    return await sub.__anext__()  # type: ignore[no-any-return]


async def settle(client: okx_trio.WsClient) -> None:
    """Let queued frames flow (memory transports) without advancing much time."""
    for _ in range(50):
        await trio.lowlevel.checkpoint()


def inject(sim: Simulator, path: str, arg: dict[str, Any], count: int, start: int = 0) -> None:
    """Send ``count`` pushes of ``arg`` (data ``[{"n": "<k>"}]``) on each ``path`` connection."""
    import orjson

    conns = [c for c in sim.connections if c.path == path]
    assert conns, f"no {path} connection"
    for k in range(start, start + count):
        frame = orjson.dumps({"arg": arg, "data": [{"n": str(k)}]})
        for conn in conns:
            conn.send_bytes(frame)


def marks(items: list[Any]) -> list[int]:
    """The ``n`` marks of injected pushes."""
    return [int(p.data[0]["n"]) for p in items if isinstance(p, Push) and "n" in p.data[0]]
