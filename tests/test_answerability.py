"""The honest "not found" decision, read from the retrieved passages (assistant/answerability.py)."""

from __future__ import annotations

import re

import pytest

from assistant.answerability import AMOUNT_QUESTION, decide, names_partner
from assistant.partners import Partner, partner_terms
from assistant.records import Chunk
from assistant.retrieval import Candidate
from assistant.topics import Topic, TopicReading

TEXTS = [
    "Baclofen may interact with other medications, such as antidepressants, antihistamines, and opioids.",
    "Baclofen has gained attention for alcohol addiction. One survey of 1,000 patients found it helped.",
    "Drowsiness is common.",
    "Store at 20° to 25°C. Keep out of the reach of children.",
    "1. World Health Organization (WHO). (2021). WHO Model Formulary. Retrieved from https://www.who.int/x",
]
CHUNKS = [Chunk(f"a.txt#{i}", "a.txt", t, 0, len(t), "", "paragraph", ((0, len(t)),)) for i, t in enumerate(TEXTS)]


def topic(name, evidence, citation=False):
    return Topic(name, name, re.compile("x"), re.compile(evidence, re.IGNORECASE), ("q",), (), (), citation)


STORAGE = topic("storage", r"\bstore[ds]?\b|room temperature")
PREGNANCY = topic("pregnancy", r"pregnan")
REFERENCES = topic("references", r"retrieved from|https?://", citation=True)


def candidates(*scores):
    """Candidates for CHUNKS[0], CHUNKS[1], ... with these scores, ranked as given."""
    return [Candidate(i, s, s, 0, s, 0.0, s, CHUNKS[i]) for i, s in enumerate(scores)]


def run(question, ranked, **kw):
    kw.setdefault("min_score", 0.3)
    return decide(question, ranked, **kw)


def test_a_low_best_score_is_not_found():
    result = run("what is the weather", candidates(0.1, 0.05))
    assert not result.answerable and "below threshold" in result.reason


def test_a_topic_no_document_shows_at_all_is_not_found_naming_it():
    reading = TopicReading((PREGNANCY,), refusable=False, refusable_if_absent=True)
    result = run("is it safe while pregnant", candidates(0.9, 0.8), topics=reading, uncovered=frozenset({"pregnancy"}))
    assert not result.answerable and result.topic is PREGNANCY


def test_a_loosely_read_topic_does_not_refuse_a_question_the_passages_answer():
    """A long story mentions many things: a gate word alone never refuses."""
    reading = TopicReading((PREGNANCY,), refusable=False, refusable_if_absent=False)
    result = run(
        "my daughter is pregnant, can she drive on it",
        candidates(0.9),
        topics=reading,
        uncovered=frozenset({"pregnancy"}),
    )
    assert result.answerable


def test_a_passage_that_shows_the_topic_is_quoted_first_even_when_it_scored_lower():
    reading = TopicReading((STORAGE,), refusable=True, refusable_if_absent=True)
    result = run("how should i store it", candidates(0.6, 0.5, 0.45, 0.4), topics=reading)
    assert result.answerable and result.candidates[0].chunk_index == 3


def test_a_topic_passage_below_the_threshold_is_not_promoted_and_a_sure_reading_refuses():
    reading = TopicReading((STORAGE,), refusable=True, refusable_if_absent=True)
    result = run("how should i store it", candidates(0.6, 0.5, 0.45, 0.1), topics=reading, topic_bonus=0.05)
    assert not result.answerable and result.topic is STORAGE


def test_a_partner_medicine_must_be_named_by_a_passage():
    oxy = Partner("oxycodone", partner_terms("oxycodone", drug_class="opioids"))
    ibuprofen = Partner("ibuprofen", partner_terms("ibuprofen", aliases=["advil"], drug_class="nsaids"))
    assert run("baclofen with oxycodone?", candidates(0.5, 0.9, 0.8), partners=[oxy]).candidates[0].chunk_index == 0
    refused = run("baclofen with ibuprofen?", candidates(0.5, 0.9), partners=[ibuprofen])
    assert not refused.answerable and refused.partner == "ibuprofen"


def test_citations_come_last_unless_the_question_asks_for_sources():
    ranked = candidates(0.2, 0.2, 0.2, 0.2, 0.9)
    assert run("what does the who say", ranked).candidates[0].chunk_index != 4
    asked = TopicReading((REFERENCES,), refusable=True, refusable_if_absent=True)
    assert run("what sources are cited", ranked, topics=asked, citations=[REFERENCES]).candidates[0].chunk_index == 4
    assert run("what does the who say", ranked, citations=[REFERENCES]).candidates[0].chunk_index != 4


@pytest.mark.parametrize(
    "question",
    [
        "how many patients were in the survey",
        "how often should it be taken",
        "what is the usual dose",
        "whats the maximum dosage",
        "how long does it take to work",
        "and how much does it cost",
    ],
)
def test_amount_questions_are_recognised(question):
    assert AMOUNT_QUESTION.search(question)


@pytest.mark.parametrize(
    "question",
    [
        "can i drive after my dose",
        "what does the dose depend on",
        "how long should i stay on it",
        "is a dose of 10mg at night ok with alcohol",
        "how does it work",
    ],
)
def test_questions_that_mention_an_amount_without_asking_for_one_are_not_amount_questions(question):
    assert not AMOUNT_QUESTION.search(question)


def test_an_amount_question_needs_a_close_passage_with_a_number():
    assert not run("how often should it be taken", candidates(0.2, 0.2, 0.9)).answerable
    promoted = run("how many patients were surveyed", candidates(0.85, 0.8))
    assert promoted.answerable and promoted.candidates[0].chunk_index == 1


@pytest.mark.parametrize(
    "terms, text, named",
    [
        (("opioids", "opioid"), "It may interact with opioids.", True),
        (("opioids", "opioid"), "An opioid painkiller adds to sleepiness.", True),
        (("sertraline",), "Tell your doctor about any antidepressants.", False),
        (("advil", "ibuprofen"), "Ibuprofen can reduce how the kidneys clear it.", True),
        (("soma",), "Chromosomal damage was not seen.", False),
    ],
)
def test_a_partner_is_named_by_its_name_brand_or_class_as_a_whole_word(terms, text, named):
    chunk = Chunk("x#0", "x", text, 0, len(text), "", "paragraph")
    assert names_partner(Partner(terms[0], terms), chunk) is named
