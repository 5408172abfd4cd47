"""The OKX v5 facts the client acts on, in one place.

Which connection serves which op and channel, which ops accept ``expTime``,
OKX's rate-limit table and its other budgets, the error-code sets the client
branches on, the hosts, the book channels, and the order states. Every other
module of the client takes these from here, so a change on OKX's side is one
edit. (The simulator in ``okx_trio.testing`` keeps its own copy of what it
judges clients by, so that it can catch a mistake made here.)

No behaviour here beyond two small lookup functions: values only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Literal

__all__ = [
    "AMEND_OPS",
    "AUTH_ERROR_CODES",
    "BOOK_CHANNEL_DEPTHS",
    "BUSINESS_OPS",
    "CANCEL_OPS",
    "CANDLE_BARS",
    "CHANNEL_PREFIX_ROUTES",
    "CHANNEL_ROUTES",
    "CONNECT_LIMIT",
    "CONTROL_BUDGET",
    "CONTROL_WINDOW",
    "EXPIRED_REQUEST_CODE",
    "EXPIRED_TIMESTAMP_CODE",
    "EXP_TIME_OPS",
    "FAMILY_INST_TYPES",
    "FATAL_LOGIN_CODES",
    "FULL_BOOK_CHANNELS",
    "HISTORY_CANDLE_BARS",
    "IDLE_TIMEOUT",
    "INST_TYPES",
    "LOGIN_ANSWER_CODES",
    "LOGIN_PATH",
    "LOGIN_PUBLIC_CHANNELS",
    "ORDER_NOT_FOUND_CODES",
    "ORDER_STATES",
    "PATHS",
    "PLACE_OPS",
    "PRIVATE_BUSINESS_CHANNELS",
    "PRIVATE_CHANNELS",
    "PRIVATE_OPS",
    "RATE_LIMITS",
    "RATE_LIMIT_CODES",
    "RATE_WINDOW",
    "RESERVED_OPS",
    "RESTART_NOTICE_CODE",
    "REST_BOOK_CHANNELS",
    "REST_HOSTS",
    "REST_LIMITS",
    "REST_PAGES",
    "REST_TRADE_OPS",
    "RETIRED_CHANNELS",
    "RPI_BOOK_CHANNELS",
    "SERIES_INST_TYPES",
    "SINGLE_OF_BATCH",
    "SPREAD_OPS",
    "SUB_ACCOUNT_EXEMPT_INST_TYPES",
    "SUB_ACCOUNT_EXEMPT_ORD_TYPES",
    "SUB_ACCOUNT_LIMIT",
    "SUB_ACCOUNT_OPS",
    "TERMINAL_STATES",
    "TRANSIENT_LOGIN_CODES",
    "TRANSIENT_REST_CODES",
    "WS_HOSTS",
    "WS_PORT",
    "ConnectionName",
    "check_channel",
    "derive_inst_family",
    "infer_inst_type",
    "is_business_channel",
    "route_channel",
    "route_op",
]

ConnectionName = Literal["public", "private", "business"]
"""The three OKX WebSocket connections."""

# ---------------------------------------------------------------------------
# Hosts and paths

WS_HOSTS: Final[Mapping[str, tuple[str, str]]] = {
    "prod": ("ws.okx.com", "wspap.okx.com"),
    "eea": ("wseea.okx.com", "wseeapap.okx.com"),
    "us": ("wsus.okx.com", "wsuspap.okx.com"),
}
"""market -> (live WebSocket host, demo-trading WebSocket host)."""
WS_PORT: Final = 8443
PATHS: Final[Mapping[str, str]] = {
    "public": "/ws/v5/public",
    "private": "/ws/v5/private",
    "business": "/ws/v5/business",
}
"""The WebSocket path of each connection."""
REST_HOSTS: Final[Mapping[str, str]] = {
    "prod": "https://openapi.okx.com",
    "eea": "https://eea.okx.com",
    "us": "https://us.okx.com",
}
"""The REST host of each market (demo trading uses the same hosts plus a header).

OKX's Overview lists ``https://openapi.okx.com`` for production and demo trading
since mid-2026 (it said ``https://www.okx.com`` before); ``www.okx.com`` still
serves the same API (OKX's own changelog examples call it) and stays one
``rest_url=`` away."""
LOGIN_PATH: Final = "/users/self/verify"
"""The path the WebSocket login signature is computed over."""

# ---------------------------------------------------------------------------
# Ops

PRIVATE_OPS: Final = frozenset(
    {
        "order",
        "batch-orders",
        "cancel-order",
        "batch-cancel-orders",
        "amend-order",
        "batch-amend-orders",
        "mass-cancel",
    }
)
"""Trade ops served on the private connection."""
BUSINESS_OPS: Final = frozenset(
    {"sprd-order", "sprd-amend-order", "sprd-cancel-order", "sprd-mass-cancel"}
)
"""Trade ops served on the business connection (spread trading)."""
RESERVED_OPS: Final = frozenset({"login", "subscribe", "unsubscribe"})
"""Ops with an API of their own; ``WsClient.request`` refuses them."""
EXP_TIME_OPS: Final = frozenset({"order", "batch-orders", "amend-order", "batch-amend-orders"})
"""Ops that accept ``expTime``."""
PLACE_OPS: Final = frozenset({"order", "batch-orders", "sprd-order"})
"""Ops that create orders."""
AMEND_OPS: Final = frozenset({"amend-order", "batch-amend-orders", "sprd-amend-order"})
"""Ops that amend orders."""
CANCEL_OPS: Final = frozenset({"cancel-order", "batch-cancel-orders", "sprd-cancel-order"})
"""Ops that cancel orders by id (not the mass cancels)."""
SPREAD_OPS: Final = frozenset({"sprd-order", "sprd-amend-order", "sprd-cancel-order"})
"""Spread order ops that name one order."""


def route_op(op: str) -> ConnectionName | None:
    """The connection that serves a trade op, or ``None`` if the op is unknown."""
    if op in PRIVATE_OPS:
        return "private"
    if op in BUSINESS_OPS:
        return "business"
    return None


# ---------------------------------------------------------------------------
# Channels
#
# Each channel's row comes from its own OKX docs-v5 page (2026-06 versions; the
# RPI entries from the 2026-07 changelog). A channel OKX does not list is not
# guessed: unknown names go to /ws/v5/public without a login, and the exchange's
# error event (60018) names the mistake.

_PUBLIC: Final[tuple[ConnectionName, bool]] = ("public", False)
_PUBLIC_LOGIN: Final[tuple[ConnectionName, bool]] = ("public", True)
_PRIVATE: Final[tuple[ConnectionName, bool]] = ("private", True)
_BUSINESS: Final[tuple[ConnectionName, bool]] = ("business", False)
_BUSINESS_LOGIN: Final[tuple[ConnectionName, bool]] = ("business", True)

CHANNEL_ROUTES: Final[Mapping[str, tuple[ConnectionName, bool]]] = {
    # /ws/v5/public, no login
    **dict.fromkeys(
        (
            "tickers", "trades", "books", "books5", "bbo-tbt", "books-rpi", "instruments",
            "open-interest", "funding-rate", "price-limit", "opt-summary", "estimated-price",
            "mark-price", "index-tickers", "liquidation-orders", "option-trades",
            "call-auction-details", "event-contract-markets",
            # adl-warning is market-wide data (no account in it), served without a login.
            "adl-warning",
            "status",
        ),
        _PUBLIC,
    ),
    # /ws/v5/public after a login: the VIP4+ depth channels (64003 below VIP4).
    **dict.fromkeys(("books-l2-tbt", "books50-l2-tbt"), _PUBLIC_LOGIN),
    # /ws/v5/private
    **dict.fromkeys(
        (
            "orders", "fills", "positions", "account", "balance_and_position",
            "liquidation-warning", "account-greeks",
        ),
        _PRIVATE,
    ),
    # /ws/v5/business, no login
    **dict.fromkeys(
        (
            "trades-all", "sprd-books5", "sprd-bbo-tbt", "sprd-books-l2-tbt",
            "sprd-public-trades", "sprd-tickers", "public-struc-block-trades",
            "public-block-trades", "block-tickers",
        ),
        _BUSINESS,
    ),
    # /ws/v5/business after a login
    **dict.fromkeys(
        (
            "sprd-orders", "sprd-trades", "orders-algo", "algo-advance", "deposit-info",
            "withdrawal-info", "rfqs", "quotes", "struc-block-trades", "grid-orders-spot",
            "grid-orders-contract", "grid-positions", "grid-sub-orders", "algo-recurring-buy",
            "copytrading-lead-notification",
            # Market-wide data, but OKX serves it only to logged-in (VIP1+) users.
            "economic-calendar",
        ),
        _BUSINESS_LOGIN,
    ),
}
"""Channel -> ``(connection, needs_login)``, for every channel named exactly.

``spot-grid``, ``copytrading-notification`` and ``grid-orders-moon`` are not
here: OKX's current pages list no such channels (``grid-orders-spot`` and
``copytrading-lead-notification`` are the real names)."""
CHANNEL_PREFIX_ROUTES: Final[tuple[tuple[str, tuple[ConnectionName, bool]], ...]] = (
    ("mark-price-candle", _BUSINESS),
    ("index-candle", _BUSINESS),
    ("sprd-candle", _BUSINESS),
    ("candle", _BUSINESS),
)
"""Candlestick families (``candle1m``, ``mark-price-candle1H``...): business, no login."""
RETIRED_CHANNELS: Final[Mapping[str, str]] = {"books-elp": "books-rpi"}
"""Channels OKX retired -> their replacement (ELP was renamed RPI; OKX's
deadline for the ELP names was 2026-10-31)."""
PRIVATE_CHANNELS: Final = frozenset(c for c, r in CHANNEL_ROUTES.items() if r == _PRIVATE)
"""Channels of ``/ws/v5/private`` (all need a login)."""
PRIVATE_BUSINESS_CHANNELS: Final = frozenset(
    c for c, r in CHANNEL_ROUTES.items() if r == _BUSINESS_LOGIN
)
"""Channels of ``/ws/v5/business`` that need a login."""
LOGIN_PUBLIC_CHANNELS: Final = frozenset(
    c for c, r in CHANNEL_ROUTES.items() if r == _PUBLIC_LOGIN
)
"""Channels of ``/ws/v5/public`` that nevertheless need a login (VIP-gated)."""


def route_channel(channel: str) -> tuple[ConnectionName, bool]:
    """``(connection, needs_login)`` for a channel name.

    Unknown names go to public without login, so new OKX public channels keep
    working; the exchange's error event then names any mistake. (A retired
    name is refused before this is asked: see ``check_channel``.)
    """
    route = CHANNEL_ROUTES.get(channel)
    if route is not None:
        return route
    for prefix, prefix_route in CHANNEL_PREFIX_ROUTES:
        if channel.startswith(prefix):
            return prefix_route
    return _PUBLIC


def is_business_channel(channel: str) -> bool:
    """True for channels served on ``/ws/v5/business``."""
    return route_channel(channel)[0] == "business"


def check_channel(channel: str) -> None:
    """Refuse a channel name OKX retired, naming its replacement.

    Raises:
        ValueError: ``channel`` is retired (``books-elp``: use ``books-rpi``).
    """
    replacement = RETIRED_CHANNELS.get(channel)
    if replacement is not None:
        raise ValueError(
            f"channel {channel!r} was retired by OKX (ELP was renamed RPI; OKX's deadline "
            f"for the ELP names was 2026-10-31): use {replacement!r}"
        )


BOOK_CHANNEL_DEPTHS: Final[Mapping[str, int]] = {
    "books": 400,
    "books5": 5,
    "bbo-tbt": 1,
    "books-l2-tbt": 400,
    "books50-l2-tbt": 50,
    "books-rpi": 400,
}
"""Levels per side of each order-book channel."""
FULL_BOOK_CHANNELS: Final = frozenset({"books5", "bbo-tbt"})
"""Book channels whose every push is the whole book (no ``action``, no ``prevSeqId``)."""
REST_BOOK_CHANNELS: Final = frozenset({"books", "books-l2-tbt", "books50-l2-tbt", "books-rpi"})
"""Incremental book channels a REST snapshot synchronises: OKX's changelog (the
initial-snapshot removal) names ``GET /api/v5/market/books`` for ``books``,
``books-l2-tbt`` and ``books50-l2-tbt``; ``books-rpi`` pairs with
``GET /api/v5/market/books-rpi`` ("sequencing parity" with the channel)."""
RPI_BOOK_CHANNELS: Final = frozenset({"books-rpi"})
"""Book channels with Retail Price Improvement levels ``[px, totalQty, nonRpiQty,
count]``, synchronised from ``GET /api/v5/market/books-rpi``."""


# ---------------------------------------------------------------------------
# Limits and budgets

RATE_WINDOW: Final = 2.0
"""OKX's trade-op rate-limit window, seconds."""
RATE_LIMITS: Final[Mapping[str, tuple[int, bool]]] = {
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
"""op -> (requests, or orders for a batch, per window; counted per instrument?).

Counted per user for ``mass-cancel`` and the ``sprd-*`` ops, per user and
instrument for the order ops (option orders: per instrument family)."""
SINGLE_OF_BATCH: Final[Mapping[str, str]] = {
    "batch-orders": "order",
    "batch-cancel-orders": "cancel-order",
    "batch-amend-orders": "amend-order",
}
"""A batch of one item counts against the single op's bucket."""
SUB_ACCOUNT_LIMIT: Final = 1000
"""Orders per ``RATE_WINDOW`` per sub-account, on top of the per-op limits (50061)."""
SUB_ACCOUNT_OPS: Final = frozenset({"order", "batch-orders", "amend-order", "batch-amend-orders"})
"""Ops counted against ``SUB_ACCOUNT_LIMIT``, each order of a batch on its own
(cancels are not counted)."""
SUB_ACCOUNT_EXEMPT_INST_TYPES: Final = frozenset({"SPOT", "MARGIN"})
"""Orders on these instrument types are exempt from ``SUB_ACCOUNT_LIMIT``
(spot and margin; spread and block orders are not on these ops at all)."""
SUB_ACCOUNT_EXEMPT_ORD_TYPES: Final = frozenset({"mmp", "mmp_and_post_only"})
"""MMP orders are exempt from ``SUB_ACCOUNT_LIMIT``."""
CONTROL_BUDGET: Final = 480
"""subscribe + unsubscribe + login frames per connection per hour."""
CONTROL_WINDOW: Final = 3600.0
"""The window of ``CONTROL_BUDGET``, seconds."""
CONNECT_LIMIT: Final = 3
"""New WebSocket connections per second (per IP)."""
IDLE_TIMEOUT: Final = 30.0
"""OKX closes a connection that received nothing for this long, seconds."""

# ---------------------------------------------------------------------------
# Codes

RATE_LIMIT_CODES: Final = frozenset({"50011", "60014", "50061"})
"""Too many requests (per op, per connection, per sub-account)."""
FATAL_LOGIN_CODES: Final = frozenset(
    {"60004", "60005", "60006", "60007", "60009", "60024", "60026", "60027", "60032", "50101"}
)
"""Login refusals that stop reconnecting (bad key, passphrase, signature...)."""
TRANSIENT_LOGIN_CODES: Final = frozenset({"60014", "60023", "63999", "64007"})
"""Login refusals worth retrying."""
EXPIRED_REQUEST_CODE: Final = "50036"
"""A request (or an item of it) arrived after its ``expTime``: the clock offset is
measured again before the next op that carries ``expTime``."""
EXPIRED_TIMESTAMP_CODE: Final = "60006"
"""Login timestamp expired: the clock offset is measured again, once, before giving up."""
LOGIN_ANSWER_CODES: Final = frozenset(
    {"60001", "60002", "60003", "60004", "60005", "60006", "60007", "60009", "60014", "60022",
     "60023", "60024", "60026", "60027", "60031", "60032", "63999", "64007", "50101"}
)
"""Codes of the id-less ``event: error`` OKX answers a login with (empty key, sign or
passphrase, bad timestamp, key or sign, expired, login failed, too frequent, wrong
passphrase, missing parameter, repeated login, no such key, internal error, wrong
environment). An id-less error with another code while a login is awaited is not
taken for its answer."""
RESTART_NOTICE_CODE: Final = "64008"
"""Notice: the connection will close soon for a service upgrade."""
AUTH_ERROR_CODES: Final = frozenset(
    {
        "50100",  # API frozen
        "50101",  # key does not match the environment (live/demo)
        "50102",  # timestamp expired
        "50103",  # OK-ACCESS-KEY empty
        "50104",  # OK-ACCESS-PASSPHRASE empty
        "50105",  # OK-ACCESS-PASSPHRASE wrong
        "50106",  # OK-ACCESS-SIGN empty
        "50107",  # OK-ACCESS-TIMESTAMP empty
        "50110",  # IP not in the key's whitelist
        "50111",  # invalid OK-ACCESS-KEY
        "50112",  # invalid OK-ACCESS-TIMESTAMP
        "50113",  # invalid signature
        "50114",  # invalid authorization
        "50119",  # API key does not exist
    }
)
"""REST codes that mean the credentials or the signature were refused."""
ORDER_NOT_FOUND_CODES: Final = frozenset({"51603", "51001"})
"""REST codes meaning the order (or its instrument) does not exist."""
TRANSIENT_REST_CODES: Final = frozenset({"50001", "50004", "50013", "50026"})
"""REST codes worth retrying: service unavailable, endpoint timeout, busy, system error."""

# ---------------------------------------------------------------------------
# Orders and instruments

TERMINAL_STATES: Final = frozenset({"filled", "canceled", "mmp_canceled"})
"""Order states that never change again."""
ORDER_STATES: Final = frozenset({"live", "partially_filled"}) | TERMINAL_STATES
"""Every order state OKX documents for ``orders`` and ``sprd-orders``."""
ORDER_RULE_CODES: Final = frozenset({"51020", "51121"})
"""Item codes of an order that breaks its instrument's trading rules: 51020 below
the minimum order size, 51121 a size that is not a multiple of the lot size
(the client checks both, and the tick size, before sending when it knows the
instrument)."""
INST_TYPES: Final = ("SPOT", "SWAP", "FUTURES", "OPTION")
"""Instrument types with ``instIdCode``, in the order to try when an id's shape says nothing."""
FAMILY_INST_TYPES: Final = frozenset({"OPTION"})
"""Types whose instrument list OKX gives one ``instFamily`` at a time (required; 50015)."""
SERIES_INST_TYPES: Final = frozenset({"EVENTS"})
"""Types whose instrument list OKX gives one ``seriesId`` at a time (required)."""

_FUTURES_RE: Final = re.compile(r"^[A-Z0-9]+-[A-Z0-9]+-\d{6}$")
_OPTION_RE: Final = re.compile(r"^[A-Z0-9]+-[A-Z0-9]+-\d{6}-[0-9.]+-[CP]$")
_SPOT_RE: Final = re.compile(r"^[A-Z0-9]+-[A-Z0-9]+$")


def derive_inst_family(inst_id: str) -> str | None:
    """The instrument family an option's ``instId`` belongs to, from its shape.

    The first two dash-separated parts (``BTC-USD-250328-60000-C`` ->
    ``BTC-USD``): every OKX example pairs ids and families this way, though no
    rule is written down, so the family each instrument record carries
    (``instFamily``) is the one the client trusts once it has the record.
    ``None`` for an id with fewer than three parts.
    """
    parts = inst_id.split("-")
    if len(parts) < 3 or not parts[0] or not parts[1]:
        return None
    return f"{parts[0]}-{parts[1]}"


def infer_inst_type(inst_id: str) -> str | None:
    """The OKX ``instType`` an ``instId`` belongs to, from its shape, or ``None``."""
    if "_" in inst_id:  # a spread id (BTC-USDT_BTC-USDT-SWAP): not an instrument
        return None
    if inst_id.endswith("-SWAP"):
        return "SWAP"
    if _SPOT_RE.match(inst_id):
        return "SPOT"
    if _FUTURES_RE.match(inst_id):
        return "FUTURES"
    if _OPTION_RE.match(inst_id):
        return "OPTION"
    return None


# ---------------------------------------------------------------------------
# REST endpoints: rate limits and pagination

REST_LIMITS: Final[Mapping[str, tuple[int, float, str | None]]] = {
    # market data (public: counted per IP)
    "GET /api/v5/market/tickers": (20, 2.0, None),
    "GET /api/v5/market/ticker": (20, 2.0, None),
    "GET /api/v5/market/books": (40, 2.0, None),
    "GET /api/v5/market/books-rpi": (20, 2.0, None),
    "GET /api/v5/market/candles": (40, 2.0, None),
    "GET /api/v5/market/history-candles": (20, 2.0, None),
    "GET /api/v5/market/trades": (100, 2.0, None),
    "GET /api/v5/market/history-trades": (20, 2.0, None),
    "GET /api/v5/public/instruments": (20, 2.0, "instType"),
    "GET /api/v5/public/mark-price": (10, 2.0, "instId"),
    "GET /api/v5/public/funding-rate": (10, 2.0, "instId"),
    "GET /api/v5/public/time": (10, 2.0, None),
    # account (counted per user id)
    "GET /api/v5/account/balance": (10, 2.0, None),
    "GET /api/v5/account/positions": (10, 2.0, None),
    "GET /api/v5/account/positions-history": (10, 2.0, None),
    "GET /api/v5/account/config": (5, 2.0, None),
    "GET /api/v5/account/leverage-info": (20, 2.0, None),
    "POST /api/v5/account/set-leverage": (20, 2.0, None),
    "GET /api/v5/account/max-size": (20, 2.0, None),
    "GET /api/v5/account/bills": (5, 1.0, None),
    "GET /api/v5/account/bills-archive": (5, 2.0, None),
    # trade look-ups
    "GET /api/v5/trade/order": (60, 2.0, "instId"),
    "GET /api/v5/trade/orders-pending": (60, 2.0, None),
    "GET /api/v5/trade/orders-history": (40, 2.0, None),
    "GET /api/v5/trade/orders-history-archive": (20, 2.0, None),
    "GET /api/v5/trade/fills": (60, 2.0, None),
    "GET /api/v5/trade/fills-history": (10, 2.0, None),
    # spread trading
    "GET /api/v5/sprd/spreads": (20, 2.0, None),
    "GET /api/v5/sprd/order": (20, 2.0, None),
    "GET /api/v5/sprd/orders-pending": (10, 2.0, None),
    "GET /api/v5/sprd/trades": (20, 2.0, None),
}
"""``"METHOD /path"`` -> (requests per window, window in seconds, the parameter
whose value also keys the bucket, e.g. ``instId`` for "User ID + Instrument ID").

Public endpoints are counted per IP, private ones per user id: within one client
both are one bucket per endpoint (and per value of the keying parameter). The
trade POSTs are not here: they share the WebSocket ops' buckets
(``REST_TRADE_OPS``, ``RATE_LIMITS``)."""

REST_TRADE_OPS: Final[Mapping[str, str]] = {
    "POST /api/v5/trade/order": "order",
    "POST /api/v5/trade/batch-orders": "batch-orders",
    "POST /api/v5/trade/cancel-order": "cancel-order",
    "POST /api/v5/trade/cancel-batch-orders": "batch-cancel-orders",
    "POST /api/v5/trade/amend-order": "amend-order",
    "POST /api/v5/trade/amend-batch-orders": "batch-amend-orders",
    "POST /api/v5/trade/mass-cancel": "mass-cancel",
    "POST /api/v5/sprd/order": "sprd-order",
    "POST /api/v5/sprd/amend-order": "sprd-amend-order",
    "POST /api/v5/sprd/cancel-order": "sprd-cancel-order",
    "POST /api/v5/sprd/mass-cancel": "sprd-mass-cancel",
}
"""REST trade endpoints -> the WebSocket op they are twins of (same body items,
same answer items, and the same rate-limit bucket: OKX shares them)."""

REST_PAGES: Final[Mapping[str, tuple[str | int, str, str, int]]] = {
    "GET /api/v5/market/candles": (0, "after", "before", 300),
    "GET /api/v5/market/history-candles": (0, "after", "before", 300),
    "GET /api/v5/market/history-trades": ("tradeId", "after", "before", 100),
    "GET /api/v5/account/positions-history": ("uTime", "after", "before", 100),
    "GET /api/v5/account/bills": ("billId", "after", "before", 100),
    "GET /api/v5/account/bills-archive": ("billId", "after", "before", 100),
    "GET /api/v5/trade/orders-pending": ("ordId", "after", "before", 100),
    "GET /api/v5/trade/orders-history": ("ordId", "after", "before", 100),
    "GET /api/v5/trade/orders-history-archive": ("ordId", "after", "before", 100),
    "GET /api/v5/trade/fills": ("billId", "after", "before", 100),
    "GET /api/v5/trade/fills-history": ("billId", "after", "before", 100),
    "GET /api/v5/sprd/orders-pending": ("ordId", "endId", "beginId", 100),
    "GET /api/v5/sprd/trades": ("tradeId", "endId", "beginId", 100),
}
"""Paginated endpoints -> (the item field holding the cursor, or the row index
for array rows; the parameter for "older than", the parameter for "newer than";
the largest page). Results come newest first and cursors are exclusive."""

CANDLE_BARS: Final = frozenset(
    {"1m", "3m", "5m", "15m", "30m", "1H", "2H", "4H", "6H", "12H", "1D", "2D", "3D", "1W",
     "1M", "3M", "6Hutc", "12Hutc", "1Dutc", "2Dutc", "3Dutc", "1Wutc", "1Mutc", "3Mutc"}
)
"""Candle sizes of ``market/candles`` (from ``6H`` up aligned to UTC+8, ``...utc`` to UTC)."""
HISTORY_CANDLE_BARS: Final = CANDLE_BARS | {"1s"}
"""Candle sizes of ``market/history-candles`` (``1s``: the last 3 months, not options)."""
