"""BookState's REST resync, sans-I/O: OKX's recipe, the buffer's chain and cap, RPI levels."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from okx_trio._orderbook import ApplyResult, BookState


def update(seq: int, prev: int, bids: list[list[str]] | None = None) -> dict[str, Any]:
    return {"asks": [], "bids": bids or [], "ts": "1", "prevSeqId": prev, "seqId": seq}


def rest(seq: int, bids: list[list[str]] | None = None) -> dict[str, Any]:
    return {"asks": [["101", "1", "0", "1"]], "bids": bids or [["99", "1", "0", "1"]],
            "ts": "1", "seqId": seq}


def resyncing(**kwargs: Any) -> BookState:
    state = BookState("X", **kwargs)
    state.start_resync()
    return state


def test_okx_recipe_end_to_end() -> None:
    state = resyncing()
    for seq, prev in ((12, 10), (14, 12), (17, 14)):
        assert state.apply(update(seq, prev, [[str(80 + seq), "1", "0", "1"]]), "update"
                           ).status == "buffered"
    # Older than the first update's prevSeqId (10): fetch again, the buffer is kept.
    assert state.apply_rest_snapshot(rest(9)) == ApplyResult("resync", "stale-snapshot")
    assert state.buffered == 3
    # 14 >= 10: updates with seqId <= 14 are dropped, 17 straddles (14 <= 14 < 17).
    assert state.apply_rest_snapshot(rest(14)).applied
    assert state.book.seq_id == 17
    assert state.book.raw_bids() == [("99", "1"), ("97", "1")]


def test_buffer_overflow_drops_it_and_says_so() -> None:
    state = resyncing(max_buffer=3)
    for seq in (11, 12, 13):
        assert state.buffer(update(seq, seq - 1)).status == "buffered"
    assert state.buffer(update(14, 13)) == ApplyResult("resync", "overflow")
    assert state.buffered == 0
    assert state.overflows == 1
    assert state.resyncing
    # The resync starts over from the next update.
    assert state.buffer(update(15, 14)).status == "buffered"
    assert state.apply_rest_snapshot(rest(14)).applied
    assert state.book.seq_id == 15


def test_broken_chain_restarts_the_buffer() -> None:
    state = resyncing()
    state.buffer(update(12, 10))
    state.buffer(update(20, 15))  # 12 -> 15 missing
    assert state.buffered == 1
    assert state.restarts == 1
    assert state.apply_rest_snapshot(rest(16)).applied
    assert state.book.seq_id == 20


def test_sequence_reset_while_buffering() -> None:
    state = resyncing()
    state.buffer(update(500, 498))
    asked_at = state.epoch  # a snapshot is requested here...
    assert state.buffer(update(3, 500)).status == "buffered"  # ...then a reset arrives
    assert state.buffered == 0
    # The snapshot asked for before the reset may be of the old sequence: refused.
    assert state.apply_rest_snapshot(rest(499), epoch=asked_at) == ApplyResult(
        "resync", "stale-snapshot")
    # Nothing buffered since the reset, and this one is older than it.
    assert state.apply_rest_snapshot(rest(2), epoch=state.epoch) == ApplyResult(
        "resync", "stale-snapshot")
    state.buffer(update(6, 3))
    assert state.apply_rest_snapshot(rest(4), epoch=state.epoch).applied
    assert state.book.seq_id == 6


def test_max_buffer_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_buffer"):
        BookState("X", max_buffer=0)


def test_rpi_levels_keep_total_and_non_rpi() -> None:
    state = BookState("X", "books-rpi")
    assert state.depth == 400
    snap = {"asks": [["101", "5", "2", "3"], ["102", "4", "0", "1"]],
            "bids": [["99", "3", "3", "1"], ["98", "6", "1", "2"]],
            "ts": "1", "prevSeqId": -1, "seqId": 7}
    assert state.apply(snap, "snapshot").applied
    book = state.book
    assert book.bids == [(Decimal("99"), Decimal("3")), (Decimal("98"), Decimal("6"))]
    assert book.non_rpi_bids == [(Decimal("99"), Decimal("3")), (Decimal("98"), Decimal("1"))]
    assert book.non_rpi_asks == [(Decimal("101"), Decimal("2"))]  # 102 holds RPI orders only
    state.apply({"asks": [["101", "5", "5", "4"]], "bids": [["99", "0", "0", "0"]],
                 "ts": "2", "prevSeqId": 7, "seqId": 8}, "update")
    assert book.non_rpi_asks == [(Decimal("101"), Decimal("5"))]
    assert book.non_rpi_bids == [(Decimal("98"), Decimal("1"))]


def test_non_rpi_levels_of_other_channels_are_the_levels() -> None:
    state = BookState("X", "books")
    state.apply({"asks": [["101", "5", "0", "3"]], "bids": [["99", "3", "0", "1"]],
                 "ts": "1", "prevSeqId": -1, "seqId": 7}, "snapshot")
    assert state.book.non_rpi_bids == state.book.bids
    assert state.book.non_rpi_asks == state.book.asks


@pytest.mark.parametrize("level", [["101", "5"], ["101", "5", "6", "1"], ["101", "5", "x", "1"],
                                   ["101", "5", "-1", "1"], ["101", "5", 2, "1"]])
def test_malformed_rpi_level_refused_before_the_book_changes(level: list[Any]) -> None:
    state = BookState("X", "books-rpi")
    with pytest.raises(ValueError, match="nonRpiQty"):
        state.apply({"asks": [level], "bids": [["99", "1", "1", "1"]], "ts": "1",
                     "prevSeqId": -1, "seqId": 7}, "snapshot")
    assert state.book.asks == []
    assert state.book.bids == []
