"""Profiles of okx_trio's hot paths (``python -m benchmarks --profile``).

Against the minimal server (its own process), four runs are profiled in this
process: ``submit_new_order`` one after another, ``WsClient.request`` one after
another, and ``subscribe`` streams of tickers and of books updates. For each,
pyinstrument's call tree (where the wall time goes) and cProfile's own-time
table (which functions cost the most by themselves) are printed.

Then okx_trio's own work per push, with the pushes served from memory
(``push_work``), the scheduler's work per round trip (task steps and I/O waits, counted
with a trio instrument) for the floor, ``WsClient.request`` and the
benchmarks-only variant in which the caller writes its own frame
(``variants.py``), trio's bare cost of a hand-off between two tasks, and the
ladder: bare clients that add okx_trio's design elements to the floor one at a
time (a reader task, a deadline per request, a writer task), then okx_trio.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from collections.abc import Callable
from typing import Any

import trio

from . import contenders, floor
from .servers import ServerProcess


def _pyinstrument(run: Callable[[], Any]) -> str:
    try:
        from pyinstrument import Profiler
    except ImportError:
        run()
        return "(pyinstrument not installed: pip install -e '.[bench]')"
    profiler = Profiler(interval=0.0002, async_mode="disabled")
    profiler.start()
    run()
    profiler.stop()
    return str(profiler.output_text(unicode=False, color=False, show_all=False,
                                    short_mode=True))


def _cprofile(run: Callable[[], Any], limit: int) -> str:
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(limit)
    return out.getvalue()


PROFILE_SECTIONS = ("profiles", "own", "inproc", "push", "steps", "tls", "syscalls", "ladder")
"""What ``--profile`` prints; ``--profile --only ladder,syscalls`` picks some."""


def main(quick: bool = False, only: set[str] | None = None) -> int:
    """Print the profiles (``only``: a subset of ``PROFILE_SECTIONS``)."""
    want = only if only else set(PROFILE_SECTIONS)
    unknown = want - set(PROFILE_SECTIONS)
    if unknown:
        raise SystemExit(f"--profile --only takes {', '.join(PROFILE_SECTIONS)}; "
                         f"got {', '.join(sorted(unknown))}")
    n = 500 if quick else 3000
    pushes = 20_000 if quick else 100_000
    with ServerProcess("benchmarks.server", "minimal") as srv:
        url = srv.base_url
        srv.set_push(pushes)
        if "profiles" not in want:
            if "own" in want:
                print(own_work(quick))
            if "inproc" in want:
                print(in_process(quick))
            if "push" in want:
                print(push_work(quick))
            if "steps" in want:
                print(scheduler_work(url, n))
            if "tls" in want:
                print(tls_steps(n // 10))
            if "syscalls" in want:
                print(syscalls(url, n))
            if "ladder" in want:
                print(ladder(url, n // 3, 3 if quick else 7))
            return 0
        runs: list[tuple[str, Callable[[], Any]]] = [
            (f"submit_new_order x {n}",
             lambda: trio.run(contenders.api_sequential, url, n, 100001, "websockets")),
            (f'WsClient.request("order") x {n}',
             lambda: trio.run(contenders.request_sequential, url, n, 100001, "websockets")),
            (f"subscribe tickers, {pushes} pushes",
             lambda: trio.run(contenders.subscribe_pushes, url, pushes, "tickers", "last",
                              "websockets")),
        ]
        runs.append((f"subscribe books, {pushes} pushes",
                     lambda: trio.run(contenders.subscribe_pushes, url, pushes, "books", "ts",
                                      "websockets")))
        for title, run in runs:
            print(f"===== {title}: pyinstrument (wall time, call tree)")
            print(_pyinstrument(run))
            print(f"===== {title}: cProfile (own time)")
            print(_cprofile(run, 30))
        print(own_work(quick))
        print(in_process(quick))
        print(push_work(quick))
        print(scheduler_work(url, n))
        print(tls_steps(n // 10))
        print(syscalls(url, n))
        print(ladder(url, n // 3, 3 if quick else 7))
    return 0


def ladder(url: str, n: int, reps: int) -> str:
    """From the floor to okx_trio one design element at a time (variants.LADDER),
    the design floor (the same shape built lean), and okx_trio beside it.

    Every row runs once per repetition, in an order rotated each repetition;
    figures are medians. "step" is the difference to the row above; "over
    design" the difference to the design floor's row (what okx_trio adds to
    the leanest build of its own shape).
    """
    import statistics

    from . import variants

    def step_run(step: int) -> Callable[[], Any]:
        return lambda: trio.run(variants.ladder_sequential, url, n, step)

    rows: list[tuple[str, Callable[[], Any]]] = [
        (label, step_run(step)) for step, label in enumerate(variants.LADDER)
    ]
    rows += [
        (variants.DESIGN_FLOOR_STREAM,
         lambda: trio.run(variants.design_floor_sequential, url, n, False)),
        (variants.DESIGN_FLOOR,
         lambda: trio.run(variants.design_floor_sequential, url, n, True)),
        ('okx_trio WsClient.request("order")',
         lambda: trio.run(contenders.request_sequential, url, n, 100001, "websockets")),
        ("okx_trio submit_new_order",
         lambda: trio.run(contenders.api_sequential, url, n, 100001, "websockets")),
    ]
    samples: dict[str, list[Any]] = {label: [] for label, _ in rows}
    for rep in range(reps):
        shift = rep % len(rows)
        for label, run in rows[shift:] + rows[:shift]:
            samples[label].append(run())
    floor_label, design_label = rows[0][0], variants.DESIGN_FLOOR
    lines = [f"===== from the floor to okx_trio, sequential order round trip ({reps} "
             f"interleaved repetitions of {n}; medians; load average {_loadavg()})",
             f"{'client':<74} {'wall':>6} {'step':>6} {'ratio':>5} {'CPU':>6} {'step':>6} "
             f"{'over design':>11} {'p50':>6} {'p99':>6}"]
    prev: tuple[float, float] | None = None
    design_cpu = statistics.median(smp.cpu for smp in samples[design_label]) * 1e6
    for label, _ in rows:
        runs = samples[label]
        wall = statistics.median(smp.value for smp in runs) * 1e6
        cpu = statistics.median(smp.cpu for smp in runs) * 1e6
        ratio = statistics.median(a.value / b.value
                                  for a, b in zip(runs, samples[floor_label], strict=True))
        p50 = statistics.median(smp.extra["p50"] for smp in runs) * 1e6
        p99 = statistics.median(smp.extra["p99"] for smp in runs) * 1e6
        steps = ("", "") if prev is None else (f"{wall - prev[0]:+6.1f}", f"{cpu - prev[1]:+6.1f}")
        lines.append(f"{label:<74} {wall:6.1f} {steps[0]:>6} {ratio:5.2f} {cpu:6.1f} "
                     f"{steps[1]:>6} {cpu - design_cpu:+11.1f} {p50:6.1f} {p99:6.1f}")
        prev = (wall, cpu)
    return "\n".join(lines) + ("\n(µs per round trip; ratio: wall / the floor's in the same "
                               "repetition; CPU is the client process's own)")


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


class _Counter(trio.abc.Instrument):
    def __init__(self) -> None:
        self.steps = 0
        self.io_waits = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1

    def before_io_wait(self, timeout: float) -> None:
        self.io_waits += 1


async def _counted(counter: _Counter, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` with ``counter`` attached only to the timed part.

    The setup (connect, login, warm-up) is in the counts too, so each figure is
    taken as the difference of two runs of different sizes.
    """
    trio.lowlevel.add_instrument(counter)
    try:
        return await fn(*args)
    finally:
        trio.lowlevel.remove_instrument(counter)


def scheduler_work(url: str, n: int) -> str:
    """Task steps and I/O waits per sequential round trip, and trio's hand-off cost."""
    from . import variants

    clients: list[tuple[str, Callable[[int], Any]]] = [
        ("floor (one task: send, then receive)", lambda size: _floor_sequential(url, size)),
        ("design floor", lambda size: variants.design_floor_sequential(url, size)),
        ('okx_trio WsClient.request("order")',
         lambda size: contenders.request_sequential(url, size, 100001, "websockets")),
        ("okx_trio submit_new_order",
         lambda size: contenders.api_sequential(url, size, 100001, "websockets")),
        ("variant: the caller writes its own frame", lambda size: _variant(url, size)),
    ]
    lines = ["===== scheduler work per sequential round trip (trio instrument; "
             "wall time from a separate run without it)",
             f"{'client':<44} {'task steps':>10} {'I/O waits':>10} {'wall':>10}"]
    half = n // 2
    for label, fn in clients:
        counters = []
        for size in (half, n):
            c = _Counter()
            trio.run(_counted, c, fn, size)
            counters.append(c)
        # The difference of two sizes leaves out connect, login and warm-up.
        steps = (counters[1].steps - counters[0].steps) / (n - half)
        waits = (counters[1].io_waits - counters[0].io_waits) / (n - half)
        wall = min(trio.run(fn, n).value for _ in range(3))
        lines.append(f"{label:<44} {steps:>10.2f} {waits:>10.2f} {wall * 1e6:>7.0f} µs")
    single, handoff = trio.run(variants.hop_cost)
    lines.append(f"trio alone (no I/O): a checkpoint costs {single * 1e6:.1f} µs; handing an "
                 f"item to another task through an Event and waiting for its answer Event "
                 f"{handoff * 1e6:.1f} µs")
    return "\n".join(lines)


TLS_MODES = {
    "ws": "ws://",
    "wss-sslstream": "wss://, trio.SSLStream (before)",
    "wss-driven": "wss://, SocketTlsStream (after)",
}
"""The transports ``tls_steps`` compares: ``--profile --only tls``."""


def tls_steps(n: int) -> str:
    """Per ``WsClient.request`` round trip over ``ws://`` and over ``wss://``
    (TLS on 127.0.0.1), with TLS through ``trio.SSLStream`` (the transport's
    path before issue 17's third pass, and still off POSIX) and driven by the
    transport itself (``SocketTlsStream``), in the same run: the client's
    task steps (deterministic), CPU and wall time, and system calls.

    The server is okx_trio's simulator in this process (its TLS mode needs the
    ``tls`` extra: trustme); its own tasks are left out of the step counts,
    but CPU, wall time and system calls are both ends': the server's share is
    the same code in every row, so the differences are the client's.
    """
    import shutil

    try:
        import trustme  # noqa: F401
    except ImportError:
        return "===== task steps over wss://: skipped (trustme not installed: the tls extra)"
    lines = ["===== per WsClient.request round trip, ws:// and wss:// (simulator in this "
             f"process; task steps: the client's tasks only, {n} round trips; CPU and wall: "
             f"both ends, best of 5 x {n}; system calls: both ends, strace -f -c)",
             f"{'transport':<36} {'steps':>5} {'CPU µs':>7} {'wall µs':>7} {'syscalls':>8}  "
             "steps by task"]
    calls = {mode: _tls_syscalls(mode, n) for mode in TLS_MODES} if shutil.which(
        "strace") else {}
    for mode, label in TLS_MODES.items():
        steps, cpu, wall = trio.run(_tls_round_trips, mode, n)
        shown = ", ".join(f"{name} {count:.2f}" for name, count in sorted(steps.items()))
        sys_calls = f"{calls[mode]:8.2f}" if mode in calls else f"{'-':>8}"
        lines.append(f"{label:<36} {sum(steps.values()):5.2f} {cpu * 1e6:7.1f} "
                     f"{wall * 1e6:7.1f} {sys_calls}  {shown}")
    lines.append(_tls_separate(10 * n, 3))
    return "\n".join(lines)


def _tls_separate(n: int, pairs: int) -> str:
    """The client alone: ``WsClient.request`` round trips against the minimal
    server in its own process (plain, and with ``--tls``), each transport in a
    process of its own, alternating, ``pairs`` times; the client's CPU per
    round trip and the median and p99 of the laps (best of 3 x ``n``)."""
    import json
    import os
    import subprocess
    import sys
    import tempfile

    from .servers import ServerProcess

    results: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in TLS_MODES}
    with tempfile.TemporaryDirectory() as tmp:
        ca = os.path.join(tmp, "ca.pem")
        with ServerProcess("benchmarks.server", "minimal") as plain, ServerProcess(
                "benchmarks.server", "minimal-tls", "--tls", ca) as tls:
            urls = {"ws": plain.base_url, "wss": tls.base_url.replace("ws://", "wss://")}
            for _ in range(pairs):
                for mode in TLS_MODES:
                    out = subprocess.run(
                        [sys.executable, "-m", "benchmarks.profile", "tls-client", mode,
                         urls["ws" if mode == "ws" else "wss"], ca, str(n)],
                        check=True, capture_output=True, text=True, cwd=str(_root()))
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    results[mode].append((r["cpu"], r["p50"], r["p99"]))
    lines = [f"----- the client alone, the minimal server in its own process ({pairs} "
             f"alternating runs of each, best of 3 x {n} round trips each; medians of the "
             "runs, µs)",
             f"{'transport':<36} {'CPU':>7} {'p50':>7} {'p99':>7}   runs (CPU)"]
    for mode, label in TLS_MODES.items():
        rows = results[mode]

        def med(k: int, rows: list[tuple[float, float, float]] = rows) -> float:
            return sorted(r[k] for r in rows)[len(rows) // 2] * 1e6

        runs = " / ".join(f"{r[0] * 1e6:.0f}" for r in rows)
        lines.append(f"{label:<36} {med(0):7.1f} {med(1):7.1f} {med(2):7.1f}   {runs}")
    return "\n".join(lines)


async def _tls_client_alone(mode: str, url: str, ca: str, n: int) -> dict[str, float]:
    """One process of ``_tls_separate``: best CPU per round trip of 3 x ``n``,
    and the median and p99 of that best run's laps."""
    import ssl

    import okx_trio
    from okx_trio import _transport

    from .floor import ORDER_ARGS, Ids
    from .measure import Clock

    _transport.DRIVE_SOCKETS = mode != "wss-sslstream"
    options = contenders.client_options(url, "websockets", contenders.CREDS)
    if mode != "ws":
        options["ssl_context"] = ssl.create_default_context(cafile=ca)
    cl_ids = Ids("ct000000")
    best: dict[str, float] = {"cpu": float("inf")}
    async with okx_trio.open_ws_client(**options) as ws:
        for _ in range(200):
            await ws.request("order", [{**ORDER_ARGS, "instIdCode": 100001, "clOrdId": cl_ids()}])
        for _ in range(3):
            clock = Clock()
            for _ in range(n):
                await ws.request("order",
                                 [{**ORDER_ARGS, "instIdCode": 100001, "clOrdId": cl_ids()}])
                clock.lap()
            sample = clock.per_op(n)
            if sample.cpu < best["cpu"]:
                best = {"cpu": sample.cpu, "p50": sample.extra["p50"],
                        "p99": sample.extra["p99"]}
    return best


def _tls_syscalls(mode: str, n: int) -> float:
    """System calls per round trip in ``mode`` (both ends), as the difference of
    two run sizes in processes of their own under ``strace -f -c``."""
    import os
    import subprocess
    import sys
    import tempfile

    small, large = n, 4 * n
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (small, large):
            out = os.path.join(tmp, f"{mode}-{size}.txt")
            subprocess.run(
                ["strace", "-f", "-c", "-o", out, sys.executable, "-m", "benchmarks.profile",
                 "tls", mode, str(size)],
                check=True, capture_output=True, cwd=str(_root()))
            totals.append(_strace_counts(out).get("total", (0, 0))[0])
    return (totals[1] - totals[0]) / (large - small)


async def _tls_round_trips(mode: str, n: int) -> tuple[dict[str, float], float, float]:
    """Task steps per round trip by client task, best CPU and wall per round trip."""
    import collections
    import time

    import okx_trio
    from okx_trio import _transport
    from okx_trio.testing import DEFAULT_CREDENTIALS, open_simulator

    class Steps(trio.abc.Instrument):
        def __init__(self) -> None:
            self.steps: collections.Counter[str] = collections.Counter()

        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            # The simulator's tasks (its module, trio's connection handlers) are not the client's.
            if "testing" not in task.name and "_run_handler" not in task.name:
                self.steps[task.name.rsplit(".", 1)[-1]] += 1

    counter = Steps()
    order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "ioc",
             "px": "1", "sz": "0.01"}
    tls = mode != "ws"
    drive = _transport.DRIVE_SOCKETS
    _transport.DRIVE_SOCKETS = mode != "wss-sslstream"
    try:
        async with open_simulator(tls=tls, market_interval=None, rate_limit=False) as sim:
            options: dict[str, Any] = {"credentials": DEFAULT_CREDENTIALS,
                                       "base_url": sim.base_url, "rate_limit": False,
                                       "log_lifecycle": False}
            if tls:
                options["ssl_context"] = sim.client_ssl_context()
            async with okx_trio.open_ws_client(**options) as ws:

                async def one() -> None:
                    try:
                        await ws.request("order", [order])
                    except okx_trio.OkxApiError:
                        pass  # the simulator may refuse it: a refusal is a whole round trip too

                for _ in range(20):
                    await one()
                trio.lowlevel.add_instrument(counter)
                try:
                    for _ in range(n):
                        await one()
                finally:
                    trio.lowlevel.remove_instrument(counter)
                cpu = wall = float("inf")
                for _ in range(5):
                    c0, w0 = time.process_time(), time.perf_counter()
                    for _ in range(n):
                        await one()
                    cpu = min(cpu, (time.process_time() - c0) / n)
                    wall = min(wall, (time.perf_counter() - w0) / n)
    finally:
        _transport.DRIVE_SOCKETS = drive
    return {name: count / n for name, count in counter.steps.items()}, cpu, wall


async def _tls_client(mode: str, n: int) -> None:
    """One run of ``_tls_syscalls``: the simulator and ``n`` round trips in ``mode``."""
    import okx_trio
    from okx_trio import _transport
    from okx_trio.testing import DEFAULT_CREDENTIALS, open_simulator

    _transport.DRIVE_SOCKETS = mode != "wss-sslstream"
    order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "ioc",
             "px": "1", "sz": "0.01"}
    async with open_simulator(tls=mode != "ws", market_interval=None, rate_limit=False) as sim:
        ctx = sim.client_ssl_context() if mode != "ws" else None
        async with okx_trio.open_ws_client(credentials=DEFAULT_CREDENTIALS, base_url=sim.base_url,
                                           rate_limit=False, log_lifecycle=False,
                                           ssl_context=ctx) as ws:
            for _ in range(n):
                try:
                    await ws.request("order", [order])
                except okx_trio.OkxApiError:
                    pass


async def _floor_sequential(url: str, n: int) -> Any:
    from . import floor

    conn = await floor.Floor.connect(url + "/ws/v5/private")
    creds = contenders.CREDS
    await floor.login(conn, (creds.api_key, creds.secret_key, creds.passphrase))
    sample = await floor.sequential(conn, n, 100001)
    await conn.aclose()
    return sample


async def _variant(url: str, n: int) -> Any:
    from . import variants

    with variants.caller_writes():
        return await contenders.request_sequential(url, n, 100001, "websockets")


SYSCALL_CLIENTS = {
    "floor": "floor (one task: send, then receive)",
    "design": "design floor",
    "request": 'okx_trio WsClient.request("order")',
    "submit": "okx_trio submit_new_order",
}


def syscalls(url: str, n: int) -> str:
    """System calls per sequential round trip (``strace -f -c``), each client in
    its own process, as the difference of two run sizes (leaves out start-up,
    connect and login). strace slows every call down, which changes how often
    a read finds the answer already there: read the counts, not the times."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    if shutil.which("strace") is None:
        return "===== system calls per round trip: strace not installed"
    lines = ["===== system calls per sequential round trip (strace -f -c, difference of "
             f"{n // 4} and {n} round trips; 'failed': calls that returned an error, "
             "e.g. a recv finding nothing)"]
    small, large = n // 4, n
    with tempfile.TemporaryDirectory() as tmp:
        for key, label in SYSCALL_CLIENTS.items():
            counts = []
            for size in (small, large):
                out = os.path.join(tmp, f"{key}-{size}.txt")
                subprocess.run(
                    ["strace", "-f", "-c", "-o", out, sys.executable, "-m",
                     "benchmarks.profile", url, key, str(size)],
                    check=True, capture_output=True, cwd=str(_root()))
                counts.append(_strace_counts(out))
            per: dict[str, tuple[float, float]] = {}
            for name, (calls, errors) in counts[1].items():
                c0, e0 = counts[0].get(name, (0, 0))
                per[name] = ((calls - c0) / (large - small), (errors - e0) / (large - small))
            shown = ", ".join(
                f"{name} {calls:.2f}" + (f" ({errors:.2f} failed)" if errors >= 0.05 else "")
                for name, (calls, errors) in sorted(per.items())
                if calls >= 0.05 and name != "total")
            total = per.get("total", (0.0, 0.0))[0]
            lines.append(f"{label:<44} {total:5.2f}: {shown}")
    return "\n".join(lines)


def _root() -> Any:
    from .servers import ROOT

    return ROOT


def _strace_counts(path: str) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    with open(path) as f:
        for line in f:
            words = line.split()
            # % time, seconds, usecs/call, calls, [errors,] syscall
            if len(words) in (5, 6) and words[3].isdigit() and words[-1].isidentifier():
                out[words[-1]] = (int(words[3]), int(words[4]) if len(words) == 6 else 0)
    return out


def in_process(quick: bool) -> str:
    """CPU per sequential round trip with the responder in this process.

    The minimal server's ``Conn`` answers from a trio task of the same run
    (127.0.0.1, real sockets), so client and responder share one thread: no
    wake-up across processes or vCPUs, whose cost makes the CPU per order of
    separate-process runs move by +-10% from run to run. The responder's cost
    is the same for every row, so "over design" (okx_trio minus the design
    floor, best of the rounds each) is okx_trio's own work on the whole path:
    the caller's checks, the session, the writer, the transport, the reader
    and the decoding. Steady to a few µs between runs, where the
    separate-process figure is not.
    """
    return trio.run(_in_process, 300 if quick else 1000, 3 if quick else 9)


async def _in_process(n: int, rounds: int) -> str:
    import time

    from websockets.frames import Frame, Opcode
    from websockets.server import ServerProtocol

    from . import server, variants

    class Collect:
        def __init__(self) -> None:
            self.chunks: list[bytes] = []

        def sendall(self, data: bytes) -> None:
            self.chunks.append(data)

    async def serve(stream: trio.SocketStream) -> None:
        out = Collect()
        conn = server.Conn.__new__(server.Conn)
        conn.sock, conn.protocol, conn.conn_id = out, ServerProtocol(max_size=None), "inproc"  # type: ignore[assignment]
        conn.out, conn.streams = [], []
        proto = conn.protocol
        handshake = True
        try:
            while True:
                data = await stream.receive_some(262144)
                if not data:
                    return
                proto.receive_data(data)
                for event in proto.events_received():
                    if handshake:
                        proto.send_response(proto.accept(event))  # type: ignore[arg-type]
                        handshake = False
                    elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                        conn.on_message(bytes(event.data))
                conn.flush()
                if out.chunks:
                    await stream.send_all(b"".join(out.chunks))
                    out.chunks.clear()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    rows: list[tuple[str, Callable[[str], Any]]] = [
        (variants.DESIGN_FLOOR, lambda url: variants.design_floor_sequential(url, n)),
        ('okx_trio WsClient.request("order")',
         lambda url: contenders.request_sequential(url, n, 100001, "websockets")),
        ("okx_trio submit_new_order",
         lambda url: contenders.api_sequential(url, n, 100001, "websockets")),
    ]
    best = {label: float("inf") for label, _ in rows}
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, serve, 0)
        url = f"ws://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        t0 = time.monotonic()
        for _ in range(rounds):
            for label, run in rows:
                best[label] = min(best[label], (await run(url)).cpu)
        nursery.cancel_scope.cancel()
    design = best[variants.DESIGN_FLOOR]
    lines = [f"===== CPU per round trip, responder in this process ({rounds} rounds of {n}; "
             f"best; load average {_loadavg()}; {time.monotonic() - t0:.0f} s)",
             f"{'client':<74} {'CPU µs':>7} {'over design':>11}"]
    for label, _ in rows:
        lines.append(f"{label:<74} {best[label] * 1e6:7.1f} {(best[label] - design) * 1e6:+11.1f}")
    return "\n".join(lines) + ("\n(CPU of client and responder together; the responder's "
                               "share is the same in every row)")


def push_work(quick: bool) -> str:
    """CPU per push with the minimal server's pushes served from memory
    (``pushfeed.PushFeed``: no socket, no second process), for the floor, the
    design floor (okx_trio's shape built lean: a reader task handing decoded
    messages to the consumer task, a schedule point every 16 or 128 messages
    of a read) and okx_trio's ``subscribe`` + ``async for``; then okx_trio's
    scheduler work, its batches and the cyclic GC's collections per push.

    Every row runs once per round, in the same process; figures are the best
    round (interference only slows a run down), "ratio" is the floor's CPU
    per push over the row's (the throughput ratio when CPU-bound).
    """
    rounds = 3 if quick else 9
    lines = [f"===== CPU per push, pushes served from memory ({rounds} rounds; best; "
             f"load average {_loadavg()})",
             f"{'stream':<8} {'client':<58} {'CPU µs':>7} {'ratio':>6} {'over floor':>10}"]
    lines += _push_stream("tickers", "last", 5000 if quick else 20000, rounds)
    lines += _push_stream("books", "ts", 3000 if quick else 10000, rounds)
    return "\n".join(lines) + ("\n(CPU of client and in-memory server together; the "
                               "server's share is the same in every row)")


def _push_stream(channel: str, field: str, n: int, rounds: int) -> list[str]:
    import collections
    import gc

    from okx_trio import _transport

    from . import pushfeed, server

    server.STATS.push_n = n
    rows: list[tuple[str, Callable[[], Any]]] = [
        ("floor (websockets sans-I/O + orjson, one task)",
         lambda: trio.run(pushfeed.floor_pushes, n, channel, field)),
        ("design floor, a schedule point every 16 messages",
         lambda: trio.run(pushfeed.design_floor_pushes, n, channel, field, 16)),
        ("design floor, a schedule point every 128 messages",
         lambda: trio.run(pushfeed.design_floor_pushes, n, channel, field, 128)),
        ("okx_trio subscribe + async for",
         lambda: trio.run(pushfeed.okx_pushes, n, channel, field)),
    ]
    best = {label: float("inf") for label, _ in rows}
    for _ in range(rounds):
        for label, run in rows:
            best[label] = min(best[label], run().cpu)
    floor_cpu = best[rows[0][0]]
    lines = [f"{channel:<8} {label:<58} {best[label] * 1e6:7.2f} "
             f"{floor_cpu / best[label]:6.2f} {(best[label] - floor_cpu) * 1e6:+10.2f}"
             for label, _ in rows]
    # okx_trio's scheduler work, batches and collections per push (counts).
    steps = _Counter()
    batches: collections.Counter[int] = collections.Counter()
    collected: list[int] = []
    original = _transport.WebsocketsTransport.receive_many

    async def counted(self: _transport.WebsocketsTransport) -> list[bytes]:
        out = await original(self)
        batches[len(out)] += 1
        return out

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collected.append(info["generation"])

    _transport.WebsocketsTransport.receive_many = counted  # type: ignore[method-assign]
    gc.callbacks.append(on_gc)
    try:
        trio.run(_counted, steps, pushfeed.okx_pushes, n, channel, field)
    finally:
        gc.callbacks.remove(on_gc)
        _transport.WebsocketsTransport.receive_many = original  # type: ignore[method-assign]
    handed = sum(size * count for size, count in batches.items())
    lines.append(f"{channel:<8} okx_trio: {steps.steps / n:.3f} task steps and "
                 f"{steps.io_waits / n:.3f} scheduler rounds per push; "
                 f"{handed / max(1, sum(batches.values())):.1f} messages per batch; "
                 f"{len(collected) * 1000 / n:.1f} GC collections per 1,000 pushes")
    return lines


def own_work(quick: bool) -> str:
    """CPU of okx_trio's own per-call work: ``submit_new_order`` and
    ``WsClient.request`` with the session's ``request`` replaced by one that
    answers at once (no task hop, no socket). What remains is validation,
    model building, instrument and clOrdId handling, deadline and expTime,
    answer checking and the ack."""
    return trio.run(_own_work, 2000 if quick else 20000)


async def _own_work(n: int) -> str:
    import time

    import okx_trio
    from okx_trio._models import Response
    from okx_trio._session import Session

    from .floor import ORDER_ARGS

    async def answer(self: Any, id: str, op: str, args: Any, **kw: Any) -> Response:
        item = {"clOrdId": args[0]["clOrdId"], "ordId": "12345", "sCode": "0", "sMsg": "",
                "ts": "1700000000000", "tag": ""}
        return Response(id, op, "0", "", [item], "1700000000000000", "1700000000000000")

    order = {**ORDER_ARGS, "instIdCode": 100001}
    cl_ids = floor.Ids("ow000000")
    original = Session.request
    Session.request = answer  # type: ignore[method-assign]
    lines = [f"===== okx_trio's own work per call (session.request answering at once; "
             f"{n} calls; best of 3; CPU µs per call)"]
    try:
        async with okx_trio.open_ws_api_client(
                **contenders.client_options("ws://127.0.0.1:9", "websockets",
                                            contenders.CREDS)) as api:
            ws = api.ws_client
            calls: list[tuple[str, Callable[[], Any]]] = [
                ("submit_new_order", lambda: api.submit_new_order(order)),
                ('WsClient.request("order")', lambda: ws.request(
                    "order", [{**order, "clOrdId": cl_ids()}])),
            ]
            for label, call in calls:
                best = float("inf")
                for _ in range(3):
                    t0 = time.process_time()
                    for _ in range(n):
                        await call()
                    best = min(best, (time.process_time() - t0) / n)
                lines.append(f"{label:<44} {best * 1e6:6.1f} µs")
    finally:
        Session.request = original  # type: ignore[method-assign]
    return "\n".join(lines)


async def _syscall_client(url: str, key: str, n: int) -> Any:
    from . import variants

    if key == "floor":
        return await _floor_sequential(url, n)
    if key == "design":
        return await variants.design_floor_sequential(url, n)
    if key == "request":
        return await contenders.request_sequential(url, n, 100001, "websockets")
    return await contenders.api_sequential(url, n, 100001, "websockets")


if __name__ == "__main__":
    # One client of syscalls() or of tls_steps(), in its own process under strace.
    import sys

    if sys.argv[1] == "tls":
        trio.run(_tls_client, sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "tls-client":
        import json

        print(json.dumps(trio.run(_tls_client_alone, sys.argv[2], sys.argv[3], sys.argv[4],
                                  int(sys.argv[5]))))
    else:
        trio.run(_syscall_client, sys.argv[1], sys.argv[2], int(sys.argv[3]))
