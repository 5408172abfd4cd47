"""The REST client's trade endpoints: reads, history pages, and the order methods
over REST (same request models, same outcome classes as over the WebSocket)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson
import pytest
import trio
import trio.testing
from support.rest_api import (
    UNKNOWN,
    WRONG,
    collect,
    mid,
    rest_on_virtual_time,
    resting_bid,
    spot_buy,
    virtual_simulator,
)

import okx_trio
from okx_trio import (
    CancelOrder,
    OkxApiError,
    OkxAuthError,
    OkxBatchError,
    OkxNotSent,
    OkxOrderError,
    OkxRateLimitError,
    OrderAck,
    PlaceOrder,
    views,
)
from okx_trio._okx import RATE_LIMITS
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, SimAccount, open_simulator


async def test_place_read_amend_cancel_over_rest(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        ack = await rest.submit_new_order(PlaceOrder(**_snake(resting_bid(sim))))
        assert isinstance(ack, OrderAck)
        assert ack.ok
        assert ack.cl_ord_id  # generated, as over the WebSocket
        order = await rest.order("BTC-USDT", ord_id=ack.ord_id)
        assert isinstance(order, views.Order)
        assert (order.state, order.cl_ord_id, order.ord_type) == ("live", ack.cl_ord_id, "limit")
        assert (await rest.order("BTC-USDT", cl_ord_id=ack.cl_ord_id)).ord_id == ack.ord_id
        assert [o.ord_id for o in await collect(rest.orders_pending())] == [ack.ord_id]

        new_px = str(order.px - 10) if order.px is not None else ""
        amended = await rest.amend_order({"instId": "BTC-USDT", "ordId": ack.ord_id,
                                          "newPx": new_px, "reqId": "r1"})
        assert amended.req_id == "r1"
        assert str((await rest.order("BTC-USDT", ord_id=ack.ord_id)).px) == new_px

        cancelled = await rest.cancel_order(CancelOrder(inst_id="BTC-USDT", ord_id=ack.ord_id))
        assert cancelled.ok
        assert (await rest.order("BTC-USDT", ord_id=ack.ord_id)).state == "canceled"
        # The same outcome classes as over the WebSocket.
        with pytest.raises(OkxOrderError) as again:
            await rest.cancel_order({"instId": "BTC-USDT", "ordId": ack.ord_id})
        assert (again.value.code, again.value.s_code, again.value.op) == (
            "1", "51400", "cancel-order")
        assert again.value.ack is not None
        assert again.value.ack.ord_id == ack.ord_id
        with pytest.raises(OkxApiError) as gone:
            await rest.order("BTC-USDT", ord_id="1")
        assert gone.value.code == "51603"
        assert await collect(rest.orders_pending()) == []


async def test_batches_keep_every_ack(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        far = {**resting_bid(sim), "px": str(int(mid(sim) * 2))}  # beyond the price band
        with pytest.raises(OkxBatchError) as partial:
            await rest.submit_multiple_orders([resting_bid(sim, 400), far,
                                               resting_bid(sim, 600)])
        err = partial.value
        assert (err.code, err.op) == ("2", "batch-orders")
        assert [a.s_code for a in err.acks] == ["0", "51006", "0"]
        assert all(a.cl_ord_id for a in err.acks)
        placed = [a.ord_id for a in err.succeeded]
        acks = await rest.amend_multiple_orders(
            [{"instId": "BTC-USDT", "ordId": i, "newSz": "0.002"} for i in placed])
        assert [a.ord_id for a in acks] == placed
        acks = await rest.cancel_multiple_orders(
            [{"instId": "BTC-USDT", "ordId": i} for i in placed])
        assert all(a.ok for a in acks)
        with pytest.raises(OkxBatchError) as whole:
            await rest.cancel_multiple_orders([{"instId": "BTC-USDT", "ordId": i}
                                               for i in placed])
        assert (whole.value.code, whole.value.msg) == ("1", "All operations failed")
        # mass-cancel needs Portfolio Margin and MMP: this account has neither.
        with pytest.raises(OkxApiError) as mass:
            await rest.mass_cancel_orders({"instType": "OPTION", "instFamily": "BTC-USD"})
        assert (mass.value.code, mass.value.op) == ("51411", "mass-cancel")
        with pytest.raises(ValueError, match="1 to 20"):
            await rest.submit_multiple_orders([spot_buy()] * 21)


async def test_mass_cancel_over_rest(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    mmp = SimAccount(CREDS, portfolio_margin=True, mmp=True)
    async with rest_on_virtual_time(monkeypatch, sim_options={"accounts": [mmp]}) as (_, rest):
        assert await rest.mass_cancel_orders({"instType": "OPTION", "instFamily": "BTC-USD",
                                              "lockInterval": "0"})


async def test_history_and_fills_are_paged(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        filled = [await rest.submit_new_order(spot_buy()) for _ in range(7)]
        unfilled = await rest.submit_new_order(resting_bid(sim))
        await rest.cancel_order({"instId": "BTC-USDT", "ordId": unfilled.ord_id})

        history = await collect(rest.orders_history("SPOT", page_size=3))
        assert [o.ord_id for o in history] == [unfilled.ord_id] + [
            a.ord_id for a in reversed(filled)]
        assert {o.state for o in history[1:]} == {"filled"}
        assert [o.ord_id for o in await collect(rest.orders_history("SPOT", state="canceled"))
                ] == [unfilled.ord_id]
        # The archive keeps no canceled order that never filled.
        archive = await collect(rest.orders_history_archive("SPOT"))
        assert archive == history[1:]
        # OKX keeps such an order 2 hours in the 7-day history.
        await trio.sleep(2 * 3600 + 1)
        assert unfilled.ord_id not in [
            o.ord_id for o in await collect(rest.orders_history("SPOT"))]

        fills = await collect(rest.fills(page_size=2))
        recorded = list(reversed(sim.engine.accounts[CREDS.api_key].fills))
        assert [f.bill_id for f in fills] == [r.bill_id for r in recorded]
        assert {f.ord_id for f in fills} == {a.ord_id for a in filled}
        for fill in fills:
            assert isinstance(fill, views.Fill)
            assert fill.fee is not None
            assert fill.fee < 0
            assert (fill.fee_ccy, fill.side, fill.exec_type) == ("BTC", "buy", "T")
        assert await collect(rest.fills_history("SPOT", page_size=5)) == fills
        one = filled[3].ord_id
        assert {f.ord_id for f in await collect(rest.fills(ord_id=one))} == {one}
        assert await collect(rest.fills_history("SWAP")) == []


async def test_history_burst_is_paced_without_50011(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (_, rest):
        for _ in range(30):
            await rest.submit_new_order(spot_buy())
        start = trio.current_time()
        fills = await collect(rest.fills_history("SPOT", page_size=1))  # 10 per 2 s
        assert len(fills) == 30
        assert trio.current_time() - start >= 4.0


async def test_rest_and_websocket_places_share_the_ops_rate_limit(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OKX counts REST and WebSocket places of one instrument together (60 per 2 s):
    # 90 places half over each path must be paced as one burst, or the simulator
    # answers 50011.
    limit = RATE_LIMITS["order"][0]
    with trio.fail_after(120):
        async with virtual_simulator(monkeypatch) as sim, okx_trio.open_ws_api_client(
            credentials=CREDS, base_url=sim.base_url, transport=sim.connect_memory(),
            log_lifecycle=False, send_exp_time=False,
        ) as api:
            acks: list[OrderAck] = []

            async def place(via_rest: bool) -> None:
                client = api.rest if via_rest else api
                acks.append(await client.submit_new_order(resting_bid(sim)))

            start = trio.current_time()
            async with trio.open_nursery() as nursery:
                for i in range(int(1.5 * limit)):
                    nursery.start_soon(place, i % 2 == 0)
            assert len(acks) == int(1.5 * limit)
            assert all(a.ok for a in acks)
            assert trio.current_time() - start >= 2.0
            assert len(sim.orders.open()) == int(1.5 * limit)


async def test_rest_places_reach_the_websocket_order_stream(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(30):
        async with virtual_simulator(monkeypatch) as sim, okx_trio.open_ws_api_client(
            credentials=CREDS, base_url=sim.base_url, transport=sim.connect_memory(),
            log_lifecycle=False, send_exp_time=False,
        ) as api, api.ws_client.subscribe({"channel": "orders", "instType": "SPOT"}) as orders:
            assert api.rest is api.ws_client.rest
            ack = await api.rest.submit_new_order(spot_buy())
            async for item in orders:
                if isinstance(item, okx_trio.Push):
                    (order,) = item.view_as(views.Order)
                    if order.ord_id == ack.ord_id and order.state == "filled":
                        break
            # The tracker-free way to wait: the REST read agrees with the push.
            assert (await api.rest.order("BTC-USDT", ord_id=ack.ord_id)).state == "filled"


class ActsThenStalls(httpx.AsyncBaseTransport):
    """The simulator's REST in memory; with ``stall`` set, a POST is acted on and
    never answered."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.stall = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if self.stall and request.method == "POST":
            await trio.sleep_forever()
        return response


async def test_orders_sent_over_rest_are_the_trade_clients_own(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(60):
        async with virtual_simulator(monkeypatch) as sim:
            connector = sim.connect_memory()
            connector.rest_transport = transport = ActsThenStalls(sim.rest_transport())
            async with okx_trio.open_ws_api_client(
                credentials=CREDS, base_url=sim.base_url, transport=connector,
                log_lifecycle=False, send_exp_time=False, track_orders=True,
            ) as api:
                # The tracker follows an order placed over REST.
                ack = await api.rest.submit_new_order(resting_bid(sim))
                seen = await api.wait_order(cl_ord_id=ack.cl_ord_id, states=("live",))
                assert seen.ord_id == ack.ord_id
                # A REST place whose answer is lost is resolved like a WebSocket one.
                transport.stall = True
                with pytest.raises(okx_trio.OkxRequestTimeout) as lost:
                    await api.rest.submit_new_order(resting_bid(sim, clOrdId="lost1"),
                                                    timeout=2)
                assert api._unknowns.for_cl_ord_id("lost1") is not None
                transport.stall = False
                res = await api.resolve(lost.value)
                assert res.outcome == "acted"
                assert res.orders[0].cl_ord_id == "lost1"


class DropsAnItem(httpx.AsyncBaseTransport):
    """The simulator's REST in memory, except that a POST's answer loses its last item."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method != "POST":
            return response
        body = orjson.loads(await response.aread())
        body["data"] = body["data"][:-1]
        return httpx.Response(response.status_code, content=orjson.dumps(body),
                              headers={"Content-Type": "application/json"}, request=request)


async def test_an_answer_that_does_not_match_is_believed_no_more_than_over_websocket(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with virtual_simulator(monkeypatch) as sim:
        connector = sim.connect_memory()
        connector.rest_transport = DropsAnItem(sim.rest_transport())
        async with okx_trio.open_rest_client(
            credentials=CREDS, base_url=sim.base_url, transport=connector, send_exp_time=False,
        ) as rest:
            with pytest.raises(okx_trio.OkxBatchProtocolError) as short:
                await rest.submit_multiple_orders([resting_bid(sim, 400, clOrdId="m1"),
                                                   resting_bid(sim, 600, clOrdId="m2")])
            # The matching item is an ack; the other's outcome is unknown (it rests).
            assert [a.cl_ord_id for a in short.value.acks] == ["m1"]
            assert [w["clOrdId"] for w in short.value.request] == ["m2"]
            assert short.value.connection == "rest"  # not the WebSocket op's connection
            assert sim.orders.find(cl_ord_id="m2") is not None
            with pytest.raises(okx_trio.OkxProtocolError) as single:
                await rest.submit_new_order(resting_bid(sim, clOrdId="m3"))
            assert (single.value.op, single.value.cl_ord_id) == ("order", "m3")
            assert single.value.connection == "rest"


async def test_deadline_goes_out_as_exp_time_and_a_past_one_is_refused() -> None:
    with trio.fail_after(20):
        async with open_simulator(market_interval=None) as sim, okx_trio.open_rest_client(
            credentials=CREDS, rest_url=sim.rest_url,
        ) as rest:
            seen: list[Mapping[str, str]] = []
            handle = sim._rest.handle

            def spy(method: str, target: str, headers: Mapping[str, str],
                    body: bytes) -> Any:
                seen.append(headers)
                return handle(method, target, headers, body)

            sim._rest.handle = spy  # type: ignore[method-assign]
            before = rest._host.now_ms()
            await rest.submit_new_order(resting_bid(sim), timeout=5)
            exp = int(seen[-1]["exptime"])
            assert before + 4_000 <= exp <= rest._host.now_ms() + 5_000
            with pytest.raises(OkxOrderError) as late:
                await rest.submit_new_order(resting_bid(sim), exp_time=before - 1)
            assert (late.value.code, late.value.s_code) == ("1", "50036")
            with pytest.raises(ValueError, match="exp_time"):
                await rest.cancel_order({"instId": "BTC-USDT", "ordId": "1"}, exp_time=before)


async def test_a_deadline_passing_while_paced_is_not_sent(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        # Fill the shared order bucket, then ask for one more with a short deadline.
        assert rest._host.limiter is not None
        await rest.instruments("SPOT")  # BTC-USDT's bucket is its instIdCode's
        for _ in range(rest._host.limiter.windows.limit("order") or 0):
            await rest._host.limiter.acquire("order", [{"instId": "BTC-USDT"}])
        with pytest.raises(OkxNotSent) as paced:
            await rest.submit_new_order(resting_bid(sim, clOrdId="late1"), timeout=0.5)
        err = paced.value
        assert (err.op, err.cl_ord_id, err.connection) == ("order", "late1", "rest")
        assert err.request[0]["clOrdId"] == "late1"
        assert not sim.orders.open()


@pytest.mark.parametrize(("creds", "code"), [(WRONG, "50113"), (UNKNOWN, "50111")])
async def test_a_wrong_key_is_refused_with_okxs_code(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch,
    creds: object, code: str,
) -> None:
    async with rest_on_virtual_time(monkeypatch, credentials=creds) as (sim, rest):
        for call in (rest.order("BTC-USDT", ord_id="1"), collect(rest.orders_pending()),
                     collect(rest.orders_history("SPOT")), collect(rest.fills()),
                     rest.submit_new_order(resting_bid(sim)),
                     rest.cancel_order({"instId": "BTC-USDT", "ordId": "1"})):
            with pytest.raises(OkxAuthError) as refused:
                await call
            assert refused.value.code == code
        assert len(sim.orders) == 0


async def test_unpaced_places_get_the_rate_limit_error(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch, rate_limit=False) as (sim, rest):
        async def burst() -> None:
            for _ in range(RATE_LIMITS["order"][0] + 1):
                await rest.submit_new_order(resting_bid(sim))

        with pytest.raises(OkxRateLimitError) as limited:
            await burst()
        assert (limited.value.code, limited.value.op) == ("50011", "order")


def _snake(okx: dict[str, Any]) -> dict[str, Any]:
    names = {"instId": "inst_id", "tdMode": "td_mode", "ordType": "ord_type"}
    return {names.get(k, k): v for k, v in okx.items()}


async def test_exp_time_and_signature_share_one_wall_clock(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signing timestamp and ``expTime`` read the same local wall clock: pinned
    once (here to trio's virtual time), both follow it. With two clocks, an hour of
    virtual time left ``expTime`` an hour in the exchange's past (refused, 50036)
    while the signature's timestamp was accepted."""
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        first = await rest.submit_new_order(PlaceOrder(**_snake(resting_bid(sim))))
        assert first.ok
        await trio.sleep(3600)
        later = await rest.submit_new_order(PlaceOrder(**_snake(resting_bid(sim))))
        assert later.ok
