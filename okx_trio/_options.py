"""``ClientOptions``: the validated keyword options of the two openers."""

from __future__ import annotations

import math
import ssl
from random import Random
from typing import Any

import attrs

from ._models import Credentials
from ._okx import CONNECT_LIMIT, IDLE_TIMEOUT, WS_HOSTS
from ._protocol import IdGenerator
from ._transport import Connector
from ._urls import check_base_url, check_rest_url

__all__ = ["ClientOptions", "deadline_of"]


def _seconds(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    """A positive number of seconds (``math.inf`` allowed)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{attribute.name} must be a number of seconds, got {value!r}")
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


def _seconds_or_none(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None:
        _seconds(_, attribute, value)


def _positive_finite(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{attribute.name} must be a number of seconds, got {value!r}")
    if not 0 < value < math.inf:
        raise ValueError(f"{attribute.name} must be a positive, finite number of seconds, "
                         f"got {value!r}")


def _flag(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be True or False, got {value!r}")


def _check_connect_limit(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{attribute.name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value!r}")


def _check_id_prefix(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise TypeError(f"id_prefix must be a str, got {value!r}")
    try:
        IdGenerator(value)
    except ValueError as exc:
        raise ValueError(f"id_prefix: {exc}, got {value!r}") from None


def _optional(cls: type) -> Any:
    """``None`` or an instance of ``cls`` (the error names the option)."""
    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not isinstance(value, cls):
            raise TypeError(f"{attribute.name} must be a {cls.__module__}.{cls.__qualname__} "
                            f"or None, got {value!r}")
    return check


def _check_heartbeat(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    _seconds(_, attribute, value)
    if not 0 < value < IDLE_TIMEOUT:
        raise ValueError(f"heartbeat_interval must be in (0, 30) seconds (OKX closes idle "
                         f"connections after 30 s), got {value!r}")


def _check_market(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in WS_HOSTS:
        raise ValueError(f"market must be one of {sorted(WS_HOSTS)}, got {value!r}")


def _check_credentials(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, Credentials):
        raise TypeError(
            "credentials must be okx_trio.Credentials(api_key=..., secret_key=..., "
            f"passphrase=...), not {type(value).__name__}"
        )


def _check_url(check: Any) -> Any:
    def validator(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check(value)

    return validator


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

    credentials: Credentials | None = attrs.field(default=None, validator=_check_credentials)
    market: str = attrs.field(default="prod", validator=_check_market)
    demo_trading: bool = attrs.field(default=False, validator=_flag)
    base_url: str | None = attrs.field(default=None, validator=_check_url(check_base_url))
    rest_url: str | None = attrs.field(default=None, validator=_check_url(check_rest_url))
    ssl_context: ssl.SSLContext | None = attrs.field(default=None,
                                                     validator=_optional(ssl.SSLContext))
    transport: str | Connector = attrs.field(default="websockets", validator=_check_transport)
    request_timeout: float | None = attrs.field(default=10.0, validator=_seconds_or_none)
    send_exp_time: bool = attrs.field(default=True, validator=_flag)
    sync_clock: bool = attrs.field(default=True, validator=_flag)
    """Measure the exchange's clock (``GET /api/v5/public/time``) before the first
    op that carries ``expTime``, and again when OKX answers 50036 or a trade
    answer's ``inTime``/``outTime`` contradict the offset (``_clock``)."""
    rate_limit: bool = attrs.field(default=True, validator=_flag)
    heartbeat_interval: float = attrs.field(default=20.0, validator=_check_heartbeat)
    log_lifecycle: bool = attrs.field(default=True, validator=_flag)
    # Tuning knobs, mostly for tests.
    pong_timeout: float = attrs.field(default=5.0, validator=_seconds)
    connect_timeout: float = attrs.field(default=10.0, validator=_seconds)
    login_timeout: float = attrs.field(default=10.0, validator=_seconds)
    reconnect_initial: float = attrs.field(default=0.1, validator=_positive_finite)
    reconnect_max: float = attrs.field(default=30.0, validator=_positive_finite)
    relogin_timeout: float = attrs.field(default=300.0, validator=_positive_finite)
    """After a successful login, how long logins refused with a fatal code (bad key,
    signature, passphrase...) are retried with the backoff before the client
    gives up (``OkxAuthError``). A first login refused so fails at once."""
    max_connects_per_second: int = attrs.field(default=CONNECT_LIMIT,
                                               validator=_check_connect_limit)
    random: Random | None = attrs.field(default=None, validator=_optional(Random))
    """The client's random source: reconnect jitter and the prefix of generated
    clOrdIds. A seeded one (with ``id_prefix``) makes a run repeat its ids."""
    id_prefix: str | None = attrs.field(default=None, validator=_check_id_prefix)
    compression: bool = attrs.field(default=False, validator=_flag)
    track_orders: bool = attrs.field(default=False, validator=_flag)

    def __attrs_post_init__(self) -> None:
        if self.reconnect_max < self.reconnect_initial:
            raise ValueError(f"reconnect_max ({self.reconnect_max}) must not be below "
                             f"reconnect_initial ({self.reconnect_initial})")
        if self.demo_trading and self.base_url is not None:
            # With base_url the hosts are the caller's; demo_trading would only
            # add a header, so a base_url pointing at live OKX would trade real
            # money while the code says "demo".
            raise ValueError(
                "demo_trading=True picks OKX's demo-trading hosts and base_url replaces "
                "the hosts: give one of them (drop base_url to reach OKX demo trading, "
                "drop demo_trading to reach a simulator or another server)"
            )


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
