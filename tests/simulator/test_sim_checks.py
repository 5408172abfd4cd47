"""The simulator's request checks, called directly: pure functions, no engine, no clock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from simulator_support import SPRD

from okx_trio.testing._checks import (
    Reject,
    book_conflict,
    channel_error,
    inst_id_code,
    opt_bool,
    opt_id,
    positive,
    request_problem,
    required_str,
    str_field,
)
from okx_trio.testing._rules import TAG_RE

INSTRUMENTS = {"BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP"}
SPREADS = {SPRD}
NOW = 1_700_000_000_000


def frame(op: str = "order", **over: Any) -> dict[str, Any]:
    """A well-formed trade-op frame, fields replaced by ``over`` (``None`` removes)."""
    out: dict[str, Any] = {"id": "r1", "op": op, "args": [{}]}
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def code(f: dict[str, Any], path: str = "private", *, account_known: bool = True) -> str | None:
    problem = request_problem(f, path, now=NOW, account_known=account_known)
    return None if problem is None else problem[0]


def test_a_well_formed_request_passes() -> None:
    assert code(frame()) is None
    assert code(frame("batch-orders", args=[{}] * 20)) is None
    assert code(frame("sprd-mass-cancel", args=[]), "business") is None
    assert code(frame("order", expTime=str(NOW))) is None


def test_checks_run_in_order() -> None:
    # Each frame breaks this check and every later one: the first broken one answers.
    assert code(frame("nope", id=None, args=None), "public", account_known=False) == "60019"
    assert code(frame(id="not-alnum!", args=None), "public", account_known=False) == "60013"
    assert code(frame(args=None), "public", account_known=False) == "60028"
    assert code(frame(args=None), account_known=False) == "60011"
    assert code(frame(args=None, expTime="1")) == "60013"
    assert code(frame("batch-orders", args=[{}] * 21, expTime="1")) == "51111"
    assert code(frame(expTime="1")) == "50036"


@pytest.mark.parametrize(
    ("f", "path", "expected"),
    [
        (frame(op=7), "private", "60019"),
        (frame(id=None), "private", "60013"),
        (frame(id="x" * 33), "private", "60013"),
        (frame("sprd-order"), "private", "60028"),
        (frame("order"), "business", "60028"),
        (frame(args={}), "private", "60013"),
        (frame(args=[1]), "private", "60013"),
        (frame(args=[]), "private", "60013"),
        (frame(args=[{}, {}]), "private", "60013"),
        (frame("sprd-mass-cancel", args=[{}, {}]), "business", "60013"),
        (frame("batch-amend-orders", args=[{}] * 21), "private", "51501"),
        (frame("batch-cancel-orders", args=[{}] * 21), "private", "60013"),
        (frame(expTime=True), "private", "60013"),
        (frame(expTime="soon"), "private", "60013"),
        (frame("cancel-order", expTime="1"), "private", None),
        (frame(expTime=NOW - 1), "private", "50036"),
    ],
)
def test_request_problem(f: dict[str, Any], path: str, expected: str | None) -> None:
    assert code(f, path) == expected


def test_messages() -> None:
    assert request_problem(frame("nope"), "private", now=NOW, account_known=True) == (
        "60019", "Invalid op: nope")
    problem = request_problem(frame("batch-orders", args=[{}] * 21), "private", now=NOW,
                              account_known=True)
    assert problem == ("51111", "Maximum 20 orders can be placed in bulk.")


def rejected(call: Any) -> tuple[str, str]:
    with pytest.raises(Reject) as info:
        call()
    return info.value.code, info.value.msg


def test_field_parsers() -> None:
    assert opt_id({}, "clOrdId") == ""
    assert opt_id({"clOrdId": "abc1"}, "clOrdId") == "abc1"
    assert rejected(lambda: opt_id({"clOrdId": "a-b"}, "clOrdId")) == (
        "51000", "Parameter clOrdId error")
    assert rejected(lambda: opt_id({"tag": "x" * 17}, "tag", TAG_RE))[0] == "51000"
    assert required_str({"side": "buy"}, "side", ("buy", "sell")) == "buy"
    assert rejected(lambda: required_str({}, "side", ("buy",))) == (
        "50014", "Parameter side can not be empty.")
    assert rejected(lambda: required_str({"side": "up"}, "side", ("buy",)))[0] == "51000"
    assert positive({"sz": "0.5"}, "sz", required=True) == Decimal("0.5")
    assert positive({}, "newSz", required=False) is None
    for bad in ("0", "-1", "1e3", "NaN", " 1", 5):
        assert rejected(lambda bad=bad: positive({"sz": bad}, "sz", required=True))[0] == "51000"
    assert rejected(lambda: positive({}, "sz", required=True))[0] == "50014"
    assert [opt_bool({"r": v}, "r") for v in (None, "", True, "true", False, "false")] == [
        False, False, True, True, False, False]
    assert rejected(lambda: opt_bool({"r": "yes"}, "r"))[0] == "51000"
    assert str_field({}, "ordId") == ""
    assert rejected(lambda: str_field({"ordId": 5}, "ordId"))[0] == "51000"


def test_inst_id_code_pair() -> None:
    inst_id_code({"instId": "BTC-USDT"}, strict=False)
    inst_id_code({"instIdCode": 100001}, strict=True)
    inst_id_code({"instIdCode": "100001"}, strict=True)
    assert rejected(lambda: inst_id_code({"instId": "BTC-USDT"}, strict=True)) == (
        "50014", "Parameter instIdCode can not be empty.")
    assert rejected(lambda: inst_id_code({}, strict=False))[0] == "50014"
    assert rejected(lambda: inst_id_code({"instId": 5}, strict=False)) == (
        "51000", "Parameter instId error")
    assert rejected(lambda: inst_id_code({"instIdCode": True}, strict=False))[0] == "51000"
    assert rejected(lambda: inst_id_code({"instIdCode": "x1"}, strict=False))[0] == "51000"


@pytest.mark.parametrize(
    ("path", "arg", "code"),
    [
        ("public", {"channel": "tickers", "instId": "BTC-USDT"}, None),
        ("public", {"channel": "tickers", "instId": "NOPE"}, "60018"),
        ("public", {"channel": "tickers"}, "60013"),
        ("public", {"channel": "nonsense"}, "60018"),
        ("public", {"channel": "books", "instId": "BTC-USDT"}, None),
        ("public", {"channel": "instruments", "instType": "SPOT"}, None),
        ("public", {"channel": "instruments"}, "60013"),
        ("public", {"channel": "orders", "instType": "ANY"}, "60018"),
        ("private", {"channel": "orders", "instType": "ANY"}, None),
        ("private", {"channel": "orders"}, "60013"),
        ("private", {"channel": "orders", "instType": "BOND"}, "60033"),
        ("private", {"channel": "positions", "instType": "SPOT"}, "60033"),
        ("public", {"channel": "instruments", "instType": "BOND"}, "60033"),
        ("public", {"channel": "books-elp", "instId": "BTC-USDT"}, "60018"),
        ("private", {"channel": "account", "ccy": "BTC"}, None),
        ("private", {"channel": "balance_and_position"}, None),
        ("private", {"channel": "sprd-orders"}, "64001"),
        ("public", {"channel": "candle1m", "instId": "BTC-USDT"}, "64001"),
        ("business", {"channel": "candle1m", "instId": "BTC-USDT"}, None),
        ("business", {"channel": "tickers", "instId": "BTC-USDT"}, "64002"),
        ("business", {"channel": "orders", "instType": "ANY"}, "64002"),
        ("business", {"channel": "sprd-orders"}, None),
        ("business", {"channel": "sprd-trades", "sprdId": "NOPE"}, "60018"),
        ("business", {"channel": "sprd-books5", "sprdId": "BTC-USDT_BTC-USDT-SWAP"}, None),
        ("business", {"channel": "sprd-books5"}, "60013"),
        ("public", {}, "60013"),
    ],
)
def test_channel_error(path: str, arg: dict[str, Any], code: str | None) -> None:
    err = channel_error(path, arg, instruments=INSTRUMENTS, spreads=SPREADS)
    if code is None:
        assert err is None
    else:
        assert err is not None
        assert err[0] == code
        assert err[1]


def test_channel_error_texts_are_okx_documented_ones() -> None:
    def msg(path: str, arg: dict[str, Any], **kw: Any) -> str:
        found = channel_error(path, arg, instruments=INSTRUMENTS, spreads=SPREADS, **kw)
        assert found is not None
        return found[1]

    assert msg("private", {"channel": "orders", "instType": "BOND"}) == (
        "Parameter instType error.")
    assert msg("business", {"channel": "tickers", "instId": "BTC-USDT"}) == (
        'This channel is not supported by "/business" URL. Please use "/private" URL(for '
        'private channels), or "/public" URL(for public channels). More details can refer '
        "to: https://www.okx.com/help-center/changes-to-v5-api-websocket-subscription-"
        "parameter-and-url.")
    assert msg("public", {"channel": "candle1m", "instId": "BTC-USDT"}).endswith(
        "subscription-parameter-and-url.")
    # books-elp was renamed books-rpi; OKX stopped taking the old name after 2026-10-31.
    assert msg("public", {"channel": "books-elp", "instId": "BTC-USDT"}) == (
        "Wrong URL or channel:books-elp,instId:BTC-USDT doesn't exist. Please use the "
        "correct URL, channel and parameters referring to API document.")
    assert channel_error("public", {"channel": "books-elp", "instId": "BTC-USDT"},
                         instruments=INSTRUMENTS, spreads=SPREADS, elp_names=True) is None


@pytest.mark.parametrize(
    ("channel", "subscribed", "other"),
    [
        ("books", {("books-l2-tbt", "BTC-USDT")}, "books"),
        ("books50-l2-tbt", {("books-l2-tbt", "BTC-USDT")}, "books50-l2-tbt"),
        ("books-l2-tbt", {("books", "BTC-USDT")}, "books"),
        ("books-l2-tbt", {("books50-l2-tbt", "BTC-USDT")}, "books50-l2-tbt"),
        ("books", {("books-l2-tbt", "ETH-USDT")}, None),
        ("books50-l2-tbt", {("books", "BTC-USDT")}, None),
        ("books5", {("books-l2-tbt", "BTC-USDT")}, None),
    ],
)
def test_book_conflict(
    channel: str, subscribed: set[tuple[str, str]], other: str | None
) -> None:
    found = book_conflict(channel, "BTC-USDT", subscribed)
    if other is None:
        assert found is None
    else:
        assert found == ("64004", f"Subscribe to both {other} and books-l2-tbt for BTC-USDT "
                         "is not allowed. Unsubscribe books-l2-tbt first.")
