"""Passages + safety assessment -> the Answer shown to the user. Pure: no model, no files.

Order of what a person sees (SAFETY.md): urgent notices first (RED, CRISIS, POISON), then topic
cautions (AMBER, INFO), then the quoted passages or the honest "not found" message, then the
standing disclaimer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

from assistant.records import LEVEL_ORDER, Answer, Document, Passage
from assistant.safety import SafetyAssessment, SafetyMessages


def compose_answer(
    *,
    question: str,
    condensed_query: str,
    passages: Sequence[Passage],
    safety: SafetyAssessment,
    messages: SafetyMessages,
    documents: Sequence[Document],
    small_talk: bool = False,
    reason: str = "",
    top_score: float = 0.0,
    timings_ms: Mapping[str, float] | None = None,
) -> Answer:
    """Assemble the answer. `passages` is empty when retrieval found nothing that answers."""
    notices = tuple(sorted(safety.notices, key=lambda n: LEVEL_ORDER.index(n.level)))
    if safety.suppress_passages:
        passages, kind, message = (), "emergency_only", ""
        reason = reason or "crisis: nothing is quoted"
    elif small_talk:
        passages, kind, message = (), "help", messages.help_reply
        reason = "greeting or question about the assistant"
    elif not passages and safety.emergency:
        # The urgent notice says what to do; "please ask your pharmacist" under it would only distract.
        kind, message = "emergency_only", ""
    elif not passages:
        kind, message = "not_found", messages.not_found
    else:
        kind, message, reason = "answer", "", ""
    flagged = tuple(replace(p, unverified=messages.unverified_reasons(p.text)) for p in passages)
    quoted_ids = {p.doc_id for p in flagged}
    cited = [d for d in documents if d.doc_id in quoted_ids] or list(documents)
    return Answer(
        question=question,
        condensed_query=condensed_query,
        passages=flagged,
        abstained=not flagged,
        emergency=safety.emergency,
        notices=notices,
        disclaimer=messages.disclaimer(cited),
        message=message,
        kind=kind,
        top_score=top_score,
        reason=reason,
        timings_ms=dict(timings_ms or {}),
    )
