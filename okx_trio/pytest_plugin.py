"""okx_trio's pytest plugin: a simulator and clients connected to it, as fixtures.

Installed with okx-trio (the ``pytest11`` entry point ``okx_trio``), so any
project's tests can ask for these fixtures; a test that asks for none is not
touched (the plugin has no hooks besides registering its marker). They are
async fixtures: the tests need pytest-trio (``trio_mode = true``, or
``@pytest.mark.trio``).

* ``okx_simulator``: an in-process simulator (``open_simulator``), the random
  walk or, given a recording, its replay;
* ``okx_client``: a ``WsClient`` connected to it in memory (no credentials);
* ``okx_api``: a ``WsApiClient`` logged in as ``okx_credentials``, in memory;
* ``okx_credentials``: the account (``DEFAULT_CREDENTIALS``);
* ``okx_recording``: the recording to replay (``None``: the random walk);
* ``okx_simulator_options``: more ``open_simulator`` arguments.

The clients use in-memory connections, so pytest-trio's ``autojump_clock``
fixture runs everything on virtual time: a replay's hours in a moment, always
the same. Configure per test with the marker::

    @pytest.mark.okx_simulator(replay="btc.jsonl.gz", seed=3)
    async def test_bot(okx_api, autojump_clock): ...

or per module or conftest by overriding ``okx_recording`` /
``okx_simulator_options`` (fixtures of the same name win).

Names all start with ``okx_`` so they never clash with a project's own.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from okx_trio import Credentials, Recording, WsApiClient, WsClient
    from okx_trio.testing import Simulator

__all__ = [
    "okx_api",
    "okx_client",
    "okx_credentials",
    "okx_recording",
    "okx_simulator",
    "okx_simulator_options",
]

MARKER = "okx_simulator"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``okx_simulator`` marker (so ``--strict-markers`` knows it)."""
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): open_simulator() arguments for okx_trio's "
        "okx_simulator fixture (replay=, seed=, market_interval=...)")


@pytest.fixture
def okx_credentials() -> Credentials:
    """The account the simulator has and ``okx_api`` logs in with."""
    from okx_trio.testing import DEFAULT_CREDENTIALS

    return DEFAULT_CREDENTIALS


@pytest.fixture
def okx_recording() -> str | Path | Recording | None:
    """The recording ``okx_simulator`` replays (override it); ``None``: the random walk."""
    return None


@pytest.fixture
def okx_simulator_options() -> Mapping[str, Any]:
    """More ``open_simulator`` arguments for ``okx_simulator`` (override it)."""
    return {}


@pytest.fixture
async def okx_simulator(
    request: pytest.FixtureRequest,
    okx_credentials: Credentials,
    okx_recording: str | Path | Recording | None,
    okx_simulator_options: Mapping[str, Any],
) -> AsyncIterator[Simulator]:
    """A running simulator with the ``okx_credentials`` account; it replays
    ``okx_recording`` when there is one. The ``okx_simulator`` marker's keywords
    and ``okx_simulator_options`` go to ``open_simulator`` (the marker wins)."""
    from okx_trio.testing import open_simulator

    options: dict[str, Any] = {"accounts": [okx_credentials]}
    if okx_recording is not None:
        options["replay"] = okx_recording
    options.update(okx_simulator_options)
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args:
            raise TypeError(f"@pytest.mark.{MARKER} takes keyword arguments only")
        options.update(marker.kwargs)
    async with open_simulator(**options) as sim:
        yield sim


@pytest.fixture
async def okx_client(okx_simulator: Simulator) -> AsyncIterator[WsClient]:
    """A ``WsClient`` (public data, no login) connected to ``okx_simulator`` in memory."""
    import okx_trio

    async with okx_trio.open_ws_client(base_url=okx_simulator.base_url,
                                       transport=okx_simulator.connect_memory()) as client:
        yield client


@pytest.fixture
async def okx_api(okx_simulator: Simulator, okx_credentials: Credentials,
                  ) -> AsyncIterator[WsApiClient]:
    """A ``WsApiClient`` logged in as ``okx_credentials``, connected to
    ``okx_simulator`` in memory; its ids come from a fixed seed, so a replayed
    run repeats them."""
    import okx_trio

    async with okx_trio.open_ws_api_client(
        credentials=okx_credentials, base_url=okx_simulator.base_url,
        transport=okx_simulator.connect_memory(), id_prefix="okx", random=random.Random(0),
    ) as api:
        yield api
