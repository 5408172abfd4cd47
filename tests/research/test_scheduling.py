"""A replay seeds trio's scheduler: tasks woken together run in the seed's order, and
trio's own state is back as it was afterwards."""

from __future__ import annotations

import trio
import trio.testing

from okx_trio.testing._scheduling import seeded_scheduling

RUNNER = trio._core._run


async def _wake_orders(rounds: int = 4, tasks: int = 8) -> list[list[int]]:
    """The order in which ``tasks`` tasks woken by one event run, ``rounds`` times."""
    orders = []
    for _ in range(rounds):
        event = trio.Event()
        order: list[int] = []

        async def waiter(i: int, event: trio.Event = event, order: list[int] = order) -> None:
            await event.wait()
            order.append(i)

        async with trio.open_nursery() as nursery:
            for i in range(tasks):
                nursery.start_soon(waiter, i)
            await trio.testing.wait_all_tasks_blocked()
            event.set()
        orders.append(order)
    return orders


async def test_tasks_woken_together_run_in_the_seeds_order() -> None:
    flag, state = RUNNER._ALLOW_DETERMINISTIC_SCHEDULING, RUNNER._r.getstate()
    runs = []
    for seed in (3, 3, 4):
        with seeded_scheduling(seed):
            runs.append(await _wake_orders())
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]  # 4 rounds of 8! orders: the seed decides
    assert len({tuple(order) for order in runs[0]}) > 1  # still shuffled, round to round
    assert flag == RUNNER._ALLOW_DETERMINISTIC_SCHEDULING
    assert RUNNER._r.getstate() == state


async def test_nested_blocks_keep_the_outer_seed() -> None:
    flag = RUNNER._ALLOW_DETERMINISTIC_SCHEDULING
    with seeded_scheduling(5):
        alone = await _wake_orders()
    with seeded_scheduling(5):
        with seeded_scheduling(6):
            nested = await _wake_orders()
        assert RUNNER._ALLOW_DETERMINISTIC_SCHEDULING is True
    assert nested == alone
    assert flag == RUNNER._ALLOW_DETERMINISTIC_SCHEDULING
