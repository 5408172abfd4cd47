"""The wheel, as a user gets it: built by the declared backend, installed without extras.

The wheel is built from this checkout (``pip wheel``, build isolation, so
hatchling from ``[build-system]``) and installed into a throwaway virtualenv
with nothing but its runtime dependencies. Everything is taken from the
wheelhouse ``make test`` fills once per pyproject change (``.venv/wheelhouse``,
or ``$OKX_TRIO_WHEELHOUSE``): the test itself never reaches the network, and
a runtime dependency missing from the wheelhouse (trustme, say) fails the
install instead of slipping in.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = Path(os.environ.get("OKX_TRIO_WHEELHOUSE", ROOT / ".venv" / "wheelhouse"))

pytestmark = pytest.mark.skipif(
    not (WHEELHOUSE / ".complete").exists(),
    reason=f"no wheelhouse at {WHEELHOUSE} (make test fills it)",
)

# One order through the public API against the in-process simulator.
ROUND_TRIP = textwrap.dedent(
    """
    import trio
    import okx_trio
    from okx_trio.testing import DEFAULT_CREDENTIALS, open_simulator

    async def main() -> None:
        with trio.fail_after(30):
            async with open_simulator(market_interval=None) as sim:
                async with okx_trio.open_ws_api_client(
                    credentials=DEFAULT_CREDENTIALS, base_url=sim.base_url
                ) as api:
                    ack = await api.submit_new_order({
                        "instId": "BTC-USDT", "tdMode": "cash", "side": "buy",
                        "ordType": "limit", "sz": "0.01", "px": "30000",
                    })
        print(f"ord_id={ack.ord_id} s_code={ack.s_code}")

    trio.run(main)
    """
)

TLS_WITHOUT_EXTRA = textwrap.dedent(
    """
    import trio
    from okx_trio.testing import open_simulator

    async def main() -> None:
        async with open_simulator(tls=True, market_interval=None):
            raise SystemExit("served TLS without trustme")

    try:
        trio.run(main)
    except ImportError as exc:
        print(exc)
    """
)


def _run(*cmd: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # Run outside the source tree: ``python -c`` puts the working directory first on
    # sys.path, and from the repository's root it would import ./okx_trio, not the wheel.
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, check=False,
        cwd=Path(str(cmd[0])).parent,
    )


def _ok(*cmd: str | Path, timeout: float = 120) -> str:
    result = _run(*cmd, timeout=timeout)
    assert result.returncode == 0, f"{cmd}: {result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    offline = ("--no-index", "--find-links", WHEELHOUSE, "--disable-pip-version-check")
    _ok(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *offline,
        "--wheel-dir", out, ROOT)
    (built,) = out.glob("okx_trio-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh virtualenv holding the wheel and its dependencies."""
    root = tmp_path_factory.mktemp("venv")
    # No pip inside (ensurepip costs seconds): this pip installs into it.
    _ok(sys.executable, "-m", "venv", "--without-pip", root)
    python = root / "bin" / "python"
    _ok(sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
        "--no-index", "--find-links", WHEELHOUSE, "--disable-pip-version-check", wheel)
    return root / "bin"


def test_wheel_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "okx_trio/py.typed" in names
    assert "okx_trio/testing/__init__.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    assert not any(n.startswith("tests/") for n in names)
    (meta_name,) = (n for n in names if n.endswith(".dist-info/METADATA"))
    meta = zipfile.ZipFile(wheel).read(meta_name).decode()
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    # trustme only ever behind an extra ('tls', and 'test', which includes it).
    trustme = [r for r in requires if "trustme" in r]
    assert "Requires-Dist: trustme>=1.2; extra == 'tls'" in trustme
    assert all("; extra == " in r for r in trustme), trustme
    # matplotlib only behind the plot extra.
    assert [r for r in requires if "matplotlib" in r] == [
        "Requires-Dist: matplotlib>=3.8; extra == 'plot'"]
    assert "License-Expression: MIT" in meta


def test_installs_without_trustme_or_cryptography(venv: Path) -> None:
    listing = _ok(venv / "python", "-c",
                  "import importlib.metadata as m; "
                  "print('\\n'.join(sorted(d.metadata['Name'].lower() "
                  "for d in m.distributions())))")
    installed = set(listing.split())
    runtime = {"okx-trio", "trio", "trio-websocket", "websockets", "attrs", "cattrs",
               "orjson", "httpx", "h11"}
    assert runtime <= installed
    assert not installed & {"trustme", "cryptography", "cffi", "matplotlib"}


def test_the_wheel_is_what_runs(venv: Path) -> None:
    where = _ok(venv / "python", "-c", "import okx_trio; print(okx_trio.__file__)").strip()
    assert Path(where).is_relative_to(venv.parent), where


def test_import_help_and_version(venv: Path) -> None:
    version = _ok(venv / "python", "-c", "import okx_trio; print(okx_trio.__version__)").strip()
    assert _ok(venv / "okx-trio", "--version") == f"okx-trio {version}\n"
    assert "simulator" in _ok(venv / "okx-trio", "--help")
    none = _run(venv / "okx-trio")
    assert none.returncode == 2
    assert "no command given" in none.stderr


PLOT_WITHOUT_EXTRA = """
from okx_trio.replay import ReplayResult
result = ReplayResult(recording="r", records=0, span=0.0, seed=0, fills=[], book=[],
                      latencies=[], orders_sent=0)
try:
    result.plot("never-written.png")
except ImportError as exc:
    print(exc)
"""


def test_the_research_tools_need_no_plot_extra(venv: Path) -> None:
    # The replay runner imports without matplotlib; only
    # plot() needs it, and says which extra brings it.
    out = _run(venv / "python", "-c", PLOT_WITHOUT_EXTRA)
    assert out.returncode == 0, out.stderr
    assert "pip install 'okx-trio[plot]'" in out.stdout


def test_one_order_through_the_simulator(venv: Path) -> None:
    out = _ok(venv / "python", "-c", ROUND_TRIP, timeout=60)
    fields = dict(item.split("=", 1) for item in out.split())
    assert fields["s_code"] == "0"
    assert fields["ord_id"]


def test_tls_mode_names_the_missing_extra(venv: Path) -> None:
    hint = "pip install 'okx-trio[tls]'"
    assert hint in _ok(venv / "python", "-c", TLS_WITHOUT_EXTRA, timeout=60)
    cli = _run(venv / "okx-trio", "simulator", "--tls", "--port", "0", timeout=60)
    assert cli.returncode == 1
    assert cli.stdout == ""
    assert cli.stderr.count("\n") == 1
    assert hint in cli.stderr
