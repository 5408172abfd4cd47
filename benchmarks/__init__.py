"""Benchmarks of okx_trio against a bare floor client and other OKX clients.

``python -m benchmarks`` (or ``make bench``) runs everything once on 127.0.0.1
and prints a table of ratios; ``python -m benchmarks --help`` lists the options.
See ``benchmarks/README.md`` for what is measured and the latest results.
"""

from __future__ import annotations
