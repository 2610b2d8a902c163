"""Issue 12, part C: start-up. The structures start-up used to compute from every chunk (corpus words, the
spelling index, BM25, per-chunk stems, topic coverage) are computed at build time and saved with the index,
covered by its checksums; loading them must give exactly the answers computing them gives.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import assistant.derived
from assistant.derived import DERIVED_ARRAYS, DERIVED_JSON, compute_derived
from assistant.engine import Assistant
from assistant.errors import IndexCorruptError
from assistant.lexicon import Lexicon
from assistant.retrieval import Retriever
from assistant.store import build_index, check_index, load_index, sentence_texts
from assistant.vector_cache import EXAMPLES_CACHE_FILE, ExampleVectors
from tests.conftest import SEED_ARTICLE, write_corpus

QUESTIONS = [
    "can I drink alcohol with it?",
    "is it safe for my kidneys?",
    "what happens if I stop suddenly",
    "can i drive after taking it",
    "does it help with spasm",
    "what is the dose",
    "will the weather change anything",
]


def answers(assistant: Assistant, questions) -> list[tuple]:
    out = []
    for question in questions:
        answer = assistant.answer(question)
        out.append(
            (
                question,
                answer.abstained,
                answer.kind,
                answer.message,
                answer.reason,
                answer.top_score,
                [(p.doc_id, p.start, p.end, p.score, p.highlight_start, p.highlight_end) for p in answer.passages],
                [n.category for n in answer.notices],
            )
        )
    return out


def recomputed(index):
    """The index with its derived structures computed now from its chunks, not read from disk."""
    return replace(index, derived=compute_derived(index.chunks, sentence_texts(index.chunks, index.documents)))


def test_a_build_saves_the_derived_structures_and_they_are_checked_like_every_file(toy_settings, fake_embedder):
    report = build_index(toy_settings, fake_embedder)
    manifest = json.loads((report.path / "manifest.json").read_text())
    assert {DERIVED_JSON, DERIVED_ARRAYS} <= set(manifest["checksums"])
    (report.path / DERIVED_JSON).write_bytes((report.path / DERIVED_JSON).read_bytes().replace(b"kidney", b"kidnay"))
    assert any("derived.json is corrupted" in reason for reason in check_index(toy_settings))
    with pytest.raises(IndexCorruptError, match="derived.json"):
        load_index(toy_settings)


def start_up_work(settings, embedder, monkeypatch) -> int:
    """How many texts start-up tokenises or matches against topics (every word split goes through
    lexicon.fold_for_matching; topic coverage through shows_topic)."""
    import assistant.engine
    import assistant.lexicon
    import assistant.topics

    build_index(settings, embedder)
    index = load_index(settings)
    count = [0]

    def counted(real):
        def wrapper(*args, **kwargs):
            count[0] += 1
            return real(*args, **kwargs)

        return wrapper

    with monkeypatch.context() as patch:
        patch.setattr(assistant.lexicon, "fold_for_matching", counted(assistant.lexicon.fold_for_matching))
        patch.setattr(assistant.topics, "shows_topic", counted(assistant.topics.shows_topic))
        patch.setattr(assistant.engine, "shows_topic", counted(assistant.topics.shows_topic), raising=False)
        Assistant(settings, embedder, index)
    return count[0]


def test_start_up_work_does_not_grow_with_the_corpus(toy_settings, fake_embedder, monkeypatch):
    small = start_up_work(toy_settings, fake_embedder, monkeypatch)
    write_corpus(
        toy_settings.corpus_dir,
        {
            f"extra{i}.txt": f"Note {i}\n\nThe kidney note {i} says more about the dose. Drowsy drivers crash.\n"
            for i in range(60)
        },
    )
    large = start_up_work(toy_settings, fake_embedder, monkeypatch)
    assert len(load_index(toy_settings).chunks) >= 60
    assert large == small


def test_loaded_structures_equal_the_ones_computed_from_the_chunks(toy_settings, fake_embedder):
    write_corpus(toy_settings.corpus_dir, {"article.txt": SEED_ARTICLE.read_text(encoding="utf-8")})
    build_index(toy_settings, fake_embedder)
    index = load_index(toy_settings)
    loaded, fresh = index.derived, recomputed(index).derived
    assert loaded.corpus_words.word_counts == fresh.corpus_words.word_counts
    assert loaded.corpus_words.stem_df == fresh.corpus_words.stem_df
    assert loaded.corpus_words.spelling.targets == fresh.corpus_words.spelling.targets
    np.testing.assert_array_equal(loaded.corpus_words.spelling.hashes, fresh.corpus_words.spelling.hashes)
    assert loaded.topic_chunks == fresh.topic_chunks
    assert loaded.bm25.vocab == fresh.bm25.vocab
    np.testing.assert_array_equal(loaded.bm25.data, fresh.bm25.data)
    assert loaded.terms.stems == fresh.terms.stems
    for name in ("chunk_stems", "text_stems", "chunk_phrases", "sentence_stems", "sentence_content"):
        np.testing.assert_array_equal(getattr(loaded.terms, name).values, getattr(fresh.terms, name).values)
        np.testing.assert_array_equal(getattr(loaded.terms, name).starts, getattr(fresh.terms, name).starts)


def test_the_saved_per_chunk_terms_are_the_lexicons_reading_of_each_chunk(toy_settings, fake_embedder):
    """What the retriever used to compute at start-up, from strings, is what the numbered rows hold."""
    write_corpus(toy_settings.corpus_dir, {"article.txt": SEED_ARTICLE.read_text(encoding="utf-8")})
    build_index(toy_settings, fake_embedder)
    index = load_index(toy_settings)
    lexicon = Lexicon([f"{c.section}\n{c.text}" for c in index.chunks])
    retriever = Retriever(index, toy_settings, lexicon)
    stems = index.derived.terms.stems
    from assistant.lexicon import words

    for i, chunk in enumerate(index.chunks):
        whole = f"{chunk.section} {chunk.text}"
        assert {stems[n] for n in retriever.chunk_stems.row(i)} == set(lexicon.stems(words(whole)))
        assert {stems[n] for n in retriever.text_stems.row(i)} == set(lexicon.content_stems_of(chunk.text))
        pairs = {(stems[code >> 32], stems[code & 0xFFFFFFFF]) for code in retriever.chunk_phrases.row(i)}
        assert pairs == set(lexicon.phrases_of(whole))
    for j, ref in enumerate(index.sentences):
        text = index.documents[index.chunks[ref.chunk_index].doc_id].text[ref.start : ref.end]
        assert {stems[n] for n in retriever.sentence_content.row(j)} == set(lexicon.content_stems_of(text))
        assert bool(retriever.sentence_long_enough[j]) == (len(words(text)) >= 4)


def test_answers_from_loaded_structures_equal_answers_from_computed_ones(toy_settings, fake_embedder):
    build_index(toy_settings, fake_embedder)
    index = load_index(toy_settings)
    assert answers(Assistant(toy_settings, fake_embedder, index), QUESTIONS) == answers(
        Assistant(toy_settings, fake_embedder, recomputed(index)), QUESTIONS
    )


def test_a_vocabulary_or_topics_file_changed_after_the_build_is_read_at_start_up(
    toy_settings, fake_embedder, monkeypatch
):
    """Filler words (vocabulary.toml) and topic evidence (topics.toml) shape the saved structures: when
    either file changed since the build, what depends on it is computed again, with the same answers."""
    build_index(toy_settings, fake_embedder)
    index = load_index(toy_settings)
    expected = answers(Assistant(toy_settings, fake_embedder, index), QUESTIONS)
    calls = []
    real_terms, real_topics = assistant.derived.compute_chunk_terms, assistant.derived.compute_topic_coverage
    monkeypatch.setattr(assistant.derived, "vocabulary_file_version", lambda: "edited")
    monkeypatch.setattr(assistant.derived, "topics_file_version", lambda: "edited")
    monkeypatch.setattr(assistant.derived, "compute_chunk_terms", lambda *a: calls.append("terms") or real_terms(*a))
    monkeypatch.setattr(
        assistant.derived, "compute_topic_coverage", lambda *a: calls.append("topics") or real_topics(*a)
    )
    assert answers(Assistant(toy_settings, fake_embedder, index), QUESTIONS) == expected
    assert sorted(calls) == ["terms", "topics"]


@pytest.mark.slow  # the real model and the 200-odd gold questions, twice
def test_gold_answers_from_loaded_structures_equal_answers_from_computed_ones(tmp_path, real_embedder):
    from assistant.config import Settings
    from tests.conftest import CORPUS, REPO

    # No time budget: on a busy machine a question over budget abstains, whatever the structures say.
    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path / "index", answer_budget_ms=600_000)
    build_index(settings, real_embedder)
    index = load_index(settings)
    lines = (REPO / "tests" / "data" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    assert len(rows) > 200
    loaded = Assistant(settings, real_embedder, index)
    computed = Assistant(settings, real_embedder, recomputed(index))
    for row in rows:
        a = loaded.answer(row["question"], history=row["history"])
        b = computed.answer(row["question"], history=row["history"])
        assert (
            a.abstained,
            a.kind,
            a.reason,
            a.top_score,
            [(p.doc_id, p.start, p.end, p.score) for p in a.passages],
        ) == (b.abstained, b.kind, b.reason, b.top_score, [(p.doc_id, p.start, p.end, p.score) for p in b.passages]), (
            row["question"]
        )


def test_a_start_with_an_up_to_date_index_reads_and_checksums_its_files_once(toy_settings, fake_embedder, monkeypatch):
    import assistant.build_files
    import assistant.ingest
    import assistant.store

    build_index(toy_settings, fake_embedder)
    reads, fingerprints = [], []
    real_read, real_fingerprints = assistant.build_files.read_and_verify, assistant.ingest.corpus_fingerprints
    monkeypatch.setattr(assistant.store, "read_and_verify", lambda *a: reads.append(a) or real_read(*a))
    monkeypatch.setattr(assistant.build_files, "read_and_verify", lambda *a: reads.append(a) or real_read(*a))
    monkeypatch.setattr(
        assistant.store, "corpus_fingerprints", lambda *a, **k: fingerprints.append(a) or real_fingerprints(*a, **k)
    )
    Assistant.load(toy_settings, embedder=fake_embedder)
    assert (len(reads), len(fingerprints)) == (1, 1)


def test_a_start_with_a_stale_index_rebuilds_it_and_then_loads_it(toy_settings, fake_embedder):
    build_index(toy_settings, fake_embedder)
    write_corpus(toy_settings.corpus_dir, {"extra.txt": "Extra\n\nThe extra note says the kidney dose is lower.\n"})
    assistant = Assistant.load(toy_settings, embedder=fake_embedder)
    assert "extra.txt" in assistant.index.documents
    assert check_index(toy_settings) == []


def test_the_example_phrases_are_encoded_at_the_first_start_only(toy_settings, fake_embedder):
    """The safety and topic example banks are the same texts at every start: their vectors are cached
    beside the index, and a start with the cache gives exactly the same answers."""
    build_index(toy_settings, fake_embedder)
    first = Assistant(toy_settings, fake_embedder, load_index(toy_settings))
    encoded_by_first = fake_embedder.texts_encoded
    assert (toy_settings.index_dir / EXAMPLES_CACHE_FILE).exists()
    second = Assistant(toy_settings, fake_embedder, load_index(toy_settings))
    assert fake_embedder.texts_encoded == encoded_by_first
    assert answers(second, QUESTIONS) == answers(first, QUESTIONS)


def test_a_damaged_example_vector_is_encoded_again_never_used(toy_settings, fake_embedder):
    build_index(toy_settings, fake_embedder)
    clean = Assistant(toy_settings, fake_embedder, load_index(toy_settings))
    path = toy_settings.index_dir / EXAMPLES_CACHE_FILE
    with np.load(path) as data:
        arrays = {name: data[name].copy() for name in data.files}
    vectors = arrays["vectors"]
    other = next(i for i in range(1, len(vectors)) if not np.array_equal(vectors[i], vectors[0]))
    vectors[0] = vectors[other]  # a well-formed unit vector, of the wrong phrase
    np.savez(path, **arrays)
    before = fake_embedder.texts_encoded
    again = Assistant(toy_settings, fake_embedder, load_index(toy_settings))
    assert fake_embedder.texts_encoded - before == 1
    assert answers(again, QUESTIONS) == answers(clean, QUESTIONS)


def test_example_vectors_are_keyed_by_phrase_and_model(tmp_path, fake_embedder):
    cache = ExampleVectors(fake_embedder, tmp_path)
    first = cache.encode(["what dose", "can I drive"])
    cache.save()
    reread = ExampleVectors(fake_embedder, tmp_path)
    assert np.array_equal(reread.encode(["can I drive", "what dose", "a new phrase"])[:2], first[::-1])
    assert reread.embedded == 1  # only the new phrase
    reread.save()
    with np.load(tmp_path / EXAMPLES_CACHE_FILE) as data:
        assert len(data["keys"]) == 3  # the phrases of this start, no more

    class OtherBackend(type(fake_embedder)):
        backend = "onnx-int8"

    other = ExampleVectors(OtherBackend(), tmp_path)
    other.encode(["what dose"])
    assert other.embedded == 1  # another backend's vectors are never served


def test_a_folder_that_cannot_take_the_example_cache_only_costs_time(tmp_path, fake_embedder):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    cache = ExampleVectors(fake_embedder, blocked)
    assert cache.encode(["what dose"]).shape == (1, fake_embedder.dimension)
    cache.save()  # no error: the phrases are encoded again next time


def test_a_start_works_with_the_shortest_question_limit(toy_settings, fake_embedder):
    """The start-up warm-up question must fit whatever max_question_chars allows (down to 1)."""
    settings = toy_settings.replace(max_question_chars=5)
    assistant = Assistant.load(settings, embedder=fake_embedder)
    assert assistant.answer("dose?").question == "dose?"
