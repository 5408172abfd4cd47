"""One live connection and the requests in flight: ``Connection`` and ``Pending``.

The session (``_session``) runs the tasks; these are the state they share. A
:class:`Pending` is one request waiting for its answer; once the writer has
put it on a connection's socket it names that :class:`Connection`, which
counts what it still owes an answer for (``inflight``), so a lost connection
fails exactly the requests written on it, and a connection being replaced
(after a 64008 notice) closes once they are answered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from ._exceptions import OkxError, OkxRequestError, copy_error
from ._okx import CONTROL_BUDGET, CONTROL_WINDOW
from ._protocol import ErrorEvent, LoginAck
from ._ratelimit import EventWindow
from ._transport import Transport, TransportClosed

__all__ = ["Connection", "Pending"]


@attrs.define(eq=False)
class Pending:
    """A request waiting for its answer (internal)."""

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
    callback: Callable[[Pending], None] | None = None
    exp_time: int | None = None
    exp_offset: int | None = None
    """The clock offset ``exp_time`` was derived with (None: given by the user)."""

    @property
    def done(self) -> bool:
        return self.event.is_set()

    def resolve(self, result: Any) -> None:
        if self.event.is_set():
            return
        self.result = result
        self.event.set()
        if self.conn is not None:
            self.conn.inflight -= 1
            if self.conn.inflight <= 0:
                self.conn.quiet.set()
                if self.conn.retiring:
                    self.conn.drained.set()
        if self.callback is not None:
            self.callback(self)

    def error(self, cls: type[OkxRequestError], message: str, kind: str) -> OkxRequestError:
        """An outcome error naming this request (op, id, clOrdId, args)."""
        return cls(message, self.op, self.id, self.cl_ord_id(), self.args, kind)

    def copy_error(self, exc: OkxError, kind: str) -> OkxError:
        """This request's own copy of a stored failure: a request error is rebuilt
        to name this request, any other error copied."""
        if isinstance(exc, OkxRequestError):
            return self.error(type(exc), exc.message, kind)
        return copy_error(exc)

    def cl_ord_id(self) -> str | None:
        if self.args:
            value = self.args[0].get("clOrdId")
            if isinstance(value, str):
                return value
        return None


class Connection:
    """One live transport and its per-connection state (internal)."""

    def __init__(self, transport: Transport, number: int) -> None:
        self.transport = transport
        self.number = number
        self.last_rx = trio.current_time()
        self.owe_pong = False
        self.ping_due = False
        self.ended = trio.Event()
        self.end_reason: TransportClosed | None = None
        self.notice = trio.Event()
        self.login_event = trio.Event()
        self.login_result: LoginAck | ErrorEvent | None = None
        self.awaiting_login = False
        self.conn_id: str | None = None
        self.inflight = 0
        self.retiring = False
        self.drained = trio.Event()
        self.quiet = trio.Event()
        """Set whenever nothing written on this connection awaits an answer."""
        self.control = EventWindow(CONTROL_BUDGET, CONTROL_WINDOW)
        """Subscribe, unsubscribe and login frames sent (OKX: 480 per hour)."""
        self.cancel_scope = trio.CancelScope()
        self.nursery: trio.Nursery | None = None

    def end(self, reason: TransportClosed) -> None:
        if not self.ended.is_set():
            self.end_reason = reason
            self.ended.set()
            self.cancel_scope.cancel()
