"""Fault injection for the simulator (``Simulator.faults``).

Every fault is a plain synchronous call made from the test (or the program)
running the simulator; it takes effect at once for live connections, or for the
next matching event. ``clear()`` removes every standing fault.

Ops named by the op faults (``Faults.delay``, ``Faults.swallow``,
``Faults.drop_on``) are the request's ``op`` (``"order"``, ``"login"``,
``"subscribe"``, ``"sprd-cancel-order"``...) or ``"ping"`` for the text ping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

import attrs
import trio

from ._emits import Emit
from ._rules import PATHS

When = Literal["before", "after"]
DropMode = Literal["close", "reset"]


def _check_path(path: str | None) -> str | None:
    if path is not None and path not in PATHS:
        raise ValueError(f"path must be one of {PATHS} or None, got {path!r}")
    return path


def _check_when(when: str) -> When:
    if when not in ("before", "after"):
        raise ValueError(f"when must be 'before' or 'after', got {when!r}")
    return when  # type: ignore[return-value]


def _check_mode(mode: str) -> DropMode:
    if mode not in ("close", "reset"):
        raise ValueError(f"mode must be 'close' or 'reset', got {mode!r}")
    return mode  # type: ignore[return-value]


def _check_count(count: int | None, field: str = "count") -> int | None:
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"{field} must be an int or None")
    if count < 1:
        raise ValueError(f"{field} must be >= 1")
    return count


def _check_op(op: str) -> str:
    if not isinstance(op, str) or not op:
        raise ValueError("op must be a non-empty string")
    return op


def _check_code(code: int) -> int:
    if isinstance(code, bool) or not isinstance(code, int) or not 1000 <= code <= 4999:
        raise ValueError(f"code must be a WebSocket close code (1000-4999), got {code!r}")
    return code


@attrs.define
class _OpRule:
    op: str
    when: When
    remaining: int | None
    mode: DropMode = "close"
    code: int = 1011
    reason: str = ""

    def take(self) -> bool:
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@attrs.frozen
class DropAction:
    """How to drop a connection (returned by ``Faults.take_drop_on``)."""

    mode: DropMode
    code: int
    reason: str


NOTICE_CODE = "64008"
NOTICE_MSG = "The connection will soon be closed for a service upgrade. Please reconnect."

LOGIN_MESSAGES = {
    "60004": "Invalid timestamp",
    "60005": "Invalid apiKey",
    "60006": "Timestamp request expired",
    "60007": "Invalid sign",
    "60009": "Login failure",
    "60014": "Requests too frequent",
    "60022": "Bulk login partially succeeded",
    "60023": "Bulk login requests too frequent",
    "60024": "Wrong passphrase",
    "60026": "Batch login by APIKey and token simultaneously is not supported.",
    "60031": "The WebSocket endpoint does not allow multiple or repeated logins.",
    "60032": "API key doesn't exist.",
    "63999": "Login failed due to internal error. Please try again later.",
    "50101": "APIKey does not match current environment.",
}


class FaultTarget(Protocol):
    """What a connection fault needs from one live connection."""

    def request_close(self, code: int, reason: str) -> None:
        """Close now with ``code`` and ``reason``."""

    def request_abort(self) -> None:
        """Drop now without a close handshake."""

    def close_later(self, seconds: float, code: int, reason: str) -> None:
        """Close ``seconds`` (trio clock) from now."""

    def send_event(self, obj: dict[str, Any]) -> None:
        """Queue an event frame."""

    def send_raw(self, payload: bytes) -> None:
        """Queue ``payload`` as a text frame as is."""


class Faults:
    """Fault injection; reach it as ``sim.faults``.

    Connection faults act on the live connections of a path (``"public"``,
    ``"private"``, ``"business"``; ``None`` means every path). Op faults and
    book faults are standing rules consumed by the next matching events.

    Not constructed by users (the simulator makes one).

    Args:
        connections: the live connections of a path (``None``: all).
        reset_book_sequence: make the next book update of an instrument restart
            its ``seqId`` (the exchange's).
    """

    def __init__(
        self,
        connections: Callable[[str | None], Sequence[FaultTarget]],
        reset_book_sequence: Callable[[str], None],
    ) -> None:
        self._connections = connections
        self._reset_book_sequence = reset_book_sequence
        self.clear()

    def clear(self) -> None:
        """Remove every standing fault (muted pongs, op rules, refusals, book faults)."""
        self._muted_all = False
        self._muted_paths: set[str] = set()
        self._delays: dict[str, float] = {}
        self._swallows: list[_OpRule] = []
        self._drop_ons: list[_OpRule] = []
        self._refuse_until: float | None = None
        self._refuse_count: int | None = None
        self._refuse_always = False
        self._login_code: str | None = None
        self._login_remaining: int | None = None
        self._book_gap: set[str] = set()
        self._book_no_snapshot: set[str] = set()
        self._book_bad_checksum: set[str] = set()

    # -- connection faults ---------------------------------------------------

    def drop(
        self,
        path: str | None = None,
        *,
        mode: str = "close",
        code: int = 1011,
        reason: str = "",
    ) -> int:
        """Drop the matching live connections now.

        Args:
            path: only connections on this path (``None``: all).
            mode: ``"close"`` sends a close frame with ``code`` and ``reason``;
                ``"reset"`` drops the connection without a close handshake (a TCP
                reset for sockets, an abort for in-memory connections).
            code: the close code for ``mode="close"``.
            reason: the close reason for ``mode="close"``.

        Returns:
            How many connections were dropped.
        """
        _check_path(path)
        mode_ = _check_mode(mode)
        _check_code(code)
        conns = self._connections(path)
        for conn in conns:
            if mode_ == "reset":
                conn.request_abort()
            else:
                conn.request_close(code, reason)
        return len(conns)

    def mute_pongs(self, path: str | None = None) -> None:
        """Stop answering text ``ping`` and control pings on a path (``None``: all).

        Applies to live and new connections until ``unmute_pongs``.
        """
        _check_path(path)
        if path is None:
            self._muted_all = True
        else:
            self._muted_paths.add(path)

    def unmute_pongs(self) -> None:
        """Answer pings again on every path."""
        self._muted_all = False
        self._muted_paths.clear()

    def pongs_muted(self, path: str) -> bool:
        """True while pings on ``path`` go unanswered (used by the server)."""
        return self._muted_all or path in self._muted_paths

    def notice(self, path: str | None = None, close_after: float | None = None) -> int:
        """Send the 64008 "service upgrade" notice to the matching connections.

        OKX documents the notice for the public and private URLs; whether it
        also comes on business is unconfirmed (the simulator sends it on any).

        Args:
            path: only connections on this path (``None``: all).
            close_after: if given, close each of those connections (code 1001)
                this many seconds (trio clock) later.

        Returns:
            How many connections got the notice.
        """
        _check_path(path)
        if close_after is not None and (not math.isfinite(close_after) or close_after < 0):
            raise ValueError("close_after must be a finite number >= 0")
        conns = self._connections(path)
        for conn in conns:
            conn.send_event({"event": "notice", "code": NOTICE_CODE, "msg": NOTICE_MSG})
            if close_after is not None:
                conn.close_later(close_after, 1001, "service upgrade")
        return len(conns)

    def malformed(self, path: str | None = None, payload: bytes | str = b"{not json") -> int:
        """Send ``payload`` as a text frame (it need not be JSON) to the matching connections.

        Returns:
            How many connections got it.
        """
        _check_path(path)
        if isinstance(payload, str):
            payload = payload.encode()
        if not isinstance(payload, bytes):
            raise TypeError("payload must be bytes or str")
        conns = self._connections(path)
        for conn in conns:
            conn.send_raw(payload)
        return len(conns)

    def refuse_connections(self, seconds: float | None = None, count: int | None = None) -> None:
        """Refuse new connections: HTTP 503 on the WebSocket upgrade for sockets,
        ``TransportConnectError`` for in-memory connections.

        Args:
            seconds: refuse for this long (trio clock).
            count: refuse only this many attempts.

        With neither, refuse until ``clear``. With both, whichever ends first.
        """
        if seconds is not None and (not math.isfinite(seconds) or seconds < 0):
            raise ValueError("seconds must be a finite number >= 0")
        self._refuse_count = _check_count(count)
        self._refuse_until = None if seconds is None else trio.current_time() + seconds
        self._refuse_always = seconds is None and count is None

    def take_refusal(self) -> bool:
        """True if the next connection attempt must be refused (consumes the count)."""
        if self._refuse_always:
            return True
        if self._refuse_until is None and self._refuse_count is None:
            return False
        if self._refuse_until is not None and trio.current_time() >= self._refuse_until:
            self._refuse_until = None
            self._refuse_count = None
            return False
        if self._refuse_count is not None:
            self._refuse_count -= 1
            if self._refuse_count <= 0:
                self._refuse_count = None
                self._refuse_until = None
        return True

    def reject_logins(self, code: str = "60009", count: int | None = None) -> None:
        """Answer the next logins with an error event carrying ``code``.

        Args:
            code: the OKX error code (``"60009"`` login failure, ``"60023"``
                too frequent, ``"63999"`` internal error...).
            count: how many logins to reject (``None``: all until ``clear``).
        """
        if not isinstance(code, str) or not code.isdigit():
            raise ValueError("code must be a string of digits such as '60009'")
        self._login_code = code
        self._login_remaining = _check_count(count)

    def take_login_rejection(self) -> tuple[str, str] | None:
        """``(code, msg)`` if this login must be rejected (used by the server)."""
        code = self._login_code
        if code is None:
            return None
        if self._login_remaining is not None:
            self._login_remaining -= 1
            if self._login_remaining <= 0:
                self._login_code = None
                self._login_remaining = None
        return code, LOGIN_MESSAGES.get(code, "Login failure")

    # -- op faults -------------------------------------------------------------

    def delay(self, op: str, seconds: float) -> None:
        """Delay the responses to ``op`` by ``seconds`` (trio clock).

        The request is acted on at once (pushes it causes go out at once); only
        its response frames (response, ack or error event) are held back.
        ``seconds=0`` removes the delay.
        """
        _check_op(op)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("seconds must be a finite number >= 0")
        if seconds == 0:
            self._delays.pop(op, None)
        else:
            self._delays[op] = float(seconds)

    def delay_for(self, op: str) -> float:
        """The response delay for ``op`` (0: none)."""
        return self._delays.get(op, 0.0)

    def swallow(self, op: str, when: str = "before", count: int | None = 1) -> None:
        """Ignore requests for ``op``.

        Args:
            op: the op to swallow.
            when: ``"before"``: drop the request unread (nothing happens, no
                answer); ``"after"``: act on it but withhold the response.
            count: how many requests (``None``: all until ``clear``).
        """
        self._swallows.append(
            _OpRule(_check_op(op), _check_when(when), _check_count(count))
        )

    def take_swallow(self, op: str, when: str) -> bool:
        """True if this request must be swallowed at ``when`` (consumes the rule)."""
        return self._take(self._swallows, op, when) is not None

    def drop_on(
        self,
        op: str,
        when: str = "before",
        mode: str = "close",
        *,
        code: int = 1011,
        reason: str = "",
        count: int | None = 1,
    ) -> None:
        """Drop the connection when a request for ``op`` arrives.

        ``when="before"`` drops it before acting (the request never happened);
        ``when="after"`` acts on the request, delivers the pushes it causes to
        the account's other connections, then drops the connection without the
        response: the "outcome unknown" case.

        Args:
            op: the op that triggers the drop.
            when: ``"before"`` or ``"after"``.
            mode: ``"close"`` (close frame with ``code``/``reason``) or
                ``"reset"`` (TCP reset / abort).
            code: close code for ``mode="close"``.
            reason: close reason for ``mode="close"``.
            count: how many times (``None``: every time until ``clear``).
        """
        self._drop_ons.append(
            _OpRule(
                _check_op(op),
                _check_when(when),
                _check_count(count),
                _check_mode(mode),
                _check_code(code),
                reason,
            )
        )

    def take_drop_on(self, op: str, when: str) -> DropAction | None:
        """The drop to perform for this request at ``when``, if any (consumes the rule)."""
        rule = self._take(self._drop_ons, op, when)
        if rule is None:
            return None
        return DropAction(rule.mode, rule.code, rule.reason)

    @staticmethod
    def _take(rules: list[_OpRule], op: str, when: str) -> _OpRule | None:
        for rule in rules:
            if rule.op == op and rule.when == when and rule.take():
                if rule.remaining == 0:
                    rules.remove(rule)
                return rule
        return None

    # -- order-book faults -----------------------------------------------------

    def book_gap(self, inst_id: str) -> None:
        """Skip the next incremental book update of ``inst_id`` that some connection
        subscribes to (the first of ``books``, ``books-l2-tbt``, ``books-rpi``,
        ``books50-l2-tbt`` with a subscriber, in that order).

        Subscribers then see an update whose ``prevSeqId`` is not the last
        ``seqId`` they got: a sequence gap.
        """
        self._book_gap.add(_check_op(inst_id))

    def book_reset(self, inst_id: str) -> None:
        """Make the next book update of ``inst_id`` restart its sequence.

        The next update has ``seqId < prevSeqId`` (a valid chain, as after an
        OKX maintenance).
        """
        self._reset_book_sequence(_check_op(inst_id))

    def book_no_snapshot(self, inst_id: str) -> None:
        """The next subscriber to a book channel of ``inst_id`` gets no snapshot,
        only updates."""
        self._book_no_snapshot.add(_check_op(inst_id))

    def book_bad_checksum(self, inst_id: str) -> None:
        """The next book update of ``inst_id`` carries a wrong, non-zero checksum."""
        self._book_bad_checksum.add(_check_op(inst_id))

    def take_book_fault(self, kind: str, inst_id: str) -> bool:
        """True (once) if the book fault ``kind`` is armed for ``inst_id``."""
        pending = {
            "gap": self._book_gap,
            "no_snapshot": self._book_no_snapshot,
            "bad_checksum": self._book_bad_checksum,
        }[kind]
        if inst_id in pending:
            pending.discard(inst_id)
            return True
        return False

    def has_book_faults(self) -> bool:
        """True while any gap or checksum fault waits for an update."""
        return bool(self._book_gap or self._book_bad_checksum)

    def apply_book_faults(self, emit: Emit) -> Emit | None:
        """The push as the armed book faults leave it: ``None`` when a gap drops it,
        a wrong non-zero checksum when one is armed; other pushes unchanged."""
        if emit.action != "update" or emit.inst_id is None:
            return emit
        if self.take_book_fault("gap", emit.inst_id):
            return None
        # books-rpi has no checksum: the fault waits for a channel that has one.
        has_checksum = bool(emit.data) and "checksum" in emit.data[0]
        if has_checksum and self.take_book_fault("bad_checksum", emit.inst_id):
            data = []
            for item in emit.data:
                real = item.get("checksum") or 0
                bad = (real ^ 0x2F1E0D3C) or 1
                data.append({**item, "checksum": bad})
            emit = attrs.evolve(emit, data=data)
        return emit
