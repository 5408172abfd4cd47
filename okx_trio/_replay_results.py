"""What a replay run leaves for a researcher: fills, book samples, PnL, latencies.

``ReplayResult`` is built by ``okx_trio.replay.run_replay``. It prints a
summary, writes its fills and book samples as JSON lines a notebook loads
(``pandas.read_json(path, lines=True)``), and, with the ``plot`` extra
(matplotlib), draws the price with the fills over it and the equity curve.

PnL, per instrument, in its quote (spot) or settlement (derivatives) currency:
the cash the fills moved (sells in, buys out, times ``ctVal`` for contracts)
plus the position left marked at the last recorded mid price, fees included
(a fee charged in the base currency is valued at its fill's price).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import orjson

from .views import Fill

__all__ = ["BookSample", "InstrumentPnl", "ReplayResult", "write_jsonl"]

ZERO = Decimal(0)


@attrs.frozen
class BookSample:
    """The top of a recorded book after a record changed it."""

    ts: int
    """The exchange's clock (the record's receive time), Unix ms."""
    inst_id: str
    """The instrument."""
    bids: tuple[tuple[Decimal, Decimal], ...]
    """``(price, size)`` best first."""
    asks: tuple[tuple[Decimal, Decimal], ...]
    """``(price, size)`` best first."""

    @property
    def mid(self) -> Decimal | None:
        """The mid price, or the one side's best price, or ``None``."""
        tops = [side[0][0] for side in (self.bids, self.asks) if side]
        return sum(tops, ZERO) / len(tops) if tops else None


@attrs.frozen
class InstrumentPnl:
    """One instrument's result (see the module docstring for the definition)."""

    inst_id: str
    ccy: str
    """The currency of ``cash``, ``fees`` and ``pnl``."""
    bought: Decimal
    """Size bought (base currency or contracts)."""
    sold: Decimal
    cash: Decimal
    """Sells in minus buys out."""
    fees: Decimal
    """Negative when charged, in ``ccy``."""
    position: Decimal
    """Bought minus sold."""
    mark: Decimal | None
    """The last recorded mid price the position is marked at."""
    pnl: Decimal
    """``cash + position x mark (x ctVal) + fees``."""


def _percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@attrs.define
class ReplayResult:
    """The outcome of one replay run (``okx_trio.replay.run_replay``)."""

    recording: str
    """The recording's first file."""
    records: int
    """Records replayed."""
    span: float
    """Seconds of market the recording covers."""
    seed: int
    """The simulator's seed."""
    fills: list[Fill]
    """The account's fills, oldest first, as ``GET /api/v5/trade/fills-history`` gives them."""
    book: list[BookSample]
    """The recorded top of book after each change."""
    latencies: list[float]
    """Seconds from each order op sent to its answer (trio's clock)."""
    orders_sent: int
    """Order ops the bot sent (place, amend, cancel, batches...)."""
    ct_val: Mapping[str, Decimal] = attrs.field(factory=dict)
    """Contract value per derivative instrument."""
    quote_ccy: Mapping[str, str] = attrs.field(factory=dict)
    """The PnL currency per instrument."""
    problems: list[str] = attrs.field(factory=list)
    """What the recording's reader found cut short."""

    # -- figures ------------------------------------------------------------------------

    def last_mid(self, inst_id: str) -> Decimal | None:
        """The last recorded mid price of ``inst_id``."""
        for sample in reversed(self.book):
            if sample.inst_id == inst_id and sample.mid is not None:
                return sample.mid
        return None

    def pnl(self) -> list[InstrumentPnl]:
        """Each traded instrument's PnL (see the module docstring)."""
        out = []
        for inst_id in sorted({f.inst_id for f in self.fills if f.inst_id}):
            ct = self.ct_val.get(inst_id, Decimal(1))
            ccy = self.quote_ccy.get(inst_id, "")
            bought = sold = cash = fees = ZERO
            for f in self.fills:
                if f.inst_id != inst_id or f.fill_px is None or f.fill_sz is None:
                    continue
                value = f.fill_px * f.fill_sz * ct
                if f.side == "buy":
                    bought += f.fill_sz
                    cash -= value
                else:
                    sold += f.fill_sz
                    cash += value
                fee = f.fee or ZERO
                fees += fee if (f.fee_ccy or ccy) == ccy else fee * f.fill_px
            mark = self.last_mid(inst_id)
            position = bought - sold
            pnl = cash + fees + (position * mark * ct if mark is not None else ZERO)
            out.append(InstrumentPnl(inst_id, ccy, bought, sold, cash, fees, position, mark,
                                     pnl))
        return out

    def equity(self) -> list[tuple[int, Decimal]]:
        """``(ts, PnL so far)`` at each book sample and fill, over all instruments
        (one currency assumed: the curve a plot draws)."""
        points: list[tuple[int, Decimal]] = []
        state: dict[str, list[Decimal]] = {}  # inst -> [position, cash+fees, mid]
        events: list[tuple[int, int, Any]] = [(s.ts, 1, s) for s in self.book]
        events += [(f.ts or 0, 0, f) for f in self.fills]
        events.sort(key=lambda e: (e[0], e[1]))
        for ts, kind, item in events:
            if kind == 1:
                if item.mid is None:
                    continue
                state.setdefault(item.inst_id, [ZERO, ZERO, item.mid])[2] = item.mid
            else:
                f: Fill = item
                if f.fill_px is None or f.fill_sz is None or f.inst_id is None:
                    continue
                ct = self.ct_val.get(f.inst_id, Decimal(1))
                s = state.setdefault(f.inst_id, [ZERO, ZERO, f.fill_px])
                sign = 1 if f.side == "buy" else -1
                s[0] += sign * f.fill_sz
                s[1] -= sign * f.fill_px * f.fill_sz * ct
                fee = f.fee or ZERO
                ccy = self.quote_ccy.get(f.inst_id, "")
                s[1] += fee if (f.fee_ccy or ccy) == ccy else fee * f.fill_px
            total = sum((s[1] + s[0] * s[2] * self.ct_val.get(i, Decimal(1))
                         for i, s in state.items()), ZERO)
            points.append((ts, total))
        return points

    def latency_ms(self, q: float) -> float:
        """The ``q``-th percentile of ``latencies``, in ms (NaN without any)."""
        return _percentile(self.latencies, q) * 1000

    # -- output -------------------------------------------------------------------------

    def summary(self) -> str:
        """A few lines for a terminal: the run, fills, PnL with its definition, latencies."""
        buys = sum(1 for f in self.fills if f.side == "buy")
        makers = sum(1 for f in self.fills if f.exec_type == "M")
        lines = [
            f"replay     {self.recording}: {self.records} records, {self.span:.1f} s of market, "
            f"seed {self.seed}",
            f"orders     {self.orders_sent} order ops sent",
            f"fills      {len(self.fills)} ({buys} buys, {len(self.fills) - buys} sells; "
            f"{makers} maker, {len(self.fills) - makers} taker)",
        ]
        for p in self.pnl():
            mark = "-" if p.mark is None else f"{p.mark.normalize():f}"
            lines.append(
                f"PnL        {p.inst_id}: {p.pnl:+.2f} {p.ccy} (cash {p.cash:+.2f}, fees "
                f"{p.fees:+.4f}, position {p.position.normalize():f} at mid {mark})")
        lines.append("           PnL = cash from fills + position at the last recorded mid "
                     "+ fees")
        if self.latencies:
            pct = "  ".join(f"p{q} {self.latency_ms(q):.2f} ms" for q in (50, 90, 99))
            lines.append(f"ack rtt    {pct}  max {max(self.latencies) * 1000:.2f} ms "
                         f"({len(self.latencies)} answers, trio clock)")
        else:
            lines.append("ack rtt    - (no order ops)")
        for problem in self.problems:
            lines.append(f"warning    {problem}")
        return "\n".join(lines)

    def fill_rows(self) -> list[dict[str, Any]]:
        """The fills as plain rows (strings for decimals, as OKX writes them)."""
        return _fill_rows(self.fills)

    def book_rows(self) -> list[dict[str, Any]]:
        """The book samples as plain rows."""
        return _book_rows(self.book)

    def to_jsonl(self) -> bytes:
        """Fills then book samples, one JSON object a line (``type`` tells which)."""
        return _jsonl(self.fills, self.book)

    def write(self, path: str | Path) -> Path:
        """Write ``to_jsonl`` to ``path`` (load it with
        ``pandas.read_json(path, lines=True)``); returns the path."""
        return write_jsonl(path, self.fills, self.book)

    def plot(self, path: str | Path) -> Path:
        """Draw the mid price with the fills over it, and the equity curve, to an
        image file (PNG, SVG... by its suffix); returns the path.

        Raises:
            ImportError: matplotlib is missing: ``pip install 'okx-trio[plot]'``.
        """
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise ImportError("plotting needs the plot extra: pip install 'okx-trio[plot]'",
                              name="matplotlib") from exc
        target = Path(path)
        fig = Figure(figsize=(10, 6))
        FigureCanvasAgg(fig)
        price, equity = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        t0 = min([s.ts for s in self.book] + [f.ts or 0 for f in self.fills] or [0])
        for inst_id in sorted({s.inst_id for s in self.book}):
            samples = [s for s in self.book if s.inst_id == inst_id and s.mid is not None]
            price.plot([(s.ts - t0) / 1000 for s in samples],
                       [float(s.mid) for s in samples if s.mid is not None],
                       linewidth=0.8, label=f"{inst_id} mid")
        for side, marker, colour in (("buy", "^", "tab:green"), ("sell", "v", "tab:red")):
            chosen = [f for f in self.fills if f.side == side and f.fill_px is not None]
            price.scatter([((f.ts or t0) - t0) / 1000 for f in chosen],
                          [float(f.fill_px or 0) for f in chosen], marker=marker, color=colour,
                          label=f"{side} fills", zorder=3)
        price.set_ylabel("price")
        price.legend(loc="best")
        curve = self.equity()
        equity.plot([(t - t0) / 1000 for t, _ in curve], [float(v) for _, v in curve],
                    color="tab:blue", linewidth=1)
        equity.set_ylabel("PnL")
        equity.set_xlabel("seconds into the recording")
        fig.tight_layout()
        fig.savefig(target)
        return target


def _fill_rows(fills: Iterable[Fill]) -> list[dict[str, Any]]:
    return [{
        "type": "fill", "ts": f.ts, "instId": f.inst_id, "side": f.side,
        "px": _text(f.fill_px), "sz": _text(f.fill_sz), "fee": _text(f.fee),
        "feeCcy": f.fee_ccy, "execType": f.exec_type, "ordId": f.ord_id,
        "clOrdId": f.cl_ord_id, "tradeId": f.trade_id, "billId": f.bill_id,
    } for f in fills]


def _book_rows(book: Iterable[BookSample]) -> list[dict[str, Any]]:
    return [{
        "type": "book", "ts": s.ts, "instId": s.inst_id,
        "bids": [[_text(p), _text(z)] for p, z in s.bids],
        "asks": [[_text(p), _text(z)] for p, z in s.asks],
        "mid": _text(s.mid),
    } for s in book]


def _jsonl(fills: Iterable[Fill], book: Iterable[BookSample]) -> bytes:
    return b"".join(orjson.dumps(row, option=orjson.OPT_SORT_KEYS) + b"\n"
                    for row in [*_fill_rows(fills), *_book_rows(book)])


def write_jsonl(path: str | Path, fills: Iterable[Fill], book: Iterable[BookSample]) -> Path:
    """Write a run's fills, then its book samples, to ``path`` as JSON lines, one
    object a line with its ``type`` (``"fill"`` or ``"book"``), decimals as strings;
    a notebook loads it with ``pandas.read_json(path, lines=True)``. The format of
    ``ReplayResult.write``; ``okx-trio demo --out`` writes it too. Returns the path."""
    target = Path(path)
    target.write_bytes(_jsonl(fills, book))
    return target


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")
