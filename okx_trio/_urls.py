"""URL selection: the WebSocket and REST URLs a client uses, from its options."""

from __future__ import annotations

from urllib.parse import urlsplit

from ._okx import PATHS, REST_HOSTS, WS_HOSTS, WS_PORT

__all__ = ["rest_base_url", "ws_url"]


def ws_url(kind: str, *, market: str = "prod", demo_trading: bool = False,
           base_url: str | None = None) -> str:
    """The WebSocket URL of a connection kind (``public``, ``private``, ``business``).

    ``base_url`` (``ws://127.0.0.1:8765``) overrides the market's host; the
    path is appended to it, keeping any query string it carries.
    """
    if kind not in PATHS:
        raise ValueError(f"unknown connection {kind!r}; expected public, private or business")
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("ws", "wss"):
            raise ValueError(f"base_url must start with ws:// or wss://, got {base_url!r}")
        root = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
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
        parts = urlsplit(rest_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"rest_url must be an http:// or https:// URL, got {rest_url!r}")
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    if base_url is not None:
        parts = urlsplit(base_url)
        schemes = {"ws": "http", "wss": "https"}
        if parts.scheme not in schemes or not parts.netloc:
            raise ValueError(f"base_url must be a ws:// or wss:// URL, got {base_url!r}")
        return f"{schemes[parts.scheme]}://{parts.netloc}{parts.path.rstrip('/')}"
    if market not in REST_HOSTS:
        raise ValueError(f"unknown market {market!r}; expected one of {sorted(REST_HOSTS)}")
    return REST_HOSTS[market]
