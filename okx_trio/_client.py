"""``open_ws_client`` and ``WsClient``: the nursery-scoped OKX WebSocket client."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import trio

from . import _clock
from ._answers import expired
from ._books import LiveOrderBook
from ._core import KINDS, ClientCore, open_core
from ._events import EventStream
from ._exceptions import OkxApiError
from ._models import ClientStatistics, ConnectionName, Response
from ._okx import EXP_TIME_OPS, RESERVED_OPS, route_op
from ._options import ClientOptions
from ._rest_api import RestApiClient
from ._subscriptions import Subscription
from ._urls import target_of

__all__ = ["WsClient", "open_ws_client"]


class WsClient:
    """The OKX WebSocket client. Not constructed directly: use ``open_ws_client``."""

    def __init__(self, core: ClientCore) -> None:
        self._core = core

    def __repr__(self) -> str:
        core = self._core
        up = [k for k, s in core.sessions.items() if s.active is not None]
        o = core.options
        where = target_of(base_url=o.base_url, market=o.market, demo_trading=o.demo_trading)
        state = " closed" if core.closed else f" connected={up}"
        return f"<WsClient {where}{state}>"

    @property
    def options(self) -> ClientOptions:
        """The options the client was opened with."""
        return self._core.options

    # ------------------------------------------------------------------ time

    @property
    def time_offset_ms(self) -> int:
        """Milliseconds added to the local clock for login timestamps and ``expTime``."""
        return self._core.time_offset_ms

    def set_time_offset_ms(self, ms: int) -> None:
        """Set the offset between the exchange's clock and the local clock."""
        self._core.set_time_offset_ms(ms)

    def now_ms(self) -> int:
        """The exchange's idea of now: local wall clock plus the offset."""
        return self._core.now_ms()

    async def sync_time(self, timeout: float | None = None) -> int:
        """Measure the offset from ``GET /api/v5/public/time``, apply it and return it.

        Args:
            timeout: seconds; ``None``: the client's ``request_timeout``;
                ``math.inf``: no deadline.

        Raises:
            OkxRequestTimeout: no whole answer before the deadline.
            OkxError: the REST request failed.
            trio.ClosedResourceError: the client is closed.
        """
        self._core.check_open()
        return await self._core.sync_time(timeout)

    @property
    def rest(self) -> RestApiClient:
        """The client's REST API (market data, account, trade and spread endpoints).

        It shares the client's credentials, clock offset, REST URL, deadlines,
        instrument cache and trade rate limits; see ``RestApiClient``.

        Raises:
            trio.ClosedResourceError: the client is closed.
        """
        self._core.check_open()
        return self._core.rest_api

    # ------------------------------------------------------------------ events

    def events(self) -> AbstractAsyncContextManager[EventStream]:
        """Lifecycle events (open, reconnect, reconnected, authenticated, notice,
        exception, conn-count) as an async iterator, from now until the block exits.

        ``async with ws.events() as events: async for event in events: ...``
        The buffer is bounded (256); when it is full the oldest event is dropped.

        Raises:
            trio.ClosedResourceError: the client is closed.
        """
        self._core.check_open()
        return self._core.events.open_stream()

    # ----------------------------------------------------------------- requests

    async def request(
        self,
        op: str,
        args: Sequence[Mapping[str, Any]],
        *,
        connection: ConnectionName | None = None,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send an OKX trade-style ``op`` with its ``args`` and wait for the answer.

        The connection is chosen from the op (``connection`` overrides it, and is
        required for an op this client does not know). ``login``, ``subscribe`` and
        ``unsubscribe`` have their own API and are refused here.

        Args:
            op: the OKX op, e.g. ``"order"``.
            args: the list of argument objects, OKX field names.
            connection: ``"public"``, ``"private"`` or ``"business"``.
            exp_time: absolute Unix ms after which the exchange must not act; only
                for ops that accept ``expTime``. By default the deadline is sent.
            timeout: seconds; ``None`` uses the client's ``request_timeout``,
                ``math.inf`` means no deadline. A deadline of the caller's own
                (a trio cancel scope around the call) also counts: the earlier
                one is sent as ``expTime``.

        Returns:
            the ``Response`` (``code == "0"``).

        Raises:
            OkxRateLimitError: the exchange answered 50011, 60014 or 50061.
            OkxApiError: the exchange answered with another ``code != "0"``.
            OkxNotSent: the request never reached the socket (safe to retry).
            OkxConnectionLost: sent, then the connection dropped (outcome unknown).
            OkxRequestTimeout: sent, no answer before the deadline (outcome unknown).
            OkxAuthError: the connection's login was refused.
            ValueError, TypeError: invalid arguments; nothing was sent.
            trio.ClosedResourceError: the client is closed (its block has ended).
        """
        self._core.check_open()
        if not isinstance(op, str):
            raise TypeError(f"op must be a str, not {type(op).__name__}")
        if op in RESERVED_OPS:
            raise ValueError(f"op {op!r} has its own API (subscribe() logs in and subscribes)")
        kind: str | None = connection if connection is not None else route_op(op)
        if kind is None:
            raise ValueError(f"unknown op {op!r}: pass connection='private' or 'business'")
        if kind not in KINDS:
            raise ValueError(f"connection must be one of {KINDS}, got {kind!r}")
        if type(args) is not list or any(type(item) is not dict for item in args):
            # The general checks (a list of dicts, the usual case, passes both).
            if isinstance(args, (str, bytes, Mapping)) or not isinstance(args, Sequence):
                raise TypeError("args must be a list of objects (dicts)")
            for i, item in enumerate(args):
                if not isinstance(item, Mapping):
                    raise TypeError(f"args[{i}] must be a mapping, not {type(item).__name__}")
        if exp_time is not None:
            if op not in EXP_TIME_OPS:
                raise ValueError(f"exp_time is not accepted by op {op!r} "
                                 f"(only {', '.join(sorted(EXP_TIME_OPS))})")
            if isinstance(exp_time, bool) or not isinstance(exp_time, int):
                raise TypeError("exp_time must be an int (Unix time in milliseconds)")
        core = self._core
        if kind != "public" and core.options.credentials is None:
            raise ValueError(f"credentials are required for op {op!r} ({kind} connection)")
        return await self._send(op, kind, list(args), exp_time, core.deadline(timeout))

    async def _send(
        self, op: str, kind: str, args: list[Any], exp_time: int | None, deadline: float
    ) -> Response:
        """``request`` once its arguments are checked (internal).

        The typed trade methods (``WsApiClient``) come here directly with the
        args they built from validated models and the deadline they computed,
        so nothing is checked or computed twice on the order path.
        """
        core = self._core
        options = core.options
        if options.credentials is None and kind != "public":
            raise ValueError(f"credentials are required for op {op!r} ({kind} connection)")
        exp_offset = None
        # The request is over for the caller at the earlier of its timeout and the
        # caller's own deadline (a trio scope around the call): that is what the
        # exchange is told, so it never acts on a request the caller gave up on.
        until = min(deadline, trio.current_effective_deadline())
        if (exp_time is None and options.send_exp_time and op in EXP_TIME_OPS
                and math.isfinite(until)):
            # expTime is judged by OKX's clock: measure it first if that is due
            # (asked here first: no coroutine on the usual path, where it is not).
            if core.clock.wanted():
                await core.ensure_clock(until)
            exp_time = core.now_ms() + int((until - trio.current_time()) * 1000)
            exp_offset = core.time_offset_ms
        session = core.session(kind)
        sent_ms = _clock.wall_ms()
        try:
            response = await session.request(
                core.ids(), op, args, exp_time=exp_time, deadline=deadline,
                limiter=core.limiter, exp_offset=exp_offset,
            )
        except OkxApiError as exc:
            if expired(exc):
                core.clock.doubt()
            raise
        if response.in_time is not None or response.out_time is not None:
            core.clock.sample(response.in_time, response.out_time, sent_ms, _clock.wall_ms())
        return response

    # ------------------------------------------------------------ subscriptions

    def subscribe(
        self, *args: Mapping[str, Any], buffer_size: int | None = None
    ) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe to channels for the duration of an ``async with`` block.

        Each arg is a mapping of OKX arg fields (``channel`` required, every
        value a ``str``); it is routed to the public, private or business
        connection by its channel name (unknown names go to public) and sent in
        its own ``subscribe`` request. Private channels go out only after the
        login. Entering returns once every arg is acknowledged (deadline: the
        client's ``request_timeout``); it yields a ``Subscription``, an
        async iterator of ``Push`` and ``Gap``. Several subscribers
        of the same arg share one exchange subscription; the last to leave
        unsubscribes. Exiting unsubscribes, waiting for the ack at most a few
        seconds, even when cancelled.

        Args:
            *args: the channel args, e.g. ``{"channel": "tickers", "instId": "BTC-USDT"}``.
            buffer_size: pushes buffered for a slow reader before the oldest are
                dropped (announced by ``Gap("dropped")``); default 1024, or 8192
                when an arg is an account channel (orders, fills, positions...).

        Raises:
            SubscriptionError: an ``OkxApiError`` naming the refused arg; the args
                acknowledged before were unsubscribed again.
            OkxRequestTimeout, OkxNotSent: no ack before the deadline.
            OkxAuthError: the login of the needed connection was refused.
            ValueError, TypeError: invalid args, or a private channel without
                credentials; nothing was sent.
            trio.ClosedResourceError: the client is closed.
        """
        self._core.check_open()
        return self._core.subscriptions().subscribe(*args, buffer_size=buffer_size)

    def order_book(self, inst_id: str, *, channel: str = "books",
                   snapshot_timeout: float | None = None, max_buffer: int | None = None,
                   ) -> AbstractAsyncContextManager[LiveOrderBook]:
        """A locally maintained, sequence-checked order book (async context manager).

        Entering returns once the book holds its first snapshot; it yields a
        ``LiveOrderBook``. The snapshot is the subscription's WebSocket
        snapshot when OKX sends one, else a REST snapshot joined to the
        updates (OKX's recipe); every later rebuild (a gap, a reset, a checksum
        mismatch) uses REST and costs no subscribe/unsubscribe frame.

        Args:
            inst_id: the instrument, e.g. ``"BTC-USDT"``.
            channel: ``books`` (400 levels), ``books5``, ``bbo-tbt``,
                ``books-l2-tbt``, ``books50-l2-tbt`` (these two log in on the
                public connection and need credentials) or ``books-rpi``
                (with Retail Price Improvement orders; sizes are ``totalQty``,
                ``non_rpi_bids``/``non_rpi_asks`` give ``nonRpiQty``).
                ``books-elp`` is retired (``ValueError`` naming ``books-rpi``).
            snapshot_timeout: seconds a fresh subscription waits, in silence,
                for a WebSocket snapshot before taking a REST snapshot; an
                update arriving first ends the wait at once. Default 2.
            max_buffer: most updates held while a REST snapshot is fetched;
                beyond it they are dropped, readers get ``Gap("resync")`` and
                the resync restarts. Default 10 000.

        Raises:
            SubscriptionError: the exchange refused the subscription.
            OkxRequestTimeout, OkxNotSent: no ack or no snapshot in time.
            ValueError, TypeError: bad ``inst_id``/``channel``/options, or a VIP
                channel without credentials.
            trio.ClosedResourceError: the client is closed.
        """
        self._core.check_open()
        return self._core.books().order_book(inst_id, channel=channel,
                                             snapshot_timeout=snapshot_timeout,
                                             max_buffer=max_buffer)

    def statistics(self) -> ClientStatistics:
        """Counts of pending requests, live connections, reconnects and subscriptions."""
        return self._core.statistics()


@asynccontextmanager
async def open_ws_client(**options: Any) -> AsyncIterator[WsClient]:
    """Open an OKX WebSocket client for the duration of an ``async with`` block.

    Connections open lazily (on the first request or subscription that needs
    them). Entering does not block on the network; exiting closes every
    connection politely (bounded in time) and ends every task the client started.

    An error of the block leaves it as itself; the client's own failures are
    delivered to the calls that wait on them, never as an exception group.
    The options are those of ``ClientOptions``.

    Raises:
        TypeError, ValueError: an unknown or invalid option.
    """
    opts = ClientOptions(**options)
    async with open_core(opts) as core:
        yield WsClient(core)
