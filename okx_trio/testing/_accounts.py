"""The simulator's accounts as a user sets them up: ``SimAccount``.

OKX judges a request by the account behind the API key, not by the key: the
trade-op rate limits and the 1000-orders cap count per User ID (every API key
of one account shares them), a channel may need a fee tier (64003), and
``mass-cancel`` needs Portfolio Margin mode with the MMP privilege (51411).
A ``SimAccount`` carries those settings; a bare ``Credentials`` given to
``open_simulator(accounts=...)`` is an account with the defaults.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .._models import Credentials


def _keys(value: Iterable[Credentials]) -> tuple[Credentials, ...]:
    return tuple(value)


@attrs.frozen
class SimAccount:
    """One simulated OKX account (one User ID) and the settings OKX checks against it.

    The defaults are those of a new OKX account: fee tier VIP 0, not in
    Portfolio Margin mode, no MMP privilege. So, as on OKX,
    ``books-l2-tbt``, ``books50-l2-tbt`` and ``fills`` answer 64003 until
    ``vip_level`` is 4 or more, and ``mass-cancel`` answers 51411 until the
    account has ``portfolio_margin`` and ``mmp``. Give the account the tier and
    modes of the real account your program will trade with.

    Example::

        SimAccount(creds, extra_keys=[trade_key], vip_level=5,
                   portfolio_margin=True, mmp=True)
    """

    credentials: Credentials
    """The account's (first) API key."""
    extra_keys: tuple[Credentials, ...] = attrs.field(default=(), converter=_keys)
    """More API keys of the same account: they share its User ID (``uid``), its
    balances, orders and pushes, and its rate limits."""
    vip_level: int = 0
    """Trading fee tier (0-9): ``books-l2-tbt``, ``books50-l2-tbt`` and ``fills``
    need VIP 4 or more (64003 below)."""
    portfolio_margin: bool = False
    """The account is in Portfolio Margin mode (``mass-cancel`` and MMP orders need it)."""
    mmp: bool = False
    """The account has the Market Maker Protection privilege (``mass-cancel``, and
    ``ordType`` ``mmp``/``mmp_and_post_only`` on options, need it with
    ``portfolio_margin``)."""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.credentials, Credentials):
            raise TypeError("SimAccount.credentials must be okx_trio.Credentials")
        if not all(isinstance(c, Credentials) for c in self.extra_keys):
            raise TypeError("SimAccount.extra_keys must be okx_trio.Credentials objects")
        level = self.vip_level
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
            raise ValueError("SimAccount.vip_level must be an int in 0..9")
        for name in ("portfolio_margin", "mmp"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"SimAccount.{name} must be a bool")

    @property
    def keys(self) -> tuple[Credentials, ...]:
        """Every API key of the account, the first one first."""
        return (self.credentials, *self.extra_keys)

    @property
    def mmp_enabled(self) -> bool:
        """True when the account may use MMP: Portfolio Margin mode and the privilege."""
        return self.portfolio_margin and self.mmp


def as_account(value: Credentials | SimAccount) -> SimAccount:
    """``value`` as a ``SimAccount`` (bare credentials get the defaults).

    Raises:
        TypeError: neither credentials nor an account.
    """
    if isinstance(value, SimAccount):
        return value
    if isinstance(value, Credentials):
        return SimAccount(value)
    raise TypeError("accounts must be okx_trio.Credentials or SimAccount objects")
