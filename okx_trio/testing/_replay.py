"""Replaying a recording in the simulator: ``Replay`` (``sim.replay``).

The driver (``Replay.run``, a task of the simulator) reads the recording
and hands each record to the engine (``_engine.Exchange.market_event``)
at its time: the recorded pace (``speed=1``), ``speed`` times faster, or as
fast as the process keeps up (``speed=None``, ``--speed max``). Under
``trio.testing.MockClock`` the recorded pace is virtual time, so a day of data
replays in the time the bot needs to react to it.

Lockstep (on under ``MockClock`` and at the maximum speed): before each record
the driver waits until every other task of the process is blocked, so a bot
running in the same process (over in-memory connections) has reacted to every
push before the next record arrives, whatever trio's scheduler does with tasks
woken together. That makes a replay deterministic: the same recording, seed
and bot give the same fills, run after run.

The exchange's clock (``ts`` of orders, fills and account pushes, ``expTime``
and rate windows) is the replay's: the receive time of the record applied
last, advancing at ``speed`` between records; login and REST signature
windows stay on the wall clock, which is what clients sign with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any, Final

import attrs
import trio
import trio.testing

from .._recording_format import RecordedGap, RecordedPush
from .._recording_io import Recording
from ._emits import Emit
from ._engine_model import InstrumentSpec
from ._replay_market import ReplayMarket

__all__ = ["Replay", "ReplayStep", "instrument_specs"]

log = logging.getLogger("okx_trio.simulator")

PEEK_RECORDS: Final = 10_000
"""Records read at the start for each instrument's first price."""


@attrs.frozen
class ReplayStep:
    """One record applied by a replay (what ``Replay.add_listener`` callbacks get)."""

    record: RecordedPush | RecordedGap
    """The record."""
    index: int
    """Its position in the recording (0 first)."""
    time_ms: int
    """The exchange's clock when it was applied (its receive time, Unix ms)."""
    clock: float
    """``trio.current_time()`` when it was applied."""


def _first_prices(recording: Recording, inst_ids: set[str]) -> dict[str, str]:
    """A first price per instrument, from the start of the recording."""
    found: dict[str, str] = {}
    records: Iterator[RecordedPush | RecordedGap] = iter(recording)
    for rec in islice(records, PEEK_RECORDS):
        if not isinstance(rec, RecordedPush) or rec.inst_id not in inst_ids:
            continue
        if rec.inst_id in found or not rec.data or not isinstance(rec.data[0], dict):
            continue
        item = rec.data[0]
        px: Any = item.get("last") or item.get("px")
        if px is None:
            bids, asks = item.get("bids") or [[None]], item.get("asks") or [[None]]
            px = bids[0][0] or asks[0][0]
        if isinstance(px, str) and px:
            found[rec.inst_id] = px
        if len(found) == len(inst_ids):
            break
    return found


def _spec(item: dict[str, Any], start_px: str) -> InstrumentSpec:
    """An engine instrument from an item of ``GET /api/v5/public/instruments``."""

    def text(name: str) -> str:
        value = item.get(name, "")
        return value if isinstance(value, str) else str(value)

    code = item.get("instIdCode")
    inst_type = text("instType")
    derivative = inst_type in ("SWAP", "FUTURES", "OPTION")
    return InstrumentSpec(
        inst_id=text("instId"), inst_type=inst_type,
        inst_id_code=int(code) if isinstance(code, (int, str)) and str(code).isdigit() else None,
        tick_sz=text("tickSz"), lot_sz=text("lotSz"), min_sz=text("minSz"),
        start_px=start_px, level_sz=text("minSz") or "1",
        base_ccy=text("baseCcy"), quote_ccy=text("quoteCcy"), settle_ccy=text("settleCcy"),
        ct_val=text("ctVal") if derivative else "", ct_mult=text("ctMult") if derivative else "",
        ct_val_ccy=text("ctValCcy"), inst_family=text("instFamily"),
        lever=(text("lever") or "1") if derivative else "",
        max_lmt_sz=text("maxLmtSz") or "10000000", max_mkt_sz=text("maxMktSz") or "1000000",
        opt_type=text("optType"), stk=text("stk"), exp_time=text("expTime"),
        list_time=text("listTime") or "1600000000000",
    )


def instrument_specs(
    recording: Recording, fallback: Sequence[InstrumentSpec]
) -> list[InstrumentSpec]:
    """The engine's instruments for a replay: each recorded instrument, from the
    header's definitions or else from ``fallback``, starting at its first recorded price.

    Raises:
        ValueError: a recorded instrument has no definition anywhere.
    """
    inst_ids = {a["instId"] for a in recording.header.channels
                if isinstance(a.get("instId"), str)}
    defined = {str(i.get("instId")): dict(i) for i in recording.header.instruments}
    known = {s.inst_id: s for s in fallback}
    missing = sorted(inst_ids - set(defined) - set(known))
    if missing:
        raise ValueError(
            f"the recording has no definition of {', '.join(missing)} (it was made with "
            "instruments=False or the lookup failed): pass instruments= to the simulator")
    prices = _first_prices(recording, inst_ids)
    specs = []
    for inst_id in sorted(inst_ids):
        px = prices.get(inst_id)
        try:
            ok = px is not None and Decimal(px) > 0
        except InvalidOperation:
            ok = False
        if inst_id in defined:
            specs.append(_spec(defined[inst_id], px if ok and px else "1"))
        else:
            spec = known[inst_id]
            specs.append(attrs.evolve(spec, start_px=px) if ok and px else spec)
    return specs


class Replay:
    """The replay of a recording in a running simulator (``sim.replay``).

    Not constructed directly: ``open_simulator(replay=...)``.

    Attributes:
        recording: the ``okx_trio.Recording`` replayed.
        speed: the pace, 1.0 the recorded one; ``None``: as fast as possible.
        applied: records applied so far.
        lockstep: each record waits until every other task is blocked (see
            the module docstring).
    """

    def __init__(self, recording: Recording, *, speed: float | None, start: str,
                 lockstep: bool | None = None, book_snapshots: bool = True) -> None:
        if start not in ("subscribe", "now", "manual"):
            raise ValueError("replay_start must be 'subscribe', 'now' or 'manual'")
        self.recording = recording
        self.market = ReplayMarket(recording.header.channels, self.subscribed,
                                   book_snapshots=book_snapshots)
        """The engine's market source (``okx_trio.testing._replay_market.ReplayMarket``)."""
        self.speed = speed
        self.start_mode = start
        self.applied = 0
        self.lockstep: bool | None = lockstep
        self._started = trio.Event()
        self._done = trio.Event()
        self._listeners: list[Callable[[ReplayStep], None]] = []
        self._on_done: list[Callable[[], None]] = []
        self._anchor_ms = recording.header.start_ns // 1_000_000
        self._anchor_clock: float | None = None
        self._last_ms = self._anchor_ms
        if start == "now":
            self._started.set()

    def __repr__(self) -> str:
        return (f"<Replay {self.recording.paths[0].name} applied={self.applied} "
                f"done={self.done}>")

    @property
    def started(self) -> bool:
        """True once the replay began."""
        return self._started.is_set()

    @property
    def done(self) -> bool:
        """True once every record was applied."""
        return self._done.is_set()

    def start(self) -> None:
        """Begin now (idempotent); ``replay_start="subscribe"`` calls it at the first
        subscription to a recorded channel."""
        self._started.set()

    def subscribed(self) -> None:
        """A client subscribed to a recorded channel."""
        if self.start_mode == "subscribe":
            self.start()

    async def wait_started(self) -> None:
        """Until the replay began."""
        await self._started.wait()

    async def wait_done(self) -> None:
        """Until every record was applied (in lockstep: and every task of the process
        had blocked again, so in-process bots have reacted to the last pushes).
        Bound it yourself."""
        await self._done.wait()

    def add_listener(self, callback: Callable[[ReplayStep], None]) -> None:
        """Call ``callback`` after each record is applied (and its pushes delivered)."""
        self._listeners.append(callback)

    def top(self, inst_id: str, depth: int = 1
            ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """The recorded book of ``inst_id`` as the engine holds it now (what the bots'
        orders left of it included): ``(bids, asks)``, ``depth`` levels each,
        ``(price, size)`` best first."""
        return self.market.top(inst_id, depth)

    def on_done(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once every record was applied."""
        self._on_done.append(callback)

    def now_ms(self) -> int:
        """The exchange's clock: the last record's receive time, advancing at ``speed``."""
        ms = self._anchor_ms
        if self._anchor_clock is not None and self.speed is not None:
            # Rounded, not truncated: the float error of trio's clock differs with
            # its magnitude, and must not move a timestamp by a millisecond.
            ms += round((trio.current_time() - self._anchor_clock) * self.speed * 1000)
        self._last_ms = max(self._last_ms, ms)
        return self._last_ms

    async def run(self, apply: Callable[[Any], list[Emit]],
                  deliver: Callable[[list[Emit]], None]) -> None:
        """Apply every record at its time (the simulator runs this task)."""
        await self._started.wait()
        lockstep = self.lockstep
        if lockstep is None:
            lockstep = self.speed is None or isinstance(trio.lowlevel.current_clock(),
                                                        trio.testing.MockClock)
        start_clock = trio.current_time()
        first_t: int | None = None
        for index, record in enumerate(self.recording):
            if first_t is None:
                first_t = record.t
            if self.speed is not None:
                await trio.sleep_until(start_clock + (record.t - first_t) / 1e9 / self.speed)
            if lockstep:
                await trio.testing.wait_all_tasks_blocked()
            else:
                await trio.lowlevel.checkpoint()
            self._anchor_ms = record.t // 1_000_000
            self._anchor_clock = trio.current_time()
            deliver(apply(record))
            self.applied += 1
            if self._listeners:
                step = ReplayStep(record, index, self.now_ms(), self._anchor_clock)
                for callback in self._listeners:
                    callback(step)
        if self.recording.problems:
            for problem in self.recording.problems:
                log.warning("replay: %s", problem)
        if lockstep:
            # Done means reacted to as well: the bots have had the last pushes.
            await trio.testing.wait_all_tasks_blocked()
        self._done.set()
        for done in self._on_done:
            done()
