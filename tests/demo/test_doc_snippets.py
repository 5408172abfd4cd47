"""Every Python snippet in README.md and docs/ runs, against the simulator, in CI.

Collected: every fenced ``python`` block of ``README.md`` and ``docs/**/*.md``
(``test_every_snippet_is_collected`` counts them, so none is skipped silently).
Each runs as the body of an async function (top-level ``await`` is allowed)
under a deadline, so a snippet that hangs fails; it runs against a fresh
simulator on 127.0.0.1, started with the test.

How a snippet written for OKX runs against the simulator, all of it explicit:

* ``SUBSTITUTIONS``: placeholder text becomes a value: credentials written as
  ``"..."`` (or ``...``) are the simulator's account, ``trio.run(main)`` is
  ``await main()``, the address ``127.0.0.1:8765`` of ``okx-trio simulator`` is
  the test's simulator.
* The openers (``open_ws_client``, ``open_ws_api_client``, ``open_rest_client``)
  are pointed at the simulator while snippets run: a call without
  ``transport=`` and without a ``base_url`` of its own goes to the test's
  simulator (``demo_trading``, ``market`` and ``rest_url`` are dropped: they
  pick OKX's hosts).
* Names a fragment uses without defining them come from ``namespace()``: an open
  trade client ``api`` (``ws``, ``rest``), ``creds``, an ``order`` (a
  ``PlaceOrder``) that fills, ``log``... A fragment that needs more says so in an
  HTML comment right above its fence, invisible in the rendered docs::

      <!-- snippet-setup
      orders = [order] * 60
      -->

  The setup may use ``stack`` (an ``AsyncExitStack`` closed after the snippet)
  and ``stop_after_prints(n)``/``done()`` to end a snippet that streams forever
  once it has shown ``n`` lines (``SnippetDone`` counts as success).
* ``<!-- snippet: tested-in PATH -->``: the snippet holds pytest tests; they
  must appear verbatim in ``PATH`` (a test file that runs them).
* ``<!-- snippet: asyncio -->``: a snippet of an asyncio client (ccxt); it runs
  under ``asyncio`` in a worker thread against the same simulator.
* ``<!-- snippet: not-run REASON -->``: the one way to leave a snippet out; the
  reason must be given (``test_flags_are_known``).

Every snippet that runs is also type-checked with ``mypy --strict``, as a user
who copies it into a strictly typed project would (``test_snippets_type_check``,
with ``examples/``): the names ``namespace()`` and the setups provide are
declared with their types in ``PRELUDE``.

Every fence in README.md and docs/ names its language, and none but
``python`` holds Python (``test_every_fence_names_its_language``), so no
Python escapes by being fenced as something else.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import math
import re
from collections.abc import Callable
from contextlib import AsyncExitStack
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import attrs
import mypy.api
import pytest
import trio

import okx_trio
from okx_trio.testing import DEFAULT_CREDENTIALS, Simulator, open_simulator

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 10.0
"""Seconds a snippet may take (real sockets, a live market): a hang fails."""

SUBSTITUTIONS: dict[str, str] = {
    'okx_trio.Credentials(api_key="...", secret_key="...", passphrase="...")': "CREDS",
    "okx_trio.Credentials(api_key=..., secret_key=..., passphrase=...)": "CREDS",
    "trio.run(main)": "await main()",
}
"""Placeholder text in the docs -> what the test runs instead."""

_FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
# A comment counts only right above its fence (nothing but blank lines between).
_SETUP = re.compile(r"<!-- snippet-setup\n((?:(?!-->).)*)-->\s*\Z", re.S)
_FLAG = re.compile(r"<!-- snippet: ([^\n]*?) -->\s*\Z")


@attrs.frozen
class Snippet:
    """One fenced python block."""

    path: str
    line: int
    code: str
    setup: str = ""
    flags: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"


def _documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _snippets() -> list[Snippet]:
    found = []
    for path in _documents():
        text = path.read_text()
        for match in _FENCE.finditer(text):
            before = text[: match.start()]
            setup = _SETUP.search(before)
            flag = _FLAG.search(before)
            found.append(Snippet(
                path=str(path.relative_to(ROOT)),
                line=before.count("\n") + 1,
                code=match.group(1),
                setup=setup.group(1) if setup else "",
                flags=tuple(flag.group(1).split(None, 1)) if flag else (),
            ))
    return found


SNIPPETS = _snippets()


def test_every_snippet_is_collected() -> None:
    # Every ```python fence, README and docs: none is left out by the pattern.
    fences = sum(p.read_text().count("```python\n") for p in _documents())
    assert len(SNIPPETS) == fences
    assert len(SNIPPETS) >= 40


LANGUAGES = {"python", "bash", "sh", "text", "js", "toml"}
"""Fence languages the docs use; only ``python`` is Python."""


def test_every_fence_names_its_language() -> None:
    unnamed, unknown = [], []
    for path in _documents():
        inside = False
        for n, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.lstrip()
            if not stripped.startswith("```"):
                continue
            if inside:                                   # a closing fence
                inside = False
                continue
            inside = True
            language = stripped[3:].strip()
            where = f"{path.relative_to(ROOT)}:{n}"
            if not language:
                unnamed.append(where)
            elif language not in LANGUAGES:
                unknown.append(f"{where} {language}")
            elif line != stripped:
                unknown.append(f"{where} indented fence (not collected)")
    assert not unnamed, f"fences without a language (use ```python, ```sh...): {unnamed}"
    assert not unknown, f"fences the snippet test does not know: {unknown}"


KNOWN_FLAGS = {"tested-in", "asyncio", "not-run"}


def test_flags_are_known() -> None:
    for snippet in SNIPPETS:
        if not snippet.flags:
            continue
        assert snippet.flags[0] in KNOWN_FLAGS, f"{snippet.id}: unknown flag {snippet.flags}"
        if snippet.flags[0] in ("tested-in", "not-run"):
            assert len(snippet.flags) == 2, f"{snippet.id}: {snippet.flags[0]} needs a reason"
            assert snippet.flags[1].strip(), f"{snippet.id}: {snippet.flags[0]} needs a reason"


class SnippetDone(Exception):
    """Raised by ``done()``: the snippet showed what it shows and may stop."""


def done() -> NoReturn:
    raise SnippetDone


def stop_after_prints(n: int) -> Callable[..., None]:
    """A ``print`` that ends the snippet after its ``n``-th line."""
    count = 0

    def print_(*args: Any, **kwargs: Any) -> None:
        nonlocal count
        print(*args, **kwargs)
        count += 1
        if count >= n:
            done()

    return print_


def _substitute(code: str, sim: Simulator) -> str:
    for old, new in SUBSTITUTIONS.items():
        code = code.replace(old, new)
    return code.replace("127.0.0.1:8765", sim.base_url.split("//", 1)[1])


def _compile(code: str, name: str) -> Any:
    return compile(code, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


async def _run(code: str, name: str, ns: dict[str, Any]) -> None:
    result = eval(_compile(code, name), ns)
    if result is not None:
        await result


@pytest.fixture
def pointed(monkeypatch: pytest.MonkeyPatch) -> Callable[[Simulator], None]:
    """Point the openers at ``sim`` (see the module docstring)."""

    def point(sim: Simulator) -> None:
        for name in ("open_ws_client", "open_ws_api_client", "open_rest_client"):
            real = getattr(okx_trio, name)

            def opener(real: Any = real, **options: Any) -> Any:
                if "transport" not in options and options.get("base_url") in (
                        None, sim.base_url):
                    for key in ("demo_trading", "market", "rest_url"):
                        options.pop(key, None)
                    options["base_url"] = sim.base_url
                return real(**options)

            monkeypatch.setattr(okx_trio, name, opener)

    return point


async def _market_price(api: okx_trio.WsApiClient) -> Decimal:
    async with api.ws_client.order_book("BTC-USDT", channel="books5") as book:
        assert book.best_ask is not None
        return book.best_ask[0]


async def namespace(sim: Simulator, stack: AsyncExitStack) -> dict[str, Any]:
    """The names a fragment may use without defining them."""
    api = await stack.enter_async_context(okx_trio.open_ws_api_client(
        credentials=DEFAULT_CREDENTIALS, base_url=sim.base_url))
    ask = await _market_price(api)
    # A limit buy a little over the ask: it fills at once.
    order = okx_trio.PlaceOrder(inst_id="BTC-USDT", td_mode="cash", side="buy",
                                ord_type="limit", sz="0.001",
                                px=(ask * Decimal("1.001")).quantize(Decimal("0.1")))
    return {
        "__name__": "snippet", "trio": trio, "okx_trio": okx_trio, "math": math, "attrs": attrs,
        "Decimal": Decimal, "logging": logging, "sim": sim, "stack": stack,
        "CREDS": DEFAULT_CREDENTIALS, "creds": DEFAULT_CREDENTIALS, "api": api,
        "ws": api.ws_client, "rest": api.rest, "order": order,
        "log": logging.getLogger("bot"), "done": done, "stop_after_prints": stop_after_prints,
    }


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.id for s in SNIPPETS])
async def test_snippet_runs(snippet: Snippet, pointed: Callable[[Simulator], None]) -> None:
    if snippet.flags[:1] == ("tested-in",):
        _check_tested_in(snippet)
        return
    if snippet.flags[:1] == ("not-run",):
        pytest.skip(f"not run: {snippet.flags[1]}")
    await run_snippet(snippet, pointed, DEADLINE)


async def test_a_hanging_snippet_fails(pointed: Callable[[Simulator], None]) -> None:
    # The deadline is what turns a snippet that never ends into a failure.
    hanging = Snippet(path="hanging.md", line=1, code="await trio.sleep_forever()\n")
    with pytest.raises(trio.TooSlowError):
        await run_snippet(hanging, pointed, 0.5)


async def run_snippet(snippet: Snippet, pointed: Callable[[Simulator], None],
                      deadline: float) -> None:
    """Run ``snippet`` on a fresh simulator; ``trio.TooSlowError`` past ``deadline``."""
    with trio.fail_after(deadline):
        async with (
            open_simulator(accounts=[DEFAULT_CREDENTIALS], market_interval=0.05) as sim,
            AsyncExitStack() as stack,
        ):
            pointed(sim)
            ns = await namespace(sim, stack)
            code = _substitute(snippet.code, sim)
            if snippet.flags[:1] == ("asyncio",):
                await trio.to_thread.run_sync(partial(_run_asyncio, code, snippet.id, ns))
                return
            try:
                if snippet.setup:
                    await _run(_substitute(snippet.setup, sim), f"{snippet.id} setup", ns)
                await _run(code, snippet.id, ns)
            except SnippetDone:
                pass


def _run_asyncio(code: str, name: str, ns: dict[str, Any]) -> None:
    async def main() -> None:
        result = eval(_compile(code, name), ns)
        if result is not None:
            await result

    asyncio.run(asyncio.wait_for(main(), DEADLINE))


def _check_tested_in(snippet: Snippet) -> None:
    target = ROOT / snippet.flags[1]
    source = target.read_text()
    tree = ast.parse(snippet.code)
    tests = [node for node in tree.body if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
             and node.name.startswith("test_")]
    assert tests, f"{snippet.id} is marked tested-in {target} but defines no test"
    for node in tests:
        text = ast.get_source_segment(snippet.code, node)
        assert text is not None
        assert text in source, f"{target} no longer holds {node.name} as {snippet.id} shows it"


PRELUDE = """\
from __future__ import annotations

import logging
import math
from contextlib import AsyncExitStack
from decimal import Decimal

import attrs
import trio

import okx_trio
from okx_trio.testing import Simulator

# namespace()
api: okx_trio.WsApiClient
ws: okx_trio.WsClient
rest: okx_trio.RestApiClient
creds: okx_trio.Credentials
CREDS: okx_trio.Credentials
order: okx_trio.PlaceOrder
log: logging.Logger
sim: Simulator
stack: AsyncExitStack

# what snippet setups define
orders: list[okx_trio.PlaceOrder]
order1: okx_trio.PlaceOrder
order2: okx_trio.PlaceOrder
order3: okx_trio.PlaceOrder
amend: dict[str, str]
websocket_is_down: bool
push: okx_trio.Push
stream: okx_trio.Subscription
nursery: trio.Nursery
READ_KEY: okx_trio.Credentials
async def watch_fills(api: okx_trio.WsApiClient) -> None: ...
async def quote(api: okx_trio.WsApiClient, book: okx_trio.LiveOrderBook) -> None: ...
async def reconcile() -> None: ...
def handle(item: okx_trio.Push | okx_trio.Gap) -> None: ...


async def snippet() -> None:
"""
"""What a snippet's module starts with; the snippet is the body of ``snippet()``."""


def test_snippets_type_check(tmp_path: Path) -> None:
    # mypy --strict over every snippet that runs under trio, and over examples/.
    # The repository's cache keeps this under a second once `make types` ran.
    checked = [s for s in SNIPPETS if not s.flags]
    for snippet in checked:
        code = snippet.code
        for old, new in SUBSTITUTIONS.items():
            code = code.replace(old, new)
        name = re.sub(r"\W", "_", snippet.id)
        body = "".join(f"    {line}" if line.strip() else line
                       for line in code.splitlines(keepends=True))
        (tmp_path / f"snippet_{name}.py").write_text(PRELUDE + body)
    assert len(checked) >= 35
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.py"))
    out, err, status = mypy.api.run(["--strict", "--cache-dir", str(ROOT / ".mypy_cache"),
                                     "--no-color-output", str(tmp_path), *examples])
    assert status == 0, f"{out}{err}"


def _handler_classes(handler: ast.ExceptHandler) -> list[type[BaseException]]:
    """The okx_trio classes an ``except`` names (``okx_trio.X`` or a bare ``X``)."""
    if handler.type is None:
        return [BaseException]
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    found = []
    for node in nodes:
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
        cls = getattr(okx_trio, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return found


def _except_order_mistakes(tree: ast.AST, where: str) -> list[str]:
    mistakes = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try | ast.TryStar):
            continue
        seen: list[type[BaseException]] = []
        for handler in node.handlers:
            for cls in _handler_classes(handler):
                for earlier in seen:
                    # A later clause for a subclass never runs; and a rate limit
                    # caught after OkxOrderError loses OkxOrderRateLimitError to it.
                    if issubclass(cls, earlier) or (
                            issubclass(cls, okx_trio.OkxRateLimitError)
                            and earlier is okx_trio.OkxOrderError):
                        mistakes.append(f"{where}:{handler.lineno}: except {cls.__name__} "
                                        f"after except {earlier.__name__}")
            seen.extend(_handler_classes(handler))
    return mistakes


def test_except_clauses_catch_the_specific_class_first() -> None:
    # The errors guide's rule, kept by every snippet, example and the demo.
    mistakes = []
    for snippet in SNIPPETS:
        tree = compile(snippet.code, snippet.id, "exec",
                       flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        mistakes += _except_order_mistakes(tree, snippet.id)
    for path in [*sorted((ROOT / "examples").glob("*.py")), ROOT / "okx_trio/_demo.py"]:
        mistakes += _except_order_mistakes(ast.parse(path.read_text()),
                                           str(path.relative_to(ROOT)))
    assert not mistakes, mistakes
    # The check itself: the README's old order is caught.
    wrong = ("try:\n    pass\nexcept okx_trio.OkxOrderError:\n    pass\n"
             "except okx_trio.OkxRateLimitError:\n    pass\n")
    assert _except_order_mistakes(ast.parse(wrong), "wrong")
