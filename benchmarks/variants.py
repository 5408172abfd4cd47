"""What okx_trio's one-writer design costs: a variant that breaks it, for measurement only.

okx_trio hands every request from the calling task to the session's writer
task (a bounded trio memory channel; the writer is the only task that writes
to the socket). That is one task hop per request, by design. To put a number
on it, :func:`caller_writes` swaps ``Session.request`` for a version in which
the caller writes its own frame when nothing else is queued, then waits for the
answer exactly as okx_trio does. Anything unusual (a rate limiter, queued
requests or control frames, no live connection) takes okx_trio's own path.

This is not a proposal: it gives up the single-writer property (ordering of
pings/pongs, control frames and requests across tasks) that the Foundation
issue requires. It exists so the benchmarks can show what the hop costs.
``okx_trio/`` is not changed; the swap lasts for the ``with`` block only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import trio

from okx_trio._connection import Pending
from okx_trio._exceptions import OkxApiError, OkxRequestTimeout
from okx_trio._models import Response
from okx_trio._protocol import encode_request
from okx_trio._session import Session

from .measure import Sample


def _direct(original: Callable[..., Any]) -> Callable[..., Any]:
    async def request(
        self: Session, id: str, op: str, args: Sequence[Mapping[str, Any]], *,
        exp_time: int | None, deadline: float, limiter: Any = None,
        exp_offset: int | None = None,
    ) -> Response:
        conn = self.active
        if (conn is None or conn.ended.is_set() or limiter is not None or self._control
                or conn.owe_pong or conn.ping_due or id in self.pending
                or self._requests_recv.statistics().current_buffer_used
                or self.failed is not None or self.closing):
            result: Response = await original(self, id, op, args, exp_time=exp_time,
                                              deadline=deadline, limiter=limiter,
                                              exp_offset=exp_offset)
            return result
        frame = encode_request(id, op, args, exp_time)
        p = Pending(id, op, frame, args=args, exp_time=exp_time, exp_offset=exp_offset)
        p.written_on(conn)
        self.pending[id] = p
        try:
            with trio.move_on_at(deadline):
                await conn.transport.send(frame)  # the caller writes: no hop
                await p.event.wait()
            if not p.done:
                raise OkxRequestTimeout("no answer before the deadline (outcome unknown)",
                                        op, id, p.cl_ord_id(), args, self.kind)
        finally:
            if not p.done:
                p.abandon()
            self.pending.pop(id, None)
        res = p.result
        if isinstance(res, BaseException):
            raise res
        if res.code != "0":
            raise OkxApiError(res.code, res.msg, op, id, res.data)
        return res  # type: ignore[no-any-return]

    return request


@contextmanager
def caller_writes() -> Iterator[None]:
    """``Session.request`` writes from the calling task for the block's duration."""
    original = Session.request
    Session.request = _direct(original)  # type: ignore[method-assign]
    try:
        yield
    finally:
        Session.request = original  # type: ignore[method-assign]


def with_caller_writes(run: Callable[[], Sample]) -> Callable[[], Sample]:
    """``run`` under :func:`caller_writes`."""
    def variant() -> Sample:
        with caller_writes():
            return run()
    return variant


async def hop_cost(n: int = 20_000) -> tuple[float, float]:
    """Trio's cost of handing work to another task and back, in seconds per hand-off.

    Returns (one task awaiting a checkpoint per item, two tasks passing each item
    through an Event doorbell and an answer Event, as the request path does).
    """
    import time

    t0 = time.perf_counter()
    for _ in range(n):
        await trio.lowlevel.checkpoint()
    single = (time.perf_counter() - t0) / n

    doorbell = trio.Event()
    box: list[trio.Event] = []

    async def writer() -> None:
        nonlocal doorbell
        while True:
            while not box:
                await doorbell.wait()
                doorbell = trio.Event()
            box.pop().set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        await trio.lowlevel.checkpoint()
        t0 = time.perf_counter()
        for _ in range(n):
            answer = trio.Event()
            box.append(answer)
            doorbell.set()
            await answer.wait()
        handoff = (time.perf_counter() - t0) / n
        nursery.cancel_scope.cancel()
    return single, handoff


# ------------------------------------------------------------------ the ladder
#
# From the floor to okx_trio one design element at a time, each a bare client
# over the same Floor connection (no okx_trio code), so each step's cost is
# the difference between two neighbouring rows.

LADDER = (
    "floor: one task sends, then reads its answer",
    "+ a reader task that matches answers by id and wakes the caller (Event)",
    "+ a deadline per request (trio.move_on_at around the wait)",
    "+ a writer task: the caller queues on a memory channel and rings a doorbell",
)


async def ladder_sequential(url: str, n: int, step: int) -> Sample:
    """The sequential order round trip built up to ``step`` (0-3) of :data:`LADDER`."""
    import math

    import orjson

    from . import floor
    from .contenders import CREDS
    from .measure import Clock

    conn = await floor.Floor.connect(url + "/ws/v5/private")
    await floor.login(conn, (CREDS.api_key, CREDS.secret_key, CREDS.passphrase))
    if step == 0:
        sample = await floor.sequential(conn, n, 100001)
        await conn.aclose()
        return sample
    ids, cl_ids = floor.Ids("ld0000"), floor.Ids("lc000000")
    waiting: dict[str, trio.Event] = {}
    answers: dict[str, Any] = {}
    send_q, recv_q = trio.open_memory_channel[bytes](1024)
    doorbell = trio.Event()

    async def reader() -> None:
        while True:
            obj = orjson.loads(await conn.receive())
            event = waiting.pop(obj.get("id"), None)
            if event is not None:
                answers[obj["id"]] = obj
                event.set()

    async def writer() -> None:
        nonlocal doorbell
        while True:
            try:
                frame = recv_q.receive_nowait()
            except trio.WouldBlock:
                await doorbell.wait()
                doorbell = trio.Event()
                continue
            await conn.send(frame)

    async def one() -> None:
        req_id = ids()
        event = waiting[req_id] = trio.Event()
        frame = floor.order_frame(req_id, cl_ids(), 100001)
        deadline = trio.current_time() + 10 if step >= 2 else math.inf
        if step >= 3:
            send_q.send_nowait(frame)
            doorbell.set()
        else:
            await conn.send(frame)
        if step >= 2:
            with trio.move_on_at(deadline):
                await event.wait()
        else:
            await event.wait()
        obj = answers.pop(req_id)
        if obj["code"] != "0" or obj["data"][0]["sCode"] != "0":
            raise RuntimeError(f"order failed: {obj}")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        nursery.start_soon(writer)
        for _ in range(floor.WARMUP):
            await one()
        clock = Clock()
        for _ in range(n):
            await one()
            clock.lap()
        sample = clock.per_op(n)
        nursery.cancel_scope.cancel()
    await conn.aclose()
    return sample


# ------------------------------------------------------------ the design floor
#
# okx_trio's shape built as lean as trio allows: the caller puts its frame on
# a memory channel and waits for its per-id Event inside a cancel scope with
# the deadline; a writer task is the only one that writes; a reader task wakes
# the caller. What makes it lean:
#
# * the writer parks in the channel's own ``receive()`` (the sender hands the
#   frame straight to the parked task: no doorbell Event), takes everything
#   queued meanwhile, and writes it with one ``send`` on the socket itself:
#   a successful write returns at once, where ``SocketStream.send_all`` adds a
#   schedule point after it (``_try_sync``), so the writer parks only in
#   ``receive()``;
# * the reader parks in ``wait_readable`` and then reads, instead of trying a
#   read first: after an answer the socket is almost always drained, and
#   ``SocketStream.receive_some`` would pay a failed ``recv`` (EAGAIN) before
#   parking, on the path of every answer. It reads again at once only after a
#   read that filled its buffer.
#
# Per round trip that is three task steps (caller, writer, reader) and the four
# system calls the work needs (send, epoll_ctl, epoll_wait, recv), plus one
# epoll_wait per scheduler pass.

DESIGN_FLOOR = "design floor: the shape as lean as trio allows"
DESIGN_FLOOR_STREAM = "design floor on SocketStream (send_all/receive_some)"
READ_SIZE = 262144


async def design_floor_sequential(url: str, n: int, lowlevel: bool = True) -> Sample:
    """The sequential order round trip through okx_trio's shape, built lean.

    ``lowlevel=False`` drives the socket through ``SocketStream.send_all`` and
    ``receive_some`` instead (the only difference), to show what the socket
    calls cost.
    """
    import orjson
    from websockets.frames import Opcode

    from . import floor
    from .contenders import CREDS
    from .measure import Clock

    conn = await floor.Floor.connect(url + "/ws/v5/private")
    await floor.login(conn, (CREDS.api_key, CREDS.secret_key, CREDS.passphrase))
    protocol = conn.protocol
    stream = conn.stream
    sock = stream.socket
    ids, cl_ids = floor.Ids("df0000"), floor.Ids("dc000000")
    waiting: dict[str, trio.Event] = {}
    answers: dict[str, Any] = {}
    send_q, recv_q = trio.open_memory_channel[bytes](1024)
    text = Opcode.TEXT

    def dispatch() -> None:
        for frame in protocol.events_received():
            if frame.opcode is text:  # type: ignore[union-attr]
                obj = orjson.loads(frame.data)  # type: ignore[union-attr]
                event = waiting.pop(obj.get("id"), None)
                if event is not None:
                    answers[obj["id"]] = obj
                    event.set()

    async def reader() -> None:
        # Anything the login left over is already parsed.
        for data in list(conn.messages):
            obj = orjson.loads(data)
            answers[obj.get("id")] = obj
        conn.messages.clear()
        if not lowlevel:
            while True:
                data = await stream.receive_some(READ_SIZE)
                if not data:
                    return
                protocol.receive_data(data)
                dispatch()
        while True:
            await trio.lowlevel.wait_readable(sock)
            while True:
                try:
                    data = sock._sock.recv(READ_SIZE)  # type: ignore[attr-defined]
                except BlockingIOError:
                    break
                if not data:
                    return
                protocol.receive_data(data)
                dispatch()
                if len(data) < READ_SIZE:
                    break

    async def writer() -> None:
        raw = sock._sock  # type: ignore[attr-defined]
        receive_nowait = recv_q.receive_nowait
        while True:
            protocol.send_text(await recv_q.receive())
            while True:
                try:
                    protocol.send_text(receive_nowait())
                except trio.WouldBlock:
                    break
            data = b"".join(protocol.data_to_send())
            if not lowlevel:
                await stream.send_all(data)
                continue
            view = memoryview(data)
            while view:
                try:
                    view = view[raw.send(view):]
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(sock)

    send_nowait = send_q.send_nowait

    async def one() -> None:
        req_id = ids()
        event = waiting[req_id] = trio.Event()
        frame = floor.order_frame(req_id, cl_ids(), 100001)
        with trio.move_on_at(trio.current_time() + 10):
            send_nowait(frame)
            await event.wait()
        obj = answers.pop(req_id)
        if obj["code"] != "0" or obj["data"][0]["sCode"] != "0":
            raise RuntimeError(f"order failed: {obj}")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        nursery.start_soon(writer)
        for _ in range(floor.WARMUP):
            await one()
        clock = Clock()
        for _ in range(n):
            await one()
            clock.lap()
        sample = clock.per_op(n)
        nursery.cancel_scope.cancel()
    await conn.aclose()
    return sample
