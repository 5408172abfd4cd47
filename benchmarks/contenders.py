"""okx_trio's side of each measurement, through its public API only.

Every client runs with ``rate_limit=False`` (client-side pacing off) and the
default ``request_timeout`` (10 s, so each order carries an ``expTime``, as the
floor's frames do).
"""

from __future__ import annotations

from typing import Any

import trio

import okx_trio
from okx_trio import Push

from .floor import ORDER_ARGS, Ids
from .measure import Clock, Sample

CREDS = okx_trio.Credentials(api_key="bench-key", secret_key="bench-secret",
                             passphrase="bench-pass")
WARMUP = int(__import__("os").environ.get("BENCH_WARMUP", "50"))


def client_options(url: str, transport: str, creds: okx_trio.Credentials) -> dict[str, Any]:
    """The options every okx_trio contender uses."""
    return {"credentials": creds, "base_url": url, "transport": transport, "rate_limit": False,
            "log_lifecycle": False}


async def api_sequential(url: str, n: int, code: int, transport: str,
                         creds: okx_trio.Credentials = CREDS) -> Sample:
    """``WsApiClient.submit_new_order`` awaited ``n`` times; seconds per round trip."""
    order = {**ORDER_ARGS, "instIdCode": code}
    async with okx_trio.open_ws_api_client(**client_options(url, transport, creds)) as api:
        for _ in range(WARMUP):
            await api.submit_new_order(order)
        clock = Clock()
        for _ in range(n):
            ack = await api.submit_new_order(order)
            if not ack.ok:
                raise RuntimeError(f"order refused: {ack}")
            clock.lap()
        return clock.per_op(n)


async def request_sequential(url: str, n: int, code: int, transport: str,
                             creds: okx_trio.Credentials = CREDS) -> Sample:
    """``WsClient.request("order", ...)`` awaited ``n`` times (same frames, clOrdId included)."""
    cl_ids = Ids("cr000000")
    async with okx_trio.open_ws_client(**client_options(url, transport, creds)) as ws:
        for _ in range(WARMUP):
            await ws.request("order", [{**ORDER_ARGS, "instIdCode": code, "clOrdId": cl_ids()}])
        clock = Clock()
        for _ in range(n):
            response = await ws.request(
                "order", [{**ORDER_ARGS, "instIdCode": code, "clOrdId": cl_ids()}])
            if response.data[0]["sCode"] != "0":
                raise RuntimeError(f"order refused: {response}")
            clock.lap()
        return clock.per_op(n)


async def api_pipelined(url: str, total: int, concurrency: int, code: int, transport: str,
                        creds: okx_trio.Credentials = CREDS) -> Sample:
    """``total`` ``submit_new_order`` calls from ``concurrency`` tasks; requests per second."""
    order = {**ORDER_ARGS, "instIdCode": code}
    per_task = total // concurrency
    async with okx_trio.open_ws_api_client(**client_options(url, transport, creds)) as api:
        for _ in range(WARMUP):
            await api.submit_new_order(order)

        async def worker() -> None:
            for _ in range(per_task):
                await api.submit_new_order(order)

        clock = Clock()
        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(worker)
        return clock.rate(per_task * concurrency)


async def subscribe_pushes(url: str, n: int, channel: str, field: str, transport: str,
                           rss_every: int = 0, rss: list[int] | None = None) -> Sample:
    """``WsClient.subscribe`` + ``async for``; the consumer reads ``data[0][field]``.

    Timed from the first push to the last. A ``Gap`` (pushes dropped because the
    consumer fell behind) is counted, and its dropped pushes count towards ``n``
    so the run ends, but the rate counts only pushes seen. With ``rss``, VmRSS
    is appended every ``rss_every`` pushes (seen or dropped) and at the end.
    """
    from .memory import vm_rss

    async with okx_trio.open_ws_client(base_url=url, transport=transport, rate_limit=False,
                                       log_lifecycle=False) as ws:
        seen = gaps = dropped = 0
        next_rss = rss_every
        clock = Clock()
        sink = None
        sample: Sample | None = None
        async with ws.subscribe({"channel": channel, "instId": "BTC-USDT"}) as sub:
            async for item in sub:
                if type(item) is Push:
                    sink = item.data[0][field]
                    seen += 1
                    if seen == 1:
                        clock.restart()
                else:
                    gaps += 1
                    dropped += getattr(item, "dropped", 0)
                if rss is not None and seen + dropped >= next_rss:
                    rss.append(vm_rss())
                    next_rss += rss_every
                if seen + dropped >= n:
                    # The clock stops here: leaving the block waits for the
                    # unsubscribe ack, which is not part of the throughput.
                    sample = clock.rate(seen - 1, gaps=gaps, dropped=dropped)
                    break
        del sink
        if sample is None:
            raise RuntimeError(f"the stream ended after {seen} of {n} pushes")
        if rss is not None:
            rss.append(vm_rss())
        return sample
