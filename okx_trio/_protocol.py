"""The sans-I/O OKX v5 WebSocket protocol core.

Text in, typed events out; requests in, text out. No I/O and no trio here (a
test checks the imports), so everything in this module is tested synchronously
and reused by the client, the simulator and the benchmarks.

The frame kinds: the bare text ``pong`` / ``ping``;
``{"event": ...}`` events; ``{"id", "op", "code", ...}`` trade-op responses;
``{"arg", "data"}`` pushes. Anything else becomes a ``Malformed`` event:
decoding never raises.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
import string
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import orjson

from ._formats import ID_RE as ID_RE, TAG_RE as TAG_RE, is_id
from ._models import Response
from ._okx import LOGIN_PATH
from ._push import Push, new_push

PING = b"ping"
PONG = b"pong"


# ---------------------------------------------------------------------------
# Signatures


def login_sign(secret_key: str, timestamp: str) -> str:
    """OKX WebSocket login signature: Base64(HMAC-SHA256(secret, ts + "GET/users/self/verify"))."""
    return rest_sign(secret_key, timestamp, "GET", LOGIN_PATH, "")


def rest_sign(secret_key: str, timestamp: str, method: str, path: str, body: str = "") -> str:
    """OKX REST signature over ``timestamp + METHOD + path-with-query + body``."""
    prehash = f"{timestamp}{method.upper()}{path}{body}".encode()
    mac = hmac.new(secret_key.encode(), prehash, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


# ---------------------------------------------------------------------------
# Request ids

_ALNUM = string.ascii_letters + string.digits
_DIGITS36 = string.digits + string.ascii_lowercase


_PAIRS36 = tuple(a + b for a in _DIGITS36 for b in _DIGITS36)
"""Every two-digit base-36 string, by value (0-1295)."""


def _base36(n: int) -> str:
    # Two digits per step: one or two divisions for the first 1.7 M ids.
    if n < 36:
        return _DIGITS36[n]
    if n < 1296:
        return _PAIRS36[n].lstrip("0")
    out = []
    while n >= 1296:
        n, r = divmod(n, 1296)
        out.append(_PAIRS36[r])
    out.append(_PAIRS36[n].lstrip("0") if n >= 36 else _DIGITS36[n])
    return "".join(reversed(out))


class IdGenerator:
    """Request ids unique for a client's whole life.

    A short random prefix (so two clients on one account rarely collide) plus
    a counter that never restarts, not even across reconnects.
    """

    def __init__(self, prefix: str | None = None) -> None:
        if prefix is None:
            prefix = "".join(secrets.choice(_ALNUM) for _ in range(6))
        if not isinstance(prefix, str) or not is_id(prefix) or len(prefix) > 16:
            raise ValueError("id prefix must be 1-16 letters or digits")
        self.prefix = prefix
        self._counter = itertools.count(1)
        self._high = 0
        self._head = prefix
        """``prefix`` and the digits above the last two, for ids of the current
        run of 1296: the next id is ``_head`` plus two digits from a table."""

    def __call__(self) -> str:
        # Equal to prefix + _base36(n): for n >= 1296 that is _base36(n // 1296)
        # followed by the two digits of n % 1296, and the high part changes once
        # per 1296 ids, so the divisions and the join are paid only then.
        high, low = divmod(next(self._counter), 1296)
        if not high:
            return self.prefix + _base36(low)
        if high != self._high:
            self._high = high
            self._head = self.prefix + _base36(high)
        return self._head + _PAIRS36[low]


def check_id(value: object, field: str = "id") -> str:
    """Validate an OKX id-like value (1-32 letters/digits) and return it."""
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a str, not {type(value).__name__}")
    if not is_id(value):
        raise ValueError(f"{field} must be 1-32 letters or digits (ASCII), got {value!r}")
    return value


# ---------------------------------------------------------------------------
# Encoding


def encode_request(
    id: str | None,
    op: str,
    args: Sequence[Mapping[str, Any]],
    exp_time: int | None = None,
) -> bytes:
    """One request frame as UTF-8 JSON bytes (sent as a text frame)."""
    frame: dict[str, Any] = {}
    if id is not None:
        frame["id"] = id
    frame["op"] = op
    if exp_time is not None:
        frame["expTime"] = str(int(exp_time))
    frame["args"] = args
    return orjson.dumps(frame)


def encode_login(
    api_key: str, secret_key: str, passphrase: str, timestamp: str, id: str | None = None
) -> bytes:
    """The login frame for one account, signed over ``timestamp``."""
    arg = {
        "apiKey": api_key,
        "passphrase": passphrase,
        "timestamp": timestamp,
        "sign": login_sign(secret_key, timestamp),
    }
    return encode_request(id, "login", [arg])


# ---------------------------------------------------------------------------
# Decoding: one typed event per received frame


@attrs.frozen(slots=True)
class Pong:
    """The text ``pong``."""


@attrs.frozen(slots=True)
class Ping:
    """The text ``ping`` (sent by a server; answer ``pong``)."""


@attrs.frozen(slots=True)
class LoginAck:
    """``{"event":"login","code":"0"}``: the login succeeded."""

    code: str
    msg: str
    conn_id: str | None
    id: str | None = None


@attrs.frozen(slots=True)
class ErrorEvent:
    """``{"event":"error"}``: with ``id`` it answers one request, without it the connection.

    ``login`` is True for ``{"event":"login"}`` with a non-zero code: certainly
    the answer to a login (OKX answers a refused login with ``event: error``).
    """

    code: str
    msg: str
    id: str | None
    conn_id: str | None
    login: bool = False


@attrs.frozen(slots=True)
class SubscribeAck:
    """``{"event":"subscribe"}`` for one arg."""

    id: str | None
    arg: dict[str, Any]
    conn_id: str | None


@attrs.frozen(slots=True)
class UnsubscribeAck:
    """``{"event":"unsubscribe"}`` for one arg."""

    id: str | None
    arg: dict[str, Any]
    conn_id: str | None


@attrs.frozen(slots=True)
class ChannelConnCount:
    """``channel-conn-count`` (``error=False``) or ``channel-conn-count-error`` (``True``)."""

    channel: str
    conn_count: str
    conn_id: str | None
    error: bool


@attrs.frozen(slots=True)
class Notice:
    """``{"event":"notice"}``, e.g. 64008: the connection closes soon for an upgrade."""

    code: str
    msg: str
    conn_id: str | None


@attrs.frozen(slots=True)
class OtherEvent:
    """An ``event`` this client does not know; kept whole."""

    event: str
    raw: dict[str, Any]


@attrs.frozen(slots=True)
class Malformed:
    """A frame that is not OKX protocol (bad JSON, wrong shape...)."""

    reason: str
    text: str
    """The frame, cut to 500 characters."""


Event = (
    Pong
    | Ping
    | LoginAck
    | ErrorEvent
    | SubscribeAck
    | UnsubscribeAck
    | ChannelConnCount
    | Notice
    | OtherEvent
    | Malformed
    | Response
    | Push
)

_PONG = Pong()
_PING = Ping()


def _s(value: Any) -> str:
    """A wire value as str (OKX sends strings; be lenient with numbers)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _opt_s(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _malformed(reason: str, data: bytes | str) -> Malformed:
    text = data if isinstance(data, str) else data[:2000].decode("utf-8", "replace")
    return Malformed(reason, text[:500])


def decode_frame(data: bytes | str) -> Event:
    """Turn one received text frame into one typed event. Never raises."""
    if len(data) == 4:
        if data == b"pong" or data == "pong":
            return _PONG
        if data == b"ping" or data == "ping":
            return _PING
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _malformed("invalid JSON", data)
    if type(obj) is not dict:
        return _malformed("not a JSON object", data)
    # Pushes are by far the most frequent frame: test for them first, and
    # first for the commonest shape, a frame of just "arg" and "data".
    if len(obj) == 2:
        arg, payload = obj.get("arg"), obj.get("data")
        if type(arg) is dict and type(payload) is list:
            return new_push(arg, payload)
    arg = obj.get("arg")
    if arg is not None and "event" not in obj:
        payload = obj.get("data")
        if type(arg) is dict and type(payload) is list:
            action = obj.get("action")
            if action is not None and len(obj) == 3:
                rest = None  # an order book's frame: arg, action, data
            else:
                rest = {k: v for k, v in obj.items() if k not in ("arg", "data", "action")}
            return new_push(arg, payload, action if isinstance(action, str) else None,
                            rest or None)
        return _malformed("push without a data list", data)
    event = obj.get("event")
    if event is not None:
        return _decode_event(obj, event, data)
    if "op" in obj and "code" in obj:
        payload = obj.get("data")
        if payload is None:
            payload = []
        if type(payload) is not list:
            return _malformed("response data is not a list", data)
        # The answer to every trade request: each field is a str on the wire, so
        # test that inline and leave anything else to _s/_opt_s (same result).
        id_, op, code = obj.get("id"), obj["op"], obj["code"]
        msg, in_time, out_time = obj.get("msg"), obj.get("inTime"), obj.get("outTime")
        return Response(
            id_ if type(id_) is str else _s(id_),
            op if type(op) is str else _s(op),
            code if type(code) is str else _s(code),
            msg if type(msg) is str else _s(msg),
            payload,
            in_time if type(in_time) is str else _opt_s(in_time),
            out_time if type(out_time) is str else _opt_s(out_time),
        )
    return _malformed("unknown frame shape", data)


def _decode_event(obj: dict[str, Any], event: Any, data: bytes | str) -> Event:
    conn_id = _opt_s(obj.get("connId"))
    req_id = _opt_s(obj.get("id"))
    if event == "login":
        code = _s(obj.get("code", "0"))
        if code != "0":
            return ErrorEvent(code, _s(obj.get("msg")), req_id, conn_id, login=True)
        return LoginAck(code, _s(obj.get("msg")), conn_id, req_id)
    if event == "error":
        return ErrorEvent(_s(obj.get("code")), _s(obj.get("msg")), req_id, conn_id)
    if event in ("subscribe", "unsubscribe"):
        arg = obj.get("arg")
        if type(arg) is not dict:
            return _malformed(f"{event} ack without an arg", data)
        cls = SubscribeAck if event == "subscribe" else UnsubscribeAck
        return cls(req_id, arg, conn_id)
    if event in ("channel-conn-count", "channel-conn-count-error"):
        return ChannelConnCount(
            _s(obj.get("channel")),
            _s(obj.get("connCount")),
            conn_id,
            event == "channel-conn-count-error",
        )
    if event == "notice":
        return Notice(_s(obj.get("code")), _s(obj.get("msg")), conn_id)
    if not isinstance(event, str):
        return _malformed("event is not a string", data)
    return OtherEvent(event, obj)
