"""The simulator's REST endpoints, request signing, and TLS."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from simulator_support import ORDER, SPRD, get, iso_now, memory_client, signed, signed_get

from okx_trio import Credentials
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, open_simulator
from okx_trio.testing._probe import open_probe


async def test_public_endpoints() -> None:
    with trio.fail_after(10):
        async with open_simulator(market_interval=None) as sim, httpx.AsyncClient(
            base_url=sim.rest_url
        ) as client:
            status, body = await get(client, "/api/v5/public/time")
            assert status == 200
            assert body["code"] == "0"
            assert abs(int(body["data"][0]["ts"]) - time.time() * 1000) < 5000
            sim.clock_offset_ms = -3_600_000
            _, body = await get(client, "/api/v5/public/time")
            assert abs(int(body["data"][0]["ts"]) - (time.time() * 1000 - 3_600_000)) < 5000

            _, body = await get(client, "/api/v5/public/instruments?instType=SPOT")
            ids = {i["instId"] for i in body["data"]}
            assert {"BTC-USDT", "ETH-USDT"} <= ids
            assert all(isinstance(i["instIdCode"], int) for i in body["data"])
            _, body = await get(client, "/api/v5/public/instruments",
                                params={"instType": "SWAP", "instId": "BTC-USDT-SWAP"})
            assert [i["instId"] for i in body["data"]] == ["BTC-USDT-SWAP"]
            status, body = await get(client, "/api/v5/public/instruments")
            assert (status, body["code"]) == (400, "50014")

            _, body = await get(client, "/api/v5/market/books?instId=BTC-USDT&sz=5")
            (book,) = body["data"]
            assert len(book["asks"]) == 5
            assert len(book["bids"]) == 5
            assert float(book["asks"][0][0]) > float(book["bids"][0][0])
            status, body = await get(client, "/api/v5/market/books?instId=NOPE")
            assert body["code"] == "51001"
            status, _ = await get(client, "/api/v5/market/books?instId=BTC-USDT&sz=abc")
            assert status == 400

            status, body = await get(client, "/api/v5/nothing/here")
            assert status == 404
            resp = await client.post("/api/v5/public/time", content=b"{}")
            assert resp.status_code == 405
            # Keep-alive: the same connection keeps answering.
            for _ in range(3):
                assert (await get(client, "/api/v5/public/time"))[0] == 200


async def test_signed_order_endpoints() -> None:
    with trio.fail_after(10):
        async with open_simulator(market_interval=None) as sim, httpx.AsyncClient(
            base_url=sim.rest_url
        ) as client:
            async with open_probe(sim, "private") as p:
                await p.login(CREDS)
                await p.send({"id": "o1", "op": "order", "args": [{**ORDER, "clOrdId": "rest1"}]})
                ord_id = (await p.expect_event(op="order"))["data"][0]["ordId"]
            target = f"/api/v5/trade/order?instId=BTC-USDT&ordId={ord_id}"
            status, body = await get(client, target, headers=signed(target))
            assert (status, body["code"]) == (200, "0")
            assert body["data"][0]["clOrdId"] == "rest1"
            assert body["data"][0]["state"] == "live"
            target = "/api/v5/trade/orders-pending?instType=SPOT"
            _, body = await get(client, target, headers=signed(target))
            assert [o["ordId"] for o in body["data"]] == [ord_id]
            target = "/api/v5/sprd/order?ordId=123"
            status, body = await get(client, target, headers=signed(target))
            assert status == 200
            assert body["code"] != "0"


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"OK-ACCESS-KEY": ""}, "50103"),
        ({"OK-ACCESS-PASSPHRASE": ""}, "50104"),
        ({"OK-ACCESS-SIGN": ""}, "50106"),
        ({"OK-ACCESS-KEY": "nope"}, "50111"),
        ({"OK-ACCESS-PASSPHRASE": "wrong"}, "50105"),
        ({"OK-ACCESS-SIGN": "AAAA"}, "50113"),
        ({"OK-ACCESS-TIMESTAMP": "yesterday"}, "50112"),
        # Stale but correctly signed: expired, not a bad signature.
        ({"ts": iso_now(-120)}, "50102"),
    ],
)
async def test_signature_errors(over: dict[str, str], code: str) -> None:
    target = "/api/v5/trade/orders-pending"
    with trio.fail_after(10):
        async with open_simulator(market_interval=None) as sim, httpx.AsyncClient(
            base_url=sim.rest_url
        ) as client:
            status, body = await get(client, target, headers=signed(target, **over))
            # Real 401 bodies: msg then code, no data key.
            assert (status, list(body), body["code"]) == (401, ["msg", "code"], code)


async def test_tls_serves_wss_and_https() -> None:
    with trio.fail_after(15):
        async with open_simulator(tls=True, market_interval=None) as sim:
            assert sim.base_url.startswith("wss://127.0.0.1:")
            assert sim.rest_url.startswith("https://127.0.0.1:")
            assert sim.ca_file is not None
            ca_file = sim.ca_file
            assert await trio.Path(ca_file).exists()
            async with open_probe(sim, "private") as p:
                assert (await p.login(CREDS))["code"] == "0"
                await p.send("ping")
                assert await p.recv() == "pong"
            async with httpx.AsyncClient(verify=sim.client_ssl_context()) as client:
                resp = await client.get(sim.rest_url + "/api/v5/public/time")
                assert resp.json()["code"] == "0"
            async with httpx.AsyncClient(
                verify=sim.client_ssl_context(), http2=True
            ) as client:
                resp = await client.get(sim.rest_url.replace("127.0.0.1", "localhost")
                                        + "/api/v5/public/time")
                assert resp.http_version == "HTTP/1.1"
            # An untrusting client is refused, and the server keeps going.
            async with httpx.AsyncClient(verify=True) as client:
                with pytest.raises(httpx.ConnectError):
                    await client.get(sim.rest_url + "/api/v5/public/time")
            async with open_probe(sim, "public") as p:
                await p.send("ping")
                assert await p.recv() == "pong"
        assert not await trio.Path(ca_file).exists()


async def test_plain_simulator_has_no_client_context() -> None:
    async with open_simulator(market_interval=None) as sim:
        assert sim.ca_file is None
        with pytest.raises(RuntimeError, match="TLS"):
            sim.client_ssl_context()


async def test_open_simulator_checks_its_arguments() -> None:
    bad: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"accounts": ["key"]}, TypeError),
        ({"accounts": [CREDS, CREDS]}, ValueError),
        ({"port": 70000}, ValueError),
        ({"idle_timeout": 0}, ValueError),
        ({"market_interval": -1}, ValueError),
        ({"rate_limit_shape": "both"}, ValueError),
        ({"seed": "x"}, TypeError),
    ]
    for kwargs, exc in bad:
        with pytest.raises(exc):
            async with open_simulator(**kwargs):
                pass


# ---------------------------------------------------------------------------
# In-memory REST (Simulator.rest_transport) and the endpoints ccxt and order
# trackers need: currencies, balance, spread pending orders, instrument families.

async def test_rest_transport_answers_like_the_socket() -> None:
    targets = [
        ("/api/v5/public/instruments?instType=SPOT", False),
        ("/api/v5/public/instruments", False),
        ("/api/v5/nope", False),
        ("/ws/v5/public", False),
        ("/api/v5/trade/orders-pending?instType=SPOT", True),
        ("/api/v5/asset/currencies?ccy=BTC", True),
        ("/api/v5/sprd/orders-pending?limit=0", True),
    ]
    with trio.fail_after(10):
        async with open_simulator(market_interval=None) as sim, httpx.AsyncClient(
            base_url=sim.rest_url
        ) as sock, memory_client(sim) as mem:
            for target, sign in targets:
                answers = []
                for client in (sock, mem):
                    headers = signed(target) if sign else {}
                    resp = await client.get(target, headers=headers)
                    answers.append((resp.status_code, resp.headers["content-type"], resp.json()))
                assert answers[0] == answers[1], target
            # A wrong signature is refused in memory too.
            target = "/api/v5/asset/currencies"
            status, body = await get(mem, target, headers=signed(target, **{"OK-ACCESS-SIGN": "x"}))
            assert (status, body["code"]) == (401, "50113")
            resp = await mem.head("/api/v5/public/time")
            assert (resp.status_code, resp.content) == (200, b"")
            resp = await mem.post("/api/v5/public/time", content=b"{}")
            assert resp.json()["code"] == "50115"


async def test_rest_transport_runs_under_mock_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_simulator(market_interval=None) as sim:
        connector = sim.connect_memory()
        assert isinstance(connector.rest_transport, httpx.AsyncBaseTransport)
        async with open_probe(sim, "private", memory=True) as p:
            await p.login(CREDS)
            await p.send({"id": "o1", "op": "order", "args": [ORDER]})
            ord_id = (await p.expect_event(op="order"))["data"][0]["ordId"]
        async with httpx.AsyncClient(base_url=sim.rest_url,
                                     transport=connector.rest_transport) as client:
            start = trio.current_time()
            await trio.sleep(3600)  # mock time only: the transport has no timer
            target = f"/api/v5/trade/order?instId=BTC-USDT&ordId={ord_id}"
            status, body = await signed_get(client, target)
            assert (status, body["data"][0]["state"]) == (200, "live")
            assert trio.current_time() - start == pytest.approx(3600)
    async with memory_client(sim) as client:
        with pytest.raises(httpx.ConnectError, match="not running"):
            await client.get("/api/v5/public/time")
    with pytest.raises(RuntimeError, match="not running"):
        sim.connect_memory()


async def test_asset_currencies_and_account_balance() -> None:
    with trio.fail_after(10):
        async with open_simulator(market_interval=None) as sim, memory_client(sim) as client:
            status, body = await signed_get(client, "/api/v5/asset/currencies")
            assert (status, body["code"]) == (200, "0")
            by_ccy = {c["ccy"]: c for c in body["data"]}
            assert set(by_ccy) == {"BTC", "ETH", "USDT"}
            assert by_ccy["USDT"]["chain"] == "USDT-ERC20"
            assert by_ccy["BTC"]["chain"] == "BTC-Bitcoin"
            for item in body["data"]:
                assert item["canDep"] is True
                assert item["canWd"] is True
                assert isinstance(item["mainNet"], bool)
                assert item["wdTickSz"].isdigit()
            _, body = await signed_get(client, "/api/v5/asset/currencies?ccy=BTC,USDT")
            assert [c["ccy"] for c in body["data"]] == ["BTC", "USDT"]
            status, body = await get(client, "/api/v5/asset/currencies")
            assert (status, body["code"]) == (401, "50103")

            async with open_probe(sim, "private", memory=True) as p:
                await p.login(CREDS)
                await p.send({"id": "o1", "op": "order", "args": [ORDER]})  # 300 USDT held
                await p.expect_event(op="order")
            _, body = await signed_get(client, "/api/v5/account/balance")
            (acct,) = body["data"]
            details = {d["ccy"]: d for d in acct["details"]}
            assert set(details) == {"BTC", "ETH", "USDT"}
            assert details["USDT"]["frozenBal"] == "300"
            assert details["USDT"]["availBal"] == str(sim.balances(CREDS.api_key)["USDT"] - 300)
            _, body = await signed_get(client, "/api/v5/account/balance?ccy=USDT")
            assert [d["ccy"] for d in body["data"][0]["details"]] == ["USDT"]


async def test_instruments_by_family() -> None:
    with trio.fail_after(10):
        async with open_simulator(market_interval=None) as sim, memory_client(sim) as client:
            _, body = await get(client, "/api/v5/public/instruments?instType=OPTION&uly=BTC-USD")
            assert len(body["data"]) == 3
            _, body = await get(client, "/api/v5/public/instruments?instType=OPTION&uly=ETH-USD")
            assert body["data"] == []
            _, body = await get(
                client, "/api/v5/public/instruments?instType=SWAP&instFamily=BTC-USDT"
            )
            assert [i["instId"] for i in body["data"]] == ["BTC-USDT-SWAP"]


SPRD_ORDER_KEYS = {
    "sprdId", "ordId", "clOrdId", "tag", "px", "sz", "ordType", "side", "fillSz", "fillPx",
    "tradeId", "accFillSz", "pendingFillSz", "pendingSettleSz", "canceledSz", "avgPx",
    "state", "cancelSource", "uTime", "cTime",
}


async def test_sprd_orders_pending() -> None:
    other = Credentials("other-key", "other-secret", "other-pass")
    with trio.fail_after(10):
        # Twenty look-ups at once: more than OKX's 10 per 2 s, which is not what this tests.
        async with open_simulator([CREDS, other], market_interval=None,
                                  rate_limit=False) as sim, \
                memory_client(sim) as client:
            ids = []
            async with open_probe(sim, "business", memory=True) as p:
                await p.login(CREDS)
                for i, ord_type in enumerate(["limit", "post_only", "limit", "limit"]):
                    await p.send({"id": f"s{i}", "op": "sprd-order", "args": [{
                        "sprdId": SPRD, "clOrdId": f"sp{i}", "side": "buy", "ordType": ord_type,
                        "px": str(1 + i), "sz": "0.01"}]})
                    ids.append((await p.expect_event(op="sprd-order"))["data"][0]["ordId"])
                await p.send({"id": "c1", "op": "sprd-cancel-order", "args": [{"ordId": ids[3]}]})
                assert (await p.expect_event(op="sprd-cancel-order"))["code"] == "0"
            async with open_probe(sim, "private", memory=True) as p:
                await p.login(CREDS)
                await p.send({"id": "o1", "op": "order", "args": [ORDER]})
                await p.expect_event(op="order")
            live = ids[:3]

            async def pending(query: str = "", creds: Credentials = CREDS) -> list[str]:
                target = "/api/v5/sprd/orders-pending" + query
                status, body = await signed_get(client, target, creds)
                assert (status, body["code"]) == (200, "0"), body
                return [item["ordId"] for item in body["data"]]

            # Newest first; regular orders, cancelled orders and other accounts left out.
            assert await pending() == live[::-1]
            assert await pending(f"?sprdId={SPRD}&ordType=&state=&limit=") == live[::-1]
            assert await pending("", other) == []
            assert await pending("?sprdId=ETH-USDT_ETH-USDT-SWAP") == []
            assert await pending("?ordType=post_only") == [ids[1]]
            assert await pending("?state=live") == live[::-1]
            assert await pending("?state=partially_filled") == []
            # Paging: beginId keeps newer orders, endId older ones (both exclusive).
            assert await pending("?limit=2") == [ids[2], ids[1]]
            assert await pending(f"?endId={ids[1]}") == [ids[0]]
            assert await pending(f"?beginId={ids[0]}") == [ids[2], ids[1]]
            assert await pending(f"?beginId={ids[0]}&endId={ids[2]}") == [ids[1]]

            target = "/api/v5/sprd/orders-pending"
            _, body = await signed_get(client, target)
            item = body["data"][-1]
            assert set(item) == SPRD_ORDER_KEYS
            assert (item["sprdId"], item["clOrdId"], item["state"], item["px"], item["sz"]) == (
                SPRD, "sp0", "live", "1", "0.01")
            for query in ("?limit=0", "?limit=101", "?limit=x", "?state=filled",
                          "?ordType=fok", "?beginId=abc", "?endId=-1"):
                status, body = await signed_get(client, target + query)
                assert (status, body["code"], body["data"]) == (400, "51000", []), query
            status, body = await get(client, target)
            assert (status, body["code"]) == (401, "50103")


async def test_instruments_need_a_family_for_options_and_a_series_for_events() -> None:
    # OKX: instFamily (or uly) is required for OPTION, seriesId for EVENTS; the 50015
    # body was seen with HTTP 400 (its 400 bodies carry "data": []).
    async with open_simulator(market_interval=None) as sim, memory_client(sim) as client:
        status, body = await get(client, "/api/v5/public/instruments?instType=OPTION")
        assert (status, body) == (400, {"code": "50015", "msg": "Either parameter uly or "
                                        "instFamily is required", "data": []})
        for query in ("instFamily=BTC-USD", "uly=BTC-USD"):
            status, body = await get(client, f"/api/v5/public/instruments?instType=OPTION&"
                                              f"{query}")
            assert status == 200
            assert {i["instFamily"] for i in body["data"]} == {"BTC-USD"}
            assert len(body["data"]) == 3
        status, body = await get(client, "/api/v5/public/instruments?instType=EVENTS")
        assert (status, body) == (400, {"code": "50014", "msg": "Parameter seriesId can not "
                                        "be empty.", "data": []})
        status, body = await get(client, "/api/v5/public/instruments?instType=EVENTS&"
                                          "seriesId=BTC-ABOVE-DAILY")
        assert (status, body["code"], body["data"]) == (200, "0", [])


async def test_books_rpi_endpoint() -> None:
    async with open_simulator(market_interval=None) as sim, memory_client(sim) as client:
        status, body = await get(client, "/api/v5/market/books-rpi?instId=BTC-USDT")
        assert (status, body["code"]) == (200, "0")
        (book,) = body["data"]
        assert set(book) == {"asks", "bids", "ts", "seqId"}
        assert isinstance(book["seqId"], int)
        assert len(book["bids"]) == len(book["asks"]) == 1  # sz defaults to 1
        _, total, non_rpi, count = book["bids"][0]
        assert total == non_rpi
        assert count.isdigit()
        _, body = await get(client, "/api/v5/market/books-rpi?instId=BTC-USDT&sz=400")
        deep = body["data"][0]
        assert deep["bids"][0] == book["bids"][0]
        assert len(deep["bids"]) > 50
        _, books = await get(client, "/api/v5/market/books?instId=BTC-USDT&sz=400")
        assert [lvl[:2] for lvl in deep["bids"]] == [lvl[:2] for lvl in books["data"][0]["bids"]]
        status, body = await get(client, "/api/v5/market/books-rpi")
        assert (status, body["code"]) == (400, "50014")
        status, body = await get(client, "/api/v5/market/books-rpi?instId=NOPE-USDT")
        assert (status, body["code"], body["msg"]) == (
            200, "51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")
        async with open_probe(sim, "public", memory=True) as p:
            await p.send({"op": "subscribe", "args": [{"channel": "books-rpi",
                                                       "instId": "BTC-USDT"}]})
            snap = await p.expect(lambda f: isinstance(f, dict) and "data" in f)
        assert snap["action"] == "snapshot"
        assert snap["data"][0]["seqId"] == deep["seqId"]
        assert snap["data"][0]["bids"] == deep["bids"]
