"""Does the best passage really answer the question? The honest-"not found" checks.

On-topic questions the documents do not answer ("what is the half-life?", "how many mg?",
"can I drink beer on it?") still find passages that look close, because the medicine's name
and the medical vocabulary match. These checks look at what the question asks for:

- topics: the question is about a standard medicine-information topic (pregnancy, doses in
  mg, storage, price, ...) that the documents never cover (see `[topics]` in vocabulary.toml);
- medicines: it names a medicine whose name and class the documents never mention ("ibuprofen");
- a score below the calibrated threshold: nothing is close enough;
- answer type: a question asking for an amount ("how many mg", "how often") needs a
  passage with a number in it;
- combinations: "X with baclofen?" needs a passage about interactions that names X or its class.

Each check returns a short reason (shown in evaluation reports), or None when it passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from assistant.lexicon import QueryTerms, Topic, normalise, words

AMOUNT_QUESTION = re.compile(
    r"^\s*(?:so\s+|and\s+|but\s+)?(?:how\s+(?:many|much|often|long|frequently|soon|quickly)\b"
    r"|what(?:'s| is| are)?\s+(?:the\s+)?(?:usual\s+|normal\s+|right\s+|correct\s+|max(?:imum)?\s+|starting\s+|recommended\s+)*"
    r"(?:dose|dosage|amount|half[- ]life|price|cost)\b|how\s+much\s+does\b)",
    re.IGNORECASE,
)
# An amount, a frequency or a duration ("10 mg", "twice daily", "for two weeks").
NUMBER = re.compile(
    r"\d|\b(?:once|twice|daily|hourly|weekly|(?:one|two|three|four|five|six|seven|eight|nine|ten|several|few)\s+"
    r"(?:times|hours?|days?|weeks?|months?|years?|tablets?|doses?))\b",
    re.IGNORECASE,
)
# "with", "and", "on", "mix", "together": the question is about taking two things at once.
COMBINATION = re.compile(r"\b(?:with|and|on|plus|mix(?:ed|ing)?|together|combin\w*|while (?:on|taking))\b|\+", re.IGNORECASE)
SUBSTANCE_WORDS = frozenset("alcohol beer beers wine booze drink drinks drinking vodka whiskey liquor".split())
# "help with drinking", "for alcohol addiction": the substance is what is treated, not a combination.
TREATMENT_CONTEXT = re.compile(
    r"\b(?:help|helps|treat\w*|cure\w*|for|addict\w*|dependen\w*|craving\w*|alcoholi\w*|quit|stop|reduce|cut down)\b",
    re.IGNORECASE,
)
INTERACTION_CUES = re.compile(r"\binteract\w*|\bcombin\w*|\btogether\b|\bmix\w*|\bwith caution\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Verdict:
    answerable: bool
    reason: str = ""


def covered_topics(topics: Sequence[Topic], document_texts: Sequence[str]) -> frozenset[str]:
    """Names of the topics some document covers (computed once per index)."""
    return frozenset(t.name for t in topics if any(t.covered_if.search(text) for text in document_texts))


def missing_topics(question: str, topics: Sequence[Topic], covered: frozenset[str]) -> list[str]:
    """Labels of the topics the question asks about that no document covers."""
    return [t.label for t in topics if t.name not in covered and t.asks.search(question)]


def check_answerable(
    question: str,
    terms: QueryTerms,
    top_score: float,
    top_text: str,
    *,
    min_score: float,
    missing: Sequence[str] = (),
    personal_dosing: bool = False,
) -> Verdict:
    """Decide whether to show passages for `question` (its condensed form) given the best passage.

    `missing` are the labels from `missing_topics`; `personal_dosing` is the safety layer's reading
    that the person asks how much *they* should take, which only their prescriber can answer.
    """
    if personal_dosing:
        return Verdict(False, "personal dosing question: the prescriber sets the dose")
    if missing:
        return Verdict(False, "the documents do not cover " + " or ".join(missing))
    unknown_drugs = [d.name for d in terms.drugs if not d.class_in_documents]
    if unknown_drugs:
        return Verdict(False, "the documents do not mention " + ", ".join(unknown_drugs))
    if top_score < min_score:
        return Verdict(False, f"best score {top_score:.2f} below threshold {min_score:.2f}")
    if AMOUNT_QUESTION.search(question) and not NUMBER.search(top_text):
        return Verdict(False, "asks for an amount or time, and the best passage gives none")
    substance = combination_substance(question, terms)
    if substance and not _passage_covers_combination(substance, top_text, terms):
        return Verdict(False, f"asks about combining with {substance}, and no passage covers that")
    return Verdict(True)


def promote_answer_type(question: str, candidates: Sequence, texts: Sequence[str], margin: float) -> list:
    """For "how many / how often" questions, prefer the best close candidate that has a number.

    `candidates` are ranked (best first) with a `.score`; `texts[i]` is the text of candidates[i].
    """
    ranked = list(candidates)
    if not ranked or not AMOUNT_QUESTION.search(question) or NUMBER.search(texts[0]):
        return ranked
    for i, (candidate, text) in enumerate(zip(ranked, texts)):
        if candidate.score < ranked[0].score - margin:
            break
        if NUMBER.search(text):
            return [candidate] + ranked[:i] + ranked[i + 1:]
    return ranked


def combination_substance(question: str, terms: QueryTerms) -> str:
    """The other substance in a "can I take X with it?" question, or "" when there is none."""
    if not COMBINATION.search(question):
        return ""
    if terms.drugs:
        return terms.drugs[0].drug_class
    found = [w for w in words(question) if w in SUBSTANCE_WORDS]
    return "alcohol" if found and not TREATMENT_CONTEXT.search(question) else ""


def _passage_covers_combination(substance: str, text: str, terms: QueryTerms) -> bool:
    lowered = normalise(text)
    names = {substance.lower(), *(d.name for d in terms.drugs)}
    stems = {n.rstrip("s") for n in names}
    mentions = any(s and s in lowered for s in stems)
    return mentions and bool(INTERACTION_CUES.search(text))
