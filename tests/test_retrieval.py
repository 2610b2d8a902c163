"""Retrieval with the keyword FakeEmbedder on a toy corpus: ranking, duplicates, merging, offsets."""

from __future__ import annotations

import pytest

from assistant.lexicon import Lexicon
from assistant.passages import Quoter
from assistant.retrieval import Candidate, Retriever
from assistant.store import build_index, load_index
from tests.conftest import write_corpus

DOCS = {
    "a.txt": (
        "Kidneys\n\nPeople with kidney disease need care. The kidney clears the drug.\n\n"
        "Alcohol\n\nAlcohol adds to drowsy effects.\n\n"
        "Stopping\n\nDo not stop suddenly because stopping can cause a seizure.\n"
        "Lower the dose slowly when you stop.\n"
    ),
    "b.txt": "Repeat\n\nPeople with kidney disease need care, the kidney clears the drug.\n",
}


@pytest.fixture
def retriever(tmp_path, toy_settings, fake_embedder):
    settings = toy_settings.replace(
        corpus_dir=write_corpus(tmp_path / "docs", DOCS), index_dir=tmp_path / "ix", min_score=0.1
    )
    build_index(settings, fake_embedder)
    index = load_index(settings)
    lexicon = Lexicon([c.search_text for c in index.chunks])
    return Retriever(index, settings, lexicon), lexicon, fake_embedder, index


def ask(retriever_parts, question, top_k=3):
    retriever, lexicon, embedder, _ = retriever_parts
    terms = lexicon.terms_of(question)
    vector = embedder.encode([terms.search_text])[0]
    found = retriever.search(terms, vector)
    quoter = Quoter(retriever)
    return found, quoter.to_passages(quoter.select(found.candidates, top_k, 0.1), terms, vector)


def test_the_passage_that_answers_ranks_first(retriever):
    _, passages = ask(retriever, "what about my kidney disease?")
    assert "kidney" in passages[0].text


def test_passages_are_verbatim_with_the_highlight_inside(retriever):
    _, _, _, index = retriever
    _, passages = ask(retriever, "can stopping cause a seizure")
    for passage in passages:
        assert index.documents[passage.doc_id].text[passage.start : passage.end] == passage.text
        assert 0 <= passage.highlight_start < passage.highlight_end <= len(passage.text)
    top = passages[0]
    assert "seizure" in top.text[top.highlight_start : top.highlight_end]


def test_a_passage_repeating_a_shown_one_is_not_shown_again(retriever):
    _, passages = ask(retriever, "kidney disease care")
    kidney_passages = [p for p in passages if "kidney disease need care" in p.text]
    assert len(kidney_passages) == 1


def test_neighbouring_chunks_of_one_section_merge_into_one_passage(retriever):
    _, _, _, index = retriever
    stopping = [c for c in index.chunks if c.section == "Stopping"]
    assert len(stopping) == 2  # two paragraphs under one heading
    _, passages = ask(retriever, "stop suddenly seizure dose slowly stop", top_k=3)
    merged = [p for p in passages if len(p.chunk_ids) == 2]
    assert merged and merged[0].text.startswith("Do not stop suddenly") and merged[0].text.endswith("when you stop.")


def test_nothing_is_selected_below_the_minimum_score(retriever):
    found, _ = ask(retriever, "weather tomorrow")
    r, *_ = retriever
    assert Quoter(r).select(found.candidates, 3, min_score=0.99) == []


# Made-up passages that repeat each other: a sentence naming some side effects (and advice), the full
# list, a shorter list, a list saying one thing the sentence does not, two halves of the full list,
# and one on another subject. Each paragraph is its own section, so its own chunk.
REPEATS = {
    "effects.txt": (
        "Sentence\n\nOther effects include dizziness, weakness, nausea and headache. "
        "They are usually mild, but if they persist, consult a pharmacist.\n\n"
        "Full list\n\nCommon effects may include:\n\n  • Drowsiness\n  • Dizziness\n  • Weakness\n"
        "  • Nausea\n  • Headache\n  • Constipation\n\n"
        "Short list\n\nCommon effects may include:\n\n  • Dizziness\n  • Weakness\n  • Nausea\n\n"
        "Other list\n\nEffects include:\n\n  • Dizziness\n  • Weakness\n  • Nausea\n  • Headache\n"
        "  • Fainting\n\n"
        "Drowsy\n\nEffects include drowsiness, dizziness and weakness.\n\n"
        "Stomach\n\nEffects include nausea, headache and constipation.\n\n"
        "Survey\n\n92% of people reported only mild side effects overall.\n\n"
        "Trials\n\nPeople reported only mild side effects overall. Common were dizziness and nausea. "
        "Some had headache.\n\n"
        "Kidneys\n\nPeople with kidney disease need a lower dose.\n"
    ),
}


@pytest.fixture
def repeats(tmp_path, toy_settings, fake_embedder):
    """A quoter over REPEATS and a function making a candidate of a section's chunk with a given score."""
    settings = toy_settings.replace(
        corpus_dir=write_corpus(tmp_path / "docs", REPEATS), index_dir=tmp_path / "ix", min_score=0.1
    )
    build_index(settings, fake_embedder)
    index = load_index(settings)
    quoter = Quoter(Retriever(index, settings, Lexicon([c.search_text for c in index.chunks])))
    sections = {c.section: i for i, c in enumerate(index.chunks)}
    assert set(sections) == {
        "Sentence",
        "Full list",
        "Short list",
        "Other list",
        "Drowsy",
        "Stomach",
        "Survey",
        "Trials",
        "Kidneys",
    }  # one chunk each

    def candidate(section: str, score: float) -> Candidate:
        first_sentence = quoter.sentence_ranges[sections[section]][0]  # the one that "made it match"
        return Candidate(
            sections[section], score, score, first_sentence, 0.0, 0.0, score, index.chunks[sections[section]]
        )

    return quoter, candidate, index


def sections_of(repeats, chosen):
    _, _, index = repeats
    return [index.chunks[c.chunk_index].section for c in chosen]


def test_a_later_passage_saying_more_takes_the_place_of_the_one_it_repeats(repeats):
    quoter, candidate, _ = repeats
    ranked = [candidate("Sentence", 0.90), candidate("Kidneys", 0.89), candidate("Full list", 0.88)]
    assert sections_of(repeats, quoter.select(ranked, 3, 0.1)) == ["Full list", "Kidneys"]


def test_a_fuller_repeat_is_found_even_after_top_k_passages_are_chosen(repeats):
    quoter, candidate, _ = repeats
    ranked = [candidate("Sentence", 0.90), candidate("Kidneys", 0.89), candidate("Full list", 0.88)]
    assert sections_of(repeats, quoter.select(ranked, 2, 0.1)) == ["Full list", "Kidneys"]


def test_a_passage_that_replaced_another_can_be_replaced_by_a_still_fuller_one(repeats):
    quoter, candidate, _ = repeats
    ranked = [
        candidate("Short list", 0.90),
        candidate("Kidneys", 0.89),
        candidate("Sentence", 0.88),
        candidate("Full list", 0.87),
    ]
    assert sections_of(repeats, quoter.select(ranked, 3, 0.1)) == ["Full list", "Kidneys"]


def test_one_fuller_passage_replaces_every_chosen_passage_it_repeats_in_the_place_of_the_first(repeats):
    quoter, candidate, _ = repeats
    ranked = [
        candidate("Drowsy", 0.90),
        candidate("Kidneys", 0.89),
        candidate("Stomach", 0.88),
        candidate("Full list", 0.87),
    ]
    assert sections_of(repeats, quoter.select(ranked, 3, 0.1)) == ["Full list", "Kidneys"]


@pytest.mark.parametrize(
    "first, later",
    [
        ("Full list", "Sentence"),  # the later one says less: dropped, as before
        ("Full list", "Short list"),
        ("Sentence", "Short list"),
        ("Sentence", "Other list"),  # neither says more: each has one sentence the other does not say
        ("Other list", "Sentence"),
    ],
)
def test_a_later_repeat_that_says_no_more_is_dropped_and_the_first_keeps_its_place(repeats, first, later):
    quoter, candidate, _ = repeats
    ranked = [candidate(first, 0.90), candidate("Kidneys", 0.89), candidate(later, 0.88)]
    assert sections_of(repeats, quoter.select(ranked, 3, 0.1)) == [first, "Kidneys"]


def test_a_fuller_repeat_below_the_secondary_margin_replaces_nothing(repeats):
    quoter, candidate, _ = repeats
    low = 0.90 - quoter.settings.secondary_margin - 0.05
    ranked = [candidate("Sentence", 0.90), candidate("Kidneys", 0.89), candidate("Full list", low)]
    assert sections_of(repeats, quoter.select(ranked, 3, 0.1)) == ["Sentence", "Kidneys"]


def test_a_passage_without_the_number_of_a_chosen_one_does_not_replace_it(repeats):
    quoter, candidate, _ = repeats
    ranked = [candidate("Survey", 0.90), candidate("Kidneys", 0.89), candidate("Trials", 0.88)]
    assert sections_of(repeats, quoter.select(ranked, 3, 0.1)) == ["Survey", "Kidneys"]
