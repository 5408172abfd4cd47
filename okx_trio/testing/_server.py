"""The simulator's server layer: sockets, connections, login, subscriptions, faults.

One TCP port (``trio.serve_tcp``) answers WebSocket upgrades on
``/ws/v5/public``, ``/ws/v5/private`` and ``/ws/v5/business`` (websockets'
sans-I/O ``ServerProtocol``) and plain HTTP GETs for the REST endpoints
(:mod:`._rest`). In-memory connections from :meth:`Simulator.connect_memory`
are served by the same :class:`SimConnection` code, so client tests can run
under ``trio.testing.MockClock``.

The exchange itself (matching, balances, books, trade-op validation) is the
pure-Python engine in :mod:`._engine`; this module owns the wire: login,
ping/pong, subscriptions and their pushes, idle closes, rate of control
requests, and fault injection (:mod:`._faults`).

Every timer uses trio's clock. Exchange timestamps (``ts``, login and
``expTime`` checks) use the wall clock plus ``Simulator.clock_offset_ms``.
"""

from __future__ import annotations

import functools
import hmac
import logging
import math
import random
import re
import ssl
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import attrs
import httpx
import orjson
import trio

from .._models import Credentials
from .._protocol import ID_RE, login_sign, route_channel, route_op
from .._transport import MemoryConnector, MemoryTransport
from ._faults import DropAction, Faults
from ._frames import FrameLog, FrameRecord
from ._links import MAX_FRAME, Link, LinkClosed, MemoryLink, Message, SocketLink
from ._rest import RestApi

if TYPE_CHECKING:
    from ._engine import Emit, Exchange, InstrumentSpec, Order

log = logging.getLogger("okx_trio.simulator")

DEFAULT_CREDENTIALS = Credentials(
    api_key="sim-api-key-0001",
    secret_key="SIMSECRET0123456789ABCDEF0123456",
    passphrase="Sim-Pass-1",
)
"""The account the CLI and :func:`open_simulator` use when none is given."""

WS_PATHS = {"/ws/v5/public": "public", "/ws/v5/private": "private", "/ws/v5/business": "business"}

# OKX: the args of one subscribe request must stay under 64 KB.
MAX_SUBSCRIBE = 64 * 1024
# OKX: 480 subscribe + unsubscribe + login requests per hour per connection.
CONTROL_LIMIT = 480
CONTROL_WINDOW = 3600.0
# Login timestamps more than 30 s from server time are refused (60006).
LOGIN_WINDOW_S = 30.0
# OKX: at most 30 connections per account and channel for these channels.
COUNTED_CHANNELS = frozenset(
    {"orders", "account", "positions", "balance_and_position", "liquidation-warning",
     "account-greeks"}
)
CONN_COUNT_LIMIT = 30
# Frames queued for one connection before it counts as a slow consumer (4005).
OUTBOUND_BUFFER = 10_000
# Book channels whose subscribers get an empty update after a quiet period.
BOOK_CHANNELS = frozenset({"books", "books-l2-tbt", "books50-l2-tbt", "books-elp"})
BOOK_HEARTBEAT_INTERVAL = 5.0
# Keep-alive HTTP connections idle longer than this are closed.
HTTP_IDLE_TIMEOUT = 30.0
MAX_HTTP_HEAD = 64 * 1024
# How much of a bad request the 60012 error echoes.
ECHO_LIMIT = 4096

_TS_RE = re.compile(r"^\d{1,12}(\.\d{1,9})?$")
_MATCH_FIELDS = (
    ("instId", "inst_id"),
    ("instType", "inst_type"),
    ("instFamily", "inst_family"),
    ("sprdId", "sprd_id"),
    ("ccy", "ccy"),
)

PathKind = Literal["public", "private", "business"]


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def path_kind(raw_path: str) -> str | None:
    """``"public"``/``"private"``/``"business"`` for a request path (query ignored)."""
    return WS_PATHS.get(urlsplit(raw_path).path.rstrip("/") or "/")


class _Subscription:
    """One subscribed arg on one connection."""

    __slots__ = ("_arg_bytes", "arg", "channel", "filters", "key", "private")

    def __init__(self, arg: dict[str, Any], key: bytes, private: bool) -> None:
        self.arg = arg
        self.key = key
        self.channel: str = arg["channel"]
        self.private = private
        filters = []
        for field, attr in _MATCH_FIELDS:
            want = arg.get(field)
            if want is None or (field == "instType" and want == "ANY"):
                continue
            filters.append((attr, want))
        self.filters: tuple[tuple[str, Any], ...] = tuple(filters)
        self._arg_bytes: dict[str | None, bytes] = {}

    def matches(self, emit: Emit) -> bool:
        return all(getattr(emit, attr) == want for attr, want in self.filters)

    def arg_bytes(self, uid: str | None) -> bytes:
        cached = self._arg_bytes.get(uid)
        if cached is None:
            arg = self.arg if uid is None else {**self.arg, "uid": uid}
            cached = self._arg_bytes[uid] = _dumps(arg)
        return cached


class _EncodedEmit:
    """An emit's data serialized once, shared by every subscriber."""

    __slots__ = ("emit", "tail")

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        parts = [b',"data":', _dumps(emit.data)]
        if emit.action is not None:
            parts.append(b',"action":' + _dumps(emit.action))
        if emit.extra:
            for k, v in emit.extra.items():
                parts.append(b"," + _dumps(k) + b":" + _dumps(v))
        parts.append(b"}")
        self.tail = b"".join(parts)

    def frame(self, sub: _Subscription, uid: str | None) -> bytes:
        return b'{"arg":' + sub.arg_bytes(uid) + self.tail


class _Closing(Exception):
    """Internal: the connection is being closed (stop handling this frame)."""


class SimConnection:
    """One client connection to the simulator (see ``Simulator.connections``).

    Read-only for users: ``conn_id``, ``path``, ``raw_path``, ``kind``
    (``"socket"``/``"memory"``), ``api_key`` (the first logged-in key or None),
    ``api_keys``, ``subscriptions`` (the args as the client sent them).
    """

    def __init__(self, sim: Simulator, link: Link, path: str, raw_path: str) -> None:
        self._sim = sim
        self._link = link
        self.conn_id: str = sim._new_conn_id()
        self.path: str = path
        self.raw_path = raw_path
        self.kind: str = link.kind
        self.api_keys: list[str] = []
        self._subs: dict[bytes, _Subscription] = {}
        self._by_channel: dict[str, list[_Subscription]] = {}
        self._out_send, self._out_recv = trio.open_memory_channel[bytes](OUTBOUND_BUFFER)
        self._scope = trio.CancelScope()
        self._nursery: trio.Nursery | None = None
        self._close_request: tuple[int, str] | None = None
        self._abort = False
        self._control_times: deque[float] = deque()
        self.opened_at = trio.current_time()
        self._last_activity = self.opened_at

    def __repr__(self) -> str:
        return (
            f"<SimConnection {self.conn_id} {self.path} {self.kind}"
            f" api_key={self.api_key!r} subs={len(self._subs)}>"
        )

    @property
    def api_key(self) -> str | None:
        """The (first) API key logged in on this connection, or ``None``."""
        return self.api_keys[0] if self.api_keys else None

    @property
    def subscriptions(self) -> list[dict[str, Any]]:
        """The subscribed args, as the client sent them."""
        return [dict(s.arg) for s in self._subs.values()]

    @property
    def closing(self) -> bool:
        """True once a close or abort was requested."""
        return self._close_request is not None or self._abort

    # -- lifecycle -------------------------------------------------------------

    async def serve(self) -> None:
        """Serve the connection until either side closes it."""
        link = self._link
        link.set_pong_filter(lambda: self._sim.faults.pongs_muted(self.path))
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    self._sim._register(self)
                    nursery.start_soon(self._writer)
                    nursery.start_soon(self._idle_watch)
                    await self._reader()
                    nursery.cancel_scope.cancel()
        except Exception:
            # A bug in the handler: log it and close only this connection.
            log.exception("simulator connection %s failed", self.conn_id)
            if self._close_request is None:
                self._close_request = (1011, "internal error")
        finally:
            self._sim._unregister(self)
            self._out_send.close()
            with trio.CancelScope(shield=True):
                if self._abort:
                    link.abort()
                else:
                    code, reason = self._close_request or (1001, "going away")
                    try:
                        await link.close(code, reason)
                    except Exception:
                        log.debug("close of %s failed", self.conn_id, exc_info=True)
                        link.abort()

    def request_close(self, code: int, reason: str) -> None:
        """Close this connection now with ``code`` (pending frames are discarded)."""
        if self._close_request is None and not self._abort:
            self._close_request = (code, reason)
        self._scope.cancel()

    def request_abort(self) -> None:
        """Drop this connection now without a close handshake (TCP reset for sockets)."""
        self._abort = True
        self._scope.cancel()

    def close_later(self, seconds: float, code: int, reason: str) -> None:
        """Close this connection ``seconds`` (trio clock) from now."""
        if self._nursery is None:
            return

        async def later() -> None:
            await trio.sleep(seconds)
            self.request_close(code, reason)

        self._nursery.start_soon(later)

    def _drop(self, action: DropAction) -> None:
        if action.mode == "reset":
            self.request_abort()
        else:
            self.request_close(action.code, action.reason)

    async def _reader(self) -> None:
        while True:
            try:
                message = await self._link.receive()
            except LinkClosed:
                return
            try:
                self._on_message(message)
            except _Closing:
                return

    async def _writer(self) -> None:
        recv = self._out_recv
        link = self._link
        while True:
            try:
                first = await recv.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                return
            batch = [first]
            # Drain what is already queued into one write.
            while len(batch) < 256:
                try:
                    batch.append(recv.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                    break
            try:
                await link.send_many(batch)
            except LinkClosed:
                self._scope.cancel()
                return

    async def _idle_watch(self) -> None:
        timeout = self._sim._idle_timeout
        if timeout is None:
            return
        while True:
            deadline = self._last_activity + timeout
            if trio.current_time() >= deadline:
                self.request_close(4004, f"No data received in {timeout:g}s")
                return
            await trio.sleep_until(deadline)

    # -- sending -----------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        """Queue one text frame for this connection (dropped if it is closing)."""
        if self.closing:
            return
        try:
            self._out_send.send_nowait(data)
        except trio.WouldBlock:
            self.request_close(4005, "Buffer is full, cannot write data")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        else:
            self._last_activity = trio.current_time()

    def send_raw(self, payload: bytes) -> None:
        """Queue ``payload`` as a text frame as is (fault injection)."""
        self.send_bytes(payload)

    def _event(self, obj: dict[str, Any]) -> bytes:
        obj["connId"] = self.conn_id
        return _dumps(obj)

    def send_event(self, obj: dict[str, Any]) -> None:
        """Queue an event frame (``connId`` added)."""
        self.send_bytes(self._event(obj))

    def _error(self, code: str, msg: str, req_id: Any = None) -> bytes:
        obj: dict[str, Any] = {}
        if isinstance(req_id, str):
            obj["id"] = req_id
        obj.update(event="error", code=code, msg=msg)
        return self._event(obj)

    def _invalid(self, text: str, req_id: Any = None) -> bytes:
        return self._error("60012", "Invalid request: " + text[:ECHO_LIMIT], req_id)

    # -- receiving ---------------------------------------------------------------

    def _on_message(self, message: Message) -> None:
        data = message.data
        sim = self._sim
        if len(data) > MAX_FRAME:
            # Sockets enforce this in websockets; memory links here.
            self.request_close(1009, "Request message exceeds the maximum frame length")
            raise _Closing
        text = data.decode("utf-8", "replace")
        obj: Any = None
        decoded = False
        if not message.binary and data != b"ping":
            try:
                obj = orjson.loads(data)
                decoded = True
            except orjson.JSONDecodeError:
                pass
        sim.frames.append(
            FrameRecord(
                self.conn_id, self.path, self.api_key, text, obj, trio.current_time(),
                message.binary,
            )
        )
        if message.binary:
            self.send_bytes(
                self._error("60012", "Invalid request: binary frames are not supported")
            )
            return
        if data == b"ping":
            muted = sim.faults.pongs_muted(self.path)
            self._run_op("ping", lambda: ([] if muted else [b"pong"], []))
            return
        if not decoded or type(obj) is not dict:
            self.send_bytes(self._invalid(text))
            return
        op = obj.get("op")
        req_id = obj.get("id")
        if not isinstance(op, str) or not op:
            self.send_bytes(self._invalid(text, req_id))
            return
        if op == "login":
            self._run_op(op, lambda: (self._login(obj, text), []))
        elif op in ("subscribe", "unsubscribe"):
            if op == "subscribe" and len(data) > MAX_SUBSCRIBE:
                self.request_close(1009, "Request message exceeds the maximum frame length")
                raise _Closing
            self._run_op(op, lambda: (self._subscriptions(op, obj, text), []))
        else:
            self._run_op(op, lambda: self._trade(op, obj))

    def _run_op(self, op: str, act: Any) -> None:
        """Act on one request with the op faults applied.

        ``act()`` returns ``(frames for this connection, emits for everyone)``.
        """
        sim = self._sim
        faults = sim.faults
        drop = faults.take_drop_on(op, "before")
        if drop is not None:
            self._drop(drop)
            raise _Closing
        if faults.take_swallow(op, "before"):
            return
        frames, emits = act()
        drop = faults.take_drop_on(op, "after")
        if drop is not None:
            self._drop(drop)
            sim._deliver(emits)
            raise _Closing
        if faults.take_swallow(op, "after"):
            sim._deliver(emits)
            return
        delay = faults.delay_for(op)
        if delay > 0 and frames and self._nursery is not None:
            self._nursery.start_soon(self._send_later, delay, frames)
        else:
            for frame in frames:
                self.send_bytes(frame)
        sim._deliver(emits)

    async def _send_later(self, delay: float, frames: list[bytes]) -> None:
        await trio.sleep(delay)
        for frame in frames:
            self.send_bytes(frame)

    def _allow_control(self) -> bool:
        """The 480-per-hour budget of subscribe/unsubscribe/login requests."""
        now = trio.current_time()
        times = self._control_times
        while times and times[0] <= now - CONTROL_WINDOW:
            times.popleft()
        if len(times) >= CONTROL_LIMIT:
            return False
        times.append(now)
        return True

    # -- login ---------------------------------------------------------------------

    def _login(self, obj: dict[str, Any], text: str) -> list[bytes]:
        req_id = obj.get("id")
        if not self._allow_control():
            return [self._error("60014", "Requests too frequent", req_id)]
        args = obj.get("args")
        if (
            not isinstance(args, list)
            or not args
            or not all(isinstance(a, dict) for a in args)
        ):
            return [self._invalid(text, req_id)]
        if len(args) > 100:
            return [self._error("60013", "Invalid args", req_id)]
        rejection = self._sim.faults.take_login_rejection()
        if rejection is not None:
            return [self._error(*rejection, req_id)]
        keys = []
        for arg in args:
            checked = self._check_login(arg)
            if isinstance(checked, tuple):
                return [self._error(*checked, req_id)]
            keys.append(checked)
        for key in keys:
            if key not in self.api_keys:
                self.api_keys.append(key)
        ack: dict[str, Any] = {}
        if isinstance(req_id, str):
            ack["id"] = req_id
        ack.update(event="login", code="0", msg="")
        return [self._event(ack)]

    def _check_login(self, arg: dict[str, Any]) -> str | tuple[str, str]:
        for field in ("apiKey", "passphrase", "timestamp", "sign"):
            value = arg.get(field)
            if value is None or value == "":
                return "60027", f"Parameter {field} can not be empty."
        api_key = arg["apiKey"]
        if not isinstance(api_key, str):
            return "60005", "Invalid apiKey"
        ts = arg["timestamp"]
        # The sign covers the timestamp exactly as sent; JSON numbers (python-okx
        # sends an int) are signed as their decimal text.
        if isinstance(ts, bool) or not isinstance(ts, (str, int, float)):
            return "60004", "Invalid timestamp"
        ts_text = ts if isinstance(ts, str) else str(ts)
        if not _TS_RE.match(ts_text):
            return "60004", "Invalid timestamp"
        if abs(self._sim._now_ms() / 1000 - float(ts_text)) > LOGIN_WINDOW_S:
            return "60006", "Timestamp request expired"
        account = self._sim.engine.accounts.get(api_key)
        if account is None:
            return "60032", "API key doesn't exist."
        creds: Credentials = account.credentials
        passphrase = arg["passphrase"]
        if not isinstance(passphrase, str) or not hmac.compare_digest(
            passphrase.encode(), creds.passphrase.encode()
        ):
            return "60024", "Wrong passphrase"
        sign = arg["sign"]
        expected = login_sign(creds.secret_key, ts_text)
        if not isinstance(sign, str) or not hmac.compare_digest(sign.encode(), expected.encode()):
            return "60007", "Invalid sign"
        return api_key

    # -- subscriptions ---------------------------------------------------------------

    def _subscriptions(self, op: str, obj: dict[str, Any], text: str) -> list[bytes]:
        req_id = obj.get("id")
        if "id" in obj and (not isinstance(req_id, str) or not ID_RE.match(req_id)):
            return [self._invalid(text)]
        if not self._allow_control():
            return [self._error("60014", "Requests too frequent", req_id)]
        args = obj.get("args")
        if (
            not isinstance(args, list)
            or not args
            or not all(isinstance(a, dict) for a in args)
        ):
            return [self._invalid(text, req_id)]
        frames: list[bytes] = []
        for arg in args:
            if op == "subscribe":
                frames.extend(self._subscribe_one(arg, req_id))
            else:
                frames.extend(self._unsubscribe_one(arg, req_id))
        return frames

    def _arg_problem(self, arg: dict[str, Any], req_id: Any) -> bytes | None:
        channel = arg.get("channel")
        if not isinstance(channel, str) or not channel:
            return self._error("60013", "Invalid args", req_id)
        if not all(isinstance(v, str) for v in arg.values()):
            return self._error("60013", "Invalid args", req_id)
        if "uly" in arg:
            return self._error(
                "64000",
                "Subscription parameter uly is unavailable anymore, please replace uly with"
                " instFamily.",
                req_id,
            )
        err = self._sim.engine.channel_error(self.path, arg)
        if err is not None:
            return self._error(err[0], err[1], req_id)
        return None

    def _ack(self, event: str, arg: dict[str, Any], req_id: Any) -> bytes:
        obj: dict[str, Any] = {}
        if isinstance(req_id, str):
            obj["id"] = req_id
        obj.update(event=event, arg=arg)
        return self._event(obj)

    def _subscribe_one(self, arg: dict[str, Any], req_id: Any) -> list[bytes]:
        problem = self._arg_problem(arg, req_id)
        if problem is not None:
            return [problem]
        channel: str = arg["channel"]
        _, needs_login = route_channel(channel)
        if needs_login and not self.api_keys:
            return [self._error("60011", "Please log in", req_id)]
        key = orjson.dumps(arg, option=orjson.OPT_SORT_KEYS)
        frames = [self._ack("subscribe", arg, req_id)]
        if key in self._subs:
            # Subscribing twice: ack again, but pushes are not duplicated.
            return frames
        sub = _Subscription(dict(arg), key, private=needs_login and channel not in _PUBLIC_LOGIN)
        if channel in COUNTED_CHANNELS:
            count = self._sim._count_connection(self, channel)
            if count is None:
                frames.append(
                    self._event(
                        {
                            "event": "channel-conn-count-error",
                            "channel": channel,
                            "connCount": str(CONN_COUNT_LIMIT),
                        }
                    )
                )
                return frames
            frames.append(
                self._event(
                    {"event": "channel-conn-count", "channel": channel, "connCount": str(count)}
                )
            )
        self._subs[key] = sub
        self._by_channel.setdefault(channel, []).append(sub)
        frames.extend(self._initial_pushes(sub))
        return frames

    def _initial_pushes(self, sub: _Subscription) -> list[bytes]:
        sim = self._sim
        keys: Sequence[str | None] = self.api_keys if sub.private else [self.api_key]
        frames = []
        for api_key in keys:
            for emit in sim.engine.initial_pushes(api_key, sub.arg):
                if (
                    emit.action == "snapshot"
                    and emit.inst_id is not None
                    and sim.faults.take_book_fault("no_snapshot", emit.inst_id)
                ):
                    continue
                uid = sim._uid(emit.api_key) if sub.private else None
                frames.append(_EncodedEmit(emit).frame(sub, uid))
                if emit.channel in BOOK_CHANNELS and emit.inst_id is not None:
                    sim._book_touched(emit.inst_id, emit.channel)
        return frames

    def _unsubscribe_one(self, arg: dict[str, Any], req_id: Any) -> list[bytes]:
        channel = arg.get("channel")
        if not isinstance(channel, str) or not channel:
            return [self._error("60013", "Invalid args", req_id)]
        key = orjson.dumps(arg, option=orjson.OPT_SORT_KEYS)
        sub = self._subs.pop(key, None)
        if sub is None:
            problem = self._arg_problem(arg, req_id)
            if problem is not None:
                return [problem]
        else:
            subs = self._by_channel.get(channel, [])
            subs.remove(sub)
            if not subs:
                self._by_channel.pop(channel, None)
                if channel in COUNTED_CHANNELS:
                    self._sim._uncount_connection(self, channel)
        return [self._ack("unsubscribe", arg, req_id)]

    def _deliver(self, enc: _EncodedEmit) -> None:
        emit = enc.emit
        subs = self._by_channel.get(emit.channel)
        if not subs:
            return
        api_key = emit.api_key
        if api_key is not None and api_key not in self.api_keys:
            return
        for sub in subs:
            if sub.matches(emit):
                uid = self._sim._uid(api_key) if sub.private and api_key is not None else None
                self.send_bytes(enc.frame(sub, uid))

    # -- trade ops ---------------------------------------------------------------------

    def _trade(self, op: str, obj: dict[str, Any]) -> tuple[list[bytes], list[Emit]]:
        req_id = obj.get("id")
        if self.path == "public":
            if route_op(op) is not None:
                return [
                    self._op_error(
                        req_id, op, "60028",
                        "The current operation is not supported by this URL. Please use the"
                        " correct WebSocket URL for the operation.",
                    )
                ], []
            return [self._op_error(req_id, op, "60019", f"Invalid op: {op}")], []
        if not self.api_keys:
            return [self._op_error(req_id, op, "60011", "Please log in")], []
        in_time = self._sim._now_us()
        result = self._sim.engine.trade_op(self.api_keys[0], self.path, obj)
        response = result.response
        if "inTime" not in response:
            # The gateway's receive/send times. OKX's docs show them on the six
            # order ops only, but okx-api recognises a WS API response by its
            # inTime, so every op's response carries them (as the gateway's).
            response = {**response, "inTime": str(in_time), "outTime": str(self._sim._now_us())}
        return [_dumps(response)], list(result.emits)

    def _op_error(self, req_id: Any, op: str, code: str, msg: str) -> bytes:
        now = str(self._sim._now_us())
        return _dumps(
            {"id": req_id if isinstance(req_id, str) else "", "op": op, "code": code,
             "msg": msg, "data": [], "inTime": now, "outTime": now}
        )


# Public channels that need a login (VIP-gated books) but carry no account data.
_PUBLIC_LOGIN = frozenset({"books-l2-tbt", "books50-l2-tbt"})


class Orders:
    """The exchange's orders (``sim.orders``): iterable, with lookups."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    def all(self) -> list[Order]:
        """Every order ever accepted, oldest first."""
        return list(self._sim.engine.order_list())

    def __iter__(self) -> Iterator[Order]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self._sim.engine.order_list())

    def open(self) -> list[Order]:
        """Orders still ``live`` or ``partially_filled``."""
        return [o for o in self.all() if o.state in ("live", "partially_filled")]

    def find(
        self,
        api_key: str | None = None,
        *,
        ord_id: str | None = None,
        cl_ord_id: str | None = None,
    ) -> Order | None:
        """The order with ``ord_id`` or ``cl_ord_id`` (of ``api_key`` if given), or None."""
        if ord_id is None and cl_ord_id is None:
            raise ValueError("give ord_id or cl_ord_id")
        if api_key is not None:
            return self._sim.engine.find_order(api_key, ord_id=ord_id, cl_ord_id=cl_ord_id)
        for order in reversed(self.all()):
            if ord_id is not None and order.ord_id != ord_id:
                continue
            if cl_ord_id is not None and order.cl_ord_id != cl_ord_id:
                continue
            return order
        return None

    def __getitem__(self, ord_id: str) -> Order:
        order = self.find(ord_id=ord_id)
        if order is None:
            raise KeyError(ord_id)
        return order


class SimMemoryConnector(MemoryConnector):
    """The connector of :meth:`Simulator.connect_memory`: in-memory WebSocket
    connections, plus ``rest_transport``, the same simulator's REST endpoints as
    an ``httpx`` transport (for a client's REST helper)."""

    rest_transport: httpx.AsyncBaseTransport


class _RestMemoryTransport(httpx.AsyncBaseTransport):
    """Serves httpx requests with :meth:`Simulator._rest_reply`, no socket involved."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await trio.lowlevel.checkpoint()
        if self._sim._closed:
            raise httpx.ConnectError("the simulator is not running", request=request)
        body = await request.aread()
        if len(body) > MAX_FRAME:
            status, payload = 400, {"code": "400", "msg": "Bad Request", "data": []}
        else:
            headers = {name.lower(): value for name, value in request.headers.items()}
            target = request.url.raw_path.decode("ascii")
            status, payload = self._sim._rest_reply(request.method, target, headers, body)
        content = b"" if request.method == "HEAD" else _dumps(payload)
        return httpx.Response(
            status, headers={"Content-Type": "application/json"}, content=content,
            request=request,
        )


class Simulator:
    """A running local OKX v5 exchange (yielded by :func:`open_simulator`).

    Attributes:
        base_url: ``"ws://127.0.0.1:PORT"`` (``wss://`` with TLS); clients append
            ``/ws/v5/public``, ``/ws/v5/private``, ``/ws/v5/business``.
        rest_url: ``"http://127.0.0.1:PORT"`` (``https://`` with TLS).
        ca_file: the CA certificate (PEM) to trust with TLS, else ``None``.
        faults: fault injection (:class:`Faults`).
        frames: every frame received (:class:`FrameLog`).
        orders: the exchange's orders (:class:`Orders`).
        engine: the matching engine (``okx_trio.testing._engine.Exchange``).
        accounts: the accounts' credentials.
        clock_offset_ms: added to the wall clock for every exchange timestamp,
            login-timestamp and ``expTime`` check; settable.
    """

    def __init__(
        self,
        engine: Exchange,
        accounts: Sequence[Credentials],
        *,
        idle_timeout: float | None,
        seed: int,
        frame_log_size: int | None = 100_000,
    ) -> None:
        self.engine = engine
        self.accounts = list(accounts)
        self.faults = Faults(self)
        self.frames = FrameLog(frame_log_size)
        self.orders = Orders(self)
        self.clock_offset_ms: int = 0
        self.base_url = ""
        self.rest_url = ""
        self.host = ""
        self.port = 0
        self.ca_file: str | None = None
        self._ca_pem: bytes | None = None
        self._server_ssl: ssl.SSLContext | None = None
        self._idle_timeout = idle_timeout
        self._rng = random.Random(seed)
        self._connections: dict[str, SimConnection] = {}
        self._conn_counts: dict[tuple[str, str], set[str]] = {}
        self._book_last: dict[tuple[str, str], float] = {}
        self._nursery: trio.Nursery | None = None
        self._connectors: list[MemoryConnector] = []
        self._rest = RestApi(self)
        self._market_failures = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"<Simulator {self.base_url} connections={len(self._connections)}>"

    # -- public inspection ---------------------------------------------------------

    @property
    def connections(self) -> list[SimConnection]:
        """The live connections."""
        return list(self._connections.values())

    def balances(self, api_key: str) -> dict[str, Decimal]:
        """The cash balance per currency of an account."""
        return dict(self.engine.accounts[api_key].balances)

    def book(self, inst_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The exchange's own full book of ``inst_id``: ``(bids desc, asks asc)``."""
        return self.engine.book(inst_id)

    def client_ssl_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` that trusts the simulator's certificate (TLS only)."""
        if self._ca_pem is None:
            raise RuntimeError("the simulator runs without TLS (open_simulator(tls=True))")
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cadata=self._ca_pem.decode())
        return ctx

    def connect_memory(self) -> SimMemoryConnector:
        """A connector for the client's ``transport=`` option: in-memory connections
        served by this simulator (no sockets, so tests can use ``MockClock``).

        Pass ``base_url=sim.base_url`` too; only the URL's path is used. The
        connector's ``rest_transport`` serves the REST endpoints in memory too
        (see :meth:`rest_transport`).
        """
        if self._nursery is None or self._closed:
            raise RuntimeError("the simulator is not running")
        connector = SimMemoryConnector(self._serve_memory, self._nursery)
        connector.refuse = self.faults.take_refusal
        connector.rest_transport = self.rest_transport()
        self._connectors.append(connector)
        return connector

    def rest_transport(self) -> httpx.AsyncBaseTransport:
        """An ``httpx`` transport that serves this simulator's REST endpoints in-process.

        The requests go through the same handler as over a socket (signatures
        checked, same answers), with no socket and no timer, so it works under
        ``trio.testing.MockClock``. The URL's scheme and host are ignored::

            async with httpx.AsyncClient(base_url=sim.rest_url,
                                         transport=sim.rest_transport()) as http:
                await http.get("/api/v5/public/time")

        Requests after the simulator has stopped fail with ``httpx.ConnectError``.
        """
        return _RestMemoryTransport(self)

    # -- internals used by connections and faults --------------------------------------

    def _now_ms(self) -> int:
        return int(time.time() * 1000) + int(self.clock_offset_ms)

    def _now_us(self) -> int:
        return int(time.time() * 1_000_000) + int(self.clock_offset_ms) * 1000

    def _new_conn_id(self) -> str:
        while True:
            conn_id = f"{self._rng.getrandbits(32):08x}"
            if conn_id not in self._connections:
                return conn_id

    def _register(self, conn: SimConnection) -> None:
        self._connections[conn.conn_id] = conn

    def _unregister(self, conn: SimConnection) -> None:
        self._connections.pop(conn.conn_id, None)
        for conns in self._conn_counts.values():
            conns.discard(conn.conn_id)

    def _matching_connections(self, path: str | None) -> list[SimConnection]:
        return [c for c in self._connections.values() if path is None or c.path == path]

    def _uid(self, api_key: str | None) -> str | None:
        if api_key is None:
            return None
        account = self.engine.accounts.get(api_key)
        return None if account is None else str(account.uid)

    def _count_connection(self, conn: SimConnection, channel: str) -> int | None:
        """Count ``conn`` for ``channel`` of its account; None when over the limit."""
        api_key = conn.api_key or ""
        conns = self._conn_counts.setdefault((api_key, channel), set())
        if conn.conn_id not in conns:
            if len(conns) >= CONN_COUNT_LIMIT:
                return None
            conns.add(conn.conn_id)
        return len(conns)

    def _uncount_connection(self, conn: SimConnection, channel: str) -> None:
        conns = self._conn_counts.get((conn.api_key or "", channel))
        if conns is not None:
            conns.discard(conn.conn_id)

    def _book_touched(self, inst_id: str, channel: str) -> None:
        self._book_last[(inst_id, channel)] = trio.current_time()

    def _apply_book_faults(self, emit: Emit) -> Emit | None:
        if emit.action != "update" or emit.inst_id is None:
            return emit
        faults = self.faults
        if faults.take_book_fault("gap", emit.inst_id):
            return None
        if faults.take_book_fault("bad_checksum", emit.inst_id):
            data = []
            for item in emit.data:
                real = item.get("checksum") or 0
                bad = (real ^ 0x2F1E0D3C) or 1
                data.append({**item, "checksum": bad})
            emit = attrs.evolve(emit, data=data)
        return emit

    def _deliver(self, emits: Sequence[Emit]) -> None:
        """Send each emit to every matching subscription."""
        if not emits:
            return
        conns = [c for c in self._connections.values() if c._by_channel and not c.closing]
        book_faults = self.faults.has_book_faults()
        for emit in emits:
            if book_faults:
                faulted = self._apply_book_faults(emit)
                if faulted is None:
                    continue
                emit = faulted
            if emit.channel in BOOK_CHANNELS and emit.inst_id is not None:
                self._book_touched(emit.inst_id, emit.channel)
            enc = _EncodedEmit(emit)
            for conn in conns:
                conn._deliver(enc)

    def _heartbeats(self) -> None:
        now = trio.current_time()
        wanted: set[tuple[str, str]] = set()
        for conn in self._connections.values():
            for channel in BOOK_CHANNELS.intersection(conn._by_channel):
                for sub in conn._by_channel[channel]:
                    inst_id = sub.arg.get("instId")
                    if isinstance(inst_id, str):
                        wanted.add((inst_id, channel))
        emits = []
        for inst_id, channel in sorted(wanted):
            last = self._book_last.get((inst_id, channel))
            if last is None:
                self._book_last[(inst_id, channel)] = now
            elif now - last >= BOOK_HEARTBEAT_INTERVAL:
                emit = self.engine.book_heartbeat(inst_id, channel)
                self._book_last[(inst_id, channel)] = now
                if emit is not None:
                    emits.append(emit)
        self._deliver(emits)

    async def _market_loop(self, interval: float) -> None:
        while True:
            await trio.sleep(interval)
            try:
                emits = self.engine.market_step()
            except Exception:
                self._market_failures += 1
                if self._market_failures == 1:
                    log.exception("simulator market step failed")
                continue
            self._deliver(emits)
            self._heartbeats()

    # -- serving -----------------------------------------------------------------------

    async def _serve_memory(self, raw_path: str, transport: MemoryTransport) -> None:
        link = MemoryLink(transport)
        kind = path_kind(raw_path)
        if kind is None:
            await link.close(1008, "404 Not Found")
            return
        await SimConnection(self, link, kind, raw_path).serve()

    async def _handle_tcp(self, stream: trio.SocketStream) -> None:
        conn_stream: trio.abc.Stream = stream
        try:
            if self._server_ssl is not None:
                conn_stream = trio.SSLStream(
                    stream, self._server_ssl, server_side=True, https_compatible=True
                )
            await self._serve_http(conn_stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError, ssl.SSLError):
            pass
        except Exception:
            log.exception("simulator: unexpected error on a TCP connection")
        finally:
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(conn_stream)

    async def _serve_http(self, stream: trio.abc.Stream) -> None:
        buf = bytearray()
        while True:
            head = b""
            with trio.move_on_after(HTTP_IDLE_TIMEOUT):
                while True:
                    end = buf.find(b"\r\n\r\n")
                    if end >= 0:
                        head = bytes(buf[: end + 4])
                        del buf[: end + 4]
                        break
                    if len(buf) > MAX_HTTP_HEAD:
                        await _write_http(stream, 431, {"code": "431", "msg": "Headers too large",
                                                        "data": []}, close=True)
                        return
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    buf += data
            if not head:
                return
            parsed = _parse_head(head)
            if parsed is None:
                await _write_http(stream, 400, {"code": "400", "msg": "Bad Request", "data": []},
                                  close=True)
                return
            method, target, version, headers = parsed
            if "websocket" in headers.get("upgrade", "").lower():
                await self._websocket(stream, head + bytes(buf), target)
                return
            if "chunked" in headers.get("transfer-encoding", "").lower():
                await _write_http(stream, 411, {"code": "411", "msg": "Length Required",
                                                "data": []}, close=True)
                return
            length_text = headers.get("content-length", "0") or "0"
            if not length_text.isdigit() or int(length_text) > MAX_FRAME:
                await _write_http(stream, 400, {"code": "400", "msg": "Bad Request", "data": []},
                                  close=True)
                return
            length = int(length_text)
            while len(buf) < length:
                data = await stream.receive_some(65536)
                if not data:
                    return
                buf += data
            body = bytes(buf[:length])
            del buf[:length]
            status, payload = self._rest_reply(method, target, headers, body)
            close = version == "HTTP/1.0" or headers.get("connection", "").lower() == "close"
            await _write_http(stream, status, payload, close=close, head_only=method == "HEAD")
            if close:
                return

    def _rest_reply(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """``(status, JSON body)`` of one plain HTTP request, for sockets and memory alike.

        ``headers`` have lower-case names; ``target`` is the path and query as sent.
        """
        if path_kind(target) is not None:
            return 400, {"code": "400", "msg": "WebSocket upgrade expected", "data": []}
        try:
            return self._rest.handle(method, target, headers, body)
        except Exception:
            log.exception("simulator: REST handler failed for %s", target)
            return 500, {"code": "50026", "msg": "System error. Try again later", "data": []}

    async def _websocket(self, stream: trio.abc.Stream, received: bytes, target: str) -> None:
        from websockets.http11 import Request

        from ._links import new_server_protocol

        protocol = new_server_protocol()
        protocol.receive_data(received)
        events = protocol.events_received()
        request = next((e for e in events if isinstance(e, Request)), None)
        if request is None:
            # websockets already queued its own error response, if any.
            out = b"".join(protocol.data_to_send())
            if out:
                await stream.send_all(out)
            return
        kind = path_kind(request.path)
        if kind is None:
            response = protocol.reject(404, "Not Found\n")
        elif self.faults.take_refusal():
            response = protocol.reject(503, "Service Unavailable\n")
        else:
            response = protocol.accept(request)
        protocol.send_response(response)
        out = b"".join(protocol.data_to_send())
        if out:
            await stream.send_all(out)
        if response.status_code != 101:
            return
        assert kind is not None
        link = SocketLink(stream, protocol)
        link.absorb(events)
        await SimConnection(self, link, kind, request.path).serve()


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]] | None:
    try:
        text = head.decode("latin-1")
        lines = text.split("\r\n")
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        return None
    if not version.startswith("HTTP/1.") or not target.startswith("/"):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return None
        headers[name.strip().lower()] = value.strip()
    return method, target, version, headers


_PHRASES = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}


async def _write_http(
    stream: trio.abc.Stream,
    status: int,
    payload: dict[str, Any],
    *,
    close: bool,
    head_only: bool = False,
) -> None:
    body = _dumps(payload)
    head = (
        f"HTTP/1.1 {status} {_PHRASES.get(status, 'Error')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n"
        "\r\n"
    ).encode()
    await stream.send_all(head if head_only else head + body)


def _check_number(value: float | None, name: str, *, allow_none: bool = True) -> None:
    if value is None:
        if not allow_none:
            raise TypeError(f"{name} must be a number")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number or None")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number")


def _make_tls(tmpdir: str) -> tuple[ssl.SSLContext, str, bytes]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    # HTTP/1.1 only: clients offering h2 (httpx with http2=True) fall back.
    ctx.set_alpn_protocols(["http/1.1"])
    ca_path = str(Path(tmpdir) / "okx-trio-simulator-ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    return ctx, ca_path, ca.cert_pem.bytes()


@asynccontextmanager
async def open_simulator(
    accounts: Sequence[Credentials] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    tls: bool = False,
    rate_limit: bool = True,
    rate_limit_shape: str = "top-level",
    checksum: bool = False,
    strict_inst_id_code: bool = False,
    idle_timeout: float | None = 30.0,
    market_interval: float | None = 0.1,
    instruments: Sequence[InstrumentSpec] | None = None,
    frame_log_size: int | None = 100_000,
) -> AsyncIterator[Simulator]:
    """Run a local OKX v5 exchange for the duration of the block.

    Entering binds the port and starts the market task; leaving closes every
    connection (close code 1001) and stops everything the simulator started.

    Args:
        accounts: the accounts that can log in (default: one,
            :data:`DEFAULT_CREDENTIALS`).
        host: address to listen on (an IP address; default loopback).
        port: TCP port (0: any free port, see ``Simulator.base_url``).
        seed: seed of the market's random walk and of connection ids.
        tls: serve ``wss://``/``https://`` with a certificate for 127.0.0.1 and
            localhost from a CA generated now (``Simulator.ca_file``).
        rate_limit: enforce OKX's per-op rate limits (50011).
        rate_limit_shape: ``"top-level"`` (request rejected whole, ``data: []``)
            or ``"item"`` (per-item ``sCode "50011"``).
        checksum: real CRC32 book checksums instead of 0.
        strict_inst_id_code: reject order ops without ``instIdCode`` (50014).
        idle_timeout: close connections that got nothing for this long (4004);
            ``None`` disables it.
        market_interval: seconds between market steps; ``None``: no market task.
        instruments: the instrument set (default: the engine's defaults).
        frame_log_size: how many received frames ``Simulator.frames`` keeps (the
            oldest are dropped); ``None``: unbounded.

    Yields:
        The running :class:`Simulator`.
    """
    from ._engine import Exchange

    if accounts is None:
        accounts = [DEFAULT_CREDENTIALS]
    accounts = list(accounts)
    for creds in accounts:
        if not isinstance(creds, Credentials):
            raise TypeError("accounts must be okx_trio.Credentials objects")
    if len({c.api_key for c in accounts}) != len(accounts):
        raise ValueError("accounts must have distinct api keys")
    if not isinstance(host, str) or not host:
        raise ValueError("host must be a non-empty string")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError("port must be an int in 0..65535")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError("seed must be an int")
    if rate_limit_shape not in ("top-level", "item"):
        raise ValueError("rate_limit_shape must be 'top-level' or 'item'")
    _check_number(idle_timeout, "idle_timeout")
    _check_number(market_interval, "market_interval")
    if frame_log_size is not None and (
        isinstance(frame_log_size, bool) or not isinstance(frame_log_size, int)
        or frame_log_size < 0
    ):
        raise ValueError("frame_log_size must be an int >= 0 or None")

    sim_box: list[Simulator] = []

    def now_ms() -> int:
        return sim_box[0]._now_ms() if sim_box else int(time.time() * 1000)

    engine = Exchange(
        accounts,
        instruments=instruments,
        seed=seed,
        checksum=checksum,
        rate_limit=rate_limit,
        rate_limit_shape=rate_limit_shape,  # type: ignore[arg-type]
        strict_inst_id_code=strict_inst_id_code,
        now_ms=now_ms,
    )
    sim = Simulator(
        engine, accounts, idle_timeout=idle_timeout, seed=seed, frame_log_size=frame_log_size
    )
    sim_box.append(sim)

    with tempfile.TemporaryDirectory(prefix="okx-trio-sim-") as tmpdir:
        if tls:
            sim._server_ssl, sim.ca_file, sim._ca_pem = _make_tls(tmpdir)
        # The user's exception (or cancellation) from the block is re-raised
        # as is after the nursery has shut down, never wrapped in a group.
        body_exc: BaseException | None = None
        async with trio.open_nursery() as nursery:
            sim._nursery = nursery
            listeners = await nursery.start(
                functools.partial(trio.serve_tcp, sim._handle_tcp, port, host=host)
            )
            sockname = listeners[0].socket.getsockname()
            sim.host, sim.port = host, int(sockname[1])
            url_host = f"[{host}]" if ":" in host else host
            sim.base_url = f"{'wss' if tls else 'ws'}://{url_host}:{sim.port}"
            sim.rest_url = f"{'https' if tls else 'http'}://{url_host}:{sim.port}"
            if market_interval is not None:
                nursery.start_soon(sim._market_loop, market_interval)
            try:
                yield sim
            except GeneratorExit:
                raise
            except BaseException as exc:
                body_exc = exc
            finally:
                sim._closed = True
                nursery.cancel_scope.cancel()
        if body_exc is not None:
            raise body_exc
