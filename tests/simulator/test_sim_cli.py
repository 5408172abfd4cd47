"""The ``okx-trio`` command line: ``simulator`` start/stop and ``demo``."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from okx_trio._cli import build_parser, main
from okx_trio._transport import connect_websockets


@asynccontextmanager
async def running_cli(*args: str) -> AsyncIterator[tuple[trio.Process, dict[str, str]]]:
    """``python -m okx_trio simulator ARGS`` until its ``ready`` line; its printed values."""
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "okx_trio", "simulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    info: dict[str, str] = {}
    buf = b""
    try:
        with trio.fail_after(20):
            while b"ready\n" not in buf:
                chunk = await proc.stdout.receive_some(4096)
                assert chunk, f"simulator exited early: {buf!r}"
                buf += chunk
        for line in buf.decode().splitlines():
            key, sep, value = line.partition("=")
            if sep and " " not in key:
                info[key] = value
        yield proc, info
    finally:
        if proc.returncode is None:
            proc.kill()
        with trio.CancelScope(shield=True):
            await proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    await pipe.aclose()


async def _stop(proc: trio.Process, signum: int) -> int:
    proc.send_signal(signum)
    with trio.fail_after(10):
        return await proc.wait()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_simulator_serves_and_stops_cleanly(signum: int) -> None:
    async with running_cli("--market-interval", "0") as (proc, info):
        port = int(info["port"])
        assert port > 0
        assert info["base_url"] == f"ws://127.0.0.1:{port}"
        assert info["rest_url"] == f"http://127.0.0.1:{port}"
        assert info["api_key"] == "sim-api-key-0001"
        assert info["passphrase"] == "Sim-Pass-1"
        with trio.fail_after(10):
            async with trio.open_nursery() as n:
                t = await connect_websockets(info["ws_public"], ssl_context=None, nursery=n)
                await t.send(b"ping")
                assert await t.receive() == b"pong"
                await t.aclose()
        assert await _stop(proc, signum) == 0
        assert proc.stderr is not None
        stderr = await proc.stderr.receive_some(65536)
        assert b"Traceback" not in stderr


async def test_simulator_with_tls_and_custom_credentials() -> None:
    async with running_cli(
        "--tls", "--api-key", "k1", "--secret-key", "s1", "--passphrase", "p1",
        "--no-rate-limit", "--seed", "7",
    ) as (proc, info):
        assert info["base_url"].startswith("wss://")
        assert info["rest_url"].startswith("https://")
        assert info["api_key"] == "k1"
        assert info["secret_key"] == "s1"
        assert info["ca_file"].endswith(".pem")
        assert await trio.Path(info["ca_file"]).exists()
        assert await _stop(proc, signal.SIGINT) == 0
        assert not await trio.Path(info["ca_file"]).exists()


def test_help_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["simulator", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--host", "--port", "--api-key", "--tls", "--no-rate-limit", "--seed"):
        assert flag in out
    for argv in (["simulator", "--port", "99999"], ["simulator", "--market-interval", "-1"],
                 ["nothing"], []):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2


def test_empty_credentials_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulator", "--api-key", ""]) == 2
    assert "api_key" in capsys.readouterr().err


def test_demo_gets_its_own_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--help"])
    assert info.value.code == 0
    assert "--duration" in capsys.readouterr().out
