"""Subscribe and unsubscribe answers without an ``id`` are matched by their ``arg``.

OKX's generic unsubscribe page shows no ``id`` in the request or the answer.
An answer the client cannot match leaves the request waiting out its timeout:
each exit would take 5 s, a subscribe would fail after ``request_timeout`` and a
64008 switch-over would hold the old connection for its whole 30 s grace.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import trio
import trio.testing
from support import internals
from support.scripted import ScriptedServer

import okx_trio

TICKERS_A = {"channel": "tickers", "instId": "BTC-USDT"}
TICKERS_B = {"channel": "tickers", "instId": "ETH-USDT"}


@asynccontextmanager
async def scripted(server: ScriptedServer, **options: Any) -> AsyncIterator[okx_trio.WsClient]:
    async with trio.open_nursery() as nursery:
        connector = server.memory_connector(nursery)
        async with okx_trio.open_ws_client(base_url="ws://127.0.0.1:9", transport=connector,
                                           log_lifecycle=False, **options) as client:
            yield client
        nursery.cancel_scope.cancel()


async def test_unsubscribe_answer_without_id_ends_the_exit_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    server.ack_without_id = {"unsubscribe"}
    async with scripted(server) as client:
        with trio.fail_after(30):
            async with client.subscribe(TICKERS_A):
                pass
            started = trio.current_time()
            async with client.subscribe(TICKERS_B):
                entered = trio.current_time()
            left = trio.current_time()
        assert internals.tables(client)["pending_unsubscribes"] == 0
    assert entered - started < 0.1
    assert left - entered < 0.1  # the unsubscribe answer ended the wait (5 s before)
    assert len(server.ops("unsubscribe")) == 2


async def test_subscribe_answers_without_id_matched_by_arg(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    server.ack_without_id = {"subscribe", "unsubscribe"}
    async with scripted(server, request_timeout=10.0) as client:
        with trio.fail_after(30):
            started = trio.current_time()
            async with client.subscribe(TICKERS_A, TICKERS_B):
                entered = trio.current_time()
                assert client.statistics().subscriptions == 2
            left = trio.current_time()
    assert entered - started < 0.1
    assert left - entered < 0.1


async def test_answers_without_id_go_to_the_request_of_their_arg(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The server answers only the second subscribe: matching by order would
    # acknowledge the first arg, which the exchange never confirmed.
    server = ScriptedServer()
    original = server._answer

    async def answer_second_only(conn: Any, obj: dict[str, Any]) -> None:
        if obj.get("op") != "subscribe":
            await original(conn, obj)
        elif obj["args"][0] == TICKERS_B:
            await conn.send(orjson.dumps({"event": "subscribe", "arg": TICKERS_B,
                                          "connId": "c0"}))

    server._answer = answer_second_only  # type: ignore[method-assign]
    states: dict[str, str] = {}
    async with scripted(server, request_timeout=5.0) as client, trio.open_nursery() as nursery:

        async def subscribe_both() -> None:
            with contextlib.suppress(okx_trio.OkxRequestTimeout):
                async with client.subscribe(TICKERS_A, TICKERS_B):
                    raise AssertionError("TICKERS_A was never acknowledged")

        nursery.start_soon(subscribe_both)
        await server.wait_for(lambda: len(server.ops("subscribe")) == 2)
        await trio.sleep(1)
        states = {arg["instId"]: state for arg, state in internals.subscription_states(client)}
    assert states == {"BTC-USDT": "subscribing", "ETH-USDT": "live"}


async def test_64008_switch_over_without_ids_is_prompt(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    async with scripted(server) as client:
        with trio.fail_after(60):
            async with client.subscribe(TICKERS_A):
                server.ack_without_id = {"subscribe", "unsubscribe"}
                old = server.conns[0]
                notice = {"event": "notice", "code": "64008", "msg": "upgrade",
                          "connId": "c0"}
                await old.send(orjson.dumps(notice))
                noticed = trio.current_time()
                await server.wait_for(lambda: old.closed)
                closed = trio.current_time()
                assert len(server.conns) == 2
    # The new connection's subscribe was answered (by arg), so the old one closed
    # as soon as the switch-over was done, not after the 30 s grace.
    assert closed - noticed < 1.0
