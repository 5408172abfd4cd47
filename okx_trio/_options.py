"""``ClientOptions``: the validated keyword options of the two openers."""

from __future__ import annotations

import math
import ssl
from random import Random
from typing import Any

import attrs

from ._models import Credentials
from ._okx import CONNECT_LIMIT, IDLE_TIMEOUT, WS_HOSTS
from ._transport import Connector

__all__ = ["ClientOptions", "deadline_of"]


def _positive(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


def _check_heartbeat(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 < value < IDLE_TIMEOUT:
        raise ValueError(f"heartbeat_interval must be in (0, 30) seconds (OKX closes idle "
                         f"connections after 30 s), got {value!r}")


def _check_market(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in WS_HOSTS:
        raise ValueError(f"market must be one of {sorted(WS_HOSTS)}, got {value!r}")


def _check_transport(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, str):
        if value not in ("websockets", "trio-websocket"):
            raise ValueError(f"transport must be 'websockets', 'trio-websocket' or a connector, "
                             f"got {value!r}")
    elif not callable(value):
        raise TypeError("transport must be a name or a connector object")


@attrs.frozen(kw_only=True)
class ClientOptions:
    """The options of ``open_ws_client`` / ``open_ws_api_client``.

    The guide's option table describes each; the tuning knobs after
    ``log_lifecycle`` are mostly for tests.
    """

    credentials: Credentials | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Credentials))
    )
    market: str = attrs.field(default="prod", validator=_check_market)
    demo_trading: bool = False
    base_url: str | None = None
    rest_url: str | None = None
    ssl_context: ssl.SSLContext | None = None
    transport: str | Connector = attrs.field(default="websockets", validator=_check_transport)
    request_timeout: float | None = attrs.field(default=10.0, validator=_positive)
    send_exp_time: bool = True
    rate_limit: bool = True
    heartbeat_interval: float = attrs.field(default=20.0, validator=_check_heartbeat)
    log_lifecycle: bool = True
    # Tuning knobs, mostly for tests.
    pong_timeout: float = attrs.field(default=5.0, validator=_positive)
    connect_timeout: float = attrs.field(default=10.0, validator=_positive)
    login_timeout: float = attrs.field(default=10.0, validator=_positive)
    reconnect_initial: float = attrs.field(default=0.1, validator=_positive)
    reconnect_max: float = attrs.field(default=30.0, validator=_positive)
    max_connects_per_second: int = CONNECT_LIMIT
    random: Random | None = None
    id_prefix: str | None = None
    compression: bool = False
    track_orders: bool = False


def deadline_of(timeout: float | None, default: float | None, now: float) -> float:
    """The absolute deadline (trio time) of a call given ``timeout=`` at ``now``.

    ``None`` means the client's ``default`` (``request_timeout``); a ``None``
    default or ``math.inf`` means no deadline.

    Raises:
        TypeError: ``timeout`` is not a number.
        ValueError: ``timeout`` is not positive.
    """
    if timeout is None:
        timeout = default
    if timeout is None:
        return math.inf
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError("timeout must be a number of seconds, None or math.inf")
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    return now + timeout
