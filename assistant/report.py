"""An evaluation run -> report.json, results.csv, report.md and two PNG plots, replaced as one unit.

`check_output_folder` proves the folder writable before any work; `write_report` replaces the
five files together (`assistant/output_folder.py`), so the folder holds all of the new report or
all of the old one, never a mix.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.evaluate import ConfigRun, EvalReport, QuestionResult
from assistant.metrics import LOWER_IS_BETTER, hit_rank, metric_names
from assistant.output_folder import probe_folder, replace_files
from assistant.serialize import answer_to_dict
from assistant.version import build_info

REPORT_FILES = ("results.csv", "report.md", "scores.png", "hit_at_k.png", "report.json")
MAX_FAILURES = 15
# Per metric: the count it is measured over, and what it means to a reader of report.md.
METRIC_HELP = {
    "hit@1": ("n_with_evidence", "a relevant passage is shown first"),
    "hit@3": ("n_with_evidence", "a relevant passage is among the first 3"),
    "mrr@5": ("n_with_evidence", "mean of 1/rank of the first relevant passage (0 when none in the first 5)"),
    "ndcg@5": ("n_with_evidence", "mean of 1/log2(1 + rank) of the first relevant passage within 5"),
    "recall@k": ("n_with_evidence", "a relevant passage is among the first k"),
    "abstain": ("n_unanswerable", "questions the documents do not answer: said so instead of quoting"),
    "wrong_abstain": ("n_answerable", "questions the documents answer: wrongly said not found"),
    "emergency_recall": ("n_emergency", "emergencies: an urgent notice was shown"),
    "false_alarm": ("n_not_emergency", "not emergencies: an urgent notice was shown anyway"),
    "wrong_medicine": (
        "n_medicine_labelled",
        "answers quoting a document about another medicine than the one asked about",
    ),
    "verbatim": ("n_passages", "passages identical to the document text at their offsets"),
    "top_passage_chars": ("n_answered", "mean length of the first passage, in characters"),
    "latency_p50_ms": ("n_questions", "median time to answer one question, ms"),
    "latency_p95_ms": ("n_questions", "95th percentile time to answer one question, ms"),
}
COUNT_LABELS = {
    "n_with_evidence": "answerable with evidence",
    "n_unanswerable": "unanswerable",
    "n_answerable": "answerable",
    "n_emergency": "emergencies",
    "n_not_emergency": "not emergencies",
    "n_passages": "passages",
    "n_answered": "answered",
    "n_questions": "questions",
    "n_medicine_labelled": "labelled with a medicine",
}
TAG_COLUMNS = ("hit@1", "hit@3", "mrr@5", "wrong_abstain", "abstain", "emergency_recall", "false_alarm")
FAILURE_KINDS = (
    ("emergency_missed", "Emergency missed"),
    ("answered_unanswerable", "Quoted although the documents do not answer it"),
    ("wrongly_abstained", 'Said "not found" although the documents answer it'),
    ("no_relevant_passage", "No relevant passage shown"),
    ("relevant_not_first", "Relevant passage not shown first"),
    ("false_alarm", "Urgent notice without an emergency"),
)


def _help_key(name: str) -> str:
    return "recall@k" if name.startswith("recall@") else name


def format_value(name: str, value: Any) -> str:
    if value is None:
        return "–"
    if name.startswith("latency") or name == "top_passage_chars":
        return f"{value:.1f}" if name.startswith("latency") else f"{value:.0f}"
    if name.startswith("n_"):
        return str(int(value))
    return f"{value:.3f}"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def provenance(settings: Settings, corpus_fingerprints: dict[str, str], questions_file: Path) -> dict[str, Any]:
    """Corpus fingerprints (of what was read: `Corpus.fingerprints`), the question file's sha256, the code's
    version and git commit and the library versions (`assistant/version.py`), so a figure can be traced."""
    info = build_info()
    return {
        "corpus_dir": str(settings.corpus_dir),
        "corpus_fingerprints": corpus_fingerprints,
        "questions_sha256": hashlib.sha256(Path(questions_file).read_bytes()).hexdigest(),
        "git_commit": info.commit,
        "versions": info.as_dict(),
    }


def result_to_dict(result: QuestionResult) -> dict[str, Any]:
    """One question in report.json: the full answer (as `ask --json` prints it) plus labels and judgement."""
    q, o = result.question, result.outcome
    return {
        "id": q.qid,
        **answer_to_dict(result.answer),
        "history": list(q.history),
        "tags": list(q.tags),
        "answerable": q.answerable,
        "evidence": list(q.evidence),
        "emergency_expected": q.emergency,
        "medicine_expected": q.medicine,
        "hit_rank": hit_rank(o.relevant),
        "relevant": list(o.relevant),
        "verbatim": list(o.verbatim),
        "latency_ms": round(o.latency_ms, 2),
    }


def report_to_dict(report: EvalReport) -> dict[str, Any]:
    main = report.main
    data: dict[str, Any] = {
        "created_at": report.created_at,
        "questions_file": report.questions_file,
        "k": report.k,
        "metrics": main.metrics,
        "by_tag": main.by_tag,
        "config": {**main.config, "name": main.name, **report.provenance},
        "targets": [
            {
                "metric": c.target.metric,
                "target": c.target.value,
                "actual": c.actual,
                "passed": c.passed,
                "lower_is_better": c.target.lower_is_better,
            }
            for c in report.targets
        ],
        "passed": report.passed,
        "hit_at_k": {run.name: list(run.hit_curve) for run in report.runs},
        "skipped_invalid": report.skipped_invalid,
        "problems": list(report.problems),
    }
    if len(report.runs) > 1:
        data["compare"] = {run.name: run.metrics for run in report.runs}
        data["compare_configs"] = {run.name: run.config for run in report.runs}
    data["results"] = [result_to_dict(r) for r in main.results]
    return data


def results_csv(run: ConfigRun) -> str:
    """One row per question, for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "id",
            "question",
            "history",
            "tags",
            "answerable",
            "emergency_expected",
            "abstained",
            "emergency",
            "kind",
            "hit_rank",
            "n_passages",
            "top_score",
            "top_source",
            "top_section",
            "top_passage",
            "notices",
            "all_verbatim",
            "latency_ms",
        ]
    )
    for r in run.results:
        q, o, a = r.question, r.outcome, r.answer
        top = a.passages[0] if a.passages else None
        writer.writerow(
            [
                q.qid,
                q.text,
                "|".join(q.history),
                "|".join(q.tags),
                q.answerable,
                q.emergency,
                o.abstained,
                o.emergency,
                a.kind,
                hit_rank(o.relevant) or "",
                len(a.passages),
                round(o.top_score, 4),
                top.source if top else "",
                top.section if top else "",
                top.text if top else "",
                "|".join(f"{n.level}: {n.title}" for n in a.notices),
                all(o.verbatim),
                round(o.latency_ms, 2),
            ]
        )
    return out.getvalue()


def _metric_rows(report: EvalReport) -> list[str]:
    checks = {c.target.metric: c for c in report.targets}
    rows = ["| Metric | Value | Target | Result | Measured on | What it means |", "|---|---|---|---|---|---|"]
    metrics = report.main.metrics
    for name in metric_names(report.k):
        count_key, meaning = METRIC_HELP[_help_key(name)]
        check = checks.get(name)
        target = result = ""
        if check:
            target = ("≤ " if check.target.lower_is_better else "≥ ") + format_value(name, check.target.value)
            result = "pass" if check.passed else "**FAIL**"
        meaning = meaning.replace("first k", f"first {report.k}")
        lower = " (lower is better)" if name in LOWER_IS_BETTER else ""
        measured = f"{metrics[count_key]} {COUNT_LABELS[count_key]}"
        value = format_value(name, metrics[name])
        rows.append(f"| {name} | {value} | {target} | {result} | {measured} | {meaning}{lower} |")
    return rows


def _compare_rows(report: EvalReport) -> list[str]:
    names = [run.name for run in report.runs]
    rows = ["| Metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name in (*metric_names(report.k), "n_questions"):
        rows.append(f"| {name} | " + " | ".join(format_value(name, run.metrics[name]) for run in report.runs) + " |")
    return rows


def _tag_rows(run: ConfigRun) -> list[str]:
    rows = ["| Tag | n | " + " | ".join(TAG_COLUMNS) + " |", "|---" * (len(TAG_COLUMNS) + 2) + "|"]
    for tag, metrics in run.by_tag.items():
        values = " | ".join(format_value(name, metrics[name]) for name in TAG_COLUMNS)
        rows.append(f"| {_cell(tag)} | {metrics['n_questions']} | {values} |")
    return rows


def failure_kind(result: QuestionResult) -> str | None:
    """The most serious way this answer went wrong, or None."""
    q, o = result.question, result.outcome
    if q.emergency is True and not o.emergency:
        return "emergency_missed"
    if q.answerable is False and not o.abstained:
        return "answered_unanswerable"
    if q.answerable is True and o.abstained:
        return "wrongly_abstained"
    rank = hit_rank(o.relevant)
    if o.has_evidence and rank is None:
        return "no_relevant_passage"
    if o.has_evidence and rank is not None and rank > 1:
        return "relevant_not_first"
    if q.emergency is False and o.emergency:
        return "false_alarm"
    return None


def worst_failures(run: ConfigRun, limit: int = MAX_FAILURES) -> list[tuple[str, QuestionResult]]:
    """Up to `limit` failures, taking turns between kinds in order of seriousness so every kind shows."""
    by_kind: dict[str, list[QuestionResult]] = {kind: [] for kind, _ in FAILURE_KINDS}
    for result in run.results:
        kind = failure_kind(result)
        if kind:
            by_kind[kind].append(result)
    # Confident wrong quotations first.
    by_kind["answered_unanswerable"].sort(key=lambda r: -r.outcome.top_score)
    chosen: list[tuple[str, QuestionResult]] = []
    depth = 0
    while len(chosen) < limit and any(len(items) > depth for items in by_kind.values()):
        for kind, items in by_kind.items():
            if depth < len(items) and len(chosen) < limit:
                chosen.append((kind, items[depth]))
        depth += 1
    return chosen


def _failure_block(number: int, kind: str, result: QuestionResult) -> list[str]:
    q, a = result.question, result.answer
    lines = [f"### {number}. {dict(FAILURE_KINDS)[kind]}: `{q.qid}`", "", f"- **Question:** {_shorten(q.text, 300)}"]
    if q.history:
        lines.append("- **Earlier questions:** " + " → ".join(_shorten(h, 120) for h in q.history))
    if a.condensed_query and a.condensed_query != a.question:
        lines.append(f"- **Searched for:** {_shorten(a.condensed_query, 200)}")
    expected = []
    if q.emergency is True:
        expected.append("an urgent notice")
    if q.answerable is False:
        expected.append("no quotation (the documents do not answer this)")
    if q.evidence:
        more = f" (or {len(q.evidence) - 2} more)" if len(q.evidence) > 2 else ""
        expected.append("a passage containing " + " or ".join(f"“{_shorten(e, 160)}”" for e in q.evidence[:2]) + more)
    lines.append("- **Expected:** " + ("; ".join(expected) or "–"))
    returned = [f"{n.level} notice “{_shorten(n.title, 80)}”" for n in a.notices]
    if result.outcome.abstained:
        returned.append("no passage" + (f": “{_shorten(a.message, 160)}”" if a.message else ""))
        if a.reason:
            returned.append(f"why: {_shorten(a.reason, 160)}")
    else:
        top = a.passages[0]
        where = ", ".join(part for part in (top.source, top.section) if part)
        returned.append(f"“{_shorten(top.text, 300)}” ({_shorten(where, 80)}; score {top.score:.2f})")
        rank = hit_rank(result.outcome.relevant)
        if rank:
            returned.append(f"first relevant passage at rank {rank}")
    lines += ["- **Returned:** " + "; ".join(returned), ""]
    return lines


def render_markdown(report: EvalReport) -> str:
    """report.md: what was run, the metrics with targets, the comparison, per tag, then the worst failures."""
    main = report.main
    config = main.config
    fingerprints = report.provenance.get("corpus_fingerprints", {})
    versions = report.provenance.get("versions", {})
    setting_keys = ("retrieval", "top_k", "min_score", "model", "chunk_max_chars", "chunk_overlap_sentences")
    lines = [
        "# Evaluation report",
        "",
        f"- **When:** {report.created_at}",
        f"- **Questions:** {report.questions_file} ({main.metrics['n_questions']} questions"
        + (f"; {report.skipped_invalid} invalid line(s) skipped" if report.skipped_invalid else "")
        + ")",
        f"- **Configuration:** {main.name} ("
        + ", ".join(f"{key} {config[key]}" for key in setting_keys if key in config)
        + ")",
        "- **Corpus:** " + (", ".join(f"{doc} (sha256 {digest[:12]})" for doc, digest in fingerprints.items()) or "–"),
        f"- **Commit:** {report.provenance.get('git_commit') or 'unknown'}",
        "- **Versions:** "
        + (", ".join(f"{name} {version}" for name, version in versions.items() if name != "commit") or "unknown"),
    ]
    if report.targets:
        failed = [c.target.metric for c in report.targets if not c.passed]
        lines.append("- **Targets:** " + (f"missed: {', '.join(failed)}" if failed else "all met"))
    lines += ["", "## Metrics", "", *_metric_rows(report), ""]
    lines += [
        "A passage is relevant when its place in the documents overlaps an expected evidence string by at least",
        "half of the shorter of the two (whitespace folded), so any chunking is judged the same way.",
        "“No passage” (abstaining) counts as a miss for answerable questions.",
        "",
    ]
    if len(report.runs) > 1:
        lines += ["## Configurations compared", "", *_compare_rows(report), ""]
    lines += ["## By tag", "", *_tag_rows(main), ""]
    lines += ["## Plots", "", "![Top score by label](scores.png)", "", "![hit@k](hit_at_k.png)", ""]
    failures = worst_failures(main)
    lines += ["## Worst failures", ""]
    counts = Counter(failure_kind(result) for result in main.results)
    if failures:
        lines += [
            "Counts: "
            + "; ".join(f"{label.lower()} {counts[kind]}" for kind, label in FAILURE_KINDS)
            + f". Up to {MAX_FAILURES} are shown, taking turns between kinds, most serious kind first.",
            "",
        ]
    else:
        lines += ["None: every labelled question was handled as expected.", ""]
    for number, (kind, result) in enumerate(failures, 1):
        lines += _failure_block(number, kind, result)
    return "\n".join(lines).rstrip() + "\n"


def format_console(report: EvalReport) -> str:
    """The metrics as a plain-text table (one column per configuration, targets on the first)."""
    checks = {c.target.metric: c for c in report.targets}
    header = ["metric", *(run.name for run in report.runs)] + (["target", ""] if checks else [])
    rows = [header]
    for name in (*metric_names(report.k), "n_questions", "n_with_evidence", "n_unanswerable", "n_emergency"):
        row = [name, *(format_value(name, run.metrics[name]) for run in report.runs)]
        if checks:
            check = checks.get(name)
            if check:
                sign = "<= " if check.target.lower_is_better else ">= "
                row += [sign + format_value(name, check.target.value), "ok" if check.passed else "FAIL"]
            else:
                row += ["", ""]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def plot_scores(run: ConfigRun, min_score: float | None, path: Path) -> None:
    """Histogram of the best retrieval score for answerable vs unanswerable questions, with the abstention threshold."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = {
        "answerable": [r.outcome.top_score for r in run.results if r.question.answerable is True],
        "unanswerable": [r.outcome.top_score for r in run.results if r.question.answerable is False],
    }
    # top_score is the value compared with min_score: the best candidate, also when nothing was quoted.
    figure = Figure(figsize=(7, 4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    scores = [s for values in groups.values() for s in values]
    if scores:
        low, high = min(scores + [min_score or scores[0]]), max(scores + [min_score or scores[0]])
        bins = [low + (high - low) * i / 30 for i in range(31)] if high > low else 10
        for label, values in groups.items():
            axes.hist(values, bins=bins, alpha=0.6, label=f"{label} (n={len(values)})")
    else:
        axes.text(0.5, 0.5, "no scores to show", ha="center", va="center", transform=axes.transAxes)
    if min_score is not None:
        axes.axvline(min_score, color="black", linestyle="--", label=f"min_score {min_score:g} (abstain below)")
    axes.set_xlabel("best retrieval score (the value compared with min_score)")
    axes.set_ylabel("questions")
    axes.set_title(f"Best retrieval score per question, {run.name}")
    axes.legend(loc="upper left", fontsize="small")
    figure.savefig(path, dpi=110)


def plot_hit_at_k(runs: Sequence[ConfigRun], path: Path) -> None:
    """hit@k for k = 1.. the most passages each configuration returned (at most 10)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(7, 4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    drawn = False
    for run in runs:
        if run.hit_curve:
            ks = list(range(1, len(run.hit_curve) + 1))
            axes.plot(ks, run.hit_curve, marker="o", label=run.name)
            drawn = True
    if drawn:
        axes.legend(loc="lower right", fontsize="small")
    else:
        axes.text(0.5, 0.5, "no answerable questions with evidence", ha="center", va="center", transform=axes.transAxes)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("k (passages shown; each line stops at the most its configuration returns)")
    axes.set_ylabel("hit@k (share of answerable questions)")
    axes.set_title("A relevant passage within the first k")
    figure.savefig(path, dpi=110)


def check_output_folder(out_dir: Path) -> None:
    """Prove that `out_dir` can take the report (a real write), before any work is done.

    Raises:
        OutputFolderError: what is in the way, and what to do.
    """
    probe_folder(Path(out_dir), REPORT_FILES)


def write_report(report: EvalReport, out_dir: Path) -> list[Path]:
    """Write every report file into `out_dir`, replacing the previous report as one unit; returns their paths.

    Raises:
        OutputFolderError: the report could not be written; the previous report, if any, is unchanged.
    """
    return replace_files(Path(out_dir), REPORT_FILES, lambda folder: _write_files(report, folder))


def _write_files(report: EvalReport, folder: Path) -> None:
    (folder / "results.csv").write_text(results_csv(report.main), encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(report), encoding="utf-8")
    main = report.main
    plot_scores(main, None if main.name == "naive" else report.min_score, folder / "scores.png")
    plot_hit_at_k(report.runs, folder / "hit_at_k.png")
    with open(folder / "report.json", "w", encoding="utf-8") as handle:
        json.dump(report_to_dict(report), handle, ensure_ascii=False, indent=1)
