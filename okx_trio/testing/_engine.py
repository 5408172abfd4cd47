"""The simulator's exchange engine: pure, deterministic, no I/O.

The server side (``._connection``) hands each trade-op frame to
``Exchange.trade_op`` and each market tick to ``Exchange.market_step``,
and delivers the returned ``Emit`` pushes to the matching
subscriptions.

``Exchange`` is the engine's one entry point; it builds and wires the
parts, each in a module of its own:

* ``._venue``: the state (instruments, accounts, the order registry);
* ``._checks``: the request checks, with the facts of ``._rules``;
* ``._op_limits``: the per-op rate windows;
* ``._trade_ops``: the eleven trade ops;
* ``._matching``: the matching engine and settlement;
* ``._render``: OKX's dict shapes;
* ``._publish``: the pushes an op or step causes, subscription snapshots;
* ``._market``: the market data source (a seeded random walk);
* ``._rest_views``: what the REST endpoints show.

What the engine models:

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
  ``trades``, ``trades-all``, ``books``, ``books-l2-tbt``, ``books50-l2-tbt``
  (one seqId sequence, optional CRC32, initial snapshot optional), ``books-rpi``,
  ``books5``, ``bbo-tbt``, ``tickers`` and the spread public channels;
* accounts as OKX judges them (``SimAccount``): a User ID
  shared by API keys, fee tier, Portfolio Margin mode and the MMP privilege.

Where OKX's behaviour is undocumented the modules say which reading they take.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from .._models import Credentials
from ._accounts import SimAccount, as_account
from ._checks import MSG, channel_error
from ._emits import Changes, Emit
from ._engine_model import (
    DEFAULT_BALANCES,
    ZERO,
    Account,
    InstrumentSpec,
    Order,
    Position,
    default_instruments,
)
from ._market import MarketSource, RandomWalk
from ._matching import Matcher
from ._op_limits import OpRateLimits
from ._publish import Publisher
from ._rest_items import leverage_item
from ._rest_views import RestViews
from ._trade_ops import RateLimitShape, TradeOps, TradeResult
from ._venue import Instrument, Venue

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

MAX_LEVER = Decimal(125)
"""The highest leverage ``set-leverage`` accepts."""


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Exchange:
    """A deterministic OKX v5 exchange: accounts, instruments, matching, pushes.

    Args:
        accounts: the accounts (bare credentials: an account with the defaults of
            ``SimAccount``), with generous default balances.
        instruments: the instrument set (default ``default_instruments``).
        seed: seed of the random walk and of the generated ids.
        checksum: put the real CRC32 in ``books`` pushes instead of 0.
        rate_limit: enforce OKX's per-op rate limits (50011).
        rate_limit_shape: ``"top-level"`` rejects a request as a whole with
            ``code "50011"`` and ``data []``; ``"item"`` answers each affected
            item with ``sCode "50011"`` (``code`` ``"1"``/``"2"``).
        strict_inst_id_code: reject order-op items without ``instIdCode`` (50014),
            as OKX does since March 2026; ``False`` accepts ``instId`` alone (the
            older behaviour, for clients that cannot send ``instIdCode``).
        elp_names: accept the ELP names OKX retired after 2026-10-31
            (``books-elp``, ``ordType: elp``, ``isElpTakerAccess``) as the RPI ones;
            by default they are refused (60018, 51000) or ignored.
        book_snapshots: a fresh subscription to ``books``, ``books-l2-tbt`` or
            ``books50-l2-tbt`` gets the initial snapshot; ``False`` sends updates
            only, as OKX announced (the client then syncs from
            ``GET /api/v5/market/books``).
        now_ms: the exchange clock, Unix ms.
        balances: starting balances per account (default 1,000,000 USDT, 100 BTC, 1,000 ETH).
        market: what moves the books' synthetic liquidity (default: a
            ``_market.RandomWalk`` seeded with ``seed``).
        request_ms: the clock requests' ``expTime`` is judged by (default
            ``now_ms``); a replay, whose ``now_ms`` is the recording's time, keeps
            it on the wall clock clients compute ``expTime`` with.
    """

    def __init__(
        self,
        accounts: Sequence[Credentials | SimAccount],
        *,
        instruments: Sequence[InstrumentSpec] | None = None,
        seed: int = 0,
        checksum: bool = False,
        rate_limit: bool = True,
        rate_limit_shape: RateLimitShape = "top-level",
        strict_inst_id_code: bool = True,
        elp_names: bool = False,
        book_snapshots: bool = True,
        now_ms: Callable[[], int] = _wall_ms,
        balances: dict[str, str] | None = None,
        market: MarketSource | None = None,
        request_ms: Callable[[], int] | None = None,
    ) -> None:
        if rate_limit_shape not in ("top-level", "item"):
            raise ValueError("rate_limit_shape must be 'top-level' or 'item'")
        self.seed = seed
        self.internal_errors = 0
        """Engine bugs caught by ``trade_op`` / ``market_step`` (should stay 0)."""
        self.checksum = checksum
        self.rate_limit = rate_limit
        self.rate_limit_shape = rate_limit_shape
        self.strict_inst_id_code = strict_inst_id_code
        self.elp_names = elp_names
        self.now_ms = now_ms
        # One random source for the market (walk, book seqIds, trade ids) and one
        # for ids (uids, ordId, posId): the same seed gives the same exchange.
        rng = random.Random(seed)
        ids = random.Random(seed ^ 0x5EED)
        self._venue = venue = Venue(
            [as_account(a) for a in accounts],
            instruments if instruments is not None else default_instruments(),
            dict(DEFAULT_BALANCES if balances is None else balances),
            rng=rng,
            ids=ids,
        )
        self.instruments: dict[str, Instrument] = venue.instruments
        self.spreads: dict[str, Instrument] = venue.spreads
        self.accounts: dict[str, Account] = venue.accounts
        self._matcher = Matcher(venue)
        self._market: MarketSource = RandomWalk(rng) if market is None else market
        self._publisher = Publisher(venue, rng, checksum=checksum,
                                    book_snapshots=book_snapshots,
                                    public=not self._market.publishes_public)
        self._ops = TradeOps(
            venue,
            self._matcher,
            self._publisher,
            limits=OpRateLimits() if rate_limit else None,
            rate_limit_shape=rate_limit_shape,
            strict_inst_id_code=strict_inst_id_code,
            elp_names=elp_names,
            now_ms=now_ms,
            request_ms=request_ms,
        )
        self.rest = RestViews(venue, rpi_book=self._publisher.rpi_book,
                              source_book=self._market.rest_book)
        """What the REST endpoints show (``RestViews``)."""
        for inst in venue.all_insts():
            self._market.seed(inst)
            self._publisher.publish_books(None, inst)

    # -- inspection ----------------------------------------------------------------

    def order_list(self) -> list[Order]:
        """Every order ever accepted, in acceptance order."""
        return self._venue.order_list()

    def find_order(
        self, api_key: str, *, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> Order | None:
        """An account's order by ``ordId`` (wins) or ``clOrdId`` (latest with that id);
        ``api_key`` is any key of the account."""
        return self._venue.find_order(
            self.account_key(api_key), ord_id=ord_id, cl_ord_id=cl_ord_id
        )

    def book(self, inst_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The engine's full book for an instId or sprdId: ``(bids desc, asks asc)``."""
        inst = self.instruments.get(inst_id) or self.spreads.get(inst_id)
        if inst is None:
            raise KeyError(inst_id)
        bids = [(lvl[0], lvl[1]) for lvl in inst.book.bids.top(10**6)]
        asks = [(lvl[0], lvl[1]) for lvl in inst.book.asks.top(10**6)]
        return bids, asks

    def uid(self, api_key: str | None) -> str | None:
        """The account's ``uid`` (account pushes carry it); ``None`` for no or an unknown key."""
        account = self._venue.account_of(api_key)
        return None if account is None else str(account.uid)

    def credentials(self, api_key: str) -> Credentials | None:
        """The credentials of an API key (any key of any account), ``None`` if unknown."""
        return self._venue.key_credentials(api_key)

    def account(self, api_key: str | None) -> Account | None:
        """The account an API key belongs to, ``None`` for no or an unknown key."""
        return self._venue.account_of(api_key)

    def account_key(self, api_key: str) -> str:
        """The first API key of ``api_key``'s account: the key its orders and
        pushes carry (``api_key`` itself when unknown)."""
        account = self._venue.account_of(api_key)
        return api_key if account is None else account.api_key

    # -- trade ops -------------------------------------------------------------------

    def trade_op(
        self, api_key: str, path: str, frame: dict[str, Any], *, by_inst_id: bool = False
    ) -> TradeResult:
        """Execute one trade-op frame for a logged-in account (see ``TradeOps.run``;
        ``by_inst_id``: items of OKX's REST endpoints, which name instruments by ``instId``).

        An internal error never escapes: it is logged, counted in
        ``internal_errors``, and answered with ``code "50026"`` ("System error")
        and the pushes of whatever had already changed.
        """
        ctx = Changes(self.now_ms())
        try:
            return self._ops.run(api_key, path, frame, ctx, by_inst_id=by_inst_id)
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

    # -- account settings ------------------------------------------------------------

    def set_leverage(
        self, api_key: str, inst_id: str, lever: Decimal, mgn_mode: str
    ) -> tuple[str, str, list[dict[str, Any]]]:
        """``POST /api/v5/account/set-leverage``: ``(code, msg, data)``.

        The leverage of a derivative for new orders, and for the margin the open
        position holds (recomputed now); resting orders keep the leverage they were
        placed with. Between 0.01 and the instrument's ``MAX_LEVER`` (the
        simulator's reading: OKX's maximum depends on the position tier).
        """
        inst = self.instruments.get(inst_id)
        if inst is None:
            return "51001", MSG["51001"], []
        if not inst.spec.is_derivative:
            return "51000", "Parameter instId error", []
        if not Decimal("0.01") <= lever <= MAX_LEVER:
            return "51000", "Parameter lever error", []
        acct = self.accounts[api_key]
        acct.leverage[inst_id] = lever
        pos = acct.positions.get(inst_id)
        if pos is not None and pos.pos:
            margin = abs(pos.pos) * pos.avg_px * inst.ct_val / lever
            ccy = inst.spec.settle_ccy
            acct.frozen[ccy] = acct.frozen.get(ccy, ZERO) + margin - pos.margin
            pos.margin = margin
        return "0", "", [leverage_item(inst, lever, mgn_mode)]

    # -- market data -----------------------------------------------------------------

    def market_step(self) -> list[Emit]:
        """One step of the market source for every instrument and spread.

        With the default random walk: moves each mid price, fills resting user
        orders the move crosses (as makers, at their own price), renews the
        synthetic levels around the new mid, sometimes trades a synthetic taker
        against the top of the book (which may partially fill user orders), then
        emits the private pushes and the public book, trade and ticker channels
        that changed.
        """
        ctx = Changes(self.now_ms())
        try:
            for inst in self._venue.all_insts():
                # Synthetic takers have no order of their own (taker=None).
                self._market.advance(inst, functools.partial(self._matcher.match, ctx, inst, None))
                ctx.touch(inst)
            self._publisher.flush(ctx)
        except Exception:
            # The market loop must outlive an engine bug; the error is counted.
            self.internal_errors += 1
            log.exception("simulator engine error in market step")
        return ctx.emits

    def market_event(self, event: Any) -> list[Emit]:
        """One event of the market source's own (a replayed push), outside the periodic
        steps: the source applies it through ``_Moves`` (trades against the
        book, fills of resting orders, its public pushes), then the account pushes
        of what changed follow. An engine error is counted as in ``market_step``.
        """
        ctx = Changes(self.now_ms())
        try:
            self._market.on_event(event, _Moves(ctx, self._matcher))
            self._publisher.flush(ctx)
        except Exception:
            self.internal_errors += 1
            log.exception("simulator engine error in market event")
        return ctx.emits

    def book_heartbeat(self, inst_id: str, channel: str) -> Emit | None:
        """The keepalive push for a quiet book channel, or ``None`` if not applicable.

        Incremental channels get an empty update with ``seqId == prevSeqId``;
        ``books5`` and ``bbo-tbt`` resend their current state. A market source
        that publishes the public channels sends its own (a replay: the recorded ones).
        """
        if self._market.publishes_public:
            return None
        return self._publisher.book_heartbeat(inst_id, channel, self.now_ms())

    def reset_book_sequence(self, inst_id: str) -> None:
        """Fault: the next book update of ``inst_id`` has ``seqId < prevSeqId`` (a valid reset)."""
        self._publisher.reset_book_sequence(inst_id)

    # -- subscriptions -----------------------------------------------------------------

    def initial_pushes(self, api_key: str | None, arg: dict[str, Any]) -> list[Emit]:
        """What a fresh subscription to ``arg`` gets first ([] if the channel has none)."""
        now = self.now_ms()
        own = self._market.initial_pushes(arg, now)
        if own is not None:
            return own
        return self._publisher.initial_pushes(api_key, arg, now)

    def channel_error(self, path: str, arg: dict[str, Any]) -> tuple[str, str] | None:
        """``(code, msg)`` if ``arg`` cannot be subscribed on ``path``, else ``None``.

        See ``_checks.channel_error``; then the market source may refuse
        what it does not serve (a replay: a channel the recording lacks).
        """
        problem = channel_error(path, arg, instruments=self.instruments, spreads=self.spreads,
                                elp_names=self.elp_names)
        if problem is not None:
            return problem
        return self._market.channel_error(path, arg)


class _Moves:
    """The ``_market.MarketMoves`` of one market event, bound to its changes."""

    def __init__(self, ctx: Changes, matcher: Matcher) -> None:
        self._ctx = ctx
        self._matcher = matcher

    def take(self, inst: Instrument, taker_side: str, limit_px: Decimal, qty: Decimal) -> Decimal:
        """A market taker (no order of its own) trades up to ``qty`` at ``limit_px``."""
        return self._matcher.match(self._ctx, inst, None, taker_side, limit_px, qty)

    def fill(self, inst: Instrument, order: Order, qty: Decimal) -> None:
        """A market taker trades ``qty`` with resting ``order`` at its price."""
        self._matcher.fill_resting(self._ctx, inst, order, qty)

    def publish(self, emit: Emit) -> None:
        """Push ``emit`` with the event's other pushes (before the account ones)."""
        self._ctx.emits.append(emit)
