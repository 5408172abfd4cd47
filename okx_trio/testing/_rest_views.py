"""What the REST endpoints show of the exchange: market data, orders, fills, balances.

Read-only views of a ``Venue``, each returning the ``data``
items of one OKX endpoint (or ``(code, msg, data)`` where the endpoint can
fail on its own), from the engine's own state: its books and trades (candles
are built from them), its accounts' balances, positions, orders, fills and
bills. The HTTP side (paths, parameters, signatures, limits) is ``._rest``.

History windows are OKX's: fills 3 days (``fills-history`` 3 months), bills
7 days (archive 3 months), orders 7 days (archive 3 months; canceled orders
that never filled are kept 2 hours, and never in the archive), spread trades
7 days, closed positions 3 months. Lists are newest first; ``after``/``before``
cursors are exclusive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from ._candles import Bar, candle_rows
from ._checks import empty, err
from ._engine_model import ZERO, Order, floor_step
from ._render import (
    account_item,
    currency_item,
    instrument_item,
    position_item,
    rest_order_item,
    rest_sprd_item,
    ticker,
)
from ._rest_items import (
    account_config_item,
    bill_item,
    closed_position_item,
    funding_rate_item,
    leverage_item,
    mark_price_item,
    max_size_item,
    public_trade_item,
    rest_fill_item,
    spread_item,
)
from ._venue import Instrument, Venue

RpiBook = Callable[[Instrument, int], tuple[list[list[str]], list[list[str]], int]]
"""``(instrument, depth) -> (bids, asks, seqId)`` of the published ``books-rpi`` book."""

T = TypeVar("T")

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
CANDLES_MAX_BARS = 1440
"""``market/candles`` reaches the latest 1,440 bars."""
HISTORY_CANDLES_MAX_BARS = 20_000
"""How far back ``market/history-candles`` builds bars (OKX: years; the tape is bounded)."""

Result = tuple[str, str, list[dict[str, Any]]]
"""``(code, msg, data)``."""


def page(
    items: Iterable[T], key: Callable[[T], int], *, after: int | None, before: int | None,
    limit: int, ties: bool = False,
) -> list[T]:
    """Up to ``limit`` of ``items`` (newest first) with ``before < key < after``.

    ``ties``: also every following item whose key equals the last one's (OKX's
    positions history returns records of the same ``uTime`` together).
    """
    out: list[T] = []
    for item in items:
        k = key(item)
        if after is not None and k >= after:
            continue
        if before is not None and k <= before:
            break
        if len(out) >= limit and not (ties and out and key(out[-1]) == k):
            break
        out.append(item)
    return out


SourceBook = Callable[[str, str, int], tuple[list[list[str]], list[list[str]], int] | None]
"""``(channel, instId, depth)`` -> a market source's own ``(bids, asks, seqId)``, or ``None``."""


class RestViews:
    """The data of the REST endpoints, read from a venue.

    Args:
        venue: the exchange's state.
        rpi_book: the published ``books-rpi`` book (the publisher keeps its sequence).
        source_book: the market source's own book of a channel (``"books"``,
            ``"books-rpi"``), as ``(bids, asks, seqId)`` or ``None`` (a replay's
            recorded one: REST snapshots then join the replayed channels).
    """

    def __init__(self, venue: Venue, *, rpi_book: RpiBook | None = None,
                 source_book: SourceBook | None = None) -> None:
        self._venue = venue
        self._rpi_book = rpi_book
        self._source_book = source_book

    def knows(self, inst_id: str) -> bool:
        """True if ``inst_id`` is an instrument (not a spread) of the exchange."""
        return inst_id in self._venue.instruments

    def instruments(
        self, inst_type: str, inst_id: str | None = None, inst_family: str | None = None
    ) -> list[dict[str, Any]]:
        """Items of ``GET /api/v5/public/instruments`` (spreads are not listed).

        ``inst_family`` (OKX's ``instFamily``, or the older ``uly``) keeps only
        that family's derivatives.
        """
        out = []
        for inst in self._venue.instruments.values():
            spec = inst.spec
            if spec.inst_type != inst_type or (inst_id and spec.inst_id != inst_id):
                continue
            if inst_family and spec.inst_family != inst_family:
                continue
            out.append(instrument_item(spec))
        return out

    def currency_codes(self) -> list[str]:
        """Every currency the exchange knows: balances, spot and spread pairs, settlements."""
        found: set[str] = set()
        for acct in self._venue.accounts.values():
            found.update(acct.balances)
        for inst in self._venue.all_insts():
            spec = inst.spec
            found.update((spec.base_ccy, spec.quote_ccy, spec.settle_ccy))
        found.discard("")
        return sorted(found)

    def currencies(self, ccys: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Items of ``GET /api/v5/asset/currencies``: one chain per currency.

        Deposits and withdrawals do not exist here; the items say what a client
        needs to list the currency (``ccy``, ``name``, ``chain``, flags, limits).
        """
        out = []
        for ccy in self.currency_codes():
            if ccys and ccy not in ccys:
                continue
            out.append(currency_item(ccy))
        return out

    def balance(
        self, api_key: str, ccys: Sequence[str] | None, now: int
    ) -> dict[str, Any]:
        """The one item of ``GET /api/v5/account/balance`` (as the ``account`` channel's).

        Without ``ccys`` the details list every currency with a balance.
        """
        acct = self._venue.accounts[api_key]
        if ccys:
            chosen = [c for c in ccys if c in acct.balances]
        else:
            chosen = [c for c, v in acct.balances.items() if v or acct.frozen.get(c)]
        return account_item(self._venue, acct, chosen, now)

    def books(self, inst_id: str, sz: int, now: int) -> dict[str, Any]:
        """``GET /api/v5/market/books`` item: the published ``books`` levels and their seqId.

        Raises:
            KeyError: unknown ``inst_id``.
        """
        inst = self._venue.instruments[inst_id]
        depth = max(1, min(int(sz), 400))
        own = self._source_book("books", inst_id, depth) if self._source_book else None
        if own is not None:
            bids, asks, seq = own
            return {"asks": asks, "bids": bids, "ts": str(now), "seqId": seq}
        feed = inst.feeds["books"]
        return {
            "asks": [list(lvl) for lvl in feed.asks[:depth]],
            "bids": [list(lvl) for lvl in feed.bids[:depth]],
            "ts": str(now),
            "seqId": feed.seq_id,
        }


    def books_rpi(self, inst_id: str, sz: int, now: int) -> dict[str, Any]:
        """``GET /api/v5/market/books-rpi`` item: the published ``books-rpi`` levels
        (``[price, totalQty, nonRpiQty, count]``) and that channel's seqId.

        Raises:
            KeyError: unknown ``inst_id``.
        """
        inst = self._venue.instruments[inst_id]
        depth = max(1, min(int(sz), 400))
        own = self._source_book("books-rpi", inst_id, depth) if self._source_book else None
        if own is not None:
            bids, asks, seq = own
            return {"asks": asks, "bids": bids, "ts": str(now), "seqId": seq}
        if self._rpi_book is None:  # pragma: no cover - the engine always gives one
            raise KeyError(inst_id)
        bids, asks, seq = self._rpi_book(inst, depth)
        return {"asks": asks, "bids": bids, "ts": str(now), "seqId": seq}
    def order(
        self, api_key: str, inst_id: str | None, ord_id: str | None, cl_ord_id: str | None
    ) -> tuple[str, str, list[dict[str, Any]]]:
        """``GET /api/v5/trade/order``: ``(code, msg, data)``."""
        if not inst_id:
            return (*empty("50014", "instId"), [])
        if inst_id not in self._venue.instruments:
            return (*err("51001"), [])
        if not ord_id and not cl_ord_id:
            return "50015", "Either parameter ordId or clOrdId is required.", []
        order = self._venue.find_order(api_key, ord_id=ord_id, cl_ord_id=cl_ord_id)
        if order is None or order.inst_id != inst_id:
            return (*err("51603"), [])
        return "0", "", [rest_order_item(self._venue, order)]

    def sprd_order(
        self, api_key: str, ord_id: str | None, cl_ord_id: str | None
    ) -> tuple[str, str, list[dict[str, Any]]]:
        """``GET /api/v5/sprd/order``: ``(code, msg, data)``."""
        if not ord_id and not cl_ord_id:
            return "50015", "Either parameter ordId or clOrdId is required.", []
        order = self._venue.find_order(api_key, ord_id=ord_id, cl_ord_id=cl_ord_id)
        if order is None or order.sprd_id is None:
            return (*err("51603"), [])
        return "0", "", [rest_sprd_item(self._venue, order)]

    def orders_pending(
        self,
        api_key: str,
        inst_type: str | None = None,
        inst_id: str | None = None,
        *,
        inst_family: str | None = None,
        ord_type: str | None = None,
        state: str | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/trade/orders-pending`` items, newest first (``ordId`` cursors)."""
        orders = self._orders(api_key, inst_type, inst_id, inst_family, ord_type, state,
                              lambda o: o.pending)
        chosen = page(orders, lambda o: int(o.ord_id), after=after, before=before, limit=limit)
        return [rest_order_item(self._venue, o) for o in chosen]

    def orders_history(
        self,
        api_key: str,
        inst_type: str,
        *,
        archive: bool,
        now: int,
        inst_id: str | None = None,
        inst_family: str | None = None,
        ord_type: str | None = None,
        state: str | None = None,
        begin: int | None = None,
        end: int | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/trade/orders-history(-archive)`` items: completed orders."""
        horizon = now - (90 * DAY_MS if archive else 7 * DAY_MS)

        def kept(o: Order) -> bool:
            if o.pending or o.u_time < horizon:
                return False
            if begin is not None and o.c_time < begin:
                return False
            if end is not None and o.c_time >= end:
                return False
            never_filled = o.state == "canceled" and not o.acc_fill_sz
            return not never_filled or (not archive and o.u_time >= now - 2 * HOUR_MS)

        orders = self._orders(api_key, inst_type, inst_id, inst_family, ord_type, state, kept)
        chosen = page(orders, lambda o: int(o.ord_id), after=after, before=before, limit=limit)
        return [rest_order_item(self._venue, o) for o in chosen]

    def _orders(
        self, api_key: str, inst_type: str | None, inst_id: str | None, inst_family: str | None,
        ord_type: str | None, state: str | None, keep: Callable[[Order], bool],
    ) -> Iterable[Order]:
        """An account's regular orders, newest first, filtered."""
        for order in reversed(self._venue.order_list()):
            if order.api_key != api_key or order.sprd_id is not None or not keep(order):
                continue
            if inst_type and order.inst_type != inst_type:
                continue
            if inst_id and order.inst_id != inst_id:
                continue
            if inst_family and self._venue.instruments[order.inst_id].spec.inst_family != \
                    inst_family:
                continue
            if ord_type and order.ord_type != ord_type:
                continue
            if state and order.state != state:
                continue
            yield order

    # -- market data -------------------------------------------------------------

    def instrument(self, inst_id: str) -> Instrument | None:
        """An instrument (not a spread) by id."""
        return self._venue.instruments.get(inst_id)

    def tickers(self, inst_type: str, inst_family: str | None, now: int) -> list[dict[str, Any]]:
        """``GET /api/v5/market/tickers`` items of one instrument type."""
        return [ticker(inst, str(now)) for inst in self._venue.instruments.values()
                if inst.spec.inst_type == inst_type
                and (not inst_family or inst.spec.inst_family == inst_family)]

    def ticker(self, inst_id: str, now: int) -> dict[str, Any]:
        """The ``GET /api/v5/market/ticker`` item (``KeyError``: unknown instrument)."""
        return ticker(self._venue.instruments[inst_id], str(now))

    def candles(
        self, inst_id: str, bar: str, now: int, *, history: bool, after: int | None,
        before: int | None, limit: int,
    ) -> list[list[str]]:
        """``GET /api/v5/market/(history-)candles`` rows, newest first, from the trades."""
        inst = self._venue.instruments[inst_id]
        ct_val = inst.ct_val
        deriv = inst.spec.is_derivative

        def volumes(px: Decimal, sz: Decimal) -> tuple[Decimal, Decimal, Decimal]:
            if deriv:
                return sz, sz * ct_val, sz * ct_val * px
            return sz, px * sz, px * sz

        rows = candle_rows(list(inst.tape), Bar(bar), now, volumes=volumes,
                           max_bars=HISTORY_CANDLES_MAX_BARS if history else CANDLES_MAX_BARS)
        return page(rows, lambda r: int(r[0]), after=after, before=before, limit=limit)

    def trades(self, inst_id: str, limit: int) -> list[dict[str, Any]]:
        """``GET /api/v5/market/trades`` items: the latest ``limit`` trades."""
        inst = self._venue.instruments[inst_id]
        tape = inst.tape
        return [public_trade_item(inst, tape[-1 - i]) for i in range(min(limit, len(tape)))]

    def history_trades(
        self, inst_id: str, *, by_ts: bool, after: int | None, before: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/market/history-trades`` items (``tradeId`` cursors, or ``ts``)."""
        inst = self._venue.instruments[inst_id]

        def key(t: tuple[int, Decimal, Decimal, str, str]) -> int:
            return t[0] if by_ts else int(t[4])

        chosen = page(reversed(inst.tape), key, after=after, before=before, limit=limit)
        return [public_trade_item(inst, t) for t in chosen]

    def mark_prices(
        self, inst_type: str, inst_family: str | None, inst_id: str | None, now: int
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/public/mark-price`` items."""
        return [mark_price_item(inst, now) for inst in self._venue.instruments.values()
                if inst.spec.inst_type == inst_type
                and (not inst_family or inst.spec.inst_family == inst_family)
                and (not inst_id or inst.inst_id == inst_id)]

    def funding_rate(self, inst_id: str, now: int) -> list[dict[str, Any]]:
        """``GET /api/v5/public/funding-rate`` items (``ANY``: every swap)."""
        return [funding_rate_item(inst, now) for inst in self._venue.instruments.values()
                if inst.spec.inst_type == "SWAP" and inst_id in ("ANY", inst.inst_id)]

    # -- account -------------------------------------------------------------------

    def positions(
        self, api_key: str, inst_type: str | None, inst_ids: Sequence[str],
        pos_ids: Sequence[str], now: int,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/account/positions`` items, newest first (by ``cTime``).

        A flat position is listed only when asked for by ``instId``.
        """
        acct = self._venue.accounts[api_key]
        out = []
        for pos in sorted(acct.positions.values(), key=lambda p: p.c_time, reverse=True):
            inst = self._venue.instruments[pos.inst_id]
            if inst_type and inst.spec.inst_type != inst_type:
                continue
            if inst_ids and pos.inst_id not in inst_ids:
                continue
            if pos_ids and pos.pos_id not in pos_ids:
                continue
            if not pos.pos and not inst_ids:
                continue
            out.append(position_item(self._venue, acct, pos, now))
        return out

    def positions_history(
        self, api_key: str, *, now: int, inst_type: str | None, inst_id: str | None,
        mgn_mode: str | None, type: str | None, pos_id: str | None, after: int | None,
        before: int | None, limit: int,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/account/positions-history`` items (``uTime`` cursors, ties together)."""
        acct = self._venue.accounts[api_key]
        horizon = now - 90 * DAY_MS
        recs = [r for r in reversed(acct.closed_positions)
                if r.u_time >= horizon
                and (not inst_type or r.inst_type == inst_type)
                and (not inst_id or r.inst_id == inst_id)
                and (not mgn_mode or r.mgn_mode == mgn_mode)
                and (not type or r.type == type)
                and (not pos_id or r.pos_id == pos_id)]
        chosen = page(recs, lambda r: r.u_time, after=after, before=before, limit=limit,
                      ties=True)
        return [closed_position_item(r, self._venue.instruments[r.inst_id].spec.inst_family)
                for r in chosen]

    def account_config(self, api_key: str) -> dict[str, Any]:
        """The ``GET /api/v5/account/config`` item."""
        return account_config_item(self._venue.accounts[api_key])

    def leverage_info(self, api_key: str, inst_ids: Sequence[str], mgn_mode: str) -> Result:
        """``GET /api/v5/account/leverage-info``: ``(code, msg, data)``."""
        acct = self._venue.accounts[api_key]
        out = []
        for inst_id in inst_ids:
            inst = self._venue.instruments.get(inst_id)
            if inst is None:
                return (*err("51001"), [])
            out.append(leverage_item(inst, self._venue.lever(acct, inst), mgn_mode))
        return "0", "", out

    def max_size(
        self, api_key: str, inst_ids: Sequence[str], td_mode: str, px: Decimal | None
    ) -> Result:
        """``GET /api/v5/account/max-size``: ``(code, msg, data)``.

        Spot: ``maxBuy`` base currency the available quote buys at ``px`` (default
        the best ask), ``maxSell`` the available base. Derivatives: contracts the
        available margin holds at the account's leverage, both ways.
        """
        acct = self._venue.accounts[api_key]
        out = []
        for inst_id in inst_ids:
            inst = self._venue.instruments.get(inst_id)
            if inst is None:
                return (*err("51001"), [])
            spec = inst.spec
            ask = inst.book.asks.best()
            price = px if px is not None else (ask if ask is not None else inst.mid)
            if spec.is_derivative:
                if td_mode not in ("cross", "isolated"):
                    return (*bad_td_mode(), [])
                per = price * inst.ct_val / self._venue.lever(acct, inst)
                most = floor_step(acct.available(spec.settle_ccy) / per, inst.lot) if per else ZERO
                out.append(max_size_item(inst_id, spec.settle_ccy, most, most))
            else:
                if td_mode != "cash":
                    return (*bad_td_mode(), [])
                buy = floor_step(acct.available(spec.quote_ccy) / price, inst.lot)
                sell = floor_step(acct.available(spec.base_ccy), inst.lot)
                out.append(max_size_item(inst_id, "", max(buy, ZERO), max(sell, ZERO)))
        return "0", "", out

    def bills(
        self, api_key: str, *, now: int, archive: bool, inst_type: str | None,
        inst_id: str | None, ccy: str | None, mgn_mode: str | None, type: str | None,
        sub_type: str | None, begin: int | None, end: int | None, after: int | None,
        before: int | None, limit: int,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/account/bills(-archive)`` items (``billId`` cursors)."""
        horizon = now - (90 * DAY_MS if archive else 7 * DAY_MS)
        recs = [r for r in reversed(self._venue.accounts[api_key].bills)
                if r.ts >= horizon
                and (not inst_type or r.inst_type == inst_type)
                and (not inst_id or r.inst_id == inst_id)
                and (not ccy or r.ccy == ccy)
                and (not mgn_mode or r.mgn_mode == mgn_mode)
                and (not type or r.type == type)
                and (not sub_type or r.sub_type == sub_type)
                and (begin is None or r.ts >= begin)
                and (end is None or r.ts < end)]
        chosen = page(recs, lambda r: int(r.bill_id), after=after, before=before, limit=limit)
        return [bill_item(r) for r in chosen]

    def fills(
        self, api_key: str, *, now: int, history: bool, inst_type: str | None,
        inst_id: str | None, inst_family: str | None, ord_id: str | None,
        sub_type: str | None, begin: int | None, end: int | None, after: int | None,
        before: int | None, limit: int,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/trade/fills(-history)`` items (``billId`` cursors)."""
        horizon = now - (90 * DAY_MS if history else 3 * DAY_MS)
        instruments = self._venue.instruments
        recs = [r for r in reversed(self._venue.accounts[api_key].fills)
                if r.ts >= horizon
                and (not inst_type or r.inst_type == inst_type)
                and (not inst_id or r.inst_id == inst_id)
                and (not inst_family or instruments[r.inst_id].spec.inst_family == inst_family)
                and (not ord_id or r.ord_id == ord_id)
                and (not sub_type or r.sub_type == sub_type)
                and (begin is None or r.ts >= begin)
                and (end is None or r.ts < end)]
        chosen = page(recs, lambda r: int(r.bill_id), after=after, before=before, limit=limit)
        return [rest_fill_item(r) for r in chosen]

    # -- spread trading ------------------------------------------------------------

    def spreads(
        self, base_ccy: str | None, inst_id: str | None, sprd_id: str | None,
        state: str | None,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/sprd/spreads`` items (every simulated spread is ``live``)."""
        if state not in (None, "live"):
            return []
        return [spread_item(sp) for sp in self._venue.spreads.values()
                if (not base_ccy or sp.spec.base_ccy == base_ccy)
                and (not inst_id or inst_id in sp.spec.legs)
                and (not sprd_id or sp.inst_id == sprd_id)]

    def sprd_trades(
        self, api_key: str, *, now: int, sprd_id: str | None, trade_id: str | None,
        ord_id: str | None, begin: int | None, end: int | None, begin_id: int | None,
        end_id: int | None, limit: int,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/sprd/trades`` items (``tradeId`` cursors: ``endId`` older,
        ``beginId`` newer)."""
        horizon = now - 7 * DAY_MS
        items = [t for t in reversed(self._venue.accounts[api_key].sprd_trades)
                 if int(t["ts"]) >= horizon
                 and (not sprd_id or t["sprdId"] == sprd_id)
                 and (not trade_id or t["tradeId"] == trade_id)
                 and (not ord_id or t["ordId"] == ord_id)
                 and (begin is None or int(t["ts"]) >= begin)
                 and (end is None or int(t["ts"]) < end)]
        return page(items, lambda t: int(t["tradeId"]), after=end_id, before=begin_id,
                    limit=limit)

    def sprd_orders_pending(
        self,
        api_key: str,
        *,
        sprd_id: str | None = None,
        ord_type: str | None = None,
        state: str | None = None,
        begin_id: int | None = None,
        end_id: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/sprd/orders-pending`` items: open spread orders, newest first.

        ``begin_id`` keeps orders newer than that ``ordId``, ``end_id`` older ones
        (both exclusive); at most ``limit`` items.
        """
        out: list[dict[str, Any]] = []
        for order in reversed(self._venue.order_list()):
            if len(out) >= limit:
                break
            if order.api_key != api_key or not order.pending or order.sprd_id is None:
                continue
            if sprd_id and order.inst_id != sprd_id:
                continue
            if ord_type and order.ord_type != ord_type:
                continue
            if state and order.state != state:
                continue
            if begin_id is not None and int(order.ord_id) <= begin_id:
                continue
            if end_id is not None and int(order.ord_id) >= end_id:
                continue
            out.append(rest_sprd_item(self._venue, order))
        return out


def bad_td_mode() -> tuple[str, str]:
    """``51000`` for a ``tdMode`` the instrument cannot trade in."""
    return "51000", "Parameter tdMode error"
