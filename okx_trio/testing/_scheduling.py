"""Seeded task scheduling for replays: the same bot, recording and seed give the
same run, whatever order trio would otherwise pick for tasks woken together.

Trio runs the tasks woken in one scheduler pass in a random order (it reverses
the batch half of the time, from an unseeded generator), on purpose, so that
code cannot come to rely on an order trio does not promise. A bot is several
tasks (a book loop, an orders-channel loop, the client's readers), and a push
that wakes two of them lets either react first: one run cancels a quote before
the fill arrives, the next after. No lockstep between the replay's records can
order tasks that wake in the same pass.

Trio has the switch this needs, for Hypothesis: in its deterministic mode each
pass is sorted by task creation order and shuffled by trio's own generator,
which Hypothesis seeds per example. A replay does the same for the time it runs:
it turns that mode on and seeds the generator with the simulator's seed, and
puts both back afterwards. Those are trio internals (``trio._core._run``), so
their absence is an error that says so, not a replay that quietly stops repeating
itself.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import trio

__all__ = ["seeded_scheduling"]

_FLAG = "_ALLOW_DETERMINISTIC_SCHEDULING"
_RNG = "_r"

_depth = 0
_saved: tuple[Any, object] | None = None


def _runner_module() -> ModuleType:
    module: ModuleType = trio._core._run
    if not isinstance(getattr(module, _RNG, None), random.Random) or not isinstance(
            getattr(module, _FLAG, None), bool):
        raise RuntimeError(
            f"trio {trio.__version__} has no seedable scheduler (trio._core._run.{_FLAG} "
            f"and .{_RNG}): a replay could not repeat itself; use the trio version "
            "okx-trio's tests pass on")
    return module


@contextmanager
def seeded_scheduling(seed: int) -> Iterator[None]:
    """Within the block, trio schedules tasks woken together in an order drawn
    from ``seed`` (see the module docstring). Nested blocks (two replays in one
    process) keep the outermost seed; the last one out restores trio's state.

    Raises:
        RuntimeError: this trio has no seedable scheduler.
    """
    global _depth, _saved
    module = _runner_module()
    rng: random.Random = getattr(module, _RNG)
    if _depth == 0:
        _saved = (rng.getstate(), getattr(module, _FLAG))
        rng.seed(seed)
        setattr(module, _FLAG, True)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _saved is not None:
            state, flag = _saved
            _saved = None
            rng.setstate(state)
            setattr(module, _FLAG, flag)
