"""The recording format: one header line, then one JSON record per line.

A recording of public OKX channels (written by ``okx_trio.record``, read by
``okx_trio.read_recording``, replayed by the simulator) is line-delimited JSON,
gzip-compressed. Its first line is the header::

    {"format": "okx-trio-recording", "version": 1, "source": "wss://...",
     "channels": [{"channel": "books", "instId": "BTC-USDT"}, ...],
     "start": "2026-12-01T09:30:00.000Z", "start_ns": 1796117400000000000,
     "part": 1, "instruments": [{...as GET /api/v5/public/instruments...}],
     "library": "okx-trio 0.1.0"}

then one record per line, each with its kind ``k`` and its receive time ``t``
(Unix nanoseconds, on the recorder's monotonic clock anchored at ``start_ns``)::

    {"k": "push", "t": ..., "arg": {...}, "data": [...], "action": "snapshot"}
    {"k": "gap", "t": ..., "reason": "reconnect", "dropped": 0, "args": [{...}]}
    {"k": "end", "t": ..., "pushes": 1234, "gaps": 0}

A push record keeps the frame as received: ``arg``, ``data``, ``action`` (order
books) and ``extra`` (any other top-level field). A gap record says that pushes
of ``args`` may be missing before it. ``end`` closes a part written to the end;
a part without it was cut short (the reader says so).

This module is pure: it encodes and decodes lines, nothing more.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import orjson

__all__ = [
    "FORMAT",
    "VERSION",
    "RecordedGap",
    "RecordedPush",
    "RecordingHeader",
    "decode_header",
    "decode_record",
    "encode_end",
    "encode_gap",
    "encode_header",
    "encode_push",
    "parse_channel",
]

FORMAT: Final = "okx-trio-recording"
"""The ``format`` value of every header."""
VERSION: Final = 1
"""The format version this library writes and reads."""


@attrs.frozen
class RecordingHeader:
    """The first line of a recording file: what was recorded, from where, when."""

    source: str
    """The WebSocket base URL the pushes came from (``wss://ws.okx.com:8443``...)."""
    channels: tuple[Mapping[str, str], ...]
    """The subscribed args, e.g. ``{"channel": "books", "instId": "BTC-USDT"}``."""
    start: str
    """When the recording began, ISO 8601 UTC (``2026-12-01T09:30:00.000Z``)."""
    start_ns: int
    """The same instant, Unix nanoseconds."""
    part: int = 1
    """The file's number in a recording rotated into several files (1 first)."""
    instruments: tuple[Mapping[str, Any], ...] = ()
    """The recorded instruments as ``GET /api/v5/public/instruments`` returned them
    (tick, lot and minimum sizes, ``instIdCode``...), when the recorder could get them."""
    library: str = ""
    """The library that wrote the file."""
    version: int = VERSION
    """The format version."""


@attrs.frozen
class RecordedPush:
    """One push as the recorder received it."""

    t: int
    """Receive time, Unix nanoseconds."""
    arg: Mapping[str, Any]
    """The channel argument, as in the push."""
    data: list[Any]
    """The pushed items, as received."""
    action: str | None = None
    """``"snapshot"`` or ``"update"`` on incremental order books, else ``None``."""
    extra: Mapping[str, Any] | None = None
    """Other top-level fields of the push, if any."""

    @property
    def channel(self) -> str:
        """The channel name."""
        return str(self.arg.get("channel", ""))

    @property
    def inst_id(self) -> str | None:
        """The ``instId`` of the arg, if it has one."""
        inst_id = self.arg.get("instId")
        return inst_id if isinstance(inst_id, str) else None


@attrs.frozen
class RecordedGap:
    """A place where pushes of ``args`` may be missing (a reconnect, a slow recorder)."""

    t: int
    """When the recorder learnt of it, Unix nanoseconds."""
    reason: str
    """``"reconnect"`` or ``"dropped"``, as the client's ``Gap``."""
    dropped: int
    """Pushes the recorder's buffer discarded (0 for a reconnect)."""
    args: tuple[Mapping[str, Any], ...]
    """The args whose pushes may be missing."""


def iso_utc(ns: int) -> str:
    """Unix nanoseconds as ISO 8601 UTC with milliseconds."""
    moment = _dt.datetime.fromtimestamp(ns / 1e9, tz=_dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_channel(spec: str | Mapping[str, Any]) -> dict[str, str]:
    """A channel arg from ``"books:BTC-USDT"`` (``channel:instId``), a JSON object
    string, or a mapping.

    Raises:
        ValueError: the spec names no channel, or its JSON is not an object of strings.
        TypeError: neither a string nor a mapping.
    """
    if isinstance(spec, Mapping):
        arg: Any = dict(spec)
    elif isinstance(spec, str):
        text = spec.strip()
        if text.startswith("{"):
            try:
                arg = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"channel {spec!r}: not valid JSON ({exc})") from None
        else:
            channel, sep, inst_id = text.partition(":")
            if not channel or (sep and not inst_id):
                raise ValueError(f"channel {spec!r}: expected CHANNEL:INSTID, e.g. "
                                 f"'books:BTC-USDT', or a JSON arg")
            arg = {"channel": channel, **({"instId": inst_id} if inst_id else {})}
    else:
        raise TypeError(f"a channel is a 'channel:instId' string or a mapping, not {spec!r}")
    if not isinstance(arg, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in arg.items()):
        raise ValueError(f"channel {spec!r}: an arg is an object of string fields")
    if not arg.get("channel"):
        raise ValueError(f"channel {spec!r}: no channel name")
    return arg


def _line(obj: Mapping[str, Any]) -> bytes:
    return orjson.dumps(obj) + b"\n"


def encode_header(header: RecordingHeader) -> bytes:
    """The header line."""
    return _line({
        "format": FORMAT, "version": header.version, "source": header.source,
        "channels": [dict(a) for a in header.channels], "start": header.start,
        "start_ns": header.start_ns, "part": header.part,
        "instruments": [dict(i) for i in header.instruments], "library": header.library,
    })


def encode_push(t: int, arg: Mapping[str, Any], data: Sequence[Any], action: str | None,
                extra: Mapping[str, Any] | None) -> bytes:
    """One push record line."""
    obj: dict[str, Any] = {"k": "push", "t": t, "arg": arg, "data": data}
    if action is not None:
        obj["action"] = action
    if extra:
        obj["extra"] = extra
    return _line(obj)


def encode_gap(t: int, reason: str, dropped: int, args: Sequence[Mapping[str, Any]]) -> bytes:
    """One gap record line."""
    return _line({"k": "gap", "t": t, "reason": reason, "dropped": dropped,
                  "args": [dict(a) for a in args]})


def encode_end(t: int, pushes: int, gaps: int) -> bytes:
    """The end record of a part written to the end."""
    return _line({"k": "end", "t": t, "pushes": pushes, "gaps": gaps})


def _int(obj: Mapping[str, Any], field: str, what: str) -> int:
    value = obj.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what}: {field!r} must be an integer")
    return value


def decode_header(line: bytes) -> RecordingHeader:
    """The header from the first line of a file.

    Raises:
        ValueError: not a recording header, or a version this library does not read.
    """
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise ValueError("not an okx-trio recording (the first line is not JSON)") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"not an okx-trio recording (no \"format\": \"{FORMAT}\" header)")
    version = obj.get("version")
    if version != VERSION:
        raise ValueError(f"recording format version {version!r}: this library reads "
                         f"version {VERSION}")
    channels = obj.get("channels")
    instruments = obj.get("instruments", [])
    if not isinstance(channels, list) or not all(isinstance(a, dict) for a in channels):
        raise ValueError("recording header: 'channels' must be a list of args")
    if not isinstance(instruments, list) or not all(isinstance(i, dict) for i in instruments):
        raise ValueError("recording header: 'instruments' must be a list of objects")
    source, start = obj.get("source"), obj.get("start")
    if not isinstance(source, str) or not isinstance(start, str):
        raise ValueError("recording header: 'source' and 'start' must be strings")
    library = obj.get("library", "")
    return RecordingHeader(
        source=source, channels=tuple(channels), start=start,
        start_ns=_int(obj, "start_ns", "recording header"),
        part=_int(obj, "part", "recording header") if "part" in obj else 1,
        instruments=tuple(instruments), library=library if isinstance(library, str) else "",
        version=VERSION,
    )


Record = RecordedPush | RecordedGap | tuple[str, int, int]
"""A decoded line: a push, a gap, or ``("end", pushes, gaps)``."""


def decode_record(line: bytes) -> RecordedPush | RecordedGap | tuple[str, int, int]:
    """One record line: a push, a gap, or the end record as ``("end", pushes, gaps)``.

    Raises:
        ValueError: not JSON, or not a record of this format.
    """
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise ValueError("a record is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ValueError("a record is not a JSON object")
    kind = obj.get("k")
    t = _int(obj, "t", f"{kind} record")
    if kind == "push":
        arg, data = obj.get("arg"), obj.get("data")
        action, extra = obj.get("action"), obj.get("extra")
        if not isinstance(arg, dict) or not isinstance(data, list):
            raise ValueError("push record: 'arg' must be an object and 'data' a list")
        if action is not None and not isinstance(action, str):
            raise ValueError("push record: 'action' must be a string")
        if extra is not None and not isinstance(extra, dict):
            raise ValueError("push record: 'extra' must be an object")
        return RecordedPush(t, arg, data, action, extra)
    if kind == "gap":
        reason, args = obj.get("reason"), obj.get("args", [])
        if not isinstance(reason, str) or not isinstance(args, list):
            raise ValueError("gap record: 'reason' must be a string and 'args' a list")
        return RecordedGap(t, reason, _int(obj, "dropped", "gap record"), tuple(args))
    if kind == "end":
        return ("end", _int(obj, "pushes", "end record"), _int(obj, "gaps", "end record"))
    raise ValueError(f"unknown record kind {kind!r}")
