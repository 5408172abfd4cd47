"""Request models of the eleven trade ops, their validation and wire form.

Each model is a frozen attrs class with OKX's documented fields for its op
in snake_case; ``to_wire`` writes OKX's
camelCase dict through the one converter of ``_convert``, leaving out fields
that are ``None``. A plain mapping with OKX's own camelCase names is accepted
too (``coerce``): it is turned into the model, so it is validated the same
way.

Validation happens when a model is built, before anything can be sent, and
every error names the field (Python name and OKX name):

* types: prices and sizes are ``str`` (plain decimal notation), ``Decimal`` or
  ``int`` (exact; stored and sent as its decimal string); ``float`` raises
  ``TypeError`` because binary floats silently change prices; ``instIdCode``
  is an ``int`` (a digit string is converted);
  booleans must be real ``bool``;
* formats (``_formats``, the rules the decoders apply to what comes back):
  numbers in plain ASCII decimal notation, ``clOrdId``/``reqId`` 1-32 ASCII
  letters or digits, ``tag`` 1-16, each matched against the whole text (no
  trailing newline, no full-width or other non-ASCII digits);
* enum values (``side``, ``tdMode``, ``ordType``, ``posSide``...);
* one-of rules: ``instId`` or ``instIdCode``; ``ordId`` or ``clOrdId``; a new
  size or price on amends; a price on limit-like order types.

Unknown keys in a mapping raise ``ValueError`` naming them: a mistyped
``clOrdID`` must not be dropped (or sent and ignored by the exchange) while the
caller believes it was used. Fields this version does not know yet (OKX adds
some every few months) go through the models' ``extra`` argument, which is sent
untouched.

Checks that need the instrument's rules (tick size, lot size, minimum size)
run at send time when the instrument is cached: ``check_instrument``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

import attrs

from ._convert import camel, converter, register_camel
from ._exceptions import OkxOrderRuleError
from ._formats import is_decimal, is_digits, is_id, is_tag
from ._models import Instrument

__all__ = [
    "MAX_BATCH",
    "AmendOrder",
    "AmendSpreadOrder",
    "CancelOrder",
    "CancelSpreadOrder",
    "MassCancel",
    "MassCancelSpread",
    "PlaceOrder",
    "PlaceSpreadOrder",
    "check_instrument",
    "coerce",
    "coerce_batch",
    "to_wire",
]

MAX_BATCH: Final = 20

SIDES = frozenset({"buy", "sell"})
TD_MODES = frozenset({"cash", "cross", "isolated", "spot_isolated"})
ORD_TYPES = frozenset(
    {
        "market",
        "limit",
        "post_only",
        "fok",
        "ioc",
        "optimal_limit_ioc",
        "mmp",
        "mmp_and_post_only",
        "rpi",
    }
)
# Order types that need a price (px, or for options one of px/pxUsd/pxVol).
PRICED_ORD_TYPES = frozenset(
    {"limit", "post_only", "fok", "ioc", "mmp", "mmp_and_post_only", "rpi"}
)
# Order types that may take liquidity from RPI orders (rpiTakerAccess).
RPI_TAKER_ORD_TYPES = frozenset({"limit", "market", "fok", "ioc", "optimal_limit_ioc"})
# OKX renamed ELP to RPI; the ELP names were retired after 2026-10-31. Each
# retired value or field -> its replacement, named in the error.
RETIRED_ORD_TYPES: Final = {"elp": "rpi"}
RETIRED_FIELDS: Final = {
    "isElpTakerAccess": "rpi_taker_access (rpiTakerAccess)",
}
_RETIRED_NOTE: Final = "OKX renamed ELP to RPI and retired the ELP names after 2026-10-31"
SPREAD_ORD_TYPES = frozenset({"market", "limit", "post_only", "ioc"})
PRICED_SPREAD_ORD_TYPES = frozenset({"limit", "post_only", "ioc"})
POS_SIDES = frozenset({"net", "long", "short"})
TGT_CCYS = frozenset({"base_ccy", "quote_ccy"})
STP_MODES = frozenset({"cancel_maker", "cancel_taker", "cancel_both"})
PX_AMEND_TYPES = frozenset({"0", "1"})
OUTCOMES = frozenset({"yes", "no"})
MASS_CANCEL_INST_TYPES = frozenset({"OPTION"})

Num = str | Decimal | int
"""A price or size: ``str`` in plain decimal notation, ``Decimal`` or ``int``
(an ``int`` is exact; it is stored and sent as its decimal string)."""


# ---------------------------------------------------------------------------
# Field validators (attrs calls them with the instance, the field and the value)


def _name(inst: object, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(inst).__name__}.{attribute.name} ({camel(attribute.name)})"


def _typename(value: object) -> str:
    return type(value).__name__


def _text(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{_name(inst, attribute)} must be a str, not {_typename(value)}")
    if not value:
        raise ValueError(f"{_name(inst, attribute)} must not be empty")


def _one_of(allowed: frozenset[str], retired: Mapping[str, str] | None = None) -> Any:
    def check(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        _text(inst, attribute, value)
        if retired is not None and value in retired:
            raise ValueError(
                f"{_name(inst, attribute)} {value!r} is retired ({_RETIRED_NOTE}); "
                f"use {retired[value]!r}"
            )
        if value not in allowed:
            raise ValueError(
                f"{_name(inst, attribute)} must be one of {', '.join(sorted(allowed))}; "
                f"got {value!r}"
            )

    return check


def _id32(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{_name(inst, attribute)} must be a str, not {_typename(value)}")
    if not is_id(value):
        raise ValueError(f"{_name(inst, attribute)} must be 1-32 letters or digits; got {value!r}")


def _tag(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{_name(inst, attribute)} must be a str, not {_typename(value)}")
    if not is_tag(value):
        raise ValueError(f"{_name(inst, attribute)} must be 1-16 letters or digits; got {value!r}")


def _flag(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(
            f"{_name(inst, attribute)} must be a bool (True/False), not {_typename(value)}"
        )


def _decimal_of(inst: object, attribute: attrs.Attribute[Any], value: Any) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{_name(inst, attribute)} must be a finite number; got {value!r}")
        return value
    if isinstance(value, str):
        # Plain ASCII decimal notation, as OKX writes numbers (see _formats).
        if not is_decimal(value):
            raise ValueError(
                f"{_name(inst, attribute)} must be a number in plain decimal notation "
                f"(like '0.01'); got {value!r}"
            )
        return Decimal(value)
    if type(value) is int:
        return Decimal(value)  # exact (a bool is not a number here)
    if isinstance(value, float):
        raise TypeError(
            f"{_name(inst, attribute)} must be a str, Decimal or int, not float "
            "(binary floats change prices and sizes silently)"
        )
    raise TypeError(
        f"{_name(inst, attribute)} must be a str, Decimal or int, not {_typename(value)}"
    )


def _number(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Any finite number (spread prices can be negative)."""
    if type(value) is str and is_decimal(value):
        return  # the common case: a plain decimal string needs no Decimal
    _decimal_of(inst, attribute, value)


def _positive(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is str and is_decimal(value):
        # Plain notation: positive when unsigned with a non-zero digit ("0.0001").
        if value[0] != "-" and value.strip("0."):
            return
    elif _decimal_of(inst, attribute, value) > 0:
        return
    raise ValueError(f"{_name(inst, attribute)} must be greater than 0; got {value!r}")


def _slippage(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """0-0.05 with at most 4 decimals."""
    d = _decimal_of(inst, attribute, value)
    exponent = d.as_tuple().exponent
    if not Decimal(0) <= d <= Decimal("0.05") or (isinstance(exponent, int) and exponent < -4):
        raise ValueError(
            f"{_name(inst, attribute)} must be between 0 and 0.05 with at most 4 decimals; "
            f"got {value!r}"
        )


_NUMBER_CHECKS: Final = frozenset({_number, _positive, _slippage})
"""The checks of price and size fields (an ``int`` there is stored as its string)."""


def _to_code(value: Any) -> Any:
    # A digit string is what users copy from OKX's JSON; accept it as the int it is.
    if isinstance(value, str) and is_digits(value):
        return int(value)
    return value


def _inst_id_code(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{_name(inst, attribute)} must be an int (or a digit string), "
            f"not {_typename(value)} {value!r}"
        )
    if value < 0:
        raise ValueError(f"{_name(inst, attribute)} must not be negative; got {value}")


def _lock_interval(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(
            f"{_name(inst, attribute)} must be a str of milliseconds, not {_typename(value)}"
        )
    if not is_digits(value) or int(value) > 10_000:
        raise ValueError(
            f"{_name(inst, attribute)} must be milliseconds from '0' to '10000'; got {value!r}"
        )


def _lock_interval_in(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _extra(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{type(inst).__name__}.extra must be a mapping, not {_typename(value)}")
    known = _NAMES.get(type(inst), {})
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"{type(inst).__name__}.extra keys must be str; got {key!r}")
        if key in RETIRED_FIELDS:
            raise ValueError(
                f"{type(inst).__name__}.extra[{key!r}] is retired ({_RETIRED_NOTE}); "
                f"use {RETIRED_FIELDS[key]}"
            )
        if key in known:
            raise ValueError(
                f"{type(inst).__name__}.extra[{key!r}] duplicates a known field; "
                "pass it as that field instead"
            )


def _retired_elp_taker(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    raise ValueError(
        f"{_name(inst, attribute)} is retired ({_RETIRED_NOTE}); "
        f"use {RETIRED_FIELDS['isElpTakerAccess']}"
    )


def _extra_field() -> Any:
    return attrs.field(factory=dict, converter=dict, kw_only=True, metadata={_CHECK: _extra})


# Field checks live in each field's metadata and run in one pass after
# __init__ (see _validate): faster than attrs validators, because fields left at
# None (most of them) cost one getattr instead of a validator call each.
_CHECK: Final = "okx_trio.check"

Check = Callable[[Any, "attrs.Attribute[Any]", Any], None]


# Price and size fields spell out attrs.field(metadata={_CHECK: ...}): ruff's
# RUF009 cannot tell that a Decimal default is immutable.
def _opt(check: Check, converter: Callable[[Any], Any] | None = None) -> Any:
    if converter is None:
        return attrs.field(default=None, metadata={_CHECK: check})
    return attrs.field(default=None, converter=converter, metadata={_CHECK: check})


def _req(check: Check) -> Any:
    return attrs.field(metadata={_CHECK: check})


_VALIDATORS: dict[type[Any], Callable[[Any], None]] = {}


def _validate(inst: Any) -> None:
    """Run every field's check (``None``: absent, refused only for required fields)."""
    validator = _VALIDATORS.get(type(inst))
    if validator is None:
        validator = _VALIDATORS[type(inst)] = _compile_validator(type(inst))
    validator(inst)


def _required(inst: object, attribute: attrs.Attribute[Any]) -> None:
    raise ValueError(f"{_name(inst, attribute)} is required")


def _compile_validator(cls: type[Any]) -> Callable[[Any], None]:
    """The checks of ``cls``'s fields as one straight-line function, as attrs
    writes ``__init__``: a field left at ``None`` (most of a model's 5-26
    fields) costs one attribute read, where a loop over the fields cost a
    tuple unpacking, a ``getattr`` and a default test each."""
    namespace: dict[str, Any] = {"_required": _required, "_setattr": object.__setattr__}
    lines = ["def validate(inst):"]
    for i, f in enumerate(attrs.fields(cls)):
        check = f.metadata.get(_CHECK)
        if check is None:
            continue
        namespace[f"check{i}"], namespace[f"field{i}"] = check, f
        lines.append(f"    value = inst.{f.name}")
        if f.default is attrs.NOTHING:
            lines.append(f"    if value is None:\n        _required(inst, field{i})")
            indent = "    "
        else:
            lines.append("    if value is not None:")
            indent = "        "
        lines.append(f"{indent}check{i}(inst, field{i}, value)")
        if check in _NUMBER_CHECKS:
            # Exact, but OKX writes numbers as strings: store the string.
            lines.append(f"{indent}if type(value) is int:\n"
                         f"{indent}    _setattr(inst, {f.name!r}, str(value))")
    lines.append("    return None")
    exec(compile("\n".join(lines), f"<okx_trio validator {cls.__name__}>", "exec"), namespace)
    validator: Callable[[Any], None] = namespace["validate"]
    return validator


def _fail(inst: object, message: str) -> ValueError:
    return ValueError(f"{type(inst).__name__}: {message}")


def _need_instrument(inst: Any) -> None:
    if inst.inst_id is None and inst.inst_id_code is None:
        raise _fail(inst, "one of inst_id (instId) or inst_id_code (instIdCode) is required")


def _need_order_ref(inst: Any) -> None:
    if inst.ord_id is None and inst.cl_ord_id is None:
        raise _fail(inst, "one of ord_id (ordId) or cl_ord_id (clOrdId) is required")


# ---------------------------------------------------------------------------
# The models


@attrs.frozen(kw_only=True)
class PlaceOrder:
    """Arguments of ``order`` / ``batch-orders``.

    Give ``inst_id`` or ``inst_id_code``; with only ``inst_id`` the client
    looks the code up. Without ``cl_ord_id`` the client generates one.
    """

    inst_id: str | None = _opt(_text)
    """Instrument id, e.g. ``BTC-USDT`` (mapped to ``inst_id_code``)."""
    inst_id_code: int | None = _opt(_inst_id_code, converter=_to_code)
    """Instrument code (OKX requires it since 2026)."""
    td_mode: str = _req(_one_of(TD_MODES))
    """``cash``, ``cross``, ``isolated`` or ``spot_isolated``."""
    side: str = _req(_one_of(SIDES))
    """``buy`` or ``sell``."""
    ord_type: str = _req(_one_of(ORD_TYPES, RETIRED_ORD_TYPES))
    """``market``, ``limit``, ``post_only``, ``fok``, ``ioc``, ``optimal_limit_ioc``,
    ``mmp``, ``mmp_and_post_only`` or ``rpi`` (a Retail Price Improvement maker
    order; ``elp``, its former name, is refused)."""
    sz: str | Decimal | int = attrs.field(metadata={_CHECK: _positive})
    """Quantity (contracts for derivatives; see OKX's ``tgtCcy`` for spot market)."""
    px: str | Decimal | int | None = attrs.field(default=None, metadata={_CHECK: _number})
    """Price; required for limit, post_only, fok, ioc, mmp, mmp_and_post_only."""
    px_usd: str | Decimal | int | None = attrs.field(default=None, metadata={_CHECK: _number})
    """Options: price in USD (instead of ``px``)."""
    px_vol: str | Decimal | int | None = attrs.field(default=None, metadata={_CHECK: _number})
    """Options: price as implied volatility (instead of ``px``)."""
    ccy: str | None = _opt(_text)
    """Margin currency."""
    cl_ord_id: str | None = _opt(_id32)
    """Client order id, 1-32 letters/digits (generated when omitted)."""
    tag: str | None = _opt(_tag)
    """Order tag, 1-16 letters/digits, sent untouched."""
    pos_side: str | None = _opt(_one_of(POS_SIDES))
    """``net``, ``long`` or ``short``."""
    reduce_only: bool | None = _opt(_flag)
    """Only reduce a position."""
    tgt_ccy: str | None = _opt(_one_of(TGT_CCYS))
    """``base_ccy`` or ``quote_ccy`` (spot market orders)."""
    ban_amend: bool | None = _opt(_flag)
    """Spot market: reject instead of shrinking the size."""
    px_amend_type: str | None = _opt(_one_of(PX_AMEND_TYPES))
    """``"0"`` reject a price outside the limit, ``"1"`` clamp it."""
    trade_quote_ccy: str | None = _opt(_text)
    """Spot: the quote currency used to trade."""
    slippage_pct: str | Decimal | int | None = attrs.field(
        default=None, metadata={_CHECK: _slippage})
    """Spot/margin market orders: 0-0.05, at most 4 decimals."""
    stp_mode: str | None = _opt(_one_of(STP_MODES))
    """Self-trade prevention: ``cancel_maker``, ``cancel_taker``, ``cancel_both``."""
    rpi_taker_access: bool | None = _opt(_flag)
    """Let the order take liquidity from RPI orders (limit, market, fok, ioc,
    optimal_limit_ioc); OKX's default is False."""
    rpi_px_round: bool | None = _opt(_flag)
    """``rpi`` orders: let OKX round the price to the RPI price spacing instead
    of refusing it; OKX's default is False."""
    is_elp_taker_access: bool | None = _opt(_retired_elp_taker)
    """Retired (ELP became RPI): giving it raises ``ValueError`` naming
    ``rpi_taker_access``."""
    speed_bump: str | None = _opt(_text)
    """EVENTS: ``"1"``."""
    outcome: str | None = _opt(_one_of(OUTCOMES))
    """EVENTS: ``yes`` or ``no``."""
    extra: Mapping[str, Any] = _extra_field()
    """Fields this version does not know, sent untouched (camelCase keys)."""

    def __attrs_post_init__(self) -> None:
        _validate(self)
        _need_instrument(self)
        priced = self.px is not None
        if self.px_usd is not None or self.px_vol is not None:
            prices = [n for n in ("px", "px_usd", "px_vol") if getattr(self, n) is not None]
            if len(prices) > 1:
                raise _fail(self, f"give only one of px, px_usd, px_vol; got {', '.join(prices)}")
            priced = True
        if not priced and self.ord_type in PRICED_ORD_TYPES:
            raise _fail(self, f"px (px) is required for ord_type {self.ord_type!r}")
        if self.rpi_taker_access and self.ord_type not in RPI_TAKER_ORD_TYPES:
            raise _fail(
                self,
                "rpi_taker_access (rpiTakerAccess) applies to ord_type "
                f"{', '.join(sorted(RPI_TAKER_ORD_TYPES))}; got {self.ord_type!r}",
            )
        if self.rpi_px_round is not None and self.ord_type != "rpi":
            raise _fail(self, f"rpi_px_round (rpiPxRound) needs ord_type 'rpi'; got "
                              f"{self.ord_type!r}")


@attrs.frozen(kw_only=True)
class CancelOrder:
    """Arguments of ``cancel-order`` / ``batch-cancel-orders``."""

    inst_id: str | None = _opt(_text)
    """Instrument id (mapped to ``inst_id_code``)."""
    inst_id_code: int | None = _opt(_inst_id_code, converter=_to_code)
    """Instrument code."""
    ord_id: str | None = _opt(_text)
    """OKX order id (wins over ``cl_ord_id``)."""
    cl_ord_id: str | None = _opt(_id32)
    """Client order id."""
    extra: Mapping[str, Any] = _extra_field()
    """Fields this version does not know, sent untouched (camelCase keys)."""

    def __attrs_post_init__(self) -> None:
        _validate(self)
        _need_instrument(self)
        _need_order_ref(self)


@attrs.frozen(kw_only=True)
class AmendOrder:
    """Arguments of ``amend-order`` / ``batch-amend-orders``."""

    inst_id: str | None = _opt(_text)
    """Instrument id (mapped to ``inst_id_code``)."""
    inst_id_code: int | None = _opt(_inst_id_code, converter=_to_code)
    """Instrument code."""
    ord_id: str | None = _opt(_text)
    """OKX order id (wins over ``cl_ord_id``)."""
    cl_ord_id: str | None = _opt(_id32)
    """Client order id."""
    req_id: str | None = _opt(_id32)
    """Client request id, 1-32 letters/digits, echoed on the ack and the orders push."""
    cxl_on_fail: bool | None = _opt(_flag)
    """Cancel the order if the amend fails."""
    new_sz: str | Decimal | int | None = attrs.field(default=None, metadata={_CHECK: _positive})
    """New size, including what is already filled."""
    new_px: str | Decimal | int | None = attrs.field(default=None, metadata={_CHECK: _number})
    """New price."""
    new_px_usd: str | Decimal | int | None = attrs.field(default=None, metadata={_CHECK: _number})
    """Options: new price in USD."""
    new_px_vol: str | Decimal | int | None = attrs.field(default=None, metadata={_CHECK: _number})
    """Options: new price as implied volatility."""
    px_amend_type: str | None = _opt(_one_of(PX_AMEND_TYPES))
    """``"0"`` reject a price outside the limit, ``"1"`` clamp it."""
    rpi_taker_access: bool | None = _opt(_flag)
    """Let the amended order take liquidity from RPI orders. Not inherited from
    the order: OKX wants it on every amend that should keep it."""
    rpi_px_round: bool | None = _opt(_flag)
    """``rpi`` orders: round the new price to the RPI price spacing."""
    speed_bump: str | None = _opt(_text)
    """EVENTS: ``"1"``."""
    extra: Mapping[str, Any] = _extra_field()
    """Fields this version does not know, sent untouched (camelCase keys)."""

    def __attrs_post_init__(self) -> None:
        _validate(self)
        _need_instrument(self)
        _need_order_ref(self)
        prices = [n for n in ("new_px", "new_px_usd", "new_px_vol") if getattr(self, n) is not None]
        if len(prices) > 1:
            raise _fail(
                self, f"give only one of new_px, new_px_usd, new_px_vol; got {', '.join(prices)}"
            )
        if self.new_sz is None and not prices:
            raise _fail(self, "one of new_sz (newSz) or new_px (newPx) is required")


@attrs.frozen(kw_only=True)
class MassCancel:
    """Arguments of ``mass-cancel``: cancel all MMP orders of an option family (5.11)."""

    inst_type: str = _req(_one_of(MASS_CANCEL_INST_TYPES))
    """``OPTION`` (the only type OKX accepts)."""
    inst_family: str = _req(_text)
    """Instrument family, e.g. ``BTC-USD``."""
    lock_interval: str | None = _opt(_lock_interval, converter=_lock_interval_in)
    """Milliseconds (``"0"``-``"10000"``) during which new orders are refused."""
    extra: Mapping[str, Any] = _extra_field()
    """Fields this version does not know, sent untouched (camelCase keys)."""

    def __attrs_post_init__(self) -> None:
        _validate(self)


@attrs.frozen(kw_only=True)
class PlaceSpreadOrder:
    """Arguments of ``sprd-order``. ``cl_ord_id`` is generated
    when omitted."""

    sprd_id: str = _req(_text)
    """Spread id, e.g. ``BTC-USDT_BTC-USDT-SWAP``."""
    side: str = _req(_one_of(SIDES))
    """``buy`` or ``sell``."""
    ord_type: str = _req(_one_of(SPREAD_ORD_TYPES))
    """``market``, ``limit``, ``post_only`` or ``ioc``."""
    sz: str | Decimal | int = attrs.field(metadata={_CHECK: _positive})
    """Quantity."""
    px: str | Decimal | int | None = attrs.field(default=None, metadata={_CHECK: _number})
    """Price (may be negative for spreads); required for limit, post_only, ioc."""
    cl_ord_id: str | None = _opt(_id32)
    """Client order id, 1-32 letters/digits (generated when omitted)."""
    tag: str | None = _opt(_tag)
    """Order tag, 1-16 letters/digits, sent untouched."""
    extra: Mapping[str, Any] = _extra_field()
    """Fields this version does not know, sent untouched (camelCase keys)."""

    def __attrs_post_init__(self) -> None:
        _validate(self)
        if self.ord_type in PRICED_SPREAD_ORD_TYPES and self.px is None:
            raise _fail(self, f"px (px) is required for ord_type {self.ord_type!r}")


@attrs.frozen(kw_only=True)
class AmendSpreadOrder:
    """Arguments of ``sprd-amend-order``."""

    ord_id: str | None = _opt(_text)
    """OKX order id (wins over ``cl_ord_id``)."""
    cl_ord_id: str | None = _opt(_id32)
    """Client order id."""
    req_id: str | None = _opt(_id32)
    """Client request id, 1-32 letters/digits."""
    new_sz: str | Decimal | int | None = attrs.field(default=None, metadata={_CHECK: _positive})
    """New size, including filled and failed quantity."""
    new_px: str | Decimal | int | None = attrs.field(default=None, metadata={_CHECK: _number})
    """New price."""
    extra: Mapping[str, Any] = _extra_field()
    """Fields this version does not know, sent untouched (camelCase keys)."""

    def __attrs_post_init__(self) -> None:
        _validate(self)
        _need_order_ref(self)
        if self.new_sz is None and self.new_px is None:
            raise _fail(self, "one of new_sz (newSz) or new_px (newPx) is required")


@attrs.frozen(kw_only=True)
class CancelSpreadOrder:
    """Arguments of ``sprd-cancel-order``."""

    ord_id: str | None = _opt(_text)
    """OKX order id (wins over ``cl_ord_id``)."""
    cl_ord_id: str | None = _opt(_id32)
    """Client order id."""
    extra: Mapping[str, Any] = _extra_field()
    """Fields this version does not know, sent untouched (camelCase keys)."""

    def __attrs_post_init__(self) -> None:
        _validate(self)
        _need_order_ref(self)


@attrs.frozen(kw_only=True)
class MassCancelSpread:
    """Arguments of ``sprd-mass-cancel`` (5.15); no ``sprd_id`` cancels every spread order."""

    sprd_id: str | None = _opt(_text)
    """Only this spread's orders."""
    extra: Mapping[str, Any] = _extra_field()
    """Fields this version does not know, sent untouched (camelCase keys)."""

    def __attrs_post_init__(self) -> None:
        _validate(self)


REQUEST_MODELS: Final[tuple[type[Any], ...]] = (
    PlaceOrder,
    CancelOrder,
    AmendOrder,
    MassCancel,
    PlaceSpreadOrder,
    AmendSpreadOrder,
    CancelSpreadOrder,
    MassCancelSpread,
)

# Per model: OKX name -> Python name, and the required OKX names.
_NAMES: dict[type[Any], dict[str, str]] = {}
_REQUIRED: dict[type[Any], tuple[str, ...]] = {}
for _cls in REQUEST_MODELS:
    register_camel(_cls, extra_field="extra")
    _fields = [f for f in attrs.fields(_cls) if f.name != "extra"]
    _NAMES[_cls] = {camel(f.name): f.name for f in _fields}
    _REQUIRED[_cls] = tuple(camel(f.name) for f in _fields if f.default is attrs.NOTHING)

M = TypeVar("M")


# ---------------------------------------------------------------------------
# Accepting user input


def from_okx(cls: type[M], params: Mapping[str, Any]) -> M:
    """Build ``cls`` from a mapping with OKX's camelCase names, validating it.

    Raises:
        ValueError: unknown keys, missing required fields, or invalid values.
        TypeError: a value of the wrong type.
    """
    names = _NAMES[cls]
    kwargs: dict[str, Any] = {}
    for key, value in params.items():
        name = names.get(key)
        if name is None:
            break  # an unknown or retired key: refused below
        if value is not None:
            kwargs[name] = value
    else:
        for key in _REQUIRED[cls]:
            if params.get(key) is None:
                break
        else:
            return cls(**kwargs)
    for key in params:
        if key in RETIRED_FIELDS and key not in names:
            raise ValueError(
                f"{cls.__name__}: field {key!r} is retired ({_RETIRED_NOTE}); "
                f"use {RETIRED_FIELDS[key]}"
            )
    unknown = [k for k in params if k not in names]
    if unknown:
        raise ValueError(
            f"{cls.__name__}: unknown field(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(names)}. Fields this version does not know yet can be "
            f"sent with {cls.__name__}(..., extra={{...}})"
        )
    missing = [k for k in _REQUIRED[cls] if params.get(k) is None]
    if missing:
        raise ValueError(
            f"{cls.__name__}: missing required field(s) "
            + ", ".join(f"{names[k]} ({k})" for k in missing)
        )
    return cls(**{names[k]: v for k, v in params.items() if v is not None})


def coerce(cls: type[M], params: object) -> M:
    """``params`` as a ``cls``: returned as is, or built from an OKX-named mapping.

    Raises:
        TypeError: ``params`` is neither a ``cls`` nor a mapping.
        ValueError: see ``from_okx``.
    """
    if isinstance(params, cls):
        return params
    if isinstance(params, Mapping):
        return from_okx(cls, params)
    raise TypeError(
        f"expected a {cls.__name__} or a mapping of OKX fields, not {_typename(params)}"
    )


def coerce_batch(cls: type[M], items: object) -> list[M]:
    """Validate a batch: a list of 1-20 ``cls`` or mappings, without duplicates.

    Duplicate ``clOrdId`` among places, and the same order twice among amends
    (OKX's 51512), are refused here. Errors name the item's index.

    Raises:
        TypeError: ``items`` is not a list or tuple, or an item has a wrong type.
        ValueError: the size is outside 1-20, or an item is invalid.
    """
    if not isinstance(items, list | tuple):
        raise TypeError(
            f"a batch must be a list of {cls.__name__} or mappings, not {_typename(items)}"
        )
    if not 1 <= len(items) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} items; got {len(items)}")
    out: list[M] = []
    for i, item in enumerate(items):
        try:
            out.append(coerce(cls, item))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"batch item {i}: {exc}") from None
    _check_duplicates(out)
    return out


def _check_duplicates(items: Sequence[Any]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(items):
        key: tuple[str, str] | None
        if isinstance(item, PlaceOrder | PlaceSpreadOrder):
            key = ("clOrdId", item.cl_ord_id) if item.cl_ord_id is not None else None
        elif isinstance(item, AmendOrder):
            key = (
                ("ordId", item.ord_id)
                if item.ord_id is not None
                else ("clOrdId", item.cl_ord_id or "")
            )
        else:
            key = None
        if key is None:
            continue
        if key in seen:
            raise ValueError(f"batch items {seen[key]} and {i} have the same {key[0]} {key[1]!r}")
        seen[key] = i


def to_wire(obj: Any) -> dict[str, Any]:
    """The OKX camelCase dict of a request model (``None`` fields omitted)."""
    writer = _WRITERS.get(type(obj))
    if writer is None:
        out: dict[str, Any] = converter.unstructure(obj)
        return out
    return writer(obj)


def _compile_writer(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    """``converter.unstructure`` for ``cls`` as one straight-line function: a
    field left at ``None`` costs one attribute read, a ``str`` (what validation
    leaves in every text, price and size field) is written as it is, anything
    else (``Decimal``, ``bool``, ``int``) goes through the converter; ``extra``
    last, as ``register_camel`` writes it. Equal to the converter's output for
    every model (tested)."""
    namespace: dict[str, Any] = {"_unstructure": converter.unstructure, "_str": str}
    lines = ["def write(obj):", "    out = {}"]
    fields = [f for f in attrs.fields(cls) if f.name != "extra"]
    # The converter's key order: required fields, then the others, each in
    # declaration order.
    fields.sort(key=lambda f: f.default is not attrs.NOTHING)
    for f in fields:
        key = camel(f.name)
        lines.append(f"    value = obj.{f.name}")
        if f.default is attrs.NOTHING:
            indent = "    "
        else:
            # cattrs omits a field equal to its default; every default here is None.
            assert f.default is None, (cls, f.name)
            lines.append("    if value is not None:")
            indent = "        "
        lines.append(f"{indent}out[{key!r}] = value if type(value) is _str "
                     f"else _unstructure(value)")
    lines.append("    out.update(obj.extra)")
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<okx_trio wire writer {cls.__name__}>", "exec"), namespace)
    writer: Callable[[Any], dict[str, Any]] = namespace["write"]
    return writer


_WRITERS: dict[type[Any], Callable[[Any], dict[str, Any]]] = {
    cls: _compile_writer(cls) for cls in REQUEST_MODELS
}


# ---------------------------------------------------------------------------
# Checks against the instrument's trading rules


def _multiple(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def _check_step(
    model: object, field: str, value: Num | None, step: Decimal | None, what: str, code: str
) -> Decimal | None:
    if value is None:
        return None
    d = value if isinstance(value, Decimal) else Decimal(value)
    if step is not None and not _multiple(d, step):
        raise OkxOrderRuleError(code, (
            f"{type(model).__name__}.{field} ({camel(field)}) {value!r} is not a multiple of "
            f"the {what} {format(step, 'f')} (the exchange would answer {code})"
        ), sent=False)
    return d


def check_instrument(model: object, instrument: Instrument) -> None:
    """Check prices against the tick size and sizes against lot and minimum size.

    Catches locally what the exchange would reject with 51121 (size not a
    lot multiple) and 51020 (below the minimum), and off-tick prices. Spot
    market orders sized in the quote currency are not size-checked.

    Raises:
        OkxOrderRuleError: (a ``ValueError``) naming the field, the value and the
            rule; ``sent`` is False and ``s_code`` the code the exchange would answer.
    """
    try:
        if isinstance(model, PlaceOrder):
            _check_step(model, "px", model.px, instrument.tick_sz, "tick size", "51000")
            if _sized_in_base(model, instrument):
                sz = _check_step(model, "sz", model.sz, instrument.lot_sz, "lot size", "51121")
                if sz is not None and instrument.min_sz is not None and sz < instrument.min_sz:
                    raise OkxOrderRuleError("51020", (
                        f"PlaceOrder.sz (sz) {model.sz!r} is below the minimum order size "
                        f"{format(instrument.min_sz, 'f')} of {instrument.inst_id} "
                        "(the exchange would answer 51020)"
                    ), sent=False)
        elif isinstance(model, AmendOrder):
            _check_step(model, "new_px", model.new_px, instrument.tick_sz, "tick size", "51000")
            _check_step(model, "new_sz", model.new_sz, instrument.lot_sz, "lot size", "51121")
    except InvalidOperation:  # pragma: no cover - values were validated on construction
        raise ValueError(f"{type(model).__name__}: invalid number") from None


def _sized_in_base(order: PlaceOrder, instrument: Instrument) -> bool:
    if order.ord_type != "market" or instrument.inst_type not in ("SPOT", "MARGIN"):
        return True
    # OKX's default unit for spot market orders: buy in quote, sell in base.
    tgt = order.tgt_ccy or ("quote_ccy" if order.side == "buy" else "base_ccy")
    return tgt == "base_ccy"


def inst_ids(models: Iterable[Any]) -> list[str]:
    """The ``inst_id`` of each model that has one but no ``inst_id_code``."""
    return [
        m.inst_id
        for m in models
        if getattr(m, "inst_id_code", 0) is None and getattr(m, "inst_id", None) is not None
    ]
