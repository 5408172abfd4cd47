"""The REST client as a whole: its openers, the generic ``request``, deadlines,
what it shares with the WebSocket client, and that it never blocks trio's loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import trio
import trio.lowlevel
import trio.testing
from support.rest_api import rest_on_virtual_time, resting_bid, spot_buy, virtual_simulator

import okx_trio
from okx_trio import OkxAuthError, OkxNotSent, OkxRequestTimeout
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, open_simulator


async def test_generic_request_reaches_any_endpoint_signed_or_not(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        currencies = await rest.request("GET", "/api/v5/asset/currencies", params={"ccy": "BTC"})
        assert [c["ccy"] for c in currencies] == ["BTC"]
        (ts,) = await rest.request("GET", "/api/v5/public/time", signed=False)
        assert int(ts["ts"]) > 0
        rows = await rest.request("GET", "/api/v5/market/candles",
                                  params={"instId": "BTC-USDT"})
        assert rows == []  # no trade yet: no candle
        # A trade POST through request() goes out as given (OKX's own names).
        (item,) = await rest.request("POST", "/api/v5/trade/order", body={
            "instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
            "px": resting_bid(sim)["px"], "sz": "0.001", "clOrdId": "raw1"})
        assert (item["sCode"], item["clOrdId"]) == ("0", "raw1")
        with pytest.raises(TypeError, match="params"):
            await rest.request("GET", "/api/v5/account/balance", params={"ccy": 1})  # type: ignore[dict-item]
        with pytest.raises(ValueError, match="path"):
            await rest.request("GET", "/api/v5/account/balance?ccy=BTC")
        with pytest.raises(ValueError, match="method"):
            await rest.request("DELETE", "/api/v5/account/balance")


async def test_ws_rest_is_the_clients_and_shares_its_clock_and_cache(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with virtual_simulator(monkeypatch) as sim, okx_trio.open_ws_api_client(
        credentials=CREDS, base_url=sim.base_url, transport=sim.connect_memory(),
        log_lifecycle=False,
    ) as api:
        assert api.rest is api.ws_client.rest
        assert isinstance(api.rest, okx_trio.RestApiClient)
        sim.clock_offset_ms = 250_000
        offset = await api.rest.sync_time()
        assert api.ws_client.time_offset_ms == offset
        assert abs(offset - 250_000) < 1_000
        # Signed requests carry the synced clock: OKX's 30 s window accepts them.
        assert (await api.rest.balance()).details
        await api.rest.instruments("SWAP")
        assert api.instrument("BTC-USDT-SWAP") is not None


async def test_the_clients_own_rest_calls_are_paced_too(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # resolve() and the order tracker look orders up through the same limiter.
    async with virtual_simulator(monkeypatch) as sim, okx_trio.open_ws_api_client(
        credentials=CREDS, base_url=sim.base_url, transport=sim.connect_memory(),
        log_lifecycle=False, send_exp_time=False,
    ) as api:
        ack = await api.submit_new_order(resting_bid(sim))

        async def look_up() -> None:
            res = await api.resolve(cl_ord_id=ack.cl_ord_id, inst_id="BTC-USDT")
            assert res.outcome == "acted"

        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            for _ in range(130):  # GET /api/v5/trade/order: 60 per 2 s per instrument
                nursery.start_soon(look_up)
        assert trio.current_time() - start >= 4.0


async def test_open_rest_client_alone_over_a_socket() -> None:
    with trio.fail_after(20):
        async with open_simulator(market_interval=None) as sim:
            async with okx_trio.open_rest_client(credentials=CREDS, rest_url=sim.rest_url) as rest:
                assert repr(rest) == f"<RestApiClient {sim.rest_url}>"
                ack = await rest.submit_new_order(spot_buy())
                assert (await rest.order("BTC-USDT", ord_id=ack.ord_id)).state == "filled"
            # Closed with its block: nothing more is sent.
            with pytest.raises(OkxNotSent):
                await rest.server_time()
            # base_url's host and port serve REST too (the simulator's single port).
            async with okx_trio.open_rest_client(base_url=sim.base_url) as public:
                assert await public.server_time() > 0
                with pytest.raises(ValueError, match="credentials"):
                    await public.balance()
            async with okx_trio.open_rest_client(
                credentials=okx_trio.Credentials(CREDS.api_key, "bad", CREDS.passphrase),
                rest_url=sim.rest_url,
            ) as bad:
                with pytest.raises(OkxAuthError) as refused:
                    await bad.balance()
                assert refused.value.code == "50113"
        with pytest.raises(TypeError):
            async with okx_trio.open_rest_client(no_such_option=1):
                pass


class Stalled(httpx.AsyncBaseTransport):
    """A REST server that never answers."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await trio.sleep_forever()
        raise AssertionError("unreachable")


async def test_no_answer_before_the_deadline(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with virtual_simulator(monkeypatch) as sim:
        connector = sim.connect_memory()
        connector.rest_transport = Stalled()
        async with okx_trio.open_rest_client(
            credentials=CREDS, base_url=sim.base_url, transport=connector, request_timeout=3,
        ) as rest:
            start = trio.current_time()
            with pytest.raises(OkxRequestTimeout) as late:
                await rest.balance()
            assert trio.current_time() - start == pytest.approx(3)
            assert late.value.op == "GET /api/v5/account/balance"
            # The instrument list (to check the order's tick and lot) never comes:
            # the order was not sent.
            with pytest.raises(OkxNotSent, match="instrument list"):
                await rest.submit_new_order(spot_buy(clOrdId="slow0"), timeout=1)
            # Named by code the cache does not know, it goes out as is, and the
            # place itself gets no answer: outcome unknown, traceable like a
            # WebSocket place.
            order = {**spot_buy(clOrdId="slow1"), "instIdCode": 100001}
            del order["instId"]
            with pytest.raises(OkxRequestTimeout) as lost:
                await rest.submit_new_order(order, timeout=1)
            assert (lost.value.op, lost.value.cl_ord_id, lost.value.connection) == (
                "order", "slow1", "rest")
            assert lost.value.request[0]["instIdCode"] == 100001
            with pytest.raises(ValueError, match="timeout"):
                await rest.balance(timeout=-1)


@contextmanager
def slow_http_server(delay: float) -> Iterator[str]:
    """An HTTP server in a thread of its own that answers ``public/time`` after ``delay``."""
    answered = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answered.wait(delay)
            body = b'{"code":"0","msg":"","data":[{"ts":"1700000000000"}]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        answered.set()
        server.shutdown()
        server.server_close()
        thread.join()


class StepCounter(trio.abc.Instrument):
    """Counts the steps other tasks take, and the loop's waits for I/O."""

    def __init__(self, watched: trio.lowlevel.Task) -> None:
        self.watched = watched
        self.other_steps = 0
        self.io_waits = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is not self.watched:
            self.other_steps += 1

    def before_io_wait(self, timeout: float) -> None:
        if timeout > 0:
            self.io_waits += 1


async def test_a_request_in_flight_never_blocks_the_event_loop() -> None:
    # The server answers after 0.3 s from another thread: a client that blocked
    # the thread while waiting would let no other task run meanwhile.
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.sleep(0.01)

    with trio.fail_after(20), slow_http_server(0.3) as url:
        async with okx_trio.open_rest_client(rest_url=url) as rest, trio.open_nursery() as n:
            n.start_soon(ticker)
            await trio.lowlevel.checkpoint()
            counter = StepCounter(trio.lowlevel.current_task())
            trio.lowlevel.add_instrument(counter)
            try:
                before = ticks
                assert await rest.server_time() == 1_700_000_000_000
                during = ticks - before
            finally:
                trio.lowlevel.remove_instrument(counter)
            n.cancel_scope.cancel()
    assert during >= 10  # the ticker kept running for most of the 0.3 s
    assert counter.other_steps >= during
    assert counter.io_waits >= 1  # the loop slept on I/O, not the request on a socket
