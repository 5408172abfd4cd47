"""What the exchange pushes: the pushes at the end of an op, and a subscription's first ones.

``Publisher`` turns what one op or market step changed (a
``Changes``) into the account-level pushes (``account``,
``positions``, ``balance_and_position``) and the public ones (``trades``,
``trades-all``, the book channels with their ``seqId`` chain and optional
CRC32, ``books5``, ``bbo-tbt``, ``tickers`` and the spread channels). It also
answers what a fresh subscription gets first (snapshots) and the keepalive of
a quiet book channel.

``books``, ``books-l2-tbt`` and ``books50-l2-tbt`` share one ``seqId``
sequence per instrument, the one ``GET /api/v5/market/books`` returns, so a
client can sync any of them from that REST snapshot as OKX's recipe does;
``books-rpi`` has its own, the one ``GET /api/v5/market/books-rpi`` returns.
``books-rpi`` levels are ``[price, totalQty, nonRpiQty, count]`` with no
checksum; the simulator has no RPI liquidity, so ``nonRpiQty == totalQty``
(what OKX serves when its RPI state is unavailable).

Readings of OKX that are not confirmed by its documentation: one ``trades``
push per taker side and price with ``count`` the matches aggregated; book
``seqId`` steps of 1-4; a sequence reset starting again below 1000. OKX
announced in 2026 that ``books``, ``books-l2-tbt``, ``books50-l2-tbt`` (and
``books-elp``) stop sending the initial snapshot (clients then take it from
REST); whether that happened is unconfirmed, so a subscription still gets one
unless the simulator runs with ``book_snapshots=False``
(``sim.faults.book_no_snapshot`` withholds one).
"""

from __future__ import annotations

import random
from typing import Any

from ._emits import Changes, Emit
from ._engine_book import BookFeed, Level4
from ._engine_model import Position, fmt
from ._render import (
    account_item,
    bal_item,
    instrument_item,
    pos_data,
    position_item,
    sprd_ticker,
    ticker,
)
from ._venue import Instrument, Venue


def rpi_row(level: Level4) -> Level4:
    """A ``books`` level as a ``books-rpi`` one: ``[price, totalQty, nonRpiQty, count]``;
    no RPI liquidity, so ``nonRpiQty`` is the whole size."""
    return [level[0], level[1], level[1], level[3]]


def _opt(arg: dict[str, Any], name: str) -> str | None:
    value = arg.get(name)
    return value if isinstance(value, str) and value else None


class Publisher:
    """Derives pushes from a ``Venue`` and what changed in it.

    Args:
        venue: the exchange's state.
        rng: the market's random source (``seqId`` steps).
        checksum: put the real CRC32 in book pushes instead of 0.
        book_snapshots: a fresh subscription to ``books``, ``books-l2-tbt`` or
            ``books50-l2-tbt`` gets the initial snapshot (``False``: updates only,
            as OKX announced for 2026).
        public: publish the public market channels (``False`` when the market
            source publishes them: a replay).
    """

    def __init__(
        self, venue: Venue, rng: random.Random, *, checksum: bool, book_snapshots: bool = True,
        public: bool = True,
    ) -> None:
        self.public = public
        self._venue = venue
        self._rng = rng
        # books-rpi's seqId steps have their own source, so adding the channel left
        # every seeded market as it was.
        self._rpi_rng = random.Random(0xB00C5)
        self._checksum = checksum
        self._book_snapshots = book_snapshots

    def flush(self, ctx: Changes) -> None:
        """Append the account-level and public pushes for everything ``ctx`` changed."""
        for api_key, ccys in ctx.ccys.items():
            acct = self._venue.accounts[api_key]
            for ccy in sorted(ccys):
                ctx.emits.append(
                    Emit("account", [account_item(self._venue, acct, [ccy], ctx.now)],
                         api_key=api_key, ccy=ccy, extra={"eventType": "event_update"})
                )
        for api_key, inst_ids in ctx.positions.items():
            acct = self._venue.accounts[api_key]
            for inst_id in sorted(inst_ids):
                inst = self._venue.instruments[inst_id]
                ctx.emits.append(
                    Emit("positions", [position_item(self._venue, acct, acct.positions[inst_id],
                                                           ctx.now)],
                         api_key=api_key, inst_id=inst_id, inst_type=inst.spec.inst_type,
                         inst_family=inst.spec.inst_family or None,
                         extra={"eventType": "event_update"})
                )
        for api_key in sorted(set(ctx.cash) | set(ctx.positions)):
            acct = self._venue.accounts[api_key]
            ctx.emits.append(
                Emit("balance_and_position", [{
                    "pTime": str(ctx.now),
                    "eventType": "filled",
                    "balData": [bal_item(acct, c) for c in sorted(ctx.cash.get(api_key, ()))],
                    "posData": [pos_data(self._venue, acct, acct.positions[i])
                                for i in sorted(ctx.positions.get(api_key, ()))],
                    "trades": ctx.bp_trades.get(api_key, []),
                }], api_key=api_key)
            )
        if not self.public:
            return
        for inst in ctx.insts.values():
            self._publish_trades(ctx, inst)
            self.publish_books(ctx, inst)

    def _publish_trades(self, ctx: Changes, inst: Instrument) -> None:
        trades = ctx.trades.get(inst.inst_id)
        if not trades:
            return
        ts = str(ctx.now)
        if inst.spec.is_spread:
            for px, sz, side, trade_id in trades:
                ctx.emits.append(Emit("sprd-public-trades", [{
                    "sprdId": inst.inst_id, "tradeId": trade_id, "px": fmt(px), "sz": fmt(sz),
                    "side": side, "ts": ts,
                }], sprd_id=inst.inst_id))
            return
        # One trades message per taker side and price, count = matches aggregated.
        groups: list[list[Any]] = []
        for px, sz, side, trade_id in trades:
            if groups and groups[-1][0] == px and groups[-1][2] == side:
                groups[-1][1] += sz
                groups[-1][3] = trade_id
                groups[-1][4] += 1
            else:
                groups.append([px, sz, side, trade_id, 1])
        for px, sz, side, trade_id, count in groups:
            inst.public_trade_seq += 1
            ctx.emits.append(Emit("trades", [{
                "instId": inst.inst_id, "tradeId": trade_id, "px": fmt(px), "sz": fmt(sz),
                "side": side, "ts": ts, "count": str(count), "source": "0",
                "seqId": inst.public_trade_seq,
            }], inst_id=inst.inst_id, inst_type=inst.spec.inst_type))
        for px, sz, side, trade_id in trades:
            ctx.emits.append(Emit("trades-all", [{
                "instId": inst.inst_id, "tradeId": trade_id, "px": fmt(px), "sz": fmt(sz),
                "side": side, "source": "0", "ts": ts,
            }], inst_id=inst.inst_id, inst_type=inst.spec.inst_type))

    def _next_seq(self, feed: BookFeed) -> int:
        if feed.reset_pending:
            feed.reset_pending = False
            return self._rng.randint(0, max(0, min(feed.seq_id - 1, 1000)))
        return feed.seq_id + self._rng.randint(1, 4)

    def publish_books(self, ctx: Changes | None, inst: Instrument) -> None:
        """Diff the book against what was published and emit the book channels.

        With ``ctx`` ``None`` (construction) the state is recorded silently.
        """
        # Without ctx nothing is pushed, so the timestamp in the discarded items is moot.
        ts = str(ctx.now) if ctx is not None else "0"
        book = inst.book
        emits: list[Emit] = []
        if inst.spec.is_spread:
            bids5 = [lvl[:2] + lvl[3:] for lvl in book.bids.top(5)]
            asks5 = [lvl[:2] + lvl[3:] for lvl in book.asks.top(5)]
            key5 = (tuple(map(tuple, bids5)), tuple(map(tuple, asks5)))
            if key5 != inst.last_books5:
                inst.last_books5 = key5
                emits.append(Emit("sprd-books5", [{"asks": asks5, "bids": bids5, "ts": ts}],
                                  sprd_id=inst.inst_id))
            bbo = (key5[0][:1], key5[1][:1])
            if bbo != inst.last_bbo:
                inst.last_bbo = bbo
                emits.append(Emit("sprd-bbo-tbt", [{"asks": asks5[:1], "bids": bids5[:1],
                                                    "ts": ts}], sprd_id=inst.inst_id))
            tick = self._ticker_key(inst, bids5[:1], asks5[:1])
            if tick != inst.last_ticker:
                inst.last_ticker = tick
                emits.append(Emit("sprd-tickers", [sprd_ticker(inst, ts)],
                                  sprd_id=inst.inst_id))
            if ctx is not None:
                ctx.emits.extend(emits)
            return
        all_bids = book.bids.top(400)
        all_asks = book.asks.top(400)
        books = inst.feeds["books"]
        for name, feed in inst.feeds.items():
            bids = all_bids[: feed.depth]
            asks = all_asks[: feed.depth]
            if ctx is None:
                feed.bids, feed.asks = bids, asks
                continue
            if bids == feed.bids and asks == feed.asks:
                continue
            # The feeds are in order, books first: books50-l2-tbt takes the seqId
            # books just got (one sequence per instrument), resets included.
            if feed is books:
                next_seq = self._next_seq(feed)
            else:
                feed.reset_pending = False
                next_seq = books.seq_id
            res = feed.update(bids, asks, next_seq)
            if res is None:  # pragma: no cover - guarded above
                continue
            bid_ch, ask_ch, prev, seq = res
            item = {
                "asks": ask_ch, "bids": bid_ch, "ts": ts,
                "checksum": feed.checksum() if self._checksum else 0,
                "prevSeqId": prev, "seqId": seq,
            }
            channels = ("books", "books-l2-tbt") if feed is books else (name,)
            for ch in channels:
                emits.append(Emit(ch, [dict(item)], inst_id=inst.inst_id,
                                  inst_type=inst.spec.inst_type, action="update"))
            if feed is books:
                emits.append(self._rpi_update(inst, bid_ch, ask_ch, ts))
        seq = inst.feeds["books"].seq_id
        b5 = all_bids[:5]
        a5 = all_asks[:5]
        key5 = (tuple(map(tuple, b5)), tuple(map(tuple, a5)))
        if key5 != inst.last_books5:
            inst.last_books5 = key5
            emits.append(Emit("books5", [{"asks": a5, "bids": b5, "instId": inst.inst_id,
                                          "ts": ts, "seqId": seq}],
                              inst_id=inst.inst_id, inst_type=inst.spec.inst_type))
        bbo = (key5[0][:1], key5[1][:1])
        if bbo != inst.last_bbo:
            inst.last_bbo = bbo
            emits.append(Emit("bbo-tbt", [{"asks": a5[:1], "bids": b5[:1], "ts": ts,
                                           "seqId": seq}],
                              inst_id=inst.inst_id, inst_type=inst.spec.inst_type))
        tick = self._ticker_key(inst, b5[:1], a5[:1])
        if tick != inst.last_ticker:
            inst.last_ticker = tick
            emits.append(Emit("tickers", [ticker(inst, ts)], inst_id=inst.inst_id,
                              inst_type=inst.spec.inst_type))
        if ctx is not None:
            ctx.emits.extend(emits)

    def _rpi_update(
        self, inst: Instrument, bid_changes: list[Level4], ask_changes: list[Level4], ts: str
    ) -> Emit:
        """The ``books-rpi`` push of one ``books`` update: the same level changes as
        ``[price, totalQty, nonRpiQty, count]``, on books-rpi's own sequence."""
        prev = inst.rpi_seq
        if inst.rpi_reset_pending:
            inst.rpi_reset_pending = False
            inst.rpi_seq = self._rpi_rng.randint(0, max(0, min(prev - 1, 1000)))
        else:
            inst.rpi_seq = prev + self._rpi_rng.randint(1, 4)
        return Emit("books-rpi", [{
            "asks": [rpi_row(lvl) for lvl in ask_changes],
            "bids": [rpi_row(lvl) for lvl in bid_changes],
            "ts": ts, "prevSeqId": prev, "seqId": inst.rpi_seq,
        }], inst_id=inst.inst_id, inst_type=inst.spec.inst_type, action="update")

    def rpi_book(self, inst: Instrument, depth: int) -> tuple[list[Level4], list[Level4], int]:
        """``(bids, asks, seqId)`` of the published ``books-rpi`` book, ``depth`` levels."""
        books = inst.feeds["books"]
        return ([rpi_row(lvl) for lvl in books.bids[:depth]],
                [rpi_row(lvl) for lvl in books.asks[:depth]], inst.rpi_seq)

    @staticmethod
    def _ticker_key(
        inst: Instrument, bid: list[list[str]], ask: list[list[str]]
    ) -> tuple[Any, ...]:
        return (tuple(map(tuple, bid)), tuple(map(tuple, ask)), inst.last, inst.vol24h)

    def book_heartbeat(self, inst_id: str, channel: str, now: int) -> Emit | None:
        """The keepalive push for a quiet book channel, or ``None`` if not applicable.

        Incremental channels get an empty update with ``seqId == prevSeqId``;
        ``books5`` and ``bbo-tbt`` resend their current state.
        """
        inst = self._venue.instruments.get(inst_id)
        if inst is None:
            return None
        ts = str(now)
        if channel == "books-rpi":
            return Emit(channel, [{
                "asks": [], "bids": [], "ts": ts,
                "prevSeqId": inst.rpi_seq, "seqId": inst.rpi_seq,
            }], inst_id=inst_id, inst_type=inst.spec.inst_type, action="update")
        feed_name = {"books": "books", "books-l2-tbt": "books",
                     "books50-l2-tbt": "books50-l2-tbt"}.get(channel)
        if feed_name is not None:
            feed = inst.feeds[feed_name]
            return Emit(channel, [{
                "asks": [], "bids": [], "ts": ts,
                "checksum": feed.checksum() if self._checksum else 0,
                "prevSeqId": feed.seq_id, "seqId": feed.seq_id,
            }], inst_id=inst_id, inst_type=inst.spec.inst_type, action="update")
        if channel in ("books5", "bbo-tbt"):
            return self._snapshot_emit(inst, channel, ts)
        return None

    def reset_book_sequence(self, inst_id: str) -> None:
        """Fault: the next book update of ``inst_id`` has ``seqId < prevSeqId`` (a valid reset)."""
        inst = self._venue.instruments[inst_id]
        for feed in inst.feeds.values():
            feed.reset_pending = True
        inst.rpi_reset_pending = True

    def _snapshot_emit(self, inst: Instrument, channel: str, ts: str) -> Emit:
        book = inst.book
        seq = inst.feeds["books"].seq_id
        if channel == "books5":
            data = {"asks": book.asks.top(5), "bids": book.bids.top(5), "instId": inst.inst_id,
                    "ts": ts, "seqId": seq}
        else:
            data = {"asks": book.asks.top(1), "bids": book.bids.top(1), "ts": ts, "seqId": seq}
        return Emit(channel, [data], inst_id=inst.inst_id, inst_type=inst.spec.inst_type)

    def initial_pushes(self, api_key: str | None, arg: dict[str, Any], now: int) -> list[Emit]:
        """What a fresh subscription to ``arg`` gets first ([] if the channel has none)."""
        channel = arg.get("channel")
        ts = str(now)
        inst_id = arg.get("instId")
        inst = self._venue.instruments.get(inst_id) if isinstance(inst_id, str) else None
        if channel == "books-rpi" and inst is not None:
            bids, asks, seq = self.rpi_book(inst, 400)
            return [Emit(channel, [{"asks": asks, "bids": bids, "ts": ts, "prevSeqId": -1,
                                    "seqId": seq}],
                         inst_id=inst.inst_id, inst_type=inst.spec.inst_type, action="snapshot")]
        if channel in ("books", "books-l2-tbt", "books50-l2-tbt") and inst is not None:
            if not self._book_snapshots:
                return []
            feed = inst.feeds["books" if channel != "books50-l2-tbt" else "books50-l2-tbt"]
            return [Emit(channel, [{
                "asks": [list(lvl) for lvl in feed.asks],
                "bids": [list(lvl) for lvl in feed.bids],
                "ts": ts,
                "checksum": feed.checksum() if self._checksum else 0,
                "prevSeqId": -1,
                "seqId": feed.seq_id,
            }], inst_id=inst.inst_id, inst_type=inst.spec.inst_type, action="snapshot")]
        if channel in ("books5", "bbo-tbt") and inst is not None:
            return [self._snapshot_emit(inst, channel, ts)]
        if channel == "tickers" and inst is not None:
            return [Emit("tickers", [ticker(inst, ts)], inst_id=inst.inst_id,
                         inst_type=inst.spec.inst_type)]
        sprd_id = arg.get("sprdId")
        sprd = self._venue.spreads.get(sprd_id) if isinstance(sprd_id, str) else None
        if sprd is not None and channel in ("sprd-books5", "sprd-bbo-tbt", "sprd-tickers"):
            if channel == "sprd-tickers":
                return [Emit(channel, [sprd_ticker(sprd, ts)], sprd_id=sprd.inst_id)]
            depth = 5 if channel == "sprd-books5" else 1
            bids = [lvl[:2] + lvl[3:] for lvl in sprd.book.bids.top(depth)]
            asks = [lvl[:2] + lvl[3:] for lvl in sprd.book.asks.top(depth)]
            return [Emit(channel, [{"asks": asks, "bids": bids, "ts": ts}],
                         sprd_id=sprd.inst_id)]
        if channel == "instruments":
            inst_type = arg.get("instType")
            if not isinstance(inst_type, str):
                return []
            items = [instrument_item(i.spec) for i in self._venue.instruments.values()
                     if i.spec.inst_type == inst_type]
            return [Emit("instruments", items, inst_type=inst_type)]
        acct = self._venue.account_of(api_key)
        if acct is None:
            return []
        snap = {"eventType": "snapshot", "curPage": 1, "lastPage": True}
        if channel == "account":
            ccy = arg.get("ccy")
            if isinstance(ccy, str) and ccy:
                ccys = [ccy] if ccy in acct.balances else []
            else:
                ccys = [c for c, v in acct.balances.items() if v or acct.frozen.get(c)]
            return [Emit("account", [account_item(self._venue, acct, ccys, now)], api_key=api_key,
                         ccy=ccy if isinstance(ccy, str) and ccy else None, extra=snap)]
        if channel == "positions":
            items = [
                position_item(self._venue, acct, pos, now)
                for pos in acct.positions.values()
                if self._pos_matches(pos, arg)
            ]
            return [Emit("positions", items, api_key=api_key, inst_type=_opt(arg, "instType"),
                         inst_family=_opt(arg, "instFamily"), inst_id=_opt(arg, "instId"),
                         extra=snap)]
        if channel == "balance_and_position":
            return [Emit("balance_and_position", [{
                "pTime": ts,
                "eventType": "snapshot",
                "balData": [bal_item(acct, c) for c, v in acct.balances.items() if v],
                "posData": [pos_data(self._venue, acct, p)
                            for p in acct.positions.values() if p.pos],
                "trades": [],
            }], api_key=api_key)]
        return []

    def _pos_matches(self, pos: Position, arg: dict[str, Any]) -> bool:
        spec = self._venue.instruments[pos.inst_id].spec
        if not pos.pos:
            return False
        inst_type = arg.get("instType")
        if inst_type not in (None, "", "ANY") and inst_type != spec.inst_type:
            return False
        family = arg.get("instFamily")
        if family not in (None, "") and family != spec.inst_family:
            return False
        inst_id = arg.get("instId")
        return inst_id in (None, "") or inst_id == pos.inst_id
