"""Issue 12, part C: build cost. No text embedded twice, and a content-hash cache of vectors in the index
folder so that a rebuild embeds only new or changed texts; the cache is bounded, refuses damaged entries,
and survives `kill -9`.

Real FAISS and real files throughout; the keyword FakeEmbedder records the texts it is given, so a test
can say exactly which texts a build embedded.
"""

from __future__ import annotations

import random
import signal
import time

import numpy as np
import pytest

from assistant.config import Settings
from assistant.store import build_index, check_index, load_index
from tests.conftest import TOY_DOCUMENTS, FakeEmbedder, write_corpus
from tests.reliability.test_index_integrity import assert_a_complete_index, start_build_loop

NEW_LEAFLET = (
    "Zebrafish note\n\nThe zebrafish study found no effect on the kidney. Each zebrafish was given one dose a day.\n"
)


class RecordingEmbedder(FakeEmbedder):
    """The keyword FakeEmbedder, remembering every text it was asked to embed."""

    def __init__(self, name: str = "fake-keywords") -> None:
        super().__init__()
        self.name = name
        self.seen: list[str] = []

    def encode(self, texts, *, show_progress: bool = False) -> np.ndarray:
        self.seen.extend(texts)
        return super().encode(texts, show_progress=show_progress)


def vectors_of(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    index = load_index(settings, check=False)
    return (
        index.chunk_index.reconstruct_n(0, index.chunk_index.ntotal),
        index.sentence_index.reconstruct_n(0, index.sentence_index.ntotal),
    )


def test_a_second_build_of_the_same_corpus_embeds_nothing(toy_settings):
    first_model = RecordingEmbedder()
    first = build_index(toy_settings, first_model)
    before = vectors_of(toy_settings)
    second_model = RecordingEmbedder()
    second = build_index(toy_settings, second_model)
    # The first build embeds each distinct text once, and says so; the second embeds nothing.
    assert first.embedded > 0 and len(first_model.seen) == len(set(first_model.seen)) == first.embedded
    assert second_model.seen == []
    assert second.embedded == 0 and second.texts == first.texts
    after = vectors_of(toy_settings)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])


def test_no_text_is_embedded_twice_in_one_build(toy_settings):
    # The same paragraph in two documents, and one-sentence chunks without a heading, whose chunk text and
    # sentence text are the same string.
    repeated = "Do not stop suddenly: stopping can cause a seizure."
    write_corpus(toy_settings.corpus_dir, {"one.txt": repeated + "\n", "two.txt": repeated + "\n"})
    model = RecordingEmbedder()
    report = build_index(toy_settings, model)
    assert repeated in model.seen
    assert len(model.seen) == len(set(model.seen)), "a text was embedded twice"
    assert len(model.seen) == report.embedded
    assert report.texts > report.embedded


def test_adding_one_document_embeds_only_that_documents_texts(toy_settings):
    build_index(toy_settings, RecordingEmbedder())
    (toy_settings.corpus_dir / "zebrafish.txt").write_text(NEW_LEAFLET, encoding="utf-8")
    model = RecordingEmbedder()
    report = build_index(toy_settings, model)
    index = load_index(toy_settings)
    own = [c for c in index.chunks if c.doc_id == "zebrafish.txt"]
    own_sentences = sum(len(c.sentences) for c in own)
    assert model.seen, "the new document was not embedded"
    assert all("zebrafish" in text.lower() for text in model.seen), model.seen[:3]
    assert 0 < report.embedded == len(model.seen) <= len(own) + own_sentences
    # and the new document is searchable: its chunk vectors are those of its texts
    chunk_vectors, _ = vectors_of(toy_settings)
    rows = [i for i, c in enumerate(index.chunks) if c.doc_id == "zebrafish.txt"]
    fresh = FakeEmbedder().encode([f"{index.chunks[i].section}\n{index.chunks[i].text}" for i in rows])
    np.testing.assert_allclose(chunk_vectors[rows], fresh, atol=1e-6)


def test_a_changed_text_is_embedded_again_and_its_old_vector_is_not_used(toy_settings):
    build_index(toy_settings, RecordingEmbedder())
    (toy_settings.corpus_dir / "alcohol.txt").write_text(
        "Alcohol\n\nAlcohol adds to the drowsy effect. Avoid alcohol before you drive.\n", encoding="utf-8"
    )
    model = RecordingEmbedder()
    build_index(toy_settings, model)
    assert model.seen and all("drive" in text for text in model.seen), model.seen[:3]
    index = load_index(toy_settings)
    chunk_vectors, sentence_vectors = vectors_of(toy_settings)
    row = next(i for i, c in enumerate(index.chunks) if c.doc_id == "alcohol.txt" and "drive" in c.text)
    chunk = index.chunks[row]
    expected = FakeEmbedder().encode([f"{chunk.section}\n{chunk.text}"])[0]
    np.testing.assert_allclose(chunk_vectors[row], expected, atol=1e-6)
    changed = next(
        j
        for j, s in enumerate(index.sentences)
        if "drive" in index.documents["alcohol.txt"].text[s.start : s.end] and s.chunk_index == row
    )
    assert sentence_vectors[changed][2] > 0  # the "drive" keyword's dimension: the new sentence's vector


def damage_one_entry(settings: Settings, row: int) -> None:
    """Overwrite one cached vector with another unit vector, leaving its checksum as it was."""
    from assistant.vector_cache import CACHE_FILE

    path = settings.index_dir / CACHE_FILE
    with np.load(path) as data:
        arrays = {name: data[name].copy() for name in data.files}
    arrays["vectors"][row] = np.roll(arrays["vectors"][row], 1)
    assert not np.array_equal(arrays["vectors"][row], np.roll(arrays["vectors"][row], -1))
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def test_a_damaged_cache_entry_is_detected_and_embedded_again(toy_settings):
    from assistant.vector_cache import CACHE_FILE, read_cache

    build_index(toy_settings, RecordingEmbedder())
    good = vectors_of(toy_settings)
    with np.load(toy_settings.index_dir / CACHE_FILE) as data:
        rows = len(data["keys"])
    damage_one_entry(toy_settings, rows // 2)
    assert read_cache(toy_settings.index_dir, FakeEmbedder().dimension)[1] == 1
    model = RecordingEmbedder()
    build_index(toy_settings, model)
    assert len(model.seen) == 1
    after = vectors_of(toy_settings)
    np.testing.assert_allclose(after[0], good[0], atol=1e-6)
    np.testing.assert_allclose(after[1], good[1], atol=1e-6)
    assert read_cache(toy_settings.index_dir, FakeEmbedder().dimension)[1] == 0  # the entry was replaced


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_an_unreadable_cache_file_means_everything_is_embedded_again(toy_settings, damage):
    from assistant.vector_cache import CACHE_FILE, read_cache

    first = build_index(toy_settings, RecordingEmbedder())
    good = vectors_of(toy_settings)
    path = toy_settings.index_dir / CACHE_FILE
    data = path.read_bytes()
    path.write_bytes(
        {"truncated": data[: len(data) // 2], "garbage": random.Random(1).randbytes(len(data)), "empty": b""}[damage]
    )
    model = RecordingEmbedder()
    report = build_index(toy_settings, model)
    assert report.embedded == first.embedded
    after = vectors_of(toy_settings)
    np.testing.assert_allclose(after[0], good[0], atol=1e-6)
    assert read_cache(toy_settings.index_dir, FakeEmbedder().dimension)[1] == 0


def test_the_cache_keeps_only_the_texts_of_the_latest_build(toy_settings):
    from assistant.vector_cache import read_cache

    write_corpus(toy_settings.corpus_dir, {"zebrafish.txt": NEW_LEAFLET})
    build_index(toy_settings, RecordingEmbedder())
    (toy_settings.corpus_dir / "zebrafish.txt").unlink()
    report = build_index(toy_settings, RecordingEmbedder())
    entries, damaged = read_cache(toy_settings.index_dir, FakeEmbedder().dimension)
    assert damaged == 0
    assert len(entries) <= report.texts
    model = RecordingEmbedder()
    (toy_settings.corpus_dir / "zebrafish.txt").write_text(NEW_LEAFLET, encoding="utf-8")
    build_index(toy_settings, model)
    assert model.seen and all("zebrafish" in t.lower() for t in model.seen)  # dropped, so embedded again


def test_another_model_or_backend_never_reuses_the_cached_vectors(toy_settings):
    build_index(toy_settings, RecordingEmbedder("fake-keywords"))
    other = RecordingEmbedder("fake-keywords")
    other.backend = "onnx-int8"
    report = build_index(toy_settings, other)
    assert report.embedded == len(set(other.seen)) > 0 and len(other.seen) == report.embedded


def test_with_the_cache_off_every_build_embeds_everything_and_writes_no_cache(toy_settings):
    from dataclasses import replace

    from assistant.vector_cache import CACHE_FILE

    settings = replace(toy_settings, vector_cache=False)
    first = build_index(settings, RecordingEmbedder())
    second = build_index(settings, RecordingEmbedder())
    assert second.embedded == first.embedded > 0
    assert not (settings.index_dir / CACHE_FILE).exists()


def test_a_temporary_cache_file_left_by_a_killed_build_is_removed(toy_settings):
    build_index(toy_settings, RecordingEmbedder())
    leftover = toy_settings.index_dir / ".vectors.cache.tmp-deadbeef.npz"
    leftover.write_bytes(b"half a cache")
    build_index(toy_settings, RecordingEmbedder())
    assert not leftover.exists()


@pytest.mark.slow  # about 15 processes started and killed
def test_kill_9_during_builds_leaves_a_readable_cache_and_a_complete_index(toy_settings):
    from assistant.vector_cache import read_cache

    documents = {f"doc{i}.txt": f"Document {i}\n\n" + " ".join(TOY_DOCUMENTS.values()) * 3 for i in range(30)}
    write_corpus(toy_settings.corpus_dir, documents)
    build_index(toy_settings, FakeEmbedder())
    rng = random.Random(12)
    for _ in range(15):
        builder = start_build_loop(toy_settings.corpus_dir, toy_settings.index_dir)
        time.sleep(rng.uniform(0.0, 1.5))
        builder.send_signal(signal.SIGKILL)
        builder.wait()
        builder.stdout.close()
        assert_a_complete_index(toy_settings)
        entries, damaged = read_cache(toy_settings.index_dir, FakeEmbedder().dimension)
        assert damaged == 0 and entries
    model = RecordingEmbedder()
    build_index(toy_settings, model)
    # only the document the loop rewrites before each build can be new to the cache
    assert all("version" in text.lower() for text in model.seen), model.seen
    assert check_index(toy_settings) == []
    assert [p.name for p in toy_settings.index_dir.iterdir() if p.name.startswith(".vectors.cache.tmp-")] == []
