"""``python -m benchmarks``: run every benchmark once and print the ratio table."""

from __future__ import annotations

import sys

from .runner import main

sys.exit(main())
