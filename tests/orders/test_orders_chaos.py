"""Chaos: a trading session where about one request in ten meets a fault.

Every ``OkxConnectionLost`` / ``OkxRequestTimeout`` (and ``OkxNotSent``) is
resolved at once, and each resolved item is checked against the simulator's
books: a place "acted" exactly when the exchange holds the order, an amend
exactly when the exchange applied it (its ``reqId`` is among the order's
successful amends), a cancel exactly when the order is canceled, and every
returned order state equals the exchange's. At the end the tracker equals the
books. CI size: 200 requests, about 20 faults, on virtual time in memory.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import trio
import trio.testing
from support.orders import BTC, CREDS, SPREAD, ask, bid, describe, market, mid, same, trading

from okx_trio import (
    OkxApiError,
    OkxConnectionLost,
    OkxNotSent,
    OkxRequestError,
    OkxRequestTimeout,
    Resolution,
    WsApiClient,
)
from okx_trio.testing import Simulator

TICK = Decimal("0.1")
FAULTS = ("drop_before", "drop_after", "swallow_before", "swallow_after", "drop_connection")


def check(sim: Simulator, res: Resolution, op: str) -> list[str]:
    """Mismatches between the resolution and the exchange's books."""
    problems = []
    for item in res.items:
        req = item.request
        if item.outcome == "unknown":
            problems.append(f"{op}: unknown outcome for {req}")
            continue
        acted = item.outcome == "acted"
        if op in ("order", "batch-orders", "sprd-order"):
            order = sim.orders.find(cl_ord_id=req["clOrdId"])
            if (order is not None) != acted:
                problems.append(f"{op} {req['clOrdId']}: {item.outcome} but exchange has {order}")
        else:
            order = sim.orders.find(ord_id=req.get("ordId"), cl_ord_id=req.get("clOrdId"))
            if order is None:
                if acted:
                    problems.append(f"{op}: acted on an order the exchange lacks: {req}")
                continue
            if op in ("amend-order", "batch-amend-orders", "sprd-amend-order"):
                truth = req["reqId"] in order.req_ids
            else:
                truth = order.state == "canceled"
            if truth != acted:
                problems.append(f"{op} {req}: {item.outcome}, exchange {describe(None, order)}")
        if order is not None and item.order is not None and not same(item.order, order):
            problems.append(f"{op}: state differs: {describe(item.order, order)}")
    return problems


class Chaos:
    def __init__(self, sim: Simulator, api: WsApiClient, rng: random.Random) -> None:
        self.sim, self.api, self.rng = sim, api, rng
        self.seq = 0
        self.stats: Counter[str] = Counter()
        self.problems: list[str] = []

    def rid(self) -> str:
        self.seq += 1
        return f"q{self.seq}"

    def open_orders(self, spread: bool) -> list[Any]:
        return [o for o in self.sim.orders.open() if (o.sprd_id is not None) == spread]

    def pick(self) -> tuple[str, Callable[[], Awaitable[Any]]] | None:
        """The next request: ``(op, call)``."""
        api, rng, sim = self.api, self.rng, self.sim
        m = mid(sim)
        roll = rng.random()

        def price(spread: int = 30) -> Decimal:
            return m + TICK * rng.randint(-spread, spread)

        def size(top: int = 100) -> str:
            return str(Decimal(rng.randint(1, top)) / 100)

        if roll < 0.22:
            make = bid if rng.random() < 0.5 else ask
            order = make(price(), size())
            return "order", lambda: api.submit_new_order(order, timeout=2)
        if roll < 0.32:
            orders = [(bid if rng.random() < 0.5 else ask)(price(), size(60))
                      for _ in range(rng.randint(2, 4))]
            return "batch-orders", lambda: api.submit_multiple_orders(orders, timeout=2)
        if roll < 0.4:
            s_mid = mid(sim, SPREAD)
            sprd = {"sprdId": SPREAD, "side": rng.choice(("buy", "sell")), "ordType": "limit",
                    "px": str(s_mid + TICK * rng.randint(-5, 5)), "sz": size(200)}
            return "sprd-order", lambda: api.submit_spread_order(sprd, timeout=2)
        regular = self.open_orders(spread=False)
        spreads = self.open_orders(spread=True)
        if roll < 0.58 and regular:
            o = rng.choice(regular)
            change = self.amend_of(o)
            return "amend-order", lambda: api.amend_order(change, timeout=2)
        if roll < 0.64 and len(regular) >= 2:
            chosen = rng.sample(regular, 2)
            changes = [self.amend_of(o) for o in chosen]
            return "batch-amend-orders", lambda: api.amend_multiple_orders(changes, timeout=2)
        if roll < 0.68 and spreads:
            o = rng.choice(spreads)
            sz = o.sz + Decimal(rng.randint(1, 20)) / 100
            amend = {"ordId": o.ord_id, "newSz": str(sz), "reqId": self.rid()}
            return "sprd-amend-order", lambda: api.amend_spread_order(amend, timeout=2)
        if roll < 0.8 and regular:
            o = rng.choice(regular)
            ref = {"ordId": o.ord_id} if rng.random() < 0.5 else {"clOrdId": o.cl_ord_id}
            cancel = {"instIdCode": BTC, **ref}
            return "cancel-order", lambda: api.cancel_order(cancel, timeout=2)
        if roll < 0.86 and len(regular) >= 2:
            cancels = [{"instIdCode": BTC, "ordId": o.ord_id} for o in rng.sample(regular, 2)]
            return "batch-cancel-orders", lambda: api.cancel_multiple_orders(cancels, timeout=2)
        if roll < 0.9 and spreads:
            o = rng.choice(spreads)
            return "sprd-cancel-order", lambda: api.cancel_spread_order({"ordId": o.ord_id},
                                                                         timeout=2)
        return None

    def amend_of(self, o: Any) -> dict[str, Any]:
        change: dict[str, Any] = {"instIdCode": BTC, "ordId": o.ord_id, "reqId": self.rid()}
        if self.rng.random() < 0.5:
            new_px = o.px + TICK * self.rng.choice((-3, -2, -1, 1, 2, 3))
            change["newPx"] = str(new_px)
        else:
            change["newSz"] = str(o.sz + Decimal(self.rng.choice((-2, -1, 1, 2, 5))) / 100)
        return change

    def arm(self, op: str) -> str | None:
        if self.rng.random() >= 0.1:
            return None
        fault = self.rng.choice(FAULTS)
        when = fault.split("_")[1]
        if fault.startswith("drop_on") or fault in ("drop_before", "drop_after"):
            self.sim.faults.drop_on(op, when=when, mode=self.rng.choice(("close", "reset")))
        elif fault.startswith("swallow"):
            self.sim.faults.swallow(op, when=when)
        else:
            self.sim.faults.drop(None, mode="reset")
        return fault

    async def step(self) -> bool:
        picked = self.pick()
        if picked is None:
            market(self.sim, self.rng.randint(1, 2))
            return False
        op, call = picked
        fault = self.arm(op)
        self.stats["requests"] += 1
        if fault:
            self.stats[f"fault {fault}"] += 1
        try:
            await call()
        except (OkxConnectionLost, OkxRequestTimeout, OkxNotSent) as exc:
            self.stats[type(exc).__name__] += 1
            await self.resolve(op, exc)
        except (OkxApiError, ValueError):
            self.stats["refused"] += 1
        self.sim.faults.clear()
        if self.rng.random() < 0.3:
            market(self.sim, 1)
        return True

    async def resolve(self, op: str, exc: OkxRequestError) -> None:
        # Let pushes already sent reach the tracker, so the states compared
        # with the books are current (the exchange does nothing meanwhile).
        await trio.sleep(0.05)
        res = await self.api.resolve(exc)
        self.stats[f"resolved {res.outcome}"] += 1
        self.problems += check(self.sim, res, op)


async def test_chaos_every_unknown_outcome_matches_the_books(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rng = random.Random(20260807)
    with trio.fail_after(3600):  # virtual seconds
        async with trading(track_orders=True) as (sim, api, rest):
            chaos = Chaos(sim, api, rng)
            while chaos.stats["requests"] < 200:
                await chaos.step()
            assert not chaos.problems, "\n".join(chaos.problems)
            stats = chaos.stats
            faults = sum(v for k, v in stats.items() if k.startswith("fault"))
            unknown = stats["OkxConnectionLost"] + stats["OkxRequestTimeout"]
            assert faults >= 12, stats
            assert unknown >= 10, stats
            assert stats["resolved acted"] > 0, stats
            assert stats["resolved not_found"] > 0, stats
            assert stats["resolved unknown"] == 0, stats

            # In the end the tracker holds exactly the exchange's books.
            tracker = api.orders
            assert tracker is not None
            with trio.fail_after(60):
                while any(o.stale for o in tracker):
                    await trio.sleep(0.1)
            await trio.sleep(1)
            ours = [o for o in sim.engine.order_list() if o.api_key == CREDS.api_key]
            wrong = [describe(tracker.get(ord_id=o.ord_id), o) for o in ours
                     if not same(tracker.get(ord_id=o.ord_id), o)]
            assert not wrong, "\n".join(wrong)
            assert len(tracker) == len(ours) > 100
            assert tracker.refreshes > 0
            assert rest.calls
