"""The pytest plugin: the testing guide's complete example runs as a user's test file
(pytest in a subprocess, the plugin loaded from its entry point); the plugin is
inert until asked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "testing.md"


def _example() -> str:
    text = GUIDE.read_text()
    section = text[text.index("### A complete example"):]
    match = re.search(r"```python\n(# test_cheap_buyer.py\n.*?)```", section, flags=re.DOTALL)
    assert match is not None, "the testing guide lost its complete example"
    return match.group(1)


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
         "trio_mode=true", "-W", "error", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)


def test_the_guides_complete_example_passes_as_a_users_test_file(tmp_path: Path) -> None:
    (tmp_path / "test_cheap_buyer.py").write_text(_example())
    result = _pytest(tmp_path, "--strict-markers", "test_cheap_buyer.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_fixtures_are_offered_and_nothing_else_is_touched(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        "def test_plain():\n    import sys\n    assert 'okx_trio.testing' not in sys.modules\n")
    result = _pytest(tmp_path, "test_plain.py")
    assert result.returncode == 0, result.stdout + result.stderr
    fixtures = _pytest(tmp_path, "--fixtures", "test_plain.py").stdout
    for name in ("okx_simulator", "okx_api", "okx_client", "okx_credentials", "okx_recording",
                 "okx_simulator_options"):
        assert re.search(rf"^{name}\b", fixtures, flags=re.MULTILINE), name
    markers = _pytest(tmp_path, "--markers").stdout
    assert "@pytest.mark.okx_simulator(**options)" in markers


def test_the_plugin_is_registered_for_pytest() -> None:
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="pytest11") if e.name == "okx_trio"]
    assert entry.value == "okx_trio.pytest_plugin"
