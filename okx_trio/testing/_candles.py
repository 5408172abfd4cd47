"""Candlesticks built from the exchange's own trades, as OKX's candle endpoints serve them.

Pure functions over an instrument's public trades (``now`` passed in). A bar
covers ``[start, next start)``; bars are continuous from the first trade on, a
bar without trades taking the previous close with zero volume (OKX: "if no
trade happens in a bar, its o/h/l/c take the previous close"); the newest bar
is still forming (``confirm`` ``"0"``) until its end has passed.

Alignment, as OKX documents it: bar sizes from ``6H`` up open at UTC+8
midnight-based times unless the size ends in ``utc`` (smaller sizes divide
8 hours, so the zone does not matter for them); weeks open on Monday;
``1M``/``3M`` are calendar months (quarters from January). Where OKX anchors
``2D``/``3D`` is not documented: here they count from 1970-01-01.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from ._engine_model import ZERO, fmt

TapeTrade = tuple[int, Decimal, Decimal, str, str]
"""``(ts, px, sz, taker side, tradeId)``."""
Volumes = Callable[[Decimal, Decimal], tuple[Decimal, Decimal, Decimal]]
"""``(px, sz) -> (vol, volCcy, volCcyQuote)`` of one trade."""

_UNIT_MS = {"s": 1_000, "m": 60_000, "H": 3_600_000, "D": 86_400_000, "W": 7 * 86_400_000}
_UTC8_MS = 8 * 3_600_000
_MONDAY_MS = 4 * 86_400_000  # 1970-01-01 was a Thursday; the next Monday is 4 days on


class Bar:
    """One candle size (``1m``, ``4H``, ``1Dutc``, ``1M``...): where its bars start."""

    def __init__(self, name: str) -> None:
        utc = name.endswith("utc")
        core = name[:-3] if utc else name
        try:
            self.n = int(core[:-1])
        except ValueError:
            raise ValueError(f"unknown bar {name!r}") from None
        self.unit = core[-1:]
        if self.unit not in (*_UNIT_MS, "M") or self.n < 1:
            raise ValueError(f"unknown bar {name!r}")
        self.tz = 0 if utc else _UTC8_MS
        self.name = name

    def start(self, ts: int) -> int:
        """The start (Unix ms) of the bar holding ``ts``."""
        local = ts + self.tz
        if self.unit == "M":
            dt = datetime.fromtimestamp(local / 1000, UTC)
            index = (dt.year * 12 + dt.month - 1) // self.n * self.n
            return _month_ms(index) - self.tz
        size = self.n * _UNIT_MS[self.unit]
        anchor = _MONDAY_MS if self.unit == "W" else 0
        return (local - anchor) // size * size + anchor - self.tz

    def shift(self, start: int, bars: int) -> int:
        """The start ``bars`` bars after (negative: before) the bar starting at ``start``."""
        if self.unit == "M":
            dt = datetime.fromtimestamp((start + self.tz) / 1000, UTC)
            index = dt.year * 12 + dt.month - 1 + bars * self.n
            return _month_ms(index) - self.tz
        return start + bars * self.n * _UNIT_MS[self.unit]


def _month_ms(index: int) -> int:
    year, month = divmod(index, 12)
    return int(datetime(year, month + 1, 1, tzinfo=UTC).timestamp() * 1000)


def candle_rows(
    tape: Sequence[TapeTrade],
    bar: Bar,
    now: int,
    *,
    max_bars: int,
    volumes: Volumes,
) -> list[list[str]]:
    """OKX candle rows (``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``), newest
    first: the last ``max_bars`` bars up to the one holding ``now``, from the first
    trade on. ``tape`` is oldest first."""
    if not tape:
        return []
    current = bar.start(now)
    starts = [bar.shift(current, -i) for i in range(max_bars - 1, -1, -1)]
    first_trade_bar = bar.start(tape[0][0])
    starts = [s for s in starts if s >= first_trade_bar]
    if not starts:
        return []
    times = [t[0] for t in tape]
    lo = bisect.bisect_left(times, starts[0])
    prev_close = tape[lo - 1][1] if lo > 0 else None
    buckets: dict[int, list[TapeTrade]] = {}
    for trade in _since(tape, lo):
        if trade[0] > now:
            break
        i = bisect.bisect_right(starts, trade[0]) - 1
        buckets.setdefault(starts[i], []).append(trade)
    rows = []
    for start in starts:
        trades = buckets.get(start)
        confirm = "1" if bar.shift(start, 1) <= now else "0"
        if not trades:
            if prev_close is None:
                continue
            close = fmt(prev_close)
            rows.append([str(start), close, close, close, close, "0", "0", "0", confirm])
            continue
        vol = vol_ccy = vol_quote = ZERO
        for _, px, sz, _, _ in trades:
            v, vc, vq = volumes(px, sz)
            vol += v
            vol_ccy += vc
            vol_quote += vq
        pxs = [t[1] for t in trades]
        rows.append([str(start), fmt(pxs[0]), fmt(max(pxs)), fmt(min(pxs)), fmt(pxs[-1]),
                     fmt(vol), fmt(vol_ccy), fmt(vol_quote), confirm])
        prev_close = pxs[-1]
    rows.reverse()
    return rows


def _since(tape: Sequence[TapeTrade], lo: int) -> Iterable[TapeTrade]:
    for i in range(lo, len(tape)):
        yield tape[i]
