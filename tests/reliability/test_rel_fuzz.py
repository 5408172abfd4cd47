"""Fuzzing with Hypothesis: the decoder, the request builders and the simulator.

* ``decode_frame`` fed arbitrary text, bytes, JSON values and OKX-shaped
  frames returns one of the typed protocol events and never raises.
* The request models and the OKX-named dict path fed arbitrary params raise
  only ``ValueError``/``TypeError``; what they accept can be encoded.
* The simulator fed arbitrary client frames (any path, logged in or not) keeps
  serving its other connections: a watcher connection still gets its pong and
  its trade answer after every example, and no connection handler crashes.

CI runs 2 000 examples per target (derandomized, so CI is reproducible); the
full run 100 000 with fresh randomness.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import attrs
import orjson
import trio
import trio.from_thread
from hypothesis import HealthCheck, given, settings, strategies as st
from support.reliability import sizes, trio_in_a_thread

from okx_trio import _protocol
from okx_trio._convert import camel
from okx_trio._protocol import decode_frame, encode_request
from okx_trio._requests import REQUEST_MODELS, coerce, coerce_batch, to_wire
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, Simulator, open_simulator
from okx_trio.testing._probe import Probe, open_probe

EVENTS = (
    _protocol.Pong, _protocol.Ping, _protocol.LoginAck, _protocol.ErrorEvent,
    _protocol.SubscribeAck, _protocol.UnsubscribeAck, _protocol.ChannelConnCount,
    _protocol.Notice, _protocol.OtherEvent, _protocol.Malformed, _protocol.Response,
    _protocol.Push,
)

examples = sizes(2_000, 100_000, name="examples")


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=examples <= 2_000,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.large_base_example],
    )


# -- strategies ------------------------------------------------------------------
#
# Hypothesis' recursive strategies cost several milliseconds per example; the
# structured inputs here are built instead from one byte string per example by
# a small deterministic reader (:class:`Builder`), which keeps 2 000 examples per
# target within the CI budget while Hypothesis still shrinks the bytes.

FRAME_KEYS = ["event", "arg", "data", "op", "code", "msg", "id", "connId", "action", "channel",
              "connCount", "inTime", "outTime", "args", "expTime", "eventType", "instId"]
WORDS = ["login", "error", "subscribe", "unsubscribe", "channel-conn-count",
         "channel-conn-count-error", "notice", "snapshot", "update", "0", "1", "2", "60012",
         "64008", "order", "tickers", "orders", "books", "buy", "sell", "cash", "limit",
         "market", "post_only", "ioc", "fok", "0.01", "30000", "-1", "1e5", "BTC-USDT",
         "100001", "abc123", "", " ", "\u0000", "ANY", "OPTION", "BTC-USD", "true", "NaN"]
OPS = ["login", "subscribe", "unsubscribe", "order", "batch-orders", "cancel-order",
       "batch-cancel-orders", "amend-order", "batch-amend-orders", "mass-cancel", "sprd-order",
       "sprd-amend-order", "sprd-cancel-order", "sprd-mass-cancel", "ping", "Order", ""]
ALL_FIELDS = sorted({camel(f.name) for cls in REQUEST_MODELS for f in attrs.fields(cls)})
SPECIAL = [None, True, False, 0, -1, 1, 2**63, -(2**63) - 1, 1.5, -0.0, 1e308, "",
           Decimal("0.01"), Decimal("NaN"), Decimal("-Infinity"), Decimal("1E+5"), [], {}]


class Builder:
    """Reads structured values from a byte string (zero bytes once it is used up)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.i = 0

    def byte(self) -> int:
        b = self.data[self.i] if self.i < len(self.data) else 0
        self.i += 1
        return b

    def text(self) -> str:
        n = self.byte() % 12
        raw = bytes(self.byte() for _ in range(n))
        return raw.decode("latin-1") if self.byte() % 2 else raw.decode("utf-8", "replace")

    def leaf(self, decimals: bool = False) -> Any:
        """A JSON leaf; with ``decimals`` also ``Decimal`` and integers beyond 64 bits
        (Python values a user may pass, which JSON cannot carry)."""
        kind = self.byte() % (9 if decimals else 7)
        if kind == 0:
            return None
        if kind == 1:
            return bool(self.byte() % 2)
        if kind == 2:
            size = 9 if decimals else 8
            return int.from_bytes(bytes(self.byte() for _ in range(size)), "big", signed=True)
        if kind == 3:
            return (self.byte() - 128) / (self.byte() + 1)
        if kind == 4:
            return WORDS[self.byte() % len(WORDS)]
        if kind == 5:
            return self.text()
        if kind == 6:
            value = SPECIAL[self.byte() % len(SPECIAL)]
            if decimals:
                return value
            return str(value) if isinstance(value, Decimal) or value == -(2**63) - 1 else value
        return Decimal(self.byte() - 128).scaleb(-(self.byte() % 12))

    def json(self, depth: int = 0, keys: list[str] | None = None) -> Any:
        kind = self.byte() % 4 if depth < 3 else 0
        if kind <= 1:
            return self.leaf()
        if kind == 2:
            return [self.json(depth + 1, keys) for _ in range(self.byte() % 5)]
        out: dict[str, Any] = {}
        for _ in range(self.byte() % 6):
            key = (keys[self.byte() % len(keys)] if keys and self.byte() % 4 else self.text())
            out[key] = self.json(depth + 1, keys)
        return out

    def params(self, wire: bool = False) -> dict[str, Any]:
        """A mapping of OKX field names (mostly real ones) to odd or plausible values
        (JSON values only when ``wire``)."""
        out: dict[str, Any] = {}
        for _ in range(self.byte() % 9):
            key = ALL_FIELDS[self.byte() % len(ALL_FIELDS)] if self.byte() % 5 else self.text()
            out[key] = (self.json(2) if self.byte() % 8 == 0 else self.leaf(decimals=not wire))
        return out

    def frame(self) -> str:
        """One client frame: text, JSON, or an OKX request with odd parts."""
        kind = self.byte() % 4
        if kind == 0:
            return self.text()
        if kind == 1:
            return orjson.dumps(self.json()).decode()
        frame: dict[str, Any] = {"op": OPS[self.byte() % len(OPS)]}
        if self.byte() % 3:
            frame["id"] = f"f{self.byte()}" if self.byte() % 2 else self.leaf()
        if self.byte() % 5:
            frame["args"] = ([self.params(wire=True) for _ in range(self.byte() % 4)]
                             if self.byte() % 3 else self.json())
        if self.byte() % 4 == 0:
            frame["expTime"] = self.leaf()
        return orjson.dumps(frame).decode()


inputs = st.binary(max_size=160)


# -- decoder -----------------------------------------------------------------------


@examples
def test_decoder_turns_any_text_or_bytes_into_a_typed_event(examples: int) -> None:
    @fuzz_settings(examples)
    @given(st.one_of(st.text(), st.binary(), st.sampled_from(["ping", "pong", b"ping", "{}"])))
    def check(data: str | bytes) -> None:
        assert isinstance(decode_frame(data), EVENTS)

    check()


@examples
def test_decoder_turns_any_json_frame_into_a_typed_event(examples: int) -> None:
    @fuzz_settings(examples)
    @given(inputs)
    def check(raw: bytes) -> None:
        b = Builder(raw)
        # Half the frames use OKX's own keys and event names.
        value = b.json(keys=FRAME_KEYS if b.byte() % 2 else None)
        data = orjson.dumps(value)
        event = decode_frame(data if b.byte() % 2 else data.decode())
        assert isinstance(event, EVENTS)

    check()


# -- request builders ----------------------------------------------------------------


def only_value_or_type_errors(build: Callable[[], Any]) -> Any:
    try:
        return build()
    except (ValueError, TypeError):
        return None


@examples
def test_request_models_raise_only_value_or_type_errors(examples: int) -> None:
    @fuzz_settings(examples)
    @given(inputs)
    def check(raw: bytes) -> None:
        b = Builder(raw)
        cls = REQUEST_MODELS[b.byte() % len(REQUEST_MODELS)]
        as_model = bool(b.byte() % 2)
        given_params = b.params()
        if as_model:
            # Python names on the constructor, with OKX names turned snake_case.
            names = {camel(f.name): f.name for f in attrs.fields(cls)}
            kwargs = {names.get(k, k): v for k, v in given_params.items()}
            model = only_value_or_type_errors(lambda: cls(**kwargs))
        else:
            model = only_value_or_type_errors(lambda: coerce(cls, given_params))
        if model is not None:
            wire = to_wire(model)
            assert isinstance(wire, dict)
            # What was accepted can be put on the wire (or is refused with TypeError).
            only_value_or_type_errors(lambda: encode_request("id1", "order", [wire]))

    check()


# A mapping valid for most models, to build batches around the size limit.
VALID = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "px": "1", "sz": "1", "ordId": "1", "newSz": "2", "instType": "OPTION",
         "instFamily": "BTC-USD", "sprdId": "BTC-USDT_BTC-USDT-SWAP"}


@examples
def test_batches_raise_only_value_or_type_errors(examples: int) -> None:
    @fuzz_settings(examples)
    @given(inputs)
    def check(raw: bytes) -> None:
        b = Builder(raw)
        cls = REQUEST_MODELS[b.byte() % len(REQUEST_MODELS)]
        kind = b.byte() % 4
        items: Any
        if kind == 0:
            items = [dict(VALID)] * (b.byte() % 26)  # every size around the limit
        elif kind == 1:
            items = b.leaf()
        else:
            items = [b.params() if b.byte() % 4 else dict(VALID) for _ in range(b.byte() % 4)]
        result = only_value_or_type_errors(lambda: coerce_batch(cls, items))
        if result is not None:
            assert 1 <= len(result) <= 20
            assert all(isinstance(m, cls) for m in result)

    check()


# -- the simulator -----------------------------------------------------------------------


class _Crashes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@attrs.define
class LiveSim:
    """A simulator running in its own thread and trio loop, with a watcher connection."""

    sim: Simulator
    watcher: Probe
    token: trio.lowlevel.TrioToken
    checks: int = 0


@contextmanager
def simulator_in_a_thread() -> Iterator[LiveSim]:
    async def serve(publish: Callable[[LiveSim], Awaitable[None]]) -> None:
        # connect_limit=None: each example opens a connection at once, far beyond
        # OKX's 3 per second; the fuzz is about what a connection sends, not pacing.
        async with open_simulator(accounts=[CREDS], market_interval=None, idle_timeout=None,
                                  rate_limit=False, connect_limit=None) as sim, \
                open_probe(sim, "private", memory=True) as watcher:
            assert (await watcher.login(CREDS))["code"] == "0"
            await publish(LiveSim(sim, watcher, trio.lowlevel.current_trio_token()))

    with trio_in_a_thread(serve, "fuzzed simulator") as live:
        yield live


async def feed(live: LiveSim, path: str, login: bool, frames: list[str]) -> None:
    """Send ``frames`` on a fresh connection, then prove the watcher is still served."""
    sim = live.sim
    with trio.fail_after(10):
        async with open_probe(sim, path, memory=True) as probe:
            if login:
                await probe.login(CREDS)
            for frame in frames:
                try:
                    await probe.send(frame)
                except Exception:  # the simulator closed this connection: fine
                    break
            # Let the simulator act on everything before checking the watcher.
            for _ in range(20):
                await trio.lowlevel.checkpoint()
        live.checks += 1
        watcher = live.watcher
        await watcher.send("ping")
        assert await watcher.expect(lambda f: f == "pong") == "pong"
        rid = f"w{live.checks}"
        await watcher.send({"id": rid, "op": "cancel-order",
                            "args": [{"instIdCode": 100001, "ordId": "1"}]})
        answer = await watcher.expect(lambda f: isinstance(f, dict) and f.get("id") == rid)
        assert answer["op"] == "cancel-order"
        assert answer["data"][0]["sCode"] == "51400"


@examples
def test_simulator_keeps_serving_others_whatever_a_client_sends(examples: int) -> None:
    crashes = _Crashes()
    logging.getLogger("okx_trio.simulator").addHandler(crashes)
    try:
        with simulator_in_a_thread() as live:

            @fuzz_settings(examples)
            @given(inputs)
            def check(raw: bytes) -> None:
                b = Builder(raw)
                path = ("public", "private", "business")[b.byte() % 3]
                login = bool(b.byte() % 2)
                frames = [b.frame() for _ in range(1 + b.byte() % 4)]
                trio.from_thread.run(feed, live, path, login, frames, trio_token=live.token)

            check()
            internal = live.sim.engine.internal_errors
    finally:
        logging.getLogger("okx_trio.simulator").removeHandler(crashes)
    assert [r.getMessage() for r in crashes.records] == []
    print(f"\nsimulator fuzz: {live.checks} connections fed, watcher served after each; "
          f"engine internal errors (answered 50026): {internal}")
    assert live.checks >= examples
