"""The client's layers, read from the source: every import points down, never up.

Each module of ``okx_trio`` belongs to one layer; a module may import its own
layer and the ones below, never one above: not at module level, not under
``TYPE_CHECKING``, not inside a function. The two lowest layers import no I/O
library (the sans-I/O rule of the protocol core, generalised). The CLI, the
demo, the replay runner and the pytest plugin use the public API only, and the
simulator (``okx_trio.testing``) builds on the client's values, cores and
transports only. The import graph of the
client has no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import okx_trio

PACKAGE = Path(okx_trio.__file__).parent

LAYERS: list[tuple[str, set[str]]] = [
    ("values and facts", {"_okx", "_formats", "_models", "_exceptions", "_convert", "_views",
                          "_push", "_requests", "_urls", "views", "_recording_format"}),
    ("sans-I/O cores", {"_protocol", "_orderbook", "_ratelimit", "_order_state", "_outcomes",
                        "_answers"}),
    ("I/O", {"_transport", "_tls", "_rest", "_instruments", "_pacing", "_events", "_order_prep",
             "_rest_pages", "_rest_api", "_clock", "_recording_io"}),
    ("session", {"_options", "_connection", "_session"}),
    ("subscriptions and orders", {"_subscriptions", "_books", "_order_lookup", "_tracker",
                                  "_resolve"}),
    ("clients", {"_core", "_client", "_api_client", "_rest_client", "_recorder", "__init__"}),
    ("simulator", {"testing"}),
    ("research tools", {"replay", "_replay_results", "pytest_plugin"}),
    ("CLI and demo", {"_cli", "_cli_research", "_demo", "__main__"}),
]
"""Lowest first. ``testing`` stands for the whole ``okx_trio.testing`` package."""

NO_IO = {"trio", "trio_websocket", "httpx", "websockets", "socket", "ssl"}
"""What the two lowest layers never import."""
SIMULATOR_MAY_USE = {"values and facts", "sans-I/O cores", "I/O"}

RANK = {module: rank for rank, (_, modules) in enumerate(LAYERS) for module in modules}
NAME = {module: name for name, modules in LAYERS for module in modules}


def unit(path: Path) -> str:
    """The layer unit of a source file: its module name, or ``testing``."""
    rel = path.relative_to(PACKAGE)
    return "testing" if rel.parts[0] == "testing" else rel.stem


def imports(path: Path) -> Iterator[tuple[int, str, str]]:
    """``(line, imported module, unit)`` for every import of ``okx_trio`` in ``path``,
    wherever it stands (module level, ``TYPE_CHECKING``, function body)."""
    here = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = here if here[-1] == "__init__" else here[:-1]
    package = [p for p in package if p != "__init__"]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            targets = [f"{module}.{a.name}" if not node.module and node.level else module
                       for a in node.names]
        for target in targets:
            parts = target.split(".")
            if parts[0] != "okx_trio":
                continue
            name = parts[1] if len(parts) > 1 else "__init__"
            yield node.lineno, target, "testing" if name == "testing" else name


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    assert {unit(p) for p in SOURCES} == set(RANK), "add the new module to LAYERS"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    me = unit(path)
    upward = [
        f"{path.name}:{line}: {NAME[me]} imports {target} ({NAME[other]})"
        for line, target, other in imports(path)
        if RANK[other] > RANK[me]
    ]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("path", [p for p in SOURCES if RANK[unit(p)] <= 1],
                         ids=lambda p: p.name)
def test_values_and_cores_do_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    found = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
             for a in n.names}
    found |= {n.module.split(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module and not n.level}
    assert not found & NO_IO


@pytest.mark.parametrize("name", ["_cli", "_cli_research", "_demo", "replay",
                                  "_replay_results", "pytest_plugin"])
def test_cli_and_demo_use_the_public_api(name: str) -> None:
    path = PACKAGE / f"{name}.py"
    # Apart from the modules of their own layer (the replay runner's results).
    private = [f"{path.name}:{line}: {target}" for line, target, unit in imports(path)
               if any(part.startswith("_") for part in target.split(".")[1:])
               and NAME[unit] != NAME[name]]
    assert not private, "\n".join(private)


def test_simulator_builds_on_values_cores_and_transports_only() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line}: {target} ({NAME[other]})"
        for path in SOURCES if unit(path) == "testing"
        for line, target, other in imports(path)
        if other != "testing" and NAME[other] not in SIMULATOR_MAY_USE
    ]
    assert not wrong, "\n".join(wrong)


def test_the_client_has_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        me = unit(path)
        if me != "testing":
            graph.setdefault(me, set()).update(
                other for _, _, other in imports(path) if other not in (me, "testing"))
    # A cycle shows as a module reaching itself; the modules are few, so a plain walk does.
    for start in sorted(graph):
        came_from: dict[str, str] = {}
        todo = [(start, other) for other in sorted(graph[start])]
        while todo:
            parent, module = todo.pop()
            if module in came_from:
                continue
            came_from[module] = parent
            if module == start:
                path = [start]
                while path[-1] != start or len(path) == 1:
                    path.append(came_from[path[-1]])
                pytest.fail("import cycle: " + " -> ".join(reversed(path)))
            todo.extend((module, other) for other in sorted(graph[module]))


def test_the_readme_architecture_table_lists_every_module_in_its_layer() -> None:
    # The README's table is the reader's map of these layers: it stays true.
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Architecture", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("layer", "---"):
            continue
        names = {code.removeprefix("okx_trio.") for code in cells[1].split("`")[1::2]}
        table[cells[0]] = {"testing" if n.startswith("testing") else n for n in names}
    expected = {name: modules - {"__init__", "__main__"} for name, modules in LAYERS}
    assert list(table) == list(expected)
    for name, modules in table.items():
        assert modules == expected[name], (name, modules ^ expected[name])
