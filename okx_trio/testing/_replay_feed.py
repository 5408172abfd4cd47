"""The public channels of a replay: what the recording says they are now.

``ReplayFeed`` takes the recorded pushes and gaps in order and answers,
for each, what the replaying simulator pushes to its subscribers, and what a
fresh subscription gets first. It is pure (no clock, no I/O): the replay's
driver feeds it, the exchange engine asks it.

The rules, for a subscriber to see a stream OKX could have sent:

* Pushes are forwarded as recorded (``arg``, ``data``, ``action`` and the
  other fields), so a recording made from this simulator replays to the same
  push sequence.
* Incremental books (``books``, ``books-l2-tbt``, ``books50-l2-tbt``,
  ``books-rpi``): the recording is the source of truth for ``seqId``. Its first
  snapshot is forwarded as it is; each update that chains on the book's
  ``seqId`` (``prevSeqId`` equal to it: also keepalives and resets) is applied
  and forwarded. An update that does not chain (pushes were lost while
  recording) freezes that book: nothing more is pushed for it until the
  recording has a snapshot again. A later snapshot (the recorder's client
  resubscribed after a reconnect) is not a snapshot for the subscribers, whose
  books are live: it is turned into the update from the book they have to the
  new one, ``prevSeqId`` the last ``seqId`` they got and ``seqId`` the new
  snapshot's (smaller: a sequence reset, which OKX's rules allow).
* ``books5``, ``bbo-tbt`` and ``tickers`` (each push a whole state) keep their
  last push; a new subscriber gets it first. Other channels (``trades``,
  candles...) are forwarded and keep nothing.
* A fresh subscription to a book before the recording's first snapshot of it
  gets nothing first: the recorded snapshot, when it comes, is its first push.

Every change of a book also reaches ``ReplayFeed.on_book``, for the
engine's copy of the recorded liquidity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from .._recording_format import RecordedGap, RecordedPush
from ._emits import Emit
from ._engine_book import book_checksum

__all__ = ["ArgKey", "BookChange", "ReplayFeed", "arg_key"]

log = logging.getLogger("okx_trio.simulator")

INCREMENTAL: Final = frozenset({"books", "books-l2-tbt", "books50-l2-tbt", "books-rpi"})
"""Books pushed as a snapshot then ``seqId``-chained updates."""
WHOLE_STATE: Final = frozenset({"books5", "bbo-tbt", "tickers", "sprd-books5", "sprd-bbo-tbt",
                                "sprd-tickers"})
"""Channels whose every push is the whole state (a new subscriber gets the last one)."""

ArgKey = frozenset[tuple[str, Any]]
"""A channel arg as a hashable key."""
BookChange = tuple[str, str, Sequence[str]]
"""``(side, price, level)``: ``side`` is ``"bids"``/``"asks"``, ``level`` the row as
recorded (size ``"0"``: the level is gone)."""


def arg_key(arg: Mapping[str, Any]) -> ArgKey:
    """The hashable key of a channel arg."""
    return frozenset(arg.items())


def _px(row: Sequence[str]) -> Decimal:
    return Decimal(row[0])


class _Book:
    """One incremental book as the recording has it: levels by price text, and ``seqId``."""

    __slots__ = ("asks", "bids", "checksum", "ever", "live", "seq", "ts", "warned")

    def __init__(self) -> None:
        self.ts = "0"
        """The ``ts`` of the last push applied."""
        self.checksum = False
        """The recorded pushes carry real checksums (so the snapshots made here do too)."""
        self.bids: dict[str, Sequence[str]] = {}
        self.asks: dict[str, Sequence[str]] = {}
        self.seq: int | None = None
        self.live = False
        """Holding a whole book whose chain is intact."""
        self.ever = False
        """A snapshot was forwarded once (the subscribers' books are live)."""
        self.warned = False

    def rows(self, side: str) -> list[Sequence[str]]:
        levels = self.bids if side == "bids" else self.asks
        return sorted(levels.values(), key=_px, reverse=side == "bids")


class ReplayFeed:
    """The replayed public channels (see the module docstring).

    Args:
        channels: the recorded args (only these are served).
        on_book: called with ``(arg, changes, whole)`` for every change of a
            recorded book (``whole``: the changes replace the book as a whole).
        book_snapshots: a fresh subscription to ``books``, ``books-l2-tbt`` or
            ``books50-l2-tbt`` gets the book so far (``False``: not, as OKX
            announced; clients sync from REST, which serves the recorded book).
    """

    def __init__(
        self,
        channels: Sequence[Mapping[str, Any]],
        on_book: Callable[[Mapping[str, Any], list[BookChange], bool], None] | None = None,
        *,
        book_snapshots: bool = True,
    ) -> None:
        self.book_snapshots = book_snapshots
        self.channels: dict[ArgKey, Mapping[str, Any]] = {arg_key(a): dict(a) for a in channels}
        self.on_book = on_book
        self._books: dict[ArgKey, _Book] = {}
        self._last: dict[ArgKey, RecordedPush] = {}
        self.frozen = 0
        """Updates that did not chain (their books froze until a snapshot)."""

    def serves(self, arg: Mapping[str, Any]) -> bool:
        """True when ``arg`` is one of the recorded args."""
        try:
            return arg_key(arg) in self.channels
        except TypeError:
            return False

    # -- records in --------------------------------------------------------------------

    def gap(self, gap: RecordedGap) -> None:
        """Pushes of ``gap.args`` may be missing here: their books wait for a snapshot."""
        for arg in gap.args:
            book = self._books.get(arg_key(arg))
            if book is not None:
                book.live = False

    def push(self, rec: RecordedPush) -> list[Emit]:
        """What the subscribers of ``rec.arg`` get for this recorded push."""
        key = arg_key(rec.arg)
        channel = rec.channel
        if channel in INCREMENTAL:
            data = self._incremental(key, rec)
            if data is None:
                return []
            action = "snapshot" if data is rec.data and rec.action == "snapshot" else "update"
            return [self._emit(rec.arg, data, action, rec.extra)]
        if channel in WHOLE_STATE:
            self._last[key] = rec
            self._whole_state(rec)
        return [self._emit(rec.arg, rec.data, rec.action, rec.extra)]

    def _incremental(self, key: ArgKey, rec: RecordedPush) -> list[Any] | None:
        book = self._books.setdefault(key, _Book())
        if not rec.data or not isinstance(rec.data[0], Mapping):
            return None
        item = rec.data[0]
        seq, prev = item.get("seqId"), item.get("prevSeqId")
        if not isinstance(seq, int) or not isinstance(prev, int):
            return None
        ts = item.get("ts")
        if isinstance(ts, str):
            book.ts = ts
        book.checksum = bool(item.get("checksum"))
        if rec.action == "snapshot":
            new_bids = {row[0]: row for row in item.get("bids", ())}
            new_asks = {row[0]: row for row in item.get("asks", ())}
            if not book.ever:
                book.bids, book.asks, book.seq = new_bids, new_asks, seq
                book.live = book.ever = True
                self._book_changed(rec.arg, book, whole=True)
                return rec.data
            # The subscribers' books are live: the new snapshot becomes an update.
            changes = {side: self._diff(getattr(book, side), new) for side, new in
                       (("bids", new_bids), ("asks", new_asks))}
            last = book.seq
            book.bids, book.asks, book.live = new_bids, new_asks, True
            if seq == last:
                book.seq = seq
                if changes["bids"] or changes["asks"]:
                    log.warning("replay: %s re-snapshot with the same seqId %s but other "
                                "levels; applied without a push", dict(rec.arg), seq)
                    self._book_changed(rec.arg, book, whole=True)
                return None
            book.seq = seq
            self._book_changed(rec.arg, book, whole=True)
            update = {k: v for k, v in item.items() if k not in ("bids", "asks")}
            update.update(bids=changes["bids"], asks=changes["asks"], prevSeqId=last, seqId=seq)
            return [update]
        if not book.live:
            return None
        if prev != book.seq:
            book.live = False
            self.frozen += 1
            if not book.warned:
                book.warned = True
                log.warning("replay: %s update with prevSeqId %s does not follow seqId %s "
                            "(pushes were lost while recording); the book waits for a "
                            "snapshot", dict(rec.arg), prev, book.seq)
            return None
        changed: list[BookChange] = []
        for side in ("bids", "asks"):
            levels: dict[str, Sequence[str]] = getattr(book, side)
            for row in item.get(side, ()):
                px = row[0]
                if Decimal(row[1]) == 0:
                    levels.pop(px, None)
                else:
                    levels[px] = row
                changed.append((side, px, row))
        book.seq = seq
        if changed and self.on_book is not None:
            self.on_book(rec.arg, changed, False)
        return rec.data

    @staticmethod
    def _diff(old: dict[str, Sequence[str]], new: dict[str, Sequence[str]]) -> list[list[str]]:
        out = [list(row) for px, row in new.items() if list(old.get(px, ())) != list(row)]
        out += [[px, "0", *(["0"] * (len(row) - 2))] for px, row in old.items() if px not in new]
        return out

    def _book_changed(self, arg: Mapping[str, Any], book: _Book, *, whole: bool) -> None:
        if self.on_book is None:
            return
        changes: list[BookChange] = [(side, row[0], row) for side in ("bids", "asks")
                                     for row in book.rows(side)]
        self.on_book(arg, changes, whole)

    def _whole_state(self, rec: RecordedPush) -> None:
        if self.on_book is None or not rec.data or not isinstance(rec.data[0], Mapping):
            return
        item = rec.data[0]
        changes: list[BookChange] = []
        if rec.channel in ("tickers", "sprd-tickers"):
            for side, px_field, sz_field in (("bids", "bidPx", "bidSz"),
                                             ("asks", "askPx", "askSz")):
                px, sz = item.get(px_field), item.get(sz_field)
                if isinstance(px, str) and px and isinstance(sz, str) and sz:
                    changes.append((side, px, [px, sz, "0", "1"]))
        else:
            for side in ("bids", "asks"):
                changes += [(side, row[0], row) for row in item.get(side, ())]
        self.on_book(rec.arg, changes, True)

    @staticmethod
    def _emit(arg: Mapping[str, Any], data: list[Any], action: str | None,
              extra: Mapping[str, Any] | None) -> Emit:
        def field(name: str) -> str | None:
            value = arg.get(name)
            return value if isinstance(value, str) else None

        return Emit(str(arg.get("channel")), data, inst_id=field("instId"),
                    inst_type=field("instType"), inst_family=field("instFamily"),
                    sprd_id=field("sprdId"), ccy=field("ccy"), action=action,
                    extra=dict(extra) if extra else None)

    # -- subscriptions ---------------------------------------------------------------

    def book(self, arg: Mapping[str, Any], depth: int
             ) -> tuple[list[list[str]], list[list[str]], int] | None:
        """``(bids, asks, seqId)`` of a recorded incremental book, ``depth`` levels a
        side, or ``None`` when ``arg`` is not recorded (empty before its first snapshot)."""
        key = arg_key(arg)
        if key not in self.channels:
            return None
        book = self._books.get(key)
        if book is None or book.seq is None:
            return [], [], 0
        return ([list(r) for r in book.rows("bids")[:depth]],
                [list(r) for r in book.rows("asks")[:depth]], book.seq)

    def initial_pushes(self, arg: Mapping[str, Any]) -> list[Emit]:
        """What a fresh subscription to a recorded ``arg`` gets first, from the state so far."""
        key = arg_key(arg)
        channel = arg.get("channel")
        if channel in INCREMENTAL:
            book = self._books.get(key)
            if book is None or not book.ever or book.seq is None:
                return []
            if not self.book_snapshots and channel != "books-rpi":
                return []
            asks = [list(r) for r in book.rows("asks")]
            bids = [list(r) for r in book.rows("bids")]
            item: dict[str, Any] = {"asks": asks, "bids": bids, "ts": book.ts}
            if channel != "books-rpi":
                item["checksum"] = book_checksum(bids, asks) if book.checksum else 0
            item.update(prevSeqId=-1, seqId=book.seq)
            return [self._emit(arg, [item], "snapshot", None)]
        last = self._last.get(key)
        if channel in WHOLE_STATE and last is not None:
            return [self._emit(arg, last.data, last.action, last.extra)]
        return []
