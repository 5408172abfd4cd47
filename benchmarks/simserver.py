"""okx_trio's simulator as the second benchmark server, in its own process.

``python -m benchmarks.simserver`` runs ``open_simulator`` with its rate
and connection limits off, no market walk and no idle timeout, prints
``READY <port> {"code": <instIdCode of BTC-USDT>}`` and obeys the commands of
``server.py`` on stdin (``stats``, ``quit``; ``push`` is refused: the simulator
has no bulk push mode, so only the order round trips run against it). Orders are
real here: matched, booked and acknowledged by the exchange engine.
"""

from __future__ import annotations

import json
import os
import sys
import time

import trio

from okx_trio.testing import open_simulator

from .contenders import CREDS


async def _commands(cancel: trio.CancelScope) -> None:
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    buf = b""
    while True:
        data = await stdin.receive_some(4096)
        if not data:
            break
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            words = line.decode().split()
            if not words:
                continue
            if words[0] == "stats":
                _reply({"cpu": time.process_time()})
            elif words[0] == "quit":
                cancel.cancel()
                return
            else:
                _reply({"ok": False, "error": f"not supported by the simulator: {words[0]}"})
    cancel.cancel()


def _reply(obj: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main() -> None:
    """Serve until ``quit`` or the end of stdin."""
    # Benchmarks open their clients back to back: OKX's 3 new connections per
    # second would time the pacing, not the clients (as the rate limits would).
    async with open_simulator(accounts=[CREDS], rate_limit=False, market_interval=None,
                              idle_timeout=None, connect_limit=None) as sim:
        code = sim.engine.instruments["BTC-USDT"].spec.inst_id_code
        sys.stdout.write(f"READY {sim.port} {json.dumps({'code': code})}\n")
        sys.stdout.flush()
        with trio.CancelScope() as scope:
            await _commands(scope)


if __name__ == "__main__":
    trio.run(main)
