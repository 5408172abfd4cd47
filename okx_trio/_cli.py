"""The ``okx-trio`` command line (also ``python -m okx_trio``).

``okx-trio simulator`` serves the local OKX v5 exchange until Ctrl-C or
SIGTERM; ``okx-trio demo`` runs a sample trading session against an embedded
simulator. Output meant for the user goes to stdout with ``print`` (never the
logging system), one ``key=value`` per line so scripts can read it too.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Sequence

import trio

from ._models import Credentials

DEFAULT_API_KEY = "sim-api-key-0001"
DEFAULT_SECRET_KEY = "SIMSECRET0123456789ABCDEF0123456"
DEFAULT_PASSPHRASE = "Sim-Pass-1"


def _positive_or_zero(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``okx-trio``."""
    parser = argparse.ArgumentParser(
        prog="okx-trio",
        description="okx_trio command line: a local OKX v5 exchange simulator and a demo.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    sim = sub.add_parser(
        "simulator",
        help="serve a local, protocol-faithful OKX v5 exchange (WebSocket + REST)",
        description=(
            "Serve a local OKX v5 exchange on one port: WebSocket paths /ws/v5/public, "
            "/ws/v5/private, /ws/v5/business and the REST endpoints /api/v5/public/time, "
            "/api/v5/public/instruments, /api/v5/market/books, /api/v5/trade/order, "
            "/api/v5/sprd/order, /api/v5/trade/orders-pending. Any OKX client works "
            "unchanged when pointed at the printed URLs. Runs until Ctrl-C or SIGTERM."
        ),
    )
    sim.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    sim.add_argument(
        "--port", type=_port, default=8765,
        help="TCP port (default: %(default)s; 0 picks a free port and prints it)",
    )
    sim.add_argument("--api-key", default=DEFAULT_API_KEY, help="API key of the account")
    sim.add_argument("--secret-key", default=DEFAULT_SECRET_KEY, help="secret key of the account")
    sim.add_argument("--passphrase", default=DEFAULT_PASSPHRASE, help="passphrase of the account")
    sim.add_argument("--seed", type=int, default=0, help="seed of the market random walk")
    sim.add_argument(
        "--tls", action="store_true",
        help="serve wss:// and https:// with a certificate from a CA generated at start "
        "(its file is printed; set SSL_CERT_FILE / NODE_EXTRA_CA_CERTS to it)",
    )
    sim.add_argument(
        "--no-rate-limit", action="store_true",
        help="do not enforce OKX's per-op rate limits (for benchmarks)",
    )
    sim.add_argument(
        "--rate-limit-shape", choices=("top-level", "item"), default="top-level",
        help="how a rate-limited request is answered: top-level code 50011 or per-item sCode",
    )
    sim.add_argument(
        "--checksum", action="store_true",
        help="send real CRC32 order-book checksums (default 0, as OKX does since 2026)",
    )
    sim.add_argument(
        "--strict-inst-id-code", action="store_true",
        help="reject order ops that give instId without instIdCode (50014)",
    )
    sim.add_argument(
        "--market-interval", type=_positive_or_zero, default=0.1,
        help="seconds between market steps (default: %(default)s; 0 disables the market)",
    )
    sim.add_argument(
        "--idle-timeout", type=_positive_or_zero, default=30.0,
        help="close connections idle this long with 4004 (default: %(default)s; 0 disables)",
    )
    sim.add_argument("-v", "--verbose", action="store_true", help="log the simulator's activity")

    demo = sub.add_parser(
        "demo",
        help="run a sample trading session against an embedded simulator (no account needed)",
        description="Run a sample trading session against an embedded simulator.",
    )
    demo.add_argument("demo_args", nargs=argparse.REMAINDER, help="arguments for the demo")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``okx-trio``; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:
        # Everything after "demo" (also --help) belongs to the demo's own parser.
        return _run_demo(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "simulator":
        return _run_simulator(args)
    return _run_demo(list(args.demo_args))


def _run_demo(argv: list[str]) -> int:
    try:
        demo = importlib.import_module("okx_trio._demo")
    except ModuleNotFoundError as exc:
        if exc.name != "okx_trio._demo":
            raise
        print("okx-trio demo is not available in this version (okx_trio._demo is missing).",
              file=sys.stderr)
        return 1
    result = demo.main(argv)
    return int(result or 0)


def _run_simulator(args: argparse.Namespace) -> int:
    try:
        creds = Credentials(args.api_key, args.secret_key, args.passphrase)
    except ValueError as exc:
        print(f"okx-trio simulator: {exc}", file=sys.stderr)
        return 2
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        trio.run(_serve, args, creds)
    except OSError as exc:
        print(f"okx-trio simulator: cannot serve on {args.host}:{args.port}: {exc}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # A second Ctrl-C during shutdown.
        pass
    return 0


async def _serve(args: argparse.Namespace, creds: Credentials) -> None:
    from .testing import open_simulator

    market = args.market_interval or None
    idle = args.idle_timeout or None
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with open_simulator(
            [creds],
            host=args.host,
            port=args.port,
            seed=args.seed,
            tls=args.tls,
            rate_limit=not args.no_rate_limit,
            rate_limit_shape=args.rate_limit_shape,
            checksum=args.checksum,
            strict_inst_id_code=args.strict_inst_id_code,
            market_interval=market,
            idle_timeout=idle,
            # Nobody can inspect the frame log of a CLI run: keep it small.
            frame_log_size=1000,
        ) as sim:
            print("okx-trio simulator: a local OKX v5 exchange. Press Ctrl-C to stop.")
            print(f"base_url={sim.base_url}")
            print(f"ws_public={sim.base_url}/ws/v5/public")
            print(f"ws_private={sim.base_url}/ws/v5/private")
            print(f"ws_business={sim.base_url}/ws/v5/business")
            print(f"rest_url={sim.rest_url}")
            print(f"port={sim.port}")
            print(f"api_key={creds.api_key}")
            print(f"secret_key={creds.secret_key}")
            print(f"passphrase={creds.passphrase}")
            if sim.ca_file is not None:
                print(f"ca_file={sim.ca_file}")
                print(f"export SSL_CERT_FILE={sim.ca_file}")
                print(f"export NODE_EXTRA_CA_CERTS={sim.ca_file}")
            if args.no_rate_limit:
                print("rate_limit=off")
            print("ready")
            sys.stdout.flush()
            async for signum in signals:
                print(f"stopping ({signal.Signals(signum).name})")
                sys.stdout.flush()
                break
