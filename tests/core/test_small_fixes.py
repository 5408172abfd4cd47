"""The smaller items of issue 13 (item 10), and nothing heavy built on the event loop.

* ``WsClient.request`` maps 50011 (and 60014, 50061) to ``OkxRateLimitError``,
  as ``WsApiClient`` does;
* a bad option raises ``ValueError``/``TypeError`` from the opener before any
  task starts (never ``OkxInternalError``);
* the TLS context is built once per client, in a worker thread (it took
  ~16-60 ms on the event loop at every ``wss://`` connect);
* the REST client is built in a worker thread when the client opens (its
  first build took ~74 ms on the event loop at the first REST call).
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

import pytest
import trio
import trio.testing
from support import internals
from support.scripted import ORDER, ScriptedServer, scripted_client

import okx_trio
from okx_trio import OkxApiError, OkxRateLimitError


@pytest.mark.parametrize("code", ["50011", "60014", "50061"])
async def test_ws_client_request_maps_rate_limit_codes(
    autojump_clock: trio.testing.MockClock, code: str,
) -> None:
    server = ScriptedServer()
    server.on_op = lambda conn, obj: {"id": obj["id"], "op": obj["op"], "code": code,
                                      "msg": "Too Many Requests", "data": []}
    async with scripted_client(server) as (client, _):
        with pytest.raises(OkxRateLimitError) as info:
            await client.request("order", ORDER)
        assert info.value.code == code
        assert isinstance(info.value, OkxApiError)
        server.on_op = lambda conn, obj: {"id": obj["id"], "op": obj["op"], "code": "60013",
                                          "msg": "Invalid args", "data": []}
        with pytest.raises(OkxApiError) as other:
            await client.request("order", ORDER)
        assert type(other.value) is OkxApiError


BAD_OPTIONS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"id_prefix": "!!"}, ValueError, "id_prefix"),
    ({"id_prefix": "x" * 17}, ValueError, "id_prefix"),
    ({"id_prefix": 7}, TypeError, "id_prefix"),
    ({"max_connects_per_second": 0}, ValueError, "max_connects_per_second"),
    ({"max_connects_per_second": 1.5}, TypeError, "max_connects_per_second"),
    ({"random": 3}, TypeError, "random"),
    ({"ssl_context": "yes"}, TypeError, "ssl_context"),
    ({"request_timeout": "10"}, TypeError, "request_timeout"),
    ({"request_timeout": float("nan")}, ValueError, "request_timeout"),
    ({"connect_timeout": 0}, ValueError, "connect_timeout"),
    ({"rate_limit": "no"}, TypeError, "rate_limit"),
    ({"send_exp_time": 1}, TypeError, "send_exp_time"),
    ({"compression": None}, TypeError, "compression"),
    ({"track_orders": "yes"}, TypeError, "track_orders"),
    ({"demo_trading": 0}, TypeError, "demo_trading"),
    ({"log_lifecycle": "on"}, TypeError, "log_lifecycle"),
    ({"reconnect_initial": 5.0, "reconnect_max": 1.0}, ValueError, "reconnect_max"),
]


@pytest.mark.parametrize(("options", "exc", "name"), BAD_OPTIONS,
                         ids=[next(iter(o)) for o, _, _ in BAD_OPTIONS])
@pytest.mark.parametrize("opener", ["open_ws_client", "open_ws_api_client"])
async def test_bad_options_raise_before_any_task_starts(
    options: dict[str, Any], exc: type[Exception], name: str, opener: str,
) -> None:
    before = trio.lowlevel.current_statistics().tasks_living
    with pytest.raises(exc, match=name):
        async with getattr(okx_trio, opener)(**options):
            pass  # pragma: no cover
    assert trio.lowlevel.current_statistics().tasks_living == before


async def _refusing_tls_server(task_status: trio.TaskStatus[int]) -> None:
    """Accepts TCP connections and drops them at once: every TLS handshake fails."""
    async def handler(stream: trio.SocketStream) -> None:
        await stream.aclose()

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handler, listeners)


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_tls_context_is_built_once_per_client_off_the_event_loop(
    transport: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[bool] = []
    real = ssl.create_default_context

    def create_default_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    from okx_trio import _rest, _transport

    # The process's shared contexts, as if no client had been made before.
    monkeypatch.setattr(_rest, "_DEFAULT_CONTEXTS", {})
    monkeypatch.setattr(_transport, "_DEFAULT_CONTEXT", [])
    async with trio.open_nursery() as nursery:
        port = await nursery.start(_refusing_tls_server)
        monkeypatch.setattr(ssl, "create_default_context", create_default_context)
        attempts = 0
        async with okx_trio.open_ws_client(
            base_url=f"wss://127.0.0.1:{port}", rest_url=f"https://127.0.0.1:{port}",
            transport=transport, reconnect_initial=0.01, reconnect_max=0.02,
            log_lifecycle=False,
        ) as client, client.events() as events:
            # Long enough for several attempts (OKX's connection pacing allows
            # three per 1.25 s); the count is checked on the events below.
            with trio.move_on_after(2):
                async with client.subscribe({"channel": "tickers", "instId": "BTC-USDT"}):
                    pass  # pragma: no cover
            async for ev in events:
                if ev.kind == "exception":
                    attempts += 1
                    if attempts >= 3:
                        break
            client.rest  # noqa: B018 - built with the same context
        nursery.cancel_scope.cancel()
    assert attempts >= 3
    # Never on the event loop, and not per connection attempt: one for the
    # WebSocket connections, and httpx's own for REST (built with the REST client).
    assert built
    assert not any(built), built
    assert len(built) <= 2, built


async def test_rest_client_is_built_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from okx_trio import _rest

    built: list[bool] = []
    real_init = _rest.RestClient.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(threading.current_thread() is threading.main_thread())
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(_rest.RestClient, "__init__", init)
    async with okx_trio.open_ws_client(base_url="ws://127.0.0.1:9",
                                       log_lifecycle=False) as client:
        with trio.fail_after(10):
            while not internals.rest_built(client):
                await trio.sleep(0.01)
        assert client.rest is client.rest
    assert built == [False]


def test_clients_share_one_default_tls_context_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading a trust store costs ~0.7 MiB and tens of ms: REST clients (every
    client builds one) share the process's default verifying context instead of
    loading their own, as do the WebSocket connections of different clients."""
    from okx_trio import _rest, _transport

    monkeypatch.setattr(_rest, "_DEFAULT_CONTEXTS", {})
    monkeypatch.setattr(_transport, "_DEFAULT_CONTEXT", [])
    built: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def create_default_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(ssl, "create_default_context", create_default_context)
    rests = [_rest.RestClient("https://127.0.0.1:9") for _ in range(5)]
    assert len(built) == 1
    contexts = [_transport.default_ssl_context() for _ in range(5)]
    assert len(built) == 2
    assert all(c is contexts[0] for c in contexts)
    # Still verifying, by default.
    for ctx in built:
        assert ctx.verify_mode == ssl.CERT_REQUIRED
        assert ctx.check_hostname
    # A context of the caller's own is used as given.
    own = real()
    _rest.RestClient("https://127.0.0.1:9", ssl_context=own)
    assert len(built) == 2
    del rests
