"""The one private cattrs converter: snake_case attrs classes <-> OKX camelCase dicts.

Never touch ``cattrs.global_converter``. Register a class once with
``register_camel``; then ``converter.structure(item, Cls)`` reads an OKX
dict and ``converter.unstructure(obj)`` writes one (``None`` fields omitted).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

import attrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.orjson import make_converter

T = TypeVar("T")

converter = make_converter()

# Prices and sizes travel as strings; Decimal is written in plain notation.
converter.register_unstructure_hook(Decimal, lambda d: format(d, "f"))
converter.register_structure_hook(Decimal, lambda v, _: Decimal(str(v)))

# Field names whose OKX spelling is not plain camelCase.
_SPECIAL = {"inst_id_code": "instIdCode", "cl_ord_id": "clOrdId", "ord_id": "ordId"}


def camel(name: str) -> str:
    """``cl_ord_id`` -> ``clOrdId``."""
    if name in _SPECIAL:
        return _SPECIAL[name]
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def register_camel(cls: Any, *, extra_field: str | None = None) -> Any:
    """Register camelCase structure/unstructure hooks for an attrs class.

    With ``extra_field`` (a ``dict`` field of ``cls``), unknown keys of the
    incoming dict are collected there instead of being dropped, and written back
    out on unstructure.
    """
    fields = [f for f in attrs.fields(cls) if f.name != extra_field]
    overrides = {f.name: override(rename=camel(f.name)) for f in fields}
    if extra_field is not None:
        overrides[extra_field] = override(omit=True)
    structure = make_dict_structure_fn(cls, converter, **overrides)  # type: ignore[arg-type]
    unstructure = make_dict_unstructure_fn(
        cls,
        converter,
        _cattrs_omit_if_default=True,
        **overrides,  # type: ignore[arg-type]
    )
    if extra_field is None:
        converter.register_structure_hook(cls, structure)
        converter.register_unstructure_hook(cls, unstructure)
        return cls
    known = {camel(f.name) for f in fields}

    def structure_with_extra(value: Any, _: Any) -> Any:
        obj = structure(value, cls)
        extra = {k: v for k, v in value.items() if k not in known}
        if extra:
            obj = attrs.evolve(obj, **{extra_field: extra})
        return obj

    def unstructure_with_extra(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = unstructure(obj)
        out.update(getattr(obj, extra_field))
        return out

    converter.register_structure_hook(cls, structure_with_extra)
    converter.register_unstructure_hook(cls, unstructure_with_extra)
    return cls
