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
  follows is the checkpoint), instead of ``await send()`` (applied by wrapping
  the channel, so it does not depend on ``request``'s signature).
* ``batch`` (part of ``writer``): when several requests are queued, the writer
  takes up to 64 of them and writes their frames with one ``send_all`` (one
  system call) instead of one each.
* ``reader``: the transport hands the reader every message of one socket read
  at once (``WebsocketsTransport.receive_many``, new), and ``Session._reader``
  decodes and dispatches them in a plain loop: one ``await`` and one clock
  reading per socket read instead of per message.
* ``ack``: ``WsApiClient._ack`` builds the ``OrderAck`` directly from the
  item's keys (same field mapping, values as ``str``, unknown keys into
  ``extra``) instead of through cattrs ``structure`` plus ``attrs.evolve``.
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

PATCHES = ("transport", "writer", "request", "stream", "ack", "reader")
"""Every patch; ``batch`` (below) is measured on its own as well."""


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


async def _receive_many(self: Any) -> list[bytes]:
    """CHANGED (new): WebsocketsTransport.receive_many: every buffered message."""
    if not self._messages:
        self._messages.appendleft(await self.receive())
    out = list(self._messages)
    self._messages.clear()
    return out


async def _reader(self: Any, conn: Any) -> None:
    """okx_trio/_session.py Session._reader, CHANGED: a batch per socket read."""
    from okx_trio._models import Push, Response
    from okx_trio._protocol import Ping, Pong, decode_frame
    from okx_trio._session import log
    from okx_trio._transport import TransportClosed

    transport = conn.transport
    receive_many = getattr(transport, "receive_many", None)  # CHANGED
    receive = transport.receive
    pending = self.pending
    try:
        while True:
            if receive_many is not None:  # CHANGED
                batch = await receive_many()
            else:
                batch = [await receive()]
            conn.last_rx = trio.current_time()
            for data in batch:
                ev = decode_frame(data)
                if type(ev) is Push:
                    handler = self.push_handler
                    if handler is not None and (conn is self.active or conn.retiring):
                        handler(ev, conn)
                elif type(ev) is Response:
                    p = pending.get(ev.id)
                    if p is not None:
                        p.resolve(ev)
                    else:
                        log.debug("%s: response to unknown or expired id", self.kind)
                elif type(ev) is Pong:
                    pass
                elif type(ev) is Ping:
                    conn.owe_pong = True
                    self._doorbell.set()
                else:
                    self._on_event(conn, ev)
    except TransportClosed as exc:
        conn.end(exc)


# --------------------------------------------------------------------- writer


BATCH = 64


async def _send_many(transport: Any, frames: list[bytes]) -> None:
    """CHANGED (new): several text frames, one flush (one ``send_all``)."""
    protocol = getattr(transport, "_protocol", None)
    if protocol is None or len(frames) == 1:
        for frame in frames:
            await transport.send(frame)
        return
    from websockets.exceptions import InvalidState

    from okx_trio._transport import TransportClosed

    if transport._closed is not None:
        raise transport._closed_exc()
    try:
        for frame in frames:
            protocol.send_text(frame)
    except InvalidState:
        transport._set_closed(1006, "connection is closing")
        raise TransportClosed(1006, "connection is closing") from None
    await transport._flush()


async def _writer(self: Any, conn: Any) -> None:
    """okx_trio/_session.py Session._writer, CHANGED: no cancel scope for a plain wait;
    queued requests written together."""
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
            batch = [p]
            while len(batch) < BATCH:  # CHANGED: take what else is queued
                try:
                    q = recv_nowait()
                except trio.WouldBlock:
                    break
                if not (q.abandoned or q.done):
                    batch.append(q)
            for q in batch:
                if q.exp_offset is not None and q.exp_offset != self.client.time_offset_ms:
                    self._rederive_exp_time(q)
                q.written = True
                q.conn = conn
                conn.inflight += 1
            await _send_many(conn.transport, [q.frame for q in batch])
    except TransportClosed as exc:
        conn.end(exc)


# -------------------------------------------------------------------- request


class _NowaitFirst:
    """CHANGED (okx_trio/_session.py Session.request): ``await send(p)`` becomes
    ``send_nowait(p)`` when the channel has room; the caller's wait for the
    answer right after is its checkpoint."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel

    async def send(self, value: Any) -> None:
        try:
            self._channel.send_nowait(value)
        except trio.WouldBlock:
            await self._channel.send(value)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)


def _make_init(original: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._requests_send = _NowaitFirst(self._requests_send)

    return __init__


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


# ------------------------------------------------------------------------ ack

_ACK_NAMES: dict[str, str] = {}
_ACK_CLS: list[Any] = []


def _ack(item: Mapping[str, Any], wire: Mapping[str, Any]) -> Any:
    """okx_trio/_api_client.py WsApiClient._ack, CHANGED: no cattrs on the hot path."""
    names = _ACK_NAMES
    if not names:
        import attrs

        from okx_trio._convert import camel
        from okx_trio._models import OrderAck

        names.update({camel(f.name): f.name for f in attrs.fields(OrderAck)
                      if f.name != "extra"})
        _ACK_CLS.append(OrderAck)
    kw: dict[str, Any] = {}
    extra: dict[str, Any] | None = None
    for key, value in item.items():
        name = names.get(key)
        if name is None:
            if extra is None:
                extra = {}
            extra[key] = value
        elif value is not None:
            kw[name] = value if type(value) is str else str(value)
    if not kw.get("cl_ord_id"):
        # Failed items often come back with clOrdId "": keep the one we sent.
        sent = wire.get("clOrdId")
        if sent:
            kw["cl_ord_id"] = sent
    if extra:
        kw["extra"] = extra
    try:
        return _ACK_CLS[0](**kw)
    except Exception as exc:
        from okx_trio._exceptions import OkxProtocolError

        raise OkxProtocolError(f"unreadable response item {item!r:.200}") from exc


# ---------------------------------------------------------------------- apply


class StalePatch(RuntimeError):
    """okx_trio changed a function this module carries a modified copy of."""


# SHA-1 of the source each copy above was made from. When okx_trio changes one
# of these functions, its copy here must be brought up to date (and the hash
# with it); until then the patch refuses to run rather than measure old code.
SOURCES = {
    "okx_trio._transport.WebsocketsTransport._flush": "5bb840147122b90865d4608e526e4772674d08c9",
    "okx_trio._transport.WebsocketsTransport.receive": "fde378a0e570f5e66d868ee383d639e09d3b2b38",
    "okx_trio._session.Session._writer": "c4b751510ef9f57912a8cc8812ecdfa3bc2bc9b8",
    "okx_trio._subscriptions.Subscription.__anext__": "dde3f3572d917ed2acec757c7ca180e83ef2efcb",
    "okx_trio._api_client.WsApiClient._ack": "7a7cbde0081d6210456cce83f426cdd3bbce6865",
    "okx_trio._session.Session._reader": "45d091bf4c6dd194535a2757f9318d5c238bf0ba",
}


def source_hash(obj: Any) -> str:
    """SHA-1 of a function's source text."""
    import hashlib
    import inspect

    return hashlib.sha1(inspect.getsource(obj).encode()).hexdigest()


def _check_fresh(cls: Any, attr: str) -> None:
    key = f"{cls.__module__}.{cls.__qualname__}.{attr}"
    expected = SOURCES.get(key)
    if expected is None:
        return
    current = cls.__dict__[attr]
    actual = source_hash(getattr(current, "__func__", current))
    if actual != expected:
        raise StalePatch(f"{key} changed since benchmarks/patches.py copied it "
                         f"(source {actual[:10]}, copy made from {expected[:10]})")


@contextmanager
def applied(names: Sequence[str] = PATCHES) -> Iterator[None]:
    """Apply the named patches for the duration of the block, then restore.

    Raises:
        StalePatch: okx_trio's version of a copied function is not the one
            the copy was made from.
    """
    from okx_trio import _session, _subscriptions, _transport

    targets: list[tuple[Any, str, Any]] = []
    if "transport" in names:
        targets += [(_transport.WebsocketsTransport, "_flush", _flush),
                    (_transport.WebsocketsTransport, "receive", _receive)]
    if "writer" in names:
        targets.append((_session.Session, "_writer", _writer))
    if "request" in names:
        targets.append((_session.Session, "__init__", _make_init(_session.Session.__init__)))
    if "ack" in names:
        from okx_trio import _api_client

        targets.append((_api_client.WsApiClient, "_ack", staticmethod(_ack)))
    if "reader" in names:
        targets += [(_transport.WebsocketsTransport, "receive_many", _receive_many),
                    (_session.Session, "_reader", _reader)]
    if "stream" in names:
        targets.append((_subscriptions.Subscription, "__anext__", _anext))
        _subscriptions.Subscription._bench_run = 0  # type: ignore[attr-defined]
    for obj, attr, _ in targets:
        if attr in obj.__dict__:
            _check_fresh(obj, attr)
    missing = object()
    saved = [(obj, attr, obj.__dict__.get(attr, missing)) for obj, attr, _ in targets]
    try:
        for obj, attr, new in targets:
            setattr(obj, attr, new)
        yield
    finally:
        for obj, attr, old in saved:
            if old is missing:
                delattr(obj, attr)
            else:
                setattr(obj, attr, old)
