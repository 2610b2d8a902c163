"""Do the retrieved passages really answer the question? The honest-"not found" decision.

Every refusal here is read from the passages retrieved for the question (from the documents about
its medicine), never from a keyword alone:

- score: the best passage scores below the calibrated threshold (`min_score`): nothing is close;
- topic: the question is on a medicine-information topic (assistant/topics.py: pregnancy, doses,
  storage, ...) and no retrieved passage shows it in the documents' own words;
- partner: it asks about taking the medicine together with another one ("with oxycodone?") and no
  retrieved passage names that medicine, its ingredients, brands or class;
- amount: it asks "how many / how often / how long" and no close passage gives a number.

When a passage does show what is asked, it is moved first, so the quote answers the question rather
than a passage that only shares its words. `Decision` carries the refusal reason (for reports) and
what to name in the "not found" message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from assistant.partners import Partner
from assistant.records import Chunk
from assistant.retrieval import Candidate
from assistant.topics import Topic, TopicReading, shows_topic

# "How many / how much / how often / how long ...?" and "what is the (usual) dose / price ...?":
# the answer is an amount. Examples that must and must not match: tests/test_answerability.py.
AMOUNT_QUESTION = re.compile(
    r"^\s*(?:so\s+|and\s+|but\s+)?(?:how\s+(?:many|much|often|long|frequently|soon|quickly)\b(?!\s+(?:should i stay|can i stay))"
    r"|what(?:'s|s| is| are)?\s+(?:the\s+)?(?:usual\s+|normal\s+|right\s+|correct\s+|max(?:imum)?\s+|starting\s+|recommended\s+)*"
    r"(?:dose|dosage|amount|half[- ]life|price|cost)\b)",
    re.IGNORECASE,
)
# An amount, a frequency or a duration ("10 mg", "twice daily", "for two weeks").
NUMBER = re.compile(
    r"\d|\b(?:once|twice|daily|hourly|weekly|(?:one|two|three|four|five|six|seven|eight|nine|ten|several|few)\s+"
    r"(?:times|hours?|days?|weeks?|months?|years?|tablets?|doses?))\b",
    re.IGNORECASE,
)
# How deep in the ranking a passage with a number may be and still be the answer to "how many".
EVIDENCE_DEPTH = 10


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to quote, and the candidates in the order to quote them."""

    answerable: bool
    candidates: tuple[Candidate, ...]
    reason: str = ""  # why not (evaluation reports)
    topic: Topic | None = None  # the topic not covered, for the "not found" message
    partner: str = ""  # the partner not covered, for the "not found" message


def decide(
    question: str,
    candidates: Sequence[Candidate],
    *,
    min_score: float,
    topics: TopicReading = TopicReading(),
    partners: Sequence[Partner] = (),
    citations: Sequence[Topic] = (),
    uncovered: frozenset[str] = frozenset(),
    topic_bonus: float = 0.1,
    margin: float = 0.1,
) -> Decision:
    """Decide for `question` (condensed, typo-corrected) given its ranked candidates (`Retriever.rank`).

    Args:
        topics: the question's topics, most likely first, and whether a missing one means "not covered"
            (TopicDetector.detect).
        partners: other medicines it asks to combine with the subject.
        citations: topics whose passages are citations (a reference list): put last unless asked for.
        uncovered: names of topics that no passage of the medicine's documents shows at all.
        topic_bonus: added to the score of passages that show the question's topic.
        margin: for amount questions, how far below the best a passage with a number may score.
    """
    ranked = list(candidates)
    for citation in citations:
        if citation not in topics.topics:
            cited = [c for c in ranked if shows_topic(citation, c.chunk)]
            ranked = _first([c for c in ranked if c not in cited], ranked)

    if topics.topics and not partners:
        first = topics.topics[0]
        if first.name in uncovered and topics.refusable_if_absent:
            # No passage of the medicine's documents shows the topic at all: they do not cover it.
            return Decision(
                False, tuple(ranked), f"no document about the medicine shows the topic {first.name}", topic=first
            )
        # The model read the question as on these topics: passages that show one get a bonus (the
        # caller adds the scope's passages on the topic to the candidates, however they scored).
        showing = {c.chunk_index for c in ranked if any(shows_topic(t, c.chunk) for t in topics.topics)}
        boosted = [replace(c, score=c.score + topic_bonus) if c.chunk_index in showing else c for c in ranked]
        ranked = _first(
            [c for c in boosted if c.chunk_index in showing and c.score >= min_score],
            sorted(boosted, key=lambda c: -c.score),
        )
        if not (ranked and ranked[0].chunk_index in showing and ranked[0].score >= min_score) and topics.refusable:
            return Decision(
                False,
                tuple(ranked),
                f"no passage scoring above the threshold shows the topic {first.name}",
                topic=first,
            )

    if not ranked or ranked[0].score < min_score:
        best = ranked[0].score if ranked else 0.0
        return Decision(False, tuple(ranked), f"best score {best:.2f} below threshold {min_score:.2f}")
    pool = [c for c in ranked if c.score >= min_score]

    for partner in partners:
        naming = [c for c in pool if names_partner(partner, c.chunk)]
        if not naming:
            return Decision(False, tuple(ranked), f"no passage names {partner.name}", partner=partner.name)
        ranked = _first(naming, ranked)
        pool = _first([c for c in naming if c in pool], pool)

    if AMOUNT_QUESTION.search(question) and not NUMBER.search(ranked[0].chunk.text):
        numbered = [
            c for c in pool[:EVIDENCE_DEPTH] if NUMBER.search(c.chunk.text) and c.score >= ranked[0].score - margin
        ]
        if not numbered:
            return Decision(False, tuple(ranked), "asks for an amount or time, and no close passage gives one")
        ranked = _first(numbered[:1], ranked)
    return Decision(True, tuple(ranked))


def _first(preferred: Sequence[Candidate], ranked: Sequence[Candidate]) -> list[Candidate]:
    """`ranked` with the `preferred` candidates moved to the front, each group keeping its order."""
    chosen = {c.chunk_index for c in preferred}
    return [c for c in ranked if c.chunk_index in chosen] + [c for c in ranked if c.chunk_index not in chosen]


def names_partner(partner: Partner, chunk: Chunk) -> bool:
    """Does the passage (or its section heading) name the partner (a plural "s" or "es" allowed)?"""
    return partner.named_in(chunk)
