"""`make bench`: CloudShelf's benchmark suite; writes BENCHMARKS.md and bench-results/benchmarks.json.

    .venv/bin/python scripts/bench.py [--only SECTION ...] [--phase 1|2] [--quick]

The sections live in the ``bench`` package next to this file (scripts/bench/); see its
docstring for what each one measures. Nothing here asserts a time.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench package (it wins over this file)
    raise SystemExit(importlib.import_module("bench.cli").main())
