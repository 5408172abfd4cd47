"""The simulator engine's eleven trade ops: request checks, item validation, responses."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from simulator_support import (
    KA,
    KA2,
    KB,
    MM_A,
    MM_B,
    SPRD,
    T0,
    Clock,
    best,
    far_bid,
    limit,
    mutate,
    option,
    pushes,
    run,
    sprd,
)

from okx_trio.testing import SimAccount
from okx_trio.testing._engine import Exchange, InstrumentSpec, default_instruments

# ---------------------------------------------------------------------------
# Request-level checks


def test_unknown_op(ex: Exchange) -> None:
    res = ex.trade_op("keyA", "private", {"id": "1", "op": "foo", "args": [{}]})
    assert res.response == {"id": "1", "op": "foo", "code": "60019",
                            "msg": "Invalid op: foo", "data": []}
    assert res.emits == []


@pytest.mark.parametrize("bad_id", [None, "", "a-b", "x" * 33, 5, "é"])
def test_bad_request_id(bad_id: Any, ex: Exchange) -> None:
    frame = {"op": "order", "args": [far_bid(ex)]}
    if bad_id is not None:
        frame["id"] = bad_id
    res = ex.trade_op("keyA", "private", frame)
    assert res.response["code"] == "60013"
    assert res.response["msg"] == "Invalid args"
    assert res.response["data"] == []
    assert ex.order_list() == []


@pytest.mark.parametrize(
    ("op", "path"),
    [("sprd-order", "private"), ("order", "business"), ("mass-cancel", "business"),
     ("sprd-mass-cancel", "private"), ("cancel-order", "public")],
)
def test_op_on_wrong_path(op: str, path: str, ex: Exchange) -> None:
    res = run(ex, op, [{}], path=path)
    assert res.response["code"] == "60028"
    assert res.response["data"] == []


@pytest.mark.parametrize(
    ("op", "args"),
    [("order", []), ("order", {"instIdCode": 100001}), ("order", ["x"]),
     ("order", [{}, {}]), ("cancel-order", None), ("batch-orders", []),
     ("mass-cancel", []), ("sprd-mass-cancel", [{}, {}]), ("sprd-order", [{}, {}])],
)
def test_bad_args_shape(op: str, args: Any, ex: Exchange) -> None:
    res = run(ex, op, args)
    assert res.response["code"] == "60013"
    assert res.response["data"] == []


@pytest.mark.parametrize(
    ("op", "code"),
    [("batch-orders", "51111"), ("batch-amend-orders", "51501"),
     ("batch-cancel-orders", "60013")],
)
def test_batch_over_twenty(op: str, code: str, ex: Exchange) -> None:
    res = run(ex, op, [far_bid(ex) for _ in range(21)])
    assert res.response["code"] == code
    assert res.response["data"] == []
    assert ex.order_list() == []


def test_exp_time(ex: Exchange, clock: Clock) -> None:
    res = run(ex, "order", [far_bid(ex)], expTime=str(T0 - 1))
    assert res.response["code"] == "50036"
    assert res.response["data"] == []
    assert "inTime" in res.response
    assert ex.order_list() == []
    assert run(ex, "order", [far_bid(ex)], expTime=str(T0)).response["code"] == "0"
    assert run(ex, "order", [far_bid(ex)], expTime="soon").response["code"] == "60013"
    order = ex.order_list()[0]
    clock.t += 10
    # cancel-order does not take expTime: ignored.
    res = run(ex, "cancel-order", [{"instIdCode": 100001, "ordId": order.ord_id}],
              expTime=str(T0))
    assert res.response["code"] == "0"
    res = run(ex, "amend-order", [{"instIdCode": 100001, "ordId": "1", "newSz": "1"}],
              expTime=str(T0))
    assert res.response["code"] == "50036"


# ---------------------------------------------------------------------------
# order / batch-orders


def test_place_success_shape_and_live_push(ex: Exchange) -> None:
    arg = far_bid(ex, clOrdId="b15", tag="t1")
    res = run(ex, "order", [arg])
    r = res.response
    assert r["code"] == "0"
    assert r["msg"] == ""
    assert set(r) == {"id", "op", "code", "msg", "data", "inTime", "outTime"}
    assert r["inTime"].isdigit()
    assert r["outTime"].isdigit()
    assert int(r["outTime"]) >= int(r["inTime"])
    assert int(r["inTime"]) // 1000 == T0
    (item,) = r["data"]
    assert set(item) == {"clOrdId", "ordId", "tag", "ts", "sCode", "sMsg", "subCode"}
    assert item["clOrdId"] == "b15"
    assert item["tag"] == "t1"
    assert item["ordId"].isdigit()
    assert (item["sCode"], item["sMsg"], item["subCode"], item["ts"]) == (
        "0", "", "", str(T0))
    (push,) = pushes(res)
    assert push["state"] == "live"
    assert push["ordId"] == item["ordId"]
    for field in ("instType", "instId", "ordId", "clOrdId", "tag", "px", "sz", "ordType",
                  "side", "posSide", "tdMode", "state", "accFillSz", "avgPx", "fillPx",
                  "fillSz", "fillTime", "tradeId", "fee", "feeCcy", "execType", "reqId",
                  "amendResult", "cancelSource", "code", "msg", "cTime", "uTime"):
        assert field in push, field
    assert push["px"] == arg["px"]
    assert push["sz"] == "0.01"
    assert (push["accFillSz"], push["fillSz"], push["tradeId"], push["avgPx"]) == (
        "0", "0", "", "0")
    assert push["cTime"] == push["uTime"] == str(T0)
    assert push["feeCcy"] == "BTC"
    # Balance frozen for the resting buy.
    acct = ex.accounts["keyA"]
    assert acct.frozen["USDT"] == Decimal(arg["px"]) * Decimal("0.01")
    assert [e.channel for e in res.emits if e.api_key][:2] == ["orders", "account"]
    account = next(e for e in res.emits if e.channel == "account")
    detail = account.data[0]["details"][0]
    assert detail["ccy"] == "USDT"
    assert Decimal(detail["frozenBal"]) == acct.frozen["USDT"]


def test_inst_id_code_wins_over_inst_id(ex: Exchange) -> None:
    arg = mutate(far_bid(ex), instIdCode=100002, instId="BTC-USDT", px="1000")
    res = run(ex, "order", [arg])
    assert res.response["code"] == "0"
    assert ex.order_list()[-1].inst_id == "ETH-USDT"


def _by_inst_id(arg: dict[str, Any]) -> dict[str, Any]:
    """``arg`` naming its instrument the pre-2026 way: ``instId`` and no ``instIdCode``."""
    return mutate(arg, instIdCode=None, instId="BTC-USDT")


def test_strict_inst_id_code_is_the_default(ex: Exchange) -> None:
    # Live OKX since March 2026: an order op naming its instrument by instId only
    # fails item by item with 50014 (ccxt#27805 shows the frame).
    placed = run(ex, "order", [far_bid(ex, clOrdId="s1")]).response["data"][0]
    ord_id = placed["ordId"]
    cases = [
        ("order", [_by_inst_id(far_bid(ex))]),
        ("cancel-order", [_by_inst_id({"ordId": ord_id})]),
        ("amend-order", [_by_inst_id({"ordId": ord_id, "newSz": "0.02"})]),
    ]
    for op, args in cases:
        res = run(ex, op, args)
        assert (res.response["code"], res.response["msg"]) == ("1", ""), op
        (item,) = res.response["data"]
        assert (item["sCode"], item["sMsg"]) == (
            "50014", "Parameter instIdCode can not be empty."), op
    batch = run(ex, "batch-orders", [far_bid(ex), _by_inst_id(far_bid(ex))]).response
    assert batch["code"] == "2"
    assert [d["sCode"] for d in batch["data"]] == ["0", "50014"]
    for op, arg in (("batch-cancel-orders", {"ordId": ord_id}),
                    ("batch-amend-orders", {"ordId": ord_id, "newSz": "0.02"})):
        res = run(ex, op, [_by_inst_id(arg), _by_inst_id(arg)]).response
        assert res["code"] == "1"
        assert [d["sCode"] for d in res["data"]] == ["50014", "50014"]
    assert ex.find_order("keyA", ord_id=ord_id).state == "live"  # type: ignore[union-attr]


def test_unknown_inst_id_code(ex: Exchange) -> None:
    res = run(ex, "order", [mutate(far_bid(ex), instIdCode=999999)])
    (item,) = res.response["data"]
    assert (item["sCode"], item["sMsg"]) == (
        "51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")


def test_loose_mode_accepts_inst_id(make_exchange: Callable[..., Exchange]) -> None:
    loose = make_exchange(strict_inst_id_code=False)
    res = run(loose, "order", [_by_inst_id(far_bid(loose, clOrdId="l1"))])
    assert res.response["code"] == "0"
    res = run(loose, "cancel-order", [{"instId": "BTC-USDT", "clOrdId": "l1"}])
    assert res.response["code"] == "0"
    for changes, code in (({"instId": "NOPE-USDT"}, "51001"), ({"instId": SPRD}, "51001"),
                          ({"instId": None}, "50014"), ({"instId": 5}, "51000")):
        arg = mutate(_by_inst_id(far_bid(loose)), **changes)
        assert run(loose, "order", [arg]).response["data"][0]["sCode"] == code, changes


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"instIdCode": None}, "50014"),
        ({"instIdCode": 999999}, "51001"),
        ({"instIdCode": True}, "51000"),
        ({"instIdCode": "abc"}, "51000"),
        ({"clOrdId": "bad-id"}, "51000"),
        ({"clOrdId": "x" * 33}, "51000"),
        ({"tag": "t" * 17}, "51000"),
        ({"tdMode": None}, "50014"),
        ({"tdMode": "cross"}, "51000"),
        ({"side": None}, "50014"),
        ({"side": "long"}, "51000"),
        ({"ordType": None}, "50014"),
        ({"ordType": "optimal_limit_ioc"}, "51000"),
        ({"ordType": "stop"}, "51000"),
        ({"sz": None}, "50014"),
        ({"sz": "-1"}, "51000"),
        ({"sz": "NaN"}, "51000"),
        ({"sz": 1}, "51000"),
        ({"px": None}, "50014"),
        ({"px": "abc"}, "51000"),
        ({"px": "50000.05"}, "51000"),
        ({"sz": "0.000000001"}, "51121"),
        ({"sz": "0.000001"}, "51020"),
        ({"px": "100000"}, "51006"),
        ({"sz": "100"}, "51008"),
        ({"tgtCcy": "usd"}, "51000"),
        ({"tgtCcy": 1}, "51000"),
        ({"reduceOnly": "yes"}, "51000"),
        ({"posSide": "long"}, "51000"),
    ],
)
def test_place_item_failures(changes: dict[str, Any], code: str, ex: Exchange) -> None:
    arg = mutate(limit("50000", "0.01"), **changes)
    res = run(ex, "order", [arg])
    assert res.response["code"] == "1"
    (item,) = res.response["data"]
    assert item["sCode"] == code, item
    assert item["ordId"] == ""
    assert item["sMsg"]
    assert item["subCode"] == ""
    assert "inTime" in res.response
    assert ex.order_list() == []
    assert not [e for e in res.emits if e.channel == "orders"]


def test_insufficient_balance_message(ex: Exchange) -> None:
    res = run(ex, "order", [limit("50000", "100")])
    assert res.response["data"][0]["sMsg"] == (
        "Order failed. Insufficient USDT balance in account.")
    res = run(ex, "order", [limit(str(best(ex)[1] + 100), "101", side="sell")])
    assert res.response["data"][0]["sMsg"] == (
        "Order failed. Insufficient BTC balance in account.")


def test_duplicate_cl_ord_id(ex: Exchange) -> None:
    assert run(ex, "order", [far_bid(ex, clOrdId="dup")]).response["code"] == "0"
    res = run(ex, "order", [far_bid(ex, clOrdId="dup")])
    assert res.response["data"][0]["sCode"] == "51016"
    # Another account may use the same clOrdId.
    assert run(ex, "order", [far_bid(ex, clOrdId="dup")], key="keyB").response["code"] == "0"
    # Within one batch: the second one fails, the first is placed.
    res = run(ex, "batch-orders", [far_bid(ex, clOrdId="x1"), far_bid(ex, clOrdId="x1")])
    assert res.response["code"] == "2"
    assert [i["sCode"] for i in res.response["data"]] == ["0", "51016"]
    # Once the first is canceled the id is free again.
    order = ex.find_order("keyA", cl_ord_id="dup")
    assert order is not None
    run(ex, "cancel-order", [{"instIdCode": 100001, "clOrdId": "dup"}])
    assert run(ex, "order", [far_bid(ex, clOrdId="dup")]).response["code"] == "0"


def test_batch_orders_mixed_and_all_failed(ex: Exchange) -> None:
    res = run(ex, "batch-orders", [far_bid(ex, clOrdId="a"), limit("1", "NaN"),
                                   far_bid(ex, clOrdId="c")])
    assert res.response["code"] == "2"
    assert [i["sCode"] for i in res.response["data"]] == ["0", "51000", "0"]
    assert [i["clOrdId"] for i in res.response["data"]] == ["a", "", "c"]
    assert len(pushes(res)) == 2
    res = run(ex, "batch-orders", [limit("1", "NaN"), limit("1", "NaN")])
    assert res.response["code"] == "1"
    assert "inTime" in res.response


def test_batch_orders_may_mix_instruments(ex: Exchange) -> None:
    eth = {"instIdCode": 100002, "tdMode": "cash", "side": "buy", "ordType": "limit",
           "px": "1000", "sz": "1"}
    res = run(ex, "batch-orders", [far_bid(ex), eth])
    assert res.response["code"] == "0"
    assert {o.inst_id for o in ex.order_list()} == {"BTC-USDT", "ETH-USDT"}


def test_ord_ids_unique_and_numeric(ex: Exchange) -> None:
    for _ in range(30):
        run(ex, "order", [far_bid(ex)])
    ids = [o.ord_id for o in ex.order_list()]
    assert len(set(ids)) == 30
    assert all(i.isdigit() for i in ids)


# ---------------------------------------------------------------------------
# cancel-order / batch-cancel-orders


def test_cancel_paths(ex: Exchange, clock: Clock) -> None:
    res = run(ex, "order", [far_bid(ex, clOrdId="c1")])
    ord_id = res.response["data"][0]["ordId"]
    clock.t += 5
    res = run(ex, "cancel-order", [{"instIdCode": 100001, "ordId": ord_id}])
    r = res.response
    assert r["code"] == "0"
    assert "inTime" in r
    assert "outTime" in r
    # ts: when the cancel was processed, not the order's creation time; sMsg "".
    assert r["data"] == [{"clOrdId": "c1", "ordId": ord_id, "ts": str(T0 + 5), "sCode": "0",
                          "sMsg": ""}]
    (push,) = pushes(res)
    assert (push["state"], push["cancelSource"]) == ("canceled", "1")
    assert int(push["uTime"]) > int(push["cTime"])
    assert ex.accounts["keyA"].frozen["USDT"] == 0
    again = run(ex, "cancel-order", [{"instIdCode": 100001, "ordId": ord_id}])
    assert again.response["code"] == "1"
    assert again.response["data"][0]["sCode"] == "51400"
    assert again.response["data"][0]["ordId"] == ord_id
    assert again.emits == []


@pytest.mark.parametrize(
    ("arg", "code"),
    [
        ({"instIdCode": 100001, "ordId": "123"}, "51400"),
        ({"instIdCode": 100001, "clOrdId": "nope"}, "51400"),
        ({"instIdCode": 100001}, "50015"),
        ({"instIdCode": 999, "ordId": "1"}, "51001"),
        ({"ordId": "1"}, "50014"),
        ({"instIdCode": 100001, "ordId": 5}, "51000"),
    ],
)
def test_cancel_failures(arg: dict[str, Any], code: str, ex: Exchange) -> None:
    res = run(ex, "cancel-order", [arg])
    assert res.response["code"] == "1"
    assert res.response["data"][0]["sCode"] == code
    assert "subCode" not in res.response["data"][0]


def test_cancel_by_cl_ord_id_wrong_instrument_and_other_account(ex: Exchange) -> None:
    run(ex, "order", [far_bid(ex, clOrdId="c2")])
    res = run(ex, "cancel-order", [{"instIdCode": 100002, "clOrdId": "c2"}])
    assert res.response["data"][0]["sCode"] == "51400"
    res = run(ex, "cancel-order", [{"instIdCode": 100001, "clOrdId": "c2"}], key="keyB")
    assert res.response["data"][0]["sCode"] == "51400"
    res = run(ex, "cancel-order", [{"instIdCode": 100001, "clOrdId": "c2"}])
    assert res.response["code"] == "0"


def test_batch_cancel(ex: Exchange) -> None:
    res = run(ex, "batch-orders", [far_bid(ex) for _ in range(3)])
    ids = [i["ordId"] for i in res.response["data"]]
    res = run(ex, "batch-cancel-orders",
              [{"instIdCode": 100001, "ordId": i} for i in [*ids, ids[0]]])
    assert res.response["code"] == "2"
    assert [i["sCode"] for i in res.response["data"]] == ["0", "0", "0", "51400"]
    assert all(o.state == "canceled" for o in ex.order_list())


# ---------------------------------------------------------------------------
# amend-order / batch-amend-orders


def test_amend_size_and_price(ex: Exchange, clock: Clock) -> None:
    arg = far_bid(ex, clOrdId="a1")
    ord_id = run(ex, "order", [arg]).response["data"][0]["ordId"]
    clock.t += 1
    res = run(ex, "amend-order", [{"instIdCode": 100001, "ordId": ord_id, "reqId": "r1",
                                   "newSz": "0.02"}])
    r = res.response
    assert r["code"] == "0"
    assert "inTime" in r
    assert r["data"] == [{"clOrdId": "a1", "ordId": ord_id, "ts": str(T0 + 1), "reqId": "r1",
                          "sCode": "0", "sMsg": "", "subCode": ""}]
    (push,) = pushes(res)
    assert (push["sz"], push["reqId"], push["amendResult"], push["state"]) == (
        "0.02", "r1", "0", "live")
    acct = ex.accounts["keyA"]
    assert acct.frozen["USDT"] == Decimal(arg["px"]) * Decimal("0.02")
    new_px = Decimal(arg["px"]) - 100
    res = run(ex, "amend-order", [{"instIdCode": 100001, "clOrdId": "a1", "newPx": str(new_px)}])
    (push,) = pushes(res)
    assert push["px"] == str(new_px)
    assert push["reqId"] == ""
    assert push["amendResult"] == "0"
    assert acct.frozen["USDT"] == new_px * Decimal("0.02")
    bids, _ = ex.book("BTC-USDT")
    assert (str(new_px), "0.02") in bids


def test_amend_failures(ex: Exchange) -> None:
    ord_id = run(ex, "order", [far_bid(ex)]).response["data"][0]["ordId"]
    base = {"instIdCode": 100001, "ordId": ord_id}
    cases = [
        ({}, "51000"),
        ({"newSz": "abc"}, "51000"),
        ({"newPx": "1.05"}, "51000"),
        ({"newSz": "0.000000001"}, "51121"),
        ({"reqId": "r-1", "newSz": "1"}, "51000"),
        ({"ordId": "42", "newSz": "1"}, "51503"),
        ({"cxlOnFail": "maybe", "newSz": "1"}, "51000"),
        ({"newPx": "100000"}, "51006"),
        ({"newSz": "1000"}, "51008"),
    ]
    for extra, code in cases:
        res = run(ex, "amend-order", [{**base, **extra}])
        assert res.response["code"] == "1", extra
        item = res.response["data"][0]
        assert item["sCode"] == code, (extra, item)
        assert set(item) == {"clOrdId", "ordId", "ts", "reqId", "sCode", "sMsg", "subCode"}
    run(ex, "cancel-order", [base])
    res = run(ex, "amend-order", [{**base, "newSz": "1"}])
    assert res.response["data"][0]["sCode"] == "51503"


def test_amend_business_failure_pushes_minus_one_or_cancels(ex: Exchange) -> None:
    ord_id = run(ex, "order", [far_bid(ex)]).response["data"][0]["ordId"]
    res = run(ex, "amend-order", [{"instIdCode": 100001, "ordId": ord_id, "reqId": "q1",
                                   "newSz": "1000"}])
    (push,) = pushes(res)
    assert (push["amendResult"], push["reqId"], push["state"], push["code"]) == (
        "-1", "q1", "live", "51008")
    res = run(ex, "amend-order", [{"instIdCode": 100001, "ordId": ord_id, "reqId": "q2",
                                   "newSz": "1000", "cxlOnFail": True}])
    assert res.response["data"][0]["sCode"] == "51008"
    (push,) = pushes(res)
    assert (push["amendResult"], push["reqId"], push["state"]) == ("1", "q2", "canceled")
    assert ex.accounts["keyA"].frozen["USDT"] == 0


def test_amend_post_only_that_would_take(ex: Exchange) -> None:
    bid, ask = best(ex)
    arg = limit(str(bid), ordType="post_only")
    ord_id = run(ex, "order", [arg]).response["data"][0]["ordId"]
    res = run(ex, "amend-order", [{"instIdCode": 100001, "ordId": ord_id, "newPx": str(ask)}])
    assert res.response["data"][0]["sCode"] == "51511"
    assert ex.find_order("keyA", ord_id=ord_id).px == bid  # type: ignore[union-attr]


def test_batch_amend_duplicates(ex: Exchange) -> None:
    ord_id = run(ex, "order", [far_bid(ex)]).response["data"][0]["ordId"]
    res = run(ex, "batch-amend-orders", [
        {"instIdCode": 100001, "ordId": ord_id, "newSz": "0.02"},
        {"instIdCode": 100001, "ordId": ord_id, "newSz": "0.03"},
    ])
    assert res.response["code"] == "2"
    assert [i["sCode"] for i in res.response["data"]] == ["0", "51512"]
    assert ex.find_order("keyA", ord_id=ord_id).sz == Decimal("0.02")  # type: ignore[union-attr]


def test_amend_size_down_to_filled_completes_the_order(ex: Exchange) -> None:
    _bid, ask = best(ex)
    top_ask = Decimal(ex.book("BTC-USDT")[1][0][1])
    sz = top_ask + Decimal("0.5")
    res = run(ex, "order", [limit(str(ask), str(sz))])
    ord_id = res.response["data"][0]["ordId"]
    order = ex.find_order("keyA", ord_id=ord_id)
    assert order is not None
    assert order.state == "partially_filled"
    assert order.acc_fill_sz == top_ask
    res = run(ex, "amend-order", [{"instIdCode": 100001, "ordId": ord_id,
                                   "newSz": str(top_ask)}])
    assert res.response["code"] == "0"
    (push,) = pushes(res)
    assert push["state"] == "filled"
    assert push["amendResult"] == "0"
    assert ex.accounts["keyA"].frozen.get("USDT", 0) == 0
    assert str(ask) not in [p for p, _ in ex.book("BTC-USDT")[0]]


def test_amend_price_through_the_book_trades(ex: Exchange) -> None:
    ord_id = run(ex, "order", [far_bid(ex)]).response["data"][0]["ordId"]
    _, ask = best(ex)
    res = run(ex, "amend-order", [{"instIdCode": 100001, "ordId": ord_id, "newPx": str(ask)}])
    states = [p["state"] for p in pushes(res)]
    assert states == ["live", "filled"]
    assert pushes(res)[1]["execType"] == "T"
    assert pushes(res, "fills")


# ---------------------------------------------------------------------------
# mass-cancel


MASS = {"instType": "OPTION", "instFamily": "BTC-USD"}


def test_mass_cancel_cancels_only_mmp_orders(
    make_exchange: Callable[..., Exchange], clock: Clock
) -> None:
    ex = make_exchange(accounts=[MM_A, MM_B])
    for arg in (option(ordType="mmp", clOrdId="m1"),
                option(ordType="mmp_and_post_only", clOrdId="m2"),
                option(clOrdId="plain"), far_bid(ex, clOrdId="spot")):
        assert run(ex, "order", [arg]).response["code"] == "0", arg
    assert run(ex, "order", [option(ordType="mmp")], key="keyB").response["code"] == "0"
    res = run(ex, "mass-cancel", [{**MASS, "lockInterval": "1000"}])
    assert res.response == {"id": res.response["id"], "op": "mass-cancel", "code": "0",
                            "msg": "", "data": [{"result": True}]}
    assert [(p["state"], p["clOrdId"]) for p in pushes(res)] == [
        ("canceled", "m1"), ("canceled", "m2")]
    states = {(o.api_key, o.cl_ord_id): o.state for o in ex.order_list()}
    assert states == {("keyA", "m1"): "canceled", ("keyA", "m2"): "canceled",
                      ("keyA", "plain"): "live", ("keyA", "spot"): "live",
                      ("keyB", ""): "live"}
    res = run(ex, "order", [option()])
    assert res.response["data"][0]["sCode"] == "54008"
    assert run(ex, "order", [option()], key="keyB").response["code"] == "0"
    clock.t += 1000
    assert run(ex, "order", [option()]).response["code"] == "0"


@pytest.mark.parametrize(
    "settings",
    [{}, {"portfolio_margin": True}, {"mmp": True}],
    ids=["default", "pm-only", "mmp-only"],
)
def test_mass_cancel_needs_portfolio_margin_and_mmp(
    settings: dict[str, bool], make_exchange: Callable[..., Exchange]
) -> None:
    ex = make_exchange(accounts=[SimAccount(KA, **settings)])
    run(ex, "order", [option(clOrdId="o1")])
    res = run(ex, "mass-cancel", [MASS])
    assert res.response == {"id": res.response["id"], "op": "mass-cancel", "code": "51411",
                            "msg": "Account does not have permission for mass cancellation.",
                            "data": []}
    assert ex.order_list()[0].state == "live"
    assert res.emits == []


def test_mmp_order_types_need_pm_mmp_and_an_option(
    make_exchange: Callable[..., Exchange]
) -> None:
    ex = make_exchange(accounts=[SimAccount(KA, portfolio_margin=True), MM_B])
    for ord_type in ("mmp", "mmp_and_post_only"):
        res = run(ex, "order", [option(ordType=ord_type)])
        assert res.response["data"][0]["sCode"] == "51000", ord_type
        assert res.response["data"][0]["sMsg"] == "Parameter ordType error"
        res = run(ex, "order", [far_bid(ex, ordType=ord_type)], key="keyB")
        assert res.response["data"][0]["sCode"] == "51000", ord_type
        assert run(ex, "order", [option(ordType=ord_type)], key="keyB").response["code"] == "0"


@pytest.mark.parametrize(
    ("arg", "code"),
    [({"instFamily": "BTC-USD"}, "50014"), ({"instType": "SWAP", "instFamily": "BTC-USD"},
                                            "51000"),
     ({"instType": "OPTION"}, "50014"), ({"instType": "OPTION", "instFamily": "XYZ-USD"},
                                         "51000"),
     ({"instType": "OPTION", "instFamily": "BTC-USD", "lockInterval": "10001"}, "51000")],
)
def test_mass_cancel_failures(arg: dict[str, Any], code: str, ex: Exchange) -> None:
    res = run(ex, "mass-cancel", [arg])
    assert res.response["code"] == code
    assert res.response["data"] == []
    assert "inTime" not in res.response


# ---------------------------------------------------------------------------
# Spread ops


def test_sprd_order_amend_cancel(ex: Exchange) -> None:
    res = run(ex, "sprd-order", [sprd(clOrdId="s1", tag="tg")])
    r = res.response
    assert r["code"] == "0"
    assert "inTime" not in r
    (item,) = r["data"]
    assert set(item) == {"clOrdId", "ordId", "tag", "sCode", "sMsg"}
    ord_id = item["ordId"]
    (push,) = pushes(res, "sprd-orders")
    assert (push["state"], push["sprdId"], push["pendingFillSz"]) == ("live", SPRD, "1")
    assert [e.sprd_id for e in res.emits if e.channel == "sprd-orders"] == [SPRD]
    res = run(ex, "sprd-amend-order", [{"ordId": ord_id, "reqId": "r9", "newSz": "2"}])
    assert res.response["data"] == [{"clOrdId": "s1", "ordId": ord_id, "reqId": "r9",
                                     "sCode": "0", "sMsg": ""}]
    (push,) = pushes(res, "sprd-orders")
    assert (push["sz"], push["reqId"], push["amendResult"]) == ("2", "r9", "0")
    res = run(ex, "sprd-cancel-order", [{"clOrdId": "s1"}])
    assert res.response["data"] == [{"clOrdId": "s1", "ordId": ord_id, "sCode": "0",
                                     "sMsg": ""}]
    (push,) = pushes(res, "sprd-orders")
    assert (push["state"], push["canceledSz"], push["cancelSource"]) == ("canceled", "2", "1")
    again = run(ex, "sprd-cancel-order", [{"ordId": ord_id}])
    assert again.response["data"][0]["sCode"] == "51401"
    amend = run(ex, "sprd-amend-order", [{"ordId": ord_id, "newSz": "3"}])
    assert amend.response["data"][0]["sCode"] == "51509"


def test_sprd_filled_and_unknown(ex: Exchange) -> None:
    res = run(ex, "sprd-order", [{"sprdId": SPRD, "side": "buy", "ordType": "market",
                                  "sz": "0.5"}])
    ord_id = res.response["data"][0]["ordId"]
    states = [p["state"] for p in pushes(res, "sprd-orders")]
    assert states[-1] == "filled"
    trades = pushes(res, "sprd-trades")
    assert trades
    assert trades[0]["execType"] == "T"
    assert trades[0]["state"] == "filled"
    legs = trades[0]["legs"]
    assert [(leg["instId"], leg["side"]) for leg in legs] == [
        ("BTC-USDT", "sell"), ("BTC-USDT-SWAP", "buy")]
    assert Decimal(legs[1]["szCont"]) == Decimal(trades[0]["fillSz"]) * 100
    assert pushes(res, "sprd-public-trades")
    assert run(ex, "sprd-cancel-order", [{"ordId": ord_id}]).response["data"][0][
        "sCode"] == "51402"
    assert run(ex, "sprd-amend-order", [{"ordId": ord_id, "newSz": "1"}]).response["data"][0][
        "sCode"] == "51510"
    assert run(ex, "sprd-cancel-order", [{"ordId": "1"}]).response["data"][0]["sCode"] == "51400"
    assert run(ex, "sprd-amend-order", [{"ordId": "1", "newSz": "1"}]).response["data"][0][
        "sCode"] == "51503"
    assert run(ex, "sprd-cancel-order", [{}]).response["data"][0]["sCode"] == "50015"
    # A regular order id is not a spread order.
    reg = run(ex, "order", [far_bid(ex)]).response["data"][0]["ordId"]
    assert run(ex, "sprd-cancel-order", [{"ordId": reg}]).response["data"][0][
        "sCode"] == "51400"


@pytest.mark.parametrize(
    ("changes", "code"),
    [({"sprdId": None}, "50014"), ({"sprdId": "X_Y"}, "51001"), ({"ordType": "fok"}, "51000"),
     ({"px": None}, "50014"), ({"px": "10.05"}, "51000"), ({"sz": "0.001"}, "51121"),
     ({"side": "up"}, "51000"), ({"clOrdId": "a_b"}, "51000"), ({"px": "100"}, "51006")],
)
def test_sprd_order_failures(changes: dict[str, Any], code: str, ex: Exchange) -> None:
    res = run(ex, "sprd-order", [mutate(sprd(), **changes)])
    assert res.response["code"] == "1"
    assert res.response["data"][0]["sCode"] == code


def test_sprd_mass_cancel(ex: Exchange) -> None:
    for _ in range(2):
        run(ex, "sprd-order", [sprd()])
    run(ex, "sprd-order", [sprd()], key="keyB")
    for args in ([{"sprdId": SPRD}], [{}], []):
        res = run(ex, "sprd-mass-cancel", args)
        assert res.response["code"] == "0"
        assert res.response["data"] == [{"result": True}]
        assert "inTime" not in res.response
    states = sorted((o.api_key, o.state) for o in ex.order_list())
    assert states == [("keyA", "canceled"), ("keyA", "canceled"), ("keyB", "live")]
    res = run(ex, "sprd-mass-cancel", [{"sprdId": "NOPE"}])
    assert res.response["code"] == "51001"
    assert res.response["data"] == []


def test_sprd_mass_cancel_without_sprd_id_pushes_each_cancel(ex: Exchange) -> None:
    run(ex, "sprd-order", [sprd()])
    res = run(ex, "sprd-mass-cancel", [{}])
    assert [p["state"] for p in pushes(res, "sprd-orders")] == ["canceled"]


# ---------------------------------------------------------------------------
# Rate limits


def test_rate_limit_top_level(ex: Exchange, clock: Clock) -> None:
    for i in range(60):
        clock.t = T0 + i * 10
        assert run(ex, "order", [far_bid(ex)]).response["code"] == "0"
    res = run(ex, "order", [far_bid(ex)])
    assert res.response["code"] == "50011"
    assert res.response["data"] == []
    assert res.response["msg"].startswith("Rate limit reached")
    assert len(ex.order_list()) == 60
    # Another instrument has its own bucket.
    eth = {"instIdCode": 100002, "tdMode": "cash", "side": "buy", "ordType": "limit",
           "px": "1000", "sz": "1"}
    assert run(ex, "order", [eth]).response["code"] == "0"
    # Another account too.
    assert run(ex, "order", [far_bid(ex)], key="keyB").response["code"] == "0"
    # The rejected request did not count: once the first request leaves the
    # rolling window, exactly one more fits.
    clock.t = T0 + 2000
    assert run(ex, "order", [far_bid(ex)]).response["code"] == "0"
    assert run(ex, "order", [far_bid(ex)]).response["code"] == "50011"
    # Cancels have their own bucket.
    order = ex.order_list()[0]
    res = run(ex, "cancel-order", [{"instIdCode": 100001, "ordId": order.ord_id}])
    assert res.response["code"] == "0"


def test_rate_limit_item_shape(make_exchange: Callable[..., Exchange], clock: Clock) -> None:
    ex = make_exchange(rate_limit_shape="item")
    for _ in range(59):
        assert run(ex, "order", [far_bid(ex)]).response["code"] == "0"
    res = run(ex, "order", [far_bid(ex)])
    assert res.response["code"] == "0"
    res = run(ex, "order", [far_bid(ex)])
    assert res.response["code"] == "1"
    assert res.response["data"][0]["sCode"] == "50011"
    # Rejected items did not count: the window frees up after 2 s.
    clock.t += 2000
    assert run(ex, "order", [far_bid(ex)]).response["code"] == "0"


def test_rate_limit_batch_bucket_counts_orders(make_exchange: Callable[..., Exchange]) -> None:
    ex = make_exchange(rate_limit_shape="item")
    for _ in range(14):
        assert run(ex, "batch-orders", [far_bid(ex) for _ in range(20)]).response["code"] == "0"
    res = run(ex, "batch-orders", [far_bid(ex) for _ in range(19)])
    assert res.response["code"] == "0"
    eth = {"instIdCode": 100002, "tdMode": "cash", "side": "buy", "ordType": "limit",
           "px": "1000", "sz": "1"}
    res = run(ex, "batch-orders", [far_bid(ex), eth, far_bid(ex)])
    assert res.response["code"] == "2"
    assert [i["sCode"] for i in res.response["data"]] == ["0", "0", "50011"]
    res = run(ex, "batch-orders", [far_bid(ex) for _ in range(3)])
    assert res.response["code"] == "1"
    assert [i["sCode"] for i in res.response["data"]] == ["50011"] * 3
    # A one-item batch counts against the single-order bucket, which is free.
    assert run(ex, "batch-orders", [far_bid(ex)]).response["code"] == "0"


def test_rate_limit_mass_cancel_and_spread(
    make_exchange: Callable[..., Exchange],
    clock: Clock,
) -> None:
    ex = make_exchange(rate_limit_shape="item", accounts=[MM_A])
    arg = MASS
    for _ in range(5):
        assert run(ex, "mass-cancel", [arg]).response["code"] == "0"
    res = run(ex, "mass-cancel", [arg])
    assert res.response == {"id": res.response["id"], "op": "mass-cancel", "code": "50011",
                            "msg": res.response["msg"], "data": []}
    for _ in range(20):
        assert run(ex, "sprd-order", [sprd()]).response["code"] == "0"
    res = run(ex, "sprd-order", [sprd()])
    assert res.response["code"] == "1"
    assert res.response["data"][0]["sCode"] == "50011"
    clock.t += 2000
    assert run(ex, "sprd-order", [sprd()]).response["code"] == "0"


def test_rate_limit_off(make_exchange: Callable[..., Exchange]) -> None:
    ex = make_exchange(rate_limit=False)
    for _ in range(70):
        assert run(ex, "order", [far_bid(ex)]).response["code"] == "0"


def test_options_share_a_family_bucket(ex: Exchange) -> None:
    for i in range(60):
        code = 300001 if i % 2 else 300003  # the 60000 and 70000 calls: one family
        assert run(ex, "order", [option(instIdCode=code)]).response["code"] == "0"
    assert run(ex, "order", [option()]).response["code"] == "50011"


def test_keys_of_one_account_share_its_limits_orders_and_pushes(
    make_exchange: Callable[..., Exchange],
) -> None:
    # OKX counts trade-op limits per User ID: every API key of an account shares them.
    ex = make_exchange(accounts=[SimAccount(KA, extra_keys=[KA2]), KB])
    assert ex.uid("keyA") == ex.uid("keyA2") != ex.uid("keyB")
    assert ex.credentials("keyA2") == KA2
    for i in range(60):
        key = "keyA" if i % 2 else "keyA2"
        assert run(ex, "order", [far_bid(ex)], key=key).response["code"] == "0"
    for key in ("keyA", "keyA2"):
        assert run(ex, "order", [far_bid(ex)], key=key).response["code"] == "50011"
    assert run(ex, "order", [far_bid(ex)], key="keyB").response["code"] == "0"
    # One account: an order placed with one key is the account's (its pushes
    # carry the first key) and the other key cancels it.
    order = ex.order_list()[0]
    assert order.api_key == "keyA"
    res = run(ex, "cancel-order", [{"instIdCode": 100001, "ordId": order.ord_id}], key="keyA")
    assert res.response["code"] == "0"
    assert {e.api_key for e in res.emits if e.api_key} == {"keyA"}
    assert ex.find_order("keyA2", ord_id=order.ord_id) is order


def _swaps(n: int) -> list[InstrumentSpec]:
    return [
        InstrumentSpec(f"X{i}-USDT-SWAP", "SWAP", 400001 + i, tick_sz="0.1", lot_sz="1",
                       min_sz="1", start_px="100", level_sz="50", settle_ccy="USDT",
                       ct_val="1", ct_mult="1", ct_val_ccy=f"X{i}",
                       inst_family=f"X{i}-USDT", lever="10")
        for i in range(n)
    ]


def test_sub_account_cap_of_1000_orders(
    make_exchange: Callable[..., Exchange], clock: Clock
) -> None:
    # 50061: at most 1000 new + amended orders per 2 s per account, batch items
    # counted one by one, on top of the per-instrument limits; cancels and
    # spot, spread and MMP orders are exempt.
    ex = make_exchange(accounts=[MM_A, KB], instruments=[*default_instruments(), *_swaps(4)])

    def swaps(i: int, n: int = 20) -> list[dict[str, Any]]:
        return [{"instIdCode": 400001 + i % 4, "tdMode": "cross", "side": "buy",
                 "ordType": "limit", "px": "96", "sz": "1"} for _ in range(n)]

    for i in range(49):
        assert run(ex, "batch-orders", swaps(i)).response["code"] == "0"
    assert run(ex, "batch-orders", swaps(49, 10)).response["code"] == "0"
    # 990 counted: a batch of 20 gets 10 through.
    res = run(ex, "batch-orders", swaps(50)).response
    assert res["code"] == "2"
    assert [d["sCode"] for d in res["data"]] == ["0"] * 10 + ["50061"] * 10
    refused = res["data"][-1]
    assert refused["sMsg"] == "You've reached the maximum order rate limit for this account."
    assert refused["ordId"] == ""
    assert len(ex.order_list()) == 1000
    swap_order = ex.order_list()[0]
    res = run(ex, "amend-order", [{"instIdCode": swap_order_code(swap_order), "ordId":
                                   swap_order.ord_id, "newSz": "2"}]).response
    assert res["data"][0]["sCode"] == "50061"
    assert run(ex, "order", [far_bid(ex)]).response["code"] == "0"  # spot: exempt
    assert run(ex, "order", [option(ordType="mmp")]).response["code"] == "0"  # MMP: exempt
    assert run(ex, "sprd-order", [sprd()]).response["code"] == "0"  # spread: exempt
    res = run(ex, "cancel-order", [{"instIdCode": swap_order_code(swap_order),
                                    "ordId": swap_order.ord_id}]).response
    assert res["code"] == "0"  # cancels do not count
    assert run(ex, "order", swaps(0, 1), key="keyB").response["code"] == "0"  # per account
    clock.t += 2000
    assert run(ex, "order", swaps(0, 1)).response["code"] == "0"


def swap_order_code(order: Any) -> int:
    """The instIdCode of one of :func:`_swaps`' instruments from an order's instId."""
    return 400001 + int(order.inst_id[1:order.inst_id.index("-")])


# ---------------------------------------------------------------------------
# RPI, and the ELP names retired after 2026-10-31


def test_rpi_order_rests_as_a_post_only_maker(ex: Exchange) -> None:
    arg = far_bid(ex, ordType="rpi", rpiPxRound=True, clOrdId="rpi1")
    res = run(ex, "order", [arg])
    assert res.response["code"] == "0"
    (push,) = pushes(res)
    assert (push["ordType"], push["state"]) == ("rpi", "live")
    _, ask = best(ex)
    res = run(ex, "order", [limit(ask, ordType="rpi")])
    assert res.response["code"] == "0"
    (push,) = pushes(res)
    assert (push["state"], push["cancelSource"]) == ("canceled", "31")
    res = run(ex, "order", [option(ordType="rpi")])
    assert res.response["data"][0]["sCode"] == "51000"


@pytest.mark.parametrize(
    ("changes", "code"),
    [({"rpiTakerAccess": True}, "0"), ({"rpiTakerAccess": "false"}, "0"),
     ({"rpiTakerAccess": "yes"}, "51000"), ({"rpiPxRound": 1}, "51000"),
     ({"isElpTakerAccess": "garbage"}, "0"), ({"ordType": "elp"}, "51000")],
)
def test_rpi_fields_and_retired_elp_names(
    changes: dict[str, Any], code: str, ex: Exchange
) -> None:
    res = run(ex, "order", [mutate(far_bid(ex), **changes)])
    item = res.response["data"][0]
    assert item["sCode"] == code, item
    if changes == {"ordType": "elp"}:
        assert item["sMsg"] == "Parameter ordType error"


def test_elp_names_option_accepts_them_as_rpi(make_exchange: Callable[..., Exchange]) -> None:
    ex = make_exchange(elp_names=True)
    res = run(ex, "order", [far_bid(ex, ordType="elp", isElpTakerAccess=True)])
    assert res.response["code"] == "0"
    assert pushes(res)[0]["ordType"] == "rpi"
    res = run(ex, "order", [far_bid(ex, isElpTakerAccess="garbage")])
    assert res.response["data"][0]["sCode"] == "51000"


def test_amend_checks_rpi_fields(ex: Exchange) -> None:
    ord_id = run(ex, "order", [far_bid(ex)]).response["data"][0]["ordId"]
    arg = {"instIdCode": 100001, "ordId": ord_id, "newSz": "0.02"}
    res = run(ex, "amend-order", [{**arg, "rpiTakerAccess": "maybe"}])
    assert res.response["data"][0]["sCode"] == "51000"
    assert run(ex, "amend-order", [{**arg, "rpiTakerAccess": True}]).response["code"] == "0"
