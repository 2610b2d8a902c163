"""Integration: the real model builds the real index from corpus/ and searches it."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.store import ensure_index, load_index
from tests.conftest import CORPUS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_index(tmp_path_factory, real_embedder):
    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("index"))
    report = ensure_index(settings, lambda: real_embedder)
    return settings, report, load_index(settings)


def top_chunks(index, embedder, question, k=3):
    _, ids = index.chunk_index.search(embedder.encode([question]), k)
    return [index.chunks[i] for i in ids[0]]


def test_the_real_index_has_every_chunk_verbatim_and_unit_vectors(real_index, real_embedder):
    settings, report, index = real_index
    assert report.rebuilt and report.dimension == 384 and report.chunks == len(index.chunks) > 40
    article = index.documents["baclofen-article.txt"]
    for chunk in index.chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
    vector = index.chunk_index.reconstruct(0)
    assert abs(float((vector * vector).sum()) - 1.0) < 1e-4


@pytest.mark.parametrize(
    "question, expected",
    [
        ("What are the common side effects of baclofen?", "Common side effects"),
        ("Can I stop taking baclofen suddenly?", "abruptly discontinued"),
        ("Is baclofen used to treat alcohol addiction?", "alcohol"),
    ],
)
def test_searching_the_real_index_finds_the_passage_that_answers(real_index, real_embedder, question, expected):
    _, _, index = real_index
    assert any(expected in chunk.text for chunk in top_chunks(index, real_embedder, question))


def test_a_second_run_on_the_unchanged_corpus_does_no_embedding(real_index):
    settings, first, _ = real_index

    def must_not_load():
        raise AssertionError("the model was loaded although the index is up to date")

    second = ensure_index(settings, must_not_load)
    assert not second.rebuilt and second.path == first.path
