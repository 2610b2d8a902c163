"""Emergency triage on a question bank: recall of emergencies and false alarms on look-alikes.

    .venv/bin/python scripts/emergency_bank.py tests/data/emergency-tune.jsonl [--no-model] [--show]

How a bank is scored: assistant/safety/bank.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.config import Settings  # noqa: E402
from assistant.safety import SafetyDetector  # noqa: E402
from assistant.safety.bank import read_bank, run_bank  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bank", type=Path)
    parser.add_argument("--no-model", action="store_true", help="the lists only (no embedding model)")
    parser.add_argument("--show", action="store_true", help="print every miss and false alarm")
    parser.add_argument(
        "--fail-under",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 when recall is below VALUE (recall=0.98) or false_alarms above it (false_alarms=0.02)",
    )
    args = parser.parse_args()
    embedder = None
    if not args.no_model:
        from assistant.embedding import load_embedder

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        embedder = load_embedder(Settings().model)
    result = run_bank(SafetyDetector(Settings(), embedder), read_bank(args.bank))
    print(
        f"{args.bank.name}: emergency recall {result.recall:.3f} ({result.emergencies - len(result.misses)}/"
        f"{result.emergencies}), false alarms {result.false_alarm_rate:.3f} ({len(result.false_alarms)}/{result.look_alikes})"
    )
    if args.show:
        print("\n".join(result.details()))
    failed = []
    for target in args.fail_under:
        metric, _, value = target.partition("=")
        if metric == "recall" and result.recall < float(value):
            failed.append(f"recall {result.recall:.3f} < {value}")
        elif metric == "false_alarms" and result.false_alarm_rate > float(value):
            failed.append(f"false alarms {result.false_alarm_rate:.3f} > {value}")
        elif metric not in ("recall", "false_alarms"):
            print(f"emergency_bank: unknown metric {metric!r} (recall, false_alarms)", file=sys.stderr)
            return 2
    if failed:
        print(f"emergency_bank: target(s) missed: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
