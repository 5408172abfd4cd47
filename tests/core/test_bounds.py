"""Bounded everything (issue 13, items 4 and 9): backoff, the control budget, waits.

A long outage never ends the client (the backoff stays at its cap, however many
attempts); the subscribe/unsubscribe/login budget keeps a margin under OKX's
480 per hour, so no rounding puts the client over it; every internal wait has
a deadline (a clock re-sync against a server that drips its answer). In
memory, virtual time.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import httpx
import pytest
import trio
import trio.testing
from support.scripted import ORDER, MaxRandom, ScriptedServer, scripted_client
from support.streams import sim_client

from okx_trio import OkxAuthError, OkxError
from okx_trio._connection import CONTROL_LIMIT, CONTROL_SPAN
from okx_trio._okx import CONTROL_BUDGET, CONTROL_WINDOW
from okx_trio._pacing import Backoff
from okx_trio._ratelimit import EventWindow

TICKERS = {"channel": "tickers", "instId": "BTC-USDT"}


# -- item 4: the backoff stays at its cap


def test_backoff_delay_is_capped_for_any_attempt() -> None:
    backoff = Backoff(0.1, 30.0, MaxRandom())
    assert [backoff.delay(n) for n in (1, 2, 3)] == pytest.approx([0.1, 0.2, 0.4])
    for n in (10, 1024, 1025, 1026, 10_000, 10**9):
        assert backoff.delay(n) == 30.0


async def test_ten_thousand_failed_attempts_do_not_end_the_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """An outage of 10 000 attempts (3.5 days at the 30 s cap): every wait is at the
    cap, and the client comes back when the exchange does."""
    server = ScriptedServer()
    attempts: list[float] = []
    refusing = {"on": False}

    def refuse() -> bool:
        if refusing["on"]:
            attempts.append(trio.current_time())
            if len(attempts) >= 10_000:
                refusing["on"] = False
            return refusing["on"]
        return False

    with trio.fail_after(400_000):
        async with scripted_client(server, log_lifecycle=False) as (client, connector):
            connector.refuse = refuse
            await client.request("order", ORDER)
            refusing["on"] = True
            server.conns[0].abort()
            await server.wait_for(lambda: len(server.conns) == 2)
            resp = await client.request("order", ORDER)
            assert resp.code == "0"
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert len(attempts) == 10_000
    assert max(gaps) == pytest.approx(30.0)
    assert gaps[-5000:] == pytest.approx([30.0] * 5000)


# -- item 4: the control budget keeps a margin


def test_control_budget_keeps_a_margin() -> None:
    """The client's window is stricter than OKX's: fewer frames, over a longer span."""
    assert CONTROL_LIMIT < CONTROL_BUDGET
    assert CONTROL_SPAN > CONTROL_WINDOW


def test_the_client_never_exceeds_the_exchange_count_even_after_rounding() -> None:
    """Frames sent as early as the client's window allows, from a start time with a
    fractional part: the exchange, counting with its own clock rounded to the
    millisecond and shifted by up to 0.5 s, never sees more than 480 in an hour."""
    for start in (0.1, 0.3, 1234.567, 1e6 + 0.7):
        for skew in (-0.5, 0.0, 0.5):
            window = EventWindow(CONTROL_LIMIT, CONTROL_SPAN)
            now = start
            sent: list[float] = []
            for _ in range(3 * CONTROL_LIMIT):
                at = window.ready_at(now)
                if at > now:
                    now = at
                window.record(now)
                sent.append(round(now + skew, 3))
            j = 0
            for i, t in enumerate(sent):
                while sent[j] <= t - CONTROL_WINDOW:
                    j += 1
                assert i - j + 1 <= CONTROL_BUDGET


async def test_subscribe_churn_at_the_hour_boundary_is_not_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Subscribing and unsubscribing as fast as the budget allows, from t = 0.1 s:
    the simulator (OKX's rule, its own arithmetic) never answers 60014 (the client
    went one frame over at the 3 600 s boundary)."""
    await trio.sleep(0.1)
    with trio.fail_after(3 * 3600):
        async with sim_client(memory=True, market_interval=None, log_lifecycle=False,
                              request_timeout=None) as (sim, client):
            for _ in range(CONTROL_BUDGET // 2 + 10):
                async with client.subscribe(TICKERS):
                    pass
            assert not [r for r in sim.frames if "60014" in r.text]
            assert trio.current_time() > 3600


# -- item 9: waits with a deadline


class DrippingRest(httpx.AsyncBaseTransport):
    """A REST server that answers one byte every ``pause`` seconds (trio clock)."""

    def __init__(self, pause: float = 0.5) -> None:
        self.pause = pause
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        body = b'{"code":"0","msg":"","data":[{"ts":"1700000000000"}]}'
        pause = self.pause

        class Drip(httpx.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                for i in range(len(body)):
                    await trio.sleep(pause)
                    yield body[i:i + 1]

        return httpx.Response(200, headers={"Content-Type": "application/json"}, stream=Drip())


async def test_sync_time_against_a_dripping_server_ends_at_its_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    async with scripted_client(server, request_timeout=3.0,
                               rest_transport=DrippingRest()) as (client, _):
        t0 = trio.current_time()
        with trio.move_on_after(15) as scope, pytest.raises(OkxError):
            await client.sync_time()
        assert not scope.cancelled_caught, "sync_time was still running after 15 s"
        assert trio.current_time() == pytest.approx(t0 + 3.0)
        t0 = trio.current_time()
        with pytest.raises(OkxError):
            await client.sync_time(timeout=1.0)
        assert trio.current_time() == pytest.approx(t0 + 1.0)


async def test_relogin_after_an_expired_timestamp_is_not_held_by_the_clock_resync(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """60006: the clock re-sync has a deadline (the login timeout), so the next login
    comes within it even when the time server drips (no login for 19 s before)."""
    server = ScriptedServer()
    server.login_codes.extend(["60006"])
    with trio.fail_after(120):
        async with scripted_client(server, login_timeout=4.0,
                                   rest_transport=DrippingRest()) as (client, _):
            resp = await client.request("order", ORDER, timeout=30)
            assert resp.code == "0"
            first, second = [t for n, t, obj in server.received
                             if isinstance(obj, dict) and obj.get("op") == "login"]
            assert second - first <= 4.0 + 0.5


async def test_expired_timestamp_still_fatal_after_one_resync(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    server.login_codes.extend(["60006"] * 5)
    async with scripted_client(server, rest_transport=DrippingRest()) as (client, _):
        with pytest.raises(OkxAuthError) as info:
            await client.request("order", ORDER, timeout=60)
        assert info.value.code == "60006"

