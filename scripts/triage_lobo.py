"""Leave one bank out: how the safety layer does on each emergency bank when the triage model was
trained without it (the figure closest to a blind run that the banks we already read can give).

    .venv/bin/python scripts/triage_lobo.py [--show]

For each bank in scripts/train_triage_model.BANKS: train the model on everything else, run the whole
detector (lists + that model) on the bank, print recall and false alarms; then the pooled figures.
The lists were written with every bank in view, so these figures flatter them; a new blind bank
(`make eval-emergencies-blind`) is still the honest measure.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from train_triage_model import BANKS, fit, training_questions  # noqa: E402

from assistant.config import Settings  # noqa: E402
from assistant.embedding import load_embedder  # noqa: E402
from assistant.safety import SafetyDetector  # noqa: E402
from assistant.safety.bank import read_bank, run_bank  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--show", action="store_true", help="print every miss and false alarm")
    args = parser.parse_args()
    settings = Settings()
    embedder = load_embedder(settings.model)
    detector = SafetyDetector(settings, embedder)
    shipped = detector.triage_model
    assert shipped is not None, "the triage model does not match the embedding model"
    cache: dict[str, np.ndarray] = {}

    def encode(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, np.asarray(embedder.encode(missing), dtype=np.float32), strict=True))
        return np.stack([cache[t] for t in texts])

    caught = emergencies = alarms = look_alikes = 0
    for bank in BANKS:
        rows = training_questions(detector, [b for b in BANKS if b != bank])
        vectors, labels = encode([q for q, _ in rows]), np.array([y for _, y in rows])
        model = fit(vectors, labels)
        detector.triage_model = dataclasses.replace(
            shipped,
            weights=model.coef_[0].astype(np.float32),
            bias=float(model.intercept_[0]),
            examples=vectors,
            labels=labels,
        )
        result = run_bank(detector, read_bank(ROOT / "tests" / "data" / bank))
        caught += result.emergencies - len(result.misses)
        emergencies += result.emergencies
        alarms += len(result.false_alarms)
        look_alikes += result.look_alikes
        print(f"{bank:28} recall {result.recall:.3f}  false alarms {result.false_alarm_rate:.3f}", flush=True)
        if args.show:
            print("\n".join(result.details()))
    print(
        f"{'pooled':28} recall {caught / emergencies:.3f} ({caught}/{emergencies})  "
        f"false alarms {alarms / look_alikes:.3f} ({alarms}/{look_alikes})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
