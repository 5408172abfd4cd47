"""Who the client is: the WebSocket login check and the REST auth headers check.

Pure functions, ``now_ms`` passed in and accounts looked up through a callable.
The signature is OKX's: Base64(HMAC-SHA256(secret, timestamp + METHOD +
path-with-query + body)), the login signing ``GET/users/self/verify``. The
simulator computes it with its own copy (``sign``) rather than the
client's helper, so a signing mistake in the client fails against the
simulator as it would against OKX; python-okx, ccxt and okx-api log in to the
simulator in the interop tests, which checks this copy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from .._models import Credentials
from ._rules import LOGIN_WINDOW_S, REST_TS_WINDOW_MS

LOGIN_PATH = "/users/self/verify"
"""The request path a login signs (with method ``GET`` and no body)."""

Lookup = Callable[[str], Credentials | None]
"""The credentials of an API key, ``None`` when the key does not exist."""

_TS_RE = re.compile(r"^\d{1,12}(\.\d{1,9})?$")
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


def sign(secret_key: str, timestamp: str, method: str, path: str, body: str = "") -> str:
    """OKX's signature over ``timestamp + METHOD + path-with-query + body``."""
    prehash = f"{timestamp}{method.upper()}{path}{body}".encode()
    mac = hmac.new(secret_key.encode(), prehash, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def login_sign(secret_key: str, timestamp: str) -> str:
    """The ``sign`` of a WebSocket login at ``timestamp`` (Unix seconds, as sent)."""
    return sign(secret_key, timestamp, "GET", LOGIN_PATH)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def check_login(arg: dict[str, Any], *, now_ms: int, lookup: Lookup) -> str | tuple[str, str]:
    """The API key one login arg proves, or the ``(code, msg)`` it fails with.

    Checks in order: a field missing (60027), ``apiKey`` not a string (60005),
    ``timestamp`` not Unix seconds (60004) or more than 30 s from ``now_ms``
    (60006), unknown key (60032), wrong passphrase (60024), wrong sign (60007).
    The sign covers the timestamp exactly as sent; a JSON number (python-okx
    sends an int) is signed as its decimal text. Whether OKX accepts
    fractional seconds is unconfirmed (the simulator does).
    """
    for field in ("apiKey", "passphrase", "timestamp", "sign"):
        value = arg.get(field)
        if value is None or value == "":
            return "60027", f"Parameter {field} can not be empty."
    api_key = arg["apiKey"]
    if not isinstance(api_key, str):
        return "60005", "Invalid apiKey"
    ts = arg["timestamp"]
    if isinstance(ts, bool) or not isinstance(ts, (str, int, float)):
        return "60004", "Invalid timestamp"
    ts_text = ts if isinstance(ts, str) else str(ts)
    if not _TS_RE.match(ts_text):
        return "60004", "Invalid timestamp"
    if abs(now_ms / 1000 - float(ts_text)) > LOGIN_WINDOW_S:
        return "60006", "Timestamp request expired"
    creds = lookup(api_key)
    if creds is None:
        return "60032", "API key doesn't exist."
    passphrase = arg["passphrase"]
    if not isinstance(passphrase, str) or not _same(passphrase, creds.passphrase):
        return "60024", "Wrong passphrase"
    signature = arg["sign"]
    if not isinstance(signature, str) or not _same(
        signature, login_sign(creds.secret_key, ts_text)
    ):
        return "60007", "Invalid sign"
    return api_key


def parse_iso_ms(value: str) -> int | None:
    """Milliseconds since the epoch for OKX's ``2020-12-08T09:08:57.715Z``; None if malformed."""
    if not _ISO_RE.match(value):
        return None
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in value else "%Y-%m-%dT%H:%M:%SZ"
    try:
        dt = datetime.strptime(value, fmt).replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(dt.timestamp() * 1000)


def check_rest_headers(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now_ms: int,
    lookup: Lookup,
) -> str | tuple[int, str, str]:
    """The API key a signed REST request proves, or ``(HTTP status, code, msg)``.

    ``headers`` have lower-case names; ``target`` is the path and query as sent
    (what the client signed).
    """
    key = headers.get("ok-access-key", "")
    signature = headers.get("ok-access-sign", "")
    ts = headers.get("ok-access-timestamp", "")
    passphrase = headers.get("ok-access-passphrase", "")
    if not key:
        return 401, "50103", 'Request header "OK-ACCESS-KEY" cannot be empty.'
    if not passphrase:
        return 401, "50104", 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.'
    if not signature:
        return 401, "50106", 'Request header "OK-ACCESS-SIGN" cannot be empty.'
    if not ts:
        return 401, "50107", 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.'
    ts_ms = parse_iso_ms(ts)
    if ts_ms is None:
        return 401, "50112", "Invalid OK-ACCESS-TIMESTAMP."
    if abs(now_ms - ts_ms) > REST_TS_WINDOW_MS:
        return 401, "50102", "Timestamp request expired."
    creds = lookup(key)
    if creds is None:
        return 401, "50111", "Invalid OK-ACCESS-KEY."
    if not _same(passphrase, creds.passphrase):
        return 401, "50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.'
    expected = sign(creds.secret_key, ts, method, target, body.decode("utf-8", "replace"))
    if not _same(signature, expected):
        return 401, "50113", "Invalid signature."
    return key
