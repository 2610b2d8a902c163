from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from assistant.store import build_index, check_index, ensure_index, load_index


def search(index, embedder, question, k=1):
    vector = embedder.encode([question])
    _, ids = index.chunk_index.search(vector, k)
    return [index.chunks[i] for i in ids[0] if i >= 0]


def test_save_then_load_then_search_finds_the_matching_chunk(toy_settings, fake_embedder):
    report = build_index(toy_settings, fake_embedder)
    index = load_index(toy_settings)
    assert report.documents == 5 and report.chunks == len(index.chunks)
    (top,) = search(index, fake_embedder, "what about my kidney?")
    assert top.doc_id == "kidneys.txt"
    for chunk in index.chunks:
        assert index.documents[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text


def test_the_manifest_records_model_dimension_fingerprints_settings_and_versions(toy_settings, fake_embedder):
    report = build_index(toy_settings, fake_embedder)
    manifest = json.loads((report.path / "manifest.json").read_text())
    assert manifest["model"] == {
        "name": "fake-keywords",
        "backend": "onnx",
        "vectors": "fp32",
        "dimension": fake_embedder.dimension,
        "normalized": True,
    }
    assert manifest["metric"] == "inner_product" and manifest["index"]["type"] == "auto"
    assert manifest["index"]["chunks"]["kind"] == manifest["index"]["sentences"]["kind"] == "flat"
    assert set(manifest["corpus"]["files"]) == {"kidneys.txt", "driving.md", "alcohol.txt", "stopping.txt", "uses.txt"}
    assert manifest["chunking"]["max_chars"] == 200
    assert "faiss-cpu" in manifest["versions"] and manifest["built_at"]


def test_no_pickle_files_are_written(toy_settings, fake_embedder):
    report = build_index(toy_settings, fake_embedder)
    names = sorted(p.name for p in report.path.iterdir())
    assert names == [
        "chunks.faiss",
        "chunks.json",
        "derived.json",
        "derived.npz",
        "documents.json",
        "manifest.json",
        "sentences.faiss",
    ]
    with np.load(report.path / "derived.npz", allow_pickle=False) as arrays:  # numeric arrays only: no pickle
        assert all(arrays[name].dtype != object for name in arrays.files)


def test_an_unchanged_corpus_is_not_embedded_again(toy_settings, fake_embedder):
    first = ensure_index(toy_settings, lambda: fake_embedder)
    calls = fake_embedder.calls
    second = ensure_index(toy_settings, lambda: fake_embedder)
    assert first.rebuilt and not second.rebuilt
    assert fake_embedder.calls == calls
    assert second.path == first.path


def test_a_changed_corpus_file_makes_the_index_stale_and_says_which(toy_settings, fake_embedder, toy_corpus):
    ensure_index(toy_settings, lambda: fake_embedder)
    (toy_corpus / "alcohol.txt").write_text("Alcohol\n\nNew advice about alcohol.\n")
    (toy_corpus / "new.txt").write_text("A new document.\n")
    (toy_corpus / "uses.txt").unlink()
    assert check_index(toy_settings) == ["new file new.txt", "removed file uses.txt", "changed file alcohol.txt"]
    with pytest.raises(IndexMismatchError, match="out of date"):
        load_index(toy_settings)
    report = ensure_index(toy_settings, lambda: fake_embedder)
    assert report.rebuilt and "changed file alcohol.txt" in report.reasons
    assert any("New advice" in c.text for c in load_index(toy_settings).chunks)


def test_changed_chunk_settings_or_model_make_the_index_stale(toy_settings, fake_embedder):
    ensure_index(toy_settings, lambda: fake_embedder)
    assert check_index(toy_settings.replace(chunk_max_chars=300)) == ["chunking setting max_chars changed: 200 -> 300"]
    assert check_index(toy_settings.replace(model="other-model")) == ["model changed: fake-keywords -> other-model"]


def test_no_rebuild_stops_with_the_reasons_instead_of_building(toy_settings, fake_embedder, toy_corpus):
    ensure_index(toy_settings, lambda: fake_embedder)
    (toy_corpus / "alcohol.txt").write_text("Changed.\n")
    with pytest.raises(IndexMismatchError, match="changed file alcohol.txt") as info:
        ensure_index(toy_settings, lambda: fake_embedder, allow_rebuild=False)
    assert info.value.reasons == ["changed file alcohol.txt"]


class FailingEmbedder:
    """Fails while the build embeds (chunks and sentences are embedded in one call)."""

    def __init__(self, inner):
        self.inner, self.name, self.dimension, self.backend = inner, inner.name, inner.dimension, inner.backend
        self.known_words = inner.known_words
        self.calls = 0

    def encode(self, texts, *, show_progress=False):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("disk full (simulated)")
        return self.inner.encode(texts)


def test_a_build_that_fails_half_way_leaves_the_previous_index_usable(toy_settings, fake_embedder, toy_corpus):
    build_index(toy_settings, fake_embedder)
    before = load_index(toy_settings)
    (toy_corpus / "alcohol.txt").write_text("Alcohol\n\nCompletely new alcohol text.\n")
    with pytest.raises(RuntimeError, match="simulated"):
        build_index(toy_settings, FailingEmbedder(fake_embedder))
    after = load_index(toy_settings, check=False)
    assert after.path == before.path
    assert [c.text for c in after.chunks] == [c.text for c in before.chunks]
    leftovers = [p.name for p in toy_settings.index_dir.iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_a_build_that_fails_while_writing_files_leaves_no_half_written_index(toy_settings, fake_embedder, monkeypatch):
    build_index(toy_settings, fake_embedder)
    before = load_index(toy_settings)
    import assistant.store as store

    def broken_write(path, data):
        raise OSError("no space left on device (simulated)")

    monkeypatch.setattr(store, "_write_json", broken_write)
    with pytest.raises(OSError, match="simulated"):
        build_index(toy_settings.replace(chunk_max_chars=300), fake_embedder)
    monkeypatch.undo()
    assert load_index(toy_settings).path == before.path
    assert sorted(p.name for p in toy_settings.index_dir.iterdir() if not p.name.startswith(".lock")) == [
        "CURRENT",
        before.path.name,
        "vectors.cache.npz",  # the cache of vectors (assistant/vector_cache.py)
    ]


def test_loading_without_an_index_says_how_to_build_one(toy_settings):
    with pytest.raises(IndexNotFoundError, match="baclofen-qa index"):
        load_index(toy_settings)


def test_a_damaged_index_is_reported_not_crashed_on(toy_settings, fake_embedder):
    report = build_index(toy_settings, fake_embedder)
    (report.path / "chunks.json").write_text("[{broken")
    with pytest.raises(IndexCorruptError, match="Rebuild"):
        load_index(toy_settings)


def test_the_hnsw_index_type_finds_the_same_top_chunk(toy_settings, fake_embedder):
    settings = toy_settings.replace(index_type="hnsw")
    build_index(settings, fake_embedder)
    index = load_index(settings)
    assert type(index.chunk_index).__name__ == "IndexHNSWFlat"
    (top,) = search(index, fake_embedder, "can I drive when drowsy")
    assert top.doc_id == "driving.md"


def test_sentence_vectors_line_up_with_chunk_sentences(toy_settings, fake_embedder):
    build_index(toy_settings, fake_embedder)
    index = load_index(toy_settings)
    assert index.sentence_index.ntotal == len(index.sentences) == sum(len(c.sentences) for c in index.chunks)
    vector = np.zeros((1, fake_embedder.dimension), dtype=np.float32)
    index.sentence_index.reconstruct(0, vector[0])
    first = index.sentences[0]
    text = index.documents[index.chunks[first.chunk_index].doc_id].text[first.start : first.end]
    assert np.allclose(vector[0], fake_embedder.encode([text])[0], atol=1e-6)
