"""Unknown outcomes, sans-I/O: when the exchange is certainly done with a request,
and what an order's state proves about a request.

``UnknownOutcomes`` remembers, for recent requests that ended with
``OkxConnectionLost`` / ``OkxRequestTimeout`` (or an ``OkxProtocolError``: an
answer that proved nothing), the moment (trio clock) after
which the exchange can no longer act on them: one margin after their
``expTime`` when they carried one, else a settle delay after the error.
``judge`` reads an order's state against a request: acted, not acted, or
not known yet. ``resolve()`` (``_resolve``) drives both; every time here is
passed in, so they are tested synchronously.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

import attrs

from ._exceptions import OkxProtocolError, OkxRequestError
from ._models import Outcome, TrackedOrder
from ._okx import AMEND_OPS, CANCEL_OPS, EXP_TIME_OPS, PLACE_OPS, SPREAD_OPS
from ._order_state import Kind

__all__ = [
    "SETTLE_DELAY",
    "SETTLE_MARGIN",
    "Action",
    "Query",
    "UnknownOutcomes",
    "judge",
    "query_ids",
    "resolvable",
]

SETTLE_DELAY: Final = 2.0
"""Seconds after an unanswered request without ``expTime`` (cancels, spread ops,
``timeout=math.inf``) after which the exchange is assumed to have finished with
it; with ``expTime`` the margin added after that time instead (clock offset)."""
SETTLE_MARGIN: Final = 1.0
"""Added after a request's ``expTime`` before "not on the exchange" is final."""
_UNKNOWN_LIMIT: Final = 4096

Action = Literal["place", "amend", "cancel", "lookup"]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dec(value: str) -> Decimal | None:
    try:
        d = Decimal(value)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


class UnknownOutcomes:
    """The settle time (trio clock) of recent requests that ended outcome-unknown.

    Bounded: the oldest entries are forgotten past a few thousand.
    """

    def __init__(self, limit: int = _UNKNOWN_LIMIT) -> None:
        self._limit = limit
        self._by_id: OrderedDict[str, float] = OrderedDict()
        self._by_cl: OrderedDict[str, float] = OrderedDict()

    def record(
        self,
        exc: OkxRequestError | OkxProtocolError,
        *,
        exp_time: int | None,
        sent_at: float,
        deadline: float,
        now_ms_at_send: int,
        send_exp_time: bool,
        now: float,
    ) -> float:
        """Remember when the exchange is done with ``exc``'s request; returns that time."""
        op = exc.op or ""
        if op in EXP_TIME_OPS and exp_time is not None:
            settle = sent_at + (exp_time - now_ms_at_send) / 1000 + SETTLE_MARGIN
        elif op in EXP_TIME_OPS and send_exp_time and deadline != math.inf:
            settle = deadline + SETTLE_MARGIN
        else:
            settle = now + SETTLE_DELAY
        if exc.id:
            self._put(self._by_id, exc.id, settle)
        if op in PLACE_OPS:
            for item in exc.request:
                cl = item.get("clOrdId")
                if isinstance(cl, str) and cl:
                    self._put(self._by_cl, cl, settle)
        return settle

    def record_abandoned(
        self,
        op: str,
        id: str,
        request: Sequence[Mapping[str, Any]],
        *,
        exp_time: int | None,
        now: float,
        now_ms: int,
    ) -> float:
        """Remember a written request whose caller was cancelled (no error to pass):
        the exchange is done with it one margin after its ``exp_time``, else a
        settle delay from ``now``. Returns that time."""
        if exp_time is not None:
            settle = now + max(0, exp_time - now_ms) / 1000 + SETTLE_MARGIN
        else:
            settle = now + SETTLE_DELAY
        self._put(self._by_id, id, settle)
        if op in PLACE_OPS:
            for item in request:
                cl = item.get("clOrdId")
                if isinstance(cl, str) and cl:
                    self._put(self._by_cl, cl, settle)
        return settle

    def _put(self, table: OrderedDict[str, float], key: str, value: float) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self._limit:
            table.popitem(last=False)

    def for_request(self, request_id: str | None) -> float | None:
        """The settle time recorded for a request id."""
        return self._by_id.get(request_id) if request_id else None

    def for_cl_ord_id(self, cl_ord_id: str | None) -> float | None:
        """The settle time recorded for a placed clOrdId."""
        return self._by_cl.get(cl_ord_id) if cl_ord_id else None


@attrs.frozen
class Query:
    """One item of a request to resolve, or one order to look up."""

    action: Action
    kind: Kind
    request: Mapping[str, Any]
    ord_id: str | None
    cl_ord_id: str | None
    inst_id: str | None
    req_id: str | None = None
    new_sz: Decimal | None = None
    new_px: Decimal | None = None

    @classmethod
    def of(cls, op: str, wire: Mapping[str, Any], inst_id: str | None) -> Query:
        """The query for one item ``wire`` of a request with ``op`` (see ``query_ids``)."""
        action, kind, ord_id, cl = query_ids(op, wire)
        return cls(
            action, kind, dict(wire), ord_id, cl, inst_id,
            req_id=_text(wire.get("reqId")) or None,
            new_sz=_dec(str(wire["newSz"])) if wire.get("newSz") is not None else None,
            new_px=_dec(str(wire["newPx"])) if wire.get("newPx") is not None else None,
        )


def resolvable(op: str) -> bool:
    """True for the ops ``resolve()`` can judge: places, amends and cancels by id."""
    return op in PLACE_OPS or op in AMEND_OPS or op in CANCEL_OPS


def query_ids(
    op: str, wire: Mapping[str, Any]
) -> tuple[Literal["place", "amend", "cancel"], Kind, str | None, str | None]:
    """``(action, kind, ordId, clOrdId)`` of one item of a request with ``op``.

    Raises:
        ValueError: the item has neither id (a place's ``ordId`` does not count:
            it is the exchange's to give).
    """
    action: Literal["place", "amend", "cancel"] = (
        "place" if op in PLACE_OPS else "amend" if op in AMEND_OPS else "cancel"
    )
    kind: Kind = "spread" if op in SPREAD_OPS else "regular"
    ord_id = _text(wire.get("ordId")) or None
    cl = _text(wire.get("clOrdId")) or None
    if action == "place":
        ord_id = None  # a place's ordId is the exchange's to give
    if ord_id is None and cl is None:
        raise ValueError(f"item {dict(wire)!r} has neither ordId nor clOrdId")
    return action, kind, ord_id, cl


def judge(q: Query, order: TrackedOrder | None, amend_result: str | None) -> Outcome | None:
    """The outcome ``order`` proves, or ``None`` while the request may still act."""
    if q.action in ("place", "lookup"):
        return "acted" if order is not None else None
    if order is None:
        return "not_found"
    if q.action == "cancel":
        if order.state in ("canceled", "mmp_canceled"):
            return "acted"
        return "not_found" if order.terminal else None
    # amend
    if amend_result is not None:
        return "not_found" if amend_result == "-1" else "acted"
    matches = (q.new_sz is None or order.sz == q.new_sz) and (
        q.new_px is None or order.px == q.new_px
    )
    if matches:
        return "acted"
    return "not_found" if order.terminal else None
