"""The REST client's market-data endpoints against the simulator (public: unsigned).

The simulator serves tickers, books, trades and candles from its own engine:
the candles here are checked bar by bar against the trades it made.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing
from support.rest_api import SWAP, WRONG, collect, rest_on_virtual_time, spot_buy

from okx_trio import OkxApiError, OkxRateLimitError, views
from okx_trio._okx import REST_LIMITS

MINUTE = 60_000


async def test_tickers_book_instruments_mark_and_funding(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(60):
        async with rest_on_virtual_time(monkeypatch) as (sim, rest):
            tickers = await rest.tickers("SPOT")
            assert {t.inst_id for t in tickers} == {"BTC-USDT", "ETH-USDT"}
            assert all(isinstance(t, views.Ticker) for t in tickers)
            ticker = await rest.ticker("BTC-USDT")
            bids, asks = sim.book("BTC-USDT")
            assert (ticker.bid_px, ticker.ask_px) == (Decimal(bids[0][0]), Decimal(asks[0][0]))
            assert [t.inst_id for t in await rest.tickers("SWAP", inst_family="BTC-USDT")] == [
                SWAP]

            book = await rest.order_book("BTC-USDT", depth=5)
            assert isinstance(book.seq_id, int)
            assert [lvl.px for lvl in book.bids] == [Decimal(p) for p, _ in bids[:5]]
            assert [lvl.px for lvl in book.asks] == [Decimal(p) for p, _ in asks[:5]]

            options = await rest.instruments("OPTION", inst_family="BTC-USD")
            assert len(options) == 3
            assert {o.inst_type for o in options} == {"OPTION"}
            # The answer refreshes the client's instrument cache (the order checks use it).
            assert rest._host.instruments.get(options[0].inst_id) == options[0]
            (spot,) = await rest.instruments("SPOT", inst_id="ETH-USDT")
            assert (spot.inst_id_code, spot.tick_sz) == (100002, Decimal("0.01"))

            (mark,) = await rest.mark_prices("SWAP", inst_id=SWAP)
            assert mark.mark_px == sim.engine.instruments[SWAP].mid
            rate = await rest.funding_rate(SWAP)
            assert rate.funding_rate == Decimal("0.0001")
            assert rate.funding_time is not None
            assert rate.next_funding_time is not None
            assert rate.next_funding_time - rate.funding_time == 8 * 3_600_000

            assert abs(await rest.server_time() - sim._now_ms()) < 1_000


async def test_bad_arguments_are_refused_before_sending(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        before = len(sim.frames)
        with pytest.raises(ValueError, match="inst_type"):
            await rest.tickers("")
        with pytest.raises(TypeError, match="inst_id"):
            await rest.ticker(123)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="depth"):
            await rest.order_book("BTC-USDT", depth=401)
        with pytest.raises(ValueError, match="bar"):
            rest.candles("BTC-USDT", bar="7m")
        with pytest.raises(ValueError, match="page_size"):
            rest.candles("BTC-USDT", page_size=301)
        with pytest.raises(TypeError, match="after"):
            rest.history_trades("BTC-USDT", after="12ab")
        with pytest.raises(ValueError, match="limit"):
            await rest.trades("BTC-USDT", limit=0)
        assert len(sim.frames) == before
        # The exchange's own refusals keep its code.
        with pytest.raises(OkxApiError) as unknown:
            await rest.ticker("NOPE-USDT")
        assert (unknown.value.code, unknown.value.op) == ("51001", "GET /api/v5/market/ticker")


async def test_candles_are_built_from_the_exchanges_trades_and_paged(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(3600):
        async with rest_on_virtual_time(monkeypatch) as (sim, rest):
            # Trades in minutes 0, 1 and 3 (minute 2 has none), from the bar's start.
            await trio.sleep((MINUTE - sim._now_ms() % MINUTE) / 1000 + 1)
            start = sim._now_ms() // MINUTE * MINUTE
            for minute in (0, 0, 1, 3, 3, 3):
                target = start + minute * MINUTE + 5_000
                if sim._now_ms() < target:
                    await trio.sleep((target - sim._now_ms()) / 1000)
                await rest.submit_new_order(spot_buy())
            tape = list(sim.engine.instruments["BTC-USDT"].tape)

            got = await collect(rest.candles("BTC-USDT", bar="1m", page_size=2))
            assert [c.ts for c in got] == [start + m * MINUTE for m in (3, 2, 1, 0)]
            for candle in got:
                trades = [t for t in tape if candle.ts <= t[0] < candle.ts + MINUTE]
                if not trades:  # minute 2: the previous close, no volume
                    prev = [t for t in tape if t[0] < candle.ts][-1]
                    assert (candle.open, candle.close, candle.vol) == (prev[1], prev[1], 0)
                    continue
                pxs = [t[1] for t in trades]
                assert (candle.open, candle.high, candle.low, candle.close) == (
                    pxs[0], max(pxs), min(pxs), pxs[-1])
                assert candle.vol == sum(t[2] for t in trades)
                assert candle.vol_ccy == sum(t[1] * t[2] for t in trades)
            # The newest bar is still forming; the others are closed.
            assert [c.confirm for c in got] == [False, True, True, True]

            history = await collect(rest.history_candles("BTC-USDT", bar="1m", limit=3))
            assert history == got[:3]
            older = await collect(rest.candles("BTC-USDT", after=got[1].ts))
            assert older == got[2:]
            hourly = await collect(rest.candles("BTC-USDT", bar="1H"))
            assert sum((c.vol or 0) for c in hourly) == sum(t[2] for t in tape)


async def test_public_trades_latest_and_paged_history(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rest_on_virtual_time(monkeypatch) as (sim, rest):
        for _ in range(12):
            await rest.submit_new_order(spot_buy())
        tape = list(sim.engine.instruments["BTC-USDT"].tape)
        ids = [t[4] for t in reversed(tape)]
        latest = await rest.trades("BTC-USDT", limit=5)
        assert [t.trade_id for t in latest] == ids[:5]
        assert all(t.side == "buy" and t.px is not None for t in latest)
        pages = rest.history_trades("BTC-USDT", page_size=5)
        assert [t.trade_id async for t in pages] == ids
        assert pages.pages == (len(ids) // 5) + 1
        mid = ids[len(ids) // 2]
        assert [t.trade_id for t in await collect(rest.history_trades("BTC-USDT", after=mid))
                ] == ids[len(ids) // 2 + 1:]


async def test_a_burst_is_paced_to_the_endpoints_limit_without_50011(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit, window, _ = REST_LIMITS["GET /api/v5/market/ticker"]
    with trio.fail_after(60):
        async with rest_on_virtual_time(monkeypatch) as (_, rest):
            start = trio.current_time()
            async with trio.open_nursery() as nursery:
                for _ in range(3 * limit):
                    nursery.start_soon(rest.ticker, "BTC-USDT")
            # 90 % of 20 per 2 s: 60 requests need at least three more windows.
            assert trio.current_time() - start >= 3 * window
        # The control: unpaced, the simulator answers the burst with 429 / 50011.
        async with rest_on_virtual_time(monkeypatch, rate_limit=False) as (_, rest):
            async def burst() -> None:
                for _ in range(limit + 1):
                    await rest.ticker("BTC-USDT")

            with pytest.raises(OkxRateLimitError) as limited:
                await burst()
            assert limited.value.code == "50011"


async def test_market_data_needs_no_signature(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Market endpoints are public: a client whose key would be refused still reads them
    # (nothing is signed), and one without credentials too.
    async with rest_on_virtual_time(monkeypatch, credentials=WRONG) as (_, rest):
        assert (await rest.ticker("BTC-USDT")).inst_id == "BTC-USDT"
    async with rest_on_virtual_time(monkeypatch, credentials=None) as (_, rest):
        assert len(await rest.tickers("SPOT")) == 2
        assert len(await rest.spreads()) == 1
