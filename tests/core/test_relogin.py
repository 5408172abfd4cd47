"""Login faults after a successful login are not fatal (issue 13, item 6).

A refusal the exchange gives for a bad key, signature or passphrase ends the
client only on its first login. Once a login has succeeded, the same codes on
a reconnect are retried with the backoff for ``relogin_timeout`` seconds and
reported as ``exception`` events; requests meanwhile wait within their own
deadlines. Scripted server, in memory, virtual time.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing
from support.scripted import ORDER, ScriptedServer, scripted_client

import okx_trio
from okx_trio import OkxAuthError, OkxNotSent
from okx_trio._okx import FATAL_LOGIN_CODES


async def drop(client: okx_trio.WsClient, server: ScriptedServer) -> None:
    """Reset the connection and wait until the client has seen it go."""
    async with client.events() as events:
        server.conns[-1].abort()
        async for ev in events:
            if ev.kind == "reconnect":
                return


@pytest.mark.parametrize("code", ["60009", "60024", "60032"])
async def test_refused_relogin_after_success_is_retried_and_recovers(
    autojump_clock: trio.testing.MockClock, code: str,
) -> None:
    assert code in FATAL_LOGIN_CODES
    server = ScriptedServer()
    with trio.fail_after(600):
        async with scripted_client(server) as (client, _):
            await client.request("order", ORDER)
            async with client.events() as events:
                server.login_codes.extend([code] * 3)
                server.conns[0].abort()
                refusals = []
                async for ev in events:
                    if ev.kind == "exception" and isinstance(ev.detail, OkxAuthError):
                        refusals.append(ev.detail.code)
                    if ev.kind == "reconnected":
                        break
            assert refusals == [code] * 3
            resp = await client.request("order", ORDER)
            assert resp.code == "0"
            assert len(server.ops("login")) == 5


async def test_requests_wait_within_their_deadline_while_relogins_are_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    with trio.fail_after(600):
        async with scripted_client(server) as (client, _):
            await client.request("order", ORDER)
            server.login_codes.extend(["60009"] * 1000)
            await drop(client, server)
            t0 = trio.current_time()
            with pytest.raises(OkxNotSent):
                await client.request("order", ORDER, timeout=5)
            assert trio.current_time() == pytest.approx(t0 + 5)
            server.login_codes.clear()
            resp = await client.request("order", ORDER, timeout=60)
            assert resp.code == "0"


async def test_refusals_longer_than_relogin_timeout_end_the_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    with trio.fail_after(600):
        async with scripted_client(server, relogin_timeout=60.0) as (client, _):
            await client.request("order", ORDER)
            server.login_codes.extend(["60009"] * 1000)
            await drop(client, server)
            t0 = trio.current_time()
            with pytest.raises(OkxAuthError) as info:
                await client.request("order", ORDER, timeout=300)
            assert info.value.code == "60009"
            # Given up after the first refused attempt past 60 s of refusals.
            assert 60 <= trio.current_time() - t0 <= 60 + 30 + 1
            logins = len(server.ops("login"))
            await trio.sleep(300)
            assert len(server.ops("login")) == logins  # no more attempts
            with pytest.raises(OkxAuthError):
                await client.request("order", ORDER)


async def test_first_login_refusal_is_still_fatal_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    server.login_codes.extend(["60009"] * 10)
    async with scripted_client(server) as (client, _):
        t0 = trio.current_time()
        with pytest.raises(OkxAuthError):
            await client.request("order", ORDER)
        assert trio.current_time() == t0
        assert len(server.ops("login")) == 1


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "60"])
async def test_relogin_timeout_is_validated(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        async with okx_trio.open_ws_client(relogin_timeout=bad):
            pass  # pragma: no cover
