"""Fixtures shared by the client's tests (imported by the conftest of each test folder)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from okx_trio.testing import DEFAULT_CREDENTIALS, Simulator, open_simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A simulator with the default account and no market task: the common set-up."""
    async with open_simulator(accounts=[DEFAULT_CREDENTIALS], market_interval=None) as simulator:
        yield simulator
