"""Trust nothing the wire says: the regression tests of each reported case.

Each test feeds the client a well-formed frame that does not make sense (a
simulator connection or a scripted server sends it) and checks what the user
sees: one bad push never ends the client, answers are believed only when they
match what was sent, events change only what they are about, pushes reach only
their subscribers, and numbers and ids are matched whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import orjson
import pytest
import trio
import trio.testing
from support.orders import bid, trading
from support.rest import MemoryRest
from support.scripted import CREDS as SCRIPTED_CREDS, ScriptedServer
from support.streams import next_push, sim_client, spot_only

import okx_trio
from okx_trio import Gap, LiveOrderBook, OkxBatchProtocolError, OkxProtocolError, Push
from okx_trio._orderbook import BookState
from okx_trio._transport import Connector, Transport
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, Simulator, open_simulator

INST = "BTC-USDT"
BTC_CODE = 100001  # the simulator's instIdCode of BTC-USDT
ORDER = {"instIdCode": BTC_CODE, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "sz": "1", "px": "1"}


@asynccontextmanager
async def scripted_ws(server: ScriptedServer, **options: Any) -> AsyncIterator[okx_trio.WsClient]:
    """A client of a scripted in-memory server (answers every op with code 0)."""
    async with trio.open_nursery() as server_nursery:
        async with okx_trio.open_ws_client(
            base_url="ws://127.0.0.1:9", transport=server.memory_connector(server_nursery),
            credentials=SCRIPTED_CREDS, rate_limit=False, log_lifecycle=False, **options,
        ) as client:
            yield client
        server_nursery.cancel_scope.cancel()


def send_raw(sim: Simulator, path: str, obj: Any) -> None:
    """Send one frame to every client connection on ``path``."""
    conns = [c for c in sim.connections if c.path == path]
    assert conns, f"no {path} connection"
    for conn in conns:
        conn.send_bytes(orjson.dumps(obj))


@asynccontextmanager
async def collected_events(client: okx_trio.WsClient) -> AsyncIterator[list[Any]]:
    """Every lifecycle event from here on, in a list that fills as they come."""
    seen: list[Any] = []
    async with trio.open_nursery() as nursery, client.events() as events:

        async def collect() -> None:
            async for event in events:
                seen.append(event)

        nursery.start_soon(collect)
        yield seen
        nursery.cancel_scope.cancel()


def protocol_errors(events: list[Any]) -> list[OkxProtocolError]:
    return [e.detail for e in events
            if e.kind == "exception" and isinstance(e.detail, OkxProtocolError)]


async def next_gap(book: LiveOrderBook) -> Gap:
    while True:
        item = await book.__anext__()
        if isinstance(item, Gap):
            return item


async def synced_again(book: LiveOrderBook) -> None:
    while not book.synced:
        await book.__anext__()


def sizes_are_sound(book: LiveOrderBook) -> bool:
    levels = book.bids + book.asks
    return all(sz.is_finite() and sz > 0 and px.is_finite() for px, sz in levels)


# -- case 1: one bad push ends everything ------------------------------------------


def books_update(book: LiveOrderBook, asks: Any = (), bids: Any = (),
                 checksum: int = 0) -> dict[str, Any]:
    """A ``books`` update that chains on ``book`` (so it reaches the level code)."""
    seq = book.seq_id
    assert seq is not None
    return {"arg": {"channel": "books", "instId": INST}, "action": "update",
            "data": [{"asks": list(asks), "bids": list(bids), "ts": "1", "checksum": checksum,
                      "prevSeqId": seq, "seqId": seq + 1}]}


BAD_BOOK_PUSHES = {
    "item not an object": lambda book: {"arg": {"channel": "books", "instId": INST},
                                        "action": "update", "data": ["oops"]},
    "level price a list": lambda book: books_update(book, asks=[[["1"], "1", "0", "1"]]),
    "level price a dict": lambda book: books_update(book, bids=[[{"px": 1}, "1", "0", "1"]]),
    "integer levels with a checksum": lambda book: books_update(
        book, asks=[[10**9, 1, 0, 1]], checksum=12345),
    "size NaN": lambda book: books_update(book, asks=[["99999", "NaN", "0", "1"]]),
    "size negative": lambda book: books_update(book, bids=[["1", "-5", "0", "1"]]),
}


@pytest.mark.parametrize("case", list(BAD_BOOK_PUSHES))
async def test_a_bad_books_push_resyncs_that_book_only(
    autojump_clock: trio.testing.MockClock, case: str,
) -> None:
    """Case 1 (and 5's book levels): the book reports it, gives a Gap, resyncs; the
    client, its other subscriptions and trading go on."""
    async with sim_client(memory=True, instruments=spot_only()) as (sim, client):
        with trio.fail_after(60):
            async with collected_events(client) as events, \
                    client.order_book(INST) as book, \
                    client.subscribe({"channel": "tickers", "instId": INST}) as tickers:
                assert book.synced
                send_raw(sim, "public", BAD_BOOK_PUSHES[case](book))
                assert await next_gap(book) == Gap("resync")
                await synced_again(book)
                assert sizes_are_sound(book)
                assert book.statistics().resyncs == 1
                # Everything else goes on: the same connection's other stream, an order.
                send_raw(sim, "public", {"arg": {"channel": "tickers", "instId": INST},
                                         "data": [{"instId": INST, "last": "1"}]})
                item = await tickers.__anext__()
                assert isinstance(item, Push)
                resp = await client.request("order", [{
                    "instIdCode": BTC_CODE, "tdMode": "cash", "side": "buy",
                    "ordType": "limit", "px": "1", "sz": "0.001", "clOrdId": "after1"}])
                assert resp.data[0]["sCode"] == "0"
                (error,) = protocol_errors(events)
                assert "books" in str(error)


@pytest.mark.parametrize("channel", ["books5", "bbo-tbt"])
async def test_a_whole_book_push_that_is_a_string_resyncs_that_book_only(
    autojump_clock: trio.testing.MockClock, channel: str,
) -> None:
    """Case 1: a ``books5`` item that is a string."""
    async with sim_client(memory=True, market_interval=0.05,
                          instruments=spot_only()) as (sim, client):
        with trio.fail_after(60):
            async with collected_events(client) as events, \
                    client.order_book(INST, channel=channel) as book:
                send_raw(sim, "public", {"arg": {"channel": channel, "instId": INST},
                                         "data": ["not a book"]})
                assert await next_gap(book) == Gap("resync")
                await synced_again(book)
                assert book.best_bid is not None
                assert len(protocol_errors(events)) == 1


async def test_a_malformed_orders_push_marks_orders_stale_and_trading_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Case 1: an ``orders`` push with ``cTime: "²"`` while the tracker runs."""
    async with trading() as (sim, api, _):
        ws = api.ws_client
        with trio.fail_after(60):
            async with collected_events(ws) as events, api.track_orders() as orders:
                first = await api.submit_new_order(bid("1"))
                tracked = await api.wait_order(cl_ord_id=first.cl_ord_id, states=["live"])
                uid = sim.engine.uid(CREDS.api_key)
                bad = dict(tracked.raw, cTime="\u00b2", uTime=str(int(tracked.raw["uTime"]) + 1))
                send_raw(sim, "private", {"arg": {"channel": "orders", "instType": "ANY",
                                                  "uid": uid}, "data": [bad]})
                while not protocol_errors(events):
                    await trio.sleep(0.01)
                # Treated as a gap: the order is refreshed from REST (stale until then).
                while orders.refreshes == 0:
                    await trio.sleep(0.01)
                after = orders.get(cl_ord_id=first.cl_ord_id)
                assert after is not None
                assert not after.stale
                second = await api.submit_new_order(bid("1"))
                assert second.ok
                await api.wait_order(cl_ord_id=second.cl_ord_id, states=["live"])
                assert orders.malformed == 1


# -- case 4: pushes delivered to the wrong subscriber -------------------------------------


@pytest.mark.parametrize("wrong_arg", [
    {"channel": "tickers"},
    {"channel": "tickers", "instType": "SPOT"},
    {"channel": "tickers", "instId": "ETH-USDT"},
    {"channel": "tickers", "instId": INST, "extra": "x"},
])
async def test_a_push_for_an_arg_never_subscribed_is_counted_not_delivered(
    autojump_clock: trio.testing.MockClock, wrong_arg: dict[str, str],
) -> None:
    async with sim_client(memory=True, instruments=spot_only()) as (sim, client):
        with trio.fail_after(30):
            arg = {"channel": "tickers", "instId": INST}
            async with collected_events(client) as events, client.subscribe(arg) as sub:
                send_raw(sim, "public", {"arg": wrong_arg, "data": [{"n": "1"}]})
                send_raw(sim, "public", {"arg": wrong_arg, "data": [{"n": "2"}]})
                send_raw(sim, "public", {"arg": arg, "data": [{"n": "3"}]})
                item = await next_push(sub, lambda p: "n" in p.data[0])
                assert item.data == [{"n": "3"}]
                assert client.statistics().unrouted_pushes == 2
                (error,) = protocol_errors(events)  # reported once per arg
                assert "matches no subscription" in str(error)


async def test_account_pushes_carry_uid_and_any_covers_every_inst_type(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """OKX adds ``uid`` to account pushes' arg; ``instType: ANY`` covers SPOT; a
    push naming another ``instType`` than a concrete subscription is not its."""
    async with sim_client(memory=True, instruments=spot_only()) as (sim, client):
        with trio.fail_after(30):
            uid = sim.engine.uid(CREDS.api_key)
            any_arg = {"channel": "orders", "instType": "ANY"}
            swap_arg = {"channel": "positions", "instType": "SWAP"}
            async with client.subscribe(any_arg) as orders, client.subscribe(swap_arg) as pos:
                send_raw(sim, "private", {"arg": {**any_arg, "uid": uid}, "data": [{"n": "1"}]})
                send_raw(sim, "private", {"arg": {"channel": "orders", "instType": "SPOT",
                                                  "uid": uid}, "data": [{"n": "2"}]})
                send_raw(sim, "private", {"arg": {"channel": "positions", "instType": "SPOT",
                                                  "uid": uid}, "data": [{"n": "x"}]})
                send_raw(sim, "private", {"arg": {**swap_arg, "uid": uid}, "data": [{"n": "3"}]})
                def marked(p: Push) -> bool:
                    return bool(p.data) and "n" in p.data[0]

                got = [await next_push(orders, marked), await next_push(orders, marked)]
                assert [p.data for p in got] == [[{"n": "1"}], [{"n": "2"}]]
                item = await next_push(pos, marked)
                assert item.data == [{"n": "3"}]
                assert client.statistics().unrouted_pushes == 1


# -- case 5: numbers and ids that are not what they seem ------------------------------------

FULLWIDTH_1 = "\uff11"
ARABIC_3 = "\u0663"


@pytest.mark.parametrize(("model", "params"), [
    (okx_trio.PlaceOrder, {"cl_ord_id": "abc\n"}),
    (okx_trio.PlaceOrder, {"tag": "t\n"}),
    (okx_trio.PlaceOrder, {"sz": "1\n"}),
    (okx_trio.PlaceOrder, {"sz": FULLWIDTH_1}),
    (okx_trio.PlaceOrder, {"px": FULLWIDTH_1 + "00"}),
    (okx_trio.PlaceOrder, {"sz": ARABIC_3}),
    (okx_trio.PlaceOrder, {"inst_id_code": FULLWIDTH_1}),
    (okx_trio.AmendOrder, {"req_id": "r\n"}),
    (okx_trio.AmendOrder, {"new_sz": "2\n"}),
    (okx_trio.MassCancel, {"lock_interval": FULLWIDTH_1 + "0"}),
])
def test_numbers_and_ids_are_matched_whole_and_ascii(model: type, params: dict[str, Any]) -> None:
    base: dict[type, dict[str, Any]] = {
        okx_trio.PlaceOrder: {"inst_id_code": BTC_CODE, "td_mode": "cash", "side": "buy",
                              "ord_type": "limit", "px": "1", "sz": "1"},
        okx_trio.AmendOrder: {"inst_id_code": BTC_CODE, "ord_id": "1", "new_sz": "2"},
        okx_trio.MassCancel: {"inst_type": "OPTION", "inst_family": "BTC-USD"},
    }
    kwargs = {**base[model], **params}
    with pytest.raises((ValueError, TypeError)):
        model(**kwargs)


@pytest.mark.parametrize("size", ["NaN", "-5", "Infinity", "1e3", " 1", "1\n", FULLWIDTH_1])
def test_book_levels_with_unsound_sizes_are_refused(size: str) -> None:
    state = BookState(INST)
    snapshot = {"asks": [["101", "1", "0", "1"]], "bids": [["100", "1", "0", "1"]],
                "seqId": 1, "prevSeqId": -1, "ts": "1"}
    assert state.apply(snapshot, "snapshot").applied
    with pytest.raises(ValueError, match="size"):
        state.apply({"asks": [["102", size, "0", "1"]], "bids": [], "seqId": 2,
                     "prevSeqId": 1, "ts": "2"}, "update")
    assert state.book.asks == [(Decimal("101"), Decimal("1"))]


@pytest.mark.parametrize("size", ["NaN", "-5", "1e3", FULLWIDTH_1])
def test_book_views_refuse_unsound_sizes(size: str) -> None:
    push = Push({"channel": "books5", "instId": INST},
                [{"asks": [["101", size, "0", "1"]], "bids": [], "ts": "1"}])
    with pytest.raises(OkxProtocolError):
        push.view()


# -- case 2: answers believed that should not be ------------------------------------------

Rewrite = Callable[[dict[str, Any]], list[dict[str, Any]]]


class _RewritingTransport(Transport):
    def __init__(self, inner: Transport, rewrite: Rewrite) -> None:
        self._inner = inner
        self._rewrite = rewrite

    async def send(self, data: bytes) -> None:
        await self._inner.send(data)

    async def receive(self) -> bytes:
        while True:
            data = await self._inner.receive()
            if data in (b"pong", b"ping"):
                return data
            out = self._rewrite(orjson.loads(data))
            if out:
                # One frame in, at most one out: enough for these tests.
                (frame,) = out
                return orjson.dumps(frame)

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        await self._inner.aclose(code, reason)

    def abort(self) -> None:
        self._inner.abort()


class RewritingConnector(Connector):
    """The simulator's answers, rewritten on their way to the client by ``rewrite``."""

    def __init__(self, inner: Connector, rewrite: Rewrite) -> None:
        self._inner = inner
        self.rewrite = rewrite
        self.rest_transport = inner.rest_transport

    async def __call__(self, url: str, *, ssl_context: Any, nursery: trio.Nursery) -> Transport:
        inner = await self._inner(url, ssl_context=ssl_context, nursery=nursery)
        return _RewritingTransport(inner, lambda frame: self.rewrite(frame))


def unchanged(frame: dict[str, Any]) -> list[dict[str, Any]]:
    return [frame]


@asynccontextmanager
async def rewritten_trading() -> AsyncIterator[tuple[Simulator, okx_trio.WsApiClient,
                                                     RewritingConnector]]:
    """A simulator and a trade client whose received frames pass through ``rewrite``."""
    async with open_simulator(accounts=[CREDS], market_interval=None, idle_timeout=None,
                              rate_limit=False) as sim:
        inner = sim.connect_memory()
        inner.rest_transport = MemoryRest(sim)
        connector = RewritingConnector(inner, unchanged)
        async with okx_trio.open_ws_api_client(
            credentials=CREDS, base_url=sim.base_url, transport=connector,
            log_lifecycle=False, rate_limit=False,
        ) as api:
            await api.connect_ws_api()
            yield sim, api, connector


def answers_to(op: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Rewrite:
    """Rewrite the (first) answer to ``op`` with ``change``; everything else unchanged."""
    done = False

    def rewrite(frame: dict[str, Any]) -> list[dict[str, Any]]:
        nonlocal done
        if not done and frame.get("op") == op and "code" in frame:
            done = True
            return [change(frame)]
        return [frame]

    return rewrite


def sim_orders(sim: Simulator) -> set[str]:
    """clOrdIds of the orders the simulator holds for the account."""
    return {o.cl_ord_id for o in sim.engine.order_list() if o.cl_ord_id}


THREE = [bid("1", clOrdId="one"), bid("1", clOrdId="two"), bid("1", clOrdId="three")]


async def test_a_batch_answered_with_fewer_items_is_not_a_success(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Case 2: a batch of 3 answered ``code "0"`` with one item."""
    async with rewritten_trading() as (sim, api, connector):
        connector.rewrite = answers_to("batch-orders", lambda f: {**f, "data": f["data"][:1]})
        with pytest.raises(OkxBatchProtocolError) as info:
            await api.submit_multiple_orders(THREE)
        err = info.value
        assert isinstance(err, okx_trio.OkxBatchError)
        assert [a.cl_ord_id for a in err.acks] == ["one"]
        assert [r["clOrdId"] for r in err.request] == ["two", "three"]
        resolution = await api.resolve(err)
        assert resolution.outcome == "acted"
        assert [o.cl_ord_id for o in resolution.orders] == ["two", "three"]
        assert {"one", "two", "three"} <= sim_orders(sim)


@pytest.mark.parametrize("op", ["batch-orders", "order"])
async def test_code_zero_without_data_is_not_a_success(
    autojump_clock: trio.testing.MockClock, op: str,
) -> None:
    """Case 2: ``code "0"`` with no ``data``."""
    async with rewritten_trading() as (_, api, connector):
        connector.rewrite = answers_to(op, lambda f: {k: v for k, v in f.items() if k != "data"})
        send = (api.submit_new_order(THREE[0]) if op == "order"
                else api.submit_multiple_orders(THREE))
        with pytest.raises(OkxProtocolError) as info:
            await send
        resolution = await api.resolve(info.value)
        assert resolution.outcome == "acted"
        assert len(resolution.items) == (1 if op == "order" else 3)


async def test_an_ack_naming_another_cl_ord_id_is_not_believed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Case 2: a single ack naming another ``clOrdId``."""
    def other(frame: dict[str, Any]) -> dict[str, Any]:
        return {**frame, "data": [{**frame["data"][0], "clOrdId": "someoneelse"}]}

    async with rewritten_trading() as (_, api, connector):
        connector.rewrite = answers_to("order", other)
        with pytest.raises(OkxProtocolError) as info:
            await api.submit_new_order(THREE[0])
        assert "someoneelse" in str(info.value)
        assert info.value.cl_ord_id == "one"
        resolution = await api.resolve(info.value)
        assert resolution.outcome == "acted"


@pytest.mark.parametrize("event", ["subscribe", "unsubscribe"])
async def test_an_event_carrying_a_trade_request_id_is_a_protocol_error(
    autojump_clock: trio.testing.MockClock, event: str,
) -> None:
    """Case 2: an event-shaped frame carrying a trade request's id."""
    def as_event(frame: dict[str, Any]) -> dict[str, Any]:
        return {"event": event, "id": frame["id"], "connId": "x",
                "arg": {"channel": "tickers", "instId": INST}}

    async with rewritten_trading() as (_, api, connector):
        connector.rewrite = answers_to("order", as_event)
        with pytest.raises(OkxProtocolError) as info:
            await api.submit_new_order(THREE[0])
        resolution = await api.resolve(info.value)
        assert resolution.outcome == "acted"


async def test_a_login_ack_carrying_a_trade_request_id_changes_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Not an answer to a trade op at all: reported; the request waits for its own."""
    def as_login(frame: dict[str, Any]) -> dict[str, Any]:
        return {"event": "login", "id": frame["id"], "code": "0", "msg": "", "connId": "x"}

    async with rewritten_trading() as (_, api, connector):
        connector.rewrite = answers_to("order", as_login)
        async with collected_events(api.ws_client) as events:
            with pytest.raises(okx_trio.OkxRequestTimeout) as info:
                await api.submit_new_order(THREE[0], timeout=5)
            (stray,) = protocol_errors(events)
            assert "login" in str(stray)
        resolution = await api.resolve(info.value)
        assert resolution.outcome == "acted"


async def test_an_answer_for_a_request_not_yet_written_is_not_believed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Case 2: an answer carrying the id of a queued request, sent with the login ack."""
    server = ScriptedServer()
    server.after_login = [{"id": "zz1", "op": "order", "code": "0", "msg": "",
                           "data": [{"sCode": "0", "sMsg": "forged", "ordId": "1"}]}]
    async with scripted_ws(server, id_prefix="zz") as client:
        with trio.fail_after(30):
            async with collected_events(client) as events:
                resp = await client.request("order", [ORDER])
                assert resp.data[0]["echo"] == ORDER  # the server's own answer
                assert len(server.ops("order")) == 1
                (stray,) = protocol_errors(events)
                assert "zz1" in str(stray)


async def test_an_error_event_for_a_request_not_yet_written_is_not_believed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Case 2, as an error event: it neither refuses the queued request nor is lost."""
    server = ScriptedServer()
    server.after_login = [{"event": "error", "id": "zz1", "code": "60013", "msg": "forged"}]
    async with scripted_ws(server, id_prefix="zz") as client:
        with trio.fail_after(30):
            async with collected_events(client) as events:
                resp = await client.request("order", [ORDER])
                assert resp.data[0]["echo"] == ORDER
                reported = [e.detail for e in events if e.kind == "exception"]
                assert [(type(e), e.code, e.id) for e in reported] == [
                    (okx_trio.OkxApiError, "60013", "zz1")]


# -- case 3: events that overwrite state ---------------------------------------------------


@pytest.mark.parametrize(("where", "code"), [("after", "60009"), ("after", "60012"),
                                             ("before", "60012"), ("after", "63999")])
async def test_an_unrelated_error_event_does_not_change_the_login_result(
    autojump_clock: trio.testing.MockClock, where: str, code: str,
) -> None:
    server = ScriptedServer()
    error = {"event": "error", "code": code, "msg": "unrelated", "connId": "c1"}
    if where == "after":
        server.after_login = [error]
    else:
        server.before_login = [error]
    async with scripted_ws(server) as client:
        with trio.fail_after(30):
            async with collected_events(client) as events:
                resp = await client.request("order", [ORDER])
                assert resp.code == "0"
                await trio.sleep(10)
                assert len(server.conns) == 1  # no reconnect
                resp = await client.request("order", [ORDER])
                assert resp.code == "0"
                reported = [e.detail for e in events if e.kind == "exception"]
                assert [(type(e), e.code) for e in reported] == [(okx_trio.OkxApiError, code)]
                assert [e.kind for e in events if e.kind in ("reconnect", "authenticated")] \
                    == ["authenticated"]
