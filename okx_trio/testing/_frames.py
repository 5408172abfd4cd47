"""The simulator's log of every frame it received from clients."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import trio


@attrs.frozen
class FrameRecord:
    """One frame a client sent to the simulator."""

    conn_id: str
    """The connection's 8-hex ``connId``."""
    path: str
    """``"public"``, ``"private"`` or ``"business"``."""
    api_key: str | None
    """The API key logged in on the connection when the frame arrived, else ``None``."""
    text: str
    """The frame as text (invalid UTF-8 replaced); ``"ping"`` for text pings."""
    obj: Any
    """The decoded JSON value, or ``None`` for ``ping`` and undecodable frames."""
    time: float
    """``trio.current_time()`` when the frame arrived."""
    binary: bool = False
    """True if the client sent a binary message."""

    @property
    def op(self) -> str | None:
        """The request's ``op`` if the frame is a JSON object with a string ``op``."""
        if isinstance(self.obj, dict):
            op = self.obj.get("op")
            if isinstance(op, str):
                return op
        return None


class FrameLog:
    """Every frame received, oldest first (bounded: the oldest are dropped past ``maxlen``).

    Iterable and indexable like a list of ``FrameRecord``.
    """

    def __init__(self, maxlen: int | None = 100_000) -> None:
        self._records: deque[FrameRecord] = deque(maxlen=maxlen)
        self._changed = trio.Event()

    def append(self, record: FrameRecord) -> None:
        """Record one frame (used by the server)."""
        self._records.append(record)
        self._changed.set()
        self._changed = trio.Event()

    def __iter__(self) -> Iterator[FrameRecord]:
        return iter(list(self._records))

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index: int) -> FrameRecord:
        return self._records[index]

    def clear(self) -> None:
        """Forget every recorded frame."""
        self._records.clear()

    def ops(self, op: str | None = None) -> list[dict[str, Any]]:
        """The decoded request objects that carry an ``op`` (only ``op`` if given)."""
        out: list[dict[str, Any]] = []
        for record in self._records:
            record_op = record.op
            if record_op is not None and (op is None or record_op == op):
                out.append(record.obj)
        return out

    def for_connection(self, conn_id: str) -> list[FrameRecord]:
        """The frames received on one connection."""
        return [r for r in self._records if r.conn_id == conn_id]

    async def wait_for(self, predicate: Callable[[FrameRecord], bool]) -> FrameRecord:
        """Wait until a frame matching ``predicate`` has been received and return it.

        Frames already in the log count. Bound it with the caller's own
        ``trio.fail_after``.
        """
        while True:
            for record in list(self._records):
                if predicate(record):
                    return record
            await self._changed.wait()
