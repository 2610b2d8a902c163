"""Passages + safety assessment -> the Answer shown to the user. Pure: no model, no files.

Order of what a person sees (SAFETY.md): urgent notices first (RED, CRISIS, POISON), then topic
cautions (AMBER, INFO), then the quoted passages or the honest "not found" message, then the
standing disclaimer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from assistant.records import LEVEL_ORDER, Answer, Document, Notice, Passage
from assistant.safety import SafetyAssessment, SafetyMessages, personalise


@dataclass(frozen=True, slots=True)
class NotFound:
    """What the honest "not found" message names: the medicine asked about, and what is not covered."""

    medicine: str = ""
    topic: str = ""  # a topic label no passage shows ("pregnancy or breastfeeding")
    partner: str = ""  # a medicine to take together that no passage names
    medicine_absent: bool = False  # no document is about the medicine at all

    def message(self, messages: SafetyMessages) -> str:
        if self.medicine_absent:
            return personalise(messages.not_found_medicine, self.medicine)
        if self.partner:
            return personalise(messages.not_found_partner, self.medicine, partner=self.partner)
        if self.topic:
            return personalise(messages.not_found_topic, self.medicine, topic=self.topic)
        return messages.not_found


def compose_answer(
    *,
    question: str,
    condensed_query: str,
    passages: Sequence[Passage],
    safety: SafetyAssessment,
    messages: SafetyMessages,
    documents: Sequence[Document],
    reason: str = "",
    not_found: NotFound = NotFound(),
    top_score: float = 0.0,
    timings_ms: Mapping[str, float] | None = None,
) -> Answer:
    """Assemble the answer. `passages` is empty when retrieval found nothing that answers."""
    medicine = not_found.medicine
    notices = tuple(
        _for_medicine(n, medicine) for n in sorted(safety.notices, key=lambda n: LEVEL_ORDER.index(n.level))
    )
    if safety.suppress_passages:
        passages, kind, message = (), "emergency_only", ""
        reason = reason or "crisis: nothing is quoted"
    elif safety.small_talk:
        passages, kind, message = (), "help", personalise(messages.help_reply, medicine)
        reason = "greeting or question about the assistant"
    elif not passages and safety.emergency:
        # The urgent notice says what to do; "please ask your pharmacist" under it would only distract.
        kind, message = "emergency_only", ""
    elif not passages:
        kind, message = "not_found", not_found.message(messages)
    else:
        kind, message, reason = "answer", "", ""
    flagged = tuple(replace(p, unverified=messages.unverified_reasons(p.text)) for p in passages)
    quoted_ids = {p.doc_id for p in flagged}
    cited = [d for d in documents if d.doc_id in quoted_ids]
    return Answer(
        question=question,
        condensed_query=condensed_query,
        passages=flagged,
        abstained=not flagged,
        emergency=safety.emergency,
        notices=notices,
        disclaimer=messages.crisis_disclaimer() if safety.suppress_passages else messages.disclaimer(cited, medicine),
        short_disclaimer=(
            messages.crisis_disclaimer() if safety.suppress_passages else messages.short_disclaimer(cited, medicine)
        ),
        message=message,
        kind=kind,
        top_score=top_score,
        reason=reason,
        medicine=not_found.medicine,
        timings_ms=dict(timings_ms or {}),
    )


def _for_medicine(notice: Notice, medicine: str) -> Notice:
    """The notice with the medicine asked about in its words ("Don't stop tizanidine suddenly")."""
    return replace(notice, title=personalise(notice.title, medicine), text=personalise(notice.text, medicine))
