"""Request models: validation (each error names its field), wire form, round trips."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from okx_trio import Instrument
from okx_trio._convert import converter
from okx_trio._requests import (
    AmendOrder,
    AmendSpreadOrder,
    CancelOrder,
    CancelSpreadOrder,
    MassCancel,
    MassCancelSpread,
    PlaceOrder,
    PlaceSpreadOrder,
    check_instrument,
    coerce,
    coerce_batch,
    from_okx,
    to_wire,
)

LIMIT = {
    "instId": "BTC-USDT",
    "tdMode": "cash",
    "side": "buy",
    "ordType": "limit",
    "sz": "0.01",
    "px": "30000",
}
CANCEL = {"instIdCode": 100001, "ordId": "123"}
AMEND = {"instIdCode": 100001, "ordId": "123", "newSz": "0.02"}
SPREAD = {
    "sprdId": "BTC-USDT_BTC-USDT-SWAP",
    "side": "buy",
    "ordType": "limit",
    "sz": "2",
    "px": "2.15",
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(base)
    for k, v in changes.items():
        if v is _DROP:
            out.pop(k, None)
        else:
            out[k] = v
    return out


_DROP = object()

# (model, OKX-named params, exception type, text the message must contain)
INVALID: list[tuple[type[Any], dict[str, Any], type[Exception], str]] = [
    # required fields
    (PlaceOrder, _with(LIMIT, tdMode=_DROP), ValueError, "tdMode"),
    (PlaceOrder, _with(LIMIT, side=_DROP), ValueError, "side"),
    (PlaceOrder, _with(LIMIT, ordType=_DROP), ValueError, "ordType"),
    (PlaceOrder, _with(LIMIT, sz=_DROP), ValueError, "sz"),
    (PlaceSpreadOrder, _with(SPREAD, sprdId=_DROP), ValueError, "sprdId"),
    (MassCancel, {"instType": "OPTION"}, ValueError, "instFamily"),
    (MassCancel, {"instFamily": "BTC-USD"}, ValueError, "instType"),
    # one-of rules
    (PlaceOrder, _with(LIMIT, instId=_DROP), ValueError, "instIdCode"),
    (CancelOrder, {"instIdCode": 1}, ValueError, "ordId"),
    (CancelOrder, {"ordId": "1"}, ValueError, "instId"),
    (AmendOrder, {"instIdCode": 1, "ordId": "1"}, ValueError, "newSz"),
    (AmendOrder, {"instIdCode": 1, "newSz": "1"}, ValueError, "clOrdId"),
    (AmendSpreadOrder, {"ordId": "1"}, ValueError, "newPx"),
    (AmendSpreadOrder, {"newPx": "1"}, ValueError, "ordId"),
    (CancelSpreadOrder, {}, ValueError, "clOrdId"),
    (PlaceOrder, _with(LIMIT, px=_DROP), ValueError, "px"),
    (PlaceOrder, _with(LIMIT, ordType="post_only", px=_DROP), ValueError, "px"),
    (PlaceOrder, _with(LIMIT, ordType="fok", px=_DROP), ValueError, "px"),
    (PlaceOrder, _with(LIMIT, ordType="ioc", px=_DROP), ValueError, "px"),
    (PlaceOrder, _with(LIMIT, pxUsd="1"), ValueError, "px_usd"),
    (PlaceSpreadOrder, _with(SPREAD, px=_DROP), ValueError, "px"),
    (AmendOrder, _with(AMEND, newPx="1", newPxUsd="2"), ValueError, "new_px_usd"),
    (PlaceOrder, _with(LIMIT, isElpTakerAccess=True), ValueError, "isElpTakerAccess"),
    # formats
    (PlaceOrder, _with(LIMIT, clOrdId="has-dash"), ValueError, "clOrdId"),
    (PlaceOrder, _with(LIMIT, clOrdId="x" * 33), ValueError, "clOrdId"),
    (PlaceOrder, _with(LIMIT, clOrdId=""), ValueError, "clOrdId"),
    (PlaceOrder, _with(LIMIT, tag="t" * 17), ValueError, "tag"),
    (PlaceOrder, _with(LIMIT, tag="a b"), ValueError, "tag"),
    (PlaceSpreadOrder, _with(SPREAD, tag="x_y"), ValueError, "tag"),
    (AmendOrder, _with(AMEND, reqId="r!"), ValueError, "reqId"),
    (AmendSpreadOrder, {"ordId": "1", "newSz": "1", "reqId": "r" * 33}, ValueError, "reqId"),
    (PlaceOrder, _with(LIMIT, sz="1e5"), ValueError, "sz"),
    (PlaceOrder, _with(LIMIT, px="30,000"), ValueError, "px"),
    (PlaceOrder, _with(LIMIT, sz=" 1"), ValueError, "sz"),
    (PlaceOrder, _with(LIMIT, sz="0"), ValueError, "sz"),
    (PlaceOrder, _with(LIMIT, sz="-1"), ValueError, "sz"),
    (PlaceOrder, _with(LIMIT, px=Decimal("NaN")), ValueError, "px"),
    (PlaceOrder, _with(LIMIT, sz=Decimal("Infinity")), ValueError, "sz"),
    (AmendOrder, _with(AMEND, newSz="0"), ValueError, "newSz"),
    (PlaceOrder, _with(LIMIT, slippagePct="0.06"), ValueError, "slippagePct"),
    (PlaceOrder, _with(LIMIT, slippagePct="0.00001"), ValueError, "slippagePct"),
    (
        MassCancel,
        {"instType": "OPTION", "instFamily": "BTC-USD", "lockInterval": "10001"},
        ValueError,
        "lockInterval",
    ),
    (
        MassCancel,
        {"instType": "OPTION", "instFamily": "BTC-USD", "lockInterval": "-1"},
        ValueError,
        "lockInterval",
    ),
    (PlaceOrder, _with(LIMIT, instId=""), ValueError, "instId"),
    (PlaceOrder, _with(LIMIT, instIdCode=-5), ValueError, "instIdCode"),
    # enum values
    (PlaceOrder, _with(LIMIT, side="BUY"), ValueError, "side"),
    (PlaceOrder, _with(LIMIT, tdMode="margin"), ValueError, "tdMode"),
    (PlaceOrder, _with(LIMIT, ordType="stop"), ValueError, "ordType"),
    (PlaceOrder, _with(LIMIT, posSide="both"), ValueError, "posSide"),
    (PlaceOrder, _with(LIMIT, tgtCcy="usd"), ValueError, "tgtCcy"),
    (PlaceOrder, _with(LIMIT, stpMode="cancel_none"), ValueError, "stpMode"),
    (PlaceOrder, _with(LIMIT, pxAmendType="2"), ValueError, "pxAmendType"),
    (AmendOrder, _with(AMEND, pxAmendType="x"), ValueError, "pxAmendType"),
    (PlaceOrder, _with(LIMIT, outcome="maybe"), ValueError, "outcome"),
    (PlaceSpreadOrder, _with(SPREAD, ordType="fok"), ValueError, "ordType"),
    (MassCancel, {"instType": "SPOT", "instFamily": "BTC-USD"}, ValueError, "instType"),
    # types
    (PlaceOrder, _with(LIMIT, sz=0.01), TypeError, "sz"),
    (PlaceOrder, _with(LIMIT, px=30000.0), TypeError, "px"),
    (PlaceOrder, _with(LIMIT, sz=True), TypeError, "sz"),  # a bool is not a number
    (AmendOrder, _with(AMEND, newPx=1.5), TypeError, "newPx"),
    (PlaceSpreadOrder, _with(SPREAD, sz=2.0), TypeError, "sz"),
    (PlaceOrder, _with(LIMIT, reduceOnly="true"), TypeError, "reduceOnly"),
    (PlaceOrder, _with(LIMIT, banAmend=1), TypeError, "banAmend"),
    (AmendOrder, _with(AMEND, cxlOnFail="false"), TypeError, "cxlOnFail"),
    (PlaceOrder, _with(LIMIT, instIdCode=True), TypeError, "instIdCode"),
    (PlaceOrder, _with(LIMIT, instIdCode="12a"), TypeError, "instIdCode"),
    (PlaceOrder, _with(LIMIT, instIdCode=1.0), TypeError, "instIdCode"),
    (PlaceOrder, _with(LIMIT, clOrdId=123), TypeError, "clOrdId"),
    (PlaceOrder, _with(LIMIT, side=1), TypeError, "side"),
    (CancelOrder, _with(CANCEL, ordId=123), TypeError, "ordId"),
    (
        MassCancel,
        {"instType": "OPTION", "instFamily": "BTC-USD", "lockInterval": 1.5},
        TypeError,
        "lockInterval",
    ),
    # unknown keys (a typo must not be dropped or sent unnoticed)
    (PlaceOrder, _with(LIMIT, clOrdID="abc"), ValueError, "clOrdID"),
    (CancelOrder, _with(CANCEL, inst_id="BTC-USDT"), ValueError, "inst_id"),
    (MassCancelSpread, {"sprdid": "X"}, ValueError, "sprdid"),
]


@pytest.mark.parametrize(("cls", "params", "exc", "needle"), INVALID)
def test_invalid_mapping_is_refused_naming_the_field(
    cls: type[Any], params: dict[str, Any], exc: type[Exception], needle: str
) -> None:
    with pytest.raises(exc) as info:
        coerce(cls, params)
    assert needle in str(info.value)


def test_there_are_many_distinct_invalid_inputs() -> None:
    assert len(INVALID) >= 30


def test_model_constructor_validates_too() -> None:
    with pytest.raises(TypeError, match=r"PlaceOrder\.sz \(sz\).*float"):
        PlaceOrder(
            inst_id="BTC-USDT",
            td_mode="cash",
            side="buy",
            ord_type="market",
            sz=0.5,  # type: ignore[arg-type]
        )
    with pytest.raises(ValueError, match=r"cl_ord_id \(clOrdId\)"):
        CancelOrder(inst_id="BTC-USDT", cl_ord_id="bad id")
    with pytest.raises(TypeError, match="td_mode"):
        PlaceOrder(inst_id="BTC-USDT", side="buy", ord_type="market", sz="1")  # type: ignore[call-arg]


def test_extra_fields_pass_through_but_cannot_shadow_known_ones() -> None:
    order = PlaceOrder(
        inst_id_code=1,
        td_mode="cash",
        side="buy",
        ord_type="market",
        sz="1",
        extra={"attachAlgoOrds": [{"tpTriggerPx": "1"}]},
    )
    assert to_wire(order)["attachAlgoOrds"] == [{"tpTriggerPx": "1"}]
    with pytest.raises(ValueError, match="'px'"):
        PlaceOrder(
            inst_id_code=1,
            td_mode="cash",
            side="buy",
            ord_type="market",
            sz="1",
            extra={"px": "1"},
        )


def test_wire_form_is_camel_case_and_omits_none() -> None:
    order = PlaceOrder(
        inst_id="BTC-USDT",
        td_mode="cross",
        side="sell",
        ord_type="post_only",
        sz=Decimal("1E-2"),
        px=Decimal("30000.50"),
        reduce_only=False,
        pos_side="net",
        tag="mytag1",
        cl_ord_id="abc123",
    )
    assert to_wire(order) == {
        "instId": "BTC-USDT",
        "tdMode": "cross",
        "side": "sell",
        "ordType": "post_only",
        "sz": "0.01",
        "px": "30000.50",
        "reduceOnly": False,
        "posSide": "net",
        "tag": "mytag1",
        "clOrdId": "abc123",
    }


def test_decimal_is_written_in_plain_notation() -> None:
    order = coerce(PlaceOrder, _with(LIMIT, sz=Decimal("1E+3"), px=Decimal("0.00000100")))
    wire = to_wire(order)
    assert wire["sz"] == "1000"
    assert wire["px"] == "0.00000100"


def test_inst_id_code_digit_string_becomes_int() -> None:
    order = coerce(CancelOrder, {"instIdCode": "100001", "clOrdId": "c1"})
    assert order.inst_id_code == 100001
    assert to_wire(order) == {"instIdCode": 100001, "clOrdId": "c1"}


def test_mass_cancel_wire_and_lock_interval_int() -> None:
    m = MassCancel(inst_type="OPTION", inst_family="BTC-USD", lock_interval=500)  # type: ignore[arg-type]
    assert to_wire(m) == {"instType": "OPTION", "instFamily": "BTC-USD", "lockInterval": "500"}
    assert to_wire(MassCancelSpread()) == {}
    assert to_wire(MassCancelSpread(sprd_id="A_B")) == {"sprdId": "A_B"}


def test_spread_price_may_be_negative() -> None:
    order = coerce(PlaceSpreadOrder, _with(SPREAD, px="-12.5"))
    assert to_wire(order)["px"] == "-12.5"


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (PlaceOrder, _with(LIMIT, instIdCode=7, clOrdId="a1", tag="t1", reduceOnly=True)),
        (
            PlaceOrder,
            {
                "instIdCode": 9,
                "tdMode": "cash",
                "side": "sell",
                "ordType": "market",
                "sz": "3",
                "tgtCcy": "base_ccy",
                "banAmend": True,
                "slippagePct": "0.01",
            },
        ),
        (CancelOrder, {"instId": "BTC-USDT-SWAP", "clOrdId": "x"}),
        (AmendOrder, _with(AMEND, newPx="31000", reqId="r1", cxlOnFail=False, pxAmendType="1")),
        (MassCancel, {"instType": "OPTION", "instFamily": "BTC-USD", "lockInterval": "0"}),
        (PlaceSpreadOrder, _with(SPREAD, clOrdId="s1", tag="tg")),
        (AmendSpreadOrder, {"clOrdId": "s1", "newSz": "3", "reqId": "q"}),
        (CancelSpreadOrder, {"ordId": "42"}),
        (MassCancelSpread, {"sprdId": "BTC-USDT_BTC-USDT-SWAP"}),
    ],
)
def test_round_trip_through_the_converter(cls: type[Any], params: dict[str, Any]) -> None:
    model = from_okx(cls, params)
    wire = to_wire(model)
    assert wire == params
    assert converter.structure(wire, cls) == model


def test_coerce_refuses_other_types() -> None:
    with pytest.raises(TypeError, match="PlaceOrder"):
        coerce(PlaceOrder, [LIMIT])
    with pytest.raises(TypeError, match="PlaceOrder"):
        coerce(PlaceOrder, CancelOrder(inst_id="BTC-USDT", ord_id="1"))


def test_mapping_none_values_mean_absent() -> None:
    order = coerce(PlaceOrder, _with(LIMIT, clOrdId=None, tag=None))
    assert "clOrdId" not in to_wire(order)


# ---------------------------------------------------------------------------
# Batches


def test_batch_size_limits() -> None:
    with pytest.raises(ValueError, match="1 to 20"):
        coerce_batch(PlaceOrder, [])
    with pytest.raises(ValueError, match="1 to 20"):
        coerce_batch(PlaceOrder, [LIMIT] * 21)
    assert len(coerce_batch(PlaceOrder, [LIMIT] * 20)) == 20


def test_batch_must_be_a_list() -> None:
    with pytest.raises(TypeError, match="list"):
        coerce_batch(PlaceOrder, LIMIT)
    with pytest.raises(TypeError, match="list"):
        coerce_batch(CancelOrder, (x for x in [CANCEL]))


def test_batch_error_names_the_item() -> None:
    with pytest.raises(ValueError, match=r"batch item 2: .*clOrdId"):
        coerce_batch(PlaceOrder, [LIMIT, LIMIT, _with(LIMIT, clOrdId="a b")])
    with pytest.raises(TypeError, match=r"batch item 1: .*sz"):
        coerce_batch(PlaceOrder, [LIMIT, _with(LIMIT, sz=0.1)])


def test_batch_duplicate_cl_ord_id() -> None:
    with pytest.raises(ValueError, match=r"items 0 and 2 .*clOrdId 'dup'"):
        coerce_batch(
            PlaceOrder,
            [_with(LIMIT, clOrdId="dup"), _with(LIMIT, clOrdId="x"), _with(LIMIT, clOrdId="dup")],
        )


def test_batch_amend_same_order_twice() -> None:
    with pytest.raises(ValueError, match=r"ordId '123'"):
        coerce_batch(AmendOrder, [AMEND, _with(AMEND, newSz="5")])
    with pytest.raises(ValueError, match=r"clOrdId 'c9'"):
        coerce_batch(
            AmendOrder,
            [
                {"instIdCode": 1, "clOrdId": "c9", "newSz": "1"},
                {"instIdCode": 1, "clOrdId": "c9", "newPx": "2"},
            ],
        )


# ---------------------------------------------------------------------------
# Instrument rules


BTC = Instrument(
    inst_id="BTC-USDT",
    inst_type="SPOT",
    inst_id_code=100001,
    tick_sz=Decimal("0.1"),
    lot_sz=Decimal("0.00000001"),
    min_sz=Decimal("0.00001"),
)
SWAP = Instrument(
    inst_id="BTC-USDT-SWAP",
    inst_type="SWAP",
    inst_id_code=200001,
    tick_sz=Decimal("0.1"),
    lot_sz=Decimal("0.01"),
    min_sz=Decimal("0.01"),
)


def test_price_off_tick_is_refused() -> None:
    order = coerce(PlaceOrder, _with(LIMIT, px="30000.05"))
    with pytest.raises(ValueError, match=r"px \(px\) '30000.05' .*tick size 0.1"):
        check_instrument(order, BTC)


def test_size_off_lot_is_refused_like_51121() -> None:
    order = coerce(PlaceOrder, _with(LIMIT, instId="BTC-USDT-SWAP", sz="0.015"))
    with pytest.raises(ValueError, match=r"sz \(sz\) .*lot size 0.01.*51121"):
        check_instrument(order, SWAP)


def test_size_below_minimum_is_refused_like_51020() -> None:
    order = coerce(PlaceOrder, _with(LIMIT, sz="0.000001"))
    with pytest.raises(ValueError, match=r"sz \(sz\) .*minimum.*51020"):
        check_instrument(order, BTC)


def test_amend_checked_against_rules() -> None:
    with pytest.raises(ValueError, match="new_px"):
        check_instrument(coerce(AmendOrder, _with(AMEND, newPx="1.01")), BTC)
    with pytest.raises(ValueError, match="new_sz"):
        check_instrument(coerce(AmendOrder, _with(AMEND, newSz="0.005")), SWAP)


def test_valid_orders_pass_the_rules() -> None:
    check_instrument(coerce(PlaceOrder, _with(LIMIT, px="30000.1", sz="0.00001")), BTC)
    check_instrument(coerce(PlaceOrder, _with(LIMIT, px=Decimal("30000.10"))), BTC)
    # A spot market buy is sized in the quote currency by default: no lot check.
    check_instrument(coerce(PlaceOrder, _with(LIMIT, ordType="market", px=_DROP, sz="12.345")), BTC)
    # ...but in the base currency when asked, so the minimum applies.
    with pytest.raises(ValueError, match="minimum"):
        check_instrument(
            coerce(
                PlaceOrder,
                _with(LIMIT, ordType="market", px=_DROP, sz="0.000001", tgtCcy="base_ccy"),
            ),
            BTC,
        )


def test_integer_prices_and_sizes_are_exact_and_sent_as_strings() -> None:
    # An int is exact (unlike a float): accepted, stored and sent as OKX writes
    # numbers, a decimal string.
    order = PlaceOrder(inst_id="BTC-USDT-SWAP", td_mode="cross", side="buy", ord_type="limit",
                       sz=3, px=60000)
    assert (order.sz, order.px) == ("3", "60000")
    wire = to_wire(order)
    assert (wire["sz"], wire["px"]) == ("3", "60000")
    assert from_okx(PlaceOrder, _with(LIMIT, sz=2, px=30000)).px == "30000"
    amend = from_okx(AmendOrder, _with(AMEND, newSz=_DROP, newPx=30100))
    assert to_wire(amend)["newPx"] == "30100"
    spread = from_okx(PlaceSpreadOrder, _with(SPREAD, px=-3, sz=1))
    assert (to_wire(spread)["px"], to_wire(spread)["sz"]) == ("-3", "1")
    assert to_wire(PlaceOrder(inst_id="BTC-USDT", td_mode="cash", side="buy",
                              ord_type="market", sz=1, slippage_pct=0))["slippagePct"] == "0"
    with pytest.raises(ValueError, match="greater than 0"):
        PlaceOrder(inst_id="BTC-USDT", td_mode="cash", side="buy", ord_type="limit", sz=0,
                   px=1)
    with pytest.raises(TypeError, match=r"str, Decimal or int, not bool"):
        PlaceOrder(inst_id="BTC-USDT", td_mode="cash", side="buy", ord_type="limit", sz=1,
                   px=True)


# -- the validators' fast paths agree with the Decimal rules they replace


def _decimal_rule(text: str) -> Decimal | None:
    """The reference: plain decimal notation (``_formats``), read as a Decimal."""
    from okx_trio._formats import is_decimal

    return Decimal(text) if is_decimal(text) else None


_NUMBER_TEXT = st.one_of(
    st.from_regex(r"\A-?[0-9]{0,4}(\.[0-9]{0,4})?\Z"),
    st.sampled_from(["0", "-0", "0.0", "00.000", ".", "-.", "-", "", "5.", ".5", "-0.0001",
                     "1e3", " 1", "1 ", "\uff11", "0x1", "NaN", "+1", "--1", "1.2.3"]),
    st.text(alphabet="0123456789.-+e ", max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(_NUMBER_TEXT)
def test_sz_is_accepted_exactly_when_a_positive_plain_decimal(text: str) -> None:
    reference = _decimal_rule(text)
    if reference is None or reference <= 0:
        with pytest.raises(ValueError, match=r"PlaceOrder\.sz \(sz\)"):
            PlaceOrder(inst_id_code=1, td_mode="cash", side="buy", ord_type="market", sz=text)
    else:
        order = PlaceOrder(inst_id_code=1, td_mode="cash", side="buy", ord_type="market", sz=text)
        assert order.sz == text


@settings(max_examples=400, deadline=None)
@given(_NUMBER_TEXT)
def test_px_is_accepted_exactly_when_a_plain_decimal(text: str) -> None:
    if _decimal_rule(text) is None:
        with pytest.raises(ValueError, match=r"PlaceOrder\.px \(px\)"):
            PlaceOrder(inst_id_code=1, td_mode="cash", side="buy", ord_type="limit", sz="1",
                       px=text)
    else:
        order = PlaceOrder(inst_id_code=1, td_mode="cash", side="buy", ord_type="limit", sz="1",
                           px=text)
        assert order.px == text


def test_a_str_subclass_takes_the_general_path() -> None:
    class Text(str):
        pass

    order = PlaceOrder(inst_id_code=1, td_mode="cash", side="buy", ord_type="limit",
                       sz=Text("0.5"), px=Text("-1"))
    assert order.sz == "0.5"
    assert order.px == "-1"
    with pytest.raises(ValueError, match="greater than 0"):
        PlaceOrder(inst_id_code=1, td_mode="cash", side="buy", ord_type="market", sz=Text("0"))


@pytest.mark.parametrize("params", [
    {**LIMIT, "clOrdID": "x1"},                     # unknown key first...
    {"clOrdID": "x1", **LIMIT},                     # ...or last
    {**LIMIT, "isElpTakerAccess": True},            # retired
    {k: v for k, v in LIMIT.items() if k != "side"},  # missing
    {**LIMIT, "side": None},                        # None counts as missing
])
def test_from_okx_refuses_as_the_full_checks_do(params: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as info:
        from_okx(PlaceOrder, params)
    text = str(info.value)
    assert any(word in text for word in ("unknown field", "retired", "missing required"))


def test_every_model_checks_required_fields_in_declaration_order() -> None:
    with pytest.raises(ValueError, match=r"PlaceOrder\.td_mode \(tdMode\) is required"):
        PlaceOrder(inst_id_code=1, td_mode=None, side=None, ord_type="limit",  # type: ignore[arg-type]
                   sz="1", px="1")
    order = PlaceOrder(inst_id_code=1, td_mode="cash", side="buy", ord_type="limit", sz=2,
                       px=30000)
    assert (order.sz, order.px) == ("2", "30000")


# -- to_wire's generated writers write exactly what the converter writes


@pytest.mark.parametrize("model", [
    PlaceOrder(inst_id_code=1, td_mode="cash", side="buy", ord_type="limit", sz="1", px="2"),
    PlaceOrder(inst_id="BTC-USDT", td_mode="cross", side="sell", ord_type="market",
               sz=Decimal("0.50"), tgt_ccy="base_ccy", reduce_only=False, ban_amend=True,
               cl_ord_id="abc", tag="t1", slippage_pct=Decimal("0.01"), stp_mode="cancel_both",
               extra={"newField": 1}),
    PlaceOrder(inst_id_code="7", td_mode="isolated", side="buy", ord_type="limit", sz=3,
               px_usd=Decimal("-1.5"), pos_side="long", rpi_taker_access=True),
    CancelOrder(inst_id_code=1, ord_id="123"),
    AmendOrder(inst_id="BTC-USDT", cl_ord_id="c1", new_sz=Decimal("2"), cxl_on_fail=True),
    MassCancel(inst_type="OPTION", inst_family="BTC-USD", lock_interval=10),
    PlaceSpreadOrder(sprd_id="BTC-USDT_BTC-USDT-SWAP", side="buy", ord_type="limit", sz="1",
                     px="-2"),
    AmendSpreadOrder(ord_id="1", new_px=Decimal("3")),
    CancelSpreadOrder(cl_ord_id="c2"),
    MassCancelSpread(),
    MassCancelSpread(sprd_id="BTC-USDT_BTC-USDT-SWAP"),
])
def test_to_wire_equals_the_converter(model: Any) -> None:
    wire = to_wire(model)
    assert wire == converter.unstructure(model)
    assert list(wire) == list(converter.unstructure(model))  # same key order too
