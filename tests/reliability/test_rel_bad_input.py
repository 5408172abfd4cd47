"""Bad user input: refused before anything is sent, with a message naming the field.

A table of invalid calls across the eleven trade methods, ``subscribe`` and
``WsClient.request``. Each is made on a client whose connections are already
open and logged in, so anything let through would reach the wire at once; the
simulator's frame log and the client's own record of written frames prove
that nothing was sent. CI runs the table over the in-memory transport; the
full run repeats it over loopback sockets with both WebSocket transports.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import attrs
import trio
from support.reliability import RecordingConnector, sizes

from okx_trio import (
    AmendOrder,
    PlaceOrder,
    WsApiClient,
    open_ws_api_client,
)
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, Simulator, open_simulator

BTC = 100001
ORDER = {"instIdCode": BTC, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "px": "30000", "sz": "0.001"}
SPREAD = {"sprdId": "BTC-USDT_BTC-USDT-SWAP", "side": "buy", "ordType": "limit",
          "px": "10", "sz": "0.01"}


def without(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


def order(**changes: Any) -> dict[str, Any]:
    return {**ORDER, **changes}


@attrs.frozen
class Bad:
    """One invalid call: ``method(*args, **kwargs)`` must raise ``error`` naming ``field``."""

    kind: str
    method: str
    args: tuple[Any, ...]
    error: type[Exception]
    field: str
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    credentials: bool = True


TABLE = [
    # submit_new_order
    Bad("required field missing", "submit_new_order", (without(ORDER, "side"),), ValueError,
        "side"),
    Bad("float size", "submit_new_order", (order(sz=0.001),), TypeError, "sz"),
    Bad("float price on the model", "submit_new_order", (
        lambda: PlaceOrder(inst_id_code=BTC, td_mode="cash", side="buy", ord_type="limit",
                           sz="1", px=30000.5),), TypeError, "px"),
    Bad("limit order without a price", "submit_new_order", (without(ORDER, "px"),), ValueError,
        "px"),
    Bad("clOrdId with a dash", "submit_new_order", (order(clOrdId="bad-id"),), ValueError,
        "clOrdId"),
    Bad("clOrdId over 32 characters", "submit_new_order", (order(clOrdId="a" * 33),),
        ValueError, "clOrdId"),
    Bad("tag over 16 characters", "submit_new_order", (order(tag="t" * 17),), ValueError, "tag"),
    Bad("mistyped field name", "submit_new_order", (order(clOrdID="abc"),), ValueError,
        "clOrdID"),
    Bad("unknown side", "submit_new_order", (order(side="long"),), ValueError, "side"),
    Bad("unknown trade mode", "submit_new_order", (order(tdMode="margin"),), ValueError,
        "tdMode"),
    Bad("no instrument", "submit_new_order", (without(ORDER, "instIdCode"),), ValueError,
        "instId"),
    Bad("instIdCode not a number", "submit_new_order", (order(instIdCode="BTC"),), TypeError,
        "instIdCode"),
    Bad("size in exponent notation", "submit_new_order", (order(sz="1e-3"),), ValueError, "sz"),
    Bad("negative size", "submit_new_order", (order(sz="-1"),), ValueError, "sz"),
    Bad("flag not a bool", "submit_new_order", (order(reduceOnly="yes"),), TypeError,
        "reduceOnly"),
    Bad("price off the tick size", "submit_new_order", (order(px="30000.05"),), ValueError,
        "px"),
    Bad("size below the minimum", "submit_new_order", (order(sz="0.000001"),), ValueError, "sz"),
    Bad("instrument the exchange does not list", "submit_new_order", (
        {**without(ORDER, "instIdCode"), "instId": "NOPE-USDT"},), ValueError, "NOPE-USDT"),
    Bad("params neither a model nor a mapping", "submit_new_order", ([ORDER],), TypeError,
        "PlaceOrder"),
    Bad("negative timeout", "submit_new_order", (ORDER,), ValueError, "timeout",
        {"timeout": -1}),
    Bad("exp_time not an int", "submit_new_order", (ORDER,), TypeError, "exp_time",
        {"exp_time": 1.5e12}),
    # submit_multiple_orders
    Bad("batch over 20 orders", "submit_multiple_orders", ([ORDER] * 21,), ValueError, "20"),
    Bad("empty batch", "submit_multiple_orders", ([],), ValueError, "batch"),
    Bad("duplicate clOrdId in a batch", "submit_multiple_orders", (
        [order(clOrdId="dup1"), order(clOrdId="dup1")],), ValueError, "clOrdId"),
    # A float size (an int is exact and accepted).
    Bad("one bad item in a batch", "submit_multiple_orders", ([ORDER, order(sz=1.0)],),
        TypeError, "batch item 1"),
    # cancel_order / cancel_multiple_orders
    Bad("cancel without an order id", "cancel_order", ({"instIdCode": BTC},), ValueError,
        "ordId"),
    Bad("cancel with a clOrdId holding a space", "cancel_order", (
        {"instIdCode": BTC, "clOrdId": "a b"},), ValueError, "clOrdId"),
    Bad("exp_time on a cancel", "cancel_order", ({"instIdCode": BTC, "ordId": "1"},),
        ValueError, "exp_time", {"exp_time": 2_000_000_000_000}),
    Bad("batch cancel not a list", "cancel_multiple_orders", ({"instIdCode": BTC, "ordId": "1"},),
        TypeError, "batch"),
    # amend_order / amend_multiple_orders
    Bad("amend changing nothing", "amend_order", ({"instIdCode": BTC, "ordId": "1"},),
        ValueError, "newSz"),
    Bad("amend reqId with a dash", "amend_order", (
        {"instIdCode": BTC, "ordId": "1", "newSz": "1", "reqId": "r-1"},), ValueError, "reqId"),
    Bad("float new price on the model", "amend_order", (
        lambda: AmendOrder(inst_id_code=BTC, ord_id="1", new_px=1.5),), TypeError, "new_px"),
    Bad("new size of zero", "amend_order", ({"instIdCode": BTC, "ordId": "1", "newSz": "0"},),
        ValueError, "newSz"),
    Bad("the same order amended twice in a batch", "amend_multiple_orders", (
        [{"instIdCode": BTC, "ordId": "7", "newSz": "1"},
         {"instIdCode": BTC, "ordId": "7", "newPx": "1"}],), ValueError, "ordId"),
    # mass_cancel_orders
    Bad("mass cancel of a non-option type", "mass_cancel_orders", (
        {"instType": "SPOT", "instFamily": "BTC-USD"},), ValueError, "instType"),
    Bad("mass cancel lock over 10 s", "mass_cancel_orders", (
        {"instType": "OPTION", "instFamily": "BTC-USD", "lockInterval": "20000"},), ValueError,
        "lockInterval"),
    Bad("mass cancel without a family", "mass_cancel_orders", ({"instType": "OPTION"},),
        ValueError, "instFamily"),
    # spread ops
    Bad("spread order without sprdId", "submit_spread_order", (without(SPREAD, "sprdId"),),
        ValueError, "sprdId"),
    Bad("spread order type OKX does not allow", "submit_spread_order", (
        {**SPREAD, "ordType": "fok"},), ValueError, "ordType"),
    Bad("spread amend changing nothing", "amend_spread_order", ({"ordId": "1"},), ValueError,
        "newSz"),
    Bad("spread cancel without an order id", "cancel_spread_order", ({},), ValueError, "ordId"),
    Bad("spread mass cancel with an empty sprdId", "mass_cancel_spread_orders", (
        {"sprdId": ""},), ValueError, "sprdId"),
    Bad("exp_time on a spread order", "submit_spread_order", (SPREAD,), ValueError, "exp_time",
        {"exp_time": 2_000_000_000_000}),
    # subscribe
    Bad("subscribe with no arg", "subscribe", (), ValueError, "arg"),
    Bad("subscribe arg without a channel", "subscribe", ({"instId": "BTC-USDT"},), ValueError,
        "channel"),
    Bad("subscribe arg value not a str", "subscribe", ({"channel": "tickers", "instId": 1},),
        TypeError, "instId"),
    Bad("subscribe arg not a mapping", "subscribe", ("tickers",), TypeError, "arg 0"),
    Bad("the same arg twice", "subscribe", (
        {"channel": "tickers", "instId": "BTC-USDT"}, {"channel": "tickers", "instId": "BTC-USDT"},
    ), ValueError, "arg 1"),
    Bad("buffer size zero", "subscribe", ({"channel": "tickers", "instId": "BTC-USDT"},),
        ValueError, "buffer_size", {"buffer_size": 0}),
    Bad("private channel without credentials", "subscribe", (
        {"channel": "orders", "instType": "ANY"},), ValueError, "credentials", credentials=False),
    # WsClient.request
    Bad("login through request()", "request", ("login", [{}]), ValueError, "login"),
    Bad("unknown op without a connection", "request", ("order-v9", [{}]), ValueError,
        "connection"),
    Bad("args not a list of objects", "request", ("order", {"instIdCode": BTC}), TypeError,
        "args"),
    Bad("trade op without credentials", "request", ("order", [ORDER]), ValueError,
        "credentials", credentials=False),
]


async def call(api: WsApiClient, bad: Bad) -> None:
    args = tuple(a() if callable(a) else a for a in bad.args)
    if bad.method == "subscribe":
        async with api.ws_client.subscribe(*args, **bad.kwargs):
            raise AssertionError("subscribed")
    elif bad.method == "request":
        await api.ws_client.request(*args, **bad.kwargs)
    else:
        await getattr(api, bad.method)(*args, **bad.kwargs)


@asynccontextmanager
async def client(sim: Simulator, transport: str, credentials: bool,
                 ) -> AsyncIterator[tuple[WsApiClient, RecordingConnector | None]]:
    options: dict[str, Any] = {"base_url": sim.base_url, "rate_limit": False,
                               "log_lifecycle": False}
    if credentials:
        options["credentials"] = CREDS
    recorder = None
    if transport == "memory":
        recorder = RecordingConnector(sim.connect_memory())
        options["transport"] = recorder
    else:
        options["transport"] = transport
    async with open_ws_api_client(**options) as api:
        await api.load_instruments("SPOT")
        if credentials:
            await api.connect_ws_api()
        yield api, recorder


@sizes(["memory"], ["memory", "websockets", "trio-websocket"], name="transports")
async def test_bad_input_is_refused_before_sending_and_names_the_field(
    transports: list[str],
) -> None:
    assert len(TABLE) >= 30
    assert len({b.method for b in TABLE}) == 13  # the eleven methods, subscribe, request
    problems: list[str] = []
    with trio.fail_after(60):
        async with open_simulator(accounts=[CREDS], market_interval=None,
                                  rate_limit=False) as sim:
            for transport in transports:
                for credentials in (True, False):
                    async with client(sim, transport, credentials) as (api, recorder):
                        for bad in TABLE:
                            if bad.credentials != credentials:
                                continue
                            frames = len(sim.frames)
                            written = len(recorder.frames) if recorder else 0
                            try:
                                await call(api, bad)
                            except bad.error as exc:
                                message = str(exc)
                                if bad.field not in message:
                                    problems.append(f"{bad.kind}: {message!r} does not name "
                                                    f"{bad.field!r}")
                            except Exception as exc:
                                problems.append(f"{bad.kind}: {type(exc).__name__}: {exc}")
                            else:
                                problems.append(f"{bad.kind}: accepted")
                            if len(sim.frames) != frames:
                                problems.append(f"{bad.kind}: a frame reached the exchange: "
                                                f"{sim.frames[-1].text[:200]}")
                            sent = recorder.frames[written:] if recorder else []
                            if any(f.direction == "sent" for f in sent):
                                problems.append(f"{bad.kind}: the client wrote a frame")
                        # The client is still fine after all that.
                        if credentials:
                            ack = await api.submit_new_order(ORDER, timeout=math.inf)
                            assert ack.ok
            assert len(sim.orders) == len(transports)
            assert {o.px for o in sim.orders} == {Decimal("30000")}
    assert problems == []
