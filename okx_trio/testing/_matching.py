"""The matching engine: orders meet the book, fills move balances and positions.

``Matcher`` runs a new or re-priced order against the opposite side
(price-time priority, synthetic "market" liquidity ahead of user orders at the
same price), rests or cancels what is left, applies each fill to both accounts
(fees, cash, frozen amounts, net-mode positions) and records the order pushes
(``orders``, ``fills``, ``sprd-orders``, ``sprd-trades``) in the op's
``Changes``. The account and public pushes follow at the end of
the op (``._publish``).

Modelling choices (OKX's own behaviour is the reference; these are the
simulator's reading of it):

* Fees: spot maker 0.08 % / taker 0.1 % in the received currency; derivatives
  maker 0.02 % / taker 0.05 % of the notional in the settle currency. ``fee`` and
  ``fillFee`` are negative (charged).
* Spot buys freeze ``px x sz`` quote, sells freeze ``sz`` base. Derivatives are
  net-mode positions with linear margin ``px x sz x ctVal / lever`` frozen in the
  settle currency, for resting orders and for open positions; realized PnL and
  fees move the cash balance. Spread trades do not move balances (settlement is
  not modelled).
* Self-trades cancel the resting order (OKX's default ``stpMode``
  ``cancel_maker``, cancelSource "32").
* An order that rests without trading pushes ``live``; one that trades on
  arrival pushes its fills (``partially_filled`` / ``filled``) and, for
  post_only/fok/ioc/market remainders, ``canceled``. ``mmp`` orders behave as
  ``limit``, ``mmp_and_post_only`` and ``rpi`` as ``post_only`` (MMP triggers
  and RPI's retail-only matching are not modelled).
"""

from __future__ import annotations

from decimal import Decimal

from ._emits import Changes, Emit
from ._engine_model import (
    ZERO,
    Account,
    BillRecord,
    ClosedPosition,
    Fill,
    FillRecord,
    Order,
    Position,
    floor_step,
    fmt,
)
from ._render import fill_item, order_item, sprd_leg_item, sprd_order_item, sprd_trade_item
from ._rules import POST_ONLY_TYPES, RESTING_TYPES
from ._venue import Instrument, Venue

MAKER_FEE = Decimal("0.0008")
TAKER_FEE = Decimal("0.001")
DERIV_MAKER_FEE = Decimal("0.0002")
DERIV_TAKER_FEE = Decimal("0.0005")


class Matcher:
    """Matching and settlement over one ``Venue`` (its only state)."""

    def __init__(self, venue: Venue) -> None:
        self._venue = venue

    def execute(self, ctx: Changes, inst: Instrument, order: Order, limit: Decimal) -> None:
        """Run a new (or re-priced) order against the book; rest or cancel what is left."""
        ctx.touch(inst)
        if order.ord_type in POST_ONLY_TYPES and self.would_take(inst, order.side, limit):
            self.cancel_order(ctx, order, "31")
            return
        if order.ord_type == "fok":
            qty, _ = self.peek(inst, order.side, limit, order.api_key, qty=order.leaves)
            if qty < order.leaves:
                self.cancel_order(ctx, order, "13")
                return
        self.match(ctx, inst, order, order.side, limit, order.leaves)
        if not order.pending:
            return
        if order.leaves <= 0:
            return
        if order.ord_type in RESTING_TYPES:
            inst.book.side(order.side).add_order(order)
            if not order.acc_fill_sz and order.state == "live":
                self.push_order(ctx, order)
        else:
            self.cancel_order(ctx, order, "14")

    def execute_sprd(self, ctx: Changes, inst: Instrument, order: Order, limit: Decimal) -> None:
        """The spread twin of ``execute`` (spread orders have no fok)."""
        ctx.touch(inst)
        if order.ord_type == "post_only" and self.would_take(inst, order.side, limit):
            self.cancel_order(ctx, order, "31")
            return
        self.match(ctx, inst, order, order.side, limit, order.leaves)
        if not order.pending or order.leaves <= 0:
            return
        if order.ord_type in ("limit", "post_only"):
            inst.book.side(order.side).add_order(order)
            if not order.acc_fill_sz:
                self.push_sprd_order(ctx, order, None)
        else:
            self.cancel_order(ctx, order, "14")

    def match(
        self,
        ctx: Changes,
        inst: Instrument,
        taker: Order | None,
        side: str,
        limit: Decimal | None,
        qty: Decimal,
    ) -> Decimal:
        """Take up to ``qty`` from the opposite side within ``limit``; returns the filled qty."""
        ctx.touch(inst)
        opp = inst.book.opposite(side)
        left = qty
        while left > 0:
            best = opp.best()
            if best is None:
                break
            if limit is not None and (best > limit if side == "buy" else best < limit):
                break
            lvl = opp.levels[best]
            if lvl.synth:
                f = min(left, lvl.synth)
                lvl.synth -= f
                if not lvl.synth:
                    lvl.synth_cnt = 0
                lvl.changed()
                left -= f
                self._trade(ctx, inst, taker, None, side, best, f)
            # Each step takes the queue's head out (filled or self-trade
            # cancelled) or fills what is left of the taker, so a deep queue
            # costs only the orders actually reached.
            queue = lvl.orders
            i = 0
            while left > 0 and i < len(queue):
                maker = queue[i]
                if taker is not None and maker.api_key == taker.api_key:
                    # Self-trade prevention, OKX's default stpMode cancel_maker.
                    self.cancel_order(ctx, maker, "32")
                    if i < len(queue) and queue[i] is maker:  # pragma: no cover - defensive
                        i += 1
                    continue
                f = min(left, maker.leaves)
                left -= f
                if maker.leaves - f <= 0:
                    lvl.discard(maker)
                self._trade(ctx, inst, taker, maker, side, best, f)
                lvl.sync(maker)
            opp.prune(best)
            if best in opp.levels and left > 0:  # pragma: no cover - defensive
                break
        return qty - left

    def fill_resting(self, ctx: Changes, inst: Instrument, order: Order, qty: Decimal) -> None:
        """A market taker (no order of its own) trades ``qty`` (at most what is open)
        with the resting user ``order``, at the order's price, whatever is ahead of
        it: the caller decided it is reached (a replay's queue model)."""
        if order.px is None or not order.pending:
            return
        ctx.touch(inst)
        side = inst.book.side(order.side)
        lvl = side.levels.get(order.px)
        if lvl is None or order not in lvl.orders:
            return
        f = min(qty, order.leaves)
        if f <= 0:
            return
        if order.leaves - f <= 0:
            lvl.discard(order)
        taker_side = "sell" if order.side == "buy" else "buy"
        self._trade(ctx, inst, None, order, taker_side, order.px, f)
        lvl.sync(order)
        side.prune(order.px)

    def _trade(
        self,
        ctx: Changes,
        inst: Instrument,
        taker: Order | None,
        maker: Order | None,
        taker_side: str,
        px: Decimal,
        sz: Decimal,
    ) -> None:
        trade_id = inst.next_trade_id()
        ctx.trades.setdefault(inst.inst_id, []).append((px, sz, taker_side, trade_id))
        inst.tape.append((ctx.now, px, sz, taker_side, trade_id))
        inst.last = px
        inst.last_sz = sz
        inst.high24h = max(inst.high24h, px)
        inst.low24h = min(inst.low24h, px)
        inst.vol24h += sz
        inst.vol_ccy24h += sz * px if not inst.spec.is_derivative else sz * inst.ct_val
        legs_px = self._leg_prices(inst, px) if inst.spec.is_spread else None
        for order, exec_type in ((maker, "M"), (taker, "T")):
            if order is not None:
                self._apply_fill(ctx, inst, order, px, sz, trade_id, exec_type, legs_px)

    def _leg_prices(self, inst: Instrument, px: Decimal) -> list[Decimal]:
        near = self._venue.instruments[inst.spec.legs[0]]
        base = near.mid
        return [base, base + px]

    def _apply_fill(
        self,
        ctx: Changes,
        inst: Instrument,
        order: Order,
        px: Decimal,
        sz: Decimal,
        trade_id: str,
        exec_type: str,
        legs_px: list[Decimal] | None,
    ) -> None:
        spec = inst.spec
        acct = self._venue.accounts[order.api_key]
        order.acc_fill_sz += sz
        order.notional += px * sz
        pnl = ZERO
        changes: list[tuple[str, Decimal]] = []  # (ccy, balance change): the bills
        sub_type = "1" if order.side == "buy" else "2"
        if spec.is_spread:
            fee = ZERO
        elif spec.is_derivative:
            rate = DERIV_MAKER_FEE if exec_type == "M" else DERIV_TAKER_FEE
            fee = px * sz * inst.ct_val * rate
            ccy = spec.settle_ccy
            before = acct.positions[inst.inst_id].pos if inst.inst_id in acct.positions else ZERO
            opening = not before or (before > 0) == (order.side == "buy")
            sub_type = ("3" if order.side == "buy" else "4") if opening else (
                "6" if order.side == "buy" else "5")
            pnl = self._update_position(ctx, acct, inst, order, px, sz, trade_id)
            acct.positions[inst.inst_id].fee -= fee
            order.pnl += pnl
            acct.balances[ccy] = acct.balances.get(ccy, ZERO) - fee + pnl
            acct.u_time[ccy] = ctx.now
            changes.append((ccy, pnl - fee))
            ctx.dirty(acct.api_key, ccy, cash=True)
            if order.frozen and order.px is not None:
                self.release(ctx, order,
                             inst.freeze_amount(order.side, order.px, sz, order.lever))
        else:
            rate = MAKER_FEE if exec_type == "M" else TAKER_FEE
            base, quote = spec.base_ccy, spec.quote_ccy
            if order.side == "buy":
                fee = sz * rate
                acct.balances[quote] = acct.balances.get(quote, ZERO) - px * sz
                acct.balances[base] = acct.balances.get(base, ZERO) + sz - fee
                changes += [(base, sz - fee), (quote, -px * sz)]
            else:
                fee = px * sz * rate
                acct.balances[base] = acct.balances.get(base, ZERO) - sz
                acct.balances[quote] = acct.balances.get(quote, ZERO) + px * sz - fee
                changes += [(base, -sz), (quote, px * sz - fee)]
            for ccy in (base, quote):
                acct.u_time[ccy] = ctx.now
                ctx.dirty(acct.api_key, ccy, cash=True)
            if order.frozen and order.px is not None:
                self.release(ctx, order, inst.freeze_amount(order.side, order.px, sz))
        if changes:
            self._record_fill(ctx, acct, inst, order, changes, px, sz, trade_id, exec_type,
                              fee, pnl, sub_type)
        order.fee -= fee
        if order.leaves <= 0:
            order.state = "filled"
            self.release(ctx, order)
        else:
            order.state = "partially_filled"
        order.touch(ctx.now)
        order.last_fill_px = fmt(px)
        order.last_fill_sz = fmt(sz)
        order.last_trade_id = trade_id
        order.last_fill_time = str(ctx.now)
        order.last_exec_type = exec_type
        fill = Fill(px, sz, trade_id, exec_type, -fee, order.fee_ccy, pnl)
        if spec.is_spread:
            self.push_sprd_order(ctx, order, fill)
            self._push_sprd_trade(ctx, inst, order, fill, legs_px or [px, px])
            return
        self.push_order(ctx, order, fill)
        ctx.emits.append(
            Emit("fills", [fill_item(order, fill, ctx.now)], api_key=order.api_key,
                 inst_id=order.inst_id, inst_type=spec.inst_type)
        )
        ctx.bp_trades.setdefault(acct.api_key, []).append(
            {"instId": order.inst_id, "tradeId": trade_id}
        )

    def _record_fill(
        self,
        ctx: Changes,
        acct: Account,
        inst: Instrument,
        order: Order,
        changes: list[tuple[str, Decimal]],
        px: Decimal,
        sz: Decimal,
        trade_id: str,
        exec_type: str,
        fee: Decimal,
        pnl: Decimal,
        sub_type: str,
    ) -> None:
        """The bills (one per currency changed) and the fill record of one fill."""
        spec = inst.spec
        bill_ids = []
        for ccy, change in changes:
            bill_id = self._venue.new_bill_id()
            bill_ids.append(bill_id)
            acct.bills.append(BillRecord(
                bill_id=bill_id, ts=ctx.now, ccy=ccy, bal_chg=change,
                bal=acct.balances.get(ccy, ZERO), inst_type=spec.inst_type,
                inst_id=inst.inst_id, mgn_mode=order.td_mode, ord_id=order.ord_id,
                cl_ord_id=order.cl_ord_id, tag=order.tag, trade_id=trade_id,
                exec_type=exec_type, px=px, sz=sz, pnl=pnl,
                fee=-fee if ccy == order.fee_ccy else ZERO, sub_type=sub_type,
            ))
        acct.fills.append(FillRecord(
            bill_id=bill_ids[0], ts=ctx.now, inst_type=spec.inst_type, inst_id=inst.inst_id,
            ord_id=order.ord_id, cl_ord_id=order.cl_ord_id, tag=order.tag, trade_id=trade_id,
            side=order.side, pos_side=order.pos_side, px=px, sz=sz, fee=-fee,
            fee_ccy=order.fee_ccy, pnl=pnl, exec_type=exec_type, sub_type=sub_type,
            mark_px=fmt(inst.mid) if spec.is_derivative else "",
        ))

    def _update_position(
        self,
        ctx: Changes,
        acct: Account,
        inst: Instrument,
        order: Order,
        px: Decimal,
        sz: Decimal,
        trade_id: str,
    ) -> Decimal:
        """Net-mode position update; returns the realized PnL of this fill."""
        pos = acct.positions.get(inst.inst_id)
        if pos is None:
            pos = acct.positions[inst.inst_id] = Position(
                inst.inst_id, self._venue.new_pos_id(), c_time=ctx.now, mgn_mode=order.td_mode
            )
        qty = sz if order.side == "buy" else -sz
        old = pos.pos
        pnl = ZERO
        lever = self._venue.lever(acct, inst)
        pos.u_time = max(ctx.now, pos.u_time + 1)
        if not old:
            # Opened from flat: a new life for the position history's figures.
            pos.max_pos = pos.closed_sz = pos.closed_notional = ZERO
            pos.c_time = ctx.now
        if not old or (old > 0) == (qty > 0):
            total = abs(old) + abs(qty)
            pos.avg_px = ((abs(old) * pos.avg_px + abs(qty) * px) / total).quantize(inst.quantum)
            pos.pos = old + qty
        else:
            closed = min(abs(qty), abs(old))
            direction = 1 if old > 0 else -1
            pnl = closed * (px - pos.avg_px) * direction * inst.ct_val
            pos.realized_pnl += pnl
            pos.closed_sz += closed
            pos.closed_notional += closed * px
            acct.closed_positions.append(ClosedPosition(
                inst_id=inst.inst_id, inst_type=inst.spec.inst_type, pos_id=pos.pos_id,
                mgn_mode=pos.mgn_mode, ccy=inst.spec.settle_ccy,
                type="1" if abs(qty) < abs(old) else "2",
                direction="long" if old > 0 else "short", open_avg_px=pos.avg_px,
                close_avg_px=(pos.closed_notional / pos.closed_sz).quantize(inst.quantum),
                open_max_pos=pos.max_pos, close_total_pos=pos.closed_sz,
                realized_pnl=pos.realized_pnl, fee=pos.fee, lever=lever,
                c_time=pos.c_time, u_time=pos.u_time,
            ))
            pos.pos = old + qty
            if not pos.pos:
                pos.avg_px = ZERO
            elif (pos.pos > 0) != (old > 0):
                # Flipped: what is left is a new position opened at px.
                pos.avg_px = px
                pos.max_pos = pos.closed_sz = pos.closed_notional = ZERO
                pos.c_time = ctx.now
        pos.max_pos = max(pos.max_pos, abs(pos.pos))
        pos.trade_id = trade_id
        margin = abs(pos.pos) * pos.avg_px * inst.ct_val / lever
        ccy = inst.spec.settle_ccy
        acct.frozen[ccy] = acct.frozen.get(ccy, ZERO) + margin - pos.margin
        pos.margin = margin
        ctx.positions.setdefault(acct.api_key, set()).add(inst.inst_id)
        return pnl

    def cancel_order(
        self,
        ctx: Changes,
        order: Order,
        source: str,
        *,
        amend_result: str = "",
        req_id: str = "",
        code: str = "0",
        msg: str = "",
    ) -> None:
        """Cancel ``order`` (``cancelSource`` ``source``): off the book, hold released, pushed."""
        inst = self._venue.of_order(order)
        ctx.touch(inst)
        inst.book.side(order.side).remove_order(order)
        order.canceled_sz += max(order.leaves, ZERO)
        order.state = "canceled"
        order.cancel_source = source
        self.release(ctx, order)
        order.touch(ctx.now)
        if order.sprd_id:
            self.push_sprd_order(ctx, order, None, req_id=req_id, amend_result=amend_result,
                                  code=code, msg=msg)
        else:
            self.push_order(ctx, order, None, req_id=req_id, amend_result=amend_result,
                             code=code, msg=msg)

    def hold(self, ctx: Changes, acct: Account, order: Order, amount: Decimal) -> None:
        """Freeze ``amount`` of the order's currency for it."""
        ccy = order.frozen_ccy
        order.frozen += amount
        acct.frozen[ccy] = acct.frozen.get(ccy, ZERO) + amount
        acct.u_time[ccy] = ctx.now
        ctx.dirty(acct.api_key, ccy)

    def release(self, ctx: Changes, order: Order, amount: Decimal | None = None) -> None:
        """Release ``amount`` (default: all) of what the order holds."""
        amount = order.frozen if amount is None else min(amount, order.frozen)
        if not amount:
            return
        acct = self._venue.accounts[order.api_key]
        ccy = order.frozen_ccy
        order.frozen -= amount
        acct.frozen[ccy] = acct.frozen.get(ccy, ZERO) - amount
        acct.u_time[ccy] = ctx.now
        ctx.dirty(acct.api_key, ccy)

    def peek(
        self,
        inst: Instrument,
        side: str,
        limit: Decimal | None,
        exclude: str | None,
        *,
        qty: Decimal | None = None,
        budget: Decimal | None = None,
    ) -> tuple[Decimal, Decimal]:
        """``(quantity, cost)`` a taker could fill now, not touching the book."""
        got = ZERO
        cost = ZERO
        opp = inst.book.opposite(side)
        for px in opp.prices():
            if limit is not None and (px > limit if side == "buy" else px < limit):
                break
            avail = opp.levels[px].others(exclude)
            if qty is not None:
                avail = min(avail, qty - got)
            if budget is not None:
                avail = min(avail, floor_step((budget - cost) / px, inst.lot))
            if avail <= 0:
                if (qty is not None and got >= qty) or budget is not None:
                    break
                continue
            got += avail
            cost += avail * px
        return got, cost

    def market_cost(
        self, inst: Instrument, side: str, limit: Decimal, exclude: str, qty: Decimal
    ) -> Decimal:
        """Worst-case cost of a market order: the book, then the rest at the limit price."""
        got, cost = self.peek(inst, side, limit, exclude, qty=qty)
        return cost + (qty - got) * limit

    def would_take(self, inst: Instrument, side: str, px: Decimal) -> bool:
        """True if an order of ``side`` at ``px`` would trade on arrival."""
        best = inst.book.opposite(side).best()
        if best is None:
            return False
        return best <= px if side == "buy" else best >= px

    @staticmethod
    def fee_ccy(inst: Instrument, side: str) -> str:
        """The currency an order of ``side`` pays its fees in."""
        spec = inst.spec
        if spec.is_derivative:
            return spec.settle_ccy
        if spec.is_spread:
            return spec.quote_ccy
        return spec.base_ccy if side == "buy" else spec.quote_ccy

    def push_order(
        self,
        ctx: Changes,
        order: Order,
        fill: Fill | None = None,
        *,
        req_id: str = "",
        amend_result: str = "",
        code: str = "0",
        msg: str = "",
    ) -> None:
        """Record the order's ``orders`` push."""
        inst = self._venue.instruments[order.inst_id]
        item = order_item(
            self._venue, order, fill, req_id=req_id, amend_result=amend_result, code=code, msg=msg
        )
        ctx.emits.append(
            Emit(
                "orders", [item], api_key=order.api_key, inst_id=order.inst_id,
                inst_type=inst.spec.inst_type, inst_family=inst.spec.inst_family or None,
            )
        )

    def push_sprd_order(
        self,
        ctx: Changes,
        order: Order,
        fill: Fill | None,
        *,
        req_id: str = "",
        amend_result: str = "",
        code: str = "0",
        msg: str = "",
    ) -> None:
        """Record the spread order's ``sprd-orders`` push."""
        item = sprd_order_item(
            self._venue, order, fill, req_id=req_id, amend_result=amend_result, code=code, msg=msg
        )
        ctx.emits.append(
            Emit("sprd-orders", [item], api_key=order.api_key, sprd_id=order.inst_id)
        )

    def _push_sprd_trade(
        self, ctx: Changes, inst: Instrument, order: Order, fill: Fill, legs_px: list[Decimal]
    ) -> None:
        # Buying the spread buys the far leg and sells the near leg.
        rate = MAKER_FEE if fill.exec_type == "M" else TAKER_FEE
        legs = []
        for i, leg_id in enumerate(inst.spec.legs):
            leg = self._venue.instruments[leg_id]
            buy_leg = (i == 1) == (order.side == "buy")
            legs.append(sprd_leg_item(leg, legs_px[i], fill, buy=buy_leg, rate=rate,
                                      trade_id=leg.next_trade_id()))
        item = sprd_trade_item(order, fill, legs, ctx.now)
        self._venue.accounts[order.api_key].sprd_trades.append(item)
        ctx.emits.append(
            Emit("sprd-trades", [item], api_key=order.api_key, sprd_id=order.inst_id)
        )
