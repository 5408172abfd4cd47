"""The ``okx-trio`` command line (also ``python -m okx_trio``).

``okx-trio simulator`` serves the local OKX v5 exchange until Ctrl-C or
SIGTERM; ``okx-trio demo`` runs a sample trading session against an embedded
simulator; ``okx-trio record`` records public channels to a file and ``okx-trio
replay`` runs a bot on one (their code is in ``_cli_research``). Output meant
for the user goes to stdout with ``print`` (never the logging system), one
``key=value`` per line so scripts can read it too; errors go to stderr as one
line.

Exit statuses: 0 done (also after SIGTERM), 1 an error told on one line (a
port that cannot be bound, a missing extra), 2 bad usage, 130 Ctrl-C.

This module is an application on the public API (``okx_trio`` and
``okx_trio.testing``), like the demo it starts.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import trio

import okx_trio
from okx_trio import Credentials

# The demo is an application beside this one (it too uses only the public
# API), loaded by name when asked for so the simulator starts without it.
DEMO_MODULE = "okx_trio._demo"
RESEARCH_MODULE = "okx_trio._cli_research"

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, what shells report for Ctrl-C

COMMANDS = (
    ("simulator", "serve a local, protocol-faithful OKX v5 exchange (WebSocket + REST)"),
    ("demo", "run a sample trading session against an embedded simulator (no account needed)"),
    ("record", "record public OKX channels to a file (for replay in the simulator)"),
    ("replay", "run a bot on a recording in the simulator and summarise what it did"),
)


def _positive_or_zero(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0: {text!r}")
    return value


def _speed(text: str) -> float | str:
    if text == "max":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'max': {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number or 'max': {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535: {text!r}")
    return value


def _vip_level(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a fee tier: {text!r}") from None
    if not 0 <= value <= 9:
        raise argparse.ArgumentTypeError(f"VIP level must be 0..9: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``okx-trio``."""
    parser = argparse.ArgumentParser(
        prog="okx-trio",
        description="okx_trio command line: a local OKX v5 exchange simulator and a demo.",
        epilog="'okx-trio COMMAND --help' shows a command's options. Exit status: 0 done, "
        "1 an error (told on one line), 2 bad usage, 130 interrupted (Ctrl-C).",
    )
    parser.add_argument(
        "-V", "--version", action="version", version=f"%(prog)s {okx_trio.__version__}"
    )
    # Not required: without a command main() lists the commands (argparse would
    # only say "the following arguments are required: COMMAND").
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    helps = dict(COMMANDS)

    sim = sub.add_parser(
        "simulator",
        help=helps["simulator"],
        description=(
            "Serve a local OKX v5 exchange on one port: WebSocket paths /ws/v5/public, "
            "/ws/v5/private, /ws/v5/business and the REST endpoints /api/v5/public/time, "
            "/api/v5/public/instruments, /api/v5/market/books, /api/v5/trade/order, "
            "/api/v5/sprd/order, /api/v5/trade/orders-pending. Any OKX client works "
            "unchanged when pointed at the printed URLs. Runs until Ctrl-C (exit status 130) "
            "or SIGTERM (exit status 0)."
        ),
    )
    sim.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    sim.add_argument(
        "--port", type=_port, default=8765,
        help="TCP port (default: %(default)s; 0 picks a free port and prints it)",
    )
    default = " (default: from okx_trio.testing.DEFAULT_CREDENTIALS, printed at start)"
    sim.add_argument("--api-key", help="API key of the account" + default)
    sim.add_argument("--secret-key", help="secret key of the account" + default)
    sim.add_argument("--passphrase", help="passphrase of the account" + default)
    sim.add_argument("--seed", type=int, default=0, help="seed of the market random walk")
    sim.add_argument(
        "--tls", action="store_true",
        help="serve wss:// and https:// with a certificate from a CA generated at start "
        "(its file is printed; set SSL_CERT_FILE / NODE_EXTRA_CA_CERTS to it); needs the "
        "tls extra: pip install 'okx-trio[tls]'",
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
        help="reject order ops that give instId without instIdCode (50014); the default, "
        "as on OKX since March 2026 (kept for old scripts)",
    )
    sim.add_argument(
        "--loose-inst-id-code", action="store_true",
        help="accept order ops that give instId without instIdCode, as OKX did before "
        "March 2026 (only for a client that cannot send instIdCode: OKX refuses it)",
    )
    sim.add_argument(
        "--vip-level", type=_vip_level, default=0,
        help="the account's fee tier (default: %(default)s); books-l2-tbt, books50-l2-tbt "
        "and fills need 4 or more (64003 below)",
    )
    sim.add_argument(
        "--portfolio-margin", action="store_true",
        help="the account is in Portfolio Margin mode (with --mmp: mass-cancel and MMP orders)",
    )
    sim.add_argument(
        "--mmp", action="store_true",
        help="the account has the MMP privilege (with --portfolio-margin)",
    )
    sim.add_argument(
        "--elp-names", action="store_true",
        help="accept the ELP names OKX retired after 2026-10-31 (books-elp, ordType elp, "
        "isElpTakerAccess) as the RPI ones",
    )
    sim.add_argument(
        "--no-book-snapshots", action="store_true",
        help="send no initial snapshot on books, books-l2-tbt and books50-l2-tbt, as OKX "
        "announced for 2026 (clients sync from GET /api/v5/market/books)",
    )
    sim.add_argument(
        "--book-keepalive", type=_positive_or_zero, default=60.0,
        help="seconds a subscribed book stays quiet before its keepalive push (default: "
        "%(default)s, OKX's 'around 60 seconds'; 0 disables)",
    )
    sim.add_argument(
        "--connect-limit", type=int, default=3, metavar="N",
        help="new WebSocket connections per IP and second, more get HTTP 429 (default: "
        "%(default)s, OKX's limit; 0 disables)",
    )
    sim.add_argument(
        "--market-interval", type=_positive_or_zero, default=0.1,
        help="seconds between market steps (default: %(default)s; 0 disables the market)",
    )
    sim.add_argument(
        "--idle-timeout", type=_positive_or_zero, default=30.0,
        help="close connections idle this long with 4004 (default: %(default)s; 0 disables)",
    )
    sim.add_argument(
        "--replay", action="append", metavar="FILE",
        help="replay a recording (okx-trio record) instead of the random walk: its "
        "instruments, public channels, liquidity and trades; repeat for rotated parts, or "
        "give their directory",
    )
    sim.add_argument(
        "--speed", type=_speed, default=1.0, metavar="N|max",
        help="replay at N times the recorded pace, or 'max': as fast as possible "
        "(default: %(default)s)",
    )
    sim.add_argument(
        "--replay-start", choices=("subscribe", "now"), default="subscribe",
        help="start the replay at the first subscription to a recorded channel (default) "
        "or at once",
    )
    sim.add_argument("-v", "--verbose", action="store_true", help="log the simulator's activity")

    demo = sub.add_parser(
        "demo",
        help=helps["demo"],
        description="Run a sample trading session against an embedded simulator.",
    )
    demo.add_argument("demo_args", nargs=argparse.REMAINDER, help="arguments for the demo")
    _research().add_record_parser(sub, helps["record"])
    _research().add_replay_parser(sub, helps["replay"])
    return parser


def _research() -> Any:
    """The record and replay commands (their own module, on the public API too)."""
    return importlib.import_module(RESEARCH_MODULE)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``okx-trio``; returns the process exit status.

    Bad usage (including no command at all) exits through ``SystemExit(2)``
    after saying what is wrong, as argparse does.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:
        # Everything after "demo" (also --help) belongs to the demo's own parser.
        return _run_demo(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        width = max(len(name) for name, _ in COMMANDS)
        listing = "".join(f"  {name:<{width}}  {text}\n" for name, text in COMMANDS)
        parser.exit(
            EXIT_USAGE,
            f"{parser.prog}: no command given; the commands are:\n{listing}"
            f"'{parser.prog} COMMAND --help' shows a command's options.\n",
        )
    if args.command == "simulator":
        return _run_simulator(args)
    if args.command == "record":
        return int(_research().run_record(args, _interrupted))
    if args.command == "replay":
        return int(_research().run_replay_command(args, _interrupted))
    return _run_demo(list(args.demo_args))


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    """Every exception in ``exc``'s tree that is not itself a group."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _interrupted(exc: BaseException) -> bool:
    """Whether Ctrl-C is anywhere in the tree: trio may deliver it inside a group."""
    return any(isinstance(leaf, KeyboardInterrupt) for leaf in _leaves(exc))


def _run_demo(argv: list[str]) -> int:
    try:
        demo = importlib.import_module(DEMO_MODULE)
        return int(demo.main(argv) or 0)
    except BaseException as exc:
        if not _interrupted(exc):
            raise
        if sys.stdout.isatty():
            # End the demo's progress line, redrawn in place on a terminal.
            sys.stdout.write("\n")
        print("interrupted", flush=True)
        return EXIT_INTERRUPTED


@attrs.define
class _Serving:
    """How far ``_serve`` got, for the exit status and the message."""

    ready: bool = False
    signum: int | None = None


def _run_simulator(args: argparse.Namespace) -> int:
    # Imported here: the demo and --help do not need the simulator loaded.
    from okx_trio.testing import DEFAULT_CREDENTIALS as DEFAULT

    if args.strict_inst_id_code and args.loose_inst_id_code:
        print("okx-trio simulator: --strict-inst-id-code and --loose-inst-id-code "
              "contradict each other", file=sys.stderr)
        return EXIT_USAGE
    try:
        creds = Credentials(
            DEFAULT.api_key if args.api_key is None else args.api_key,
            DEFAULT.secret_key if args.secret_key is None else args.secret_key,
            DEFAULT.passphrase if args.passphrase is None else args.passphrase,
        )
    except ValueError as exc:
        print(f"okx-trio simulator: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.replay:
        try:
            # Read (the headers) now: a wrong file is one line, before any port is bound.
            args.replay = okx_trio.read_recording(
                args.replay[0] if len(args.replay) == 1 else args.replay)
        except (OSError, ValueError) as exc:
            print(f"okx-trio simulator: --replay: {exc}", file=sys.stderr)
            return EXIT_ERROR
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serving = _Serving()
    try:
        trio.run(_serve, args, creds, serving)
    except BaseException as exc:
        if _interrupted(exc):
            print("interrupted", flush=True)
            return EXIT_INTERRUPTED
        message = None if serving.ready else _startup_error(exc, args)
        if message is None:
            raise
        print(f"okx-trio simulator: {message}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_INTERRUPTED if serving.signum == signal.SIGINT else 0


def _startup_error(exc: BaseException, args: argparse.Namespace) -> str | None:
    """One line for a failure to start that is the user's to fix, else ``None``.

    The whole tree is searched (the listener is opened in the simulator's
    nursery, so a bind error comes inside a group); anything else in it is a
    bug and keeps its traceback.
    """
    leaves = list(_leaves(exc))
    if all(isinstance(leaf, ImportError) and leaf.name == "trustme" for leaf in leaves):
        # The simulator's own message names the extra to install.
        return str(leaves[0])
    if all(isinstance(leaf, OSError) for leaf in leaves):
        reasons = "; ".join(dict.fromkeys(str(leaf) for leaf in leaves))
        host = f"[{args.host}]" if ":" in args.host else args.host
        return f"cannot listen on {host}:{args.port}: {reasons}"
    return None


async def _serve(args: argparse.Namespace, creds: Credentials, serving: _Serving) -> None:
    from okx_trio.testing import SimAccount, open_simulator

    account = SimAccount(
        creds, vip_level=args.vip_level, portfolio_margin=args.portfolio_margin, mmp=args.mmp
    )
    market = args.market_interval or None
    idle = args.idle_timeout or None
    async with open_simulator(
        [account],
        host=args.host,
        port=args.port,
        seed=args.seed,
        tls=args.tls,
        rate_limit=not args.no_rate_limit,
        rate_limit_shape=args.rate_limit_shape,
        checksum=args.checksum,
        strict_inst_id_code=not args.loose_inst_id_code,
        elp_names=args.elp_names,
        book_snapshots=not args.no_book_snapshots,
        book_keepalive=args.book_keepalive or None,
        connect_limit=args.connect_limit if args.connect_limit > 0 else None,
        market_interval=market,
        idle_timeout=idle,
        # Nobody can inspect the frame log of a CLI run: keep it small.
        frame_log_size=1000,
        replay=args.replay,
        replay_speed=args.speed,
        replay_start=args.replay_start,
    ) as sim:
        # The signals are caught only while serving: a Ctrl-C while the
        # simulator starts or shuts down (a second one, say) is a plain
        # KeyboardInterrupt, which _run_simulator turns into one line.
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
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
            if args.loose_inst_id_code:
                print("inst_id_code=loose")
            if sim.replay is not None:
                print(f"replay={sim.replay.recording.paths[0]}")
                print(f"replay_speed={args.speed}")
                for arg in sim.replay.recording.header.channels:
                    print(f"replay_channel={','.join(f'{k}={v}' for k, v in arg.items())}")
                sim.replay.on_done(lambda: print("replay_done", flush=True))
            print("ready")
            sys.stdout.flush()
            serving.ready = True
            async for signum in signals:
                serving.signum = signum
                print(f"stopping ({signal.Signals(signum).name})")
                sys.stdout.flush()
                break
