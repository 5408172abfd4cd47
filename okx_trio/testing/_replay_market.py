"""The replay as the engine's market source: recorded liquidity, recorded trades.

``ReplayMarket`` is the ``_market.MarketSource`` of a replaying
simulator. For each recorded push the driver hands the engine
(``_engine.Exchange.market_event``) it:

1. forwards the push through the ``_replay_feed.ReplayFeed`` (the
   public channels are the recording's: the engine publishes none of its own);
2. copies the recorded book into the engine's book as its synthetic liquidity:
   the deepest book recorded for the instrument (``books``, ``books-l2-tbt``,
   ``books-rpi`` by its non-RPI size, ``books50-l2-tbt``, ``books5``,
   ``bbo-tbt``, else the ``tickers`` best bid and ask). A bot's marketable order
   trades against it at the recorded prices and sizes, and what it takes stays
   taken until the recording changes that level;
3. fills resting orders by the queue model (``QueueModel``): a recorded
   trade at an order's price fills it once the size ahead of it is traded;
   one through its price fills it whole; recorded liquidity on the other side
   reaching its price trades with it, up to that liquidity's size.

Bots' orders never reach the recorded public channels (there is no market
impact on the replayed data); their acks, fills and account pushes are the
engine's, as live.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from .._recording_format import RecordedGap, RecordedPush
from ._emits import Emit
from ._engine_book import Side
from ._engine_model import ZERO, Order
from ._market import MarketMoves, MarketSource, Take
from ._replay_feed import BookChange, ReplayFeed
from ._rules import channel_rule
from ._venue import Instrument

__all__ = ["MIRROR_CHANNELS", "QueueModel", "ReplayMarket"]

MIRROR_CHANNELS: Final = ("books", "books-l2-tbt", "books-rpi", "books50-l2-tbt", "books5",
                          "bbo-tbt", "tickers")
"""The channels an instrument's liquidity is copied from, the first recorded one wins."""
TRADE_CHANNELS: Final = ("trades", "trades-all")
"""The channels resting orders are filled from, the first recorded one wins."""


class QueueModel:
    """Where each resting order stands in the recorded queue of its price level.

    An order joins the back of its level: ahead of it is the recorded size
    there when it arrived (0 at a price the recording had no level at), plus
    the simulator's own orders before it at that price. The recorded size ahead
    only shrinks: by recorded trades at the price, and down to the level's
    recorded size when that drops (cancellations are counted ahead of it, the
    cautious reading). An amend that loses priority (a new price, a larger
    size) joins the back again.
    """

    def __init__(self) -> None:
        self._ahead: dict[str, tuple[int, Decimal]] = {}
        self._by_inst: dict[str, set[str]] = {}

    def ahead(self, order: Order) -> Decimal:
        """The recorded size ahead of ``order`` (0 if it is not tracked)."""
        entry = self._ahead.get(order.ord_id)
        return ZERO if entry is None else entry[1]

    def sync(self, inst: Instrument) -> None:
        """Place orders new at their level (or re-queued) behind its recorded size now;
        forget orders no longer resting."""
        resting: set[str] = set()
        for side in (inst.book.bids, inst.book.asks):
            for px in side.prices():
                lvl = side.levels[px]
                for order in lvl.orders:
                    resting.add(order.ord_id)
                    entry = self._ahead.get(order.ord_id)
                    if entry is None or entry[0] != order.seq:
                        self._ahead[order.ord_id] = (order.seq, lvl.synth)
        for ord_id in self._by_inst.get(inst.inst_id, set()) - resting:
            self._ahead.pop(ord_id, None)
        self._by_inst[inst.inst_id] = resting

    def level_changed(self, side: Side, px: Decimal, size: Decimal) -> None:
        """The recorded size at ``px`` is now ``size``: nobody has more than that ahead."""
        lvl = side.levels.get(px)
        if lvl is None:
            return
        for order in lvl.orders:
            entry = self._ahead.get(order.ord_id)
            if entry is not None and entry[1] > size:
                self._ahead[order.ord_id] = (entry[0], size)

    def trade(self, inst: Instrument, px: Decimal, sz: Decimal,
              taker_side: str) -> list[tuple[Order, Decimal]]:
        """The fills a recorded trade (``sz`` at ``px``, the taker on ``taker_side``)
        gives resting orders, best price then time first."""
        makers = inst.book.bids if taker_side == "sell" else inst.book.asks
        fills: list[tuple[Order, Decimal]] = []
        for level_px in makers.prices():
            if (level_px < px) if makers.is_bid else (level_px > px):
                break
            through = level_px != px
            user_ahead = ZERO
            for order in makers.levels[level_px].orders:
                open_sz = order.leaves
                if through:
                    qty = open_sz
                else:
                    seq, ahead = self._ahead.get(order.ord_id, (order.seq, ZERO))
                    qty = min(open_sz, max(ZERO, sz - ahead - user_ahead))
                    self._ahead[order.ord_id] = (seq, max(ZERO, ahead - sz))
                user_ahead += open_sz
                if qty > 0:
                    fills.append((order, qty))
        return fills


def _best_synth(side: Side) -> Decimal | None:
    for px in side.prices():
        if side.levels[px].synth:
            return px
    return None


class ReplayMarket(MarketSource):
    """The recording as the engine's market (see the module docstring).

    Args:
        channels: the recorded args.
        on_subscribe: called when a client subscribes to a recorded channel
            (the replay may start then).
        book_snapshots: see ``_replay_feed.ReplayFeed``.
    """

    publishes_public = True

    def __init__(self, channels: Sequence[Mapping[str, Any]],
                 on_subscribe: Callable[[], None] | None = None, *,
                 book_snapshots: bool = True) -> None:
        self.feed = ReplayFeed(channels, self._on_book, book_snapshots=book_snapshots)
        self.queue = QueueModel()
        self.on_subscribe = on_subscribe
        self._insts: dict[str, Instrument] = {}
        recorded: dict[str, set[str]] = {}
        for arg in channels:
            inst_id = arg.get("instId")
            if isinstance(inst_id, str):
                recorded.setdefault(inst_id, set()).add(str(arg.get("channel")))
        self.mirror: dict[str, str] = {}
        """instId -> the channel its liquidity is copied from."""
        self.trades: dict[str, str] = {}
        """instId -> the channel its resting orders are filled from."""
        for inst_id, names in recorded.items():
            for channel in MIRROR_CHANNELS:
                if channel in names:
                    self.mirror[inst_id] = channel
                    break
            for channel in TRADE_CHANNELS:
                if channel in names:
                    self.trades[inst_id] = channel
                    break
        self._pending: list[tuple[Instrument, list[BookChange], bool, int]] = []

    # -- MarketSource ----------------------------------------------------------------

    def seed(self, inst: Instrument) -> None:
        """Remember the instrument; its book stays empty until the recording fills it."""
        self._insts[inst.inst_id] = inst

    def advance(self, inst: Instrument, take: Take) -> None:
        """No periodic steps: the recording moves the market."""

    def channel_error(self, path: str, arg: dict[str, Any]) -> tuple[str, str] | None:
        """Market data the recording does not have is refused (60018, naming why);
        ``instruments`` and account channels are the engine's."""
        channel = arg.get("channel")
        rule = channel_rule(channel) if isinstance(channel, str) else None
        if rule is None or rule.account_data or channel == "instruments":
            return None
        if self.feed.serves(arg):
            return None
        desc = ",".join(f"{k}:{v}" for k, v in arg.items())
        return ("60018", f"Wrong URL or {desc} doesn't exist. The replayed recording "
                "has no such channel.")

    def initial_pushes(self, arg: dict[str, Any], now: int) -> list[Emit] | None:
        """A recorded channel's state so far (and the replay may start)."""
        if not self.feed.serves(arg):
            return None
        if self.on_subscribe is not None:
            self.on_subscribe()
        return self.feed.initial_pushes(arg)

    def top(self, inst_id: str, depth: int
            ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """``(bids, asks)``: the recorded liquidity the engine holds for ``inst_id``,
        ``depth`` levels a side, ``(price, size)`` best first."""
        inst = self._insts.get(inst_id)
        if inst is None:
            return [], []
        out: list[list[tuple[Decimal, Decimal]]] = []
        for side in (inst.book.bids, inst.book.asks):
            levels: list[tuple[Decimal, Decimal]] = []
            for px in side.prices():
                synth = side.levels[px].synth
                if synth:
                    levels.append((px, synth))
                    if len(levels) == depth:
                        break
            out.append(levels)
        return out[0], out[1]

    def rest_book(
        self, channel: str, inst_id: str, depth: int
    ) -> tuple[list[list[str]], list[list[str]], int] | None:
        """The recorded book REST snapshots come from: ``books`` (else
        ``books-l2-tbt``, on the same sequence at OKX) or ``books-rpi``."""
        names = ("books", "books-l2-tbt") if channel == "books" else (channel,)
        for name in names:
            found = self.feed.book({"channel": name, "instId": inst_id}, depth)
            if found is not None:
                return found
        return None

    def on_event(self, event: Any, moves: MarketMoves) -> None:
        """Apply one recorded push or gap (see the module docstring)."""
        if isinstance(event, RecordedGap):
            self.feed.gap(event)
            return
        if not isinstance(event, RecordedPush):
            raise TypeError(f"not a recorded push or gap: {event!r}")
        inst = self._insts.get(event.inst_id) if event.inst_id is not None else None
        if inst is not None:
            self.queue.sync(inst)
        self._pending = []
        for emit in self.feed.push(event):
            moves.publish(emit)
        for book_inst, changes, whole, column in self._pending:
            self._mirror(book_inst, changes, whole, column)
            self._uncross(book_inst, moves)
        self._pending = []
        if inst is not None and self.trades.get(inst.inst_id) == event.channel:
            self._trades(inst, event, moves)

    # -- the engine's copy of the recorded book ----------------------------------------

    def _on_book(self, arg: Mapping[str, Any], changes: list[BookChange], whole: bool) -> None:
        inst_id = arg.get("instId")
        inst = self._insts.get(inst_id) if isinstance(inst_id, str) else None
        if inst is None or self.mirror.get(inst.inst_id) != arg.get("channel"):
            return
        column = 2 if arg.get("channel") == "books-rpi" else 1
        self._pending.append((inst, changes, whole, column))

    def _mirror(self, inst: Instrument, changes: list[BookChange], whole: bool,
                column: int) -> None:
        book = inst.book
        sides = {"bids": book.bids, "asks": book.asks}
        if whole:
            keep = {(name, Decimal(px)) for name, px, row in changes if Decimal(row[column])}
            for name, side in sides.items():
                for px in list(side.prices()):
                    if side.levels[px].synth and (name, px) not in keep:
                        side.set_synth(px, ZERO, 0)
                        self.queue.level_changed(side, px, ZERO)
        for name, px_text, row in changes:
            side = sides[name]
            px = Decimal(px_text)
            size = Decimal(row[column])
            count = int(row[3]) if len(row) > 3 and str(row[3]).isdigit() else 1
            side.set_synth(px, size, max(count, 1) if size else 0)
            self.queue.level_changed(side, px, size)
        tops = [px for px in (_best_synth(book.bids), _best_synth(book.asks)) if px is not None]
        if tops:
            # The engine's mid (its price band, USD values) follows the recorded market.
            inst.mid_ticks = max(1, int(sum(tops, ZERO) / len(tops) / inst.tick))

    def _uncross(self, inst: Instrument, moves: MarketMoves) -> None:
        """Recorded liquidity at or through a resting user order's price trades with it."""
        book = inst.book
        for takers, makers, taker_side in ((book.asks, book.bids, "sell"),
                                           (book.bids, book.asks, "buy")):
            for px in list(takers.prices()):
                lvl = takers.levels.get(px)
                if lvl is None or not lvl.synth:
                    continue
                if not makers.user_size(px):
                    break
                synth, count = lvl.synth, lvl.synth_cnt
                filled = moves.take(inst, taker_side, px, synth)
                takers.set_synth(px, synth - filled, count)

    def _trades(self, inst: Instrument, rec: RecordedPush, moves: MarketMoves) -> None:
        for item in rec.data:
            if not isinstance(item, Mapping):
                continue
            try:
                px, sz = Decimal(item["px"]), Decimal(item["sz"])
                side = item["side"]
            except (KeyError, ArithmeticError, TypeError, ValueError):
                continue
            if side not in ("buy", "sell"):
                continue
            inst.last, inst.last_sz = px, sz
            inst.high24h = max(inst.high24h, px)
            inst.low24h = min(inst.low24h, px)
            inst.vol24h += sz
            ts = item.get("ts")
            trade_id = item.get("tradeId")
            if isinstance(ts, str) and ts.isdigit() and isinstance(trade_id, str):
                inst.tape.append((int(ts), px, sz, side, trade_id))
            for order, qty in self.queue.trade(inst, px, sz, side):
                moves.fill(inst, order, qty)
