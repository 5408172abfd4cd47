"""The sans-I/O windows behind connection pacing and the control budget, and the backoff.

Synchronous: every time is a number passed in.
"""

from __future__ import annotations

import math
import random

import pytest
import trio
import trio.testing

from okx_trio._connection import CONTROL_LIMIT, CONTROL_SPAN, Connection
from okx_trio._okx import CONNECT_LIMIT, CONTROL_BUDGET, CONTROL_WINDOW
from okx_trio._pacing import Backoff, ConnectPacer
from okx_trio._ratelimit import EventWindow
from okx_trio._transport import memory_pair


def test_event_window_counts_each_event_for_exactly_one_window() -> None:
    w = EventWindow(CONNECT_LIMIT, 1.0)
    for t in (0.0, 0.1, 0.2):
        assert w.ready_at(t) == -math.inf
        w.record(t)
    assert w.ready_at(0.5) == 1.0  # the oldest event frees its slot at t + window
    assert w.ready_at(0.999) == 1.0
    assert w.ready_at(1.0) == -math.inf
    w.record(1.0)
    assert w.ready_at(1.0) == 1.1


def test_control_budget_is_480_frames_per_hour() -> None:
    assert (CONTROL_BUDGET, CONTROL_WINDOW) == (480, 3600.0)
    w = EventWindow(CONTROL_BUDGET, CONTROL_WINDOW)
    for k in range(CONTROL_BUDGET):
        assert w.ready_at(k) == -math.inf
        w.record(k)
    assert w.ready_at(CONTROL_BUDGET) == CONTROL_WINDOW
    assert w.ready_at(CONTROL_WINDOW) == -math.inf


async def test_each_connection_keeps_its_own_control_budget() -> None:
    a, _ = memory_pair(4)
    one, two = Connection(a, 1, "private"), Connection(a, 2, "private")
    assert (one.control.limit, one.control.window) == (CONTROL_LIMIT, CONTROL_SPAN)
    assert CONTROL_LIMIT < CONTROL_BUDGET
    assert CONTROL_SPAN > CONTROL_WINDOW
    one.control.record(0.0)
    assert one.control is not two.control


class Top(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_doubles_from_the_initial_delay_up_to_the_cap() -> None:
    b = Backoff(0.1, 30.0, Top())
    assert [b.delay(n) for n in (1, 2, 3, 4)] == pytest.approx([0.1, 0.2, 0.4, 0.8])
    assert b.delay(20) == 30.0
    jitter = Backoff(0.1, 30.0, random.Random(7))
    assert all(0 <= jitter.delay(n) <= min(30.0, 0.1 * 2 ** (n - 1)) for n in range(1, 30))


async def test_connect_pacing_keeps_a_margin_under_okxs_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # OKX counts connections when they arrive, and each one's TCP, TLS and upgrade
    # take their own time: four paced exactly one second apart can arrive within
    # one second of each other (429). The pacer leaves a margin for that jitter.
    pacer = ConnectPacer()
    times = []
    for _ in range(3 * CONNECT_LIMIT + 1):
        await pacer.wait()
        times.append(trio.current_time())
    spans = [b - a for a, b in zip(times, times[CONNECT_LIMIT:], strict=False)]
    assert min(spans) >= 1.2
    assert max(spans) < 1.5  # a margin, not a slowdown
