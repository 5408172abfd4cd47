"""The simulator's own copy of OKX's routing facts: paths, channels, ops."""

from __future__ import annotations

import pytest

from okx_trio.testing._rules import (
    BOOK_CHANNELS,
    CHANNELS,
    COUNTED_CHANNELS,
    RATE_LIMITS,
    SILENT_PUBLIC,
    channel_rule,
    op_path,
    path_kind,
)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("/ws/v5/public", "public"),
        ("/ws/v5/private/", "private"),
        ("/ws/v5/business?brokerId=9999", "business"),
        ("/ws/v5/other", None),
        ("/", None),
    ],
)
def test_path_kind(raw: str, kind: str | None) -> None:
    assert path_kind(raw) == kind


def test_channel_rules() -> None:
    assert channel_rule("tickers") == CHANNELS["tickers"]
    rule = channel_rule("books-l2-tbt")
    assert rule is not None
    assert (rule.path, rule.login, rule.account_data) == ("public", True, False)
    rule = channel_rule("sprd-orders")
    assert rule is not None
    assert (rule.path, rule.login, rule.account_data) == ("business", True, True)
    for candle in ("candle1m", "mark-price-candle1H", "index-candle1D", "sprd-candle1m"):
        rule = channel_rule(candle)
        assert rule is not None
        assert (rule.path, rule.login) == ("business", False)
    assert channel_rule("rfqs") is None


def test_channel_tables_agree() -> None:
    for name, rule in CHANNELS.items():
        # Account data needs a login; only the private URL and business carry it.
        assert not rule.account_data or rule.login, name
        assert rule.path != "public" or not rule.account_data, name
    for name in COUNTED_CHANNELS:
        assert CHANNELS[name].path == "private", name
    for name in SILENT_PUBLIC | BOOK_CHANNELS:
        assert CHANNELS[name].path == "public", name


def test_every_op_has_a_url_and_a_limit() -> None:
    for op in RATE_LIMITS:
        assert op_path(op) in ("private", "business"), op
    assert op_path("sprd-order") == "business"
    assert op_path("mass-cancel") == "private"
    assert op_path("login") is None
