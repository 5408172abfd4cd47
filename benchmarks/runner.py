"""The benchmark run: contenders, interleaved repetitions, ratios, the table.

Each benchmark is a set of contenders measured against the floor. Every
repetition runs each contender once, in an order rotated from one repetition to
the next, so slow drift (other processes, thermal, the allocator) hits all of
them alike; a ratio is taken within a repetition (contender / that repetition's
floor) and the table shows the median and the min-max of those ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from . import contenders, floor, peers, variants
from .measure import Sample
from .servers import ROOT, ServerProcess

CREDS_TUPLE = (contenders.CREDS.api_key, contenders.CREDS.secret_key,
               contenders.CREDS.passphrase)


@dataclass
class Sizes:
    """How much work each measurement does."""

    reps: int
    rtt: int
    rtt_sim: int
    pipelined: int
    pipelined_sim: int
    concurrency: int
    pushes: int
    books: int
    idle_clients: int
    rss_pushes: int
    rss_pushes_tws: int


FULL = Sizes(reps=7, rtt=1000, rtt_sim=300, pipelined=3000, pipelined_sim=1000,
             concurrency=100, pushes=60_000, books=40_000, idle_clients=200,
             rss_pushes=1_000_000, rss_pushes_tws=200_000)
QUICK = Sizes(reps=3, rtt=200, rtt_sim=100, pipelined=600, pipelined_sim=200,
              concurrency=100, pushes=10_000, books=5_000, idle_clients=20,
              rss_pushes=50_000, rss_pushes_tws=10_000)


@dataclass
class Contender:
    """One client in one benchmark."""

    label: str
    run: Callable[[], Sample]
    role: str = "okx"
    """``floor`` (the denominator), ``okx`` (held to the target), ``peer`` or ``scale``."""
    skip: str | None = None
    samples: list[Sample | None] = field(default_factory=list)
    error: str | None = None
    failures: int = 0
    pushes: int | None = None
    """For push benchmarks: how many pushes the server streams for this contender."""
    target: tuple[str, float] | None = None
    """This contender's own target, where it differs from the benchmark's."""


@dataclass
class Bench:
    """One benchmark: a figure, its target, and the contenders measured for it."""

    group: str
    title: str
    server: str
    unit: str
    """``us`` (microseconds per op, lower is better) or ``/s`` (higher is better)."""
    target: tuple[str, float] | None
    contenders: list[Contender]
    notes: list[str] = field(default_factory=list)


RTT_TARGETS: dict[str, tuple[str, float]] = {
    "submit_new_order": ("<=", 1.3),  # python-okx's level (issue 17)
    "request": ("<=", 1.2),
}
"""Round-trip targets as ratios to the floor; the p99 target is p99 <= 2x the median."""
P99_TARGET = 2.0

RUN_TIMEOUT = 120.0
"""Longest a single contender run may take; a hung client fails its row, not the run."""


async def _bounded(fn: Callable[..., Any], *args: Any) -> Sample:
    with trio.fail_after(RUN_TIMEOUT):
        result: Sample = await fn(*args)
    return result


def _trio(fn: Callable[..., Any], *args: Any) -> Callable[[], Sample]:
    def run() -> Sample:
        return trio.run(_bounded, fn, *args)
    return run


HOP_LABEL = "variant: caller writes its own frame (benchmarks only, not okx_trio's design)"
"""The ``hop`` group: what the hand-off to the writer task costs (benchmarks/variants.py)."""


# ------------------------------------------------------------- floor runners


def floor_sequential(url: str, n: int, code: int, tws: bool = False) -> Callable[[], Sample]:
    """The floor's sequential order round trip (a fresh connection per run)."""
    async def main() -> Sample:
        async with trio.open_nursery() as nursery:
            if tws:
                conn: floor.Conn = await floor.TrioWebsocketFloor.connect(
                    url + "/ws/v5/private", nursery)
            else:
                conn = await floor.Floor.connect(url + "/ws/v5/private")
            await floor.login(conn, CREDS_TUPLE)
            sample = await floor.sequential(conn, n, code)
            await conn.aclose()
            nursery.cancel_scope.cancel()
        return sample
    return lambda: trio.run(_bounded, main)


def floor_pipelined(url: str, total: int, concurrency: int, code: int,
                    tws: bool = False) -> Callable[[], Sample]:
    """The floor's pipelined throughput."""
    async def main() -> Sample:
        async with trio.open_nursery() as nursery:
            if tws:
                conn: floor.Conn = await floor.TrioWebsocketFloor.connect(
                    url + "/ws/v5/private", nursery)
            else:
                conn = await floor.Floor.connect(url + "/ws/v5/private")
            await floor.login(conn, CREDS_TUPLE)
            sample = await floor.pipelined(conn, total, concurrency, code)
            await conn.aclose()
            nursery.cancel_scope.cancel()
        return sample
    return lambda: trio.run(_bounded, main)


def floor_pushes(url: str, n: int, channel: str, field_name: str,
                 tws: bool = False) -> Callable[[], Sample]:
    """The floor's push throughput."""
    async def main() -> Sample:
        async with trio.open_nursery() as nursery:
            if tws:
                conn: floor.Conn = await floor.TrioWebsocketFloor.connect(
                    url + "/ws/v5/public", nursery)
            else:
                conn = await floor.Floor.connect(url + "/ws/v5/public")
            sample = await floor.pushes(conn, n, channel, lambda d: d[field_name])
            await conn.aclose()
            nursery.cancel_scope.cancel()
        return sample
    return lambda: trio.run(_bounded, main)


def okx_pushes(url: str, n: int, channel: str, field_name: str,
               transport: str) -> Callable[[], Sample]:
    """okx_trio's subscribe/async-for push throughput."""
    return _trio(contenders.subscribe_pushes, url, n, channel, field_name, transport)


def subscriptions_missing() -> str | None:
    """Why ``WsClient.subscribe`` cannot run in this checkout, or None."""
    try:
        import okx_trio._subscriptions  # noqa: F401
    except ImportError:
        return "skipped (okx_trio subscriptions not available in this checkout)"
    return None


# ------------------------------------------------------------- the benchmarks


def build(sizes: Sizes, srv: ServerProcess, sim: ServerProcess | None,
          groups: set[str]) -> list[Bench]:
    """Every benchmark selected by ``groups``, with its contenders."""
    url = srv.base_url
    code = 100001
    benches: list[Bench] = []
    s = sizes
    no_subs = subscriptions_missing()
    node_problem = peers.node_available()
    want_peers = "peers" in groups
    want_tws = "tws" in groups
    want_hop = "hop" in groups

    def peer(label: str, make: Callable[[], Sample], problem: str | None = None) -> Contender:
        return Contender(label, make, role="peer",
                         skip=f"skipped ({problem})" if problem else None)

    def py_peer_problem(module: str) -> str | None:
        import importlib.util

        return None if importlib.util.find_spec(module) else "not installed"

    if groups & {"rtt", "floor"}:
        cs = [Contender("floor (websockets sans-I/O + orjson)",
                        floor_sequential(url, s.rtt, code), role="floor")]
        if "rtt" in groups:
            cs += [
                Contender(variants.DESIGN_FLOOR + " (benchmarks/variants.py)",
                          _trio(variants.design_floor_sequential, url, s.rtt), role="scale"),
                Contender("okx_trio submit_new_order",
                          _trio(contenders.api_sequential, url, s.rtt, code, "websockets"),
                          target=RTT_TARGETS["submit_new_order"]),
                Contender('okx_trio WsClient.request("order")',
                          _trio(contenders.request_sequential, url, s.rtt, code, "websockets"),
                          target=RTT_TARGETS["request"]),
            ]
            if want_hop:
                cs.append(Contender(HOP_LABEL + ' WsClient.request("order")',
                                    variants.with_caller_writes(_trio(
                                        contenders.request_sequential, url, s.rtt, code,
                                        "websockets")), role="scale"))
            if want_tws:
                cs += [
                    Contender("okx_trio submit_new_order [trio-websocket]",
                              _trio(contenders.api_sequential, url, s.rtt, code,
                                    "trio-websocket")),
                    Contender("floor on trio-websocket (raw, for scale)",
                              floor_sequential(url, s.rtt, code, tws=True), role="scale"),
                ]
            if want_peers:
                cs += [
                    peer("python-okx 0.4.4 WsPrivateAsync.place_order",
                         lambda: peers.python_okx_sequential(url, s.rtt, code),
                         py_peer_problem("okx")),
                    peer("ccxt 4.5.90 pro okx create_order_ws",
                         lambda: peers.ccxt_sequential(url, s.rtt, code),
                         py_peer_problem("ccxt")),
                    peer("okx-api 3.2.3 (Node) submitNewOrder",
                         lambda: peers.node_run("rtt", url, s.rtt, code), node_problem),
                ]
        benches.append(Bench("rtt", "Sequential order round trip", "minimal", "us",
                             RTT_TARGETS["submit_new_order"], cs))

    if "pipelined" in groups:
        cs = [
            Contender("floor", floor_pipelined(url, s.pipelined, s.concurrency, code),
                      role="floor"),
            Contender("okx_trio submit_new_order",
                      _trio(contenders.api_pipelined, url, s.pipelined, s.concurrency, code,
                            "websockets")),
        ]
        if want_hop:
            cs.append(Contender(HOP_LABEL + " submit_new_order", variants.with_caller_writes(
                _trio(contenders.api_pipelined, url, s.pipelined, s.concurrency, code,
                      "websockets")), role="scale"))
        if want_tws:
            cs += [
                Contender("okx_trio submit_new_order [trio-websocket]",
                          _trio(contenders.api_pipelined, url, s.pipelined, s.concurrency,
                                code, "trio-websocket")),
                Contender("floor on trio-websocket (raw, for scale)",
                          floor_pipelined(url, s.pipelined, s.concurrency, code, tws=True),
                          role="scale"),
            ]
        benches.append(Bench("pipelined", f"Pipelined orders, {s.concurrency} in flight",
                             "minimal", "/s", (">=", 0.85), cs))

    if groups & {"push", "floor"}:
        # Every contender gets exactly the pushes it consumes (Contender.pushes):
        # a client that stopped early would otherwise have to drain the rest
        # before its unsubscribe is answered.
        n, tws_n, slow_n = s.pushes, max(2000, s.pushes // 4), max(2000, s.pushes // 5)
        cs = [Contender("floor", floor_pushes(url, n, "tickers", "last"), role="floor",
                        pushes=n)]
        if "push" in groups:
            cs.append(Contender("okx_trio subscribe + async for",
                                okx_pushes(url, n, "tickers", "last", "websockets"),
                                skip=no_subs, pushes=n))
            if want_tws:
                cs += [
                    Contender("okx_trio subscribe [trio-websocket]",
                              okx_pushes(url, tws_n, "tickers", "last", "trio-websocket"),
                              skip=no_subs, pushes=tws_n),
                    Contender("floor on trio-websocket (raw, for scale)",
                              floor_pushes(url, tws_n, "tickers", "last", tws=True),
                              role="scale", pushes=tws_n),
                ]
            if want_peers:
                py_okx = peer("python-okx 0.4.4 WsPublicAsync callback",
                              lambda: peers.python_okx_pushes(url, n), py_peer_problem("okx"))
                ccxt = peer("ccxt 4.5.90 pro okx watch_ticker",
                            lambda: peers.ccxt_pushes(url, slow_n), py_peer_problem("ccxt"))
                node = peer("okx-api 3.2.3 (Node) update events",
                            lambda: peers.node_run("push", url, n, code), node_problem)
                py_okx.pushes, ccxt.pushes, node.pushes = n, slow_n, n
                cs += [py_okx, ccxt, node]
        benches.append(Bench("push", "Push throughput, tickers (~400 B)", "minimal", "/s",
                             (">=", 0.7), cs))

    if "books" in groups:
        n, tws_n = s.books, max(2000, s.books // 4)
        cs = [
            Contender("floor", floor_pushes(url, n, "books", "ts"), role="floor", pushes=n),
            Contender("okx_trio subscribe + async for",
                      okx_pushes(url, n, "books", "ts", "websockets"), skip=no_subs, pushes=n),
        ]
        if want_tws:
            cs.append(Contender("okx_trio subscribe [trio-websocket]",
                                okx_pushes(url, tws_n, "books", "ts", "trio-websocket"),
                                skip=no_subs, pushes=tws_n))
        benches.append(Bench("books", "Push throughput, books updates (5+5 levels)",
                             "minimal", "/s", (">=", 0.7), cs))

    if sim is not None and "simulator" in groups:
        surl = sim.base_url
        scode = int(sim.info.get("code", 100001))
        benches.append(Bench("rtt-sim", "Sequential order round trip", "simulator", "us",
                             RTT_TARGETS["submit_new_order"], [
            Contender("floor", floor_sequential(surl, s.rtt_sim, scode), role="floor"),
            Contender("okx_trio submit_new_order",
                      _trio(contenders.api_sequential, surl, s.rtt_sim, scode, "websockets"),
                      target=RTT_TARGETS["submit_new_order"]),
            Contender('okx_trio WsClient.request("order")',
                      _trio(contenders.request_sequential, surl, s.rtt_sim, scode,
                            "websockets"), target=RTT_TARGETS["request"]),
        ]))
        benches.append(Bench("pipelined-sim", f"Pipelined orders, {s.concurrency} in flight",
                             "simulator", "/s", (">=", 0.85), [
            Contender("floor", floor_pipelined(surl, s.pipelined_sim, s.concurrency, scode),
                      role="floor"),
            Contender("okx_trio submit_new_order",
                      _trio(contenders.api_pipelined, surl, s.pipelined_sim, s.concurrency,
                            scode, "websockets")),
        ]))
    return benches


def run_bench(bench: Bench, reps: int, srv: ServerProcess | None, log: Callable[[str], None],
              verbose: bool = False) -> None:
    """Run every contender ``reps`` times, rotating the order each repetition."""
    active = [c for c in bench.contenders if c.skip is None]
    for rep in range(reps):
        shift = rep % len(active)
        order = active[shift:] + active[:shift]
        for c in order:
            if c.failures >= 2:  # twice is not bad luck: stop spending time on it
                c.samples.append(None)
                continue
            if c.pushes is not None and srv is not None:
                srv.set_push(c.pushes)
            cpu0 = srv.cpu() if srv is not None and c.role == "floor" else None
            if verbose:
                log(f"    {c.label}")
            try:
                sample = c.run()
            except Exception as exc:  # a peer failing must not end the run
                text = str(exc) or ("no result within the run time limit"
                                    if isinstance(exc, (TimeoutError, trio.TooSlowError)) else "")
                c.error = f"{type(exc).__name__}: {text}"[:200]
                c.failures += 1
                c.samples.append(None)
                log(f"  ! {c.label}: {c.error}")
                continue
            if cpu0 is not None and srv is not None:
                sample.extra["server_cpu"] = srv.cpu() - cpu0
            c.samples.append(sample)
        log(f"  {bench.title} [{bench.server}]: repetition {rep + 1}/{reps} done")


# ------------------------------------------------------------------- figures


def _fmt_value(value: float, unit: str) -> str:
    if unit == "us":
        return f"{value * 1e6:,.0f} µs"
    return f"{value:,.0f}/s"


def _ratio_stats(c: Contender, floor_c: Contender) -> tuple[list[float], list[float]]:
    ratios, cpu = [], []
    for a, b in zip(c.samples, floor_c.samples, strict=False):
        if a is None or b is None:
            continue
        ratios.append(a.value / b.value)
        if a.cpu > 0 and b.cpu > 0:
            cpu.append(a.cpu / b.cpu)
    return ratios, cpu


def table(benches: list[Bench]) -> tuple[list[list[str]], list[str]]:
    """Rows of the results table and the okx_trio-vs-peers summary lines."""
    header = ["benchmark", "server", "contender", "median", "ratio", "min-max", "best/best",
              "p99 (p99/median)", "client CPU/op", "client CPU/op ratio", "target", "verdict"]
    rows = [header]
    summary: list[str] = []
    for bench in benches:
        floor_c = next(c for c in bench.contenders if c.role == "floor")
        okx_main = next((c for c in bench.contenders if c.role == "okx" and c.skip is None
                         and c.error is None), None)
        for c in bench.contenders:
            name = f"{bench.title}"
            if c.skip is not None:
                rows.append([name, bench.server, c.label, c.skip] + [""] * 8)
                continue
            if c.error is not None and not any(c.samples):
                rows.append([name, bench.server, c.label, f"failed: {c.error}"] + [""] * 8)
                continue
            values = [smp.value for smp in c.samples if smp is not None]
            median = _fmt_value(statistics.median(values), bench.unit)
            cpu = statistics.median(smp.cpu for smp in c.samples if smp is not None)
            cpu_op = f"{cpu * 1e6:.1f} µs"
            p99_txt, p99_ok = _p99(c)
            if c is floor_c:
                rows.append([name, bench.server, c.label, median, "1.00", "", "1.00",
                             p99_txt, cpu_op, "1.00", "", ""])
                continue
            ratios, cpu_ratios = _ratio_stats(c, floor_c)
            r_med = statistics.median(ratios)
            # Interference from other processes only ever slows a run down, so the
            # best run of each is the least disturbed estimate of its own cost.
            pick = min if bench.unit == "us" else max
            floor_values = [smp.value for smp in floor_c.samples if smp is not None]
            best = f"{pick(values) / pick(floor_values):.2f}"
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            cpu_txt = f"{statistics.median(cpu_ratios):.2f}" if cpu_ratios else ""
            target = verdict = ""
            goal = c.target or bench.target
            if c.role == "okx" and goal is not None:
                op, limit = goal
                target = f"{op} {limit:g}"
                ok = r_med <= limit if op == "<=" else r_med >= limit
                verdict = "meets" if ok else "MISSES"
                if p99_ok is not None:
                    target += f"; p99 <= {P99_TARGET:g}x median"
                    verdict += "; p99 " + ("meets" if p99_ok else "MISSES")
            if c.failures:
                verdict += f"; {c.failures} run(s) failed ({c.error})"
            dropped = [smp.extra.get("dropped", 0) for smp in c.samples if smp is not None]
            if any(dropped):
                # Rates count pushes seen; the rest were dropped from a full buffer (Gap).
                verdict += f"; dropped {statistics.median(dropped):,.0f} pushes/run"
            rows.append([name, bench.server, c.label, median, f"{r_med:.2f}", spread, best,
                         p99_txt, cpu_op, cpu_txt, target, verdict])
            if c.role == "peer" and okx_main is not None:
                line = _versus(bench, okx_main, c)
                if line:
                    summary.append(line)
    return rows, summary


def _p99(c: Contender) -> tuple[str, bool | None]:
    """The median over runs of each run's p99 and of its p99/median, for
    contenders that time each operation (``Clock.lap``)."""
    runs = [smp.extra for smp in c.samples
            if smp is not None and "p99" in smp.extra and smp.extra.get("p50")]
    if not runs:
        return "", None
    p99 = statistics.median(r["p99"] for r in runs)
    spread = statistics.median(r["p99"] / r["p50"] for r in runs)
    return f"{p99 * 1e6:,.0f} µs ({spread:.1f}x)", spread <= P99_TARGET


def _versus(bench: Bench, ours: Contender, peer: Contender) -> str | None:
    paired = [a.value / b.value for a, b in zip(ours.samples, peer.samples, strict=False)
              if a is not None and b is not None]
    if not paired:
        return None
    f = statistics.median(paired)
    if bench.unit == "us":
        ahead = f < 1
        what = f"{1 / f:.2f}x as fast" if ahead else f"{f:.2f}x as slow"
    else:
        ahead = f > 1
        what = f"{f:.2f}x the throughput"
    mark = "ahead of" if ahead else "BEHIND"
    return (f"{bench.title} [{bench.server}]: {ours.label} is {mark} {peer.label}: {what} "
            "(median of paired repetitions)")


def render(rows: list[list[str]], markdown: bool = False) -> str:
    """The table as aligned text, or as a Markdown table."""
    if markdown:
        out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(r)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ------------------------------------------------------------------ memory


def _memory(what: str, url: str, **kw: Any) -> dict[str, Any]:
    args = [sys.executable, "-m", "benchmarks.memory", what, "--url", url]
    for k, v in kw.items():
        args += [f"--{k}"] + ([str(v)] if v != "" else [])
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def memory_section(srv: ServerProcess, sizes: Sizes, want_tws: bool,
                   log: Callable[[str], None]) -> list[list[str]]:
    """RSS per idle connection and RSS over many pushes, each in a fresh process."""
    mib = 1024 * 1024
    rows = [["figure", "client", "result", "target", "verdict"]]
    url = srv.base_url
    srv.set_push(0)
    transports = ["websockets"] + (["trio-websocket"] if want_tws else [])
    for transport in transports:
        label = "okx_trio" + ("" if transport == "websockets" else " [trio-websocket]")
        try:
            r = _memory("idle", url, count=sizes.idle_clients, transport=transport)
            per = r["per_connection"]
            rows.append([f"RSS per idle connection ({r['connections']} logged in)", label,
                         f"{per / 1024:,.0f} KiB", "< 1 MiB", "meets" if per < mib else "MISSES"])
        except Exception as exc:
            rows.append(["RSS per idle connection", label, f"failed: {exc}", "", ""])
        log(f"  memory: idle connections [{transport}] done")
    try:
        r = _memory("idle-floor", url, count=sizes.idle_clients * 2)
        rows.append([f"RSS per idle connection ({r['connections']} logged in)", "floor",
                     f"{r['per_connection'] / 1024:,.0f} KiB", "", ""])
    except Exception as exc:
        rows.append(["RSS per idle connection", "floor", f"failed: {exc}", "", ""])
    if subscriptions_missing() is None:
        for transport in transports:
            n = sizes.rss_pushes if transport == "websockets" else sizes.rss_pushes_tws
            label = "okx_trio" + ("" if transport == "websockets" else " [trio-websocket]")
            srv.set_push(n)
            try:
                r = _memory("pushes", url, n=n, transport=transport)
                smp = r["samples"]
                # Growth after the first tenth (imports, buffers and caches warm up there).
                base = smp[1] if len(smp) > 2 else smp[0]
                growth = max(smp) - base
                flat = growth < 4 * mib
                note = f", {r['dropped']:,} dropped" if r.get("dropped") else ""
                rows.append([f"RSS growth over {n:,} pushes (after the first {n // 10:,})",
                             label, f"{growth / mib:+.1f} MiB (RSS {base / mib:.0f} -> "
                             f"{smp[-1] / mib:.0f} MiB, {r['rate']:,.0f}/s{note})",
                             "flat (< 4 MiB)", "meets" if flat else "MISSES"])
            except Exception as exc:
                rows.append(["RSS growth over pushes", label, f"failed: {exc}", "", ""])
            log(f"  memory: {n:,} pushes [{transport}] done")
    else:
        rows.append(["RSS growth over pushes", "okx_trio", subscriptions_missing() or "", "",
                     ""])
    return rows


# --------------------------------------------------------------------- main


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


GROUPS = ("rtt", "pipelined", "push", "books", "memory", "tws", "peers", "simulator", "hop")

GROUPS_HELP = """groups (all run by default):
  rtt        sequential order round trip (submit_new_order, WsClient.request)
  pipelined  100 submit_new_order calls in flight from concurrent tasks
  push       tickers pushed as fast as the server can, subscribe + async for
  books      books updates (5+5 levels), subscribe + async for
  memory     RSS per idle connection, RSS growth over 1 M pushes (fresh processes)
  tws        the okx_trio rows again with transport="trio-websocket", and a raw
             trio-websocket client for scale
  peers      python-okx, ccxt (bench extra) and okx-api (Node, benchmarks/node)
  simulator  the order benchmarks against okx_trio's simulator (second server)
  hop        a benchmarks-only variant in which the caller writes its own frame:
             what the hand-off to okx_trio's writer task costs (not a proposal)
  floor      with --only: just the servers and the floor (the smoke test)"""


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks``: run, print the table, optionally save JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=GROUPS_HELP)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and 3 repetitions (under a minute)")
    parser.add_argument("--reps", type=int, help="repetitions (default 7, --quick 3)")
    parser.add_argument("--only", help="comma-separated groups: floor (the floor and server "
                        "capacity only), " + ", ".join(GROUPS))
    parser.add_argument("--skip", help="comma-separated groups to leave out")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--json", help="write every sample to this file")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log every contender run on stderr")
    parser.add_argument("--profile", action="store_true",
                        help="profile okx_trio's hot paths instead (with --only: some of "
                        "profiles, own, inproc, push, steps, tls, syscalls, ladder)")
    args = parser.parse_args(argv)

    if args.profile:
        from .profile import main as profile_main

        return profile_main(quick=args.quick,
                            only=set(args.only.split(",")) if args.only else None)

    sizes = QUICK if args.quick else FULL
    reps = args.reps or sizes.reps
    groups = set(args.only.split(",")) if args.only else set(GROUPS)
    if args.skip:
        groups -= set(args.skip.split(","))
    if groups == {"floor"}:
        reps = args.reps or 1
    started = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    print(f"okx_trio benchmarks: {'quick' if args.quick else 'full'} run, {reps} interleaved "
          f"repetitions, all on 127.0.0.1")
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average at start {_loadavg()}")
    print("client-side rate limiting is OFF in every okx_trio client (rate_limit=False); "
          "ccxt runs with enableRateLimit=False, offline (hand-made markets dict, no REST)")

    with ServerProcess("benchmarks.server", "minimal") as srv:
        print("server 'minimal': benchmarks/server.py in a separate process (blocking sockets, "
              "a thread per connection), so client and server each get a core; it accepts "
              "any login, acks every order op with a canned answer echoing id and clOrdId, "
              "and streams pre-encoded pushes")
        srv.set_push(sizes.pushes)
        cap = trio.run(floor.raw_capacity, srv.base_url + "/ws/v5/public", sizes.pushes,
                       "tickers")
        log("server capacity measured")
        sim: ServerProcess | None = None
        if "simulator" in groups:
            try:
                sim = ServerProcess("benchmarks.simserver", "simulator")
                print("server 'simulator': okx_trio.testing.open_simulator(rate_limit=False, "
                      "market_interval=None) in a separate process; orders are real (IOC "
                      "below the market: accepted, then cancelled unfilled)")
            except Exception as exc:
                print(f"server 'simulator': skipped ({exc})")
        try:
            benches = build(sizes, srv, sim, groups)
            results: dict[str, Any] = {"sizes": sizes.__dict__, "reps": reps, "benches": []}
            for bench in benches:
                server = srv if bench.server == "minimal" else sim
                run_bench(bench, reps, server, log, args.verbose)
            srv.set_push(0)
            mem_rows = memory_section(srv, sizes, "tws" in groups, log) \
                if "memory" in groups else None
        finally:
            if sim is not None:
                sim.close()

    rows, summary = table(benches)
    print()
    # The server's own cost, measured on the floor's runs.
    for bench in benches:
        fl = next(c for c in bench.contenders if c.role == "floor")
        if bench.server == "minimal" and bench.group == "rtt":
            per_op = [smp.extra["server_cpu"] / (sizes.rtt + floor.WARMUP)
                      for smp in fl.samples if smp is not None and "server_cpu" in smp.extra]
            rtt = statistics.median(smp.value for smp in fl.samples if smp is not None)
            if per_op:
                print(f"server cost: {statistics.median(per_op) * 1e6:.0f} µs of server CPU per "
                      f"order round trip ({statistics.median(per_op) / rtt:.0%} of the floor's "
                      f"{rtt * 1e6:.0f} µs); it is the same for every contender, so it dilutes "
                      f"wall-clock ratios towards 1 (the client CPU column does not include it)")
        if bench.server == "minimal" and bench.group == "push":
            rate = statistics.median(smp.value for smp in fl.samples if smp is not None)
            print(f"server capacity: {cap:,.0f} tickers/s into a socket that only counts bytes, "
                  f"{cap / rate:.0f}x the floor's {rate:,.0f}/s: pushes are client-bound")
    if not any(b.group == "push" for b in benches):
        print(f"server capacity: {cap:,.0f} tickers/s into a socket that only counts bytes")
    print()
    print("Ratios are contender / floor within each repetition (median, min-max): for µs "
          "figures lower is better, for /s figures higher is better. 'best/best' divides the "
          "best run of each (the least disturbed by other processes). 'client CPU/op ratio' "
          "compares the client process's own CPU time per operation (median).")
    print(render(rows, args.markdown))
    if mem_rows is not None:
        print()
        print(render(mem_rows, args.markdown))
    if summary:
        print()
        print("okx_trio against the other clients (same server, same run):")
        for line in summary:
            print("  " + line)
    print()
    print(f"load average at end {_loadavg()}; total {time.perf_counter() - started:.0f} s")
    if args.json:
        for bench in benches:
            results["benches"].append({
                "group": bench.group, "title": bench.title, "server": bench.server,
                "unit": bench.unit,
                "contenders": [{"label": c.label, "role": c.role, "skip": c.skip,
                                "error": c.error,
                                "samples": [None if smp is None else
                                            {"value": smp.value, "cpu": smp.cpu, **smp.extra}
                                            for smp in c.samples]}
                               for c in bench.contenders]})
        results["memory"] = mem_rows
        results["capacity"] = cap
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0
