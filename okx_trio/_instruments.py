"""The instrument cache: ``instId`` -> ``instIdCode`` and trading rules.

OKX wants ``instIdCode`` (an integer that differs between live and demo) on the
six order ops since 2026. Users keep writing ``instId``;
the trade client maps it through this cache, filled lazily from
``GET /api/v5/public/instruments`` one instrument type at a time.

The type is inferred from the id's shape (``BTC-USDT`` spot, ``BTC-USDT-SWAP``
swap, ``BTC-USD-250328`` futures, ``BTC-USD-250328-60000-C`` option); an id of
no known shape makes the cache try each type in turn. However many tasks need
one type at the same moment, it is fetched once: the first task fetches, the
others wait for that fetch and share its result or its failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from ._models import Instrument
from ._okx import INST_TYPES, infer_inst_type

__all__ = ["InstrumentCache", "InstrumentFetchError"]


class InstrumentFetchError(Exception):
    """Fetching the instrument list failed; ``__cause__`` holds why."""

    def __init__(self, inst_type: str) -> None:
        super().__init__(inst_type)
        self.inst_type = inst_type

    def __str__(self) -> str:
        return f"could not fetch the {self.inst_type} instrument list"


@attrs.define(eq=False)
class _Attempt:
    done: trio.Event = attrs.field(factory=trio.Event)
    error: BaseException | None = None


Fetch = Callable[[str], Awaitable[Sequence[Mapping[str, Any]]]]


class InstrumentCache:
    """``instId`` <-> ``instIdCode`` and trading rules, per environment.

    Args:
        fetch: ``await fetch(inst_type)`` returns the raw OKX instrument items
            of one type (``RestClient.get_instruments``).
        clock: monotonic clock in seconds (``trio.current_time``).
        refetch_interval: an id missing from a type fetched at least this long
            ago triggers one more fetch of that type, so instruments listed
            after the first fetch are found.
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        clock: Callable[[], float] = trio.current_time,
        refetch_interval: float = 60.0,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._refetch_interval = refetch_interval
        self._by_id: dict[str, Instrument] = {}
        self._by_code: dict[int, Instrument] = {}
        self._loaded_at: dict[str, float] = {}
        self._inflight: dict[str, _Attempt] = {}
        self.fetches = 0
        """How many fetches were started (for tests and statistics)."""

    def get(self, inst_id: str) -> Instrument | None:
        """The cached instrument, or ``None`` (never fetches)."""
        return self._by_id.get(inst_id)

    def get_by_code(self, inst_id_code: int) -> Instrument | None:
        """The cached instrument with this ``instIdCode``, or ``None``."""
        return self._by_code.get(inst_id_code)

    def add(self, instrument: Instrument) -> None:
        """Put one instrument into the cache (replacing any with the same id)."""
        old = self._by_id.get(instrument.inst_id)
        if old is not None and old.inst_id_code is not None:
            self._by_code.pop(old.inst_id_code, None)
        self._by_id[instrument.inst_id] = instrument
        if instrument.inst_id_code is not None:
            self._by_code[instrument.inst_id_code] = instrument

    def loaded(self, inst_type: str) -> bool:
        """True once a fetch of ``inst_type`` has succeeded."""
        return inst_type in self._loaded_at

    async def lookup(self, inst_id: str) -> Instrument:
        """The instrument for ``inst_id``, fetching its type's list if needed.

        Raises:
            ValueError: the exchange does not list ``inst_id``.
            InstrumentFetchError: the fetch failed (the cause is chained).
        """
        found = self._by_id.get(inst_id)
        if found is not None:
            return found
        inferred = infer_inst_type(inst_id)
        for inst_type in (inferred,) if inferred is not None else INST_TYPES:
            loaded_at = self._loaded_at.get(inst_type)
            if loaded_at is None or self._clock() - loaded_at >= self._refetch_interval:
                await self.load(inst_type, only_if_missing=inst_id)
            found = self._by_id.get(inst_id)
            if found is not None:
                return found
        raise ValueError(f"instId {inst_id!r} is not an instrument the exchange lists")

    async def load(self, inst_type: str, *, only_if_missing: str | None = None) -> None:
        """Fetch the list of ``inst_type`` now (once, however many tasks ask).

        A task that arrives while a fetch of the same type is under way waits
        for it and shares its outcome instead of fetching again.

        Raises:
            InstrumentFetchError: the fetch failed.
        """
        while True:
            attempt = self._inflight.get(inst_type)
            if attempt is None:
                break
            await attempt.done.wait()
            if attempt.error is not None:
                raise InstrumentFetchError(inst_type) from attempt.error
            if inst_type in self._loaded_at:
                return
            # The fetching task was cancelled: one of the waiters fetches again.
        if only_if_missing is not None and only_if_missing in self._by_id:
            return
        attempt = _Attempt()
        self._inflight[inst_type] = attempt
        self.fetches += 1
        try:
            items = await self._fetch(inst_type)
            for item in items:
                if isinstance(item, Mapping) and item.get("instId"):
                    self.add(Instrument.from_okx(item, inst_type))
            self._loaded_at[inst_type] = self._clock()
        except Exception as exc:
            attempt.error = exc
            raise InstrumentFetchError(inst_type) from exc
        finally:
            del self._inflight[inst_type]
            attempt.done.set()

    def _instrument_of(self, arg: Mapping[str, Any]) -> Instrument | None:
        code = arg.get("instIdCode")
        if isinstance(code, int) and not isinstance(code, bool):
            return self._by_code.get(code)
        inst_id = arg.get("instId")
        return self._by_id.get(inst_id) if isinstance(inst_id, str) else None

    def inst_type_of(self, arg: object) -> str | None:
        """The instrument type of an order op's arg (the limiter's ``inst_type``).

        From the cached instrument, else from the ``instId``'s shape; ``None``
        when neither says (an ``instIdCode`` not cached yet).
        """
        if not isinstance(arg, Mapping):
            return None
        inst = self._instrument_of(arg)
        if inst is not None:
            return inst.inst_type
        inst_id = arg.get("instId")
        return infer_inst_type(inst_id) if isinstance(inst_id, str) else None

    def rate_key(self, arg: object) -> Any:
        """The rate-limit bucket of an order op's arg (the limiter's ``inst_key``).

        The instrument (its ``instIdCode``, else its ``instId``: the trade
        client sends the code whenever it knows it), or for an option the
        instrument family, since OKX counts option orders per family.
        """
        if not isinstance(arg, Mapping):
            return None
        code = arg.get("instIdCode")
        inst_id = arg.get("instId")
        inst = (
            self._by_code.get(code)
            if isinstance(code, int)
            else self._by_id.get(str(inst_id))
        )
        if inst is not None and inst.inst_type == "OPTION":
            family = inst.raw.get("instFamily")
            if family:
                return ("family", family)
        return code if code is not None else inst_id
