"""Turning validated request models into the items an order op sends.

Shared by the two trade paths (``WsApiClient`` over the WebSocket,
``RestApiClient`` over REST) so an order is prepared the same way on both:
a ``clOrdId`` generated when the caller gave none, the instrument looked up
(fetching its type's list once, within the request's deadline) and the
prices and sizes checked against its tick, lot and minimum size before
anything is sent. The WebSocket ops carry ``instIdCode`` (OKX requires it
there since 2026); the REST endpoints carry ``instId``.
"""

from __future__ import annotations

import math
import secrets
import string
from collections.abc import Callable, Sequence
from random import Random
from typing import Any, Final, Literal

import trio

from ._exceptions import OkxNotSent, OkxOrderRuleError
from ._instruments import InstrumentCache, InstrumentFetchError
from ._models import Instrument, OrderAck
from ._okx import EXP_TIME_OPS
from ._protocol import IdGenerator
from ._requests import (
    AmendOrder,
    CancelOrder,
    PlaceOrder,
    PlaceSpreadOrder,
    check_instrument,
    to_wire,
)

__all__ = ["check_exp_time", "cl_ord_id_generator", "prepare_orders", "remaining"]

_ALNUM: Final = string.ascii_letters + string.digits

InstField = Literal["instIdCode", "instId"]
"""How the prepared items name their instrument."""


def cl_ord_id_generator(request_prefix: str, rng: Random | None = None) -> IdGenerator:
    """clOrdIds: a random 8-character prefix plus a counter, never a request id.

    The prefix is chosen so that neither it nor the request ids' prefix starts
    with the other, so a generated clOrdId can never equal a request id. It is
    drawn from ``rng`` when given (the client's ``random`` option: a seeded run
    repeats its clOrdIds), else from ``secrets``.
    """
    choice = secrets.choice if rng is None else rng.choice
    while True:
        prefix = "".join(choice(_ALNUM) for _ in range(8))
        if not prefix.startswith(request_prefix) and not request_prefix.startswith(prefix):
            return IdGenerator(prefix)


def check_exp_time(op: str, exp_time: int | None) -> None:
    """Refuse an ``exp_time`` the op does not accept, or one that is not Unix ms.

    Raises:
        ValueError, TypeError: naming the problem.
    """
    if exp_time is None:
        return
    if op not in EXP_TIME_OPS:
        raise ValueError(
            f"exp_time is not accepted by op {op!r} (only {', '.join(sorted(EXP_TIME_OPS))})"
        )
    if isinstance(exp_time, bool) or not isinstance(exp_time, int):
        raise TypeError("exp_time must be an int (Unix time in milliseconds)")


def remaining(deadline: float) -> float:
    """The ``timeout=`` left until ``deadline`` (``math.inf`` for none)."""
    return math.inf if deadline == math.inf else deadline - trio.current_time()


async def prepare_orders(
    op: str,
    models: Sequence[Any],
    *,
    instruments: InstrumentCache,
    next_cl_ord_id: Callable[[], str],
    deadline: float,
    connection: str,
    inst_field: InstField,
) -> list[dict[str, Any]]:
    """The wire items of ``models``: clOrdIds generated, instrument named, rules checked.

    Args:
        op: the op the items are for (named in errors).
        models: validated request models (``PlaceOrder``...).
        instruments: the client's instrument cache.
        next_cl_ord_id: a fresh clOrdId for a place that has none.
        deadline: looking instruments up must end by then (trio time).
        connection: named in errors (``"private"``, ``"rest"``).
        inst_field: ``"instIdCode"`` to add the code (WebSocket ops),
            ``"instId"`` to name the instrument by id (REST endpoints).

    Raises:
        OkxNotSent: the instrument list could not be fetched, or not before the
            deadline (nothing was sent).
        ValueError: an instrument the exchange does not list, or a price or
            size that breaks its rules.
    """
    wires = []
    lookups: list[tuple[int, str]] = []
    for i, model in enumerate(models):
        wire = to_wire(model)
        if isinstance(model, PlaceOrder | PlaceSpreadOrder) and model.cl_ord_id is None:
            wire["clOrdId"] = next_cl_ord_id()
        if isinstance(model, PlaceOrder | CancelOrder | AmendOrder):
            if model.inst_id_code is not None:
                inst = instruments.get_by_code(model.inst_id_code)
                if inst is not None:
                    _check_pair(model, inst)
                    _check(op, models, i, inst, wire)
                    wire = _name(wire, inst, inst_field)
            elif model.inst_id is not None:
                inst = instruments.get(model.inst_id)
                if inst is None:
                    lookups.append((i, model.inst_id))
                else:
                    wire = _name(wire, inst, inst_field)
                    _check(op, models, i, inst, wire)
        wires.append(wire)
    if not lookups:
        return wires
    # Looking the instrument up counts against the request's own deadline.
    with trio.move_on_at(deadline) as scope:
        for i, inst_id in lookups:
            try:
                inst = await instruments.lookup(inst_id)
            except InstrumentFetchError as exc:
                what = ("map instId {!r} to instIdCode" if inst_field == "instIdCode"
                        else "check instId {!r} against its trading rules")
                raise OkxNotSent(
                    f"{exc}: cannot {what.format(inst_id)}",
                    op, None, wires[0].get("clOrdId"), wires, connection,
                ) from exc.__cause__
            _check(op, models, i, inst, wires[i])
            wires[i] = _name(wires[i], inst, inst_field)
    if scope.cancelled_caught or trio.current_time() >= deadline:
        raise OkxNotSent(
            "the deadline passed while fetching the instrument list",
            op, None, wires[0].get("clOrdId"), wires, connection,
        )
    return wires


def _check(op: str, models: Sequence[Any], i: int, inst: Instrument,
           wire: dict[str, Any]) -> None:
    """``check_instrument``, its error naming the op, the batch item and the clOrdId."""
    try:
        check_instrument(models[i], inst)
    except OkxOrderRuleError as exc:
        where = f"batch item {i}: " if len(models) > 1 else ""
        cl = wire.get("clOrdId")
        ack = OrderAck(cl_ord_id=cl if isinstance(cl, str) else None, s_code=exc.s_code,
                       s_msg=where + exc.s_msg)
        raise OkxOrderRuleError("1", where + exc.msg, op, None, (), ack, sent=False) from None


def _check_pair(model: Any, inst: Instrument) -> None:
    if model.inst_id is not None and model.inst_id != inst.inst_id:
        raise ValueError(
            f"{type(model).__name__}: inst_id {model.inst_id!r} and inst_id_code "
            f"{model.inst_id_code} name different instruments ({inst.inst_id})"
        )


def _name(wire: dict[str, Any], inst: Instrument, inst_field: InstField) -> dict[str, Any]:
    if inst_field == "instId":
        # REST names the instrument by id; a code the caller gave is mapped to it.
        out = {"instId": inst.inst_id, **wire}
        out.pop("instIdCode", None)
        return out
    if inst.inst_id_code is None or "instIdCode" in wire:
        # OKX lists no code for it: the legacy instId is all there is to send.
        return wire
    return {"instIdCode": inst.inst_id_code, **wire}
