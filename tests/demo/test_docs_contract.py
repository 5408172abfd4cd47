"""``docs/`` is the contract: every public name is in the API reference, the
reference names only public names, and docstrings render (no Sphinx roles,
which mkdocstrings' Google-style rendering would print raw).

Documents outside the repository are not cited: what the library promises is
in ``docs/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

import okx_trio
import okx_trio.replay
import okx_trio.testing
import okx_trio.views

ROOT = Path(__file__).resolve().parents[2]
_DIRECTIVE = re.compile(r"^::: (\S+)", re.M)
_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj|ref|py:\w+):`")


def _public() -> set[str]:
    return (
        {f"okx_trio.{name}" for name in okx_trio.__all__}
        | {f"okx_trio.views.{name}" for name in okx_trio.views.__all__}
        | {f"okx_trio.testing.{name}" for name in okx_trio.testing.__all__}
        | {f"okx_trio.replay.{name}" for name in okx_trio.replay.__all__}
        | {"okx_trio.pytest_plugin"}
    )


def _referenced() -> set[str]:
    return {m.group(1) for p in (ROOT / "docs").rglob("*.md")
            for m in _DIRECTIVE.finditer(p.read_text())}


def test_the_reference_names_public_names_only() -> None:
    private = _referenced() - _public()
    assert not private, f"reference pages name non-public objects: {sorted(private)}"


def test_every_public_name_is_in_the_reference() -> None:
    missing = _public() - _referenced()
    assert not missing, f"public names missing from docs/reference: {sorted(missing)}"


def test_every_option_is_in_the_option_table() -> None:
    table = (ROOT / "docs/reference/clients.md").read_text()
    missing = [f.name for f in attrs.fields(okx_trio.ClientOptions)
               if f"| `{f.name}` |" not in table]
    assert not missing, f"options missing from the table in docs/reference/clients.md: {missing}"


def test_docstrings_have_no_sphinx_roles() -> None:
    found = [f"{p.relative_to(ROOT)}:{n}" for p in (ROOT / "okx_trio").rglob("*.py")
             for n, line in enumerate(p.read_text().splitlines(), 1) if _ROLE.search(line)]
    assert not found, f"Sphinx roles render raw in the API reference: {found}"


def test_no_document_outside_the_repository_is_cited() -> None:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "pyproject.toml", ROOT / "Makefile",
             *(p for d in ("okx_trio", "docs", "examples", "tests", "benchmarks")
               for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".md", ".toml", ".txt"))]
    this = Path(__file__).resolve()
    cited = [str(p.relative_to(ROOT)) for p in files
             if p.resolve() != this and re.search(r"API\.md|okx-protocol\.md", p.read_text())]
    assert not cited, f"files citing documents outside the repository: {cited}"
