"""Helpers for the order tests: a simulator and a trade client, all in memory.

WebSocket connections go through ``sim.connect_memory()`` and the REST helper
through :class:`support.rest.MemoryRest` (the simulator's REST endpoints in
memory, each request recorded), so the whole stack runs under
``trio.testing.MockClock`` without sockets. Both sides stamp times with the
wall clock, which barely moves in a MockClock test: the exchange never sees an
``expTime`` pass, and REST timestamps stay within the 30 s window.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from okx_trio import Credentials, TrackedOrder, WsApiClient, open_ws_api_client
from okx_trio.testing import DEFAULT_CREDENTIALS, Simulator, open_simulator
from okx_trio.testing._engine import Order

from .rest import MemoryRest

CREDS = DEFAULT_CREDENTIALS
BTC = 100001
BTC_ID = "BTC-USDT"
SPREAD = "BTC-USDT_BTC-USDT-SWAP"


@asynccontextmanager
async def trading(
    *,
    accounts: list[Credentials] | None = None,
    sim_options: dict[str, Any] | None = None,
    **client_options: Any,
) -> AsyncIterator[tuple[Simulator, WsApiClient, MemoryRest]]:
    """A simulator (no market task, no rate limits) and a logged-in trade client."""
    options: dict[str, Any] = {"market_interval": None, "idle_timeout": None, "rate_limit": False}
    options.update(sim_options or {})
    async with open_simulator(accounts=accounts or [CREDS], **options) as sim:
        rest = MemoryRest(sim)
        connector = sim.connect_memory()
        connector.rest_transport = rest
        opts: dict[str, Any] = {
            "credentials": CREDS, "base_url": sim.base_url, "transport": connector,
            "log_lifecycle": False, "rate_limit": False,
        }
        opts.update(client_options)
        async with open_ws_api_client(**opts) as api:
            await api.connect_ws_api()
            yield sim, api, rest


def market(sim: Simulator, steps: int = 1) -> None:
    """Advance the simulator's random walk (fills resting orders it crosses)."""
    for _ in range(steps):
        sim._deliver(sim.engine.market_step())


def mid(sim: Simulator, inst_id: str = BTC_ID) -> Decimal:
    return Decimal(sim.engine.instruments.get(inst_id, sim.engine.spreads.get(inst_id)).mid)


def bid(px: Decimal | str, sz: str = "0.01", **extra: Any) -> dict[str, Any]:
    return {"instIdCode": BTC, "tdMode": "cash", "side": "buy", "ordType": "limit",
            "px": str(px), "sz": sz, **extra}


def ask(px: Decimal | str, sz: str = "0.01", **extra: Any) -> dict[str, Any]:
    return {"instIdCode": BTC, "tdMode": "cash", "side": "sell", "ordType": "limit",
            "px": str(px), "sz": sz, **extra}


def same(tracked: TrackedOrder | None, order: Order) -> bool:
    """The tracker's view equals the exchange's order (state, fills, price, size)."""
    return (
        tracked is not None
        and tracked.ord_id == order.ord_id
        and tracked.cl_ord_id == (order.cl_ord_id or None)
        and tracked.state == order.state
        and tracked.acc_fill_sz == order.acc_fill_sz
        and tracked.px == order.px
        and tracked.sz == order.sz
        and not tracked.stale
    )


def describe(tracked: TrackedOrder | None, order: Order) -> str:
    mine = None if tracked is None else (tracked.state, str(tracked.acc_fill_sz),
                                         str(tracked.px), str(tracked.sz), tracked.stale)
    theirs = (order.state, str(order.acc_fill_sz), str(order.px), str(order.sz))
    return f"{order.ord_id}/{order.cl_ord_id}: tracker {mine} exchange {theirs}"
