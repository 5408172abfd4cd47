"""Memory figures, each measured in a fresh process (``python -m benchmarks.memory``).

* ``idle``: resident memory per idle connection: open ``count`` okx_trio trade
  clients, each holding its two logged-in connections (private and business,
  ``connect_ws_api()``), and divide the VmRSS growth by the number of
  connections (the same with bare floor connections, for scale);
* ``pushes``: VmRSS sampled every ``n / 10`` pushes while one subscription
  consumes ``n`` pushes.

Each prints one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from typing import Any

import trio


def vm_rss() -> int:
    """This process's resident set size in bytes (``VmRSS`` of /proc/self/status)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def _idle_okx(url: str, count: int, transport: str) -> dict[str, Any]:
    import okx_trio

    from .contenders import CREDS, client_options

    # Import and warm every code path once before the baseline.
    async with okx_trio.open_ws_api_client(**client_options(url, transport, CREDS)) as api:
        await api.connect_ws_api()
    gc.collect()
    before = vm_rss()
    async with trio.open_nursery() as nursery:
        ready = trio.Semaphore(0)
        release = trio.Event()

        async def one() -> None:
            async with okx_trio.open_ws_api_client(
                    **client_options(url, transport, CREDS)) as api:
                await api.connect_ws_api()
                ready.release()
                await release.wait()

        for _ in range(count):
            nursery.start_soon(one)
        for _ in range(count):
            await ready.acquire()
        await trio.sleep(0.2)
        gc.collect()
        after = vm_rss()
        release.set()
    conns = 2 * count
    return {"before": before, "after": after, "connections": conns,
            "per_connection": (after - before) / conns}


async def _idle_floor(url: str, count: int) -> dict[str, Any]:
    from . import floor
    from .contenders import CREDS

    creds = (CREDS.api_key, CREDS.secret_key, CREDS.passphrase)
    warm = await floor.Floor.connect(url + "/ws/v5/private")
    await floor.login(warm, creds)
    await warm.aclose()
    gc.collect()
    before = vm_rss()
    conns = []
    for _ in range(count):
        conn = await floor.Floor.connect(url + "/ws/v5/private")
        await floor.login(conn, creds)
        conns.append(conn)
    gc.collect()
    after = vm_rss()
    for conn in conns:
        await conn.aclose()
    return {"before": before, "after": after, "connections": count,
            "per_connection": (after - before) / count}


async def _pushes(url: str, n: int, transport: str) -> dict[str, Any]:
    from .contenders import subscribe_pushes

    samples: list[int] = [vm_rss()]
    result = await subscribe_pushes(url, n, "tickers", "last", transport,
                                    rss_every=max(1, n // 10), rss=samples)
    return {"samples": samples, "rate": result.value, **result.extra}


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``idle``/``idle-floor``/``pushes`` with ``--url``, ``--count``, ``--n``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument("what", choices=["idle", "idle-floor", "pushes"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--transport", default="websockets")
    args = parser.parse_args(argv)
    if args.what == "idle":
        out = trio.run(_idle_okx, args.url, args.count, args.transport)
    elif args.what == "idle-floor":
        out = trio.run(_idle_floor, args.url, args.count)
    else:
        out = trio.run(_pushes, args.url, args.n, args.transport)
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
