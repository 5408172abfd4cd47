"""Shared helpers of the reliability suite: size switches, recording connectors, logs.

Every scenario runs at a CI size (part of ``make test``) and a full size marked
``full`` (``make reliability``); :func:`sizes` builds that parametrization.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import attrs
import pytest
import trio
import trio.from_thread
import trio.lowlevel

from okx_trio._transport import Connector, Transport, TransportClosed


def sizes(ci: Any, full: Any, name: str = "size") -> Any:
    """``parametrize`` over the CI size (unmarked) and the full size (marked ``full``)."""
    return pytest.mark.parametrize(
        name,
        [pytest.param(ci, id="ci"), pytest.param(full, id="full", marks=pytest.mark.full)],
    )


class MaxRandom(random.Random):
    """A random source pinned to the top of every range: the backoff becomes deterministic."""

    def uniform(self, a: float, b: float) -> float:
        return b


@attrs.define
class FrameEvent:
    """One frame seen by :class:`RecordingConnector` on the client side."""

    direction: str
    """``"sent"`` or ``"received"``."""
    connection: int
    """The connection's number (1 = the first connection the connector opened)."""
    path: str
    time: float
    data: bytes


class _RecordingTransport(Transport):
    def __init__(self, inner: Transport, owner: RecordingConnector, number: int, path: str) -> None:
        self._inner = inner
        self._owner = owner
        self.number = number
        self.path = path
        self.closed_at: float | None = None

    async def send(self, data: bytes) -> None:
        try:
            await self._inner.send(data)
        except TransportClosed:
            self._closed()
            raise
        self._owner._record("sent", self, data)

    async def receive(self) -> bytes:
        try:
            data = await self._inner.receive()
        except TransportClosed:
            self._closed()
            raise
        self._owner._record("received", self, data)
        return data

    def _closed(self) -> None:
        if self.closed_at is None:
            self.closed_at = trio.current_time()

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        if self.closed_at is None:
            self.closed_at = trio.current_time()
        await self._inner.aclose(code, reason)

    def abort(self) -> None:
        if self.closed_at is None:
            self.closed_at = trio.current_time()
        self._inner.abort()


class RecordingConnector(Connector):
    """Wraps a connector: records every connection attempt and (optionally) every frame.

    ``attempts`` holds ``(trio time, path)`` for every call, refused or not;
    ``frames`` every frame sent or received through the connections it opened
    (when ``keep_frames``), and ``last_rx`` the trio time of the latest frame
    received per connection. REST goes where the inner connector sends it.
    """

    def __init__(self, inner: Connector, *, keep_frames: bool = True) -> None:
        self._inner = inner
        self.rest_transport = inner.rest_transport
        self.keep_frames = keep_frames
        self.attempts: list[tuple[float, str]] = []
        self.transports: list[_RecordingTransport] = []
        self.frames: list[FrameEvent] = []
        self.last_rx: dict[int, float] = {}

    def _record(self, direction: str, transport: _RecordingTransport, data: bytes) -> None:
        now = trio.current_time()
        if direction == "received":
            self.last_rx[transport.number] = now
        if self.keep_frames:
            self.frames.append(FrameEvent(direction, transport.number, transport.path, now, data))

    async def __call__(self, url: str, *, ssl_context: Any, nursery: trio.Nursery) -> Transport:
        path = url.rsplit("/", 1)[-1]
        self.attempts.append((trio.current_time(), path))
        inner = await self._inner(url, ssl_context=ssl_context, nursery=nursery)
        transport = _RecordingTransport(inner, self, len(self.transports) + 1, path)
        self.transports.append(transport)
        return transport

    def connections(self, path: str | None = None) -> list[_RecordingTransport]:
        """The connections opened (on ``path`` if given)."""
        return [t for t in self.transports if path is None or t.path == path]


def rss_bytes() -> int:
    """The process's resident set size now (Linux ``/proc``)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def capture_all_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record of every logger at DEBUG and above, for the block's duration.

    The root logger and every logger already created are set to DEBUG (and
    un-disabled) for the duration, then restored; loggers created meanwhile
    inherit DEBUG from the root.
    """
    handler = _ListHandler()
    root = logging.getLogger()
    saved: dict[logging.Logger, tuple[int, bool]] = {}
    loggers = [root] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    # Loggers that do not propagate get the handler themselves.
    direct = [lg for lg in loggers if lg is not root and not lg.propagate]
    for lg in loggers:
        saved[lg] = (lg.level, lg.disabled)
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    for lg in [root, *direct]:
        lg.addHandler(handler)
    try:
        yield handler.records
    finally:
        for lg in [root, *direct]:
            lg.removeHandler(handler)
        for lg, (level, disabled) in saved.items():
            lg.setLevel(level)
            lg.disabled = disabled


T = TypeVar("T")


@contextmanager
def trio_in_a_thread(
    serve: Callable[[Callable[[T], Awaitable[None]]], Awaitable[None]], name: str,
) -> Iterator[T]:
    """Run ``await serve(publish)`` in its own thread and trio loop; yield what it
    publishes (``await publish(live)`` hands ``live`` over and waits until the block
    ends), then stop it and check that its loop ended cleanly, as itself.

    For the fuzzers, whose examples (plain functions under Hypothesis) reach a
    long-lived simulator or client through ``trio.from_thread``.
    """
    ready = threading.Event()
    box: list[Any] = []

    async def publish(live: T) -> None:
        stop = trio.Event()
        box.append((live, stop, trio.lowlevel.current_trio_token()))
        ready.set()
        await stop.wait()

    def run() -> None:
        try:
            trio.run(serve, publish)
        except BaseException as exc:  # reported by the test
            box.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    assert ready.wait(30)
    if isinstance(box[0], BaseException):
        raise box[0]
    live, stop, token = box[0]
    try:
        yield live
    finally:
        trio.from_thread.run_sync(stop.set, trio_token=token)
        thread.join(30)
        assert not thread.is_alive()
        assert len(box) == 1, box[1:]  # the loop ended cleanly, as itself
