"""Answer <-> JSON. One shape for `baclofen-qa ask --json`, the web API and evaluation reports."""

from __future__ import annotations

from typing import Any

from assistant.records import Answer, Notice, Passage


def passage_to_dict(passage: Passage) -> dict[str, Any]:
    return {
        "text": passage.text,
        "source": passage.source,
        "doc_id": passage.doc_id,
        "section": passage.section,
        "start": passage.start,
        "end": passage.end,
        "score": round(float(passage.score), 4),
        "highlight": [passage.highlight_start, passage.highlight_end],
        "unverified": list(passage.unverified),
        "source_kind": passage.source_kind,
    }


def notice_to_dict(notice: Notice) -> dict[str, Any]:
    return {"level": notice.level, "category": notice.category, "title": notice.title, "text": notice.text}


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    """The JSON shape of `baclofen-qa ask --json` (keys documented in the README)."""
    return {
        "question": answer.question,
        "condensed_query": answer.condensed_query,
        "kind": answer.kind,
        "abstained": answer.abstained,
        "emergency": answer.emergency,
        "notices": [notice_to_dict(n) for n in answer.notices],
        "message": answer.message,
        "passages": [passage_to_dict(p) for p in answer.passages],
        "disclaimer": answer.disclaimer,
        "short_disclaimer": answer.short_disclaimer,
        "top_score": round(float(answer.top_score), 4),
        "reason": answer.reason,
        "medicine": answer.medicine,
        "timings_ms": {k: round(float(v), 2) for k, v in answer.timings_ms.items()},
    }


def answer_from_dict(data: dict[str, Any]) -> Answer:
    """Rebuild an Answer from its JSON shape (e.g. a result in report.json)."""
    passages = tuple(
        Passage(
            text=p["text"],
            doc_id=p.get("doc_id", ""),
            source=p["source"],
            section=p.get("section", ""),
            start=int(p["start"]),
            end=int(p["end"]),
            score=float(p.get("score", 0.0)),
            highlight_start=int(p.get("highlight", [0, 0])[0]),
            highlight_end=int(p.get("highlight", [0, 0])[1]),
            unverified=tuple(p.get("unverified", ())),
            source_kind=p.get("source_kind", "other"),
        )
        for p in data.get("passages", [])
    )
    notices = tuple(
        Notice(n["level"], n.get("category", ""), n.get("title", ""), n["text"]) for n in data.get("notices", [])
    )
    return Answer(
        question=data["question"],
        condensed_query=data.get("condensed_query", data["question"]),
        passages=passages,
        abstained=bool(data["abstained"]),
        emergency=bool(data["emergency"]),
        notices=notices,
        disclaimer=data.get("disclaimer", ""),
        short_disclaimer=data.get("short_disclaimer", ""),
        message=data.get("message", ""),
        kind=data.get("kind", "answer"),
        top_score=float(data.get("top_score", 0.0)),
        medicine=str(data.get("medicine", "")),
        reason=data.get("reason", ""),
        timings_ms=dict(data.get("timings_ms", {})),
    )
