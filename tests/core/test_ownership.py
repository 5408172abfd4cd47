"""The connection owns what was written and subscribed on it (issue 13, items 2, 3, 8).

Each connection, the active one or one being retired after a 64008 notice,
fails the requests written on it the moment it ends, resolves a subscribe in
flight there, gives a ``Gap`` to the subscribers of every arg live on it that
is not yet live on the new connection, and keeps no count of requests that
ended some other way (answered, timed out, cancelled). Scripted server, in
memory, virtual time.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from support import internals
from support.scripted import ORDER, Conn, ScriptedServer, scripted_client

import okx_trio
from okx_trio import (
    Gap,
    OkxAuthError,
    OkxConnectionLost,
    OkxRequestTimeout,
    Push,
)

NOTICE = b'{"event":"notice","code":"64008","msg":"service upgrade","connId":"c0"}'
TICKERS = {"channel": "tickers", "instId": "BTC-USDT"}


def holding(pred: Callable[[Conn, dict[str, Any]], bool]) -> ScriptedServer:
    server = ScriptedServer()
    server.hold = pred
    return server


async def switch_over(client: okx_trio.WsClient, old: Conn) -> float:
    """Send the 64008 notice on ``old``; return the virtual time the new connection
    became active."""
    async with client.events() as events:
        await old.send(NOTICE)
        async for ev in events:
            if ev.kind == "reconnected":
                return trio.current_time()
    raise AssertionError("no switch-over")


@asynccontextmanager
async def running(fn: Callable[[], Any]) -> AsyncIterator[dict[str, Any]]:
    """Run ``fn`` in the background; its result or exception lands in the dict."""
    out: dict[str, Any] = {}

    async def run() -> None:
        try:
            out["result"] = await fn()
        except Exception as exc:
            out["error"] = exc
        out["at"] = trio.current_time()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        yield out


def written_counts(client: okx_trio.WsClient) -> list[int]:
    """Requests each live connection still counts as written and unanswered."""
    return [len(c.requests) for s in internals.sessions(client) for c in s.connections]


# -- item 2: requests and subscribes written on a retired connection


async def end(conn: Conn, how: str) -> None:
    """End a server-side connection: a close handshake, or a reset (no close frame)."""
    if how == "close":
        await conn.close(1001, "service upgrade")
    else:
        conn.abort()


@pytest.mark.parametrize("how", ["close", "reset"])
async def test_request_on_a_retired_connection_fails_when_it_closes(
    autojump_clock: trio.testing.MockClock, how: str,
) -> None:
    server = holding(lambda conn, obj: obj["op"] == "order" and conn.number == 0)
    with trio.fail_after(300):  # virtual time: a hang fails the test
        async with scripted_client(server) as (client, _):
            await client.request("cancel-order", [{"instIdCode": 1, "ordId": "1"}])
            old = server.conns[0]
            async with running(lambda: client.request(
                    "order", [dict(ORDER[0], clOrdId="r1")], timeout=math.inf)) as out:
                await server.wait_for(lambda: len(server.held) == 1)
                await switch_over(client, old)
                await trio.sleep(1)
                closed_at = trio.current_time()
                await end(old, how)
            assert isinstance(out.get("error"), OkxConnectionLost), out
            assert out["error"].cl_ord_id == "r1"
            assert out["at"] == closed_at  # at once, not at a deadline
            assert written_counts(client) == [0]
            assert client.statistics().pending == 0


async def test_finite_deadline_request_on_a_retired_connection_fails_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = holding(lambda conn, obj: obj["op"] == "order" and conn.number == 0)
    with trio.fail_after(300):  # virtual time: a hang fails the test
        async with scripted_client(server) as (client, _):
            await client.request("cancel-order", [{"instIdCode": 1, "ordId": "1"}])
            old = server.conns[0]
            async with running(lambda: client.request("order", ORDER, timeout=20)) as out:
                await server.wait_for(lambda: len(server.held) == 1)
                await switch_over(client, old)
                closed_at = trio.current_time()
                await old.close(1001, "service upgrade")
            assert isinstance(out.get("error"), OkxConnectionLost), out
            assert out["at"] == closed_at


async def test_subscribe_in_flight_on_a_retired_connection_is_resolved(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = holding(lambda conn, obj: obj["op"] == "subscribe" and conn.number == 0)
    with trio.fail_after(300):  # virtual time: a hang fails the test
        async with scripted_client(server, request_timeout=10) as (client, _):
            await client.request("order", ORDER)  # the private connection is up
            t0 = trio.current_time()

            async def subscribe() -> float:
                async with client.subscribe({"channel": "orders", "instType": "ANY"}):
                    return trio.current_time()

            async with running(subscribe) as out:
                await server.wait_for(lambda: len(server.held) == 1)
                old = server.conns[0]
                await switch_over(client, old)
                closed_at = trio.current_time()
                await old.close(1001, "service upgrade")
            # Sent again on the new connection and acknowledged there, at once.
            assert "error" not in out, out
            assert out["result"] == closed_at
            assert closed_at < t0 + 1
            subs = server.ops("subscribe")
            assert len(subs) == 2
            assert [n for n, _, obj in server.received if obj in subs] == [0, 1]


async def test_refused_relogin_never_turns_a_written_request_into_an_auth_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = holding(lambda conn, obj: obj["op"] == "order" and conn.number == 0)
    with trio.fail_after(300):  # virtual time: a hang fails the test
        async with scripted_client(server) as (client, _):
            await client.request("cancel-order", [{"instIdCode": 1, "ordId": "1"}])
            old = server.conns[0]
            async with running(lambda: client.request("order", ORDER, timeout=5)) as out:
                await server.wait_for(lambda: len(server.held) == 1)
                await switch_over(client, old)
                # The replacement dies and every later login is refused.
                server.login_codes.extend(["60009"] * 100)
                server.conns[1].abort()
            # Written on the old connection: its outcome is unknown, never "not executed".
            assert not isinstance(out.get("error"), OkxAuthError), out
            assert isinstance(out.get("error"), (OkxConnectionLost, OkxRequestTimeout)), out


# -- item 3: a switch-over whose old connection dies before the new one acknowledges


@pytest.mark.parametrize("how", ["close", "reset"])
async def test_gap_when_the_old_connection_dies_before_the_new_ack(
    autojump_clock: trio.testing.MockClock, how: str,
) -> None:
    server = holding(lambda conn, obj: obj["op"] == "subscribe" and conn.number == 1)
    with trio.fail_after(300):  # virtual time: a hang fails the test
        async with scripted_client(server) as (client, _):
            async with client.subscribe(TICKERS) as sub:
                old = server.conns[0]
                await server.push(old, TICKERS, 1)
                assert isinstance(await sub.__anext__(), Push)
                await switch_over(client, old)
                await server.wait_for(lambda: len(server.held) == 1)
                await server.push(old, TICKERS, 2)  # still live there: delivered
                await end(old, how)
                await server.wait_for(lambda: old.closed)
                # Pushes 3-5 went out on neither connection's stream the client reads.
                new, held = server.held[0]
                await server.ack(new, held)
                await server.push(new, TICKERS, 6)
                items = [await sub.__anext__() for _ in range(3)]
            assert isinstance(items[0], Push)
            assert items[0].data[0]["n"] == "2"
            assert items[1] == Gap("reconnect", 0)
            assert isinstance(items[2], Push)
            assert items[2].data[0]["n"] == "6"
            assert client.statistics().reconnects["public"] == 0


async def test_no_gap_when_the_new_ack_comes_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    with trio.fail_after(300):  # virtual time: a hang fails the test
        async with scripted_client(server) as (client, _):
            async with client.subscribe(TICKERS) as sub:
                old = server.conns[0]
                await switch_over(client, old)
                await server.wait_for(lambda: len(server.ops("subscribe")) == 2)
                await server.wait_for(lambda: old.closed)  # closed by the client once acked
                new = server.conns[1]
                await server.push(new, TICKERS, 1)
                item = await sub.__anext__()
            assert isinstance(item, Push)
            assert item.data[0]["n"] == "1"


# -- item 8: counters settled on every exit path


@pytest.mark.parametrize("how", ["timeout", "cancel", "answered"])
async def test_a_request_that_ended_does_not_hold_a_retired_connection(
    autojump_clock: trio.testing.MockClock, how: str,
) -> None:
    server = holding(lambda conn, obj: obj["op"] == "order" and how != "answered")
    with trio.fail_after(300):  # virtual time: a hang fails the test
        async with scripted_client(server) as (client, _):
            await client.request("cancel-order", [{"instIdCode": 1, "ordId": "1"}])
            old = server.conns[0]
            if how == "timeout":
                with pytest.raises(OkxRequestTimeout):
                    await client.request("order", ORDER, timeout=1)
            elif how == "cancel":
                with trio.move_on_after(1):
                    await client.request("order", ORDER, timeout=math.inf)
            else:
                await client.request("order", ORDER)
            assert written_counts(client) == [0]
            active_at = await switch_over(client, old)
            await server.wait_for(lambda: old.closed)
            # Closed as soon as the new connection took over, not after the 30 s grace.
            assert trio.current_time() - active_at < 0.5
            assert written_counts(client) == [0]
