"""Evaluation metrics: pure functions over where passages and evidence sit in the corpus.

Relevance does not depend on chunking: a returned passage is relevant when its span in the
corpus overlaps the span of an evidence string by at least half of the shorter of the two,
counted in characters with runs of whitespace folded to one space. Ranking measures (hit@k,
MRR, nDCG, recall) are computed with ranx; everything else is a share, a mean or a percentile.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_WHITESPACE_RE = re.compile(r"\s+")
_RECALL_RE = re.compile(r"recall@(\d+|k)")
# Metrics where a lower value is better: a --fail-under target on them is a ceiling.
LOWER_IS_BETTER = frozenset(
    {"wrong_abstain", "false_alarm", "wrong_medicine", "top_passage_chars", "latency_p50_ms", "latency_p95_ms"}
)
RANKING_METRICS = ("hit@1", "hit@3", "mrr@5", "ndcg@5")
RATE_METRICS = (
    "abstain",
    "wrong_abstain",
    "emergency_recall",
    "false_alarm",
    "wrong_medicine",
    "verbatim",
    "top_passage_chars",
    "latency_p50_ms",
    "latency_p95_ms",
)
COUNT_METRICS = (
    "n_questions",
    "n_answerable",
    "n_with_evidence",
    "n_unanswerable",
    "n_emergency",
    "n_not_emergency",
    "n_answered",
    "n_passages",
    "n_medicine_labelled",
)


def metric_names(k: int) -> tuple[str, ...]:
    """The names of the measured metrics (not the counts), in report order; recall is named with its k."""
    return (*RANKING_METRICS, f"recall@{k}", *RATE_METRICS)


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of one document: `text[start:end]` in original (unfolded) character offsets."""

    doc_id: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A text with each run of whitespace folded to one space, and offset maps both ways."""

    text: str
    to_folded: tuple[int, ...]  # original offset -> folded offset (len(original) + 1 entries)
    to_original: tuple[int, ...]  # folded offset -> original offset of that character (len(folded) + 1 entries)


def fold_whitespace(text: str) -> FoldedText:
    """Fold every run of whitespace (spaces, tabs, newlines, no-break spaces) into a single space."""
    folded: list[str] = []
    to_folded: list[int] = []
    to_original: list[int] = []
    in_space = False
    for i, ch in enumerate(text):
        to_folded.append(len(folded))
        if ch.isspace():
            if in_space:
                continue
            ch, in_space = " ", True
        else:
            in_space = False
        folded.append(ch)
        to_original.append(i)
    to_folded.append(len(folded))
    to_original.append(len(text))
    return FoldedText("".join(folded), tuple(to_folded), tuple(to_original))


def fold_query(text: str) -> str:
    """An evidence string as it is searched for: whitespace runs folded, ends stripped."""
    return _WHITESPACE_RE.sub(" ", text).strip()


def overlaps_enough(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """True when spans a and b overlap by at least half of the shorter one (exactly half counts)."""
    shorter = min(a[1] - a[0], b[1] - b[0])
    overlap = min(a[1], b[1]) - max(a[0], b[0])
    # Integer comparison: "at least half" must not depend on float rounding at exactly 50%.
    return shorter > 0 and overlap > 0 and 2 * overlap >= shorter


class CorpusText:
    """The corpus texts, folded once, for locating evidence and judging passages."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self.texts = dict(texts)
        self._folded = {doc_id: fold_whitespace(text) for doc_id, text in self.texts.items()}

    def locate(self, evidence: str) -> tuple[Span, ...]:
        """Every place the evidence occurs in any document (whitespace folded), in original offsets."""
        needle = fold_query(evidence)
        if not needle:
            return ()
        spans = []
        for doc_id, folded in self._folded.items():
            at = folded.text.find(needle)
            while at >= 0:
                end = at + len(needle)
                spans.append(Span(doc_id, folded.to_original[at], folded.to_original[end - 1] + 1))
                at = folded.text.find(needle, at + 1)
        return tuple(spans)

    def folded_span(self, span: Span) -> tuple[int, int] | None:
        """The span in folded offsets, or None when its document is not in the corpus."""
        folded = self._folded.get(span.doc_id)
        if folded is None:
            return None
        last = len(folded.to_folded) - 1
        start = folded.to_folded[min(max(span.start, 0), last)]
        end = folded.to_folded[min(max(span.end, 0), last)]
        return start, end

    def is_relevant(self, passage: Span, evidence: Sequence[Span]) -> bool:
        """Does the passage overlap any evidence span enough (same document, folded characters)?"""
        mine = self.folded_span(passage)
        if mine is None:
            return False
        for spot in evidence:
            theirs = self.folded_span(spot) if spot.doc_id == passage.doc_id else None
            if theirs is not None and overlaps_enough(mine, theirs):
                return True
        return False

    def is_verbatim(self, passage: Span, text: str) -> bool:
        """Is `text` exactly the document text at the passage's offsets?"""
        source = self.texts.get(passage.doc_id)
        return source is not None and 0 <= passage.start <= passage.end and source[passage.start : passage.end] == text


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the metrics need about one question: its labels and what the system returned."""

    qid: str
    tags: tuple[str, ...]
    answerable: bool | None  # None: not labelled
    has_evidence: bool  # answerable with located evidence: counted in the ranking metrics
    emergency_expected: bool | None  # None: not labelled
    abstained: bool  # no passage shown: "not found", or only a safety message
    emergency: bool
    relevant: tuple[bool, ...]  # per returned passage, in rank order
    verbatim: tuple[bool, ...]
    top_passage_chars: int | None  # None when no passage was returned
    top_score: float  # best retrieval score, also for abstained answers (compared with min_score)
    latency_ms: float
    # Per returned passage: is it from a document about another medicine than the one labelled?
    # Empty when the question has no `medicine` label.
    other_medicine: tuple[bool, ...] = ()


def hit_rank(relevant: Sequence[bool]) -> int | None:
    """The 1-based rank of the first relevant passage, or None."""
    return next((i + 1 for i, flag in enumerate(relevant) if flag), None)


def _ranx_name(name: str) -> str:
    return name.replace("hit@", "hit_rate@")


def ranking_metrics(relevance: Mapping[str, Sequence[bool]], names: Sequence[str]) -> dict[str, float | None]:
    """hit@k, mrr@k, ndcg@k and recall@k over questions, each with one relevant answer.

    Each question has exactly one relevant item, "the answer": its first relevant passage.
    So recall@k is the share of questions with any relevant passage within the first k, and
    nDCG@k is 1/log2(1 + rank). A question without passages (abstained) is a miss.

    Args:
        relevance: {question id: relevant flag per returned passage, in rank order}.
        names: metric names such as "hit@1", "mrr@5", "ndcg@5", "recall@3".
    """
    if not relevance:
        return {name: None for name in names}
    from ranx import Qrels, Run, evaluate

    qrels, run = {}, {}
    for qid, flags in relevance.items():
        first = hit_rank(flags)
        qrels[qid] = {"answer": 1}
        # Scores strictly decrease with rank, so ranx keeps the system's order (no ties to break).
        run[qid] = {("answer" if i + 1 == first else f"p{i + 1}"): float(len(flags) - i) for i in range(len(flags))}
        if not flags:
            run[qid] = {"none": 0.0}  # ranx cannot hold an empty ranking; an irrelevant placeholder is a miss
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba type-safety chatter from inside ranx
        scores = evaluate(Qrels(qrels), Run(run), [_ranx_name(n) for n in names], make_comparable=True)
    if not isinstance(scores, dict):  # ranx returns a bare number for a single metric
        scores = {_ranx_name(names[0]): scores}
    return {name: float(scores[_ranx_name(name)]) for name in names}


def share(flags: Sequence[bool]) -> float | None:
    """The share of True values, or None when there is nothing to measure."""
    return sum(bool(f) for f in flags) / len(flags) if flags else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) of `values` by linear interpolation between the two closest ranks.

    This is the project's one percentile: evaluation (`latency_p50_ms`), `baclofen-qa bench` and the
    scripts all call it, so a p50 means the same thing wherever it is printed. The method is numpy's
    default ("linear", Hyndman & Fan type 7): sort the n values, take position q/100 * (n - 1) and
    interpolate between its neighbours, so the p50 of an even count is the mean of the middle two,
    and p0 and p100 are the minimum and maximum. Nearest-rank would pick one of the measured values
    instead; with a few dozen timings its p95 jumps to the maximum.

    Returns:
        None for no values (nothing was measured); the value itself for one value.

    Raises:
        ValueError: q outside 0-100.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be between 0 and 100, not {q}")
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def summarize(outcomes: Sequence[Outcome], *, k: int) -> dict[str, float | int | None]:
    """Every metric over a set of outcomes, in report order; None where nothing could be measured.

    Ranking metrics and recall@k use answerable questions with evidence; `abstain` the
    questions labelled unanswerable; `wrong_abstain` those labelled answerable; the emergency
    metrics the questions labelled for emergency.
    """
    labelled = [o for o in outcomes if o.has_evidence]
    answerable = [o for o in outcomes if o.answerable is True]
    unanswerable = [o for o in outcomes if o.answerable is False]
    emergencies = [o for o in outcomes if o.emergency_expected is True]
    not_emergencies = [o for o in outcomes if o.emergency_expected is False]
    answered = [o for o in outcomes if o.top_passage_chars is not None]
    verbatim = [flag for o in outcomes for flag in o.verbatim]
    latencies = [o.latency_ms for o in outcomes]
    medicine_labelled = [o for o in outcomes if o.other_medicine]

    names = (*RANKING_METRICS, f"recall@{k}")
    metrics: dict[str, float | int | None] = dict(ranking_metrics({o.qid: o.relevant for o in labelled}, names))
    metrics.update(
        {
            "abstain": share([o.abstained for o in unanswerable]),
            "wrong_abstain": share([o.abstained for o in answerable]),
            "emergency_recall": share([o.emergency for o in emergencies]),
            "false_alarm": share([o.emergency for o in not_emergencies]),
            # Answers (with a `medicine` label) quoting any passage from a document about another medicine.
            "wrong_medicine": share([any(o.other_medicine) for o in medicine_labelled]),
            "verbatim": share(verbatim),
            "top_passage_chars": float(np.mean([o.top_passage_chars for o in answered])) if answered else None,
            "latency_p50_ms": percentile(latencies, 50),
            "latency_p95_ms": percentile(latencies, 95),
            "n_questions": len(outcomes),
            "n_answerable": len(answerable),
            "n_with_evidence": len(labelled),
            "n_unanswerable": len(unanswerable),
            "n_emergency": len(emergencies),
            "n_not_emergency": len(not_emergencies),
            "n_answered": len(answered),
            "n_passages": len(verbatim),
            "n_medicine_labelled": len(medicine_labelled),
        }
    )
    return metrics


def summarize_by_tag(outcomes: Sequence[Outcome], *, k: int) -> dict[str, dict[str, float | int | None]]:
    """`summarize` for each tag (sorted by name) over the questions carrying it."""
    tags = sorted({tag for o in outcomes for tag in o.tags})
    return {tag: summarize([o for o in outcomes if tag in o.tags], k=k) for tag in tags}


def hit_curve(outcomes: Sequence[Outcome], max_k: int) -> list[float]:
    """hit@k for k = 1..max_k over answerable questions with evidence (empty when there are none)."""
    labelled = {o.qid: o.relevant for o in outcomes if o.has_evidence}
    if not labelled or max_k < 1:
        return []
    names = [f"hit@{k}" for k in range(1, max_k + 1)]
    scores = ranking_metrics(labelled, names)  # each a number: `labelled` is not empty
    return [score for name in names if (score := scores[name]) is not None]


def falls_short(name: str, actual: float | None, target: float) -> bool:
    """Is `actual` worse than `target`? Lower-is-better metrics must not exceed it; an unmeasured metric fails."""
    if actual is None:
        return True
    return actual > target if name in LOWER_IS_BETTER else actual < target


@dataclass(frozen=True, slots=True)
class Target:
    """A --fail-under gate: `metric` must reach `value` (or stay at or below it when lower is better)."""

    metric: str
    value: float

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER


@dataclass(frozen=True, slots=True)
class TargetCheck:
    target: Target
    actual: float | None
    passed: bool


def parse_target(text: str) -> Target:
    """Parse "hit@1=0.85" into a Target. Raises ValueError naming the known metrics; "recall@k" means the run's k."""
    name, sep, raw = text.partition("=")
    name = name.strip().lower()
    known = [m if not m.startswith("recall@") else "recall@k" for m in metric_names(0)]
    if not sep:
        raise ValueError(f"expected METRIC=VALUE, e.g. hit@1=0.85, not {text!r}")
    if name not in known and not _RECALL_RE.fullmatch(name):
        raise ValueError(f"unknown metric {name!r}; known metrics: {', '.join(known)}")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not a number") from None
    return Target(name, value)


def resolve_targets(targets: Sequence[Target], k: int) -> list[Target]:
    """Name "recall@k" targets with the run's k. Raises ValueError for a recall cut-off the run does not measure."""
    resolved = []
    for target in targets:
        match = _RECALL_RE.fullmatch(target.metric)
        if match and match.group(1) not in ("k", str(k)):
            raise ValueError(
                f"--fail-under {target.metric}: this run measures recall@{k}; pass -k {match.group(1)} or use recall@{k}"
            )
        resolved.append(Target(f"recall@{k}", target.value) if match else target)
    return resolved


def check_targets(metrics: dict[str, Any], targets: Sequence[Target]) -> tuple[TargetCheck, ...]:
    """Each target with the measured value; a metric that could not be measured fails its target."""
    checks = []
    for target in targets:
        actual = metrics.get(target.metric)
        checks.append(TargetCheck(target, actual, not falls_short(target.metric, actual, target.value)))
    return tuple(checks)
