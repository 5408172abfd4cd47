"""Soak: a long stream of pushes into a subscription whose consumer is often too slow.

The pushes come from a scripted in-memory push server (:class:`PushServer`,
below), not from the simulator's market task, which cannot produce pushes
fast enough for a million-push run. It answers login, ping, subscribe and
unsubscribe as OKX does and streams numbered ``tickers`` pushes in bursts of
random size with pauses between them; the consumer reads one item every
``READ_EVERY`` seconds of virtual time, so some bursts overflow its buffer and
others do not.

Checks: the buffer never holds more than its capacity; every push the server
sent was either received or counted in a ``Gap(dropped=n)`` that stands
exactly where those pushes are missing; the client's pending-id map and
subscription tables are empty afterwards and no task is left once the client
is closed. The full run also checks that memory (RSS) stays flat within 5 %
after warm-up.
"""

from __future__ import annotations

import random
from typing import Any

import attrs
import orjson
import trio
import trio.lowlevel
import trio.testing
from support import internals
from support.reliability import rss_bytes, sizes

from okx_trio import Gap, Push, open_ws_client
from okx_trio._transport import MemoryConnector, MemoryTransport, TransportClosed

ARG = {"channel": "tickers", "instId": "BTC-USDT"}
BUFFER = 256
PAUSE = 0.05
READ_EVERY = 0.0001  # the consumer's pace: 500 items per pause...
BATCH = 4  # ... read in fours


@attrs.frozen
class SoakSize:
    pushes: int
    check_rss: bool


CI = SoakSize(pushes=100_000, check_rss=False)
FULL = SoakSize(pushes=1_000_000, check_rss=True)


class PushServer:
    """In-memory OKX stand-in that streams ``total`` numbered pushes to one subscriber."""

    def __init__(self, total: int, seed: int) -> None:
        self.total = total
        self.sent = 0
        self.rng = random.Random(seed)
        self.finished = trio.Event()
        self.unsubscribed = trio.Event()
        self.rss: list[tuple[int, int]] = []
        self.after_burst: list[Any] = []
        self._head = b'{"arg":' + orjson.dumps(ARG) + b',"data":[{"instId":"BTC-USDT","last":"6'
        self._mid = b'.1","seq":'
        self._tail = b"}]}"

    def frame(self, seq: int) -> bytes:
        return b"".join((self._head, str(seq % 10_000).encode(), self._mid, str(seq).encode(),
                         self._tail))

    async def stream(self, transport: MemoryTransport, rss_every: int) -> None:
        while self.sent < self.total:
            burst = min(self.rng.randrange(10, 4 * BUFFER), self.total - self.sent)
            for _ in range(burst):
                await transport.send(self.frame(self.sent))
                self.sent += 1
                if rss_every and self.sent % rss_every == 0:
                    self.rss.append((self.sent, rss_bytes()))
            for hook in self.after_burst:
                hook()
            await trio.sleep(PAUSE)
        self.finished.set()

    async def handler(self, path: str, transport: MemoryTransport, rss_every: int) -> None:
        async with trio.open_nursery() as nursery:
            try:
                while True:
                    data = await transport.receive()
                    if data == b"ping":
                        await transport.send(b"pong")
                        continue
                    obj = orjson.loads(data)
                    op = obj.get("op")
                    for arg in obj.get("args", []):
                        await transport.send(orjson.dumps(
                            {"id": obj.get("id"), "event": op, "arg": arg, "connId": "soak0001"}))
                    if op == "subscribe":
                        nursery.start_soon(self.stream, transport, rss_every)
                    elif op == "unsubscribe":
                        self.unsubscribed.set()
                        nursery.cancel_scope.cancel()
            except TransportClosed:
                nursery.cancel_scope.cancel()


@sizes(CI, FULL)
async def test_soak_slow_consumer_bounded_buffer_every_drop_announced(
    size: SoakSize, autojump_clock: trio.testing.MockClock
) -> None:
    server = PushServer(size.pushes, seed=11)
    received = dropped = gaps = 0
    bad: list[tuple[Any, int]] = []  # (item, expected seq) where the stream went wrong
    max_buffered = 0
    tasks_before = trio.lowlevel.current_statistics().tasks_living
    rss_every = size.pushes // 20 if size.check_rss else 0
    with trio.fail_after(size.pushes):  # virtual seconds; the run takes far less
        async with trio.open_nursery() as server_nursery:

            async def handler(path: str, transport: MemoryTransport) -> None:
                await server.handler(path, transport, rss_every)

            connector = MemoryConnector(handler, server_nursery)
            tasks_server = trio.lowlevel.current_statistics().tasks_living
            async with open_ws_client(base_url="ws://127.0.0.1:9", transport=connector,
                                      rate_limit=False, log_lifecycle=False) as client:
                async with client.subscribe(ARG, buffer_size=BUFFER) as sub:
                    assert sub.statistics().capacity == BUFFER

                    def fullest() -> None:
                        # Right after a burst, before the consumer catches up.
                        nonlocal max_buffered
                        max_buffered = max(max_buffered, sub.statistics().buffered)

                    server.after_burst.append(fullest)
                    accounted = 0  # pushes received plus pushes announced as dropped

                    async def watchdog(scope: trio.CancelScope) -> None:
                        # Once the server is done, anything not accounted for within
                        # 5 s of virtual time was lost silently: stop and report it.
                        await server.finished.wait()
                        await trio.sleep(5.0)
                        scope.cancel()

                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(watchdog, nursery.cancel_scope)
                        n = 0
                        while accounted < size.pushes:
                            item = await sub.__anext__()
                            max_buffered = max(max_buffered, sub.statistics().buffered)
                            if type(item) is Push:
                                # Each push follows the one before, or the pushes a
                                # Gap just announced as dropped: no loss is silent.
                                seq = item.data[0]["seq"]
                                if seq != accounted:
                                    bad.append((seq, accounted))
                                accounted += 1
                                received += 1
                            else:
                                assert isinstance(item, Gap)
                                if item.reason != "dropped" or item.dropped <= 0:
                                    bad.append((item, accounted))
                                accounted += item.dropped
                                dropped += item.dropped
                                gaps += 1
                            n += 1
                            if n % BATCH == 0:
                                await trio.sleep(BATCH * READ_EVERY)
                        nursery.cancel_scope.cancel()
                    stats = sub.statistics()
                await server.unsubscribed.wait()
                # Everything released: no pending ids, no subscription tables.
                client_stats = client.statistics()
                assert client_stats.pending == 0
                assert client_stats.subscriptions == 0
                assert internals.no_pending(client)
                assert internals.tables(client) == {
                    "server_subscriptions": 0, "books": 0, "pending_unsubscribes": 0}
            # The client is closed: its tasks are gone, the server's remain.
            await trio.testing.wait_all_tasks_blocked()
            assert trio.lowlevel.current_statistics().tasks_living <= tasks_server
            server_nursery.cancel_scope.cancel()
    assert trio.lowlevel.current_statistics().tasks_living == tasks_before

    # Every push sent was received or announced as dropped, exactly where it was lost.
    assert bad == []
    assert server.sent == size.pushes
    assert received + dropped == server.sent
    assert stats.dropped == dropped
    assert max_buffered <= BUFFER
    assert gaps, "the consumer must have been too slow at times"
    assert received > size.pushes // 10, "and fast enough at other times"
    print(f"\nsoak[{size.pushes}]: scripted in-memory push server; received {received}, "
          f"dropped {dropped} in {gaps} gaps, max buffered {max_buffered}/{BUFFER}")
    if size.check_rss:
        warm = [rss for sent, rss in server.rss if sent >= size.pushes // 5]
        print(f"RSS after warm-up {warm[0] / 2**20:.1f} MiB, peak {max(warm) / 2**20:.1f} MiB, "
              f"end {warm[-1] / 2**20:.1f} MiB (growth {(max(warm) - warm[0]) / 2**10:.0f} KiB; "
              f"the whole test process)")
        assert max(warm) <= warm[0] * 1.05
