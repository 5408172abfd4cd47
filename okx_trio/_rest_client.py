"""``open_rest_client``: OKX's REST API on its own, for scripts that need no WebSocket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ._core import open_core
from ._options import ClientOptions
from ._rest_api import RestApiClient

__all__ = ["open_rest_client"]


@asynccontextmanager
async def open_rest_client(**options: Any) -> AsyncIterator[RestApiClient]:
    """Open a REST client for the duration of an ``async with`` block.

    Takes the keyword options of ``open_ws_client`` (those of
    ``ClientOptions``); the ones REST uses are ``credentials``,
    ``market``, ``demo_trading``, ``rest_url`` (or ``base_url``, whose host and
    port it takes), ``ssl_context``, ``transport`` (a simulator's
    ``connect_memory()`` serves REST in memory), ``request_timeout``,
    ``send_exp_time`` and ``rate_limit``. Entering does not block on the
    network; exiting closes the HTTP connections.

    ::

        async with okx_trio.open_rest_client(credentials=creds) as rest:
            balance = await rest.balance("USDT")
            async for fill in rest.fills_history("SPOT", limit=500):
                ...

    Raises:
        TypeError, ValueError: an unknown or invalid option.
    """
    opts = ClientOptions(**options)
    async with open_core(opts) as core:
        yield core.rest_api
