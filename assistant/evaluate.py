"""Batch evaluation: read a labelled question file, run it through one or more systems, judge every answer.

The question file is JSONL or CSV (`assistant/question_file.py`, re-exported here); every
problem is reported with its line number before anything runs. Systems are the `Assistant` under
a retrieval mode, or the naive baseline; each answers through `answer_batch`, so questions are
embedded in batches.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.fusion import FUSION_MODES
from assistant.metrics import (
    CorpusText,
    Outcome,
    Span,
    Target,
    TargetCheck,
    check_targets,
    hit_curve,
    summarize,
    summarize_by_tag,
)
from assistant.progress import open_progress
from assistant.question_file import LabelledQuestion, QuestionSet
from assistant.records import Answer, AnswersQuestions, Document, Question

# "default": the Assistant with the settings as given; a fusion mode's name: the Assistant with that
# retrieval mode; "naive": the baseline pipeline.
CONFIG_NAMES = ("default", *FUSION_MODES, "naive")
BATCH_SIZE = 32
MAX_CURVE_K = 10


@dataclass(frozen=True, slots=True)
class QuestionResult:
    question: LabelledQuestion
    answer: Answer
    outcome: Outcome


def answer_latency_ms(answer: Answer, fallback_ms: float) -> float:
    """The answer's own time plus its share of the batch embedding: timings_ms "total", else the sum of its stages."""
    timings = answer.timings_ms
    if "total" in timings:
        return float(timings["total"])
    return sum(float(value) for value in timings.values()) if timings else fallback_ms


def judge(
    question: LabelledQuestion,
    answer: Answer,
    corpus: CorpusText,
    latency_ms: float,
    about: Mapping[str, frozenset[str]] | None = None,
) -> QuestionResult:
    """Compare one answer with the labels: relevance by location, verbatim by offsets.

    `about` maps each document to the medicines it is about ("general" documents: every medicine, as
    the empty set); with a `medicine` label, a passage from a document about other medicines only is
    counted in `wrong_medicine`.
    """
    spans = [Span(p.doc_id, p.start, p.end) for p in answer.passages]
    # Abstaining means showing no quotation: an abstained answer misses even if passages came back.
    abstained = answer.abstained or not answer.passages
    relevant = () if abstained else tuple(corpus.is_relevant(s, question.evidence_spans) for s in spans)
    verbatim = tuple(corpus.is_verbatim(s, p.text) for s, p in zip(spans, answer.passages, strict=True))
    outcome = Outcome(
        qid=question.qid,
        tags=question.tags,
        answerable=question.answerable,
        has_evidence=question.answerable is True and bool(question.evidence_spans),
        emergency_expected=question.emergency,
        abstained=abstained,
        emergency=answer.emergency,
        relevant=relevant,
        verbatim=verbatim,
        top_passage_chars=None if abstained else len(answer.passages[0].text),
        top_score=float(answer.top_score),
        latency_ms=latency_ms,
        other_medicine=_other_medicine(question, answer, about) if question.medicine and about is not None else (),
    )
    return QuestionResult(question, answer, outcome)


def _other_medicine(
    question: LabelledQuestion, answer: Answer, about: Mapping[str, frozenset[str]]
) -> tuple[bool, ...]:
    """Per passage shown: from a document about medicines that do not include the one asked about?
    (At least one False entry, so that an answer with no passage still counts as judged.)"""
    flags = tuple(bool(about.get(p.doc_id)) and question.medicine not in about[p.doc_id] for p in answer.passages)
    return flags or (False,)


def document_medicines(documents: Sequence[Document]) -> dict[str, frozenset[str]]:
    """Each document's medicines for `judge`: general documents count as about every medicine; other
    documents without medicines (an unrelated file) as about something else."""
    out: dict[str, frozenset[str]] = {}
    for document in documents:
        if document.kind == "general":
            out[document.doc_id] = frozenset()
        else:
            out[document.doc_id] = frozenset(document.medicines) or frozenset({"(no medicine)"})
    return out


def run_questions(
    system: AnswersQuestions,
    questions: Sequence[LabelledQuestion],
    corpus: CorpusText,
    *,
    label: str = "",
    batch_size: int = BATCH_SIZE,
    show_progress: bool | None = None,
    about: Mapping[str, frozenset[str]] | None = None,
) -> list[QuestionResult]:
    """Answer every question in batches (one embedding call per batch) and judge each answer.

    `show_progress`: progress on stderr, a bar on a terminal and plain lines elsewhere (a log must
    show a long run moving too); None means shown, False hides it (calibration's inner runs).
    """
    results: list[QuestionResult] = []
    progress = open_progress(len(questions), label, enabled=show_progress is not False, stream=sys.stderr)
    try:
        for at in range(0, len(questions), batch_size):
            batch = questions[at : at + batch_size]
            started = time.perf_counter()
            answers = system.answer_batch([Question(q.text, q.history) for q in batch])
            mean_ms = (time.perf_counter() - started) * 1000 / len(batch)
            results.extend(
                judge(q, a, corpus, answer_latency_ms(a, mean_ms), about) for q, a in zip(batch, answers, strict=True)
            )
            progress.update(len(batch))
    finally:
        progress.close()
    return results


@dataclass(frozen=True)
class ConfigRun:
    """The results and metrics of one configuration over the question set."""

    name: str
    config: dict[str, Any]
    results: tuple[QuestionResult, ...]
    metrics: dict[str, Any]
    by_tag: dict[str, dict[str, Any]]
    hit_curve: tuple[float, ...]  # hit@1 .. hit@n, n = most passages any answer returned (at most 10)
    seconds: float


def summarize_run(
    name: str, config: dict[str, Any], results: Sequence[QuestionResult], *, k: int, seconds: float = 0.0
) -> ConfigRun:
    outcomes = [r.outcome for r in results]
    max_k = min(MAX_CURVE_K, max((len(r.answer.passages) for r in results), default=0))
    return ConfigRun(
        name=name,
        config=config,
        results=tuple(results),
        metrics=summarize(outcomes, k=k),
        by_tag=summarize_by_tag(outcomes, k=k),
        hit_curve=tuple(hit_curve(outcomes, max_k)),
        seconds=seconds,
    )


def load_system(
    name: str,
    settings: Settings,
    embedder: Embedder,
    documents: Sequence[Document],
    progress: Callable[[str], None] = lambda message: None,
) -> tuple[AnswersQuestions, dict[str, Any]]:
    """The system behind a config name, and its description for the report.

    "default" is the Assistant with `settings`; a name of `FUSION_MODES` the Assistant with that
    retrieval mode; "naive" the baseline pipeline.
    """
    from assistant.baseline import NaiveBaseline
    from assistant.engine import Assistant

    if name not in CONFIG_NAMES:
        raise ValueError(f"unknown configuration {name!r}; known: {', '.join(CONFIG_NAMES)}")
    if name == "naive":
        baseline = NaiveBaseline(documents, embedder, settings)
        return baseline, baseline.describe()
    chosen = settings if name == "default" else settings.replace(retrieval=name)
    return Assistant.load(chosen, embedder=embedder, progress=progress), {"name": name, **chosen.public_dict()}


@dataclass(frozen=True)
class EvalReport:
    """Everything one `eval` run produced; `runs[0]` is the main configuration."""

    created_at: str
    questions_file: str
    k: int
    min_score: float | None
    runs: tuple[ConfigRun, ...]
    targets: tuple[TargetCheck, ...] = ()
    skipped_invalid: int = 0
    problems: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> ConfigRun:
        return self.runs[0]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.targets)


def evaluate(
    questions: QuestionSet,
    documents: Sequence[Document],
    settings: Settings,
    embedder_factory: Callable[[], Embedder],
    *,
    configs: Sequence[str] = ("default",),
    targets: Sequence[Target] = (),
    questions_file: str = "",
    provenance: dict[str, Any] | None = None,
    progress: Callable[[str], None] = lambda message: None,
    show_progress: bool | None = None,
) -> EvalReport:
    """Run the questions through each configuration (one shared model) and check the targets on the first."""
    corpus = CorpusText({d.doc_id: d.text for d in documents})
    embedder = embedder_factory()
    k = settings.top_k
    from assistant.engine import Assistant
    from assistant.medicines import MedicineNames
    from assistant.store import with_medicines

    about = document_medicines(with_medicines(documents, MedicineNames.load()))
    runs = []
    min_score = settings.min_score
    for name in configs:
        progress(f"Loading configuration {name}")
        system, config = load_system(name, settings, embedder, documents, progress)
        if isinstance(system, Assistant):  # the threshold it uses, and where it came from
            config = {**config, "min_score": system.min_score, "min_score_source": system.min_score_source}
            min_score = system.min_score if min_score is None else min_score
        started = time.perf_counter()
        results = run_questions(
            system, questions.questions, corpus, label=name, show_progress=show_progress, about=about
        )
        runs.append(summarize_run(name, config, results, k=k, seconds=time.perf_counter() - started))
    return EvalReport(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        questions_file=questions_file,
        k=k,
        min_score=min_score,
        runs=tuple(runs),
        targets=check_targets(runs[0].metrics, targets),
        skipped_invalid=questions.skipped,
        problems=questions.problems,
        provenance=provenance or {},
    )
