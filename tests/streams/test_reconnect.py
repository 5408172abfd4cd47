"""Subscriptions across reconnects, 64008 switch-overs and server-side failures."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from support import internals
from support.streams import CREDS, VIP4, frames, inject, marks, next_push, sim_client

from okx_trio import Gap, OkxApiError, Push

TICKERS = {"channel": "tickers", "instId": "BTC-USDT"}
ORDERS = {"channel": "orders", "instType": "ANY"}
ACCOUNT = {"channel": "account"}
# Raw trade-op args name the instrument by instIdCode, as OKX requires since 2026.
ORDER = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "sz": "0.01", "px": "58000"}


def ops_of(sim: Any, conn_id: str) -> list[str]:
    return [r.op for r in sim.frames.for_connection(conn_id) if r.op is not None]


async def drain(sub: Any) -> None:
    async for _ in sub:
        pass


async def take(sub: Any, n: int) -> list[Push | Gap]:
    return [await sub.__anext__() for _ in range(n)]


async def test_drop_resubscribes_with_a_gap_before_the_new_pushes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(60):
            async with client.subscribe(TICKERS) as sub:
                first = await sub.__anext__()  # the initial ticker of connection 1
                inject(sim, "public", TICKERS, 3)
                await trio.sleep(0.1)  # received and buffered, not read yet
                assert sub.statistics().buffered == 3
                old_conn = sim.connections[0].conn_id
                sim.faults.drop("public", mode="reset")
                items = await take(sub, 5)
                # The pushes received before the drop, the Gap, then connection 2's ticker.
                assert isinstance(first, Push)
                assert marks(items[:3]) == [0, 1, 2]
                assert items[3] == Gap("reconnect", 0)
                assert isinstance(items[4], Push)
                assert "n" not in items[4].data[0]
                (conn,) = sim.connections
                assert conn.conn_id != old_conn
                assert conn.subscriptions == [TICKERS]
                assert len(frames(sim, "subscribe")) == 2
                assert client.statistics().reconnects["public"] == 1
                assert client.statistics().subscriptions == 1
                inject(sim, "public", TICKERS, 1, start=7)
                assert marks([await sub.__anext__()]) == [7]


async def test_private_resubscription_only_after_the_login(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(60):
            async with client.subscribe(ORDERS, ACCOUNT) as sub:
                await next_push(sub)  # the account snapshot
                old = sim.connections[0].conn_id
                sim.faults.drop("private")
                item = await sub.__anext__()
                while isinstance(item, Push):
                    item = await sub.__anext__()
                assert item == Gap("reconnect", 0)
                await next_push(sub, lambda p: p.channel == "account")
                (conn,) = [c for c in sim.connections if c.path == "private"]
                assert conn.conn_id != old
                assert ops_of(sim, conn.conn_id) == ["login", "subscribe", "subscribe"]
                assert sorted(a["channel"] for a in conn.subscriptions) == ["account", "orders"]
                # The resubscribed orders channel delivers again.
                resp = await client.request("order", [ORDER])
                push = await next_push(sub, lambda p: p.channel == "orders")
                assert push.data[0]["ordId"] == resp.data[0]["ordId"]


async def test_64008_switch_keeps_requests_and_pushes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, market_interval=0.5) as (sim, client):
        with trio.fail_after(120):
            async with client.events() as events, client.subscribe(TICKERS, ORDERS) as sub:
                await next_push(sub)
                old = {c.path: c.conn_id for c in sim.connections}
                sim.faults.delay("order", 3.0)  # the answer comes after the switch
                result: dict[str, Any] = {}

                async def place() -> None:
                    result["resp"] = await client.request("order", [ORDER])

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(place)
                    await sim.frames.wait_for(lambda r: r.op == "order")
                    sim.faults.notice(close_after=60)
                    # Orders placed all through the switch-over: each one's push
                    # arrives, from the old or the new connection, with no Gap.
                    placed: list[str] = []

                    async def place_one(i: int) -> None:
                        await trio.sleep(i * 0.05)
                        ack = await client.request("order", [dict(ORDER, clOrdId=f"sw{i}")])
                        placed.append(ack.data[0]["ordId"])

                    async with trio.open_nursery() as placing:
                        for i in range(10):
                            placing.start_soon(place_one, i)
                    seen: set[str] = set()
                    tickers_after = 0
                    while not (set(placed) <= seen and tickers_after >= 3):
                        item = await sub.__anext__()
                        assert isinstance(item, Push), item  # never a Gap
                        if item.channel == "orders":
                            seen.update(d["ordId"] for d in item.data)
                        elif set(placed) <= seen:
                            tickers_after += 1
                # The order sent on the old private connection still got its answer there.
                assert result["resp"].code == "0"
                order_frame = next(r for r in sim.frames if r.op == "order")
                assert order_frame.conn_id == old["private"]
                new = {c.path: c for c in sim.connections}
                assert new["public"].conn_id != old["public"]
                assert new["private"].conn_id != old["private"]
                assert new["public"].subscriptions == [TICKERS]
                assert new["private"].subscriptions == [ORDERS]
                assert ops_of(sim, new["private"].conn_id)[:2] == ["login", "subscribe"]
                while old["private"] in {c.conn_id for c in sim.connections}:
                    await trio.sleep(0.1)  # closed once its last answer arrived
                assert trio.current_time() < order_frame.time + 10
                assert client.statistics().reconnects == {"public": 0, "private": 0}
                kinds = []
                while len([k for k in kinds if k == "reconnected"]) < 2:
                    kinds.append((await events.__anext__()).kind)
                assert kinds.count("notice") == 2


async def test_refused_resubscription_raises_from_the_next_iteration(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(60):
            async with client.subscribe(TICKERS) as sub:
                await next_push(sub)
                inject(sim, "public", TICKERS, 2)
                monkeypatch.setattr(sim.engine, "channel_error",
                                    lambda path, arg: ("64003", "fee tier too low"))
                sim.faults.drop("public")
                # Raised at once, ahead of the buffered pushes: the stream is dead.
                await sim.frames.wait_for(
                    lambda r: r.op == "subscribe" and r.conn_id == sim.connections[0].conn_id)
                await trio.sleep(0.1)
                with pytest.raises(OkxApiError) as info:
                    await sub.__anext__()
                assert info.value.code == "64003"
                assert info.value.data == [TICKERS]
                assert "tickers" in str(info.value)
                with pytest.raises(OkxApiError):  # and again from every later iteration
                    await sub.__anext__()
                assert client.statistics().subscriptions == 0
            # Nothing to unsubscribe: the exchange refused it.
            assert frames(sim, "unsubscribe") == []
            assert internals.tables(client)["server_subscriptions"] == 0


async def test_conn_count_error_raises_from_the_next_iteration(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(60):
            async with client.subscribe(ORDERS, TICKERS) as sub:
                sim.conn_count_limit = 0
                sim.faults.drop("private")
                with pytest.raises(OkxApiError) as info:
                    await drain(sub)
                assert info.value.code == "channel-conn-count-error"
                assert info.value.data == [ORDERS]


async def test_l2_book_logs_in_on_public_and_replaces_the_anonymous_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, market_interval=0.2, sim_options=VIP4) as (sim, client):
        with trio.fail_after(60):
            async with client.subscribe(TICKERS) as sub:
                await next_push(sub)
                (anon,) = sim.connections
                assert anon.api_key is None
                async with client.order_book("BTC-USDT", channel="books-l2-tbt") as book:
                    assert book.synced
                    assert book.best_bid is not None
                    (public,) = [c for c in sim.connections if c.api_key is not None
                                 and c.path == "public"]
                    assert public.api_key == CREDS.api_key
                    assert ops_of(sim, public.conn_id)[:3] == ["login", "subscribe", "subscribe"]
                    # The tickers subscriber moved over make-before-break: no Gap,
                    # and it keeps receiving.
                    for _ in range(5):
                        assert isinstance(await sub.__anext__(), Push)
                    await book.__anext__()
                assert sim.frames.ops("subscribe")[-1]["args"] == [
                    {"channel": "books-l2-tbt", "instId": "BTC-USDT"}]


async def test_each_reconnect_is_announced_once_read(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(60):
            async with client.subscribe(ORDERS) as sub:
                for _ in range(2):
                    sim.faults.drop("private")
                    assert await sub.__anext__() == Gap("reconnect", 0)
                    while client.statistics().subscriptions != 1:
                        await trio.sleep(0.05)
                # Unread, two reconnects in a row leave a single Gap.
                for _ in range(2):
                    sim.faults.drop("private")
                    await trio.sleep(0.5)
                    while client.statistics().subscriptions != 1:
                        await trio.sleep(0.05)
                assert sub.statistics().buffered == 1
                assert await sub.__anext__() == Gap("reconnect", 0)
