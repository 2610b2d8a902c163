"""Kept for old habits: the benchmark is now `baclofen-qa bench` (assistant/bench.py).

    .venv/bin/python scripts/benchmark.py [--corpus corpus] [--questions tests/data/gold.jsonl] [--rounds 3]

runs `baclofen-qa bench` with the same arguments: one table of figures, each next to the bare model's
time measured in the same run, and bench.json.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
