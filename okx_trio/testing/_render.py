"""Rendering of OKX's dicts: order, fill, account, position, ticker and REST items.

Pure functions from the engine's state (``._venue``, ``._engine_model``)
to the data items OKX pushes and returns, field for field and as strings where
OKX sends strings. They decide nothing and change nothing; what to push and
when is ``._matching``'s and ``._publish``'s business.

Fields OKX documents but the simulator does not model (``pxUsd``, ``attachAlgoOrds``,
``liab``...) carry OKX's empty values; which of them real OKX fills for a given
account mode is not confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ._engine_model import ZERO, Account, Fill, InstrumentSpec, Order, Position, fmt
from ._rules import ORDER_OPS
from ._venue import Instrument, Venue

CANCEL_REASONS = {
    "1": "Order canceled by user",
    "13": "FOK order was canceled as it could not be entirely filled",
    "14": "IOC order was partially canceled due to incompletely filled",
    "31": "The post-only order will take liquidity in maker orders",
    "32": "Self trade prevention",
}
"""``cancelSourceReason`` for each ``cancelSource`` the engine sets."""

# Display name, network (the part of OKX's ``chain`` after the currency),
# withdrawal decimals and whether that network is the currency's own chain, for
# well-known currencies; others get their own code as name and network.
CHAINS: dict[str, tuple[str, str, str, bool]] = {
    "BTC": ("Bitcoin", "Bitcoin", "8", True),
    "ETH": ("Ethereum", "ERC20", "8", True),
    "USDT": ("Tether", "ERC20", "6", False),
    "USDC": ("USD Coin", "ERC20", "6", False),
}


def is_int64(value: str) -> bool:
    """True for a decimal string that fits a positive int64 (``fills`` shows such clOrdIds)."""
    return value.isdigit() and 0 < int(value) < 2**63


# -- trade-op responses ------------------------------------------------------------


def fail_item(op: str, arg: Any, now: int, code: str, msg: str) -> dict[str, Any]:
    """The response item of an item that failed with ``(code, msg)``: its ids echoed."""
    a = arg if isinstance(arg, dict) else {}

    def echo(name: str) -> str:
        v = a.get(name, "")
        return v if isinstance(v, str) else ""

    ord_id = "" if op in ("order", "batch-orders", "sprd-order") else echo("ordId")
    item: dict[str, Any] = {"clOrdId": echo("clOrdId"), "ordId": ord_id}
    if op in ("order", "batch-orders", "sprd-order"):
        item["tag"] = echo("tag")
    if op in ("amend-order", "batch-amend-orders", "sprd-amend-order"):
        item["reqId"] = echo("reqId")
    if op in ORDER_OPS:
        item["ts"] = str(now)
    item["sCode"] = code
    item["sMsg"] = msg
    if op in ("order", "batch-orders", "amend-order", "batch-amend-orders"):
        item["subCode"] = ""
    return item

# -- orders and fills ---------------------------------------------------------


def order_item(
    venue: Venue,
    order: Order,
    fill: Fill | None,
    *,
    req_id: str = "",
    amend_result: str = "",
    code: str = "0",
    msg: str = "",
) -> dict[str, Any]:
    """The ``orders`` channel item of ``order`` (with ``fill`` when a fill caused it)."""
    inst = venue.instruments[order.inst_id]
    spec = inst.spec
    notional_usd = venue.usd(inst, order.px if order.px is not None else inst.mid, order.target)
    return {
        "instType": spec.inst_type,
        "instId": order.inst_id,
        "tgtCcy": order.tgt_ccy,
        "ccy": "",
        "ordId": order.ord_id,
        "clOrdId": order.cl_ord_id,
        "tag": order.tag,
        "px": fmt(order.px) if order.px is not None else "",
        "pxUsd": "",
        "pxVol": "",
        "pxType": "",
        "sz": fmt(order.sz),
        "notionalUsd": fmt(notional_usd),
        "ordType": order.ord_type,
        "side": order.side,
        "posSide": order.pos_side,
        "tdMode": order.td_mode,
        "fillPx": fmt(fill.px) if fill else "",
        "tradeId": fill.trade_id if fill else "",
        "fillSz": fmt(fill.sz) if fill else "0",
        "fillPnl": fmt(fill.pnl) if fill else "0",
        "fillTime": order.last_fill_time if fill else "",
        "fillFee": fmt(fill.fee) if fill else "0",
        "fillFeeCcy": fill.fee_ccy if fill else "",
        "fillNotionalUsd": fmt(venue.usd(inst, fill.px, fill.sz)) if fill else "",
        "fillPxVol": "",
        "fillPxUsd": "",
        "fillMarkVol": "",
        "fillFwdPx": "",
        "fillMarkPx": fmt(inst.mid) if fill and spec.is_derivative else "",
        "fillIdxPx": "",
        "execType": fill.exec_type if fill else "",
        "accFillSz": fmt(order.acc_fill_sz),
        "avgPx": order.avg_px(inst.quantum),
        "state": order.state,
        "lever": fmt(order.lever) if spec.is_derivative else spec.lever,
        "attachAlgoClOrdId": "",
        "tpTriggerPx": "",
        "tpTriggerPxType": "",
        "tpOrdPx": "",
        "slTriggerPx": "",
        "slTriggerPxType": "",
        "slOrdPx": "",
        "attachAlgoOrds": [],
        "stpId": "",
        "stpMode": "cancel_maker",
        "feeCcy": order.fee_ccy,
        "fee": fmt(order.fee),
        "rebateCcy": order.fee_ccy,
        "rebate": "0",
        "pnl": fmt(order.pnl),
        "source": "",
        "cancelSource": order.cancel_source,
        "amendSource": "",
        "category": "normal",
        "isTpLimit": "false",
        "uTime": str(order.u_time),
        "cTime": str(order.c_time),
        "reqId": req_id,
        "amendResult": amend_result,
        "reduceOnly": "true" if order.reduce_only else "false",
        "quickMgnType": "",
        "algoClOrdId": "",
        "algoId": "",
        "lastPx": fmt(inst.last),
        "linkedAlgoOrd": {"algoId": ""},
        "tradeQuoteCcy": spec.quote_ccy if spec.inst_type == "SPOT" else "",
        "code": code,
        "msg": msg,
    }


def sprd_order_item(
    venue: Venue,
    order: Order,
    fill: Fill | None,
    *,
    req_id: str = "",
    amend_result: str = "",
    code: str = "0",
    msg: str = "",
) -> dict[str, Any]:
    """The ``sprd-orders`` channel item of a spread order."""
    inst = venue.spreads[order.inst_id]
    pending = order.leaves if order.pending else ZERO
    return {
        "sprdId": order.inst_id,
        "ordId": order.ord_id,
        "clOrdId": order.cl_ord_id,
        "tag": order.tag,
        "px": fmt(order.px) if order.px is not None else "",
        "sz": fmt(order.sz),
        "ordType": order.ord_type,
        "side": order.side,
        "fillSz": fmt(fill.sz) if fill else "",
        "fillPx": fmt(fill.px) if fill else "",
        "tradeId": fill.trade_id if fill else "",
        "accFillSz": fmt(order.acc_fill_sz),
        "pendingFillSz": fmt(pending),
        "pendingSettleSz": "0",
        "canceledSz": fmt(order.canceled_sz),
        "state": order.state,
        "avgPx": order.avg_px(inst.quantum),
        "cancelSource": order.cancel_source,
        "uTime": str(order.u_time),
        "cTime": str(order.c_time),
        "code": code,
        "msg": msg,
        "reqId": req_id,
        "amendResult": amend_result,
    }


def fill_item(order: Order, fill: Fill, now: int) -> dict[str, Any]:
    """The ``fills`` channel item of one fill."""
    return {
        "instId": order.inst_id, "fillSz": fmt(fill.sz), "fillPx": fmt(fill.px),
        "side": order.side, "ts": str(now), "ordId": order.ord_id,
        "clOrdId": order.cl_ord_id if is_int64(order.cl_ord_id) else "0",
        "tradeId": fill.trade_id, "execType": fill.exec_type, "count": "1",
    }


def sprd_trade_item(
    order: Order, fill: Fill, legs: list[dict[str, Any]], now: int
) -> dict[str, Any]:
    """The ``sprd-trades`` item of one spread fill; ``legs`` from ``sprd_leg_item``."""
    return {
        "sprdId": order.inst_id, "tradeId": fill.trade_id, "ordId": order.ord_id,
        "clOrdId": order.cl_ord_id, "tag": order.tag, "fillPx": fmt(fill.px),
        "fillSz": fmt(fill.sz), "side": order.side, "state": "filled",
        "execType": fill.exec_type, "ts": str(now), "legs": legs,
        "code": "0", "msg": "",
    }


def sprd_leg_item(
    leg: Instrument, px: Decimal, fill: Fill, *, buy: bool, rate: Decimal, trade_id: str
) -> dict[str, Any]:
    """One leg of a ``sprd-trades`` item: ``leg`` filled ``fill.sz`` at ``px``."""
    cont = fill.sz / leg.ct_val if leg.spec.is_derivative else fill.sz
    return {
        "instId": leg.inst_id,
        "px": fmt(px),
        "sz": fmt(fill.sz),
        "szCont": fmt(cont) if leg.spec.is_derivative else "",
        "side": "buy" if buy else "sell",
        "fillPnl": "0",
        "fee": fmt(-(px * fill.sz * rate).quantize(Decimal("0.00000001"))),
        "feeCcy": leg.spec.settle_ccy or leg.spec.quote_ccy,
        "tradeId": trade_id,
    }


# -- account, positions, balance_and_position ---------------------------------


def ccy_detail(venue: Venue, acct: Account, ccy: str, now: int) -> dict[str, Any]:
    """One ``details`` entry of the ``account`` item: ``ccy`` of ``acct``."""
    cash = acct.balances.get(ccy, ZERO)
    frozen = acct.frozen.get(ccy, ZERO)
    upl = ZERO
    pos_margin = ZERO
    for pos in acct.positions.values():
        inst = venue.instruments[pos.inst_id]
        if inst.spec.settle_ccy == ccy:
            upl += (inst.mid - pos.avg_px) * pos.pos * inst.ct_val if pos.pos else ZERO
            pos_margin += pos.margin
    eq = cash + upl
    usd = venue.usd_price(ccy)
    return {
        "ccy": ccy,
        "eq": fmt(eq),
        "cashBal": fmt(cash),
        "uTime": str(acct.u_time.get(ccy, now)),
        "isoEq": "0",
        "availEq": fmt(eq - frozen),
        "disEq": fmt((eq * usd).quantize(Decimal("0.0001"))),
        "fixedBal": "0",
        "availBal": fmt(cash - frozen),
        "frozenBal": fmt(frozen),
        "ordFrozen": fmt(frozen - pos_margin),
        "liab": "0",
        "upl": fmt(upl),
        "uplLiab": "0",
        "crossLiab": "0",
        "isoLiab": "0",
        "rewardBal": "0",
        "mgnRatio": "",
        "interest": "0",
        "twap": "0",
        "maxLoan": "",
        "eqUsd": fmt((eq * usd).quantize(Decimal("0.0001"))),
        "notionalLever": "0",
        "coinUsdPrice": fmt(usd),
        "stgyEq": "0",
        "isoUpl": "0",
        "spotInUseAmt": "",
        "spotIsoBal": "0",
        "imr": fmt(pos_margin),
        "mmr": fmt(pos_margin / 2),
        "smtSyncEq": "0",
        "spotCopyTradingEq": "0",
        "spotBal": fmt(cash),
        "openAvgPx": "",
        "accAvgPx": "",
        "spotUpl": "",
        "spotUplRatio": "",
        "totalPnl": "",
        "totalPnlRatio": "",
        "colRes": "0",
        "colBorrAutoConversion": "0",
        "collateralEnabled": False,
        "autoLendStatus": "off",
        "autoLendMtAmt": "0",
        "frpType": "0",
    }


def account_item(venue: Venue, acct: Account, ccys: Iterable[str], now: int) -> dict[str, Any]:
    """The ``account`` channel item (and ``account/balance`` item), details for ``ccys``."""
    details = [ccy_detail(venue, acct, c, now) for c in sorted(ccys)]
    all_details = [ccy_detail(venue, acct, c, now) for c in acct.balances]
    total = sum((Decimal(d["eqUsd"]) for d in all_details), ZERO)
    frozen_usd = sum(
        (Decimal(d["frozenBal"]) * Decimal(d["coinUsdPrice"]) for d in all_details), ZERO
    )
    imr = sum((Decimal(d["imr"]) * Decimal(d["coinUsdPrice"]) for d in all_details), ZERO)
    q = Decimal("0.0001")
    return {
        "uTime": str(now),
        "totalEq": fmt(total.quantize(q)),
        "isoEq": "0",
        "adjEq": fmt(total.quantize(q)),
        "availEq": fmt((total - frozen_usd).quantize(q)),
        "ordFroz": fmt((frozen_usd - imr).quantize(q)),
        "imr": fmt(imr.quantize(q)),
        "mmr": fmt((imr / 2).quantize(q)),
        "borrowFroz": "0",
        "mgnRatio": "",
        "notionalUsd": "0",
        "notionalUsdForBorrow": "0",
        "notionalUsdForSwap": "0",
        "notionalUsdForFutures": "0",
        "notionalUsdForOption": "0",
        "upl": fmt(sum((Decimal(d["upl"]) * Decimal(d["coinUsdPrice"])
                        for d in all_details), ZERO).quantize(q)),
        "delta": "",
        "deltaLever": "",
        "deltaNeutralStatus": "",
        "details": details,
    }


def position_item(venue: Venue, acct: Account, pos: Position, now: int) -> dict[str, Any]:
    """The ``positions`` channel item of one position, marked at the mid."""
    inst = venue.instruments[pos.inst_id]
    spec = inst.spec
    mark = inst.mid
    upl = (mark - pos.avg_px) * pos.pos * inst.ct_val if pos.pos else ZERO
    margin = pos.margin
    notional = abs(pos.pos) * mark * inst.ct_val * venue.usd_price(spec.settle_ccy)
    return {
        "adl": "1",
        "availPos": fmt(abs(pos.pos)) if pos.mgn_mode == "isolated" else "",
        "avgPx": fmt(pos.avg_px) if pos.pos else "",
        "baseBal": "",
        "baseBorrowed": "",
        "baseInterest": "",
        "bePx": "",
        "bizRefId": "",
        "bizRefType": "",
        "cTime": str(pos.c_time),
        "ccy": spec.settle_ccy,
        "clSpotInUseAmt": "",
        "closeOrderAlgo": [],
        "deltaBS": "",
        "deltaPA": "",
        "fee": fmt(pos.fee),
        "fundingFee": "0",
        "gammaBS": "",
        "gammaPA": "",
        "idxPx": fmt(mark),
        "imr": fmt(margin) if pos.mgn_mode == "cross" else "",
        "instId": pos.inst_id,
        "instType": spec.inst_type,
        "interest": "0",
        "last": fmt(inst.last),
        "lever": fmt(venue.lever(acct, inst)),
        "liab": "",
        "liabCcy": "",
        "liqPenalty": "0",
        "liqPx": "",
        "margin": fmt(margin) if pos.mgn_mode == "isolated" else "",
        "markPx": fmt(mark),
        "maxSpotInUseAmt": "",
        "mgnMode": pos.mgn_mode,
        "mgnRatio": "",
        "mmr": fmt(margin / 2),
        "notionalUsd": fmt(notional.quantize(Decimal("0.0001"))),
        "optVal": "",
        "pendingCloseOrdLiabVal": "",
        "pnl": fmt(pos.realized_pnl),
        "pos": fmt(pos.pos),
        "posCcy": "",
        "posId": pos.pos_id,
        "posSide": "net",
        "quoteBal": "",
        "quoteBorrowed": "",
        "quoteInterest": "",
        "realizedPnl": fmt(pos.realized_pnl + pos.fee),
        "spotInUseAmt": "",
        "spotInUseCcy": "",
        "thetaBS": "",
        "thetaPA": "",
        "tradeId": pos.trade_id,
        "uTime": str(pos.u_time),
        "upl": fmt(upl),
        "uplLastPx": fmt((inst.last - pos.avg_px) * pos.pos * inst.ct_val)
        if pos.pos else "0",
        "uplRatio": fmt((upl / margin).quantize(Decimal("0.0001"))) if margin else "0",
        "uplRatioLastPx": "0",
        "usdPx": "",
        "vegaBS": "",
        "vegaPA": "",
        "nonSettleAvgPx": "",
        "settledPnl": "",
        "pTime": str(now),
    }


def bal_item(acct: Account, ccy: str) -> dict[str, str]:
    """One ``balData`` entry of ``balance_and_position``."""
    return {
        "ccy": ccy,
        "cashBal": fmt(acct.balances.get(ccy, ZERO)),
        "uTime": str(acct.u_time.get(ccy, 0)),
    }


def pos_data(venue: Venue, acct: Account, pos: Position) -> dict[str, str]:
    """One ``posData`` entry of ``balance_and_position``."""
    inst = venue.instruments[pos.inst_id]
    return {
        "posId": pos.pos_id,
        "tradeId": pos.trade_id,
        "instId": pos.inst_id,
        "instType": inst.spec.inst_type,
        "mgnMode": pos.mgn_mode,
        "posSide": "net",
        "pos": fmt(pos.pos),
        "ccy": inst.spec.settle_ccy,
        "posCcy": "",
        "avgPx": fmt(pos.avg_px) if pos.pos else "",
        "nonSettleAvgPx": "",
        "settledPnl": "",
        "uTime": str(pos.u_time),
    }


# -- tickers ------------------------------------------------------------------


def ticker(inst: Instrument, ts: str) -> dict[str, Any]:
    """The ``tickers`` item of an instrument."""
    b = inst.book.bids.top(1)
    a = inst.book.asks.top(1)
    return {
        "instType": inst.spec.inst_type,
        "instId": inst.inst_id,
        "last": fmt(inst.last),
        "lastSz": fmt(inst.last_sz),
        "askPx": a[0][0] if a else "",
        "askSz": a[0][1] if a else "",
        "bidPx": b[0][0] if b else "",
        "bidSz": b[0][1] if b else "",
        "open24h": fmt(inst.open24h),
        "high24h": fmt(inst.high24h),
        "low24h": fmt(inst.low24h),
        "volCcy24h": fmt(inst.vol_ccy24h),
        "vol24h": fmt(inst.vol24h),
        "sodUtc0": fmt(inst.open24h),
        "sodUtc8": fmt(inst.open24h),
        "ts": ts,
    }


def sprd_ticker(inst: Instrument, ts: str) -> dict[str, Any]:
    """The ``sprd-tickers`` item of a spread."""
    t = ticker(inst, ts)
    return {
        "sprdId": inst.inst_id, "last": t["last"], "lastSz": t["lastSz"],
        "askPx": t["askPx"], "askSz": t["askSz"], "bidPx": t["bidPx"], "bidSz": t["bidSz"],
        "open24h": t["open24h"], "high24h": t["high24h"], "low24h": t["low24h"],
        "vol24h": t["vol24h"], "ts": ts,
    }


# -- REST items ---------------------------------------------------------------


def rest_order_item(venue: Venue, order: Order) -> dict[str, Any]:
    """The ``trade/order`` and ``trade/orders-pending`` item of an order."""
    item = order_item(venue, order, None)
    for key in ("fillPnl", "fillFee", "fillFeeCcy", "fillNotionalUsd", "fillPxVol",
                "fillPxUsd", "fillMarkVol", "fillFwdPx", "fillMarkPx", "fillIdxPx",
                "execType", "reqId", "amendResult", "code", "msg", "amendSource",
                "lastPx", "notionalUsd"):
        item.pop(key, None)
    item.update({
        "fillPx": order.last_fill_px,
        "fillSz": order.last_fill_sz,
        "tradeId": order.last_trade_id,
        "fillTime": order.last_fill_time,
        "cancelSourceReason": CANCEL_REASONS.get(order.cancel_source, ""),
        "attachAlgoClOrdId": "",
    })
    return item


def rest_sprd_item(venue: Venue, order: Order) -> dict[str, Any]:
    """The ``sprd/order`` and ``sprd/orders-pending`` item of a spread order."""
    item = sprd_order_item(venue, order, None)
    for key in ("code", "msg", "reqId", "amendResult"):
        item.pop(key)
    item.update({"fillSz": order.last_fill_sz, "fillPx": order.last_fill_px,
                 "tradeId": order.last_trade_id})
    return item


def instrument_item(spec: InstrumentSpec) -> dict[str, Any]:
    """The ``public/instruments`` item (and ``instruments`` channel item) of one instrument."""
    deriv = spec.is_derivative
    return {
        "alias": "",
        "auctionEndTime": "",
        "baseCcy": spec.base_ccy,
        "category": "1",
        "contTdSwTime": "",
        "ctMult": spec.ct_mult,
        "ctType": "linear" if spec.inst_type in ("SWAP", "FUTURES") else "",
        "ctVal": spec.ct_val,
        "ctValCcy": spec.ct_val_ccy,
        "expTime": spec.exp_time,
        "futureSettlement": False,
        "groupId": "1",
        "instCategory": "1",
        "instFamily": spec.inst_family,
        "instId": spec.inst_id,
        "instIdCode": spec.inst_id_code,
        "instType": spec.inst_type,
        "lever": spec.lever if deriv else "10",
        "listTime": spec.list_time,
        "lotSz": spec.lot_sz,
        "maxIcebergSz": spec.max_lmt_sz,
        "maxLmtAmt": "20000000",
        "maxLmtSz": spec.max_lmt_sz,
        "maxMktAmt": "1000000" if not deriv else "",
        "maxMktSz": spec.max_mkt_sz,
        "maxPlatOILmt": "",
        "maxStopSz": spec.max_mkt_sz,
        "maxTriggerSz": spec.max_lmt_sz,
        "maxTwapSz": spec.max_lmt_sz,
        "minSz": spec.min_sz,
        "openType": "",
        "optType": spec.opt_type,
        "posLmtAmt": "",
        "posLmtPct": "",
        "preMktSwTime": "",
        "quoteCcy": spec.quote_ccy,
        "ruleType": "normal",
        "settleCcy": spec.settle_ccy,
        "state": "live",
        "stk": spec.stk,
        "tickSz": spec.tick_sz,
        "tradeQuoteCcyList": [spec.quote_ccy] if spec.inst_type == "SPOT" else [],
        "uly": spec.inst_family,
    }


def currency_item(ccy: str) -> dict[str, Any]:
    """The ``asset/currencies`` item of one currency: one chain, no deposit or
    withdrawal limits in force (neither exists here)."""
    name, network, tick, main_net = CHAINS.get(ccy, (ccy, ccy, "8", True))
    return {
        "ccy": ccy, "name": name, "logoLink": "", "chain": f"{ccy}-{network}",
        "ctAddr": "", "canDep": True, "canWd": True, "canInternal": True,
        "depEstOpenTime": "", "wdEstOpenTime": "", "minDep": "0.00000001",
        "minWd": "0.0001", "minInternal": "0.0001", "maxWd": "1000000000",
        "wdTickSz": tick, "wdQuota": "10000000", "usedWdQuota": "0", "fee": "0",
        "minFee": "0", "maxFee": "0", "burningFeeRate": "", "mainNet": main_net,
        "needTag": False, "minDepArrivalConfirm": "1", "minWdUnlockConfirm": "1",
        "depQuotaFixed": "", "usedDepQuotaFixed": "", "depQuoteDailyLayer2": "",
    }
