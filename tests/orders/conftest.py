"""Fixtures of this folder's tests (shared ones live in ``tests/support``)."""

from __future__ import annotations

from support.fixtures import sim

__all__ = ["sim"]
