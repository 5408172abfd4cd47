"""``okx-trio demo``: a small market-making bot trading on an embedded simulator.

Needs no account and no network beyond 127.0.0.1: the demo starts a local OKX
v5 exchange (``okx_trio.testing.open_simulator``) with freshly generated
credentials and runs one structured-concurrency bot against it. Every task of
the bot lives in one nursery:

* ``watch_orders`` keeps the bot's view of its orders from the private
  ``orders`` and business ``sprd-orders`` channels, and after a ``Gap`` (pushes
  lost in a reconnect) asks the exchange for the truth about every order it
  still believes open;
* ``watch_book`` / ``watch_tickers`` follow the ``BTC-USDT`` order book and ticker;
* ``watch_connections`` reports reconnects from the client's lifecycle events;
* ``quote`` keeps one post-only bid and one post-only ask at the top of the
  book, amends them as the price walks and now and then cancels and replaces
  them (one task per side);
* ``ladder`` places deeper orders with one batch request and later cancels
  them with one batch cancel;
* ``trade_spread`` places and amends spread orders, all cancelled at the end
  with ``mass_cancel_spread_orders``;
* ``chaos`` asks the simulator, halfway through, to drop the market-data
  connection and to drop the private connection right after it accepts the
  next order, so the run shows a reconnect, the resubscription and an order
  whose outcome is unknown being resolved;
* ``show_progress`` draws the progress line.

When the time is up the trading tasks are cancelled, every order that may
still rest is cancelled with batch cancels and ``mass_cancel_spread_orders``,
and a summary is printed, every figure measured in the run: counts, refusals
by op and sCode, fills, the PnL in the simulator (balances before and after,
marked at the final mid, split into the fills' fees and the trading around
them) and round-trip latency percentiles. With ``--out FILE`` the run's fills
(read back over REST) and the top of the book after each change are written as
JSON lines a notebook loads, in the format of ``okx_trio.replay.write_jsonl``.

The code is meant to be read and copied: everything it does goes through the
public API (``open_ws_api_client``, ``WsApiClient``, ``WsClient.subscribe``,
``WsClient.order_book``, ``WsClient.events``); the simulator is only used to
create the exchange, inject the fault and read balances for the summary.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import secrets
import shutil
import string
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import TextIO, TypeVar

import attrs
import trio

from okx_trio import (
    AmendOrder,
    AmendSpreadOrder,
    CancelOrder,
    Credentials,
    Gap,
    LifecycleEvent,
    LiveOrderBook,
    MassCancelSpread,
    OkxApiError,
    OkxBatchError,
    OkxConnectionLost,
    OkxError,
    OkxNotSent,
    OkxOrderError,
    OkxRateLimitError,
    OkxRequestError,
    OkxRequestTimeout,
    OkxWaitTimeout,
    OrderTracker,
    PlaceOrder,
    PlaceSpreadOrder,
    Push,
    WsApiClient,
    open_ws_api_client,
    views,
)
from okx_trio.replay import BookSample, write_jsonl
from okx_trio.testing import Simulator, open_simulator

__all__ = ["main"]

T = TypeVar("T")

INST_ID = "BTC-USDT"
SPREAD_ID = "BTC-USDT_BTC-USDT-SWAP"
QUOTE_SIZE = Decimal("0.01")
LADDER_SIZE = Decimal("0.005")
LADDER_STEPS = (Decimal("0.0004"), Decimal("0.0008"))
"""Distance of the ladder orders from the top of the book, as a fraction of the price."""
SPREAD_SIZE = Decimal("0.01")
QUOTE_INTERVAL = 0.2
"""Seconds between two quote rounds."""
ORDER_TIMEOUT = 2.0
"""Deadline of the order ops, also sent as ``expTime``: a quote that reaches the
exchange later than this is worthless, and ``api.resolve`` can conclude "never
placed" this soon after a lost answer."""
REPLACE_EVERY = 10
"""Every this many rounds the quotes are cancelled and replaced instead of amended."""
MARKET_INTERVAL = 0.05
"""Seconds between market steps of the simulator: fast enough for fills within seconds."""
WIND_DOWN_TIMEOUT = 10.0
OPEN_STATES = frozenset({"sent", "live", "partially_filled"})
"""States in which an order may still rest on the exchange."""
BATCH_MAX = 20
PLACE_OPS = frozenset({"order", "batch-orders", "sprd-order"})
RESULT_WORDS = {
    "acted": "reached the exchange",
    "not_found": "never took effect",
    "mixed": "took effect for some orders",
    "unknown": "is still unknown (deadline passed)",
}
OP_NAMES = {
    "order": "place", "batch-orders": "batch place", "amend-order": "amend",
    "cancel-order": "cancel", "batch-cancel-orders": "batch cancel",
    "sprd-order": "spread place", "sprd-amend-order": "spread amend",
}


# --------------------------------------------------------------------- output


class Console:
    """Messages and a progress line.

    On a terminal the progress line is redrawn in place (carriage return) and
    messages scroll above it; otherwise the progress goes out as a plain line
    every ``interval`` seconds, so logs and pipes stay readable.
    """

    def __init__(self, stream: TextIO, *, live: bool, verbose: bool) -> None:
        self.stream = stream
        self.live = live
        self.verbose = verbose
        self._status = ""

    def say(self, text: str) -> None:
        """Print a message on a line of its own."""
        if self.live and self._status:
            self.stream.write("\r\x1b[K" + text + "\n" + self._status)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def detail(self, text: str) -> None:
        """Print a message only with ``--verbose``."""
        if self.verbose:
            self.say("  " + text)

    def status(self, text: str) -> None:
        """Show the progress line (redrawn on a terminal, appended otherwise)."""
        if self.live:
            # A line wider than the terminal would wrap and defeat the redraw.
            text = text[: shutil.get_terminal_size().columns - 1]
            self._status = text
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
        else:
            self.say(text)

    def end_status(self) -> None:
        """Leave the progress line behind before the summary."""
        if self.live and self._status:
            self.stream.write("\n")
            self.stream.flush()
            self._status = ""


# ---------------------------------------------------------------------- state


@attrs.define
class BotOrder:
    """The bot's view of one of its orders."""

    cl_ord_id: str
    side: str
    px: Decimal
    kind: str
    """``"quote"``, ``"ladder"`` or ``"spread"``."""
    local: str = "sent"
    """What only this process knows: ``sent``, ``rejected`` (refused by the
    exchange) or ``not sent`` (never placed); the rest comes from the tracker."""


def _percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of ``values`` (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@attrs.define
class Stats:
    """What the bot did, for the progress line and the summary."""

    placed: int = 0
    amended: int = 0
    cancelled: int = 0
    rejected: int = 0
    batch_places: int = 0
    batch_cancels: int = 0
    spread_orders: int = 0
    spread_amends: int = 0
    fills: int = 0
    reconnects: int = 0
    gaps: int = 0
    unknown: int = 0
    resolved: int = 0
    latencies: list[float] = attrs.field(factory=list)
    """Round trips (seconds) of every request the exchange answered."""
    trade_ids: set[str] = attrs.field(factory=set)
    refusals: Counter[str] = attrs.field(factory=Counter)
    """Refusals by op and the exchange's sCode, e.g. ``amend 51503``."""
    fees: dict[str, Decimal] = attrs.field(factory=dict)
    """Fees of our fills by currency, negative when charged (OKX's ``fillFee``)."""

    def refused(self, op: str, s_code: str) -> None:
        """Count one refusal of ``op`` with ``s_code``."""
        self.rejected += 1
        self.refusals[f"{op} {s_code}"] += 1

    def latency_ms(self, q: float) -> float:
        """Percentile ``q`` of the round trips, in milliseconds."""
        return _percentile(self.latencies, q) * 1000


# ------------------------------------------------------------------------ bot


def refusal_code(exc: OkxOrderError | OkxRateLimitError) -> str:
    """The code a refusal is counted under: an order's ``sCode``, else the
    request's own (``50011`` when refused whole as too frequent)."""
    return exc.s_code if isinstance(exc, OkxOrderError) else exc.code


class Bot:
    """A small market maker; see the module docstring for its tasks."""

    def __init__(self, api: WsApiClient, tracker: OrderTracker, console: Console,
                 sim: Simulator) -> None:
        self.api = api
        self.ws = api.ws_client
        self.tracker = tracker
        self.out = console
        self.sim = sim
        self.stats = Stats()
        self.orders: dict[str, BotOrder] = {}
        self.quotes: dict[str, str | None] = {"buy": None, "sell": None}
        self.book: LiveOrderBook | None = None
        self.samples: list[BookSample] | None = None
        """The top of the book after each change, when the run is written out."""
        self.last_px: Decimal | None = None
        self.tick = Decimal("0.1")
        self.spread_tick = Decimal("0.1")
        self.replace_now: set[str] = set()
        self.started = trio.current_time()
        # Our own clOrdIds (the client would generate them too) so that an
        # order can be looked up before its ack arrives.
        self._prefix = "d" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(5))
        self._seq = itertools.count(1)

    def new_cl_ord_id(self) -> str:
        """A fresh clOrdId (letters and digits, at most 32)."""
        return f"{self._prefix}{next(self._seq)}"

    def track(self, side: str, px: Decimal, kind: str) -> BotOrder:
        order = BotOrder(self.new_cl_ord_id(), side, px, kind)
        self.orders[order.cl_ord_id] = order
        return order

    async def timed(self, request: Awaitable[T]) -> T:
        """Await one request, recording its round trip when the exchange answered."""
        start = time.perf_counter()
        try:
            result = await request
        except OkxApiError:
            self.stats.latencies.append(time.perf_counter() - start)
            raise
        self.stats.latencies.append(time.perf_counter() - start)
        return result

    # -- the truth about an order ------------------------------------------------

    def state(self, order: BotOrder) -> str:
        """The order's state: the tracker's (the exchange's latest word), else ours."""
        if order.local != "sent":
            return order.local
        tracked = self.tracker.get(cl_ord_id=order.cl_ord_id)
        return tracked.state if tracked is not None else "sent"

    def is_open(self, order: BotOrder) -> bool:
        """True while the order may rest on the exchange."""
        return self.state(order) in OPEN_STATES

    async def settle_unknown(self, exc: OkxRequestError, orders: Sequence[BotOrder]) -> None:
        """A request was written but its answer never came: find out what happened.

        ``api.resolve`` asks the tracker and the exchange (signed REST) and only
        concludes that a request never took effect once the exchange has
        certainly finished with it, so placing again after ``not_found``
        cannot double an order.
        """
        self.stats.unknown += 1
        what = OP_NAMES.get(exc.op or "", exc.op)
        names = ", ".join(o.cl_ord_id for o in orders)
        self.out.say(f"outcome unknown: the {what} of {names} ended in "
                     f"{type(exc).__name__}; resolving it with the exchange")
        resolution = await self.api.resolve(exc)
        if exc.op in PLACE_OPS:
            for order, item in zip(orders, resolution.items, strict=False):
                if item.outcome == "not_found":
                    order.local = "not sent"
        if resolution.outcome != "unknown":
            self.stats.resolved += 1
        found = {o.cl_ord_id: o.state for o in resolution.orders}
        states = ", ".join(f"{o.cl_ord_id} {found.get(o.cl_ord_id, 'absent')}" for o in orders)
        self.out.say(f"resolved: the {what} {RESULT_WORDS.get(resolution.outcome, '?')}; "
                     f"on the exchange: {states}")

    # -- market data and connection events ----------------------------------------

    async def watch_orders(self, stream: AsyncIterator[Push | Gap]) -> None:
        """React to order events (fills); the tracker keeps the states."""
        async for item in stream:
            if isinstance(item, Gap):
                # Pushes may be missing here. The tracker marks our open orders
                # stale and reads them from the exchange once the channel is
                # subscribed again; fills we missed show up in its accFillSz.
                self.stats.gaps += 1
                self.out.say(f"orders stream: {item.reason} gap; the order tracker re-reads "
                             "open orders from the exchange once resubscribed")
                continue
            for view in item.view():
                if not isinstance(view, views.Order | views.SprdOrder):
                    continue
                order = self.orders.get(view.cl_ord_id or "")
                if order is None or not view.trade_id or not view.fill_sz:
                    continue
                if view.trade_id not in self.stats.trade_ids:
                    self.stats.trade_ids.add(view.trade_id)
                    self.stats.fills += 1
                    if isinstance(view, views.Order) and view.fill_fee and view.fill_fee_ccy:
                        fees = self.stats.fees
                        fees[view.fill_fee_ccy] = fees.get(view.fill_fee_ccy, 0) + view.fill_fee
                    self.out.detail(f"fill: {order.kind} {order.side} {view.fill_sz} @ "
                                    f"{view.fill_px} ({view.state})")

    async def watch_book(self, book: LiveOrderBook) -> None:
        async for item in book:
            if isinstance(item, Gap):
                self.out.say(f"order book: {item.reason} gap; rebuilt from a fresh snapshot")
            elif self.samples is not None:
                self.sample_book(item)

    def sample_book(self, book: LiveOrderBook) -> None:
        """Keep the top of the book if it changed (for ``--out``)."""
        assert self.samples is not None
        bids = (book.best_bid,) if book.best_bid is not None else ()
        asks = (book.best_ask,) if book.best_ask is not None else ()
        last = self.samples[-1] if self.samples else None
        if last is None or (last.bids, last.asks) != (bids, asks):
            self.samples.append(BookSample(book.ts or 0, INST_ID, bids, asks))

    async def watch_tickers(self, stream: AsyncIterator[Push | Gap]) -> None:
        async for item in stream:
            if isinstance(item, Push):
                for ticker in item.view_as(views.Ticker):
                    if ticker.last is not None:
                        self.last_px = ticker.last

    async def watch_connections(self, events: AsyncIterator[LifecycleEvent]) -> None:
        async for event in events:
            if event.kind == "reconnect":
                self.out.say(
                    f"reconnect: the {event.connection} connection dropped "
                    f"({event.detail}); reconnecting"
                )
            elif event.kind == "reconnected":
                self.stats.reconnects += 1
                logged_in = " and logged in" if event.connection != "public" else ""
                self.out.say(
                    f"reconnected: the {event.connection} connection is back{logged_in}; "
                    "subscriptions are sent again"
                )
            elif event.kind in ("open", "authenticated", "notice", "exception"):
                self.out.detail(f"{event.connection} connection: {event.kind} ({event.detail})")

    # -- order operations ---------------------------------------------------------

    async def place(self, side: str, px: Decimal, kind: str) -> BotOrder:
        order = self.track(side, px, kind)
        if kind == "quote":
            self.quotes[side] = order.cl_ord_id
        params = PlaceOrder(
            inst_id=INST_ID, td_mode="cash", side=side, ord_type="post_only",
            px=px, sz=QUOTE_SIZE, cl_ord_id=order.cl_ord_id,
        )
        try:
            ack = await self.timed(self.api.submit_new_order(params, timeout=ORDER_TIMEOUT))
        except (OkxOrderError, OkxRateLimitError) as exc:
            order.local = "rejected"
            self.stats.refused("place", refusal_code(exc))
            self.out.detail(f"place refused: {exc}")
        except (OkxConnectionLost, OkxRequestTimeout) as exc:
            await self.settle_unknown(exc, [order])
            if order.local != "not sent":
                self.stats.placed += 1
        except OkxNotSent:
            order.local = "not sent"  # never left this process: the next round retries
        else:
            self.stats.placed += 1
            self.out.detail(f"placed: {side} {QUOTE_SIZE} @ {px} ({order.cl_ord_id}, "
                            f"ordId {ack.ord_id})")
        return order

    async def amend(self, order: BotOrder, px: Decimal) -> None:
        params = AmendOrder(inst_id=INST_ID, cl_ord_id=order.cl_ord_id, new_px=px)
        try:
            await self.timed(self.api.amend_order(params, timeout=ORDER_TIMEOUT))
        except (OkxOrderError, OkxRateLimitError) as exc:
            # Usually the order filled or was cancelled meanwhile (the orders
            # channel tells us which), or the request came too fast: the
            # price walks on and the next round amends again.
            self.stats.refused("amend", refusal_code(exc))
            self.out.detail(f"amend refused: {exc}")
        except (OkxConnectionLost, OkxRequestTimeout) as exc:
            await self.settle_unknown(exc, [order])
        except OkxNotSent:
            pass
        else:
            self.stats.amended += 1
            order.px = px
            self.out.detail(f"amended: {order.side} {order.cl_ord_id} to {px}")

    async def cancel(self, order: BotOrder) -> bool:
        """Cancel ``order``; True once it no longer rests on the exchange."""
        params = CancelOrder(inst_id=INST_ID, cl_ord_id=order.cl_ord_id)
        try:
            await self.timed(self.api.cancel_order(params, timeout=ORDER_TIMEOUT))
        except OkxRateLimitError as exc:
            # Refused whole as too frequent: the order still rests; the caller
            # tries again. (Before OkxOrderError: an order's rate-limit refusal
            # can be both, and then it still rests.)
            self.stats.refused("cancel", refusal_code(exc))
            self.out.detail(f"cancel refused: {exc}")
            return False
        except OkxOrderError as exc:
            # 51400-51402: filled or cancelled meanwhile; the orders channel says which.
            self.out.detail(f"cancel refused: {exc}")
            return True
        except (OkxConnectionLost, OkxRequestTimeout) as exc:
            await self.settle_unknown(exc, [order])
            return not self.is_open(order)
        except OkxNotSent:
            return False
        self.stats.cancelled += 1
        self.out.detail(f"cancelled: {order.side} {order.cl_ord_id}")
        return True

    # -- trading tasks --------------------------------------------------------------

    def top_of_book(self) -> tuple[Decimal, Decimal] | None:
        book = self.book
        if book is None or not book.synced or book.best_bid is None or book.best_ask is None:
            return None
        return book.best_bid[0], book.best_ask[0]

    async def quote(self, side: str) -> None:
        """Keep one post-only order on ``side`` at the top of the book.

        One task per side, so a side busy resolving an unknown outcome never
        holds the other one up.
        """
        for round_no in itertools.count(1):
            await trio.sleep(QUOTE_INTERVAL)
            top = self.top_of_book()
            if top is None:
                continue  # the book is being rebuilt: do not quote blind
            replace = side in self.replace_now or round_no % REPLACE_EVERY == 0
            self.replace_now.discard(side)
            await self.requote(side, top[0] if side == "buy" else top[1], replace)

    async def requote(self, side: str, px: Decimal, replace: bool) -> None:
        cl_ord_id = self.quotes[side]
        order = self.orders.get(cl_ord_id) if cl_ord_id else None
        if order is None or not self.is_open(order):
            await self.place(side, px, "quote")
        elif replace:
            if await self.cancel(order):
                await self.place(side, px, "quote")
        elif order.px != px:
            await self.amend(order, px)

    async def ladder(self, place_at: float, cancel_at: float) -> None:
        await trio.sleep_until(self.started + place_at)
        top = self.top_of_book()
        if top is None:
            self.out.say("ladder skipped: the order book is being rebuilt")
            return
        bid, ask = top
        orders = []
        for step in LADDER_STEPS:
            orders.append(self.track("buy", self.to_tick(bid * (1 - step)), "ladder"))
            orders.append(self.track("sell", self.to_tick(ask * (1 + step)), "ladder"))
        batch = [
            PlaceOrder(inst_id=INST_ID, td_mode="cash", side=o.side, ord_type="post_only",
                       px=o.px, sz=LADDER_SIZE, cl_ord_id=o.cl_ord_id)
            for o in orders
        ]
        try:
            acks = await self.timed(self.api.submit_multiple_orders(batch, timeout=ORDER_TIMEOUT))
        except OkxBatchError as exc:
            acks = exc.acks  # some were refused: every ack is still here
        except OkxRateLimitError as exc:  # refused whole: none was placed
            for order in orders:
                order.local = "rejected"
                self.stats.refused("batch place", exc.code)
            acks = []
        except (OkxConnectionLost, OkxRequestTimeout) as exc:
            await self.settle_unknown(exc, orders)  # sets each order's state
            acks = []
        self.stats.batch_places += 1
        for order, ack in zip(orders, acks, strict=False):
            if not ack.ok:
                order.local = "rejected"
                self.stats.refused("batch place", ack.s_code)
        accepted = sum(o.local == "sent" for o in orders)
        self.stats.placed += accepted
        self.out.say(f"batch place: {accepted} of {len(batch)} ladder orders accepted "
                     "in one request")

        await trio.sleep_until(self.started + cancel_at)
        left = [o for o in orders if self.is_open(o)]
        if left:
            cancelled = await self.cancel_batch(left)
            self.stats.batch_cancels += 1
            self.out.say(f"batch cancel: {cancelled} of {len(left)} ladder orders cancelled "
                         "in one request")

    async def cancel_batch(self, orders: Sequence[BotOrder]) -> int:
        """Cancel ``orders`` (at most 20) in one request; returns how many were cancelled."""
        batch = [CancelOrder(inst_id=INST_ID, cl_ord_id=o.cl_ord_id) for o in orders]
        try:
            acks = await self.timed(self.api.cancel_multiple_orders(batch, timeout=ORDER_TIMEOUT))
        except OkxBatchError as exc:
            acks = exc.acks  # refused items: filled or cancelled meanwhile
        except OkxRateLimitError as exc:  # refused whole: all still rest
            self.stats.refused("batch cancel", exc.code)
            return 0
        except (OkxConnectionLost, OkxRequestTimeout) as exc:
            await self.settle_unknown(exc, orders)
            return 0
        ok = sum(ack.ok for ack in acks)
        self.stats.cancelled += ok
        return ok

    async def trade_spread(self, start_at: float) -> None:
        await trio.sleep_until(self.started + start_at)
        async with self.ws.subscribe({"channel": "sprd-tickers", "sprdId": SPREAD_ID}) as stream:
            async for item in stream:
                if isinstance(item, Push) and item.data:
                    bid = Decimal(item.data[0]["bidPx"])
                    ask = Decimal(item.data[0]["askPx"])
                    break
            else:
                return
        tick = self.spread_tick
        buy = await self.place_spread("buy", bid - 10 * tick)
        sell = await self.place_spread("sell", ask + 10 * tick)
        self.out.say(f"spread orders: buy {SPREAD_ID} @ {buy.px}, sell @ {sell.px} "
                     "(business connection)")
        await trio.sleep(1.0)
        for order, px in ((buy, bid - 5 * tick), (sell, ask + 5 * tick)):
            if not self.is_open(order):
                continue
            params = AmendSpreadOrder(cl_ord_id=order.cl_ord_id, new_px=px)
            try:
                await self.timed(self.api.amend_spread_order(params))
            except (OkxOrderError, OkxRateLimitError) as exc:
                self.stats.refused("spread amend", refusal_code(exc))
                self.out.detail(f"spread amend refused: {exc}")
            except (OkxConnectionLost, OkxRequestTimeout) as exc:
                await self.settle_unknown(exc, [order])
            else:
                self.stats.spread_amends += 1
                order.px = px
        self.out.say(f"spread orders amended closer to the market: {self.stats.spread_amends}")

    async def place_spread(self, side: str, px: Decimal) -> BotOrder:
        order = self.track(side, px, "spread")
        params = PlaceSpreadOrder(sprd_id=SPREAD_ID, side=side, ord_type="limit", px=px,
                                  sz=SPREAD_SIZE, cl_ord_id=order.cl_ord_id)
        try:
            await self.timed(self.api.submit_spread_order(params))
        except (OkxOrderError, OkxRateLimitError) as exc:
            order.local = "rejected"
            self.stats.refused("spread place", refusal_code(exc))
            self.out.detail(f"spread order refused: {exc}")
        except (OkxConnectionLost, OkxRequestTimeout) as exc:
            await self.settle_unknown(exc, [order])
        else:
            self.stats.spread_orders += 1
        return order

    async def chaos(self, at: float) -> None:
        await trio.sleep_until(self.started + at)
        self.out.say(
            "fault injection: the simulator drops the market-data connection now, and the "
            "private connection right after it accepts our next order"
        )
        self.sim.faults.drop_on("order", when="after", mode="reset")
        self.sim.faults.drop("public", mode="reset")
        self.replace_now = {"buy", "sell"}  # the next rounds cancel and place at once

    # -- progress and shutdown ---------------------------------------------------------

    def progress(self) -> str:
        s = self.stats
        elapsed = trio.current_time() - self.started
        last = f"{self.last_px}" if self.last_px is not None else "-"
        rtt = (f"rtt p50 {s.latency_ms(50):.2f} ms p99 {s.latency_ms(99):.2f} ms"
               if s.latencies else "rtt -")
        return (f"[{elapsed:5.1f}s] last {last}  placed {s.placed}  amended {s.amended}  "
                f"cancelled {s.cancelled}  fills {s.fills}  {rtt}  reconnects {s.reconnects}")

    async def show_progress(self, interval: float) -> None:
        while True:
            self.out.status(self.progress())
            await trio.sleep(interval)

    def to_tick(self, px: Decimal) -> Decimal:
        return (px / self.tick).to_integral_value(ROUND_DOWN) * self.tick

    async def wind_down(self) -> None:
        """Cancel everything that may still rest on the exchange, and wait until it is gone."""
        left = [o for o in self.orders.values() if o.kind != "spread" and self.is_open(o)]
        for i in range(0, len(left), BATCH_MAX):
            await self.cancel_batch(left[i:i + BATCH_MAX])
            self.stats.batch_cancels += 1
        spreads = [o for o in self.orders.values() if o.kind == "spread" and self.is_open(o)]
        try:
            await self.timed(
                self.api.mass_cancel_spread_orders(MassCancelSpread(sprd_id=SPREAD_ID))
            )
        except OkxError as exc:
            self.out.say(f"mass cancel of spread orders failed: {exc}")
        self.out.say(f"wind-down: batch cancel of the {len(left)} remaining orders, "
                     f"mass_cancel_spread_orders for the {len(spreads)} open spread order(s)")
        # The tracker hears every cancel on the order channels: wait for each.
        async with trio.open_nursery() as nursery:
            for order in left + spreads:
                if self.tracker.get(cl_ord_id=order.cl_ord_id) is not None:
                    nursery.start_soon(self.wait_gone, order)

    async def wait_gone(self, order: BotOrder) -> None:
        try:
            await self.api.wait_order(cl_ord_id=order.cl_ord_id, timeout=5)
        except OkxWaitTimeout as exc:
            self.out.say(f"{order.cl_ord_id} is still {exc.order.state if exc.order else '?'}")


# ----------------------------------------------------------------------- run


@attrs.frozen
class Summary:
    """The figures printed at the end of the run."""

    stats: Stats
    duration: float
    seed: int
    pnl: Decimal
    mark: Decimal | None
    base_delta: Decimal
    open_left: int
    fully_filled: int
    spread_states: dict[str, int] = attrs.field(factory=dict)
    """How many of the spread orders ended in each state."""

    def fees_usdt(self) -> Decimal | None:
        """The fees of the run's fills in USDT (BTC fees at ``mark``); None without a mark."""
        btc = self.stats.fees.get("BTC", Decimal(0))
        if btc and self.mark is None:
            return None
        return self.stats.fees.get("USDT", Decimal(0)) + btc * (self.mark or 0)
    fills: list[views.Fill] = attrs.field(factory=list)
    """The account's spot fills, oldest first (collected for ``--out`` only)."""
    book: list[BookSample] = attrs.field(factory=list)
    """The top of the book after each change (collected for ``--out`` only)."""


def _credentials() -> Credentials:
    """Throw-away credentials for the embedded simulator (never printed)."""
    return Credentials(
        api_key=f"demo-{secrets.token_hex(8)}",
        secret_key=secrets.token_hex(16).upper(),
        passphrase=secrets.token_urlsafe(12),
    )


@asynccontextmanager
async def _exchange(seed: int, creds: Credentials) -> AsyncIterator[Simulator]:
    async with open_simulator([creds], seed=seed, market_interval=MARKET_INTERVAL) as sim:
        yield sim


async def run(duration: float, seed: int, console: Console, *,
              collect: bool = False) -> Summary:
    """Run the bot for ``duration`` seconds against a fresh simulator; with
    ``collect``, keep its fills and book samples in the summary."""
    creds = _credentials()
    async with _exchange(seed, creds) as sim:
        console.say(f"okx-trio demo: simulator on {sim.base_url} (seed {seed}), "
                    f"trading {INST_ID} and {SPREAD_ID} for {duration:g} s")
        before = sim.balances(creds.api_key)
        async with open_ws_api_client(
            credentials=creds, base_url=sim.base_url, log_lifecycle=False
        ) as api:
            ws = api.ws_client
            await api.connect_ws_api()  # log in now rather than on the first order
            await api.load_instruments("SPOT")
            orders_args = (
                {"channel": "orders", "instType": "SPOT", "instId": INST_ID},
                {"channel": "sprd-orders", "sprdId": SPREAD_ID},
            )
            async with (
                api.track_orders() as tracker,
                ws.events() as events,
                ws.order_book(INST_ID) as book,
                ws.subscribe({"channel": "tickers", "instId": INST_ID}) as tickers,
                ws.subscribe(*orders_args) as orders,
                trio.open_nursery() as nursery,
            ):
                bot = Bot(api, tracker, console, sim)
                bot.book = book
                if collect:
                    bot.samples = []
                inst = api.instrument(INST_ID)
                if inst is not None and inst.tick_sz is not None:
                    bot.tick = inst.tick_sz
                nursery.start_soon(bot.watch_orders, orders)
                nursery.start_soon(bot.watch_book, book)
                nursery.start_soon(bot.watch_tickers, tickers)
                nursery.start_soon(bot.watch_connections, events)
                nursery.start_soon(bot.show_progress, 0.1 if console.live else 2.0)
                async with trio.open_nursery() as trading:
                    trading.start_soon(bot.quote, "buy")
                    trading.start_soon(bot.quote, "sell")
                    trading.start_soon(bot.ladder, duration * 0.15, duration * 0.8)
                    trading.start_soon(bot.trade_spread, duration * 0.25)
                    trading.start_soon(bot.chaos, duration * 0.5)
                    await trio.sleep(duration)
                    trading.cancel_scope.cancel(reason="time is up")
                with trio.move_on_after(WIND_DOWN_TIMEOUT):
                    await bot.wind_down()
                console.status(bot.progress())
                nursery.cancel_scope.cancel(reason="demo finished")
            mark = None
            if book.best_bid is not None and book.best_ask is not None:
                mark = (book.best_bid[0] + book.best_ask[0]) / 2
            fills: list[views.Fill] = []
            if collect:
                # What the exchange recorded, as a notebook wants it: every fill.
                fills = [f async for f in api.rest.fills_history("SPOT")]
                fills.sort(key=lambda f: (f.ts or 0, int(f.bill_id or 0)))
        after = sim.balances(creds.api_key)
        open_left = sum(1 for o in sim.orders.open() if o.api_key == creds.api_key)
    console.end_status()
    base_delta = after.get("BTC", Decimal(0)) - before.get("BTC", Decimal(0))
    quote_delta = after.get("USDT", Decimal(0)) - before.get("USDT", Decimal(0))
    pnl = quote_delta + (base_delta * mark if mark is not None else Decimal(0))
    fully_filled = sum(1 for o in bot.orders.values() if bot.state(o) == "filled")
    spread_states = Counter(bot.state(o) for o in bot.orders.values() if o.kind == "spread")
    return Summary(bot.stats, duration, seed, pnl, mark, base_delta, open_left, fully_filled,
                   dict(spread_states), fills, bot.samples or [])


def render_summary(summary: Summary) -> str:
    """The summary table."""
    s = summary.stats
    rows = [
        ("orders placed", f"{s.placed}",
         f"{s.batch_places} batch place(s) included"),
        ("orders amended", f"{s.amended}", ""),
        ("orders cancelled", f"{s.cancelled}",
         f"{s.batch_cancels} batch cancel(s) included"),
        ("refused by the exchange", f"{s.rejected}",
         ", ".join(f"{reason}: {n}" for reason, n in sorted(s.refusals.items()))),
        ("spread orders", f"{s.spread_orders}", _spread_note(summary)),
        ("fills", f"{s.fills}", f"{summary.fully_filled} orders fully filled"),
        ("BTC bought - sold", f"{summary.base_delta.quantize(Decimal('1e-6')):+f}",
         "fees in BTC included, to 6 decimals"),
        ("PnL (simulated USDT)", f"{summary.pnl:+.2f}", _pnl_note(summary)),
        ("reconnects", f"{s.reconnects}", f"{s.gaps} stream gap(s) reconciled"),
        ("unknown outcomes", f"{s.unknown}", f"{s.resolved} resolved"),
        ("orders left open", f"{summary.open_left}", "on the exchange after wind-down"),
        ("requests timed", f"{len(s.latencies)}",
         "client and simulator share one process and CPU"),
    ]
    for q in (50, 90, 99, 100):
        label = "max" if q == 100 else f"p{q}"
        value = f"{s.latency_ms(q):.2f} ms" if s.latencies else "-"
        rows.append((f"round trip {label}", value, ""))
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    lines = [f"Summary: {summary.duration:g} s, seed {summary.seed}", "-" * (width + vwidth + 4)]
    for label, value, note in rows:
        line = f"{label:<{width}}  {value:>{vwidth}}"
        if note:
            line += f"  ({note})"
        lines.append(line)
    return "\n".join(lines)


def _spread_note(summary: Summary) -> str:
    states = ", ".join(f"{n} {state}" for state, n in sorted(summary.spread_states.items()))
    note = f"{summary.stats.spread_amends} amended"
    return f"{note}; at the end: {states}" if states else note


def _pnl_note(summary: Summary) -> str:
    """Where the PnL comes from: the fees paid, and the trading around them."""
    if summary.mark is None:
        return "balances only: no mid price to mark the BTC at"
    fees = summary.fees_usdt()
    assert fees is not None  # there is a mark
    mark = summary.mark.quantize(Decimal("0.01"))
    return f"fees {fees:+.2f}, trading {summary.pnl - fees:+.2f}; BTC marked at mid {mark}"


def _duration(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _out_file(text: str) -> Path:
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no directory {path.parent}")
    return path


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``okx-trio demo``."""
    parser = argparse.ArgumentParser(
        prog="okx-trio demo",
        description="Run a small market-making bot against an embedded OKX simulator "
        "(no account, no network beyond 127.0.0.1).",
    )
    parser.add_argument("--duration", type=_duration, default=15.0,
                        help="seconds of trading (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the simulator's market (default: random, printed)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every order operation and connection event")
    parser.add_argument("--out", metavar="FILE.jsonl", type=_out_file,
                        help="write the run's fills and the top of the book after each change "
                        "as JSON lines (pandas.read_json(FILE, lines=True))")
    return parser


def main(argv: Sequence[str] | None = None, *, stream: TextIO | None = None) -> int:
    """Entry point of ``okx-trio demo``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        # `okx-trio demo -- --duration 5`: the separator only shields our
        # options from the top-level parser.
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    out = sys.stdout if stream is None else stream
    seed = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
    console = Console(out, live=out.isatty(), verbose=args.verbose)
    try:
        summary = trio.run(functools.partial(run, args.duration, seed, console,
                                             collect=args.out is not None))
    except KeyboardInterrupt:
        console.end_status()
        console.say("interrupted")
        return 130
    console.say(render_summary(summary))
    if args.out is not None:
        try:
            written = write_jsonl(args.out, summary.fills, summary.book)
        except OSError as exc:
            print(f"okx-trio demo: --out: {exc}", file=sys.stderr)
            return 1
        console.say(f"out={written}")
    return 0
