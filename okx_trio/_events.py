"""Lifecycle events: published by the sessions, read through ``WsClient.events()``."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import trio

from ._models import LifecycleEvent

__all__ = ["EVENT_BUFFER", "EventHub", "EventStream"]

log = logging.getLogger("okx_trio")

EVENT_BUFFER: Final = 256
"""Lifecycle events kept per ``events()`` subscriber; the oldest is dropped first."""


class EventStream:
    """The lifecycle events of a client, as an async iterator of ``LifecycleEvent``.

    Yielded by ``async with ws.events() as events``; ``async for event in
    events`` gives every event from then on until the block exits. The buffer
    holds ``EVENT_BUFFER`` events; when a slow reader lets it fill, the
    oldest go first and ``dropped`` counts them.
    """

    def __init__(self, capacity: int = EVENT_BUFFER) -> None:
        self.buffer: deque[LifecycleEvent] = deque(maxlen=capacity)
        """Events not read yet, oldest first."""
        self.dropped = 0
        """Events discarded because the buffer was full."""
        self._wake = trio.Event()

    def __repr__(self) -> str:
        return f"<EventStream buffered={len(self.buffer)} dropped={self.dropped}>"

    def _put(self, event: LifecycleEvent) -> None:
        if len(self.buffer) == self.buffer.maxlen:
            self.dropped += 1
        self.buffer.append(event)
        self._wake.set()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> LifecycleEvent:
        while not self.buffer:
            self._wake = trio.Event()
            await self._wake.wait()
        await trio.lowlevel.checkpoint()
        return self.buffer.popleft()


class EventHub:
    """Publishes lifecycle events to the open ``EventStream`` s and the log."""

    def __init__(self, *, log_events: bool) -> None:
        self._log_events = log_events
        self._streams: list[EventStream] = []

    def emit(self, kind: str, connection: str, detail: Any = None) -> None:
        """Publish one event (never blocks: each stream drops its oldest when full)."""
        event = LifecycleEvent(kind, connection, detail)
        if self._log_events:
            level = (logging.WARNING if kind in ("exception", "reconnect", "abandoned")
                     else logging.INFO)
            if log.isEnabledFor(level):
                log.log(level, "%s connection: %s%s", connection, kind,
                        f" ({detail})" if detail is not None else "")
        for stream in self._streams:
            stream._put(event)

    @asynccontextmanager
    async def open_stream(self) -> AsyncIterator[EventStream]:
        """An ``EventStream`` receiving every event until the block exits."""
        stream = EventStream()
        self._streams.append(stream)
        try:
            yield stream
        finally:
            self._streams.remove(stream)
