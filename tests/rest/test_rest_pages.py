"""``Pages``: walking OKX's cursors one page at a time, on a scripted endpoint."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from okx_trio import OkxNotSent, OkxProtocolError, Pages


class Endpoint:
    """A history of ids ``n..1`` (newest first) served with OKX's exclusive cursors."""

    def __init__(self, n: int, *, fail_at: int | None = None, stuck: bool = False) -> None:
        self.ids = list(range(n, 0, -1))
        self.calls: list[dict[str, str]] = []
        self.fail_at = fail_at
        self.stuck = stuck

    async def fetch(self, params: dict[str, str]) -> list[Any]:
        await trio.lowlevel.checkpoint()
        self.calls.append(dict(params))
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise OkxNotSent("scripted outage", "GET /x")
        after = int(params["after"]) if "after" in params and not self.stuck else None
        before = int(params["before"]) if "before" in params else None
        # stuck: a server that ignores the cursor and keeps answering the first page.
        rows = [i for i in self.ids if (after is None or i < after)
                and (before is None or i > before)]
        return [{"billId": str(i)} for i in rows[: int(params["limit"])]]


def pages(ep: Endpoint, *, limit: int | None = None, page_size: int = 10,
          **params: str) -> Pages[int]:
    return Pages("GET /x", ep.fetch, lambda rows: [int(r["billId"]) for r in rows],
                 params=params, cursor="billId", older="after", newer="before",
                 page_size=page_size, limit=limit)


async def items(p: Pages[int]) -> list[int]:
    return [i async for i in p]


async def test_walks_back_page_by_page_and_stops_at_a_short_page() -> None:
    ep = Endpoint(25)
    p = pages(ep)
    assert await items(p) == list(range(25, 0, -1))
    assert [c.get("after") for c in ep.calls] == [None, "16", "6"]
    assert all(c["limit"] == "10" for c in ep.calls)
    assert (p.pages, p.items) == (3, 25)


async def test_an_exact_multiple_costs_one_empty_page() -> None:
    ep = Endpoint(20)
    assert await items(pages(ep)) == list(range(20, 0, -1))
    assert len(ep.calls) == 3


async def test_limit_stops_early_and_asks_only_for_what_is_left() -> None:
    ep = Endpoint(100)
    assert await items(pages(ep, limit=13)) == list(range(100, 87, -1))
    assert [c["limit"] for c in ep.calls] == ["10", "3"]


async def test_given_cursors_bound_the_walk() -> None:
    ep = Endpoint(100)
    got = await items(pages(ep, after="50", before="35"))
    assert got == list(range(49, 35, -1))
    assert all(c["before"] == "35" for c in ep.calls)
    assert ep.calls[0]["after"] == "50"


async def test_only_one_page_is_held() -> None:
    ep = Endpoint(1000)
    p = pages(ep, page_size=100)
    seen = 0
    async for _ in p:
        seen += 1
        assert len(p._buffer) < 100
        if seen == 150:
            break
    assert len(ep.calls) == 2


async def test_a_failed_page_is_asked_for_again_nothing_skipped() -> None:
    ep = Endpoint(25, fail_at=2)
    p = pages(ep)
    got: list[int] = []

    async def until_it_fails() -> None:
        async for i in p:
            got.append(i)

    with pytest.raises(OkxNotSent):
        await until_it_fails()
    got += await items(p)
    assert got == list(range(25, 0, -1))
    assert ep.calls[1] == ep.calls[2]


async def test_a_cancelled_page_is_asked_for_again(autojump_clock: trio.testing.MockClock) -> None:
    ep = Endpoint(15)

    async def slow(params: dict[str, str]) -> list[Any]:
        if "after" in params and not getattr(slow, "done", False):
            slow.done = True  # type: ignore[attr-defined]
            await trio.sleep(10)
        return await ep.fetch(params)

    p: Pages[int] = Pages("GET /x", slow, lambda rows: [int(r["billId"]) for r in rows],
                          params={}, cursor="billId", older="after", newer="before",
                          page_size=10, limit=None)
    got = []
    with trio.move_on_after(1):
        async for i in p:
            got.append(i)
    got += await items(p)
    assert got == list(range(15, 0, -1))


async def test_a_cursor_that_does_not_move_back_is_a_protocol_error() -> None:
    ep = Endpoint(30, stuck=True)
    with pytest.raises(OkxProtocolError, match="not older"):
        await items(pages(ep))


async def test_an_item_without_its_cursor_is_a_protocol_error() -> None:
    async def fetch(params: dict[str, str]) -> list[Any]:
        return [{"x": "1"}] * 10

    p: Pages[Any] = Pages("GET /x", fetch, list, params={}, cursor="billId", older="after",
                          newer="before", page_size=10, limit=None)
    with pytest.raises(OkxProtocolError, match="billId"):
        await items(p)
