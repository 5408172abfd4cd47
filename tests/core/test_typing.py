"""The public surface as a static checker sees it (in the spirit of trio's test_exports).

``mypy --strict`` runs once (module fixture) over three things: a file naming
every export of ``okx_trio`` and ``okx_trio.views``, a user's script full of
attribute typos, and every script in ``examples/``. With the project's
``.mypy_cache`` (``make types`` fills it) the run takes about a second.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

import okx_trio
import okx_trio.views

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

TYPOS = '''\
from __future__ import annotations

import okx_trio
from okx_trio.views import Ticker


async def bot(api: okx_trio.WsApiClient) -> None:
    ack = await api.submit_new_order({"instId": "BTC-USDT"})
    print(ack.ord_idd)
    async with api.ws_client.subscribe({"channel": "tickers", "instId": "BTC-USDT"}) as sub:
        async for item in sub:
            print(item.dataa)
            if isinstance(item, okx_trio.Push):
                print(item.view_as(Ticker)[0].lastt)
    async with api.ws_client.order_book("BTC-USDT") as book:
        print(book.best_bidd)
    print(await api.ws_client.rest.server_tim())
    async with api.ws_client.events() as events:
        async for event in events:
            print(event.kindd)
'''

TYPO_ERRORS = {
    (9, '"OrderAck" has no attribute "ord_idd"'),
    (12, 'Item "Push" of "Push | Gap" has no attribute "dataa"'),
    (12, 'Item "Gap" of "Push | Gap" has no attribute "dataa"'),
    (14, '"Ticker" has no attribute "lastt"'),
    (16, '"LiveOrderBook" has no attribute "best_bidd"'),
    (17, '"RestApiClient" has no attribute "server_tim"'),
    (20, '"LifecycleEvent" has no attribute "kindd"'),
}


def exports_source() -> str:
    lines = ["from __future__ import annotations", "", "import okx_trio", "import okx_trio.views",
             "from okx_trio import *  # noqa: F403", "", "names: list[object] = ["]
    lines += [f"    okx_trio.{name}," for name in okx_trio.__all__]
    lines += [f"    okx_trio.views.{name}," for name in okx_trio.views.__all__]
    lines += [f"    {name},  # noqa: F405" for name in okx_trio.__all__]
    return "\n".join([*lines, "]", ""])


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[int, str]]]:
    """``{file name: [(line, message)]}`` of one ``mypy --strict`` run."""
    where = tmp_path_factory.mktemp("typing")
    (where / "user_exports.py").write_text(exports_source())
    (where / "user_typos.py").write_text(TYPOS)
    scripts = sorted(EXAMPLES.glob("*.py"))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--no-color-output",
         "--hide-error-context", str(where / "user_exports.py"), str(where / "user_typos.py"),
         *map(str, scripts)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    errors: dict[str, list[tuple[int, str]]] = {}
    for line in result.stdout.splitlines():
        m = re.match(r"(.+?):(\d+): error: (.*?)(?:  \[[a-z-]+\])?$", line)
        assert m is not None, line
        errors.setdefault(Path(m[1]).name, []).append((int(m[2]), m[3]))
    return errors


def test_mypy_sees_every_export(mypy_errors: dict[str, list[tuple[int, str]]]) -> None:
    assert mypy_errors.get("user_exports.py", []) == []


def test_mypy_strict_catches_typos_in_a_users_script(
    mypy_errors: dict[str, list[tuple[int, str]]],
) -> None:
    found = mypy_errors.get("user_typos.py", [])
    missing = {(line, text) for line, text in TYPO_ERRORS
               if not any(n == line and msg.startswith(text) for n, msg in found)}
    assert not missing, found
    assert len(found) == len(TYPO_ERRORS), found


def test_examples_pass_mypy_strict(mypy_errors: dict[str, list[tuple[int, str]]]) -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert {name: e for name, e in mypy_errors.items() if name in scripts} == {}


def public_names(module: types.ModuleType) -> set[str]:
    """Names a user sees on ``module``, submodules (``views``, ``testing``) aside."""
    return {n for n, v in vars(module).items() if not n.startswith("_")
            and not isinstance(v, types.ModuleType) and n != "annotations"}


def test_runtime_public_names_are_all() -> None:
    assert public_names(okx_trio) == set(okx_trio.__all__)
    assert public_names(okx_trio.views) == set(okx_trio.views.__all__)


# -- every type in a public signature is itself public

NOT_CONSTRUCTED = {"WsClient", "WsApiClient", "OrderTracker", "Subscription", "LiveOrderBook",
                   "RestApiClient", "Pages", "Recorder", "Recording"}
"""Classes the library builds for the user; their constructors take internals."""
SPECIAL = {"__call__", "__aiter__", "__anext__", "__iter__", "__aenter__", "__init__"}


def defining_module(obj: object) -> dict[str, object]:
    """The globals of the private module that defines ``obj`` (``__module__`` says okx_trio)."""
    for name, module in sys.modules.items():
        if name.startswith("okx_trio._") and getattr(module, getattr(obj, "__name__", ""),
                                                        None) is obj:
            return vars(module)
    raise AssertionError(f"no private module defines {obj!r}")


def hinted(name: str, obj: object) -> Iterator[tuple[str, dict[str, object]]]:
    """``(where, type hints)`` of every public signature and attribute of an export."""
    if inspect.isclass(obj):
        globalns = defining_module(obj)
        yield name, typing.get_type_hints(obj, globalns=globalns)
        for attr, member in vars(obj).items():
            if attr.startswith("_") and attr not in SPECIAL:
                continue
            if attr == "__init__" and name in NOT_CONSTRUCTED:
                continue
            func = member.fget if isinstance(member, property) else member
            if isinstance(func, staticmethod | classmethod):
                func = func.__func__
            if inspect.isfunction(func):
                yield f"{name}.{attr}", typing.get_type_hints(func, globalns=globalns)
    elif inspect.isfunction(obj):
        yield name, typing.get_type_hints(obj)


def classes_in(tp: object) -> Iterator[type]:
    if isinstance(tp, type) and not isinstance(tp, types.GenericAlias):
        yield tp
    for arg in typing.get_args(tp):
        yield from classes_in(arg)
    origin = typing.get_origin(tp)
    if isinstance(origin, type):
        yield origin


@pytest.mark.parametrize("name", okx_trio.__all__)
def test_types_in_public_signatures_are_public(name: str) -> None:
    private = set()
    for where, hints in hinted(name, getattr(okx_trio, name)):
        for tp in hints.values():
            for cls in classes_in(tp):
                module = cls.__module__
                if module.startswith("okx_trio") and module not in ("okx_trio", "okx_trio.views"):
                    private.add(f"{where}: {module}.{cls.__qualname__}")
    assert not private, sorted(private)
