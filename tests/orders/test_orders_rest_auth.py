"""Signed REST end to end against the simulator: the look-ups ``resolve`` relies on.

Real HTTP over 127.0.0.1 (no virtual time here), bounded by ``fail_after``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx
import pytest
import trio
from support.orders import CREDS, bid, mid, trading

from okx_trio import (
    Credentials,
    OkxApiError,
    OkxAuthError,
    OkxConnectionLost,
    open_ws_api_client,
)
from okx_trio._rest import RestClient
from okx_trio.testing import Simulator


async def test_signed_look_ups_and_refused_signatures(sim: Simulator) -> None:
    with trio.fail_after(20):
        async with RestClient(sim.rest_url, credentials=CREDS) as rest:
            with pytest.raises(OkxApiError) as missing:
                await rest.get_order("BTC-USDT", cl_ord_id="nothere")
            assert missing.value.code == "51603"
            with pytest.raises(OkxApiError) as missing_sprd:
                await rest.get_sprd_order(cl_ord_id="nothere")
            assert missing_sprd.value.code == "51603"
            assert await rest.get_orders_pending() == []

        cases = [
            (Credentials(CREDS.api_key, "NOT-THE-SECRET-0123456789", CREDS.passphrase),
             "50113"),
            (Credentials(CREDS.api_key, CREDS.secret_key, "wrong-passphrase"), "50105"),
            (Credentials("no-such-key", CREDS.secret_key, CREDS.passphrase), "50111"),
        ]
        for creds, code in cases:
            async with RestClient(sim.rest_url, credentials=creds) as rest:
                with pytest.raises(OkxAuthError) as refused:
                    await rest.get_order("BTC-USDT", cl_ord_id="abc")
                assert refused.value.code == code
                text = f"{refused.value} {refused.value!r} {refused.value.args}"
                assert creds.secret_key not in text
                assert creds.passphrase not in text


async def test_signature_covers_the_query_as_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OK-ACCESS-SIGN of a look-up is HMAC-SHA256(secret, ts + GET + path?query),
    base64, computed here independently; the simulator accepts exactly that."""
    monkeypatch.setattr("okx_trio._clock.wall_ms", lambda: 1_607_418_537_715)
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": "51603", "msg": "Order does not exist",
                                         "data": []})

    async with RestClient("http://127.0.0.1:9", credentials=CREDS,
                          transport=httpx.MockTransport(handler)) as rest:
        with pytest.raises(OkxApiError):
            await rest.get_order("BTC-USDT", cl_ord_id="abc123")
    request = seen[0]
    target = request.url.raw_path.decode()
    assert target == "/api/v5/trade/order?instId=BTC-USDT&clOrdId=abc123"
    ts = "2020-12-08T09:08:57.715Z"
    expected = base64.b64encode(
        hmac.new(CREDS.secret_key.encode(), f"{ts}GET{target}".encode(), hashlib.sha256).digest()
    ).decode()
    assert request.headers["OK-ACCESS-TIMESTAMP"] == ts
    assert request.headers["OK-ACCESS-SIGN"] == expected
    assert request.headers["OK-ACCESS-KEY"] == CREDS.api_key
    assert request.headers["OK-ACCESS-PASSPHRASE"] == CREDS.passphrase


async def test_resolve_over_sockets(sim: Simulator) -> None:
    """The whole path on real loopback sockets: a place whose answer was lost is
    found by its generated clOrdId through signed REST."""
    with trio.fail_after(20):
        options = {"credentials": CREDS, "base_url": sim.base_url, "log_lifecycle": False}
        async with open_ws_api_client(**options) as api:
            sim.faults.drop_on("order", when="after", mode="reset")
            with pytest.raises(OkxConnectionLost) as lost:
                await api.submit_new_order(bid(mid(sim) - 100))
            res = await api.resolve(lost.value)
        assert res.outcome == "acted"
        order = sim.orders.find(cl_ord_id=lost.value.cl_ord_id)
        assert order is not None
        assert res.orders[0].ord_id == order.ord_id


async def test_resolve_reports_a_refused_signature() -> None:
    """Wrong REST credentials are a definite error, not an endless retry."""
    with trio.fail_after(20):
        async with trading() as (sim, api, rest):
            ack = await api.submit_new_order(bid(mid(sim) - 100))
            rest_client = api.ws_client._core.rest
            rest_client._credentials = Credentials(CREDS.api_key, "WRONG-SECRET-012345",
                                                   CREDS.passphrase)
            with pytest.raises(OkxAuthError) as refused:
                await api.resolve(cl_ord_id=ack.cl_ord_id, inst_id="BTC-USDT")
            assert refused.value.code == "50113"
            assert rest.calls[-1][1].startswith("/api/v5/trade/order?")
