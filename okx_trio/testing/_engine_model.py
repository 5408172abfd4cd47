"""Value types of the simulator's exchange engine: instruments, accounts, orders, fills.

Pure data plus small helpers (decimal parsing and formatting, the default
instrument set). No I/O and no behaviour beyond the values' own invariants.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import attrs

from .._models import Credentials
from ._accounts import SimAccount

ZERO = Decimal(0)

HISTORY_LIMIT = 20_000
"""Fills, bills, closed positions and spread trades kept per account (oldest dropped):
OKX keeps days to months of them; a simulator run keeps a bounded recent part."""

# Inst types whose orders open positions (linear margin in settleCcy).
DERIVATIVE_TYPES = frozenset({"SWAP", "FUTURES", "OPTION"})
PENDING_STATES = frozenset({"live", "partially_filled"})
TERMINAL_STATES = frozenset({"filled", "canceled", "mmp_canceled"})


@lru_cache(maxsize=65536)
def fmt(value: Decimal) -> str:
    """A decimal as OKX writes it: plain notation, no trailing zeros (``"30000"``, ``"0.01"``)."""
    if not value:
        return "0"
    return format(value.normalize(), "f")


def parse_dec(value: object) -> Decimal | None:
    """A finite decimal from an OKX string field, or ``None`` if it is not one.

    Only strings are accepted (OKX sends and expects strings for amounts); NaN,
    infinities, exponents and whitespace are refused.
    """
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    if any(c not in "0123456789.-" for c in value):
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    return d


def on_step(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is a whole multiple of ``step``."""
    return value % step == 0


def floor_step(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded down to a multiple of ``step`` (``value >= 0``)."""
    return (value // step) * step


@attrs.frozen
class InstrumentSpec:
    """The static description of one instrument or spread.

    ``inst_type`` is ``SPOT``, ``SWAP``, ``FUTURES``, ``OPTION`` or ``SPREAD``
    (spreads trade only through the ``sprd-*`` ops and are not listed by
    ``public/instruments``). Sizes are in base currency for SPOT and SPREAD and in
    contracts for derivatives.
    """

    inst_id: str
    """``instId`` (the ``sprdId`` for a spread)."""
    inst_type: str
    """``SPOT``, ``SWAP``, ``FUTURES``, ``OPTION`` or ``SPREAD``."""
    inst_id_code: int | None
    """``instIdCode`` for the six order ops (``None`` for spreads)."""
    tick_sz: str
    """Price increment."""
    lot_sz: str
    """Size increment."""
    min_sz: str
    """Minimum order size."""
    start_px: str
    """Mid price the seeded random walk starts from."""
    level_sz: str
    """Typical size of one synthetic book level."""
    base_ccy: str = ""
    """Base currency (SPOT, SPREAD)."""
    quote_ccy: str = ""
    """Quote currency (SPOT, SPREAD)."""
    settle_ccy: str = ""
    """Margin and settlement currency (derivatives)."""
    ct_val: str = ""
    """Contract value (derivatives)."""
    ct_mult: str = ""
    """Contract multiplier (derivatives)."""
    ct_val_ccy: str = ""
    """Currency of ``ct_val``."""
    inst_family: str = ""
    """``instFamily`` (= ``uly``) of derivatives."""
    lever: str = ""
    """Leverage used for margin (derivatives); ``""`` for spot."""
    max_lmt_sz: str = "10000000"
    """``maxLmtSz``."""
    max_mkt_sz: str = "1000000"
    """``maxMktSz``."""
    opt_type: str = ""
    """``C`` or ``P`` for options."""
    stk: str = ""
    """Strike of an option."""
    exp_time: str = ""
    """Expiry (ms) of an option or future."""
    list_time: str = "1600000000000"
    """``listTime`` (ms)."""
    legs: tuple[str, ...] = ()
    """Leg instIds of a spread, near leg first."""

    @property
    def is_spread(self) -> bool:
        """True for a spread (``sprd-*`` ops)."""
        return self.inst_type == "SPREAD"

    @property
    def is_derivative(self) -> bool:
        """True for SWAP, FUTURES and OPTION (orders open positions)."""
        return self.inst_type in DERIVATIVE_TYPES


def default_instruments() -> list[InstrumentSpec]:
    """The default instrument set: two spot pairs, a swap, a BTC-USD option family, a spread."""
    specs = [
        InstrumentSpec(
            "BTC-USDT", "SPOT", 100001, tick_sz="0.1", lot_sz="0.00000001",
            min_sz="0.00001", start_px="60000", level_sz="0.5",
            base_ccy="BTC", quote_ccy="USDT", max_lmt_sz="9999999999", max_mkt_sz="1000000",
        ),
        InstrumentSpec(
            "ETH-USDT", "SPOT", 100002, tick_sz="0.01", lot_sz="0.000001",
            min_sz="0.0001", start_px="3000", level_sz="5",
            base_ccy="ETH", quote_ccy="USDT", max_lmt_sz="9999999999", max_mkt_sz="1000000",
        ),
        InstrumentSpec(
            "BTC-USDT-SWAP", "SWAP", 200001, tick_sz="0.1", lot_sz="0.01", min_sz="0.01",
            start_px="60020", level_sz="50", settle_ccy="USDT", ct_val="0.01", ct_mult="1",
            ct_val_ccy="BTC", inst_family="BTC-USDT", lever="10",
            max_lmt_sz="100000000", max_mkt_sz="12000",
        ),
    ]
    code = 300001
    for stk, opt, px in (("60000", "C", "0.05"), ("60000", "P", "0.045"), ("70000", "C", "0.02")):
        specs.append(
            InstrumentSpec(
                f"BTC-USD-261225-{stk}-{opt}", "OPTION", code, tick_sz="0.0005", lot_sz="1",
                min_sz="1", start_px=px, level_sz="100", settle_ccy="BTC", ct_val="0.01",
                ct_mult="1", ct_val_ccy="BTC", inst_family="BTC-USD", lever="1",
                opt_type=opt, stk=stk, exp_time="1798185600000",
                max_lmt_sz="10000", max_mkt_sz="5000",
            )
        )
        code += 1
    specs.append(
        InstrumentSpec(
            "BTC-USDT_BTC-USDT-SWAP", "SPREAD", None, tick_sz="0.1", lot_sz="0.01",
            min_sz="0.01", start_px="20", level_sz="2", base_ccy="BTC", quote_ccy="USDT",
            legs=("BTC-USDT", "BTC-USDT-SWAP"),
        )
    )
    return specs


DEFAULT_BALANCES: dict[str, str] = {"USDT": "1000000", "BTC": "100", "ETH": "1000"}


@attrs.define(eq=False)
class Position:
    """A net-mode position of one account in one derivative instrument."""

    inst_id: str
    pos_id: str
    pos: Decimal = ZERO
    """Signed contracts (negative = short)."""
    avg_px: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fee: Decimal = ZERO
    """Cumulative fees (negative = paid)."""
    margin: Decimal = ZERO
    """Margin held for the position (part of the account's frozen balance)."""
    c_time: int = 0
    u_time: int = 0
    trade_id: str = ""
    mgn_mode: str = "cross"
    max_pos: Decimal = ZERO
    """Largest absolute size since the position was opened from flat."""
    closed_sz: Decimal = ZERO
    """Size closed since it was opened from flat."""
    closed_notional: Decimal = ZERO
    """Sum of close price x closed size since it was opened from flat."""


@attrs.frozen
class FillRecord:
    """One fill of an account, as ``GET /api/v5/trade/fills`` lists it."""

    bill_id: str
    ts: int
    inst_type: str
    inst_id: str
    ord_id: str
    cl_ord_id: str
    tag: str
    trade_id: str
    side: str
    pos_side: str
    px: Decimal
    sz: Decimal
    fee: Decimal
    """Negative when charged."""
    fee_ccy: str
    pnl: Decimal
    exec_type: str
    sub_type: str
    mark_px: str = ""


@attrs.frozen
class BillRecord:
    """One balance change of an account (``GET /api/v5/account/bills``)."""

    bill_id: str
    ts: int
    ccy: str
    bal_chg: Decimal
    bal: Decimal
    inst_type: str
    inst_id: str
    mgn_mode: str
    ord_id: str
    cl_ord_id: str
    tag: str
    trade_id: str
    exec_type: str
    px: Decimal
    sz: Decimal
    pnl: Decimal
    fee: Decimal
    type: str = "2"
    """``2`` trade (the only kind the simulator makes)."""
    sub_type: str = "1"


@attrs.frozen
class ClosedPosition:
    """A (partly) closed position (``GET /api/v5/account/positions-history``)."""

    inst_id: str
    inst_type: str
    pos_id: str
    mgn_mode: str
    ccy: str
    type: str
    """``1`` partly closed, ``2`` closed."""
    direction: str
    """``long`` or ``short``: the side that was closed."""
    open_avg_px: Decimal
    close_avg_px: Decimal
    open_max_pos: Decimal
    close_total_pos: Decimal
    realized_pnl: Decimal
    fee: Decimal
    lever: Decimal
    c_time: int
    u_time: int


@attrs.define(eq=False)
class Account:
    """One simulated account (one User ID): credentials, settings, balances, positions.

    ``balances`` holds the cash balance per currency (``cashBal``); ``frozen``
    the part held by pending orders and position margin. ``available(ccy)`` is
    their difference (``availBal``). Every API key of the account
    (``settings.keys``) acts on this one account; its orders carry
    ``api_key``, the first key.
    """

    credentials: Credentials
    """The account's first API key (its orders and pushes carry this key)."""
    uid: str
    """The User ID: rate limits count per uid."""
    balances: dict[str, Decimal]
    settings: SimAccount
    """Fee tier, margin mode, MMP privilege and the other API keys."""
    frozen: dict[str, Decimal] = attrs.field(factory=dict)
    positions: dict[str, Position] = attrs.field(factory=dict)
    u_time: dict[str, int] = attrs.field(factory=dict)
    """Last change (ms) per currency."""
    mass_cancel_lock: dict[str, int] = attrs.field(factory=dict)
    """instFamily -> ms until which new orders are refused (``mass-cancel`` lockInterval)."""
    leverage: dict[str, Decimal] = attrs.field(factory=dict)
    """instId -> leverage set with ``set-leverage`` (else the instrument's default)."""
    fills: deque[FillRecord] = attrs.field(factory=lambda: deque(maxlen=HISTORY_LIMIT))
    """The account's fills, oldest first."""
    bills: deque[BillRecord] = attrs.field(factory=lambda: deque(maxlen=HISTORY_LIMIT))
    """The account's balance changes, oldest first."""
    closed_positions: deque[ClosedPosition] = attrs.field(
        factory=lambda: deque(maxlen=HISTORY_LIMIT))
    """Position closes, oldest first."""
    sprd_trades: deque[dict[str, Any]] = attrs.field(
        factory=lambda: deque(maxlen=HISTORY_LIMIT))
    """The account's ``sprd-trades`` items, oldest first."""

    @property
    def api_key(self) -> str:
        """The account's API key."""
        return self.credentials.api_key

    def available(self, ccy: str) -> Decimal:
        """``cashBal - frozenBal`` for ``ccy``."""
        return self.balances.get(ccy, ZERO) - self.frozen.get(ccy, ZERO)


@attrs.define(eq=False)
class Order:
    """One order (regular or spread) as the engine tracks it.

    ``sz`` is the size as placed (for a SPOT market order with
    ``tgtCcy=quote_ccy`` it is the quote amount); ``target`` is the base/contract
    quantity the order tries to fill, ``leaves`` what is still open.
    """

    ord_id: str
    cl_ord_id: str
    tag: str
    api_key: str
    inst_id: str
    """The instId, or the sprdId of a spread order."""
    inst_type: str
    side: str
    ord_type: str
    px: Decimal | None
    sz: Decimal
    target: Decimal
    c_time: int
    u_time: int
    td_mode: str = ""
    pos_side: str = ""
    tgt_ccy: str = ""
    reduce_only: bool = False
    state: str = "live"
    acc_fill_sz: Decimal = ZERO
    notional: Decimal = ZERO
    """Sum of fill price x fill size, for ``avgPx``."""
    fee: Decimal = ZERO
    fee_ccy: str = ""
    pnl: Decimal = ZERO
    """Realized PnL of the order's fills (derivatives)."""
    frozen: Decimal = ZERO
    frozen_ccy: str = ""
    canceled_sz: Decimal = ZERO
    cancel_source: str = ""
    req_ids: list[str] = attrs.field(factory=list)
    last_req_id: str = ""
    amend_result: str = ""
    seq: int = 0
    """Time priority within a price level (lower first)."""
    lever: Decimal = Decimal(1)
    """The leverage its margin is held at (derivatives; fixed when placed)."""
    last_fill_px: str = ""
    last_fill_sz: str = "0"
    last_trade_id: str = ""
    last_fill_time: str = ""
    last_exec_type: str = ""
    booked: Decimal = ZERO
    """Open size this order counts for in its book level (0 while not queued)."""

    @property
    def sprd_id(self) -> str | None:
        """The spread id for a spread order, else ``None``."""
        return self.inst_id if self.inst_type == "SPREAD" else None

    @property
    def leaves(self) -> Decimal:
        """Open quantity."""
        return self.target - self.acc_fill_sz - self.canceled_sz

    @property
    def pending(self) -> bool:
        """True while ``live`` or ``partially_filled``."""
        return self.state in PENDING_STATES

    def avg_px(self, quantum: Decimal) -> str:
        """``avgPx`` as OKX writes it (``"0"`` before any fill)."""
        if not self.acc_fill_sz:
            return "0"
        return fmt((self.notional / self.acc_fill_sz).quantize(quantum))

    def touch(self, now: int) -> None:
        """Set ``u_time`` to ``now``, kept strictly increasing per order."""
        self.u_time = max(now, self.u_time + 1)


@attrs.frozen
class Fill:
    """One fill of one order, as its ``orders``/``sprd-orders`` push shows it."""

    px: Decimal
    sz: Decimal
    trade_id: str
    exec_type: str
    """``"T"`` taker, ``"M"`` maker."""
    fee: Decimal
    """The fee of this fill, negative when charged (``fillFee``)."""
    fee_ccy: str
    pnl: Decimal
    """Realized PnL of this fill (derivatives)."""
