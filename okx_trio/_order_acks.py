"""The answers of the order ops as values: acks, and the precise error of a refusal.

The trade ops answer alike over the WebSocket (``WsApiClient``) and over REST
(``RestApiClient``): one item per request item, in request order, each with
``sCode``/``sMsg``, under a top-level ``code`` of ``"0"`` (all accepted),
``"1"`` (all refused, or the single op refused) or ``"2"`` (a batch in part).
Both clients turn those answers into the same values here:

========================================  ==========================================
answer                                    raised
========================================  ==========================================
single op, ``code != "0"``, with an item  ``OkxOrderError`` (``OkxOrderRateLimitError``
                                          when the item's ``sCode`` is 50011/50061)
batch op, ``code`` ``"1"`` or ``"2"``     ``OkxBatchError`` with every item's ack
request-level 50011 / 60014 / 50061       ``OkxRateLimitError``
any other request-level code              ``OkxApiError``
========================================  ==========================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from ._convert import camel, register_camel
from ._exceptions import (
    OkxApiError,
    OkxBatchError,
    OkxOrderError,
    OkxOrderRateLimitError,
    OkxProtocolError,
    OkxRateLimitError,
)
from ._models import OrderAck
from ._okx import RATE_LIMIT_CODES

__all__ = ["OpKind", "ack_of", "acks_of", "classify_error", "order_error"]

register_camel(OrderAck, extra_field="extra")
_ACK_NAMES: Final = {camel(f.name): f.name for f in attrs.fields(OrderAck) if f.name != "extra"}

OpKind = Literal["single", "batch", "mass"]
"""How an op's items are answered: one order, up to 20 orders, or a mass cancel."""


def ack_of(item: Mapping[str, Any], wire: Mapping[str, Any]) -> OrderAck:
    """The :class:`OrderAck` of one answer item; ``wire`` is the request item it answers.

    Raises:
        OkxProtocolError: the item cannot be read.
    """
    # Built directly (a third of the cost of converter.structure + evolve):
    # OKX's names mapped to ours, values as str, unknown keys kept in extra.
    kw: dict[str, Any] = {}
    extra: dict[str, Any] | None = None
    for key, value in item.items():
        name = _ACK_NAMES.get(key)
        if name is None:
            if extra is None:
                extra = {}
            extra[key] = value
        elif value is not None:
            kw[name] = value if type(value) is str else str(value)
    if not kw.get("cl_ord_id"):
        # Failed items often come back with clOrdId "": keep the one we sent
        # so every order stays traceable.
        sent = wire.get("clOrdId")
        if sent:
            kw["cl_ord_id"] = sent
    if extra:
        kw["extra"] = extra
    try:
        return OrderAck(**kw)
    except Exception as exc:
        raise OkxProtocolError(f"unreadable response item {item!r:.200}") from exc


def acks_of(data: Sequence[Any], wires: Sequence[Mapping[str, Any]]) -> list[OrderAck]:
    """One :class:`OrderAck` per answer item, each matched with its request item.

    Raises:
        OkxProtocolError: an item is not an object.
    """
    acks = []
    for i, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise OkxProtocolError(f"response item {i} is not an object: {item!r:.100}")
        acks.append(ack_of(item, wires[i] if i < len(wires) else {}))
    return acks


def order_error(
    code: str,
    msg: str,
    op: str,
    id: str | None,
    data: Sequence[Mapping[str, Any]],
    ack: OrderAck,
) -> OkxOrderError:
    """The error of a refused single-order op: rate-limit flavoured for 50011/50061."""
    cls = OkxOrderRateLimitError if ack.s_code in RATE_LIMIT_CODES else OkxOrderError
    return cls(code, msg, op, id, data, ack)


def classify_error(
    exc: OkxApiError, op: str, wires: Sequence[Mapping[str, Any]], kind: OpKind
) -> OkxApiError:
    """The precise error for an op's ``code != "0"`` answer (see the module table)."""
    code, data = exc.code, exc.data
    items = [item for item in data if isinstance(item, Mapping)]
    if kind == "single" and items and len(items) == len(data):
        ack = ack_of(items[0], wires[0])
        return order_error(code, exc.msg, exc.op or op, exc.id, data, ack)
    if kind == "batch" and code in ("1", "2"):
        acks = acks_of(data, wires)
        return OkxBatchError(code, exc.msg, exc.op or op, exc.id, data, acks)
    if code in RATE_LIMIT_CODES:
        return OkxRateLimitError(code, exc.msg, exc.op or op, exc.id, data)
    return exc
