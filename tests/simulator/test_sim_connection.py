"""The simulator's WebSocket protocol over real loopback sockets.

Ping/pong, login and each login error, 60011, subscribe/unsubscribe acks and
errors, conn-count events, push routing, bad input, path routing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import trio
from simulator_support import ORDER, OTHER, simulator
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from okx_trio import Credentials
from okx_trio._protocol import login_sign
from okx_trio._transport import TransportClosed, TransportConnectError, connect_websockets
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, SimAccount
from okx_trio.testing._probe import open_probe


@pytest.mark.parametrize("path", ["public", "private", "business"])
async def test_text_ping_answered_before_and_after_login(path: str) -> None:
    with trio.fail_after(10):
        async with (
            simulator(CREDS, OTHER) as sim,
            open_probe(sim, path, query="?brokerId=9999") as p,
        ):
            await p.send("ping")
            assert await p.recv() == "pong"
            ack = await p.login(CREDS)
            assert ack["event"] == "login"
            await p.send("ping")
            assert await p.recv() == "pong"


async def _control_ping(url: str, payload: bytes) -> Frame:
    """Send a WebSocket control ping with a raw client protocol; return the answer frame."""
    wsuri = parse_uri(url)
    stream = await trio.open_tcp_stream(wsuri.host, wsuri.port)
    async with stream:
        proto = ClientProtocol(wsuri)
        proto.send_request(proto.connect())
        await stream.send_all(b"".join(proto.data_to_send()))
        while proto.state.name == "CONNECTING":
            proto.receive_data(await stream.receive_some(65536))
        proto.send_ping(payload)
        await stream.send_all(b"".join(proto.data_to_send()))
        while True:
            data = await stream.receive_some(65536)
            assert data, "server closed"
            proto.receive_data(data)
            for event in proto.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.PONG:
                    return event


async def test_control_ping_answered_and_mutable() -> None:
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim:
            url = sim.base_url + "/ws/v5/public"
            frame = await _control_ping(url, b"abc")
            assert frame.data == b"abc"
            sim.faults.mute_pongs("public")
            with trio.move_on_after(0.5) as scope:
                await _control_ping(url, b"xyz")
            assert scope.cancelled_caught, "a muted server must not answer control pings"


async def test_login_success_has_conn_id_and_echoes_id() -> None:
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, open_probe(sim, "private") as p:
            ack = await p.login(CREDS, id="login1")
            assert ack["event"] == "login"
            assert ack["code"] == "0"
            assert ack["msg"] == ""
            assert ack["id"] == "login1"
            assert len(ack["connId"]) == 8
            assert int(ack["connId"], 16) >= 0
            (conn,) = sim.connections
            assert conn.conn_id == ack["connId"]
            assert conn.api_key == CREDS.api_key
            assert conn.path == "private"


async def test_login_accepts_integer_and_decimal_timestamps() -> None:
    with trio.fail_after(10):
        async with (
            simulator(CREDS, OTHER) as sim,
            open_probe(sim, "private") as p,
            open_probe(sim, "private") as q,
        ):
            ts = int(time.time())
            # python-okx sends the timestamp as a JSON number.
            arg = {"apiKey": CREDS.api_key, "passphrase": CREDS.passphrase, "timestamp": ts,
                   "sign": login_sign(CREDS.secret_key, str(ts))}
            await p.send({"op": "login", "args": [arg]})
            assert (await p.expect_event())["event"] == "login"
            dec = f"{time.time():.3f}"
            assert (await q.login(CREDS, timestamp=dec))["code"] == "0"


async def test_one_login_per_connection() -> None:
    # OKX: 60031 "The WebSocket endpoint does not allow multiple or repeated logins."
    text = "The WebSocket endpoint does not allow multiple or repeated logins."
    with trio.fail_after(10):
        async with (
            simulator(CREDS, OTHER) as sim,
            open_probe(sim, "private") as p,
            open_probe(sim, "private") as q,
        ):
            assert (await p.login(OTHER, timestamp="12:00"))["code"] == "60004"
            assert (await p.login(CREDS))["code"] == "0"  # a failed login may be retried
            for creds in (CREDS, OTHER):
                err = await p.login(creds, id="again")
                assert err == {"id": "again", "event": "error", "code": "60031", "msg": text,
                               "connId": err["connId"]}
            conn = next(c for c in sim.connections if c.api_key is not None)
            assert conn.api_keys == [CREDS.api_key]
            # Several accounts in one login: the same refusal.
            await q.send({"op": "login", "args": [_login_arg(), _login_arg(OTHER)]})
            assert (await q.expect_event("error"))["code"] == "60031"
            assert (await q.login(OTHER))["code"] == "0"


def _login_arg(creds: Credentials = CREDS, **over: Any) -> dict[str, Any]:
    ts = str(int(time.time()))
    arg = {"apiKey": creds.api_key, "passphrase": creds.passphrase, "timestamp": ts,
           "sign": login_sign(creds.secret_key, ts)}
    arg.update(over)
    return arg


def _expired_arg() -> dict[str, Any]:
    ts = str(int(time.time()) - 60)
    return _login_arg(timestamp=ts, sign=login_sign(CREDS.secret_key, ts))


def _future_arg() -> dict[str, Any]:
    ts = str(int(time.time()) + 60)
    return _login_arg(timestamp=ts, sign=login_sign(CREDS.secret_key, ts))


# Factories: timestamps must be fresh when the test runs, not when it is collected.
@pytest.mark.parametrize(
    ("make_arg", "code"),
    [
        (lambda: _login_arg(sign=""), "60027"),
        (lambda: _login_arg(passphrase=None), "60027"),
        (lambda: _login_arg(timestamp="12:00"), "60004"),
        (lambda: _login_arg(timestamp=True), "60004"),
        (_expired_arg, "60006"),
        (_future_arg, "60006"),
        (lambda: _login_arg(apiKey="no-such-key"), "60032"),
        (lambda: _login_arg(apiKey=123), "60005"),
        (lambda: _login_arg(passphrase="wrong"), "60024"),
        (lambda: _login_arg(sign="AAAA"), "60007"),
        (lambda: _login_arg(sign=login_sign(OTHER.secret_key, "1")), "60007"),
    ],
)
async def test_login_errors(make_arg: Callable[[], dict[str, Any]], code: str) -> None:
    arg = make_arg()
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, open_probe(sim, "private") as p:
            await p.send({"id": "L1", "op": "login", "args": [arg]})
            err = await p.expect_event()
            assert (err["event"], err["code"]) == ("error", code), err
            assert err["id"] == "L1"
            assert err["connId"] == sim.connections[0].conn_id
            assert sim.connections[0].api_key is None
            # Not logged in: private things are still refused.
            await p.send({"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
            assert (await p.expect_event())["code"] == "60011"


async def test_private_subscribe_and_trade_op_need_login() -> None:
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, open_probe(sim, "private") as p:
            await p.send(
                {"id": "s1", "op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]}
            )
            err = await p.expect_event()
            assert err == {"id": "s1", "event": "error", "code": "60011", "msg": "Please log in",
                           "connId": err["connId"]}
            await p.send({"id": "o1", "op": "order", "args": [ORDER]})
            resp = await p.expect_event()
            assert resp == {"id": "o1", "op": "order", "code": "60011", "msg": "Please log in",
                            "data": [], "inTime": resp["inTime"], "outTime": resp["outTime"]}
            assert resp["inTime"].isdigit()
            assert sim.orders.all() == []
        async with simulator(SimAccount(CREDS, vip_level=4), OTHER) as sim, \
                open_probe(sim, "public") as p:
            # l2-tbt books need a login on the public path too.
            await p.send({"op": "subscribe", "args": [{"channel": "books-l2-tbt",
                                                       "instId": "BTC-USDT"}]})
            assert (await p.expect_event())["code"] == "60011"
            await p.login(CREDS)
            await p.send({"op": "subscribe", "args": [{"channel": "books-l2-tbt",
                                                       "instId": "BTC-USDT"}]})
            assert (await p.expect_event())["event"] == "subscribe"
            snap = await p.expect(lambda f: isinstance(f, dict) and "data" in f)
            assert snap["action"] == "snapshot"
            assert "uid" not in snap["arg"]


@pytest.mark.parametrize(("path", "channel"), [("public", "books-l2-tbt"),
                                               ("public", "books50-l2-tbt"),
                                               ("private", "fills")])
async def test_fee_tier_gated_channels(path: str, channel: str) -> None:
    arg = {"channel": channel, "instId": "BTC-USDT"} if path == "public" else {
        "channel": channel}
    with trio.fail_after(10):
        async with (
            simulator(CREDS, SimAccount(OTHER, vip_level=4)) as sim,
            open_probe(sim, path) as vip0,
            open_probe(sim, path) as vip4,
        ):
            await vip0.login(CREDS)
            await vip0.send({"id": "v0", "op": "subscribe", "args": [arg]})
            err = await vip0.expect_event()
            assert err == {"id": "v0", "event": "error", "code": "64003", "msg":
                           "Your trading fee tier doesn't meet the requirement to access this "
                           "channel", "connId": err["connId"]}
            await vip4.login(OTHER)
            await vip4.send({"op": "subscribe", "args": [arg]})
            assert (await vip4.expect_event())["event"] == "subscribe"


async def test_books_l2_tbt_excludes_books_of_the_same_inst_id() -> None:
    def sub(channel: str, inst_id: str = "BTC-USDT") -> dict[str, Any]:
        return {"op": "subscribe", "args": [{"channel": channel, "instId": inst_id}]}

    with trio.fail_after(10):
        async with (
            simulator(SimAccount(CREDS, vip_level=5)) as sim,
            open_probe(sim, "public") as p,
            open_probe(sim, "public") as q,
        ):
            await p.login(CREDS)
            await p.send(sub("books"))
            assert (await p.expect_event())["event"] == "subscribe"
            await p.send(sub("books-l2-tbt"))
            err = await p.expect_event()
            assert (err["event"], err["code"], err["msg"]) == (
                "error", "64004", "Subscribe to both books and books-l2-tbt for BTC-USDT is "
                "not allowed. Unsubscribe books-l2-tbt first.")
            await p.send(sub("books-l2-tbt", "ETH-USDT"))
            assert (await p.expect_event())["event"] == "subscribe"
            await p.send(sub("books50-l2-tbt", "ETH-USDT"))
            assert (await p.expect_event())["code"] == "64004"
            await p.send(sub("books50-l2-tbt"))  # with books: allowed
            assert (await p.expect_event())["event"] == "subscribe"
            # Another connection is not affected.
            await q.login(CREDS)
            await q.send(sub("books-l2-tbt"))
            assert (await q.expect_event())["event"] == "subscribe"
            await p.send({"op": "unsubscribe", "args": [{"channel": "books-l2-tbt",
                                                         "instId": "ETH-USDT"}]})
            assert (await p.expect_event())["event"] == "unsubscribe"
            await p.send(sub("books", "ETH-USDT"))
            assert (await p.expect_event())["event"] == "subscribe"


async def test_api_keys_of_one_account_share_pushes_and_conn_counts() -> None:
    extra = Credentials("sim-api-key-0003", "THIRDSECRET0123456789ABCDEF01234", "Third-3")
    sub = {"channel": "orders", "instType": "ANY"}
    with trio.fail_after(10):
        async with (
            simulator(SimAccount(CREDS, extra_keys=[extra])) as sim,
            open_probe(sim, "private") as watcher,
            open_probe(sim, "private") as trader,
        ):
            sim.conn_count_limit = 1
            await watcher.login(extra)
            await watcher.send({"op": "subscribe", "args": [sub]})
            assert (await watcher.expect_event("channel-conn-count"))["connCount"] == "1"
            await trader.login(CREDS)
            await trader.send({"op": "subscribe", "args": [sub]})
            err = await trader.expect_event("channel-conn-count-error")
            assert err["connCount"] == "1"
            await trader.send({"id": "o1", "op": "order", "args": [{**ORDER, "clOrdId": "k1"}]})
            assert (await trader.expect_event(op="order"))["code"] == "0"
            push = await watcher.expect(lambda f: isinstance(f, dict) and "data" in f)
            assert push["data"][0]["clOrdId"] == "k1"
            assert push["arg"]["uid"] == sim.engine.uid(extra.api_key)
            conn = next(c for c in sim.connections if c.api_key == extra.api_key)
            assert conn.account_key == CREDS.api_key
            assert sim.orders.find(extra.api_key, cl_ord_id="k1") is not None
            assert sim.balances(extra.api_key) == sim.balances(CREDS.api_key)


async def test_subscribe_one_ack_per_arg_and_unsubscribe() -> None:
    args = [{"channel": "tickers", "instId": "BTC-USDT"}, {"channel": "trades",
                                                           "instId": "ETH-USDT"}]
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, open_probe(sim, "public") as p:
            await p.send({"id": "sub1", "op": "subscribe", "args": args})
            acks = [await p.expect_event("subscribe") for _ in args]
            assert [a["arg"] for a in acks] == args
            assert all(a["id"] == "sub1" and a["connId"] for a in acks)
            assert sim.connections[0].subscriptions == args
            await p.send({"op": "unsubscribe", "args": args[:1]})
            ack = await p.expect_event("unsubscribe")
            assert ack["arg"] == args[0]
            assert "id" not in ack  # OKX's unsubscribe page shows no id: none is invented
            assert sim.connections[0].subscriptions == args[1:]
            # An id is echoed when the request had one; one ack per arg.
            await p.send({"id": "un2", "op": "unsubscribe", "args": [args[1], args[0]]})
            acks = [await p.expect_event("unsubscribe") for _ in range(2)]
            assert [(a["id"], a["arg"]) for a in acks] == [("un2", args[1]), ("un2", args[0])]
            assert sim.connections[0].subscriptions == []


async def test_subscribe_errors() -> None:
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, open_probe(sim, "public") as p:
            bad = '{"op": "subscribe", "argss": [{"channel": "tickers"}]}'
            await p.send(bad)
            err = await p.expect_event("error")
            assert err["code"] == "60012"
            assert bad in err["msg"]
            await p.send({"id": "x1", "op": "subscribe",
                          "args": [{"channel": "tickers", "instId": "NOPE-USDT"}]})
            err = await p.expect_event("error")
            assert (err["code"], err["id"]) == ("60018", "x1")
            await p.send({"op": "subscribe", "args": [{"channel": "tickers"}]})
            assert (await p.expect_event("error"))["code"] == "60013"
            await p.send({"op": "subscribe", "args": [{"channel": "tickers", "instId": 5}]})
            assert (await p.expect_event("error"))["code"] == "60013"
            await p.send({"op": "subscribe", "args": [{"channel": "candle1m",
                                                       "instId": "BTC-USDT"}]})
            assert (await p.expect_event("error"))["code"] == "64001"
            await p.send({"id": "bad id!", "op": "subscribe",
                          "args": [{"channel": "tickers", "instId": "BTC-USDT"}]})
            assert (await p.expect_event("error"))["code"] == "60012"
        async with simulator(CREDS, OTHER) as sim, open_probe(sim, "business") as p:
            await p.send({"op": "subscribe", "args": [{"channel": "tickers",
                                                       "instId": "BTC-USDT"}]})
            assert (await p.expect_event("error"))["code"] == "64002"
        async with simulator(CREDS, OTHER) as sim, open_probe(sim, "private") as p:
            await p.login(CREDS)
            await p.send({"op": "subscribe", "args": [{"channel": "orders"}]})
            assert (await p.expect_event("error"))["code"] == "60013"


async def test_duplicate_subscription_acked_without_duplicate_pushes() -> None:
    arg = {"channel": "tickers", "instId": "BTC-USDT"}
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, open_probe(sim, "public") as p:
            await p.send({"op": "subscribe", "args": [arg]})
            await p.expect_event("subscribe")
            await p.expect(lambda f: isinstance(f, dict) and f.get("arg") == arg and "data" in f)
            await p.send({"op": "subscribe", "args": [arg]})
            await p.expect_event("subscribe")
            assert len(sim.connections[0].subscriptions) == 1
            sim._deliver(sim.engine.market_step())
            await p.send("ping")
            await p.expect(lambda f: f == "pong")
            tickers = [f for f in p.received
                       if isinstance(f, dict) and f.get("arg") == arg and "data" in f]
            # Snapshot once, then at most one push per market step.
            assert len(tickers) <= 2


async def test_channel_conn_count_and_limit() -> None:
    arg = {"channel": "orders", "instType": "ANY"}
    with trio.fail_after(10):
        async with (
            simulator(CREDS, OTHER) as sim,
            open_probe(sim, "private") as a,
            open_probe(sim, "private") as b,
            open_probe(sim, "private") as c,
        ):
            assert sim.conn_count_limit == 30
            with pytest.raises(ValueError, match="conn_count_limit"):
                sim.conn_count_limit = -1
            sim.conn_count_limit = 2
            if True:
                counts = []
                for p in (a, b):
                    await p.login(CREDS)
                    await p.send({"op": "subscribe", "args": [arg]})
                    await p.expect_event("subscribe")
                    counts.append(await p.expect_event("channel-conn-count"))
                assert [x["connCount"] for x in counts] == ["1", "2"]
                assert counts[0]["channel"] == "orders"
                await c.login(CREDS)
                await c.send({"op": "subscribe", "args": [arg]})
                await c.expect_event("subscribe")
                err = await c.expect_event("channel-conn-count-error")
                assert err["connCount"] == "2"
                assert err["channel"] == "orders"
                assert sim.connections[2].subscriptions == []
                # Another account has its own count.
                await c.send({"op": "unsubscribe", "args": [arg]})
                await b.send({"op": "unsubscribe", "args": [arg]})
                await b.expect_event("unsubscribe")
                await c.send({"op": "subscribe", "args": [arg]})
                await c.expect_event("subscribe")
                assert (await c.expect_event("channel-conn-count"))["connCount"] == "2"


async def test_private_pushes_only_to_the_accounts_connections() -> None:
    sub = {"channel": "orders", "instType": "SPOT"}
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, open_probe(sim, "private") as mine, \
                open_probe(sim, "private") as theirs, open_probe(sim, "private") as trader:
            await mine.login(CREDS)
            await theirs.login(OTHER)
            await trader.login(CREDS)
            for p in (mine, theirs):
                await p.send({"op": "subscribe", "args": [sub]})
                await p.expect_event("subscribe")
            await trader.send({"id": "o1", "op": "order", "args": [{**ORDER, "clOrdId": "c1"}]})
            resp = await trader.expect_event(op="order")
            assert resp["code"] == "0"
            assert resp["id"] == "o1"
            push = await mine.expect(lambda f: isinstance(f, dict) and "data" in f)
            assert push["arg"] == {**sub, "uid": sim.engine.accounts[CREDS.api_key].uid}
            assert push["data"][0]["clOrdId"] == "c1"
            assert push["data"][0]["state"] == "live"
            await theirs.send("ping")
            await theirs.expect(lambda f: f == "pong")
            assert not [f for f in theirs.received if isinstance(f, dict) and "data" in f], (
                "another account must not get the push"
            )
            # The trading connection itself has no subscription: nothing pushed there.
            await trader.send("ping")
            assert await trader.recv() == "pong"
            assert sim.orders.find(cl_ord_id="c1") is not None


async def test_public_pushes_follow_the_arg_filter() -> None:
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, open_probe(sim) as btc, open_probe(sim) as eth:
            await btc.send({"op": "subscribe", "args": [{"channel": "tickers",
                                                         "instId": "BTC-USDT"}]})
            await eth.send({"op": "subscribe", "args": [{"channel": "tickers",
                                                         "instId": "ETH-USDT"}]})
            for p in (btc, eth):
                await p.expect_event("subscribe")
            for _ in range(5):
                sim._deliver(sim.engine.market_step())
            for p, inst in ((btc, "BTC-USDT"), (eth, "ETH-USDT")):
                await p.send("ping")
                await p.expect(lambda f: f == "pong")
                pushes = [f for f in p.received if isinstance(f, dict) and "data" in f]
                assert pushes
                assert all(f["data"][0]["instId"] == inst for f in pushes)


async def test_bad_frames_get_errors_and_others_keep_being_served() -> None:
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, open_probe(sim) as bad, open_probe(sim) as good:
            for frame in (b"{not json", b"[1, 2]", b'"text"', b'{"op": 5}', b'{"args": []}',
                          b'{"op": "login", "args": "x"}', b'{"op": "subscribe"}', b"null"):
                await bad.send(frame)
                err = await bad.expect_event("error")
                assert err["code"] == "60012", (frame, err)
            await bad.send({"id": "q", "op": "nope", "args": []})
            resp = await bad.expect_event()
            assert (resp["code"], resp["id"]) == ("60019", "q")
            await bad.send({"id": "q2", "op": "order", "args": [ORDER]})
            assert (await bad.expect_event())["code"] == "60028"
            await good.send("ping")
            assert await good.recv() == "pong"
            await bad.send("ping")
            assert await bad.recv() == "pong"
            assert len(sim.frames) >= 11


async def test_binary_frame_answered_with_60012() -> None:
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim:
            stream = await trio.open_tcp_stream("127.0.0.1", sim.port)
            async with stream:
                proto = ClientProtocol(parse_uri(sim.base_url + "/ws/v5/public"))
                proto.send_request(proto.connect())
                await stream.send_all(b"".join(proto.data_to_send()))
                while proto.state.name == "CONNECTING":
                    proto.receive_data(await stream.receive_some(65536))
                proto.send_binary(b'{"op":"subscribe"}')
                await stream.send_all(b"".join(proto.data_to_send()))
                texts = []
                while not texts:
                    data = await stream.receive_some(65536)
                    assert data
                    proto.receive_data(data)
                    texts = [e for e in proto.events_received()
                             if isinstance(e, Frame) and e.opcode is Opcode.TEXT]
                err = orjson.loads(texts[0].data)
                assert err["code"] == "60012"
                assert "binary" in err["msg"]
            assert sim.frames[0].binary


async def test_huge_frames_close_1009_without_hurting_others() -> None:
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, open_probe(sim) as good:
            async with open_probe(sim) as p:
                args = [{"channel": "tickers", "instId": "BTC-USDT", "pad": "x" * 1000}] * 70
                await p.send({"op": "subscribe", "args": args})
                closed = await p.wait_closed()
                assert closed.code == 1009
            async with open_probe(sim) as p:
                await p.send(b"x" * (1024 * 1024 + 10))
                closed = await p.wait_closed()
                assert closed.code == 1009
            await good.send("ping")
            assert await good.recv() == "pong"


async def test_unknown_path_is_refused() -> None:
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, trio.open_nursery() as n:
            with pytest.raises(TransportConnectError):
                await connect_websockets(sim.base_url + "/ws/v5/nope", ssl_context=None,
                                         nursery=n)
            # The server still works afterwards.
            t = await connect_websockets(sim.base_url + "/ws/v5/public", ssl_context=None,
                                         nursery=n)
            await t.send(b"ping")
            assert await t.receive() == b"pong"
            await t.aclose()


async def test_handler_crash_closes_only_that_connection(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(10):
        async with simulator(CREDS, OTHER) as sim, open_probe(sim, "private") as victim, \
                open_probe(sim, "private") as other:
            await victim.login(CREDS)
            await other.login(CREDS)

            def boom(*args: Any) -> Any:
                raise RuntimeError("engine bug")

            monkeypatch.setattr(sim.engine, "trade_op", boom)
            await victim.send({"id": "o1", "op": "order", "args": [ORDER]})
            closed = await victim.wait_closed()
            assert closed.code == 1011
            await other.send("ping")
            assert await other.recv() == "pong"
    assert "engine bug" in caplog.text


async def test_server_shutdown_closes_connections_with_1001() -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            async with simulator(CREDS, OTHER) as sim:
                t = await connect_websockets(sim.base_url + "/ws/v5/public", ssl_context=None,
                                             nursery=n)
            with pytest.raises(TransportClosed) as info:
                await t.receive()
            assert info.value.code == 1001


async def test_retired_books_elp_is_an_unknown_channel_unless_elp_names() -> None:
    arg = {"channel": "books-elp", "instId": "BTC-USDT"}
    with trio.fail_after(10):
        async with simulator() as sim, open_probe(sim, "public") as p:
            await p.send({"id": "e1", "op": "subscribe", "args": [arg]})
            err = await p.expect_event()
            assert (err["event"], err["code"], err["id"]) == ("error", "60018", "e1")
            assert "books-elp" in err["msg"]
        async with simulator(elp_names=True) as sim, open_probe(sim, "public") as p:
            await p.send({"op": "subscribe", "args": [arg]})
            assert (await p.expect_event())["event"] == "subscribe"
