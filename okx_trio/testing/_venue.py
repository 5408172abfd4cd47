"""The exchange's state: instruments with their books, accounts, every order accepted.

``Instrument`` is the runtime state of one instrument or spread (its book,
published feeds, 24 h statistics and the random walk's mid). ``Venue``
holds them all, the accounts, and the order registry with OKX's id rules
(``ordId`` strictly increasing, ``clOrdId`` unique among an account's pending
orders). Every other part of the engine reads and changes this state; none of
them holds another.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from .._models import Credentials
from ._accounts import SimAccount
from ._engine_book import Book, BookFeed
from ._engine_model import ZERO, Account, InstrumentSpec, Order, floor_step

TAPE_LIMIT = 100_000
"""Public trades kept per instrument (``market/trades``, candles): the oldest are dropped."""

PRICE_BAND = Decimal("0.05")
"""Limit orders may not buy above mid x (1 + band) nor sell below mid x (1 - band) (51006)."""


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
        books_seq = rng.randint(10_000, 5_000_000)
        rng.randint(10_000, 5_000_000)  # was books50's own start: kept, so seeds replay
        self.feeds = {
            # books first: books50-l2-tbt follows its seqId (one sequence per instrument).
            "books": BookFeed(400, books_seq),
            "books50-l2-tbt": BookFeed(50, books_seq),
        }
        self.rpi_seq = books_seq * 7 % 4_990_000 + 10_000
        """``books-rpi``'s own ``seqId`` (its REST twin returns it)."""
        self.rpi_reset_pending = False
        self.trade_seq = rng.randint(100_000_000, 900_000_000)
        self.public_trade_seq = rng.randint(1_000, 100_000)
        self.last: Decimal = start
        self.last_sz: Decimal = ZERO
        self.open24h: Decimal = start
        self.high24h: Decimal = start
        self.low24h: Decimal = start
        self.vol24h: Decimal = ZERO
        self.vol_ccy24h: Decimal = ZERO
        self.tape: deque[tuple[int, Decimal, Decimal, str, str]] = deque(maxlen=TAPE_LIMIT)
        """Public trades, oldest first: ``(ts, px, sz, taker side, tradeId)``."""
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

    def freeze_amount(
        self, side: str, px: Decimal, qty: Decimal, lever: Decimal | None = None
    ) -> Decimal:
        """Balance a resting order of ``qty`` at ``px`` holds (derivatives: at ``lever``,
        default the instrument's)."""
        if self.spec.is_derivative:
            return px * qty * self.ct_val / (lever or self.lever)
        return px * qty if side == "buy" else qty


class Venue:
    """Instruments, spreads, accounts and the order registry of one exchange.

    Args:
        accounts: the accounts (each may have several API keys).
        specs: the instrument set.
        balances: every account's starting balances.
        rng: the market's random source (book seqIds and trade ids start from it).
        ids: the source of account uids, ``ordId`` and ``posId`` sequences.

    Raises:
        ValueError: duplicate instruments, instIdCodes or api keys, or a spread
            with an unknown leg.
    """

    def __init__(
        self,
        accounts: Sequence[SimAccount],
        specs: Sequence[InstrumentSpec],
        balances: dict[str, str],
        *,
        rng: random.Random,
        ids: random.Random,
    ) -> None:
        self._ids = ids
        self._ord_seq = 680_000_000_000_000_000 + ids.randint(0, 10**15)
        # Bill ids count on their own (not from ``ids``: the same seed keeps
        # giving the same ordIds and uids whatever the bills do).
        self._bill_seq = self._ord_seq - 80_000_000_000_000_000
        self._pos_seq = ids.randint(10**17, 9 * 10**17)
        self._order_seq = 0

        self.instruments: dict[str, Instrument] = {}
        self.spreads: dict[str, Instrument] = {}
        self._by_code: dict[int, Instrument] = {}
        for spec in specs:
            inst = Instrument(spec, rng)
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

        self.accounts: dict[str, Account] = {}
        """The accounts by their first API key."""
        self._keys: dict[str, tuple[Account, Credentials]] = {}
        for settings in accounts:
            uid = str(ids.randint(10**14, 10**15 - 1))
            account = Account(
                settings.credentials, uid, {ccy: Decimal(v) for ccy, v in balances.items()},
                settings,
            )
            for creds in settings.keys:
                if creds.api_key in self._keys:
                    raise ValueError(f"duplicate api_key {creds.api_key!r}")
                self._keys[creds.api_key] = (account, creds)
            self.accounts[account.api_key] = account
        self._orders: dict[str, Order] = {}
        self._order_list: list[Order] = []
        self._by_cl: dict[tuple[str, str], Order] = {}

    # -- accounts ------------------------------------------------------------------

    def account_of(self, api_key: str | None) -> Account | None:
        """The account an API key belongs to (any of its keys), ``None`` if unknown."""
        found = self._keys.get(api_key) if api_key is not None else None
        return None if found is None else found[0]

    def key_credentials(self, api_key: str) -> Credentials | None:
        """The credentials of one API key (to check its signatures), ``None`` if unknown."""
        found = self._keys.get(api_key)
        return None if found is None else found[1]

    # -- instruments ---------------------------------------------------------------

    def all_insts(self) -> list[Instrument]:
        """Instruments, then spreads."""
        return [*self.instruments.values(), *self.spreads.values()]

    def of_order(self, order: Order) -> Instrument:
        """The instrument (or spread) an order trades."""
        return self.spreads[order.inst_id] if order.sprd_id else self.instruments[order.inst_id]

    def lookup_inst(self, arg: dict[str, Any]) -> Instrument | None:
        """An order-op item's instrument: by ``instIdCode`` (wins) or ``instId``."""
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

    def usd_price(self, ccy: str) -> Decimal:
        """A currency's USD price: 1 for USD stablecoins, else its ``-USDT`` spot mid (or 0)."""
        if ccy in ("USDT", "USDC", "USD"):
            return Decimal(1)
        inst = self.instruments.get(f"{ccy}-USDT")
        if inst is not None and inst.spec.inst_type == "SPOT":
            return inst.mid
        return ZERO

    def usd(self, inst: Instrument, px: Decimal, qty: Decimal) -> Decimal:
        """The USD value of ``qty`` of ``inst`` at ``px``."""
        spec = inst.spec
        if spec.is_derivative:
            value = px * qty * inst.ct_val
            ccy = spec.settle_ccy
        else:
            value = px * qty
            ccy = spec.quote_ccy
        return (value * self.usd_price(ccy)).quantize(Decimal("0.0001"))

    # -- orders --------------------------------------------------------------------

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

    def dup_cl(self, api_key: str, cl: str) -> bool:
        """True if ``cl`` names a pending order of the account (51016)."""
        order = self._by_cl.get((api_key, cl))
        return order is not None and order.pending

    def new_ord_id(self) -> str:
        """The next ``ordId`` (increasing, with random gaps)."""
        self._ord_seq += self._ids.randint(1, 40)
        return str(self._ord_seq)

    def new_bill_id(self) -> str:
        """The next ``billId`` (increasing)."""
        self._bill_seq += 1
        return str(self._bill_seq)

    def lever(self, acct: Account, inst: Instrument) -> Decimal:
        """The leverage ``acct`` trades ``inst`` at: set with ``set-leverage``, else
        the instrument's default."""
        return acct.leverage.get(inst.inst_id, inst.lever)

    def new_pos_id(self) -> str:
        """The next ``posId``."""
        self._pos_seq += 1
        return str(self._pos_seq)

    def register(self, order: Order) -> None:
        """Record a newly accepted order (time priority from now)."""
        self.requeue(order)
        self._orders[order.ord_id] = order
        self._order_list.append(order)
        if order.cl_ord_id:
            self._by_cl[(order.api_key, order.cl_ord_id)] = order

    def requeue(self, order: Order) -> None:
        """Give an order the next time priority (a new order, or an amend that loses it)."""
        self._order_seq += 1
        order.seq = self._order_seq
