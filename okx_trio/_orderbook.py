"""A sans-I/O OKX order book: snapshots, seqId chaining, checksums, REST resync.

No I/O and no trio here: ``BookState`` is fed the data items of the
``books``, ``books5``, ``bbo-tbt``, ``books-l2-tbt``, ``books50-l2-tbt`` and
``books-rpi`` channels and answers with an ``ApplyResult``; the caller
(the client's ``order_book()``) decides what to do about a resync.

Rules (OKX's order-book documentation):

* ``action == "snapshot"`` (``prevSeqId == -1``) replaces the book.
* An update must chain: its ``prevSeqId`` equals the last ``seqId``. A reset
  (``seqId < prevSeqId``) is valid when its ``prevSeqId`` chains.
* Empty ``asks`` and ``bids`` with ``seqId == prevSeqId`` is a keepalive.
* A level ``[px, sz, "0", count]`` inserts, replaces or (``sz == "0"``)
  deletes; a ``"0"`` for an absent price is a no-op; the book is then cut to
  the channel's depth.
* ``books5`` and ``bbo-tbt`` pushes are whole books (no ``action``).
* The CRC32 checksum is verified only when the pushed value is non-zero
  (OKX sends 0 since June 2026; ``books-rpi`` has none).
* Nothing malformed is believed: an item that is not an object, a level that
  is not ``[px, sz, ...]`` with plain ASCII decimal strings (the rules of
  ``_formats``), a negative size (``NaN`` and the like are not decimals), or a
  sequence number or checksum that is not an integer raises ``ValueError``
  before the book changes, so the caller resynchronises.
* ``books-rpi`` levels are ``[px, totalQty, nonRpiQty, count]``: ``bids`` and
  ``asks`` carry ``totalQty`` (the whole size, Retail Price Improvement orders
  included), ``non_rpi_bids``/``non_rpi_asks`` the ordinary part.

Resynchronising from REST follows OKX's recipe: buffer the updates (the buffer
must be one unbroken ``prevSeqId`` chain: a break restarts it), take a REST
snapshot with ``seqId``, fetch again if it is older than the first buffered
update's ``prevSeqId``, drop the buffered updates it covers (``seqId <=``
the snapshot's), check that the first kept one satisfies ``prevSeqId <=
snapshot seqId < seqId``, apply the rest. The buffer is capped
(``max_buffer``): on overflow it is dropped and the resync starts over.

Prices and sizes are kept as the strings received (the checksum is defined
over them); ``OrderBook`` exposes them as ``Decimal``.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from ._formats import is_decimal, is_unsigned_decimal, wire_int
from ._okx import BOOK_CHANNEL_DEPTHS, FULL_BOOK_CHANNELS, RPI_BOOK_CHANNELS

__all__ = [
    "DEFAULT_MAX_BUFFER",
    "ApplyResult",
    "BookState",
    "OrderBook",
    "okx_book_checksum",
]

_CHECKSUM_LEVELS: Final = 25
DEFAULT_MAX_BUFFER: Final = 10_000
"""Updates held at most while waiting for a REST snapshot (about 30 s of a busy
tick-by-tick book); beyond it the buffer is dropped and the resync restarts."""

ApplyStatus = Literal["applied", "heartbeat", "resync", "buffered", "stale"]
ResyncReason = Literal[
    "gap", "reset-invalid", "no-snapshot", "checksum", "stale-snapshot", "overflow"
]


@attrs.frozen(slots=True)
class ApplyResult:
    """What applying one data item did to the book.

    ``status`` is one of:

    * ``"applied"``: the book changed (snapshot or update);
    * ``"heartbeat"``: a keepalive, the book is unchanged and still valid;
    * ``"resync"``: the book can no longer be trusted; ``reason`` says why
      (``"gap"``, ``"reset-invalid"``, ``"no-snapshot"``, ``"checksum"``,
      ``"stale-snapshot"`` when a REST snapshot is older than the buffered
      updates and must be fetched again, or ``"overflow"`` when the buffer
      reached ``max_buffer`` and was dropped: the resync starts over);
    * ``"buffered"``: a resync is in progress and the update was kept for later;
    * ``"stale"``: an update already covered by the REST snapshot was ignored.
    """

    status: ApplyStatus
    """See the class docstring."""
    reason: ResyncReason | None = None
    """Why a resync is needed (only for ``status == "resync"``)."""

    @property
    def needs_resync(self) -> bool:
        """True when the book must be rebuilt from a fresh snapshot."""
        return self.status == "resync"

    @property
    def applied(self) -> bool:
        """True when the book changed."""
        return self.status == "applied"

    @property
    def heartbeat(self) -> bool:
        """True for a keepalive update."""
        return self.status == "heartbeat"


APPLIED: Final = ApplyResult("applied")
HEARTBEAT: Final = ApplyResult("heartbeat")
BUFFERED: Final = ApplyResult("buffered")
STALE: Final = ApplyResult("stale")
OVERFLOW: Final = ApplyResult("resync", "overflow")


def okx_book_checksum(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> int:
    """OKX's order-book CRC32 as a signed 32-bit int.

    Args:
        bids: levels ``[px, sz, ...]`` best (highest) first, strings as received.
        asks: levels ``[px, sz, ...]`` best (lowest) first, strings as received.
    """
    parts: list[str] = []
    for i in range(_CHECKSUM_LEVELS):
        if i < len(bids):
            parts.append(bids[i][0])
            parts.append(bids[i][1])
        if i < len(asks):
            parts.append(asks[i][0])
            parts.append(asks[i][1])
    value = zlib.crc32(":".join(parts).encode("ascii"))
    return value - (1 << 32) if value >= 1 << 31 else value


class _Side:
    """One side of the book.

    ``prices`` (Decimal, ascending) and ``strs`` (the same prices as received)
    are parallel sorted lists kept with bisect; ``levels`` maps the price
    string to ``(price, size string, count string, third field string)`` (the
    third field is ``nonRpiQty`` on ``books-rpi``, a deprecated ``"0"``
    elsewhere). Replacing a size is a dict lookup with no Decimal parsing;
    only inserts and deletes touch the sorted lists.
    """

    __slots__ = ("_cache", "descending", "levels", "prices", "strs")

    def __init__(self, descending: bool) -> None:
        self.descending = descending
        self.levels: dict[str, tuple[Decimal, str, str, str]] = {}
        self.prices: list[Decimal] = []
        self.strs: list[str] = []
        self._cache: list[tuple[Decimal, Decimal]] | None = None

    def clear(self) -> None:
        self.levels = {}
        self.prices = []
        self.strs = []
        self._cache = None

    def load(self, raw_levels: Sequence[Sequence[str]]) -> None:
        """Replace the side with ``raw_levels`` (any order; zero sizes skipped)."""
        levels: dict[str, tuple[Decimal, str, str, str]] = {}
        by_price: dict[Decimal, str] = {}
        for level in raw_levels:
            px, sz = level[0], level[1]
            if _is_zero(sz):
                _decimal(px, "price")  # not kept, but not believed either if malformed
                continue
            price = _decimal(px, "price")
            old = by_price.get(price)
            if old is not None:
                # Same price spelled differently: the later level wins.
                del levels[old]
            by_price[price] = px
            levels[px] = (price, sz, _count(level), _third(level))
        order = sorted(by_price)
        self.levels = levels
        self.prices = order
        self.strs = [by_price[p] for p in order]
        self._cache = None

    def update(self, level: Sequence[str]) -> None:
        """Apply one changed level (insert, replace or delete)."""
        px, sz = level[0], level[1]
        self._cache = None
        current = self.levels.get(px)
        if current is not None:
            if _is_zero(sz):
                del self.levels[px]
                i = bisect_left(self.prices, current[0])
                del self.prices[i]
                del self.strs[i]
            else:
                self.levels[px] = (current[0], sz, _count(level), _third(level))
            return
        price = _decimal(px, "price")
        i = bisect_left(self.prices, price)
        if i < len(self.prices) and self.prices[i] == price:
            # Known price under another spelling ("100.50" for "100.5").
            del self.levels[self.strs[i]]
            if _is_zero(sz):
                del self.prices[i]
                del self.strs[i]
            else:
                self.strs[i] = px
                self.levels[px] = (price, sz, _count(level), _third(level))
            return
        if _is_zero(sz):
            return
        self.prices.insert(i, price)
        self.strs.insert(i, px)
        self.levels[px] = (price, sz, _count(level), _third(level))

    def truncate(self, depth: int) -> None:
        """Keep only the ``depth`` best levels."""
        excess = len(self.prices) - depth
        if excess <= 0:
            return
        self._cache = None
        if self.descending:
            # Best bids are at the end: drop the lowest prices.
            for px in self.strs[:excess]:
                del self.levels[px]
            del self.prices[:excess]
            del self.strs[:excess]
        else:
            for px in self.strs[depth:]:
                del self.levels[px]
            del self.prices[depth:]
            del self.strs[depth:]

    def best_strs(self, n: int) -> list[str]:
        """Price strings of the ``n`` best levels, best first."""
        if self.descending:
            return self.strs[: -n - 1 : -1] if n else []
        return self.strs[:n]

    def raw(self, n: int | None = None) -> list[tuple[str, str]]:
        """``(price, size)`` strings as received, best first."""
        strs = self.best_strs(len(self.strs) if n is None else n)
        levels = self.levels
        return [(px, levels[px][1]) for px in strs]

    def decimal_levels(self) -> list[tuple[Decimal, Decimal]]:
        if self._cache is None:
            levels = self.levels
            strs = reversed(self.strs) if self.descending else self.strs
            self._cache = [(levels[px][0], Decimal(levels[px][1])) for px in strs]
        return self._cache

    def third_levels(self) -> list[tuple[Decimal, Decimal]]:
        """``(price, third field)`` best first, levels whose third field is zero left out."""
        levels = self.levels
        strs = reversed(self.strs) if self.descending else self.strs
        out = []
        for px in strs:
            third = levels[px][3]
            if third and not _is_zero(third):
                out.append((levels[px][0], Decimal(third)))
        return out

    def best(self) -> tuple[Decimal, Decimal] | None:
        if not self.strs:
            return None
        px = self.strs[-1] if self.descending else self.strs[0]
        price, sz, _, _ = self.levels[px]
        return (price, Decimal(sz))


def _is_zero(size: str) -> bool:
    # Sizes were checked by _levels (plain non-negative decimals): zero when
    # nothing but "0" and "." is left, with no Decimal parse.
    return size == "0" or not size.strip("0.")


def _decimal(value: str, what: str) -> Decimal:
    # Prices are checked here, when a new price is parsed (a known price string
    # is already in the book): a plain ASCII decimal, never NaN or an exponent.
    if not is_decimal(value):
        raise ValueError(f"order book level {what} {value!r:.40} is not a plain decimal string")
    return Decimal(value)


def _count(level: Sequence[str]) -> str:
    return level[3] if len(level) > 3 else ""


def _third(level: Sequence[str]) -> str:
    return level[2] if len(level) > 2 else ""


class OrderBook:
    """A read-only view of one instrument's order book.

    Maintained by ``BookState`` (and by ``WsClient.order_book``); users
    only read it. ``bids`` are sorted by price descending and ``asks``
    ascending, both as ``(price, size)`` ``Decimal`` pairs.
    """

    __slots__ = ("_asks", "_bids", "channel", "depth", "inst_id", "seq_id", "ts")

    def __init__(self, inst_id: str, channel: str = "books", depth: int | None = None) -> None:
        """Create an empty book (normally done by ``BookState``).

        Args:
            inst_id: the instrument, e.g. ``"BTC-USDT"``.
            channel: the OKX channel that feeds it.
            depth: levels kept per side; default: the channel's depth.
        """
        self.inst_id: str = inst_id
        """The instrument id."""
        self.channel: str = channel
        """The OKX channel that feeds the book."""
        self.depth: int = depth if depth is not None else BOOK_CHANNEL_DEPTHS.get(channel, 400)
        """Levels kept per side."""
        self.seq_id: int | None = None
        """``seqId`` of the last applied push, ``None`` before the first snapshot."""
        self.ts: int | None = None
        """Exchange time of the last applied push (ms), ``None`` before the first."""
        self._bids = _Side(descending=True)
        self._asks = _Side(descending=False)

    def __repr__(self) -> str:
        return (
            f"<OrderBook {self.inst_id} {self.channel} seq_id={self.seq_id} "
            f"bids={len(self._bids.strs)} asks={len(self._asks.strs)} "
            f"best_bid={self.best_bid} best_ask={self.best_ask}>"
        )

    @property
    def bids(self) -> list[tuple[Decimal, Decimal]]:
        """Bid levels, best (highest price) first. A new list on each call."""
        return list(self._bids.decimal_levels())

    @property
    def asks(self) -> list[tuple[Decimal, Decimal]]:
        """Ask levels, best (lowest price) first. A new list on each call."""
        return list(self._asks.decimal_levels())

    @property
    def non_rpi_bids(self) -> list[tuple[Decimal, Decimal]]:
        """Bid ``(price, nonRpiQty)`` levels, best first, on ``books-rpi``: the size an
        order without ``rpiTakerAccess`` can take (levels of RPI orders only are left
        out). On the other channels every level is ordinary: this is ``bids``."""
        if self.channel not in RPI_BOOK_CHANNELS:
            return self.bids
        return self._bids.third_levels()

    @property
    def non_rpi_asks(self) -> list[tuple[Decimal, Decimal]]:
        """Ask ``(price, nonRpiQty)`` levels, best first, on ``books-rpi`` (see
        ``non_rpi_bids``); ``asks`` on the other channels."""
        if self.channel not in RPI_BOOK_CHANNELS:
            return self.asks
        return self._asks.third_levels()

    @property
    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """The highest bid ``(price, size)``, or ``None`` when there is none."""
        return self._bids.best()

    @property
    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """The lowest ask ``(price, size)``, or ``None`` when there is none."""
        return self._asks.best()

    def raw_bids(self, n: int | None = None) -> list[tuple[str, str]]:
        """Bid ``(price, size)`` strings exactly as received, best first."""
        return self._bids.raw(n)

    def raw_asks(self, n: int | None = None) -> list[tuple[str, str]]:
        """Ask ``(price, size)`` strings exactly as received, best first."""
        return self._asks.raw(n)

    def checksum(self) -> int:
        """OKX's CRC32 of the current book (signed), see ``okx_book_checksum``."""
        return okx_book_checksum(self._bids.raw(_CHECKSUM_LEVELS), self._asks.raw(_CHECKSUM_LEVELS))

    def _clear(self) -> None:
        self._bids.clear()
        self._asks.clear()
        self.seq_id = None
        self.ts = None


def _int_field(item: Mapping[str, Any], key: str) -> int | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    try:
        return wire_int(value)
    except (TypeError, ValueError):
        raise ValueError(f"order book field {key!r} is not an integer: {value!r:.60}") from None


def _levels(item: Mapping[str, Any], key: str) -> Sequence[Sequence[str]]:
    """The levels of one side, each checked: ``[px, sz, ...]`` of strings, ``sz`` a
    non-negative plain ASCII decimal (so never ``NaN``, never negative, never a
    number of another type); ``px`` is checked by ``_decimal`` when it is new."""
    value = item.get(key)
    if value is None:
        return ()
    if type(value) is not list:
        raise ValueError(f"order book field {key!r} must be a list, got {type(value).__name__}")
    for level in value:
        # The size of every level here; the price where it is parsed (_decimal).
        if (type(level) is not list or len(level) < 2 or type(level[0]) is not str
                or type(level[1]) is not str or not is_unsigned_decimal(level[1])):
            raise ValueError(f"order book field {key!r}: {_level_fault(level)}")
    return value


def _level_fault(level: Any) -> str:
    """What is wrong with a level (the slow path, for the error message)."""
    if type(level) is not list or len(level) < 2:
        return f"a level must be an array [px, sz, ...], got {level!r:.80}"
    px, sz = level[0], level[1]
    if type(px) is not str or not is_decimal(px):
        return f"level price {px!r:.40} is not a plain decimal string"
    return f"level size {sz!r:.40} is not a non-negative plain decimal string"


def _item(value: Any) -> Mapping[str, Any]:
    if type(value) is dict or isinstance(value, Mapping):
        return value
    raise ValueError(f"an order book item must be an object, got {type(value).__name__}")


class BookState:
    """Sans-I/O keeper of one order book (see the module docstring).

    Feed every data item of the channel's pushes to ``apply``. When it
    answers ``needs_resync``, either resubscribe (the next WS snapshot goes
    through ``apply``) or resync from REST: call ``start_resync``,
    pass live updates to ``apply`` (or ``buffer``) while fetching
    ``GET /api/v5/market/books``, then call ``apply_rest_snapshot``.
    """

    def __init__(
        self,
        inst_id: str,
        channel: str = "books",
        depth: int | None = None,
        *,
        book: OrderBook | None = None,
        max_buffer: int = DEFAULT_MAX_BUFFER,
    ) -> None:
        """Create the state for one instrument and channel.

        Args:
            inst_id: the instrument id.
            channel: one of ``BOOK_CHANNEL_DEPTHS`` (others are treated as
                incremental with depth 400).
            depth: levels kept per side; default: the channel's depth.
            book: an ``OrderBook`` (or subclass) to maintain; default: a
                new one.
            max_buffer: most updates held for a REST resync (see
                ``buffer``).
        """
        if depth is not None and depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if isinstance(max_buffer, bool) or not isinstance(max_buffer, int) or max_buffer < 1:
            raise ValueError(f"max_buffer must be an int >= 1, got {max_buffer!r}")
        self.inst_id = inst_id
        self.channel = channel
        self.book: OrderBook = book if book is not None else OrderBook(inst_id, channel, depth)
        if depth is not None:
            self.book.depth = depth
        self.depth = self.book.depth
        self._full_book = channel in FULL_BOOK_CHANNELS
        self._rpi = channel in RPI_BOOK_CHANNELS
        self._synced = False
        self._resyncing = False
        self.max_buffer = max_buffer
        self._buffer: list[Mapping[str, Any]] = []
        # seqId of the last update the buffer took in (or skipped: a reset), so
        # the next one must chain to it.
        self._buffer_seq: int | None = None
        self._resets = 0
        # After a REST snapshot with no buffered continuation, the first live
        # update may straddle the snapshot (prevSeqId <= seqId_rest < seqId).
        self._rest_seq: int | None = None
        self.overflows = 0
        """Times the buffer reached ``max_buffer`` and was dropped."""
        self.restarts = 0
        """Times a broken chain (or a sequence reset) restarted the buffer."""

    @property
    def synced(self) -> bool:
        """True while the book is valid (a snapshot was applied and no fault seen)."""
        return self._synced

    @property
    def resyncing(self) -> bool:
        """True between ``start_resync`` and a successful snapshot."""
        return self._resyncing

    @property
    def buffered(self) -> int:
        """How many updates are held for the REST resync."""
        return len(self._buffer)

    def apply(self, push_item: Mapping[str, Any], action: str | None = None) -> ApplyResult:
        """Apply one data item of a push.

        Args:
            push_item: one element of ``Push.data``.
            action: the push's ``action`` (``"snapshot"``, ``"update"``, or
                ``None`` for ``books5``/``bbo-tbt``; ``None`` on an incremental
                channel means snapshot when ``prevSeqId == -1``, else update).

        Raises:
            ValueError: the item is malformed: not an object, a level that is not
                ``[px, sz, ...]`` of plain ASCII decimal strings, a negative or
                non-finite size, a sequence number that is not an integer.
        """
        push_item = _item(push_item)
        if self._full_book:
            self._load(push_item)
            self._synced = True
            return APPLIED
        if action is None:
            action = "snapshot" if _int_field(push_item, "prevSeqId") == -1 else "update"
        if action == "snapshot":
            self._resyncing = False
            self._buffer.clear()
            self._buffer_seq = None
            self._rest_seq = None
            self._load(push_item)
            return self._verify(push_item)
        if action != "update":
            raise ValueError(f"unknown order book action {action!r}")
        if self._resyncing:
            return self.buffer(push_item)
        if not self._synced:
            return self._fail("no-snapshot")
        return self._update(push_item)

    def start_resync(self) -> None:
        """Begin a REST resync: the book is invalid and updates are buffered."""
        self._resyncing = True
        self._synced = False
        self._buffer.clear()
        self._buffer_seq = None
        self._rest_seq = None

    @property
    def epoch(self) -> int:
        """Sequence resets met while buffering so far.

        Read it before requesting a REST snapshot and pass it to
        ``apply_rest_snapshot``: a snapshot asked for before a reset may
        belong to the old sequence, whose ``seqId`` values cannot be compared
        with the new ones.
        """
        return self._resets

    def buffer(self, push_item: Mapping[str, Any]) -> ApplyResult:
        """Hold an update until ``apply_rest_snapshot`` (starts a resync if needed).

        The buffer is kept one unbroken chain: an update whose ``prevSeqId`` is
        not the last one's ``seqId`` (something was missed) starts it over from
        that update, and a sequence reset (``seqId < prevSeqId``) empties it
        (the snapshot must then come from after the reset). When the buffer
        holds ``max_buffer`` updates it is dropped and ``resync`` with
        ``"overflow"`` is returned: start the resync over.

        Raises:
            ValueError: the update is malformed (checked now, so it is refused
                when it arrives, not when the REST snapshot is joined to it).
        """
        push_item = _item(push_item)
        self._side(push_item, "bids")
        self._side(push_item, "asks")
        if not self._resyncing:
            self.start_resync()
        seq = _int_field(push_item, "seqId")
        prev = _int_field(push_item, "prevSeqId")
        buf = self._buffer
        if self._buffer_seq is not None and prev != self._buffer_seq:
            buf.clear()
            self.restarts += 1
        if seq is not None and prev is not None and seq < prev:
            buf.clear()
            self._buffer_seq = seq
            self._resets += 1
            self.restarts += 1
            return BUFFERED
        if len(buf) >= self.max_buffer:
            buf.clear()
            self._buffer_seq = None
            self.overflows += 1
            return OVERFLOW
        buf.append(push_item)
        self._buffer_seq = seq
        return BUFFERED

    def apply_rest_snapshot(
        self, snapshot_item: Mapping[str, Any], *, epoch: int | None = None
    ) -> ApplyResult:
        """Install a REST snapshot (``GET /api/v5/market/books`` item with ``seqId``).

        Buffered updates with ``seqId <= snapshot seqId`` are dropped; the first
        kept one must satisfy ``prevSeqId <= snapshot seqId < seqId``; the rest
        are applied in order. ``epoch``: ``epoch`` as read before the
        snapshot was requested (a reset met since makes it stale).

        Returns:
            ``applied`` on success; ``resync`` with ``"stale-snapshot"`` when
            the snapshot is older than the first buffered update (fetch again,
            the buffer is kept); ``resync`` with another reason when the
            buffered stream does not continue the snapshot.

        Raises:
            ValueError: the snapshot has no ``seqId`` or is malformed.
        """
        snapshot_item = _item(snapshot_item)
        snap_seq = _int_field(snapshot_item, "seqId")
        if snap_seq is None:
            raise ValueError("REST order book snapshot has no seqId")
        if self._buffer:
            first_prev = _int_field(self._buffer[0], "prevSeqId")
            if first_prev is not None and snap_seq < first_prev:
                if not self._resyncing:
                    self.start_resync()
                return ApplyResult("resync", "stale-snapshot")
        elif self._buffer_seq is not None and snap_seq < self._buffer_seq:
            # Nothing buffered since a sequence reset, and the snapshot is older.
            return ApplyResult("resync", "stale-snapshot")
        if epoch is not None and epoch != self._resets:
            # Asked for before a sequence reset: it may be of the old sequence.
            return ApplyResult("resync", "stale-snapshot")
        pending = self._buffer
        self._buffer = []
        self._buffer_seq = None
        self._resyncing = False
        self._load(snapshot_item)
        result = self._verify(snapshot_item)
        if result.needs_resync:
            return result
        self._rest_seq = snap_seq
        for item in pending:
            result = self._update(item)
            if result.needs_resync:
                return result
        return APPLIED

    # -- internals ---------------------------------------------------------

    def _side(self, item: Mapping[str, Any], key: str) -> Sequence[Sequence[str]]:
        """The checked levels of one side; on ``books-rpi`` also ``nonRpiQty``, a
        non-negative decimal string no greater than ``totalQty``."""
        levels = _levels(item, key)
        if self._rpi:
            for level in levels:
                if (len(level) < 3 or type(level[2]) is not str
                        or not is_unsigned_decimal(level[2])
                        or Decimal(level[2]) > Decimal(level[1])):
                    raise ValueError(
                        f"order book field {key!r}: a books-rpi level must be "
                        f"[px, totalQty, nonRpiQty, count] with nonRpiQty <= totalQty, "
                        f"got {level!r:.80}"
                    )
        return levels

    def _fail(self, reason: ResyncReason) -> ApplyResult:
        self._synced = False
        self._rest_seq = None
        return ApplyResult("resync", reason)

    def _load(self, item: Mapping[str, Any]) -> None:
        book = self.book
        bids = self._side(item, "bids")
        asks = self._side(item, "asks")  # both sides checked before either changes
        book._bids.load(bids)
        book._asks.load(asks)
        book._bids.truncate(self.depth)
        book._asks.truncate(self.depth)
        book.seq_id = _int_field(item, "seqId")
        book.ts = _int_field(item, "ts")
        self._synced = True

    def _verify(self, item: Mapping[str, Any]) -> ApplyResult:
        expected = item.get("checksum")
        if expected and _int_field(item, "checksum") != self.book.checksum():
            return self._fail("checksum")
        return APPLIED

    def _update(self, item: Mapping[str, Any]) -> ApplyResult:
        book = self.book
        seq = _int_field(item, "seqId")
        prev = _int_field(item, "prevSeqId")
        asks = self._side(item, "asks")
        bids = self._side(item, "bids")
        rest_seq = self._rest_seq
        if rest_seq is not None and seq is not None:
            if seq <= rest_seq:
                # Already contained in the REST snapshot.
                return STALE if (asks or bids or seq != prev) else HEARTBEAT
            if prev is not None and prev > rest_seq:
                return self._fail("gap")
            self._rest_seq = None
        elif prev is not None and prev != book.seq_id:
            is_reset = seq is not None and seq < prev
            return self._fail("reset-invalid" if is_reset else "gap")
        if not asks and not bids and seq == prev:
            book.ts = _int_field(item, "ts") or book.ts
            result = self._verify(item)
            return result if result.needs_resync else HEARTBEAT
        bid_side = book._bids
        for level in bids:
            bid_side.update(level)
        ask_side = book._asks
        for level in asks:
            ask_side.update(level)
        depth = self.depth
        bid_side.truncate(depth)
        ask_side.truncate(depth)
        if seq is not None:
            book.seq_id = seq
        ts = _int_field(item, "ts")
        if ts is not None:
            book.ts = ts
        return self._verify(item)
