"""Fixtures of the simulator's tests: the engine on a settable clock.

A module sets its engine options by overriding ``exchange_options``; ``ex`` is
an engine built with them, ``make_exchange(**more)`` builds others on the same
clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from simulator_support import Clock, new_exchange

from okx_trio.testing._engine import Exchange


@pytest.fixture
def clock() -> Clock:
    """The engine's clock, at ``T0``; set ``clock.t`` to move it."""
    return Clock()


@pytest.fixture
def exchange_options() -> dict[str, Any]:
    """Engine options of a module's tests (override in the module); default: the engine's."""
    return {}


@pytest.fixture
def make_exchange(
    clock: Clock, exchange_options: dict[str, Any]
) -> Callable[..., Exchange]:
    """Build an engine on ``clock``: the module's options, updated with the call's."""

    def make(**options: Any) -> Exchange:
        return new_exchange(clock, **{**exchange_options, **options})

    return make


@pytest.fixture
def ex(make_exchange: Callable[..., Exchange]) -> Exchange:
    """An engine with the module's options."""
    return make_exchange()
