"""Scoring the safety layer on an emergency question bank (tests/data/emergency-*.jsonl).

Each line: {"question", "expect": RED | POISON | CRISIS | none, "concept", "kind", "history"?}. An
emergency is caught when its expected level is shown (POISON may also be shown as RED: the more
urgent banner); a look-alike ("none") raises a false alarm when any RED, CRISIS or POISON is shown.
Used by scripts/emergency_bank.py and the tests' gate on the tuning banks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.records import URGENT_LEVELS, Level
from assistant.safety.detector import SafetyDetector

ACCEPTED = {"RED": {Level.RED}, "POISON": {Level.POISON, Level.RED}, "CRISIS": {Level.CRISIS}}


@dataclass(frozen=True)
class BankResult:
    recall: float
    false_alarm_rate: float
    emergencies: int
    look_alikes: int
    misses: list[dict]
    false_alarms: list[dict]

    def details(self) -> list[str]:
        """One line per miss and per false alarm, with what was shown."""
        return [
            f"  MISS  {row['expect']:6} {row['concept']:22} {row['question']!r} shown={row['shown']}"
            for row in self.misses
        ] + [
            f"  ALARM {row['kind']:16} {row['concept']:22} {row['question']!r} shown={row['shown']}"
            for row in self.false_alarms
        ]


def read_bank(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_bank(detector: SafetyDetector, rows: list[dict]) -> BankResult:
    misses, alarms, emergencies = [], [], 0
    for row in rows:
        shown = detector.assess(row["question"], row.get("history", [])).levels
        if row["expect"] == "none":
            if set(shown) & URGENT_LEVELS:
                alarms.append({**row, "shown": [str(v) for v in shown]})
        else:
            emergencies += 1
            if not set(shown) & ACCEPTED[row["expect"]]:
                misses.append({**row, "shown": [str(v) for v in shown]})
    look_alikes = len(rows) - emergencies
    return BankResult(
        recall=1 - len(misses) / max(1, emergencies),
        false_alarm_rate=len(alarms) / max(1, look_alikes),
        emergencies=emergencies,
        look_alikes=look_alikes,
        misses=misses,
        false_alarms=alarms,
    )
