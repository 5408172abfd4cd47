"""How numbers and ids look on the wire: the one definition both directions use.

OKX writes numbers as strings in plain ASCII decimal notation (``"0.01"``,
``"-3"``: no exponent, no spaces, no ``_``, no ``NaN``) and its ids as 1-32
ASCII letters or digits (tags: 1-16). The request models check what the
client sends against these rules and the decoders (book levels, push views,
order states, acks) check what it receives, so a value that would be refused
on the way out is not believed on the way in.

Every rule matches the whole text. Two traps it avoids: a regex ``$`` also
matches before a trailing newline (``"abc\\n"``), and ``\\d`` /
``str.isdigit`` accept non-ASCII digits (full-width, Arabic-Indic, superscript) that
``int()`` and ``Decimal()`` either read as numbers or refuse late. The checks
are plain string methods (``isascii`` first): cheaper than a regex, which
matters on the order-book path where every level's size is checked.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

__all__ = [
    "ID_MAX",
    "ID_RE",
    "TAG_MAX",
    "TAG_RE",
    "is_decimal",
    "is_digits",
    "is_id",
    "is_integer",
    "is_tag",
    "is_unsigned_decimal",
    "wire_decimal",
    "wire_int",
]

ID_MAX: Final = 32
"""Longest request id, ``clOrdId`` or ``reqId``."""
TAG_MAX: Final = 16
"""Longest order ``tag``."""

ID_RE: Final = re.compile(r"\A[A-Za-z0-9]{1,32}\Z")
"""An id as a pattern (anchored at both ends, so ``match`` tests the whole text);
prefer ``is_id``."""
TAG_RE: Final = re.compile(r"\A[A-Za-z0-9]{1,16}\Z")
"""A tag as a pattern; prefer ``is_tag``."""


def is_unsigned_decimal(text: str) -> bool:
    """``text`` is a non-negative number in plain ASCII decimal notation (``"0.5"``, ``".5"``)."""
    # One "." removed, only ASCII digits may remain (and at least one).
    return text.isascii() and text.replace(".", "", 1).isdigit()


def is_decimal(text: str) -> bool:
    """``text`` is a number in plain ASCII decimal notation, optionally negative."""
    return is_unsigned_decimal(text[1:] if text[:1] == "-" else text)


def is_digits(text: str) -> bool:
    """``text`` is one or more ASCII digits."""
    return text.isascii() and text.isdigit()


def is_integer(text: str) -> bool:
    """``text`` is an ASCII integer, optionally negative (a book's first ``prevSeqId`` is -1)."""
    return is_digits(text[1:] if text[:1] == "-" else text)


def is_id(text: str) -> bool:
    """``text`` is an OKX id: 1-32 ASCII letters or digits."""
    return 0 < len(text) <= ID_MAX and text.isascii() and text.isalnum()


def is_tag(text: str) -> bool:
    """``text`` is an OKX order tag: 1-16 ASCII letters or digits."""
    return 0 < len(text) <= TAG_MAX and text.isascii() and text.isalnum()


def wire_decimal(value: object) -> Decimal:
    """A number received from OKX: a plain ASCII decimal string, or a JSON integer.

    Raises:
        TypeError: neither a ``str`` nor an ``int`` (floats are not exact; booleans
            are not numbers).
        ValueError: a string that is not a plain ASCII decimal.
    """
    if type(value) is str:
        if not is_decimal(value):
            raise ValueError(f"not a plain decimal number: {value[:40]!r}")
        return Decimal(value)
    if type(value) is int:
        return Decimal(value)
    raise TypeError(f"expected a number string, got {type(value).__name__}")


def wire_int(value: object) -> int:
    """An integer received from OKX: an ASCII integer string, or a JSON integer.

    Raises:
        TypeError: neither a ``str`` nor an ``int``.
        ValueError: a string that is not an ASCII integer.
    """
    if type(value) is int:
        return value
    if type(value) is str:
        if not is_integer(value):
            raise ValueError(f"not an integer: {value[:40]!r}")
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")
