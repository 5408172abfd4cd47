"""The simulator's exchange engine: pure, deterministic, no I/O.

The server layer (``_server.py``) owns sockets, login, subscriptions and timing;
it hands each trade-op frame to :meth:`Exchange.trade_op` and each market tick
to :meth:`Exchange.market_step`, and delivers the returned :class:`Emit` pushes
to the matching subscriptions.

What the engine models (okx-protocol.md sections 5-9):

* instruments (spot, a linear USDT swap, an option family, a spread) with
  ``instIdCode``, tick, lot and minimum sizes;
* accounts with cash and frozen balances per currency, net-mode positions;
* a price-time-priority matching engine per instrument and spread: synthetic
  "market" liquidity from a seeded random walk (always ahead of user orders at
  the same price) plus resting user orders of every account, so users trade
  against the market and against each other;
* the eleven trade ops with OKX's validation, codes and response shapes, the
  per-op rate limits and ``expTime``;
* every push the state changes cause: ``orders``, ``fills``, ``account``,
  ``positions``, ``balance_and_position``, ``sprd-orders``, ``sprd-trades``,
  ``trades``, ``trades-all``, ``books`` (seqId chained, optional CRC32),
  ``books5``, ``bbo-tbt``, ``tickers`` and the spread public channels.

Choices where OKX's WebSocket behaviour is undocumented (see okx-protocol.md
section 10) are listed in the docstring of :meth:`Exchange._trade_op`. Other
modelling choices:

* Fees: spot maker 0.08 % / taker 0.1 % in the received currency; derivatives
  maker 0.02 % / taker 0.05 % of the notional in the settle currency. ``fee`` and
  ``fillFee`` are negative (charged).
* Spot buys freeze ``px x sz`` quote, sells freeze ``sz`` base. Derivatives are
  net-mode positions with linear margin ``px x sz x ctVal / lever`` (lever 10 for
  the swap, 1 for options) frozen in the settle currency, for resting orders
  and for open positions; realized PnL and fees move the cash balance.
  Spread trades do not move balances (settlement is not modelled).
* Limit prices must lie within +-5 % of the mid (51006: buys above, sells
  below); market orders sweep the book up to that band and cancel any remainder
  (cancelSource "14"); ``optimal_limit_ioc`` takes the best level only.
* Synthetic liquidity is ahead of user orders at the same price. Self-trades
  cancel the resting order (OKX's default ``stpMode`` ``cancel_maker``,
  cancelSource "32").
* An order that rests without trading pushes ``live``; one that trades on
  arrival pushes its fills (``partially_filled`` / ``filled``) and, for
  post_only/fok/ioc/market remainders, ``canceled``.
* A failed amend of a pending order (51511, 51006, 51008) pushes the order with
  ``amendResult "-1"``, or cancels it with ``amendResult "1"`` when
  ``cxlOnFail`` is true.
* Not modelled: the sub-account 1000-orders cap (50061), the 3-amends-in-flight
  limit (51513, ops are synchronous), MMP, price limits from an index.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, Literal

import attrs

from .._models import Credentials
from .._protocol import ID_RE, TAG_RE, is_business_channel
from ._engine_book import Book, BookFeed
from ._engine_model import (
    DEFAULT_BALANCES,
    ZERO,
    Account,
    InstrumentSpec,
    Order,
    Position,
    default_instruments,
    floor_step,
    fmt,
    on_step,
    parse_dec,
)

__all__ = [
    "Account",
    "Emit",
    "Exchange",
    "Instrument",
    "InstrumentSpec",
    "Order",
    "Position",
    "TradeResult",
    "default_instruments",
]

log = logging.getLogger("okx_trio.testing")

MAKER_FEE = Decimal("0.0008")
TAKER_FEE = Decimal("0.001")
DERIV_MAKER_FEE = Decimal("0.0002")
DERIV_TAKER_FEE = Decimal("0.0005")
PRICE_BAND = Decimal("0.05")
"""Limit orders may not buy above mid x (1 + band) nor sell below mid x (1 - band) (51006)."""
BATCH_MAX = 20
RATE_WINDOW_MS = 2000
SYNTH_LEVELS = 120
"""Synthetic levels per side (the book shows about 100, within OKX's 400)."""

ORDER_OPS = frozenset(
    {"order", "batch-orders", "cancel-order", "batch-cancel-orders", "amend-order",
     "batch-amend-orders"}
)
"""The six ops whose responses carry inTime/outTime and take instId/instIdCode."""
_PRIVATE = ORDER_OPS | {"mass-cancel"}
_BUSINESS = frozenset({"sprd-order", "sprd-amend-order", "sprd-cancel-order", "sprd-mass-cancel"})
_EXP_TIME_OPS = frozenset({"order", "batch-orders", "amend-order", "batch-amend-orders"})
_BATCH_OPS = frozenset({"batch-orders", "batch-cancel-orders", "batch-amend-orders"})
_SINGLE_OF = {
    "batch-orders": "order",
    "batch-cancel-orders": "cancel-order",
    "batch-amend-orders": "amend-order",
}
# op -> (limit per 2 s, keyed by instrument?) (okx-protocol.md 5.2)
RATE_LIMITS: dict[str, tuple[int, bool]] = {
    "order": (60, True),
    "batch-orders": (300, True),
    "cancel-order": (60, True),
    "batch-cancel-orders": (300, True),
    "amend-order": (60, True),
    "batch-amend-orders": (300, True),
    "mass-cancel": (5, False),
    "sprd-order": (20, False),
    "sprd-amend-order": (20, False),
    "sprd-cancel-order": (20, False),
    "sprd-mass-cancel": (5, False),
}

MSG = {
    "50011": "Rate limit reached. Please refer to API documentation and throttle requests "
    "accordingly.",
    "50036": "The expTime can't be earlier than the current system time. Please adjust the "
    "expTime and try again.",
    "51001": "Instrument ID, Instrument ID code, or Spread ID doesn't exist.",
    "51016": "Duplicated client order ID",
    "51020": "Your order should meet or exceed the minimum order amount.",
    "51121": "Order quantity must be a multiple of the lot size.",
    "51169": "Order failed because you don't have any positions in this direction for this "
    "contract to reduce or close.",
    "51400": "Order cancellation failed as the order has been filled, canceled or does not "
    "exist.",
    "51401": "Cancellation failed as the order has been canceled.",
    "51402": "Cancellation failed as the order has been completed.",
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
}
S_MSG_PLACED = "Order placed"
S_MSG_CANCELED = "Cancellation was successful"
S_MSG_AMENDED = "Order modification successful"


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _empty(code: str, field: str) -> tuple[str, str]:
    return code, f"Parameter {field} can not be empty."


def _bad(field: str) -> tuple[str, str]:
    return "51000", f"Parameter {field} error"


def _err(code: str) -> tuple[str, str]:
    return code, MSG[code]


class _Reject(Exception):
    # Internal control flow; never escapes the engine.
    """An item failed validation: ``(sCode, sMsg)``."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg


def _reject(err: tuple[str, str]) -> _Reject:
    return _Reject(*err)


@attrs.frozen
class Emit:
    """One push the engine wants delivered.

    A subscription arg matches when each field it names equals the Emit's
    (``instType`` ``"ANY"`` matches every type); ``api_key`` ``None`` is public,
    otherwise only that account's logged-in connections get it.
    """

    channel: str
    """Channel name: ``"orders"``, ``"books"``, ``"tickers"``..."""
    data: list[dict[str, Any]]
    """The push's data items, exactly as OKX shapes them."""
    api_key: str | None = None
    """``None`` for public data, else the account the push belongs to."""
    inst_id: str | None = None
    """Match field ``instId``."""
    inst_type: str | None = None
    """Match field ``instType``."""
    inst_family: str | None = None
    """Match field ``instFamily``."""
    sprd_id: str | None = None
    """Match field ``sprdId``."""
    ccy: str | None = None
    """Match field ``ccy`` (account channel)."""
    action: str | None = None
    """``"snapshot"``/``"update"`` on incremental books, else ``None``."""
    extra: dict[str, Any] | None = None
    """Other top-level push fields (``eventType``, ``curPage``, ``lastPage``)."""


@attrs.frozen
class TradeResult:
    """What :meth:`Exchange.trade_op` produced."""

    response: dict[str, Any]
    """The full response frame (``id``, ``op``, ``code``, ``msg``, ``data``...)."""
    emits: list[Emit]
    """Pushes caused by the op, private first, then public, in order."""


class Instrument:
    """Runtime state of one instrument or spread: book, feeds, random walk, 24 h stats."""

    def __init__(self, spec: InstrumentSpec, rng: random.Random) -> None:
        self.spec = spec
        self.tick = Decimal(spec.tick_sz)
        self.lot = Decimal(spec.lot_sz)
        self.min_sz = Decimal(spec.min_sz)
        self.ct_val = Decimal(spec.ct_val) * Decimal(spec.ct_mult) if spec.ct_val else Decimal(1)
        self.lever = Decimal(spec.lever) if spec.lever else Decimal(1)
        self.quantum = self.tick / 10000
        start = Decimal(spec.start_px)
        self.grid = max(1, int(start * Decimal("0.00002") / self.tick))
        self.mid_ticks = int(start / self.tick) // self.grid * self.grid
        self.min_mid_ticks = 20 * self.grid
        self.synth_top: dict[bool, int] = {}
        self.book = Book(self.tick * self.grid)
        self.feeds = {
            "books": BookFeed(400, rng.randint(10_000, 5_000_000)),
            "books50-l2-tbt": BookFeed(50, rng.randint(10_000, 5_000_000)),
        }
        self.trade_seq = rng.randint(100_000_000, 900_000_000)
        self.public_trade_seq = rng.randint(1_000, 100_000)
        self.last: Decimal = start
        self.last_sz: Decimal = ZERO
        self.open24h: Decimal = start
        self.high24h: Decimal = start
        self.low24h: Decimal = start
        self.vol24h: Decimal = ZERO
        self.vol_ccy24h: Decimal = ZERO
        self.last_books5: tuple[Any, ...] | None = None
        self.last_bbo: tuple[Any, ...] | None = None
        self.last_ticker: tuple[Any, ...] | None = None

    @property
    def inst_id(self) -> str:
        """The instId (sprdId for spreads)."""
        return self.spec.inst_id

    @property
    def mid(self) -> Decimal:
        """The random walk's current mid price."""
        return self.tick * self.mid_ticks

    def next_trade_id(self) -> str:
        """A tradeId unique within this instrument."""
        self.trade_seq += 1
        return str(self.trade_seq)

    def band(self) -> tuple[Decimal, Decimal]:
        """``(max buy price, min sell price)`` for the 51006 price limit."""
        mid = self.mid
        width = max(mid * PRICE_BAND, self.tick * self.grid * 20)
        hi = floor_step(mid + width, self.tick)
        lo = max(self.tick, floor_step(mid - width, self.tick))
        return hi, lo

    def freeze_ccy(self, side: str) -> str:
        """The currency a resting order of ``side`` freezes."""
        spec = self.spec
        if spec.is_derivative:
            return spec.settle_ccy
        return spec.quote_ccy if side == "buy" else spec.base_ccy

    def freeze_amount(self, side: str, px: Decimal, qty: Decimal) -> Decimal:
        """Balance a resting order of ``qty`` at ``px`` holds."""
        if self.spec.is_derivative:
            return px * qty * self.ct_val / self.lever
        return px * qty if side == "buy" else qty


class _Ctx:
    """Accumulates what one op or market step changed, for the pushes at its end."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.emits: list[Emit] = []
        self.insts: dict[str, Instrument] = {}
        self.trades: dict[str, list[tuple[Decimal, Decimal, str, str]]] = {}
        self.ccys: dict[str, set[str]] = {}
        self.cash: dict[str, set[str]] = {}
        self.positions: dict[str, set[str]] = {}
        self.bp_trades: dict[str, list[dict[str, str]]] = {}

    def touch(self, inst: Instrument) -> None:
        self.insts.setdefault(inst.inst_id, inst)

    def dirty(self, api_key: str, ccy: str, cash: bool = False) -> None:
        self.ccys.setdefault(api_key, set()).add(ccy)
        if cash:
            self.cash.setdefault(api_key, set()).add(ccy)


@attrs.frozen
class _Fill:
    px: Decimal
    sz: Decimal
    trade_id: str
    exec_type: str
    fee: Decimal
    fee_ccy: str
    pnl: Decimal


class Exchange:
    """A deterministic OKX v5 exchange: accounts, instruments, matching, pushes.

    Args:
        accounts: one account per credentials, with generous default balances.
        instruments: the instrument set (default :func:`default_instruments`).
        seed: seed of the random walk and of the generated ids.
        checksum: put the real CRC32 in ``books`` pushes instead of 0.
        rate_limit: enforce OKX's per-op rate limits (50011).
        rate_limit_shape: ``"top-level"`` rejects a request as a whole with
            ``code "50011"`` and ``data []``; ``"item"`` answers each affected
            item with ``sCode "50011"`` (``code`` ``"1"``/``"2"``).
        strict_inst_id_code: reject order-op items without ``instIdCode`` (50014).
        now_ms: the exchange clock, Unix ms.
        balances: starting balances per account (default 1,000,000 USDT, 100 BTC, 1,000 ETH).
    """

    def __init__(
        self,
        accounts: Sequence[Credentials],
        *,
        instruments: Sequence[InstrumentSpec] | None = None,
        seed: int = 0,
        checksum: bool = False,
        rate_limit: bool = True,
        rate_limit_shape: Literal["top-level", "item"] = "top-level",
        strict_inst_id_code: bool = False,
        now_ms: Callable[[], int] = _wall_ms,
        balances: dict[str, str] | None = None,
    ) -> None:
        if rate_limit_shape not in ("top-level", "item"):
            raise ValueError("rate_limit_shape must be 'top-level' or 'item'")
        self.seed = seed
        self.internal_errors = 0
        """Engine bugs caught by :meth:`trade_op` / :meth:`market_step` (should stay 0)."""
        self.checksum = checksum
        self.rate_limit = rate_limit
        self.rate_limit_shape = rate_limit_shape
        self.strict_inst_id_code = strict_inst_id_code
        self.now_ms = now_ms
        self._rng = random.Random(seed)
        self._ids = random.Random(seed ^ 0x5EED)
        self._ord_seq = 680_000_000_000_000_000 + self._ids.randint(0, 10**15)
        self._order_seq = 0
        self._pos_seq = self._ids.randint(10**17, 9 * 10**17)
        self._rate: dict[tuple[str, ...], deque[int]] = {}

        self.instruments: dict[str, Instrument] = {}
        self.spreads: dict[str, Instrument] = {}
        self._by_code: dict[int, Instrument] = {}
        for spec in instruments if instruments is not None else default_instruments():
            inst = Instrument(spec, self._rng)
            table = self.spreads if spec.is_spread else self.instruments
            if spec.inst_id in table:
                raise ValueError(f"duplicate instrument {spec.inst_id!r}")
            table[spec.inst_id] = inst
            if spec.inst_id_code is not None and not spec.is_spread:
                if spec.inst_id_code in self._by_code:
                    raise ValueError(f"duplicate instIdCode {spec.inst_id_code}")
                self._by_code[spec.inst_id_code] = inst
        for sp in self.spreads.values():
            for leg in sp.spec.legs:
                if leg not in self.instruments:
                    raise ValueError(f"spread {sp.inst_id!r}: unknown leg {leg!r}")

        start = dict(DEFAULT_BALANCES if balances is None else balances)
        self.accounts: dict[str, Account] = {}
        for creds in accounts:
            if creds.api_key in self.accounts:
                raise ValueError(f"duplicate api_key {creds.api_key!r}")
            uid = str(self._ids.randint(10**14, 10**15 - 1))
            self.accounts[creds.api_key] = Account(
                creds, uid, {ccy: Decimal(v) for ccy, v in start.items()}
            )
        self._orders: dict[str, Order] = {}
        self._order_list: list[Order] = []
        self._by_cl: dict[tuple[str, str], Order] = {}

        for inst in self._all_insts():
            self._regen(inst, initial=True)
            self._publish_books(None, inst)

    # ------------------------------------------------------------------
    # Inspection

    def _all_insts(self) -> list[Instrument]:
        return [*self.instruments.values(), *self.spreads.values()]

    def order_list(self) -> list[Order]:
        """Every order ever accepted, in acceptance order."""
        return list(self._order_list)

    def find_order(
        self, api_key: str, *, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> Order | None:
        """An account's order by ``ordId`` (wins) or ``clOrdId`` (latest with that id)."""
        if ord_id:
            order = self._orders.get(ord_id)
            return order if order is not None and order.api_key == api_key else None
        if cl_ord_id:
            return self._by_cl.get((api_key, cl_ord_id))
        return None

    def book(self, inst_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The engine's full book for an instId or sprdId: ``(bids desc, asks asc)``."""
        inst = self.instruments.get(inst_id) or self.spreads.get(inst_id)
        if inst is None:
            raise KeyError(inst_id)
        bids = [(lvl[0], lvl[1]) for lvl in inst.book.bids.top(10**6)]
        asks = [(lvl[0], lvl[1]) for lvl in inst.book.asks.top(10**6)]
        return bids, asks

    # ------------------------------------------------------------------
    # Trade ops

    def trade_op(self, api_key: str, path: str, frame: dict[str, Any]) -> TradeResult:
        """Execute one trade-op frame for a logged-in account (see :meth:`_trade_op`).

        An internal error never escapes: it is logged, counted in
        ``internal_errors``, and answered with ``code "50026"`` ("System error")
        and the pushes of whatever had already changed.
        """
        ctx = _Ctx(self.now_ms())
        try:
            return self._trade_op(api_key, path, frame, ctx)
        except Exception:
            self.internal_errors += 1
            log.exception("simulator engine error in trade op %r", frame.get("op"))
            op = frame.get("op")
            rid = frame.get("id")
            resp = {
                "id": rid if isinstance(rid, str) else "",
                "op": op if isinstance(op, str) else str(op),
                "code": "50026",
                "msg": "System error. Try again later.",
                "data": [],
            }
            return TradeResult(resp, ctx.emits)

    def _trade_op(
        self, api_key: str, path: str, frame: dict[str, Any], ctx: _Ctx
    ) -> TradeResult:
        """Execute one trade-op frame for a logged-in account.

        The server has checked login and that ``frame`` is a dict whose ``op`` is
        not login/subscribe/unsubscribe. Order of request-level checks, each
        answered with the code at top level and ``data: []``:

        1. unknown ``op`` -> ``60019`` "Invalid op: {op}";
        2. ``id`` missing or not 1-32 letters/digits -> ``60013`` "Invalid args";
        3. op not served on ``path`` -> ``60028``;
        4. ``args`` not a list of objects, empty (except ``sprd-mass-cancel``),
           or more than one element for a single op -> ``60013``;
        5. a batch of more than 20: ``51111`` (batch-orders), ``51501``
           (batch-amend-orders), ``60013`` (batch-cancel-orders);
        6. ``expTime`` (only on order, batch-orders, amend-order,
           batch-amend-orders) not an integer -> ``60013``; earlier than now ->
           ``50036`` with the REST message;
        7. rate limit -> ``50011`` (shape per ``rate_limit_shape``; mass cancels
           always top level). "At most N requests (orders, for batches) in any
           rolling 2 s window" per account and op, and per instrument for the
           six order ops (per instFamily for options); a one-item batch counts
           against the single op. A rejected request or item is not counted.

        Then each item is validated and executed in request order. ``code`` is
        ``"0"`` if all items succeeded, ``"2"`` if some, ``"1"`` if none; ``msg``
        is ``""``. ``inTime``/``outTime`` (µs) are on the six order ops, also on
        their request-level errors. Mass cancels answer ``[{"result": true}]`` or
        a top-level error code with ``data: []``.
        """
        now = ctx.now
        in_us = now * 1000 + 117
        raw_op = frame.get("op")
        op = raw_op if isinstance(raw_op, str) else str(raw_op)
        raw_id = frame.get("id")
        rid = raw_id if isinstance(raw_id, str) else ("" if raw_id is None else str(raw_id))

        def answer(code: str, msg: str, data: list[dict[str, Any]]) -> TradeResult:
            resp: dict[str, Any] = {"id": rid, "op": op, "code": code, "msg": msg, "data": data}
            if op in ORDER_OPS:
                out_us = max(self.now_ms() * 1000, in_us) + 243
                resp["inTime"] = str(in_us)
                resp["outTime"] = str(out_us)
            return TradeResult(resp, ctx.emits)

        if op not in RATE_LIMITS:
            return answer("60019", f"Invalid op: {op}", [])
        if not isinstance(raw_id, str) or not ID_RE.match(raw_id):
            return answer("60013", MSG["60013"], [])
        if path != ("private" if op in _PRIVATE else "business"):
            return answer("60028", MSG["60028"], [])
        acct = self.accounts.get(api_key)
        if acct is None:
            return answer("60011", MSG["60011"], [])
        args = frame.get("args")
        if not isinstance(args, list) or not all(isinstance(a, dict) for a in args):
            return answer("60013", MSG["60013"], [])
        if op == "sprd-mass-cancel":
            if len(args) > 1:
                return answer("60013", MSG["60013"], [])
        elif not args or (op not in _BATCH_OPS and len(args) != 1):
            return answer("60013", MSG["60013"], [])
        if op in _BATCH_OPS and len(args) > BATCH_MAX:
            if op == "batch-orders":
                return answer("51111", f"Maximum {BATCH_MAX} orders can be placed in bulk.", [])
            if op == "batch-amend-orders":
                return answer("51501", f"Maximum {BATCH_MAX} orders can be modified.", [])
            return answer("60013", MSG["60013"], [])
        if op in _EXP_TIME_OPS and frame.get("expTime") not in (None, ""):
            exp = frame["expTime"]
            if isinstance(exp, bool) or not (
                isinstance(exp, int) or (isinstance(exp, str) and exp.isdigit())
            ):
                return answer("60013", MSG["60013"], [])
            if now > int(exp):
                return answer("50036", MSG["50036"], [])

        admitted: list[bool] = [True] * len(args)
        if self.rate_limit:
            keys = self._rate_keys(api_key, op, args)
            if self.rate_limit_shape == "top-level" or op in ("mass-cancel", "sprd-mass-cancel"):
                need: dict[tuple[str, ...], int] = {}
                for key in keys:
                    need[key] = need.get(key, 0) + 1
                if any(self._rate_count(k, now) + n > self._rate_cap(k) for k, n in need.items()):
                    return answer("50011", MSG["50011"], [])
                for key in keys:
                    self._rate_add(key, now)
            else:
                for i, key in enumerate(keys):
                    if self._rate_count(key, now) + 1 > self._rate_cap(key):
                        admitted[i] = False
                    else:
                        self._rate_add(key, now)

        if op == "mass-cancel":
            code, msg = self._mass_cancel(ctx, acct, args[0])
            self._flush(ctx)
            return answer(code, msg, [{"result": True}] if code == "0" else [])
        if op == "sprd-mass-cancel":
            code, msg = self._sprd_mass_cancel(ctx, acct, args[0] if args else {})
            self._flush(ctx)
            return answer(code, msg, [{"result": True}] if code == "0" else [])

        items: list[dict[str, Any]] = []
        batch_cl: set[str] = set()
        batch_orders: set[str] = set()
        for i, arg in enumerate(args):
            if not admitted[i]:
                items.append(self._fail_item(op, arg, now, "50011", MSG["50011"]))
                continue
            try:
                if op in ("order", "batch-orders"):
                    item = self._place(ctx, acct, arg, batch_cl)
                elif op in ("cancel-order", "batch-cancel-orders"):
                    item = self._cancel(ctx, acct, arg)
                elif op in ("amend-order", "batch-amend-orders"):
                    item = self._amend(ctx, acct, arg, batch_orders)
                elif op == "sprd-order":
                    item = self._sprd_place(ctx, acct, arg)
                elif op == "sprd-amend-order":
                    item = self._sprd_amend(ctx, acct, arg)
                else:
                    item = self._sprd_cancel(ctx, acct, arg)
            except _Reject as exc:
                item = self._fail_item(op, arg, now, exc.code, exc.msg)
            items.append(item)
        self._flush(ctx)
        ok = sum(1 for it in items if it["sCode"] == "0")
        code = "0" if ok == len(items) else ("1" if ok == 0 else "2")
        return answer(code, "", items)

    # -- rate limits

    def _inst_rate_key(self, arg: dict[str, Any]) -> str:
        inst = self._lookup_inst(arg)
        if inst is None:
            return f"?{arg.get('instIdCode')!r}/{arg.get('instId')!r}"
        if inst.spec.inst_type == "OPTION":
            return inst.spec.inst_family
        return inst.inst_id

    def _rate_keys(
        self, api_key: str, op: str, args: list[dict[str, Any]]
    ) -> list[tuple[str, ...]]:
        if op in ("mass-cancel", "sprd-mass-cancel"):
            return [(api_key, op)]
        bucket = _SINGLE_OF.get(op, op) if len(args) == 1 else op
        if not RATE_LIMITS[op][1]:
            return [(api_key, bucket)] * len(args)
        return [(api_key, bucket, self._inst_rate_key(a)) for a in args]

    @staticmethod
    def _rate_cap(key: tuple[str, ...]) -> int:
        return RATE_LIMITS[key[1]][0]

    def _rate_count(self, key: tuple[str, ...], now: int) -> int:
        window = self._rate.get(key)
        if window is None:
            return 0
        while window and window[0] <= now - RATE_WINDOW_MS:
            window.popleft()
        return len(window)

    def _rate_add(self, key: tuple[str, ...], now: int) -> None:
        self._rate.setdefault(key, deque()).append(now)

    # -- item shapes

    @staticmethod
    def _fail_item(op: str, arg: Any, now: int, code: str, msg: str) -> dict[str, Any]:
        a = arg if isinstance(arg, dict) else {}

        def echo(name: str) -> str:
            v = a.get(name, "")
            return v if isinstance(v, str) else ""

        ord_id = "" if op in ("order", "batch-orders", "sprd-order") else echo("ordId")
        item: dict[str, Any] = {"clOrdId": echo("clOrdId"), "ordId": ord_id}
        if op in ("order", "batch-orders", "sprd-order"):
            item["tag"] = echo("tag")
        if op in ("amend-order", "batch-amend-orders", "sprd-amend-order"):
            item["reqId"] = echo("reqId")
        if op in ORDER_OPS:
            item["ts"] = str(now)
        item["sCode"] = code
        item["sMsg"] = msg
        if op in ("order", "batch-orders", "amend-order", "batch-amend-orders"):
            item["subCode"] = ""
        return item

    # -- validation helpers

    def _lookup_inst(self, arg: dict[str, Any]) -> Instrument | None:
        code = arg.get("instIdCode")
        if code is not None and code != "":
            if isinstance(code, bool):
                return None
            if isinstance(code, str) and code.isdigit():
                code = int(code)
            return self._by_code.get(code) if isinstance(code, int) else None
        inst_id = arg.get("instId")
        if isinstance(inst_id, str):
            return self.instruments.get(inst_id)
        return None

    def _resolve_inst(self, arg: dict[str, Any]) -> Instrument:
        code = arg.get("instIdCode")
        has_code = code is not None and code != ""
        inst_id = arg.get("instId")
        if not has_code:
            if self.strict_inst_id_code or inst_id in (None, ""):
                raise _reject(_empty("50014", "instIdCode"))
            if not isinstance(inst_id, str):
                raise _reject(_bad("instId"))
        elif isinstance(code, bool) or not (
            isinstance(code, int) or (isinstance(code, str) and code.isdigit())
        ):
            raise _reject(_bad("instIdCode"))
        inst = self._lookup_inst(arg)
        if inst is None:
            raise _reject(_err("51001"))
        return inst

    @staticmethod
    def _opt_id(arg: dict[str, Any], name: str, pattern: Any = ID_RE) -> str:
        value = arg.get(name)
        if value is None or value == "":
            return ""
        if not isinstance(value, str) or not pattern.match(value):
            raise _reject(_bad(name))
        return value

    @staticmethod
    def _required_str(arg: dict[str, Any], name: str, allowed: Iterable[str]) -> str:
        value = arg.get(name)
        if value is None or value == "":
            raise _reject(_empty("50014", name))
        if not isinstance(value, str) or value not in allowed:
            raise _reject(_bad(name))
        return value

    @staticmethod
    def _positive(arg: dict[str, Any], name: str, *, required: bool) -> Decimal | None:
        value = arg.get(name)
        if value is None or value == "":
            if required:
                raise _reject(_empty("50014", name))
            return None
        d = parse_dec(value)
        if d is None or d <= 0:
            raise _reject(_bad(name))
        return d

    @staticmethod
    def _opt_bool(arg: dict[str, Any], name: str) -> bool:
        value = arg.get(name)
        if value is None or value == "":
            return False
        if isinstance(value, bool):
            return value
        if value == "true":
            return True
        if value == "false":
            return False
        raise _reject(_bad(name))

    def _dup_cl(self, api_key: str, cl: str) -> bool:
        order = self._by_cl.get((api_key, cl))
        return order is not None and order.pending

    def _new_ord_id(self) -> str:
        self._ord_seq += self._ids.randint(1, 40)
        return str(self._ord_seq)

    def _register(self, order: Order) -> None:
        self._order_seq += 1
        order.seq = self._order_seq
        self._orders[order.ord_id] = order
        self._order_list.append(order)
        if order.cl_ord_id:
            self._by_cl[(order.api_key, order.cl_ord_id)] = order

    # -- place

    def _place(
        self, ctx: _Ctx, acct: Account, arg: dict[str, Any], batch_cl: set[str]
    ) -> dict[str, Any]:
        inst = self._resolve_inst(arg)
        spec = inst.spec
        cl = self._opt_id(arg, "clOrdId")
        tag = self._opt_id(arg, "tag", TAG_RE)
        td_modes = ("cross", "isolated") if spec.is_derivative else ("cash",)
        td_mode = self._required_str(
            arg, "tdMode", ("cash", "cross", "isolated", "spot_isolated")
        )
        if td_mode not in td_modes:
            raise _reject(_bad("tdMode"))
        side = self._required_str(arg, "side", ("buy", "sell"))
        types = {"limit", "post_only", "fok", "ioc"}
        if spec.inst_type != "OPTION":
            types.add("market")
        if spec.inst_type in ("SWAP", "FUTURES"):
            types.add("optimal_limit_ioc")
        ord_type = self._required_str(
            arg, "ordType",
            ("market", "limit", "post_only", "fok", "ioc", "optimal_limit_ioc", "mmp",
             "mmp_and_post_only", "elp"),
        )
        if ord_type not in types:
            raise _reject(_bad("ordType"))
        sz = self._positive(arg, "sz", required=True)
        assert sz is not None
        px: Decimal | None = None
        if ord_type in ("limit", "post_only", "fok", "ioc"):
            px = self._positive(arg, "px", required=True)
            assert px is not None
            if not on_step(px, inst.tick):
                raise _reject(_bad("px"))
        pos_side = arg.get("posSide", "")
        if pos_side not in ("", None, "net"):
            raise _reject(_bad("posSide"))
        pos_side = "net" if spec.is_derivative else ""
        reduce_only = self._opt_bool(arg, "reduceOnly")
        tgt_ccy = arg.get("tgtCcy", "")
        if tgt_ccy in (None, ""):
            tgt_ccy = ""
        elif tgt_ccy not in ("base_ccy", "quote_ccy"):
            raise _reject(_bad("tgtCcy"))
        if spec.inst_type == "SPOT" and ord_type == "market":
            tgt_ccy = tgt_ccy or ("quote_ccy" if side == "buy" else "base_ccy")
        else:
            # OKX: tgtCcy only applies to SPOT market orders and is ignored on
            # every other order (ccxt sends it with every spot order).
            tgt_ccy = ""
        quote_sized = tgt_ccy == "quote_ccy"
        if not quote_sized:
            if not on_step(sz, inst.lot):
                raise _reject(_err("51121"))
            if sz < inst.min_sz:
                raise _reject(_err("51020"))
        lock = acct.mass_cancel_lock.get(spec.inst_family) if spec.inst_family else None
        if lock is not None and ctx.now < lock:
            raise _reject(_err("54008"))
        if cl and (cl in batch_cl or self._dup_cl(acct.api_key, cl)):
            raise _reject(_err("51016"))
        hi, lo = inst.band()
        if px is not None and ((side == "buy" and px > hi) or (side == "sell" and px < lo)):
            raise _reject(
                ("51006", f"Order price is not within the price limit (max buy price: "
                 f"{fmt(hi)} min sell price: {fmt(lo)})")
            )
        if reduce_only and spec.is_derivative:
            pos = acct.positions.get(inst.inst_id)
            held = pos.pos if pos is not None else ZERO
            if (side == "buy" and -held < sz) or (side == "sell" and held < sz):
                raise _reject(_err("51169"))

        # How much this order would trade, and what it must hold. Market orders
        # sweep up to the price band; optimal_limit_ioc takes the best level only.
        limit = px if px is not None else (hi if side == "buy" else lo)
        if ord_type == "optimal_limit_ioc":
            best = inst.book.opposite(side).best()
            if best is not None:
                limit = best
        target = sz
        if quote_sized:
            qty, _ = self._peek(inst, side, limit, acct.api_key, budget=sz)
            if qty <= 0 or qty < inst.min_sz:
                raise _reject(_err("51020"))
            target = qty
        ccy = inst.freeze_ccy(side)
        if px is not None:
            need = ZERO if (reduce_only and spec.is_derivative) else inst.freeze_amount(
                side, px, target
            )
        elif spec.inst_type == "SPOT":
            if side == "sell":
                need = target
            elif quote_sized:
                need = sz
            else:
                need = self._market_cost(inst, side, limit, acct.api_key, target)
        else:
            cost = self._market_cost(inst, side, limit, acct.api_key, target)
            need = ZERO if reduce_only else cost * inst.ct_val / inst.lever
        if need > acct.available(ccy):
            raise _reject(("51008", f"Order failed. Insufficient {ccy} balance in account."))

        order = Order(
            ord_id=self._new_ord_id(), cl_ord_id=cl, tag=tag, api_key=acct.api_key,
            inst_id=inst.inst_id, inst_type=spec.inst_type, side=side, ord_type=ord_type,
            px=px, sz=sz, target=target, c_time=ctx.now, u_time=ctx.now, td_mode=td_mode,
            pos_side=pos_side, tgt_ccy=tgt_ccy, reduce_only=reduce_only,
            fee_ccy=self._fee_ccy(inst, side), frozen_ccy=ccy,
        )
        self._register(order)
        if cl:
            batch_cl.add(cl)
        if px is not None and need:
            self._hold(ctx, acct, order, need)
        self._execute(ctx, inst, order, limit)
        return {
            "clOrdId": cl, "ordId": order.ord_id, "tag": tag, "ts": str(ctx.now),
            "sCode": "0", "sMsg": S_MSG_PLACED, "subCode": "",
        }

    @staticmethod
    def _fee_ccy(inst: Instrument, side: str) -> str:
        spec = inst.spec
        if spec.is_derivative:
            return spec.settle_ccy
        if spec.is_spread:
            return spec.quote_ccy
        return spec.base_ccy if side == "buy" else spec.quote_ccy

    def _hold(self, ctx: _Ctx, acct: Account, order: Order, amount: Decimal) -> None:
        ccy = order.frozen_ccy
        order.frozen += amount
        acct.frozen[ccy] = acct.frozen.get(ccy, ZERO) + amount
        acct.u_time[ccy] = ctx.now
        ctx.dirty(acct.api_key, ccy)

    def _release(self, ctx: _Ctx, order: Order, amount: Decimal | None = None) -> None:
        amount = order.frozen if amount is None else min(amount, order.frozen)
        if not amount:
            return
        acct = self.accounts[order.api_key]
        ccy = order.frozen_ccy
        order.frozen -= amount
        acct.frozen[ccy] = acct.frozen.get(ccy, ZERO) - amount
        acct.u_time[ccy] = ctx.now
        ctx.dirty(acct.api_key, ccy)

    def _peek(
        self,
        inst: Instrument,
        side: str,
        limit: Decimal | None,
        exclude: str | None,
        *,
        qty: Decimal | None = None,
        budget: Decimal | None = None,
    ) -> tuple[Decimal, Decimal]:
        """``(quantity, cost)`` a taker could fill now, not touching the book."""
        got = ZERO
        cost = ZERO
        opp = inst.book.opposite(side)
        for px in opp.prices():
            if limit is not None and (px > limit if side == "buy" else px < limit):
                break
            avail = opp.levels[px].others(exclude)
            if qty is not None:
                avail = min(avail, qty - got)
            if budget is not None:
                avail = min(avail, floor_step((budget - cost) / px, inst.lot))
            if avail <= 0:
                if (qty is not None and got >= qty) or budget is not None:
                    break
                continue
            got += avail
            cost += avail * px
        return got, cost

    def _market_cost(
        self, inst: Instrument, side: str, limit: Decimal, exclude: str, qty: Decimal
    ) -> Decimal:
        """Worst-case cost of a market order: the book, then the rest at the limit price."""
        got, cost = self._peek(inst, side, limit, exclude, qty=qty)
        return cost + (qty - got) * limit

    def _would_take(self, inst: Instrument, side: str, px: Decimal) -> bool:
        best = inst.book.opposite(side).best()
        if best is None:
            return False
        return best <= px if side == "buy" else best >= px

    def _execute(self, ctx: _Ctx, inst: Instrument, order: Order, limit: Decimal) -> None:
        """Run a new (or re-priced) order against the book; rest or cancel what is left."""
        ctx.touch(inst)
        if order.ord_type == "post_only" and self._would_take(inst, order.side, limit):
            self._cancel_order(ctx, order, "31")
            return
        if order.ord_type == "fok":
            qty, _ = self._peek(inst, order.side, limit, order.api_key, qty=order.leaves)
            if qty < order.leaves:
                self._cancel_order(ctx, order, "13")
                return
        self._match(ctx, inst, order, order.side, limit, order.leaves)
        if not order.pending:
            return
        if order.leaves <= 0:
            return
        if order.ord_type in ("limit", "post_only"):
            inst.book.side(order.side).add_order(order)
            if not order.acc_fill_sz and order.state == "live":
                self._push_order(ctx, order)
        else:
            self._cancel_order(ctx, order, "14")

    def _match(
        self,
        ctx: _Ctx,
        inst: Instrument,
        taker: Order | None,
        side: str,
        limit: Decimal | None,
        qty: Decimal,
    ) -> Decimal:
        """Take up to ``qty`` from the opposite side within ``limit``; returns the filled qty."""
        ctx.touch(inst)
        opp = inst.book.opposite(side)
        left = qty
        while left > 0:
            best = opp.best()
            if best is None:
                break
            if limit is not None and (best > limit if side == "buy" else best < limit):
                break
            lvl = opp.levels[best]
            if lvl.synth:
                f = min(left, lvl.synth)
                lvl.synth -= f
                if not lvl.synth:
                    lvl.synth_cnt = 0
                lvl.changed()
                left -= f
                self._trade(ctx, inst, taker, None, side, best, f)
            # Each step takes the queue's head out (filled or self-trade
            # cancelled) or fills what is left of the taker, so a deep queue
            # costs only the orders actually reached.
            queue = lvl.orders
            i = 0
            while left > 0 and i < len(queue):
                maker = queue[i]
                if taker is not None and maker.api_key == taker.api_key:
                    # Self-trade prevention, OKX's default stpMode cancel_maker.
                    self._cancel_order(ctx, maker, "32")
                    if i < len(queue) and queue[i] is maker:  # pragma: no cover - defensive
                        i += 1
                    continue
                f = min(left, maker.leaves)
                left -= f
                if maker.leaves - f <= 0:
                    lvl.discard(maker)
                self._trade(ctx, inst, taker, maker, side, best, f)
                lvl.sync(maker)
            opp.prune(best)
            if best in opp.levels and left > 0:  # pragma: no cover - defensive
                break
        return qty - left

    def _trade(
        self,
        ctx: _Ctx,
        inst: Instrument,
        taker: Order | None,
        maker: Order | None,
        taker_side: str,
        px: Decimal,
        sz: Decimal,
    ) -> None:
        trade_id = inst.next_trade_id()
        ctx.trades.setdefault(inst.inst_id, []).append((px, sz, taker_side, trade_id))
        inst.last = px
        inst.last_sz = sz
        inst.high24h = max(inst.high24h, px)
        inst.low24h = min(inst.low24h, px)
        inst.vol24h += sz
        inst.vol_ccy24h += sz * px if not inst.spec.is_derivative else sz * inst.ct_val
        legs_px = self._leg_prices(inst, px) if inst.spec.is_spread else None
        for order, exec_type in ((maker, "M"), (taker, "T")):
            if order is not None:
                self._apply_fill(ctx, inst, order, px, sz, trade_id, exec_type, legs_px)

    def _leg_prices(self, inst: Instrument, px: Decimal) -> list[Decimal]:
        near = self.instruments[inst.spec.legs[0]]
        base = near.mid
        return [base, base + px]

    def _apply_fill(
        self,
        ctx: _Ctx,
        inst: Instrument,
        order: Order,
        px: Decimal,
        sz: Decimal,
        trade_id: str,
        exec_type: str,
        legs_px: list[Decimal] | None,
    ) -> None:
        spec = inst.spec
        acct = self.accounts[order.api_key]
        order.acc_fill_sz += sz
        order.notional += px * sz
        pnl = ZERO
        if spec.is_spread:
            fee = ZERO
        elif spec.is_derivative:
            rate = DERIV_MAKER_FEE if exec_type == "M" else DERIV_TAKER_FEE
            fee = px * sz * inst.ct_val * rate
            ccy = spec.settle_ccy
            pnl = self._update_position(ctx, acct, inst, order, px, sz, trade_id)
            acct.positions[inst.inst_id].fee -= fee
            order.pnl += pnl
            acct.balances[ccy] = acct.balances.get(ccy, ZERO) - fee + pnl
            acct.u_time[ccy] = ctx.now
            ctx.dirty(acct.api_key, ccy, cash=True)
            if order.frozen and order.px is not None:
                self._release(ctx, order, inst.freeze_amount(order.side, order.px, sz))
        else:
            rate = MAKER_FEE if exec_type == "M" else TAKER_FEE
            base, quote = spec.base_ccy, spec.quote_ccy
            if order.side == "buy":
                fee = sz * rate
                acct.balances[quote] = acct.balances.get(quote, ZERO) - px * sz
                acct.balances[base] = acct.balances.get(base, ZERO) + sz - fee
            else:
                fee = px * sz * rate
                acct.balances[base] = acct.balances.get(base, ZERO) - sz
                acct.balances[quote] = acct.balances.get(quote, ZERO) + px * sz - fee
            for ccy in (base, quote):
                acct.u_time[ccy] = ctx.now
                ctx.dirty(acct.api_key, ccy, cash=True)
            if order.frozen and order.px is not None:
                self._release(ctx, order, inst.freeze_amount(order.side, order.px, sz))
        order.fee -= fee
        if order.leaves <= 0:
            order.state = "filled"
            self._release(ctx, order)
        else:
            order.state = "partially_filled"
        order.touch(ctx.now)
        order.last_fill_px = fmt(px)
        order.last_fill_sz = fmt(sz)
        order.last_trade_id = trade_id
        order.last_fill_time = str(ctx.now)
        order.last_exec_type = exec_type
        fill = _Fill(px, sz, trade_id, exec_type, -fee, order.fee_ccy, pnl)
        if spec.is_spread:
            self._push_sprd_order(ctx, order, fill)
            self._push_sprd_trade(ctx, inst, order, fill, legs_px or [px, px])
            return
        self._push_order(ctx, order, fill)
        ctx.emits.append(
            Emit(
                "fills",
                [{
                    "instId": order.inst_id, "fillSz": fmt(sz), "fillPx": fmt(px),
                    "side": order.side, "ts": str(ctx.now), "ordId": order.ord_id,
                    "clOrdId": order.cl_ord_id if _is_int64(order.cl_ord_id) else "0",
                    "tradeId": trade_id, "execType": exec_type, "count": "1",
                }],
                api_key=order.api_key, inst_id=order.inst_id, inst_type=spec.inst_type,
            )
        )
        ctx.bp_trades.setdefault(acct.api_key, []).append(
            {"instId": order.inst_id, "tradeId": trade_id}
        )

    def _update_position(
        self,
        ctx: _Ctx,
        acct: Account,
        inst: Instrument,
        order: Order,
        px: Decimal,
        sz: Decimal,
        trade_id: str,
    ) -> Decimal:
        """Net-mode position update; returns the realized PnL of this fill."""
        pos = acct.positions.get(inst.inst_id)
        if pos is None:
            self._pos_seq += 1
            pos = acct.positions[inst.inst_id] = Position(
                inst.inst_id, str(self._pos_seq), c_time=ctx.now, mgn_mode=order.td_mode
            )
        qty = sz if order.side == "buy" else -sz
        old = pos.pos
        pnl = ZERO
        if not old or (old > 0) == (qty > 0):
            total = abs(old) + abs(qty)
            pos.avg_px = ((abs(old) * pos.avg_px + abs(qty) * px) / total).quantize(inst.quantum)
            pos.pos = old + qty
        else:
            closed = min(abs(qty), abs(old))
            direction = 1 if old > 0 else -1
            pnl = closed * (px - pos.avg_px) * direction * inst.ct_val
            pos.realized_pnl += pnl
            pos.pos = old + qty
            if not pos.pos:
                pos.avg_px = ZERO
            elif (pos.pos > 0) != (old > 0):
                pos.avg_px = px
        pos.u_time = max(ctx.now, pos.u_time + 1)
        pos.trade_id = trade_id
        margin = abs(pos.pos) * pos.avg_px * inst.ct_val / inst.lever
        ccy = inst.spec.settle_ccy
        acct.frozen[ccy] = acct.frozen.get(ccy, ZERO) + margin - pos.margin
        pos.margin = margin
        ctx.positions.setdefault(acct.api_key, set()).add(inst.inst_id)
        return pnl

    def _cancel_order(
        self,
        ctx: _Ctx,
        order: Order,
        source: str,
        *,
        amend_result: str = "",
        req_id: str = "",
        code: str = "0",
        msg: str = "",
    ) -> None:
        inst = self.spreads[order.inst_id] if order.sprd_id else self.instruments[order.inst_id]
        ctx.touch(inst)
        inst.book.side(order.side).remove_order(order)
        order.canceled_sz += max(order.leaves, ZERO)
        order.state = "canceled"
        order.cancel_source = source
        self._release(ctx, order)
        order.touch(ctx.now)
        if order.sprd_id:
            self._push_sprd_order(ctx, order, None, req_id=req_id, amend_result=amend_result,
                                  code=code, msg=msg)
        else:
            self._push_order(ctx, order, None, req_id=req_id, amend_result=amend_result,
                             code=code, msg=msg)

    # -- cancel

    def _find_for(
        self, acct: Account, inst_id: str, arg: dict[str, Any]
    ) -> tuple[Order | None, str, str]:
        ord_id = _str_field(arg, "ordId")
        cl = _str_field(arg, "clOrdId")
        if not ord_id and not cl:
            raise _reject(("50015", "Either parameter ordId or clOrdId is required."))
        order = self.find_order(acct.api_key, ord_id=ord_id or None, cl_ord_id=cl or None)
        if order is not None and order.inst_id != inst_id:
            order = None
        return order, ord_id, cl

    def _cancel(self, ctx: _Ctx, acct: Account, arg: dict[str, Any]) -> dict[str, Any]:
        inst = self._resolve_inst(arg)
        order, _, _ = self._find_for(acct, inst.inst_id, arg)
        if order is None or not order.pending:
            raise _reject(_err("51400"))
        self._cancel_order(ctx, order, "1")
        return {
            "clOrdId": order.cl_ord_id, "ordId": order.ord_id, "ts": str(order.c_time),
            "sCode": "0", "sMsg": S_MSG_CANCELED,
        }

    # -- amend

    def _amend(
        self, ctx: _Ctx, acct: Account, arg: dict[str, Any], seen: set[str]
    ) -> dict[str, Any]:
        inst = self._resolve_inst(arg)
        req_id = self._opt_id(arg, "reqId")
        cxl_on_fail = self._opt_bool(arg, "cxlOnFail")
        new_sz = self._positive(arg, "newSz", required=False)
        new_px = self._positive(arg, "newPx", required=False)
        if new_sz is None and new_px is None:
            raise _reject(_bad("newSz"))
        if new_px is not None and not on_step(new_px, inst.tick):
            raise _reject(_bad("newPx"))
        if new_sz is not None and not on_step(new_sz, inst.lot):
            raise _reject(_err("51121"))
        order, _, _ = self._find_for(acct, inst.inst_id, arg)
        if order is None or not order.pending:
            raise _reject(_err("51503"))
        if order.ord_id in seen:
            raise _reject(_err("51512"))
        seen.add(order.ord_id)
        try:
            self._amend_order(ctx, inst, acct, order, new_sz, new_px, req_id)
        except _Reject as exc:
            if cxl_on_fail:
                self._cancel_order(ctx, order, "1", amend_result="1", req_id=req_id,
                                   code=exc.code, msg=exc.msg)
            else:
                order.touch(ctx.now)
                self._push_order(ctx, order, None, req_id=req_id, amend_result="-1",
                                 code=exc.code, msg=exc.msg)
            raise
        return {
            "clOrdId": order.cl_ord_id, "ordId": order.ord_id, "ts": str(order.c_time),
            "reqId": req_id, "sCode": "0", "sMsg": S_MSG_AMENDED, "subCode": "",
        }

    def _amend_order(
        self,
        ctx: _Ctx,
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
        if order.ord_type == "post_only" and new_px is not None and self._would_take(
            inst, order.side, px
        ):
            raise _reject(_err("51511"))
        hi, lo = inst.band()
        if new_px is not None and (
            (order.side == "buy" and px > hi) or (order.side == "sell" and px < lo)
        ):
            raise _reject(
                ("51006", f"Order price is not within the price limit (max buy price: "
                 f"{fmt(hi)} min sell price: {fmt(lo)})")
            )
        leaves = max(target - order.acc_fill_sz, ZERO)
        need = ZERO
        if not (order.reduce_only and inst.spec.is_derivative):
            need = inst.freeze_amount(order.side, px, leaves)
        if need - order.frozen > acct.available(order.frozen_ccy):
            raise _reject(
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
            self._hold(ctx, acct, order, need - order.frozen)
        else:
            self._release(ctx, order, order.frozen - need)
        order.amend_result = "0"
        order.last_req_id = req_id
        if leaves <= 0:
            order.state = "filled"
            order.touch(ctx.now)
            self._push_order(ctx, order, None, req_id=req_id, amend_result="0")
            ctx.touch(inst)
            return
        order.touch(ctx.now)
        self._push_order(ctx, order, None, req_id=req_id, amend_result="0")
        ctx.touch(inst)
        if requeue:
            self._order_seq += 1
            order.seq = self._order_seq
            if self._would_take(inst, order.side, px):
                self._match(ctx, inst, order, order.side, px, order.leaves)
            if order.pending and order.leaves > 0:
                book_side.add_order(order)

    # -- mass cancel

    def _mass_cancel(self, ctx: _Ctx, acct: Account, arg: dict[str, Any]) -> tuple[str, str]:
        inst_type = arg.get("instType")
        if inst_type in (None, ""):
            return _empty("50014", "instType")
        if inst_type != "OPTION":
            return _bad("instType")
        family = arg.get("instFamily")
        if family in (None, ""):
            return _empty("50014", "instFamily")
        if not isinstance(family, str) or not any(
            i.spec.inst_type == "OPTION" and i.spec.inst_family == family
            for i in self.instruments.values()
        ):
            return _bad("instFamily")
        lock = arg.get("lockInterval", "0")
        if lock in (None, ""):
            lock = "0"
        if not isinstance(lock, str) or not lock.isdigit() or int(lock) > 10000:
            return _bad("lockInterval")
        for order in list(self._order_list):
            if (
                order.api_key == acct.api_key
                and order.pending
                and order.inst_type == "OPTION"
                and self.instruments[order.inst_id].spec.inst_family == family
            ):
                self._cancel_order(ctx, order, "1")
        if int(lock):
            acct.mass_cancel_lock[family] = ctx.now + int(lock)
        return "0", ""

    def _sprd_mass_cancel(
        self, ctx: _Ctx, acct: Account, arg: dict[str, Any]
    ) -> tuple[str, str]:
        sprd_id = arg.get("sprdId")
        if sprd_id not in (None, ""):
            if not isinstance(sprd_id, str):
                return _bad("sprdId")
            if sprd_id not in self.spreads:
                return _err("51001")
        else:
            sprd_id = None
        for order in list(self._order_list):
            if (
                order.api_key == acct.api_key
                and order.pending
                and order.sprd_id is not None
                and (sprd_id is None or order.inst_id == sprd_id)
            ):
                self._cancel_order(ctx, order, "1")
        return "0", ""

    # -- spread ops

    def _sprd_inst(self, arg: dict[str, Any]) -> Instrument:
        sprd_id = arg.get("sprdId")
        if sprd_id in (None, ""):
            raise _reject(_empty("50014", "sprdId"))
        if not isinstance(sprd_id, str):
            raise _reject(_bad("sprdId"))
        inst = self.spreads.get(sprd_id)
        if inst is None:
            raise _reject(_err("51001"))
        return inst

    def _sprd_place(self, ctx: _Ctx, acct: Account, arg: dict[str, Any]) -> dict[str, Any]:
        inst = self._sprd_inst(arg)
        cl = self._opt_id(arg, "clOrdId")
        tag = self._opt_id(arg, "tag", TAG_RE)
        side = self._required_str(arg, "side", ("buy", "sell"))
        ord_type = self._required_str(arg, "ordType", ("market", "limit", "post_only", "ioc"))
        sz = self._positive(arg, "sz", required=True)
        assert sz is not None
        px: Decimal | None = None
        if ord_type != "market":
            value = arg.get("px")
            if value in (None, ""):
                raise _reject(_empty("50014", "px"))
            px = parse_dec(value)
            if px is None or not on_step(px, inst.tick):
                raise _reject(_bad("px"))
        if not on_step(sz, inst.lot):
            raise _reject(_err("51121"))
        if sz < inst.min_sz:
            raise _reject(_err("51020"))
        if cl and self._dup_cl(acct.api_key, cl):
            raise _reject(_err("51016"))
        hi, lo = inst.band()
        if px is not None and ((side == "buy" and px > hi) or (side == "sell" and px < lo)):
            raise _reject(
                ("51006", f"Order price is not within the price limit (max buy price: "
                 f"{fmt(hi)} min sell price: {fmt(lo)})")
            )
        order = Order(
            ord_id=self._new_ord_id(), cl_ord_id=cl, tag=tag, api_key=acct.api_key,
            inst_id=inst.inst_id, inst_type="SPREAD", side=side, ord_type=ord_type, px=px,
            sz=sz, target=sz, c_time=ctx.now, u_time=ctx.now,
            fee_ccy=inst.spec.quote_ccy,
        )
        self._register(order)
        limit = px if px is not None else (hi if side == "buy" else lo)
        self._execute_sprd(ctx, inst, order, limit)
        return {"clOrdId": cl, "ordId": order.ord_id, "tag": tag, "sCode": "0",
                "sMsg": S_MSG_PLACED}

    def _execute_sprd(self, ctx: _Ctx, inst: Instrument, order: Order, limit: Decimal) -> None:
        ctx.touch(inst)
        if order.ord_type == "post_only" and self._would_take(inst, order.side, limit):
            self._cancel_order(ctx, order, "31")
            return
        self._match(ctx, inst, order, order.side, limit, order.leaves)
        if not order.pending or order.leaves <= 0:
            return
        if order.ord_type in ("limit", "post_only"):
            inst.book.side(order.side).add_order(order)
            if not order.acc_fill_sz:
                self._push_sprd_order(ctx, order, None)
        else:
            self._cancel_order(ctx, order, "14")

    def _sprd_find(self, acct: Account, arg: dict[str, Any]) -> Order | None:
        ord_id = _str_field(arg, "ordId")
        cl = _str_field(arg, "clOrdId")
        if not ord_id and not cl:
            raise _reject(("50015", "Either parameter ordId or clOrdId is required."))
        order = self.find_order(acct.api_key, ord_id=ord_id or None, cl_ord_id=cl or None)
        if order is not None and order.sprd_id is None:
            return None
        return order

    def _sprd_cancel(self, ctx: _Ctx, acct: Account, arg: dict[str, Any]) -> dict[str, Any]:
        order = self._sprd_find(acct, arg)
        if order is None:
            raise _reject(_err("51400"))
        if order.state == "canceled":
            raise _reject(_err("51401"))
        if order.state == "filled":
            raise _reject(_err("51402"))
        self._cancel_order(ctx, order, "1")
        return {"clOrdId": order.cl_ord_id, "ordId": order.ord_id, "sCode": "0",
                "sMsg": S_MSG_CANCELED}

    def _sprd_amend(self, ctx: _Ctx, acct: Account, arg: dict[str, Any]) -> dict[str, Any]:
        req_id = self._opt_id(arg, "reqId")
        new_sz = self._positive(arg, "newSz", required=False)
        new_px = self._positive(arg, "newPx", required=False)
        if new_sz is None and new_px is None:
            raise _reject(_bad("newSz"))
        order = self._sprd_find(acct, arg)
        if order is None:
            raise _reject(_err("51503"))
        if order.state == "canceled":
            raise _reject(_err("51509"))
        if order.state == "filled":
            raise _reject(_err("51510"))
        inst = self.spreads[order.inst_id]
        if new_px is not None and not on_step(new_px, inst.tick):
            raise _reject(_bad("newPx"))
        if new_sz is not None and not on_step(new_sz, inst.lot):
            raise _reject(_err("51121"))
        assert order.px is not None
        px = new_px if new_px is not None else order.px
        if order.ord_type == "post_only" and new_px is not None and self._would_take(
            inst, order.side, px
        ):
            raise _reject(_err("51511"))
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
        self._push_sprd_order(ctx, order, None, req_id=req_id, amend_result="0")
        if leaves > 0 and requeue:
            self._order_seq += 1
            order.seq = self._order_seq
            if self._would_take(inst, order.side, px):
                self._match(ctx, inst, order, order.side, px, order.leaves)
            if order.pending and order.leaves > 0:
                side.add_order(order)
        return {"clOrdId": order.cl_ord_id, "ordId": order.ord_id, "reqId": req_id,
                "sCode": "0", "sMsg": S_MSG_AMENDED}

    # ------------------------------------------------------------------
    # Push shapes

    def _order_item(
        self,
        order: Order,
        fill: _Fill | None,
        *,
        req_id: str = "",
        amend_result: str = "",
        code: str = "0",
        msg: str = "",
    ) -> dict[str, Any]:
        inst = self.instruments[order.inst_id]
        spec = inst.spec
        notional_usd = self._usd(inst, order.px if order.px is not None else inst.mid, order.target)
        return {
            "instType": spec.inst_type,
            "instId": order.inst_id,
            "tgtCcy": order.tgt_ccy,
            "ccy": "",
            "ordId": order.ord_id,
            "clOrdId": order.cl_ord_id,
            "tag": order.tag,
            "px": fmt(order.px) if order.px is not None else "",
            "pxUsd": "",
            "pxVol": "",
            "pxType": "",
            "sz": fmt(order.sz),
            "notionalUsd": fmt(notional_usd),
            "ordType": order.ord_type,
            "side": order.side,
            "posSide": order.pos_side,
            "tdMode": order.td_mode,
            "fillPx": fmt(fill.px) if fill else "",
            "tradeId": fill.trade_id if fill else "",
            "fillSz": fmt(fill.sz) if fill else "0",
            "fillPnl": fmt(fill.pnl) if fill else "0",
            "fillTime": order.last_fill_time if fill else "",
            "fillFee": fmt(fill.fee) if fill else "0",
            "fillFeeCcy": fill.fee_ccy if fill else "",
            "fillNotionalUsd": fmt(self._usd(inst, fill.px, fill.sz)) if fill else "",
            "fillPxVol": "",
            "fillPxUsd": "",
            "fillMarkVol": "",
            "fillFwdPx": "",
            "fillMarkPx": fmt(inst.mid) if fill and spec.is_derivative else "",
            "fillIdxPx": "",
            "execType": fill.exec_type if fill else "",
            "accFillSz": fmt(order.acc_fill_sz),
            "avgPx": order.avg_px(inst.quantum),
            "state": order.state,
            "lever": spec.lever,
            "attachAlgoClOrdId": "",
            "tpTriggerPx": "",
            "tpTriggerPxType": "",
            "tpOrdPx": "",
            "slTriggerPx": "",
            "slTriggerPxType": "",
            "slOrdPx": "",
            "attachAlgoOrds": [],
            "stpId": "",
            "stpMode": "cancel_maker",
            "feeCcy": order.fee_ccy,
            "fee": fmt(order.fee),
            "rebateCcy": order.fee_ccy,
            "rebate": "0",
            "pnl": fmt(order.pnl),
            "source": "",
            "cancelSource": order.cancel_source,
            "amendSource": "",
            "category": "normal",
            "isTpLimit": "false",
            "uTime": str(order.u_time),
            "cTime": str(order.c_time),
            "reqId": req_id,
            "amendResult": amend_result,
            "reduceOnly": "true" if order.reduce_only else "false",
            "quickMgnType": "",
            "algoClOrdId": "",
            "algoId": "",
            "lastPx": fmt(inst.last),
            "linkedAlgoOrd": {"algoId": ""},
            "tradeQuoteCcy": spec.quote_ccy if spec.inst_type == "SPOT" else "",
            "code": code,
            "msg": msg,
        }

    def _usd(self, inst: Instrument, px: Decimal, qty: Decimal) -> Decimal:
        spec = inst.spec
        if spec.is_derivative:
            value = px * qty * inst.ct_val
            ccy = spec.settle_ccy
        else:
            value = px * qty
            ccy = spec.quote_ccy
        return (value * self._usd_price(ccy)).quantize(Decimal("0.0001"))

    def _usd_price(self, ccy: str) -> Decimal:
        if ccy in ("USDT", "USDC", "USD"):
            return Decimal(1)
        inst = self.instruments.get(f"{ccy}-USDT")
        if inst is not None and inst.spec.inst_type == "SPOT":
            return inst.mid
        return ZERO

    def _push_order(
        self,
        ctx: _Ctx,
        order: Order,
        fill: _Fill | None = None,
        *,
        req_id: str = "",
        amend_result: str = "",
        code: str = "0",
        msg: str = "",
    ) -> None:
        inst = self.instruments[order.inst_id]
        item = self._order_item(
            order, fill, req_id=req_id, amend_result=amend_result, code=code, msg=msg
        )
        ctx.emits.append(
            Emit(
                "orders", [item], api_key=order.api_key, inst_id=order.inst_id,
                inst_type=inst.spec.inst_type, inst_family=inst.spec.inst_family or None,
            )
        )

    def _sprd_order_item(
        self,
        order: Order,
        fill: _Fill | None,
        *,
        req_id: str = "",
        amend_result: str = "",
        code: str = "0",
        msg: str = "",
    ) -> dict[str, Any]:
        inst = self.spreads[order.inst_id]
        pending = order.leaves if order.pending else ZERO
        return {
            "sprdId": order.inst_id,
            "ordId": order.ord_id,
            "clOrdId": order.cl_ord_id,
            "tag": order.tag,
            "px": fmt(order.px) if order.px is not None else "",
            "sz": fmt(order.sz),
            "ordType": order.ord_type,
            "side": order.side,
            "fillSz": fmt(fill.sz) if fill else "",
            "fillPx": fmt(fill.px) if fill else "",
            "tradeId": fill.trade_id if fill else "",
            "accFillSz": fmt(order.acc_fill_sz),
            "pendingFillSz": fmt(pending),
            "pendingSettleSz": "0",
            "canceledSz": fmt(order.canceled_sz),
            "state": order.state,
            "avgPx": order.avg_px(inst.quantum),
            "cancelSource": order.cancel_source,
            "uTime": str(order.u_time),
            "cTime": str(order.c_time),
            "code": code,
            "msg": msg,
            "reqId": req_id,
            "amendResult": amend_result,
        }

    def _push_sprd_order(
        self,
        ctx: _Ctx,
        order: Order,
        fill: _Fill | None,
        *,
        req_id: str = "",
        amend_result: str = "",
        code: str = "0",
        msg: str = "",
    ) -> None:
        item = self._sprd_order_item(
            order, fill, req_id=req_id, amend_result=amend_result, code=code, msg=msg
        )
        ctx.emits.append(
            Emit("sprd-orders", [item], api_key=order.api_key, sprd_id=order.inst_id)
        )

    def _push_sprd_trade(
        self, ctx: _Ctx, inst: Instrument, order: Order, fill: _Fill, legs_px: list[Decimal]
    ) -> None:
        # Buying the spread buys the far leg and sells the near leg.
        legs = []
        for i, leg_id in enumerate(inst.spec.legs):
            leg = self.instruments[leg_id]
            buy_leg = (i == 1) == (order.side == "buy")
            cont = fill.sz / leg.ct_val if leg.spec.is_derivative else fill.sz
            rate = MAKER_FEE if fill.exec_type == "M" else TAKER_FEE
            legs.append({
                "instId": leg_id,
                "px": fmt(legs_px[i]),
                "sz": fmt(fill.sz),
                "szCont": fmt(cont) if leg.spec.is_derivative else "",
                "side": "buy" if buy_leg else "sell",
                "fillPnl": "0",
                "fee": fmt(-(legs_px[i] * fill.sz * rate).quantize(Decimal("0.00000001"))),
                "feeCcy": leg.spec.settle_ccy or leg.spec.quote_ccy,
                "tradeId": leg.next_trade_id(),
            })
        ctx.emits.append(
            Emit(
                "sprd-trades",
                [{
                    "sprdId": order.inst_id, "tradeId": fill.trade_id, "ordId": order.ord_id,
                    "clOrdId": order.cl_ord_id, "tag": order.tag, "fillPx": fmt(fill.px),
                    "fillSz": fmt(fill.sz), "side": order.side, "state": "filled",
                    "execType": fill.exec_type, "ts": str(ctx.now), "legs": legs,
                    "code": "0", "msg": "",
                }],
                api_key=order.api_key, sprd_id=order.inst_id,
            )
        )

    # -- account, positions, balance_and_position

    def _ccy_detail(self, acct: Account, ccy: str, now: int) -> dict[str, Any]:
        cash = acct.balances.get(ccy, ZERO)
        frozen = acct.frozen.get(ccy, ZERO)
        upl = ZERO
        pos_margin = ZERO
        for pos in acct.positions.values():
            inst = self.instruments[pos.inst_id]
            if inst.spec.settle_ccy == ccy:
                upl += (inst.mid - pos.avg_px) * pos.pos * inst.ct_val if pos.pos else ZERO
                pos_margin += pos.margin
        eq = cash + upl
        usd = self._usd_price(ccy)
        return {
            "ccy": ccy,
            "eq": fmt(eq),
            "cashBal": fmt(cash),
            "uTime": str(acct.u_time.get(ccy, now)),
            "isoEq": "0",
            "availEq": fmt(eq - frozen),
            "disEq": fmt((eq * usd).quantize(Decimal("0.0001"))),
            "fixedBal": "0",
            "availBal": fmt(cash - frozen),
            "frozenBal": fmt(frozen),
            "ordFrozen": fmt(frozen - pos_margin),
            "liab": "0",
            "upl": fmt(upl),
            "uplLiab": "0",
            "crossLiab": "0",
            "isoLiab": "0",
            "rewardBal": "0",
            "mgnRatio": "",
            "interest": "0",
            "twap": "0",
            "maxLoan": "",
            "eqUsd": fmt((eq * usd).quantize(Decimal("0.0001"))),
            "notionalLever": "0",
            "coinUsdPrice": fmt(usd),
            "stgyEq": "0",
            "isoUpl": "0",
            "spotInUseAmt": "",
            "spotIsoBal": "0",
            "imr": fmt(pos_margin),
            "mmr": fmt(pos_margin / 2),
            "smtSyncEq": "0",
            "spotCopyTradingEq": "0",
            "spotBal": fmt(cash),
            "openAvgPx": "",
            "accAvgPx": "",
            "spotUpl": "",
            "spotUplRatio": "",
            "totalPnl": "",
            "totalPnlRatio": "",
            "colRes": "0",
            "colBorrAutoConversion": "0",
            "collateralEnabled": False,
            "autoLendStatus": "off",
            "autoLendMtAmt": "0",
            "frpType": "0",
        }

    def _account_item(self, acct: Account, ccys: Iterable[str], now: int) -> dict[str, Any]:
        details = [self._ccy_detail(acct, c, now) for c in sorted(ccys)]
        all_details = [self._ccy_detail(acct, c, now) for c in acct.balances]
        total = sum((Decimal(d["eqUsd"]) for d in all_details), ZERO)
        frozen_usd = sum(
            (Decimal(d["frozenBal"]) * Decimal(d["coinUsdPrice"]) for d in all_details), ZERO
        )
        imr = sum((Decimal(d["imr"]) * Decimal(d["coinUsdPrice"]) for d in all_details), ZERO)
        q = Decimal("0.0001")
        return {
            "uTime": str(now),
            "totalEq": fmt(total.quantize(q)),
            "isoEq": "0",
            "adjEq": fmt(total.quantize(q)),
            "availEq": fmt((total - frozen_usd).quantize(q)),
            "ordFroz": fmt((frozen_usd - imr).quantize(q)),
            "imr": fmt(imr.quantize(q)),
            "mmr": fmt((imr / 2).quantize(q)),
            "borrowFroz": "0",
            "mgnRatio": "",
            "notionalUsd": "0",
            "notionalUsdForBorrow": "0",
            "notionalUsdForSwap": "0",
            "notionalUsdForFutures": "0",
            "notionalUsdForOption": "0",
            "upl": fmt(sum((Decimal(d["upl"]) * Decimal(d["coinUsdPrice"])
                            for d in all_details), ZERO).quantize(q)),
            "delta": "",
            "deltaLever": "",
            "deltaNeutralStatus": "",
            "details": details,
        }

    def _position_item(self, acct: Account, pos: Position, now: int) -> dict[str, Any]:
        inst = self.instruments[pos.inst_id]
        spec = inst.spec
        mark = inst.mid
        upl = (mark - pos.avg_px) * pos.pos * inst.ct_val if pos.pos else ZERO
        margin = pos.margin
        notional = abs(pos.pos) * mark * inst.ct_val * self._usd_price(spec.settle_ccy)
        return {
            "adl": "1",
            "availPos": fmt(abs(pos.pos)) if pos.mgn_mode == "isolated" else "",
            "avgPx": fmt(pos.avg_px) if pos.pos else "",
            "baseBal": "",
            "baseBorrowed": "",
            "baseInterest": "",
            "bePx": "",
            "bizRefId": "",
            "bizRefType": "",
            "cTime": str(pos.c_time),
            "ccy": spec.settle_ccy,
            "clSpotInUseAmt": "",
            "closeOrderAlgo": [],
            "deltaBS": "",
            "deltaPA": "",
            "fee": fmt(pos.fee),
            "fundingFee": "0",
            "gammaBS": "",
            "gammaPA": "",
            "idxPx": fmt(mark),
            "imr": fmt(margin) if pos.mgn_mode == "cross" else "",
            "instId": pos.inst_id,
            "instType": spec.inst_type,
            "interest": "0",
            "last": fmt(inst.last),
            "lever": spec.lever,
            "liab": "",
            "liabCcy": "",
            "liqPenalty": "0",
            "liqPx": "",
            "margin": fmt(margin) if pos.mgn_mode == "isolated" else "",
            "markPx": fmt(mark),
            "maxSpotInUseAmt": "",
            "mgnMode": pos.mgn_mode,
            "mgnRatio": "",
            "mmr": fmt(margin / 2),
            "notionalUsd": fmt(notional.quantize(Decimal("0.0001"))),
            "optVal": "",
            "pendingCloseOrdLiabVal": "",
            "pnl": fmt(pos.realized_pnl),
            "pos": fmt(pos.pos),
            "posCcy": "",
            "posId": pos.pos_id,
            "posSide": "net",
            "quoteBal": "",
            "quoteBorrowed": "",
            "quoteInterest": "",
            "realizedPnl": fmt(pos.realized_pnl + pos.fee),
            "spotInUseAmt": "",
            "spotInUseCcy": "",
            "thetaBS": "",
            "thetaPA": "",
            "tradeId": pos.trade_id,
            "uTime": str(pos.u_time),
            "upl": fmt(upl),
            "uplLastPx": fmt((inst.last - pos.avg_px) * pos.pos * inst.ct_val)
            if pos.pos else "0",
            "uplRatio": fmt((upl / margin).quantize(Decimal("0.0001"))) if margin else "0",
            "uplRatioLastPx": "0",
            "usdPx": "",
            "vegaBS": "",
            "vegaPA": "",
            "nonSettleAvgPx": "",
            "settledPnl": "",
            "pTime": str(now),
        }

    def _bal_item(self, acct: Account, ccy: str) -> dict[str, str]:
        return {
            "ccy": ccy,
            "cashBal": fmt(acct.balances.get(ccy, ZERO)),
            "uTime": str(acct.u_time.get(ccy, 0)),
        }

    def _pos_data(self, acct: Account, pos: Position) -> dict[str, str]:
        inst = self.instruments[pos.inst_id]
        return {
            "posId": pos.pos_id,
            "tradeId": pos.trade_id,
            "instId": pos.inst_id,
            "instType": inst.spec.inst_type,
            "mgnMode": pos.mgn_mode,
            "posSide": "net",
            "pos": fmt(pos.pos),
            "ccy": inst.spec.settle_ccy,
            "posCcy": "",
            "avgPx": fmt(pos.avg_px) if pos.pos else "",
            "nonSettleAvgPx": "",
            "settledPnl": "",
            "uTime": str(pos.u_time),
        }

    def _flush(self, ctx: _Ctx) -> None:
        """Append the account-level and public pushes for everything ``ctx`` changed."""
        for api_key, ccys in ctx.ccys.items():
            acct = self.accounts[api_key]
            for ccy in sorted(ccys):
                ctx.emits.append(
                    Emit("account", [self._account_item(acct, [ccy], ctx.now)],
                         api_key=api_key, ccy=ccy, extra={"eventType": "event_update"})
                )
        for api_key, inst_ids in ctx.positions.items():
            acct = self.accounts[api_key]
            for inst_id in sorted(inst_ids):
                inst = self.instruments[inst_id]
                ctx.emits.append(
                    Emit("positions", [self._position_item(acct, acct.positions[inst_id],
                                                           ctx.now)],
                         api_key=api_key, inst_id=inst_id, inst_type=inst.spec.inst_type,
                         inst_family=inst.spec.inst_family or None,
                         extra={"eventType": "event_update"})
                )
        for api_key in sorted(set(ctx.cash) | set(ctx.positions)):
            acct = self.accounts[api_key]
            ctx.emits.append(
                Emit("balance_and_position", [{
                    "pTime": str(ctx.now),
                    "eventType": "filled",
                    "balData": [self._bal_item(acct, c) for c in sorted(ctx.cash.get(api_key, ()))],
                    "posData": [self._pos_data(acct, acct.positions[i])
                                for i in sorted(ctx.positions.get(api_key, ()))],
                    "trades": ctx.bp_trades.get(api_key, []),
                }], api_key=api_key)
            )
        for inst in ctx.insts.values():
            self._publish_trades(ctx, inst)
            self._publish_books(ctx, inst)

    # -- public pushes

    def _publish_trades(self, ctx: _Ctx, inst: Instrument) -> None:
        trades = ctx.trades.get(inst.inst_id)
        if not trades:
            return
        ts = str(ctx.now)
        if inst.spec.is_spread:
            for px, sz, side, trade_id in trades:
                ctx.emits.append(Emit("sprd-public-trades", [{
                    "sprdId": inst.inst_id, "tradeId": trade_id, "px": fmt(px), "sz": fmt(sz),
                    "side": side, "ts": ts,
                }], sprd_id=inst.inst_id))
            return
        # One trades message per taker side and price, count = matches aggregated.
        groups: list[list[Any]] = []
        for px, sz, side, trade_id in trades:
            if groups and groups[-1][0] == px and groups[-1][2] == side:
                groups[-1][1] += sz
                groups[-1][3] = trade_id
                groups[-1][4] += 1
            else:
                groups.append([px, sz, side, trade_id, 1])
        for px, sz, side, trade_id, count in groups:
            inst.public_trade_seq += 1
            ctx.emits.append(Emit("trades", [{
                "instId": inst.inst_id, "tradeId": trade_id, "px": fmt(px), "sz": fmt(sz),
                "side": side, "ts": ts, "count": str(count), "source": "0",
                "seqId": inst.public_trade_seq,
            }], inst_id=inst.inst_id, inst_type=inst.spec.inst_type))
        for px, sz, side, trade_id in trades:
            ctx.emits.append(Emit("trades-all", [{
                "instId": inst.inst_id, "tradeId": trade_id, "px": fmt(px), "sz": fmt(sz),
                "side": side, "source": "0", "ts": ts,
            }], inst_id=inst.inst_id, inst_type=inst.spec.inst_type))

    def _next_seq(self, feed: BookFeed) -> int:
        if feed.reset_pending:
            feed.reset_pending = False
            return self._rng.randint(0, max(0, min(feed.seq_id - 1, 1000)))
        return feed.seq_id + self._rng.randint(1, 4)

    def _publish_books(self, ctx: _Ctx | None, inst: Instrument) -> None:
        """Diff the book against what was published and emit the book channels.

        With ``ctx`` ``None`` (construction) the state is recorded silently.
        """
        ts = str(ctx.now if ctx is not None else self.now_ms())
        book = inst.book
        emits: list[Emit] = []
        if inst.spec.is_spread:
            bids5 = [lvl[:2] + lvl[3:] for lvl in book.bids.top(5)]
            asks5 = [lvl[:2] + lvl[3:] for lvl in book.asks.top(5)]
            key5 = (tuple(map(tuple, bids5)), tuple(map(tuple, asks5)))
            if key5 != inst.last_books5:
                inst.last_books5 = key5
                emits.append(Emit("sprd-books5", [{"asks": asks5, "bids": bids5, "ts": ts}],
                                  sprd_id=inst.inst_id))
            bbo = (key5[0][:1], key5[1][:1])
            if bbo != inst.last_bbo:
                inst.last_bbo = bbo
                emits.append(Emit("sprd-bbo-tbt", [{"asks": asks5[:1], "bids": bids5[:1],
                                                    "ts": ts}], sprd_id=inst.inst_id))
            tick = self._ticker_key(inst, bids5[:1], asks5[:1])
            if tick != inst.last_ticker:
                inst.last_ticker = tick
                emits.append(Emit("sprd-tickers", [self._sprd_ticker(inst, ts)],
                                  sprd_id=inst.inst_id))
            if ctx is not None:
                ctx.emits.extend(emits)
            return
        all_bids = book.bids.top(400)
        all_asks = book.asks.top(400)
        for name, feed in inst.feeds.items():
            bids = all_bids[: feed.depth]
            asks = all_asks[: feed.depth]
            if ctx is None:
                feed.bids, feed.asks = bids, asks
                continue
            if bids == feed.bids and asks == feed.asks:
                continue
            res = feed.update(bids, asks, self._next_seq(feed))
            if res is None:  # pragma: no cover - guarded above
                continue
            bid_ch, ask_ch, prev, seq = res
            item = {
                "asks": ask_ch, "bids": bid_ch, "ts": ts,
                "checksum": feed.checksum() if self.checksum else 0,
                "prevSeqId": prev, "seqId": seq,
            }
            channels = ("books", "books-l2-tbt") if name == "books" else (name,)
            for ch in channels:
                emits.append(Emit(ch, [dict(item)], inst_id=inst.inst_id,
                                  inst_type=inst.spec.inst_type, action="update"))
        seq = inst.feeds["books"].seq_id
        b5 = all_bids[:5]
        a5 = all_asks[:5]
        key5 = (tuple(map(tuple, b5)), tuple(map(tuple, a5)))
        if key5 != inst.last_books5:
            inst.last_books5 = key5
            emits.append(Emit("books5", [{"asks": a5, "bids": b5, "instId": inst.inst_id,
                                          "ts": ts, "seqId": seq}],
                              inst_id=inst.inst_id, inst_type=inst.spec.inst_type))
        bbo = (key5[0][:1], key5[1][:1])
        if bbo != inst.last_bbo:
            inst.last_bbo = bbo
            emits.append(Emit("bbo-tbt", [{"asks": a5[:1], "bids": b5[:1], "ts": ts,
                                           "seqId": seq}],
                              inst_id=inst.inst_id, inst_type=inst.spec.inst_type))
        tick = self._ticker_key(inst, b5[:1], a5[:1])
        if tick != inst.last_ticker:
            inst.last_ticker = tick
            emits.append(Emit("tickers", [self._ticker(inst, ts)], inst_id=inst.inst_id,
                              inst_type=inst.spec.inst_type))
        if ctx is not None:
            ctx.emits.extend(emits)

    @staticmethod
    def _ticker_key(
        inst: Instrument, bid: list[list[str]], ask: list[list[str]]
    ) -> tuple[Any, ...]:
        return (tuple(map(tuple, bid)), tuple(map(tuple, ask)), inst.last, inst.vol24h)

    def _ticker(self, inst: Instrument, ts: str) -> dict[str, Any]:
        b = inst.book.bids.top(1)
        a = inst.book.asks.top(1)
        return {
            "instType": inst.spec.inst_type,
            "instId": inst.inst_id,
            "last": fmt(inst.last),
            "lastSz": fmt(inst.last_sz),
            "askPx": a[0][0] if a else "",
            "askSz": a[0][1] if a else "",
            "bidPx": b[0][0] if b else "",
            "bidSz": b[0][1] if b else "",
            "open24h": fmt(inst.open24h),
            "high24h": fmt(inst.high24h),
            "low24h": fmt(inst.low24h),
            "volCcy24h": fmt(inst.vol_ccy24h),
            "vol24h": fmt(inst.vol24h),
            "sodUtc0": fmt(inst.open24h),
            "sodUtc8": fmt(inst.open24h),
            "ts": ts,
        }

    def _sprd_ticker(self, inst: Instrument, ts: str) -> dict[str, Any]:
        t = self._ticker(inst, ts)
        return {
            "sprdId": inst.inst_id, "last": t["last"], "lastSz": t["lastSz"],
            "askPx": t["askPx"], "askSz": t["askSz"], "bidPx": t["bidPx"], "bidSz": t["bidSz"],
            "open24h": t["open24h"], "high24h": t["high24h"], "low24h": t["low24h"],
            "vol24h": t["vol24h"], "ts": ts,
        }

    # ------------------------------------------------------------------
    # Market data: the seeded random walk

    def market_step(self) -> list[Emit]:
        """One step of the random walk for every instrument and spread.

        Moves each mid price, fills resting user orders the move crosses (as
        makers, at their own price), renews the synthetic levels around the new
        mid, sometimes trades a synthetic taker against the top of the book
        (which may partially fill user orders), then emits the private pushes and
        the public book, trade and ticker channels that changed.
        """
        ctx = _Ctx(self.now_ms())
        try:
            for inst in self._all_insts():
                self._walk(ctx, inst)
                ctx.touch(inst)
            self._flush(ctx)
        except Exception:
            # The market loop must outlive an engine bug; the error is counted.
            self.internal_errors += 1
            log.exception("simulator engine error in market step")
        return ctx.emits

    def _walk(self, ctx: _Ctx, inst: Instrument) -> None:
        rng = self._rng
        g = inst.grid
        inst.mid_ticks = max(
            inst.min_mid_ticks, inst.mid_ticks + g * rng.choice((-2, -1, -1, 0, 0, 0, 1, 1, 2))
        )
        mk = inst.mid_ticks // g
        step = inst.tick * g
        kb, ka = mk - 1, mk + 1
        bid_top, ask_top = step * kb, step * ka
        # Synthetic levels on the wrong side of the new mid go first, then the
        # market trades through the user orders it crossed.
        for side in (inst.book.bids, inst.book.asks):
            for lvl in list(side.levels.values()):
                if lvl.synth and (lvl.k > kb if side.is_bid else lvl.k < ka):
                    side.set_synth(lvl.px, ZERO, 0)
        crossed_bids = inst.book.bids.user_size(ask_top)
        if crossed_bids:
            self._match(ctx, inst, None, "sell", ask_top, crossed_bids)
        crossed_asks = inst.book.asks.user_size(bid_top)
        if crossed_asks:
            self._match(ctx, inst, None, "buy", bid_top, crossed_asks)
        self._regen(inst)
        if rng.random() < 0.3:
            taker_side = rng.choice(("buy", "sell"))
            opp = inst.book.opposite(taker_side)
            best = opp.best()
            if best is not None:
                total = opp.levels[best].total()
                qty = floor_step(total * Decimal(str(round(rng.uniform(0.05, 1.0), 3))), inst.lot)
                if qty > 0:
                    self._match(ctx, inst, None, taker_side, best, qty)

    def _synth_size(self, inst: Instrument) -> Decimal:
        factor = Decimal(str(round(self._rng.uniform(0.2, 2.0), 3)))
        return max(inst.lot, floor_step(Decimal(inst.spec.level_sz) * factor, inst.lot))

    def _regen(self, inst: Instrument, *, initial: bool = False) -> None:
        rng = self._rng
        g = inst.grid
        step = inst.tick * g
        mk = inst.mid_ticks // g
        for side in (inst.book.bids, inst.book.asks):
            is_bid = side.is_bid
            top = mk - 1 if is_bid else mk + 1
            window = (
                range(top, max(0, top - SYNTH_LEVELS), -1) if is_bid
                else range(top, top + SYNTH_LEVELS)
            )
            lowest, highest = min(window), max(window)
            present = set()
            for lvl in list(side.levels.values()):
                if lvl.synth:
                    if lvl.k < lowest or lvl.k > highest:
                        side.set_synth(lvl.px, ZERO, 0)
                    else:
                        present.add(lvl.k)
            old_top = inst.synth_top.get(is_bid)
            # Synthetic levels never cross resting user orders of the other side.
            other = inst.book.asks if is_bid else inst.book.bids
            other_best = other.best()
            for k in window:
                if k in present:
                    continue
                px = step * k
                if px <= 0:
                    continue
                if other_best is not None and (px >= other_best if is_bid else px <= other_best):
                    continue
                fresh = initial or old_top is None or (k > old_top if is_bid else k < old_top)
                if rng.random() < (0.85 if fresh else 0.08):
                    side.set_synth(px, self._synth_size(inst), rng.randint(1, 8))
            inst.synth_top[is_bid] = top
            if not initial:
                synth = [px for px, lvl in side.levels.items() if lvl.synth]
                for _ in range(rng.randint(0, 3)):
                    if not synth:
                        break
                    px = rng.choice(synth)
                    side.set_synth(px, self._synth_size(inst), rng.randint(1, 8))

    # ------------------------------------------------------------------
    # Book feed faults and heartbeats

    def book_heartbeat(self, inst_id: str, channel: str) -> Emit | None:
        """The keepalive push for a quiet book channel, or ``None`` if not applicable.

        Incremental channels get an empty update with ``seqId == prevSeqId``;
        ``books5`` and ``bbo-tbt`` resend their current state.
        """
        inst = self.instruments.get(inst_id)
        if inst is None:
            return None
        ts = str(self.now_ms())
        feed_name = {"books": "books", "books-l2-tbt": "books",
                     "books50-l2-tbt": "books50-l2-tbt"}.get(channel)
        if feed_name is not None:
            feed = inst.feeds[feed_name]
            return Emit(channel, [{
                "asks": [], "bids": [], "ts": ts,
                "checksum": feed.checksum() if self.checksum else 0,
                "prevSeqId": feed.seq_id, "seqId": feed.seq_id,
            }], inst_id=inst_id, inst_type=inst.spec.inst_type, action="update")
        if channel in ("books5", "bbo-tbt"):
            return self._snapshot_emit(inst, channel, ts)
        return None

    def reset_book_sequence(self, inst_id: str) -> None:
        """Fault: the next book update of ``inst_id`` has ``seqId < prevSeqId`` (a valid reset)."""
        inst = self.instruments[inst_id]
        for feed in inst.feeds.values():
            feed.reset_pending = True

    # ------------------------------------------------------------------
    # Subscriptions

    def _snapshot_emit(self, inst: Instrument, channel: str, ts: str) -> Emit:
        book = inst.book
        seq = inst.feeds["books"].seq_id
        if channel == "books5":
            data = {"asks": book.asks.top(5), "bids": book.bids.top(5), "instId": inst.inst_id,
                    "ts": ts, "seqId": seq}
        else:
            data = {"asks": book.asks.top(1), "bids": book.bids.top(1), "ts": ts, "seqId": seq}
        return Emit(channel, [data], inst_id=inst.inst_id, inst_type=inst.spec.inst_type)

    def initial_pushes(self, api_key: str | None, arg: dict[str, Any]) -> list[Emit]:
        """What a fresh subscription to ``arg`` gets first ([] if the channel has none)."""
        channel = arg.get("channel")
        now = self.now_ms()
        ts = str(now)
        inst_id = arg.get("instId")
        inst = self.instruments.get(inst_id) if isinstance(inst_id, str) else None
        if channel in ("books", "books-l2-tbt", "books50-l2-tbt") and inst is not None:
            feed = inst.feeds["books" if channel != "books50-l2-tbt" else "books50-l2-tbt"]
            return [Emit(channel, [{
                "asks": [list(lvl) for lvl in feed.asks],
                "bids": [list(lvl) for lvl in feed.bids],
                "ts": ts,
                "checksum": feed.checksum() if self.checksum else 0,
                "prevSeqId": -1,
                "seqId": feed.seq_id,
            }], inst_id=inst.inst_id, inst_type=inst.spec.inst_type, action="snapshot")]
        if channel in ("books5", "bbo-tbt") and inst is not None:
            return [self._snapshot_emit(inst, channel, ts)]
        if channel == "tickers" and inst is not None:
            return [Emit("tickers", [self._ticker(inst, ts)], inst_id=inst.inst_id,
                         inst_type=inst.spec.inst_type)]
        sprd_id = arg.get("sprdId")
        sprd = self.spreads.get(sprd_id) if isinstance(sprd_id, str) else None
        if sprd is not None and channel in ("sprd-books5", "sprd-bbo-tbt", "sprd-tickers"):
            if channel == "sprd-tickers":
                return [Emit(channel, [self._sprd_ticker(sprd, ts)], sprd_id=sprd.inst_id)]
            depth = 5 if channel == "sprd-books5" else 1
            bids = [lvl[:2] + lvl[3:] for lvl in sprd.book.bids.top(depth)]
            asks = [lvl[:2] + lvl[3:] for lvl in sprd.book.asks.top(depth)]
            return [Emit(channel, [{"asks": asks, "bids": bids, "ts": ts}],
                         sprd_id=sprd.inst_id)]
        if channel == "instruments":
            inst_type = arg.get("instType")
            if not isinstance(inst_type, str):
                return []
            return [Emit("instruments", self.rest_instruments(inst_type), inst_type=inst_type)]
        acct = self.accounts.get(api_key) if api_key is not None else None
        if acct is None:
            return []
        snap = {"eventType": "snapshot", "curPage": 1, "lastPage": True}
        if channel == "account":
            ccy = arg.get("ccy")
            if isinstance(ccy, str) and ccy:
                ccys = [ccy] if ccy in acct.balances else []
            else:
                ccys = [c for c, v in acct.balances.items() if v or acct.frozen.get(c)]
            return [Emit("account", [self._account_item(acct, ccys, now)], api_key=api_key,
                         ccy=ccy if isinstance(ccy, str) and ccy else None, extra=snap)]
        if channel == "positions":
            items = [
                self._position_item(acct, pos, now)
                for pos in acct.positions.values()
                if self._pos_matches(pos, arg)
            ]
            return [Emit("positions", items, api_key=api_key, inst_type=_opt(arg, "instType"),
                         inst_family=_opt(arg, "instFamily"), inst_id=_opt(arg, "instId"),
                         extra=snap)]
        if channel == "balance_and_position":
            return [Emit("balance_and_position", [{
                "pTime": ts,
                "eventType": "snapshot",
                "balData": [self._bal_item(acct, c) for c, v in acct.balances.items() if v],
                "posData": [self._pos_data(acct, p) for p in acct.positions.values() if p.pos],
                "trades": [],
            }], api_key=api_key)]
        return []

    def _pos_matches(self, pos: Position, arg: dict[str, Any]) -> bool:
        spec = self.instruments[pos.inst_id].spec
        if not pos.pos:
            return False
        inst_type = arg.get("instType")
        if inst_type not in (None, "", "ANY") and inst_type != spec.inst_type:
            return False
        family = arg.get("instFamily")
        if family not in (None, "") and family != spec.inst_family:
            return False
        inst_id = arg.get("instId")
        return inst_id in (None, "") or inst_id == pos.inst_id

    def channel_error(self, path: str, arg: dict[str, Any]) -> tuple[str, str] | None:
        """``(code, msg)`` if ``arg`` cannot be subscribed on ``path``, else ``None``.

        64001: a business channel on public/private; 64002: a non-business
        channel on business; 60018: unknown channel, unknown instrument, or a
        private channel on the public path; 60013: a required field missing.
        """
        channel = arg.get("channel")
        if not isinstance(channel, str) or not channel:
            return "60013", MSG["60013"]

        def wrong() -> tuple[str, str]:
            desc = ",".join(f"{k}:{v}" for k, v in arg.items())
            return ("60018", f"Wrong URL or {desc} doesn't exist. Please use the correct URL, "
                    "channel and parameters referring to API document.")

        business = is_business_channel(channel)
        if business and path != "business":
            if channel in _BUSINESS_CHANNELS or channel.startswith(_CANDLE_PREFIXES):
                return ("64001", "This channel has been migrated to the '/business' URL. "
                        "Please subscribe using the new URL. More details can refer to: "
                        "https://www.okx.com/help-center/changes-to-v5-api-websocket-"
                        "subscription-parameter-and-url")
            return wrong()
        if not business and path == "business":
            if channel in _PUBLIC_CHANNELS or channel in _PRIVATE_CHANNELS:
                return ("64002", "This channel is not supported by business URL. Please use "
                        "the correct URL.")
            return wrong()
        if channel in _PRIVATE_CHANNELS:
            if path != "private":
                return wrong()
            if channel in ("orders", "positions"):
                allowed = _ORDERS_TYPES if channel == "orders" else _POSITION_TYPES
                inst_type = arg.get("instType")
                if inst_type in (None, ""):
                    return "60013", MSG["60013"]
                if inst_type not in allowed:
                    return wrong()
            return None
        if channel in _PUBLIC_CHANNELS:
            if path != "public":
                return wrong()
            if channel == "instruments":
                if arg.get("instType") in (None, ""):
                    return "60013", MSG["60013"]
                if arg.get("instType") not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
                    return wrong()
                return None
            inst_id = arg.get("instId")
            if channel in _SILENT_PUBLIC:
                if inst_id in (None, "") and arg.get("instFamily") in (None, ""):
                    return "60013", MSG["60013"]
                return None
            if inst_id in (None, ""):
                return "60013", MSG["60013"]
            if inst_id not in self.instruments:
                return wrong()
            return None
        if business:
            if channel in ("sprd-orders", "sprd-trades"):
                sprd = arg.get("sprdId")
                if sprd not in (None, "") and sprd not in self.spreads:
                    return wrong()
                return None
            if channel in ("sprd-books5", "sprd-bbo-tbt", "sprd-public-trades", "sprd-tickers",
                           "sprd-books-l2-tbt"):
                sprd = arg.get("sprdId")
                if sprd in (None, ""):
                    return "60013", MSG["60013"]
                if sprd not in self.spreads:
                    return wrong()
                return None
            if channel == "trades-all" or channel.startswith(_CANDLE_PREFIXES):
                inst_id = arg.get("instId")
                if inst_id in (None, ""):
                    return "60013", MSG["60013"]
                if inst_id not in self.instruments:
                    return wrong()
                return None
            if channel in _BUSINESS_CHANNELS:
                return None
        return wrong()

    # ------------------------------------------------------------------
    # REST

    def rest_instruments(
        self, inst_type: str, inst_id: str | None = None, inst_family: str | None = None
    ) -> list[dict[str, Any]]:
        """Items of ``GET /api/v5/public/instruments`` (spreads are not listed).

        ``inst_family`` (OKX's ``instFamily``, or the older ``uly``) keeps only
        that family's derivatives.
        """
        out = []
        for inst in self.instruments.values():
            spec = inst.spec
            if spec.inst_type != inst_type or (inst_id and spec.inst_id != inst_id):
                continue
            if inst_family and spec.inst_family != inst_family:
                continue
            deriv = spec.is_derivative
            out.append({
                "alias": "",
                "auctionEndTime": "",
                "baseCcy": spec.base_ccy,
                "category": "1",
                "contTdSwTime": "",
                "ctMult": spec.ct_mult,
                "ctType": "linear" if spec.inst_type in ("SWAP", "FUTURES") else "",
                "ctVal": spec.ct_val,
                "ctValCcy": spec.ct_val_ccy,
                "expTime": spec.exp_time,
                "futureSettlement": False,
                "groupId": "1",
                "instCategory": "1",
                "instFamily": spec.inst_family,
                "instId": spec.inst_id,
                "instIdCode": spec.inst_id_code,
                "instType": spec.inst_type,
                "lever": spec.lever if deriv else "10",
                "listTime": spec.list_time,
                "lotSz": spec.lot_sz,
                "maxIcebergSz": spec.max_lmt_sz,
                "maxLmtAmt": "20000000",
                "maxLmtSz": spec.max_lmt_sz,
                "maxMktAmt": "1000000" if not deriv else "",
                "maxMktSz": spec.max_mkt_sz,
                "maxPlatOILmt": "",
                "maxStopSz": spec.max_mkt_sz,
                "maxTriggerSz": spec.max_lmt_sz,
                "maxTwapSz": spec.max_lmt_sz,
                "minSz": spec.min_sz,
                "openType": "",
                "optType": spec.opt_type,
                "posLmtAmt": "",
                "posLmtPct": "",
                "preMktSwTime": "",
                "quoteCcy": spec.quote_ccy,
                "ruleType": "normal",
                "settleCcy": spec.settle_ccy,
                "state": "live",
                "stk": spec.stk,
                "tickSz": spec.tick_sz,
                "tradeQuoteCcyList": [spec.quote_ccy] if spec.inst_type == "SPOT" else [],
                "uly": spec.inst_family,
            })
        return out

    def currencies(self) -> list[str]:
        """Every currency the exchange knows: balances, spot and spread pairs, settlements."""
        found: set[str] = set()
        for acct in self.accounts.values():
            found.update(acct.balances)
        for inst in self._all_insts():
            spec = inst.spec
            found.update((spec.base_ccy, spec.quote_ccy, spec.settle_ccy))
        found.discard("")
        return sorted(found)

    def rest_currencies(self, ccys: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Items of ``GET /api/v5/asset/currencies``: one chain per currency.

        Deposits and withdrawals do not exist here; the items say what a client
        needs to list the currency (``ccy``, ``name``, ``chain``, flags, limits).
        """
        out = []
        for ccy in self.currencies():
            if ccys and ccy not in ccys:
                continue
            name, network, tick, main_net = _CHAINS.get(ccy, (ccy, ccy, "8", True))
            out.append({
                "ccy": ccy, "name": name, "logoLink": "", "chain": f"{ccy}-{network}",
                "ctAddr": "", "canDep": True, "canWd": True, "canInternal": True,
                "depEstOpenTime": "", "wdEstOpenTime": "", "minDep": "0.00000001",
                "minWd": "0.0001", "minInternal": "0.0001", "maxWd": "1000000000",
                "wdTickSz": tick, "wdQuota": "10000000", "usedWdQuota": "0", "fee": "0",
                "minFee": "0", "maxFee": "0", "burningFeeRate": "", "mainNet": main_net,
                "needTag": False, "minDepArrivalConfirm": "1", "minWdUnlockConfirm": "1",
                "depQuotaFixed": "", "usedDepQuotaFixed": "", "depQuoteDailyLayer2": "",
            })
        return out

    def rest_balance(self, api_key: str, ccys: Sequence[str] | None = None) -> dict[str, Any]:
        """The one item of ``GET /api/v5/account/balance`` (as the ``account`` channel's).

        Without ``ccys`` the details list every currency with a balance.
        """
        acct = self.accounts[api_key]
        if ccys:
            chosen = [c for c in ccys if c in acct.balances]
        else:
            chosen = [c for c, v in acct.balances.items() if v or acct.frozen.get(c)]
        return self._account_item(acct, chosen, self.now_ms())

    def rest_books(self, inst_id: str, sz: int = 400) -> dict[str, Any]:
        """``GET /api/v5/market/books`` item: the published ``books`` levels and their seqId.

        Raises:
            KeyError: unknown ``inst_id``.
        """
        inst = self.instruments[inst_id]
        feed = inst.feeds["books"]
        depth = max(1, min(int(sz), 400))
        return {
            "asks": [list(lvl) for lvl in feed.asks[:depth]],
            "bids": [list(lvl) for lvl in feed.bids[:depth]],
            "ts": str(self.now_ms()),
            "seqId": feed.seq_id,
        }

    def _rest_order_item(self, order: Order) -> dict[str, Any]:
        item = self._order_item(order, None)
        for key in ("fillPnl", "fillFee", "fillFeeCcy", "fillNotionalUsd", "fillPxVol",
                    "fillPxUsd", "fillMarkVol", "fillFwdPx", "fillMarkPx", "fillIdxPx",
                    "execType", "reqId", "amendResult", "code", "msg", "amendSource",
                    "lastPx", "notionalUsd"):
            item.pop(key, None)
        item.update({
            "fillPx": order.last_fill_px,
            "fillSz": order.last_fill_sz,
            "tradeId": order.last_trade_id,
            "fillTime": order.last_fill_time,
            "cancelSourceReason": _CANCEL_REASONS.get(order.cancel_source, ""),
            "attachAlgoClOrdId": "",
        })
        return item

    def rest_order(
        self, api_key: str, inst_id: str | None, ord_id: str | None, cl_ord_id: str | None
    ) -> tuple[str, str, list[dict[str, Any]]]:
        """``GET /api/v5/trade/order``: ``(code, msg, data)``."""
        if not inst_id:
            return (*_empty("50014", "instId"), [])
        if inst_id not in self.instruments:
            return (*_err("51001"), [])
        if not ord_id and not cl_ord_id:
            return "50015", "Either parameter ordId or clOrdId is required.", []
        order = self.find_order(api_key, ord_id=ord_id, cl_ord_id=cl_ord_id)
        if order is None or order.inst_id != inst_id:
            return (*_err("51603"), [])
        return "0", "", [self._rest_order_item(order)]

    def rest_sprd_order(
        self, api_key: str, ord_id: str | None, cl_ord_id: str | None
    ) -> tuple[str, str, list[dict[str, Any]]]:
        """``GET /api/v5/sprd/order``: ``(code, msg, data)``."""
        if not ord_id and not cl_ord_id:
            return "50015", "Either parameter ordId or clOrdId is required.", []
        order = self.find_order(api_key, ord_id=ord_id, cl_ord_id=cl_ord_id)
        if order is None or order.sprd_id is None:
            return (*_err("51603"), [])
        return "0", "", [self._rest_sprd_item(order)]

    def _rest_sprd_item(self, order: Order) -> dict[str, Any]:
        item = self._sprd_order_item(order, None)
        for key in ("code", "msg", "reqId", "amendResult"):
            item.pop(key)
        item.update({"fillSz": order.last_fill_sz, "fillPx": order.last_fill_px,
                     "tradeId": order.last_trade_id})
        return item

    def rest_sprd_orders_pending(
        self,
        api_key: str,
        *,
        sprd_id: str | None = None,
        ord_type: str | None = None,
        state: str | None = None,
        begin_id: int | None = None,
        end_id: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/sprd/orders-pending`` items: open spread orders, newest first.

        ``begin_id`` keeps orders newer than that ``ordId``, ``end_id`` older ones
        (both exclusive); at most ``limit`` items.
        """
        out: list[dict[str, Any]] = []
        for order in reversed(self._order_list):
            if len(out) >= limit:
                break
            if order.api_key != api_key or not order.pending or order.sprd_id is None:
                continue
            if sprd_id and order.inst_id != sprd_id:
                continue
            if ord_type and order.ord_type != ord_type:
                continue
            if state and order.state != state:
                continue
            if begin_id is not None and int(order.ord_id) <= begin_id:
                continue
            if end_id is not None and int(order.ord_id) >= end_id:
                continue
            out.append(self._rest_sprd_item(order))
        return out

    def rest_orders_pending(
        self, api_key: str, inst_type: str | None = None, inst_id: str | None = None
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/trade/orders-pending`` items, newest first."""
        out = []
        for order in reversed(self._order_list):
            if order.api_key != api_key or not order.pending or order.sprd_id is not None:
                continue
            if inst_type and order.inst_type != inst_type:
                continue
            if inst_id and order.inst_id != inst_id:
                continue
            out.append(self._rest_order_item(order))
        return out


# Display name, network (the part of OKX's ``chain`` after the currency),
# withdrawal decimals and whether that network is the currency's own chain, for
# well-known currencies; others get their own code as name and network.
_CHAINS: dict[str, tuple[str, str, str, bool]] = {
    "BTC": ("Bitcoin", "Bitcoin", "8", True),
    "ETH": ("Ethereum", "ERC20", "8", True),
    "USDT": ("Tether", "ERC20", "6", False),
    "USDC": ("USD Coin", "ERC20", "6", False),
}


def _opt(arg: dict[str, Any], name: str) -> str | None:
    value = arg.get(name)
    return value if isinstance(value, str) and value else None


def _str_field(arg: dict[str, Any], name: str) -> str:
    """An optional string field: ``""`` when absent, 51000 when not a string."""
    value = arg.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _reject(_bad(name))
    return value


def _is_int64(value: str) -> bool:
    return value.isdigit() and 0 < int(value) < 2**63


_CANCEL_REASONS = {
    "1": "Order canceled by user",
    "13": "FOK order was canceled as it could not be entirely filled",
    "14": "IOC order was partially canceled due to incompletely filled",
    "31": "The post-only order will take liquidity in maker orders",
    "32": "Self trade prevention",
}

_PUBLIC_CHANNELS = frozenset({
    "tickers", "trades", "books", "books5", "bbo-tbt", "books-l2-tbt", "books50-l2-tbt",
    "instruments", "mark-price", "index-tickers", "funding-rate", "open-interest",
    "price-limit", "estimated-price", "opt-summary", "liquidation-orders", "books-elp",
    "call-auction-details",
})
_SILENT_PUBLIC = frozenset({
    "mark-price", "index-tickers", "funding-rate", "open-interest", "price-limit",
    "estimated-price", "opt-summary", "liquidation-orders", "books-elp", "call-auction-details",
})
_PRIVATE_CHANNELS = frozenset({
    "orders", "fills", "positions", "account", "balance_and_position", "liquidation-warning",
    "account-greeks",
})
_BUSINESS_CHANNELS = frozenset({
    "sprd-orders", "sprd-trades", "sprd-books5", "sprd-bbo-tbt", "sprd-public-trades",
    "sprd-tickers", "sprd-books-l2-tbt", "trades-all", "orders-algo", "algo-advance",
    "deposit-info", "withdrawal-info",
})
_CANDLE_PREFIXES = ("candle", "mark-price-candle", "index-candle", "sprd-candle")
_ORDERS_TYPES = frozenset({"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS", "ANY"})
_POSITION_TYPES = frozenset({"MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS", "ANY"})
