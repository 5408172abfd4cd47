"""A local, protocol-faithful OKX v5 exchange for tests, demos and other OKX clients.

Not imported by ``import okx_trio``::

    from okx_trio.testing import open_simulator

    async with open_simulator(accounts=[creds]) as sim:
        sim.base_url          # "ws://127.0.0.1:PORT"
        sim.faults.drop("private", mode="reset")
        transport = sim.connect_memory()   # in-memory connections (MockClock tests)
        http = sim.rest_transport()        # in-memory REST (an httpx transport)

    async with open_simulator(replay="btc.jsonl.gz") as sim:   # a recorded market
        await sim.replay.wait_done()

The same exchange runs from the command line: ``okx-trio simulator``.
"""

from __future__ import annotations

from ._accounts import SimAccount as SimAccount
from ._connection import SimConnection as SimConnection
from ._faults import Faults as Faults
from ._frames import FrameLog as FrameLog, FrameRecord as FrameRecord
from ._replay import Replay as Replay, ReplayStep as ReplayStep
from ._simulator import (
    DEFAULT_CREDENTIALS as DEFAULT_CREDENTIALS,
    Orders as Orders,
    SimMemoryConnector as SimMemoryConnector,
    Simulator as Simulator,
    open_simulator as open_simulator,
)

__all__ = [
    "DEFAULT_CREDENTIALS",
    "Faults",
    "FrameLog",
    "FrameRecord",
    "Orders",
    "Replay",
    "ReplayStep",
    "SimAccount",
    "SimConnection",
    "SimMemoryConnector",
    "Simulator",
    "open_simulator",
]
