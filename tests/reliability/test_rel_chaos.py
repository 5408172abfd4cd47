"""Chaos run: many concurrent trade requests while the exchange drops connections.

The main run is on virtual time (``MockClock``) over the simulator's in-memory
links, so every deadline is checked exactly; a smaller run over loopback
sockets (real TCP resets, both WebSocket transports in the full run) checks
deadlines to within 1 s. Client-side and simulator rate limits are off (the
output says so): this measures outcomes under faults, not pacing.

Faults injected at random (seeded) moments: clean closes and abrupt resets of
the private connection, response delays (so requests are in flight when a drop
hits), swallowed requests (before or after the exchange acts: timeouts), and
short refusal windows (queued requests whose deadline passes: ``OkxNotSent``).
"""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal
from typing import Any

import attrs
import orjson
import pytest
import trio
import trio.testing
from support.reliability import RecordingConnector, sizes

from okx_trio import (
    OkxApiError,
    OkxConnectionLost,
    OkxNotSent,
    OkxRequestError,
    OkxRequestTimeout,
    Resolution,
    WsApiClient,
    open_ws_api_client,
)
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, open_simulator

BTC = 100001
OUTCOMES = (OkxApiError, OkxNotSent, OkxConnectionLost, OkxRequestTimeout)
PLACE_OPS = frozenset({"order", "batch-orders"})
TRADE_OPS = frozenset(
    {"order", "batch-orders", "cancel-order", "batch-cancel-orders", "amend-order",
     "batch-amend-orders", "mass-cancel", "sprd-order", "sprd-amend-order",
     "sprd-cancel-order", "sprd-mass-cancel"}
)


@attrs.frozen
class ChaosSize:
    requests: int
    drops: int
    tasks: int
    swallows: int
    refusals: int


CI = ChaosSize(requests=1000, drops=100, tasks=10, swallows=10, refusals=5)
FULL = ChaosSize(requests=10_000, drops=1000, tasks=50, swallows=100, refusals=50)
SOCKETS_CI = ChaosSize(requests=300, drops=30, tasks=10, swallows=1, refusals=1)
SOCKETS_FULL = ChaosSize(requests=3000, drops=300, tasks=50, swallows=10, refusals=10)


@attrs.frozen
class Timing:
    """Seconds: request deadline, mean time between drops, mean pause between requests."""

    timeout: float
    gap: float
    request_gap: float
    tolerance: float
    """How late a request may end after its deadline (0 on virtual time)."""


VIRTUAL = Timing(timeout=2.0, gap=0.4, request_gap=0.02, tolerance=1e-9)
WALL = Timing(timeout=1.0, gap=0.05, request_gap=0.005, tolerance=1.0)


@attrs.define
class Outcome:
    """How one request ended."""

    op: str
    start: float
    end: float
    result: Any
    cl_ord_ids: list[str]


def place(rng: random.Random) -> dict[str, Any]:
    # Far below the market (60 000): the order rests, so its state is stable.
    px = f"{rng.randrange(200_000, 300_000) / 10:.1f}"
    return {"instIdCode": BTC, "tdMode": "cash", "side": "buy", "ordType": "limit",
            "px": px, "sz": f"0.000{rng.randrange(1, 10)}"}


class Chaos:
    def __init__(self, api: WsApiClient, rng: random.Random, size: ChaosSize) -> None:
        self.api = api
        self.rng = rng
        self.size = size
        self.outcomes: list[Outcome] = []
        self.known: list[str] = []  # clOrdIds of acked orders
        self.total = size.requests // size.tasks * size.tasks
        self.issued = 0
        self.amends = 0
        self.refusals = True
        self.drops_done = 0
        self.dropped = trio.Event()

    def note_drop(self) -> None:
        self.drops_done += 1
        self.dropped.set()
        self.dropped = trio.Event()

    async def one(self, gap: float) -> None:
        rng = self.rng
        # Keep the requests spread over the whole run of drops: at most
        # total/drops requests start between two drops.
        while self.issued >= (self.drops_done + 1) * self.total / self.size.drops:
            await self.dropped.wait()
        self.issued += 1
        await trio.sleep(rng.uniform(0, 2 * gap))
        roll = rng.random()
        api = self.api
        cl_ord_ids: list[str] = []
        start = trio.current_time()
        result: Any
        op: str
        try:
            if roll < 0.55 or not self.known:
                op = "order"
                ack = await api.submit_new_order(place(rng))
                result = ack
                cl_ord_ids = [ack.cl_ord_id or ""]
                self.known.append(ack.cl_ord_id or "")
            elif roll < 0.7:
                op = "batch-orders"
                acks = await api.submit_multiple_orders(
                    [place(rng) for _ in range(rng.randrange(2, 6))])
                result = acks
                cl_ord_ids = [a.cl_ord_id or "" for a in acks]
                self.known.extend(cl_ord_ids)
            elif roll < 0.85:
                op = "cancel-order"
                cl = rng.choice(self.known)
                cl_ord_ids = [cl]
                result = await api.cancel_order({"instIdCode": BTC, "clOrdId": cl})
            else:
                op = "amend-order"
                cl = rng.choice(self.known)
                cl_ord_ids = [cl]
                px = f"{rng.randrange(200_000, 300_000) / 10:.1f}"
                self.amends += 1
                result = await api.amend_order({"instIdCode": BTC, "clOrdId": cl, "newPx": px,
                                                "reqId": f"amend{self.amends}"})
        except OUTCOMES as exc:
            result = exc
        self.outcomes.append(Outcome(op, start, trio.current_time(), result, cl_ord_ids))

    async def worker(self, count: int, gap: float) -> None:
        for _ in range(count):
            await self.one(gap)


async def wait_private_up(sim: Any, api: WsApiClient) -> None:
    # Logged in on the exchange and in use by the client. (A drop between the
    # login ack and the client's switch to the connection is the separate
    # test_connection_closed_right_after_the_login_ack_is_just_a_lost_connection.)
    while not (any(c.path == "private" and c.api_key for c in sim.connections)
               and "private" in api.ws_client.statistics().connected):
        await trio.sleep(0.01)


async def faults(sim: Any, chaos: Chaos, timing: Timing, workers_done: trio.Event,
                 tally: Counter[str]) -> None:
    """Drop the private connection ``size.drops`` times at random moments."""
    rng, size, gap = chaos.rng, chaos.size, timing.gap
    swallow_every = max(1, size.drops // max(1, size.swallows))
    refuse_every = max(1, size.drops // max(1, size.refusals))
    done = 0
    while done < size.drops and not workers_done.is_set():
        await trio.sleep(rng.uniform(0, 2 * gap))
        await wait_private_up(sim, chaos.api)
        mode = rng.choice(("close", "reset"))
        if sim.faults.drop("private", mode=mode):
            done += 1
            tally[mode] += 1
            chaos.note_drop()
            if done % swallow_every == 0:
                op = rng.choice(("order", "cancel-order", "amend-order"))
                when = rng.choice(("before", "after"))
                sim.faults.swallow(op, when=when, count=1)
                tally[f"swallow-{when}"] += 1
                # No drop for a while, so the swallowed request can time out.
                await trio.sleep(timing.timeout + 0.5)
            if done % refuse_every == 0 and chaos.refusals:
                sim.faults.refuse_connections(seconds=timing.timeout + 1)
                tally["refusal"] += 1


def count_rest_requests(sim: Any) -> list[int]:
    """Count the REST requests the simulator serves (in memory or over HTTP)."""
    calls = [0]
    handle = sim._rest.handle

    def counting(*args: Any) -> Any:
        calls[0] += 1
        return handle(*args)

    sim._rest.handle = counting
    return calls


def sent_trade_frames(sim: Any) -> list[dict[str, Any]]:
    return [f for f in sim.frames.ops() if f.get("op") in TRADE_OPS]


@pytest.mark.parametrize("track", [False, True], ids=["rest", "tracker"])
@sizes(CI, FULL)
async def test_chaos_on_virtual_time(
    size: ChaosSize, track: bool, autojump_clock: trio.testing.MockClock
) -> None:
    await chaos_run(size, VIRTUAL, "memory", track)


@sizes((SOCKETS_CI, ["websockets"]), (SOCKETS_FULL, ["websockets", "trio-websocket"]),
       name="scenario")
async def test_chaos_over_loopback_sockets(scenario: tuple[ChaosSize, list[str]]) -> None:
    size, transports = scenario
    for transport in transports:
        await chaos_run(size, WALL, transport, track=False)


async def chaos_run(size: ChaosSize, timing: Timing, link: str, track: bool) -> None:
    """Run the chaos scenario and check every promise (see the module docstring)."""
    seed = 20260807
    rng = random.Random(seed)
    tally: Counter[str] = Counter()
    # A drop comes every 0-2*gap s (and after the reconnect); the requests
    # follow the drops (Chaos.one), each task pausing 0-2*request_gap between two.
    per_task = size.requests // size.tasks
    memory = link == "memory"
    started = trio.current_time()
    with trio.fail_after(size.drops * 10 + 600):
        async with open_simulator(accounts=[CREDS], rate_limit=False, market_interval=None,
                                  idle_timeout=None, seed=seed) as sim:
            # On virtual time the exchange keeps the wall clock, like the client's
            # expTime and login timestamps: both stand still, so they agree.
            # Responses come late, so a drop often hits requests in flight.
            for op in ("order", "batch-orders", "cancel-order", "amend-order"):
                sim.faults.delay(op, timing.request_gap)
            connector = RecordingConnector(sim.connect_memory()) if memory else None
            rest_calls = count_rest_requests(sim)
            async with open_ws_api_client(
                credentials=CREDS, base_url=sim.base_url,
                transport=connector if connector is not None else link,
                rate_limit=False, request_timeout=timing.timeout, random=random.Random(seed),
                log_lifecycle=False, track_orders=track,
                # Real sockets: reconnect as fast as the drops come.
                max_connects_per_second=3 if memory else 1000,
            ) as api:
                await api.connect_ws_api()
                chaos = Chaos(api, rng, size)
                chaos.refusals = True
                workers_done = trio.Event()
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(faults, sim, chaos, timing, workers_done, tally)
                    async with trio.open_nursery() as workers:
                        for _ in range(size.tasks):
                            workers.start_soon(chaos.worker, per_task, timing.request_gap)
                    workers_done.set()
                stats = api.ws_client.statistics()
                assert stats.pending == 0
                # Resolve every unknown outcome (signed REST).
                resolutions: list[tuple[Outcome, Resolution]] = []
                for o in chaos.outcomes:
                    if isinstance(o.result, (OkxConnectionLost, OkxRequestTimeout)):
                        resolutions.append((o, await api.resolve(o.result)))
                stats = api.ws_client.statistics()
                assert stats.pending == 0
                if track:
                    # The tracker's view of every order is the exchange's, once its
                    # refresh after the last reconnect is done.
                    tracker = api.orders
                    assert tracker is not None
                    while any(t.stale for t in tracker):
                        await trio.sleep(0.1)
                    for order in sim.engine.order_list():
                        tracked = tracker.get(cl_ord_id=order.cl_ord_id)
                        assert tracked is not None, order
                        assert (tracked.ord_id, tracked.state, tracked.px, tracked.sz) == (
                            order.ord_id, order.state, order.px, order.sz)
                    assert len(tracker) == len(sim.engine.order_list())
            frames = sent_trade_frames(sim)
            orders = {o.cl_ord_id: o for o in sim.engine.order_list()}

    outcomes = chaos.outcomes
    kinds = Counter(type(o.result).__name__ if isinstance(o.result, BaseException) else "ack"
                    for o in outcomes)
    clock = "virtual" if memory else "wall-clock"
    print(f"\nchaos[{link}{', tracker' if track else ''}] {size}: client rate_limit=False, "
          f"simulator rate_limit=False; faults {dict(tally)}; outcomes {dict(kinds)}; "
          f"{clock} time {trio.current_time() - started:.0f} s; REST requests {rest_calls[0]}")

    # Every request ended exactly once, within its deadline, in one of the classes.
    assert len(outcomes) == per_task * size.tasks
    assert tally["close"] + tally["reset"] == size.drops
    assert tally["close"] > 0
    assert tally["reset"] > 0
    for o in outcomes:
        assert o.end - o.start <= timing.timeout + timing.tolerance, o
        assert not isinstance(o.result, BaseException) or isinstance(o.result, OUTCOMES)

    # Nothing was re-sent: each request id and each clOrdId hit the exchange at most once.
    ids = Counter(f["id"] for f in frames)
    assert max(ids.values()) == 1
    placed = Counter(a["clOrdId"] for f in frames if f["op"] in PLACE_OPS for a in f["args"])
    assert max(placed.values()) == 1
    if connector is not None:
        # ... and was written by the client at most once (its own side of the wire).
        written = Counter(
            obj["id"] for ev in connector.frames if ev.direction == "sent" and ev.data != b"ping"
            for obj in [orjson.loads(ev.data)] if obj.get("op") in TRADE_OPS
        )
        assert max(written.values()) == 1
        # No response was delivered twice.
        answered = Counter(
            obj["id"] for ev in connector.frames if ev.direction == "received"
            and ev.data not in (b"pong", b"ping")
            for obj in [orjson.loads(ev.data)] if isinstance(obj, dict) and "op" in obj
        )
        assert not answered or max(answered.values()) == 1

    # OkxNotSent means it never reached the exchange; an ack means the order exists.
    sent_ids = set(ids)
    for o in outcomes:
        if isinstance(o.result, OkxNotSent):
            assert o.result.id is None or o.result.id not in sent_ids
            if o.op in PLACE_OPS:
                for cl in o.cl_ord_ids or [o.result.cl_ord_id]:
                    assert cl not in orders
        elif o.op in PLACE_OPS and not isinstance(o.result, BaseException):
            for cl in o.cl_ord_ids:
                assert cl in orders
    unknown = [o for o in outcomes if isinstance(o.result, (OkxConnectionLost, OkxRequestTimeout))]
    assert unknown, "the faults must leave some outcomes unknown"
    for o in unknown:
        exc = o.result
        assert isinstance(exc, OkxRequestError)
        assert exc.id is not None
        if o.op in PLACE_OPS:
            assert exc.cl_ord_id is not None

    # Every unknown outcome resolved to the exchange's truth, and the states
    # the resolutions report are the exchange's own.
    verdicts: Counter[str] = Counter()
    for o, res in resolutions:
        assert res.outcome in ("acted", "not_found", "mixed"), (o, res)
        for item in res.items:
            cl = item.request.get("clOrdId")
            order = orders.get(cl)
            if o.op in PLACE_OPS:
                expected = "acted" if order is not None else "not_found"
            elif o.op == "cancel-order":
                expected = "acted" if order is not None and order.state == "canceled" else (
                    "not_found")
            else:
                # "acted" only if the exchange applied this amend (its reqId); "not_found"
                # if it did not, or if a later amend replaced its price (REST shows
                # only the current price, so the two cannot be told apart).
                applied = order is not None and item.request["reqId"] in order.req_ids
                current = order is not None and order.px == Decimal(item.request["newPx"])
                expected = "acted" if applied and (current or item.outcome == "acted") else (
                    "not_found")
                if applied and not current and item.outcome == "not_found":
                    verdicts["amend-order superseded"] += 1
            assert item.outcome == expected, (o, item, order)
            verdicts[f"{o.op} {item.outcome}"] += 1
            if item.order is not None:
                assert order is not None
                assert item.order.ord_id == order.ord_id
                assert item.order.state == order.state
                assert item.order.px == order.px
                assert item.order.sz == order.sz
    # No orphan: the client knows of every order the exchange has, and of no other.
    known: set[str] = set()
    for o in outcomes:
        if o.op in PLACE_OPS and not isinstance(o.result, BaseException):
            known.update(o.cl_ord_ids)
    for o, res in resolutions:
        if o.op in PLACE_OPS:
            known.update(i.request["clOrdId"] for i in res.items if i.outcome == "acted")
    assert known == set(orders)
    print(f"resolutions: {dict(verdicts)}; orders on the exchange {len(orders)}, "
          f"all known to the client")
