"""Random garbage never crashes the simulator: every frame gets an answer or is
ignored, the connection stays open, nothing is logged as a failure."""

from __future__ import annotations

import json
import logging
import random
from typing import Any

import pytest
import trio
import trio.testing

from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, open_simulator
from okx_trio.testing._probe import open_probe

OPS: list[Any] = [
    "login", "subscribe", "unsubscribe", "order", "batch-orders", "cancel-order",
    "batch-cancel-orders", "amend-order", "batch-amend-orders", "mass-cancel", "sprd-order",
    "sprd-amend-order", "sprd-cancel-order", "sprd-mass-cancel", "nope", "", 5, None, [],
]
KEYS = ["channel", "instId", "instIdCode", "instType", "instFamily", "sprdId", "ordId",
        "clOrdId", "side", "ordType", "px", "sz", "tdMode", "newSz", "newPx", "reqId", "tag",
        "apiKey", "passphrase", "timestamp", "sign", "ccy", "extraParams", "lockInterval"]
STRINGS = ["", "BTC-USDT", "BTC-USDT-SWAP", "BTC-USDT_BTC-USDT-SWAP", "tickers", "books",
           "orders", "ANY", "SPOT", "OPTION", "BTC-USD", "buy", "sell", "limit", "market",
           "post_only", "fok", "ioc", "cash", "cross", "1", "0.01", "-1", "1e9", "abc",
           "x" * 40, "0", "60000", "NaN", "\u00e9", "null"]


def value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return rng.choice(STRINGS)
    if kind == 1:
        return rng.randint(-(2**70), 2**70)
    if kind == 2:
        return rng.random() * 1e6
    if kind == 3:
        return rng.choice([True, False, None])
    if kind in (4, 5):
        return rng.choice(STRINGS)
    if kind == 6:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(KEYS): value(rng, depth + 1) for _ in range(rng.randrange(6))}


def frame(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.05:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if roll < 0.1:
        return json.dumps(value(rng)).encode()
    obj: dict[str, Any] = {"op": rng.choice(OPS)}
    if rng.random() < 0.8:
        obj["id"] = rng.choice(["a1", "", "bad id", 7, "x" * 33, f"r{rng.randrange(99)}"])
    if rng.random() < 0.2:
        obj["expTime"] = rng.choice(["1", "abc", 5, "99999999999999"])
    roll = rng.random()
    if roll < 0.7:
        obj["args"] = [
            {rng.choice(KEYS): value(rng, 1) for _ in range(rng.randrange(8))}
            for _ in range(rng.randrange(0, 4))
        ]
    elif roll < 0.85:
        obj["args"] = value(rng)
    # json, not orjson: it also writes integers beyond 64 bits.
    return json.dumps(obj).encode()


@pytest.mark.parametrize("path", ["public", "private", "business"])
async def test_random_frames_never_crash(
    path: str, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(f"fuzz-{path}")
    caplog.set_level(logging.ERROR, logger="okx_trio")
    async with (
        open_simulator([CREDS], market_interval=1.0) as sim,
        open_probe(sim, path, memory=True) as other,
    ):
        async with open_probe(sim, path, memory=True) as p:
            if path != "public":
                assert (await p.login(CREDS))["code"] == "0"
            for i in range(400):
                await p.send(frame(rng))
                if i % 25 == 0:
                    await p.send("ping")
                    await p.expect(lambda f: f == "pong")
            await p.send("ping")
            await p.expect(lambda f: f == "pong")
            assert len(sim.connections) == 2
            answers = [f for f in p.received if isinstance(f, dict)]
            errors = [f for f in answers if f.get("event") == "error"]
            responses = [f for f in answers if "op" in f and "code" in f]
            assert len(errors) > 50
            assert len(responses) > (50 if path != "public" else 5)
            assert all(f["code"] != "0" or f["op"] != "nope" for f in responses)
        await other.send("ping")
        assert await other.expect(lambda f: f == "pong") == "pong"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
