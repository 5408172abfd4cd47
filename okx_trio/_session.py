"""One logical OKX connection (public, private or business) that survives reconnects.

A ``Session`` owns, inside the client's nursery:

* a **supervisor** that opens the connection (paced, with jittered exponential
  backoff), logs in, activates it, and replaces it when it is lost or when the
  server announces a restart (64008, make-before-break);
* per live connection, a **reader** (decodes every frame and dispatches it:
  responses wake their per-id waiter, pushes go to the push handler, events to
  login/lifecycle handling), a **heartbeat** (text ``ping`` after inbound
  silence, dead connection if nothing arrives within the pong window) and, once
  the connection is active, the **writer**, the only task that writes frames.

Requests are queued on a bounded trio memory channel and wait on a per-id
event inside a cancel scope carrying their deadline. Once the writer has put a
request on a connection's socket, that connection owns it (``_connection``):
when the connection ends, active or being retired, the request fails at once
with ``OkxConnectionLost``. A request still queued waits for the next
connection within its deadline, and fails with ``OkxNotSent`` if the
deadline passes first. Trade ops are never re-sent.

Background tasks never raise expected errors: they record them and wake the
waiters, so the opener can stay free of accidental exception groups. Every
wait is on a state change (a connection's or the session's), never on a
nursery opened in someone else's task.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import trio

from . import _clock
from ._connection import Connection, Pending
from ._exceptions import (
    OkxApiError,
    OkxAuthError,
    OkxConnectError,
    OkxError,
    OkxNotSent,
    OkxProtocolError,
    OkxRateLimitError,
    OkxRequestTimeout,
    copy_error,
)
from ._models import AbandonedRequest, Response
from ._okx import (
    EXPIRED_TIMESTAMP_CODE,
    FATAL_LOGIN_CODES,
    LOGIN_ANSWER_CODES,
    RATE_LIMIT_CODES,
    RESTART_NOTICE_CODE,
)
from ._options import ClientOptions
from ._pacing import RateLimiter
from ._protocol import (
    ChannelConnCount,
    ErrorEvent,
    LoginAck,
    Malformed,
    Notice,
    OtherEvent,
    Ping,
    Pong,
    SubscribeAck,
    UnsubscribeAck,
    decode_frame,
    encode_login,
    encode_request,
)
from ._push import Push
from ._transport import Transport, TransportClosed, TransportConnectError

__all__ = ["Session", "SessionHost"]

log = logging.getLogger("okx_trio")

REQUEST_QUEUE_SIZE = 1024
"""Requests waiting for the writer; callers block (within their deadline) beyond it."""
WRITE_BATCH = 64
"""Most queued requests the writer puts in one socket write."""
CLOSE_WAIT = 2.0
"""Longest time closing the client waits for a connection's close handshake."""
DROP_CLOSE_WAIT = 1.0
"""Longest time a connection that ended on its own (lost, retired, dead) waits
for its close handshake."""
RETIRE_GRACE = 30.0
"""How long a connection replaced after a 64008 notice may keep answering in-flight requests."""


class SessionHost(Protocol):
    """What a session needs from the client that runs it (the client's core)."""

    @property
    def options(self) -> ClientOptions:
        """The client's options (timeouts, TLS context, credentials, heartbeat)."""
        ...

    @property
    def time_offset_ms(self) -> int:
        """Milliseconds added to the local clock for login timestamps and ``expTime``."""
        ...

    def emit(self, kind: str, connection: str, detail: Any = None) -> None:
        """Publish a lifecycle event."""

    def backoff_delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect attempt ``attempt``."""
        ...

    async def pace_connect(self) -> None:
        """Wait until a new connection may be opened (OKX's connection limit)."""

    async def connect(self, url: str, nursery: trio.Nursery) -> Transport:
        """Open a transport to ``url``; raises ``TransportConnectError``."""
        ...

    async def sync_time(self, timeout: float | None = None) -> int:
        """Measure the exchange's clock offset again (after an expired login), within
        ``timeout`` seconds."""
        ...

    def abandoned(self, request: AbandonedRequest) -> None:
        """A written request's caller was cancelled before its answer: record it."""


class _LoginFailed(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg


class Session:
    """A reconnecting OKX connection of one kind (internal; see module docstring)."""

    def __init__(self, host: SessionHost, kind: str, url: str, *, login: bool) -> None:
        self.host = host
        self.kind = kind
        self.url = url
        self.needs_login = login
        self.opts = host.options
        self.pending: dict[str, Pending] = {}
        """Every request of this session not ended yet, queued or written (by id)."""
        self._requests_send, self._requests_recv = trio.open_memory_channel[Pending](
            REQUEST_QUEUE_SIZE
        )
        self._control: deque[Pending] = deque()
        self._doorbell = trio.Event()
        self.connections: list[Connection] = []
        """The connections not ended yet: the active one, one being retired after
        a 64008 notice, one being opened."""
        self.active: Connection | None = None
        self.ready = trio.Event()
        self.failed: OkxError | None = None
        self.closing = False
        self.reconnects = 0
        self._numbers = 0
        self._ever_connected = False
        self._logged_in_once = False
        self.last_connect_error: BaseException | None = None
        """Why the last attempt to open a connection failed (cleared once one opens):
        the ``__cause__`` of a request that times out waiting for a connection."""
        self._nursery: trio.Nursery | None = None
        self._changed: trio.Event | None = None
        # Hooks for the subscription layer.
        self.push_handler: Callable[[Push, Connection], None] | None = None
        """Called with each push of the active connection, and of a connection being
        retired after a 64008 notice (the handler picks the one each arg is live on)."""
        self.on_activated: list[Callable[[Session], None]] = []
        self.on_failed: list[Callable[[Session, OkxError], None]] = []
        self.on_conn_count: list[Callable[[Session, ChannelConnCount], None]] = []

    # ------------------------------------------------------------ state changes

    def _wake(self) -> None:
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    async def wait_ready(self) -> None:
        """Until a connection is active (logged in when needed), or the session failed
        or is closing (the caller then checks ``check_usable``)."""
        while not (self.ready.is_set() or self.failed is not None or self.closing):
            if self._changed is None:
                self._changed = trio.Event()
            await self._changed.wait()

    # ------------------------------------------------------------------ requests

    def check_usable(self) -> None:
        """Raise the session's fatal error (a copy), or ``OkxNotSent`` once closing."""
        if self.failed is not None:
            raise copy_error(self.failed)
        if self.closing:
            raise OkxNotSent("the client is closing", connection=self.kind)

    async def request(
        self,
        id: str,
        op: str,
        args: Sequence[Mapping[str, Any]],
        *,
        exp_time: int | None,
        deadline: float,
        limiter: RateLimiter | None = None,
        exp_offset: int | None = None,
    ) -> Response:
        """Send a trade-style request and wait for its response (raises on code != 0).

        ``exp_offset`` is the clock offset a derived ``exp_time`` was computed
        with; if the offset changes (a clock re-sync) before the frame is written,
        the frame is re-encoded so ``expTime`` still means the same deadline.
        """
        self.check_usable()
        if id in self.pending:
            raise ValueError(f"request id {id!r} is already in flight")
        frame = encode_request(id, op, args, exp_time)
        p = Pending(id, op, frame, args=args, exp_time=exp_time, exp_offset=exp_offset)
        self.pending[id] = p
        ended_here = False
        try:
            with trio.move_on_at(deadline):
                if limiter is not None:
                    await limiter.acquire(op, args)
                else:
                    # A caller already cancelled never gets its request queued.
                    await trio.lowlevel.checkpoint_if_cancelled()
                try:
                    # The wait for the answer below is this call's schedule point.
                    self._requests_send.send_nowait(p)
                except trio.WouldBlock:
                    await self._requests_send.send(p)
                self._doorbell.set()
                await p.event.wait()
            ended_here = True
            if not p.done:
                if p.written:
                    raise p.error(OkxRequestTimeout,
                                  "no answer before the deadline (outcome unknown)", self.kind)
                why = self.not_open_reason()
                raise p.error(OkxNotSent, "the deadline passed before the request was sent"
                              + self._because(why), self.kind) from why
        finally:
            # Every exit path (answer, deadline, cancellation) settles the slot and
            # whatever the connection it was written on counts for it.
            if not p.done:
                if p.written and not ended_here:
                    # The caller's cancellation (or an interrupt) after the frame
                    # was written: an unknown outcome nobody would hear of.
                    self.host.abandoned(AbandonedRequest(
                        op, id, p.cl_ord_id(), tuple(args), self.kind, p.exp_time))
                p.abandon()
            self.pending.pop(id, None)
        result = p.result
        if isinstance(result, BaseException):
            raise result
        if result.code != "0":
            cls = OkxRateLimitError if result.code in RATE_LIMIT_CODES else OkxApiError
            raise cls(result.code, result.msg, op, id, result.data)
        return result  # type: ignore[no-any-return]

    def enqueue_control(
        self,
        id: str,
        op: str,
        args: Sequence[Mapping[str, Any]],
        callback: Callable[[Pending], None] | None = None,
        *,
        target: Connection | None = None,
    ) -> Pending:
        """Queue a subscribe/unsubscribe frame ahead of trade requests (no waiting).

        With ``target``, the frame is only for that connection: if another one
        is active when the writer gets to it, or ``target`` ends first, it is
        resolved with ``OkxNotSent`` instead of being written.
        """
        p = Pending(id, op, encode_request(id, op, args), control=True, args=args,
                    callback=callback, target=target)
        self.pending[id] = p
        if target is not None and target.ended.is_set():
            self._not_needed(p)
            return p
        self._control.append(p)
        self._doorbell.set()
        return p

    def _not_needed(self, p: Pending) -> None:
        p.resolve(p.error(OkxNotSent, "the connection it was meant for has ended", self.kind))

    async def control(
        self, id: str, op: str, args: Sequence[Mapping[str, Any]], *, deadline: float
    ) -> SubscribeAck | UnsubscribeAck:
        """Send a subscribe/unsubscribe request and wait for its ack (raises on error)."""
        self.check_usable()
        if id in self.pending:
            raise ValueError(f"request id {id!r} is already in flight")
        p = self.enqueue_control(id, op, args)
        try:
            with trio.move_on_at(deadline):
                await p.event.wait()
            if not p.done:
                if p.written:
                    raise OkxRequestTimeout(f"no {op} ack before the deadline", op, id, None,
                                            args, self.kind)
                why = self.not_open_reason()
                raise OkxNotSent(f"no {op} ack before the deadline{self._because(why)}", op, id,
                                 None, args, self.kind) from why
        finally:
            if not p.done:
                p.abandon()
            self.pending.pop(id, None)
        if isinstance(p.result, BaseException):
            raise p.result
        return p.result  # type: ignore[no-any-return]

    def not_open_reason(self) -> BaseException | None:
        """Why no connection is open now (the last failed attempt), or ``None``."""
        return self.last_connect_error if self.active is None else None

    def _because(self, why: BaseException | None) -> str:
        return f" (the {self.kind} connection is not open: {why})" if why is not None else ""

    def forget(self, id: str) -> None:
        """Drop a control request's slot (its callback already ran)."""
        self.pending.pop(id, None)

    @property
    def logged_in(self) -> bool:
        """True while the active connection is logged in."""
        conn = self.active
        return conn is not None and isinstance(conn.login_result, LoginAck)

    def require_login(self) -> None:
        """Log in on every connection of this session from now on.

        The public connection logs in only for ``books-l2-tbt`` and
        ``books50-l2-tbt``; an active connection that did not log in is then
        replaced make-before-break, as after a 64008 notice.
        """
        self.needs_login = True
        conn = self.active
        if conn is not None and not isinstance(conn.login_result, LoginAck):
            conn.ask_replacement()

    # ---------------------------------------------------------------- lifecycle

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The supervisor; runs until the client closes or a fatal error."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            try:
                await self._supervise()
            except OkxError as exc:
                self._fail(exc)
            nursery.cancel_scope.cancel(reason="session finished")

    async def _supervise(self) -> None:
        attempt = 0
        expired_retry_done = False
        refused_since: float | None = None
        while not self.closing:
            if attempt > 0:
                await trio.sleep(self.host.backoff_delay(attempt))
                attempt += 1
            else:
                attempt = 1
            try:
                conn = await self._establish()
            except _LoginFailed as exc:
                err = OkxAuthError(exc.code, exc.msg, self.kind)
                if exc.code == EXPIRED_TIMESTAMP_CODE and not expired_retry_done:
                    expired_retry_done = True
                    self.host.emit("exception", self.kind, err)
                    try:
                        # Bounded: the next login waits for this at most login_timeout.
                        await self.host.sync_time(timeout=self.opts.login_timeout)
                    except OkxError:
                        pass
                    attempt = 0
                    continue
                if exc.code in FATAL_LOGIN_CODES:
                    # Fatal on the first login only: once a login has succeeded, the
                    # same refusal is retried for relogin_timeout (an exchange-side
                    # fault must not end private trading for the client's life).
                    now = trio.current_time()
                    if refused_since is None:
                        refused_since = now
                    if not self._logged_in_once or now - refused_since >= (
                            self.opts.relogin_timeout):
                        raise err from None
                self.host.emit("exception", self.kind, err)
                continue
            except (TransportConnectError, TransportClosed, trio.TooSlowError) as exc:
                self.host.emit("exception", self.kind, exc)
                self._connect_failed(exc)
                continue
            attempt = 0
            self.last_connect_error = None
            expired_retry_done = False
            refused_since = None
            self._activate(conn)
            while True:
                while not (conn.ended.is_set() or conn.notice):
                    await conn.wait_changed()
                if conn.ended.is_set():
                    break
                # 64008: open the replacement first, then switch over.
                conn.notice = False
                try:
                    new = await self._establish()
                except (_LoginFailed, TransportConnectError, TransportClosed,
                        trio.TooSlowError) as exc:
                    self.host.emit("exception", self.kind, exc)
                    continue
                self._activate(new, replacing=True)
                self._retire(conn, new)
                conn = new
            self._lost(conn)
            attempt = 1  # the first retry after a loss waits 0-100 ms, not zero

    def _connect_failed(self, exc: BaseException) -> None:
        """Record why opening a connection failed; fail fast when it cannot succeed.

        A permanent failure (DNS, refused port, TLS, HTTP 3xx/4xx) before this
        session has ever been open is a configuration mistake: every waiter and
        every later call gets ``OkxConnectError`` at once. Once a connection has
        been open, the URL is known to be right and every failure is retried.

        Raises:
            OkxConnectError: the failure is permanent and nothing was ever open.
        """
        if isinstance(exc, trio.TooSlowError):
            exc = TransportConnectError(
                f"timed out opening {self.url} (connect_timeout "
                f"{self.opts.connect_timeout:g} s, login_timeout {self.opts.login_timeout:g} s)")
        self.last_connect_error = exc
        if (isinstance(exc, TransportConnectError) and exc.permanent
                and not self._ever_connected):
            raise OkxConnectError(f"cannot open the {self.kind} connection ({self.url}): {exc}",
                                  self.kind, self.url) from exc

    async def _establish(self) -> Connection:
        await self.host.pace_connect()
        opts = self.opts
        assert self._nursery is not None
        with trio.fail_after(opts.connect_timeout):
            transport = await self.host.connect(self.url, self._nursery)
        self._numbers += 1
        conn = Connection(transport, self._numbers, self.kind, self._connection_ended)
        self.connections.append(conn)
        # start(), not start_soon(): its reader must run before the login is sent
        # (the answer must find it), and a public connection is activated at once.
        await self._nursery.start(self._connection_task, conn)
        if not self._ever_connected:
            self.host.emit("open", self.kind, self.url)
        if self.needs_login:
            creds = self.opts.credentials
            if creds is None:
                conn.end(TransportClosed(1000, "no credentials"))
                raise OkxAuthError("60027", "credentials are required", self.kind)
            conn.awaiting_login = True
            ts = str(int((_clock.wall_ms() + self.host.time_offset_ms) / 1000))
            frame = encode_login(creds.api_key, creds.secret_key, creds.passphrase, ts)
            conn.control.record(trio.current_time())
            try:
                with trio.fail_after(opts.login_timeout):
                    await transport.send(frame)
                    while conn.login_result is None and not conn.ended.is_set():
                        await conn.wait_changed()
            except trio.TooSlowError:
                conn.end(TransportClosed(1000, "login timed out"))
                raise
            except TransportClosed as exc:
                conn.end(exc)
                raise
            if conn.login_result is None:
                raise conn.end_reason or TransportClosed()
            conn.awaiting_login = False
            result = conn.login_result
            if isinstance(result, ErrorEvent):
                conn.end(TransportClosed(1000, "login failed"))
                raise _LoginFailed(result.code, result.msg)
            self._logged_in_once = True
            self.host.emit("authenticated", self.kind, conn.conn_id)
        if conn.ended.is_set():
            # Lost right after the login ack (or the open): its tasks are gone, so
            # it cannot be activated; the supervisor treats it as a failed attempt.
            raise conn.end_reason or TransportClosed()
        return conn

    def _activate(self, conn: Connection, *, replacing: bool = False) -> None:
        self.active = conn
        if replacing:
            self.host.emit("reconnected", self.kind, "switched over after a 64008 notice")
        elif self._ever_connected:
            self.host.emit("reconnected", self.kind, conn.conn_id)
        self._ever_connected = True
        for hook in self.on_activated:
            hook(self)
        # Its writer, started with its other tasks, waits for this: nothing is
        # started here, in a nursery that may have closed since (the client's
        # scope cancelled just as the connection became ready).
        conn.activated.set()
        self._doorbell.set()
        self.ready.set()
        self._wake()

    def _retire(self, old: Connection, new: Connection) -> None:
        old.retiring = True
        self._doorbell.set()  # wake its writer so it stops

        def new_is_settled() -> bool:
            # What was queued for the new connection (the resubscriptions) has been
            # sent and acknowledged, so no push falls between the two.
            return not self._control and not any(p.control for p in new.requests.values())

        async def close_when_drained() -> None:
            with trio.move_on_after(RETIRE_GRACE):
                # Every request written on the old connection has its answer...
                while old.requests and not old.ended.is_set():
                    await old.wait_changed()
                # ...and the new connection has taken over every arg.
                while not (new_is_settled() or new.ended.is_set() or old.ended.is_set()):
                    await new.wait_changed()
            old.end(TransportClosed(1000, "replaced after a restart notice"))

        assert self._nursery is not None
        self._nursery.start_soon(close_when_drained)

    def _connection_ended(self, conn: Connection) -> None:
        """Called by ``conn.end()`` first thing: the session forgets it."""
        if conn in self.connections:
            self.connections.remove(conn)
        if self.active is conn:
            self.active = None
            self.ready = trio.Event()
        # Frames queued only for it are not needed any more.
        for p in [p for p in self._control if p.target is conn]:
            self._control.remove(p)
            self._not_needed(p)
        self._wake()

    def _lost(self, conn: Connection) -> None:
        if self.closing:
            return
        self.reconnects += 1
        self.host.emit("reconnect", self.kind, conn.end_reason)

    def _fail(self, exc: OkxError) -> None:
        if self.failed is None:
            self.failed = exc
        # Written requests belong to their connections: ending them fails those
        # (outcome unknown, never this error); the rest were never sent.
        for conn in list(self.connections):
            conn.end(TransportClosed(1000, f"the {self.kind} connection failed"))
        for p in list(self.pending.values()):
            if not p.done:
                p.resolve(p.copy_error(exc, self.kind))
        for hook in self.on_failed:
            hook(self, exc)
        self._wake()

    async def aclose(self) -> None:
        """Stop reconnecting, fail every waiter, close connections politely."""
        self.closing = True
        self._wake()
        for p in list(self.pending.values()):
            if not p.done and not p.written:
                p.resolve(p.error(OkxNotSent, "the client is closing", self.kind))
        conn = self.active
        if conn is not None and not conn.ended.is_set():
            with trio.move_on_after(CLOSE_WAIT, shield=True):
                await conn.transport.aclose(1000, "client closing")
        for conn in list(self.connections):
            conn.end(TransportClosed(1000, "client closing"))

    # ------------------------------------------------------------ connection tasks

    async def _connection_task(
        self, conn: Connection, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            with conn.cancel_scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._reader, conn)
                    nursery.start_soon(self._heartbeat, conn)
                    nursery.start_soon(self._writer, conn)
                    task_status.started()
        finally:
            # Ended from outside (the client's own scope cancelled, the client
            # closing): its tasks are gone, no close handshake can be waited for.
            external = conn.end_reason is None or self.closing
            conn.end(conn.end_reason or TransportClosed(1000, "closed"))
            with trio.CancelScope(shield=True):
                if not external:
                    with trio.move_on_after(DROP_CLOSE_WAIT):
                        await conn.transport.aclose(1000, "")
                else:
                    conn.transport.abort()

    async def _reader(self, conn: Connection) -> None:
        transport = conn.transport
        # Every message of one socket read at once: one await and one clock
        # reading per read, not per message.
        receive_many = transport.receive_many
        # Answers are matched to what was written on this connection.
        written = conn.requests
        try:
            while True:
                batch = await receive_many()
                conn.last_rx = trio.current_time()
                for data in batch:
                    ev = decode_frame(data)
                    if type(ev) is Push:
                        handler = self.push_handler
                        if handler is not None and (conn is self.active or conn.retiring):
                            try:
                                handler(ev, conn)
                            except Exception as exc:
                                # A consumer's fault never ends the reader (the
                                # subscriptions isolate their own; this is the last net).
                                self._frame_failed(exc)
                    elif type(ev) is Response:
                        p = written.get(ev.id)
                        if p is not None and not p.control and ev.op == p.op:
                            p.resolve(ev)
                        else:
                            try:
                                self._odd_response(conn, ev)
                            except Exception as exc:
                                self._frame_failed(exc)
                    elif type(ev) is Pong:
                        pass
                    elif type(ev) is Ping:
                        conn.owe_pong = True
                        self._doorbell.set()
                    else:
                        try:
                            self._on_event(conn, ev)
                        except Exception as exc:
                            self._frame_failed(exc)
        except TransportClosed as exc:
            conn.end(exc)

    def _frame_failed(self, exc: Exception) -> None:
        log.error("%s: handling a received frame failed", self.kind, exc_info=exc)
        self.host.emit("exception", self.kind, exc)

    # -- what an answer is believed for
    #
    # An answer is taken only for a request written on the connection it came
    # from, and only in the shape of that request's op (a response echoing the
    # op for a trade op, a subscribe/unsubscribe event for those). An answer for
    # a request not written there (request ids are never reused, so the server
    # cannot know it) is reported and dropped: the request goes on. An answer of
    # the wrong shape for a written request fails it with OkxProtocolError: the
    # exchange has it, what it did is unknown.

    def _written_here(self, conn: Connection, id: str | None, *, report: bool = True
                      ) -> Pending | None:
        """The request ``id`` answers, if it was written on ``conn`` (which owns it);
        else None (an answer for a request of this client not written there is
        reported)."""
        if not id:
            return None
        p = conn.requests.get(id)
        if p is not None:
            return p
        other = self.pending.get(id)
        if other is None:
            log.debug("%s: answer to an unknown or expired id", self.kind)
        elif report and not other.done:
            where = "on another connection" if other.written else "before it was written"
            self._stray(f"an answer for request {id} ({other.op}) arrived {where}; ignored")
        return None

    def _stray(self, message: str) -> None:
        log.warning("%s: %s", self.kind, message)
        self.host.emit("exception", self.kind, OkxProtocolError(message))

    def _mismatch(self, p: Pending, what: str) -> None:
        p.resolve(OkxProtocolError(
            f"answered with {what} (outcome unknown)", p.op, p.id, p.cl_ord_id(), p.args,
            self.kind,
        ))

    def _odd_response(self, conn: Connection, ev: Response) -> None:
        p = self._written_here(conn, ev.id)
        if p is not None:
            self._mismatch(p, f"a response for op {ev.op!r}")

    def _on_event(self, conn: Connection, ev: object) -> None:
        if isinstance(ev, (SubscribeAck, UnsubscribeAck)):
            conn.conn_id = ev.conn_id or conn.conn_id
            op = "subscribe" if isinstance(ev, SubscribeAck) else "unsubscribe"
            if ev.id and (ev.id in conn.requests or ev.id in self.pending):
                p = self._written_here(conn, ev.id)
                if p is None:
                    return
                if p.op != op:
                    self._mismatch(p, f"an {op} event")
                elif not _echoes(p.args, ev.arg):
                    self._mismatch(p, f"an {op} ack for another arg {ev.arg!r:.200}")
                else:
                    p.resolve(ev)
                return
            p = self._control_request_of_ack(conn, ev)
            if p is not None:
                p.resolve(ev)
        elif isinstance(ev, LoginAck):
            conn.conn_id = ev.conn_id or conn.conn_id
            if conn.awaiting_login and conn.login_result is None:
                conn.set_login_result(ev)
            else:
                self._stray("a login ack while no login was awaited; ignored")
        elif isinstance(ev, ErrorEvent):
            conn.conn_id = ev.conn_id or conn.conn_id
            if ev.id and not ev.login:
                p = self._written_here(conn, ev.id, report=False)
                if p is not None:
                    p.resolve(OkxApiError(ev.code, ev.msg, p.op, p.id))
                else:
                    # For a request already given up on (or none of ours): the
                    # exchange's word is still worth reporting.
                    self.host.emit("exception", self.kind,
                                   OkxApiError(ev.code, ev.msg, None, ev.id))
            elif (conn.awaiting_login and conn.login_result is None
                  and (ev.login or ev.code in LOGIN_ANSWER_CODES)):
                # Login results come from login answers only, and the first one
                # stands: a later error (even in the same read) changes nothing.
                conn.set_login_result(ev)
            else:
                self.host.emit("exception", self.kind, OkxApiError(ev.code, ev.msg, None, ev.id))
        elif isinstance(ev, ChannelConnCount):
            self.host.emit("conn-count", self.kind, ev)
            for hook in self.on_conn_count:
                hook(self, ev)
        elif isinstance(ev, Notice):
            self.host.emit("notice", self.kind, ev)
            if ev.code == RESTART_NOTICE_CODE and conn is self.active:
                conn.ask_replacement()
        elif isinstance(ev, Malformed):
            self.host.emit("exception", self.kind,
                             OkxProtocolError(f"{ev.reason}: {ev.text[:200]!r}"))
        elif isinstance(ev, OtherEvent):
            log.debug("%s: unhandled event %r", self.kind, ev.event)

    def _control_request_of_ack(
        self, conn: Connection, ack: SubscribeAck | UnsubscribeAck
    ) -> Pending | None:
        """The subscribe/unsubscribe request a ``subscribe``/``unsubscribe`` event answers.

        By ``id`` when the event carries one we know. OKX's generic unsubscribe
        page shows neither an ``id`` in the request nor one in the answer, so an
        event without a known ``id`` is matched by its ``arg``: the oldest
        request of the same op written on this connection, still unanswered,
        whose single arg is the event's (exactly, else contained in it: OKX
        may add fields such as ``uid``). Every request here has one arg, and
        OKX answers each arg with its own event.
        """
        # Only a request written on this connection (it owns them) can be answered here.
        written = conn.requests
        if ack.id:
            p = written.get(ack.id)
            if p is not None:
                return p
        op = "subscribe" if isinstance(ack, SubscribeAck) else "unsubscribe"
        arg = ack.arg
        loose: Pending | None = None
        for p in written.values():
            if not p.control or p.op != op or p.done or len(p.args) != 1:
                continue
            sent = p.args[0]
            if sent == arg:
                return p
            if loose is None and sent.items() <= arg.items():
                loose = p
        return loose

    async def _heartbeat(self, conn: Connection) -> None:
        interval = self.opts.heartbeat_interval
        window = self.opts.pong_timeout
        while True:
            await trio.sleep_until(conn.last_rx + interval)
            if trio.current_time() < conn.last_rx + interval:
                continue
            sent_at = trio.current_time()
            conn.ping_due = True
            self._doorbell.set()
            await trio.sleep_until(sent_at + window)
            if conn.last_rx < sent_at:
                conn.end(TransportClosed(1006, "no pong within the heartbeat window"))
                return

    def _rederive_exp_time(self, p: Pending) -> None:
        assert p.exp_time is not None
        assert p.exp_offset is not None
        offset = self.host.time_offset_ms
        p.exp_time += offset - p.exp_offset
        p.exp_offset = offset
        p.frame = encode_request(p.id, p.op, p.args, p.exp_time)

    async def _writer(self, conn: Connection) -> None:
        await conn.activated.wait()
        send = conn.transport.send
        send_many = conn.transport.send_many
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
                    ready_at = conn.control.ready_at(trio.current_time())
                    if ready_at == -math.inf:
                        p = control.popleft()
                        if p.abandoned or p.done:
                            continue
                        if p.target is not None and p.target is not conn:
                            self._not_needed(p)
                            continue
                        conn.control.record(trio.current_time())
                        p.written_on(conn)
                        await send(p.frame)
                        continue
                    wake_at = ready_at
                try:
                    p = recv_nowait()
                except trio.WouldBlock:
                    if wake_at == math.inf:
                        # A cancel scope costs ~7 µs; only a control deadline needs one.
                        await self._doorbell.wait()
                    else:
                        with trio.move_on_at(wake_at):
                            await self._doorbell.wait()
                    continue
                if p.abandoned or p.done:
                    continue
                # Requests queued meanwhile go out in the same write.
                batch = [p]
                drained = False
                while len(batch) < WRITE_BATCH:
                    try:
                        q = recv_nowait()
                    except trio.WouldBlock:
                        drained = True
                        break
                    if not (q.abandoned or q.done):
                        batch.append(q)
                offset = self.host.time_offset_ms
                for q in batch:
                    if q.exp_offset is not None and q.exp_offset != offset:
                        self._rederive_exp_time(q)
                    q.written_on(conn)
                if len(batch) == 1:
                    await send(batch[0].frame)
                else:
                    await send_many([q.frame for q in batch])
                doorbell = self._doorbell
                if (drained and not doorbell.is_set() and not control
                        and not (conn.owe_pong or conn.ping_due)
                        and conn is self.active and not conn.ended.is_set()):
                    # The top of the loop would find nothing to do: the queue
                    # was empty before the write and the doorbell has not rung
                    # since (a request is queued and the doorbell rung in one
                    # step). Wait for it now, without a second look at the
                    # empty queue (a WouldBlock raised and caught per request).
                    await doorbell.wait()
        except TransportClosed as exc:
            conn.end(exc)



def _echoes(sent: Sequence[Mapping[str, Any]], acked: Mapping[str, Any]) -> bool:
    """An ack's arg names the arg sent: the same channel, and no field both carry
    with different values (OKX echoes the arg "as subscribed"; it may add a field
    such as ``uid``, and its examples leave some filters out)."""
    if len(sent) != 1:
        return False
    arg = sent[0]
    if acked.get("channel") != arg.get("channel"):
        return False
    return all(arg[k] == v for k, v in acked.items() if k in arg)
