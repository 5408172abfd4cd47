"""Channel routing, one channel at a time, against OKX's current channel pages.

The table below is this test's own copy, written from each channel's docs-v5
page (2026-06 versions; books-rpi from the 2026-07 changelog), so a mistake in
``okx_trio._okx`` cannot agree with itself. A few channels are also subscribed
through a scripted server, to see the URL and the login actually used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from support.scripted import CREDS, ScriptedServer

import okx_trio
from okx_trio._okx import route_channel

EXPECTED: dict[str, tuple[str, bool]] = {
    # public, no login
    "tickers": ("public", False),
    "trades": ("public", False),
    "books": ("public", False),
    "books5": ("public", False),
    "bbo-tbt": ("public", False),
    "books-rpi": ("public", False),
    "instruments": ("public", False),
    "open-interest": ("public", False),
    "funding-rate": ("public", False),
    "price-limit": ("public", False),
    "opt-summary": ("public", False),
    "estimated-price": ("public", False),
    "mark-price": ("public", False),
    "index-tickers": ("public", False),
    "liquidation-orders": ("public", False),
    "option-trades": ("public", False),
    "call-auction-details": ("public", False),
    "event-contract-markets": ("public", False),
    "adl-warning": ("public", False),
    "status": ("public", False),
    # public after a login (VIP4+)
    "books-l2-tbt": ("public", True),
    "books50-l2-tbt": ("public", True),
    # private
    "orders": ("private", True),
    "fills": ("private", True),
    "positions": ("private", True),
    "account": ("private", True),
    "balance_and_position": ("private", True),
    "liquidation-warning": ("private", True),
    "account-greeks": ("private", True),
    # business, no login
    "trades-all": ("business", False),
    "candle1m": ("business", False),
    "candle1Dutc": ("business", False),
    "mark-price-candle1H": ("business", False),
    "index-candle30m": ("business", False),
    "sprd-candle1m": ("business", False),
    "sprd-books5": ("business", False),
    "sprd-bbo-tbt": ("business", False),
    "sprd-books-l2-tbt": ("business", False),
    "sprd-public-trades": ("business", False),
    "sprd-tickers": ("business", False),
    "public-struc-block-trades": ("business", False),
    "public-block-trades": ("business", False),
    "block-tickers": ("business", False),
    # business after a login
    "economic-calendar": ("business", True),
    "sprd-orders": ("business", True),
    "sprd-trades": ("business", True),
    "orders-algo": ("business", True),
    "algo-advance": ("business", True),
    "deposit-info": ("business", True),
    "withdrawal-info": ("business", True),
    "rfqs": ("business", True),
    "quotes": ("business", True),
    "struc-block-trades": ("business", True),
    "grid-orders-spot": ("business", True),
    "grid-orders-contract": ("business", True),
    "grid-positions": ("business", True),
    "grid-sub-orders": ("business", True),
    "algo-recurring-buy": ("business", True),
    "copytrading-lead-notification": ("business", True),
    # Names OKX does not list: no guess, public without login (the exchange's
    # 60018 then names the mistake).
    "spot-grid": ("public", False),
    "copytrading-notification": ("public", False),
    "grid-orders-moon": ("public", False),
    "brand-new-channel": ("public", False),
}


@pytest.mark.parametrize(("channel", "route"), sorted(EXPECTED.items()))
def test_route_of_each_channel(channel: str, route: tuple[str, bool]) -> None:
    assert route_channel(channel) == route


@asynccontextmanager
async def scripted(server: ScriptedServer, **options: Any) -> AsyncIterator[okx_trio.WsClient]:
    async with trio.open_nursery() as nursery:
        connector = server.memory_connector(nursery)
        async with okx_trio.open_ws_client(base_url="ws://127.0.0.1:9", transport=connector,
                                           log_lifecycle=False, **options) as client:
            yield client
        nursery.cancel_scope.cancel()


def _paths_and_logins(server: ScriptedServer, channel: str) -> tuple[list[str], list[str]]:
    """The path of each connection that subscribed ``channel``, and of each that logged in."""
    by_number = {c.number: c.path for c in server.conns}
    subscribed = [by_number[n] for n, _, obj in server.received
                  if isinstance(obj, dict) and obj.get("op") == "subscribe"
                  and obj["args"][0]["channel"] == channel]
    logged_in = [by_number[n] for n, _, obj in server.received
                 if isinstance(obj, dict) and obj.get("op") == "login"]
    return subscribed, logged_in


@pytest.mark.parametrize(
    ("arg", "path", "login"),
    [
        ({"channel": "adl-warning", "instType": "SWAP"}, "/ws/v5/public", False),
        ({"channel": "status"}, "/ws/v5/public", False),
        ({"channel": "books-rpi", "instId": "BTC-USDT"}, "/ws/v5/public", False),
        ({"channel": "economic-calendar"}, "/ws/v5/business", True),
        ({"channel": "grid-orders-spot", "instType": "SPOT"}, "/ws/v5/business", True),
        ({"channel": "copytrading-lead-notification", "instType": "SWAP"}, "/ws/v5/business",
         True),
        ({"channel": "sprd-books-l2-tbt", "sprdId": "BTC-USDT_BTC-USDT-SWAP"}, "/ws/v5/business",
         False),
    ],
)
async def test_subscription_goes_where_okx_serves_it(
    autojump_clock: trio.testing.MockClock, arg: dict[str, str], path: str, login: bool
) -> None:
    # Credentials only where the channel needs them: a client without any must
    # reach the others (a business connection with credentials logs in anyway).
    server = ScriptedServer()
    async with scripted(server, credentials=CREDS if login else None) as client:
        with trio.fail_after(10):
            async with client.subscribe(arg):
                pass
    subscribed, logged_in = _paths_and_logins(server, arg["channel"])
    assert subscribed == [path]
    assert logged_in == ([path] if login else [])


async def test_economic_calendar_needs_credentials(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    async with scripted(server) as client:
        with pytest.raises(ValueError, match="needs a login"):
            async with client.subscribe({"channel": "economic-calendar"}):
                pass  # pragma: no cover
    assert server.received == []


async def test_adl_warning_without_credentials(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    async with scripted(server) as client:
        with trio.fail_after(10):
            async with client.subscribe({"channel": "adl-warning", "instType": "SWAP"}):
                pass
    assert _paths_and_logins(server, "adl-warning") == (["/ws/v5/public"], [])


async def test_books_elp_refused_naming_books_rpi(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    async with scripted(server) as client:
        with pytest.raises(ValueError, match="books-rpi"):
            async with client.subscribe({"channel": "books-elp", "instId": "BTC-USDT"}):
                pass  # pragma: no cover
        with pytest.raises(ValueError, match="books-rpi"):
            async with client.order_book("BTC-USDT", channel="books-elp"):
                pass  # pragma: no cover
    assert server.received == []
