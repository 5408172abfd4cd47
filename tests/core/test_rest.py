"""Tests for the REST helper (okx_trio._rest) over real loopback sockets.

A tiny scripted HTTP/1.1 server (h11 on ``trio.serve_tcp``, 127.0.0.1, port 0)
records every request it receives, so the tests assert the exact target,
headers and signature that reached the wire. The one timing test (a server
that never answers) uses real time, because httpx talks to real sockets; it
is bounded by ``trio.fail_after`` and takes about half a second.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import attrs
import h11
import orjson
import pytest
import trio
import trustme

from okx_trio._exceptions import (
    OkxApiError,
    OkxAuthError,
    OkxConnectionLost,
    OkxError,
    OkxNotSent,
    OkxProtocolError,
    OkxRateLimitError,
    OkxRequestTimeout,
)
from okx_trio._models import Credentials
from okx_trio._protocol import rest_sign
from okx_trio._rest import RestClient, rest_timestamp
from okx_trio._urls import rest_base_url

# The nautilus REST signing vector (OKX REST authentication).
NAUTILUS_SECRET = "chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO"
NAUTILUS_TS_MS = 1607418537715  # 2020-12-08T09:08:57.715Z
NAUTILUS_SIGN = "PJ61e1nb2F2Qd7D8SPiaIcx2gjdELc+o0ygzre9z33k="

PASSPHRASE = "Pass-Phrase-77"
CREDS = Credentials(api_key="key-123", secret_key=NAUTILUS_SECRET, passphrase=PASSPHRASE)


@attrs.frozen
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@attrs.frozen
class Reply:
    status: int = 200
    body: bytes = b'{"code":"0","msg":"","data":[]}'
    content_type: str = "application/json"


HANG = "hang"
CLOSE = "close"

Responder = Callable[[Received], Awaitable[Reply | str]]


def okx(data: list[Any], code: str = "0", msg: str = "", status: int = 200) -> Reply:
    return Reply(status, orjson.dumps({"code": code, "msg": msg, "data": data}))


class ScriptedServer:
    """A one-behaviour-per-request HTTP/1.1 server built on h11."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[Received] = []

    async def handle(self, stream: trio.abc.Stream) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                received = await self._read_request(conn, stream)
                if received is None:
                    return
                self.requests.append(received)
                reply = await self.respond(received)
                if reply == HANG:
                    await trio.sleep_forever()
                if reply == CLOSE or isinstance(reply, str):
                    await stream.aclose()
                    return
                headers = [
                    ("Content-Type", reply.content_type),
                    ("Content-Length", str(len(reply.body))),
                ]
                out = conn.send(h11.Response(status_code=reply.status, headers=headers))
                out += conn.send(h11.Data(data=reply.body))
                out += conn.send(h11.EndOfMessage())
                await stream.send_all(out)
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            return

    async def _read_request(self, conn: h11.Connection, stream: trio.abc.Stream) -> Received | None:
        request: h11.Request | None = None
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                if not data:
                    return None
                conn.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                return Received(
                    request.method.decode(),
                    request.target.decode(),
                    {k.decode().lower(): v.decode() for k, v in request.headers},
                    body,
                )
            else:
                return None


async def serve(
    nursery: trio.Nursery,
    respond: Responder,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[str, ScriptedServer]:
    server = ScriptedServer(respond)
    if ssl_context is None:
        listeners = await nursery.start(partial(trio.serve_tcp, server.handle, 0, host="127.0.0.1"))
        scheme = "http"
    else:
        listeners = await nursery.start(
            partial(trio.serve_ssl_over_tcp, server.handle, 0, ssl_context, host="127.0.0.1")
        )
        scheme = "https"
    sock = listeners[0].transport_listener.socket if ssl_context else listeners[0].socket
    port = sock.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}", server


def always(reply: Reply | str) -> Responder:
    async def respond(_: Received) -> Reply | str:
        return reply

    return respond


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert NAUTILUS_SECRET not in text
        assert PASSPHRASE not in text
        assert NAUTILUS_SIGN not in text


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("okx_trio._clock.wall_ms", lambda: NAUTILUS_TS_MS)


# --- pure helpers -------------------------------------------------------------


def test_rest_timestamp_and_nautilus_vector() -> None:
    ts = rest_timestamp(NAUTILUS_TS_MS)
    assert ts == "2020-12-08T09:08:57.715Z"
    assert rest_sign(NAUTILUS_SECRET, ts, "GET", "/api/v5/account/balance") == NAUTILUS_SIGN
    assert rest_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert rest_timestamp(1_700_000_000_007) == "2023-11-14T22:13:20.007Z"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"rest_url": "http://10.0.0.1:9/", "base_url": "ws://h:1"}, "http://10.0.0.1:9"),
        ({"base_url": "ws://127.0.0.1:8765"}, "http://127.0.0.1:8765"),
        ({"base_url": "wss://sim.local:8443/?brokerId=9999"}, "https://sim.local:8443"),
        # OKX's current Overview (docs-v5, 2026-06/07) lists openapi.okx.com as the
        # REST host of production and demo trading; www.okx.com, the older listing,
        # still serves the API and stays reachable through rest_url=.
        ({}, "https://openapi.okx.com"),
        ({"demo_trading": True}, "https://openapi.okx.com"),
        ({"rest_url": "https://www.okx.com"}, "https://www.okx.com"),
        ({"market": "eea"}, "https://eea.okx.com"),
        ({"market": "us", "demo_trading": True}, "https://us.okx.com"),
    ],
)
def test_rest_base_url(kwargs: dict[str, Any], expected: str) -> None:
    options: dict[str, Any] = {
        "base_url": None,
        "rest_url": None,
        "market": "prod",
        "demo_trading": False,
    }
    options.update(kwargs)
    assert rest_base_url(**options) == expected


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"market": "mars"}, "market"),
        ({"base_url": "http://127.0.0.1:1"}, "base_url"),
        ({"rest_url": "ws://127.0.0.1:1"}, "rest_url"),
    ],
)
def test_rest_base_url_rejects(kwargs: dict[str, Any], field: str) -> None:
    options: dict[str, Any] = {
        "base_url": None,
        "rest_url": None,
        "market": "prod",
        "demo_trading": False,
    }
    options.update(kwargs)
    with pytest.raises(ValueError, match=field):
        rest_base_url(**options)


async def test_constructor_and_argument_validation() -> None:
    with pytest.raises(ValueError, match="base_url"):
        RestClient("ws://127.0.0.1:1")
    with pytest.raises(ValueError, match="timeout"):
        RestClient("http://127.0.0.1:1", timeout=0)
    with pytest.raises(TypeError, match="credentials"):
        RestClient("http://127.0.0.1:1", credentials=("k", "s", "p"))  # type: ignore[arg-type]
    async with RestClient("http://127.0.0.1:1") as rest:
        with pytest.raises(ValueError, match="credentials"):
            await rest.request_signed("GET", "/api/v5/account/balance")
    async with RestClient("http://127.0.0.1:1", credentials=CREDS) as rest:
        with pytest.raises(ValueError, match="ord_id or cl_ord_id"):
            await rest.get_order("BTC-USDT")
        with pytest.raises(ValueError, match="cl_ord_id"):
            await rest.get_order("BTC-USDT", cl_ord_id="has space")
        with pytest.raises(ValueError, match="inst_id"):
            await rest.get_order("", ord_id="1")
        with pytest.raises(ValueError, match="method"):
            await rest.request_signed("DELETE", "/api/v5/x")
        with pytest.raises(ValueError, match="path"):
            await rest.request_signed("GET", "api/v5/x")
        with pytest.raises(ValueError, match="sz"):
            await rest.get_order_book("BTC-USDT", sz=0)
        assert_no_secret(repr(rest))
        assert "signed=True" in repr(rest)
    with pytest.raises(OkxNotSent, match="closed"):
        await rest.get_server_time_ms()


# --- signed requests: exact headers on the wire --------------------------------


async def test_signed_get_matches_nautilus_vector(
    nursery: trio.Nursery, pinned_clock: None
) -> None:
    url, server = await serve(nursery, always(okx([{"ccy": "BTC"}])))
    with trio.fail_after(5):
        async with RestClient(url, credentials=CREDS, demo_trading=True) as rest:
            data = await rest.request_signed("GET", "/api/v5/account/balance")
    assert data == [{"ccy": "BTC"}]
    (req,) = server.requests
    assert req.method == "GET"
    assert req.target == "/api/v5/account/balance"
    assert req.headers["ok-access-key"] == "key-123"
    assert req.headers["ok-access-sign"] == NAUTILUS_SIGN
    assert req.headers["ok-access-timestamp"] == "2020-12-08T09:08:57.715Z"
    assert req.headers["ok-access-passphrase"] == PASSPHRASE
    assert req.headers["x-simulated-trading"] == "1"
    assert req.body == b""


async def test_signed_get_with_query_and_time_offset(
    nursery: trio.Nursery, pinned_clock: None
) -> None:
    order = {"ordId": "42", "clOrdId": "abc1", "state": "live"}
    url, server = await serve(nursery, always(okx([order])))
    with trio.fail_after(5):
        async with RestClient(url, credentials=CREDS, time_offset_ms=lambda: 2500) as rest:
            got = await rest.get_order("BTC-USDT", cl_ord_id="abc1")
    assert got == order
    (req,) = server.requests
    assert req.target == "/api/v5/trade/order?instId=BTC-USDT&clOrdId=abc1"
    ts = rest_timestamp(NAUTILUS_TS_MS + 2500)
    assert req.headers["ok-access-timestamp"] == ts == "2020-12-08T09:09:00.215Z"
    assert req.headers["ok-access-sign"] == rest_sign(NAUTILUS_SECRET, ts, "GET", req.target)
    assert "x-simulated-trading" not in req.headers


async def test_signed_post_signs_the_body_as_sent(
    nursery: trio.Nursery, pinned_clock: None
) -> None:
    url, server = await serve(nursery, always(okx([{"ordId": "7", "sCode": "0"}])))
    body = {"instId": "BTC-USDT", "ordId": "7"}
    with trio.fail_after(5):
        async with RestClient(url, credentials=CREDS) as rest:
            data = await rest.request_signed("post", "/api/v5/trade/cancel-order", body=body)
    assert data == [{"ordId": "7", "sCode": "0"}]
    (req,) = server.requests
    assert req.method == "POST"
    assert req.body == b'{"instId":"BTC-USDT","ordId":"7"}'
    assert req.headers["content-type"] == "application/json"
    ts = "2020-12-08T09:08:57.715Z"
    assert req.headers["ok-access-sign"] == rest_sign(
        NAUTILUS_SECRET, ts, "POST", "/api/v5/trade/cancel-order", req.body.decode()
    )


async def test_sprd_order_and_orders_pending(nursery: trio.Nursery) -> None:
    async def respond(req: Received) -> Reply:
        if req.target.startswith("/api/v5/sprd/order"):
            return okx([])
        return okx([{"ordId": "1"}, {"ordId": "2"}])

    url, server = await serve(nursery, respond)
    with trio.fail_after(5):
        async with RestClient(url, credentials=CREDS) as rest:
            assert await rest.get_sprd_order(ord_id="99") is None
            pending = await rest.get_orders_pending(inst_type="SPOT")
            assert [o["ordId"] for o in pending] == ["1", "2"]
            await rest.get_orders_pending()
    assert [r.target for r in server.requests] == [
        "/api/v5/sprd/order?ordId=99",
        "/api/v5/trade/orders-pending?instType=SPOT",
        "/api/v5/trade/orders-pending",
    ]
    assert all("ok-access-sign" in r.headers for r in server.requests)


# --- public endpoints ------------------------------------------------------------


async def test_public_endpoints_are_unsigned(nursery: trio.Nursery) -> None:
    async def respond(req: Received) -> Reply:
        if req.target == "/api/v5/public/time":
            return okx([{"ts": "1700000000123"}])
        if req.target.startswith("/api/v5/public/instruments"):
            return okx([{"instId": "BTC-USDT", "instIdCode": 10001}])
        return okx([{"asks": [["2", "1", "0", "1"]], "bids": [], "ts": "1", "seqId": 5}])

    url, server = await serve(nursery, respond)
    with trio.fail_after(5):
        async with RestClient(url, credentials=CREDS, demo_trading=True) as rest:
            assert await rest.get_server_time_ms() == 1700000000123
            instruments = await rest.get_instruments("SPOT", "BTC-USDT")
            assert instruments == [{"instId": "BTC-USDT", "instIdCode": 10001}]
            book = await rest.get_order_book("BTC-USDT", sz=50)
            assert book["seqId"] == 5
    assert [r.target for r in server.requests] == [
        "/api/v5/public/time",
        "/api/v5/public/instruments?instType=SPOT&instId=BTC-USDT",
        "/api/v5/market/books?instId=BTC-USDT&sz=50",
    ]
    for req in server.requests:
        assert req.method == "GET"
        assert not any(h.startswith("ok-access") for h in req.headers)
        assert req.headers["x-simulated-trading"] == "1"


# --- error mapping -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "exc_type", "code"),
    [
        (okx([], "51603", "Order does not exist"), OkxApiError, "51603"),
        (okx([{"sCode": "51000"}], "1", "failed", status=200), OkxApiError, "1"),
        (okx([], "50011", "Too Many Requests", status=429), OkxRateLimitError, "50011"),
        (okx([], "50061", "Sub-account rate limit"), OkxRateLimitError, "50061"),
        (Reply(429, b"slow down", "text/plain"), OkxRateLimitError, "429"),
        (okx([], "50113", "Invalid Sign", status=401), OkxAuthError, "50113"),
        (okx([], "50111", "Invalid OK-ACCESS-KEY", status=401), OkxAuthError, "50111"),
        (okx([], "50102", "Timestamp request expired", status=401), OkxAuthError, "50102"),
        (okx([], "50105", "Passphrase incorrect", status=401), OkxAuthError, "50105"),
        (Reply(200, b"<html>ok</html>", "text/html"), OkxProtocolError, None),
        (Reply(502, b"<html>Bad Gateway</html>", "text/html"), OkxProtocolError, None),
        (Reply(200, b'{"code":"0","data":{"not":"a list"}}'), OkxProtocolError, None),
        (Reply(200, b'["no", "envelope"]'), OkxProtocolError, None),
    ],
)
async def test_error_mapping(
    nursery: trio.Nursery, reply: Reply, exc_type: type[OkxError], code: str | None
) -> None:
    url, _ = await serve(nursery, always(reply))
    with trio.fail_after(5):
        async with RestClient(url, credentials=CREDS) as rest:
            with pytest.raises(exc_type) as info:
                await rest.get_order("BTC-USDT", ord_id="42")
    exc = info.value
    if code is not None:
        assert getattr(exc, "code", None) == code
    if isinstance(exc, OkxApiError):
        assert exc.op == "GET /api/v5/trade/order"
    if isinstance(exc, OkxAuthError):
        assert exc.connection == "rest"
    assert_no_secret(str(exc), repr(exc))


async def test_api_error_keeps_data(nursery: trio.Nursery) -> None:
    url, _ = await serve(nursery, always(okx([{"sCode": "51000", "sMsg": "bad"}], "1", "x")))
    with trio.fail_after(5):
        async with RestClient(url, credentials=CREDS) as rest:
            with pytest.raises(OkxApiError) as info:
                await rest.request_signed("POST", "/api/v5/trade/batch-orders", body=[{}])
    assert type(info.value) is OkxApiError
    assert info.value.data == [{"sCode": "51000", "sMsg": "bad"}]
    assert "POST /api/v5/trade/batch-orders" in str(info.value)


async def test_connection_refused_is_not_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now.
    with trio.fail_after(5):
        async with RestClient(f"http://127.0.0.1:{port}", credentials=CREDS) as rest:
            with pytest.raises(OkxNotSent) as info:
                await rest.get_order("BTC-USDT", ord_id="1")
    assert info.value.op == "GET /api/v5/trade/order"
    assert info.value.connection == "rest"
    assert_no_secret(str(info.value))


async def test_server_that_never_answers_times_out(nursery: trio.Nursery) -> None:
    url, server = await serve(nursery, always(HANG))
    with trio.fail_after(5):
        async with RestClient(url, timeout=0.5) as rest:
            start = trio.current_time()
            with pytest.raises(OkxRequestTimeout) as info:
                await rest.get_server_time_ms()
            elapsed = trio.current_time() - start
    assert 0.4 < elapsed < 3
    assert len(server.requests) == 1  # it was sent: outcome unknown
    assert info.value.op == "GET /api/v5/public/time"


async def test_server_closing_without_answer_is_connection_lost(nursery: trio.Nursery) -> None:
    url, server = await serve(nursery, always(CLOSE))
    with trio.fail_after(5):
        async with RestClient(url) as rest:
            with pytest.raises(OkxConnectionLost):
                await rest.get_instruments("SPOT")
    assert len(server.requests) == 1


async def test_no_secret_in_logs(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture, pinned_clock: None
) -> None:
    replies = iter([okx([{"ok": 1}]), okx([], "50113", "Invalid Sign", status=401)])

    async def respond(_: Received) -> Reply:
        return next(replies)

    url, _ = await serve(nursery, respond)
    caplog.set_level(logging.DEBUG)
    with trio.fail_after(5):
        async with RestClient(url, credentials=CREDS) as rest:
            await rest.request_signed("GET", "/api/v5/account/balance")
            with pytest.raises(OkxAuthError):
                await rest.request_signed("GET", "/api/v5/account/balance")
    assert any("REST GET /api/v5/account/balance" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert_no_secret(record.getMessage(), str(record.args))


# --- TLS -----------------------------------------------------------------------------


async def test_tls_verified_by_default_and_custom_context(nursery: trio.Nursery) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    url, server = await serve(nursery, always(okx([{"ts": "5"}])), ssl_context=server_ctx)
    assert url.startswith("https://")
    with trio.fail_after(5):
        async with RestClient(url) as rest:
            with pytest.raises(OkxNotSent, match="could not reach"):
                await rest.get_server_time_ms()
        client_ctx = ssl.create_default_context()
        ca.configure_trust(client_ctx)
        async with RestClient(url, ssl_context=client_ctx) as rest:
            assert await rest.get_server_time_ms() == 5
    assert [r.target for r in server.requests] == ["/api/v5/public/time"]
