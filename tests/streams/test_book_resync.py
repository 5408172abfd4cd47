"""Order books after OKX removed the initial snapshot: REST resync, bounded in every way.

OKX's changelog delists the initial snapshot (and checksum) of ``books``,
``books-l2-tbt`` and ``books50-l2-tbt``; the way to sync is its REST recipe
(buffer the updates, ``GET /api/v5/market/books`` with ``seqId``, fetch again
if older than the buffer, drop what it covers, check the first kept update
straddles it). ``books-rpi`` pairs with ``GET /api/v5/market/books-rpi``.
Every channel must sync that way, no resync loop may spend the 480/hour
control budget, the update buffer is capped, and backoffs stay bounded however
long an outage lasts.
"""

from __future__ import annotations

import bisect
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.testing
from support.books import BookVenue, venue_client
from support.streams import VIP4, sim_client, spot_only

from okx_trio import Gap, LiveOrderBook
from okx_trio._books import RESUBSCRIBE_BUDGET
from okx_trio._okx import CONTROL_BUDGET

INST = "BTC-USDT"


async def market(venue: BookVenue, interval: float = 0.05) -> None:
    """Move the venue's book every ``interval`` seconds (run it in a nursery)."""
    while True:
        await trio.sleep(interval)
        await venue.step()


async def settle(book: LiveOrderBook, venue: BookVenue) -> None:
    """Read the book until it shows the venue's latest seqId."""
    while not (book.synced and book.seq_id == venue.seq):
        await book.__anext__()


def assert_same(book: LiveOrderBook, venue: BookVenue) -> None:
    assert book.raw_bids() == venue.raw_bids()[: book.depth]
    assert book.raw_asks() == venue.raw_asks()[: book.depth]


# -- every incremental channel syncs from REST when no snapshot comes


@pytest.mark.parametrize(
    ("channel", "path", "depth"),
    [
        ("books", "/api/v5/market/books", "400"),
        ("books-l2-tbt", "/api/v5/market/books", "400"),
        ("books50-l2-tbt", "/api/v5/market/books", "50"),
        ("books-rpi", "/api/v5/market/books-rpi", "400"),
    ],
)
async def test_channel_syncs_from_rest_without_a_snapshot(
    autojump_clock: trio.testing.MockClock, channel: str, path: str, depth: str
) -> None:
    venue = BookVenue(INST, channel, rpi=channel == "books-rpi")
    async with venue_client(venue) as client, trio.open_nursery() as nursery:
        nursery.start_soon(market, venue)
        with trio.fail_after(30):
            async with client.order_book(INST, channel=channel) as book:
                started = trio.current_time()
                assert book.synced
                stats = book.statistics()
                assert stats.rest_snapshots == 1
                assert stats.resubscribes == 0
                await settle(book, venue)
                assert_same(book, venue)
                for _ in range(50):
                    assert not isinstance(await book.__anext__(), Gap)
                await settle(book, venue)
                assert_same(book, venue)
        nursery.cancel_scope.cancel()
    assert trio.current_time() - started < 5
    assert [c["path"] for c in venue.rest_calls] == [path]
    assert venue.rest_calls[0]["sz"] == depth
    assert venue.rest_calls[0]["instId"] == INST
    # One subscribe, no resubscription loop.
    assert [op for _, op in venue.control if op != "login"] == ["subscribe", "unsubscribe"]


async def test_stale_rest_snapshot_is_fetched_again(autojump_clock: trio.testing.MockClock) -> None:
    """A REST snapshot older than the first buffered update's prevSeqId cannot be
    joined to the updates: OKX's recipe fetches it again."""
    venue = BookVenue(INST, "books")
    await venue.step(3)  # before anyone subscribes: history[0] is older than any push
    venue.stale_rest = 2
    async with venue_client(venue) as client:
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(market, venue)
                async with client.order_book(INST) as book:
                    await settle(book, venue)
                    assert_same(book, venue)
                    assert book.statistics().rest_snapshots == 1
                nursery.cancel_scope.cancel()
    assert len(venue.rest_calls) == 3  # two stale answers, then one that joins


async def test_covered_updates_dropped_and_straddling_update_applied(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Updates buffered before the REST snapshot's seqId are dropped; the first kept
    one straddles it; the rest apply in order."""
    venue = BookVenue(INST, "books")
    async with venue_client(venue) as client:
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:

                async def entered() -> None:
                    async with client.order_book(INST) as book:
                        await settle(book, venue)
                        assert_same(book, venue)

                nursery.start_soon(entered)
                while venue.subscriptions == 0:
                    await trio.sleep(0.001)
                await trio.sleep(0.001)
                await venue.step(5)  # buffered while the snapshot is fetched
                while not venue.rest_calls:
                    await trio.sleep(0.001)
                await venue.step(5)
    assert len(venue.rest_calls) == 1


async def test_first_push_an_update_ends_the_snapshot_wait_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    venue = BookVenue(INST, "books")
    async with venue_client(venue) as client:
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(market, venue, 0.1)
                started = trio.current_time()
                async with client.order_book(INST, snapshot_timeout=10) as book:
                    assert trio.current_time() - started < 0.5
                    assert book.statistics().rest_snapshots == 1
                nursery.cancel_scope.cancel()


async def test_snapshot_used_when_the_websocket_sends_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    venue = BookVenue(INST, "books-rpi", rpi=True, snapshots=lambda n: True)
    async with venue_client(venue) as client:
        with trio.fail_after(30):
            async with client.order_book(INST, channel="books-rpi") as book:
                assert book.statistics().rest_snapshots == 0
                assert_same(book, venue)
                await venue.step(20)
                await settle(book, venue)
                assert_same(book, venue)
    assert venue.rest_calls == []


async def test_books_rpi_levels_total_and_non_rpi(autojump_clock: trio.testing.MockClock) -> None:
    venue = BookVenue(INST, "books-rpi", rpi=True)
    async with venue_client(venue) as client:
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(market, venue)
                async with client.order_book(INST, channel="books-rpi") as book:
                    await venue.step(30)
                    await settle(book, venue)
                    nursery.cancel_scope.cancel()
                    # bids carry totalQty; non_rpi_bids the ordinary part.
                    assert book.bids == [(Decimal(p), Decimal(s)) for p, s in venue.raw_bids()]
                    assert book.non_rpi_bids == [
                        (Decimal(p), Decimal(s)) for p, s in venue.non_rpi_bids()]
                    total = dict(book.bids)
                    assert all(n <= total[p] for p, n in book.non_rpi_bids)
                    assert len(book.non_rpi_bids) < len(book.bids)  # some levels are RPI only
                    assert book.depth == 400


# -- gaps go to REST, not to unsubscribe/subscribe


async def test_gap_resynced_from_rest_with_no_control_frame(
    autojump_clock: trio.testing.MockClock,
) -> None:
    venue = BookVenue(INST, "books50-l2-tbt", snapshots=lambda n: True)
    async with venue_client(venue) as client:
        with trio.fail_after(30):
            async with client.order_book(INST, channel="books50-l2-tbt") as book:
                await venue.step(5)
                await settle(book, venue)
                await venue.send_gap()
                while await book.__anext__() != Gap("resync"):
                    pass
                await venue.step(5)
                await settle(book, venue)
                assert_same(book, venue)
                stats = book.statistics()
                assert (stats.resyncs, stats.rest_snapshots, stats.resubscribes) == (1, 1, 0)
    assert [op for _, op in venue.control if op != "login"] == ["subscribe", "unsubscribe"]


# -- the buffer is capped


async def test_buffer_capped_while_rest_is_down(autojump_clock: trio.testing.MockClock) -> None:
    """While no REST snapshot can be had, updates are held only up to max_buffer;
    on overflow they are dropped, readers get Gap("resync"), and the resync restarts;
    once REST answers again the book syncs."""
    async with sim_client(memory=True, market_interval=0.01,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(120):
            sim.faults.book_no_snapshot(INST)
            async with client.order_book(INST, max_buffer=100) as book:
                assert book.statistics().rest_snapshots == 1
                fail = {"on": True}
                handle = sim._rest.handle

                def down(*args: object) -> tuple[int, dict[str, object]]:
                    if fail["on"]:
                        return 503, {"code": "50001", "msg": "Service temporarily unavailable",
                                     "data": []}
                    return handle(*args)  # type: ignore[arg-type]

                sim._rest.handle = down  # type: ignore[assignment]
                sim.faults.book_gap(INST)
                while await book.__anext__() != Gap("resync"):
                    pass
                most = 0
                gaps = 0
                deadline = trio.current_time() + 12
                while trio.current_time() < deadline:
                    with trio.move_on_after(0.05):
                        if isinstance(await book.__anext__(), Gap):
                            gaps += 1
                    most = max(most, book.statistics().buffered)
                assert most <= 100
                assert book.statistics().overflows >= 5
                assert gaps >= 1
                assert not book.synced
                fail["on"] = False
                while not book.synced:
                    await book.__anext__()
                stats = book.statistics()
                assert stats.rest_snapshots == 2
                assert stats.resubscribes == 0  # this subscription sends no snapshots


# -- no resync loop exhausts the control budget; backoffs stay bounded


async def test_control_frames_stay_under_budget_over_hours_of_failed_resyncs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """REST is down and, after the first, subscriptions send no snapshot: the book
    cannot resync for 20 hours. Resubscriptions stay within their budget (a quarter
    of OKX's 480 control frames per hour) with no error however many attempts
    fail (the backoff exponent is bounded: before, it overflowed after ~1 025
    failures), and the book syncs as soon as a snapshot comes again."""
    venue = BookVenue(INST, "books50-l2-tbt", snapshots=lambda n: n == 0)
    venue.rest_down = True
    async with venue_client(venue) as client, \
            client.order_book(INST, channel="books50-l2-tbt") as book:
        assert await book.__anext__() is book
        await venue.send_gap()
        assert await book.__anext__() == Gap("resync")
        await trio.sleep(20 * 3600)
        assert not book.synced
        stats = book.statistics()
        attempts = stats.resubscribes
        venue.snapshots = lambda n: True
        with trio.fail_after(120):
            while not book.synced:
                await book.__anext__()
        assert_same(book, venue)
    frames = [t for t, op in venue.control if op in ("subscribe", "unsubscribe")]
    busiest = max(bisect.bisect_left(frames, t + 3600) - i for i, t in enumerate(frames))
    assert busiest <= 2 * RESUBSCRIBE_BUDGET + 2 < CONTROL_BUDGET
    assert attempts > 1100  # it kept trying, at a bounded pace


# -- the same against the simulator (book_snapshots=False: updates only, REST sync)


def sim_levels(sim: Any, depth: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    bids, asks = sim.book(INST)
    return bids[:depth], asks[:depth]


@pytest.mark.parametrize("channel", ["books", "books-l2-tbt", "books50-l2-tbt"])
async def test_simulator_without_snapshots_books_sync_from_rest(
    autojump_clock: trio.testing.MockClock, channel: str
) -> None:
    async with sim_client(memory=True, market_interval=0.05, instruments=spot_only(),
                          sim_options={"book_snapshots": False, **VIP4}) as (sim, client):
        with trio.fail_after(60):
            async with client.order_book(INST, channel=channel) as book:
                assert book.statistics().rest_snapshots == 1
                for _ in range(100):
                    assert not isinstance(await book.__anext__(), Gap)
                sim.faults.book_gap(INST)
                while await book.__anext__() != Gap("resync"):
                    pass
                while not book.synced:
                    await book.__anext__()
                for _ in range(20):
                    await book.__anext__()
                # Caught up: the book equals the exchange's own (to its depth).
                published = int(sim.engine.instruments[INST].feeds["books"].seq_id)
                while book.seq_id != published:
                    await book.__anext__()
                    published = int(sim.engine.instruments[INST].feeds["books"].seq_id)
                bids, asks = sim_levels(sim, book.depth)
                assert book.raw_bids() == bids
                assert book.raw_asks() == asks
                stats = book.statistics()
                assert (stats.resyncs, stats.rest_snapshots, stats.resubscribes) == (1, 2, 0)
        subscribes = [f for f in sim.frames.ops("subscribe") if f["args"][0]["channel"] == channel]
        assert len(subscribes) == 1


async def test_simulator_books_rpi_gap_resynced_from_books_rpi_rest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with sim_client(memory=True, market_interval=0.05,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(60):
            async with client.order_book(INST, channel="books-rpi") as book:
                assert book.statistics().rest_snapshots == 0  # its initial push
                for _ in range(50):
                    await book.__anext__()
                sim.faults.book_gap(INST)
                while await book.__anext__() != Gap("resync"):
                    pass
                while not book.synced:
                    await book.__anext__()
                total = dict(book.bids)
                assert book.non_rpi_bids
                assert all(n <= total[p] for p, n in book.non_rpi_bids)
                assert book.statistics().rest_snapshots == 1
        subscribes = [f for f in sim.frames.ops("subscribe")
                      if f["args"][0]["channel"] == "books-rpi"]
        assert len(subscribes) == 1
