"""``resolve()``: turn an ``OkxConnectionLost`` / ``OkxRequestTimeout`` (or an
``OkxProtocolError`` for an answer that proved nothing) into the exchange's truth.

Each item of the request is judged (``_outcomes.judge``) against the order's
state: first the running tracker's, then the exchange's (signed REST look-ups,
retrying transient failures). "Not found" is concluded only once the exchange
has certainly finished with the request (its settle time, from
``_outcomes.UnknownOutcomes``); until then a tracker's pushes wake the wait.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Final

import trio

from ._exceptions import OkxError, OkxNotSent, OkxProtocolError, OkxRequestError
from ._models import Resolution, ResolvedItem, TrackedOrder
from ._order_lookup import OrderContext, Transient, inst_id_of, lookup_order
from ._order_state import Kind
from ._outcomes import SETTLE_DELAY, Query, UnknownOutcomes, judge, query_ids, resolvable
from ._tracker import TrackerState

__all__ = ["resolve_outcome"]

log = logging.getLogger("okx_trio")

_RETRY_INITIAL: Final = 0.2
_RETRY_MAX: Final = 2.0
_POLL: Final = 1.0

TrackerNow = Callable[[], TrackerState | None]
"""The running tracker's state, if a tracker runs (asked again at every step)."""


async def resolve_outcome(
    ctx: OrderContext,
    tracker: TrackerNow,
    error: OkxRequestError | OkxProtocolError | None,
    *,
    cl_ord_id: str | None,
    ord_id: str | None,
    inst_id: str | None,
    sprd_id: str | None,
    deadline: float,
    settle_delay: float | None,
    unknowns: UnknownOutcomes,
    extend: bool = False,
) -> Resolution:
    """The implementation of ``WsApiClient.resolve`` (see there).

    With ``extend`` (the default timeout) the deadline starts counting once
    the exchange has certainly finished with the request, so waiting that out
    never turns a definite answer into "unknown".
    """
    now = trio.current_time()
    if error is not None:
        if not isinstance(error, OkxRequestError | OkxProtocolError):
            raise TypeError(
                "resolve() takes an OkxConnectionLost/OkxRequestTimeout/OkxProtocolError "
                f"(or OkxNotSent), not {type(error).__name__}"
            )
        if cl_ord_id is not None or ord_id is not None:
            raise ValueError("give either an error or cl_ord_id/ord_id, not both")
        op = error.op or ""
        if not resolvable(op):
            raise ValueError(f"cannot resolve op {op!r}: only place, amend and cancel ops")
        if not error.request:
            raise ValueError("the error carries no request items to resolve")
        if isinstance(error, OkxNotSent):
            items = [ResolvedItem("not_found", None, dict(r)) for r in error.request]
            return Resolution.of(items, op)
        queries = []
        for r in error.request:
            _, kind, q_ord_id, q_cl = query_ids(op, r)
            q_inst_id = None
            if kind == "regular":
                q_inst_id = await inst_id_of(
                    ctx.instruments, functools.partial(_tracked_inst_id, tracker, q_ord_id, q_cl),
                    r, deadline,
                )
            queries.append(Query.of(op, r, q_inst_id))
        settle = unknowns.for_request(error.id)
        if settle is None:
            settle = now + (SETTLE_DELAY if settle_delay is None else settle_delay)
        elif settle_delay is not None:
            settle = now + settle_delay
    else:
        op = None
        if cl_ord_id is None and ord_id is None:
            raise ValueError("give an error to resolve, or cl_ord_id / ord_id")
        if inst_id is not None and sprd_id is not None:
            raise ValueError("give inst_id or sprd_id, not both")
        for name, value in (("cl_ord_id", cl_ord_id), ("ord_id", ord_id), ("inst_id", inst_id),
                            ("sprd_id", sprd_id)):
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"{name} must be a non-empty str")
        kind_: Kind | None = "spread" if sprd_id is not None else (
            "regular" if inst_id is not None else None)
        state = tracker()
        if kind_ is None and state is not None:
            entry = state.table.entry(ord_id, cl_ord_id)
            if entry is not None:
                kind_ = entry.kind
                inst_id = entry.order.inst_id
        if kind_ is None:
            raise ValueError("give inst_id (or sprd_id for a spread order): the exchange "
                             "needs it to look the order up")
        request = {k: v for k, v in (("instId", inst_id), ("sprdId", sprd_id),
                                     ("ordId", ord_id), ("clOrdId", cl_ord_id)) if v}
        queries = [Query("lookup", kind_, request, ord_id, cl_ord_id, inst_id)]
        known = unknowns.for_cl_ord_id(cl_ord_id)
        if settle_delay is not None:
            settle = now + settle_delay
        else:
            settle = known if known is not None else now
    if extend and settle > now:
        deadline += settle - now
    if len(queries) == 1:
        results = [await _resolve_one(ctx, tracker, queries[0], settle, deadline)]
    else:
        results = await _all_at_once(ctx, [
            functools.partial(_resolve_one, ctx, tracker, q, settle, deadline) for q in queries
        ])
    return Resolution.of(results, op)


async def _all_at_once(
    ctx: OrderContext, jobs: list[Callable[[], Awaitable[ResolvedItem]]]
) -> list[ResolvedItem]:
    """Run ``jobs`` concurrently in the client's nursery and wait for every result.

    No nursery is opened in the caller's task (its exceptions stay themselves):
    this task only waits for the jobs to finish. The first failure cancels the
    others and is raised; the caller's cancellation cancels them all.
    """
    results: list[ResolvedItem | None] = [None] * len(jobs)
    failures: list[OkxError | ValueError] = []
    scopes = [trio.CancelScope() for _ in jobs]
    left = len(jobs)
    finished = trio.Event()

    async def run(i: int) -> None:
        nonlocal left
        try:
            with scopes[i]:
                results[i] = await jobs[i]()
        except (OkxError, ValueError) as exc:
            failures.append(exc)
            for scope in scopes:
                scope.cancel()
        finally:
            left -= 1
            if not left:
                finished.set()

    for i in range(len(jobs)):
        ctx.nursery.start_soon(run, i, name="okx_trio resolve")
    try:
        await finished.wait()
    finally:
        for scope in scopes:
            scope.cancel()
        with trio.CancelScope(shield=True):
            await finished.wait()
    if failures:
        raise failures[0]
    return [r for r in results if r is not None]


def _tracked_inst_id(tracker: TrackerNow, ord_id: str | None,
                     cl_ord_id: str | None) -> str | None:
    state = tracker()
    if state is None:
        return None
    entry = state.table.entry(ord_id, cl_ord_id)
    return entry.order.inst_id if entry is not None else None


async def _resolve_one(ctx: OrderContext, tracker: TrackerNow, q: Query, settle: float,
                       deadline: float) -> ResolvedItem:
    if q.kind == "regular" and q.inst_id is None:
        # Unknown instrument code: the exchange cannot have acted on it.
        return ResolvedItem("not_found", None, q.request)
    last: TrackedOrder | None = None
    next_rest = trio.current_time()
    delay = _RETRY_INITIAL
    while True:
        state = tracker()
        entry = state.table.entry(q.ord_id, q.cl_ord_id) if state is not None else None
        amend_result = (state.table.amend_result(entry, q.req_id)
                        if state is not None and q.action == "amend" else None)
        if entry is not None and not entry.order.stale:
            last = entry.order
            verdict = judge(q, entry.order, amend_result)
            if verdict is not None:
                return ResolvedItem(verdict, entry.order, q.request)
        now = trio.current_time()
        if now >= deadline:
            return ResolvedItem("unknown", last, q.request)
        if now >= next_rest:
            sent_at = now
            try:
                with trio.move_on_at(deadline):
                    found, item = await lookup_order(ctx.rest, q.kind, q.inst_id, q.ord_id,
                                                     q.cl_ord_id)
                    order = None
                    if found and item is not None:
                        # A running tracker learns what the exchange said, whether
                        # or not it holds other orders yet.
                        applied = (state.apply(item, q.kind, push=False)
                                   if state is not None else None)
                        order = applied or TrackedOrder.from_okx(item)
                        last = order
                    verdict = judge(q, order, amend_result)
                    if verdict is None and sent_at >= settle:
                        verdict = "not_found"
                    if verdict is not None:
                        return ResolvedItem(verdict, order, q.request)
                    next_rest = settle if state is not None else min(settle, now + _POLL)
                    delay = _RETRY_INITIAL
            except Transient as exc:
                log.debug("resolve: REST look-up failed, retrying: %s", exc)
                next_rest = trio.current_time() + delay
                delay = min(delay * 2, _RETRY_MAX)
            except ValueError as exc:
                # A malformed id in the request: the exchange refused it (51000).
                log.debug("resolve: cannot look the order up: %s", exc)
                return ResolvedItem("not_found", None, q.request)
            continue
        wake = min(next_rest, deadline)
        if state is not None:
            event = state.waiter(q.ord_id, q.cl_ord_id)
            try:
                with trio.move_on_at(wake):
                    await event.wait()
            finally:
                state.unwait(event, q.ord_id, q.cl_ord_id)
        else:
            await trio.sleep_until(wake)
