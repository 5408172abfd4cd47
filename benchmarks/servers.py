"""Starting and steering the benchmark servers, each in its own process.

With two cores a server sharing the client's process (and its one Python
thread) would bill its own work to the client; a separate process lets the
kernel run client and server side by side, as they would be in production.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    """A server subprocess speaking the stdin/stdout command protocol of ``server.py``."""

    def __init__(self, module: str, label: str, *args: str) -> None:
        self.label = label
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.close()
            raise RuntimeError(f"{module} did not start: {line!r}")
        words = line.split(maxsplit=2)
        self.port = int(words[1])
        self.info: dict[str, Any] = json.loads(words[2]) if len(words) > 2 else {}
        self.base_url = f"ws://127.0.0.1:{self.port}"

    def command(self, line: str) -> dict[str, Any]:
        """Send one command line and return the JSON reply."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError(f"{self.label} server exited")
        result: dict[str, Any] = json.loads(reply)
        return result

    def set_push(self, n: int) -> None:
        """Every later subscribe to tickers/books streams ``n`` pushes."""
        self.command(f"push {n}")

    def cpu(self) -> float:
        """The server process's CPU time so far (seconds)."""
        return float(self.command("stats")["cpu"])

    def close(self) -> None:
        """Stop the process (politely, then forcefully)."""
        try:
            if self.proc.stdin is not None and self.proc.poll() is None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
