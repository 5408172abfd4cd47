"""The simulator's REST endpoints (plain HTTP/1.1 GETs on the WebSocket port).

Public: ``/api/v5/public/time``, ``/api/v5/public/instruments``,
``/api/v5/market/books``. Signed (OKX REST auth headers, verified with
:func:`okx_trio._protocol.rest_sign`): ``/api/v5/trade/order``,
``/api/v5/sprd/order``, ``/api/v5/trade/orders-pending``,
``/api/v5/sprd/orders-pending``, ``/api/v5/asset/currencies``,
``/api/v5/account/balance``. Bodies are OKX's
``{"code": "0", "msg": "", "data": [...]}``.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .._protocol import rest_sign

if TYPE_CHECKING:
    from ._server import Simulator

INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS")
SPRD_ORD_TYPES = ("market", "limit", "post_only", "ioc")
# OKX: a request is refused when its timestamp is more than 30 s from server time.
REST_TS_WINDOW_MS = 30_000
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")

RestResult = tuple[int, dict[str, Any]]


def _ok(data: list[Any]) -> RestResult:
    return 200, {"code": "0", "msg": "", "data": data}


def _err(status: int, code: str, msg: str) -> RestResult:
    return status, {"code": code, "msg": msg, "data": []}


def _empty(param: str) -> RestResult:
    return _err(400, "50014", f"Parameter {param} can not be empty.")


def parse_iso_ms(value: str) -> int | None:
    """Milliseconds since the epoch for OKX's ``2020-12-08T09:08:57.715Z``; None if malformed."""
    if not _ISO_RE.match(value):
        return None
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in value else "%Y-%m-%dT%H:%M:%SZ"
    try:
        dt = datetime.strptime(value, fmt).replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(dt.timestamp() * 1000)


class RestApi:
    """Dispatches one HTTP request to the simulator's exchange."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._public: dict[str, Callable[[dict[str, str]], RestResult]] = {
            "/api/v5/public/time": self._time,
            "/api/v5/public/instruments": self._instruments,
            "/api/v5/market/books": self._books,
        }
        self._private: dict[str, Callable[[str, dict[str, str]], RestResult]] = {
            "/api/v5/trade/order": self._order,
            "/api/v5/sprd/order": self._sprd_order,
            "/api/v5/trade/orders-pending": self._orders_pending,
            "/api/v5/sprd/orders-pending": self._sprd_orders_pending,
            "/api/v5/asset/currencies": self._currencies,
            "/api/v5/account/balance": self._balance,
        }

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> RestResult:
        """``(HTTP status, JSON body)`` for one request.

        ``target`` is the request target as sent (path and query), which is
        also what a signed request signed.
        """
        parts = urlsplit(target)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        public = self._public.get(path)
        private = self._private.get(path)
        if public is None and private is None:
            return _err(404, "404", "Not Found")
        if method not in ("GET", "HEAD"):
            return _err(405, "50115", "Invalid request method.")
        if public is not None:
            return public(query)
        assert private is not None
        auth = self._authenticate(method, target, headers, body)
        if isinstance(auth, tuple):
            return auth
        return private(auth, query)

    # -- auth ----------------------------------------------------------------

    def _authenticate(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> str | RestResult:
        key = headers.get("ok-access-key", "")
        sign = headers.get("ok-access-sign", "")
        ts = headers.get("ok-access-timestamp", "")
        passphrase = headers.get("ok-access-passphrase", "")
        if not key:
            return _err(401, "50103", 'Request header "OK-ACCESS-KEY" cannot be empty.')
        if not passphrase:
            return _err(401, "50104", 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.')
        if not sign:
            return _err(401, "50106", 'Request header "OK-ACCESS-SIGN" cannot be empty.')
        if not ts:
            return _err(401, "50107", 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.')
        ts_ms = parse_iso_ms(ts)
        if ts_ms is None:
            return _err(401, "50112", "Invalid OK-ACCESS-TIMESTAMP.")
        if abs(self._sim._now_ms() - ts_ms) > REST_TS_WINDOW_MS:
            return _err(401, "50102", "Timestamp request expired.")
        account = self._sim.engine.accounts.get(key)
        if account is None:
            return _err(401, "50111", "Invalid OK-ACCESS-KEY.")
        creds = account.credentials
        if not hmac.compare_digest(passphrase.encode(), creds.passphrase.encode()):
            return _err(401, "50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.')
        expected = rest_sign(creds.secret_key, ts, method, target, body.decode("utf-8", "replace"))
        if not hmac.compare_digest(sign.encode(), expected.encode()):
            return _err(401, "50113", "Invalid signature.")
        return key

    # -- public ----------------------------------------------------------------

    def _time(self, query: dict[str, str]) -> RestResult:
        return _ok([{"ts": str(self._sim._now_ms())}])

    def _instruments(self, query: dict[str, str]) -> RestResult:
        inst_type = query.get("instType", "")
        if not inst_type:
            return _empty("instType")
        if inst_type not in INST_TYPES:
            return _err(400, "51000", "Parameter instType error")
        inst_id = query.get("instId") or None
        family = query.get("instFamily") or query.get("uly") or None
        return _ok(self._sim.engine.rest_instruments(inst_type, inst_id, family))

    def _books(self, query: dict[str, str]) -> RestResult:
        inst_id = query.get("instId", "")
        if not inst_id:
            return _empty("instId")
        sz_text = query.get("sz", "") or "1"
        if not sz_text.isdigit() or not 1 <= int(sz_text) <= 5000:
            return _err(400, "51000", "Parameter sz error")
        if inst_id not in self._sim.engine.instruments:
            return _err(200, "51001", "Instrument ID or Spread ID doesn't exist.")
        return _ok([self._sim.engine.rest_books(inst_id, min(int(sz_text), 400))])

    # -- private ---------------------------------------------------------------

    def _order(self, api_key: str, query: dict[str, str]) -> RestResult:
        inst_id = query.get("instId") or None
        ord_id = query.get("ordId") or None
        cl_ord_id = query.get("clOrdId") or None
        code, msg, data = self._sim.engine.rest_order(api_key, inst_id, ord_id, cl_ord_id)
        return 200, {"code": code, "msg": msg, "data": data}

    def _sprd_order(self, api_key: str, query: dict[str, str]) -> RestResult:
        ord_id = query.get("ordId") or None
        cl_ord_id = query.get("clOrdId") or None
        code, msg, data = self._sim.engine.rest_sprd_order(api_key, ord_id, cl_ord_id)
        return 200, {"code": code, "msg": msg, "data": data}

    def _orders_pending(self, api_key: str, query: dict[str, str]) -> RestResult:
        inst_type = query.get("instType") or None
        inst_id = query.get("instId") or None
        return _ok(self._sim.engine.rest_orders_pending(api_key, inst_type, inst_id))

    def _sprd_orders_pending(self, api_key: str, query: dict[str, str]) -> RestResult:
        ord_type = query.get("ordType") or None
        if ord_type is not None and ord_type not in SPRD_ORD_TYPES:
            return _err(400, "51000", "Parameter ordType error")
        state = query.get("state") or None
        if state is not None and state not in ("live", "partially_filled"):
            return _err(400, "51000", "Parameter state error")
        ids: dict[str, int | None] = {}
        for name in ("beginId", "endId"):
            text = query.get(name, "")
            if text and not text.isdigit():
                return _err(400, "51000", f"Parameter {name} error")
            ids[name] = int(text) if text else None
        limit_text = query.get("limit", "") or "100"
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            return _err(400, "51000", "Parameter limit error")
        return _ok(self._sim.engine.rest_sprd_orders_pending(
            api_key, sprd_id=query.get("sprdId") or None, ord_type=ord_type, state=state,
            begin_id=ids["beginId"], end_id=ids["endId"], limit=int(limit_text),
        ))

    def _currencies(self, api_key: str, query: dict[str, str]) -> RestResult:
        wanted = [c for c in query.get("ccy", "").split(",") if c]
        return _ok(self._sim.engine.rest_currencies(wanted or None))

    def _balance(self, api_key: str, query: dict[str, str]) -> RestResult:
        wanted = [c for c in query.get("ccy", "").split(",") if c]
        return _ok([self._sim.engine.rest_balance(api_key, wanted or None)])
