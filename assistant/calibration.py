"""The abstention threshold (`min_score`) fitted to the corpus at hand, and stored with its index.

A fused score means different things on different corpora: a threshold chosen on one article is
not right for a folder of leaflets. `baclofen-qa calibrate QUESTIONS` answers a labelled question
file at every threshold of a grid and keeps the one that best separates the answerable questions
(quoted) from the unanswerable ones (honest "not found"), then writes `calibration.json` in the
index folder, with the corpus fingerprints it was fitted on. The Assistant uses it while the
corpus and model are unchanged and `min_score` is not set explicitly ("auto"); otherwise the
default, DEFAULT_MIN_SCORE, measured on the seed article's gold set.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeGuard

from assistant.metrics import CorpusText, summarize

CALIBRATION_FILE = "calibration.json"
DEFAULT_MIN_SCORE = 0.25
# Thresholds tried: 0.10, 0.11, ..., 0.50.
GRID = tuple(round(0.10 + 0.01 * i, 2) for i in range(41))
# A fitted threshold must beat the default by this much (in the objective) to replace it: on a small
# question file, a different threshold that is only as good is noise.
MIN_GAIN = 0.02


@dataclass(frozen=True, slots=True)
class Calibration:
    """A fitted threshold and what it was fitted on."""

    min_score: float
    questions_file: str
    questions_sha256: str
    n_answerable: int
    n_unanswerable: int
    corpus: dict[str, str]  # doc_id -> fingerprint, as in the index manifest
    model: str
    fitted_at: str
    objective: float  # share answered of the answerable + share refused of the unanswerable, at min_score
    default_objective: float  # the same at DEFAULT_MIN_SCORE


def objective(metrics: dict[str, Any]) -> float:
    """How well a threshold separates: answered-when-answerable plus refused-when-unanswerable."""
    answered = 1.0 - (metrics.get("wrong_abstain") or 0.0)
    refused = metrics.get("abstain") or 0.0
    return answered + refused


def read_calibration(index_dir: Path) -> Calibration | None:
    """The stored calibration, or None when there is none or it cannot be read."""
    try:
        data = json.loads((Path(index_dir) / CALIBRATION_FILE).read_text(encoding="utf-8"))
        return Calibration(**data)
    except (OSError, ValueError, TypeError):
        return None


def applies(calibration: Calibration | None, manifest: dict) -> TypeGuard[Calibration]:
    """Was `calibration` fitted on exactly the corpus and model of this index?"""
    if calibration is None:
        return False
    return calibration.corpus == manifest.get("corpus", {}).get("files") and calibration.model == manifest.get(
        "model", {}
    ).get("name")


def write_calibration(index_dir: Path, calibration: Calibration) -> Path:
    """Write calibration.json atomically (a temporary file, then a rename)."""
    path = Path(index_dir) / CALIBRATION_FILE
    tmp = path.with_name(f".{CALIBRATION_FILE}.tmp")
    tmp.write_text(json.dumps(asdict(calibration), indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def fit_min_score(
    assistant,
    questions: Sequence,
    corpus: CorpusText,
    *,
    questions_file: Path,
    progress: Callable[[str], None] = lambda message: None,
) -> Calibration:
    """Answer `questions` (evaluate.LabelledQuestion) at every threshold of GRID and keep the best.

    Raises:
        ValueError: the file has no answerable or no unanswerable question to separate.
    """
    from assistant.evaluate import run_questions

    labelled = [q for q in questions if q.answerable is not None]
    n_yes = sum(q.answerable is True for q in labelled)
    n_no = len(labelled) - n_yes
    if not n_yes or not n_no:
        raise ValueError("calibration needs questions labelled answerable: true and answerable: false")
    scores: dict[float, float] = {}
    for threshold in sorted({*GRID, DEFAULT_MIN_SCORE}):
        variant = copy.copy(assistant)
        variant.min_score = threshold
        results = run_questions(variant, labelled, corpus, show_progress=False)
        scores[threshold] = objective(summarize([r.outcome for r in results], k=assistant.settings.top_k))
        progress(f"  min_score {threshold:.2f}: {scores[threshold]:.3f}")
    best = max(scores, key=lambda t: (scores[t], -abs(t - DEFAULT_MIN_SCORE)))
    if scores[best] < scores[DEFAULT_MIN_SCORE] + MIN_GAIN:
        best = DEFAULT_MIN_SCORE
    return Calibration(
        min_score=best,
        questions_file=str(questions_file),
        questions_sha256=hashlib.sha256(Path(questions_file).read_bytes()).hexdigest(),
        n_answerable=n_yes,
        n_unanswerable=n_no,
        corpus=dict(assistant.index.manifest.get("corpus", {}).get("files", {})),
        model=assistant.index.manifest.get("model", {}).get("name", ""),
        fitted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        objective=round(scores[best], 4),
        default_objective=round(scores[DEFAULT_MIN_SCORE], 4),
    )
