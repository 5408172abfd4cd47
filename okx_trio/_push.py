"""``Push``: one data push of a subscribed channel, with its typed views."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from ._views import View, view_as, view_items

__all__ = ["Push"]

V = TypeVar("V")


@attrs.frozen(slots=True, weakref_slot=False)
class Push:
    """One data push of a subscribed channel.

    ``data`` is the list of dicts exactly as the exchange sent it (unknown fields
    kept); typed views are built only when asked for (see ``okx_trio.views``).
    """

    arg: dict[str, Any]
    """The channel argument the push belongs to (``{"channel": ..., "instId": ...}``)."""
    data: list[Any]
    """The pushed items as received."""
    action: str | None = None
    """``"snapshot"`` or ``"update"`` on incremental order books, else ``None``."""
    extra: Mapping[str, Any] | None = attrs.field(default=None, eq=False, repr=False)
    """Other top-level fields of the frame (``eventType``, ``curPage``...), if any."""

    @property
    def channel(self) -> str:
        """The channel name, e.g. ``"tickers"``."""
        return str(self.arg.get("channel", ""))

    def view(self) -> list[View]:
        """Typed views of ``data`` for this push's channel, built on each call.

        Tickers, trades, order books, candles, orders, fills, positions,
        account, balance_and_position, sprd-orders and sprd-trades give frozen
        attrs objects (the classes of ``okx_trio.views``); other channels
        give the raw dicts. Narrow with ``isinstance``, or use ``view_as``.

        Raises:
            OkxProtocolError: an item does not have the channel's shape.
        """
        return view_items(self.channel, self.data)

    def view_as(self, cls: type[V]) -> list[V]:
        """Typed views of ``data`` as ``cls``, e.g. ``push.view_as(okx_trio.views.Ticker)``.

        The static type follows ``cls``, so a type checker sees every field.

        Raises:
            TypeError: ``cls`` is not the view class of this push's channel.
            OkxProtocolError: an item does not have the channel's shape.
        """
        return view_as(self.channel, self.data, cls)


# The reader builds one Push per pushed frame. attrs' frozen __init__ sets each
# field through object.__setattr__ (four calls, ~0.55 µs); setting the slots
# through their descriptors builds the same object in ~0.35 µs.
_new = object.__new__
_set_arg = Push.__dict__["arg"].__set__
_set_data = Push.__dict__["data"].__set__
_set_action = Push.__dict__["action"].__set__
_set_extra = Push.__dict__["extra"].__set__


def new_push(arg: dict[str, Any], data: list[Any], action: str | None = None,
             extra: Mapping[str, Any] | None = None) -> Push:
    """``Push(arg, data, action, extra)``, built faster (the decoder's path)."""
    push: Push = _new(Push)
    _set_arg(push, arg)
    _set_data(push, data)
    _set_action(push, action)
    _set_extra(push, extra)
    return push

