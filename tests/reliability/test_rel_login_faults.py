"""Login faults and refused connections.

* A wrong key, secret (bad sign) or passphrase is answered by the exchange with
  its fatal code: every waiter gets ``OkxAuthError`` at once and the client
  never reconnects (the connection attempts are counted).
* An expired login timestamp (the exchange's clock far ahead): the client
  re-measures the clock once over REST; if that fixes it the login succeeds,
  else ``OkxAuthError`` after exactly two logins. These run over real loopback
  sockets (the REST time request cannot run on virtual time), with deadlines
  checked to within 1 s.
* The exchange refusing connections for a while: the reconnect attempts follow
  the backoff schedule exactly (virtual time, the random source pinned to the
  top of each range, OKX's 3 connections per second pacing), then recover.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import attrs
import orjson
import pytest
import trio
import trio.lowlevel
import trio.testing
from support.reliability import MaxRandom, RecordingConnector, sizes

from okx_trio import (
    OkxAuthError,
    OkxConnectionLost,
    OkxError,
    OkxNotSent,
    OkxRequestError,
    WsApiClient,
    open_ws_api_client,
    open_ws_client,
)
from okx_trio._pacing import CONNECT_SPAN
from okx_trio._transport import MemoryConnector, MemoryTransport, TransportClosed
from okx_trio.testing import DEFAULT_CREDENTIALS as CREDS, Simulator, open_simulator

ORDER = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "limit",
         "px": "30000", "sz": "0.001"}
SPREAD = {"sprdId": "BTC-USDT_BTC-USDT-SWAP", "side": "buy", "ordType": "limit",
          "px": "10", "sz": "0.01"}

WRONG = {
    "wrong key": (attrs.evolve(CREDS, api_key="no-such-key-0001"), "60032"),
    "wrong secret (sign)": (attrs.evolve(CREDS, secret_key="NOT-THE-SECRET-0123456789"), "60007"),
    "wrong passphrase": (attrs.evolve(CREDS, passphrase="Not-The-Pass"), "60024"),
}


async def waiters(api: WsApiClient) -> list[tuple[str, float, Any]]:
    """Start every kind of waiter at once; return (name, end time, outcome) for each."""
    ws = api.ws_client
    out: list[tuple[str, float, Any]] = []

    async def run(name: str, fn: Any) -> None:
        try:
            result = await fn()
        except OkxError as exc:
            result = exc
        out.append((name, trio.current_time(), result))

    async def subscribe() -> None:
        async with ws.subscribe({"channel": "orders", "instType": "ANY"}):
            pass

    async with trio.open_nursery() as nursery:
        for i in range(3):
            nursery.start_soon(run, f"order {i}", lambda: api.submit_new_order(ORDER))
        nursery.start_soon(run, "spread order", lambda: api.submit_spread_order(SPREAD))
        nursery.start_soon(run, "subscribe orders", subscribe)
        nursery.start_soon(run, "connect_ws_api", api.connect_ws_api)
        nursery.start_soon(run, "raw request", lambda: ws.request("cancel-order", [
            {"instIdCode": 100001, "ordId": "1"}]))
    return out


@pytest.mark.parametrize("case", sorted(WRONG))
async def test_wrong_credentials_fail_every_waiter_at_once_without_reconnecting(
    case: str, autojump_clock: trio.testing.MockClock, sim: Simulator
) -> None:
    creds, code = WRONG[case]
    with trio.fail_after(300):
        connector = RecordingConnector(sim.connect_memory(), keep_frames=False)
        async with open_ws_api_client(
            credentials=creds, base_url=sim.base_url, transport=connector,
            rate_limit=False, log_lifecycle=False,
        ) as api:
            t0 = trio.current_time()
            results = await waiters(api)
            assert len(results) == 7
            for name, end, result in results:
                assert isinstance(result, OkxAuthError), (name, result)
                assert result.code == code, name
                # Promptly: on the exchange's answer, not after a deadline.
                assert end - t0 < 0.001, name
            # No reconnect loop: one connection per path, one login each, for good.
            await trio.sleep(120)
            assert sorted(p for _, p in connector.attempts) == ["business", "private"]
            assert len(sim.frames.ops("login")) == 2
            with pytest.raises(OkxAuthError):
                await api.submit_new_order(ORDER)
            assert len(connector.attempts) == 2
            assert not any(c.api_key for c in sim.connections)


async def expired_login(sim: Simulator, first: str, **options: Any) -> tuple[Any, float, int]:
    """With the exchange's clock 10 minutes ahead, wait for the private login
    (``first="subscribe"``: an ``orders`` subscription, which carries no
    ``expTime``) or place an order at once (``first="order"``); then place an
    order. Returns (ack or error, elapsed seconds, the client's time offset)."""
    sim.clock_offset_ms = 600_000
    async with open_ws_api_client(credentials=CREDS, base_url=sim.base_url, rate_limit=False,
                                  log_lifecycle=False, request_timeout=5.0, **options) as api:
        start = trio.current_time()
        try:
            if first == "subscribe":
                async with api.ws_client.subscribe({"channel": "orders", "instType": "ANY"}):
                    pass
            result: Any = await api.submit_new_order(ORDER)
        except OkxError as exc:
            result = exc
        return result, trio.current_time() - start, api.ws_client.time_offset_ms


def check_resynced(sim: Simulator, offset: int) -> None:
    assert abs(offset - 600_000) < 5_000
    logins = sim.frames.ops("login")
    assert len(logins) == 2
    ts = [int(f["args"][0]["timestamp"]) for f in logins]
    assert ts[1] - ts[0] == pytest.approx(600, abs=5)


async def test_expired_timestamp_resyncs_the_clock_once_and_logs_in(sim: Simulator) -> None:
    with trio.fail_after(20):
        result, elapsed, offset = await expired_login(sim, "subscribe")
        assert not isinstance(result, BaseException), result
        assert result.ok
        assert elapsed < 5.0 + 1.0
        check_resynced(sim, offset)


async def test_order_queued_across_the_clock_resync_is_placed(sim: Simulator) -> None:
    # sync_clock=False: otherwise the clock is read before the first order and
    # its login (tests/trade/test_trade_clock.py), and no login expires.
    with trio.fail_after(20):
        result, elapsed, offset = await expired_login(sim, "order", sync_clock=False)
        check_resynced(sim, offset)
        assert elapsed < 5.0 + 1.0
        assert not isinstance(result, BaseException), result


async def test_expired_timestamp_without_a_usable_clock_fails_every_waiter_after_one_resync(
    sim: Simulator,
) -> None:
    with trio.fail_after(20):
        sim.clock_offset_ms = 600_000
        # Nothing listens on port 1: the REST time request fails at once.
        async with open_ws_api_client(credentials=CREDS, base_url=sim.base_url,
                                      rate_limit=False, log_lifecycle=False,
                                      request_timeout=5.0,
                                      rest_url="http://127.0.0.1:1") as api:
            start = trio.current_time()
            results = await waiters(api)
            assert api.ws_client.time_offset_ms == 0
        for name, end, result in results:
            # The login's answer, not the deadline, ended each of them.
            assert isinstance(result, OkxAuthError), (name, result)
            assert result.code == "60006", name
            assert end - start < 5.0 + 1.0, name
        await trio.sleep(0.5)  # a retry would come within 0.1 s; none does
        # Per connection kind: the first login, one clock re-sync, one more login.
        logins = [r for r in sim.frames if r.op == "login"]
        assert sorted(r.path for r in logins) == ["business", "business", "private",
                                                  "private"]
        assert len({r.conn_id for r in sim.frames}) == 4


def backoff_schedule(start: float, initial: float, cap: float, open_at: float, *,
                     after_loss: bool, history: list[float], pace: int = 3) -> list[float]:
    """Attempt times of a session while connections are refused until ``open_at``.

    The session starts connecting at ``start`` (a first open: at once; after a
    loss: one backoff later). Retry k waits ``min(cap, initial * 2**(k-1))``
    (the random source at the top of the range) after the attempt before, and
    no attempt comes within ``CONNECT_SPAN`` of the ``pace``-th latest one (OKX's 3
    connections per second, with the client's margin); ``history`` holds the
    earlier attempts.
    """
    times = list(history)
    retry = 1 if after_loss else 0
    t = start + (min(cap, initial) if after_loss else 0.0)
    while True:
        if len(times) >= pace and t < times[-pace] + CONNECT_SPAN:
            t = times[-pace] + CONNECT_SPAN
        times.append(t)
        if t >= open_at - 1e-9:
            return times[len(history):]
        retry += 1
        t += min(cap, initial * 2 ** (retry - 1))


@attrs.frozen
class RefusalSize:
    windows: int
    max_window: float


@pytest.mark.parametrize(("initial", "cap"), [(0.1, 30.0), (0.5, 4.0)])
@sizes(RefusalSize(2, 200.0), RefusalSize(40, 300.0))
async def test_refused_connections_follow_the_backoff_schedule_then_recover(
    initial: float, cap: float, size: RefusalSize, autojump_clock: trio.testing.MockClock
) -> None:
    rng = random.Random(7)
    with trio.fail_after(size.windows * (size.max_window + 100) + 100):
        async with open_simulator(accounts=[CREDS], market_interval=None,
                                  rate_limit=False) as sim:
            connector = RecordingConnector(sim.connect_memory(), keep_frames=False)
            async with open_ws_api_client(
                credentials=CREDS, base_url=sim.base_url, transport=connector,
                rate_limit=False, log_lifecycle=False, random=MaxRandom(),
                reconnect_initial=initial, reconnect_max=cap,
            ) as api:
                for window in range(size.windows):
                    seconds = rng.uniform(1.0, size.max_window) if window else size.max_window
                    sim.faults.refuse_connections(seconds=seconds)
                    start = trio.current_time()
                    before = len(connector.attempts)
                    if window:
                        # A live connection is lost while the exchange refuses new ones.
                        assert sim.faults.drop("private", mode=rng.choice(["close", "reset"]))
                        while api.ws_client.statistics().connected:
                            await trio.lowlevel.checkpoint()
                        assert trio.current_time() == start
                    # A request queued meanwhile is sent once a connection is back.
                    ack = await api.submit_new_order(ORDER, timeout=math.inf)
                    assert ack.ok
                    times = [t for t, _ in connector.attempts[before:]]
                    expected = backoff_schedule(
                        start, initial, cap, start + seconds, after_loss=window > 0,
                        history=[t for t, _ in connector.attempts[:before]])
                    assert times == pytest.approx(expected, abs=1e-6)
                    assert max(b - a for a, b in itertools.pairwise(times)) <= cap + 1e-6
                    stats = api.ws_client.statistics()
                    assert stats.connected == ("private",)
                    assert stats.reconnects == {"private": window}
            assert len(sim.orders) == size.windows


async def close_right_after_login(path: str, transport: MemoryTransport) -> None:
    """A server that acknowledges the login, then closes the connection at once."""
    try:
        while True:
            data = await transport.receive()
            if data == b"ping":
                await transport.send(b"pong")
                continue
            if orjson.loads(data).get("op") == "login":
                await transport.send(orjson.dumps(
                    {"event": "login", "code": "0", "msg": "", "connId": "bye00001"}))
                await transport.aclose(1001, "going away")
                return
    except TransportClosed:
        pass


async def request_through(connector: MemoryConnector) -> BaseException | None:
    async with open_ws_client(credentials=CREDS, base_url="ws://127.0.0.1:9",
                              transport=connector, rate_limit=False,
                              log_lifecycle=False) as client:
        try:
            await client.request("order", [ORDER], timeout=10)
        except OkxRequestError as exc:
            return exc
    return None


async def test_connection_closed_right_after_the_login_ack_is_just_a_lost_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with trio.open_nursery() as server:
            connector = RecordingConnector(MemoryConnector(close_right_after_login, server),
                                           keep_frames=False)
            start = trio.current_time()
            result = await request_through(connector)
            # The request was never answered: it ends at its deadline as not sent
            # (or lost, had it been written), and the client kept reconnecting.
            assert isinstance(result, (OkxNotSent, OkxConnectionLost)), result
            assert trio.current_time() - start == pytest.approx(10)
            assert len(connector.attempts) > 3
            server.cancel_scope.cancel()


@pytest.mark.parametrize("transport", [
    "websockets",
    "trio-websocket",
])
async def test_refused_upgrade_over_sockets_is_retried(transport: str, sim: Simulator) -> None:
    with trio.fail_after(20):
        # HTTP 503 on the WebSocket upgrade, twice: the third attempt is let in.
        sim.faults.refuse_connections(count=2)
        async with open_ws_client(credentials=CREDS, base_url=sim.base_url,
                                  transport=transport, rate_limit=False,
                                  log_lifecycle=False) as client:
            start = trio.current_time()
            response = await client.request("order", [ORDER], timeout=5.0)
            assert response.code == "0"
            assert trio.current_time() - start < 5.0 + 1.0
        assert len(sim.frames.ops("login")) == 1
