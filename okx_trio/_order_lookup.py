"""Looking orders up on the exchange (signed REST), retrying what is worth retrying.

Used by the order tracker (refreshes after a gap) and by ``resolve()``: one
order by id (``GET /api/v5/trade/order`` or ``/api/v5/sprd/order``), a
listing with retries until a deadline, and the ``instId`` of a request item
that carries only ``instIdCode``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol, TypeVar

import trio

from ._exceptions import (
    OkxApiError,
    OkxProtocolError,
    OkxRateLimitError,
    OkxRequestError,
    OkxRequestTimeout,
)
from ._instruments import InstrumentCache, InstrumentFetchError
from ._okx import FAMILY_INST_TYPES, INST_TYPES, ORDER_NOT_FOUND_CODES, TRANSIENT_REST_CODES
from ._order_state import Kind
from ._rest import RestClient

__all__ = ["OrderContext", "Transient", "fetch_order", "inst_id_of", "lookup_order", "retrying"]

log = logging.getLogger("okx_trio")

RETRY_INITIAL: Final = 0.2
"""First delay between two attempts of a failed look-up (doubling)."""
RETRY_MAX: Final = 2.0
"""Longest delay between two attempts."""

T = TypeVar("T")


class OrderContext(Protocol):
    """What order look-ups need from the client (its core)."""

    @property
    def nursery(self) -> trio.Nursery:
        """The client's nursery (look-ups of a batch run there side by side)."""
        ...

    @property
    def rest(self) -> RestClient:
        """The REST helper (created on first use)."""
        ...

    @property
    def instruments(self) -> InstrumentCache:
        """The client's instrument cache."""
        ...


class Transient(Exception):
    """A REST attempt failed in a way worth retrying."""


async def lookup_order(rest: RestClient, kind: Kind, inst_id: str | None, ord_id: str | None,
                       cl_ord_id: str | None) -> tuple[bool, dict[str, Any] | None]:
    """``(found, item)``: ``(False, None)`` when the exchange has no such order.

    Raises:
        Transient: worth retrying.
        OkxAuthError, OkxApiError: a definite refusal.
    """
    try:
        if kind == "spread":
            item = await rest.get_sprd_order(ord_id=ord_id, cl_ord_id=cl_ord_id)
        else:
            if inst_id is None:
                return False, None
            item = await rest.get_order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)
    except OkxRateLimitError as exc:
        raise Transient(str(exc)) from exc
    except OkxApiError as exc:
        if exc.code in ORDER_NOT_FOUND_CODES:
            return False, None
        if exc.code in TRANSIENT_REST_CODES:
            raise Transient(str(exc)) from exc
        raise
    except (OkxRequestError, OkxProtocolError) as exc:
        raise Transient(str(exc)) from exc
    return item is not None, item


async def retrying(call: Callable[[], Awaitable[T]], deadline: float) -> T:
    """``await call()``, retrying transient REST failures until ``deadline``.

    Raises:
        OkxRequestTimeout: no success before ``deadline``.
        OkxAuthError, OkxApiError: a definite refusal.
    """
    delay = RETRY_INITIAL
    while True:
        with trio.move_on_at(deadline):
            try:
                return await call()
            except OkxRateLimitError as exc:
                log.debug("REST look-up rate limited, retrying: %s", exc)
            except OkxApiError as exc:
                if exc.code not in TRANSIENT_REST_CODES:
                    raise
                log.debug("REST look-up failed, retrying: %s", exc)
            except (OkxRequestError, OkxProtocolError) as exc:
                log.debug("REST look-up failed, retrying: %s", exc)
        if trio.current_time() + delay >= deadline:
            raise OkxRequestTimeout("REST look-up did not succeed before the deadline", "GET",
                                    connection="rest")
        await trio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX)


async def fetch_order(rest: RestClient, kind: Kind, inst_id: str | None, ord_id: str | None,
                      cl_ord_id: str | None, deadline: float
                      ) -> tuple[bool, dict[str, Any] | None]:
    """``lookup_order``, retrying transient failures until ``deadline``.

    Raises:
        OkxRequestTimeout: no answer before ``deadline``.
        OkxAuthError, OkxApiError: a definite refusal.
    """
    delay = RETRY_INITIAL
    while True:
        with trio.move_on_at(deadline):
            try:
                return await lookup_order(rest, kind, inst_id, ord_id, cl_ord_id)
            except Transient as exc:
                log.debug("order look-up failed, retrying: %s", exc)
        if trio.current_time() + delay >= deadline:
            raise OkxRequestTimeout("REST order look-up did not succeed before the deadline",
                                    "GET", None, cl_ord_id, connection="rest")
        await trio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX)


async def inst_id_of(cache: InstrumentCache, tracked_inst_id: Callable[[], str | None],
                     wire: Mapping[str, Any], deadline: float) -> str | None:
    """The instId of a regular op's item (REST needs it; the wire may hold only the code).

    Looked for in the item, then in the instrument cache, then with
    ``tracked_inst_id()`` (the order tracker's record of the order), then by
    loading the instrument lists not loaded yet (within ``deadline``). ``None``:
    no listed instrument has the code, so the exchange refused the request.
    """
    inst_id = wire.get("instId")
    if isinstance(inst_id, str) and inst_id:
        return inst_id
    code = wire.get("instIdCode")
    if not isinstance(code, int) or isinstance(code, bool):
        return None
    inst = cache.get_by_code(code)
    if inst is not None:
        return inst.inst_id
    tracked = tracked_inst_id()
    if tracked:
        return tracked
    with trio.move_on_at(deadline):
        for inst_type in INST_TYPES:
            # Options are listed one family at a time, and a code names no family:
            # the families in use were loaded when their orders were prepared.
            if inst_type in FAMILY_INST_TYPES or cache.loaded(inst_type):
                continue
            try:
                await cache.load(inst_type)
            except InstrumentFetchError:
                continue
            inst = cache.get_by_code(code)
            if inst is not None:
                return inst.inst_id
    # No listed instrument has this code: the exchange refused the request (51001).
    return None
