"""WsApiClient's answer mapping, against a scripted stand-in for WsClient and its core.

The simulator tests (test_trade_api.py) cover the same paths end to end; these
pin down every branch of the mapping with exact frames, including shapes the
simulator does not produce (a code-0 answer with a failed item, JSON-string
results, a 60014 request-level answer).
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import trio
import trio.testing

import okx_trio
from okx_trio import (
    Instrument,
    OkxApiError,
    OkxBatchError,
    OkxBatchProtocolError,
    OkxNotSent,
    OkxOrderError,
    OkxOrderRateLimitError,
    OkxProtocolError,
    OkxRateLimitError,
    OrderAck,
    Response,
)
from okx_trio._api_client import WsApiClient
from okx_trio._formats import ID_RE
from okx_trio._instruments import InstrumentCache
from okx_trio._options import ClientOptions
from okx_trio._order_prep import cl_ord_id_generator
from okx_trio._outcomes import UnknownOutcomes
from okx_trio._protocol import IdGenerator

SPOT = [
    {
        "instId": "BTC-USDT",
        "instType": "SPOT",
        "instIdCode": 100001,
        "tickSz": "0.1",
        "lotSz": "0.00000001",
        "minSz": "0.00001",
    },
]

OPTION = [
    {
        "instId": f"BTC-USD-261225-{k}-C",
        "instType": "OPTION",
        "instIdCode": code,
        "instFamily": "BTC-USD",
        "tickSz": "0.0005",
        "lotSz": "1",
        "minSz": "1",
    }
    for k, code in (("60000", 300001), ("70000", 300002))
]


class FakeRest:
    def __init__(self, delay: float = 0.0, fail: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.delay = delay
        self.fail = fail

    async def get_instruments(
        self, inst_type: str, inst_id: str | None = None, *, inst_family: str | None = None,
        series_id: str | None = None,
    ) -> list[dict[str, Any]]:
        self.calls.append(inst_type)
        await trio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return {"SPOT": SPOT, "OPTION": OPTION}.get(inst_type, [])


class FakeWs:
    """Answers each request with the next scripted (code, msg, data); records the args.

    Stands in for both the ``WsClient`` and the client core a ``WsApiClient`` is
    built on (request ids, deadlines, the instrument cache).
    """

    def __init__(self, *answers: tuple[str, str, list[Any]], rest: FakeRest | None = None):
        self.answers = list(answers)
        self.sent: list[tuple[str, list[dict[str, Any]], int | None, float | None]] = []
        self.rest = rest or FakeRest()
        self.ids = IdGenerator("req")
        self.cl_ord_ids = cl_ord_id_generator(self.ids.prefix)
        self.rest_api = types.SimpleNamespace(order_hooks=None, send_exp_time=True)
        self.instruments = InstrumentCache(self.rest.get_instruments)
        self.options = ClientOptions()
        self.unknowns = UnknownOutcomes()

    def now_ms(self) -> int:
        return 1_700_000_000_000

    def check_open(self) -> None:
        """Never closed."""

    def deadline(self, timeout: float | None) -> float:
        if timeout is None:
            timeout = 10.0
        return math.inf if timeout == math.inf else trio.current_time() + timeout

    async def request(
        self,
        op: str,
        args: Sequence[Mapping[str, Any]],
        *,
        connection: str | None = None,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> Response:
        await trio.lowlevel.checkpoint()
        self.sent.append((op, [dict(a) for a in args], exp_time, timeout))
        code, msg, data = self.answers.pop(0)
        if code != "0":
            raise OkxApiError(code, msg, op, "r1", data)
        return Response("r1", op, code, msg, data)

    async def _send(
        self, op: str, kind: str, args: list[Any], exp_time: int | None, deadline: float
    ) -> Response:
        """What ``WsApiClient`` calls: ``request`` after its checks, with a deadline."""
        assert kind == ("business" if op.startswith("sprd-") else "private")
        timeout = math.inf if deadline == math.inf else deadline - trio.current_time()
        return await self.request(op, args, exp_time=exp_time, timeout=timeout)


def api_with(
    *answers: tuple[str, str, list[Any]], rest: FakeRest | None = None
) -> tuple[WsApiClient, FakeWs]:
    ws = FakeWs(*answers, rest=rest)
    return WsApiClient(ws, ws), ws  # type: ignore[arg-type]


ORDER = {
    "instIdCode": 100001,
    "tdMode": "cash",
    "side": "buy",
    "ordType": "limit",
    "sz": "0.01",
    "px": "30000",
}


def item(**fields: Any) -> dict[str, Any]:
    base = {
        "ordId": "1",
        "clOrdId": "",
        "tag": "",
        "ts": "1700000000000",
        "sCode": "0",
        "sMsg": "Order placed",
        "subCode": "",
    }
    base.update(fields)
    return base


async def test_success_ack_with_unknown_fields_kept() -> None:
    api, ws = api_with(("0", "", [item(clOrdId="mine", newField="x")]))
    ack = await api.submit_new_order({**ORDER, "clOrdId": "mine", "tag": "t1"})
    # "" on the wire (tag, subCode) is None on the ack, whatever the op; ts is int
    # ms (a digit string given to the constructor is still accepted).
    assert ack == OrderAck(
        ord_id="1",
        cl_ord_id="mine",
        tag=None,
        ts="1700000000000",
        s_code="0",
        s_msg="Order placed",
        sub_code=None,
    )
    assert ack.ts == 1_700_000_000_000
    assert ack.extra == {"newField": "x"}
    op, args, _, _ = ws.sent[0]
    assert op == "order"
    assert args == [{**ORDER, "clOrdId": "mine", "tag": "t1"}]


async def test_generated_cl_ord_ids_are_unique_and_not_request_ids() -> None:
    answers = [("0", "", [item()]) for _ in range(50)]
    api, ws = api_with(*answers)
    seen: list[str] = []
    for _ in range(50):
        ack = await api.submit_new_order(ORDER)
        assert ack.cl_ord_id is not None
        assert ID_RE.match(ack.cl_ord_id)
        seen.append(ack.cl_ord_id)
    assert len(set(seen)) == 50
    assert not any(c.startswith("req") for c in seen)
    # The ack carries the id that was sent (the exchange echoed "").
    assert [a[1][0]["clOrdId"] for a in ws.sent] == seen


async def test_single_failure_is_order_error_with_the_sent_cl_ord_id() -> None:
    api, ws = api_with(("1", "", [item(ordId="", sCode="51008", sMsg="Insufficient")]))
    with pytest.raises(OkxOrderError) as info:
        await api.submit_new_order(ORDER)
    err = info.value
    assert type(err) is OkxOrderError
    assert err.s_code == "51008"
    assert err.code == "1"
    assert err.op == "order"
    assert err.ack is not None
    assert err.ack.cl_ord_id == ws.sent[0][1][0]["clOrdId"]
    assert err.data[0]["sCode"] == "51008"


async def test_single_item_50011_is_order_rate_limit_error() -> None:
    api, _ = api_with(("1", "", [item(ordId="5", sCode="50011", sMsg="Rate limit reached")]))
    with pytest.raises(OkxOrderRateLimitError) as info:
        await api.cancel_order({"instIdCode": 1, "ordId": "5"})
    assert isinstance(info.value, OkxRateLimitError)
    assert isinstance(info.value, OkxOrderError)


@pytest.mark.parametrize("code", ["50011", "60014", "50061"])
async def test_request_level_rate_limit(code: str) -> None:
    api, _ = api_with((code, "Too many", []), (code, "Too many", []))
    with pytest.raises(OkxRateLimitError) as info:
        await api.submit_new_order(ORDER)
    assert not isinstance(info.value, OkxOrderError)
    assert info.value.code == code
    with pytest.raises(OkxRateLimitError):
        await api.submit_multiple_orders([ORDER])


async def test_request_level_other_code_is_plain_api_error() -> None:
    api, _ = api_with(("60013", "Invalid args", []), ("60013", "Invalid args", []))
    with pytest.raises(OkxApiError) as info:
        await api.amend_order({"instIdCode": 1, "ordId": "5", "newSz": "2"})
    assert type(info.value) is OkxApiError
    with pytest.raises(OkxApiError) as info2:
        await api.cancel_multiple_orders([{"instIdCode": 1, "ordId": "5"}])
    assert type(info2.value) is OkxApiError


@pytest.mark.parametrize("code", ["1", "2"])
async def test_batch_errors_keep_every_ack_in_order(code: str) -> None:
    data = [
        item(ordId="11", clOrdId="a"),
        item(ordId="", clOrdId="b", sCode="51008", sMsg="no money"),
        item(ordId="", clOrdId="c", sCode="50011", sMsg="rate"),
    ]
    if code == "1":
        data[0] = item(ordId="", clOrdId="a", sCode="51000", sMsg="bad")
    api, _ = api_with((code, "", data))
    with pytest.raises(OkxBatchError) as info:
        await api.submit_multiple_orders(
            [{**ORDER, "clOrdId": "a"}, {**ORDER, "clOrdId": "b"}, {**ORDER, "clOrdId": "c"}]
        )
    err = info.value
    assert err.code == code
    assert [a.cl_ord_id for a in err.acks] == ["a", "b", "c"]
    assert [a.cl_ord_id for a in err.rate_limited] == ["c"]
    assert len(err.succeeded) == (1 if code == "2" else 0)
    assert len(err.failed) == (2 if code == "2" else 3)


async def test_batch_success_returns_acks() -> None:
    api, ws = api_with(("0", "", [item(ordId="1"), item(ordId="2")]))
    acks = await api.amend_multiple_orders(
        [
            {"instIdCode": 1, "ordId": "1", "newSz": "2"},
            {"instIdCode": 1, "ordId": "2", "newPx": "3"},
        ]
    )
    assert [a.ord_id for a in acks] == ["1", "2"]
    assert ws.sent[0][0] == "batch-amend-orders"


async def test_code_zero_with_failed_item_is_never_a_success() -> None:
    # The code says accepted, the item says refused: neither is believed.
    api, _ = api_with(("0", "", [item(sCode="51000")]), ("0", "", [item(), item(sCode="5")]))
    with pytest.raises(OkxProtocolError):
        await api.submit_new_order(ORDER)
    with pytest.raises(OkxBatchProtocolError) as info:
        await api.submit_multiple_orders([ORDER, ORDER])
    assert isinstance(info.value, OkxBatchError)
    assert len(info.value.succeeded) == 1
    assert len(info.value.request) == 1


async def test_mass_cancel_results() -> None:
    api, ws = api_with(
        ("0", "", [{"result": True}]),
        ("0", "", [{"result": False}]),
        ("0", "", [{"result": "true"}]),
        ("0", "", []),
    )
    assert await api.mass_cancel_orders({"instType": "OPTION", "instFamily": "BTC-USD"}) is True
    assert await api.mass_cancel_spread_orders() is False
    assert await api.mass_cancel_spread_orders({"sprdId": "X_Y"}) is True
    assert ws.sent[1][1] == [{}]
    with pytest.raises(OkxProtocolError):
        await api.mass_cancel_spread_orders()


async def test_empty_single_answer_is_protocol_error() -> None:
    api, _ = api_with(("0", "", []))
    with pytest.raises(OkxProtocolError):
        await api.cancel_spread_order({"ordId": "1"})


async def test_exp_time_refused_on_other_ops_before_sending() -> None:
    api, ws = api_with()
    with pytest.raises(TypeError, match="exp_time"):
        await api.submit_new_order(ORDER, exp_time="1700000000000")  # type: ignore[arg-type]
    for call in (
        api.cancel_order({"instIdCode": 1, "ordId": "1"}, exp_time=1),
        api.mass_cancel_orders({"instType": "OPTION", "instFamily": "X"}, exp_time=1),
        api.submit_spread_order(
            {"sprdId": "A_B", "side": "buy", "ordType": "market", "sz": "1"}, exp_time=1
        ),
    ):
        with pytest.raises(ValueError, match="exp_time"):
            await call
    assert ws.sent == []


async def test_inst_id_is_mapped_and_kept() -> None:
    api, ws = api_with(("0", "", [item()]))
    assert api.instrument("BTC-USDT") is None
    await api.submit_new_order({**ORDER, "instIdCode": None, "instId": "BTC-USDT"})
    args = ws.sent[0][1][0]
    assert args["instIdCode"] == 100001
    assert args["instId"] == "BTC-USDT"
    inst = api.instrument("BTC-USDT")
    assert inst is not None
    assert inst.inst_id_code == 100001


async def test_mismatched_id_and_code_refused_when_known() -> None:
    api, ws = api_with(("0", "", [item()]))
    await api.load_instruments("SPOT")
    with pytest.raises(ValueError, match="different instruments"):
        await api.cancel_order({"instId": "ETH-USDT", "instIdCode": 100001, "ordId": "1"})
    assert ws.sent == []


async def test_rules_checked_once_cached() -> None:
    api, ws = api_with()
    await api.load_instruments("SPOT")
    with pytest.raises(ValueError, match="tick size"):
        await api.submit_new_order({**ORDER, "px": "30000.05"})
    with pytest.raises(ValueError, match="51020"):
        await api.submit_multiple_orders([ORDER, {**ORDER, "sz": "0.000001"}])
    assert ws.sent == []


async def test_failed_fetch_is_not_sent() -> None:
    rest = FakeRest(fail=OkxApiError("50026", "System error"))
    api, ws = api_with(rest=rest)
    with pytest.raises(OkxNotSent) as info:
        await api.submit_new_order({**ORDER, "instIdCode": None, "instId": "BTC-USDT"})
    assert isinstance(info.value.__cause__, OkxApiError)
    assert info.value.cl_ord_id is not None
    assert ws.sent == []


async def test_slow_fetch_past_the_deadline_is_not_sent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    api, ws = api_with(rest=FakeRest(delay=5.0))
    t0 = trio.current_time()
    with pytest.raises(OkxNotSent, match="deadline"):
        await api.submit_new_order({**ORDER, "instIdCode": None, "instId": "BTC-USDT"}, timeout=2.0)
    assert trio.current_time() - t0 == pytest.approx(2.0)
    assert ws.sent == []


async def test_fetch_time_counts_against_the_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    api, ws = api_with(("0", "", [item()]), rest=FakeRest(delay=1.5))
    await api.submit_new_order({**ORDER, "instIdCode": None, "instId": "BTC-USDT"}, timeout=4.0)
    assert ws.sent[0][3] == pytest.approx(2.5)


async def test_option_orders_share_their_family_rate_bucket() -> None:
    # The real client: its rate limiter is built on its instrument cache.
    async with okx_trio.open_ws_api_client(base_url="ws://127.0.0.1:9") as api:
        core = api._core
        for raw in OPTION + SPOT:
            core.instruments.add(Instrument.from_okx(raw, str(raw["instType"])))
        assert core.limiter is not None
        windows = core.limiter.windows
        keys = {windows.demand("order", [{"instIdCode": c}])[0][0] for c in (300001, 300002)}
        assert keys == {("order", ("family", "BTC-USD"))}
        assert windows.demand("order", [{"instIdCode": 100001}])[0][0] == ("order", 100001)
        assert windows.demand("order", [{"instId": "BTC-USD-261225-70000-C"}])[0][0] == (
            "order",
            ("family", "BTC-USD"),
        )
