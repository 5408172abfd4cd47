"""One live connection and what it owns: ``Connection`` and ``Pending``.

The session (``_session``) runs the tasks; these are the state they share.

A ``Connection`` owns everything that dies with it:

* ``requests``: every request written on it that still awaits its answer
  (the writer puts it there; its answer, its deadline or its caller's
  cancellation takes it out). When the connection ends, for whatever reason
  and whether it is the active one or one being retired after a 64008 notice,
  each is failed at once with ``OkxConnectionLost``.
* ``args``: the subscription args acknowledged on it (the subscription layer
  puts them there as ``ArgHolder`` s). When the connection ends, each
  holder is told (``connection_lost``), so its subscribers get a ``Gap`` unless
  the arg is live on another connection by then.

Nothing is left for another part to clean up, and the count of what a
connection still owes an answer for (``len(requests)``) is right on every exit
path: answered, timed out, cancelled, or the connection ended.

A ``Pending`` is one request waiting for its answer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import trio

from ._exceptions import OkxConnectionLost, OkxError, OkxRequestError, copy_error
from ._okx import CONTROL_BUDGET, CONTROL_WINDOW
from ._protocol import ErrorEvent, LoginAck
from ._ratelimit import EventWindow
from ._transport import Transport, TransportClosed

__all__ = ["CONTROL_LIMIT", "CONTROL_SPAN", "ArgHolder", "Connection", "Pending"]

CONTROL_LIMIT = CONTROL_BUDGET - 10
"""Subscribe, unsubscribe and login frames a connection sends in any
``CONTROL_SPAN``: a margin under OKX's 480 per hour, so that the
exchange's own clock and rounding never count one too many (60014)."""
CONTROL_SPAN = CONTROL_WINDOW + 5.0
"""The span of ``CONTROL_LIMIT``, seconds: OKX's hour plus a margin."""


@attrs.define(eq=False)
class Pending:
    """A request waiting for its answer (internal).

    It ends exactly once: ``resolve`` (an answer, or an error for its
    waiter) or ``abandon`` (its waiter left: deadline or cancellation).
    Either takes it off the connection it was written on.
    """

    id: str
    op: str
    frame: bytes
    control: bool = False
    args: Sequence[Mapping[str, Any]] = ()
    event: trio.Event = attrs.field(factory=trio.Event)
    result: Any = None
    written: bool = False
    abandoned: bool = False
    conn: Connection | None = None
    """The connection it was written on (``None`` until written)."""
    target: Connection | None = None
    """Only to be written on this connection (an unsubscribe of an arg live there)."""
    callback: Callable[[Pending], None] | None = None
    exp_time: int | None = None
    exp_offset: int | None = None
    """The clock offset ``exp_time`` was derived with (None: given by the user)."""

    @property
    def done(self) -> bool:
        return self.event.is_set()

    def written_on(self, conn: Connection) -> None:
        """The writer put it on ``conn``'s socket: ``conn`` owns it from now on."""
        self.written = True
        self.conn = conn
        conn.requests[self.id] = self

    def resolve(self, result: Any) -> None:
        """End it with ``result`` (a response, an ack, or an error for the waiter)."""
        if self.event.is_set():
            return
        self.result = result
        self.event.set()
        self._release()
        if self.callback is not None:
            self.callback(self)

    def abandon(self) -> None:
        """Its waiter left without an answer: never write it, owe nothing for it."""
        if self.abandoned:
            return
        self.abandoned = True
        self._release()

    def _release(self) -> None:
        conn = self.conn
        if conn is not None and conn.requests.get(self.id) is self:
            del conn.requests[self.id]
            if conn.retiring or self.control:
                # Only a retiring connection's drain and the settling of a new
                # connection's subscriptions wait on the table: waking the
                # supervisor (and whoever else waits) for every answer cost
                # each request a task step.
                conn.wake()

    def error(self, cls: type[OkxRequestError], message: str, kind: str) -> OkxRequestError:
        """An outcome error naming this request (op, id, clOrdId, args)."""
        return cls(message, self.op, self.id, self.cl_ord_id(), self.args, kind)

    def copy_error(self, exc: OkxError, kind: str) -> OkxError:
        """This request's own copy of a stored failure: a request error is rebuilt
        to name this request, any other error copied."""
        if isinstance(exc, OkxRequestError):
            err = self.error(type(exc), exc.message, kind)
            err.__cause__ = exc.__cause__
            return err
        return copy_error(exc)

    def cl_ord_id(self) -> str | None:
        if self.args:
            value = self.args[0].get("clOrdId")
            if isinstance(value, str):
                return value
        return None


class ArgHolder(Protocol):
    """A subscription arg acknowledged on a connection (the subscription layer's)."""

    def connection_lost(self, conn: Connection) -> None:
        """``conn``, where this arg was live, has ended."""


class Connection:
    """One live transport and what it owns (internal; see the module docstring)."""

    def __init__(
        self,
        transport: Transport,
        number: int,
        kind: str,
        on_end: Callable[[Connection], None] | None = None,
    ) -> None:
        self.transport = transport
        self.number = number
        self.kind = kind
        self._on_end = on_end
        self.last_rx = trio.current_time()
        self.owe_pong = False
        self.ping_due = False
        self.ended = trio.Event()
        self.end_reason: TransportClosed | None = None
        self.notice = False
        """A 64008 notice asked for this connection to be replaced."""
        self.login_result: LoginAck | ErrorEvent | None = None
        self.awaiting_login = False
        self.conn_id: str | None = None
        self.requests: dict[str, Pending] = {}
        """Requests written here and not answered, abandoned or failed yet."""
        self.args: dict[Hashable, ArgHolder] = {}
        """Subscription args acknowledged here, by key."""
        self.retiring = False
        self.control = EventWindow(CONTROL_LIMIT, CONTROL_SPAN)
        """Subscribe, unsubscribe and login frames sent (OKX: 480 per hour; see
        ``CONTROL_LIMIT``)."""
        self.cancel_scope = trio.CancelScope()
        self.activated = trio.Event()
        """Set when the session makes it the active connection: its writer starts."""
        self._changed: trio.Event | None = None

    def __repr__(self) -> str:
        state = "ended" if self.ended.is_set() else "retiring" if self.retiring else "open"
        return f"<Connection {self.kind} #{self.number} {state} requests={len(self.requests)}>"

    # -- waiting for a change (no nursery in anyone's task)

    def wake(self) -> None:
        """Something a waiter of ``wait_changed`` may care about changed."""
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    async def wait_changed(self) -> None:
        """Until the next ``wake`` (the caller re-checks its condition)."""
        if self._changed is None:
            self._changed = trio.Event()
        await self._changed.wait()

    def ask_replacement(self) -> None:
        """Ask the session to replace this connection (make-before-break)."""
        self.notice = True
        self.wake()

    def set_login_result(self, result: LoginAck | ErrorEvent) -> None:
        """The answer to this connection's login."""
        self.login_result = result
        self.wake()

    # -- the end

    def end(self, reason: TransportClosed) -> None:
        """End the connection: stop its tasks, fail what was written on it, and tell
        the holders of the args live on it. Idempotent; never blocks."""
        if self.ended.is_set():
            return
        self.end_reason = reason
        self.ended.set()
        self.cancel_scope.cancel()
        if self._on_end is not None:
            self._on_end(self)
        for p in list(self.requests.values()):
            p.resolve(p.error(
                OkxConnectionLost,
                f"the connection dropped after the request was sent (outcome unknown): {reason}",
                self.kind,
            ))
        self.requests.clear()
        holders = list(self.args.values())
        self.args.clear()
        for holder in holders:
            holder.connection_lost(self)
        self.wake()
