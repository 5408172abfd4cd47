"""A property test over interleavings of the client's lifecycle (issue 13).

A Hypothesis ``RuleBasedStateMachine`` drives a client against the in-memory
simulator, on virtual time, mixing requests (each with its own timeout, some
cancelled by their caller), late and swallowed answers, clean drops and
resets, 64008 notices, refused logins and refused connections, and numbered
pushes to two subscribers. After every step, once every task is blocked, it
checks:

* each request ends exactly once, in an allowed outcome, never after its
  deadline (timeout, or its caller's cancellation), and never later than 1 s
  after the connection it was written on ended;
* an ``OkxNotSent`` request never reached the exchange, and nothing is sent
  twice (the simulator's frame log: each request id and clOrdId at most once);
* each subscriber sees every push, or a ``Gap`` in its place;
* nothing is left behind: every request slot belongs to a live request, every
  request a connection holds is unanswered, every connection the session
  holds is open; and, once the client is closed, no task of it is left.

Trio runs in a thread of its own (``TrioDriver``): each rule hands it one step
and waits until every task is blocked again, so the checks see a quiescent
client; virtual time moves only when a rule moves it, stopping at every
deadline on the way (so "by its deadline" is checked exactly).

Sizes: ``make test`` runs :data:`CI` (well under a minute), ``make
reliability`` :data:`FULL`.
"""

from __future__ import annotations

import math
import queue
import random
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import orjson
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from support.reliability import RecordingConnector

import okx_trio
from okx_trio import (
    Gap,
    OkxApiError,
    OkxConnectionLost,
    OkxNotSent,
    OkxRequestTimeout,
    Push,
)
from okx_trio.testing import DEFAULT_CREDENTIALS, Simulator, open_simulator

T = TypeVar("T")

ORDER = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "px": "30000", "sz": "0.001"}
FEEDS = {
    "public": {"channel": "tickers", "instId": "BTC-USDT"},
    "private": {"channel": "account"},
}
ALLOWED = {"ok", "api-error", "not-sent", "connection-lost", "timeout", "cancelled"}

CI = settings(max_examples=150, stateful_step_count=50, deadline=None,
              suppress_health_check=list(HealthCheck))
FULL = settings(max_examples=1000, stateful_step_count=100, deadline=None,
                suppress_health_check=list(HealthCheck))


class TrioDriver:
    """One trio run (virtual time, nothing jumps by itself) in a thread of its own,
    driven one step at a time from the test's thread."""

    def __init__(self) -> None:
        self.clock = trio.testing.MockClock()  # rate 0, no autojump: time stands still
        self._ready: queue.Queue[BaseException | None] = queue.Queue()
        self._stop: trio.Event | None = None
        self.nursery: trio.Nursery | None = None
        self.token: trio.lowlevel.TrioToken | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        started = self._ready.get()
        if started is not None:
            raise started

    def _run(self) -> None:
        try:
            trio.run(self._main, clock=self.clock)
        except BaseException as exc:  # reported by stop() or the next step
            self.error = exc
            self._ready.put(exc)

    async def _main(self) -> None:
        self._stop = trio.Event()
        self.token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            self._ready.put(None)
            await self._stop.wait()
            nursery.cancel_scope.cancel()

    def step(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` in the trio thread, then wait until every task is blocked."""
        if self.error is not None:
            raise self.error

        async def one() -> T:
            result = await fn()
            await trio.testing.wait_all_tasks_blocked()
            return result

        return trio.from_thread.run(one, trio_token=self.token)

    def advance(self, seconds: float) -> None:
        """Move virtual time forward, stopping at every deadline on the way."""
        _count("rule advance")
        async def go() -> None:
            target = trio.current_time() + seconds
            while True:
                await trio.testing.wait_all_tasks_blocked()
                now = trio.current_time()
                if now >= target:
                    return
                ahead = trio.lowlevel.current_statistics().seconds_to_next_deadline
                self.clock.jump(max(min(ahead, target - now), 0.0))

        self.step(go)

    def stop(self) -> None:
        if self.token is not None and self._thread.is_alive():
            async def set_stop() -> None:
                assert self._stop is not None
                self._stop.set()

            try:
                trio.from_thread.run(set_stop, trio_token=self.token)
            except trio.RunFinishedError:
                pass
        self._thread.join(timeout=60)
        if self.error is not None:
            raise self.error


@attrs.define
class Req:
    """One request the machine made, and what became of it."""

    n: int
    cl_ord_id: str
    start: float
    deadline: float
    id: str | None = None
    scope: trio.CancelScope | None = None
    cancelled_at: float | None = None
    outcome: str | None = None
    error: BaseException | None = None
    end: float | None = None
    ends: int = 0


class Feed:
    """A subscriber's view: the numbered pushes and Gaps it received, in order."""

    def __init__(self) -> None:
        self.items: list[int | str] = []

    def take(self, item: Push | Gap) -> None:
        if isinstance(item, Gap):
            self.items.append("gap")
        elif item.data and isinstance(item.data[0], dict) and "n" in item.data[0]:
            self.items.append(int(item.data[0]["n"]))


class LifecycleMachine(RuleBasedStateMachine):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.driver = TrioDriver()
        self.sim: Simulator | None = None
        self.client: okx_trio.WsClient | None = None
        self.connector: RecordingConnector | None = None
        self.reqs: list[Req] = []
        self.feeds: dict[str, Feed] = {}
        self.next_mark = 1
        self.marks_sent: dict[str, list[int]] = {"public": [], "private": []}
        self.baseline_tasks = 0
        self._client_scope: trio.CancelScope | None = None
        self._client_done = trio.Event()

    # -- setting up and tearing down

    @initialize(seed=st.integers(0, 2**16))
    def open_client(self, seed: int) -> None:
        client_ready: list[Any] = []

        async def run_client(task_status: trio.TaskStatus[None]) -> None:
            async with open_simulator(market_interval=None, rate_limit=False,
                                      idle_timeout=None, seed=seed) as sim:
                self.sim = sim
                self.baseline_tasks = trio.lowlevel.current_statistics().tasks_living
                self.connector = RecordingConnector(sim.connect_memory())
                with trio.CancelScope() as scope:
                    self._client_scope = scope
                    async with okx_trio.open_ws_client(
                        base_url=sim.base_url, credentials=DEFAULT_CREDENTIALS,
                        transport=self.connector, rate_limit=False, log_lifecycle=False,
                        request_timeout=5.0, reconnect_max=2.0, relogin_timeout=10**6,
                        random=random.Random(seed),
                    ) as client:
                        self.client = client
                        async with client.subscribe(FEEDS["public"]) as pub, \
                                client.subscribe(FEEDS["private"]) as priv, \
                                trio.open_nursery() as feeds:
                            for path, sub in (("public", pub), ("private", priv)):
                                self.feeds[path] = Feed()
                                feeds.start_soon(self._consume, sub, self.feeds[path])
                            client_ready.append(True)
                            task_status.started()
                            await trio.sleep_forever()
                self._client_done.set()
                await trio.sleep_forever()

        async def start() -> None:
            assert self.driver.nursery is not None
            await self.driver.nursery.start(run_client)

        self.driver.step(start)
        assert client_ready

    @staticmethod
    async def _consume(sub: Any, feed: Feed) -> None:
        async for item in sub:
            feed.take(item)

    def teardown(self) -> None:
        try:
            if self.client is not None and self.driver.error is None:
                self._settle()
                self._check_requests(final=True)
                self._check_feeds(final=True)
                self._check_slots()
                _count("examples")
                for req in self.reqs:
                    _count(f"outcome {req.outcome}")
                for feed in self.feeds.values():
                    _count("gaps", feed.items.count("gap"))
                    _count("pushes seen", sum(1 for i in feed.items if i != "gap"))

                async def close() -> None:
                    assert self._client_scope is not None
                    self._client_scope.cancel()
                    await self._client_done.wait()
                    await trio.testing.wait_all_tasks_blocked()
                    living = trio.lowlevel.current_statistics().tasks_living
                    assert living == self.baseline_tasks, "a task of the client outlived it"

                self.driver.step(close)
        finally:
            self.driver.stop()

    def _settle(self) -> None:
        """Faults off, time enough for every request to end and the feeds to recover;
        then one more numbered push per feed, which each subscriber must see."""
        def clear() -> Awaitable[None]:
            async def go() -> None:
                assert self.sim is not None
                self.sim.faults.clear()
            return go()

        self.driver.step(clear)
        self.driver.advance(30.0)

        async def give_up() -> None:
            # A request without a deadline whose answer was swallowed waits for
            # ever, as it should: its caller gives up on it now.
            for req in self.reqs:
                if req.outcome is None and req.scope is not None:
                    assert req.deadline == math.inf, f"{req} outlived its deadline"
                    req.cancelled_at = trio.current_time()
                    req.scope.cancel()

        self.driver.step(give_up)
        for path in ("public", "private"):
            self.push(path, 1)
        self.driver.advance(1.0)

    # -- rules: requests

    @rule(timeout=st.sampled_from([0.3, 1.0, 3.0, None, math.inf]),
          cancel_after=st.sampled_from([None, None, 0.05, 0.5, 2.0]))
    def request(self, timeout: float | None, cancel_after: float | None) -> None:
        _count("rule request")
        n = len(self.reqs) + 1
        cl = f"m{n}x{len(self.reqs)}"

        async def go() -> None:
            now = trio.current_time()
            t = 5.0 if timeout is None else timeout
            req = Req(n, cl, now, now + t)
            self.reqs.append(req)
            assert self.driver.nursery is not None
            self.driver.nursery.start_soon(self._run_request, req, timeout)
            if cancel_after is not None:
                self.driver.nursery.start_soon(self._cancel_later, req, cancel_after)

        self.driver.step(go)

    @rule(count=st.integers(2, 8), timeout=st.sampled_from([0.5, 2.0, None, math.inf]))
    def burst(self, count: int, timeout: float | None) -> None:
        """Several requests at once (they go out in one write)."""
        _count("rule burst")
        for _ in range(count):
            self.request(timeout, None)

    async def _run_request(self, req: Req, timeout: float | None) -> None:
        assert self.client is not None
        outcome = "cancelled"
        with trio.CancelScope() as scope:
            req.scope = scope
            try:
                await self.client.request("order", [dict(ORDER, clOrdId=req.cl_ord_id)],
                                          timeout=timeout)
                outcome = "ok"
            except OkxNotSent as exc:
                outcome, req.error = "not-sent", exc
            except OkxConnectionLost as exc:
                outcome, req.error = "connection-lost", exc
            except OkxRequestTimeout as exc:
                outcome, req.error = "timeout", exc
            except OkxApiError as exc:
                outcome, req.error = "api-error", exc
            except Exception as exc:
                outcome, req.error = f"unexpected {type(exc).__name__}", exc
        req.outcome = outcome
        req.end = trio.current_time()
        req.ends += 1

    @staticmethod
    async def _cancel_later(req: Req, after: float) -> None:
        await trio.sleep(after)
        if req.outcome is None and req.scope is not None:
            req.cancelled_at = trio.current_time()
            req.scope.cancel()

    @rule(which=st.integers(0, 1000))
    def cancel_one(self, which: int) -> None:
        """A caller gives up on one of the requests still waiting."""
        _count("rule cancel_one")
        waiting = [r for r in self.reqs if r.outcome is None and r.scope is not None]
        if not waiting:
            return
        req = waiting[which % len(waiting)]

        async def go() -> None:
            if req.outcome is None:
                req.cancelled_at = trio.current_time()
                assert req.scope is not None
                req.scope.cancel()

        self.driver.step(go)

    # -- rules: time and faults

    @rule(seconds=st.sampled_from([0.01, 0.1, 0.3, 1.0, 2.5, 6.0]))
    def advance(self, seconds: float) -> None:
        self.driver.advance(seconds)

    def _fault(self, act: Callable[[Simulator], object]) -> None:
        async def go() -> None:
            assert self.sim is not None
            act(self.sim)

        self.driver.step(go)

    @rule(path=st.sampled_from(["public", "private"]), mode=st.sampled_from(["close", "reset"]))
    def drop(self, path: str, mode: str) -> None:
        _count("rule drop")
        self._fault(lambda sim: sim.faults.drop(path, mode=mode))

    @rule(path=st.sampled_from(["public", "private"]),
          close_after=st.sampled_from([None, 0.0, 0.2, 3.0]))
    def notice(self, path: str, close_after: float | None) -> None:
        _count("rule notice")
        self._fault(lambda sim: sim.faults.notice(path, close_after=close_after))

    @rule(count=st.integers(1, 3))
    def refuse_logins(self, count: int) -> None:
        _count("rule refuse_logins")
        self._fault(lambda sim: sim.faults.reject_logins("60009", count=count))

    @rule(seconds=st.sampled_from([0.5, 4.0]))
    def refuse_connections(self, seconds: float) -> None:
        _count("rule refuse_connections")
        self._fault(lambda sim: sim.faults.refuse_connections(seconds=seconds))

    @rule(seconds=st.sampled_from([0.0, 0.2, 1.5, 8.0]))
    def answer_late(self, seconds: float) -> None:
        _count("rule answer_late")
        self._fault(lambda sim: sim.faults.delay("order", seconds))

    @rule(when=st.sampled_from(["before", "after"]))
    def swallow(self, when: str) -> None:
        _count("rule swallow")
        self._fault(lambda sim: sim.faults.swallow("order", when=when, count=1))

    @rule(path=st.sampled_from(["public", "private"]), count=st.integers(1, 5))
    def push(self, path: str, count: int) -> None:
        _count("rule push")
        marks = list(range(self.next_mark, self.next_mark + count))
        self.next_mark += count
        self.marks_sent[path].extend(marks)
        arg = FEEDS[path]

        def send(sim: Simulator) -> None:
            for conn in sim.connections:
                if conn.path == path:
                    for k in marks:
                        conn.send_bytes(orjson.dumps({"arg": arg, "data": [{"n": str(k)}]}))

        self._fault(send)

    # -- the checks

    @invariant()
    @precondition(lambda self: self.client is not None)
    def requests_end_once_in_time(self) -> None:
        _count("steps")
        self._check_requests(final=False)

    @invariant()
    @precondition(lambda self: self.client is not None)
    def nothing_sent_twice(self) -> None:
        assert self.sim is not None
        ids: set[str] = set()
        cls: set[str] = set()
        for r in self.sim.frames:
            obj = r.obj
            if not isinstance(obj, dict) or obj.get("op") != "order":
                continue
            rid = obj.get("id")
            assert rid not in ids, f"request {rid} sent twice"
            ids.add(rid)
            for a in obj.get("args", []):
                cl = a.get("clOrdId")
                assert cl not in cls, f"clOrdId {cl} sent twice"
                cls.add(cl)
        for req in self.reqs:
            if req.outcome == "not-sent":
                assert req.cl_ord_id not in cls, f"{req} ended OkxNotSent but was sent"

    @invariant()
    @precondition(lambda self: self.client is not None)
    def feeds_have_every_push_or_a_gap(self) -> None:
        self._check_feeds(final=False)

    @invariant()
    @precondition(lambda self: self.client is not None)
    def nothing_left_behind(self) -> None:
        self._check_slots()

    def _written_on(self) -> dict[str, Any]:
        """clOrdId -> the recording transport its request was written on."""
        assert self.connector is not None
        out: dict[str, Any] = {}
        for t in self.connector.transports:
            for f in self.connector.frames:
                if f.connection != t.number or f.direction != "sent" or not f.data.startswith(b"{"):
                    continue
                obj = orjson.loads(f.data)
                if obj.get("op") == "order":
                    out[obj["args"][0]["clOrdId"]] = t
        return out

    def _check_requests(self, *, final: bool) -> None:
        now = self.driver.step(_now)
        written = self._written_on()
        for req in self.reqs:
            assert req.ends <= 1, f"{req} ended twice"
            limit = req.deadline if req.cancelled_at is None else min(req.deadline,
                                                                        req.cancelled_at)
            transport = written.get(req.cl_ord_id)
            if transport is not None and transport.closed_at is not None:
                limit = min(limit, transport.closed_at + 1.0)
            if req.outcome is None:
                assert not final, f"{req} never ended"
                assert now <= limit, f"{req} still running at {now} (limit {limit})"
                continue
            assert req.outcome in ALLOWED, f"{req}: {req.error!r}"
            assert req.end is not None
            assert req.end <= limit + 1e-9, f"{req} ended at {req.end} (limit {limit})"
            if req.outcome == "cancelled":
                assert req.cancelled_at is not None
                assert req.end == req.cancelled_at

    def _check_feeds(self, *, final: bool) -> None:
        for path, feed in self.feeds.items():
            sent = self.marks_sent[path]
            last: int | None = None
            gap = False
            for item in feed.items:
                if item == "gap":
                    gap = True
                    continue
                assert isinstance(item, int)
                if last is not None and item > last + 1:
                    missing = [k for k in sent if last < k < item]
                    assert not missing or gap, f"{path}: {missing} missing with no Gap"
                if last is None or item > last:
                    last = item
                gap = False
            if final and sent:
                assert last == sent[-1], f"{path}: the last push {sent[-1]} never arrived"

    def _check_slots(self) -> None:
        assert self.client is not None
        from support import internals

        running = {r.cl_ord_id for r in self.reqs if r.outcome is None}
        for session in internals.sessions(self.client):
            for p in session.pending.values():
                assert not p.done, f"a finished request keeps its slot: {p.id}"
                if not p.control:
                    assert p.args[0].get("clOrdId") in running, f"stray slot {p.id}"
            for conn in session.connections:
                assert not conn.ended.is_set(), "an ended connection is still held"
                for p in conn.requests.values():
                    assert not p.done, f"an answered request still counted: {p}"
                    assert not p.abandoned, f"an abandoned request still counted: {p}"


async def _now() -> float:
    return trio.current_time()


TOTALS: dict[str, int] = {}
"""What the runs did, summed over every example (printed at the end)."""


def _count(key: str, n: int = 1) -> None:
    TOTALS[key] = TOTALS.get(key, 0) + n


def _run(size: settings) -> None:
    TOTALS.clear()
    t0 = time.perf_counter()
    run_state_machine_as_test(LifecycleMachine, settings=size)
    took = time.perf_counter() - t0
    print(f"\nlifecycle machine: {TOTALS.get('examples', 0)} examples, "
          f"{TOTALS.get('steps', 0)} steps in {took:.1f} s")
    print("  " + ", ".join(f"{k} {v}" for k, v in sorted(TOTALS.items())))
    # The run must have exercised what it claims to.
    for key in ("outcome ok", "outcome connection-lost", "outcome not-sent", "outcome cancelled",
                "rule drop", "rule notice", "rule refuse_logins", "gaps"):
        assert TOTALS.get(key, 0) > 0, f"no {key} in the whole run"


def test_lifecycle_interleavings() -> None:
    _run(CI)


@pytest.mark.full
def test_lifecycle_interleavings_full() -> None:
    _run(FULL)
