"""How the websockets transport hands over the messages of one read.

``receive_many`` gives a read's messages in batches, with a schedule point
between two batches, so consumers free one batch before the next is decoded;
each batch is as large as the caller's objects leave room for under the
youngest GC generation's threshold, and no longer to handle than
``RECEIVE_BATCH_TIME``. Driven over an in-memory stream that
returns a whole burst in one read (no sockets, no timing).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import trio
from websockets.client import ClientProtocol
from websockets.protocol import State
from websockets.uri import parse_uri

from okx_trio import _transport as transport_module
from okx_trio._transport import (
    MAX_MESSAGE_SIZE,
    RECEIVE_BATCH,
    RECEIVE_BATCH_MAX,
    RECEIVE_BATCH_TIME,
    WebsocketsTransport,
)

BURST = 600


@pytest.fixture(autouse=True)
def _no_time_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Batches are also cut by the time the caller takes per message: these
    # tests set the clock themselves (stopped, unless a test moves it), so a
    # busy machine cannot change a batch's size.
    monkeypatch.setattr(transport_module, "_clock", lambda: 0.0)


class _Burst(trio.abc.Stream):
    """Hands ``data`` over in one read, then waits forever."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        if not self.data:
            await trio.sleep_forever()
        out, self.data = self.data, b""
        return out

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


def _frame(payload: bytes) -> bytes:
    """One unmasked final text frame, as a server sends it (payload < 126 bytes)."""
    return bytes((0x81, len(payload))) + payload


def _transport() -> WebsocketsTransport:
    burst = b"".join(_frame(b"m%d" % i) for i in range(BURST))
    protocol = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN,
                              max_size=MAX_MESSAGE_SIZE)
    return WebsocketsTransport(_Burst(burst), protocol)


@contextmanager
def _gc_enabled(enabled: bool) -> Iterator[None]:
    was = gc.isenabled()
    gc.collect()  # the young generation starts empty: no collection by chance
    if enabled:
        gc.enable()
    else:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


async def _read_all(t: WebsocketsTransport, keep_per_message: int) -> list[list[bytes]]:
    """Every batch of the burst, read as the session's reader does while a
    consumer task holds ``keep_per_message`` new containers per message until
    it runs (it frees them at its next turn, as a stream consumer does)."""
    batches: list[list[bytes]] = []
    held: list[Any] = []

    async def consumer() -> None:
        while True:
            held.clear()
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        while sum(len(b) for b in batches) < BURST:
            batch = await t.receive_many()
            if keep_per_message:
                held.extend([{} for _ in range(keep_per_message)] for _ in batch)
            batches.append(batch)
        nursery.cancel_scope.cancel()
    held.clear()
    return batches


@pytest.mark.parametrize("gc_on", [True, False])
async def test_a_caller_that_keeps_nothing_gets_the_largest_batches(gc_on: bool) -> None:
    with _gc_enabled(gc_on):
        batches = await _read_all(_transport(), 0)
    sizes = [len(b) for b in batches]
    if gc_on:
        # Nothing kept: each batch twice the last, up to the largest.
        assert sizes[:4] == [RECEIVE_BATCH, 2 * RECEIVE_BATCH, 4 * RECEIVE_BATCH,
                             RECEIVE_BATCH_MAX]
    else:
        # No cyclic GC to keep clear of: the largest at once.
        assert sizes[:2] == [RECEIVE_BATCH, RECEIVE_BATCH_MAX]
    assert set(sizes[3:-1]) == {RECEIVE_BATCH_MAX}
    assert [m for b in batches for m in b] == [b"m%d" % i for i in range(BURST)]


async def test_a_caller_that_keeps_much_gets_batches_the_gc_leaves_room_for() -> None:
    collections: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    with _gc_enabled(True):
        gc.callbacks.append(count)
        try:
            # A list and 40 dicts per message (a books update keeps ~17
            # containers): the first batch, 16 messages, alone nearly fills the
            # young generation.
            batches = await _read_all(_transport(), 40)
        finally:
            gc.callbacks.remove(count)
    sizes = [len(b) for b in batches]
    assert sizes[0] == RECEIVE_BATCH
    assert max(sizes[1:]) < RECEIVE_BATCH
    # The cyclic GC ran at most once (over the first batch) in 600 messages.
    assert len(collections) <= 1, (sizes, collections)
    assert [m for b in batches for m in b] == [b"m%d" % i for i in range(BURST)]


async def test_a_collection_over_a_batch_halves_the_next() -> None:
    with _gc_enabled(True):
        t = _transport()
        assert len(await t.receive_many()) == RECEIVE_BATCH
        gc.collect(0)  # as if the caller's objects had set off a collection
        assert len(await t.receive_many()) == RECEIVE_BATCH // 2


async def test_every_batch_after_the_first_of_a_read_follows_a_schedule_point() -> None:
    # The consumers woken by a batch run before the next one is decoded: the
    # reading task yields once per batch of the same read.
    t = _transport()
    me = trio.lowlevel.current_task()

    class Steps(trio.abc.Instrument):
        def __init__(self) -> None:
            self.steps = 0

        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            if task is me:
                self.steps += 1

    first = await t.receive_many()  # the read itself
    steps = Steps()
    trio.lowlevel.add_instrument(steps)
    try:
        got = len(first)
        batches = 0
        while got < BURST:
            got += len(await t.receive_many())
            batches += 1
    finally:
        trio.lowlevel.remove_instrument(steps)
    assert batches >= 4
    assert steps.steps == batches


async def test_a_caller_that_spends_long_per_message_gets_batches_of_a_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Handlers running in the reader (an order book applying each update) make
    # a batch one long task step: a batch is cut to what the caller handled in
    # RECEIVE_BATCH_TIME at the last batch's pace. The clock is the test's.
    now = [0.0]
    monkeypatch.setattr(transport_module, "_clock", lambda: now[0])
    per_message = RECEIVE_BATCH_TIME / 10
    t = _transport()
    sizes = []
    with _gc_enabled(True):
        while sum(sizes) < BURST:
            batch = await t.receive_many()
            sizes.append(len(batch))
            now[0] += per_message * len(batch)  # the caller's work on the batch
    assert sizes[0] == RECEIVE_BATCH
    assert all(size <= 10 for size in sizes[1:]), sizes
    assert max(sizes[1:-1]) == 10, sizes
