"""Typed views of OKX data: ``push.view()`` and ``push.view_as(cls)`` build these,
and the REST client (``okx_trio.RestApiClient``) returns them.

``Push.data`` stays the list of dicts exactly as received, so the hot path never
pays for conversion; the views are frozen attrs objects built only when asked.
The conventions, the same for every view:

* field names are OKX's camelCase names in snake_case (``clOrdId`` ->
  ``cl_ord_id``, ``open24h`` -> ``open_24h``);
* prices, sizes, amounts, ratios and fees are ``Decimal``;
* timestamps (``ts``, ``cTime``, ``uTime``, ``fillTime``, ``pTime``) are
  ``int`` milliseconds;
* ids, currencies and enum-like codes (``state``, ``side``, ``code``...) are ``str``;
* ``"true"``/``"false"`` strings are ``bool``;
* an empty string, like an absent field, is ``None``;
* fields the view does not know are kept, as received, in ``extra``.

::

    async for item in sub:
        if isinstance(item, okx_trio.Push):
            for ticker in item.view_as(okx_trio.views.Ticker):
                print(ticker.inst_id, ticker.last)
"""

from __future__ import annotations

from ._views import (
    Account as Account,
    AccountConfig as AccountConfig,
    AccountDetail as AccountDetail,
    BalanceAndPosition as BalanceAndPosition,
    BalanceData as BalanceData,
    BalanceTrade as BalanceTrade,
    Bill as Bill,
    BookData as BookData,
    BookLevel as BookLevel,
    Candle as Candle,
    Fill as Fill,
    FundingRate as FundingRate,
    Leverage as Leverage,
    MarkPrice as MarkPrice,
    MaxSize as MaxSize,
    Order as Order,
    Position as Position,
    PositionData as PositionData,
    PositionHistory as PositionHistory,
    RpiBookData as RpiBookData,
    RpiBookLevel as RpiBookLevel,
    SprdOrder as SprdOrder,
    SprdTrade as SprdTrade,
    SprdTradeLeg as SprdTradeLeg,
    Spread as Spread,
    SpreadLeg as SpreadLeg,
    Ticker as Ticker,
    Trade as Trade,
    View as View,
    view_items as view_items,
    view_type as view_type,
)

__all__ = [
    "Account",
    "AccountConfig",
    "AccountDetail",
    "BalanceAndPosition",
    "BalanceData",
    "BalanceTrade",
    "Bill",
    "BookData",
    "BookLevel",
    "Candle",
    "Fill",
    "FundingRate",
    "Leverage",
    "MarkPrice",
    "MaxSize",
    "Order",
    "Position",
    "PositionData",
    "PositionHistory",
    "RpiBookData",
    "RpiBookLevel",
    "SprdOrder",
    "SprdTrade",
    "SprdTradeLeg",
    "Spread",
    "SpreadLeg",
    "Ticker",
    "Trade",
    "View",
    "view_items",
    "view_type",
]

# Reprs and tracebacks say okx_trio.views.Ticker, not okx_trio._views.Ticker.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__ == "okx_trio._views":
        _obj.__module__ = "okx_trio.views"
del _name, _obj
