"""The simulator's request checks: trade-op requests, their fields, subscription args.

Pure functions over the request as the client sent it (``now`` passed in where
time matters); they return or raise OKX's ``(code, msg)`` and change nothing.
The engine (``._trade_ops``) and the connection (``._connection``) call
them before acting. The facts they judge by live in ``._rules``.

OKX documents the codes but not the order in which a gateway checks a request;
the order here (see ``request_problem``) is the simulator's reading.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import Decimal
from re import Pattern
from typing import Any

from ._engine_model import fmt, parse_dec
from ._rules import (
    BATCH_MAX,
    BATCH_OPS,
    CANDLE_PREFIXES,
    EXP_TIME_OPS,
    ID_RE,
    INSTRUMENTS_INST_TYPES,
    L2_TBT,
    L2_TBT_EXCLUSIVE,
    ORDERS_INST_TYPES,
    POSITIONS_INST_TYPES,
    RATE_LIMITS,
    RETIRED_CHANNELS,
    SILENT_PUBLIC,
    channel_rule,
    op_path,
)

MSG = {
    "50011": "Rate limit reached. Please refer to API documentation and throttle requests "
    "accordingly.",
    "50036": "The expTime can't be earlier than the current system time. Please adjust the "
    "expTime and try again.",
    "50061": "You've reached the maximum order rate limit for this account.",
    "51001": "Instrument ID, Instrument ID code or Spread ID doesn't exist.",
    "51016": "Duplicated client order ID",
    "51020": "Your order should meet or exceed the minimum order amount.",
    "51121": "Order quantity must be a multiple of the lot size.",
    "51169": "Order failed because you don't have any positions in this direction for this "
    "contract to reduce or close.",
    "51400": "Order cancellation failed as the order has been filled, canceled or does not "
    "exist.",
    "51401": "Cancellation failed as the order has been canceled.",
    "51402": "Cancellation failed as the order has been completed.",
    "51411": "Account does not have permission for mass cancellation.",
    "51503": "Order modification failed as the order has been filled, canceled or does not "
    "exist.",
    "51509": "Modification failed as the order has been canceled.",
    "51510": "Modification failed as the order has been completed.",
    "51511": "Operation failed as the order price did not meet the requirement for Post Only.",
    "51512": "Failed to amend orders in batches. You cannot have duplicate orders in the same "
    "amend-batch-orders request.",
    "51603": "Order does not exist",
    "54008": "This operation is disabled by the 'mass cancel order' function. Please try "
    "again later.",
    "60013": "Invalid args",
    "60011": "Please log in",
    "60028": "The current operation is not supported by this URL. Please use the correct "
    "WebSocket URL for the operation.",
    "60031": "The WebSocket endpoint does not allow multiple or repeated logins.",
    "64000": "Subscription parameter uly is unavailable anymore, please replace uly with "
    "instFamily. More details can refer to: " + "https://www.okx.com/help-center/"
    "changes-to-v5-api-websocket-subscription-parameter-and-url.",
    "64001": "This channel has been migrated to the '/business' URL. Please subscribe using "
    "the new URL. More details can refer to: https://www.okx.com/help-center/"
    "changes-to-v5-api-websocket-subscription-parameter-and-url.",
    "64002": 'This channel is not supported by "/business" URL. Please use "/private" URL(for '
    'private channels), or "/public" URL(for public channels). More details can refer to: '
    "https://www.okx.com/help-center/changes-to-v5-api-websocket-subscription-parameter-"
    "and-url.",
    "64003": "Your trading fee tier doesn't meet the requirement to access this channel",
}
"""OKX's message for each code the engine answers with a fixed text."""

Problem = tuple[str, str]
"""An OKX ``(code, msg)``."""


def empty(code: str, field: str) -> Problem:
    """``(code, "Parameter {field} can not be empty.")``."""
    return code, f"Parameter {field} can not be empty."


def bad(field: str) -> Problem:
    """``("51000", "Parameter {field} error")``."""
    return "51000", f"Parameter {field} error"


def err(code: str) -> Problem:
    """``(code, OKX's message for it)``."""
    return code, MSG[code]


def param_error(field: str) -> Problem:
    """``("60033", "Parameter {field} error.")``: a WebSocket request field with a
    value OKX does not take."""
    return "60033", f"Parameter {field} error."


def price_limit(hi: Decimal, lo: Decimal) -> Problem:
    """51006 with the band's bounds, as OKX words it."""
    return ("51006", f"Order price is not within the price limit (max buy price: "
            f"{fmt(hi)} min sell price: {fmt(lo)})")


class Reject(Exception):
    # Internal control flow; never escapes the engine.
    """An item failed validation: ``(sCode, sMsg)``."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg


def reject(problem: Problem) -> Reject:
    """The ``Reject`` to raise for ``problem``."""
    return Reject(*problem)


# -- one trade-op request --------------------------------------------------------------


def request_problem(
    frame: dict[str, Any], path: str, *, now: int, account_known: bool
) -> Problem | None:
    """The request-level error of a trade-op frame, or ``None`` if its items may run.

    The server has checked login and that ``frame`` is a dict whose ``op`` is
    not login/subscribe/unsubscribe. Checks in this order (the order is the
    simulator's reading; OKX documents only the codes), each answered with the
    code at top level and ``data: []``:

    1. unknown ``op`` -> ``60019`` "Invalid op: {op}";
    2. ``id`` missing or not 1-32 letters/digits -> ``60013`` "Invalid args";
    3. op not served on ``path`` -> ``60028``;
    4. the account is unknown -> ``60011``;
    5. ``args`` not a list of objects, empty (except ``sprd-mass-cancel``),
       or more than one element for a single op -> ``60013``;
    6. a batch of more than 20: ``51111`` (batch-orders), ``51501``
       (batch-amend-orders), ``60013`` (batch-cancel-orders);
    7. ``expTime`` (only on order, batch-orders, amend-order,
       batch-amend-orders) not an integer -> ``60013``; earlier than ``now`` ->
       ``50036`` with the REST message (the WebSocket shape is unconfirmed).
    """
    raw_op = frame.get("op")
    op = raw_op if isinstance(raw_op, str) else str(raw_op)
    if op not in RATE_LIMITS:
        return "60019", f"Invalid op: {op}"
    raw_id = frame.get("id")
    if not isinstance(raw_id, str) or not ID_RE.match(raw_id):
        return err("60013")
    if path != op_path(op):
        return err("60028")
    if not account_known:
        return err("60011")
    args = frame.get("args")
    if not isinstance(args, list) or not all(isinstance(a, dict) for a in args):
        return err("60013")
    if op == "sprd-mass-cancel":
        if len(args) > 1:
            return err("60013")
    elif not args or (op not in BATCH_OPS and len(args) != 1):
        return err("60013")
    if op in BATCH_OPS and len(args) > BATCH_MAX:
        if op == "batch-orders":
            return "51111", f"Maximum {BATCH_MAX} orders can be placed in bulk."
        if op == "batch-amend-orders":
            return "51501", f"Maximum {BATCH_MAX} orders can be modified."
        return err("60013")
    if op in EXP_TIME_OPS and frame.get("expTime") not in (None, ""):
        exp = frame["expTime"]
        if isinstance(exp, bool) or not (
            isinstance(exp, int) or (isinstance(exp, str) and exp.isdigit())
        ):
            return err("60013")
        if now > int(exp):
            return err("50036")
    return None


# -- fields of one item -------------------------------------------------------------------


def opt_id(arg: dict[str, Any], name: str, pattern: Pattern[str] = ID_RE) -> str:
    """An optional id field (``clOrdId``, ``tag``, ``reqId``): ``""`` when absent."""
    value = arg.get(name)
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not pattern.match(value):
        raise reject(bad(name))
    return value


def required_str(arg: dict[str, Any], name: str, allowed: Iterable[str]) -> str:
    """A required field whose value is one of ``allowed`` (50014 absent, 51000 else)."""
    value = arg.get(name)
    if value is None or value == "":
        raise reject(empty("50014", name))
    if not isinstance(value, str) or value not in allowed:
        raise reject(bad(name))
    return value


def positive(arg: dict[str, Any], name: str, *, required: bool) -> Decimal | None:
    """A positive decimal string field (``sz``, ``px``, ``newSz``...)."""
    value = arg.get(name)
    if value is None or value == "":
        if required:
            raise reject(empty("50014", name))
        return None
    d = parse_dec(value)
    if d is None or d <= 0:
        raise reject(bad(name))
    return d


def opt_bool(arg: dict[str, Any], name: str) -> bool:
    """An optional boolean field: JSON ``true``/``false`` or the strings ``"true"``/``"false"``."""
    value = arg.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    raise reject(bad(name))


def str_field(arg: dict[str, Any], name: str) -> str:
    """An optional string field: ``""`` when absent, 51000 when not a string."""
    value = arg.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise reject(bad(name))
    return value


def inst_id_code(arg: dict[str, Any], *, strict: bool) -> None:
    """Check the ``instId``/``instIdCode`` pair of an order-op item (not the lookup).

    ``strict``: ``instIdCode`` is required (50014 without it).
    """
    code = arg.get("instIdCode")
    has_code = code is not None and code != ""
    inst_id = arg.get("instId")
    if not has_code:
        if strict or inst_id in (None, ""):
            raise reject(empty("50014", "instIdCode"))
        if not isinstance(inst_id, str):
            raise reject(bad("instId"))
    elif isinstance(code, bool) or not (
        isinstance(code, int) or (isinstance(code, str) and code.isdigit())
    ):
        raise reject(bad("instIdCode"))


# -- subscription args --------------------------------------------------------------------


def book_conflict(
    channel: str, inst_id: object, subscribed: Collection[tuple[str, str]]
) -> Problem | None:
    """64004 if ``channel`` for ``inst_id`` may not join a connection's ``subscribed``
    ``(channel, instId)`` pairs: ``books-l2-tbt`` with ``books`` or
    ``books50-l2-tbt`` for the same instId, in either order (OKX's text names
    the other channel)."""
    if not isinstance(inst_id, str):
        return None
    if channel == L2_TBT:
        other = next((c for c in sorted(L2_TBT_EXCLUSIVE) if (c, inst_id) in subscribed), None)
    elif channel in L2_TBT_EXCLUSIVE and (L2_TBT, inst_id) in subscribed:
        other = channel
    else:
        return None
    if other is None:
        return None
    return ("64004", f"Subscribe to both {other} and books-l2-tbt for {inst_id} is not "
            "allowed. Unsubscribe books-l2-tbt first.")


def channel_error(
    path: str,
    arg: dict[str, Any],
    *,
    instruments: Collection[str],
    spreads: Collection[str],
    elp_names: bool = False,
) -> Problem | None:
    """``(code, msg)`` if ``arg`` cannot be subscribed on ``path``, else ``None``.

    64001: a business channel on public/private; 64002: a public or private
    channel on business; 60018: unknown channel (also ``books-elp``, retired
    after 2026-10-31, unless ``elp_names``), unknown instrument or spread, or a
    channel on the wrong one of public/private; 60033: ``instType`` not one the
    channel takes; 60013: a required field missing. ``instruments`` and
    ``spreads`` are the ids that exist.

    Which code OKX gives a wrong ``instType`` is not documented: 60033
    ("Parameter {param0} error.") is in its code list and fits; a retired channel
    name gets the unknown-channel answer (unconfirmed).
    """
    channel = arg.get("channel")
    if not isinstance(channel, str) or not channel:
        return err("60013")

    def wrong() -> Problem:
        desc = ",".join(f"{k}:{v}" for k, v in arg.items())
        return ("60018", f"Wrong URL or {desc} doesn't exist. Please use the correct URL, "
                "channel and parameters referring to API document.")

    rule = channel_rule(channel)
    if rule is None or (channel in RETIRED_CHANNELS and not elp_names):
        return wrong()
    if rule.path != path:
        if rule.path == "business":
            return err("64001")
        if path == "business":
            return err("64002")
        return wrong()
    if rule.path == "private":
        if channel in ("orders", "positions"):
            allowed = ORDERS_INST_TYPES if channel == "orders" else POSITIONS_INST_TYPES
            inst_type = arg.get("instType")
            if inst_type in (None, ""):
                return err("60013")
            if inst_type not in allowed:
                return param_error("instType")
        return None
    if rule.path == "public":
        if channel == "instruments":
            if arg.get("instType") in (None, ""):
                return err("60013")
            if arg.get("instType") not in INSTRUMENTS_INST_TYPES:
                return param_error("instType")
            return None
        inst_id = arg.get("instId")
        if channel in SILENT_PUBLIC:
            if inst_id in (None, "") and arg.get("instFamily") in (None, ""):
                return err("60013")
            return None
        if inst_id in (None, ""):
            return err("60013")
        if inst_id not in instruments:
            return wrong()
        return None
    if channel in ("sprd-orders", "sprd-trades"):
        sprd = arg.get("sprdId")
        if sprd not in (None, "") and sprd not in spreads:
            return wrong()
        return None
    if channel in ("sprd-books5", "sprd-bbo-tbt", "sprd-public-trades", "sprd-tickers",
                   "sprd-books-l2-tbt"):
        sprd = arg.get("sprdId")
        if sprd in (None, ""):
            return err("60013")
        if sprd not in spreads:
            return wrong()
        return None
    if channel == "trades-all" or channel.startswith(CANDLE_PREFIXES):
        inst_id = arg.get("instId")
        if inst_id in (None, ""):
            return err("60013")
        if inst_id not in instruments:
            return wrong()
        return None
    # orders-algo, algo-advance, deposit-info, withdrawal-info: no required field.
    return None
