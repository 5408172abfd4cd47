"""Walking OKX's paginated REST endpoints, one page in memory at a time.

OKX answers a history endpoint newest first, at most a page of items per
request, and pages back with exclusive cursors: ``after=X`` asks for what is
older than X, ``before=X`` for what is newer (the spread endpoints name them
``endId`` and ``beginId``). ``Pages`` asks for the first page, hands its
items out one by one, and asks for the next page (``after`` = the cursor of
the last item) only when they are used up; it stops after ``limit`` items,
or at the first page shorter than it asked for.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from ._exceptions import OkxProtocolError
from ._formats import is_digits

__all__ = ["Pages"]

T = TypeVar("T")

Fetch = Callable[[dict[str, str]], Awaitable[list[Any]]]
"""``await fetch(params)``: one request with these query parameters; its ``data``."""
Build = Callable[[list[Any]], list[T]]
"""The typed items of one page's ``data``."""


class Pages(Generic[T]):
    """An async iterator over a paginated REST endpoint, newest first.

    Returned by the history methods of ``RestApiClient``
    (``async for fill in rest.fills_history("SPOT"): ...``). Only the current
    page is held in memory; the next one is requested (paced, within the
    call's ``timeout``) when the items of this one are used up. Each page is a
    request of its own, with its own deadline: a failed request raises from
    ``async for``, and iterating again retries the same page (nothing is
    skipped). An iterator is used once.

    Not constructed directly.
    """

    def __init__(
        self,
        what: str,
        fetch: Fetch,
        build: Build[T],
        *,
        params: Mapping[str, str],
        cursor: str | int,
        older: str,
        newer: str,
        page_size: int,
        limit: int | None,
    ) -> None:
        self._what = what
        self._fetch = fetch
        self._build = build
        self._params = dict(params)
        self._cursor_field = cursor
        self._older = older
        self._newer = newer
        self._page_size = page_size
        self._limit = limit
        self._buffer: deque[T] = deque()
        self._next_cursor: str | None = self._params.get(older)
        self._done = False
        self.items = 0
        """Items handed out so far."""
        self.pages = 0
        """Pages received so far."""

    def __repr__(self) -> str:
        return f"<Pages {self._what} items={self.items} pages={self.pages}>"

    def __aiter__(self) -> Pages[T]:
        return self

    async def __anext__(self) -> T:
        if self._limit is not None and self.items >= self._limit:
            raise StopAsyncIteration
        while not self._buffer:
            if self._done:
                raise StopAsyncIteration
            await self._next_page()
        self.items += 1
        return self._buffer.popleft()

    async def _next_page(self) -> None:
        want = self._page_size
        if self._limit is not None:
            want = max(1, min(want, self._limit - self.items))
        params = dict(self._params)
        if self._next_cursor is not None:
            params[self._older] = self._next_cursor
        params["limit"] = str(want)
        rows = await self._fetch(params)
        # Nothing below awaits: a cancelled or failed fetch leaves the cursor
        # where it was, so the next __anext__ asks for the same page.
        items = self._build(rows)
        self.pages += 1
        if len(rows) < want or not rows:
            self._done = True
        else:
            cursor = _cursor_of(rows[-1], self._cursor_field, self._what)
            if not _older_than(cursor, self._next_cursor):
                raise OkxProtocolError(
                    f"{self._what}: the page after {self._older}={self._next_cursor} ends at "
                    f"{cursor}, which is not older: the walk would repeat itself"
                )
            self._next_cursor = cursor
        self._buffer.extend(items)


def _cursor_of(row: Any, field: str | int, what: str) -> str:
    try:
        value = row[field] if isinstance(field, int) else row.get(field)
    except (AttributeError, IndexError, KeyError, TypeError):
        value = None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise OkxProtocolError(f"{what}: an item has no {field!r} to page on")
    return value


def _older_than(cursor: str, previous: str | None) -> bool:
    """True when ``cursor`` moves the walk back (OKX's ids and times grow)."""
    if previous is None:
        return True
    if is_digits(cursor) and is_digits(previous):
        return int(cursor) < int(previous)
    return cursor != previous


def page_params(**params: object) -> dict[str, str]:
    """Query parameters without the unset (``None``) ones, as strings."""
    return {k: str(v) for k, v in params.items() if v is not None}


def first_of(what: str, data: Sequence[Any]) -> Any:
    """The one item of a single-item answer.

    Raises:
        OkxProtocolError: the answer has no item.
    """
    if not data:
        raise OkxProtocolError(f"{what}: the answer has no item")
    return data[0]
