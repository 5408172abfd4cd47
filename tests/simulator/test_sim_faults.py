"""Fault injection and timing behaviour of the simulator.

Timing runs over in-memory connections under ``MockClock`` (autojump); the
faults that are about sockets (TCP reset, HTTP 503) run over loopback.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
import trio
import trio.testing
from simulator_support import ORDER, is_push, logged_in, simulator

from okx_trio._transport import TransportConnectError, connect_websockets
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS
from okx_trio.testing._probe import Probe, open_probe


async def test_idle_connection_closed_with_4004(autojump_clock: trio.testing.MockClock) -> None:
    async with simulator(idle_timeout=30) as s, open_probe(s, memory=True) as p:
        start = trio.current_time()
        closed = await p.wait_closed()
        assert closed.code == 4004
        assert closed.reason == "No data received in 30s"
        assert trio.current_time() - start == pytest.approx(30)


async def test_pings_keep_a_connection_alive(autojump_clock: trio.testing.MockClock) -> None:
    async with simulator(idle_timeout=30) as s, open_probe(s, memory=True) as p:
        for _ in range(5):
            await trio.sleep(20)
            await p.send("ping")
            assert await p.recv() == "pong"
        last = trio.current_time()
        closed = await p.wait_closed()
        assert closed.code == 4004
        assert trio.current_time() - last == pytest.approx(30)


async def test_pushes_keep_a_connection_alive(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        simulator(idle_timeout=30, market_interval=1.0) as s,
        open_probe(s, memory=True) as p,
    ):
        await p.send({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
        with trio.move_on_after(120):
            await p.wait_closed()
            raise AssertionError("a connection receiving pushes must stay open")


async def test_control_requests_limited_to_480_per_hour(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arg = {"channel": "tickers", "instId": "BTC-USDT"}
    async with simulator(idle_timeout=None) as s, open_probe(s, memory=True) as p:
        for i in range(240):
            await p.send({"id": f"s{i}", "op": "subscribe", "args": [arg]})
            await p.send({"id": f"u{i}", "op": "unsubscribe", "args": [arg]})
            await p.expect_event("unsubscribe", id=f"u{i}")
        await trio.sleep(1800)
        await p.send({"id": "over", "op": "subscribe", "args": [arg]})
        err = await p.expect_event("error")
        assert (err["code"], err["id"], err["msg"]) == ("60014", "over", "Requests too frequent")
        await p.send({"op": "login", "args": []})
        assert (await p.expect_event("error"))["code"] == "60014"
        await trio.sleep(1801)
        await p.send({"id": "again", "op": "subscribe", "args": [arg]})
        assert (await p.expect_event())["event"] == "subscribe"


async def test_delay_holds_the_response_but_not_the_push(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulator() as s, open_probe(s, "private", memory=True) as p:
        await logged_in(p)
        await p.send({"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
        await p.expect_event("channel-conn-count")
        s.faults.delay("order", 5)
        start = trio.current_time()
        await p.send({"id": "o1", "op": "order", "args": [ORDER]})
        push = await p.expect(is_push)
        assert push["data"][0]["state"] == "live"
        assert trio.current_time() == start
        resp = await p.expect_event(op="order")
        assert resp["code"] == "0"
        assert trio.current_time() - start == pytest.approx(5)
        s.faults.delay("order", 0)
        await p.send({"id": "o2", "op": "order", "args": [ORDER]})
        await p.expect_event(op="order", id="o2")
        assert trio.current_time() - start == pytest.approx(5)


async def _answered(p: Probe) -> list[Any]:
    """Everything received until a ping's pong (the server answers in order)."""
    mark = len(p.received)
    await p.send("ping")
    await p.expect(lambda f: f == "pong")
    return p.received[mark:-1]


@pytest.mark.parametrize("when", ["before", "after"])
async def test_swallow(when: str, autojump_clock: trio.testing.MockClock) -> None:
    async with simulator() as s, open_probe(s, "private", memory=True) as p:
        await logged_in(p)
        s.faults.swallow("order", when=when, count=1)
        await p.send({"id": "o1", "op": "order", "args": [{**ORDER, "clOrdId": "sw1"}]})
        assert await _answered(p) == []
        assert (s.orders.find(cl_ord_id="sw1") is not None) == (when == "after")
        # count=1: the next one is answered.
        await p.send({"id": "o2", "op": "order", "args": [ORDER]})
        assert (await p.expect_event(op="order"))["id"] == "o2"


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("mode", ["close", "reset"])
async def test_drop_on(when: str, mode: str, autojump_clock: trio.testing.MockClock) -> None:
    async with simulator() as s, open_probe(s, "private", memory=True) as watcher:
        await logged_in(watcher)
        await watcher.send({"op": "subscribe",
                            "args": [{"channel": "orders", "instType": "ANY"}]})
        await watcher.expect_event("channel-conn-count")
        async with open_probe(s, "private", memory=True) as p:
            await logged_in(p)
            s.faults.drop_on("order", when=when, mode=mode, code=4321, reason="bye")
            await p.send({"id": "o1", "op": "order", "args": [{**ORDER, "clOrdId": "d1"}]})
            closed = await p.wait_closed()
            assert closed.code == (4321 if mode == "close" else 1006)
            assert not [f for f in p.received if isinstance(f, dict) and f.get("op")]
        placed = s.orders.find(cl_ord_id="d1") is not None
        assert placed == (when == "after")
        pushes = [f for f in await _answered(watcher) if is_push(f)]
        # The account's other connections still learn about the order.
        assert bool(pushes) == (when == "after")


async def test_notice_then_close(autojump_clock: trio.testing.MockClock) -> None:
    async with simulator() as s, open_probe(s, "public", memory=True) as pub, \
            open_probe(s, "private", memory=True) as priv:
        await pub.send("ping")
        await pub.recv()
        assert s.faults.notice("public", close_after=10) == 1
        start = trio.current_time()
        notice = await pub.expect_event("notice")
        assert notice["code"] == "64008"
        assert notice["connId"] == s.connections[0].conn_id
        closed = await pub.wait_closed()
        assert closed.code == 1001
        assert trio.current_time() - start == pytest.approx(10)
        await priv.send("ping")
        assert await priv.recv() == "pong"


async def test_refuse_memory_connections(autojump_clock: trio.testing.MockClock) -> None:
    async with simulator() as s:
        connector = s.connect_memory()
        url = s.base_url + "/ws/v5/public"
        async with trio.open_nursery() as n:
            s.faults.refuse_connections(count=2)
            for _ in range(2):
                with pytest.raises(TransportConnectError):
                    await connector(url, ssl_context=None, nursery=n)
            t = await connector(url, ssl_context=None, nursery=n)
            await t.aclose()
            s.faults.refuse_connections(seconds=10)
            with pytest.raises(TransportConnectError):
                await connector(url, ssl_context=None, nursery=n)
            await trio.sleep(10)
            t = await connector(url, ssl_context=None, nursery=n)
            await t.aclose()
            s.faults.refuse_connections()
            await trio.sleep(1000)
            with pytest.raises(TransportConnectError):
                await connector(url, ssl_context=None, nursery=n)
            s.faults.clear()
            t = await connector(url, ssl_context=None, nursery=n)
            await t.aclose()


async def test_reject_logins(autojump_clock: trio.testing.MockClock) -> None:
    async with simulator() as s, open_probe(s, "private", memory=True) as p, \
            open_probe(s, "private", memory=True) as q:
        s.faults.reject_logins("60009", count=1)
        err = await p.login(CREDS, id="a")
        assert (err["event"], err["code"], err["id"]) == ("error", "60009", "a")
        assert s.connections[0].api_key is None
        assert (await p.login(CREDS))["code"] == "0"
        s.faults.reject_logins("63999")
        for _ in range(3):
            assert (await q.login(CREDS))["code"] == "63999"


async def test_mute_and_unmute_pongs(autojump_clock: trio.testing.MockClock) -> None:
    async with simulator(idle_timeout=None) as s, open_probe(s, "business", memory=True) as p:
        s.faults.mute_pongs("business")
        await p.send("ping")
        with trio.move_on_after(30) as scope:
            await p.recv()
        assert scope.cancelled_caught
        s.faults.unmute_pongs()
        await p.send("ping")
        assert await p.recv() == "pong"


async def test_malformed_and_drop(autojump_clock: trio.testing.MockClock) -> None:
    async with simulator() as s, open_probe(s, "public", memory=True) as a, \
            open_probe(s, "private", memory=True) as b:
        await a.send("ping")
        await a.recv()
        assert s.faults.malformed("public", b'{"arg": oops') == 1
        assert await a.recv() == '{"arg": oops'
        assert s.faults.drop("public", code=4000, reason="test") == 1
        closed = await a.wait_closed()
        assert (closed.code, closed.reason) == (4000, "test")
        assert s.faults.drop(mode="reset") == 1
        assert (await b.wait_closed()).code == 1006
        assert s.connections == []


async def test_fault_arguments_are_checked() -> None:
    async with simulator() as s:
        with pytest.raises(ValueError, match="path"):
            s.faults.drop("nowhere")
        with pytest.raises(ValueError, match="mode"):
            s.faults.drop(mode="explode")
        with pytest.raises(ValueError, match="when"):
            s.faults.swallow("order", when="during")
        with pytest.raises(ValueError, match="count"):
            s.faults.drop_on("order", count=0)
        with pytest.raises(ValueError, match="seconds"):
            s.faults.delay("order", -1)
        with pytest.raises(ValueError, match="code"):
            s.faults.reject_logins("abc")


async def _collect_books(p: Probe, n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while len(out) < n:
        frame = await p.recv()
        if is_push(frame) and frame["arg"]["channel"] == "books":
            out.append(frame)
    return out


def _chain_ok(pushes: list[dict[str, Any]]) -> bool:
    return all(
        b["data"][0]["prevSeqId"] == a["data"][0]["seqId"] for a, b in itertools.pairwise(pushes)
    )


async def test_book_faults(autojump_clock: trio.testing.MockClock) -> None:
    arg = {"channel": "books", "instId": "BTC-USDT"}
    async with simulator(market_interval=0.1) as s, open_probe(s, memory=True) as p:
        await p.send({"op": "subscribe", "args": [arg]})
        books = await _collect_books(p, 4)
        assert books[0]["action"] == "snapshot"
        assert books[0]["data"][0]["prevSeqId"] == -1
        assert _chain_ok(books)

        s.faults.book_gap("BTC-USDT")
        more = await _collect_books(p, 2)
        assert more[0]["data"][0]["prevSeqId"] != books[-1]["data"][0]["seqId"]

        s.faults.book_reset("BTC-USDT")
        more = await _collect_books(p, 3)
        pairs = [(m["data"][0]["prevSeqId"], m["data"][0]["seqId"]) for m in more]
        assert any(seq < prev for prev, seq in pairs), pairs
        assert _chain_ok(more)

        s.faults.book_bad_checksum("BTC-USDT")
        more = await _collect_books(p, 2)
        assert more[0]["data"][0]["checksum"] != 0
        assert more[1]["data"][0]["checksum"] == 0

        s.faults.book_no_snapshot("BTC-USDT")
        async with open_probe(s, memory=True) as late:
            await late.send({"op": "subscribe", "args": [arg]})
            first = (await _collect_books(late, 1))[0]
            assert first["action"] == "update"
            await late.send({"op": "subscribe", "args": [{"channel": "books",
                                                          "instId": "ETH-USDT"}]})
            snap = await late.expect(lambda f: is_push(f) and f["arg"]["instId"] == "ETH-USDT")
            assert snap["action"] == "snapshot"


async def test_bad_checksum_differs_from_the_real_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arg = {"channel": "books", "instId": "ETH-USDT"}
    async with simulator(market_interval=0.1, checksum=True) as s, open_probe(s, memory=True) as p:
        await p.send({"op": "subscribe", "args": [arg]})
        await _collect_books(p, 2)
        s.faults.book_bad_checksum("ETH-USDT")
        faulted = (await _collect_books(p, 1))[0]["data"][0]
        later = (await _collect_books(p, 1))[0]["data"][0]
        assert faulted["checksum"] not in (0, later["checksum"])
        assert later["checksum"] != 0


async def test_quiet_books_get_a_keepalive_after_about_60_s(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OKX: "If there are no updates to the depth for an extended period (Around 60
    # seconds)", incremental channels get an empty update with seqId == prevSeqId,
    # books5/bbo-tbt their snapshot again. The client pings to stay connected.
    channels = ("books", "books5", "books-rpi")
    with trio.fail_after(200):
        async with (
            simulator(market_interval=1.0, idle_timeout=30) as s,
            open_probe(s, memory=True) as p,
        ):
            monkeypatch.setattr(s.engine, "market_step", list)  # a quiet market
            t0 = trio.current_time()
            await p.send({"op": "subscribe", "args": [
                {"channel": c, "instId": "BTC-USDT"} for c in channels]})
            snaps = {}
            while len(snaps) < len(channels):
                frame = await p.recv()
                if is_push(frame):
                    snaps[frame["arg"]["channel"]] = frame
            beats: dict[str, tuple[float, dict[str, Any]]] = {}
            while len(beats) < len(channels):
                with trio.move_on_after(20):
                    frame = await p.recv()
                    if is_push(frame):
                        beats[frame["arg"]["channel"]] = (trio.current_time() - t0, frame)
                    continue
                await p.send("ping")  # a live client pings in the quiet
    for channel, (at, _) in beats.items():
        assert 59.9 <= at <= 61.5, (channel, at)
    for channel in ("books", "books-rpi"):
        beat = beats[channel][1]
        item = beat["data"][0]
        assert beat["action"] == "update"
        assert (item["asks"], item["bids"]) == ([], [])
        assert item["prevSeqId"] == item["seqId"] == snaps[channel]["data"][0]["seqId"]
    assert "checksum" in beats["books"][1]["data"][0]
    assert "checksum" not in beats["books-rpi"][1]["data"][0]
    assert beats["books5"][1]["data"][0]["bids"] == snaps["books5"]["data"][0]["bids"]


async def test_a_client_that_never_pings_is_closed_despite_book_subscriptions(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The keepalive comes after ~60 s, so it does not save a client from OKX's
    # 30 s idle close (4004): only its own pings do.
    with trio.fail_after(200):
        async with simulator(market_interval=1.0) as s, open_probe(s, memory=True) as p:
            monkeypatch.setattr(s.engine, "market_step", list)
            t0 = trio.current_time()
            await p.send({"op": "subscribe", "args": [
                {"channel": "books", "instId": "BTC-USDT"}]})
            closed = await p.wait_closed()
            assert (closed.code, closed.reason) == (4004, "No data received in 30s")
            assert 29.9 <= trio.current_time() - t0 <= 30.5
    assert not [f for f in p.received if is_push(f) and f["action"] == "update"], (
        "no keepalive before 60 s")


async def test_clock_offset_moves_the_exchange_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulator() as s, open_probe(s, "private", memory=True) as p:
        s.clock_offset_ms = 120_000
        assert abs(s._now_ms() - (time.time() * 1000 + 120_000)) < 5_000
        assert (await p.login(CREDS))["code"] == "60006"
        ahead = str(int(time.time()) + 120)
        assert (await p.login(CREDS, timestamp=ahead))["code"] == "0"


async def test_frame_log_records_connection_and_key(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulator() as s, open_probe(s, "private", memory=True) as p:
        await p.send("ping")
        await p.recv()
        await logged_in(p)
        await p.send({"id": "o1", "op": "order", "args": [ORDER]})
        await p.expect_event(op="order")
        ping, login, order = list(s.frames)
        assert (ping.text, ping.obj, ping.api_key, ping.path) == ("ping", None, None, "private")
        assert login.op == "login"
        assert login.api_key is None
        assert order.api_key == CREDS.api_key
        assert order.conn_id == s.connections[0].conn_id
        assert [o["id"] for o in s.frames.ops("order")] == ["o1"]
        found = await s.frames.wait_for(lambda r: r.op == "order")
        assert found is order
        s.frames.clear()
        assert len(s.frames) == 0


# -- socket faults ------------------------------------------------------------------------


async def test_socket_reset_and_refusal() -> None:
    with trio.fail_after(10):
        async with simulator() as s, trio.open_nursery() as n:
            url = s.base_url + "/ws/v5/private"
            t = await connect_websockets(url, ssl_context=None, nursery=n)
            await t.send(b"ping")
            assert await t.receive() == b"pong"
            s.faults.drop("private", mode="reset")
            with pytest.raises(Exception) as info:
                await t.receive()
            assert getattr(info.value, "code", None) == 1006
            await t.aclose()
            s.faults.refuse_connections(count=1)
            with pytest.raises(TransportConnectError, match="503"):
                await connect_websockets(url, ssl_context=None, nursery=n)
            t = await connect_websockets(url, ssl_context=None, nursery=n)
            await t.send(b"ping")
            assert await t.receive() == b"pong"
            await t.aclose()


async def test_socket_drop_on_after_with_reset() -> None:
    with trio.fail_after(10):
        async with simulator() as s, open_probe(s, "private") as p:
            await logged_in(p)
            s.faults.drop_on("cancel-order", when="after", mode="reset")
            await p.send({"id": "o1", "op": "order", "args": [{**ORDER, "clOrdId": "r1"}]})
            ord_id = (await p.expect_event(op="order"))["data"][0]["ordId"]
            await p.send({"id": "c1", "op": "cancel-order",
                          "args": [{"instIdCode": 100001, "ordId": ord_id}]})
            closed = await p.wait_closed()
            assert closed.code == 1006
            order = s.orders.find(cl_ord_id="r1")
            assert order is not None
            assert order.state == "canceled"


async def test_slow_consumer_is_dropped(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from okx_trio.testing import _connection
    from okx_trio.testing._emits import Emit

    monkeypatch.setattr(_connection, "OUTBOUND_BUFFER", 5)
    async with simulator() as s, open_probe(s, memory=True) as slow, \
            open_probe(s, memory=True) as other:
        await slow.send({"op": "subscribe", "args": [{"channel": "tickers",
                                                      "instId": "BTC-USDT"}]})
        await slow.expect(is_push)
        # More pushes at once than the connection's queue holds.
        s._deliver([Emit("tickers", [{"instId": "BTC-USDT"}], inst_id="BTC-USDT")] * 10)
        closed = await slow.wait_closed()
        assert (closed.code, closed.reason) == (4005, "Buffer is full, cannot write data")
        await other.send("ping")
        assert await other.recv() == "pong"
