"""Issue 10 findings 2, 5, 8 and 11b: an index that never lies about being current.

Each test re-runs a finding with a real fault: files edited or deleted while a build reads them, bytes of
a real FAISS file overwritten or cut off, loads racing real builds in another process, `kill -9` at random
points of real builds, and a corpus that is empty while the model would be slow to load.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import assistant.embedding
import assistant.store
from assistant.cli import main
from assistant.errors import IndexCorruptError, IndexMismatchError
from assistant.store import POINTER, build_index, check_index, ensure_index, load_index
from tests.conftest import REPO, TOY_DOCUMENTS, write_corpus
from tests.reliability.build_loop import changing_text

BUILD_FILES = ("chunks.faiss", "sentences.faiss", "documents.json", "chunks.json")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def assert_records_what_it_embedded(index) -> None:
    """For plain .txt files without sidecars the text is the bytes: the manifest must hold their hash."""
    files = index.manifest["corpus"]["files"]
    for doc_id, document in index.documents.items():
        assert files[doc_id] == document.fingerprint == sha256_text(document.text), doc_id


def builds(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.is_dir())


def run_after_corpus_read(monkeypatch, action) -> None:
    """Run `action` right after the build has read the corpus, before it embeds and writes anything."""
    real = assistant.store.load_corpus

    def read_then_act(*args, **kwargs):
        corpus = real(*args, **kwargs)
        action()
        return corpus

    monkeypatch.setattr(assistant.store, "load_corpus", read_then_act)


# Finding 2: changes during a build -------------------------------------------------------------------


def test_a_file_edited_while_the_index_is_built_makes_the_index_out_of_date(toy_settings, fake_embedder, monkeypatch):
    alcohol = toy_settings.corpus_dir / "alcohol.txt"
    run_after_corpus_read(monkeypatch, lambda: alcohol.write_text("Alcohol\n\nEdited during the build.\n"))
    build_index(toy_settings, fake_embedder)
    monkeypatch.undo()
    assert check_index(toy_settings) == ["changed file alcohol.txt"]
    with pytest.raises(IndexMismatchError, match="changed file alcohol.txt"):
        load_index(toy_settings)
    assert_records_what_it_embedded(load_index(toy_settings, check=False))
    assert ensure_index(toy_settings, lambda: fake_embedder).rebuilt
    assert "Edited during the build." in load_index(toy_settings).documents["alcohol.txt"].text


def test_a_file_deleted_while_the_index_is_built_is_not_quoted_after_the_next_check(
    toy_settings, fake_embedder, monkeypatch
):
    run_after_corpus_read(monkeypatch, lambda: (toy_settings.corpus_dir / "alcohol.txt").unlink())
    build_index(toy_settings, fake_embedder)
    monkeypatch.undo()
    assert check_index(toy_settings) == ["removed file alcohol.txt"]
    with pytest.raises(IndexMismatchError, match="removed file alcohol.txt"):
        load_index(toy_settings)
    assert ensure_index(toy_settings, lambda: fake_embedder).rebuilt
    assert all(c.doc_id != "alcohol.txt" for c in load_index(toy_settings).chunks)


def test_builds_racing_a_writer_always_record_the_bytes_they_embedded(toy_settings, fake_embedder):
    path = toy_settings.corpus_dir / "changing.txt"
    path.write_text(changing_text(0))
    stop = threading.Event()

    def writer() -> None:
        version = 0
        while not stop.is_set():
            version += 1
            staged = path.with_name(".changing.tmp")  # hidden: not a corpus file
            staged.write_text(changing_text(version))
            os.replace(staged, path)  # readers see one whole version or the next

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        for _ in range(20):
            build_index(toy_settings, fake_embedder)
            assert_records_what_it_embedded(load_index(toy_settings, check=False))
    finally:
        stop.set()
        thread.join()


# Finding 5: damaged index files -----------------------------------------------------------------------


def overwrite_random_bytes(path: Path, count: int = 200, seed: int = 0) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    start = rng.randrange(len(data) // 4, len(data) - count)  # past the header: the vectors or the text
    data[start : start + count] = rng.randbytes(count)
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGE = {"overwritten": overwrite_random_bytes, "truncated": truncate, "deleted": Path.unlink}


@pytest.mark.parametrize("name", BUILD_FILES)
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_build_file_is_refused_by_name_and_rebuilt_by_index(toy_settings, fake_embedder, name, damage):
    built = build_index(toy_settings, fake_embedder)
    DAMAGE[damage](built.path / name)
    with pytest.raises(IndexCorruptError, match=name):
        load_index(toy_settings)
    reasons = check_index(toy_settings)
    assert reasons and all("damaged" in r for r in reasons) and name in reasons[0]
    report = ensure_index(toy_settings, lambda: fake_embedder)
    assert report.rebuilt and report.path != built.path
    assert assistant.store.verify_build(report.path, load_index(toy_settings).manifest) == []


def test_index_command_rebuilds_a_corrupted_index_instead_of_saying_up_to_date(
    tmp_path, toy_corpus, fake_embedder, monkeypatch, capsys
):
    monkeypatch.setattr(assistant.embedding, "load_embedder", lambda *a, **k: fake_embedder)
    args = ["index", "--corpus", str(toy_corpus), "--index-dir", str(tmp_path / "idx")]
    assert main(args) == 0
    capsys.readouterr()
    current = tmp_path / "idx" / (tmp_path / "idx" / POINTER).read_text().strip()
    overwrite_random_bytes(current / "chunks.faiss")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Built a new index" in out and "chunks.faiss is corrupted" in out


def test_ask_on_a_corrupted_index_rebuilds_it_and_quotes_the_right_passage(
    tmp_path, toy_corpus, fake_embedder, monkeypatch, capsys
):
    monkeypatch.setattr(assistant.embedding, "load_embedder", lambda *a, **k: fake_embedder)
    common = ["--corpus", str(toy_corpus), "--index-dir", str(tmp_path / "idx")]
    assert main(["index", *common]) == 0
    current = tmp_path / "idx" / (tmp_path / "idx" / POINTER).read_text().strip()
    overwrite_random_bytes(current / "chunks.faiss", seed=5)
    capsys.readouterr()
    assert main(["ask", "is it ok with kidney disease?", *common]) == 0
    out, err = capsys.readouterr()
    assert "the index is damaged" in err and "chunks.faiss is corrupted" in err
    assert "kidney disease need care" in " ".join(out.split())


def test_vectors_that_are_not_unit_length_are_refused_even_with_matching_checksums(toy_settings, fake_embedder):
    import faiss

    built = build_index(toy_settings, fake_embedder)
    path = built.path / "chunks.faiss"
    index = faiss.read_index(str(path))
    vectors = index.reconstruct_n(0, index.ntotal)
    vectors[3] *= 7.9e31  # what 200 random bytes did to a score in the issue
    damaged = faiss.IndexFlatIP(index.d)
    damaged.add(vectors)
    data = faiss.serialize_index(damaged).tobytes()
    path.write_bytes(data)
    manifest_path = built.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    # Re-sign the file, as a bug that wrote bad vectors would have: only the vector check is left to catch it.
    manifest.get("checksums", {})["chunks.faiss"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="chunks.faiss holds vectors that are not unit length"):
        load_index(toy_settings)


# Finding 8: loads while builds switch ---------------------------------------------------------------


def start_build_loop(corpus: Path, index_dir: Path, builds: int | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.reliability.build_loop", str(corpus), str(index_dir)]
    if builds is not None:
        command.append(str(builds))
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.mark.parametrize("switches_wanted", [4, pytest.param(40, marks=pytest.mark.slow)])
def test_loads_never_fail_while_another_process_switches_builds(toy_settings, fake_embedder, switches_wanted):
    """Loads run until the other process has switched builds `switches_wanted` times (counted, not timed:
    a busy machine only makes the test longer). A builder that dies ends the loop and fails the test."""
    build_index(toy_settings, fake_embedder)
    builder = start_build_loop(toy_settings.corpus_dir, toy_settings.index_dir)
    switched = []
    reader = threading.Thread(target=lambda: switched.extend(builder.stdout), daemon=True)
    reader.start()
    loads, failures = 0, []
    try:
        while (len(switched) < switches_wanted or loads < 20) and builder.poll() is None:
            try:
                index = load_index(toy_settings, check=False)
            except IndexCorruptError as exc:
                failures.append(str(exc))
            else:
                loads += 1
                assert_records_what_it_embedded(index)
    finally:
        builder.kill()
        builder.wait()
    assert len(switched) >= switches_wanted and loads >= 20, f"the builder stopped after {len(switched)} switches"
    assert failures == [], f"{len(failures)} of {loads + len(failures)} loads failed during {len(switched)} switches"


def test_the_build_before_the_live_one_is_kept_and_older_ones_are_deleted(toy_settings, fake_embedder):
    first = build_index(toy_settings, fake_embedder).path
    second = build_index(toy_settings, fake_embedder).path
    third = build_index(toy_settings, fake_embedder).path
    assert builds(toy_settings.index_dir) == sorted([second.name, third.name])
    assert not first.exists()


# kill -9 at random points of a build -----------------------------------------------------------------


def assert_a_complete_index(settings) -> None:
    index = load_index(settings, check=False)
    assert assistant.store.verify_build(index.path, index.manifest) == []
    assert_records_what_it_embedded(index)


@pytest.mark.slow  # about 20 processes started and killed
def test_kill_9_at_random_points_of_builds_always_leaves_a_complete_index(toy_settings, fake_embedder):
    documents = {f"doc{i}.txt": f"Document {i}\n\n" + " ".join(TOY_DOCUMENTS.values()) * 3 for i in range(30)}
    write_corpus(toy_settings.corpus_dir, documents)
    build_index(toy_settings, fake_embedder)
    rng = random.Random(10)
    completed, left_half_written = 0, 0
    for _ in range(20):
        builder = start_build_loop(toy_settings.corpus_dir, toy_settings.index_dir)
        time.sleep(rng.uniform(0.0, 1.5))
        builder.send_signal(signal.SIGKILL)
        builder.wait()
        completed += len(builder.stdout.read().splitlines())
        left_half_written += any(p.name.startswith(".tmp-build-") for p in toy_settings.index_dir.iterdir())
        assert_a_complete_index(toy_settings)
    print(f"20 kills after {completed} completed builds; {left_half_written} left a half-written build behind")
    report = ensure_index(toy_settings, lambda: fake_embedder)
    assert_a_complete_index(toy_settings)
    assert check_index(toy_settings) == []
    leftovers = [p.name for p in toy_settings.index_dir.iterdir() if p.name.startswith(".tmp-build-")]
    assert leftovers == [] and len(builds(toy_settings.index_dir)) <= 2, builds(toy_settings.index_dir)
    assert report.documents == 36


@pytest.mark.slow  # starts the real command with the real model seven times (10-30 s each here)
def test_kill_9_of_the_real_index_command_leaves_the_old_or_the_new_index(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Baclofen can make you drowsy. Do not drive.\n"})
    index_dir = tmp_path / "index"
    command = [sys.executable, "-m", "assistant.cli", "index", "--corpus", str(corpus), "--index-dir", str(index_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    started = time.monotonic()
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    full = time.monotonic() - started
    from assistant.config import Settings

    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    rng = random.Random(8)
    outcomes = []
    for version in range(6):
        text = f"Version {version}: baclofen can make you drowsy.\n"
        (corpus / "a.txt").write_text(text)
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if version % 2 == 0:
            time.sleep(rng.uniform(0.1, 0.9) * full)  # while the model loads or the corpus is read
        else:
            # Once embedding starts, 1-2.5 s here cover embedding, writing, switching, cleaning up and exiting.
            while (line := process.stderr.readline()) and not line.startswith("Embedding"):
                pass
            time.sleep(rng.uniform(0.0, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
        index = load_index(settings, check=False)
        assert assistant.store.verify_build(index.path, index.manifest) == []
        assert_records_what_it_embedded(index)
        reasons = check_index(settings)
        assert reasons in ([], ["changed file a.txt"])  # the new complete index, or the old complete one
        assert (reasons == []) == (index.documents["a.txt"].text == text)
        outcomes.append("new" if reasons == [] else "old")
    print(f"a full run took {full:.1f} s; after each kill the index was: {', '.join(outcomes)}")


# Finding 11b: an empty or missing corpus, before the model loads ----------------------------------------


@pytest.fixture
def model_must_not_load(monkeypatch):
    def must_not_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the corpus was checked")

    monkeypatch.setattr(assistant.embedding, "load_embedder", must_not_load)


@pytest.mark.parametrize("command", [["index"], ["ask", "can I drive?"], ["serve"], ["eval", "questions.jsonl"]])
@pytest.mark.parametrize("corpus_state", ["empty", "missing", "only unreadable files"])
def test_an_empty_or_missing_corpus_is_reported_before_the_model_loads(
    tmp_path, model_must_not_load, capsys, command, corpus_state
):
    corpus = tmp_path / "corpus"
    if corpus_state != "missing":
        corpus.mkdir()
    if corpus_state == "only unreadable files":
        (corpus / "bad.html").write_text("<html><body>" + "<div>" * 1000 + "x" + "</div>" * 1000 + "</body></html>")
        (corpus / "binary.txt").write_bytes(b"\0\1\2" * 100)
    code = main([*command, "--corpus", str(corpus), "--index-dir", str(tmp_path / "idx")])
    err = capsys.readouterr().err
    assert code == 1
    assert ("No readable documents" if corpus_state != "missing" else "does not exist") in err
    if corpus_state == "only unreadable files":
        assert "bad.html: is HTML nested deeper than" in err and "binary.txt: looks like a binary file" in err


class ScalingEmbedder:
    """A broken model: right directions, wrong lengths (what a damaged model file can produce)."""

    def __init__(self, inner):
        self.inner, self.name, self.dimension, self.backend = inner, inner.name, inner.dimension, inner.backend
        self.known_words = inner.known_words

    def encode(self, texts, *, show_progress=False):
        return self.inner.encode(texts) * np.float32(1e20)


def test_a_model_returning_vectors_that_are_not_unit_length_writes_nothing(toy_settings, fake_embedder):
    from assistant.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="not unit length"):
        build_index(toy_settings, ScalingEmbedder(fake_embedder))
    assert not toy_settings.index_dir.exists() or builds(toy_settings.index_dir) == []


def test_an_index_of_the_previous_format_is_rebuilt_not_called_damaged(toy_settings, fake_embedder):
    built = build_index(toy_settings, fake_embedder)
    manifest_path = built.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 2
    manifest.pop("checksums", None)
    manifest_path.write_text(json.dumps(manifest))
    assert check_index(toy_settings) == [f"index format 2 != {assistant.store.FORMAT_VERSION}"]
    with pytest.raises(IndexMismatchError, match="another version"):
        load_index(toy_settings, check=False)
    assert ensure_index(toy_settings, lambda: fake_embedder).rebuilt
