from __future__ import annotations

import pytest

from assistant.lexicon import Lexicon

TEXTS = [
    "Baclofen may cause drowsiness, dizziness and constipation.",
    "Baclofen should not be abruptly discontinued; withdrawal can cause seizures.",
    "Baclofen may interact with antidepressants, antihistamines, and opioids.",
    "Baclofen is used for multiple sclerosis and spinal cord injuries.",
    "The World Health Organization (WHO) reviewed baclofen. Kidney problems need caution.",
]
DICTIONARY = frozenset(
    "the a can i take with my is it for what kind of medicine weather trails cause make me up".split()
)


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon(TEXTS, dictionary=DICTIONARY)


@pytest.mark.parametrize(
    "typo, fixed",
    [
        ("baclofin", "baclofen"),
        ("siezures", "seizures"),
        ("dizzyness", "dizziness"),
        ("constipaton", "constipation"),
        ("trails", "trails"),
        ("kidny", "kidney"),
    ],
)
def test_misspelt_words_are_corrected_to_document_words(lexicon, typo, fixed):
    assert lexicon.correct(typo) == fixed


def test_correct_english_words_are_not_turned_into_document_words(lexicon):
    assert lexicon.correct("weather") == "weather"
    assert lexicon.correct("kind") == "kind"


def test_a_swapped_letter_typo_of_a_document_word_is_corrected_even_if_it_is_a_word():
    lexicon = Lexicon(["Clinical trials were run."], dictionary=frozenset({"trails"}))
    assert lexicon.correct("trails") == "trials"


def test_lay_terms_add_the_words_the_documents_use(lexicon):
    terms = lexicon.terms_of("will it back me up?")
    assert "constipation" in terms.expansions
    assert "constip" in terms.content_stems


def test_brand_names_are_searched_by_their_class(lexicon):
    terms = lexicon.terms_of("is it ok with benadryl")
    assert [d.drug_class for d in terms.drugs] == ["antihistamines"]
    assert "antihistamines" in terms.search_text


def test_capitalised_acronyms_are_names_not_stop_words(lexicon):
    assert "World Health Organization" in lexicon.terms_of("what does the WHO say").expansions
    assert lexicon.terms_of("who takes it").expansions == ()
