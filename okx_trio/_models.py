"""Public value types: credentials, gaps, responses, acks, lifecycle events,
instruments, tracked orders and resolutions.

Values only: frozen attrs classes, no I/O. (``Push`` lives in ``_push``: its
``view()`` needs the typed views, which need the exception tree, which needs
the values here.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import attrs

from ._formats import is_digits, is_id, wire_decimal, wire_int
from ._okx import TERMINAL_STATES, ConnectionName

__all__ = [
    "AbandonedRequest",
    "ClientStatistics",
    "ConnectionName",
    "Credentials",
    "Gap",
    "Instrument",
    "LifecycleEvent",
    "LifecycleKind",
    "OrderAck",
    "Outcome",
    "Resolution",
    "ResolvedItem",
    "Response",
    "TrackedOrder",
]


@attrs.frozen(repr=False)
class Credentials:
    """An OKX API key with its secret and passphrase.

    ``repr()`` and ``str()`` show only the API key, never the secret or the
    passphrase, so a credentials object can be logged safely.
    """

    api_key: str
    """The API key (public identifier)."""
    secret_key: str
    """The secret used to sign logins and REST requests."""
    passphrase: str
    """The passphrase chosen when the key was created."""

    def __attrs_post_init__(self) -> None:
        for name in ("api_key", "secret_key", "passphrase"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"Credentials.{name} must be a str, not {type(value).__name__}")
            if not value:
                raise ValueError(f"Credentials.{name} must not be empty")
            # They travel in HTTP headers (REST) and the login frame: printable
            # ASCII only. The message never shows the value (it is a secret).
            if not (value.isascii() and value.isprintable()):
                raise ValueError(
                    f"Credentials.{name} must be printable ASCII: it contains a control "
                    "character (a newline read from a file?) or a non-ASCII one"
                )

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.api_key!r}, secret_key='***', passphrase='***')"

    __str__ = __repr__


@attrs.frozen(slots=True)
class Gap:
    """A marker in a subscription stream: pushes may be missing before this point.

    ``reason`` is ``"reconnect"`` (the connection was replaced; pushes sent while
    it was down are lost) or ``"dropped"`` (the subscriber was too slow and
    ``dropped`` pushes were discarded from its full buffer), or ``"resync"`` (an
    order book was rebuilt from a fresh snapshot).
    """

    reason: str
    """Why the stream has a gap."""
    dropped: int = 0
    """How many pushes were discarded (0 for a reconnect)."""


@attrs.frozen(slots=True)
class Response:
    """The answer to a trade-style request sent with ``WsClient.request``."""

    id: str
    """The request id, echoed by the exchange."""
    op: str
    """The op, echoed by the exchange."""
    code: str
    """``"0"`` on success."""
    msg: str
    """The exchange's message (often empty)."""
    data: list[dict[str, Any]]
    """The response items as received."""
    in_time: str | None = None
    """Gateway receive time (µs), on the six order ops."""
    out_time: str | None = None
    """Gateway send time (µs), on the six order ops."""


def _ack_ms(value: object) -> int | None:
    """``OrderAck.ts``: ``int`` milliseconds; OKX's digit string is converted."""
    if value is None or value == "":
        return None
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ValueError(f"OrderAck.ts must be milliseconds, got {value!r:.40}")


@attrs.frozen(slots=True)
class OrderAck:
    """One item of an order op's response (place, amend, cancel, spread ops).

    Absent fields are ``None``, and so are fields OKX sends as ``""`` (an order
    without a tag, an ack without ``subCode`` or ``reqId``), whatever the op;
    ``ts`` is ``int`` milliseconds, as in the views of pushes.
    ``s_code == "0"`` only means the exchange accepted the request; the order's
    fate arrives on the ``orders`` / ``sprd-orders`` channels.
    """

    ord_id: str | None = None
    """OKX order id."""
    cl_ord_id: str | None = None
    """Client order id."""
    tag: str | None = None
    """Order tag, as sent by the user."""
    ts: int | None = attrs.field(default=None, converter=_ack_ms)
    """When the exchange processed the request, Unix ms (a digit string given
    to the constructor is converted)."""
    s_code: str = "0"
    """Per-item result code; ``"0"`` means accepted."""
    s_msg: str = ""
    """Per-item message."""
    sub_code: str | None = None
    """Sub-reason of a failed item (OKX 2026)."""
    req_id: str | None = None
    """The amend's ``reqId``, echoed."""
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    """Any other fields of the item, kept as received."""

    @property
    def ok(self) -> bool:
        """True when ``s_code == "0"``."""
        return self.s_code == "0"


LifecycleKind = Literal[
    "open", "reconnect", "reconnected", "authenticated", "notice", "exception", "conn-count",
    "abandoned",
]


@attrs.frozen(slots=True)
class LifecycleEvent:
    """Something that happened to a connection (see ``WsClient.events()``)."""

    kind: str
    """One of ``open``, ``reconnect``, ``reconnected``, ``authenticated``, ``notice``,
    ``exception``, ``conn-count``, ``abandoned`` (detail: an ``AbandonedRequest``)."""
    connection: str
    """``"public"``, ``"private"`` or ``"business"``."""
    detail: Any = None
    """Kind-specific detail: the close reason, the notice, the exception, the count..."""


@attrs.frozen
class AbandonedRequest:
    """A request written to the exchange whose caller was cancelled before the answer.

    Its outcome is unknown, and its caller, cancelled, learned nothing: the
    detail of an ``abandoned`` lifecycle event (``WsClient.events()``), so the
    application can find it. ``WsApiClient.resolve(cl_ord_id=...)`` of an
    abandoned place waits until the exchange has certainly finished with it
    (its ``exp_time`` plus a margin) before concluding "not found".
    """

    op: str
    """The request's op (``order``, ``batch-orders``, ``cancel-order``...)."""
    id: str
    """The request's id."""
    cl_ord_id: str | None
    """The ``clOrdId`` of its (first) order, generated by the client if the caller
    gave none."""
    request: tuple[Mapping[str, Any], ...]
    """The request's ``args`` as sent."""
    connection: str
    """The connection it was written on (``private``, ``business``...)."""
    exp_time: int | None
    """The ``expTime`` it carried (Unix ms), if any."""


@attrs.frozen
class ClientStatistics:
    """A snapshot of the client's internal state (for monitoring and tests)."""

    pending: int
    """Requests waiting for an answer (all connections)."""
    connected: tuple[str, ...]
    """Connection kinds currently up."""
    reconnects: Mapping[str, int]
    """Reconnections per connection kind."""
    subscriptions: int
    """Live server-side subscriptions."""
    unrouted_pushes: int = 0
    """Pushes that matched no subscription and were not delivered (each new arg is
    also reported as an ``exception`` lifecycle event)."""


# ---------------------------------------------------------------------------
# Instruments


def _positive_dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        out = wire_decimal(value)
    except (TypeError, ValueError):
        return None
    return out if out > 0 else None


def _code(value: Any) -> int | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and is_digits(value):
        return int(value)
    return None


@attrs.frozen
class Instrument:
    """Cached metadata of one instrument, as ``GET /api/v5/public/instruments`` lists it."""

    inst_id: str
    """The instrument id, e.g. ``"BTC-USDT"``."""
    inst_type: str
    """``SPOT``, ``SWAP``, ``FUTURES``, ``OPTION``..."""
    inst_id_code: int | None
    """The code the six order ops send (``None`` when OKX lists none)."""
    tick_sz: Decimal | None
    """Price increment; prices must be a multiple of it."""
    lot_sz: Decimal | None
    """Size increment; sizes must be a multiple of it."""
    min_sz: Decimal | None
    """Smallest order size."""
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    """The instrument item exactly as received."""

    @classmethod
    def from_okx(cls, item: Mapping[str, Any], inst_type: str) -> Instrument:
        """Build from one item of the instruments endpoint."""
        return cls(
            inst_id=str(item["instId"]),
            inst_type=str(item.get("instType") or inst_type),
            inst_id_code=_code(item.get("instIdCode")),
            tick_sz=_positive_dec(item.get("tickSz")),
            lot_sz=_positive_dec(item.get("lotSz")),
            min_sz=_positive_dec(item.get("minSz")),
            raw=dict(item),
        )


# ---------------------------------------------------------------------------
# Orders


def _field_text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if type(value) is not str:
        raise ValueError(f"order field {key!r} must be a string, got {type(value).__name__}")
    return value


def _field_dec(item: Mapping[str, Any], key: str) -> Decimal | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    try:
        return wire_decimal(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"order field {key!r}: {exc}") from None


def _field_int(item: Mapping[str, Any], key: str) -> int:
    value = item.get(key)
    if value is None or value == "":
        return 0
    try:
        return wire_int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"order field {key!r}: {exc}") from None


@attrs.frozen
class TrackedOrder:
    """The latest known state of one order (regular or spread).

    Sizes and prices are ``Decimal`` (``None`` where OKX sends ``""``, e.g.
    ``px`` of a market order).
    """

    inst_id: str | None
    """``instId`` of a regular order; ``None`` for a spread order."""
    sprd_id: str | None
    """``sprdId`` of a spread order; ``None`` for a regular order."""
    ord_id: str
    """OKX order id."""
    cl_ord_id: str | None
    """Client order id (``None`` when the order has none)."""
    state: str
    """``live``, ``partially_filled``, ``filled``, ``canceled`` or ``mmp_canceled``."""
    acc_fill_sz: Decimal
    """Filled quantity so far."""
    avg_px: Decimal | None
    """Average fill price (``0`` before any fill)."""
    px: Decimal | None
    """Order price."""
    sz: Decimal | None
    """Order size (after amends)."""
    side: str
    """``buy`` or ``sell``."""
    u_time: int
    """Last update, Unix ms (OKX ``uTime``)."""
    stale: bool = False
    """True after a gap in the channel until the order was refreshed (a later
    push or the tracker's REST refresh). Terminal orders are never stale."""
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    """The push or REST item this state came from, as received."""

    @property
    def terminal(self) -> bool:
        """True for ``filled``, ``canceled`` and ``mmp_canceled``."""
        return self.state in TERMINAL_STATES

    @property
    def is_spread(self) -> bool:
        """True for a spread order."""
        return self.sprd_id is not None

    @classmethod
    def from_okx(cls, item: Mapping[str, Any], *, stale: bool = False) -> TrackedOrder:
        """Build from an ``orders``/``sprd-orders`` push item or a REST order item.

        Every field it reads is checked the way the request models check what
        is sent (``_formats``): ids of ASCII letters and digits, numbers in plain
        ASCII decimal notation, times as ASCII integers.

        Raises:
            ValueError: the item has no ``ordId``, or a field it reads is malformed.
        """
        if not isinstance(item, Mapping):
            raise ValueError(f"an order item must be an object, got {type(item).__name__}")
        ord_id = item.get("ordId")
        if not isinstance(ord_id, str) or not ord_id:
            raise ValueError("order item without ordId")
        if not is_id(ord_id):
            raise ValueError(f"order item with a malformed ordId {ord_id!r:.40}")
        cl_ord_id = _field_text(item, "clOrdId")
        if cl_ord_id and not is_id(cl_ord_id):
            raise ValueError(f"order item with a malformed clOrdId {cl_ord_id!r:.40}")
        acc_fill_sz = _field_dec(item, "accFillSz")
        if acc_fill_sz is not None and acc_fill_sz < 0:
            raise ValueError(f"order item with a negative accFillSz {item['accFillSz']!r:.40}")
        _field_int(item, "cTime")  # read by the order table: checked here
        sprd_id = _field_text(item, "sprdId") or None
        inst_id = _field_text(item, "instId")
        return cls(
            inst_id=None if sprd_id else (inst_id or None),
            sprd_id=sprd_id,
            ord_id=ord_id,
            cl_ord_id=cl_ord_id or None,
            state=_field_text(item, "state"),
            acc_fill_sz=acc_fill_sz or Decimal(0),
            avg_px=_field_dec(item, "avgPx"),
            px=_field_dec(item, "px"),
            sz=_field_dec(item, "sz"),
            side=_field_text(item, "side"),
            u_time=_field_int(item, "uTime"),
            stale=stale,
            raw=dict(item),
        )


Outcome = Literal["acted", "not_found", "unknown"]
"""What happened to one item of a request whose outcome was unknown."""


@attrs.frozen
class ResolvedItem:
    """What happened to one item of a request (see ``Resolution``)."""

    outcome: Outcome
    """``"acted"``, ``"not_found"`` or ``"unknown"``."""
    order: TrackedOrder | None
    """The order's current state, when the exchange has the order."""
    request: Mapping[str, Any]
    """The item as it was sent (OKX field names), or the ids looked up."""


@attrs.frozen
class Resolution:
    """The truth about a request whose outcome was unknown (``WsApiClient.resolve``).

    ``outcome`` for a place: ``"acted"`` the exchange has the order (its
    current state is in ``orders``); ``"not_found"`` no such order exists
    now that the exchange has certainly finished with the request (it never
    arrived, or was refused). For an amend: ``"acted"`` the order carries the
    amended price/size (or the tracker saw the amend's ``reqId`` succeed);
    ``"not_found"`` the amend did not take effect (never arrived, refused, or
    the order is gone). For a cancel: ``"acted"`` the order is canceled;
    ``"not_found"`` it is not (it filled, never existed, or the cancel never
    arrived). ``"unknown"``: the deadline passed before the exchange answered.
    For a batch, ``outcome`` is the items' common outcome, ``"unknown"`` if
    any item is unknown, else ``"mixed"``.
    """

    outcome: Literal["acted", "not_found", "unknown", "mixed"]
    """The summary outcome (see the class docstring)."""
    orders: tuple[TrackedOrder, ...]
    """The current state of every order found, in request order."""
    items: tuple[ResolvedItem, ...]
    """One entry per request item, in request order."""
    op: str | None = None
    """The op of the resolved request (``None`` for a look-up by id)."""

    @classmethod
    def of(cls, items: Sequence[ResolvedItem], op: str | None) -> Resolution:
        """Summarise per-item results."""
        outcomes = {i.outcome for i in items}
        summary: Literal["acted", "not_found", "unknown", "mixed"]
        if "unknown" in outcomes:
            summary = "unknown"
        elif outcomes == {"acted"}:
            summary = "acted"
        elif outcomes == {"not_found"} or not outcomes:
            summary = "not_found"
        else:
            summary = "mixed"
        orders = tuple(i.order for i in items if i.order is not None)
        return cls(summary, orders, tuple(items), op)
