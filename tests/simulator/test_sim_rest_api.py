"""The simulator's REST API pieces: candle bars, paging, REST limits (synchronously),
and the HTTP side of POST bodies (h11: chunked, empty, not JSON)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
import trio
from simulator_support import iso_now

from okx_trio._protocol import rest_sign
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, open_simulator
from okx_trio.testing._candles import Bar, candle_rows
from okx_trio.testing._op_limits import RestRateLimits
from okx_trio.testing._rest_views import page


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("bar", "at", "start"),
    [
        ("1m", "2026-12-07T10:15:42", "2026-12-07T10:15:00"),
        ("4H", "2026-12-07T10:15:42", "2026-12-07T08:00:00"),
        # From 6H up OKX opens bars at UTC+8 times, unless the size ends in "utc".
        ("6H", "2026-12-07T10:15:42", "2026-12-07T10:00:00"),
        ("6Hutc", "2026-12-07T10:15:42", "2026-12-07T06:00:00"),
        ("1D", "2026-12-07T10:15:42", "2026-12-06T16:00:00"),
        ("1Dutc", "2026-12-07T10:15:42", "2026-12-07T00:00:00"),
        # Weeks open on Monday (2026-12-07 is a Monday; 00:00 UTC+8 is Sunday 16:00 UTC).
        ("1Wutc", "2026-12-09T10:00:00", "2026-12-07T00:00:00"),
        ("1W", "2026-12-07T10:00:00", "2026-12-06T16:00:00"),
        ("1Mutc", "2026-12-31T23:59:59", "2026-12-01T00:00:00"),
        ("3Mutc", "2026-12-31T23:59:59", "2026-10-01T00:00:00"),
        ("1M", "2026-12-31T17:00:00", "2026-12-31T16:00:00"),  # January 1st at UTC+8
    ],
)
def test_bars_open_where_okx_opens_them(bar: str, at: str, start: str) -> None:
    assert Bar(bar).start(ms(at)) == ms(start)


def test_month_bars_step_by_calendar_months() -> None:
    b = Bar("1Mutc")
    assert b.shift(ms("2026-01-01T00:00:00"), 1) == ms("2026-02-01T00:00:00")
    assert b.shift(ms("2026-01-01T00:00:00"), -1) == ms("2025-12-01T00:00:00")
    with pytest.raises(ValueError, match="bar"):
        Bar("7x")


def test_candle_rows_are_continuous_and_newest_first() -> None:
    t0 = ms("2026-12-07T10:00:00")
    tape = [(t0 + 1_000, Decimal(10), Decimal(1), "buy", "1"),
            (t0 + 2_000, Decimal(12), Decimal(2), "sell", "2"),
            (t0 + 125_000, Decimal(11), Decimal(1), "buy", "3")]

    def volumes(px: Decimal, sz: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        return sz, px * sz, px * sz

    rows = candle_rows(tape, Bar("1m"), t0 + 150_000, max_bars=10, volumes=volumes)
    assert [r[0] for r in rows] == [str(t0 + i * 60_000) for i in (2, 1, 0)]
    assert rows[2] == [str(t0), "10", "12", "10", "12", "3", "34", "34", "1"]
    assert rows[1] == [str(t0 + 60_000), "12", "12", "12", "12", "0", "0", "0", "1"]
    assert rows[0][1:6] == ["11", "11", "11", "11", "1"]
    assert rows[0][8] == "0"  # still forming
    assert candle_rows(tape, Bar("1m"), t0 + 150_000, max_bars=1, volumes=volumes) == rows[:1]
    assert candle_rows([], Bar("1m"), t0, max_bars=10, volumes=volumes) == []


def test_page_cursors_are_exclusive_and_ties_come_together() -> None:
    items = [9, 8, 8, 8, 5, 3, 1]
    assert page(items, int, after=None, before=None, limit=3) == [9, 8, 8]
    assert page(items, int, after=None, before=None, limit=2, ties=True) == [9, 8, 8, 8]
    assert page(items, int, after=8, before=None, limit=10) == [5, 3, 1]
    assert page(items, int, after=None, before=3, limit=10) == [9, 8, 8, 8, 5]
    assert page(items, int, after=9, before=1, limit=10) == [8, 8, 8, 5, 3]


def test_rest_limits_count_per_endpoint_caller_and_key() -> None:
    limits = RestRateLimits()
    balance = "GET /api/v5/account/balance"
    assert all(limits.admit("acct", balance, {}, 0) for _ in range(10))
    assert not limits.admit("acct", balance, {}, 1_999)
    assert limits.admit("other", balance, {}, 1_999)  # another account
    assert limits.admit("acct", balance, {}, 2_000)  # the window rolled on
    bills = "GET /api/v5/account/bills"
    assert all(limits.admit("acct", bills, {}, 0) for _ in range(5))
    assert not limits.admit("acct", bills, {}, 999)
    assert limits.admit("acct", bills, {}, 1_000)  # 5 per second, not per 2 s
    order = "GET /api/v5/trade/order"
    assert all(limits.admit("acct", order, {"instId": "BTC-USDT"}, 0) for _ in range(60))
    assert not limits.admit("acct", order, {"instId": "BTC-USDT"}, 1)
    assert limits.admit("acct", order, {"instId": "ETH-USDT"}, 1)
    assert limits.admit("acct", "GET /api/v5/not/limited", {}, 0)


def signed_post(path: str, body: bytes) -> dict[str, str]:
    ts = iso_now()
    return {"OK-ACCESS-KEY": CREDS.api_key, "OK-ACCESS-PASSPHRASE": CREDS.passphrase,
            "OK-ACCESS-TIMESTAMP": ts, "Content-Type": "application/json",
            "OK-ACCESS-SIGN": rest_sign(CREDS.secret_key, ts, "POST", path, body.decode())}


async def test_post_bodies_over_a_socket() -> None:
    path = "/api/v5/trade/cancel-order"
    with trio.fail_after(10):
        async with open_simulator(market_interval=None) as sim, httpx.AsyncClient(
            base_url=sim.rest_url
        ) as client:
            body = b'{"instId": "BTC-USDT", "ordId": "", "clOrdId": "nope1"}'
            # A chunked body (h11 reads it) in python-okx's style: ordId "" is absent.
            async def chunks() -> AsyncIterator[bytes]:
                yield body[:20]
                yield body[20:]

            resp = await client.post(path, content=chunks(), headers=signed_post(path, body))
            assert resp.status_code == 200
            answer = resp.json()
            assert (answer["code"], answer["msg"]) == ("1", "All operations failed")
            assert answer["data"][0]["sCode"] == "51400"
            assert answer["inTime"]
            assert answer["outTime"]
            resp = await client.post(path, content=b"", headers=signed_post(path, b""))
            assert (resp.status_code, resp.json()["code"]) == (400, "50000")
            resp = await client.post(path, content=b"{nope", headers=signed_post(path, b"{nope"))
            assert (resp.status_code, resp.json()["code"]) == (400, "50002")
            batch = b'{"instId": "BTC-USDT", "ordId": "1"}'
            resp = await client.post("/api/v5/trade/cancel-batch-orders", content=batch,
                                     headers=signed_post("/api/v5/trade/cancel-batch-orders",
                                                         batch))
            assert (resp.status_code, resp.json()["code"]) == (400, "51000")
            # GET-only and POST-only paths refuse the other method.
            resp = await client.get("/api/v5/trade/cancel-order")
            assert (resp.status_code, resp.json()["code"]) == (405, "50115")
