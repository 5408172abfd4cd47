"""Replay in the simulator: the recorded push sequence, recorded liquidity, the queue
model, refusals, pace, gaps; in memory under MockClock."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

import okx_trio
from okx_trio import Gap, Push, read_recording
from okx_trio._recording_io import RecordingWriter
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, Simulator, open_simulator

CHANNELS = ["books:BTC-USDT", "trades:BTC-USDT", "tickers:BTC-USDT", "books5:ETH-USDT",
            "bbo-tbt:ETH-USDT", "trades:ETH-USDT"]
BTC = {"channel": "books", "instId": "BTC-USDT"}
TRADES = {"channel": "trades", "instId": "BTC-USDT"}


async def _record(path: Path, channels: Sequence[str], seconds: float, *, seed: int = 7,
                  drop_at: float | None = None) -> None:
    async with (
        open_simulator(seed=seed, market_interval=0.1, connect_limit=None) as sim,
        okx_trio.record(path, channels, base_url=sim.base_url, transport=sim.connect_memory()),
    ):
        if drop_at is not None:
            await trio.sleep(drop_at)
            sim.faults.drop("public")
            seconds -= drop_at
        await trio.sleep(seconds)


def _pushes(path: Path) -> list[tuple[Any, Any, Any, Any]]:
    return [(dict(r.arg), r.data, r.action, r.extra) for r in read_recording(path)
            if isinstance(r, okx_trio.RecordedPush)]


async def test_a_recording_of_the_simulator_replays_to_the_identical_push_sequence(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    first, again = tmp_path / "first.jsonl.gz", tmp_path / "again.jsonl.gz"
    await _record(first, CHANNELS, 20)
    async with open_simulator(replay=first) as sim:
        assert sim.replay is not None
        begin = trio.current_time()
        # Recording the replaying simulator with the same channels: the replay starts
        # at the first subscription, in lockstep, so nothing is missed.
        async with okx_trio.record(again, CHANNELS, base_url=sim.base_url,
                                   transport=sim.connect_memory()):
            await sim.replay.wait_done()
        assert sim.replay.applied == len(list(read_recording(first)))
        # At the recorded pace, in virtual time.
        assert trio.current_time() - begin == pytest.approx(20, abs=0.2)
        assert sim.engine.internal_errors == 0
    original = _pushes(first)
    assert len(original) > 300
    assert {p[0]["channel"] for p in original} == {"books", "trades", "tickers", "books5",
                                                   "bbo-tbt"}
    assert _pushes(again) == original


def _book_push(t: float, action: str, bids: list[list[str]], asks: list[list[str]], seq: int,
               prev: int) -> tuple[float, str, dict[str, Any]]:
    return (t, "push", {"arg": BTC, "action": action, "data": [{
        "asks": asks, "bids": bids, "ts": str(1_800_000_000_000 + int(t * 1000)),
        "checksum": 0, "prevSeqId": prev, "seqId": seq}]})


def _trade(t: float, px: str, sz: str, side: str,
           trade_id: int) -> tuple[float, str, dict[str, Any]]:
    return (t, "push", {"arg": TRADES, "data": [{
        "instId": "BTC-USDT", "tradeId": str(trade_id), "px": px, "sz": sz, "side": side,
        "ts": str(1_800_000_000_000 + int(t * 1000)), "count": "1", "source": "0"}]})


def _write(path: Path, records: Sequence[tuple[float, str, dict[str, Any]]],
           channels: Sequence[dict[str, str]] = (BTC, TRADES)) -> Path:
    """A recording written record by record (times in seconds from the start)."""
    start = 1_800_000_000_000_000_000
    writer = RecordingWriter(path, source="ws://test", channels=channels)
    writer.open(start)
    for t, kind, fields in records:
        at = start + int(t * 1e9)
        if kind == "push":
            writer.write_push(at, fields["arg"], fields["data"], fields.get("action"))
        else:
            writer.write_gap(at, "reconnect", 0, fields["args"])
    writer.close(start + int(records[-1][0] * 1e9))
    return path


def _row(px: str, sz: str) -> list[str]:
    return [px, sz, "0", "1"]


ORDER = {"instIdCode": 100001, "tdMode": "cash", "ordType": "limit"}


async def _order(api: okx_trio.WsApiClient, side: str, px: str, sz: str) -> str:
    ack = await api.submit_new_order({**ORDER, "side": side, "px": px, "sz": sz})
    assert ack.ord_id is not None
    return ack.ord_id


async def _until(sim: Simulator, applied: int) -> None:
    assert sim.replay is not None
    while sim.replay.applied < applied:
        await trio.sleep(0.01)


async def test_marketable_orders_take_recorded_liquidity(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = _write(tmp_path / "book.jsonl.gz", [
        _book_push(0, "snapshot", [_row("99.9", "2")], [_row("100.1", "0.5"),
                                                        _row("100.2", "1")], 10, -1),
        _book_push(5, "update", [], [_row("100.1", "0.7")], 11, 10),
        _book_push(10, "update", [_row("99.8", "1")], [], 12, 11),
    ])
    async with (
        open_simulator(accounts=[CREDS], replay=path, replay_start="now") as sim,
        okx_trio.open_ws_api_client(credentials=CREDS, base_url=sim.base_url,
                                    transport=sim.connect_memory()) as api,
    ):
        await _until(sim, 1)
        # Sweeps the recorded asks: 0.5 at 100.1, then 0.3 of the 1 at 100.2.
        ord_id = await _order(api, "buy", "100.2", "0.8")
        order = sim.orders[ord_id]
        assert order.state == "filled"
        assert order.notional == Decimal("0.5") * Decimal("100.1") + Decimal("0.3") * Decimal(
            "100.2")
        # What it took stays taken until the recording changes the level...
        assert sim.book("BTC-USDT")[1] == [("100.2", "0.7")]
        again = sim.orders[await _order(api, "buy", "100.1", "0.2")]
        assert again.state == "live"
        # ...and the recorded 0.7 at 100.1 (t=5 s) is liquidity again: the bid fills.
        await _until(sim, 2)
        assert again.state == "filled"
        assert sim.book("BTC-USDT")[1] == [("100.1", "0.5"), ("100.2", "0.7")]
        # Exchange timestamps are the recording's.
        assert 1_800_000_000_000 <= int(again.u_time) <= 1_800_000_010_000


async def test_resting_orders_fill_by_the_queue_model(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = _write(tmp_path / "queue.jsonl.gz", [
        _book_push(0, "snapshot", [_row("100", "5"), _row("99.9", "4")], [_row("100.5", "1")],
                   10, -1),
        _trade(2, "100", "3", "sell", 1),      # 3 of the 5 ahead trade
        _book_push(3, "update", [_row("100", "1")], [], 11, 10),  # the level drops to 1
        _trade(4, "100", "1.5", "sell", 2),    # 1 ahead, then 0.5 of ours
        _trade(5, "100.5", "9", "buy", 3),     # the other side: nothing for a bid
        _trade(6, "99.9", "0.1", "sell", 4),   # through our price: the rest fills
        _trade(7, "99.9", "1", "sell", 5),
    ])
    async with (
        open_simulator(accounts=[CREDS], replay=path, replay_start="now") as sim,
        okx_trio.open_ws_api_client(credentials=CREDS, base_url=sim.base_url,
                                    transport=sim.connect_memory()) as api,
    ):
        await _until(sim, 1)
        ours = sim.orders[await _order(api, "buy", "100", "1")]
        lower = sim.orders[await _order(api, "buy", "99.9", "2")]
        await _until(sim, 2)
        assert ours.acc_fill_sz == 0
        await _until(sim, 4)
        assert ours.acc_fill_sz == Decimal("0.5")
        assert ours.state == "partially_filled"
        await _until(sim, 6)
        assert ours.state == "filled"
        assert ours.notional == Decimal(100)  # at its own price, all of it
        # 4 recorded ahead at 99.9: 0.1 and 1 traded, nothing reaches it yet.
        await _until(sim, 7)
        assert lower.acc_fill_sz == 0
        fills = list(sim.engine.accounts[CREDS.api_key].fills)
        assert [(f.sz, f.exec_type) for f in fills] == [(Decimal("0.5"), "M"),
                                                        (Decimal("0.5"), "M")]


async def test_recorded_liquidity_reaching_a_resting_order_trades_with_it(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = _write(tmp_path / "cross.jsonl.gz", [
        _book_push(0, "snapshot", [_row("99", "5")], [_row("101", "1")], 10, -1),
        # The recorded ask comes down to 100: our bid there is hit, for 0.3.
        _book_push(2, "update", [], [_row("101", "0"), _row("100", "0.3")], 11, 10),
    ])
    async with (
        open_simulator(accounts=[CREDS], replay=path, replay_start="now") as sim,
        okx_trio.open_ws_api_client(credentials=CREDS, base_url=sim.base_url,
                                    transport=sim.connect_memory()) as api,
    ):
        await _until(sim, 1)
        bid = sim.orders[await _order(api, "buy", "100", "1")]
        await _until(sim, 2)
        assert bid.acc_fill_sz == Decimal("0.3")
        assert bid.state == "partially_filled"
        # The engine's book is not crossed: the 0.3 is gone, the rest of the bid rests.
        bids, asks = sim.book("BTC-USDT")
        assert bids[0] == ("100", "0.7")
        assert asks == []


async def test_only_recorded_market_data_is_served(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = _write(tmp_path / "one.jsonl.gz", [
        _book_push(0, "snapshot", [_row("99", "5")], [_row("101", "1")], 10, -1)])
    async with (
        open_simulator(accounts=[CREDS], replay=path, replay_start="manual") as sim,
        okx_trio.open_ws_api_client(credentials=CREDS, base_url=sim.base_url,
                                    transport=sim.connect_memory()) as api,
    ):
        ws = api.ws_client
        with pytest.raises(okx_trio.SubscriptionError) as info:
            async with ws.subscribe({"channel": "books5", "instId": "BTC-USDT"}):
                pass
        assert info.value.code == "60018"
        assert "replayed recording has no such channel" in info.value.msg
        with pytest.raises(okx_trio.SubscriptionError):  # not a recorded instrument
            async with ws.subscribe({"channel": "trades", "instId": "ETH-USDT"}):
                pass
        # Account channels and instruments are the engine's, as live.
        async with ws.subscribe({"channel": "orders", "instType": "ANY"},
                                {"channel": "instruments", "instType": "SPOT"}) as sub:
            first = await sub.__anext__()
            assert isinstance(first, Push)
            assert [i["instId"] for i in first.data] == ["BTC-USDT"]
        assert sim.replay is not None
        assert not sim.replay.started  # manual: nothing until start()
        sim.replay.start()
        await sim.replay.wait_done()
        assert sim.book("BTC-USDT") == ([("99", "5")], [("101", "1")])


async def test_a_gap_in_the_recording_keeps_the_replayed_book_chained(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = tmp_path / "gap.jsonl.gz"
    await _record(path, ["books:BTC-USDT"], 6, drop_at=3)
    records = list(read_recording(path))
    assert sum(isinstance(r, okx_trio.RecordedGap) for r in records) == 1
    assert sum(getattr(r, "action", None) == "snapshot" for r in records) == 2
    async with (
        open_simulator(replay=path) as sim,
        okx_trio.open_ws_client(base_url=sim.base_url, transport=sim.connect_memory()) as ws,
        ws.subscribe(BTC) as sub,
    ):
        assert sim.replay is not None
        items: list[Push | Gap] = []
        with trio.move_on_after(10):
            async for item in sub:
                items.append(item)
        assert sim.replay.done
    pushes = [i for i in items if isinstance(i, Push)]
    assert all(isinstance(i, Push) for i in items)
    assert [p.action for p in pushes].count("snapshot") == 1
    for before, after in itertools.pairwise(pushes):
        assert after.data[0]["prevSeqId"] == before.data[0]["seqId"]
    assert len(pushes) == sum(isinstance(r, okx_trio.RecordedPush) for r in records)


async def test_speed_and_max(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    path = tmp_path / "s.jsonl.gz"
    await _record(path, ["tickers:BTC-USDT"], 10)
    for speed, expected in ((2.0, 5.0), ("max", 0.0)):
        async with open_simulator(replay=path, replay_speed=speed, replay_start="now") as sim:
            assert sim.replay is not None
            begin = trio.current_time()
            await sim.replay.wait_done()
            assert trio.current_time() - begin == pytest.approx(expected, abs=0.2)
    with pytest.raises(ValueError, match="replay_speed"):
        async with open_simulator(replay=path, replay_speed="fast"):
            pass
    with pytest.raises(ValueError, match="positive"):
        async with open_simulator(replay=path, replay_speed=0):
            pass


async def test_a_recording_without_instrument_definitions(tmp_path: Path) -> None:
    path = _write(tmp_path / "nodef.jsonl.gz", [
        (0, "push", {"arg": {"channel": "tickers", "instId": "SOL-USDT"}, "data": [{}]})],
        channels=[{"channel": "tickers", "instId": "SOL-USDT"}])
    with pytest.raises(ValueError, match="no definition of SOL-USDT"):
        async with open_simulator(replay=path):
            pass


@pytest.mark.parametrize("snapshots", [True, False])
async def test_a_live_order_book_joins_a_replay_in_progress(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, snapshots: bool
) -> None:
    path = tmp_path / "late.jsonl.gz"
    await _record(path, ["books:BTC-USDT", "books-rpi:BTC-USDT"], 8)
    async with (
        open_simulator(replay=path, replay_start="now", book_snapshots=snapshots) as sim,
        okx_trio.open_ws_client(base_url=sim.base_url, transport=sim.connect_memory()) as ws,
    ):
        assert sim.replay is not None
        await trio.sleep(3)
        assert sim.replay.applied > 20
        # Without snapshots the book syncs from GET /api/v5/market/books, which
        # serves the recorded book and seqId, as OKX's recipe expects.
        async with ws.order_book("BTC-USDT") as book, ws.order_book(
                "BTC-USDT", channel="books-rpi") as rpi:
            await sim.replay.wait_done()
            bids, asks = sim.book("BTC-USDT")
            assert book.best_bid == (Decimal(bids[0][0]), Decimal(bids[0][1]))
            assert book.best_ask == (Decimal(asks[0][0]), Decimal(asks[0][1]))
            assert rpi.best_bid == book.best_bid
            assert book.statistics().resyncs == 0
            assert book.statistics().rest_snapshots == (0 if snapshots else 1)
