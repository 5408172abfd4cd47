"""The client internals tests assert on, reached in one place.

Tests check what users cannot see (no request slot left behind, tables
emptied, the rate limiter's buckets, the tasks in the client's nursery);
every such reach goes through here, so a change of the internals is one edit.
"""

from __future__ import annotations

from typing import Any

import trio

from okx_trio import WsApiClient, WsClient
from okx_trio._core import ClientCore
from okx_trio._session import Session


def core(client: WsClient | WsApiClient) -> ClientCore:
    """The core a client is built on."""
    return client._core


def sessions(client: WsClient | WsApiClient) -> list[Session]:
    """The sessions (connections) the client opened so far."""
    return list(core(client).sessions.values())


def no_pending(client: WsClient | WsApiClient) -> bool:
    """True when no request waits for an answer on any connection."""
    return all(not s.pending for s in sessions(client))


def tables(client: WsClient | WsApiClient) -> dict[str, int]:
    """Sizes of the subscription tables (server subscriptions, books, unsubscribes)."""
    return core(client).tables()


def unrouted(client: WsClient | WsApiClient) -> int:
    """Pushes that matched no subscription."""
    return core(client).subscriptions().unrouted


def nursery(client: WsClient | WsApiClient) -> trio.Nursery:
    """The client's nursery (its background tasks)."""
    return core(client).nursery


async def connect(client: WsClient | WsApiClient, kind: str) -> None:
    """Open (and log in) connection ``kind`` now."""
    await core(client).ensure_connected(kind)


def tracker_state(api: WsApiClient) -> Any:
    """The running order tracker's state (its table of orders), or ``None``."""
    return api._tracker_state


def subscription_states(client: WsClient | WsApiClient) -> list[tuple[dict[str, str], str]]:
    """``(arg, state)`` of each server subscription (``subscribing``, ``live``...)."""
    return [(ss.arg, ss.state) for ss in core(client).subscriptions()._subs.values()]


def rest_built(client: WsClient | WsApiClient) -> bool:
    """True once the client's REST helper exists (built when the client opens)."""
    return core(client)._rest is not None


def transports(client: WsClient | WsApiClient) -> list[Any]:
    """The transports of the client's open connections (one per connection kind)."""
    return [s.active.transport for s in sessions(client) if s.active is not None]
