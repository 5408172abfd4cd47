"""Session behaviour over the in-memory transport, timed with MockClock."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest
import trio
import trio.testing
from support import internals
from support.scripted import CREDS, ORDER, ScriptedServer, scripted_client

import okx_trio
from okx_trio import (
    OkxApiError,
    OkxAuthError,
    OkxConnectionLost,
    OkxNotSent,
    OkxRequestTimeout,
)
from okx_trio._okx import FATAL_LOGIN_CODES, TRANSIENT_LOGIN_CODES


async def test_request_round_trip_and_login(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    async with scripted_client(server) as (client, _):
        resp = await client.request("order", ORDER)
        assert resp.code == "0"
        assert resp.data[0]["echo"] == ORDER[0]
    (login,) = server.ops("login")
    assert login["args"][0]["apiKey"] == CREDS.api_key
    (order,) = server.ops("order")
    assert order["args"] == ORDER
    assert int(order["expTime"]) > 0  # the deadline travels as expTime


async def test_ping_after_silence_and_not_before(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    async with scripted_client(server, heartbeat_interval=20.0) as (client, _):
        await client.request("order", ORDER)
        t_last = trio.current_time()
        await trio.sleep(19.9)
        assert server.pings == []
        await server.wait_for(lambda: len(server.pings) >= 1)
        assert server.pings[0][1] == pytest.approx(t_last + 20.0)
        # A pong arrived, so the connection stays; the next ping comes 20 s after it.
        await server.wait_for(lambda: len(server.pings) >= 2)
        assert server.pings[1][1] == pytest.approx(t_last + 40.0)
        assert len(server.conns) == 1


async def test_dead_connection_detected_when_pongs_withheld(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    server.answer_pings = False
    async with scripted_client(server, heartbeat_interval=20.0, pong_timeout=5.0) as (client, _):
        async with client.events() as events:
            await client.request("order", ORDER)
            t0 = trio.current_time()
            async for ev in events:
                if ev.kind == "reconnect":
                    break
            assert trio.current_time() == pytest.approx(t0 + 25.0)
            async for ev in events:
                if ev.kind == "reconnected":
                    break
        assert len(server.conns) == 2
        assert len(server.ops("login")) == 2  # logged in again with a fresh timestamp


async def test_inbound_text_ping_answered(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    async with scripted_client(server) as (client, _):
        await client.request("order", ORDER)
        await server.conns[0].send(b"ping")
        await server.wait_for(lambda: any(obj == "pong" for _, _, obj in server.received))


async def test_backoff_schedule_and_reset(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    attempts: list[float] = []
    refusing = {"on": False, "left": 0}

    def refuse() -> bool:
        attempts.append(trio.current_time())
        if refusing["left"] > 0:
            refusing["left"] -= 1
            return True
        return False

    async with scripted_client(server, max_connects_per_second=1000, reconnect_max=1.0) as (
        client, connector,
    ):
        connector.refuse = refuse
        await client.request("order", ORDER)
        assert len(attempts) == 1
        refusing["left"] = 6
        t_drop = trio.current_time()
        server.conns[0].abort()
        await server.wait_for(lambda: len(server.conns) == 2)
        gaps = [b - a for a, b in zip([t_drop, *attempts[1:]], attempts[1:], strict=False)]
        # 0.1, 0.2, 0.4, 0.8, then capped at reconnect_max=1.0
        assert gaps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
        await client.request("order", ORDER)
        # Reset once a connection is up and logged in: the next loss retries after 0.1 s.
        t_drop = trio.current_time()
        server.conns[1].abort()
        await server.wait_for(lambda: len(server.conns) == 3)
        assert attempts[-1] - t_drop == pytest.approx(0.1)


async def test_new_connections_are_paced(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    attempts: list[float] = []

    def refuse() -> bool:
        attempts.append(trio.current_time())
        return len(attempts) <= 7

    async with scripted_client(server, reconnect_initial=0.001, reconnect_max=0.001) as (
        client, connector,
    ):
        connector.refuse = refuse
        await client.request("order", ORDER)
    for i in range(3, len(attempts)):
        assert attempts[i] - attempts[i - 3] >= 1.0 - 1e-9


async def test_in_flight_request_gets_connection_lost(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    server.hold_ops = {"order"}
    async with scripted_client(server) as (client, _):
        async with trio.open_nursery() as nursery:
            async def drop_when_sent() -> None:
                await server.wait_for(lambda: len(server.ops("order")) == 1)
                await server.conns[0].close(1011, "going away")

            nursery.start_soon(drop_when_sent)
            with pytest.raises(OkxConnectionLost) as info:
                await client.request("order", [dict(ORDER[0], clOrdId="abc123")])
        assert info.value.op == "order"
        assert info.value.cl_ord_id == "abc123"
        # Never re-sent on the new connection.
        server.hold_ops = set()
        await client.request("cancel-order", [{"instIdCode": 1, "ordId": "1"}])
        assert len(server.ops("order")) == 1
        assert client.statistics().pending == 0


async def test_queued_request_sent_on_new_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    async with scripted_client(server) as (client, connector):
        await client.request("order", ORDER)
        refused = {"n": 0}

        def refuse() -> bool:
            refused["n"] += 1
            return refused["n"] <= 3

        connector.refuse = refuse
        await server.conns[0].close(1011, "bye")
        await server.wait_for(lambda: server.conns[0].closed)
        resp = await client.request("amend-order", [{"instIdCode": 1, "ordId": "1",
                                                     "newSz": "2"}], timeout=10)
        assert resp.code == "0"
        (amend,) = server.ops("amend-order")
        assert amend in [obj for n, _, obj in server.received if n == 1]


async def test_queued_request_not_sent_when_deadline_passes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    async with scripted_client(server) as (client, connector):
        await client.request("order", ORDER)
        connector.refuse = lambda: True
        await server.conns[0].close(1011, "bye")
        await server.wait_for(lambda: server.conns[0].closed)
        t0 = trio.current_time()
        with pytest.raises(OkxNotSent):
            await client.request("order", ORDER, timeout=2.0)
        assert trio.current_time() == pytest.approx(t0 + 2.0)
        assert len(server.ops("order")) == 1
        assert client.statistics().pending == 0


async def test_timeout_after_writing(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    server.hold_ops = {"order"}
    async with scripted_client(server, request_timeout=3.0) as (client, _):
        await client.request("cancel-order", [{"instIdCode": 1, "ordId": "1"}])
        t0 = trio.current_time()
        with pytest.raises(OkxRequestTimeout):
            await client.request("order", ORDER)
        assert trio.current_time() == pytest.approx(t0 + 3.0)
        t0 = trio.current_time()
        with pytest.raises(OkxRequestTimeout):
            await client.request("order", ORDER, timeout=0.5)
        assert trio.current_time() == pytest.approx(t0 + 0.5)
        # math.inf, and no deadline of the caller's: no expTime.
        n = len(server.ops("order"))
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                async def cancel_once_sent() -> None:
                    await server.wait_for(lambda: len(server.ops("order")) > n)
                    scope.cancel()

                nursery.start_soon(cancel_once_sent)
                await client.request("order", ORDER, timeout=math.inf)
        assert "expTime" not in server.ops("order")[-1]
        # A deadline of the caller's own is one: it is sent as expTime.
        with trio.move_on_after(100):
            await client.request("order", ORDER, timeout=math.inf)
        assert "expTime" in server.ops("order")[-1]
        assert client.statistics().pending == 0


async def test_no_slot_left_after_cancellation(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    server.hold_ops = {"order"}
    async with scripted_client(server) as (client, _):
        with trio.move_on_after(1):
            await client.request("order", ORDER, timeout=math.inf)
        with trio.CancelScope() as scope:
            scope.cancel()
            await client.request("order", ORDER)
        assert client.statistics().pending == 0
        assert internals.no_pending(client)


async def test_api_error_response(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    server.on_op = lambda conn, obj: {"id": obj["id"], "op": obj["op"], "code": "60013",
                                      "msg": "Invalid args", "data": []}
    async with scripted_client(server) as (client, _):
        with pytest.raises(OkxApiError) as info:
            await client.request("order", ORDER)
        assert (info.value.code, info.value.msg, info.value.op) == ("60013", "Invalid args",
                                                                    "order")


@pytest.mark.parametrize("code", sorted(FATAL_LOGIN_CODES - {"60006"}))
async def test_fatal_login_code_stops_reconnecting(
    code: str, autojump_clock: trio.testing.MockClock
) -> None:
    server = ScriptedServer()
    server.login_codes.extend([code] * 10)
    async with scripted_client(server) as (client, _):
        async with trio.open_nursery() as nursery:
            results: list[BaseException] = []

            async def call() -> None:
                try:
                    await client.request("order", ORDER)
                except okx_trio.OkxError as exc:
                    results.append(exc)

            for _ in range(3):
                nursery.start_soon(call)
        assert len(results) == 3
        assert all(isinstance(r, OkxAuthError) and r.code == code for r in results)
        await trio.sleep(120)
        assert len(server.conns) == 1
        with pytest.raises(OkxAuthError):
            await client.request("order", ORDER)


async def test_expired_timestamp_retried_once_then_fatal(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    server.login_codes.extend(["60006"] * 5)
    async with scripted_client(server) as (client, _):
        with pytest.raises(OkxAuthError) as info:
            await client.request("order", ORDER)
        assert info.value.code == "60006"
        assert len(server.ops("login")) == 2


@pytest.mark.parametrize("code", sorted(TRANSIENT_LOGIN_CODES))
async def test_transient_login_code_retried(
    code: str, autojump_clock: trio.testing.MockClock
) -> None:
    server = ScriptedServer()
    server.login_codes.extend([code, code])
    async with scripted_client(server) as (client, _):
        resp = await client.request("order", ORDER)
        assert resp.code == "0"
        assert len(server.ops("login")) == 3


async def test_notice_make_before_break_keeps_request_in_flight(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    server.hold_ops = {"order"}
    async with scripted_client(server) as (client, _):
        await client.request("cancel-order", [{"instIdCode": 1, "ordId": "1"}])
        async with trio.open_nursery() as nursery:
            result: list[Any] = []

            async def place() -> None:
                result.append(await client.request("order", ORDER))

            nursery.start_soon(place)
            await server.wait_for(lambda: len(server.ops("order")) == 1)
            old = server.conns[0]
            async with client.events() as events:
                await old.send(b'{"event":"notice","code":"64008","msg":"upgrade",'
                               b'"connId":"c0"}')
                kinds = []
                async for ev in events:
                    kinds.append(ev.kind)
                    if ev.kind == "reconnected":
                        break
                assert kinds == ["notice", "authenticated", "reconnected"]
            # New requests go to the new connection while the old one still answers.
            server.hold_ops = set()
            resp = await client.request("cancel-order", [{"instIdCode": 1, "ordId": "2"}])
            assert resp.code == "0"
            assert server.received[-1][0] == 1
            order = server.ops("order")[0]
            await old.send(
                b'{"id":"%s","op":"order","code":"0","msg":"","data":[{"sCode":"0"}]}'
                % order["id"].encode()
            )
        assert result[0].code == "0"
        await server.wait_for(lambda: old.closed)
        assert client.statistics().reconnects["private"] == 0


async def test_user_exception_leaves_unwrapped(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    async with trio.open_nursery() as server_nursery:
        connector = server.memory_connector(server_nursery)
        # The whole block is the unit under test: the opener must not wrap the error.
        with pytest.raises(KeyError, match="mine") as info:  # noqa: PT012
            async with okx_trio.open_ws_client(base_url="ws://127.0.0.1:9", transport=connector,
                                               credentials=CREDS, rate_limit=False) as client:
                await client.request("order", ORDER)
                try:
                    raise ValueError("context")
                except ValueError:
                    raise KeyError("mine") from None
        assert type(info.value) is KeyError
        server_nursery.cancel_scope.cancel()


async def test_leaving_the_client_leaves_no_task(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    before = trio.lowlevel.current_statistics().tasks_living
    async with trio.open_nursery() as server_nursery:
        connector = server.memory_connector(server_nursery)
        with trio.fail_after(30):
            async with okx_trio.open_ws_client(base_url="ws://127.0.0.1:9", transport=connector,
                                               credentials=CREDS, rate_limit=False) as client:
                await client.request("order", ORDER)
                await client.request("sprd-order", [{"sprdId": "X", "side": "buy",
                                                     "ordType": "market", "sz": "1"}])
                assert trio.lowlevel.current_statistics().tasks_living > before + 4
        server_nursery.cancel_scope.cancel()
    assert trio.lowlevel.current_statistics().tasks_living == before


async def test_request_after_close_is_refused(autojump_clock: trio.testing.MockClock) -> None:
    server = ScriptedServer()
    async with scripted_client(server) as (client, _):
        await client.request("order", ORDER)
    # A programming error, not a "safe to retry" OkxNotSent.
    with pytest.raises(trio.ClosedResourceError):
        await client.request("order", ORDER)


async def test_malformed_frame_is_reported_not_fatal(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    async with scripted_client(server) as (client, _):
        async with client.events() as events:
            await client.request("order", ORDER)
            await server.conns[0].send(b"{garbage")
            async for ev in events:
                if ev.kind == "exception":
                    assert isinstance(ev.detail, okx_trio.OkxProtocolError)
                    break
        assert (await client.request("order", ORDER)).code == "0"
        assert len(server.conns) == 1


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda c: c.request("login", [{}]), ValueError, "own API"),
        (lambda c: c.request("subscribe", [{}]), ValueError, "own API"),
        (lambda c: c.request("brand-new-op", [{}]), ValueError, "connection="),
        (lambda c: c.request("order", [{}], connection="elsewhere"), ValueError, "connection"),
        (lambda c: c.request("order", {"a": 1}), TypeError, "list"),
        (lambda c: c.request("order", [1]), TypeError, r"args\[0\]"),
        (lambda c: c.request("cancel-order", [{}], exp_time=1), ValueError, "exp_time"),
        (lambda c: c.request("order", [{}], exp_time=1.5), TypeError, "exp_time"),
        (lambda c: c.request("order", [{}], timeout=-1), ValueError, "timeout"),
        (lambda c: c.request(5, [{}]), TypeError, "op"),
    ],
)
async def test_bad_request_input_sends_nothing(
    call: Any, exc: type[Exception], match: str, autojump_clock: trio.testing.MockClock
) -> None:
    server = ScriptedServer()
    async with scripted_client(server) as (client, _):
        with pytest.raises(exc, match=match):
            await call(client)
    assert server.received == []


async def test_options_validated() -> None:
    with pytest.raises(ValueError, match="heartbeat_interval"):
        async with okx_trio.open_ws_client(heartbeat_interval=45):
            pass
    with pytest.raises(ValueError, match="market"):
        async with okx_trio.open_ws_client(market="mars"):
            pass
    with pytest.raises(TypeError):
        async with okx_trio.open_ws_client(no_such_option=1):
            pass


def test_credentials_repr_hides_secrets() -> None:
    text = repr(CREDS) + str(CREDS)
    assert CREDS.secret_key not in text
    assert CREDS.passphrase not in text
    assert CREDS.api_key in text


async def test_no_secret_in_any_log_record(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = ScriptedServer()
    server.login_codes.extend(["63999"])
    server.answer_pings = False
    async with scripted_client(server, pong_timeout=1.0) as (client, _):
        await client.request("order", ORDER)
        await trio.sleep(30)
        await client.request("order", ORDER)
    from okx_trio._protocol import login_sign

    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "reconnect" in text
    for secret in (CREDS.secret_key, CREDS.passphrase):
        assert secret not in text
    for login in server.ops("login"):
        assert login_sign(CREDS.secret_key, login["args"][0]["timestamp"]) not in text
