"""The trade ops: place, cancel, amend, mass cancel, and their spread twins.

``TradeOps`` runs one trade-op request for a logged-in account: the
request checks (``._checks.request_problem``), the rate limits
(``._op_limits.OpRateLimits``), then each item in request order, validated
field by field and executed by the matching engine (``._matching.Matcher``).
The response follows OKX's shape; the pushes the op caused are in the result.

Readings of OKX where its WebSocket behaviour is undocumented (unconfirmed):

* Limit prices must lie within +-5 % of the mid (51006: buys above, sells
  below); market orders sweep the book up to that band and cancel any remainder
  (cancelSource "14"); ``optimal_limit_ioc`` takes the best level only.
* A failed amend of a pending order (51511, 51006, 51008) pushes the order with
  ``amendResult "-1"``, or cancels it with ``amendResult "1"`` when
  ``cxlOnFail`` is true.
* Rate-limited requests are rejected whole (``code "50011"``, ``data []``) or,
  with ``rate_limit_shape="item"``, item by item (``sCode "50011"``); OKX's
  WebSocket shape is not documented, so both exist. The limits count per User
  ID (every API key of an account shares them), as OKX documents.
* The 1000-orders cap per account (50061) answers each item over it with
  ``sCode "50061"``, as other per-order failures are answered; OKX's WebSocket
  shape for it is not documented.
* ``mass-cancel`` from an account without Portfolio Margin mode and the MMP
  privilege gets 51411 (OKX documents the code for "no permission"; which code a
  non-PM account gets is not documented).
* ``inTime``/``outTime`` (µs) are on the six order ops, also on their
  request-level errors. Success items carry ``sMsg ""`` as in OKX's examples
  (a live demo frame was seen with "Order successfully placed."; clients must
  not depend on it) and ``ts`` = when the op was processed.
* ``ordType: rpi`` rests as a post-only maker, visible in every book; RPI's
  retail-only matching and ``rpiPxRound``'s price spacing are not modelled
  (``rpiTakerAccess``/``rpiPxRound`` are checked for type, then ignored).
* Not modelled: the 3-amends-in-flight limit (51513, ops are synchronous), MMP
  triggers (orders are never ``mmp_canceled``), price limits from an index.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

import attrs

from ._checks import (
    MSG,
    Reject,
    bad,
    empty,
    err,
    inst_id_code,
    opt_bool,
    opt_id,
    positive,
    price_limit,
    reject,
    request_problem,
    required_str,
    str_field,
)
from ._emits import Changes, Emit
from ._engine_model import ZERO, Account, Order, on_step, parse_dec
from ._matching import Matcher
from ._op_limits import OpRateLimits, RateKey
from ._publish import Publisher
from ._render import fail_item
from ._rules import (
    MASS_CANCEL_OPS,
    MMP_TYPES,
    ORD_TYPES,
    ORDER_OPS,
    POST_ONLY_TYPES,
    PRICED_TYPES,
    RATE_LIMITS,
    RPI_TYPES,
    SINGLE_OF,
    SUB_ACCOUNT_ORDER_LIMIT,
    TAG_RE,
)
from ._venue import Instrument, Venue

S_MSG_OK = ""
"""``sMsg`` of a successful item (OKX's documented examples)."""

RateLimitShape = Literal["top-level", "item"]


@attrs.frozen
class TradeResult:
    """What ``TradeOps.run`` produced."""

    response: dict[str, Any]
    """The full response frame (``id``, ``op``, ``code``, ``msg``, ``data``...)."""
    emits: list[Emit]
    """Pushes caused by the op, private first, then public, in order."""


class TradeOps:
    """Runs trade-op requests against a venue.

    Args:
        venue: the exchange's state.
        matcher: the matching engine over ``venue``.
        publisher: derives the account and public pushes at the end of an op.
        limits: the rate windows, or ``None`` to enforce no rate limit (nor the
            1000-orders cap).
        rate_limit_shape: how a rate-limited request is answered (see the module docstring).
        strict_inst_id_code: order-op items need ``instIdCode`` (50014 without).
        elp_names: accept the ELP names OKX retired after 2026-10-31
            (``ordType: elp`` as ``rpi``, ``isElpTakerAccess`` as
            ``rpiTakerAccess``); else ``elp`` is refused (51000) and
            ``isElpTakerAccess`` ignored.
        now_ms: the exchange clock, read again for ``outTime``.
        request_ms: the gateway's clock: a request's ``expTime`` is judged by it and
            ``inTime``/``outTime`` read it (default: the time the op runs at); a
            replay keeps it on the wall clock clients measure their offset against.
    """

    def __init__(
        self,
        venue: Venue,
        matcher: Matcher,
        publisher: Publisher,
        *,
        limits: OpRateLimits | None,
        rate_limit_shape: RateLimitShape,
        strict_inst_id_code: bool,
        elp_names: bool = False,
        now_ms: Callable[[], int],
        request_ms: Callable[[], int] | None = None,
    ) -> None:
        self._request_ms = request_ms
        self._venue = venue
        self._matcher = matcher
        self._publisher = publisher
        self._limits = limits
        self._order_cap = (
            OpRateLimits({"orders": (SUB_ACCOUNT_ORDER_LIMIT, False)})
            if limits is not None else None
        )
        self._elp_names = elp_names
        self._shape = rate_limit_shape
        self._strict_inst_id_code = strict_inst_id_code
        self._now_ms = now_ms

    def run(
        self, api_key: str, path: str, frame: dict[str, Any], ctx: Changes, *,
        by_inst_id: bool = False,
    ) -> TradeResult:
        """Execute one trade-op frame for a logged-in account, at ``ctx.now``.

        ``api_key`` is any key of the account. Request-level errors
        (``._checks.request_problem``, then the rate limits) are answered
        with the code at top level and ``data: []``. "At most N requests
        (orders, for batches) in any rolling 2 s window" per User ID and op, and
        per instrument for the six order ops (per instFamily for options); a
        one-item batch counts against the single op; a rejected request or item
        is not counted. Mass cancels are always limited at top level. Then the
        1000-orders cap per User ID: new and amended orders over it fail with
        ``sCode "50061"``.

        ``by_inst_id``: the items come from OKX's REST endpoints, which name the
        instrument by ``instId`` (the ``instIdCode`` requirement is the
        WebSocket ops').

        Then each item is validated and executed in request order. ``code`` is
        ``"0"`` if all items succeeded, ``"2"`` if some, ``"1"`` if none; ``msg``
        is ``""``. Mass cancels answer ``[{"result": true}]`` or a top-level
        error code with ``data: []``.
        """
        now = ctx.now
        # The gateway's clock: inTime/outTime and expTime (a replay keeps it on the
        # wall clock clients measure their offset against).
        gateway = self._now_ms if self._request_ms is None else self._request_ms
        judged_at = now if self._request_ms is None else self._request_ms()
        in_us = judged_at * 1000 + 117
        raw_op = frame.get("op")
        op = raw_op if isinstance(raw_op, str) else str(raw_op)
        raw_id = frame.get("id")
        rid = raw_id if isinstance(raw_id, str) else ("" if raw_id is None else str(raw_id))

        def answer(code: str, msg: str, data: list[dict[str, Any]]) -> TradeResult:
            resp: dict[str, Any] = {"id": rid, "op": op, "code": code, "msg": msg, "data": data}
            if op in ORDER_OPS:
                out_us = max(gateway() * 1000, in_us) + 243
                resp["inTime"] = str(in_us)
                resp["outTime"] = str(out_us)
            return TradeResult(resp, ctx.emits)

        strict = self._strict_inst_id_code and not by_inst_id
        acct = self._venue.account_of(api_key)
        problem = request_problem(frame, path, now=judged_at, account_known=acct is not None)
        if problem is not None:
            return answer(*problem, [])
        assert acct is not None
        args: list[dict[str, Any]] = frame["args"]

        admitted: list[bool] = [True] * len(args)
        capped: list[bool] = [False] * len(args)
        if self._limits is not None:
            keys = self._rate_keys(acct.uid, op, args)
            if self._shape == "top-level" or op in MASS_CANCEL_OPS:
                if not self._limits.admit_all(keys, now):
                    return answer("50011", MSG["50011"], [])
            else:
                admitted = self._limits.admit_each(keys, now)
            capped = self._over_order_cap(acct, op, args, admitted, now)

        if op == "mass-cancel":
            code, msg = self._mass_cancel(ctx, acct, args[0])
            self._publisher.flush(ctx)
            return answer(code, msg, [{"result": True}] if code == "0" else [])
        if op == "sprd-mass-cancel":
            code, msg = self._sprd_mass_cancel(ctx, acct, args[0] if args else {})
            self._publisher.flush(ctx)
            return answer(code, msg, [{"result": True}] if code == "0" else [])

        items: list[dict[str, Any]] = []
        batch_cl: set[str] = set()
        batch_orders: set[str] = set()
        for i, arg in enumerate(args):
            if not admitted[i]:
                items.append(fail_item(op, arg, now, "50011", MSG["50011"]))
                continue
            if capped[i]:
                items.append(fail_item(op, arg, now, *err("50061")))
                continue
            try:
                if op in ("order", "batch-orders"):
                    item = self._place(ctx, acct, arg, batch_cl, strict=strict)
                elif op in ("cancel-order", "batch-cancel-orders"):
                    item = self._cancel(ctx, acct, arg, strict=strict)
                elif op in ("amend-order", "batch-amend-orders"):
                    item = self._amend(ctx, acct, arg, batch_orders, strict=strict)
                elif op == "sprd-order":
                    item = self._sprd_place(ctx, acct, arg)
                elif op == "sprd-amend-order":
                    item = self._sprd_amend(ctx, acct, arg)
                else:
                    item = self._sprd_cancel(ctx, acct, arg)
            except Reject as exc:
                item = fail_item(op, arg, now, exc.code, exc.msg)
            items.append(item)
        self._publisher.flush(ctx)
        ok = sum(1 for it in items if it["sCode"] == "0")
        code = "0" if ok == len(items) else ("1" if ok == 0 else "2")
        return answer(code, "", items)

    # -- rate limits

    def _inst_rate_key(self, arg: dict[str, Any]) -> str:
        inst = self._venue.lookup_inst(arg)
        if inst is None:
            return f"?{arg.get('instIdCode')!r}/{arg.get('instId')!r}"
        if inst.spec.inst_type == "OPTION":
            return inst.spec.inst_family
        return inst.inst_id

    def _rate_keys(self, uid: str, op: str, args: list[dict[str, Any]]) -> list[RateKey]:
        if op in MASS_CANCEL_OPS:
            return [(uid, op)]
        bucket = SINGLE_OF.get(op, op) if len(args) == 1 else op
        if not RATE_LIMITS[op][1]:
            return [(uid, bucket)] * len(args)
        return [(uid, bucket, self._inst_rate_key(a)) for a in args]

    def _counts_for_cap(self, acct: Account, op: str, arg: dict[str, Any]) -> bool:
        """True if the item counts toward the 1000-orders cap: a new or amended order
        of a derivative, not an MMP order (spot/margin, spread, MMP are exempt)."""
        if op in ("order", "batch-orders"):
            # Any value (a list, a number) may arrive here before validation;
            # only a str can name an exempt order type.
            value = arg.get("ordType")
            ord_type = value if isinstance(value, str) else None
        elif op in ("amend-order", "batch-amend-orders"):
            found = self._venue.find_order(
                acct.api_key,
                ord_id=arg.get("ordId") if isinstance(arg.get("ordId"), str) else None,
                cl_ord_id=arg.get("clOrdId") if isinstance(arg.get("clOrdId"), str) else None,
            )
            ord_type = found.ord_type if found is not None else None
        else:
            return False
        if ord_type in MMP_TYPES:
            return False
        inst = self._venue.lookup_inst(arg)
        return inst is not None and inst.spec.is_derivative

    def _over_order_cap(
        self, acct: Account, op: str, args: list[dict[str, Any]], admitted: list[bool],
        now: int,
    ) -> list[bool]:
        """Which items the 1000-orders cap refuses (counting the others)."""
        capped = [False] * len(args)
        if self._order_cap is None:
            return capped
        counted = [i for i, arg in enumerate(args)
                   if admitted[i] and self._counts_for_cap(acct, op, arg)]
        if not counted:
            return capped
        verdicts = self._order_cap.admit_each([(acct.uid, "orders")] * len(counted), now)
        for i, ok in zip(counted, verdicts, strict=True):
            capped[i] = not ok
        return capped

    # -- items

    def _resolve_inst(self, arg: dict[str, Any], strict: bool) -> Instrument:
        inst_id_code(arg, strict=strict)
        inst = self._venue.lookup_inst(arg)
        if inst is None:
            raise reject(err("51001"))
        return inst

    def _place(
        self, ctx: Changes, acct: Account, arg: dict[str, Any], batch_cl: set[str], *,
        strict: bool,
    ) -> dict[str, Any]:
        inst = self._resolve_inst(arg, strict)
        spec = inst.spec
        cl = opt_id(arg, "clOrdId")
        tag = opt_id(arg, "tag", TAG_RE)
        td_modes = ("cross", "isolated") if spec.is_derivative else ("cash",)
        td_mode = required_str(
            arg, "tdMode", ("cash", "cross", "isolated", "spot_isolated")
        )
        if td_mode not in td_modes:
            raise reject(bad("tdMode"))
        side = required_str(arg, "side", ("buy", "sell"))
        if self._elp_names and arg.get("ordType") == "elp":
            arg = {**arg, "ordType": "rpi"}
        ord_type = required_str(arg, "ordType", ORD_TYPES)
        if ord_type not in self._ord_types(acct, spec.inst_type):
            raise reject(bad("ordType"))
        self._rpi_fields(arg)
        sz = positive(arg, "sz", required=True)
        assert sz is not None
        px: Decimal | None = None
        if ord_type in PRICED_TYPES:
            px = positive(arg, "px", required=True)
            assert px is not None
            if not on_step(px, inst.tick):
                raise reject(bad("px"))
        pos_side = arg.get("posSide", "")
        if pos_side not in ("", None, "net"):
            raise reject(bad("posSide"))
        pos_side = "net" if spec.is_derivative else ""
        reduce_only = opt_bool(arg, "reduceOnly")
        tgt_ccy = arg.get("tgtCcy", "")
        if tgt_ccy in (None, ""):
            tgt_ccy = ""
        elif tgt_ccy not in ("base_ccy", "quote_ccy"):
            raise reject(bad("tgtCcy"))
        if spec.inst_type == "SPOT" and ord_type == "market":
            tgt_ccy = tgt_ccy or ("quote_ccy" if side == "buy" else "base_ccy")
        else:
            # OKX: tgtCcy only applies to SPOT market orders and is ignored on
            # every other order (ccxt sends it with every spot order).
            tgt_ccy = ""
        quote_sized = tgt_ccy == "quote_ccy"
        if not quote_sized:
            if not on_step(sz, inst.lot):
                raise reject(err("51121"))
            if sz < inst.min_sz:
                raise reject(err("51020"))
        lock = acct.mass_cancel_lock.get(spec.inst_family) if spec.inst_family else None
        if lock is not None and ctx.now < lock:
            raise reject(err("54008"))
        if cl and (cl in batch_cl or self._venue.dup_cl(acct.api_key, cl)):
            raise reject(err("51016"))
        hi, lo = inst.band()
        if px is not None and ((side == "buy" and px > hi) or (side == "sell" and px < lo)):
            raise reject(price_limit(hi, lo))
        if reduce_only and spec.is_derivative:
            pos = acct.positions.get(inst.inst_id)
            held = pos.pos if pos is not None else ZERO
            if (side == "buy" and -held < sz) or (side == "sell" and held < sz):
                raise reject(err("51169"))

        # How much this order would trade, and what it must hold. Market orders
        # sweep up to the price band; optimal_limit_ioc takes the best level only.
        limit = px if px is not None else (hi if side == "buy" else lo)
        if ord_type == "optimal_limit_ioc":
            best = inst.book.opposite(side).best()
            if best is not None:
                limit = best
        target = sz
        if quote_sized:
            qty, _ = self._matcher.peek(inst, side, limit, acct.api_key, budget=sz)
            if qty <= 0 or qty < inst.min_sz:
                raise reject(err("51020"))
            target = qty
        ccy = inst.freeze_ccy(side)
        lever = self._venue.lever(acct, inst)
        if px is not None:
            need = ZERO if (reduce_only and spec.is_derivative) else inst.freeze_amount(
                side, px, target, lever
            )
        elif spec.inst_type == "SPOT":
            if side == "sell":
                need = target
            elif quote_sized:
                need = sz
            else:
                need = self._matcher.market_cost(inst, side, limit, acct.api_key, target)
        else:
            cost = self._matcher.market_cost(inst, side, limit, acct.api_key, target)
            need = ZERO if reduce_only else cost * inst.ct_val / lever
        if need > acct.available(ccy):
            raise reject(("51008", f"Order failed. Insufficient {ccy} balance in account."))

        order = Order(
            ord_id=self._venue.new_ord_id(), cl_ord_id=cl, tag=tag, api_key=acct.api_key,
            inst_id=inst.inst_id, inst_type=spec.inst_type, side=side, ord_type=ord_type,
            px=px, sz=sz, target=target, c_time=ctx.now, u_time=ctx.now, td_mode=td_mode,
            pos_side=pos_side, tgt_ccy=tgt_ccy, reduce_only=reduce_only,
            fee_ccy=self._matcher.fee_ccy(inst, side), frozen_ccy=ccy, lever=lever,
        )
        self._venue.register(order)
        if cl:
            batch_cl.add(cl)
        if px is not None and need:
            self._matcher.hold(ctx, acct, order, need)
        self._matcher.execute(ctx, inst, order, limit)
        return {
            "clOrdId": cl, "ordId": order.ord_id, "tag": tag, "ts": str(ctx.now),
            "sCode": "0", "sMsg": S_MSG_OK, "subCode": "",
        }

    def _ord_types(self, acct: Account, inst_type: str) -> set[str]:
        """The ``ordType`` values an account may place on an instrument type."""
        types = {"limit", "post_only", "fok", "ioc"}
        if inst_type != "OPTION":
            types.add("market")
        if inst_type in ("SWAP", "FUTURES"):
            types.add("optimal_limit_ioc")
        if inst_type in RPI_TYPES:
            types.add("rpi")
        if inst_type == "OPTION" and acct.settings.mmp_enabled:
            types |= MMP_TYPES
        return types

    def _rpi_fields(self, arg: dict[str, Any]) -> None:
        """Check the RPI fields' types (their effects are not modelled)."""
        opt_bool(arg, "rpiTakerAccess")
        opt_bool(arg, "rpiPxRound")
        if self._elp_names and arg.get("rpiTakerAccess") in (None, ""):
            opt_bool(arg, "isElpTakerAccess")

    def _find_for(
        self, acct: Account, inst_id: str, arg: dict[str, Any]
    ) -> tuple[Order | None, str, str]:
        ord_id = str_field(arg, "ordId")
        cl = str_field(arg, "clOrdId")
        if not ord_id and not cl:
            raise reject(("50015", "Either parameter ordId or clOrdId is required."))
        order = self._venue.find_order(acct.api_key, ord_id=ord_id or None, cl_ord_id=cl or None)
        if order is not None and order.inst_id != inst_id:
            order = None
        return order, ord_id, cl

    def _cancel(
        self, ctx: Changes, acct: Account, arg: dict[str, Any], *, strict: bool
    ) -> dict[str, Any]:
        inst = self._resolve_inst(arg, strict)
        order, _, _ = self._find_for(acct, inst.inst_id, arg)
        if order is None or not order.pending:
            raise reject(err("51400"))
        self._matcher.cancel_order(ctx, order, "1")
        return {
            "clOrdId": order.cl_ord_id, "ordId": order.ord_id, "ts": str(ctx.now),
            "sCode": "0", "sMsg": S_MSG_OK,
        }

    def _amend(
        self, ctx: Changes, acct: Account, arg: dict[str, Any], seen: set[str], *,
        strict: bool,
    ) -> dict[str, Any]:
        inst = self._resolve_inst(arg, strict)
        req_id = opt_id(arg, "reqId")
        cxl_on_fail = opt_bool(arg, "cxlOnFail")
        self._rpi_fields(arg)
        new_sz = positive(arg, "newSz", required=False)
        new_px = positive(arg, "newPx", required=False)
        if new_sz is None and new_px is None:
            raise reject(bad("newSz"))
        if new_px is not None and not on_step(new_px, inst.tick):
            raise reject(bad("newPx"))
        if new_sz is not None and not on_step(new_sz, inst.lot):
            raise reject(err("51121"))
        order, _, _ = self._find_for(acct, inst.inst_id, arg)
        if order is None or not order.pending:
            raise reject(err("51503"))
        if order.ord_id in seen:
            raise reject(err("51512"))
        seen.add(order.ord_id)
        try:
            self._amend_order(ctx, inst, acct, order, new_sz, new_px, req_id)
        except Reject as exc:
            if cxl_on_fail:
                self._matcher.cancel_order(ctx, order, "1", amend_result="1", req_id=req_id,
                                   code=exc.code, msg=exc.msg)
            else:
                order.touch(ctx.now)
                self._matcher.push_order(ctx, order, None, req_id=req_id, amend_result="-1",
                                 code=exc.code, msg=exc.msg)
            raise
        return {
            "clOrdId": order.cl_ord_id, "ordId": order.ord_id, "ts": str(ctx.now),
            "reqId": req_id, "sCode": "0", "sMsg": S_MSG_OK, "subCode": "",
        }

    def _amend_order(
        self,
        ctx: Changes,
        inst: Instrument,
        acct: Account,
        order: Order,
        new_sz: Decimal | None,
        new_px: Decimal | None,
        req_id: str,
    ) -> None:
        assert order.px is not None
        px = new_px if new_px is not None else order.px
        target = new_sz if new_sz is not None else order.target
        if (
            order.ord_type in POST_ONLY_TYPES
            and new_px is not None
            and self._matcher.would_take(inst, order.side, px)
        ):
            raise reject(err("51511"))
        hi, lo = inst.band()
        if new_px is not None and (
            (order.side == "buy" and px > hi) or (order.side == "sell" and px < lo)
        ):
            raise reject(price_limit(hi, lo))
        leaves = max(target - order.acc_fill_sz, ZERO)
        need = ZERO
        if not (order.reduce_only and inst.spec.is_derivative):
            need = inst.freeze_amount(order.side, px, leaves, order.lever)
        if need - order.frozen > acct.available(order.frozen_ccy):
            raise reject(
                ("51008", f"Order failed. Insufficient {order.frozen_ccy} balance in account.")
            )
        if req_id:
            order.req_ids.append(req_id)
        book_side = inst.book.side(order.side)
        requeue = px != order.px or target > order.target
        if requeue or leaves <= 0:
            book_side.remove_order(order)
        order.px = px
        order.target = target
        order.sz = target
        book_side.order_changed(order)
        if need > order.frozen:
            self._matcher.hold(ctx, acct, order, need - order.frozen)
        else:
            self._matcher.release(ctx, order, order.frozen - need)
        order.amend_result = "0"
        order.last_req_id = req_id
        if leaves <= 0:
            order.state = "filled"
            order.touch(ctx.now)
            self._matcher.push_order(ctx, order, None, req_id=req_id, amend_result="0")
            ctx.touch(inst)
            return
        order.touch(ctx.now)
        self._matcher.push_order(ctx, order, None, req_id=req_id, amend_result="0")
        ctx.touch(inst)
        if requeue:
            self._venue.requeue(order)
            if self._matcher.would_take(inst, order.side, px):
                self._matcher.match(ctx, inst, order, order.side, px, order.leaves)
            if order.pending and order.leaves > 0:
                book_side.add_order(order)

    def _mass_cancel(self, ctx: Changes, acct: Account, arg: dict[str, Any]) -> tuple[str, str]:
        """Cancel the account's pending MMP orders of an option family (OKX: "Only
        applicable to Option in Portfolio Margin mode, and MMP privilege is
        required"); 51411 for an account without both."""
        inst_type = arg.get("instType")
        if inst_type in (None, ""):
            return empty("50014", "instType")
        if inst_type != "OPTION":
            return bad("instType")
        family = arg.get("instFamily")
        if family in (None, ""):
            return empty("50014", "instFamily")
        if not isinstance(family, str) or not any(
            i.spec.inst_type == "OPTION" and i.spec.inst_family == family
            for i in self._venue.instruments.values()
        ):
            return bad("instFamily")
        lock = arg.get("lockInterval", "0")
        if lock in (None, ""):
            lock = "0"
        if not isinstance(lock, str) or not lock.isdigit() or int(lock) > 10000:
            return bad("lockInterval")
        if not acct.settings.mmp_enabled:
            return err("51411")
        for order in self._venue.order_list():
            if (
                order.api_key == acct.api_key
                and order.pending
                and order.ord_type in MMP_TYPES
                and self._venue.instruments[order.inst_id].spec.inst_family == family
            ):
                self._matcher.cancel_order(ctx, order, "1")
        if int(lock):
            acct.mass_cancel_lock[family] = ctx.now + int(lock)
        return "0", ""

    def _sprd_mass_cancel(
        self, ctx: Changes, acct: Account, arg: dict[str, Any]
    ) -> tuple[str, str]:
        sprd_id = arg.get("sprdId")
        if sprd_id not in (None, ""):
            if not isinstance(sprd_id, str):
                return bad("sprdId")
            if sprd_id not in self._venue.spreads:
                return err("51001")
        else:
            sprd_id = None
        for order in self._venue.order_list():
            if (
                order.api_key == acct.api_key
                and order.pending
                and order.sprd_id is not None
                and (sprd_id is None or order.inst_id == sprd_id)
            ):
                self._matcher.cancel_order(ctx, order, "1")
        return "0", ""

    def _sprd_inst(self, arg: dict[str, Any]) -> Instrument:
        sprd_id = arg.get("sprdId")
        if sprd_id in (None, ""):
            raise reject(empty("50014", "sprdId"))
        if not isinstance(sprd_id, str):
            raise reject(bad("sprdId"))
        inst = self._venue.spreads.get(sprd_id)
        if inst is None:
            raise reject(err("51001"))
        return inst

    def _sprd_place(self, ctx: Changes, acct: Account, arg: dict[str, Any]) -> dict[str, Any]:
        inst = self._sprd_inst(arg)
        cl = opt_id(arg, "clOrdId")
        tag = opt_id(arg, "tag", TAG_RE)
        side = required_str(arg, "side", ("buy", "sell"))
        ord_type = required_str(arg, "ordType", ("market", "limit", "post_only", "ioc"))
        sz = positive(arg, "sz", required=True)
        assert sz is not None
        px: Decimal | None = None
        if ord_type != "market":
            value = arg.get("px")
            if value in (None, ""):
                raise reject(empty("50014", "px"))
            px = parse_dec(value)
            if px is None or not on_step(px, inst.tick):
                raise reject(bad("px"))
        if not on_step(sz, inst.lot):
            raise reject(err("51121"))
        if sz < inst.min_sz:
            raise reject(err("51020"))
        if cl and self._venue.dup_cl(acct.api_key, cl):
            raise reject(err("51016"))
        hi, lo = inst.band()
        if px is not None and ((side == "buy" and px > hi) or (side == "sell" and px < lo)):
            raise reject(price_limit(hi, lo))
        order = Order(
            ord_id=self._venue.new_ord_id(), cl_ord_id=cl, tag=tag, api_key=acct.api_key,
            inst_id=inst.inst_id, inst_type="SPREAD", side=side, ord_type=ord_type, px=px,
            sz=sz, target=sz, c_time=ctx.now, u_time=ctx.now,
            fee_ccy=inst.spec.quote_ccy,
        )
        self._venue.register(order)
        limit = px if px is not None else (hi if side == "buy" else lo)
        self._matcher.execute_sprd(ctx, inst, order, limit)
        return {"clOrdId": cl, "ordId": order.ord_id, "tag": tag, "sCode": "0",
                "sMsg": S_MSG_OK}

    def _sprd_find(self, acct: Account, arg: dict[str, Any]) -> Order | None:
        ord_id = str_field(arg, "ordId")
        cl = str_field(arg, "clOrdId")
        if not ord_id and not cl:
            raise reject(("50015", "Either parameter ordId or clOrdId is required."))
        order = self._venue.find_order(acct.api_key, ord_id=ord_id or None, cl_ord_id=cl or None)
        if order is not None and order.sprd_id is None:
            return None
        return order

    def _sprd_cancel(self, ctx: Changes, acct: Account, arg: dict[str, Any]) -> dict[str, Any]:
        order = self._sprd_find(acct, arg)
        if order is None:
            raise reject(err("51400"))
        if order.state == "canceled":
            raise reject(err("51401"))
        if order.state == "filled":
            raise reject(err("51402"))
        self._matcher.cancel_order(ctx, order, "1")
        return {"clOrdId": order.cl_ord_id, "ordId": order.ord_id, "sCode": "0",
                "sMsg": S_MSG_OK}

    def _sprd_amend(self, ctx: Changes, acct: Account, arg: dict[str, Any]) -> dict[str, Any]:
        req_id = opt_id(arg, "reqId")
        new_sz = positive(arg, "newSz", required=False)
        new_px = positive(arg, "newPx", required=False)
        if new_sz is None and new_px is None:
            raise reject(bad("newSz"))
        order = self._sprd_find(acct, arg)
        if order is None:
            raise reject(err("51503"))
        if order.state == "canceled":
            raise reject(err("51509"))
        if order.state == "filled":
            raise reject(err("51510"))
        inst = self._venue.spreads[order.inst_id]
        if new_px is not None and not on_step(new_px, inst.tick):
            raise reject(bad("newPx"))
        if new_sz is not None and not on_step(new_sz, inst.lot):
            raise reject(err("51121"))
        assert order.px is not None
        px = new_px if new_px is not None else order.px
        if order.ord_type == "post_only" and new_px is not None and self._matcher.would_take(
            inst, order.side, px
        ):
            raise reject(err("51511"))
        target = new_sz if new_sz is not None else order.target
        if req_id:
            order.req_ids.append(req_id)
        side = inst.book.side(order.side)
        requeue = px != order.px or target > order.target
        leaves = target - order.acc_fill_sz - order.canceled_sz
        if requeue or leaves <= 0:
            side.remove_order(order)
        order.px, order.sz, order.target = px, target, target
        side.order_changed(order)
        order.amend_result = "0"
        order.last_req_id = req_id
        order.touch(ctx.now)
        ctx.touch(inst)
        if leaves <= 0:
            order.state = "filled" if not order.canceled_sz else "canceled"
        self._matcher.push_sprd_order(ctx, order, None, req_id=req_id, amend_result="0")
        if leaves > 0 and requeue:
            self._venue.requeue(order)
            if self._matcher.would_take(inst, order.side, px):
                self._matcher.match(ctx, inst, order, order.side, px, order.leaves)
            if order.pending and order.leaves > 0:
                side.add_order(order)
        return {"clOrdId": order.cl_ord_id, "ordId": order.ord_id, "reqId": req_id,
                "sCode": "0", "sMsg": S_MSG_OK}
