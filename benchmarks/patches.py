"""Proposed hot-path changes to okx_trio, applied as reversible monkeypatches.

The benchmarks may not edit ``okx_trio/``; these copies of its hot functions
carry one change each (marked ``CHANGED``) so that ``python -m benchmarks
--patched`` measures "okx_trio with the proposals" beside okx_trio as it is, in
the same interleaved run. Each patch names the file and function it replaces;
the README gives the same changes as diffs.

* ``transport``: ``WebsocketsTransport.receive`` flushes only when the peer
  sent a control frame (ping, close) or the connection ended, instead of
  taking the send lock (a trio schedule point) after every socket read; and
  ``_flush`` takes the lock with ``acquire_nowait()`` when it is free, so a
  send costs one schedule point (``send_all``) instead of two.
* ``writer``: ``Session._writer`` waits for its doorbell without a cancel
  scope when there is no control-frame deadline to wake for (a ``CancelScope``
  enter/exit costs about 7 µs per idle wait).
* ``request``: ``Session.request`` puts the request on the writer's channel
  with ``send_nowait()`` when there is room (the wait for the answer that
  follows is the checkpoint), instead of ``await send()``.
* ``stream``: ``Subscription.__anext__`` returns buffered items without a
  schedule point (one every 256 items keeps the loop fair); otherwise the
  consumer gets one item per scheduler round while the reader decodes a whole
  socket read (~160 tickers) per round, so the buffer overflows and pushes are
  dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import trio

PATCHES = ("transport", "writer", "request", "stream")


# ------------------------------------------------------------------ transport


async def _flush(self: Any) -> None:
    """okx_trio/_transport.py WebsocketsTransport._flush, CHANGED: lock fast path."""

    lock = self._send_lock
    try:
        lock.acquire_nowait()  # CHANGED: no schedule point when nobody holds it
    except trio.WouldBlock:
        await lock.acquire()
    try:
        chunks = self._protocol.data_to_send()
        if not chunks:
            return
        payload = b"".join(chunks)
        if payload:
            try:
                await self._stream.send_all(payload)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                self._set_closed(1006, "send failed")
                raise self._closed_exc() from exc
    finally:
        lock.release()


async def _receive(self: Any) -> bytes:
    """okx_trio/_transport.py WebsocketsTransport.receive, CHANGED: flush only when needed."""
    from websockets.frames import Opcode

    from okx_trio._transport import TransportClosed

    while not self._messages:
        if self._closed is not None:
            raise self._closed_exc()
        self._reading = True
        try:
            data = await self._stream.receive_some(65536)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            self._set_closed(1006, "connection reset")
            self._peer_closed.set()
            continue
        finally:
            self._reading = False
        if not data:
            self._protocol.receive_eof()
        else:
            self._protocol.receive_data(data)
        control = False
        for frame in self._protocol.events_received():
            opcode = frame.opcode
            if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
                if frame.fin:
                    self._messages.append(bytes(frame.data))
                else:
                    self._fragments = [bytes(frame.data)]
            elif opcode is Opcode.CONT:
                self._fragments.append(bytes(frame.data))
                if frame.fin:
                    self._messages.append(b"".join(self._fragments))
                    self._fragments = []
            else:
                control = True  # CHANGED: ping/pong/close: the protocol may have queued a reply
        ended = self._protocol.close_rcvd is not None or not data
        if control or ended:  # CHANGED: no lock round trip after plain data
            try:
                await self._flush()
            except TransportClosed:
                pass
        if ended:
            self._peer_closed.set()
            rcvd = self._protocol.close_rcvd
            if rcvd is not None:
                self._set_closed(rcvd.code, rcvd.reason)
            else:
                self._set_closed(1006, "connection closed without a close frame")
            with trio.move_on_after(0):
                await self._stream.aclose()
        elif self._protocol.parser_exc is not None:
            self._set_closed(1002, "protocol error")
    return self._messages.popleft()  # type: ignore[no-any-return]


# --------------------------------------------------------------------- writer


async def _writer(self: Any, conn: Any) -> None:
    """okx_trio/_session.py Session._writer, CHANGED: no cancel scope for a plain wait."""
    from okx_trio._transport import TransportClosed

    send = conn.transport.send
    recv_nowait = self._requests_recv.receive_nowait
    control = self._control
    try:
        while True:
            if conn is not self.active or conn.ended.is_set():
                return
            if self._doorbell.is_set():
                self._doorbell = trio.Event()
            if conn.owe_pong:
                conn.owe_pong = False
                await send(b"pong")
                continue
            if conn.ping_due:
                conn.ping_due = False
                await send(b"ping")
                continue
            wake_at = math.inf
            if control:
                ready_at = self._control_wait_until(conn)
                if ready_at == -math.inf:
                    p = control.popleft()
                    if p.abandoned or p.done:
                        continue
                    self._count_control(conn)
                    p.written = True
                    p.conn = conn
                    conn.inflight += 1
                    await send(p.frame)
                    continue
                wake_at = ready_at
            try:
                p = recv_nowait()
            except trio.WouldBlock:
                if wake_at == math.inf:  # CHANGED: nothing to wake for but the doorbell
                    await self._doorbell.wait()
                else:
                    with trio.move_on_at(wake_at):
                        await self._doorbell.wait()
                continue
            if p.abandoned or p.done:
                continue
            p.written = True
            p.conn = conn
            conn.inflight += 1
            await send(p.frame)
    except TransportClosed as exc:
        conn.end(exc)


# -------------------------------------------------------------------- request


def _make_request(original: Callable[..., Any]) -> Callable[..., Any]:
    async def request(
        self: Any,
        id: str,
        op: str,
        args: Sequence[Mapping[str, Any]],
        *,
        exp_time: int | None,
        deadline: float,
        limiter: Any = None,
    ) -> Any:
        """okx_trio/_session.py Session.request, CHANGED: send_nowait when there is room."""
        from okx_trio._exceptions import (
            OkxApiError,
            OkxNotSent,
            OkxRequestTimeout,
        )
        from okx_trio._protocol import encode_request
        from okx_trio._session import Pending

        self._check_usable()
        if id in self.pending:
            raise ValueError(f"request id {id!r} is already in flight")
        frame = encode_request(id, op, args, exp_time)
        p = Pending(id, op, frame, args=args)
        self.pending[id] = p
        try:
            with trio.move_on_at(deadline):
                if limiter is not None:
                    await limiter.acquire(op, args)
                try:
                    self._requests_send.send_nowait(p)  # CHANGED
                except trio.WouldBlock:
                    await self._requests_send.send(p)
                self._doorbell.set()
                await p.event.wait()
            if not p.done:
                p.abandoned = True
                if p.written:
                    raise OkxRequestTimeout(
                        "no answer before the deadline (outcome unknown)",
                        op, id, p.cl_ord_id(), args, self.kind,
                    )
                raise OkxNotSent(
                    "the deadline passed before the request was sent",
                    op, id, p.cl_ord_id(), args, self.kind,
                )
        finally:
            if not p.done:
                p.abandoned = True
            self.pending.pop(id, None)
        result = p.result
        if isinstance(result, BaseException):
            raise result
        if result.code != "0":
            raise OkxApiError(result.code, result.msg, op, id, result.data)
        return result

    request.__wrapped__ = original  # type: ignore[attr-defined]
    return request


# --------------------------------------------------------------------- stream

FAIR_EVERY = 256


async def _anext(self: Any) -> Any:
    """okx_trio/_subscriptions.py Subscription.__anext__, CHANGED: a fast path that
    returns a buffered item without a schedule point (one every FAIR_EVERY items)."""
    from okx_trio._models import Gap
    from okx_trio._subscriptions import _copy_error

    # CHANGED: the fast path.
    if self._buffer and self._error is None and not self._dropped and not self._lost_gap:
        run = self._bench_run + 1
        if run < FAIR_EVERY:
            self._bench_run = run
            return self._buffer.popleft()
    self._bench_run = 0
    await trio.lowlevel.checkpoint()
    while True:
        if self._error is not None:
            raise _copy_error(self._error)
        if self._dropped or self._lost_gap:
            n = self._dropped
            self._dropped = 0
            self._lost_gap = False
            return Gap("dropped" if n else "reconnect", n)
        if self._buffer:
            return self._buffer.popleft()
        if self._closed:
            raise StopAsyncIteration
        self._wake = trio.Event()
        await self._wake.wait()


# ---------------------------------------------------------------------- apply


@contextmanager
def applied(names: Sequence[str] = PATCHES) -> Iterator[None]:
    """Apply the named patches for the duration of the block, then restore."""
    from okx_trio import _session, _subscriptions, _transport

    targets: list[tuple[Any, str, Any]] = []
    if "transport" in names:
        targets += [(_transport.WebsocketsTransport, "_flush", _flush),
                    (_transport.WebsocketsTransport, "receive", _receive)]
    if "writer" in names:
        targets.append((_session.Session, "_writer", _writer))
    if "request" in names:
        targets.append((_session.Session, "request", _make_request(_session.Session.request)))
    if "stream" in names:
        targets.append((_subscriptions.Subscription, "__anext__", _anext))
        _subscriptions.Subscription._bench_run = 0  # type: ignore[attr-defined]
    saved = [(obj, attr, obj.__dict__[attr]) for obj, attr, _ in targets]
    try:
        for obj, attr, new in targets:
            setattr(obj, attr, new)
        yield
    finally:
        for obj, attr, old in saved:
            setattr(obj, attr, old)
