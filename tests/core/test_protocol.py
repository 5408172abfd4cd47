"""The sans-I/O protocol core: signatures, encoding, and one typed event per frame."""

from __future__ import annotations

import ast
import pathlib

import attrs
import orjson
import pytest
from hypothesis import given, settings, strategies as st

import okx_trio._protocol as proto
from okx_trio import Push, Response
from okx_trio._push import new_push


def test_core_does_not_import_trio() -> None:
    source = pathlib.Path(proto.__file__).read_text()
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert "trio" not in imported
    assert "trio_websocket" not in imported


@pytest.mark.parametrize(
    ("secret", "ts", "sign"),
    [
        ("SIMSECRET0123456789ABCDEF0123456", "1700000000",
         "9UTaFZvZ5RGGMV5iXqHKOjkyrWx5VnL/7GVO/sIZsUo="),
        ("22582BD0CFF14C41EDBF1AB98506286D", "1538054050",
         "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="),
    ],
)
def test_login_signature_vectors(secret: str, ts: str, sign: str) -> None:
    assert proto.login_sign(secret, ts) == sign


def test_rest_signature_vector() -> None:
    sign = proto.rest_sign(
        "chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO",
        "2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance",
    )
    assert sign == "PJ61e1nb2F2Qd7D8SPiaIcx2gjdELc+o0ygzre9z33k="


def test_encode_login_frame() -> None:
    frame = orjson.loads(proto.encode_login("key", "SIMSECRET0123456789ABCDEF0123456",
                                            "pass", "1700000000"))
    assert frame == {
        "op": "login",
        "args": [{"apiKey": "key", "passphrase": "pass", "timestamp": "1700000000",
                  "sign": "9UTaFZvZ5RGGMV5iXqHKOjkyrWx5VnL/7GVO/sIZsUo="}],
    }


def test_encode_request_with_and_without_exp_time() -> None:
    args = [{"instIdCode": 1, "sz": "1"}]
    assert orjson.loads(proto.encode_request("a1", "order", args, 1700000005000)) == {
        "id": "a1", "op": "order", "expTime": "1700000005000", "args": args}
    assert orjson.loads(proto.encode_request("a2", "cancel-order", args)) == {
        "id": "a2", "op": "cancel-order", "args": args}


def test_id_generator_unique_and_valid() -> None:
    gen = proto.IdGenerator()
    ids = [gen() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    assert all(proto.ID_RE.match(i) for i in ids)
    assert gen.prefix != proto.IdGenerator().prefix or True  # prefixes are random
    with pytest.raises(ValueError):
        proto.IdGenerator("bad-prefix")


@pytest.mark.parametrize("bad", ["", "a" * 33, "has space", "dash-ed", "ü"])
def test_check_id_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="1-32 letters or digits"):
        proto.check_id(bad, "clOrdId")


def test_check_id_type() -> None:
    with pytest.raises(TypeError, match="clOrdId"):
        proto.check_id(12, "clOrdId")


def test_decode_pong_and_ping() -> None:
    assert isinstance(proto.decode_frame(b"pong"), proto.Pong)
    assert isinstance(proto.decode_frame("pong"), proto.Pong)
    assert isinstance(proto.decode_frame(b"ping"), proto.Ping)


def test_decode_login_ack_and_error() -> None:
    ev = proto.decode_frame(b'{"event":"login","code":"0","msg":"","connId":"a4d3ae55"}')
    assert ev == proto.LoginAck("0", "", "a4d3ae55")
    ev = proto.decode_frame(b'{"event":"error","code":"60009","msg":"Login failed.",'
                            b'"connId":"a4d3ae55"}')
    assert ev == proto.ErrorEvent("60009", "Login failed.", None, "a4d3ae55")


def test_decode_error_with_id() -> None:
    ev = proto.decode_frame(b'{"id":"sub1","event":"error","code":"60012","msg":"x",'
                            b'"connId":"c"}')
    assert ev == proto.ErrorEvent("60012", "x", "sub1", "c")


def test_decode_subscribe_and_unsubscribe_acks() -> None:
    ev = proto.decode_frame(b'{"id":"s1","event":"subscribe","arg":{"channel":"tickers",'
                            b'"instId":"BTC-USDT"},"connId":"c"}')
    assert ev == proto.SubscribeAck("s1", {"channel": "tickers", "instId": "BTC-USDT"}, "c")
    ev = proto.decode_frame(b'{"event":"unsubscribe","arg":{"channel":"tickers"}}')
    assert ev == proto.UnsubscribeAck(None, {"channel": "tickers"}, None)


def test_decode_conn_count_and_error() -> None:
    ev = proto.decode_frame(b'{"event":"channel-conn-count","channel":"orders",'
                            b'"connCount":"2","connId":"abcd1234"}')
    assert ev == proto.ChannelConnCount("orders", "2", "abcd1234", False)
    ev = proto.decode_frame(b'{"event":"channel-conn-count-error","channel":"orders",'
                            b'"connCount":"30","connId":"x"}')
    assert isinstance(ev, proto.ChannelConnCount)
    assert ev.error


def test_decode_notice() -> None:
    ev = proto.decode_frame(b'{"event":"notice","code":"64008","msg":"soon","connId":"c"}')
    assert ev == proto.Notice("64008", "soon", "c")


def test_decode_trade_response() -> None:
    raw = (b'{"id":"1512","op":"order","code":"0","msg":"","data":[{"clOrdId":"b15",'
           b'"ordId":"6830","tag":"","ts":"1","sCode":"0","sMsg":"Order placed","subCode":""}],'
           b'"inTime":"1700000000122456","outTime":"1700000000123789"}')
    ev = proto.decode_frame(raw)
    assert isinstance(ev, Response)
    assert (ev.id, ev.op, ev.code, ev.in_time, ev.out_time) == (
        "1512", "order", "0", "1700000000122456", "1700000000123789")
    assert ev.data[0]["ordId"] == "6830"


def test_decode_request_level_failure_without_data() -> None:
    ev = proto.decode_frame(b'{"id":"9","op":"order","code":"60013","msg":"Invalid args"}')
    assert isinstance(ev, Response)
    assert ev.data == []
    assert ev.code == "60013"


def test_decode_unknown_op_response_is_still_a_response() -> None:
    ev = proto.decode_frame(b'{"id":"9","op":"frobnicate","code":"60019",'
                            b'"msg":"Invalid op: frobnicate","data":[]}')
    assert isinstance(ev, Response)
    assert ev.op == "frobnicate"


def test_decode_push_keeps_data_as_received() -> None:
    raw = (b'{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
           b'"last":"9999.99","newField":{"x":1}}]}')
    ev = proto.decode_frame(raw)
    assert isinstance(ev, Push)
    assert ev.channel == "tickers"
    assert ev.action is None
    assert ev.data == [{"instId": "BTC-USDT", "last": "9999.99", "newField": {"x": 1}}]


def test_decode_book_push_action_and_extras() -> None:
    raw = (b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot",'
           b'"data":[{"asks":[],"bids":[],"seqId":1,"prevSeqId":-1}]}')
    ev = proto.decode_frame(raw)
    assert isinstance(ev, Push)
    assert ev.action == "snapshot"
    raw = b'{"arg":{"channel":"account"},"eventType":"snapshot","curPage":1,"data":[]}'
    ev = proto.decode_frame(raw)
    assert isinstance(ev, Push)
    assert ev.extra == {"eventType": "snapshot", "curPage": 1}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"[1,2]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (b'{"hello":"world"}', "unknown frame shape"),
        (b'{"arg":{"channel":"x"},"data":{}}', "push without a data list"),
        (b'{"event":"subscribe"}', "subscribe ack without an arg"),
        (b'{"id":"1","op":"order","code":"0","data":{}}', "response data is not a list"),
        (b'{"event":5}', "event is not a string"),
        (b"\xff\xfe", "invalid JSON"),
    ],
)
def test_malformed_frames_become_events(raw: bytes, reason: str) -> None:
    ev = proto.decode_frame(raw)
    assert isinstance(ev, proto.Malformed)
    assert ev.reason == reason


def test_oversized_id_in_response_is_kept_verbatim() -> None:
    # An id the client never sent (too long to be ours) still decodes; the session
    # then finds no waiter for it.
    ev = proto.decode_frame(orjson.dumps({"id": "x" * 100, "op": "order", "code": "0",
                                          "data": []}))
    assert isinstance(ev, Response)
    assert len(ev.id) == 100


def test_unknown_event_kept() -> None:
    ev = proto.decode_frame(b'{"event":"brand-new","x":1}')
    assert ev == proto.OtherEvent("brand-new", {"event": "brand-new", "x": 1})


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_decoder_never_raises_on_arbitrary_text(data: bytes | str) -> None:
    proto.decode_frame(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "op", "code", "event", "arg", "data", "msg",
                                       "action", "connId", "x"]), children, max_size=6),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_decoder_never_raises_on_arbitrary_json(value: object) -> None:
    proto.decode_frame(orjson.dumps(value))


@pytest.mark.parametrize("n", [0, 1, 35, 36, 37, 1295, 1296, 1297, 46655, 46656, 36**4 - 1,
                               36**4, 1296**2 + 35, 36**7 + 1, 10**15])
def test_request_id_counter_is_base36_without_leading_zeros(n: int) -> None:
    from okx_trio._protocol import _base36

    text = _base36(n)
    assert int(text, 36) == n
    assert text == "0" or not text.startswith("0")
    assert text == text.lower()
    assert text.isalnum()


@pytest.mark.parametrize("start", [1, 1290, 46650, 1296**2 - 5, 36**7 - 3])
def test_id_generator_gives_the_prefix_and_the_counter_in_base36(start: int) -> None:
    # The generator keeps the digits above the last two between calls: its ids
    # are still exactly prefix + _base36(counter), across every carry.
    import itertools

    from okx_trio._protocol import _base36

    gen = proto.IdGenerator("p")
    gen._counter = itertools.count(start)
    for n in range(start, start + 3000):
        assert gen() == "p" + _base36(n)


def _fields(push: Push) -> dict[str, object]:
    return {f.name: getattr(push, f.name) for f in attrs.fields(Push)}


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["channel", "instId", "uid"]), st.text(max_size=8),
                    min_size=1),
    st.lists(json_values, max_size=3),
    st.one_of(st.none(), st.sampled_from(["snapshot", "update"]), st.integers(0, 9)),
    st.dictionaries(st.sampled_from(["eventType", "curPage", "lastPage"]), json_values,
                    max_size=2),
)
def test_decoded_push_is_the_push_the_constructor_builds(
    arg: dict[str, str], data: list[object], action: object, extra: dict[str, object]
) -> None:
    # The decoder builds pushes without attrs' __init__: the same class, the
    # same value in every field, still frozen.
    frame: dict[str, object] = {"arg": arg, "data": data, **extra}
    if action is not None:
        frame["action"] = action
    ev = proto.decode_frame(orjson.dumps(frame))
    assert type(ev) is Push
    expected = Push(arg, data, action if isinstance(action, str) else None, extra or None)
    assert _fields(ev) == _fields(expected)
    assert ev == expected
    assert repr(ev) == repr(expected)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ev.data = []  # type: ignore[misc]


def test_new_push_sets_every_field_of_push() -> None:
    # A field added to Push must be set by new_push too (else reading it fails).
    built = new_push({"channel": "books"}, [1], "update", {"curPage": 1})
    assert _fields(built) == _fields(Push({"channel": "books"}, [1], "update", {"curPage": 1}))
    assert _fields(new_push({}, [])) == _fields(Push({}, []))
