"""``okx-trio record`` as a real process against a simulator on 127.0.0.1: Ctrl-C
stops it cleanly (exit 130) and the file reads back whole; --duration ends it
with 0; bad input is one line."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

import okx_trio
from okx_trio import RecordedPush, read_recording
from okx_trio._cli import main
from okx_trio.testing import open_simulator

# As in test_cli: restore the default SIGINT handler a background job may lack.
_SIGINT_DEFAULT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, '-m', 'okx_trio', *sys.argv[1:]])"
)


async def _run_until(args: list[str], marker: bytes, then_signal: int | None,
                     ) -> tuple[int, str, str]:
    proc = await trio.lowlevel.open_process([sys.executable, "-c", _SIGINT_DEFAULT, *args],
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stderr is not None
    out, err = bytearray(), bytearray()
    try:
        with trio.fail_after(60):
            while marker not in out:
                chunk = await proc.stdout.receive_some(4096)
                assert chunk, f"exited early: {bytes(out)!r} {await proc.stderr.receive_some()!r}"
                out += chunk
            if then_signal is not None:
                proc.send_signal(then_signal)
            async with trio.open_nursery() as nursery:

                async def drain(stream: trio.abc.ReceiveStream, into: bytearray) -> None:
                    while chunk := await stream.receive_some(65536):
                        into += chunk

                nursery.start_soon(drain, proc.stdout, out)
                nursery.start_soon(drain, proc.stderr, err)
            code = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
        with trio.CancelScope(shield=True):
            await proc.wait()
            await proc.stdout.aclose()
            await proc.stderr.aclose()
    return code, out.decode(), err.decode()


async def test_ctrl_c_stops_the_recorder_and_the_file_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "cli.jsonl.gz"
    async with open_simulator(market_interval=0.05) as sim:
        code, out, err = await _run_until(
            ["record", "--channel", "books:BTC-USDT", "--channel", "trades:BTC-USDT",
             "--out", str(path), "--base-url", sim.base_url, "--progress", "0.2"],
            b"\nprogress pushes=", signal.SIGINT)
    assert (code, err) == (130, "")
    lines = out.splitlines()
    assert lines[0] == f"recording file={path}"
    assert "channel=books:BTC-USDT" in lines
    assert "ready" in lines
    assert "stopping (SIGINT)" in lines
    assert lines[-1] == "done"
    info = dict(line.split("=", 1) for line in lines if "=" in line and " " not in line)
    recording = read_recording(path)
    records = list(recording)
    assert recording.complete
    assert len(records) == int(info["pushes"]) > 0
    assert all(isinstance(r, RecordedPush) for r in records)
    assert {r.channel for r in records if isinstance(r, RecordedPush)} <= {"books", "trades"}


async def test_duration_ends_it_with_status_0(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl.gz"
    async with open_simulator(market_interval=0.05) as sim:
        code, out, err = await _run_until(
            ["record", "--channel", "tickers:ETH-USDT", "--out", str(path), "--base-url",
             sim.base_url, "--duration", "0.5", "--rotate-minutes", "10"],
            b"ready\n", None)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "done"
    assert f"file={tmp_path / 'd.0001.jsonl.gz'}" in out.splitlines()
    assert read_recording(tmp_path / "d.0001.jsonl.gz").header.channels[0]["channel"] == "tickers"


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "x.jsonl.gz"
    existing.write_bytes(b"keep")
    assert main(["record", "--channel", "books:BTC-USDT", "--out", str(existing),
                 "--base-url", "ws://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert err == f"okx-trio record: {existing} exists (--overwrite replaces it)\n"
    assert main(["record", "--channel", "orders", "--out", str(tmp_path / "y.gz")]) == 1
    assert "public channels only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["record", "--out", "z.gz"])
    assert info.value.code == 2


async def test_the_simulator_replays_a_recording_over_loopback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.jsonl.gz"
    async with (
        open_simulator(market_interval=0.05) as sim,
        okx_trio.record(path, ["books:BTC-USDT", "trades:BTC-USDT"],
                        base_url=sim.base_url) as recorder,
    ):
        await recorder.wait_pushes(20)
    recorded = [r for r in read_recording(path) if isinstance(r, RecordedPush)]
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-c", _SIGINT_DEFAULT, "simulator", "--port", "0", "--replay",
         str(path), "--speed", "max"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    out = bytearray()
    try:
        with trio.fail_after(30):
            while b"ready\n" not in out:
                out += await proc.stdout.receive_some(4096)
            info = dict(line.split("=", 1) for line in out.decode().splitlines()
                        if "=" in line)
            assert info["replay"] == str(path)
            assert info["replay_speed"] == "max"
            got = []
            async with (
                okx_trio.open_ws_client(base_url=info["base_url"]) as ws,
                ws.subscribe({"channel": "books", "instId": "BTC-USDT"}) as sub,
            ):
                async for item in sub:
                    assert isinstance(item, okx_trio.Push)
                    got.append(item)
                    if len(got) == sum(r.channel == "books" for r in recorded):
                        break
            assert [p.data for p in got] == [r.data for r in recorded if r.channel == "books"]
            while b"replay_done\n" not in out:
                out += await proc.stdout.receive_some(4096)
            proc.send_signal(signal.SIGINT)
            assert await proc.wait() == 130
    finally:
        if proc.returncode is None:
            proc.kill()
        with trio.CancelScope(shield=True):
            await proc.wait()
            await proc.stdout.aclose()
            assert proc.stderr is not None
            await proc.stderr.aclose()
    assert main(["simulator", "--replay", str(tmp_path / "none.jsonl.gz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("okx-trio simulator: --replay: ")
    assert err.count("\n") == 1
