"""What every example shares: where to connect, and a price helper.

Each example takes the same options::

    python examples/NAME.py                                  # embedded simulator
    python examples/NAME.py --base-url ws://127.0.0.1:8765   # `okx-trio simulator`
    python examples/NAME.py --base-url URL --api-key K --secret-key S --passphrase P

Without ``--base-url`` the example starts its own simulator (``open_simulator``)
on 127.0.0.1 with throw-away credentials, so it runs standalone. With
``--base-url`` and no keys it uses the account ``okx-trio simulator`` serves by
default. Real OKX is only reached by ``okx_demo_trading.py``.
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import ROUND_DOWN, Decimal
from typing import Any

import attrs

import okx_trio
from okx_trio.testing import DEFAULT_CREDENTIALS, Simulator, open_simulator


@attrs.frozen
class Exchange:
    """Where an example trades."""

    options: dict[str, Any]
    """Keyword options for ``open_ws_client`` / ``open_ws_api_client``."""
    sim: Simulator | None
    """The embedded simulator, or ``None`` when ``--base-url`` was given."""


def parse_args(
    description: str | None, argv: Sequence[str] | None, *, extra: Any = None
) -> argparse.Namespace:
    """Parse the shared options (plus those ``extra(parser)`` adds)."""
    parser = argparse.ArgumentParser(
        description=(description or "").strip().splitlines()[0] if description else None,
    )
    parser.add_argument("--base-url", help="e.g. ws://127.0.0.1:8765 (default: embedded simulator)")
    parser.add_argument("--api-key", help="API key (default: the simulator's account)")
    parser.add_argument("--secret-key", help="secret key")
    parser.add_argument("--passphrase", help="passphrase")
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


@asynccontextmanager
async def exchange(args: argparse.Namespace) -> AsyncIterator[Exchange]:
    """The URL and account given on the command line, or an embedded simulator."""
    if args.base_url:
        creds = DEFAULT_CREDENTIALS
        if args.api_key:
            creds = okx_trio.Credentials(args.api_key, args.secret_key or "", args.passphrase or "")
        yield Exchange({"base_url": args.base_url, "credentials": creds}, None)
        return
    creds = okx_trio.Credentials(
        api_key=f"example-{secrets.token_hex(4)}",
        secret_key=secrets.token_hex(16),
        passphrase=secrets.token_urlsafe(9),
    )
    async with open_simulator(accounts=[creds]) as sim:
        yield Exchange({"base_url": sim.base_url, "credentials": creds}, sim)


@attrs.frozen
class Quote:
    """The top of one instrument's book, its price tick and minimum order size."""

    bid: Decimal
    ask: Decimal
    tick: Decimal
    min_sz: Decimal

    def below_bid(self, fraction: str) -> Decimal:
        """A price ``fraction`` (e.g. ``"0.02"``) under the bid, on the tick."""
        return to_tick(self.bid * (1 - Decimal(fraction)), self.tick)

    def above_ask(self, fraction: str) -> Decimal:
        """A price ``fraction`` over the ask, on the tick."""
        return to_tick(self.ask * (1 + Decimal(fraction)), self.tick)


async def quote(api: okx_trio.WsApiClient, inst_id: str) -> Quote:
    """Best bid and ask (from a short-lived ``books5`` order book), tick and minimum size."""
    await api.load_instruments("SPOT")
    inst = api.instrument(inst_id)
    if inst is None or inst.tick_sz is None or inst.min_sz is None:
        raise SystemExit(f"{inst_id} is not listed by this exchange")
    async with api.ws_client.order_book(inst_id, channel="books5") as book:
        if book.best_bid is None or book.best_ask is None:
            raise SystemExit(f"the {inst_id} book is empty")
        return Quote(book.best_bid[0], book.best_ask[0], inst.tick_sz, inst.min_sz)


def to_tick(px: Decimal, tick: Decimal) -> Decimal:
    """``px`` rounded down to a multiple of ``tick``."""
    return (px / tick).to_integral_value(ROUND_DOWN) * tick
