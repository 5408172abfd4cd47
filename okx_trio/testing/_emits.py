"""What the engine hands the server: pushes (``Emit``), and what one op changed.

An ``Emit`` is one push for the server to deliver to the matching
subscriptions. ``Changes`` collects, while one trade op or one market step
runs, the emits made so far and what else changed (instruments touched, trades,
balances, positions), so the account and public pushes can be derived once at
its end (``._publish.Publisher.flush``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ._venue import Instrument


@attrs.frozen
class Emit:
    """One push the engine wants delivered.

    A subscription arg matches when each field it names equals the Emit's
    (``instType`` ``"ANY"`` matches every type); ``api_key`` ``None`` is public,
    otherwise only that account's logged-in connections get it.
    """

    channel: str
    """Channel name: ``"orders"``, ``"books"``, ``"tickers"``..."""
    data: list[dict[str, Any]]
    """The push's data items, exactly as OKX shapes them."""
    api_key: str | None = None
    """``None`` for public data, else the account the push belongs to."""
    inst_id: str | None = None
    """Match field ``instId``."""
    inst_type: str | None = None
    """Match field ``instType``."""
    inst_family: str | None = None
    """Match field ``instFamily``."""
    sprd_id: str | None = None
    """Match field ``sprdId``."""
    ccy: str | None = None
    """Match field ``ccy`` (account channel)."""
    action: str | None = None
    """``"snapshot"``/``"update"`` on incremental books, else ``None``."""
    extra: dict[str, Any] | None = None
    """Other top-level push fields (``eventType``, ``curPage``, ``lastPage``)."""


class Changes:
    """Accumulates what one op or market step changed, for the pushes at its end."""

    def __init__(self, now: int) -> None:
        self.now = now
        """The exchange time (Unix ms) the op or step runs at."""
        self.emits: list[Emit] = []
        self.insts: dict[str, Instrument] = {}
        self.trades: dict[str, list[tuple[Decimal, Decimal, str, str]]] = {}
        """instId -> ``(px, sz, taker side, tradeId)`` in trade order."""
        self.ccys: dict[str, set[str]] = {}
        """api key -> currencies whose balance or frozen amount changed."""
        self.cash: dict[str, set[str]] = {}
        """api key -> currencies whose cash balance changed."""
        self.positions: dict[str, set[str]] = {}
        """api key -> instIds whose position changed."""
        self.bp_trades: dict[str, list[dict[str, str]]] = {}
        """api key -> ``balance_and_position`` trade entries."""

    def touch(self, inst: Instrument) -> None:
        """Mark ``inst``'s book and trades for publishing."""
        self.insts.setdefault(inst.inst_id, inst)

    def dirty(self, api_key: str, ccy: str, cash: bool = False) -> None:
        """Mark a currency of an account for the ``account`` (and, with ``cash``,
        ``balance_and_position``) pushes."""
        self.ccys.setdefault(api_key, set()).add(ccy)
        if cash:
            self.cash.setdefault(api_key, set()).add(ccy)
