"""What an answer to a trade op proves: believed only when it matches what was sent.

Sans-I/O: ``judge`` takes the op, the items as sent and the answer (a
``code == "0"`` ``Response``, or the ``OkxApiError`` the session
raised for any other code) and returns what the caller is told: the acks, or
the exchange's refusal, or ``OkxProtocolError`` when the answer cannot be
believed. What has to match (OKX's response shape for the eleven ops):

* one item per item sent, in order, each an object whose fields are strings,
  with an ``sCode`` of ASCII digits;
* each item's ``clOrdId``, ``ordId`` (amends and cancels) and ``reqId`` equal
  to the ones sent, where the item carries one (OKX leaves ``clOrdId`` empty
  on some refusals);
* the answer's ``code`` agreeing with the items: ``"0"`` only with accepted
  items, ``"1"`` only with refused ones (a batch's ``"2"`` with any mix); a
  request-level code (``60013``, ``50011``...) comes without items;
* mass cancels: one item whose ``result`` is a boolean.

What does not match is never a success and never a refusal: the request was
received, what the exchange did with it is unknown. A single op raises
``OkxProtocolError``, a batch ``OkxBatchProtocolError`` keeping the acks that
did match (their orders' outcome is known) with the other items in
``request``; both go to ``WsApiClient.resolve``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from ._convert import camel, register_camel
from ._exceptions import (
    OkxApiError,
    OkxBatchError,
    OkxBatchProtocolError,
    OkxOrderError,
    OkxOrderRateLimitError,
    OkxOrderRuleError,
    OkxProtocolError,
    OkxRateLimitError,
)
from ._formats import is_digits, is_id
from ._models import OrderAck, Response
from ._okx import EXPIRED_REQUEST_CODE, ORDER_RULE_CODES, PLACE_OPS, RATE_LIMIT_CODES, route_op

__all__ = ["Kind", "Unbelievable", "ack_of", "expired", "judge"]

register_camel(OrderAck, extra_field="extra")
_ACK_NAMES: Final = {camel(f.name): f.name for f in attrs.fields(OrderAck) if f.name != "extra"}
_ID_FIELDS: Final = ("clOrdId", "ordId", "reqId")

Kind = Literal["single", "batch", "mass"]
"""The response shape of an op: one ack, one ack per item, one ``result``."""

Answer = Response | OkxApiError
"""A ``code == "0"`` response, or the error the session raised for another code."""


def expired(exc: OkxApiError) -> bool:
    """True when OKX refused the request, or one of its items, as expired (50036):
    the offset used for ``expTime`` is in doubt."""
    if exc.code == EXPIRED_REQUEST_CODE:
        return True
    return any(isinstance(item, Mapping) and item.get("sCode") == EXPIRED_REQUEST_CODE
               for item in exc.data or ())


class Unbelievable(Exception):
    """One item that does not match what was sent (internal; says why)."""


def judge(op: str, kind: Kind, sent: Sequence[Mapping[str, Any]], answer: Answer,
          connection: str | None = None) -> Any:
    """What ``answer`` proves about the request ``op`` with items ``sent``
    (sent on ``connection``: by default the WebSocket connection that serves ``op``).

    Returns:
        the ack (``single``), the acks in request order (``batch``) or the
        ``result`` (``mass``), when the answer says every item was accepted.

    Raises:
        OkxOrderError: a single op refused (``OkxOrderRateLimitError`` for 50011/50061).
        OkxBatchError: a batch refused in whole or part, every ack matching.
        OkxRateLimitError, OkxApiError: refused as a whole (no items).
        OkxProtocolError: the answer does not match what was sent (a batch:
            ``OkxBatchProtocolError``); the outcome is unknown.
    """
    code, msg = answer.code, answer.msg
    rid: str | None = answer.id
    where = route_op(op) if connection is None else connection
    data: Sequence[Any] = answer.data
    if isinstance(answer, Response) and answer.op != op:
        raise _unknown(op, rid, sent, f"answer for op {answer.op!r}", where)
    if isinstance(answer, OkxApiError) and code not in ("0", "1", "2") and not data:
        # Refused as a whole (60013 invalid args, 50011 too many requests...).
        if code in RATE_LIMIT_CODES:
            raise OkxRateLimitError(code, msg, op, rid, data)
        raise answer
    if kind == "mass":
        if isinstance(answer, OkxApiError):
            if any(isinstance(d, Mapping) and d.get("result") in (True, "true") for d in data):
                raise _unknown(op, rid, sent, f'code "{code}" with a true result', where)
            if code in RATE_LIMIT_CODES:
                raise OkxRateLimitError(code, msg, op, rid, data)
            raise answer
        return _mass(op, rid, sent, code, data, where)
    if kind == "single":
        return _single(op, rid, sent, code, msg, data, where)
    return _batch(op, rid, sent, code, msg, data, where)


def _unknown(op: str, rid: str | None, sent: Sequence[Mapping[str, Any]], why: str,
             where: str | None) -> Exception:
    cl = sent[0].get("clOrdId") if sent else None
    return OkxProtocolError(
        f"answer not believed: {why} (outcome unknown)", op, rid,
        cl if isinstance(cl, str) and cl else None, sent, where,
    )


def _single(op: str, rid: str | None, sent: Sequence[Mapping[str, Any]], code: str, msg: str,
            data: Sequence[Any], where: str | None) -> OrderAck:
    if code == "2":
        raise _unknown(op, rid, sent, 'code "2" is a batch code', where)
    if len(data) != 1:
        raise _unknown(op, rid, sent, f'code "{code}" with {len(data)} items for 1 sent', where)
    try:
        ack = ack_of(op, data[0], sent[0])
    except Unbelievable as exc:
        raise _unknown(op, rid, sent, str(exc), where) from None
    if code == "0":
        if not ack.ok:
            raise _unknown(op, rid, sent,
                           f'code "0" with a refused item (sCode {ack.s_code})', where)
        return ack
    if ack.ok:
        raise _unknown(op, rid, sent, f'code "{code}" with an accepted item', where)
    cls: type[OkxOrderError] = OkxOrderError
    if ack.s_code in RATE_LIMIT_CODES:
        cls = OkxOrderRateLimitError
    elif ack.s_code in ORDER_RULE_CODES:
        cls = OkxOrderRuleError  # the class the local check raises for the same mistake
    raise cls(code, msg, op, rid, data, ack)


def _batch(op: str, rid: str | None, sent: Sequence[Mapping[str, Any]], code: str, msg: str,
           data: Sequence[Any], where: str | None) -> list[OrderAck]:
    acks: list[OrderAck] = []
    unknown: list[Mapping[str, Any]] = []
    reasons: list[str] = []
    count_ok = len(data) == len(sent)
    if not count_ok:
        reasons.append(f"{len(data)} items for {len(sent)} sent")
    for i, wire in enumerate(sent):
        if i >= len(data) or len(data) > len(sent):
            # Missing; or more items than sent, so none can be told from a stray.
            unknown.append(wire)
            continue
        try:
            ack = ack_of(op, data[i], wire, need_echo=not count_ok)
        except Unbelievable as exc:
            reasons.append(f"item {i}: {exc}")
            unknown.append(wire)
            continue
        if (code == "0" and not ack.ok) or (code != "0" and code != "2" and ack.ok):
            # The answer contradicts itself: neither side is believed.
            reasons.append(f'item {i} {"refused" if code == "0" else "accepted"} '
                           f'under code "{code}"')
            unknown.append(wire)
            continue
        acks.append(ack)
    if unknown:
        raise OkxBatchProtocolError(code, msg, op, rid, data, acks, "; ".join(reasons[:3]),
                                    unknown, where)
    if code == "0":
        return acks
    if code in ("1", "2"):
        raise OkxBatchError(code, msg, op, rid, data, acks)
    # A request-level code with every item refused: refused as a whole.
    if code in RATE_LIMIT_CODES:
        raise OkxRateLimitError(code, msg, op, rid, data)
    raise OkxApiError(code, msg, op, rid, data)


def _mass(op: str, rid: str | None, sent: Sequence[Mapping[str, Any]], code: str,
          data: Sequence[Any], where: str | None) -> bool:
    if code != "0" or len(data) != 1 or not isinstance(data[0], Mapping):
        raise _unknown(op, rid, sent, f'code "{code}" with {len(data)} result items', where)
    result = data[0].get("result")
    if result is True or result == "true":
        return True
    if result is False or result == "false":
        return False
    raise _unknown(op, rid, sent, f"result {result!r:.40} is not a boolean", where)


def ack_of(op: str, item: Any, wire: Mapping[str, Any], *, need_echo: bool = False) -> OrderAck:
    """One response item as an ``OrderAck``, checked against the item sent.

    With ``need_echo`` (the answer's item count is off, so position proves
    nothing) the item must echo an id of the item sent.

    Raises:
        Unbelievable: the item is not an object, has a field that is not a
            string, no ``sCode`` of digits, or names another order or request.
    """
    if not isinstance(item, Mapping):
        raise Unbelievable(f"an item is not an object but {type(item).__name__}")
    kw: dict[str, Any] = {}
    extra: dict[str, Any] | None = None
    for key, value in item.items():
        name = _ACK_NAMES.get(key)
        if name is None:
            if extra is None:
                extra = {}
            extra[key] = value
        elif value is not None:
            if type(value) is not str:
                raise Unbelievable(f"{key} is not a string but {type(value).__name__}")
            if value:  # OKX sends "" for an absent tag, subCode, reqId...: None
                kw[name] = value
    s_code = kw.get("s_code")
    if s_code is None or not is_digits(s_code):
        raise Unbelievable(f"sCode {item.get('sCode')!r:.40} is not a code")
    ts = kw.get("ts")
    if ts is not None:
        if not is_digits(ts):
            raise Unbelievable(f"ts {ts!r:.40} is not milliseconds")
        kw["ts"] = int(ts)
    echoed = False
    for field in _ID_FIELDS:
        got = item.get(field)
        if not got:
            continue
        if not is_id(got):
            raise Unbelievable(f"{field} {got!r:.40} is not an id")
        if field == "ordId" and op in PLACE_OPS:
            continue  # a place's ordId is the exchange's to give
        want = wire.get(field)
        if want is None:
            continue
        if got != want:
            raise Unbelievable(f"{field} {got!r} where {want!r} was sent")
        echoed = True
    if need_echo and not echoed:
        raise Unbelievable("no id to match it to an item sent")
    if not kw.get("cl_ord_id"):
        # Failed items often come back with clOrdId "": keep the one we sent
        # so every order stays traceable.
        sent_cl = wire.get("clOrdId")
        if sent_cl:
            kw["cl_ord_id"] = sent_cl
    if extra:
        kw["extra"] = extra
    return OrderAck(**kw)
