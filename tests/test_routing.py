"""Which medicine a question is about, and which documents may answer it (assistant/routing.py)."""

from __future__ import annotations

import pytest

from assistant.medicines import MedicineNames
from assistant.records import Document
from assistant.routing import MedicineRouter, taken_together


def doc(doc_id, medicines=(), kind="label", text="Some text about a medicine."):
    return Document(doc_id, doc_id, text, "test", False, "x", kind=kind, medicines=tuple(medicines))


NAMES = MedicineNames.load()
DOCS = [
    doc("article.txt", ["baclofen"], kind="article", text="Baclofen article. " * 50),
    doc("nhs-baclofen.md", ["baclofen"], kind="leaflet"),
    doc("tizanidine.md", ["tizanidine"]),
    doc("general.md", kind="general"),
    doc("unrelated.md", kind="other"),
]
DICTIONARY = frozenset({"focus", "relief", "what", "the"})


@pytest.fixture(scope="module")
def router():
    return MedicineRouter(DOCS, NAMES, protected_words=DICTIONARY, curated_names=["oxy", "insulin"])


def test_the_main_medicine_is_the_one_most_documents_are_about(router):
    assert router.main == "baclofen"
    assert MedicineRouter(DOCS, NAMES, default_medicine="tizanidine").main == "tizanidine"


@pytest.mark.parametrize(
    "question, medicine, how",
    [
        ("what are the side effects of tizanidine?", "tizanidine", "named"),
        ("is Zanaflex ok to take at night", "tizanidine", "named"),
        ("tizanadine side effects", "tizanidine", "named"),  # a typo of a corpus medicine
        ("is Lioresal safe", "baclofen", "named"),
        ("baclofin and driving", "baclofen", "named"),
        ("what are the side effects?", "baclofen", "main"),
    ],
)
def test_a_question_is_about_the_medicine_it_names_or_the_main_one(router, question, medicine, how):
    route = router.route(question)
    assert (route.medicine, route.how) == (medicine, how)
    assert not route.absent


def test_passages_come_only_from_documents_about_the_medicine_and_general_ones(router):
    assert router.route("tizanidine dose?").doc_ids == {"tizanidine.md", "general.md"}
    assert router.route("what is it for?").doc_ids == {"article.txt", "nhs-baclofen.md", "general.md"}


def test_a_follow_up_keeps_the_medicine_of_the_conversation(router):
    route = router.route("and can i drink on it?", ["what are the side effects of tizanidine?"])
    assert (route.medicine, route.how) == ("tizanidine", "conversation")
    assert router.route("and the dose?", ["tizanidine?", "what about baclofen?"]).medicine == "baclofen"


def test_a_medicine_no_document_is_about_is_absent_and_named(router):
    route = router.route("what are the side effects of gabapentin?")
    assert route.absent == ("gabapentin",) and not route.doc_ids
    assert router.route("and is it safe in pregnancy?", ["tell me about ibuprofen"]).absent == ("ibuprofen",)


def test_another_medicine_to_take_together_is_a_partner_not_the_subject(router):
    route = router.route("can i take it with advil?")
    assert route.medicine == "baclofen" and not route.absent
    assert [p.ingredients for p in route.partners] == [("ibuprofen",)]
    named = router.route("is baclofen ok with my sertraline")
    assert named.medicine == "baclofen" and [p.name for p in named.partners] == ["sertraline"]


def test_another_medicine_mentioned_in_passing_is_neither_subject_nor_partner(router):
    route = router.route("Mum starts baclofen next week. She's allergic to penicillin and had depression.")
    assert route.medicine == "baclofen" and route.partners == ()


def test_ordinary_words_that_are_also_brand_names_are_not_medicines(router):
    assert router.route("how can i focus at work on it").medicine == "baclofen"
    assert not router.route("does it give relief").absent


def test_the_mask_covers_the_names_as_typed(router):
    route = router.route("baclofin side effects")
    assert route.mask.sub("", "baclofin side effects").strip() == "side effects"
    assert route.mask.sub("", "Lioresal").strip() == ""


def test_a_corpus_about_no_medicine_searches_everything():
    router = MedicineRouter([doc("a.md", kind="other"), doc("b.md", kind="other")], NAMES)
    route = router.route("is ibuprofen safe?")
    assert route.medicine == "" and route.doc_ids == {"a.md", "b.md"} and not route.absent


@pytest.mark.parametrize(
    "text, name",
    [
        ("can i take it with advil", "advil"),
        ("baclofen and ibuprofen together?", "ibuprofen"),
        ("is it ok to mix with oxycodone", "oxycodone"),
        ("im on sertraline, is that alright with it", "sertraline"),
        ("can i take baclofen while on tramadol", "tramadol"),
        ("baclofen + codeine", "codeine"),
    ],
)
def test_taking_together_is_recognised(text, name):
    assert taken_together(text, name)


@pytest.mark.parametrize(
    "text, name",
    [
        ("she is allergic to penicillin and had depression", "penicillin"),
        ("is ibuprofen safe?", "ibuprofen"),
        ("my gp swapped my zanaflex for baclofen last year", "zanaflex"),
        ("is baclofen actually a painkiller", "painkiller"),
    ],
)
def test_mentioning_another_medicine_is_not_taking_it_together(text, name):
    assert not taken_together(text, name)
