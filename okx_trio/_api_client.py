"""``open_ws_api_client`` and ``WsApiClient``: the eleven typed trade methods.

Each method validates its params completely (``_requests``) before anything is
sent, maps ``instId`` to ``instIdCode`` through the per-client instrument cache
(``_instruments``), gives every new order a ``clOrdId`` when the caller did not,
sends through ``WsClient.request`` (which paces to OKX's rate limits and
sends the deadline as ``expTime``), and turns the exchange's answer into
``OrderAck`` values or the precise error (``_answers``, which
believes an answer only when it matches what was sent):

========================================  ==========================================
answer                                    raised
========================================  ==========================================
single op, ``code != "0"``, with an item  ``OkxOrderError`` (``OkxOrderRateLimitError``
                                          when the item's ``sCode`` is 50011/50061)
batch op, ``code`` ``"1"`` or ``"2"``     ``OkxBatchError`` with every item's ack
request-level 50011 / 60014 / 50061       ``OkxRateLimitError``
any other request-level code              ``OkxApiError``
not matching what was sent (item count,   ``OkxProtocolError`` (a batch:
ids, a code the items contradict...)      ``OkxBatchProtocolError``), outcome unknown
========================================  ==========================================

Order tracking (``track_orders=True`` or ``async with api.track_orders()``,
``_tracker``), ``WsApiClient.wait_order`` and ``WsApiClient.resolve``
(``_resolve``) live in their own modules; this module only hooks them into the
order ops: places tell the
tracker which clOrdIds to expect, and every ``OkxConnectionLost`` /
``OkxRequestTimeout`` / ``OkxProtocolError`` records when the exchange has certainly finished with
the request (its ``expTime``, else a settle delay), which ``resolve`` needs to
tell "not on the exchange" from "not yet on the exchange".
"""

from __future__ import annotations

import math
import string
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, Literal

import trio

from ._answers import Kind, judge
from ._client import WsClient
from ._core import ClientCore, open_core
from ._exceptions import (
    OkxApiError,
    OkxBatchError,
    OkxConnectionLost,
    OkxNotSent,
    OkxOrderError,
    OkxProtocolError,
    OkxRequestError,
    OkxRequestTimeout,
)
from ._instruments import InstrumentFetchError
from ._models import Instrument, OrderAck, Resolution, Response, TrackedOrder
from ._okx import PLACE_OPS, route_op
from ._options import ClientOptions
from ._order_prep import check_exp_time, prepare_orders
from ._order_state import DEFAULT_MAX_TERMINAL, DEFAULT_TERMINAL_TTL
from ._requests import (
    AmendOrder,
    AmendSpreadOrder,
    CancelOrder,
    CancelSpreadOrder,
    MassCancel,
    MassCancelSpread,
    PlaceOrder,
    PlaceSpreadOrder,
    coerce,
    coerce_batch,
)
from ._resolve import resolve_outcome
from ._rest_api import RestApiClient
from ._tracker import OrderTracker, TrackerState, open_tracking, run_tracking, wait_for_order

__all__ = ["WsApiClient", "open_ws_api_client"]

_ALNUM: Final = string.ascii_letters + string.digits

OrderParams = PlaceOrder | Mapping[str, Any]
CancelParams = CancelOrder | Mapping[str, Any]
AmendParams = AmendOrder | Mapping[str, Any]


class WsApiClient:
    """OKX's WebSocket trade API as typed methods (okx-api's WebsocketAPIClient).

    Not constructed directly: use ``open_ws_api_client``. Every method
    takes its params as a request model (``PlaceOrder``...) or a mapping with
    OKX's camelCase field names, plus keyword-only ``exp_time`` (absolute Unix
    ms, only on ``order``/``batch-orders``/``amend-order``/``batch-amend-orders``)
    and ``timeout`` (seconds; ``None``: the client's ``request_timeout``;
    ``math.inf``: no deadline).

    Errors common to every method:

    * ``ValueError`` / ``TypeError``: invalid params, nothing was sent;
    * ``OkxNotSent``: never reached the socket (deadline passed while queued or
      rate-limited, instrument list unavailable); safe to retry;
    * ``OkxConnectionLost`` / ``OkxRequestTimeout``: sent, outcome unknown;
    * ``OkxApiError`` and its subclasses: the exchange said no (see the module doc);
    * ``trio.ClosedResourceError``: the client is closed (called after its block).
    """

    def __init__(self, ws_client: WsClient, core: ClientCore) -> None:
        self._ws = ws_client
        self._core = core
        self._cl_ord_ids = core.cl_ord_ids
        self._tracker: OrderTracker | None = None
        self._tracker_state: TrackerState | None = None
        self._unknowns = core.unknowns
        # Orders sent over api.rest are this client's orders too: the tracker
        # expects them and resolve() knows when their outcome is settled.
        core.rest_api.order_hooks = _RestOrderHooks(self)

    def __repr__(self) -> str:
        return f"<WsApiClient {self._ws!r}>"

    @property
    def ws_client(self) -> WsClient:
        """The underlying ``WsClient`` (subscriptions, raw requests, events)."""
        return self._ws

    @property
    def rest(self) -> RestApiClient:
        """The client's REST API (``ws_client.rest``): balances, positions, history,
        candles, and the same order methods over REST as a fallback path.

        Raises:
            trio.ClosedResourceError: the client is closed.
        """
        self._core.check_open()
        return self._core.rest_api

    # ------------------------------------------------------------- utilities

    async def connect_ws_api(self) -> None:
        """Open and log in the private and business connections now.

        Otherwise they open on first use. Blocks until both are logged in.
        With ``sync_clock=True`` (the default) the exchange's clock is measured
        first (``GET /api/v5/public/time``, at most 2 s), so the logins and the
        first order's ``expTime`` use OKX's time.

        Raises:
            OkxAuthError: a login was refused.
            OkxConnectError: a connection cannot be opened (wrong URL, DNS, TLS,
                HTTP 4xx): raised as soon as the attempt fails.
            OkxNotSent: a connection could not be opened in time (its
                ``__cause__`` is the last failed attempt).
            ValueError: the client has no credentials.
            trio.ClosedResourceError: the client is closed.
        """
        self._core.check_open()
        if self._core.options.credentials is not None:
            await self._core.ensure_clock(math.inf)
        for kind in ("private", "business"):
            try:
                await self._core.ensure_connected(kind)
            except trio.TooSlowError:
                why = self._core.session(kind).not_open_reason()
                because = f": {why}" if why is not None else ""
                raise OkxNotSent(
                    f"the {kind} connection did not open and log in in time{because}",
                    connection=kind,
                ) from why

    def set_time_offset_ms(self, ms: int) -> None:
        """Set the offset (ms) added to the local clock for login and ``expTime``."""
        self._ws.set_time_offset_ms(ms)

    async def sync_time(self, timeout: float | None = None) -> int:
        """Measure the offset from ``GET /api/v5/public/time``, apply it and return it.

        Args:
            timeout: seconds; ``None``: the client's ``request_timeout``;
                ``math.inf``: no deadline.

        Raises:
            OkxRequestTimeout: no whole answer before the deadline.
            OkxError: the REST request failed.
        """
        return await self._ws.sync_time(timeout)

    def instrument(self, inst_id: str) -> Instrument | None:
        """The cached metadata of ``inst_id`` (code, tick, lot and minimum size), or None.

        The cache fills lazily on the first order op that names an ``instId``
        (or with ``load_instruments``); this never fetches.
        """
        return self._core.instruments.get(inst_id)

    async def load_instruments(
        self, inst_type: str, *, inst_family: str | None = None, series_id: str | None = None
    ) -> None:
        """Fetch the instrument list of ``inst_type`` (``SPOT``, ``SWAP``...) into the cache.

        OKX lists ``OPTION`` instruments one family at a time and ``EVENTS``
        contracts one series at a time: give ``inst_family`` (``"BTC-USD"``) or
        ``series_id`` (``"BTC-ABOVE-DAILY"``). Orders naming an option by
        ``instId`` load its family on their own (derived from the id);
        ``EVENTS`` contracts named by ``instId`` need their series loaded here
        first, since a series cannot be read from a contract id.

        Raises:
            ValueError: ``OPTION`` without ``inst_family``, ``EVENTS`` without
                ``series_id``.
            OkxError: the REST request failed.
            trio.ClosedResourceError: the client is closed.
        """
        self._core.check_open()
        try:
            await self._core.instruments.load(inst_type, inst_family=inst_family,
                                              series_id=series_id)
        except InstrumentFetchError as exc:
            cause = exc.__cause__
            if isinstance(cause, Exception):
                raise cause from None
            raise  # pragma: no cover - a fetch error always has its cause

    def _next_cl_ord_id(self) -> str:
        return self._cl_ord_ids()

    # --------------------------------------------------------- the order ops

    async def submit_new_order(
        self, params: OrderParams, *, exp_time: int | None = None, timeout: float | None = None
    ) -> OrderAck:
        """Place one order (``order``, private connection).

        A ``clOrdId`` is generated when ``params`` has none; it is on the ack
        and on any error raised.

        Returns:
            the ack (``s_code == "0"``: accepted; the fill comes on ``orders``).

        Raises:
            OkxOrderError: the exchange refused the order (``.ack``, ``.s_code``);
                ``OkxOrderRateLimitError`` for 50011/50061.
        """
        order = coerce(PlaceOrder, params)
        return await self._single("order", order, exp_time, timeout)

    async def submit_multiple_orders(
        self,
        params: Sequence[OrderParams],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> list[OrderAck]:
        """Place 1-20 orders in one request (``batch-orders``, private connection).

        Returns:
            one ack per order, in request order, when every order was accepted.

        Raises:
            OkxBatchError: some (code 2) or all (code 1) orders were refused;
                ``.acks`` holds every order's ack in request order, with
                ``.succeeded``, ``.failed`` and ``.rate_limited`` views.
        """
        orders = coerce_batch(PlaceOrder, params)
        return await self._batch("batch-orders", orders, exp_time, timeout)

    async def cancel_order(
        self, params: CancelParams, *, exp_time: int | None = None, timeout: float | None = None
    ) -> OrderAck:
        """Cancel one order by ``ordId`` or ``clOrdId`` (``cancel-order``).

        Raises:
            OkxOrderError: refused (e.g. 51400: already filled, canceled or unknown).
        """
        cancel = coerce(CancelOrder, params)
        return await self._single("cancel-order", cancel, exp_time, timeout)

    async def cancel_multiple_orders(
        self,
        params: Sequence[CancelParams],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> list[OrderAck]:
        """Cancel 1-20 orders in one request (``batch-cancel-orders``).

        Raises:
            OkxBatchError: some or all cancels were refused (every ack kept).
        """
        cancels = coerce_batch(CancelOrder, params)
        return await self._batch("batch-cancel-orders", cancels, exp_time, timeout)

    async def amend_order(
        self, params: AmendParams, *, exp_time: int | None = None, timeout: float | None = None
    ) -> OrderAck:
        """Change the size and/or price of one order (``amend-order``).

        Raises:
            OkxOrderError: refused (e.g. 51503: the order is gone).
        """
        amend = coerce(AmendOrder, params)
        return await self._single("amend-order", amend, exp_time, timeout)

    async def amend_multiple_orders(
        self,
        params: Sequence[AmendParams],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> list[OrderAck]:
        """Amend 1-20 orders in one request (``batch-amend-orders``).

        Raises:
            OkxBatchError: some or all amends were refused (every ack kept).
        """
        amends = coerce_batch(AmendOrder, params)
        return await self._batch("batch-amend-orders", amends, exp_time, timeout)

    async def mass_cancel_orders(
        self,
        params: MassCancel | Mapping[str, Any],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Cancel every MMP order of an option family (``mass-cancel``).

        Returns:
            the exchange's ``result``.
        """
        mass = coerce(MassCancel, params)
        return await self._mass("mass-cancel", mass, exp_time, timeout)

    # -------------------------------------------------------- the spread ops

    async def submit_spread_order(
        self,
        params: PlaceSpreadOrder | Mapping[str, Any],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> OrderAck:
        """Place one spread order (``sprd-order``, business connection).

        A ``clOrdId`` is generated when ``params`` has none.

        Raises:
            OkxOrderError: the exchange refused the order.
        """
        order = coerce(PlaceSpreadOrder, params)
        return await self._single("sprd-order", order, exp_time, timeout)

    async def amend_spread_order(
        self,
        params: AmendSpreadOrder | Mapping[str, Any],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> OrderAck:
        """Amend one spread order (``sprd-amend-order``, business connection).

        Raises:
            OkxOrderError: refused (51503, 51509, 51510...).
        """
        amend = coerce(AmendSpreadOrder, params)
        return await self._single("sprd-amend-order", amend, exp_time, timeout)

    async def cancel_spread_order(
        self,
        params: CancelSpreadOrder | Mapping[str, Any],
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> OrderAck:
        """Cancel one spread order (``sprd-cancel-order``, business connection).

        Raises:
            OkxOrderError: refused (51400, 51401, 51402...).
        """
        cancel = coerce(CancelSpreadOrder, params)
        return await self._single("sprd-cancel-order", cancel, exp_time, timeout)

    async def mass_cancel_spread_orders(
        self,
        params: MassCancelSpread | Mapping[str, Any] | None = None,
        *,
        exp_time: int | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Cancel every spread order, or those of one ``sprdId`` (``sprd-mass-cancel``).

        Returns:
            the exchange's ``result``.
        """
        mass = MassCancelSpread() if params is None else coerce(MassCancelSpread, params)
        return await self._mass("sprd-mass-cancel", mass, exp_time, timeout)

    # ------------------------------------------------------ orders and truth

    @property
    def orders(self) -> OrderTracker | None:
        """The running order tracker (``track_orders=True`` or inside
        ``track_orders``), else ``None``."""
        return self._tracker

    @asynccontextmanager
    async def track_orders(
        self,
        *,
        max_terminal: int = DEFAULT_MAX_TERMINAL,
        terminal_ttl: float = DEFAULT_TERMINAL_TTL,
    ) -> AsyncIterator[OrderTracker]:
        """Track the account's orders for the duration of an ``async with`` block.

        Entering subscribes to ``orders`` (``instType`` ANY, private connection)
        and ``sprd-orders`` (business connection) and returns once both are
        acknowledged; the tracker then holds the latest state of every order
        by ``ordId`` and ``clOrdId`` (see ``OrderTracker``).
        Exiting unsubscribes. When a tracker is already running (the
        ``track_orders=True`` option, or an enclosing block) that one is
        yielded and left running.

        Args:
            max_terminal: terminal orders kept before the oldest is forgotten.
            terminal_ttl: seconds a terminal order is kept after it ended.

        Raises:
            ValueError: the client has no credentials.
            OkxApiError, OkxAuthError, OkxRequestError: a subscription failed.
            trio.ClosedResourceError: the client is closed.
        """
        self._core.check_open()
        if self._tracker is not None:
            yield self._tracker
            return
        if self._core.options.credentials is None:
            raise ValueError("track_orders needs credentials (the order channels are private)")
        state = TrackerState(max_terminal=max_terminal, terminal_ttl=terminal_ttl)
        tracker = OrderTracker(self._core, state)
        async with open_tracking(tracker):
            self._tracker = tracker
            self._tracker_state = state
            try:
                yield tracker
            finally:
                self._tracker = None
                self._tracker_state = None

    def _start_tracking(self) -> None:
        """The ``track_orders=True`` option: a tracker for the client's whole life."""
        if self._core.options.credentials is None:
            raise ValueError("track_orders=True needs credentials (the order channels are "
                             "private)")
        state = TrackerState()
        tracker = OrderTracker(self._core, state)
        self._tracker = tracker
        self._tracker_state = state
        self._core.nursery.start_soon(run_tracking, tracker, name="okx_trio order tracker")

    async def wait_order(
        self,
        *,
        cl_ord_id: str | None = None,
        ord_id: str | None = None,
        states: Iterable[str] = ("filled", "canceled", "mmp_canceled"),
        timeout: float | None = None,
    ) -> TrackedOrder:
        """Wait until the tracked order is in one of ``states``.

        Returns at once if it already is. An order that ends in a terminal
        state outside ``states`` (e.g. ``canceled`` while waiting for
        ``filled``) can never get there: it is returned as it is, so check
        ``state``.

        Args:
            cl_ord_id: the order's client id (or ``ord_id``; ``ord_id`` wins).
            ord_id: the OKX order id.
            states: the states to wait for (``live``, ``partially_filled``,
                ``filled``, ``canceled``, ``mmp_canceled``).
            timeout: seconds; ``None``: the client's ``request_timeout``;
                ``math.inf``: no deadline.

        Returns:
            the order's state (``TrackedOrder``).

        Raises:
            OkxWaitTimeout: the deadline passed first (an ``OkxRequestTimeout``
                whose ``order`` is the last known state, or ``None``).
            RuntimeError: no tracker is running.
            OkxError: the order channel's subscription failed.
            ValueError, TypeError: bad ids, states or timeout.
            trio.ClosedResourceError: the client is closed.
        """
        self._core.check_open()
        if cl_ord_id is None and ord_id is None:
            raise ValueError("give cl_ord_id or ord_id")
        deadline = self._core.deadline(timeout)
        return await wait_for_order(self._tracker, cl_ord_id=cl_ord_id, ord_id=ord_id,
                                    states=states, deadline=deadline)

    async def resolve(
        self,
        error: OkxRequestError | OkxProtocolError | None = None,
        *,
        cl_ord_id: str | None = None,
        ord_id: str | None = None,
        inst_id: str | None = None,
        sprd_id: str | None = None,
        timeout: float | None = None,
        settle_delay: float | None = None,
    ) -> Resolution:
        """Find out what really happened to a request whose outcome is unknown.

        Give the ``OkxConnectionLost`` / ``OkxRequestTimeout`` (or
        ``OkxNotSent``) raised by a place, amend or cancel (single, batch or
        spread), or the ``OkxProtocolError`` raised when its answer did not
        match what was sent (for a batch, ``OkxBatchProtocolError``: its
        ``request`` items are resolved), or an order's ``cl_ord_id`` /
        ``ord_id`` with its ``inst_id`` (``sprd_id`` for a spread order; not
        needed when the tracker knows the order). The tracker is consulted
        first, then the exchange (signed REST ``GET /api/v5/trade/order`` or
        ``/api/v5/sprd/order``), retrying
        transient failures within the deadline. "Not found" is only concluded
        once the exchange has certainly finished with the request: one second
        after its ``expTime`` when this client sent it with one, else 2 s
        (``SETTLE_DELAY``) after the error (after this call, for an error the
        client has no record of); ``settle_delay`` replaces that with "this
        many seconds from now". A plain id look-up answers at once unless the
        id belongs to a recent unknown-outcome place of this client.

        Args:
            error: the exception to resolve (its ``op``, ``id`` and
                ``request`` items are used).
            cl_ord_id: instead of an error: the client order id to look up.
            ord_id: instead of an error: the OKX order id to look up.
            inst_id: the instrument of ``cl_ord_id``/``ord_id``.
            sprd_id: the spread of ``cl_ord_id``/``ord_id`` (spread orders).
            timeout: seconds; ``None``: the client's ``request_timeout``
                counted from when the exchange has certainly finished with the
                request (so the default never gives up while waiting for that);
                ``math.inf``: no deadline.
            settle_delay: seconds from now after which "not found" is final,
                instead of the recorded ``expTime`` / 2 s settle delay.

        Returns:
            a ``Resolution``: ``outcome`` is ``"acted"``,
            ``"not_found"``, ``"unknown"`` (deadline passed) or, for a batch
            whose items differ, ``"mixed"``; ``items`` gives each item's
            outcome and ``orders`` the current state of every order found.

        Raises:
            OkxAuthError: the exchange refused the signed look-up.
            OkxApiError: the look-up was refused for another reason.
            ValueError, TypeError: an error of another op (mass cancels), or
                bad ids; nothing was asked.
            trio.ClosedResourceError: the client is closed.
        """
        self._core.check_open()
        deadline = self._core.deadline(timeout)
        if settle_delay is not None and (
            isinstance(settle_delay, bool)
            or not isinstance(settle_delay, (int, float))
            or not 0 <= settle_delay < math.inf
        ):
            raise ValueError(f"settle_delay must be a finite number >= 0, got {settle_delay!r}")
        return await resolve_outcome(
            self._core, lambda: self._tracker_state, error, cl_ord_id=cl_ord_id,
            ord_id=ord_id, inst_id=inst_id, sprd_id=sprd_id,
            deadline=deadline, settle_delay=settle_delay, unknowns=self._unknowns,
            extend=timeout is None,
        )

    # ------------------------------------------------------------ internals

    async def _single(
        self, op: str, model: Any, exp_time: int | None, timeout: float | None
    ) -> OrderAck:
        wires, deadline = await self._prepare(op, [model], exp_time, timeout)
        ack: OrderAck = await self._send(op, wires, "single", exp_time, deadline)
        return ack

    async def _batch(
        self, op: str, models: list[Any], exp_time: int | None, timeout: float | None
    ) -> list[OrderAck]:
        wires, deadline = await self._prepare(op, models, exp_time, timeout)
        acks: list[OrderAck] = await self._send(op, wires, "batch", exp_time, deadline)
        return acks

    async def _mass(self, op: str, model: Any, exp_time: int | None, timeout: float | None) -> bool:
        wires, deadline = await self._prepare(op, [model], exp_time, timeout)
        result: bool = await self._send(op, wires, "mass", exp_time, deadline)
        return result

    async def _prepare(
        self, op: str, models: list[Any], exp_time: int | None, timeout: float | None
    ) -> tuple[list[dict[str, Any]], float]:
        """Wire dicts for ``models``: clOrdIds generated, instIdCode filled in, rules checked.

        Returns the wire dicts and the call's deadline (trio time), computed
        once here: looking up instruments and waiting for the tracker count
        against it, and the request is sent with what is left of it.
        """
        self._core.check_open()
        check_exp_time(op, exp_time)
        deadline = self._core.deadline(timeout)  # validates timeout before any work
        wires = await prepare_orders(
            op, models, instruments=self._core.instruments, next_cl_ord_id=self._next_cl_ord_id,
            deadline=deadline, connection="private", inst_field="instIdCode",
        )
        return wires, deadline

    async def _send(
        self,
        op: str,
        wires: list[dict[str, Any]],
        kind: Kind,
        exp_time: int | None,
        deadline: float,
    ) -> Any:
        """Send, and tell the caller what the answer proves (``_answers.judge``)."""
        core = self._core
        core.check_open()  # again: an instrument look-up may have awaited
        connection = route_op(op)
        assert connection is not None  # every trade op has its connection
        tracker = self._tracker
        state = self._tracker_state
        if tracker is not None and state is not None and op in PLACE_OPS:
            await self._before_place(tracker, state, op, wires, deadline)
        sent_at = trio.current_time()
        try:
            try:
                answer: Response | OkxApiError = await self._ws._send(
                    op, connection, wires, exp_time, deadline)
            except OkxApiError as exc:
                answer = exc
            return judge(op, kind, wires, answer)
        except OkxProtocolError as exc:
            # Received by the exchange, answered in a way that proves nothing:
            # outcome unknown, recorded like a lost connection so resolve() works.
            if state is not None and op in PLACE_OPS and isinstance(exc, OkxBatchError):
                self._unexpect(state, exc, wires)
            self._record_unknown(exc, exp_time, sent_at, deadline)
            raise
        except OkxApiError as exc:
            if state is not None and op in PLACE_OPS:
                self._unexpect(state, exc, wires)
            raise
        except (OkxConnectionLost, OkxRequestTimeout) as exc:
            self._record_unknown(exc, exp_time, sent_at, deadline)
            raise

    def _record_unknown(
        self, exc: OkxRequestError | OkxProtocolError, exp_time: int | None, sent_at: float,
        deadline: float,
    ) -> None:
        core = self._core
        # The exchange clock when the request left, for an explicit exp_time.
        now = trio.current_time()
        now_ms = core.now_ms() - round((now - sent_at) * 1000)
        self._unknowns.record(
            exc, exp_time=exp_time, sent_at=sent_at, deadline=deadline,
            now_ms_at_send=now_ms, send_exp_time=core.options.send_exp_time, now=now,
        )

    async def _before_place(
        self, tracker: OrderTracker, state: TrackerState, op: str, wires: list[dict[str, Any]],
        deadline: float,
    ) -> None:
        """Let the tracker expect the orders; with ``track_orders=True`` the first
        places wait (within their deadline) until its subscriptions are acknowledged,
        so it sees every order this client places."""
        if not tracker.started.is_set():
            with trio.move_on_at(deadline):
                await tracker.started.wait()
            if not tracker.started.is_set() or deadline - trio.current_time() <= 0:
                raise OkxNotSent(
                    "the order tracker was not subscribed before the deadline",
                    op, None, wires[0].get("clOrdId"), wires,
                    "business" if op == "sprd-order" else "private",
                )
        kind: Literal["regular", "spread"] = "spread" if op == "sprd-order" else "regular"
        now = trio.current_time()
        for wire in wires:
            cl = wire.get("clOrdId")
            if isinstance(cl, str) and cl:
                state.table.expect(kind, cl, wire, now)

    @staticmethod
    def _unexpect(state: TrackerState, error: OkxApiError, wires: list[dict[str, Any]]) -> None:
        """Refused places will never show up on the order channels."""
        if isinstance(error, OkxBatchError):
            refused = [a.cl_ord_id for a in error.failed]
        elif isinstance(error, OkxOrderError):
            refused = [error.ack.cl_ord_id if error.ack is not None else None]
        else:  # refused as a whole
            refused = [w.get("clOrdId") for w in wires]
        for cl in refused:
            if isinstance(cl, str) and cl:
                state.table.unexpect(cl)


class _RestOrderHooks:
    """The trade client's view of the orders its REST client sends (``OrderHooks``)."""

    def __init__(self, api: WsApiClient) -> None:
        self._api = api

    def before_send(self, op: str, wires: list[dict[str, Any]]) -> None:
        state = self._api._tracker_state
        if state is None or op not in PLACE_OPS:
            return
        kind: Literal["regular", "spread"] = "spread" if op == "sprd-order" else "regular"
        now = trio.current_time()
        for wire in wires:
            cl = wire.get("clOrdId")
            if isinstance(cl, str) and cl:
                state.table.expect(kind, cl, wire, now)

    def refused(self, op: str, error: OkxApiError, wires: list[dict[str, Any]]) -> None:
        state = self._api._tracker_state
        if state is not None and op in PLACE_OPS:
            self._api._unexpect(state, error, wires)

    def unknown(
        self, error: OkxRequestError | OkxProtocolError, *, exp_time: int | None,
        sent_at: float, deadline: float, now_ms_at_send: int,
    ) -> None:
        core = self._api._core
        self._api._unknowns.record(
            error, exp_time=exp_time, sent_at=sent_at, deadline=deadline,
            now_ms_at_send=now_ms_at_send, send_exp_time=core.rest_api.send_exp_time,
            now=trio.current_time(),
        )


@asynccontextmanager
async def open_ws_api_client(**options: Any) -> AsyncIterator[WsApiClient]:
    """Open a trade API client for the duration of an ``async with`` block.

    Takes the same keyword options as ``open_ws_client`` (those of
    ``ClientOptions``); ``credentials`` are needed for every trade method.
    ``track_orders=True`` runs an order tracker (``api.orders``) for the
    client's whole life; its subscriptions open in the background and the
    first place waits for them. Entering does not block
    on the network (connections open on first use, or with
    ``WsApiClient.connect_ws_api``); exiting closes every connection and
    ends every task the client started.
    """
    opts = ClientOptions(**options)
    async with open_core(opts) as core:
        api = WsApiClient(WsClient(core), core)
        if opts.track_orders:
            api._start_tracking()
        yield api
