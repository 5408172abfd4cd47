"""Typed views of OKX data items: ``Push.data``, lazily, and REST answers.

``Push.data`` stays the list of dicts exactly as received, so the hot path
never pays for conversion; ``push.view()`` (or ``view_push``) builds these
frozen attrs objects only when asked. The REST client returns the same classes
where OKX uses the same shape (an order from ``GET /api/v5/trade/order`` is an
``Order``, like an ``orders`` push item), and a few REST-only ones
(``Bill``, ``AccountConfig``...).

Conventions, the same for every view:

* field names are OKX's camelCase names in snake_case (``clOrdId`` ->
  ``cl_ord_id``, ``open24h`` -> ``open_24h``);
* prices, sizes, amounts, ratios and fees are ``Decimal``;
* timestamps (``ts``, ``cTime``, ``uTime``, ``fillTime``, ``pTime``) are
  ``int`` milliseconds;
* ids, currencies and enum-like codes (``state``, ``side``, ``code``...) are
  ``str``;
* ``"true"``/``"false"`` strings are ``bool``;
* an empty string, like an absent field, is ``None``;
* fields the view does not know are kept, as received, in ``extra``; nested
  lists of objects OKX may reshape (``attachAlgoOrds``...) stay raw dicts.

Every field is checked against its type when the view is built: numbers
must be plain ASCII decimal strings (or JSON integers), never floats, ``NaN``,
exponents or non-ASCII digits (the rules of ``_formats``, shared with the
request models); book level sizes must not be negative. An item that breaks
its channel's shape, whatever way, raises ``OkxProtocolError``
from the view call, never an ``AttributeError`` or ``TypeError`` later.

``converter.unstructure(view)`` writes a view back in OKX's shape (``None``
fields omitted, ``extra`` merged back).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Final, TypeAlias, TypeVar, get_args, get_origin

import attrs
import cattrs

from ._convert import converter, register_camel
from ._exceptions import OkxProtocolError
from ._formats import wire_decimal, wire_int

__all__ = [
    "Account",
    "AccountConfig",
    "AccountDetail",
    "BalanceAndPosition",
    "BalanceData",
    "BalanceTrade",
    "Bill",
    "BookData",
    "BookLevel",
    "Candle",
    "Fill",
    "FundingRate",
    "Leverage",
    "MarkPrice",
    "MaxSize",
    "Order",
    "Position",
    "PositionData",
    "PositionHistory",
    "RpiBookData",
    "RpiBookLevel",
    "SprdOrder",
    "SprdTrade",
    "SprdTradeLeg",
    "Spread",
    "SpreadLeg",
    "Ticker",
    "Trade",
    "View",
    "structure_items",
    "view_as",
    "view_items",
    "view_type",
]


class _Wire:
    """Marker in ``Annotated`` metadata: how a string field travels on the wire."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<wire {self.name}>"


_DEC: Final = _Wire("decimal")
_INT: Final = _Wire("int")
_NUM: Final = _Wire("number")
_STR: Final = _Wire("str")
_BOOL: Final = _Wire("bool")
_RAW: Final = _Wire("objects")

Dec = Annotated[Decimal | None, _DEC]
"""A number in plain ASCII decimal notation as ``Decimal``; ``""`` -> ``None``."""
Ms = Annotated[int | None, _INT]
"""An integer carried as a string (timestamps in ms, counts); ``""`` -> ``None``."""
Int = Annotated[int | None, _NUM]
"""An integer OKX sends as a JSON number (``seqId``, ``checksum``)."""
Str = Annotated[str | None, _STR]
"""A string; ``""`` -> ``None``."""
Bool = Annotated[bool | None, _BOOL]
"""A ``"true"``/``"false"`` string; ``""`` -> ``None``."""
Objects = Annotated[list[dict[str, Any]] | None, _RAW]
"""A list of objects kept as received (``attachAlgoOrds``...)."""


def _marker(tp: Any) -> _Wire | None:
    if get_origin(tp) is Annotated:
        for meta in get_args(tp)[1:]:
            if isinstance(meta, _Wire):
                return meta
    return None


# Numbers and integers follow the wire rules of ``_formats`` (the ones the
# request models apply to what the client sends): plain ASCII decimal strings
# or JSON integers; never floats, "NaN", exponents, spaces or non-ASCII digits.


def _structure_dec(value: Any, _: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return wire_decimal(value)


def _structure_int(value: Any, _: Any) -> int | None:
    if value is None or value == "":
        return None
    return wire_int(value)


def _structure_str(value: Any, _: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if type(value) is int:
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_bool(value: Any, _: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValueError(f"expected 'true' or 'false', got {value!r}")


def _structure_objects(value: Any, _: Any) -> list[dict[str, Any]] | None:
    if value is None or value == "":
        return None
    if not isinstance(value, list):
        raise TypeError(f"expected a list of objects, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, dict):
            raise TypeError(f"expected a list of objects, got an item {type(item).__name__}")
    return value


def _unstructure_dec(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def _unstructure_int(value: int | None) -> str:
    return "" if value is None else str(value)


def _unstructure_str(value: str | None) -> str:
    return "" if value is None else value


def _unstructure_bool(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _as_is(value: Any) -> Any:
    return value


_HOOKS: Final[dict[_Wire, tuple[Callable[[Any, Any], Any], Callable[[Any], Any]]]] = {
    _DEC: (_structure_dec, _unstructure_dec),
    _INT: (_structure_int, _unstructure_int),
    _NUM: (_structure_int, _as_is),
    _STR: (_structure_str, _unstructure_str),
    _BOOL: (_structure_bool, _unstructure_bool),
    _RAW: (_structure_objects, _as_is),
}


def _is(wire: _Wire) -> Callable[[Any], bool]:
    def predicate(tp: Any) -> bool:
        return _marker(tp) is wire

    return predicate


for _wire, (_struct, _unstruct) in _HOOKS.items():
    # Keyed on our private markers, so other models of the shared converter
    # keep their own rules for plain ``Decimal | None`` and ``str | None``.
    converter.register_structure_hook_func(_is(_wire), _struct)
    converter.register_unstructure_hook_func(_is(_wire), _unstruct)


# --- public market data ------------------------------------------------------


@attrs.frozen(kw_only=True)
class Ticker:
    """An item of the ``tickers`` channel."""

    inst_type: Str = None
    inst_id: Str = None
    last: Dec = None
    last_sz: Dec = None
    ask_px: Dec = None
    ask_sz: Dec = None
    bid_px: Dec = None
    bid_sz: Dec = None
    open_24h: Dec = None
    high_24h: Dec = None
    low_24h: Dec = None
    vol_ccy_24h: Dec = None
    vol_24h: Dec = None
    sod_utc0: Dec = None
    sod_utc8: Dec = None
    ts: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class Trade:
    """An item of the ``trades`` or ``trades-all`` channel."""

    inst_id: Str = None
    trade_id: Str = None
    px: Dec = None
    sz: Dec = None
    side: Str = None
    count: Ms = None
    """Trades aggregated into this push (``trades`` only)."""
    source: Str = None
    seq_id: Int = None
    ts: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen
class BookLevel:
    """One order-book level ``[px, sz, "0", count]``."""

    px: Decimal
    sz: Decimal
    count: int | None = None
    """Number of orders at the level."""


@attrs.frozen(kw_only=True)
class BookData:
    """An item of an order-book channel (``books``, ``books5``, ``bbo-tbt``...).

    For incremental channels an update holds only the changed levels; use
    ``WsClient.order_book`` for a maintained book.
    """

    asks: list[BookLevel] = attrs.field(factory=list)
    bids: list[BookLevel] = attrs.field(factory=list)
    inst_id: Str = None
    ts: Ms = None
    checksum: Int = None
    prev_seq_id: Int = None
    seq_id: Int = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen
class RpiBookLevel:
    """One ``books-rpi`` level ``[px, totalQty, nonRpiQty, count]``.

    ``sz`` is the level's whole size, Retail Price Improvement orders included
    (what an order with ``rpiTakerAccess`` can take); ``non_rpi_sz`` is the part
    any order can take.
    """

    px: Decimal
    sz: Decimal
    """``totalQty``: the whole size at the price, RPI orders included."""
    non_rpi_sz: Decimal
    """``nonRpiQty``: the size of the ordinary (non-RPI) orders at the price."""
    count: int | None = None
    """Number of orders at the level."""


@attrs.frozen(kw_only=True)
class RpiBookData:
    """An item of the ``books-rpi`` channel (or of ``GET /api/v5/market/books-rpi``).

    Its levels carry the RPI split (``RpiBookLevel``); there is no checksum.
    """

    asks: list[RpiBookLevel] = attrs.field(factory=list)
    bids: list[RpiBookLevel] = attrs.field(factory=list)
    inst_id: Str = None
    ts: Ms = None
    prev_seq_id: int | None = None
    seq_id: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class Candle:
    """One candle row of a ``candle*`` / ``mark-price-candle*`` / ``index-candle*`` channel.

    OKX sends ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``; mark and
    index candles have no volumes (``[ts, o, h, l, c, confirm]``).
    """

    ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    vol: Decimal | None = None
    vol_ccy: Decimal | None = None
    vol_ccy_quote: Decimal | None = None
    confirm: bool = False
    """True once the candle is closed."""
    extra: list[Any] = attrs.field(factory=list)
    """Trailing row elements this view does not name, as received."""


# --- private channels ----------------------------------------------------------


@attrs.frozen(kw_only=True)
class Order:
    """An item of the ``orders`` channel."""

    inst_type: Str = None
    inst_id: Str = None
    ord_id: Str = None
    cl_ord_id: Str = None
    tag: Str = None
    px: Dec = None
    sz: Dec = None
    ord_type: Str = None
    side: Str = None
    pos_side: Str = None
    td_mode: Str = None
    tgt_ccy: Str = None
    ccy: Str = None
    state: Str = None
    acc_fill_sz: Dec = None
    avg_px: Dec = None
    fill_px: Dec = None
    fill_sz: Dec = None
    fill_time: Ms = None
    trade_id: Str = None
    fill_fee: Dec = None
    fill_fee_ccy: Str = None
    fill_pnl: Dec = None
    exec_type: Str = None
    fee: Dec = None
    fee_ccy: Str = None
    rebate: Dec = None
    rebate_ccy: Str = None
    pnl: Dec = None
    lever: Dec = None
    reduce_only: Bool = None
    category: Str = None
    source: Str = None
    cancel_source: Str = None
    cancel_source_reason: Str = None
    """REST only: the text of ``cancel_source``."""
    amend_source: Str = None
    req_id: Str = None
    amend_result: Str = None
    code: Str = None
    msg: Str = None
    stp_mode: Str = None
    algo_id: Str = None
    algo_cl_ord_id: Str = None
    last_px: Dec = None
    notional_usd: Dec = None
    fill_notional_usd: Dec = None
    fill_mark_px: Dec = None
    fill_idx_px: Dec = None
    px_usd: Dec = None
    px_vol: Dec = None
    px_type: Str = None
    fill_px_vol: Dec = None
    fill_px_usd: Dec = None
    fill_mark_vol: Dec = None
    fill_fwd_px: Dec = None
    trade_quote_ccy: Str = None
    is_tp_limit: Bool = None
    attach_algo_ords: Objects = None
    c_time: Ms = None
    u_time: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class Fill:
    """An item of the ``fills`` channel, or of ``GET /api/v5/trade/fills(-history)``.

    The REST items carry more (``bill_id``, ``fee``, ``fill_pnl``...); the
    channel leaves those ``None``.
    """

    inst_type: Str = None
    inst_id: Str = None
    fill_sz: Dec = None
    fill_px: Dec = None
    side: Str = None
    pos_side: Str = None
    ts: Ms = None
    fill_time: Ms = None
    ord_id: Str = None
    cl_ord_id: Str = None
    trade_id: Str = None
    bill_id: Str = None
    """REST: the cursor of the fills endpoints."""
    sub_type: Str = None
    tag: Str = None
    exec_type: Str = None
    fee: Dec = None
    """Negative when charged."""
    fee_ccy: Str = None
    fill_pnl: Dec = None
    fill_idx_px: Dec = None
    fill_mark_px: Dec = None
    trade_quote_ccy: Str = None
    count: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class Position:
    """An item of the ``positions`` channel."""

    inst_type: Str = None
    inst_id: Str = None
    mgn_mode: Str = None
    pos_id: Str = None
    pos_side: Str = None
    pos: Dec = None
    """Signed in net mode (negative = short)."""
    avail_pos: Dec = None
    avg_px: Dec = None
    upl: Dec = None
    upl_ratio: Dec = None
    lever: Dec = None
    liq_px: Dec = None
    mark_px: Dec = None
    imr: Dec = None
    mmr: Dec = None
    margin: Dec = None
    mgn_ratio: Dec = None
    notional_usd: Dec = None
    ccy: Str = None
    pos_ccy: Str = None
    realized_pnl: Dec = None
    pnl: Dec = None
    fee: Dec = None
    funding_fee: Dec = None
    trade_id: Str = None
    adl: Str = None
    close_order_algo: Objects = None
    c_time: Ms = None
    u_time: Ms = None
    p_time: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class AccountDetail:
    """One currency of an ``account`` item's ``details``."""

    ccy: Str = None
    eq: Dec = None
    cash_bal: Dec = None
    avail_bal: Dec = None
    frozen_bal: Dec = None
    ord_frozen: Dec = None
    avail_eq: Dec = None
    dis_eq: Dec = None
    iso_eq: Dec = None
    upl: Dec = None
    liab: Dec = None
    max_loan: Dec = None
    interest: Dec = None
    mgn_ratio: Dec = None
    eq_usd: Dec = None
    u_time: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class Account:
    """An item of the ``account`` channel."""

    u_time: Ms = None
    total_eq: Dec = None
    iso_eq: Dec = None
    adj_eq: Dec = None
    avail_eq: Dec = None
    ord_froz: Dec = None
    imr: Dec = None
    mmr: Dec = None
    borrow_froz: Dec = None
    mgn_ratio: Dec = None
    notional_usd: Dec = None
    upl: Dec = None
    details: list[AccountDetail] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class BalanceData:
    """One ``balData`` entry of ``balance_and_position``."""

    ccy: Str = None
    cash_bal: Dec = None
    u_time: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class PositionData:
    """One ``posData`` entry of ``balance_and_position``."""

    pos_id: Str = None
    trade_id: Str = None
    inst_id: Str = None
    inst_type: Str = None
    mgn_mode: Str = None
    pos_side: Str = None
    pos: Dec = None
    ccy: Str = None
    pos_ccy: Str = None
    avg_px: Dec = None
    non_settle_avg_px: Dec = None
    settled_pnl: Dec = None
    u_time: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class BalanceTrade:
    """One ``trades`` entry of ``balance_and_position``."""

    inst_id: Str = None
    trade_id: Str = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class BalanceAndPosition:
    """An item of the ``balance_and_position`` channel."""

    p_time: Ms = None
    event_type: Str = None
    bal_data: list[BalanceData] = attrs.field(factory=list)
    pos_data: list[PositionData] = attrs.field(factory=list)
    trades: list[BalanceTrade] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class SprdOrder:
    """An item of the ``sprd-orders`` channel."""

    sprd_id: Str = None
    ord_id: Str = None
    cl_ord_id: Str = None
    tag: Str = None
    px: Dec = None
    sz: Dec = None
    ord_type: Str = None
    side: Str = None
    fill_sz: Dec = None
    fill_px: Dec = None
    trade_id: Str = None
    acc_fill_sz: Dec = None
    pending_fill_sz: Dec = None
    pending_settle_sz: Dec = None
    canceled_sz: Dec = None
    state: Str = None
    avg_px: Dec = None
    cancel_source: Str = None
    code: Str = None
    msg: Str = None
    req_id: Str = None
    amend_result: Str = None
    c_time: Ms = None
    u_time: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class SprdTradeLeg:
    """One leg of a ``sprd-trades`` item."""

    inst_id: Str = None
    px: Dec = None
    sz: Dec = None
    sz_cont: Dec = None
    side: Str = None
    fill_pnl: Dec = None
    fee: Dec = None
    fee_ccy: Str = None
    trade_id: Str = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class SprdTrade:
    """An item of the ``sprd-trades`` channel."""

    sprd_id: Str = None
    trade_id: Str = None
    ord_id: Str = None
    cl_ord_id: Str = None
    tag: Str = None
    fill_px: Dec = None
    fill_sz: Dec = None
    side: Str = None
    state: Str = None
    exec_type: Str = None
    code: Str = None
    msg: Str = None
    ts: Ms = None
    legs: list[SprdTradeLeg] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


# --- REST items (and the channels that share their shape) -------------------------


@attrs.frozen(kw_only=True)
class MarkPrice:
    """An item of ``GET /api/v5/public/mark-price`` or the ``mark-price`` channel."""

    inst_type: Str = None
    inst_id: Str = None
    mark_px: Dec = None
    ts: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class FundingRate:
    """An item of ``GET /api/v5/public/funding-rate`` or the ``funding-rate`` channel.

    The funding interval is ``next_funding_time - funding_time``.
    """

    inst_type: Str = None
    inst_id: Str = None
    method: Str = None
    formula_type: Str = None
    funding_rate: Dec = None
    next_funding_rate: Dec = None
    funding_time: Ms = None
    next_funding_time: Ms = None
    min_funding_rate: Dec = None
    max_funding_rate: Dec = None
    interest_rate: Dec = None
    impact_value: Dec = None
    sett_state: Str = None
    sett_funding_rate: Dec = None
    premium: Dec = None
    ts: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class PositionHistory:
    """An item of ``GET /api/v5/account/positions-history``: one closed (or
    partly closed) position."""

    inst_type: Str = None
    inst_id: Str = None
    mgn_mode: Str = None
    type: Str = None
    """``1`` partly closed, ``2`` closed, ``3`` liquidated, ``4`` partly
    liquidated, ``5``/``6`` ADL."""
    pos_id: Str = None
    pos_side: Str = None
    direction: Str = None
    ccy: Str = None
    uly: Str = None
    open_avg_px: Dec = None
    non_settle_avg_px: Dec = None
    close_avg_px: Dec = None
    open_max_pos: Dec = None
    close_total_pos: Dec = None
    realized_pnl: Dec = None
    settled_pnl: Dec = None
    pnl: Dec = None
    pnl_ratio: Dec = None
    fee: Dec = None
    funding_fee: Dec = None
    liq_penalty: Dec = None
    lever: Dec = None
    trigger_px: Dec = None
    c_time: Ms = None
    u_time: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class AccountConfig:
    """The item of ``GET /api/v5/account/config``."""

    uid: Str = None
    main_uid: Str = None
    acct_lv: Str = None
    """``1`` spot, ``2`` futures, ``3`` multi-currency margin, ``4`` portfolio margin."""
    pos_mode: Str = None
    """``long_short_mode`` or ``net_mode``."""
    acct_stp_mode: Str = None
    auto_loan: Bool = None
    greeks_type: Str = None
    level: Str = None
    level_tmp: Str = None
    ct_iso_mode: Str = None
    mgn_iso_mode: Str = None
    label: Str = None
    ip: Str = None
    perm: Str = None
    """The API key's permissions, e.g. ``read_only,trade``."""
    kyc_lv: Str = None
    role_type: Str = None
    type: Str = None
    settle_ccy: Str = None
    enable_spot_borrow: Bool = None
    spot_borrow_auto_repay: Bool = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class Leverage:
    """An item of ``GET /api/v5/account/leverage-info`` or ``POST .../set-leverage``."""

    inst_id: Str = None
    ccy: Str = None
    mgn_mode: Str = None
    pos_side: Str = None
    lever: Dec = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class MaxSize:
    """An item of ``GET /api/v5/account/max-size``: the largest order each way.

    Derivatives: contracts. Spot: ``max_buy`` in the base currency,
    ``max_sell`` in the quote currency (OKX's wording).
    """

    inst_id: Str = None
    ccy: Str = None
    max_buy: Dec = None
    max_sell: Dec = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class Bill:
    """An item of ``GET /api/v5/account/bills(-archive)``: one balance change."""

    bill_id: Str = None
    inst_type: Str = None
    inst_id: Str = None
    type: Str = None
    """``1`` transfer, ``2`` trade, ``3`` delivery, ``5`` liquidation, ``8`` funding fee..."""
    sub_type: Str = None
    ccy: Str = None
    bal_chg: Dec = None
    bal: Dec = None
    pos_bal_chg: Dec = None
    pos_bal: Dec = None
    sz: Dec = None
    px: Dec = None
    pnl: Dec = None
    fee: Dec = None
    """Negative when charged."""
    mgn_mode: Str = None
    ord_id: Str = None
    cl_ord_id: Str = None
    trade_id: Str = None
    tag: Str = None
    exec_type: Str = None
    interest: Dec = None
    fill_time: Ms = None
    ts: Ms = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received (``from``, ``to``, ``notes``...)."""


@attrs.frozen(kw_only=True)
class SpreadLeg:
    """One leg of a ``Spread``."""

    inst_id: Str = None
    side: Str = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


@attrs.frozen(kw_only=True)
class Spread:
    """An item of ``GET /api/v5/sprd/spreads``: one spread and its legs."""

    sprd_id: Str = None
    sprd_type: Str = None
    state: Str = None
    base_ccy: Str = None
    sz_ccy: Str = None
    quote_ccy: Str = None
    tick_sz: Dec = None
    lot_sz: Dec = None
    min_sz: Dec = None
    list_time: Ms = None
    exp_time: Ms = None
    u_time: Ms = None
    legs: list[SpreadLeg] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Fields this view does not name, as received."""


# --- converter registration ------------------------------------------------------

# Nested classes first: a parent's hook captures its children's hooks.
for _cls in (
    Ticker,
    Trade,
    Order,
    Fill,
    Position,
    AccountDetail,
    Account,
    BalanceData,
    PositionData,
    BalanceTrade,
    BalanceAndPosition,
    SprdOrder,
    SprdTradeLeg,
    SprdTrade,
    MarkPrice,
    FundingRate,
    PositionHistory,
    AccountConfig,
    Leverage,
    MaxSize,
    Bill,
    SpreadLeg,
    Spread,
):
    register_camel(_cls, extra_field="extra")


def _row(value: Any, what: str, min_len: int) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"a {what} must be an array, got {type(value).__name__}")
    if len(value) < min_len:
        raise ValueError(f"a {what} needs at least {min_len} elements, got {len(value)}")
    return value


def _structure_level(value: Any, _: Any) -> BookLevel:
    row = _row(value, "book level", 2)
    count = _structure_int(row[3], None) if len(row) > 3 else None
    sz = wire_decimal(row[1])
    if sz < 0:
        raise ValueError(f"a book level size must not be negative, got {row[1]!r}")
    return BookLevel(wire_decimal(row[0]), sz, count)


def _unstructure_level(level: BookLevel) -> list[str]:
    return [format(level.px, "f"), format(level.sz, "f"), "0", _unstructure_int(level.count)]


converter.register_structure_hook(BookLevel, _structure_level)
converter.register_unstructure_hook(BookLevel, _unstructure_level)
register_camel(BookData, extra_field="extra")


def _structure_rpi_level(value: Any, _: Any) -> RpiBookLevel:
    row = _row(value, "books-rpi level", 3)
    count = _structure_int(row[3], None) if len(row) > 3 else None
    return RpiBookLevel(Decimal(row[0]), Decimal(row[1]), Decimal(row[2]), count)


def _unstructure_rpi_level(level: RpiBookLevel) -> list[str]:
    return [format(level.px, "f"), format(level.sz, "f"), format(level.non_rpi_sz, "f"),
            _unstructure_int(level.count)]


converter.register_structure_hook(RpiBookLevel, _structure_rpi_level)
converter.register_unstructure_hook(RpiBookLevel, _unstructure_rpi_level)
register_camel(RpiBookData, extra_field="extra")


def _structure_candle(value: Any, _: Any) -> Candle:
    row = _row(value, "candle row", 6)
    confirm = row[8] if len(row) >= 9 else row[-1]
    vols = row[5:8] if len(row) >= 9 else row[5:-1]
    vol, vol_ccy, vol_ccy_quote = (_structure_dec(v, None) for v in (*vols, None, None, None)[:3])
    ts = _structure_int(row[0], None)
    if ts is None:
        raise ValueError("a candle row has no timestamp")
    if confirm not in ("0", "1"):
        raise ValueError(f"candle confirm must be '0' or '1', got {confirm!r}")
    return Candle(
        ts=ts,
        open=wire_decimal(row[1]),
        high=wire_decimal(row[2]),
        low=wire_decimal(row[3]),
        close=wire_decimal(row[4]),
        vol=vol,
        vol_ccy=vol_ccy,
        vol_ccy_quote=vol_ccy_quote,
        confirm=confirm == "1",
        extra=list(row[9:]),
    )


def _unstructure_candle(candle: Candle) -> list[Any]:
    head = [str(candle.ts)] + [
        format(v, "f") for v in (candle.open, candle.high, candle.low, candle.close)
    ]
    vols = [candle.vol, candle.vol_ccy, candle.vol_ccy_quote]
    confirm = "1" if candle.confirm else "0"
    if all(v is None for v in vols) and not candle.extra:
        return [*head, confirm]
    return [*head, *(_unstructure_dec(v) for v in vols), confirm, *candle.extra]


converter.register_structure_hook(Candle, _structure_candle)
converter.register_unstructure_hook(Candle, _unstructure_candle)


# --- dispatch ----------------------------------------------------------------------

_BOOK_CHANNELS: Final = (
    "books",
    "books5",
    "bbo-tbt",
    "books-l2-tbt",
    "books50-l2-tbt",
    "sprd-books5",
    "sprd-bbo-tbt",
)

VIEW_TYPES: Final[Mapping[str, type]] = {
    "tickers": Ticker,
    "trades": Trade,
    "trades-all": Trade,
    **dict.fromkeys(_BOOK_CHANNELS, BookData),
    "books-rpi": RpiBookData,
    "orders": Order,
    "fills": Fill,
    "positions": Position,
    "account": Account,
    "balance_and_position": BalanceAndPosition,
    "sprd-orders": SprdOrder,
    "sprd-trades": SprdTrade,
    "mark-price": MarkPrice,
    "funding-rate": FundingRate,
}
"""The view class of each channel with a typed view."""

_CANDLE_PREFIXES: Final = ("candle", "mark-price-candle", "index-candle", "sprd-candle")


View: TypeAlias = (
    Ticker
    | Trade
    | BookData
    | RpiBookData
    | Candle
    | Order
    | Fill
    | Position
    | Account
    | BalanceAndPosition
    | SprdOrder
    | SprdTrade
    | MarkPrice
    | FundingRate
    | dict[str, Any]
)
"""What ``Push.view()`` gives for one data item: the channel's view class, or
the raw item (a ``dict``) for a channel without a typed view."""

V = TypeVar("V")


def view_type(channel: str) -> type | None:
    """The view class for ``channel``, or ``None`` when it has none."""
    cls = VIEW_TYPES.get(channel)
    if cls is None and channel.startswith(_CANDLE_PREFIXES):
        return Candle
    return cls


def view_items(channel: str, data: Sequence[Any]) -> list[View]:
    """Typed views of a channel's data items (raw items for unknown channels).

    Raises:
        OkxProtocolError: an item does not have the channel's shape.
    """
    cls = view_type(channel)
    if cls is None:
        return list(data)
    return _build(channel, cls, data)


def view_as(channel: str, data: Sequence[Any], cls: type[V]) -> list[V]:
    """Views of a channel's data items as ``cls``, statically typed.

    Raises:
        TypeError: ``cls`` is not the view class of ``channel``.
        OkxProtocolError: an item does not have the channel's shape.
    """
    expected = view_type(channel)
    if expected is not cls:
        have = expected.__name__ if expected is not None else "no typed view"
        raise TypeError(f"{channel} pushes have {have}, not {getattr(cls, '__name__', cls)}")
    return _build(channel, cls, data)


def structure_items(what: str, data: Sequence[Any], cls: type[V]) -> list[V]:
    """Views of ``data`` items as ``cls`` (a REST answer's ``data``; ``what`` names it
    in errors, e.g. ``"GET /api/v5/trade/order"``).

    Raises:
        OkxProtocolError: an item does not have the shape of ``cls``.
    """
    return _build(what, cls, data, kind="answer")


def _build(channel: str, cls: type[Any], data: Sequence[Any], kind: str = "push") -> list[Any]:
    try:
        if cls is not Candle:
            for item in data:
                if not isinstance(item, Mapping):
                    raise TypeError(f"an item must be an object, got {type(item).__name__}")
        return [converter.structure(item, cls) for item in data]
    except Exception as exc:
        # Whatever the item holds, the caller gets one error type that says
        # the exchange sent something of the wrong shape.
        if isinstance(exc, cattrs.BaseValidationError):
            detail = "; ".join(cattrs.transform_error(exc))
        else:
            detail = str(exc)
        raise OkxProtocolError(
            f"malformed {channel} {kind}: cannot build {cls.__name__} views ({detail})"
        ) from exc
