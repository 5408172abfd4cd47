"""order_book(): kept equal to the simulator's book through updates, faults and reconnects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import orjson
import pytest
import trio
import trio.testing
from support.streams import VIP4, frames, sim_client, spot_only

import okx_trio
from okx_trio import Gap, LiveOrderBook
from okx_trio._transport import MemoryConnector, MemoryTransport, TransportClosed
from okx_trio.testing import Simulator

INST = "BTC-USDT"


def published_seq(sim: Simulator, inst_id: str = INST) -> int:
    return int(sim.engine.instruments[inst_id].feeds["books"].seq_id)


async def caught_up(book: LiveOrderBook, sim: Simulator) -> list[Any]:
    """Iterate until the book has applied everything the simulator published."""
    seen: list[Any] = []
    while not (book.synced and book.seq_id == published_seq(sim)):
        seen.append(await book.__anext__())
    return seen


async def next_gap(book: LiveOrderBook) -> Gap:
    """Iterate until the book yields a Gap."""
    while True:
        item = await book.__anext__()
        if isinstance(item, Gap):
            return item


def assert_equal_to_sim(book: LiveOrderBook, sim: Simulator, levels: int | None = None) -> None:
    bids, asks = sim.book(INST)
    n = levels or book.depth
    assert book.raw_bids() == bids[:n]
    assert book.raw_asks() == asks[:n]
    assert book.bids == [(Decimal(p), Decimal(s)) for p, s in bids[:n]]
    assert book.best_ask == (Decimal(asks[0][0]), Decimal(asks[0][1]))


async def test_equal_to_the_simulator_after_10000_updates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, market_interval=0.001,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(600):
            async with client.order_book(INST) as book:
                assert book.depth == 400
                assert await book.__anext__() is book  # the snapshot
                last = book.seq_id
                async for item in book:
                    assert item is book
                    assert book.seq_id is not None
                    assert last is not None
                    assert book.seq_id > last
                    last = book.seq_id
                    if book.statistics().updates >= 10_000 and book.seq_id == published_seq(sim):
                        break
                stats = book.statistics()
                assert stats.resyncs == 0
                assert stats.synced
                assert_equal_to_sim(book, sim)
                bids, _ = sim.book(INST)
                assert len(bids) > 50


async def test_gap_detected_resynchronised_from_rest_without_control_frames(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, market_interval=0.05,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(120):
            async with client.order_book(INST) as book:
                await caught_up(book, sim)
                sim.faults.book_gap(INST)
                assert await next_gap(book) == Gap("resync")
                seen = await caught_up(book, sim)
                assert seen[-1] is book
                assert_equal_to_sim(book, sim)
                assert book.statistics().resyncs == 1
                assert book.statistics().rest_snapshots == 1
                # REST is preferred: the control budget (480/hour) is not touched.
                books = [f["op"] for f in sim.frames.ops() if f["op"] != "login"
                         and f["args"][0]["channel"] == "books"]
                assert books == ["subscribe"]


async def test_valid_sequence_reset_is_followed_without_resync(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, market_interval=0.05,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(120):
            async with client.order_book(INST) as book:
                await caught_up(book, sim)
                before = book.seq_id
                assert before is not None
                sim.faults.book_reset(INST)
                while book.seq_id is None or book.seq_id >= before:
                    assert not isinstance(await book.__anext__(), Gap)
                for _ in range(5):
                    assert not isinstance(await book.__anext__(), Gap)
                await caught_up(book, sim)
                assert_equal_to_sim(book, sim)
                assert book.statistics().resyncs == 0


async def test_wrong_checksum_detected_and_resynchronised(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, market_interval=0.05, checksum=True,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(120):
            async with client.order_book(INST) as book:
                await caught_up(book, sim)
                assert book.checksum() == sim.engine.instruments[INST].feeds["books"].checksum()
                sim.faults.book_bad_checksum(INST)
                assert await next_gap(book) == Gap("resync")
                seen = await caught_up(book, sim)
                assert seen[-1] is book
                assert_equal_to_sim(book, sim)
                assert book.statistics().resyncs == 1


async def test_reconnect_gives_a_gap_and_a_fresh_snapshot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, market_interval=0.05,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(120):
            async with client.order_book(INST) as book:
                await caught_up(book, sim)
                sim.faults.drop("public")
                assert await next_gap(book) == Gap("reconnect")
                seen = await caught_up(book, sim)
                assert seen[-1] is book
                assert_equal_to_sim(book, sim)
                assert len(frames(sim, "subscribe", "books")) == 2


@pytest.mark.parametrize(("channel", "levels"), [("books5", 5), ("bbo-tbt", 1)])
async def test_full_book_channels(
    autojump_clock: trio.testing.MockClock, channel: str, levels: int,
) -> None:
    async with sim_client(memory=True, market_interval=0.05,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(120):
            async with client.order_book(INST, channel=channel) as book:
                assert book.depth == levels
                for _ in range(20):
                    await book.__anext__()
                await caught_up(book, sim)
                assert_equal_to_sim(book, sim, levels)


async def test_shared_book_one_subscription(autojump_clock: trio.testing.MockClock) -> None:
    async with sim_client(memory=True, market_interval=0.05,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(120):
            async with client.order_book(INST) as a:
                await caught_up(a, sim)
                async with client.order_book(INST) as b:
                    assert b.synced
                    assert b.raw_bids() == a.raw_bids()
                    await caught_up(b, sim)
                    assert_equal_to_sim(b, sim)
                    assert len(frames(sim, "subscribe", "books")) == 1
                assert frames(sim, "unsubscribe") == []
                await caught_up(a, sim)
            assert len(frames(sim, "unsubscribe", "books")) == 1


async def test_book_joining_a_raw_books_subscription(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arg = {"channel": "books", "instId": INST}
    async with sim_client(memory=True, market_interval=0.05,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(120):
            async with client.subscribe(arg) as raw:
                first = await raw.__anext__()
                assert isinstance(first, okx_trio.Push)
                assert first.action == "snapshot"
                # The book needs a snapshot of its own: it takes REST's, so the raw
                # reader's stream goes on uninterrupted.
                async with client.order_book(INST) as book:
                    await caught_up(book, sim)
                    assert_equal_to_sim(book, sim)
                    assert book.statistics().rest_snapshots == 1
                    for _ in range(10):
                        item = await raw.__anext__()
                        assert isinstance(item, okx_trio.Push)
                        assert item.action == "update"
                ops = [f["op"] for f in sim.frames.ops() if f["args"][0] == arg]
                assert ops == ["subscribe"]


async def test_l2_tbt_book(autojump_clock: trio.testing.MockClock) -> None:
    async with sim_client(memory=True, market_interval=0.05, instruments=spot_only(),
                          sim_options=VIP4) as (sim, client):
        with trio.fail_after(120):
            async with client.order_book(INST, channel="books-l2-tbt") as book:
                for _ in range(20):
                    await book.__anext__()
                await caught_up(book, sim)
                assert_equal_to_sim(book, sim)


async def test_bad_order_book_arguments(autojump_clock: trio.testing.MockClock) -> None:
    cases: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"inst_id": ""}, ValueError), ({"inst_id": 5}, TypeError),
        ({"inst_id": INST, "channel": "book"}, ValueError),
        ({"inst_id": INST, "snapshot_timeout": 0}, ValueError)]
    async with sim_client(memory=True) as (sim, client):
        with trio.fail_after(10):
            for kwargs, exc in cases:
                with pytest.raises(exc):
                    async with client.order_book(**kwargs):
                        pass  # pragma: no cover
            await trio.sleep(1)
        assert sim.frames.ops() == []


# -- REST resynchronisation (loopback sockets: the REST helper uses real HTTP)


async def test_missing_snapshot_resynchronised_from_rest() -> None:
    with trio.fail_after(30):
        async with sim_client(memory=False, market_interval=0.02,
                              instruments=spot_only()) as (sim, client):
            sim.faults.book_no_snapshot(INST)
            async with client.order_book(INST, snapshot_timeout=0.3) as book:
                assert book.synced
                assert book.statistics().rest_snapshots == 1
                for _ in range(10):
                    assert not isinstance(await book.__anext__(), Gap)
                await caught_up(book, sim)
                assert_equal_to_sim(book, sim)
                # Once a subscription came without a snapshot, gaps go straight to REST.
                sim.faults.book_gap(INST)
                assert await next_gap(book) == Gap("resync")
                seen = await caught_up(book, sim)
                assert seen[-1] is book
                assert_equal_to_sim(book, sim)
                assert book.statistics().rest_snapshots == 2
                assert len(frames(sim, "subscribe", "books")) == 1


async def test_reconnect_without_snapshot_falls_back_to_rest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, market_interval=0.02,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(60):
            async with client.order_book(INST) as book:
                await caught_up(book, sim)
                assert book.statistics().rest_snapshots == 0  # the WebSocket sent one
                sim.faults.book_no_snapshot(INST)
                sim.faults.drop("public")
                assert await next_gap(book) == Gap("reconnect")
                started = trio.current_time()
                seen = await caught_up(book, sim)
                # The new subscription's first push was an update: REST at once,
                # without waiting out snapshot_timeout.
                assert trio.current_time() - started < 1.0
                assert seen[-1] is book
                assert_equal_to_sim(book, sim)
                stats = book.statistics()
                assert stats.resyncs == 1
                assert stats.rest_snapshots == 1
                assert len(frames(sim, "subscribe", "books")) == 2


# -- the checksum worked example of OKX's order-book documentation, through the whole client


def _book_push(action: str, prev: int, seq: int, bids: list[list[str]], asks: list[list[str]],
               checksum: int) -> bytes:
    return orjson.dumps({
        "arg": {"channel": "books", "instId": INST}, "action": action,
        "data": [{"asks": asks, "bids": bids, "ts": "1700000000000", "checksum": checksum,
                  "prevSeqId": prev, "seqId": seq}],
    })


class BookServer:
    """Answers subscribe/unsubscribe; each new subscription gets the next scripted snapshot."""

    def __init__(self, snapshots: list[bytes]) -> None:
        self.snapshots = snapshots
        self.ops: list[str] = []
        self.transport: MemoryTransport | None = None

    async def handler(self, path: str, transport: MemoryTransport) -> None:
        self.transport = transport
        try:
            while True:
                raw = await transport.receive()
                if raw == b"ping":
                    await transport.send(b"pong")
                    continue
                req = orjson.loads(raw)
                self.ops.append(req["op"])
                ack = {"id": req["id"], "event": req["op"], "arg": req["args"][0],
                       "connId": "0badcafe"}
                await transport.send(orjson.dumps(ack))
                if req["op"] == "subscribe":
                    await transport.send(self.snapshots.pop(0))
        except TransportClosed:
            pass

    async def send(self, frame: bytes) -> None:
        assert self.transport is not None
        await self.transport.send(frame)


@asynccontextmanager
async def scripted(server: BookServer) -> AsyncIterator[okx_trio.WsClient]:
    async with trio.open_nursery() as nursery:
        connector = MemoryConnector(server.handler, nursery)
        async with okx_trio.open_ws_client(base_url="ws://127.0.0.1:9", transport=connector,
                                           log_lifecycle=False) as client:
            yield client
        nursery.cancel_scope.cancel()


async def test_checksum_worked_example_through_the_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    snapshot = _book_push(
        "snapshot", -1, 1000, [["100.5", "2", "0", "1"], ["100.4", "1", "0", "1"]],
        [["100.6", "3", "0", "2"], ["100.8", "1", "0", "1"], ["101", "4", "0", "3"]], 1210148172)
    docs_equal_depth = _book_push("snapshot", -1, 2000,
                                  [["3366.1", "7", "0", "1"], ["3366", "6", "0", "1"]],
                                  [["3366.8", "9", "0", "1"], ["3368", "8", "0", "1"]],
                                  -1881014294)
    server = BookServer([snapshot, docs_equal_depth])
    async with scripted(server) as client:
        with trio.fail_after(30):
            async with client.order_book(INST) as book:
                assert book.checksum() == 1210148172
                assert await book.__anext__() is book
                await server.send(_book_push(
                    "update", 1000, 1001, [["100.5", "2.5", "0", "2"]],
                    [["100.6", "0", "0", "0"], ["100.7", "5", "0", "1"]], 1466225588))
                assert await book.__anext__() is book
                assert book.raw_bids() == [("100.5", "2.5"), ("100.4", "1")]
                assert book.raw_asks() == [("100.7", "5"), ("100.8", "1"), ("101", "4")]
                assert book.checksum() == 1466225588
                assert book.seq_id == 1001
                # A keepalive update is applied silently; a checksum mismatch resyncs.
                await server.send(_book_push("update", 1001, 1001, [], [], 1466225588))
                await server.send(_book_push("update", 1001, 1002, [["100.4", "0", "0", "0"]],
                                             [], 1466225588))
                assert await book.__anext__() == Gap("resync")
                assert await book.__anext__() is book
                assert book.raw_bids() == [("3366.1", "7"), ("3366", "6")]
                assert book.checksum() == -1881014294
                # The docs' short-bid-side case, applied as an update.
                await server.send(_book_push("update", 2000, 2001, [["3366", "0", "0", "0"]],
                                             [["3372", "8", "0", "1"]], 831078360))
                assert await book.__anext__() is book
                assert book.raw_asks() == [("3366.8", "9"), ("3368", "8"), ("3372", "8")]
                assert book.statistics().resyncs == 1
                assert book.synced
            assert server.ops == ["subscribe", "unsubscribe", "subscribe", "unsubscribe"]
