"""``okx_trio.record`` and the recording files: from the simulator, in memory under
MockClock and over 127.0.0.1; gaps, rotation, torn files, refusals."""

from __future__ import annotations

import gzip
import itertools
import shutil
from pathlib import Path

import orjson
import pytest
import trio
import trio.testing

import okx_trio
from okx_trio import RecordedGap, RecordedPush, read_recording
from okx_trio.testing import Simulator, open_simulator

CHANNELS = ["books:BTC-USDT", "trades:BTC-USDT", "tickers:BTC-USDT"]


async def test_record_in_memory_under_mockclock(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = tmp_path / "btc.jsonl.gz"
    async with (
        open_simulator(seed=3, market_interval=0.1) as sim,
        okx_trio.record(path, CHANNELS, base_url=sim.base_url,
                        transport=sim.connect_memory()) as recorder,
    ):
        await trio.sleep(10)
        stats = recorder.statistics()
    assert stats.files == 1
    assert stats.elapsed == pytest.approx(10, abs=0.01)
    recording = read_recording(path)
    header = recording.header
    assert header.source == sim.base_url
    assert [dict(a) for a in header.channels] == [
        {"channel": "books", "instId": "BTC-USDT"}, {"channel": "trades", "instId": "BTC-USDT"},
        {"channel": "tickers", "instId": "BTC-USDT"}]
    assert header.part == 1
    assert header.start.endswith("Z")
    assert header.library == f"okx-trio {okx_trio.__version__}"
    (inst,) = header.instruments
    assert (inst["instId"], inst["tickSz"], inst["instIdCode"]) == ("BTC-USDT", "0.1", 100001)
    records = list(recording)
    assert recording.complete
    assert recording.problems == []
    assert all(isinstance(r, RecordedPush) for r in records)
    assert len(records) == recorder.statistics().pushes > 150
    times = [r.t for r in records]
    assert times == sorted(times)
    # Receive times are trio's clock anchored at the start: virtual here.
    assert (times[-1] - header.start_ns) / 1e9 == pytest.approx(10, abs=0.2)
    books = [r for r in records if isinstance(r, RecordedPush) and r.channel == "books"]
    assert books[0].action == "snapshot"
    assert all(b.action == "update" for b in books[1:])
    for before, after in itertools.pairwise(books):
        assert after.data[0]["prevSeqId"] == before.data[0]["seqId"]
    assert {r.channel for r in records} == {"books", "trades", "tickers"}


async def test_record_over_loopback(tmp_path: Path) -> None:
    path = tmp_path / "loop.jsonl.gz"
    with trio.fail_after(20):
        async with (
            open_simulator(market_interval=0.05) as sim,
            okx_trio.record(path, ["books5:ETH-USDT", "trades:ETH-USDT"],
                            base_url=sim.base_url, flush_interval=0.1) as recorder,
        ):
            await recorder.wait_pushes(10)
            # Flushed while recording: readable before the end record.
            await trio.sleep(0.3)
            early = list(read_recording(path))
            assert len(early) >= 10
    records = list(read_recording(path))
    assert len(records) >= len(early)
    assert records[: len(early)] == early
    assert {r.channel for r in records if isinstance(r, RecordedPush)} <= {"books5", "trades"}


async def test_a_reconnect_leaves_a_gap_record(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = tmp_path / "gap.jsonl.gz"
    async with (
        open_simulator(market_interval=0.1, connect_limit=None) as sim,
        okx_trio.record(path, ["books:BTC-USDT", "trades:BTC-USDT"], base_url=sim.base_url,
                        transport=sim.connect_memory()) as recorder,
    ):
        await trio.sleep(2)
        sim.faults.drop("public")
        await trio.sleep(3)
        assert recorder.statistics().gaps == 1
    records = list(read_recording(path))
    gaps = [i for i, r in enumerate(records) if isinstance(r, RecordedGap)]
    assert len(gaps) == 1
    gap = records[gaps[0]]
    assert isinstance(gap, RecordedGap)
    assert gap.reason == "reconnect"
    assert gap.dropped == 0
    assert [dict(a) for a in gap.args] == [{"channel": "books", "instId": "BTC-USDT"},
                                           {"channel": "trades", "instId": "BTC-USDT"}]
    # Resubscribed: the book starts over from a fresh snapshot after the gap.
    after = [r for r in records[gaps[0]:] if isinstance(r, RecordedPush) and r.channel == "books"]
    assert after[0].action == "snapshot"


async def test_rotation_by_size_and_time(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    (tmp_path / "size").mkdir()
    async with open_simulator(market_interval=0.1) as sim:
        async with okx_trio.record(tmp_path / "size" / "b.jsonl.gz", ["books:BTC-USDT"],
                                   base_url=sim.base_url, transport=sim.connect_memory(),
                                   rotate_bytes=1500, flush_interval=0.5) as by_size:
            await trio.sleep(10)
        async with okx_trio.record(tmp_path / "t.jsonl.gz", ["books:BTC-USDT"],
                                   base_url=sim.base_url, transport=sim.connect_memory(),
                                   rotate_seconds=3) as by_time:
            await trio.sleep(10)
    for recorder in (by_size, by_time):
        files = recorder.files
        assert len(files) >= 3
        assert [f.name.split(".")[1] for f in files] == [f"{i:04d}"
                                                          for i in range(1, len(files) + 1)]
        recording = read_recording(list(reversed(files)))  # put back in part order
        assert [h.part for h in recording.headers] == list(range(1, len(files) + 1))
        records = list(recording)
        assert recording.complete
        assert len(records) == recorder.statistics().pushes
        times = [r.t for r in records]
        assert times == sorted(times)
    assert len(list(read_recording(tmp_path / "size"))) == by_size.statistics().pushes


async def test_a_recording_cut_short_is_read_to_its_last_flush(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = tmp_path / "cut.jsonl.gz"
    copy = tmp_path / "copy.jsonl.gz"
    async with (
        open_simulator(market_interval=0.1) as sim,
        okx_trio.record(path, ["books:BTC-USDT"], base_url=sim.base_url,
                        transport=sim.connect_memory(), flush_interval=1) as recorder,
    ):
        await trio.sleep(3.5)
        # What a hard kill now would leave: the file as flushed at 3 s.
        shutil.copy(path, copy)
        flushed = recorder.statistics().pushes
        await trio.sleep(1)
    whole = read_recording(path)
    assert len(list(whole)) > flushed
    assert whole.complete
    cut = read_recording(copy)
    records = list(cut)
    assert 0 < len(records) <= flushed
    assert records == list(whole)[: len(records)]
    assert not cut.complete
    (problem,) = cut.problems
    assert "ends without its end record" in problem
    assert "intact" in problem
    # A torn last line is dropped, and said so.
    raw = gzip.decompress(path.read_bytes())
    lines = raw.splitlines(keepends=True)
    torn = tmp_path / "torn.jsonl.gz"
    torn.write_bytes(gzip.compress(b"".join(lines[:5]) + lines[5][:20]))
    recording = read_recording(torn)
    assert len(list(recording)) == 4
    assert "cut off" in recording.problems[0]
    # Damage anywhere else is an error, not a silent loss.
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(gzip.compress(b"".join(lines[:3]) + b"{not json\n" + b"".join(lines[3:])))
    with pytest.raises(ValueError, match="record 3"):
        list(read_recording(bad))


def test_not_a_recording(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl.gz"
    plain.write_bytes(gzip.compress(b'{"hello": 1}\n'))
    with pytest.raises(ValueError, match="not an okx-trio recording"):
        read_recording(plain)
    future = tmp_path / "future.jsonl.gz"
    future.write_bytes(gzip.compress(orjson.dumps({"format": "okx-trio-recording",
                                                   "version": 99}) + b"\n"))
    with pytest.raises(ValueError, match="version 99"):
        read_recording(future)
    text = tmp_path / "text.jsonl.gz"
    text.write_text("hello\n")
    with pytest.raises(ValueError, match="not a gzip recording"):
        read_recording(text)


async def test_bad_channels_and_existing_files_are_refused_before_anything(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.jsonl.gz"
    for channels, error in (
        (["orders:BTC-USDT"], "public channels only"),
        (["books:BTC-USDT", "books:BTC-USDT"], "given twice"),
        (["books:"], "CHANNEL:INSTID"),
        ("books:BTC-USDT", "is a list"),
        ([], "at least one"),
    ):
        with pytest.raises((ValueError, TypeError), match=error):
            async with okx_trio.record(path, channels, base_url="ws://127.0.0.1:9"):
                pass
    assert not path.exists()
    path.write_bytes(b"precious")
    async with open_simulator(market_interval=None) as sim:
        with pytest.raises(FileExistsError):
            async with okx_trio.record(path, ["books:BTC-USDT"], base_url=sim.base_url,
                                       transport=sim.connect_memory()):
                pass
        assert path.read_bytes() == b"precious"
        # A channel the exchange refuses: its own error, not a group.
        with pytest.raises(okx_trio.SubscriptionError) as info:
            async with okx_trio.record(tmp_path / "y.jsonl.gz", ["books:NOPE-USDT"],
                                       base_url=sim.base_url, transport=sim.connect_memory(),
                                       instruments=False):
                pass
        assert info.value.code == "60018"


async def test_the_blocks_error_leaves_as_itself_and_the_file_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl.gz"

    async def fail_inside(sim: Simulator) -> None:
        async with okx_trio.record(path, ["books:BTC-USDT"], base_url=sim.base_url,
                                   transport=sim.connect_memory()) as recorder:
            await recorder.wait_pushes(3)
            raise KeyError("mine")

    async with open_simulator(market_interval=0.05) as sim:
        with pytest.raises(KeyError, match="mine"):
            await fail_inside(sim)
    recording = read_recording(path)
    assert len(list(recording)) >= 3
    assert recording.complete
