"""Run a bot on a recording: ``run_replay`` and its ``ReplayResult``.

::

    import trio, trio.testing
    from okx_trio.replay import run_replay

    async def bot(api: okx_trio.WsApiClient) -> None:
        ...  # the same code that trades on OKX

    result = trio.run(run_replay, "btc.jsonl.gz", bot,
                      clock=trio.testing.MockClock(autojump_threshold=0))
    print(result.summary())
    result.write("run.jsonl")        # fills and book samples for a notebook
    result.plot("run.png")           # with the plot extra (matplotlib)

The bot gets a ``okx_trio.WsApiClient`` logged in to a simulator that
replays the recording (``open_simulator(replay=...)``), over in-memory
connections, with its ids drawn from the seed; the replay runs in lockstep with
it, so under ``trio.testing.MockClock`` the same recording, seed and bot give
the same result, byte for byte (``ReplayResult.to_jsonl``). The command
line does the same: ``okx-trio replay FILE --bot module:function``.

This module is an application of the public API (``okx_trio`` and
``okx_trio.testing``), like the command line.
"""

from __future__ import annotations

import math
import os
import random
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import orjson
import trio

import okx_trio
from okx_trio import Connector, Credentials, Transport, WsApiClient
from okx_trio.testing import DEFAULT_CREDENTIALS, ReplayStep, open_simulator

from ._replay_results import BookSample, InstrumentPnl, ReplayResult, write_jsonl

__all__ = ["BookSample", "Bot", "InstrumentPnl", "ReplayResult", "run_replay", "write_jsonl"]

Bot = Callable[[WsApiClient], Awaitable[None]]
"""A bot: an async function of a logged-in ``WsApiClient``."""

ORDER_OPS: Final = frozenset({
    "order", "batch-orders", "cancel-order", "batch-cancel-orders", "amend-order",
    "batch-amend-orders", "mass-cancel", "sprd-order", "sprd-cancel-order",
    "sprd-amend-order", "sprd-mass-cancel",
})
"""The ops whose answers the latency figures time."""


class _Latency:
    """Times each order op from its frame sent to its answer received."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.orders = 0

    def outgoing(self, data: bytes) -> None:
        if b'"op"' not in data:
            return
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if isinstance(obj, dict) and obj.get("op") in ORDER_OPS and isinstance(obj.get("id"),
                                                                                 str):
            self.orders += 1
            self.sent[obj["id"]] = trio.current_time()

    def incoming(self, data: bytes) -> None:
        # Answers start with their id; pushes with their arg.
        if not data.startswith(b'{"id":') or not self.sent:
            return
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        rid = obj.get("id") if isinstance(obj, dict) else None
        sent = self.sent.pop(rid, None) if isinstance(rid, str) else None
        if sent is not None:
            self.latencies.append(trio.current_time() - sent)


class _DelayedTransport(Transport):
    """The bot's side of one in-memory connection, ``delay`` seconds each way
    (frames keep their order), timing the answers to order ops."""

    def __init__(self, inner: Transport, delay: float, timer: _Latency) -> None:
        self._inner = inner
        self._delay = delay
        self._timer = timer
        self._scope = trio.CancelScope()
        self._error: BaseException | None = None
        self._out_send, self._out_recv = trio.open_memory_channel[tuple[float, bytes]](math.inf)
        self._in_send, self._in_recv = trio.open_memory_channel[tuple[float, list[bytes]]](
            math.inf)

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Carry the frames both ways until the connection ends."""
        with self._scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._forward_out)
                nursery.start_soon(self._forward_in)
                task_status.started()

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        self._in_send.close()

    async def _forward_out(self) -> None:
        async for due, data in self._out_recv:
            await trio.sleep_until(due)
            try:
                await self._inner.send(data)
            except Exception as exc:
                self._fail(exc)
                return

    async def _forward_in(self) -> None:
        while True:
            try:
                frames = await self._inner.receive_many()
            except Exception as exc:
                self._fail(exc)
                return
            self._in_send.send_nowait((trio.current_time() + self._delay, frames))

    async def send(self, data: bytes) -> None:
        """Queue ``data``; it reaches the exchange ``delay`` seconds from now."""
        if self._error is not None:
            raise self._error
        self._timer.outgoing(data)
        self._out_send.send_nowait((trio.current_time() + self._delay, data))
        await trio.lowlevel.checkpoint()

    async def receive(self) -> bytes:
        """Not used: the client reads with ``receive_many``."""
        raise NotImplementedError

    async def receive_many(self) -> list[bytes]:
        """The next frames, ``delay`` seconds after the exchange sent them."""
        try:
            due, frames = await self._in_recv.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            assert self._error is not None
            raise self._error from None
        await trio.sleep_until(due)
        for data in frames:
            self._timer.incoming(data)
        return frames

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection and stop carrying frames."""
        self._scope.cancel()
        await self._inner.aclose(code, reason)

    def abort(self) -> None:
        """Drop the connection at once."""
        self._scope.cancel()
        self._inner.abort()


class _DelayedConnector(Connector):
    """Opens the simulator's in-memory connections behind ``_DelayedTransport``."""

    def __init__(self, inner: Connector, delay: float, timer: _Latency) -> None:
        self._inner = inner
        self._delay = delay
        self._timer = timer
        self.rest_transport = inner.rest_transport

    async def __call__(self, url: str, *, ssl_context: ssl.SSLContext | None,
                       nursery: trio.Nursery) -> Transport:
        """Open ``url`` in memory; the frames it carries take ``delay`` each way."""
        inner = await self._inner(url, ssl_context=ssl_context, nursery=nursery)
        transport = _DelayedTransport(inner, self._delay, self._timer)
        await nursery.start(transport.run)
        return transport


def _instrument_terms(instruments: Sequence[okx_trio.Instrument]
                      ) -> tuple[dict[str, Decimal], dict[str, str]]:
    """Contract values and PnL currencies (quote for spot, settlement for derivatives)."""
    ct_val: dict[str, Decimal] = {}
    ccy: dict[str, str] = {}
    for inst in instruments:
        raw = inst.raw
        if raw.get("instType") in ("SWAP", "FUTURES", "OPTION"):
            ct_val[inst.inst_id] = Decimal(str(raw.get("ctVal") or 1)) * Decimal(
                str(raw.get("ctMult") or 1))
            ccy[inst.inst_id] = str(raw.get("settleCcy") or "")
        else:
            ccy[inst.inst_id] = str(raw.get("quoteCcy") or "")
    return ct_val, ccy


async def run_replay(
    recording: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | okx_trio.Recording,
    bot: Bot,
    *,
    seed: int = 0,
    latency: float = 0.0,
    speed: float | str = 1.0,
    credentials: Credentials = DEFAULT_CREDENTIALS,
    book_depth: int = 1,
    simulator_options: Mapping[str, Any] | None = None,
) -> ReplayResult:
    """Run ``bot`` on a recording and collect what it did.

    The bot is started with a ``okx_trio.WsApiClient`` logged in to a
    simulator replaying ``recording`` (in-memory connections, ids from
    ``seed``); the replay starts at once and runs in lockstep with the process
    (each record waits until every task is blocked, so the bot has reacted to
    the last pushes). When every record is applied and the bot had its last
    turn, the bot is cancelled (or it may return earlier: the replay goes on,
    filling what it left resting) and the account's fills are read over REST.

    Run it on virtual time for a recording's hours in seconds and a result that
    repeats byte for byte::

        trio.run(run_replay, path, bot, clock=trio.testing.MockClock(autojump_threshold=0))

    Args:
        recording: the recording (a file, its parts, a directory, a ``Recording``).
        bot: ``async def bot(api: WsApiClient) -> None``.
        seed: the simulator's seed and the client's (its ids).
        latency: seconds each WebSocket frame takes between the bot and the
            exchange, each way (orders arrive that much after the bot decided;
            pushes reach it that much after the exchange sent them).
        speed: the replay's pace (``1.0`` recorded, virtual under MockClock; ``"max"``).
        credentials: the account the bot trades (the simulator's default one).
        book_depth: levels per side in each book sample.
        simulator_options: more ``open_simulator`` arguments (``balances``...).

    Returns:
        the ``ReplayResult``.

    Raises:
        Exception: what the bot raised, as itself.
        ValueError: a bad recording, latency or book depth.
    """
    if isinstance(latency, bool) or not isinstance(latency, (int, float)) or not (
            0 <= latency < math.inf):
        raise ValueError(f"latency must be a number of seconds >= 0, got {latency!r}")
    if isinstance(book_depth, bool) or not isinstance(book_depth, int) or book_depth < 1:
        raise ValueError(f"book_depth must be an int >= 1, got {book_depth!r}")
    if not isinstance(recording, okx_trio.Recording):
        recording = okx_trio.read_recording(recording)
    options = dict(simulator_options or {})
    options.setdefault("accounts", [credentials])
    timer = _Latency()
    book: list[BookSample] = []
    last_tops: dict[str, Any] = {}
    bot_error: list[BaseException] = []
    async with open_simulator(seed=seed, replay=recording, replay_speed=speed,
                              replay_start="manual", **options) as sim:
        replay = sim.replay
        assert replay is not None
        replay.lockstep = True

        def sample(step: ReplayStep) -> None:
            inst_id = getattr(step.record, "inst_id", None)
            if inst_id is None or replay is None:
                return
            bids, asks = replay.top(inst_id, book_depth)
            if last_tops.get(inst_id) == (bids, asks):
                return
            last_tops[inst_id] = (bids, asks)
            book.append(BookSample(step.time_ms, inst_id, tuple(bids), tuple(asks)))

        replay.add_listener(sample)
        connector = sim.connect_memory()
        # Even without latency the connector times the answers to order ops.
        transport = _DelayedConnector(connector, float(latency), timer)
        async with okx_trio.open_ws_api_client(
            credentials=credentials, base_url=sim.base_url, transport=transport,
            id_prefix="bot", random=random.Random(seed),
        ) as api:

            async def run_bot() -> None:
                try:
                    await bot(api)
                except Exception as exc:
                    bot_error.append(exc)
                    nursery.cancel_scope.cancel()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(run_bot)
                replay.start()
                await replay.wait_done()
                nursery.cancel_scope.cancel()
            if bot_error:
                raise bot_error[0]
            # What the exchange recorded, read as a bot would: its instruments, then
            # every fill of each instrument type.
            fills = []
            instruments: list[okx_trio.Instrument] = []
            for inst_type in ("SPOT", "SWAP", "FUTURES", "OPTION"):
                try:
                    instruments += await api.rest.instruments(inst_type)
                except okx_trio.OkxApiError:
                    pass  # OPTION needs a family (contract terms then default to 1)
                fills += [f async for f in api.rest.fills_history(inst_type)]
            ct_val, ccy = _instrument_terms(instruments)
    fills.sort(key=lambda f: (f.ts or 0, int(f.bill_id or 0)))
    records = replay.applied
    span = 0.0
    if book:
        span = (book[-1].ts - book[0].ts) / 1000
    return ReplayResult(
        recording=str(recording.paths[0]), records=records, span=span, seed=seed,
        fills=fills, book=book, latencies=timer.latencies, orders_sent=timer.orders,
        ct_val=ct_val, quote_ccy=ccy, problems=list(recording.problems),
    )
