"""A simulator with a ``RestApiClient`` attached, on virtual time, and trading helpers.

:func:`rest_on_virtual_time` serves the simulator's REST endpoints in memory
(``transport=sim.connect_memory()``) so the autojump clock runs: the exchange's
clock (its rate windows, timestamps, candle bars) and the client's signing
clock both follow trio's clock from the wall time at the start, so a test can
sleep through minutes of virtual time and stay inside OKX's 30 s signature
window.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
import trio

import okx_trio
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, Simulator, open_simulator

SWAP = "BTC-USDT-SWAP"
SPRD = "BTC-USDT_BTC-USDT-SWAP"
WRONG = okx_trio.Credentials(CREDS.api_key, "WRONG-SECRET-0123456789", CREDS.passphrase)
"""The simulator's key with a wrong secret: every signature it makes is refused."""
UNKNOWN = okx_trio.Credentials("no-such-key", "secret", "pass")
"""A key the simulator does not know."""


@asynccontextmanager
async def virtual_simulator(
    monkeypatch: pytest.MonkeyPatch, **sim_options: Any
) -> AsyncIterator[Simulator]:
    """A simulator whose exchange clock (and the client's wall clock: signatures,
    ``expTime``, clock samples) follow trio's."""
    sim_options.setdefault("market_interval", None)
    sim_options.setdefault("idle_timeout", None)
    async with open_simulator(**sim_options) as sim:
        wall0 = int(time.time() * 1000)
        t0 = trio.current_time()

        def wall_ms() -> int:
            return wall0 + round((trio.current_time() - t0) * 1000)

        # The exchange keeps honouring sim.clock_offset_ms on top.
        sim._now_ms = lambda: wall_ms() + sim.clock_offset_ms  # type: ignore[method-assign]
        monkeypatch.setattr("okx_trio._clock.wall_ms", wall_ms)
        yield sim


@asynccontextmanager
async def rest_on_virtual_time(
    monkeypatch: pytest.MonkeyPatch,
    *,
    sim_options: dict[str, Any] | None = None,
    **client_options: Any,
) -> AsyncIterator[tuple[Simulator, okx_trio.RestApiClient]]:
    """``(simulator, REST client)`` on virtual time, REST served in memory."""
    async with virtual_simulator(monkeypatch, **(sim_options or {})) as sim:
        client_options.setdefault("credentials", CREDS)
        async with okx_trio.open_rest_client(
            base_url=sim.base_url, transport=sim.connect_memory(), log_lifecycle=False,
            **client_options,
        ) as rest:
            yield sim, rest


def mid(sim: Simulator, inst_id: str = "BTC-USDT") -> Decimal:
    """The middle of the simulator's best bid and ask."""
    bids, asks = sim.book(inst_id)
    return (Decimal(bids[0][0]) + Decimal(asks[0][0])) / 2


def spot_buy(sz: str = "0.001", **more: Any) -> dict[str, Any]:
    """A BTC-USDT market buy of ``sz`` BTC (it fills at once against the book)."""
    return {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market",
            "sz": sz, "tgtCcy": "base_ccy", **more}


def resting_bid(sim: Simulator, below: int = 500, **more: Any) -> dict[str, Any]:
    """A BTC-USDT limit bid far below the market (it rests, it never trades)."""
    px = (mid(sim) - below).quantize(Decimal("0.1"))
    return {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
            "px": str(px), "sz": "0.001", **more}


def swap_market(side: str, sz: str = "1") -> dict[str, Any]:
    """A BTC-USDT-SWAP market order (cross margin) of ``sz`` contracts."""
    return {"instId": SWAP, "tdMode": "cross", "side": side, "ordType": "market", "sz": sz}


async def collect(pages: okx_trio.Pages[Any]) -> list[Any]:
    """Every item of a ``Pages`` iterator."""
    return [item async for item in pages]
