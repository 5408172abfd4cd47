"""One subscribed arg on one connection, and push frames encoded once for every subscriber.

A push frame is ``{"arg": <the subscriber's arg>, "data": [...], ...}``: the
arg is the subscriber's own (as it sent it, plus ``uid`` on account data), the
rest is the same for everyone. ``EncodedEmit`` serializes that rest once
per push; ``Subscription`` caches its arg's bytes, so fanning a push out
to many connections costs one concatenation each.
"""

from __future__ import annotations

from typing import Any

import orjson

from ._emits import Emit

# Subscription arg field -> Emit attribute it must equal.
_MATCH_FIELDS = (
    ("instId", "inst_id"),
    ("instType", "inst_type"),
    ("instFamily", "inst_family"),
    ("sprdId", "sprd_id"),
    ("ccy", "ccy"),
)


def dumps(obj: Any) -> bytes:
    """JSON bytes as the simulator sends them."""
    return orjson.dumps(obj)


class Subscription:
    """One subscribed arg on one connection.

    Args:
        arg: the arg as the client sent it.
        key: its canonical bytes (one subscription per key and connection).
        account_data: its pushes carry one account's data (and the ``uid`` in the arg).
    """

    __slots__ = ("_arg_bytes", "account_data", "arg", "channel", "filters", "key")

    def __init__(self, arg: dict[str, Any], key: bytes, account_data: bool) -> None:
        self.arg = arg
        self.key = key
        self.channel: str = arg["channel"]
        self.account_data = account_data
        filters = []
        for field, attr in _MATCH_FIELDS:
            want = arg.get(field)
            if want is None or (field == "instType" and want == "ANY"):
                continue
            filters.append((attr, want))
        self.filters: tuple[tuple[str, Any], ...] = tuple(filters)
        self._arg_bytes: dict[str | None, bytes] = {}

    def matches(self, emit: Emit) -> bool:
        """True if every field the arg names equals the push's."""
        return all(getattr(emit, attr) == want for attr, want in self.filters)

    def arg_bytes(self, uid: str | None) -> bytes:
        """The arg as JSON, with ``uid`` added when given (cached)."""
        cached = self._arg_bytes.get(uid)
        if cached is None:
            arg = self.arg if uid is None else {**self.arg, "uid": uid}
            cached = self._arg_bytes[uid] = dumps(arg)
        return cached


class EncodedEmit:
    """An emit's data serialized once, shared by every subscriber."""

    __slots__ = ("emit", "tail")

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        parts = [b',"data":', dumps(emit.data)]
        if emit.action is not None:
            parts.append(b',"action":' + dumps(emit.action))
        if emit.extra:
            for k, v in emit.extra.items():
                parts.append(b"," + dumps(k) + b":" + dumps(v))
        parts.append(b"}")
        self.tail = b"".join(parts)

    def frame(self, sub: Subscription, uid: str | None) -> bytes:
        """The push frame for one subscription."""
        return b'{"arg":' + sub.arg_bytes(uid) + self.tail
