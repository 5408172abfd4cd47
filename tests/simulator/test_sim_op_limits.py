"""Trade-op rate windows, driven directly with explicit times (no clock, no engine)."""

from __future__ import annotations

from okx_trio.testing._op_limits import OpRateLimits

A = ("keyA", "order", "BTC-USDT")
B = ("keyA", "order", "ETH-USDT")


def test_limit_per_key_in_a_rolling_window() -> None:
    limits = OpRateLimits({"order": (3, True)}, window_ms=2000)
    assert all(limits.admit_all([A], t) for t in (0, 10, 20))
    assert not limits.admit_all([A], 30)
    assert limits.admit_all([B], 30)  # another instrument has its own window
    assert limits.count(A, 1999) == 3
    # A request leaves the window exactly window_ms after it was counted.
    assert limits.count(A, 2000) == 2
    assert limits.admit_all([A], 2000)
    assert not limits.admit_all([A], 2000)


def test_admit_all_counts_all_or_nothing() -> None:
    limits = OpRateLimits({"batch-orders": (5, True)}, window_ms=2000)
    key = ("keyA", "batch-orders", "BTC-USDT")
    assert limits.admit_all([key] * 4, 0)
    assert not limits.admit_all([key] * 2, 1)
    assert limits.count(key, 1) == 4  # the refused request counted nothing
    assert limits.admit_all([key], 1)


def test_admit_each_refuses_only_what_is_over() -> None:
    limits = OpRateLimits({"batch-orders": (5, True)}, window_ms=2000)
    key = ("keyA", "batch-orders", "BTC-USDT")
    other = ("keyA", "batch-orders", "ETH-USDT")
    assert limits.admit_each([key] * 4, 0) == [True] * 4
    assert limits.admit_each([key, other, key, key], 1) == [True, True, False, False]
    assert limits.count(key, 1) == 5
    assert limits.count(other, 1) == 1


def test_default_table_is_okx_s() -> None:
    limits = OpRateLimits()
    key = ("keyA", "sprd-order")
    assert limits.admit_each([key] * 21, 0) == [True] * 20 + [False]
    assert limits.admit_all([("keyA", "mass-cancel")] * 5, 0)
    assert not limits.admit_all([("keyA", "mass-cancel")], 1999)
