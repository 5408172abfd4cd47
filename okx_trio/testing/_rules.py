"""The OKX facts the simulator judges its clients by: paths, channels, ops, limits, ids.

This is the simulator's own copy, written from OKX's documentation, and it is
deliberately not imported from the client (``okx_trio._protocol`` and friends
hold the client's copy). A simulator that asked the client where a channel is
served, which op needs which URL, or how many requests fit in a window would
agree with every mistake the client makes; with its own copy it answers a
misrouted subscription with 60018/64001/64002, a trade op on the wrong URL with
60028 and a burst with 50011, as OKX would, and the client's tests catch the
mistake. Each fact here has this one home inside ``okx_trio.testing``.

Facts OKX does not document, and which the simulator therefore only reads from
SDK behaviour or observation, say so where they are defined ("unconfirmed").
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

import attrs

PathKind = Literal["public", "private", "business"]

# -- WebSocket URLs -------------------------------------------------------------

WS_PATHS: dict[str, PathKind] = {
    "/ws/v5/public": "public",
    "/ws/v5/private": "private",
    "/ws/v5/business": "business",
}
PATHS: tuple[PathKind, ...] = ("public", "private", "business")


def path_kind(raw_path: str) -> PathKind | None:
    """``"public"``/``"private"``/``"business"`` for a request path (query ignored)."""
    return WS_PATHS.get(urlsplit(raw_path).path.rstrip("/") or "/")


# -- ids --------------------------------------------------------------------------

ID_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")
"""A request ``id``, ``clOrdId`` or ``reqId``: 1-32 letters and digits."""
TAG_RE = re.compile(r"^[A-Za-z0-9]{1,16}$")
"""An order ``tag``: 1-16 letters and digits."""

# -- channels -----------------------------------------------------------------------


@attrs.frozen
class ChannelRule:
    """Where a channel is served and what it needs."""

    path: PathKind
    """The one URL that serves the channel."""
    login: bool = False
    """Subscribing needs a logged-in connection (60011 otherwise)."""
    account_data: bool = False
    """Pushes carry one account's data (they go to that account's connections only)."""


_PRIVATE = ChannelRule("private", login=True, account_data=True)
_PUBLIC = ChannelRule("public")
_BUSINESS_PUBLIC = ChannelRule("business")
_BUSINESS_PRIVATE = ChannelRule("business", login=True, account_data=True)

CHANNELS: dict[str, ChannelRule] = {
    # /ws/v5/public
    **dict.fromkeys(
        (
            "tickers", "trades", "books", "books5", "bbo-tbt", "instruments", "mark-price",
            "index-tickers", "funding-rate", "open-interest", "price-limit", "estimated-price",
            "opt-summary", "liquidation-orders", "books-elp", "call-auction-details",
            "books-rpi",
        ),
        _PUBLIC,
    ),
    # VIP-gated books: on the public URL but only after a login; no account data.
    "books-l2-tbt": ChannelRule("public", login=True),
    "books50-l2-tbt": ChannelRule("public", login=True),
    # /ws/v5/private
    **dict.fromkeys(
        (
            "orders", "fills", "positions", "account", "balance_and_position",
            "liquidation-warning", "account-greeks",
        ),
        _PRIVATE,
    ),
    # /ws/v5/business
    **dict.fromkeys(
        (
            "sprd-books5", "sprd-bbo-tbt", "sprd-public-trades", "sprd-tickers",
            "sprd-books-l2-tbt", "trades-all",
        ),
        _BUSINESS_PUBLIC,
    ),
    **dict.fromkeys(
        ("sprd-orders", "sprd-trades", "orders-algo", "algo-advance", "deposit-info",
         "withdrawal-info"),
        _BUSINESS_PRIVATE,
    ),
}
"""Every channel the simulator knows by exact name."""

VIP_CHANNELS: dict[str, int] = {"books-l2-tbt": 4, "books50-l2-tbt": 4, "fills": 4}
"""Channels only accounts of this fee tier (VIP level) or higher may subscribe to
(64003 otherwise), from OKX's channel pages (2026-06)."""
L2_TBT = "books-l2-tbt"
L2_TBT_EXCLUSIVE = frozenset({"books", "books50-l2-tbt"})
"""Channels one connection may not subscribe to for an instId that it also
subscribes to on ``L2_TBT`` (64004), in either order."""

CANDLE_PREFIXES = ("candle", "mark-price-candle", "index-candle", "sprd-candle")
"""Candlestick channels (``candle1m``, ``mark-price-candle1H``...): public, on business."""

RETIRED_CHANNELS = frozenset({"books-elp"})
"""Channel names OKX retired (``books-elp`` -> ``books-rpi`` after 2026-10-31):
answered as unknown channels (60018) unless the simulator runs with ``elp_names``."""

SILENT_PUBLIC = frozenset({
    "mark-price", "index-tickers", "funding-rate", "open-interest", "price-limit",
    "estimated-price", "opt-summary", "liquidation-orders", "books-elp", "call-auction-details",
})
"""Public channels accepted (with ``instId`` or ``instFamily``) that the exchange never pushes."""

ORDERS_INST_TYPES = frozenset({"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS", "ANY"})
"""``instType`` values the ``orders`` channel accepts."""
POSITIONS_INST_TYPES = frozenset({"MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS", "ANY"})
"""``instType`` values the ``positions`` channel accepts."""
INSTRUMENTS_INST_TYPES = frozenset({"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"})
"""``instType`` values the ``instruments`` channel accepts."""


def channel_rule(channel: str) -> ChannelRule | None:
    """The rule of a channel name, or ``None`` for a channel the simulator does not know."""
    rule = CHANNELS.get(channel)
    if rule is None and channel.startswith(CANDLE_PREFIXES):
        return _BUSINESS_PUBLIC
    return rule


COUNTED_CHANNELS = frozenset(
    {"orders", "account", "positions", "balance_and_position", "liquidation-warning",
     "account-greeks"}
)
"""Channels whose connections are counted per account (``channel-conn-count``)."""
CONN_COUNT_LIMIT = 30
"""At most this many connections per account subscribe to one counted channel."""

INCREMENTAL_BOOKS = frozenset({"books", "books-l2-tbt", "books50-l2-tbt", "books-rpi"})
"""Book channels pushed as a snapshot then ``seqId``-chained updates."""
SNAPSHOT_REMOVAL_BOOKS = frozenset({"books", "books-l2-tbt", "books50-l2-tbt", "books-elp"})
"""Book channels whose initial snapshot OKX announced it would stop sending (demo May
2026, production August 2026; clients then take it from ``GET /api/v5/market/books``).
Whether it did is unconfirmed (OKX's channel page of June 2026 still describes the
snapshot); ``books-rpi`` documents its initial full push."""
BOOK_CHANNELS = INCREMENTAL_BOOKS | {"books5", "bbo-tbt"}
"""Book channels that get a keepalive after a quiet period: incremental ones an empty
update with ``seqId == prevSeqId``, ``books5`` and ``bbo-tbt`` their snapshot again."""
BOOK_KEEPALIVE_S = 60.0
"""Seconds without a change before that keepalive: OKX documents "around 60 seconds"."""
RPI_DEPTH = 400
"""Levels of ``books-rpi`` (and the most ``GET /api/v5/market/books-rpi`` returns)."""

# -- ops ------------------------------------------------------------------------------

ORDER_OPS = frozenset(
    {"order", "batch-orders", "cancel-order", "batch-cancel-orders", "amend-order",
     "batch-amend-orders"}
)
"""The six ops whose responses carry inTime/outTime and take instId/instIdCode."""
PRIVATE_OPS = ORDER_OPS | {"mass-cancel"}
"""Trade ops served on ``/ws/v5/private``."""
BUSINESS_OPS = frozenset({"sprd-order", "sprd-amend-order", "sprd-cancel-order",
                          "sprd-mass-cancel"})
"""Trade ops served on ``/ws/v5/business``."""
EXP_TIME_OPS = frozenset({"order", "batch-orders", "amend-order", "batch-amend-orders"})
"""Ops that take ``expTime``."""
BATCH_OPS = frozenset({"batch-orders", "batch-cancel-orders", "batch-amend-orders"})
"""Ops that take 1-20 args."""
SINGLE_OF = {
    "batch-orders": "order",
    "batch-cancel-orders": "cancel-order",
    "batch-amend-orders": "amend-order",
}
"""A one-item batch counts against the single op's rate limit."""
BATCH_MAX = 20
"""Most args in one batch op."""
MASS_CANCEL_OPS = frozenset({"mass-cancel", "sprd-mass-cancel"})
"""Mass cancels: rate-limited per account, always rejected whole."""


def op_path(op: str) -> PathKind | None:
    """The URL that serves a trade op, ``None`` for an op the exchange does not have."""
    if op in PRIVATE_OPS:
        return "private"
    if op in BUSINESS_OPS:
        return "business"
    return None


# -- order types ----------------------------------------------------------------------

ORD_TYPES = ("market", "limit", "post_only", "fok", "ioc", "optimal_limit_ioc", "mmp",
             "mmp_and_post_only", "rpi")
"""Every ``ordType`` OKX takes on ``order``/``batch-orders`` (51000 for another value)."""
POST_ONLY_TYPES = frozenset({"post_only", "mmp_and_post_only", "rpi"})
"""Order types that never take liquidity (cancelled with cancelSource 31 if they would)."""
RESTING_TYPES = frozenset({"limit", "mmp"}) | POST_ONLY_TYPES
"""Order types whose unfilled remainder rests in the book."""
PRICED_TYPES = frozenset({"fok", "ioc"}) | RESTING_TYPES
"""Order types that need ``px``."""
MMP_TYPES = frozenset({"mmp", "mmp_and_post_only"})
"""Market Maker Protection orders: options only, Portfolio Margin mode with the MMP
privilege; the only orders ``mass-cancel`` cancels; exempt from the 1000-orders cap."""
RPI_TYPES = frozenset({"SPOT", "SWAP", "FUTURES"})
"""Instrument types that take ``ordType: rpi`` (the simulator's reading: RPI is
offered on spot and perpetual books; OKX lists eligible instruments by ``rpiMinLevel``)."""
RPI_TAKER_TYPES = frozenset({"limit", "market", "fok", "ioc", "optimal_limit_ioc"})
"""Order types ``rpiTakerAccess`` applies to."""
ELP_DEADLINE = "2026-10-31"
"""OKX stopped supporting the ELP names after this date (``ordType: elp``,
``books-elp``, ``isElpTakerAccess``; renamed to RPI). What it answers to them
since is unconfirmed: the simulator refuses ``ordType: elp`` (51000) and
``books-elp`` (60018) and ignores ``isElpTakerAccess``, or accepts them as the
RPI names with ``elp_names=True``."""

# -- rate limits ------------------------------------------------------------------------

RATE_WINDOW_MS = 2000
"""Trade-op limits count requests in any rolling window of this length."""
RATE_LIMITS: dict[str, tuple[int, bool]] = {
    "order": (60, True),
    "batch-orders": (300, True),
    "cancel-order": (60, True),
    "batch-cancel-orders": (300, True),
    "amend-order": (60, True),
    "batch-amend-orders": (300, True),
    "mass-cancel": (5, False),
    "sprd-order": (20, False),
    "sprd-amend-order": (20, False),
    "sprd-cancel-order": (20, False),
    "sprd-mass-cancel": (5, False),
}
"""op -> (requests, or orders for batches, per window; counted per instrument?).

Per instrument for the six order ops (per ``instFamily`` for options), else per
account and op. Every op the exchange serves is a key here.
"""

SUB_ACCOUNT_ORDER_LIMIT = 1000
"""New and amended orders per account (User ID) in any rolling window of
``RATE_WINDOW_MS`` (50061 over it), batch items counted one by one, on top of
the per-op limits. Cancels do not count; spot and margin, spread, block and MMP
orders are exempt. OKX documents it per sub-account (every sub-account has its own
User ID); the simulator applies it to every account."""

CONTROL_LIMIT = 480
"""``subscribe`` + ``unsubscribe`` + ``login`` requests per connection per hour.

Over it: 60014 (unconfirmed that OKX uses this code for this limit; it does for bursts).
"""
CONTROL_WINDOW = 3600.0
"""The window of ``CONTROL_LIMIT``, seconds."""

# -- sizes and clocks -------------------------------------------------------------------

MAX_FRAME = 1024 * 1024
"""Largest frame a client may send (unconfirmed: OKX does not document its gateway's
limit; this is websockets' default)."""
MAX_SUBSCRIBE = 64 * 1024
"""The args of one subscribe request must stay under 64 KB (closed with 1009)."""
LOGIN_WINDOW_S = 30.0
"""Login timestamps further than this from server time are refused (60006)."""
REST_TS_WINDOW_MS = 30_000
"""REST requests whose timestamp is further than this from server time are refused (50102)."""
REST_INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS")
"""``instType`` values of ``GET /api/v5/public/instruments``."""

REST_LIMITS: dict[str, tuple[int, int, str | None]] = {
    "GET /api/v5/market/tickers": (20, 2000, None),
    "GET /api/v5/market/ticker": (20, 2000, None),
    "GET /api/v5/market/books": (40, 2000, None),
    "GET /api/v5/market/books-rpi": (20, 2000, None),
    "GET /api/v5/market/candles": (40, 2000, None),
    "GET /api/v5/market/history-candles": (20, 2000, None),
    "GET /api/v5/market/trades": (100, 2000, None),
    "GET /api/v5/market/history-trades": (20, 2000, None),
    "GET /api/v5/public/instruments": (20, 2000, "instType"),
    "GET /api/v5/public/mark-price": (10, 2000, "instId"),
    "GET /api/v5/public/funding-rate": (10, 2000, "instId"),
    "GET /api/v5/public/time": (10, 2000, None),
    "GET /api/v5/account/balance": (10, 2000, None),
    "GET /api/v5/account/positions": (10, 2000, None),
    "GET /api/v5/account/positions-history": (10, 2000, None),
    "GET /api/v5/account/config": (5, 2000, None),
    "GET /api/v5/account/leverage-info": (20, 2000, None),
    "POST /api/v5/account/set-leverage": (20, 2000, None),
    "GET /api/v5/account/max-size": (20, 2000, None),
    "GET /api/v5/account/bills": (5, 1000, None),
    "GET /api/v5/account/bills-archive": (5, 2000, None),
    "GET /api/v5/trade/order": (60, 2000, "instId"),
    "GET /api/v5/trade/orders-pending": (60, 2000, None),
    "GET /api/v5/trade/orders-history": (40, 2000, None),
    "GET /api/v5/trade/orders-history-archive": (20, 2000, None),
    "GET /api/v5/trade/fills": (60, 2000, None),
    "GET /api/v5/trade/fills-history": (10, 2000, None),
    "GET /api/v5/sprd/spreads": (20, 2000, None),
    "GET /api/v5/sprd/order": (20, 2000, None),
    "GET /api/v5/sprd/orders-pending": (10, 2000, None),
    "GET /api/v5/sprd/trades": (20, 2000, None),
}
"""REST endpoint -> (requests per window, window ms, the parameter that also keys the
count): per IP for public endpoints (the simulator counts all their callers
together, as one IP), per account for private ones. The trade POSTs count on the
trade ops' windows (``RATE_LIMITS``), which OKX shares between REST and
WebSocket. ``asset/currencies`` is not limited here."""

REST_TRADE_OPS: dict[str, str] = {
    "/api/v5/trade/order": "order",
    "/api/v5/trade/batch-orders": "batch-orders",
    "/api/v5/trade/cancel-order": "cancel-order",
    "/api/v5/trade/cancel-batch-orders": "batch-cancel-orders",
    "/api/v5/trade/amend-order": "amend-order",
    "/api/v5/trade/amend-batch-orders": "batch-amend-orders",
    "/api/v5/trade/mass-cancel": "mass-cancel",
    "/api/v5/sprd/order": "sprd-order",
    "/api/v5/sprd/amend-order": "sprd-amend-order",
    "/api/v5/sprd/cancel-order": "sprd-cancel-order",
    "/api/v5/sprd/mass-cancel": "sprd-mass-cancel",
}
"""REST trade POST path -> the trade op it runs (same items, same answers)."""

CANDLE_BARS = frozenset(
    {"1m", "3m", "5m", "15m", "30m", "1H", "2H", "4H", "6H", "12H", "1D", "2D", "3D", "1W",
     "1M", "3M", "6Hutc", "12Hutc", "1Dutc", "2Dutc", "3Dutc", "1Wutc", "1Mutc", "3Mutc"}
)
"""``bar`` values of ``market/candles``; ``history-candles`` also takes ``1s``."""
