"""Configuration mistakes fail when the client opens; use after close is a programming error.

Nothing here touches the network: a bad option is refused before the block is
entered (``ValueError``/``TypeError``, naming the option and what is wrong),
and a call after the block is refused with ``trio.ClosedResourceError``, never
an ``OkxRequestError`` that the docs call safe to retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

import okx_trio
from okx_trio import OkxError
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS

ORDER = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "px": "50000", "sz": "0.001"}
NOWHERE = "ws://127.0.0.1:9"
"""A base URL no test connects to (the calls below never reach the network)."""


async def opens(**options: Any) -> None:
    async with okx_trio.open_ws_api_client(**options):
        pass  # pragma: no cover - every case is refused before the block


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("http://127.0.0.1:8765", r"ws:// or wss:// \(http:// URLs go in rest_url\)"),
        ("https://www.okx.com", r"ws:// or wss://"),
        ("127.0.0.1:8765", r"must start with ws:// or wss://"),
        ("ws://127.0.0.1:8765/ws/v5/private", r"without a path: the client appends"),
        ("wss://ws.okx.com:8443/ws/v5/public", r"Give 'wss://ws.okx.com:8443'"),
        ("ws://127.0.0.1:8765/okx", r"must have no path"),
        ("ws://127.0.0.1:99999", r"invalid port \(1-65535\)"),
        ("ws://127.0.0.1:-1", r"invalid port"),
        ("ws://127.0.0.1:0", r"invalid port"),
        ("ws://127.0.0.1:http", r"invalid port"),
        ("ws://:8765", r"has no host"),
        ("ws:///ws/v5/public", r"has no host"),
        ("ws://127.0.0.1:8765#x", r"fragment"),
    ],
)
async def test_bad_base_url_is_refused_at_open(base_url: str, message: str) -> None:
    with trio.fail_after(1), pytest.raises(ValueError, match=message) as info:
        await opens(credentials=CREDS, base_url=base_url)
    assert "base_url" in str(info.value)


async def test_base_url_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="base_url must be a str"):
        await opens(base_url=b"ws://127.0.0.1:8765")


@pytest.mark.parametrize(
    ("rest_url", "message"),
    [
        ("ws://127.0.0.1:8765", r"http:// or https:// \(ws:// URLs go in base_url\)"),
        ("http://127.0.0.1:8765/api/v5", r"without a path"),
        ("http://127.0.0.1:70000", r"invalid port"),
        ("http://127.0.0.1:8765?x=1", r"query string"),
        ("https://", r"has no host"),
    ],
)
async def test_bad_rest_url_is_refused_at_open(rest_url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await opens(base_url=NOWHERE, rest_url=rest_url)


@pytest.mark.parametrize("base_url", ["ws://127.0.0.1:8765", "ws://127.0.0.1:8765/",
                                      "wss://sim.local:8443/?brokerId=9999"])
async def test_good_base_urls_open(base_url: str) -> None:
    async with okx_trio.open_ws_client(base_url=base_url):
        pass


async def test_credentials_as_a_tuple_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match=r"credentials must be okx_trio\.Credentials\("
                                        r"api_key=\.\.\., secret_key=\.\.\., passphrase=\.\.\.\)"
                                        r", not tuple"):
        await opens(credentials=("a", "b", "c"), base_url=NOWHERE)


@pytest.mark.parametrize("passphrase", ["pass\udc80word", "passphrase\n", "pass\x00", "päss"])
def test_credentials_must_be_printable_ascii(passphrase: str) -> None:
    with pytest.raises(ValueError, match=r"Credentials\.passphrase must be printable") as info:
        okx_trio.Credentials(api_key="k", secret_key="s", passphrase=passphrase)
    assert passphrase not in str(info.value)  # the message never shows a secret


def test_credentials_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match=r"Credentials\.secret_key must be a str, not int"):
        okx_trio.Credentials(api_key="k", secret_key=123, passphrase="p")  # type: ignore[arg-type]


async def test_demo_trading_with_base_url_is_refused() -> None:
    # base_url replaces the hosts: with it, demo_trading=True would only add a
    # header, and a base_url at live OKX would trade real money.
    with pytest.raises(ValueError, match="demo_trading=True picks OKX's demo-trading hosts"):
        await opens(credentials=CREDS, base_url="wss://ws.okx.com:8443", demo_trading=True)


async def test_repr_shows_the_real_target() -> None:
    async with okx_trio.open_ws_api_client(base_url="ws://127.0.0.1:8765") as api:
        assert repr(api) == "<WsApiClient <WsClient base_url='ws://127.0.0.1:8765' connected=[]>>"
    assert "closed" in repr(api)
    async with okx_trio.open_ws_client(market="eea", demo_trading=True) as ws:
        assert repr(ws) == "<WsClient market='eea' demo_trading connected=[]>"


def _calls(api: okx_trio.WsApiClient) -> dict[str, Callable[[], Awaitable[Any]]]:
    ws = api.ws_client

    async def enter(cm: Any) -> None:
        async with cm:
            pass  # pragma: no cover

    return {
        "submit_new_order": lambda: api.submit_new_order(ORDER),
        "cancel_order": lambda: api.cancel_order({"instIdCode": 100001, "ordId": "1"}),
        "submit_multiple_orders": lambda: api.submit_multiple_orders([ORDER]),
        "connect_ws_api": api.connect_ws_api,
        "sync_time": api.sync_time,
        "load_instruments": lambda: api.load_instruments("SPOT"),
        "resolve": lambda: api.resolve(cl_ord_id="abc", inst_id="BTC-USDT"),
        "wait_order": lambda: api.wait_order(cl_ord_id="abc"),
        "track_orders": lambda: enter(api.track_orders()),
        "request": lambda: ws.request("order", [ORDER]),
        "subscribe": lambda: enter(ws.subscribe({"channel": "tickers", "instId": "BTC-USDT"})),
        "order_book": lambda: enter(ws.order_book("BTC-USDT")),
        "events": lambda: enter(ws.events()),
        "rest": lambda: ws.rest.get_server_time_ms(),
        "api.rest": lambda: api.rest.get_server_time_ms(),
    }


CALLS = ["submit_new_order", "cancel_order", "submit_multiple_orders", "connect_ws_api",
         "sync_time", "load_instruments", "resolve", "wait_order", "track_orders", "request",
         "subscribe", "order_book", "events", "rest", "api.rest"]


@pytest.mark.parametrize("call", CALLS)
async def test_use_after_close_is_a_programming_error(call: str) -> None:
    async with okx_trio.open_ws_api_client(credentials=CREDS, base_url=NOWHERE) as api:
        pass
    calls = _calls(api)
    assert set(calls) == set(CALLS)
    with trio.fail_after(1), pytest.raises(trio.ClosedResourceError, match="client is closed"):
        await calls[call]()


async def test_use_after_close_is_not_an_okx_error() -> None:
    async with okx_trio.open_ws_api_client(credentials=CREDS, base_url=NOWHERE) as api:
        pass
    with pytest.raises(Exception) as info:
        await api.submit_new_order(ORDER)
    # Not an OkxRequestError: a retry loop on OkxNotSent must not spin on it.
    assert not isinstance(info.value, OkxError)


_LOGGING_SCRIPT = """
import logging, socket, sys, trio, okx_trio

if sys.argv[1] == "configured":
    logging.basicConfig(format="%(name)s %(levelname)s %(message)s")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]

async def main():
    async with okx_trio.open_ws_client(base_url=f"ws://127.0.0.1:{port}") as ws:
        try:
            async with ws.subscribe({"channel": "tickers", "instId": "BTC-USDT"}):
                pass
        except okx_trio.OkxConnectError:
            print("failed as expected")

trio.run(main)
"""


@pytest.mark.parametrize("setup", ["unconfigured", "configured"])
def test_log_lines_carry_the_logger_name_or_stay_silent(setup: str) -> None:
    # With no logging configured, Python's last-resort handler used to print the
    # library's warnings as bare lines ("public connection: exception (...)").
    # A library leaves that to the application: silent until configured, and
    # then every line names its logger.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _LOGGING_SCRIPT, setup], capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout == "failed as expected\n"
    if setup == "unconfigured":
        assert done.stderr == ""
    else:
        assert "okx_trio WARNING public connection: exception (cannot connect" in done.stderr
