"""What the REST endpoints show of the exchange: instruments, books, orders, balances.

Read-only views of a :class:`~._venue.Venue`, each returning the ``data``
items of one OKX endpoint (or ``(code, msg, data)`` where the endpoint can
fail on its own). The HTTP side (paths, parameters, signatures) is
:mod:`._rest`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._checks import empty, err
from ._render import (
    account_item,
    currency_item,
    instrument_item,
    rest_order_item,
    rest_sprd_item,
)
from ._venue import Venue


class RestViews:
    """The data of the REST endpoints, read from a venue."""

    def __init__(self, venue: Venue) -> None:
        self._venue = venue

    def knows(self, inst_id: str) -> bool:
        """True if ``inst_id`` is an instrument (not a spread) of the exchange."""
        return inst_id in self._venue.instruments

    def instruments(
        self, inst_type: str, inst_id: str | None = None, inst_family: str | None = None
    ) -> list[dict[str, Any]]:
        """Items of ``GET /api/v5/public/instruments`` (spreads are not listed).

        ``inst_family`` (OKX's ``instFamily``, or the older ``uly``) keeps only
        that family's derivatives.
        """
        out = []
        for inst in self._venue.instruments.values():
            spec = inst.spec
            if spec.inst_type != inst_type or (inst_id and spec.inst_id != inst_id):
                continue
            if inst_family and spec.inst_family != inst_family:
                continue
            out.append(instrument_item(spec))
        return out

    def currency_codes(self) -> list[str]:
        """Every currency the exchange knows: balances, spot and spread pairs, settlements."""
        found: set[str] = set()
        for acct in self._venue.accounts.values():
            found.update(acct.balances)
        for inst in self._venue.all_insts():
            spec = inst.spec
            found.update((spec.base_ccy, spec.quote_ccy, spec.settle_ccy))
        found.discard("")
        return sorted(found)

    def currencies(self, ccys: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Items of ``GET /api/v5/asset/currencies``: one chain per currency.

        Deposits and withdrawals do not exist here; the items say what a client
        needs to list the currency (``ccy``, ``name``, ``chain``, flags, limits).
        """
        out = []
        for ccy in self.currency_codes():
            if ccys and ccy not in ccys:
                continue
            out.append(currency_item(ccy))
        return out

    def balance(
        self, api_key: str, ccys: Sequence[str] | None, now: int
    ) -> dict[str, Any]:
        """The one item of ``GET /api/v5/account/balance`` (as the ``account`` channel's).

        Without ``ccys`` the details list every currency with a balance.
        """
        acct = self._venue.accounts[api_key]
        if ccys:
            chosen = [c for c in ccys if c in acct.balances]
        else:
            chosen = [c for c, v in acct.balances.items() if v or acct.frozen.get(c)]
        return account_item(self._venue, acct, chosen, now)

    def books(self, inst_id: str, sz: int, now: int) -> dict[str, Any]:
        """``GET /api/v5/market/books`` item: the published ``books`` levels and their seqId.

        Raises:
            KeyError: unknown ``inst_id``.
        """
        inst = self._venue.instruments[inst_id]
        feed = inst.feeds["books"]
        depth = max(1, min(int(sz), 400))
        return {
            "asks": [list(lvl) for lvl in feed.asks[:depth]],
            "bids": [list(lvl) for lvl in feed.bids[:depth]],
            "ts": str(now),
            "seqId": feed.seq_id,
        }

    def order(
        self, api_key: str, inst_id: str | None, ord_id: str | None, cl_ord_id: str | None
    ) -> tuple[str, str, list[dict[str, Any]]]:
        """``GET /api/v5/trade/order``: ``(code, msg, data)``."""
        if not inst_id:
            return (*empty("50014", "instId"), [])
        if inst_id not in self._venue.instruments:
            return (*err("51001"), [])
        if not ord_id and not cl_ord_id:
            return "50015", "Either parameter ordId or clOrdId is required.", []
        order = self._venue.find_order(api_key, ord_id=ord_id, cl_ord_id=cl_ord_id)
        if order is None or order.inst_id != inst_id:
            return (*err("51603"), [])
        return "0", "", [rest_order_item(self._venue, order)]

    def sprd_order(
        self, api_key: str, ord_id: str | None, cl_ord_id: str | None
    ) -> tuple[str, str, list[dict[str, Any]]]:
        """``GET /api/v5/sprd/order``: ``(code, msg, data)``."""
        if not ord_id and not cl_ord_id:
            return "50015", "Either parameter ordId or clOrdId is required.", []
        order = self._venue.find_order(api_key, ord_id=ord_id, cl_ord_id=cl_ord_id)
        if order is None or order.sprd_id is None:
            return (*err("51603"), [])
        return "0", "", [rest_sprd_item(self._venue, order)]

    def orders_pending(
        self, api_key: str, inst_type: str | None = None, inst_id: str | None = None
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/trade/orders-pending`` items, newest first."""
        out = []
        for order in reversed(self._venue.order_list()):
            if order.api_key != api_key or not order.pending or order.sprd_id is not None:
                continue
            if inst_type and order.inst_type != inst_type:
                continue
            if inst_id and order.inst_id != inst_id:
                continue
            out.append(rest_order_item(self._venue, order))
        return out

    def sprd_orders_pending(
        self,
        api_key: str,
        *,
        sprd_id: str | None = None,
        ord_type: str | None = None,
        state: str | None = None,
        begin_id: int | None = None,
        end_id: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """``GET /api/v5/sprd/orders-pending`` items: open spread orders, newest first.

        ``begin_id`` keeps orders newer than that ``ordId``, ``end_id`` older ones
        (both exclusive); at most ``limit`` items.
        """
        out: list[dict[str, Any]] = []
        for order in reversed(self._venue.order_list()):
            if len(out) >= limit:
                break
            if order.api_key != api_key or not order.pending or order.sprd_id is None:
                continue
            if sprd_id and order.inst_id != sprd_id:
                continue
            if ord_type and order.ord_type != ord_type:
                continue
            if state and order.state != state:
                continue
            if begin_id is not None and int(order.ord_id) <= begin_id:
                continue
            if end_id is not None and int(order.ord_id) >= end_id:
                continue
            out.append(rest_sprd_item(self._venue, order))
        return out
