"""Tests for the sans-I/O order book (okx_trio._orderbook): OKX's book rules."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from okx_trio._okx import BOOK_CHANNEL_DEPTHS as CHANNEL_DEPTHS
from okx_trio._orderbook import (
    ApplyResult,
    BookState,
    OrderBook,
    okx_book_checksum,
)


def lv(px: str, sz: str, count: str = "1") -> list[str]:
    return [px, sz, "0", count]


def item(
    seq: int,
    prev: int,
    *,
    bids: list[list[str]] | None = None,
    asks: list[list[str]] | None = None,
    checksum: int = 0,
    ts: str = "1700000000000",
) -> dict[str, Any]:
    return {
        "asks": asks or [],
        "bids": bids or [],
        "ts": ts,
        "checksum": checksum,
        "prevSeqId": prev,
        "seqId": seq,
    }


SNAPSHOT_LEVELS = {
    "bids": [lv("100.5", "2"), lv("100.4", "1")],
    "asks": [lv("100.6", "3", "2"), lv("100.8", "1"), lv("101", "4", "3")],
}


def snapshot(seq: int = 1000, checksum: int = 0) -> dict[str, Any]:
    return item(seq, -1, checksum=checksum, **SNAPSHOT_LEVELS)


# --- checksum (the worked example of OKX's documentation) -------------------


@pytest.mark.parametrize(
    ("bids", "asks", "expected"),
    [
        (
            [["100.5", "2"], ["100.4", "1"]],
            [["100.6", "3"], ["100.8", "1"], ["101", "4"]],
            1210148172,
        ),
        (
            [["100.5", "2.5"], ["100.4", "1"]],
            [["100.7", "5"], ["100.8", "1"], ["101", "4"]],
            1466225588,
        ),
        ([["3366.1", "7"], ["3366", "6"]], [["3366.8", "9"], ["3368", "8"]], -1881014294),
        ([["3366.1", "7"]], [["3366.8", "9"], ["3368", "8"], ["3372", "8"]], 831078360),
    ],
)
def test_checksum_worked_example(
    bids: list[list[str]], asks: list[list[str]], expected: int
) -> None:
    assert okx_book_checksum(bids, asks) == expected
    state = BookState("X")
    result = state.apply(
        item(1, -1, bids=[lv(*b) for b in bids], asks=[lv(*a) for a in asks], checksum=expected),
        "snapshot",
    )
    assert result == ApplyResult("applied")
    assert state.book.checksum() == expected


def test_checksum_uses_only_25_levels_and_strings_as_received() -> None:
    bids = [[f"{100 - i}.0", "1"] for i in range(30)]
    asks = [[f"{200 + i}.0", "2"] for i in range(30)]
    assert okx_book_checksum(bids, asks) == okx_book_checksum(bids[:25], asks[:25])
    # "100.0" and "100" are the same price but not the same checksum input.
    assert okx_book_checksum([["100", "1"]], []) != okx_book_checksum([["100.0", "1"]], [])


def test_snapshot_then_update_verified_against_pushed_checksums() -> None:
    state = BookState("BTC-USDT")
    assert state.apply(snapshot(1000, checksum=1210148172), "snapshot").applied
    update = item(
        1001,
        1000,
        asks=[lv("100.6", "0", "0"), lv("100.7", "5")],
        bids=[lv("100.5", "2.5", "2")],
        checksum=1466225588,
    )
    assert state.apply(update, "update") == ApplyResult("applied")
    book = state.book
    assert book.bids == [(Decimal("100.5"), Decimal("2.5")), (Decimal("100.4"), Decimal("1"))]
    assert book.asks == [
        (Decimal("100.7"), Decimal("5")),
        (Decimal("100.8"), Decimal("1")),
        (Decimal("101"), Decimal("4")),
    ]
    assert book.seq_id == 1001


def test_checksum_mismatch_needs_resync_and_zero_is_not_checked() -> None:
    state = BookState("X")
    assert state.apply(snapshot(checksum=0), "snapshot").applied  # 0: not verified
    bad = item(1001, 1000, bids=[lv("100.5", "3")], checksum=1466225588)
    result = state.apply(bad, "update")
    assert result == ApplyResult("resync", "checksum")
    assert result.needs_resync
    assert not state.synced
    # A wrong checksum on a snapshot is caught too.
    assert state.apply(snapshot(checksum=12345), "snapshot").reason == "checksum"


# --- sequence rules (7.4) ----------------------------------------------------


def test_sequence_example_snapshot_update_heartbeat_reset_update() -> None:
    state = BookState("X")
    assert state.apply(snapshot(10), "snapshot").applied
    assert state.apply(item(15, 10, bids=[lv("100.3", "1")]), "update").applied
    hb = state.apply(item(15, 15, ts="1700000060000"), "update")
    assert hb == ApplyResult("heartbeat")
    assert hb.heartbeat
    assert state.book.seq_id == 15
    assert state.book.ts == 1700000060000
    assert state.apply(item(3, 15, asks=[lv("100.7", "1")]), "update").applied  # reset
    assert state.book.seq_id == 3
    assert state.apply(item(5, 3, asks=[lv("100.7", "2")]), "update").applied
    assert state.book.seq_id == 5
    assert state.book.asks[0] == (Decimal("100.6"), Decimal("3"))
    assert state.book.asks[1] == (Decimal("100.7"), Decimal("2"))


def test_gap_needs_resync_then_snapshot_recovers() -> None:
    state = BookState("X")
    state.apply(snapshot(10), "snapshot")
    assert state.apply(item(20, 16), "update") == ApplyResult("resync", "gap")
    # Until a new snapshot, every update is refused.
    assert state.apply(item(21, 20), "update") == ApplyResult("resync", "no-snapshot")
    assert state.apply(snapshot(30), "snapshot").applied
    assert state.apply(item(31, 30, bids=[lv("1", "1")]), "update").applied
    assert state.synced


def test_reset_with_wrong_prev_is_invalid() -> None:
    state = BookState("X")
    state.apply(snapshot(10), "snapshot")
    assert state.apply(item(3, 12), "update") == ApplyResult("resync", "reset-invalid")


def test_update_before_snapshot() -> None:
    state = BookState("X")
    assert state.apply(item(11, 10, bids=[lv("1", "1")]), "update") == ApplyResult(
        "resync", "no-snapshot"
    )
    assert state.book.seq_id is None
    assert state.book.bids == []


def test_action_none_is_inferred_from_prev_seq_id() -> None:
    state = BookState("X")
    assert state.apply(snapshot(10), None).applied
    assert state.apply(item(11, 10, bids=[lv("100.5", "9")]), None).applied
    assert state.book.best_bid == (Decimal("100.5"), Decimal("9"))
    with pytest.raises(ValueError, match="action"):
        state.apply(item(12, 11), "partial")


# --- level rules (7.3) ---------------------------------------------------------


def test_insert_replace_delete_and_zero_for_absent_price() -> None:
    state = BookState("X")
    state.apply(snapshot(1), "snapshot")
    state.apply(
        item(
            2,
            1,
            bids=[lv("100.45", "7"), lv("100.4", "0"), lv("99", "0")],
            asks=[lv("100.8", "6", "4"), lv("100.55", "1")],
        ),
        "update",
    )
    book = state.book
    assert book.raw_bids() == [("100.5", "2"), ("100.45", "7")]
    assert book.raw_asks() == [("100.55", "1"), ("100.6", "3"), ("100.8", "6"), ("101", "4")]
    assert book.best_bid == (Decimal("100.5"), Decimal("2"))
    assert book.best_ask == (Decimal("100.55"), Decimal("1"))


def test_same_price_other_spelling_is_the_same_level() -> None:
    state = BookState("X")
    state.apply(snapshot(1), "snapshot")
    state.apply(item(2, 1, bids=[lv("100.50", "4")]), "update")
    assert state.book.raw_bids() == [("100.50", "4"), ("100.4", "1")]
    state.apply(item(3, 2, bids=[lv("100.5", "0")]), "update")
    assert state.book.raw_bids() == [("100.4", "1")]


def test_truncate_to_depth() -> None:
    state = BookState("X", "books", depth=2)
    state.apply(snapshot(1), "snapshot")
    assert state.book.raw_asks() == [("100.6", "3"), ("100.8", "1")]
    state.apply(item(2, 1, bids=[lv("100.6", "1")], asks=[lv("100.55", "1")]), "update")
    assert state.book.raw_bids() == [("100.6", "1"), ("100.5", "2")]
    assert state.book.raw_asks() == [("100.55", "1"), ("100.6", "3")]
    assert BookState("X", "books50-l2-tbt").depth == 50
    with pytest.raises(ValueError, match="depth"):
        BookState("X", depth=0)


@pytest.mark.parametrize("channel", ["books5", "bbo-tbt"])
def test_full_book_channels_replace_the_book(channel: str) -> None:
    state = BookState("X", channel)
    depth = CHANNEL_DEPTHS[channel]
    first = {
        "asks": [lv(str(110 + i), "1") for i in range(5)],
        "bids": [lv(str(100 - i), "1") for i in range(5)],
        "ts": "1",
        "seqId": 7,
        "instId": "X",
    }
    assert state.apply(first, None).applied
    assert len(state.book.asks) == depth
    second = {"asks": [lv("111", "2")], "bids": [lv("99", "3")], "ts": "2", "seqId": 9}
    assert state.apply(second, None).applied
    assert state.book.raw_asks() == [("111", "2")]
    assert state.book.raw_bids() == [("99", "3")]
    assert state.book.seq_id == 9
    assert state.book.ts == 2


def test_malformed_levels_raise_value_error() -> None:
    state = BookState("X")
    with pytest.raises(ValueError, match="price"):
        state.apply(item(1, -1, bids=[lv("abc", "1")]), "snapshot")
    with pytest.raises(ValueError, match="bids"):
        state.apply({"bids": "nope", "seqId": 1, "prevSeqId": -1}, "snapshot")
    with pytest.raises(ValueError, match="seqId"):
        state.apply({"bids": [], "seqId": "x", "prevSeqId": -1}, "snapshot")


def test_order_book_read_only_view() -> None:
    book = OrderBook("ETH-USDT")
    assert book.best_bid is None
    assert book.best_ask is None
    assert book.bids == []
    assert book.asks == []
    assert book.depth == 400
    assert book.checksum() == okx_book_checksum([], [])
    state = BookState("ETH-USDT", book=book)
    state.apply(snapshot(5), "snapshot")
    assert state.book is book
    assert "ETH-USDT" in repr(book)
    assert "seq_id=5" in repr(book)
    assert book.inst_id == "ETH-USDT"
    assert book.ts == 1700000000000


# --- REST resync procedure (7.4) -------------------------------------------------


def synced_state() -> BookState:
    state = BookState("X")
    state.apply(snapshot(10), "snapshot")
    return state


def rest_snapshot(seq: int) -> dict[str, Any]:
    return {"asks": [lv("101", "1")], "bids": [lv("99", "1")], "ts": "5", "seqId": seq}


def test_rest_resync_drops_covered_updates_and_applies_the_rest() -> None:
    state = synced_state()
    state.start_resync()
    assert state.resyncing
    assert not state.synced
    assert state.apply(item(12, 10, bids=[lv("98", "1")]), "update").status == "buffered"
    assert state.buffer(item(14, 12, bids=[lv("97", "1")])).status == "buffered"
    assert state.apply(item(16, 14, asks=[lv("102", "2")]), "update").status == "buffered"
    assert state.buffered == 3
    # Snapshot at 13: update 12 is covered; 14 straddles (12 <= 13 < 14).
    result = state.apply_rest_snapshot(rest_snapshot(13))
    assert result == ApplyResult("applied")
    assert state.synced
    assert not state.resyncing
    assert state.buffered == 0
    assert state.book.raw_bids() == [("99", "1"), ("97", "1")]
    assert state.book.raw_asks() == [("101", "1"), ("102", "2")]
    assert state.book.seq_id == 16
    assert state.apply(item(17, 16), "update").applied


def test_rest_snapshot_older_than_buffer_is_stale() -> None:
    state = synced_state()
    state.start_resync()
    state.apply(item(20, 18), "update")
    assert state.apply_rest_snapshot(rest_snapshot(15)) == ApplyResult("resync", "stale-snapshot")
    assert state.resyncing
    assert state.buffered == 1
    assert state.apply_rest_snapshot(rest_snapshot(19)).applied
    assert state.book.seq_id == 20


def test_rest_resync_gap_in_buffer_restarts_the_buffer() -> None:
    state = synced_state()
    state.start_resync()
    state.apply(item(12, 10), "update")
    state.apply(item(20, 15), "update")  # 12 -> 15 missing: the buffer starts over at 20
    assert state.buffered == 1
    assert state.restarts == 1
    # A snapshot between the two cannot be joined to what is left: fetch again.
    assert state.apply_rest_snapshot(rest_snapshot(12)) == ApplyResult("resync", "stale-snapshot")
    assert not state.synced
    assert state.apply_rest_snapshot(rest_snapshot(16)).applied
    assert state.book.seq_id == 20


def test_rest_snapshot_with_empty_buffer_then_straddling_live_update() -> None:
    state = synced_state()
    state.start_resync()
    assert state.apply_rest_snapshot(rest_snapshot(13)).applied
    assert state.book.seq_id == 13
    # A late update already in the snapshot is ignored, the next may straddle.
    assert state.apply(item(12, 11, bids=[lv("50", "1")]), "update").status == "stale"
    assert state.apply(item(13, 13), "update").heartbeat
    assert state.apply(item(15, 12, bids=[lv("98", "3")]), "update").applied
    assert state.book.raw_bids() == [("99", "1"), ("98", "3")]
    assert state.apply(item(16, 15), "update").applied


def test_rest_snapshot_then_live_update_beyond_it_is_a_gap() -> None:
    state = synced_state()
    state.start_resync()
    state.apply_rest_snapshot(rest_snapshot(13))
    assert state.apply(item(18, 16), "update") == ApplyResult("resync", "gap")


def test_ws_snapshot_during_resync_ends_it() -> None:
    state = synced_state()
    state.start_resync()
    state.apply(item(12, 10), "update")
    assert state.apply(snapshot(40), "snapshot").applied
    assert not state.resyncing
    assert state.buffered == 0
    assert state.synced
    assert state.apply(item(41, 40), "update").applied


def test_rest_snapshot_without_seq_id() -> None:
    state = synced_state()
    state.start_resync()
    with pytest.raises(ValueError, match="seqId"):
        state.apply_rest_snapshot({"asks": [], "bids": []})


# --- random streams against a naive reference book ------------------------------


class NaiveBook:
    """Reference: dicts of price string -> size string, sorted on demand."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}

    def side(self, levels: dict[str, str], descending: bool) -> list[tuple[str, str]]:
        ordered = sorted(levels.items(), key=lambda kv: Decimal(kv[0]), reverse=descending)
        return ordered[: self.depth]

    def apply(self, bids: list[list[str]], asks: list[list[str]]) -> None:
        for book, levels, desc in ((self.bids, bids, True), (self.asks, asks, False)):
            for px, sz, *_ in levels:
                if sz == "0":
                    book.pop(px, None)
                else:
                    book[px] = sz
            if len(book) > self.depth:
                kept = dict(self.side(book, desc))
                book.clear()
                book.update(kept)

    def checksum(self) -> int:
        return okx_book_checksum(
            [list(x) for x in self.side(self.bids, True)],
            [list(x) for x in self.side(self.asks, False)],
        )


def price(tick: int) -> str:
    return f"{tick // 10}.{tick % 10}"


def random_levels(rng: random.Random, lo: int, hi: int, n: int) -> list[list[str]]:
    out = []
    for _ in range(n):
        tick = rng.randrange(lo, hi)
        size = "0" if rng.random() < 0.35 else f"{rng.randrange(1, 5000) / 100:g}"
        out.append(lv(price(tick), size, str(rng.randrange(1, 9))))
    return out


def test_random_10000_updates_match_naive_book() -> None:
    """10 000 random updates on a 400-level book, every pushed checksum verified.

    Measured on the dev machine (same generator, outside pytest): BookState
    applies 10 000 updates of 0-5 levels per side to a ~400-level book in about
    0.10 s (~10 µs per update); verifying a non-zero checksum adds ~11 µs per
    update. Most of this test's time is the naive reference book.
    """
    rng = random.Random(20260501)
    depth = 400
    ref = NaiveBook(depth)
    state = BookState("BTC-USDT", "books")
    mid = 50_000
    snap_bids = [lv(price(mid - 1 - i), "1") for i in range(depth)]
    snap_asks = [lv(price(mid + 1 + i), "2") for i in range(depth)]
    ref.apply(snap_bids, snap_asks)
    assert state.apply(
        item(1, -1, bids=snap_bids, asks=snap_asks, checksum=ref.checksum()), "snapshot"
    ).applied
    seq = 1
    for n in range(10_000):
        bids = random_levels(rng, mid - 600, mid, rng.randrange(0, 6))
        asks = random_levels(rng, mid + 1, mid + 601, rng.randrange(0, 6))
        ref.apply(bids, asks)
        # Every 8th update carries a real checksum, the others the live 0.
        checksum = ref.checksum() if n % 8 == 0 else 0
        new_seq = seq if not bids and not asks else seq + rng.randrange(1, 4)
        result = state.apply(item(new_seq, seq, bids=bids, asks=asks, checksum=checksum), "update")
        assert not result.needs_resync, (n, result)
        seq = new_seq
    book = state.book
    assert book.raw_bids() == ref.side(ref.bids, True)
    assert book.raw_asks() == ref.side(ref.asks, False)
    assert book.bids == [(Decimal(p), Decimal(s)) for p, s in ref.side(ref.bids, True)]
    assert len(book.bids) > 300  # the random walk keeps the book deep
    assert book.checksum() == ref.checksum()
    assert book.seq_id == seq


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["0", "1", "2.5", "10"]))),
            st.lists(st.tuples(st.integers(41, 80), st.sampled_from(["0", "3", "0.01"]))),
        ),
        max_size=30,
    ),
    st.integers(1, 12),
)
def test_property_small_books_match_reference(
    updates: list[tuple[list[tuple[int, str]], list[tuple[int, str]]]], depth: int
) -> None:
    ref = NaiveBook(depth)
    state = BookState("X", "books", depth=depth)
    state.apply(item(0, -1), "snapshot")
    for seq, (raw_bids, raw_asks) in enumerate(updates):
        bids = [lv(price(t), s) for t, s in raw_bids]
        asks = [lv(price(t), s) for t, s in raw_asks]
        ref.apply(bids, asks)
        result = state.apply(item(seq + 1, seq, bids=bids, asks=asks), "update")
        assert result.applied
        assert state.book.raw_bids() == ref.side(ref.bids, True)
        assert state.book.raw_asks() == ref.side(ref.asks, False)
    assert state.book.checksum() == ref.checksum()
