"""Fuzzing what is well-formed but wrong: OKX-shaped answers and pushes that lie.

``test_rel_fuzz.py`` shows that garbage never crashes the decoder. These
targets build frames OKX could send, then break them the ways a wire can:
wrong item counts, other ids, wrong types, impossible values, contradicting
codes. The properties:

* **never a success that did not happen**: an answer is taken for a success
  only when every item sent is accepted by an item that matches it; a refusal
  only when every item is matched; anything else is ``OkxProtocolError`` whose
  unknown items plus believed acks account for every item sent;
* **never the client's end**: book, view and order-table consumers raise only
  their documented error (or none), keep only sound levels and orders; a
  client fed such answers and pushes over a scripted server keeps serving.

CI runs 2 000 examples per sans-I/O target and 300 end-to-end (derandomized);
``make reliability`` runs 100 000 of each with fresh randomness.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import attrs
import orjson
import trio
import trio.from_thread
from hypothesis import HealthCheck, given, settings, strategies as st
from support.reliability import sizes
from support.scripted import CREDS, ScriptedServer

import okx_trio
from okx_trio import (
    OkxApiError,
    OkxBatchError,
    OkxBatchProtocolError,
    OkxOrderError,
    OkxProtocolError,
    OrderAck,
    Push,
    Response,
)
from okx_trio._answers import judge
from okx_trio._books import _BookFeed
from okx_trio._formats import is_decimal, is_id
from okx_trio._okx import PLACE_OPS
from okx_trio._order_state import OrderTable
from okx_trio._orderbook import BookState

examples = sizes(2_000, 100_000, name="examples")
e2e_examples = sizes(300, 100_000, name="examples")


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=examples <= 2_000,
        suppress_health_check=list(HealthCheck),
    )


# -- strategies: values ----------------------------------------------------------------

ID_POOL = ["a1", "b2", "c3", "d4", "e5", "f6", "x9", "y8", "Z7", "123456", "9" * 32]
BAD_IDS = ["", "a\n", "a b", "\uff11", "a" * 33, "a-b"]
CODES = ["0", "1", "2", "50011", "60013", "51000", "x", "", "0\n", "\u0660"]
S_CODES = ["0", "0", "0", "51008", "50011", "51400", "", "abc", "0\n", "\uff10"]

wrong_types = st.sampled_from([None, 0, 1, -1, 1.5, True, False, [], ["0"], {}, {"a": 1}])
"""JSON values of a type OKX never sends where a string is due."""
bad_numbers = st.sampled_from(["NaN", "-5", "Infinity", "1e3", " 1", "1\n", "\uff11",
                               "\u0663", "1_0", "", ".", "-", "0x1", "--1", "1.2.3"])
good_prices = st.sampled_from(["1", "100", "100.5", "0.0001", "99999.99", "7"])
good_sizes = st.sampled_from(["0", "1", "0.5", "3", "0.0001", "12.25"])


def numbers(good: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.one_of(good, good, good, bad_numbers, wrong_types)


# -- strategies: answers --------------------------------------------------------------

SINGLE_OPS = ["order", "cancel-order", "amend-order", "sprd-order", "sprd-amend-order",
              "sprd-cancel-order"]
BATCH_OPS = ["batch-orders", "batch-cancel-orders", "batch-amend-orders"]
MASS_OPS = ["mass-cancel", "sprd-mass-cancel"]


def kind_of(op: str) -> str:
    return "single" if op in SINGLE_OPS else "batch" if op in BATCH_OPS else "mass"


@st.composite
def sent_items(draw: st.DrawFn, op: str) -> list[dict[str, Any]]:
    """The items as the client sent them (only the fields an answer echoes)."""
    if kind_of(op) == "mass":
        return [{"instType": "OPTION", "instFamily": "BTC-USD"}]
    n = 1 if kind_of(op) == "single" else draw(st.integers(1, 20))
    items = []
    for i in range(n):
        item: dict[str, Any] = {}
        if op in PLACE_OPS:
            item["clOrdId"] = f"c{i}n{draw(st.integers(0, 9))}"
        else:
            which = draw(st.sampled_from(["ordId", "clOrdId", "both"]))
            if which in ("ordId", "both"):
                item["ordId"] = str(1000 + i)
            if which in ("clOrdId", "both"):
                item["clOrdId"] = f"k{i}"
            if "amend" in op and draw(st.booleans()):
                item["reqId"] = f"r{i}"
        items.append(item)
    return items


def honest_item(op: str, wire: Mapping[str, Any], s_code: str) -> dict[str, Any]:
    """The item OKX would answer for ``wire`` with ``s_code``."""
    ord_id = wire.get("ordId") or "555"
    item = {"ordId": ord_id if s_code == "0" or op not in PLACE_OPS else "",
            "clOrdId": wire.get("clOrdId", ""), "tag": "", "ts": "1700000000000",
            "sCode": s_code, "sMsg": "" if s_code == "0" else "refused", "subCode": ""}
    if "reqId" in wire:
        item["reqId"] = wire["reqId"]
    return item


@st.composite
def answers(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]], Response | OkxApiError]:
    """An op, its items as sent, and an OKX-shaped answer that may lie."""
    op = draw(st.sampled_from(SINGLE_OPS + BATCH_OPS + MASS_OPS))
    sent = draw(sent_items(op))
    if kind_of(op) == "mass":
        data: list[Any] = [{"result": draw(st.sampled_from([True, False, "true", "false"]))}]
        code = "0"
    else:
        s_codes = [draw(st.sampled_from(["0", "0", "51008", "50011"])) for _ in sent]
        data = [honest_item(op, w, c) for w, c in zip(sent, s_codes, strict=True)]
        refused = sum(c != "0" for c in s_codes)
        code = "0" if not refused else "1" if refused == len(sent) else "2"
    resp_op = op
    for _ in range(draw(st.integers(0, 3))):
        mutation = draw(st.sampled_from(
            ["drop", "extra", "swap", "id", "type", "scode", "code", "nodata", "item", "op",
             "result"]))
        if mutation == "drop" and data:
            del data[draw(st.integers(0, len(data) - 1))]
        elif mutation == "extra":
            copy = draw(st.sampled_from(data)) if data else {"sCode": "0"}
            data.insert(draw(st.integers(0, len(data))),
                        dict(copy) if isinstance(copy, dict) else copy)
        elif mutation == "swap" and len(data) > 1:
            i, j = draw(st.integers(0, len(data) - 1)), draw(st.integers(0, len(data) - 1))
            data[i], data[j] = data[j], data[i]
        elif mutation == "id" and data and isinstance(data[0], dict):
            target = data[draw(st.integers(0, len(data) - 1))]
            if isinstance(target, dict):
                field = draw(st.sampled_from(["clOrdId", "ordId", "reqId"]))
                target[field] = draw(st.sampled_from(ID_POOL + BAD_IDS))
        elif mutation == "type" and data:
            target = data[draw(st.integers(0, len(data) - 1))]
            if isinstance(target, dict):
                field = draw(st.sampled_from(["sCode", "clOrdId", "ordId", "ts", "sMsg",
                                              "result"]))
                target[field] = draw(wrong_types)
        elif mutation == "scode" and data:
            target = data[draw(st.integers(0, len(data) - 1))]
            if isinstance(target, dict):
                if draw(st.booleans()):
                    target["sCode"] = draw(st.sampled_from(S_CODES))
                else:
                    target.pop("sCode", None)
        elif mutation == "code":
            code = draw(st.sampled_from(CODES))
        elif mutation == "nodata":
            data = []
        elif mutation == "item" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(
                st.sampled_from(["x", 1, None, ["sCode", "0"], []]))
        elif mutation == "op":
            resp_op = draw(st.sampled_from(SINGLE_OPS + BATCH_OPS + MASS_OPS + ["Order", ""]))
        elif mutation == "result" and data and isinstance(data[0], dict):
            data[0]["result"] = draw(st.one_of(wrong_types, st.sampled_from(["yes", "1"])))
    rid = "q1"
    answer: Response | OkxApiError
    if code == "0":
        answer = Response(rid, resp_op, code, "", data)
    else:
        answer = OkxApiError(code, "no", op, rid, data)
    return op, sent, answer


# -- the oracle: what an honest answer says, computed plainly ----------------------------


def matches(op: str, item: Any, wire: Mapping[str, Any]) -> bool:
    """``item`` is an ack OKX could give for ``wire``: an object, an sCode, its ids."""
    if not isinstance(item, dict) or not isinstance(item.get("sCode"), str):
        return False
    if not item["sCode"] or not item["sCode"].isascii() or not item["sCode"].isdigit():
        return False
    for field in ("clOrdId", "ordId", "reqId"):
        got = item.get(field)
        if got in (None, ""):
            continue
        if not isinstance(got, str):
            return False
        if field == "ordId" and op in PLACE_OPS:
            continue
        if field in wire and wire[field] != got:
            return False
    return True


def honest_success(op: str, sent: list[dict[str, Any]], answer: Response | OkxApiError) -> bool:
    if not isinstance(answer, Response) or answer.op != op or answer.code != "0":
        return False
    data = answer.data
    if kind_of(op) == "mass":
        return len(data) == 1 and isinstance(data[0], dict) and \
            data[0].get("result") in (True, False, "true", "false")
    return len(data) == len(sent) and all(
        matches(op, item, wire) and item["sCode"] == "0"
        for item, wire in zip(data, sent, strict=True))


def honest_refusal(op: str, sent: list[dict[str, Any]], answer: Response | OkxApiError) -> bool:
    """Every item matched and none accepted against a failure code; or refused whole."""
    data = answer.data
    if not data:
        return answer.code not in ("0", "1", "2")
    if len(data) != len(sent) or not all(
            matches(op, i, w) for i, w in zip(data, sent, strict=True)):
        return False
    if answer.code == "2":
        return True
    return not any(i["sCode"] == "0" for i in data)


@examples
def test_answers_are_believed_only_when_they_match(examples: int) -> None:
    outcomes: dict[str, int] = {}

    @fuzz_settings(examples)
    @given(answers())
    def check(case: tuple[str, list[dict[str, Any]], Response | OkxApiError]) -> None:
        op, sent, answer = case
        result: Any = None
        error: Exception | None = None
        try:
            result = judge(op, kind_of(op), sent, answer)  # type: ignore[arg-type]
        except (OkxApiError, OkxProtocolError) as exc:  # anything else fails the test
            error = exc
        if isinstance(error, OkxBatchProtocolError):
            outcome = "protocol"
            # Every item sent is accounted for: believed (acked) or unknown.
            assert len(error.acks) + len(error.request) == len(sent)
            assert error.request
            assert all(r in sent for r in error.request)
        elif isinstance(error, OkxProtocolError):
            outcome = "protocol"
            assert error.request == sent
        elif isinstance(error, OkxOrderError | OkxBatchError):
            outcome = "refused"
            assert honest_refusal(op, sent, answer), error
        elif isinstance(error, OkxApiError):
            outcome = "refused whole"
            accepted = (("result", True), ("result", "true")) if kind_of(op) == "mass" else (
                ("sCode", "0"),)
            assert not any(isinstance(d, dict) and (k, d.get(k)) in accepted
                           for d in answer.data for k, _ in accepted)
        else:
            outcome = "success"
            # Never a success that did not happen.
            assert honest_success(op, sent, answer), (op, sent, answer)
            if kind_of(op) == "single":
                assert isinstance(result, OrderAck)
                assert result.ok
            elif kind_of(op) == "batch":
                assert len(result) == len(sent)
                assert all(a.ok for a in result)
            else:
                assert isinstance(result, bool)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    check()
    print(f"\nanswers fuzzed: {outcomes}")
    assert set(outcomes) >= {"protocol", "refused", "success"}


# -- strategies: pushes ----------------------------------------------------------------


def level() -> st.SearchStrategy[Any]:
    honest = st.builds(lambda p, s: [p, s, "0", "1"], good_prices, good_sizes)
    odd = st.builds(lambda p, s: [p, s, "0", "1"], numbers(good_prices), numbers(good_sizes))
    return st.one_of(honest, honest, odd, wrong_types, st.lists(good_prices, max_size=1))


def book_item() -> st.SearchStrategy[Any]:
    seq = st.one_of(st.integers(-1, 6), st.integers(-1, 6), st.sampled_from(["3", "x", "²"]),
                    wrong_types)
    item = st.fixed_dictionaries(
        {"asks": st.one_of(st.lists(level(), max_size=4), wrong_types),
         "bids": st.one_of(st.lists(level(), max_size=4), wrong_types)},
        optional={"seqId": seq, "prevSeqId": seq, "ts": seq,
                  "checksum": st.one_of(st.just(0), st.integers(), wrong_types)})
    return st.one_of(item, item, item, st.sampled_from(["x", 1, None, [], ["asks"]]))


def sound(book: Any) -> bool:
    """Every level of the book is a finite price and a positive size, kept as ASCII."""
    for side in (book.raw_bids(), book.raw_asks()):
        for px, sz in side:
            if not (is_decimal(px) and is_decimal(sz) and Decimal(sz) > 0):
                return False
    return True


class _Host:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []

    def emit(self, kind: str, connection: str, detail: Any = None) -> None:
        self.events.append((kind, connection, detail))


@examples
def test_books_fed_lying_pushes_keep_only_sound_levels(examples: int) -> None:
    @fuzz_settings(examples)
    @given(st.sampled_from(["books", "books5", "bbo-tbt", "books-l2-tbt"]),
           st.lists(st.tuples(st.sampled_from([None, "snapshot", "update", "x"]),
                              st.lists(book_item(), max_size=3)), max_size=6))
    def check(channel: str, pushes: list[tuple[str | None, list[Any]]]) -> None:
        # The sans-I/O book: a result or ValueError, nothing else, never a bad level.
        state = BookState("BTC-USDT", channel)
        for action, items in pushes:
            for item in items:
                try:
                    state.apply(item, action)
                except ValueError:
                    pass
                assert sound(state.book)
        # The feed around it (what the reader calls): never raises; every refusal
        # is reported and starts a resync.
        host = _Host()
        books = SimpleNamespace(host=host)
        arg = {"channel": channel, "instId": "BTC-USDT"}
        feed = _BookFeed(books, arg, frozenset(arg.items()), 2.0)  # type: ignore[arg-type]
        for action, items in pushes:
            before = feed.resyncs
            was_resyncing = feed.resyncing
            reported = len(host.events)
            feed.deliver(Push(arg, items, action))
            assert sound(feed.book)
            if len(host.events) > reported:
                # A refused item starts a resync (a later snapshot may end it at once).
                assert was_resyncing or feed.resyncs > before
        assert all(kind == "exception" for kind, _, _ in host.events)

    check()


ORDER_FIELDS = ["ordId", "clOrdId", "state", "accFillSz", "avgPx", "px", "sz", "side", "uTime",
                "cTime", "instId", "sprdId", "tradeId", "reqId", "amendResult"]


def order_item() -> st.SearchStrategy[Any]:
    honest = {"ordId": st.sampled_from(ID_POOL), "clOrdId": st.sampled_from([*ID_POOL, ""]),
              "state": st.sampled_from(["live", "partially_filled", "filled", "canceled"]),
              "accFillSz": good_sizes, "avgPx": good_prices, "px": good_prices,
              "sz": good_sizes, "side": st.sampled_from(["buy", "sell"]),
              "uTime": st.integers(1, 10).map(str), "cTime": st.integers(1, 10).map(str),
              "instId": st.just("BTC-USDT")}
    lying = {k: st.one_of(v, v, bad_numbers, wrong_types, st.sampled_from(BAD_IDS))
             for k, v in honest.items()}
    return st.one_of(st.fixed_dictionaries(lying, optional={
        "tradeId": st.sampled_from(ID_POOL), "reqId": st.sampled_from(ID_POOL),
        "amendResult": st.sampled_from(["0", "-1", "x"])}),
        st.sampled_from(["x", 1, None, []]))


@examples
def test_the_order_table_fed_lying_items_keeps_only_sound_orders(examples: int) -> None:
    @fuzz_settings(examples)
    @given(st.lists(order_item(), max_size=8))
    def check(items: list[Any]) -> None:
        table = OrderTable()
        for n, item in enumerate(items):
            before = table.malformed
            merged = table.apply(item, "regular", push=bool(n % 2), now=float(n))
            if merged is None:
                continue
            assert table.malformed == before
            assert is_id(merged.ord_id)
            assert merged.cl_ord_id is None or is_id(merged.cl_ord_id)
            for value in (merged.acc_fill_sz, merged.avg_px, merged.px, merged.sz):
                assert value is None or value.is_finite()
            assert merged.acc_fill_sz >= 0
        for order in table.orders():
            assert is_id(order.ord_id)

    check()


VIEW_CHANNELS = ["tickers", "trades", "books", "books5", "orders", "fills", "positions",
                 "account", "balance_and_position", "sprd-orders", "sprd-trades", "candle1m"]
VIEW_KEYS = ["instId", "last", "lastSz", "askPx", "ts", "px", "sz", "seqId", "checksum", "asks",
             "bids", "ordId", "cTime", "uTime", "accFillSz", "reduceOnly", "attachAlgoOrds",
             "details", "balData", "posData", "legs", "pos", "count", "prevSeqId"]


@examples
def test_views_of_lying_pushes_raise_only_protocol_errors(examples: int) -> None:
    value = st.one_of(good_prices, bad_numbers, wrong_types, st.sampled_from(["true", "x"]),
                      st.lists(st.one_of(good_prices, wrong_types, st.lists(good_prices)),
                               max_size=3))
    item = st.one_of(st.dictionaries(st.sampled_from(VIEW_KEYS), value, max_size=6),
                     st.lists(st.one_of(good_prices, bad_numbers, wrong_types), max_size=10),
                     wrong_types)

    @fuzz_settings(examples)
    @given(st.sampled_from(VIEW_CHANNELS), st.lists(item, max_size=3))
    def check(channel: str, data: list[Any]) -> None:
        try:
            views = Push({"channel": channel}, data).view()
        except OkxProtocolError:
            return
        for view in views:
            if attrs.has(type(view)):
                for name, field_value in attrs.asdict(view, recurse=False).items():
                    if isinstance(field_value, Decimal):
                        assert field_value.is_finite(), (name, field_value)

    check()


# -- end to end: a client over a scripted server ------------------------------------------


@attrs.define
class LiveClient:
    """A trade client of a scripted server, running in its own thread and trio loop."""

    server: ScriptedServer
    api: okx_trio.WsApiClient
    token: trio.lowlevel.TrioToken
    book_feed: Any
    checks: int = 0
    successes: int = 0


@contextmanager
def client_in_a_thread() -> Iterator[LiveClient]:
    ready = threading.Event()
    box: list[Any] = []

    async def main() -> None:
        server = ScriptedServer()
        async with trio.open_nursery() as server_nursery:
            async with okx_trio.open_ws_api_client(
                base_url="ws://127.0.0.1:9", transport=server.memory_connector(server_nursery),
                credentials=CREDS, rate_limit=False, log_lifecycle=False,
            ) as api:
                client = api.ws_client
                await api.connect_ws_api()
                async with client.subscribe({"channel": "tickers", "instId": "BTC-USDT"}) as sub:
                    stop = trio.Event()

                    async def drain() -> None:
                        async for _ in sub:
                            pass

                    server_nursery.start_soon(drain)
                    # A book fed by the reader (its resync task is not needed here:
                    # every example starts with a snapshot).
                    books = client._core.books()
                    arg = {"channel": "books", "instId": "BTC-USDT"}
                    feed = _BookFeed(books, arg, frozenset(arg.items()), 2.0)
                    feed.ss = books.subscriptions.acquire(feed, arg)
                    await books.subscriptions.wait_settled([feed.ss], trio.current_time() + 10)
                    box.append((LiveClient(server, api, trio.lowlevel.current_trio_token(),
                                           feed), stop))
                    ready.set()
                    await stop.wait()
                    await books.subscriptions.release_all(feed, [feed.ss])
            server_nursery.cancel_scope.cancel()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # reported by the test
            box.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name="fuzzed client", daemon=True)
    thread.start()
    assert ready.wait(30)
    if isinstance(box[0], BaseException):
        raise box[0]
    live, stop = box[0]
    try:
        yield live
    finally:
        trio.from_thread.run_sync(stop.set, trio_token=live.token)
        thread.join(30)
        assert not thread.is_alive()
        assert len(box) == 1, box[1:]  # the client ended cleanly, as itself


SNAPSHOT = {"asks": [["101", "1", "0", "1"]], "bids": [["100", "1", "0", "1"]], "ts": "1",
            "checksum": 0, "prevSeqId": -1, "seqId": 1}


def params_of(op: str, wire: Mapping[str, Any]) -> dict[str, Any]:
    """Valid request params carrying the ids of ``wire``."""
    if op in ("order", "batch-orders"):
        return {"instIdCode": 1, "tdMode": "cash", "side": "buy", "ordType": "limit",
                "px": "1", "sz": "1", **wire}
    if op == "sprd-order":
        return {"sprdId": "A_B", "side": "buy", "ordType": "limit", "px": "1", "sz": "1", **wire}
    if op in ("amend-order", "batch-amend-orders"):
        return {"instIdCode": 1, "newSz": "2", **wire}
    if op == "sprd-amend-order":
        return {"newSz": "2", **wire}
    if op in ("cancel-order", "batch-cancel-orders"):
        return {"instIdCode": 1, **wire}
    if op == "mass-cancel":
        return dict(wire)
    return {k: v for k, v in wire.items() if k in ("ordId", "clOrdId")}


async def call(api: okx_trio.WsApiClient, op: str, sent: list[dict[str, Any]]) -> Any:
    params = [params_of(op, w) for w in sent]
    method = {
        "order": api.submit_new_order, "cancel-order": api.cancel_order,
        "amend-order": api.amend_order, "sprd-order": api.submit_spread_order,
        "sprd-amend-order": api.amend_spread_order, "sprd-cancel-order": api.cancel_spread_order,
        "batch-orders": api.submit_multiple_orders,
        "batch-cancel-orders": api.cancel_multiple_orders,
        "batch-amend-orders": api.amend_multiple_orders,
        "mass-cancel": api.mass_cancel_orders,
    }.get(op)
    if op == "sprd-mass-cancel":
        return await api.mass_cancel_spread_orders(timeout=5)
    assert method is not None
    return await method(params if kind_of(op) == "batch" else params[0], timeout=5)


async def feed_one(live: LiveClient, case: tuple[str, list[dict[str, Any]], Any],
                   pushes: list[tuple[str, Any]]) -> None:
    op, sent, answer = case
    server = live.server
    if op == "sprd-mass-cancel":
        sent = [{}]
    # The answer the server gives this op, with the request's own id.
    frame = {"op": answer.op, "code": answer.code, "msg": answer.msg, "data": answer.data}
    server.on_op = lambda conn, obj: {"id": obj["id"], **frame} if obj["op"] == op else None
    public = [c for c in server.conns if c.path.endswith("public") and not c.closed][-1]
    arg_books = {"channel": "books", "instId": "BTC-USDT"}
    arg_tickers = {"channel": "tickers", "instId": "BTC-USDT"}
    await public.send(orjson.dumps({"arg": arg_books, "action": "snapshot", "data": [SNAPSHOT]}))
    for kind, item in pushes:
        if kind == "books":
            out = {"arg": arg_books, "action": "update", "data": [item]}
        else:
            out = {"arg": arg_tickers, "data": [item]}
        await public.send(orjson.dumps(out))
    with trio.fail_after(10):
        try:
            result = await call(live.api, op, sent)
        except (OkxApiError, OkxProtocolError):
            pass
        else:
            # Never a success that did not happen.
            assert honest_success(op, sent, answer), (op, sent, answer, result)
            live.successes += 1
        server.on_op = None
        ok = await live.api.ws_client.request("order", [{"instIdCode": 1}], timeout=5)
        assert ok.code == "0"  # still serving
    assert sound(live.book_feed.book)
    live.checks += 1


@e2e_examples
def test_a_client_fed_lying_answers_and_pushes_keeps_serving(examples: int) -> None:
    push = st.one_of(st.tuples(st.just("books"), book_item()),
                     st.tuples(st.just("tickers"), st.one_of(
                         st.dictionaries(st.sampled_from(VIEW_KEYS), wrong_types, max_size=3),
                         wrong_types)))
    with client_in_a_thread() as live:

        @fuzz_settings(examples)
        @given(answers(), st.lists(push, max_size=4))
        def check(case: Any, pushes: list[tuple[str, Any]]) -> None:
            trio.from_thread.run(feed_one, live, case, pushes, trio_token=live.token)

        check()
    print(f"\nclient fuzz: {live.checks} examples, the client served after each; "
          f"{live.successes} believed successes")
    assert live.checks >= examples
