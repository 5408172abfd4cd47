"""Profiles of okx_trio's hot paths (``python -m benchmarks --profile``).

Against the minimal server (its own process), four runs are profiled in this
process: ``submit_new_order`` one after another, ``WsClient.request`` one after
another, and ``subscribe`` streams of tickers and of books updates. For each,
pyinstrument's call tree (where the wall time goes) and cProfile's own-time
table (which functions cost the most by themselves) are printed.

Then the scheduler's work per round trip (task steps and I/O waits, counted
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

from . import contenders
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


def main(quick: bool = False) -> int:
    """Print the profiles."""
    n = 500 if quick else 3000
    pushes = 20_000 if quick else 100_000
    with ServerProcess("benchmarks.server", "minimal") as srv:
        url = srv.base_url
        srv.set_push(pushes)
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
        print(scheduler_work(url, n))
        print(ladder(url, n // 3, 3 if quick else 7))
    return 0


def ladder(url: str, n: int, reps: int) -> str:
    """From the floor to okx_trio one design element at a time (variants.LADDER).

    Every row runs once per repetition, in an order rotated each repetition;
    figures are medians, the steps differences of neighbouring medians.
    """
    import statistics

    from . import variants

    def step_run(step: int) -> Callable[[], Any]:
        return lambda: trio.run(variants.ladder_sequential, url, n, step)

    rows: list[tuple[str, Callable[[], Any]]] = [
        (label, step_run(step)) for step, label in enumerate(variants.LADDER)
    ]
    rows += [
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
    lines = [f"===== from the floor to okx_trio, sequential order round trip ({reps} "
             f"interleaved repetitions of {n}; medians)",
             f"{'client':<76} {'wall':>7} {'step':>7} {'CPU':>7} {'step':>7}"]
    prev: tuple[float, float] | None = None
    for label, _ in rows:
        wall = statistics.median(smp.value for smp in samples[label]) * 1e6
        cpu = statistics.median(smp.cpu for smp in samples[label]) * 1e6
        steps = ("", "") if prev is None else (f"{wall - prev[0]:+7.1f}", f"{cpu - prev[1]:+7.1f}")
        lines.append(f"{label:<76} {wall:7.1f} {steps[0]:>7} {cpu:7.1f} {steps[1]:>7}")
        prev = (wall, cpu)
    return "\n".join(lines) + "\n(µs per round trip; CPU is the client process's own)"


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
        ('okx_trio WsClient.request("order")',
         lambda size: contenders.request_sequential(url, size, 100001, "websockets")),
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
