"""Every Python snippet of docs/guide/research.md runs, in order, offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "research.md"


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


def test_the_guide_has_snippets() -> None:
    assert len(snippets()) >= 3


def test_every_snippet_runs_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for number, code in enumerate(snippets(), 1):
        try:
            exec(compile(code, f"research.md snippet {number}", "exec"), {"__name__": "__main__"})
        except BaseException as exc:
            raise AssertionError(f"research.md snippet {number} failed: {exc!r}") from exc
    out = capsys.readouterr().out
    assert "book pushes, the first a snapshot" in out
    assert "whole" in out
    assert "PnL = cash from fills + position at the last recorded mid + fees" in out
    summary = re.search(r"```text\n(replay .*?)```", GUIDE.read_text(), flags=re.DOTALL)
    assert summary is not None
    assert summary.group(1) in out, "the guide shows another summary than its run prints"
    assert (tmp_path / "run.jsonl").exists()
    assert (tmp_path / "run.png").exists()
