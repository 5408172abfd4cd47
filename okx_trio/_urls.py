"""URL selection: the WebSocket and REST URLs a client uses, from its options.

``check_base_url`` and ``check_rest_url`` are the rules the options
are held to when a client opens, so a mistyped URL fails there, with a message
saying what is wrong, instead of at the first order.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from ._okx import PATHS, REST_HOSTS, WS_HOSTS, WS_PORT

__all__ = ["check_base_url", "check_rest_url", "rest_base_url", "target_of", "ws_url"]


def _split(name: str, url: object, schemes: tuple[str, str], other: str) -> SplitResult:
    """``url`` split, with scheme, host and port checked (``other``: the option
    that takes the other pair of schemes)."""
    if not isinstance(url, str):
        raise TypeError(f"{name} must be a str such as '{schemes[0]}://127.0.0.1:8765', "
                        f"not {type(url).__name__}")
    parts = urlsplit(url.strip())
    if parts.scheme not in schemes:
        hint = ""
        if parts.scheme in ("ws", "wss", "http", "https"):
            hint = f" ({parts.scheme}:// URLs go in {other})"
        elif not parts.scheme or "//" not in url:
            hint = f" (like '{schemes[0]}://127.0.0.1:8765')"
        raise ValueError(f"{name} must start with {schemes[0]}:// or {schemes[1]}://{hint}, "
                         f"got {url!r}")
    if not parts.hostname:
        raise ValueError(f"{name} has no host: {url!r}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{name} has an invalid port (1-65535): {url!r}")
    if parts.fragment:
        raise ValueError(f"{name} must not have a #fragment: {url!r}")
    return parts


def check_base_url(url: object) -> None:
    """Check the ``base_url`` option: ``ws://`` or ``wss://``, a host, a valid
    port, no path (the client appends ``/ws/v5/public`` etc.); a query string
    (``?brokerId=9999``) is kept.

    Raises:
        TypeError: not a ``str``.
        ValueError: naming what is wrong.
    """
    parts = _split("base_url", url, ("ws", "wss"), "rest_url")
    path = parts.path
    if path not in ("", "/"):
        if any(path.rstrip("/").endswith(p) for p in PATHS.values()) or "/ws/v5" in path:
            raise ValueError(
                f"base_url must be the server's root, without a path: the client appends "
                f"{', '.join(PATHS.values())} itself. Give "
                f"'{parts.scheme}://{parts.netloc}', not {url!r}"
            )
        raise ValueError(f"base_url must have no path (the client appends "
                         f"{', '.join(PATHS.values())}): {url!r}")


def check_rest_url(url: object) -> None:
    """Check the ``rest_url`` option: ``http://`` or ``https://``, a host, a valid
    port and no path (the client appends ``/api/v5/...``).

    Raises:
        TypeError: not a ``str``.
        ValueError: naming what is wrong.
    """
    parts = _split("rest_url", url, ("http", "https"), "base_url")
    if parts.path not in ("", "/"):
        raise ValueError(f"rest_url must be the server's root, without a path (the client "
                         f"appends /api/v5/...). Give '{parts.scheme}://{parts.netloc}', "
                         f"not {url!r}")
    if parts.query:
        raise ValueError(f"rest_url must not have a query string: {url!r}")


def ws_url(kind: str, *, market: str = "prod", demo_trading: bool = False,
           base_url: str | None = None) -> str:
    """The WebSocket URL of a connection kind (``public``, ``private``, ``business``).

    ``base_url`` (``ws://127.0.0.1:8765``) overrides the market's host; the
    path is appended to it, keeping any query string it carries.
    """
    if kind not in PATHS:
        raise ValueError(f"unknown connection {kind!r}; expected public, private or business")
    if base_url is not None:
        check_base_url(base_url)
        parts = urlsplit(base_url.strip())
        root = f"{parts.scheme}://{parts.netloc}"
        return root + PATHS[kind] + (f"?{parts.query}" if parts.query else "")
    if market not in WS_HOSTS:
        raise ValueError(f"unknown market {market!r}; expected one of {sorted(WS_HOSTS)}")
    host = WS_HOSTS[market][1 if demo_trading else 0]
    return f"wss://{host}:{WS_PORT}{PATHS[kind]}"


def rest_base_url(
    *, base_url: str | None, rest_url: str | None, market: str, demo_trading: bool
) -> str:
    """The REST base URL the client uses (the ``rest_url`` option).

    ``rest_url`` wins; else ``base_url``'s host and port over http(s)
    (``ws://h:p`` -> ``http://h:p``, ``wss://h:p`` -> ``https://h:p``); else
    the market's REST host. Demo trading uses the same hosts (the requests
    carry ``x-simulated-trading: 1``), so ``demo_trading`` does not change it.

    Raises:
        ValueError: unknown market or a URL with the wrong scheme.
    """
    del demo_trading  # same hosts; kept so callers pass the full choice
    if rest_url is not None:
        check_rest_url(rest_url)
        parts = urlsplit(rest_url.strip())
        return f"{parts.scheme}://{parts.netloc}"
    if base_url is not None:
        check_base_url(base_url)
        parts = urlsplit(base_url.strip())
        schemes = {"ws": "http", "wss": "https"}
        return f"{schemes[parts.scheme]}://{parts.netloc}"
    if market not in REST_HOSTS:
        raise ValueError(f"unknown market {market!r}; expected one of {sorted(REST_HOSTS)}")
    return REST_HOSTS[market]


def target_of(*, base_url: str | None, market: str, demo_trading: bool) -> str:
    """Where a client connects, for its ``repr``: the ``base_url``, else the market."""
    if base_url is not None:
        return f"base_url={base_url!r}"
    return f"market={market!r}" + (" demo_trading" if demo_trading else "")
