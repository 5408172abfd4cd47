"""Profiles of okx_trio's hot paths (``python -m benchmarks --profile``).

Against the minimal server (its own process), three runs are profiled in this
process: ``submit_new_order`` one after another, ``WsClient.request`` one after
another, and a ``subscribe`` stream of tickers. For each, pyinstrument's call
tree (where the wall time goes) and cProfile's own-time table (which functions
cost the most by themselves) are printed.
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
        for title, run in runs:
            print(f"===== {title}: pyinstrument (wall time, call tree)")
            print(_pyinstrument(run))
            print(f"===== {title}: cProfile (own time)")
            print(_cprofile(run, 30))
    return 0
