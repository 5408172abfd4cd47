"""Scheduler work per request: which of the client's tasks take a step for one
order round trip (counted with a trio Instrument over the in-memory transport;
counts, not timings). Every task step is a pass of trio's run loop, an
``epoll_wait`` on a real socket: a task woken for nothing costs every request."""

from __future__ import annotations

import collections

import trio
import trio.testing
from support.scripted import ORDER, ScriptedServer, scripted_client


class _Steps(trio.abc.Instrument):
    def __init__(self) -> None:
        self.by_task: collections.Counter[str] = collections.Counter()

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.by_task[task.name] += 1


async def _steps_per_request(n: int, **options: object) -> dict[str, float]:
    server = ScriptedServer()
    async with scripted_client(server, **options) as (client, _):
        for _ in range(5):
            await client.request("order", ORDER)
        await trio.testing.wait_all_tasks_blocked()
        steps = _Steps()
        trio.lowlevel.add_instrument(steps)
        try:
            for _ in range(n):
                await client.request("order", ORDER)
            await trio.testing.wait_all_tasks_blocked()
        finally:
            trio.lowlevel.remove_instrument(steps)
    return {name: count / n for name, count in steps.by_task.items()}


async def test_an_answer_does_not_wake_the_session_supervisor(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The supervisor waits for the connection to end or to be replaced; a request
    # leaving the connection's table is neither (only a retiring connection's
    # drain, and the settling of a new one's subscriptions, wait for that).
    steps = await _steps_per_request(40)
    # The supervisor is the task named "okx_trio private session".
    assert not [name for name in steps if name.endswith(" session")], steps
    # The request's own tasks did run: the count sees them.
    assert steps["okx_trio._session.Session._reader"] == 1, steps


async def test_an_idle_rate_limiter_adds_no_step(
    autojump_clock: trio.testing.MockClock,
) -> None:
    plain = await _steps_per_request(20)
    limited = await _steps_per_request(20, rate_limit=True)
    assert sum(limited.values()) == sum(plain.values()), (plain, limited)
