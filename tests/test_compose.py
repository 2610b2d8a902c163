from __future__ import annotations

import pytest

from assistant.compose import NotFound, compose_answer
from assistant.config import Settings
from assistant.records import Document, Notice, Passage
from assistant.safety import SafetyAssessment, SafetyMessages, personalise

DOC = Document(
    "a.txt",
    "Baclofen article",
    "WHO has classified baclofen as a Medicines with Established Safety (MES) medication.",
    "web",
    False,
    "x",
)
PASSAGE = Passage(DOC.text, "a.txt", DOC.title, "Safety", 0, len(DOC.text), 0.8, 0, len(DOC.text))
RED = Notice("RED", "serious_reaction_now", "Emergency", "Call your local emergency number (112) now.")
AMBER = Notice("AMBER", "driving", "Driving", "Do not drive until you know how it affects you.")
CRISIS = Notice("CRISIS", "self_harm", "Crisis", "Contact a crisis line now.")


@pytest.fixture(scope="module")
def messages():
    return SafetyMessages.load(Settings())


def safety(*notices, suppress=False, small_talk=False):
    urgent = any(n.urgent for n in notices)
    return SafetyAssessment(
        tuple(notices), urgent, frozenset(n.category for n in notices), suppress, small_talk=small_talk
    )


def compose(messages, passages=(PASSAGE,), assessment=None, **kw):
    return compose_answer(
        question="q",
        condensed_query="q",
        passages=list(passages),
        safety=assessment or safety(),
        messages=messages,
        documents=[DOC],
        **kw,
    )


def test_every_answer_carries_the_disclaimer_naming_only_the_sources_quoted(messages):
    assert "Baclofen article" in compose(messages).disclaimer
    for answer in (compose(messages, passages=()), compose(messages, assessment=safety(small_talk=True))):
        assert "not medical advice" in answer.disclaimer
        assert "Quoted from" not in answer.disclaimer and "Baclofen article" not in answer.disclaimer
        assert "not medical advice" in answer.disclaimer.lower()


def test_urgent_notices_come_before_cautions(messages):
    answer = compose(messages, assessment=safety(AMBER, RED))
    assert [n.level for n in answer.notices] == ["RED", "AMBER"]
    assert answer.emergency


def test_no_passage_means_the_honest_not_found_message(messages):
    answer = compose(messages, passages=(), reason="best score below threshold")
    assert answer.abstained and answer.kind == "not_found" and answer.passages == ()
    assert "pharmacist" in answer.message.lower()
    assert answer.reason == "best score below threshold"


def test_a_crisis_shows_no_quote_at_all(messages):
    answer = compose(messages, assessment=safety(CRISIS, suppress=True))
    assert answer.passages == () and answer.kind == "emergency_only" and answer.emergency


def test_greetings_get_the_help_reply_without_passages(messages):
    answer = compose(messages, assessment=safety(small_talk=True), not_found=NotFound(medicine="baclofen"))
    assert answer.kind == "help" and answer.passages == ()
    assert answer.message == personalise(messages.help_reply, "baclofen")


def test_the_help_reply_names_the_medicine_of_the_documents_never_another():
    messages = SafetyMessages.load(Settings())
    answer = compose(messages, assessment=safety(small_talk=True), not_found=NotFound(medicine="metformin"))
    assert "questions about metformin" in answer.message and "What is metformin used for?" in answer.message
    assert "baclofen" not in answer.message and "{medicine}" not in answer.message


def test_unverifiable_claims_are_flagged_on_the_quote(messages):
    (passage,) = compose(messages).passages
    assert passage.unverified and passage.text == DOC.text


def test_an_emergency_without_a_relevant_passage_shows_the_notice_without_a_not_found_line(messages):
    answer = compose(messages, passages=(), assessment=safety(RED))
    assert answer.kind == "emergency_only" and answer.message == "" and answer.notices[0].level == "RED"
