from __future__ import annotations

import pytest

from assistant.answerability import check_answerable, combination_substance, covered_topics, missing_topics, promote_answer_type
from assistant.lexicon import Lexicon, Vocabulary

DOCUMENTS = [
    "Baclofen may interact with other medications, such as antidepressants, antihistamines, and opioids.",
    "Baclofen has gained attention for alcohol addiction. One survey of 1,000 patients found it helped.",
    "Drowsiness is common.",
]
TOPICS = Vocabulary.load().topics
COVERED = covered_topics(TOPICS, DOCUMENTS)


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon(DOCUMENTS)


@pytest.mark.parametrize(
    "question, label",
    [
        ("is baclofen safe while pregant?", "pregnancy or breastfeeding"),
        ("how many mg should i take", "doses and how much to take"),
        ("what is the half life of baclofen", "how fast it works and how long it lasts"),
        ("how should i store my baclofen", "storage and expiry"),
        ("is baclofen covered by insurence", "price and insurance"),
        ("what dose for my 10 year old?", "use in children"),
        ("what are the signs of an overdose", "overdose"),
    ],
)
def test_questions_on_topics_the_documents_never_cover_are_not_answered(question, label):
    assert label in missing_topics(question, TOPICS, COVERED)


def test_a_topic_the_documents_cover_is_not_missing():
    covered = covered_topics(TOPICS, DOCUMENTS + ["Do not take it if you are pregnant or breastfeeding."])
    assert missing_topics("is it safe when pregnant", TOPICS, covered) == []


def test_ordinary_questions_ask_about_no_uncovered_topic():
    for question in ("what are the side effects", "can it make me sleepy", "does it help with alcohol addiction"):
        assert missing_topics(question, TOPICS, COVERED) == []


def verdict(lexicon, question, top_text, score=0.8, missing=()):
    return check_answerable(question, lexicon.analyse(question), score, top_text, min_score=0.3, missing=missing)


def test_a_low_score_is_not_found(lexicon):
    result = verdict(lexicon, "what is the weather", DOCUMENTS[2], score=0.1)
    assert not result.answerable and "below threshold" in result.reason


def test_a_missing_topic_is_not_found_whatever_the_score(lexicon):
    result = verdict(lexicon, "pregnant?", DOCUMENTS[0], score=0.99, missing=["pregnancy or breastfeeding"])
    assert not result.answerable and "pregnancy" in result.reason


def test_a_medicine_the_documents_never_name_is_not_found(lexicon):
    result = verdict(lexicon, "can i take it with ibuprofen", DOCUMENTS[0])
    assert not result.answerable and "ibuprofen" in result.reason


def test_an_amount_question_needs_a_number_in_the_passage(lexicon):
    assert not verdict(lexicon, "how often should it be taken", DOCUMENTS[2]).answerable
    assert verdict(lexicon, "how many patients were surveyed", DOCUMENTS[1]).answerable


def test_combining_a_named_class_is_answered_by_the_interaction_passage(lexicon):
    assert verdict(lexicon, "baclofen with oxy ok?", DOCUMENTS[0]).answerable


def test_drinking_on_it_is_not_answered_by_a_passage_about_treating_alcohol_addiction(lexicon):
    result = verdict(lexicon, "can i drink beer on baclofen", DOCUMENTS[1])
    assert not result.answerable and "alcohol" in result.reason


def test_treating_drinking_is_not_a_combination_question(lexicon):
    assert combination_substance("can baclofen help with drinking", lexicon.analyse("can baclofen help with drinking")) == ""


class Scored:
    def __init__(self, score):
        self.score = score


def test_amount_questions_prefer_a_close_candidate_with_a_number():
    candidates = [Scored(0.8), Scored(0.75), Scored(0.4)]
    texts = ["Surveys were positive.", "One survey of 1,000 patients.", "500 patients."]
    ranked = promote_answer_type("how many patients were in the survey", candidates, texts, margin=0.1)
    assert ranked[0] is candidates[1]
    assert promote_answer_type("what did surveys find", candidates, texts, margin=0.1)[0] is candidates[0]


def test_a_personal_dosing_question_is_never_answered_with_quotes(lexicon):
    question = "how many should i take"
    result = check_answerable(question, lexicon.analyse(question), 0.9, DOCUMENTS[1], min_score=0.3, personal_dosing=True)
    assert not result.answerable and "prescriber" in result.reason
