"""Retrieval with the keyword FakeEmbedder on a toy corpus: ranking, duplicates, merging, offsets."""

from __future__ import annotations

import pytest

from assistant.lexicon import Lexicon
from assistant.retrieval import Retriever
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
    settings = toy_settings.replace(corpus_dir=write_corpus(tmp_path / "docs", DOCS), index_dir=tmp_path / "ix", min_score=0.1)
    build_index(settings, fake_embedder)
    index = load_index(settings)
    lexicon = Lexicon([f"{c.section}\n{c.text}" for c in index.chunks])
    return Retriever(index, settings, lexicon), lexicon, fake_embedder, index


def ask(retriever_parts, question, top_k=3):
    retriever, lexicon, embedder, _ = retriever_parts
    terms = lexicon.analyse(question)
    vector = embedder.encode([terms.search_text])[0]
    found = retriever.search(terms, vector)
    return found, retriever.to_passages(retriever.select(found.candidates, top_k, 0.1), terms, vector)


def test_the_passage_that_answers_ranks_first(retriever):
    _, passages = ask(retriever, "what about my kidney disease?")
    assert "kidney" in passages[0].text


def test_passages_are_verbatim_with_the_highlight_inside(retriever):
    _, _, _, index = retriever
    _, passages = ask(retriever, "can stopping cause a seizure")
    for passage in passages:
        assert index.documents[passage.doc_id].text[passage.start:passage.end] == passage.text
        assert 0 <= passage.highlight_start < passage.highlight_end <= len(passage.text)
    top = passages[0]
    assert "seizure" in top.text[top.highlight_start:top.highlight_end]


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
    assert r.select(found.candidates, 3, min_score=0.99) == []
