"""The items of the REST endpoints that no channel pushes: fills and bills as
listed, closed positions, spreads, account settings, public trades, funding.

Pure functions from the engine's state to OKX's dicts, strings where OKX sends
strings (the channel items are in ``._render``). Fields OKX documents but
the simulator does not model carry OKX's empty values.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ._engine_model import Account, BillRecord, ClosedPosition, FillRecord, fmt
from ._venue import Instrument

FUNDING_INTERVAL_MS = 8 * 3_600_000
"""Funding every 8 hours (00:00, 08:00, 16:00 UTC), OKX's default interval."""
FUNDING_RATE = "0.0001"
"""The simulator's constant funding rate (funding is not settled)."""


def rest_fill_item(rec: FillRecord) -> dict[str, Any]:
    """The ``trade/fills`` and ``trade/fills-history`` item of one fill."""
    return {
        "instType": rec.inst_type, "instId": rec.inst_id, "tradeId": rec.trade_id,
        "ordId": rec.ord_id, "clOrdId": rec.cl_ord_id, "billId": rec.bill_id,
        "subType": rec.sub_type, "tag": rec.tag, "fillPx": fmt(rec.px), "fillSz": fmt(rec.sz),
        "fillIdxPx": "", "fillPnl": fmt(rec.pnl), "fillPxVol": "", "fillPxUsd": "",
        "fillMarkVol": "", "fillFwdPx": "", "fillMarkPx": rec.mark_px, "side": rec.side,
        "posSide": rec.pos_side, "execType": rec.exec_type, "feeCcy": rec.fee_ccy,
        "fee": fmt(rec.fee), "ts": str(rec.ts), "fillTime": str(rec.ts),
        "feeRate": "", "tradeQuoteCcy": "",
    }


def bill_item(rec: BillRecord) -> dict[str, Any]:
    """The ``account/bills`` and ``account/bills-archive`` item of one balance change."""
    return {
        "billId": rec.bill_id, "instType": rec.inst_type, "instId": rec.inst_id,
        "ccy": rec.ccy, "type": rec.type, "subType": rec.sub_type, "ts": str(rec.ts),
        "balChg": fmt(rec.bal_chg), "bal": fmt(rec.bal), "posBalChg": "0", "posBal": "0",
        "sz": fmt(rec.sz), "px": fmt(rec.px), "pnl": fmt(rec.pnl), "fee": fmt(rec.fee),
        "mgnMode": rec.mgn_mode, "ordId": rec.ord_id, "clOrdId": rec.cl_ord_id,
        "tradeId": rec.trade_id, "tag": rec.tag, "execType": rec.exec_type,
        "fillTime": str(rec.ts), "interest": "0", "from": "", "to": "", "notes": "",
        "earnAmt": "", "earnApr": "", "fillIdxPx": "", "fillMarkPx": "", "fillPxVol": "",
        "fillPxUsd": "", "fillMarkVol": "", "fillFwdPx": "",
    }


def closed_position_item(rec: ClosedPosition, uly: str) -> dict[str, Any]:
    """The ``account/positions-history`` item of one (partial) close."""
    return {
        "instType": rec.inst_type, "instId": rec.inst_id, "mgnMode": rec.mgn_mode,
        "type": rec.type, "cTime": str(rec.c_time), "uTime": str(rec.u_time),
        "openAvgPx": fmt(rec.open_avg_px), "nonSettleAvgPx": "",
        "closeAvgPx": fmt(rec.close_avg_px), "posId": rec.pos_id,
        "openMaxPos": fmt(rec.open_max_pos), "closeTotalPos": fmt(rec.close_total_pos),
        "realizedPnl": fmt(rec.realized_pnl + rec.fee), "settledPnl": "",
        "pnlRatio": "", "fee": fmt(rec.fee), "fundingFee": "0", "liqPenalty": "0",
        "pnl": fmt(rec.realized_pnl), "posSide": "net", "lever": fmt(rec.lever),
        "direction": rec.direction, "triggerPx": "", "uly": uly, "ccy": rec.ccy,
    }


def public_trade_item(inst: Instrument, trade: tuple[int, Decimal, Decimal, str, str]
                      ) -> dict[str, Any]:
    """The ``market/trades`` and ``market/history-trades`` item of one tape trade."""
    ts, px, sz, side, trade_id = trade
    return {"instId": inst.inst_id, "tradeId": trade_id, "px": fmt(px), "sz": fmt(sz),
            "side": side, "source": "0", "ts": str(ts)}


def mark_price_item(inst: Instrument, now: int) -> dict[str, Any]:
    """The ``public/mark-price`` item: the simulator marks at the mid."""
    return {"instType": inst.spec.inst_type, "instId": inst.inst_id, "markPx": fmt(inst.mid),
            "ts": str(now)}


def funding_rate_item(inst: Instrument, now: int) -> dict[str, Any]:
    """The ``public/funding-rate`` item of a swap (a constant rate, never settled)."""
    next_time = (now // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
    return {
        "instType": "SWAP", "instId": inst.inst_id, "method": "current_period",
        "formulaType": "withRate", "fundingRate": FUNDING_RATE, "nextFundingRate": "",
        "fundingTime": str(next_time), "nextFundingTime": str(next_time + FUNDING_INTERVAL_MS),
        "minFundingRate": "-0.0075", "maxFundingRate": "0.0075", "interestRate": "0.0001",
        "impactValue": "20000", "settState": "settled", "settFundingRate": FUNDING_RATE,
        "premium": "0", "ts": str(now),
    }


def spread_item(sprd: Instrument) -> dict[str, Any]:
    """The ``sprd/spreads`` item: buying the spread buys the far leg, sells the near one."""
    spec = sprd.spec
    near, far = spec.legs
    return {
        "sprdId": spec.inst_id, "sprdType": "linear", "state": "live",
        "baseCcy": spec.base_ccy, "szCcy": spec.base_ccy, "quoteCcy": spec.quote_ccy,
        "tickSz": spec.tick_sz, "minSz": spec.min_sz, "lotSz": spec.lot_sz,
        "listTime": spec.list_time, "expTime": "", "uTime": spec.list_time,
        "legs": [{"instId": near, "side": "sell"}, {"instId": far, "side": "buy"}],
    }


def account_config_item(acct: Account) -> dict[str, Any]:
    """The ``account/config`` item: a futures-mode account in net mode, trade permission."""
    return {
        "uid": acct.uid, "mainUid": acct.uid, "acctLv": "2", "acctStpMode": "cancel_maker",
        "posMode": "net_mode", "autoLoan": False, "greeksType": "PA", "feeType": "0",
        "level": "Lv1", "levelTmp": "", "ctIsoMode": "automatic", "mgnIsoMode": "automatic",
        "spotOffsetType": "", "stgyType": "0", "roleType": "0", "traderInsts": [],
        "spotRoleType": "0", "spotTraderInsts": [], "opAuth": "0", "kycLv": "2",
        "label": "okx-trio simulator", "ip": "", "perm": "read_only,trade",
        "liquidationGear": "-1", "enableSpotBorrow": False, "spotBorrowAutoRepay": False,
        "type": "0", "settleCcy": "USDT", "settleCcyList": ["USDT"],
    }


def leverage_item(inst: Instrument, lever: Decimal, mgn_mode: str) -> dict[str, Any]:
    """A ``leverage-info`` / ``set-leverage`` item (net mode: one per instrument)."""
    return {"instId": inst.inst_id, "ccy": "", "mgnMode": mgn_mode, "posSide": "net",
            "lever": fmt(lever)}


def max_size_item(inst_id: str, ccy: str, max_buy: Decimal, max_sell: Decimal) -> dict[str, Any]:
    """A ``max-size`` item."""
    return {"instId": inst_id, "ccy": ccy, "maxBuy": fmt(max_buy), "maxSell": fmt(max_sell)}
