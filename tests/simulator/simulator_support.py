"""Helpers shared by the simulator's tests (``from simulator_support import ...``).

The engine is tested synchronously on a settable clock (:class:`Clock`,
:func:`new_exchange`; the ``clock``, ``make_exchange`` and ``ex`` fixtures in
``conftest.py`` build on them); the server side through :func:`simulator`
and raw probes (``okx_trio.testing._probe``). The client's own tests keep
their helpers in ``tests/support``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from okx_trio import Credentials
from okx_trio._protocol import rest_sign
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, SimAccount, open_simulator
from okx_trio.testing._emits import Emit
from okx_trio.testing._engine import Exchange, TradeResult
from okx_trio.testing._engine_book import Level
from okx_trio.testing._engine_model import ZERO, Order, fmt
from okx_trio.testing._probe import Probe

D = Decimal
T0 = 1_700_000_000_000
"""The engine tests' start time (Unix ms)."""

KA = Credentials("keyA", "secretA", "passA")
KB = Credentials("keyB", "secretB", "passB")
KA2 = Credentials("keyA2", "secretA2", "passA2")
"""A second API key, for accounts that have two."""
MM_A = SimAccount(KA, portfolio_margin=True, mmp=True)
"""``KA`` as an option market maker: Portfolio Margin mode with the MMP privilege."""
MM_B = SimAccount(KB, portfolio_margin=True, mmp=True)
OTHER = Credentials("sim-api-key-0002", "OTHERSECRET0123456789ABCDEF01234", "Other-Pass-2")
"""A second account for the server tests (next to ``DEFAULT_CREDENTIALS``)."""

SPRD = "BTC-USDT_BTC-USDT-SWAP"
OPT = "BTC-USD-261225-60000-C"
ORDER = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "px": "30000", "sz": "0.01"}
"""A valid spot limit order arg, far below the market."""

# -- the engine ------------------------------------------------------------------------


class Clock:
    """The engine's clock in a test: Unix ms, moved by setting ``t``."""

    def __init__(self, t: int = T0) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


def new_exchange(
    clock: Clock, *, accounts: Sequence[Credentials] = (KA, KB), **options: Any
) -> Exchange:
    """An engine on ``clock`` (``options`` as :class:`Exchange` takes them)."""
    return Exchange(list(accounts), now_ms=clock, **options)


_ids = itertools.count(1)


def run(
    ex: Exchange, op: str, args: Any, *, key: str = "keyA", path: str | None = None,
    req_id: str | None = None, **extra: Any,
) -> TradeResult:
    """One trade op (``req_id`` default: a fresh one), on its own path unless ``path``
    is given; ``extra`` are more top-level fields (``expTime``)."""
    if path is None:
        path = "business" if op.startswith("sprd-") else "private"
    frame = {"id": req_id or f"r{next(_ids)}", "op": op, "args": args, **extra}
    return ex.trade_op(key, path, frame)


def run_ok(ex: Exchange, op: str, args: Any, *, key: str = "keyA") -> TradeResult:
    """:func:`run`, asserting the whole request succeeded."""
    res = run(ex, op, args, key=key)
    assert res.response["code"] == "0", res.response
    return res


def place(ex: Exchange, arg: dict[str, Any], key: str = "keyA") -> TradeResult:
    """Place one order, asserting it was accepted."""
    return run_ok(ex, "order", [arg], key=key)


def pushes(
    res: TradeResult | Sequence[Emit], channel: str = "orders", key: str | None = None
) -> list[dict[str, Any]]:
    """The first data item of each push of ``channel`` (of account ``key`` if given)."""
    emits = res.emits if isinstance(res, TradeResult) else res
    return [e.data[0] for e in emits
            if e.channel == channel and (key is None or e.api_key == key)]


def best(ex: Exchange, inst_id: str = "BTC-USDT") -> tuple[Decimal, Decimal]:
    """``(best bid, best ask)``."""
    bids, asks = ex.book(inst_id)
    return Decimal(bids[0][0]), Decimal(asks[0][0])


def top(ex: Exchange, inst_id: str = "BTC-USDT") -> tuple[D, D, D, D]:
    """``(best bid, its size, best ask, its size)``."""
    bids, asks = ex.book(inst_id)
    return D(bids[0][0]), D(bids[0][1]), D(asks[0][0]), D(asks[0][1])


def spot(side: str, px: Any, sz: Any, ord_type: str = "limit", **kw: Any) -> dict[str, Any]:
    """A BTC-USDT order arg (``px`` ``None``: none)."""
    arg = {"instIdCode": 100001, "tdMode": "cash", "side": side, "ordType": ord_type,
           "sz": str(sz)}
    if px is not None:
        arg["px"] = str(px)
    arg.update(kw)
    return arg


def limit(px: Any, sz: str = "0.01", side: str = "buy", **kw: Any) -> dict[str, Any]:
    """A BTC-USDT limit order arg."""
    return spot(side, px, sz, **kw)


def far_bid(ex: Exchange, sz: str = "0.01", **kw: Any) -> dict[str, Any]:
    """A BTC-USDT bid 500 below the best bid (it rests, it never trades)."""
    bid, _ = best(ex)
    return limit(bid - 500, sz, **kw)


def option(side: str = "buy", px: str = "0.01", **kw: Any) -> dict[str, Any]:
    """A limit order arg for one contract of the BTC-USD 60000 call."""
    arg = {"instIdCode": 300001, "tdMode": "cross", "side": side, "ordType": "limit", "px": px,
           "sz": "1"}
    arg.update(kw)
    return arg


def sprd(side: str = "buy", px: str = "10", sz: str = "1", **kw: Any) -> dict[str, Any]:
    """A limit ``sprd-order`` arg on the default spread."""
    arg = {"sprdId": SPRD, "side": side, "ordType": "limit", "px": px, "sz": sz}
    arg.update(kw)
    return arg


def mutate(arg: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """A copy of ``arg`` with fields set (``None``: removed)."""
    out = dict(arg)
    for k, v in kw.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def books_updates(
    emits: Sequence[Emit], inst_id: str, channel: str = "books"
) -> list[dict[str, Any]]:
    """The data of the incremental book updates of ``channel`` for ``inst_id``."""
    out = []
    for e in emits:
        if e.channel == channel and e.inst_id == inst_id:
            assert e.action == "update"
            out.append(e.data[0])
    return out


class Replica:
    """A client-side book: a snapshot, then updates applied by the seqId chain."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.bids = {lvl[0]: lvl for lvl in snapshot["bids"]}
        self.asks = {lvl[0]: lvl for lvl in snapshot["asks"]}
        self.seq = snapshot["seqId"]
        assert snapshot["prevSeqId"] == -1

    def apply(self, item: dict[str, Any]) -> None:
        """Apply one update (size ``"0"`` removes a level)."""
        assert item["prevSeqId"] == self.seq, "seqId chain broken"
        for side, levels in (("bids", item["bids"]), ("asks", item["asks"])):
            book = self.bids if side == "bids" else self.asks
            for lvl in levels:
                if lvl[1] == "0":
                    book.pop(lvl[0], None)
                else:
                    book[lvl[0]] = lvl
        self.seq = item["seqId"]

    def sides(self) -> tuple[list[list[str]], list[list[str]]]:
        """``(bids best first, asks best first)``."""
        bids = sorted(self.bids.values(), key=lambda lvl: -D(lvl[0]))
        asks = sorted(self.asks.values(), key=lambda lvl: D(lvl[0]))
        return bids, asks


def by_id(ex: Exchange, ord_id: str) -> Order:
    """The engine's order with ``ord_id``."""
    order = next((o for o in ex.order_list() if o.ord_id == ord_id), None)
    assert order is not None
    return order


def inside_bid(ex: Exchange) -> Decimal:
    """A BTC-USDT price strictly between the best bid and ask (user orders there are best)."""
    bids, asks = ex.book("BTC-USDT")
    px = D(bids[0][0]) + D("0.1")
    assert px < D(asks[0][0])
    return px


def bid_level(ex: Exchange, px: Decimal) -> Level:
    """The BTC-USDT bid level at ``px``."""
    return ex.instruments["BTC-USDT"].book.bids.levels[px]


def assert_consistent(lvl: Level) -> None:
    """A level's running totals and published row equal a recount of its queue."""
    by_key: dict[str, Decimal] = {}
    for o in lvl.orders:
        by_key[o.api_key] = by_key.get(o.api_key, ZERO) + o.leaves
    user = sum(by_key.values(), ZERO)
    assert (lvl.user, lvl.by_key) == (user, by_key)
    assert all(o.booked == o.leaves for o in lvl.orders)
    assert lvl.published() == [lvl.px_s, fmt(lvl.synth + user), "0",
                               str(len(lvl.orders) + (lvl.synth_cnt if lvl.synth else 0))]


# -- the server -------------------------------------------------------------------------


def simulator(*accounts: Credentials, **kw: Any) -> Any:
    """``open_simulator`` for ``accounts`` (default: ``DEFAULT_CREDENTIALS``) with no
    market task unless ``market_interval`` is given."""
    kw.setdefault("market_interval", None)
    return open_simulator(list(accounts) or [CREDS], **kw)


def is_push(frame: Any) -> bool:
    """True for a push frame (``arg`` and ``data``)."""
    return isinstance(frame, dict) and "arg" in frame and "data" in frame


async def logged_in(p: Probe, creds: Credentials = CREDS) -> None:
    """Log the probe in, asserting success."""
    assert (await p.login(creds))["code"] == "0"


def iso_now(offset_s: float = 0) -> str:
    """OKX's REST timestamp for now (plus ``offset_s``)."""
    dt = datetime.fromtimestamp(time.time() + offset_s, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def signed(target: str, creds: Credentials = CREDS, **over: str) -> dict[str, str]:
    """The auth headers of a signed GET of ``target`` (``over`` replaces any; ``ts=``)."""
    ts = over.pop("ts", None) or iso_now()
    headers = {
        "OK-ACCESS-KEY": creds.api_key,
        "OK-ACCESS-SIGN": rest_sign(creds.secret_key, ts, "GET", target),
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-PASSPHRASE": creds.passphrase,
        "x-simulated-trading": "1",
    }
    headers.update(over)
    return headers


async def get(client: httpx.AsyncClient, target: str, **kw: Any) -> tuple[int, Any]:
    """``(status, JSON body)`` of a GET."""
    resp = await client.get(target, **kw)
    return resp.status_code, resp.json()


async def signed_get(
    client: httpx.AsyncClient, target: str, creds: Credentials = CREDS
) -> tuple[int, Any]:
    """``(status, JSON body)`` of a signed GET."""
    return await get(client, target, headers=signed(target, creds))


def memory_client(sim: Any) -> httpx.AsyncClient:
    """An httpx client on the simulator's in-memory REST transport."""
    return httpx.AsyncClient(base_url=sim.rest_url, transport=sim.rest_transport())
