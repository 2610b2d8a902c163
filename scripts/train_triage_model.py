"""Train the triage model: a logistic regression over question embeddings that says "emergency
or not", written to assistant/safety/triage_model.npz (weights only; applied with numpy).

    .venv/bin/python scripts/train_triage_model.py            (or: make triage-model)

Trained on the emergency banks whose figures have been recorded (tests/data/emergency-*.jsonl; a
blind bank joins only after its one run), on the tuning question sets of the answer engine (their
`emergency` labels), and on the example questions in the safety data (each
rule's and red flag's must / must-not examples, each category's example phrases, the emergency and
look-alike variants of tests/test_safety.py). C and the
threshold were chosen by leaving each bank out in turn (README, "Emergency triage"). Retrain after
changing the model, the banks or the examples; the detector ignores a file made for another model.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.config import Settings  # noqa: E402
from assistant.embedding import load_embedder  # noqa: E402
from assistant.records import URGENT_LEVELS  # noqa: E402
from assistant.safety import SafetyDetector  # noqa: E402
from assistant.safety.bank import read_bank  # noqa: E402
from assistant.safety.detector import TRIAGE_MODEL_FILE  # noqa: E402
from tests.test_safety import EMERGENCY_VARIANTS, NON_EMERGENCY_VARIANTS  # noqa: E402

BANKS = [
    "emergency-tune.jsonl",
    "emergency-tune2.jsonl",
    "emergency-blind.jsonl",
    "emergency-blind2.jsonl",
    "emergency-blind3.jsonl",
    "emergency-blind4.jsonl",
    "emergency-blind5.jsonl",
    "emergency-blind6.jsonl",
    "emergency-blind7.jsonl",
    "emergency-blind8.jsonl",
    "emergency-blind9.jsonl",
    "emergency-blind10.jsonl",
    "emergency-blind11.jsonl",
]
QUESTION_SETS = ["gold.jsonl", "article-fresh-tune.jsonl", "leaflets-tune.jsonl"]
C = 8.0


def training_questions(detector: SafetyDetector, banks: list[str] = BANKS) -> list[tuple[str, bool]]:
    data = ROOT / "tests" / "data"
    rows = [(row["question"], row["expect"] != "none") for bank in banks for row in read_bank(data / bank)]
    # The answer engine's tuning question sets: hundreds of everyday questions and follow-ups ("what did
    # he write?") that must not read as emergencies, with their few emergencies. Their blind halves stay out.
    rows += [(row["question"], bool(row.get("emergency"))) for name in QUESTION_SETS for row in read_bank(data / name)]
    base = {c: spec.notice.level for c, spec in detector.messages.categories.items()}
    for category, spec in detector.messages.categories.items():
        rows += [(e, base[category] in URGENT_LEVELS) for e in spec.examples]
    for concept in detector.red_flags.concepts:
        rows += [(e, True) for e in concept.examples] + [(e, False) for e in concept.not_examples]
    for rule in detector.rulebook.rules:
        rows += [(e, base[rule.category] in URGENT_LEVELS) for e in rule.fires] + [
            (e, False) for e in rule.does_not_fire
        ]
    # The emergency and look-alike variants of tests/test_safety.py (SAFETY.md section 2 triggers).
    rows += [(q, True) for q, _ in EMERGENCY_VARIANTS] + [(q, False) for q, _ in NON_EMERGENCY_VARIANTS]
    return rows


def fit(vectors: np.ndarray, labels: np.ndarray):
    from sklearn.linear_model import LogisticRegression  # training only; installed with sentence-transformers

    return LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(vectors, labels)


def main() -> None:
    settings = Settings()
    embedder = load_embedder(settings.model)
    rows = training_questions(SafetyDetector(settings))
    vectors = embedder.encode([q for q, _ in rows])
    labels = np.array([y for _, y in rows])
    model = fit(vectors, labels)
    np.savez(
        TRIAGE_MODEL_FILE,
        weights=model.coef_[0].astype(np.float32),
        bias=np.float32(model.intercept_[0]),
        model=np.array(embedder.name),
        dimension=np.int64(vectors.shape[1]),
        # The training questions themselves (unit vectors) and their labels: the model's reading counts
        # only when the nearest of them is an emergency too.
        examples=vectors.astype(np.float16),
        labels=labels,
    )
    print(
        f"Trained on {len(rows)} questions ({int(labels.sum())} emergencies) with {embedder.name}, C={C}: "
        f"{TRIAGE_MODEL_FILE.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
