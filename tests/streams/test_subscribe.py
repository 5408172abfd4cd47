"""subscribe(): validation, acks, errors with rollback, sharing, routing, clean exit."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from support import internals
from support.streams import frames, inject, marks, next_push, sim_client

import okx_trio
from okx_trio import OkxApiError, OkxRequestTimeout, Push
from okx_trio._protocol import ChannelConnCount

TICKERS = {"channel": "tickers", "instId": "BTC-USDT"}
TRADES = {"channel": "trades", "instId": "BTC-USDT"}
ORDERS = {"channel": "orders", "instType": "ANY"}
# Raw trade-op args name the instrument by instIdCode, as OKX requires since 2026.
ORDER = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "sz": "0.01", "px": "58000"}


@pytest.mark.parametrize(
    ("args", "exc", "words"),
    [
        ((), ValueError, "at least one arg"),
        (("tickers",), TypeError, "arg 0 must be a mapping"),
        (({"instId": "BTC-USDT"},), ValueError, "non-empty 'channel'"),
        (({"channel": ""},), ValueError, "non-empty 'channel'"),
        (({"channel": "tickers", "instId": 5},), TypeError, "field 'instId' must be a str"),
        (({"channel": 1},), TypeError, "field 'channel' must be a str"),
        ((TICKERS, {"instId": "BTC-USDT", "channel": "tickers"}), ValueError, "repeats"),
    ],
)
async def test_invalid_args_refused_before_anything_is_sent(
    autojump_clock: trio.testing.MockClock, args: tuple[Any, ...], exc: type[Exception],
    words: str,
) -> None:
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(10), pytest.raises(exc, match=words):
            async with client.subscribe(*args):
                pass  # pragma: no cover
        await trio.sleep(1)
        assert sim.frames.ops() == []
        assert sim.connections == []


async def test_private_channel_without_credentials_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, credentials=None) as (sim, client):
        with trio.fail_after(10), pytest.raises(ValueError, match="'orders' needs a login"):
            async with client.subscribe(TICKERS, ORDERS):
                pass  # pragma: no cover
        with pytest.raises(ValueError, match="books-l2-tbt"):
            async with client.order_book("BTC-USDT", channel="books-l2-tbt"):
                pass  # pragma: no cover
        for bad in (0, -3):
            with pytest.raises(ValueError, match="buffer_size"):
                async with client.subscribe(TICKERS, buffer_size=bad):
                    pass  # pragma: no cover
        await trio.sleep(1)
        assert sim.frames.ops() == []


async def test_one_request_per_arg_and_pushes_over_loopback() -> None:
    with trio.fail_after(20):
        async with sim_client(memory=False, market_interval=0.05) as (sim, client):
            async with client.subscribe(TICKERS, ORDERS, TRADES) as sub:
                subs = frames(sim, "subscribe")
                assert [len(f["args"]) for f in subs] == [1, 1, 1]
                assert len({f["id"] for f in subs}) == 3
                assert client.statistics().subscriptions == 3
                await client.request("order", [ORDER])
                seen: set[str] = set()
                async for item in sub:
                    assert isinstance(item, Push)
                    seen.add(item.channel)
                    if {"tickers", "orders"} <= seen:
                        break
            # The private arg went out on the private path, after the login.
            private = [r for r in sim.frames if r.path == "private" and r.op]
            assert [r.op for r in private][:2] == ["login", "subscribe"]
            assert frames(sim, "unsubscribe")
            assert client.statistics().subscriptions == 0


async def test_refused_arg_raises_naming_it_and_rolls_back_acked_args() -> None:
    bad = {"channel": "tickerz", "instId": "BTC-USDT"}
    with trio.fail_after(20):
        async with sim_client(memory=False) as (sim, client):
            with pytest.raises(OkxApiError) as info:
                async with client.subscribe(TICKERS, bad, TRADES):
                    pass  # pragma: no cover
            err = info.value
            assert err.code == "60018"
            assert err.op == "subscribe"
            assert err.data == [bad]
            assert "tickerz" in str(err)
            unsubscribed = [f["args"][0] for f in frames(sim, "unsubscribe")]
            assert sorted(a["channel"] for a in unsubscribed) == ["tickers", "trades"]
            (conn,) = sim.connections
            assert conn.subscriptions == []
            assert internals.tables(client) == {
                "server_subscriptions": 0, "books": 0, "pending_unsubscribes": 0}


async def test_shared_subscription_is_reference_counted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(60):
            async with client.subscribe(TICKERS) as first:
                await next_push(first)  # the initial ticker
                reordered = {"instId": "BTC-USDT", "channel": "tickers"}
                async with client.subscribe(reordered) as second:
                    assert len(frames(sim, "subscribe")) == 1
                    inject(sim, "public", TICKERS, 5)
                    # Both get every push of the arg, the same objects in the same order.
                    a = [await next_push(first) for _ in range(5)]
                    b = [await next_push(second) for _ in range(5)]
                    assert marks(a) == [0, 1, 2, 3, 4]
                    assert all(x is y for x, y in zip(a, b, strict=True))
                await trio.sleep(1)
                assert frames(sim, "unsubscribe") == []
                inject(sim, "public", TICKERS, 1, start=5)
                assert marks([await next_push(first)]) == [5]  # still flowing
                assert client.statistics().subscriptions == 1
            (unsub,) = frames(sim, "unsubscribe")
            assert unsub["args"] == [TICKERS]
            assert client.statistics().subscriptions == 0


async def test_private_push_with_uid_reaches_its_subscriber(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True) as (_sim, client):
        with trio.fail_after(30):
            async with client.subscribe(ORDERS) as sub:
                resp = await client.request("order", [ORDER])
                push = await next_push(sub)
                assert push.arg["uid"]  # the exchange adds the user id to the arg
                assert push.data[0]["ordId"] == resp.data[0]["ordId"]
                assert internals.unrouted(client) == 0


async def test_channels_routed_by_name(autojump_clock: trio.testing.MockClock) -> None:
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(30):
            candle = {"channel": "candle1m", "instId": "BTC-USDT"}
            async with client.subscribe(TICKERS, candle, {"channel": "sprd-orders"}):
                paths = {r.obj["args"][0]["channel"]: r.path for r in sim.frames
                         if r.op == "subscribe"}
            assert paths == {"tickers": "public", "candle1m": "business",
                             "sprd-orders": "business"}


async def test_conn_count_events_reach_events(autojump_clock: trio.testing.MockClock) -> None:
    async with sim_client(memory=True) as (_sim, client):
        with trio.fail_after(30):
            async with client.events() as events, client.subscribe(ORDERS):
                async for ev in events:
                    if ev.kind == "conn-count":
                        break
            assert ev.connection == "private"
            assert isinstance(ev.detail, ChannelConnCount)
            assert ev.detail.channel == "orders"
            assert not ev.detail.error


async def test_exit_unsubscribes_even_when_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(30):
            with trio.move_on_after(1) as scope:
                async with client.subscribe(TICKERS, TRADES) as sub:
                    async for _ in sub:
                        pass
            assert scope.cancelled_caught
            assert len(frames(sim, "unsubscribe")) == 2
            (conn,) = sim.connections
            assert conn.subscriptions == []


async def test_missing_ack_times_out_and_cleans_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, request_timeout=3.0) as (sim, client):
        sim.faults.swallow("subscribe", count=1)
        with trio.fail_after(30):
            t0 = trio.current_time()
            with pytest.raises(OkxRequestTimeout, match="no subscribe ack"):
                async with client.subscribe(TICKERS):
                    pass  # pragma: no cover
            assert trio.current_time() - t0 == pytest.approx(3.0)
            assert internals.tables(client)["server_subscriptions"] == 0
            # The swallowed request may have acted later: it is unsubscribed anyway.
            assert len(frames(sim, "unsubscribe")) == 1
            async with client.subscribe(TICKERS) as sub:
                await next_push(sub)


def _tasks(client: okx_trio.WsClient) -> set[trio.lowlevel.Task]:
    """The client's background tasks, but its REST warm-up: that one-off task may
    still run when the baseline is taken and be gone by the next count."""
    return {t for t in internals.nursery(client).child_tasks if t.name != "okx_trio warm-up"}


async def test_no_task_left_and_tables_empty_after_exit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, market_interval=0.1) as (_sim, client):
        with trio.fail_after(60):
            await internals.connect(client, "public")
            await internals.connect(client, "private")
            baseline = _tasks(client)
            async with client.subscribe(TICKERS, ORDERS) as sub, \
                    client.order_book("BTC-USDT") as book, \
                    client.order_book("BTC-USDT", channel="bbo-tbt") as bbo:
                await next_push(sub)
                await book.__anext__()
                await bbo.__anext__()
                assert len(_tasks(client)) == len(baseline) + 2
            assert _tasks(client) == baseline
            assert internals.tables(client) == {
                "server_subscriptions": 0, "books": 0, "pending_unsubscribes": 0}
            assert client.statistics().subscriptions == 0
            assert client.statistics().pending == 0


async def test_subscribe_after_a_refused_login_raises_auth_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True) as (sim, client):
        sim.faults.reject_logins("60024")
        with trio.fail_after(30), pytest.raises(okx_trio.OkxAuthError):
            async with client.subscribe(ORDERS):
                pass  # pragma: no cover
        assert internals.tables(client)["server_subscriptions"] == 0
