"""``python -m okx_trio``: the same command line as ``okx-trio``."""

from __future__ import annotations

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
