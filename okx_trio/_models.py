"""Public value types: credentials, pushes, gaps, responses, acks, lifecycle events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

ConnectionName = Literal["public", "private", "business"]


def _redacted(_: object) -> str:
    return "'***'"


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
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"Credentials.{name} must be a non-empty string")

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.api_key!r}, secret_key='***', passphrase='***')"

    __str__ = __repr__


@attrs.frozen(slots=True, weakref_slot=False)
class Push:
    """One data push of a subscribed channel.

    ``data`` is the list of dicts exactly as the exchange sent it (unknown fields
    kept); typed views are built only when asked for (see ``okx_trio.views``).
    """

    arg: dict[str, Any]
    """The channel argument the push belongs to (``{"channel": ..., "instId": ...}``)."""
    data: list[Any]
    """The pushed items as received."""
    action: str | None = None
    """``"snapshot"`` or ``"update"`` on incremental order books, else ``None``."""
    extra: Mapping[str, Any] | None = attrs.field(default=None, eq=False, repr=False)
    """Other top-level fields of the frame (``eventType``, ``curPage``...), if any."""

    @property
    def channel(self) -> str:
        """The channel name, e.g. ``"tickers"``."""
        return str(self.arg.get("channel", ""))

    def view(self) -> list[Any]:
        """Typed views of ``data`` for this push's channel, built on each call.

        Tickers, trades, order books, candles, orders, fills, positions,
        account, balance_and_position, sprd-orders and sprd-trades give frozen
        attrs objects (see ``okx_trio._views``); other channels give the raw
        dicts.

        Raises:
            OkxProtocolError: an item does not have the channel's shape.
        """
        from ._views import view_push

        return view_push(self)


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


@attrs.frozen(slots=True)
class OrderAck:
    """One item of an order op's response (place, amend, cancel, spread ops).

    Absent fields are ``None`` (or ``""`` where OKX sends an empty string).
    ``s_code == "0"`` only means the exchange accepted the request; the order's
    fate arrives on the ``orders`` / ``sprd-orders`` channels.
    """

    ord_id: str | None = None
    """OKX order id."""
    cl_ord_id: str | None = None
    """Client order id."""
    tag: str | None = None
    """Order tag, as sent by the user."""
    ts: str | None = None
    """Processing (place) or creation (cancel/amend) time, ms."""
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
    "open", "reconnect", "reconnected", "authenticated", "notice", "exception", "conn-count"
]


@attrs.frozen(slots=True)
class LifecycleEvent:
    """Something that happened to a connection (see ``WsClient.events()``)."""

    kind: str
    """One of ``open``, ``reconnect``, ``reconnected``, ``authenticated``, ``notice``,
    ``exception``, ``conn-count``."""
    connection: str
    """``"public"``, ``"private"`` or ``"business"``."""
    detail: Any = None
    """Kind-specific detail: the close reason, the notice, the exception, the count..."""
