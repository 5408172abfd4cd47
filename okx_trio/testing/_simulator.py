"""The Simulator object: one running local OKX exchange, and ``open_simulator``.

``Simulator`` is the composition root of ``okx_trio.testing``: it builds
the exchange engine (``._engine``), the faults, the frame log, the live
connections and their hub (``._hub``), the REST endpoints (``._rest``),
and hands each part the collaborators or callables it needs; no part holds the
simulator. ``open_simulator`` adds the port (``._http``), TLS, and the
market task.

One TCP port (``trio.serve_tcp``) answers WebSocket upgrades on
``/ws/v5/public``, ``/ws/v5/private`` and ``/ws/v5/business`` and plain HTTP
for the REST endpoints. In-memory connections from
``Simulator.connect_memory`` are served by the same connection code, so
client tests can run under ``trio.testing.MockClock``.

Every timer uses trio's clock. Exchange timestamps (``ts``, login and
``expTime`` checks) use the wall clock plus ``Simulator.clock_offset_ms``.
"""

from __future__ import annotations

import functools
import logging
import math
import random
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, nullcontext
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import trio

from .._models import Credentials
from .._recording_io import PathLike, Recording, read_recording
from .._transport import MemoryConnector, MemoryTransport
from ._accounts import SimAccount, as_account
from ._connect_limit import ConnectLimit
from ._connection import ConnectionServices, SimConnection
from ._emits import Emit
from ._engine import Exchange
from ._engine_model import InstrumentSpec, Order, default_instruments
from ._faults import Faults
from ._frames import FrameLog
from ._http import HttpServer, RestMemoryTransport, answer_rest
from ._hub import ConnectionHub, LiveConnections
from ._links import Link, MemoryLink
from ._replay import Replay, instrument_specs
from ._replay_market import ReplayMarket
from ._rest import RestApi
from ._rules import BOOK_KEEPALIVE_S, path_kind
from ._scheduling import seeded_scheduling
from ._trade_ops import RateLimitShape

log = logging.getLogger("okx_trio.simulator")

DEFAULT_CREDENTIALS = Credentials(
    api_key="sim-api-key-0001",
    secret_key="SIMSECRET0123456789ABCDEF0123456",
    passphrase="Sim-Pass-1",
)
"""The account the CLI and ``open_simulator`` use when none is given."""


class Orders:
    """The exchange's orders (``sim.orders``): iterable, with lookups."""

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange

    def all(self) -> list[Order]:
        """Every order ever accepted, oldest first."""
        return list(self._exchange.order_list())

    def __iter__(self) -> Iterator[Order]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self._exchange.order_list())

    def open(self) -> list[Order]:
        """Orders still ``live`` or ``partially_filled``."""
        return [o for o in self.all() if o.state in ("live", "partially_filled")]

    def find(
        self,
        api_key: str | None = None,
        *,
        ord_id: str | None = None,
        cl_ord_id: str | None = None,
    ) -> Order | None:
        """The order with ``ord_id`` or ``cl_ord_id`` (of ``api_key`` if given), or None."""
        if ord_id is None and cl_ord_id is None:
            raise ValueError("give ord_id or cl_ord_id")
        if api_key is not None:
            return self._exchange.find_order(api_key, ord_id=ord_id, cl_ord_id=cl_ord_id)
        for order in reversed(self.all()):
            if ord_id is not None and order.ord_id != ord_id:
                continue
            if cl_ord_id is not None and order.cl_ord_id != cl_ord_id:
                continue
            return order
        return None

    def __getitem__(self, ord_id: str) -> Order:
        order = self.find(ord_id=ord_id)
        if order is None:
            raise KeyError(ord_id)
        return order


class SimMemoryConnector(MemoryConnector):
    """The connector of ``Simulator.connect_memory``: in-memory WebSocket
    connections, plus ``rest_transport``, the same simulator's REST endpoints as
    an ``httpx`` transport (for a client's REST helper)."""

    rest_transport: httpx.AsyncBaseTransport


class Simulator:
    """A running local OKX v5 exchange (yielded by ``open_simulator``).

    Not constructed directly: use ``open_simulator``.

    Attributes:
        base_url: ``"ws://127.0.0.1:PORT"`` (``wss://`` with TLS); clients append
            ``/ws/v5/public``, ``/ws/v5/private``, ``/ws/v5/business``.
        rest_url: ``"http://127.0.0.1:PORT"`` (``https://`` with TLS).
        ca_file: the CA certificate (PEM) to trust with TLS, else ``None``.
        faults: fault injection (``Faults``).
        frames: every frame received (``FrameLog``).
        orders: the exchange's orders (``Orders``).
        engine: the matching engine (``okx_trio.testing._engine.Exchange``).
        accounts: the accounts (``SimAccount``).
        clock_offset_ms: added to the wall clock for every exchange timestamp,
            login-timestamp and ``expTime`` check; settable.
        conn_count_limit: connections per account that may subscribe to one
            counted private channel (``orders``, ``account``...; OKX: 30); more
            get ``channel-conn-count-error``. Settable.
        connect_limit: new WebSocket connections admitted per IP address in any
            second (OKX: 3), ``None`` for no limit. Settable.
        replay: the ``Replay`` of a recording when the simulator replays one
            (``open_simulator(replay=...)``), else ``None``.
    """

    def __init__(
        self,
        accounts: Sequence[SimAccount],
        *,
        instruments: Sequence[InstrumentSpec] | None,
        seed: int,
        checksum: bool,
        rate_limit: bool,
        rate_limit_shape: RateLimitShape,
        strict_inst_id_code: bool,
        idle_timeout: float | None,
        elp_names: bool = False,
        book_snapshots: bool = True,
        book_keepalive: float | None = BOOK_KEEPALIVE_S,
        connect_limit: int | None = None,
        frame_log_size: int | None = 100_000,
        replay: Replay | None = None,
    ) -> None:
        self.accounts = list(accounts)
        self.clock_offset_ms: int = 0
        self.replay: Replay | None = replay
        market: ReplayMarket | None = None
        engine_ms: Callable[[], int] = self._wall_now_ms
        if replay is not None:
            # The recording is the market; the engine's clock is the replay's.
            market = replay.market
            engine_ms = replay.now_ms
            book_keepalive = None  # the recording carries the exchange's own keepalives
        # Every part reads the exchange clock through self._now_ms at each call,
        # so replacing it (tests on virtual time do) moves the whole exchange.
        self.engine = Exchange(
            accounts,
            instruments=instruments,
            seed=seed,
            checksum=checksum,
            rate_limit=rate_limit,
            rate_limit_shape=rate_limit_shape,
            strict_inst_id_code=strict_inst_id_code,
            elp_names=elp_names,
            book_snapshots=book_snapshots,
            now_ms=engine_ms,
            market=market,
            request_ms=self._wall_now_ms if replay is not None else None,
        )
        self._connections = LiveConnections(random.Random(seed))
        self.faults = Faults(self._connections.matching, self.engine.reset_book_sequence)
        self.frames = FrameLog(frame_log_size)
        self.orders = Orders(self.engine)
        self._hub = ConnectionHub(
            self._connections, faults=self.faults, book_heartbeat=self.engine.book_heartbeat,
            book_keepalive=book_keepalive,
        )
        self._connect_limit: ConnectLimit | None = None
        self.connect_limit = connect_limit
        self._services = ConnectionServices(
            exchange=self.engine,
            faults=self.faults,
            frames=self.frames,
            host=self._hub,
            now_ms=lambda: self._now_ms(),
            now_us=lambda: self._now_us(),
            idle_timeout=idle_timeout,
        )
        self._rest = RestApi(
            self.engine.rest, lookup=self.engine.credentials, now_ms=lambda: self._now_ms(),
            account_key=self.engine.account_key,
            trade_op=self.engine.trade_op, set_leverage=self.engine.set_leverage,
            deliver=self._hub.deliver, rate_limit=rate_limit,
            view_ms=engine_ms if replay is not None else None,
        )
        self.base_url = ""
        self.rest_url = ""
        self.host = ""
        self.port = 0
        self.ca_file: str | None = None
        self._ca_pem: bytes | None = None
        self._nursery: trio.Nursery | None = None
        self._market_failures = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"<Simulator {self.base_url} connections={len(self._connections)}>"

    # -- public inspection ---------------------------------------------------------

    @property
    def conn_count_limit(self) -> int:
        """Connections per account and counted channel (see the class docstring)."""
        return self._hub.conn_count_limit

    @conn_count_limit.setter
    def conn_count_limit(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("conn_count_limit must be an int >= 0")
        self._hub.conn_count_limit = value

    @property
    def connect_limit(self) -> int | None:
        """New WebSocket connections per IP and second (see the class docstring)."""
        return None if self._connect_limit is None else self._connect_limit.limit

    @connect_limit.setter
    def connect_limit(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ValueError("connect_limit must be an int >= 1 or None")
        self._connect_limit = None if value is None else ConnectLimit(value)

    def _admit_connection(self, peer: str) -> bool:
        """Count a new WebSocket connection of ``peer``: False when over the limit."""
        limit = self._connect_limit
        return limit is None or limit.admit(peer, trio.current_time())

    @property
    def connections(self) -> list[SimConnection]:
        """The live connections."""
        return self._connections.all()

    def balances(self, api_key: str) -> dict[str, Decimal]:
        """The cash balance per currency of an account (``api_key``: any of its keys).

        Raises:
            KeyError: unknown API key.
        """
        account = self.engine.account(api_key)
        if account is None:
            raise KeyError(api_key)
        return dict(account.balances)

    def book(self, inst_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The exchange's own full book of ``inst_id``: ``(bids desc, asks asc)``."""
        return self.engine.book(inst_id)

    def client_ssl_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` that trusts the simulator's certificate (TLS only)."""
        if self._ca_pem is None:
            raise RuntimeError("the simulator runs without TLS (open_simulator(tls=True))")
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cadata=self._ca_pem.decode())
        return ctx

    def connect_memory(self) -> SimMemoryConnector:
        """A connector for the client's ``transport=`` option: in-memory connections
        served by this simulator (no sockets, so tests can use ``MockClock``).

        Pass ``base_url=sim.base_url`` too; only the URL's path is used. The
        connector's ``rest_transport`` serves the REST endpoints in memory too
        (see ``rest_transport``).
        """
        if self._nursery is None or self._closed:
            raise RuntimeError("the simulator is not running")
        connector = SimMemoryConnector(self._serve_memory, self._nursery)
        # In-memory connections all come from one "address".
        connector.refuse = lambda: (
            self.faults.take_refusal() or not self._admit_connection("memory")
        )
        connector.rest_transport = self.rest_transport()
        return connector

    def rest_transport(self) -> httpx.AsyncBaseTransport:
        """An ``httpx`` transport that serves this simulator's REST endpoints in-process.

        The requests go through the same handler as over a socket (signatures
        checked, same answers), with no socket and no timer, so it works under
        ``trio.testing.MockClock``. The URL's scheme and host are ignored::

            async with httpx.AsyncClient(base_url=sim.rest_url,
                                         transport=sim.rest_transport()) as http:
                await http.get("/api/v5/public/time")

        Requests after the simulator has stopped fail with ``httpx.ConnectError``.
        """
        return RestMemoryTransport(self._rest_reply, lambda: not self._closed)

    # -- the exchange clock ------------------------------------------------------------

    def _wall_now_ms(self) -> int:
        # Looked up at each call: tests on virtual time replace _now_ms.
        return self._now_ms()

    def _now_ms(self) -> int:
        return int(time.time() * 1000) + int(self.clock_offset_ms)

    def _now_us(self) -> int:
        return int(time.time() * 1_000_000) + int(self.clock_offset_ms) * 1000

    # -- serving -----------------------------------------------------------------------

    def _deliver(self, emits: Sequence[Emit]) -> None:
        """Send each emit to every matching subscription."""
        self._hub.deliver(emits)

    def _rest_reply(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        # self._rest.handle is looked up per request: tests wrap it to watch or
        # fail REST calls.
        return answer_rest(self._rest.handle, method, target, headers, body)

    async def _market_loop(self, interval: float) -> None:
        while True:
            await trio.sleep(interval)
            try:
                emits = self.engine.market_step()
            except Exception:
                self._market_failures += 1
                if self._market_failures == 1:
                    log.exception("simulator market step failed")
                continue
            self._hub.deliver(emits)

    async def _serve_link(self, link: Link, raw_path: str) -> None:
        kind = path_kind(raw_path)
        if kind is None:
            await link.close(1008, "404 Not Found")
            return
        conn = SimConnection(link, kind, raw_path, self._connections.new_id(), self._services)
        await conn.serve()

    async def _serve_memory(self, raw_path: str, transport: MemoryTransport) -> None:
        await self._serve_link(MemoryLink(transport), raw_path)


def _check_number(value: float | None, name: str, *, allow_none: bool = True) -> None:
    if value is None:
        if not allow_none:
            raise TypeError(f"{name} must be a number")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number or None")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number")


def _make_tls(tmpdir: str) -> tuple[ssl.SSLContext, str, bytes]:
    try:
        import trustme
    except ImportError as exc:
        # trustme (and the cryptography it brings) is the `tls` extra: nothing
        # else in okx_trio needs it. `name` lets the CLI tell this case apart.
        raise ImportError(
            "the simulator's TLS mode needs the tls extra: pip install 'okx-trio[tls]'",
            name="trustme",
        ) from exc

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    # HTTP/1.1 only: clients offering h2 (httpx with http2=True) fall back.
    ctx.set_alpn_protocols(["http/1.1"])
    ca_path = str(Path(tmpdir) / "okx-trio-simulator-ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    return ctx, ca_path, ca.cert_pem.bytes()


@asynccontextmanager
async def open_simulator(
    accounts: Sequence[Credentials | SimAccount] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    tls: bool = False,
    rate_limit: bool = True,
    rate_limit_shape: str = "top-level",
    checksum: bool = False,
    strict_inst_id_code: bool = True,
    elp_names: bool = False,
    book_snapshots: bool = True,
    book_keepalive: float | None = BOOK_KEEPALIVE_S,
    connect_limit: int | None = 3,
    idle_timeout: float | None = 30.0,
    market_interval: float | None = 0.1,
    instruments: Sequence[InstrumentSpec] | None = None,
    frame_log_size: int | None = 100_000,
    replay: PathLike | Sequence[PathLike] | Recording | None = None,
    replay_speed: float | str = 1.0,
    replay_start: str = "subscribe",
) -> AsyncIterator[Simulator]:
    """Run a local OKX v5 exchange for the duration of the block.

    Entering binds the port and starts the market task; leaving closes every
    connection (close code 1001) and stops everything the simulator started.

    Args:
        accounts: the accounts that can log in: ``Credentials`` (an account with
            the defaults of a new OKX account) or ``SimAccount`` (fee tier,
            margin mode, MMP privilege, more API keys); default: one,
            ``DEFAULT_CREDENTIALS``.
        host: address to listen on (an IP address; default loopback).
        port: TCP port (0: any free port, see ``Simulator.base_url``).
        seed: seed of the market's random walk and of connection ids; with
            ``replay``, also of trio's task scheduling while the simulator runs
            (tasks woken together run in an order drawn from it, so a replay
            repeats itself; trio's own state is restored at the end).
        tls: serve ``wss://``/``https://`` with a certificate for 127.0.0.1 and
            localhost from a CA generated now (``Simulator.ca_file``). Needs the
            ``tls`` extra (trustme); without it entering raises ``ImportError``.
        rate_limit: enforce OKX's per-op rate limits (50011).
        rate_limit_shape: ``"top-level"`` (request rejected whole, ``data: []``)
            or ``"item"`` (per-item ``sCode "50011"``); which one OKX's
            WebSocket gateway sends is unconfirmed, so clients should handle both.
        checksum: real CRC32 book checksums instead of 0.
        strict_inst_id_code: order, cancel and amend items without ``instIdCode``
            fail with 50014, as on OKX since March 2026. ``False`` ("loose")
            accepts ``instId`` alone, as OKX did before: only for a client that
            cannot send ``instIdCode`` (it would fail against OKX).
        elp_names: accept the ELP names OKX retired after 2026-10-31
            (``books-elp``, ``ordType: elp``, ``isElpTakerAccess``) as the RPI
            ones; by default they are refused (60018, 51000) or ignored. What
            OKX answers to them now is unconfirmed.
        book_snapshots: a fresh subscription to ``books``, ``books-l2-tbt`` or
            ``books50-l2-tbt`` gets an initial snapshot. OKX announced it would
            stop sending them (demo May 2026, production August 2026) but its
            channel page still describes them; ``False`` sends updates only, so
            a client must sync from ``GET /api/v5/market/books`` (whose ``seqId``
            continues the channels' sequence) as OKX's recipe says.
        book_keepalive: seconds a subscribed book channel stays quiet before its
            keepalive (an empty update with ``seqId == prevSeqId``; ``books5`` and
            ``bbo-tbt`` their snapshot again); OKX documents "around 60 seconds".
            ``None``: never. A client that never pings is still closed after
            ``idle_timeout`` (4004), as on OKX.
        connect_limit: new WebSocket connections per IP address in any second
            (OKX: 3); more are refused with HTTP 429 on the upgrade (in-memory
            connections: ``TransportConnectError``). What OKX answers is
            unconfirmed. ``None``: no limit (for tests that connect many
            clients at once; settable as ``Simulator.connect_limit``).
        idle_timeout: close connections that got nothing for this long (4004);
            ``None`` disables it.
        market_interval: seconds between market steps; ``None``: no market task.
        instruments: the instrument set (default: the engine's defaults).
        frame_log_size: how many received frames ``Simulator.frames`` keeps (the
            oldest are dropped); ``None``: unbounded.
        replay: a recording (a file, its parts, a directory, or an
            ``okx_trio.Recording``) whose market the simulator replays instead
            of its random walk: the recorded instruments, their recorded public
            channels (the only public market data served; others get 60018),
            recorded liquidity to trade against and recorded trades to fill
            resting orders (see the research guide for the queue model).
            ``market_interval`` and ``book_keepalive`` do not apply.
        replay_speed: the recorded pace times this (``1.0``: as recorded; under
            ``trio.testing.MockClock`` virtual time), or ``"max"``: as fast as
            the bots in this process keep up.
        replay_start: ``"subscribe"`` (default): when a client first subscribes
            to a recorded channel; ``"now"``; ``"manual"``: ``sim.replay.start()``.

    Yields:
        The running ``Simulator``.
    """
    if accounts is None:
        accounts = [DEFAULT_CREDENTIALS]
    sim_accounts = [as_account(a) for a in accounts]
    keys = [c.api_key for a in sim_accounts for c in a.keys]
    if len(set(keys)) != len(keys):
        raise ValueError("accounts must have distinct api keys")
    if not isinstance(host, str) or not host:
        raise ValueError("host must be a non-empty string")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError("port must be an int in 0..65535")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError("seed must be an int")
    if rate_limit_shape not in ("top-level", "item"):
        raise ValueError("rate_limit_shape must be 'top-level' or 'item'")
    _check_number(idle_timeout, "idle_timeout")
    _check_number(book_keepalive, "book_keepalive")
    _check_number(market_interval, "market_interval")
    if frame_log_size is not None and (
        isinstance(frame_log_size, bool) or not isinstance(frame_log_size, int)
        or frame_log_size < 0
    ):
        raise ValueError("frame_log_size must be an int >= 0 or None")
    replay_control: Replay | None = None
    if replay is not None:
        recording = replay if isinstance(replay, Recording) else read_recording(replay)
        speed: float | None = None
        if isinstance(replay_speed, str):
            if replay_speed != "max":
                raise ValueError(f"replay_speed must be a number or 'max', got {replay_speed!r}")
        else:
            _check_number(replay_speed, "replay_speed", allow_none=False)
            speed = float(replay_speed)
        replay_control = Replay(recording, speed=speed, start=replay_start,
                                book_snapshots=book_snapshots)
        instruments = instrument_specs(
            recording, default_instruments() if instruments is None else instruments)

    sim = Simulator(
        sim_accounts,
        instruments=instruments,
        seed=seed,
        checksum=checksum,
        rate_limit=rate_limit,
        rate_limit_shape=rate_limit_shape,  # type: ignore[arg-type]
        strict_inst_id_code=strict_inst_id_code,
        idle_timeout=idle_timeout,
        elp_names=elp_names,
        book_snapshots=book_snapshots,
        book_keepalive=book_keepalive,
        connect_limit=connect_limit,
        frame_log_size=frame_log_size,
        replay=replay_control,
    )

    # A replay repeats itself only if tasks woken together run in the same order
    # every time: trio's scheduler is seeded for as long as the simulator runs.
    scheduling = seeded_scheduling(seed) if replay_control is not None else nullcontext()
    with scheduling, tempfile.TemporaryDirectory(prefix="okx-trio-sim-") as tmpdir:
        server_ssl: ssl.SSLContext | None = None
        if tls:
            server_ssl, sim.ca_file, sim._ca_pem = _make_tls(tmpdir)
        http = HttpServer(
            reply=sim._rest_reply,
            serve_link=sim._serve_link,
            refuse=sim.faults.take_refusal,
            ssl_context=server_ssl,
            admit=sim._admit_connection,
        )
        # The user's exception (or cancellation) from the block is re-raised
        # as is after the nursery has shut down, never wrapped in a group.
        body_exc: BaseException | None = None
        async with trio.open_nursery() as nursery:
            sim._nursery = nursery
            listeners = await nursery.start(
                functools.partial(trio.serve_tcp, http.handle_tcp, port, host=host)
            )
            sockname = listeners[0].socket.getsockname()
            sim.host, sim.port = host, int(sockname[1])
            url_host = f"[{host}]" if ":" in host else host
            sim.base_url = f"{'wss' if tls else 'ws'}://{url_host}:{sim.port}"
            sim.rest_url = f"{'https' if tls else 'http'}://{url_host}:{sim.port}"
            if replay_control is not None:
                nursery.start_soon(replay_control.run, sim.engine.market_event,
                                   sim._hub.deliver)
            elif market_interval is not None:
                nursery.start_soon(sim._market_loop, market_interval)
            nursery.start_soon(sim._hub.run_keepalive)
            try:
                yield sim
            except GeneratorExit:
                raise
            except BaseException as exc:
                body_exc = exc
            finally:
                sim._closed = True
                nursery.cancel_scope.cancel()
        if body_exc is not None:
            raise body_exc
