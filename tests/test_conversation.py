from __future__ import annotations

import pytest

from assistant.conversation import condense_query, is_follow_up
from assistant.lexicon import Lexicon

TEXTS = [
    "Baclofen is used for multiple sclerosis. Common side effects of Baclofen include drowsiness.",
    "Baclofen for alcohol addiction is off-label. Baclofen was described by Olivier Ameisen.",
    "Baclofen in older patients was well tolerated. Baclofen should not be stopped suddenly.",
]


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon(TEXTS, dictionary=frozenset("what is used for about its side effects and the serious ones".split()))


@pytest.mark.parametrize(
    "history, question, carried, not_carried",
    [
        (["can baclofen help with alcohol addiction?"], "is that approved?", "alcohol addiction", "help"),
        (["what are the common side effects of baclofen?"], "and the serious ones?", "side effects", "what"),
        (["who is olivier ameisen?"], "what did he write?", "olivier ameisen", "who"),
    ],
)
def test_follow_ups_carry_the_subject_of_the_earlier_question(lexicon, history, question, carried, not_carried):
    condensed = condense_query(question, history, lexicon)
    assert condensed.startswith(question)
    assert carried in condensed[len(question) :]
    assert not_carried not in condensed[len(question) :]


def test_a_follow_up_with_a_topic_of_its_own_carries_no_earlier_words(lexicon):
    """The medicine of the conversation is carried by routing (tests/test_routing.py), not as words."""
    assert condense_query("what about its side effects?", ["what is baclofen used for?"], lexicon) == (
        "what about its side effects?"
    )


def test_a_self_contained_question_is_not_changed_by_the_history(lexicon):
    history = ["can baclofen help with alcohol addiction?"]
    assert condense_query("does baclofen cause drowsiness?", history, lexicon) == "does baclofen cause drowsiness?"


def test_without_history_the_question_is_searched_as_asked(lexicon):
    assert condense_query("is that approved?", [], lexicon) == "is that approved?"


def test_greetings_in_the_history_do_not_become_the_subject(lexicon):
    history = ["can baclofen help with alcohol addiction?", "thanks"]
    assert condense_query("is that approved?", history, lexicon).endswith("alcohol addiction")


def test_a_chain_of_follow_ups_keeps_the_original_subject(lexicon):
    history = ["can baclofen help with alcohol addiction?", "is that approved?"]
    assert "alcohol addiction" in condense_query("and is it safe?", history, lexicon)


@pytest.mark.parametrize(
    "question, expected",
    [("and with alcohol?", True), ("is it safe?", True), ("what are the side effects of baclofen", False)],
)
def test_follow_up_detection(question, expected):
    assert is_follow_up(question) is expected
