"""The instrument cache: shape inference, single-flight fetches, failures, refetch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.testing

from okx_trio import Instrument
from okx_trio._instruments import InstrumentCache, InstrumentFetchError
from okx_trio._okx import infer_inst_type

ITEMS: dict[str, list[dict[str, Any]]] = {
    "SPOT": [
        {
            "instId": "BTC-USDT",
            "instType": "SPOT",
            "instIdCode": 100001,
            "tickSz": "0.1",
            "lotSz": "0.00000001",
            "minSz": "0.00001",
        },
        {
            "instId": "ETH-USDT",
            "instType": "SPOT",
            "instIdCode": "100002",
            "tickSz": "0.01",
            "lotSz": "0.000001",
            "minSz": "0.0001",
        },
    ],
    "SWAP": [
        {
            "instId": "BTC-USDT-SWAP",
            "instType": "SWAP",
            "instIdCode": 200001,
            "tickSz": "0.1",
            "lotSz": "0.01",
            "minSz": "0.01",
        },
    ],
    "FUTURES": [],
    "OPTION": [
        {
            "instId": "BTC-USD-261225-60000-C",
            "instType": "OPTION",
            "instIdCode": None,
            "tickSz": "0.0005",
            "lotSz": "1",
            "minSz": "1",
        },
    ],
}


class FakeRest:
    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.delay = delay
        self.fail = fail

    async def get_instruments(
        self, inst_type: str, *, inst_family: str | None = None, series_id: str | None = None
    ) -> Sequence[Mapping[str, Any]]:
        self.calls.append(inst_type if inst_family is None else f"{inst_type} {inst_family}")
        await trio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("instruments endpoint down")
        return [i for i in ITEMS[inst_type]
                if inst_family is None or i["instId"].startswith(inst_family + "-")]


@pytest.mark.parametrize(
    ("inst_id", "inst_type"),
    [
        ("BTC-USDT", "SPOT"),
        ("BTC-USDT-SWAP", "SWAP"),
        ("BTC-USD-250328", "FUTURES"),
        ("BTC-USD-250328-60000-C", "OPTION"),
        ("ETH-USD-250328-2500.5-P", "OPTION"),
        ("BTC-USDT_BTC-USDT-SWAP", None),
        ("weird", None),
    ],
)
def test_infer_inst_type(inst_id: str, inst_type: str | None) -> None:
    assert infer_inst_type(inst_id) == inst_type


def test_instrument_from_okx() -> None:
    inst = Instrument.from_okx(ITEMS["SPOT"][1], "SPOT")
    assert inst.inst_id_code == 100002
    assert inst.tick_sz == Decimal("0.01")
    assert inst.min_sz == Decimal("0.0001")
    assert inst.raw["instId"] == "ETH-USDT"
    assert Instrument.from_okx(ITEMS["OPTION"][0], "OPTION").inst_id_code is None


async def test_lookup_fetches_the_inferred_type_once() -> None:
    rest = FakeRest()
    cache = InstrumentCache(rest.get_instruments)
    assert cache.get("BTC-USDT") is None
    inst = await cache.lookup("BTC-USDT")
    assert inst.inst_id_code == 100001
    assert (await cache.lookup("ETH-USDT")).inst_id_code == 100002
    assert rest.calls == ["SPOT"]
    assert cache.get_by_code(100002) is cache.get("ETH-USDT")
    assert (await cache.lookup("BTC-USDT-SWAP")).inst_id_code == 200001
    assert rest.calls == ["SPOT", "SWAP"]


async def test_many_concurrent_lookups_share_one_fetch(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rest = FakeRest(delay=0.5)
    cache = InstrumentCache(rest.get_instruments)
    found: list[int | None] = []

    async def one(inst_id: str) -> None:
        found.append((await cache.lookup(inst_id)).inst_id_code)

    async with trio.open_nursery() as nursery:
        for i in range(50):
            nursery.start_soon(one, "BTC-USDT" if i % 2 else "ETH-USDT")
    assert rest.calls == ["SPOT"]
    assert sorted(set(found)) == [100001, 100002]
    assert len(found) == 50


async def test_failed_fetch_fails_every_waiter_then_retries(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rest = FakeRest(delay=0.5, fail=True)
    cache = InstrumentCache(rest.get_instruments)
    errors: list[BaseException] = []

    async def one() -> None:
        try:
            await cache.lookup("BTC-USDT")
        except InstrumentFetchError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(one)
    assert rest.calls == ["SPOT"]
    assert len(errors) == 5
    assert all(isinstance(e.__cause__, RuntimeError) for e in errors)
    rest.fail = False
    assert (await cache.lookup("BTC-USDT")).inst_id_code == 100001
    assert rest.calls == ["SPOT", "SPOT"]


async def test_cancelled_fetcher_hands_over_to_a_waiter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rest = FakeRest(delay=1.0)
    cache = InstrumentCache(rest.get_instruments)
    result: list[Instrument] = []

    async def patient() -> None:
        result.append(await cache.lookup("BTC-USDT"))

    async with trio.open_nursery() as nursery:
        with trio.move_on_after(0.5):
            nursery.start_soon(patient)
            await cache.lookup("BTC-USDT")  # the fetcher, cancelled mid-fetch
    assert rest.calls == ["SPOT", "SPOT"]
    assert result[0].inst_id_code == 100001


async def test_unknown_inst_id(autojump_clock: trio.testing.MockClock) -> None:
    rest = FakeRest()
    cache = InstrumentCache(rest.get_instruments, refetch_interval=60.0)
    with pytest.raises(ValueError, match="'NOPE-USDT'"):
        await cache.lookup("NOPE-USDT")
    # Within the refetch interval a second miss does not fetch again.
    with pytest.raises(ValueError, match="NOPE-USDT"):
        await cache.lookup("NOPE-USDT")
    assert rest.calls == ["SPOT"]
    # Later, a miss refetches once in case the instrument was listed since.
    await trio.sleep(61)
    ITEMS["SPOT"].append({"instId": "NOPE-USDT", "instIdCode": 100003})
    try:
        assert (await cache.lookup("NOPE-USDT")).inst_id_code == 100003
    finally:
        ITEMS["SPOT"].pop()
    assert rest.calls == ["SPOT", "SPOT"]


async def test_unknown_shape_tries_each_type() -> None:
    rest = FakeRest()
    cache = InstrumentCache(rest.get_instruments)
    with pytest.raises(ValueError, match=r"strange.*EVENTS.*series_id"):
        await cache.lookup("strange")
    # Options are listed per family, and "strange" names none.
    assert rest.calls == ["SPOT", "SWAP", "FUTURES"]
    with pytest.raises(ValueError, match="ODD-SHAPE-X"):
        await cache.lookup("ODD-SHAPE-X")
    assert rest.calls[3:] == ["OPTION ODD-SHAPE"]
