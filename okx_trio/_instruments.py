"""The instrument cache: ``instId`` -> ``instIdCode`` and trading rules.

OKX wants ``instIdCode`` (an integer that differs between live and demo) on the
six order ops since 2026. Users keep writing ``instId``;
the trade client maps it through this cache, filled lazily from
``GET /api/v5/public/instruments`` one instrument type at a time.

The type is inferred from the id's shape (``BTC-USDT`` spot, ``BTC-USDT-SWAP``
swap, ``BTC-USD-250328`` futures, ``BTC-USD-250328-60000-C`` option); an id of
no known shape makes the cache try each type in turn. However many tasks need
one list at the same moment, it is fetched once: the first task fetches, the
others wait for that fetch and share its result or its failure.

OKX lists options one instrument family at a time (``instFamily`` is required
for ``OPTION``; without it the answer is 50015), so options are fetched and
cached per family: the family is derived from the id (its first two parts,
``BTC-USD-250328-60000-C`` -> ``BTC-USD``), and once the record is in, its own
``instFamily`` is the one used (for the per-family rate limits). ``EVENTS``
contracts are listed one series at a time (``seriesId``, required), and a series
cannot be read from a contract id: load it explicitly with
``load("EVENTS", series_id=...)`` before naming its contracts by ``instId``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import trio

from ._models import Instrument
from ._okx import (
    FAMILY_INST_TYPES,
    INST_TYPES,
    SERIES_INST_TYPES,
    derive_inst_family,
    infer_inst_type,
)

__all__ = ["Fetch", "InstrumentCache", "InstrumentFetchError"]

Scope = tuple[str, str | None]
"""What one fetch lists: ``(instType, instFamily or seriesId or None)``."""


class InstrumentFetchError(Exception):
    """Fetching the instrument list failed; ``__cause__`` holds why."""

    def __init__(self, inst_type: str, scope: str | None = None) -> None:
        super().__init__(inst_type, scope)
        self.inst_type = inst_type
        self.scope = scope
        """The family or series fetched, if the type is listed per family or series."""

    def __str__(self) -> str:
        of = f" {self.scope}" if self.scope else ""
        return f"could not fetch the {self.inst_type}{of} instrument list"


@attrs.define(eq=False)
class _Attempt:
    done: trio.Event = attrs.field(factory=trio.Event)
    error: BaseException | None = None


class Fetch(Protocol):
    """``await fetch(inst_type, inst_family=..., series_id=...)``: the raw OKX
    instrument items of one type, family or series (``RestClient.get_instruments``)."""

    def __call__(
        self, inst_type: str, *, inst_family: str | None = None, series_id: str | None = None
    ) -> Awaitable[Sequence[Mapping[str, Any]]]: ...


def _scope(inst_type: str, inst_family: str | None, series_id: str | None) -> Scope:
    """The fetch scope, checked against OKX's rules for the type."""
    if inst_type in FAMILY_INST_TYPES:
        if not inst_family:
            raise ValueError(
                f"OKX lists {inst_type} instruments one family at a time: "
                "give inst_family (e.g. 'BTC-USD')"
            )
        return (inst_type, inst_family)
    if inst_type in SERIES_INST_TYPES:
        if not series_id:
            raise ValueError(
                f"OKX lists {inst_type} instruments one series at a time: "
                "give series_id (e.g. 'BTC-ABOVE-DAILY')"
            )
        return (inst_type, series_id)
    return (inst_type, inst_family or None)


class InstrumentCache:
    """``instId`` <-> ``instIdCode`` and trading rules, per environment.

    Args:
        fetch: ``await fetch(inst_type, inst_family=..., series_id=...)``
            returns the raw OKX instrument items of one type, family or series
            (``RestClient.get_instruments``).
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
        self._loaded_at: dict[Scope, float] = {}
        self._inflight: dict[Scope, _Attempt] = {}
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

    def loaded(self, inst_type: str, *, inst_family: str | None = None,
               series_id: str | None = None) -> bool:
        """True once a fetch of ``inst_type`` (that family or series) has succeeded."""
        return _scope(inst_type, inst_family, series_id) in self._loaded_at

    async def lookup(self, inst_id: str) -> Instrument:
        """The instrument for ``inst_id``, fetching its type's (or family's) list if needed.

        Raises:
            ValueError: the exchange does not list ``inst_id``.
            InstrumentFetchError: the fetch failed (the cause is chained).
        """
        found = self._by_id.get(inst_id)
        if found is not None:
            return found
        inferred = infer_inst_type(inst_id)
        family = derive_inst_family(inst_id)
        for inst_type in (inferred,) if inferred is not None else INST_TYPES:
            if inst_type in FAMILY_INST_TYPES:
                if family is None:
                    continue
                scope: Scope = (inst_type, family)
            else:
                scope = (inst_type, None)
            loaded_at = self._loaded_at.get(scope)
            if loaded_at is None or self._clock() - loaded_at >= self._refetch_interval:
                await self._load(scope, only_if_missing=inst_id)
            found = self._by_id.get(inst_id)
            if found is not None:
                return found
        hint = ""
        if inferred == "OPTION":
            hint = (f" (looked in family {family}; another family is loaded with "
                    "load_instruments('OPTION', inst_family=...))")
        elif inferred is None:
            hint = (" (an EVENTS contract is found once its series is loaded: "
                    "load_instruments('EVENTS', series_id=...))")
        raise ValueError(f"instId {inst_id!r} is not an instrument the exchange lists{hint}")

    async def load(
        self,
        inst_type: str,
        *,
        inst_family: str | None = None,
        series_id: str | None = None,
        only_if_missing: str | None = None,
    ) -> None:
        """Fetch the list of ``inst_type`` now (once, however many tasks ask).

        ``OPTION`` needs ``inst_family`` and ``EVENTS`` needs ``series_id``
        (OKX lists them one family or series at a time). A task that arrives
        while a fetch of the same list is under way waits for it and shares
        its outcome instead of fetching again.

        Raises:
            ValueError: ``OPTION`` without ``inst_family``, ``EVENTS`` without
                ``series_id``.
            InstrumentFetchError: the fetch failed.
        """
        await self._load(_scope(inst_type, inst_family, series_id),
                         only_if_missing=only_if_missing)

    async def _load(self, scope: Scope, *, only_if_missing: str | None) -> None:
        inst_type, within = scope
        while True:
            attempt = self._inflight.get(scope)
            if attempt is None:
                break
            await attempt.done.wait()
            if attempt.error is not None:
                raise InstrumentFetchError(inst_type, within) from attempt.error
            if scope in self._loaded_at:
                return
            # The fetching task was cancelled: one of the waiters fetches again.
        if only_if_missing is not None and only_if_missing in self._by_id:
            return
        attempt = _Attempt()
        self._inflight[scope] = attempt
        self.fetches += 1
        try:
            if inst_type in SERIES_INST_TYPES:
                items = await self._fetch(inst_type, series_id=within)
            elif within is not None:
                items = await self._fetch(inst_type, inst_family=within)
            else:
                items = await self._fetch(inst_type)
            for item in items:
                if isinstance(item, Mapping) and item.get("instId"):
                    self.add(Instrument.from_okx(item, inst_type))
            self._loaded_at[scope] = self._clock()
        except Exception as exc:
            attempt.error = exc
            raise InstrumentFetchError(inst_type, within) from exc
        finally:
            del self._inflight[scope]
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

        The instrument (its ``instIdCode`` when known, whether the arg names it
        by code, as the WebSocket ops do, or by id, as REST does; else what the
        arg names it by), or for an option the instrument family, since OKX
        counts option orders per family.
        """
        if not isinstance(arg, Mapping):
            return None
        code = arg.get("instIdCode")
        inst_id = arg.get("instId")
        inst = self._instrument_of(arg)
        if inst is not None and inst.inst_type in FAMILY_INST_TYPES:
            family = inst.raw.get("instFamily")
            if family:
                return ("family", family)
        if inst is not None and inst.inst_id_code is not None:
            # One bucket per instrument however it is named: the WebSocket ops
            # name it by code, the REST endpoints by id.
            return inst.inst_id_code
        return code if code is not None else inst_id
