"""Recording files: the writer (gzip, rotation, always readable) and the reader.

``RecordingWriter`` writes the format of ``_recording_format`` into a
gzip stream. Every ``RecordingWriter.flush`` is a zlib *sync flush*:
everything written so far can be decompressed from the file as it stands, so a
recorder stopped at any moment (Ctrl-C, a crash, a power cut) leaves a file
whose records up to the last flush are readable; a clean close adds the ``end``
record and the gzip trailer. Rotation ends the current part the same way and
opens the next (``btc.0001.jsonl.gz``, ``btc.0002.jsonl.gz``...), each with its
own header.

``read_recording`` reads one file, several parts, or a directory of them.
A part cut short (no ``end`` record, no gzip trailer, a torn last line) is read
up to its last whole record and the reader says so in
``Recording.problems``; damage anywhere else is an error.
"""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ._recording_format import (
    RecordedGap,
    RecordedPush,
    RecordingHeader,
    decode_header,
    decode_record,
    encode_end,
    encode_gap,
    encode_header,
    encode_push,
    iso_utc,
)

__all__ = ["Recording", "RecordingWriter", "part_path", "read_recording"]

log = logging.getLogger("okx_trio")

PathLike = str | os.PathLike[str]


def part_path(path: Path, part: int) -> Path:
    """Where part ``part`` of a rotated recording named ``path`` goes:
    ``btc.jsonl.gz`` -> ``btc.0003.jsonl.gz``."""
    name = path.name
    for suffix in (".jsonl.gz", ".json.gz", ".gz"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return path.with_name(f"{name[: -len(suffix)]}.{part:04d}{suffix}")
    return path.with_name(f"{name}.{part:04d}")


class RecordingWriter:
    """Writes one recording, rotated into parts if asked (used by ``okx_trio.record``).

    Args:
        path: the file (or, with rotation, the name the parts are numbered from).
        source, channels, instruments, library: the header's fields.
        rotate_bytes: start a new part once the current one holds this many
            compressed bytes (checked at each flush); ``None``: never.
        rotate_seconds: start a new part once the current one is this old
            (recording time); ``None``: never.
        overwrite: replace existing files instead of refusing them.
        compresslevel: gzip level, 1 (fast) to 9 (small).
    """

    def __init__(
        self,
        path: PathLike,
        *,
        source: str,
        channels: Sequence[Mapping[str, str]],
        instruments: Sequence[Mapping[str, Any]] = (),
        library: str = "",
        rotate_bytes: int | None = None,
        rotate_seconds: float | None = None,
        overwrite: bool = False,
        compresslevel: int = 6,
    ) -> None:
        self.path = Path(path)
        self._source = source
        self._channels = tuple(dict(a) for a in channels)
        self._instruments = tuple(instruments)
        self._library = library
        self.rotate_bytes = rotate_bytes
        self.rotate_ns = None if rotate_seconds is None else int(rotate_seconds * 1e9)
        self._mode = "wb" if overwrite else "xb"
        self._level = compresslevel
        self.files: list[Path] = []
        """Every file written so far, the current one last."""
        self.pushes = 0
        """Push records written (all parts)."""
        self.gaps = 0
        """Gap records written (all parts)."""
        self._done_bytes = 0
        self._raw: IO[bytes] | None = None
        self._gz: gzip.GzipFile | None = None
        self._part_start = 0
        self._part_pushes = 0
        self._part_gaps = 0
        self._last_t = 0

    @property
    def rotating(self) -> bool:
        """True when the recording is split into numbered parts."""
        return self.rotate_bytes is not None or self.rotate_ns is not None

    @property
    def bytes_written(self) -> int:
        """Compressed bytes in the files so far (the current part as of its last flush)."""
        return self._done_bytes + (self._raw.tell() if self._raw is not None else 0)

    def open(self, t: int) -> None:
        """Create the first part and write its header (``t``: Unix ns, the start).

        Raises:
            FileExistsError: the file exists (and ``overwrite`` is off).
            OSError: the file cannot be created.
        """
        self._open_part(t)

    def _open_part(self, t: int) -> None:
        part = len(self.files) + 1
        target = part_path(self.path, part) if self.rotating else self.path
        raw = open(target, self._mode)  # noqa: SIM115 - closed in _close_part
        self._raw = raw
        self._gz = gzip.GzipFile(filename="", fileobj=raw, mode="wb",
                                 compresslevel=self._level, mtime=0)
        self.files.append(target)
        self._part_start = t
        self._part_pushes = self._part_gaps = 0
        self._gz.write(encode_header(RecordingHeader(
            source=self._source, channels=self._channels, start=iso_utc(t), start_ns=t,
            part=part, instruments=self._instruments, library=self._library,
        )))
        self.flush()

    def write_push(self, t: int, arg: Mapping[str, Any], data: Sequence[Any],
                   action: str | None = None, extra: Mapping[str, Any] | None = None) -> None:
        """Write one push record (buffered until the next ``flush``)."""
        self._write(t, encode_push(t, arg, data, action, extra))
        self.pushes += 1
        self._part_pushes += 1

    def write_gap(self, t: int, reason: str, dropped: int,
                  args: Sequence[Mapping[str, Any]]) -> None:
        """Write one gap record."""
        self._write(t, encode_gap(t, reason, dropped, args))
        self.gaps += 1
        self._part_gaps += 1

    def _write(self, t: int, line: bytes) -> None:
        if self._gz is None:
            raise ValueError("the recording is closed")
        self._last_t = max(self._last_t, t)
        self._gz.write(line)

    def flush(self) -> None:
        """Make everything written so far readable from the file (a zlib sync flush),
        then rotate if the part is full or old enough."""
        gz, raw = self._gz, self._raw
        if gz is None or raw is None:
            return
        gz.flush(zlib.Z_SYNC_FLUSH)
        raw.flush()
        full = self.rotate_bytes is not None and raw.tell() >= self.rotate_bytes
        old = self.rotate_ns is not None and self._last_t - self._part_start >= self.rotate_ns
        if full or old:
            self.rotate()

    def rotate(self) -> None:
        """End the current part and start the next (only when rotating)."""
        if not self.rotating or self._gz is None:
            return
        t = self._last_t
        self._close_part(t)
        self._open_part(t)

    def _close_part(self, t: int) -> None:
        gz, raw = self._gz, self._raw
        self._gz = self._raw = None
        if gz is None or raw is None:
            return
        try:
            gz.write(encode_end(max(t, self._last_t), self._part_pushes, self._part_gaps))
            gz.close()
            raw.flush()
            self._done_bytes += raw.tell()
        finally:
            raw.close()

    def close(self, t: int) -> None:
        """Write the end record and the gzip trailer; the writer is done (idempotent)."""
        self._close_part(t)


class Recording:
    """A recording on disk: its header and its records (see ``read_recording``).

    Iterating yields every ``RecordedPush`` and ``RecordedGap`` of
    every part, in order, reading the files afresh each time. A part cut short
    is read up to its last whole record; ``problems`` then says so.
    """

    def __init__(self, paths: Sequence[Path], headers: Sequence[RecordingHeader]) -> None:
        self.paths: tuple[Path, ...] = tuple(paths)
        """The files, in part order."""
        self.header: RecordingHeader = headers[0]
        """The header of the first part (the channels, source and instruments of all)."""
        self.headers: tuple[RecordingHeader, ...] = tuple(headers)
        """Each part's header."""
        self.problems: list[str] = []
        """What the last full iteration found cut short (empty: every part was whole)."""

    def __repr__(self) -> str:
        return f"<Recording {self.paths[0].name} parts={len(self.paths)}>"

    @property
    def complete(self) -> bool:
        """True when the last iteration found every part whole."""
        return not self.problems

    def __iter__(self) -> Iterator[RecordedPush | RecordedGap]:
        self.problems = []
        for path in self.paths:
            yield from self._read_part(path)

    def _read_part(self, path: Path) -> Iterator[RecordedPush | RecordedGap]:
        count = 0
        ended = False
        bad: str | None = None
        torn = ""
        try:
            with gzip.open(path, "rb") as f:
                f.readline()  # the header, read when the recording was opened
                for line in f:
                    if bad is not None:
                        raise ValueError(f"{path}: record {count + 1}: {bad}")
                    if not line.endswith(b"\n"):
                        torn = "its last record is cut off"
                        break
                    try:
                        record = decode_record(line)
                    except ValueError as exc:
                        bad = str(exc)
                        continue
                    if isinstance(record, tuple):
                        ended = True
                        continue
                    if ended:
                        raise ValueError(f"{path}: a record after the end record")
                    count += 1
                    yield record
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            torn = f"its compressed stream stops short ({exc})"
        if bad is not None:
            torn = f"its last record is damaged ({bad})"
        if not ended:
            problem = (f"{path}: ends without its end record after {count} records"
                       f"{': ' + torn if torn else ''}; the recorder was stopped abruptly, "
                       "the records before are intact")
            self.problems.append(problem)
            log.warning("%s", problem)


def _files(paths: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        path = Path(paths)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.name.endswith(".gz"))
            if not found:
                raise FileNotFoundError(f"{path}: no recording files (*.gz) in this directory")
            return found
        return [path]
    files = [Path(p) for p in paths]
    if not files:
        raise ValueError("no recording files given")
    return files


def read_header(path: Path) -> RecordingHeader:
    """The header of one recording file.

    Raises:
        ValueError: not a recording (or not gzip).
        OSError: the file cannot be read.
    """
    try:
        with gzip.open(path, "rb") as f:
            first = f.readline()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: not a gzip recording ({exc})") from None
    if not first.endswith(b"\n"):
        raise ValueError(f"{path}: no whole header line (an empty or damaged recording)")
    try:
        return decode_header(first)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def read_recording(paths: PathLike | Sequence[PathLike]) -> Recording:
    """Open a recording: one file, its rotated parts (a list), or a directory of parts.

    Only the headers are read now; iterate the result for the records. Parts are
    put in their ``part`` order and must come from the same recording (same
    source and channels).

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: a file is not a recording of a version this library reads, or
            the parts do not belong together.
    """
    files = _files(paths)
    headers = [read_header(p) for p in files]
    order = sorted(range(len(files)), key=lambda i: (headers[i].part, headers[i].start_ns))
    files = [files[i] for i in order]
    headers = [headers[i] for i in order]
    first = headers[0]
    for path, header in zip(files[1:], headers[1:], strict=True):
        if header.source != first.source or list(header.channels) != list(first.channels):
            raise ValueError(f"{path}: not a part of the same recording as {files[0]} "
                             "(its source or channels differ)")
    return Recording(files, headers)
