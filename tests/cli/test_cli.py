"""The ``okx-trio`` command line: commands, version, exits and Ctrl-C.

Exits are checked on real processes (``python -m okx_trio``): Ctrl-C is a
real SIGINT, a busy port is a real socket bound first, all on 127.0.0.1.
"""

from __future__ import annotations

import importlib.metadata
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
from trio_websocket import open_websocket_url

import okx_trio
import okx_trio.testing
from okx_trio._cli import build_parser, main
from okx_trio.testing._probe import open_probe

# A child started from a shell's background job inherits SIGINT ignored, and
# Python then never raises KeyboardInterrupt: restore the default before exec
# so Ctrl-C reaches the command as it does from a terminal.
_SIGINT_DEFAULT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, '-m', 'okx_trio', *sys.argv[1:]])"
)


async def _start(*args: str) -> trio.Process:
    """``python -m okx_trio ARGS`` with its output piped."""
    return await trio.lowlevel.open_process(
        [sys.executable, "-c", _SIGINT_DEFAULT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def _read_until(proc: trio.Process, marker: bytes, buf: bytearray) -> None:
    assert proc.stdout is not None
    with trio.fail_after(30):
        while marker not in buf:
            chunk = await proc.stdout.receive_some(4096)
            assert chunk, f"exited early ({await proc.wait()}): {bytes(buf)!r}"
            buf += chunk


async def _finish(
    proc: trio.Process, buf: bytearray, deadline: float = 15
) -> tuple[int, str, str]:
    """Wait for the exit; its status, the whole stdout and the whole stderr."""
    assert proc.stdout is not None
    assert proc.stderr is not None
    err = bytearray()
    with trio.move_on_after(deadline) as scope:
        async with trio.open_nursery() as nursery:

            async def drain(stream: trio.abc.ReceiveStream, into: bytearray) -> None:
                while chunk := await stream.receive_some(65536):
                    into += chunk

            nursery.start_soon(drain, proc.stdout, buf)
            nursery.start_soon(drain, proc.stderr, err)
        status = await proc.wait()
    assert not scope.cancelled_caught, f"no exit in {deadline} s: {bytes(buf)!r} {bytes(err)!r}"
    return status, buf.decode(), err.decode()


@asynccontextmanager
async def _cleanup(proc: trio.Process) -> AsyncIterator[trio.Process]:
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        with trio.CancelScope(shield=True):
            await proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    await pipe.aclose()


def _info(text: str) -> dict[str, str]:
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and " " not in key:
            info[key] = value
    return info


@pytest.mark.parametrize(
    ("signum", "status", "last_line"),
    [(signal.SIGINT, 130, "stopping (SIGINT)"), (signal.SIGTERM, 0, "stopping (SIGTERM)")],
)
async def test_simulator_serves_and_stops(signum: int, status: int, last_line: str) -> None:
    buf = bytearray()
    async with _cleanup(await _start("simulator", "--port", "0", "--market-interval", "0")) as p:
        await _read_until(p, b"ready\n", buf)
        info = _info(buf.decode())
        port = int(info["port"])
        assert port > 0
        assert info["base_url"] == f"ws://127.0.0.1:{port}"
        assert info["rest_url"] == f"http://127.0.0.1:{port}"
        assert info["api_key"] == "sim-api-key-0001"
        assert info["passphrase"] == "Sim-Pass-1"
        with trio.fail_after(10):
            async with open_websocket_url(info["ws_public"]) as ws:
                await ws.send_message("ping")
                assert await ws.get_message() == "pong"
        p.send_signal(signum)
        code, out, err = await _finish(p, buf)
    assert (code, err) == (status, "")
    assert out.splitlines()[-1] == last_line


async def test_simulator_with_tls_and_custom_credentials() -> None:
    buf = bytearray()
    args = ("simulator", "--port", "0", "--tls", "--api-key", "k1", "--secret-key", "s1",
            "--passphrase", "p1", "--no-rate-limit", "--seed", "7")
    async with _cleanup(await _start(*args)) as p:
        await _read_until(p, b"ready\n", buf)
        info = _info(buf.decode())
        assert info["base_url"].startswith("wss://")
        assert info["rest_url"].startswith("https://")
        assert (info["api_key"], info["secret_key"], info["passphrase"]) == ("k1", "s1", "p1")
        assert info["ca_file"].endswith(".pem")
        assert await trio.Path(info["ca_file"]).exists()
        p.send_signal(signal.SIGINT)
        code, _, err = await _finish(p, buf)
    assert (code, err) == (130, "")
    assert not await trio.Path(info["ca_file"]).exists()


async def test_simulator_on_a_busy_port_says_so_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        buf = bytearray()
        async with _cleanup(await _start("simulator", "--port", str(port))) as p:
            code, out, err = await _finish(p, buf)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"okx-trio simulator: cannot listen on 127.0.0.1:{port}: ")
    assert "in use" in err


def test_busy_port_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    """The same through ``main()``: the bind error arrives inside an exception group."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["simulator", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"okx-trio simulator: cannot listen on 127.0.0.1:{port}: ")
    assert err.count("\n") == 1


async def test_demo_ctrl_c_is_one_line_and_130() -> None:
    buf = bytearray()
    async with _cleanup(await _start("demo", "--duration", "60", "--seed", "1")) as p:
        # The first progress line: the bot's tasks are running.
        await _read_until(p, b"\n[", buf)
        p.send_signal(signal.SIGINT)
        # Gone within about 0.1 s: leaving waits for no answer that cannot come
        # (docs/reliability.md). The deadline only bounds a loaded machine.
        code, out, err = await _finish(p, buf, deadline=15)
    assert (code, err) == (130, "")
    assert out.splitlines()[-1] == "interrupted"
    assert "Traceback" not in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    version = importlib.metadata.version("okx-trio")
    assert version == okx_trio.__version__
    assert capsys.readouterr().out == f"okx-trio {version}\n"


def test_no_command_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0].startswith("usage: okx-trio")
    assert "no command given" in lines[1]
    assert [line.split()[0] for line in lines[2:4]] == ["simulator", "demo"]
    assert "okx-trio COMMAND --help" in lines[-1]


def test_help_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for word in ("simulator", "demo", "--version", "130"):
        assert word in out
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["simulator", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--host", "--port", "--api-key", "--tls", "okx-trio[tls]", "--seed"):
        assert flag in out
    for argv in (["simulator", "--port", "99999"], ["simulator", "--market-interval", "-1"],
                 ["nothing"]):
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


class _Url:
    """What ``open_probe`` needs of a simulator: its base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


_ORDER = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
          "px": "30000", "sz": "0.001"}


async def test_simulator_account_and_fidelity_flags() -> None:
    creds = okx_trio.testing.DEFAULT_CREDENTIALS
    buf = bytearray()
    args = ("simulator", "--port", "0", "--market-interval", "0", "--loose-inst-id-code",
            "--vip-level", "4", "--portfolio-margin", "--mmp", "--no-book-snapshots",
            "--connect-limit", "0", "--book-keepalive", "0")
    async with _cleanup(await _start(*args)) as p:
        await _read_until(p, b"ready\n", buf)
        info = _info(buf.decode())
        assert info["inst_id_code"] == "loose"
        sim = _Url(info["base_url"])
        with trio.fail_after(20):
            for _ in range(4):  # --connect-limit 0: no limit
                async with open_probe(sim, "public") as probe:  # type: ignore[arg-type]
                    await probe.send("ping")
                    assert await probe.recv() == "pong"
            async with open_probe(sim, "private") as probe:  # type: ignore[arg-type]
                await probe.login(creds)
                await probe.send({"id": "o1", "op": "order", "args": [_ORDER]})
                assert (await probe.expect_event(op="order"))["code"] == "0"  # loose
                await probe.send({"id": "m1", "op": "mass-cancel", "args": [
                    {"instType": "OPTION", "instFamily": "BTC-USD"}]})
                assert (await probe.expect_event(op="mass-cancel"))["code"] == "0"  # PM+MMP
            async with open_probe(sim, "public") as probe:  # type: ignore[arg-type]
                await probe.login(creds)
                await probe.send({"op": "subscribe", "args": [{"channel": "books-l2-tbt",
                                                               "instId": "BTC-USDT"}]})
                assert (await probe.expect_event())["event"] == "subscribe"  # VIP 4
                await probe.send("ping")
                assert await probe.recv() == "pong"  # and no snapshot before it
        p.send_signal(signal.SIGTERM)
        code, _, err = await _finish(p, buf)
    assert (code, err) == (0, "")


async def test_simulator_is_strict_by_default() -> None:
    buf = bytearray()
    async with _cleanup(await _start("simulator", "--port", "0", "--market-interval", "0")) as p:
        await _read_until(p, b"ready\n", buf)
        sim = _Url(_info(buf.decode())["base_url"])
        with trio.fail_after(20):
            async with open_probe(sim, "private") as probe:  # type: ignore[arg-type]
                await probe.login(okx_trio.testing.DEFAULT_CREDENTIALS)
                await probe.send({"id": "o1", "op": "order", "args": [_ORDER]})
                answer = await probe.expect_event(op="order")
                assert (answer["code"], answer["data"][0]["sCode"]) == ("1", "50014")
                await probe.send({"id": "m1", "op": "mass-cancel", "args": [
                    {"instType": "OPTION", "instFamily": "BTC-USD"}]})
                assert (await probe.expect_event(op="mass-cancel"))["code"] == "51411"
        p.send_signal(signal.SIGTERM)
        code, _, err = await _finish(p, buf)
    assert (code, err) == (0, "")
