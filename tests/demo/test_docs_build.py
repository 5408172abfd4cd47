"""The documentation builds without a single warning (``mkdocs build --strict``).

Runs only where the ``docs`` extra is installed (``pip install -e '.[docs]'``,
as ``make docs`` does); elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None
    or importlib.util.find_spec("mkdocstrings_handlers") is None,
    reason="mkdocs / mkdocstrings-python not installed (the 'docs' extra)",
)
def test_docs_build_strict(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    assert (tmp_path / "index.html").exists()
    assert (tmp_path / "reference" / "clients" / "index.html").exists()


def test_every_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    # docs/reliability.md belongs to the reliability tests' author; it joins the nav with them.
    missing = {p for p in pages if p not in nav} - {"reliability.md"}
    assert not missing, f"pages outside the mkdocs nav: {sorted(missing)}"
