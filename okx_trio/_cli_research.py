"""``okx-trio record`` and ``okx-trio replay``: the research commands of the CLI.

Like the rest of the command line, an application on the public API
(``okx_trio``, ``okx_trio.testing``, ``okx_trio.replay``): output for the user
goes to stdout as ``key=value`` lines, one-line errors to stderr; Ctrl-C stops
cleanly and exits 130 with one line, SIGTERM stops cleanly and exits 0.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import math
import signal
import sys
from pathlib import Path
from typing import Any

import attrs
import trio
import trio.testing

import okx_trio

EXIT_ERROR = 1
EXIT_INTERRUPTED = 128 + signal.SIGINT


def add_record_parser(sub: Any, help_text: str) -> None:
    """The ``record`` command's arguments."""
    rec = sub.add_parser(
        "record",
        help=help_text,
        description=(
            "Record public channels of OKX (or of any base URL, e.g. a running okx-trio "
            "simulator) to a gzip-compressed JSON-lines file: a header, then every push with "
            "its receive time, and a gap record wherever pushes may be missing. The file stays "
            "readable however the recorder stops. Runs until Ctrl-C (exit status 130), "
            "SIGTERM or --duration (exit status 0)."
        ),
    )
    rec.add_argument(
        "--channel", action="append", required=True, metavar="CHANNEL:INSTID",
        help="a channel to record, e.g. books:BTC-USDT, trades:BTC-USDT, tickers:BTC-USDT "
        "(repeat it; a JSON arg such as '{\"channel\":\"instruments\",\"instType\":\"SPOT\"}' "
        "works too)",
    )
    rec.add_argument("--out", required=True, metavar="FILE",
                     help="the recording to write (.jsonl.gz); rotated parts are numbered "
                     "from it (FILE.0001.jsonl.gz...)")
    rec.add_argument("--base-url", help="WebSocket base URL (default: OKX production)")
    rec.add_argument("--rest-url", help="REST base URL for instrument definitions "
                     "(default: from --base-url, else OKX)")
    rec.add_argument("--rotate-mb", type=_positive, metavar="MB",
                     help="start a new file past this many compressed megabytes")
    rec.add_argument("--rotate-minutes", type=_positive, metavar="MIN",
                     help="start a new file every MIN minutes")
    rec.add_argument("--duration", type=_positive, metavar="S",
                     help="stop after S seconds (default: until Ctrl-C or SIGTERM)")
    rec.add_argument("--progress", type=_positive, default=5.0, metavar="S",
                     help="seconds between progress lines (default: %(default)s)")
    rec.add_argument("--overwrite", action="store_true", help="replace an existing file")
    rec.add_argument("--no-instruments", action="store_true",
                     help="do not put the instruments' definitions in the header")
    rec.add_argument("--api-key", help="credentials, for books-l2-tbt and books50-l2-tbt")
    rec.add_argument("--secret-key")
    rec.add_argument("--passphrase")


def add_replay_parser(sub: Any, help_text: str) -> None:
    """The ``replay`` command's arguments."""
    rep = sub.add_parser(
        "replay",
        help=help_text,
        description=(
            "Run a bot on a recording: the simulator replays the recording (recorded "
            "liquidity, recorded trades, the queue model of the research guide) and the bot, "
            "an async function of a logged-in okx_trio.WsApiClient, trades on it. By default "
            "in virtual time (hours of market in seconds, the same fills every run). Prints a "
            "summary: fills, PnL, order answer latencies."
        ),
    )
    rep.add_argument("recording", nargs="+", metavar="FILE",
                     help="the recording (its rotated parts, or their directory)")
    rep.add_argument("--bot", required=True, metavar="MODULE:FUNCTION",
                     help="the bot, e.g. mybot:run or path/to/mybot.py:run "
                     "(async def run(api: okx_trio.WsApiClient) -> None)")
    rep.add_argument("--seed", type=int, default=0, help="the simulator's seed (default: 0)")
    rep.add_argument("--latency", type=_non_negative, default=0.0, metavar="S",
                     help="seconds each frame takes between the bot and the exchange, each way "
                     "(default: 0)")
    rep.add_argument("--depth", type=int, default=1, metavar="N",
                     help="book levels a side in the written book samples (default: 1)")
    rep.add_argument("--out", metavar="FILE.jsonl",
                     help="write the fills and book samples as JSON lines")
    rep.add_argument("--plot", metavar="FILE.png",
                     help="draw the price, the fills and the equity curve (needs the plot "
                     "extra: pip install 'okx-trio[plot]')")
    rep.add_argument("--real-time", action="store_true",
                     help="run on the real clock at the recorded pace (default: virtual time)")
    rep.add_argument("--speed", type=_positive, default=1.0, metavar="N",
                     help="with --real-time: N times the recorded pace (default: 1)")


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a number >= 0: {text!r}")
    return value


def load_bot(spec: str) -> Any:
    """The function named by ``module:function`` or ``path/to/file.py:function``.

    Raises:
        ValueError: not ``X:Y``, or the object is not callable.
        ImportError, AttributeError: the module or function does not exist.
    """
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise ValueError(f"--bot {spec!r}: expected MODULE:FUNCTION")
    if target.endswith(".py"):
        path = Path(target)
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None or not path.exists():
            raise ImportError(f"--bot: no file {target}")
        sys.path.insert(0, str(path.parent.resolve()))
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        sys.path.insert(0, str(Path.cwd()))
        module = importlib.import_module(target)
    bot = getattr(module, name)
    if not callable(bot):
        raise ValueError(f"--bot {spec!r} is not a function")
    return bot


def run_replay_command(args: argparse.Namespace, interrupted: Any) -> int:
    """``okx-trio replay``: returns the exit status."""
    from okx_trio.replay import run_replay

    try:
        recording = okx_trio.read_recording(
            args.recording[0] if len(args.recording) == 1 else args.recording)
        bot = load_bot(args.bot)
    except (OSError, ValueError, ImportError, AttributeError) as exc:
        print(f"okx-trio replay: {exc}", file=sys.stderr)
        return EXIT_ERROR
    clock = None if args.real_time else trio.testing.MockClock(autojump_threshold=0)
    try:
        result = trio.run(
            functools.partial(run_replay, recording, bot, seed=args.seed, latency=args.latency,
                              speed=args.speed if args.real_time else 1.0,
                              book_depth=args.depth),
            clock=clock)
    except BaseException as exc:
        if interrupted(exc):
            print("interrupted", flush=True)
            return EXIT_INTERRUPTED
        raise
    print(result.summary())
    if args.out:
        print(f"out={result.write(args.out)}")
    if args.plot:
        try:
            print(f"plot={result.plot(args.plot)}")
        except ImportError as exc:
            print(f"okx-trio replay: {exc}", file=sys.stderr)
            return EXIT_ERROR
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


@attrs.define
class _Stop:
    """Why the recording stopped."""

    signum: int | None = None
    ready: bool = False


def run_record(args: argparse.Namespace, interrupted: Any) -> int:
    """``okx-trio record``: returns the exit status."""
    creds = None
    if args.api_key or args.secret_key or args.passphrase:
        try:
            creds = okx_trio.Credentials(args.api_key or "", args.secret_key or "",
                                         args.passphrase or "")
        except ValueError as exc:
            print(f"okx-trio record: {exc}", file=sys.stderr)
            return 2
    stop = _Stop()
    try:
        trio.run(_record, args, creds, stop)
    except BaseException as exc:
        if interrupted(exc):
            print("interrupted", flush=True)
            return EXIT_INTERRUPTED
        message = _record_error(exc)
        if message is None:
            raise
        print(f"okx-trio record: {message}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_INTERRUPTED if stop.signum == signal.SIGINT else 0


def _record_error(exc: BaseException) -> str | None:
    """One line for a failure that is the user's to fix, else ``None`` (a bug)."""
    if isinstance(exc, FileExistsError):
        return f"{exc.filename} exists (--overwrite replaces it)"
    if isinstance(exc, (OSError, ValueError, TypeError, okx_trio.OkxError)):
        return str(exc) or type(exc).__name__
    return None


def _progress_line(stats: okx_trio.RecorderStatistics) -> str:
    return (f"progress pushes={stats.pushes} gaps={stats.gaps} bytes={stats.bytes} "
            f"files={stats.files} elapsed={stats.elapsed:.0f}s")


async def _record(args: argparse.Namespace, creds: okx_trio.Credentials | None,
                  stop: _Stop) -> None:
    options: dict[str, Any] = {}
    if args.base_url:
        options["base_url"] = args.base_url
    if args.rest_url:
        options["rest_url"] = args.rest_url
    if creds is not None:
        options["credentials"] = creds
    tty = sys.stdout.isatty()
    async with okx_trio.record(
        args.out, args.channel,
        rotate_bytes=None if args.rotate_mb is None else int(args.rotate_mb * 1_000_000),
        rotate_seconds=None if args.rotate_minutes is None else args.rotate_minutes * 60,
        instruments=not args.no_instruments, overwrite=args.overwrite, **options,
    ) as recorder:
        # Signals are caught only while recording: a Ctrl-C while subscribing is
        # a plain KeyboardInterrupt (one line, 130) and the file keeps its end record.
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            print(f"recording file={recorder.files[0]}")
            for arg in recorder.channels:
                print(f"channel={_arg_text(arg)}")
            for problem in recorder.problems:
                print(f"warning={problem}")
            print("ready", flush=True)
            stop.ready = True
            with trio.move_on_after(args.duration or math.inf):
                async with trio.open_nursery() as nursery:

                    async def progress() -> None:
                        while True:
                            await trio.sleep(args.progress)
                            line = _progress_line(recorder.statistics())
                            if tty:
                                sys.stdout.write("\r" + line)
                            else:
                                print(line)
                            sys.stdout.flush()

                    nursery.start_soon(progress)
                    async for signum in signals:
                        stop.signum = signum
                        break
                    nursery.cancel_scope.cancel()
            if tty:
                sys.stdout.write("\n")
            if stop.signum is not None:
                print(f"stopping ({signal.Signals(stop.signum).name})")
    stats = recorder.statistics()
    print(f"pushes={stats.pushes}")
    print(f"gaps={stats.gaps}")
    print(f"bytes={stats.bytes}")
    for path in recorder.files:
        print(f"file={path}")
    print("done", flush=True)


def _arg_text(arg: Any) -> str:
    if set(arg) <= {"channel", "instId"} and "instId" in arg:
        return f"{arg['channel']}:{arg['instId']}"
    return ",".join(f"{k}={v}" for k, v in arg.items())
