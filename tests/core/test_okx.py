"""The OKX facts the client acts on (``okx_trio._okx``): routing by op and channel."""

from __future__ import annotations

import okx_trio._okx as okx


def test_routing() -> None:
    assert okx.route_op("order") == "private"
    assert okx.route_op("mass-cancel") == "private"
    assert okx.route_op("sprd-mass-cancel") == "business"
    assert okx.route_op("nope") is None
    assert okx.route_channel("tickers") == ("public", False)
    assert okx.route_channel("books-l2-tbt") == ("public", True)
    assert okx.route_channel("orders") == ("private", True)
    assert okx.route_channel("candle1m") == ("business", False)
    assert okx.route_channel("sprd-orders") == ("business", True)
    assert okx.route_channel("sprd-books5") == ("business", False)
    assert okx.route_channel("brand-new-channel") == ("public", False)
