"""``record()``: public OKX channels to a recording file, for replay and research.

The recorder is an application of the client: one ``_subscriptions.
Subscription`` for every channel (so the records keep the order the pushes
arrived in), whose ``_models.Gap`` markers become gap records, and a
``_recording_io.RecordingWriter`` that keeps the file readable at every
moment. Receive times come from trio's clock, anchored at the wall-clock start
(so they are monotonic, and virtual under ``trio.testing.MockClock``).
"""

from __future__ import annotations

import errno
import importlib.metadata
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import attrs
import trio

from ._client import WsClient, open_ws_client
from ._exceptions import OkxError
from ._models import Gap
from ._okx import BOOK_CHANNEL_DEPTHS, FULL_BOOK_CHANNELS, route_channel
from ._recording_format import parse_channel
from ._recording_io import PathLike, RecordingWriter, part_path
from ._urls import ws_url

__all__ = ["Recorder", "RecorderStatistics", "record"]

log = logging.getLogger("okx_trio")

RECORDER_BUFFER: Final = 65_536
"""Pushes the recorder's subscription buffers: writing is fast, so it rarely fills."""
INSTRUMENT_LOOKUP_TIMEOUT: Final = 10.0
"""How long the recorder waits for each instrument's definition at the start."""


@attrs.frozen
class RecorderStatistics:
    """A snapshot of a recording in progress (see ``Recorder.statistics``)."""

    pushes: int
    """Push records written."""
    gaps: int
    """Gap records written."""
    bytes: int
    """Compressed bytes in the files (the current part as of its last flush)."""
    files: int
    """Files written (more than one when rotating)."""
    elapsed: float
    """Seconds since the recording began (trio's clock)."""


def _library() -> str:
    """``okx-trio VERSION`` for the header (the installed distribution's version)."""
    try:
        return f"okx-trio {importlib.metadata.version('okx-trio')}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return "okx-trio"


def _inst_query(inst_id: str) -> tuple[str, str | None] | None:
    """``(instType, instFamily)`` to look ``inst_id`` up with, from its shape."""
    parts = inst_id.split("-")
    if inst_id.endswith("-SWAP") and len(parts) >= 3:
        return "SWAP", "-".join(parts[:-1])
    if len(parts) == 5 and parts[4] in ("C", "P"):
        return "OPTION", "-".join(parts[:2])
    if len(parts) == 3 and parts[2].isdigit():
        return "FUTURES", "-".join(parts[:2])
    if len(parts) == 2:
        return "SPOT", None
    return None


def _check_args(channels: Sequence[str | Mapping[str, Any]]) -> list[dict[str, str]]:
    if isinstance(channels, (str, Mapping)):
        raise TypeError("channels is a list, e.g. ['books:BTC-USDT', 'trades:BTC-USDT']")
    args = [parse_channel(c) for c in channels]
    if not args:
        raise ValueError("give at least one channel to record, e.g. 'books:BTC-USDT'")
    seen: set[frozenset[tuple[str, str]]] = set()
    for arg in args:
        kind, needs_login = route_channel(arg["channel"])
        if kind == "private" or (kind == "business" and needs_login):
            raise ValueError(f"channel {arg['channel']!r} carries account data: the recorder "
                             "records public channels only")
        key = frozenset(arg.items())
        if key in seen:
            raise ValueError(f"channel {arg} is given twice")
        seen.add(key)
    return args


def _positive(value: float | None, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number or None")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


class Recorder:
    """A recording in progress (yielded by ``record``).

    Read ``statistics`` for a progress line; ``files`` lists the files
    written so far. The recording stops when the ``async with`` block ends.
    """

    def __init__(self, writer: RecordingWriter, args: Sequence[Mapping[str, str]],
                 problems: list[str]) -> None:
        self._writer = writer
        self._started = trio.current_time()
        self._changed = trio.Event()
        self.channels: tuple[Mapping[str, str], ...] = tuple(args)
        """The recorded args."""
        self.problems: list[str] = problems
        """What the recorder could not do (an instrument definition it could not get)."""
        self.error: OkxError | None = None
        """The failure that ended the recording early (a resubscription refused)."""

    def __repr__(self) -> str:
        return f"<Recorder {self._writer.path} pushes={self._writer.pushes}>"

    @property
    def files(self) -> list[Path]:
        """The files written so far (the current one last)."""
        return list(self._writer.files)

    def statistics(self) -> RecorderStatistics:
        """Pushes, gaps, compressed bytes and files so far."""
        w = self._writer
        return RecorderStatistics(w.pushes, w.gaps, w.bytes_written, len(w.files),
                                  trio.current_time() - self._started)

    async def wait_pushes(self, count: int) -> None:
        """Until at least ``count`` pushes have been recorded (bound it yourself)."""
        while self._writer.pushes < count:
            await self._changed.wait()

    def _wrote(self) -> None:
        self._changed.set()
        self._changed = trio.Event()


@asynccontextmanager
async def record(
    path: PathLike,
    channels: Sequence[str | Mapping[str, Any]],
    *,
    client: WsClient | None = None,
    rotate_bytes: int | None = None,
    rotate_seconds: float | None = None,
    flush_interval: float = 1.0,
    instruments: bool = True,
    overwrite: bool = False,
    **options: Any,
) -> AsyncIterator[Recorder]:
    """Record public channels to a file for the duration of an ``async with`` block.

    ::

        async with okx_trio.record("btc.jsonl.gz", ["books:BTC-USDT", "trades:BTC-USDT"]):
            await trio.sleep(3600)

    The file is gzip-compressed JSON lines: a header (format version, source,
    channels, start time, instrument definitions), then every push with its
    receive time, and a gap record wherever pushes may be missing (the
    connection was replaced, or the recorder fell behind). Everything written up
    to the last flush (every ``flush_interval`` seconds) stays readable however
    the recorder stops; leaving the block normally, by an error or by Ctrl-C,
    writes the end record.

    Entering returns once every channel is subscribed.

    Args:
        path: the file to write (``.jsonl.gz``); with rotation, parts are
            numbered from it: ``btc.0001.jsonl.gz``, ``btc.0002.jsonl.gz``...
        channels: ``"channel:instId"`` strings (``"books:BTC-USDT"``) or args
            (``{"channel": "books", "instId": "BTC-USDT"}``); public channels only.
        client: record through this client (its URL, transport and options);
            default: one opened with ``options`` for the block.
        rotate_bytes: start a new part past this many compressed bytes.
        rotate_seconds: start a new part after this many seconds.
        flush_interval: seconds between flushes (the most a hard kill can lose).
        instruments: put the recorded instruments' definitions in the header
            (``GET /api/v5/public/instruments``; the simulator replays with them).
        overwrite: replace existing files instead of refusing to start.
        **options: options of ``open_ws_client`` when no ``client`` is given
            (``base_url``, ``transport``, ``credentials`` for ``books-l2-tbt``...).

    Yields:
        the ``Recorder`` (statistics, files).

    Raises:
        FileExistsError: the file exists (pass ``overwrite=True``).
        SubscriptionError: the exchange refused a channel.
        ValueError, TypeError: bad channels or options; nothing was written.
    """
    args = _check_args(channels)
    _positive(rotate_seconds, "rotate_seconds")
    _positive(flush_interval, "flush_interval")
    if rotate_bytes is not None and (isinstance(rotate_bytes, bool)
                                     or not isinstance(rotate_bytes, int) or rotate_bytes < 1):
        raise ValueError("rotate_bytes must be an int >= 1 or None")
    if client is not None and options:
        raise TypeError("give either client= or client options, not both")
    if client is None:
        async with (
            open_ws_client(**options) as own,
            _recording(own, Path(path), args, rotate_bytes, rotate_seconds, flush_interval,
                       instruments, overwrite) as recorder,
        ):
            yield recorder
        return
    async with _recording(client, Path(path), args, rotate_bytes, rotate_seconds,
                          flush_interval, instruments, overwrite) as recorder:
        yield recorder


async def _instrument_items(client: WsClient, args: Sequence[Mapping[str, str]],
                            problems: list[str]) -> list[Mapping[str, Any]]:
    items: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    for arg in args:
        inst_id = arg.get("instId")
        if inst_id is None or inst_id in seen:
            continue
        seen.add(inst_id)
        query = _inst_query(inst_id)
        if query is None:
            problems.append(f"{inst_id}: not an instrument name the recorder can look up")
            continue
        inst_type, family = query
        try:
            found = await client.rest.instruments(inst_type, inst_family=family,
                                                  inst_id=inst_id,
                                                  timeout=INSTRUMENT_LOOKUP_TIMEOUT)
        except (OkxError, ValueError) as exc:
            problems.append(f"{inst_id}: its definition could not be read ({exc})")
            continue
        items.extend(i.raw for i in found if i.inst_id == inst_id)
        if not any(i.inst_id == inst_id for i in found):
            problems.append(f"{inst_id}: the exchange does not list it as {inst_type}")
    for problem in problems:
        log.warning("recorder: %s", problem)
    return items


@asynccontextmanager
async def _recording(
    client: WsClient, path: Path, args: list[dict[str, str]], rotate_bytes: int | None,
    rotate_seconds: float | None, flush_interval: float, instruments: bool, overwrite: bool,
) -> AsyncIterator[Recorder]:
    first = part_path(path, 1) if rotate_bytes is not None or rotate_seconds is not None else path
    if not overwrite and first.exists():
        # Before anything is sent; creating the file (exclusively) checks again.
        raise FileExistsError(errno.EEXIST, "the recording file exists", str(first))
    problems: list[str] = []
    items = await _instrument_items(client, args, problems) if instruments else []
    opts = client.options
    source = ws_url("public", market=opts.market, demo_trading=opts.demo_trading,
                    base_url=opts.base_url).rsplit("/ws/", 1)[0]
    writer = RecordingWriter(
        path, source=source, channels=args, instruments=items,
        library=_library(), rotate_bytes=rotate_bytes,
        rotate_seconds=rotate_seconds, overwrite=overwrite,
    )
    start_ns = time.time_ns()
    start_clock = trio.current_time()

    def now_ns() -> int:
        return start_ns + round((trio.current_time() - start_clock) * 1e9)

    writer.open(start_ns)
    recorder = Recorder(writer, args, problems)
    # The block's own error (or cancellation) and the pump's failure leave as
    # themselves, never wrapped in an exception group.
    body_exc: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            try:
                await nursery.start(_pump, client, args, writer, recorder, now_ns,
                                    nursery.cancel_scope.cancel)
            except BaseException as exc:
                body_exc = exc
                nursery.cancel_scope.cancel()
            else:
                nursery.start_soon(_flusher, writer, flush_interval)
                try:
                    yield recorder
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    body_exc = exc
                finally:
                    nursery.cancel_scope.cancel(reason="the recording block ended")
    finally:
        writer.close(now_ns())
    if recorder.error is not None:
        raise recorder.error
    if body_exc is not None:
        raise body_exc


async def _flusher(writer: RecordingWriter, interval: float) -> None:
    while True:
        await trio.sleep(interval)
        writer.flush()


async def _pump(client: WsClient, args: list[dict[str, str]], writer: RecordingWriter,
                recorder: Recorder, now_ns: Callable[[], int], stop: Callable[[], None],
                task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Write every push and gap; after pushes were dropped, subscribe again so the
    order books start over from a fresh snapshot. A failure after the start (a
    resubscription refused) ends the recording: kept in ``recorder.error``."""
    started = False

    def ready() -> None:
        nonlocal started
        started = True
        task_status.started()

    try:
        await _pump_items(client, args, writer, recorder, now_ns, ready)
    except OkxError as exc:
        if not started:
            raise
        recorder.error = exc
        stop()


async def _pump_items(client: WsClient, args: list[dict[str, str]], writer: RecordingWriter,
                      recorder: Recorder, now_ns: Callable[[], int],
                      ready: Callable[[], None]) -> None:
    has_books = any(a["channel"] in BOOK_CHANNEL_DEPTHS
                    and a["channel"] not in FULL_BOOK_CHANNELS for a in args)
    first = True
    while True:
        async with client.subscribe(*args, buffer_size=RECORDER_BUFFER) as sub:
            if first:
                ready()
                first = False
            async for item in sub:
                if isinstance(item, Gap):
                    writer.write_gap(now_ns(), item.reason, item.dropped, args)
                    recorder._wrote()
                    if item.reason == "dropped" and has_books:
                        break
                    continue
                writer.write_push(now_ns(), item.arg, item.data, item.action,
                                  dict(item.extra) if item.extra else None)
                recorder._wrote()
            else:  # pragma: no cover - the iteration ends only with the block
                return
