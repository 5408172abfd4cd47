"""OKX hosts and URL selection (okx-protocol.md section 1)."""

from __future__ import annotations

from urllib.parse import urlsplit

# market -> (live WS host, demo WS host)
WS_HOSTS = {
    "prod": ("ws.okx.com", "wspap.okx.com"),
    "eea": ("wseea.okx.com", "wseeapap.okx.com"),
    "us": ("wsus.okx.com", "wsuspap.okx.com"),
}
WS_PORT = 8443
PATHS = {"public": "/ws/v5/public", "private": "/ws/v5/private", "business": "/ws/v5/business"}


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
