"""Chunks + vectors -> a persisted FAISS index, and back.

Layout of an index folder (default `index/`):

    CURRENT                  name of the live build folder (replaced atomically)
    build-<time>-<id>/
        manifest.json        model, dimension, corpus fingerprints, chunker settings, versions
                             (baclofen-qa, its git commit, the libraries: assistant/version.py),
                             and the sha256 and size of every other file of the build
        documents.json       document metadata and text (offsets point into it)
        chunks.json          chunks with section, kind, offsets and sentence spans
        chunks.faiss         one unit vector per chunk
        sentences.faiss      one unit vector per sentence, in chunk order
        derived.json/.npz    what start-up would otherwise compute from every chunk: corpus words,
                             spelling index, BM25 matrix, topic coverage (assistant/derived.py)
    vectors.cache.npz        the vectors of the latest build by model and text (assistant/vector_cache.py)

A build is written into a hidden temporary folder, renamed, and only then made live by
replacing CURRENT, so an interrupted build leaves the previous index usable. The build before the
live one is kept (older ones are deleted), so a reader that read CURRENT just before a switch can
still open the build it was pointed at; a reader that finds its build gone reads CURRENT again once.
No pickle: everything loads without executing code.

The index never claims to be current when it is not: the corpus fingerprints in the manifest are of
the very bytes that were embedded, and every file of a build is checked against its checksum before it
is used (and by `check_index`, so `baclofen-qa index` rebuilds a damaged index).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assistant.build_files import (
    MANIFEST,
    checksum,
    fsync_dir,
    read_and_verify,
    sane_norms,
    verify_build,
    write_bytes,
    write_json as _write_json,  # by this name: a test makes it fail to simulate a full disk
)
from assistant.chunking import CHUNKER_VERSION, chunk_text
from assistant.config import Settings
from assistant.derived import Derived, compute_derived, parse_derived, serialize_derived
from assistant.embedding import VECTOR_FAMILY, Embedder
from assistant.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, ModelLoadError
from assistant.ingest import Corpus, corpus_fingerprints, load_corpus
from assistant.medicines import NAMES_FILE, MedicineNames, detect_medicines, mask_names, mask_pattern
from assistant.records import Chunk, Document
from assistant.vector_cache import encode_with_cache, remove_stale_temporaries
from assistant.vector_index import VectorRows, build_vector_index, configure_loaded, import_faiss
from assistant.version import build_info

# 3: the manifest holds a checksum of every file of the build.
# 4: derived.json and derived.npz (structures start-up used to compute from every chunk).
FORMAT_VERSION = 4
POINTER = "CURRENT"


@dataclass(frozen=True, slots=True)
class SentenceRef:
    """A sentence of a chunk: `chunks[chunk_index]`, document offsets [start, end)."""

    chunk_index: int
    start: int
    end: int


@dataclass(frozen=True)
class LoadedIndex:
    """Everything answering needs from disk, loaded once."""

    path: Path
    manifest: dict
    documents: dict[str, Document]
    chunks: tuple[Chunk, ...]
    chunk_index: object  # faiss.Index over chunk vectors, row i = chunks[i]
    sentence_index: object  # faiss.Index over sentence vectors, row j = sentences[j]
    sentences: tuple[SentenceRef, ...]
    derived: Derived  # computed from the chunks at build time (assistant/derived.py)

    @property
    def dimension(self) -> int:
        return int(self.manifest["model"]["dimension"])


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What `ensure_index` did, for the one-screen summary."""

    path: Path
    rebuilt: bool
    reasons: tuple[str, ...]
    documents: int
    chunks: int
    dimension: int
    seconds: float
    skipped: tuple[str, ...] = ()
    texts: int = 0  # texts the build needed vectors for (chunks and sentences); 0 when nothing was built
    embedded: int = 0  # of them, distinct texts the model embedded (the others: repeats or cached)


_faiss = import_faiss  # one place says how to install it (assistant/vector_index.py)


def chunk_embedding_text(chunk: Chunk, mask: re.Pattern[str] | None = None) -> str:
    """What is embedded for a chunk: its section heading gives context the text often omits.

    The names of the medicine the document is about (`mask`, see medicines.mask_pattern) are left
    out: they are in nearly every passage and would pull every passage towards every question.
    """
    return mask_names(chunk.search_text, mask)


def with_medicines(documents: Sequence[Document], names: MedicineNames) -> list[Document]:
    """The documents, each with its medicines: from its sidecar, or detected from its words."""
    return [d if d.medicines else replace(d, medicines=detect_medicines(d.title, d.text, names)) for d in documents]


def document_masks(documents: Sequence[Document], names: MedicineNames) -> dict[str, re.Pattern[str] | None]:
    """For each document, a pattern of every name of the medicines it is about (generic and brands)."""
    return {d.doc_id: mask_pattern(n for m in d.medicines for n in names.aliases(m)) for d in documents}


def _names_table_version() -> str:
    """A short hash of the medicine names table: detection (and so masking) depends on it."""
    import hashlib

    try:
        return hashlib.sha256(NAMES_FILE.read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"


def build_chunks(corpus: Corpus, settings: Settings) -> list[Chunk]:
    chunks: list[Chunk] = []
    for document in corpus.documents:
        chunks.extend(
            chunk_text(
                document.text,
                document.doc_id,
                max_chars=settings.chunk_max_chars,
                overlap_sentences=settings.chunk_overlap_sentences,
            )
        )
    return chunks


def sentence_texts(chunks: Sequence[Chunk], documents: dict[str, Document]) -> list[list[str]]:
    """The texts of each chunk's sentences, as the retriever reads them (unmasked)."""
    return [[documents[c.doc_id].text[s:e] for s, e in c.sentences] for c in chunks]


def make_faiss_index(vectors: np.ndarray, settings: Settings):
    """An inner-product FAISS index over unit vectors, of the kind vector_index.choose_index picks."""
    return build_vector_index(vectors, settings)[0]


def expected_manifest(settings: Settings, fingerprints: dict[str, str]) -> dict:
    """The parts of a manifest that must match for an index to be usable with these settings."""
    return {
        "format_version": FORMAT_VERSION,
        # The backend is recorded; its vector family must match (int8 vectors are not fp32 vectors).
        "model": {
            "name": settings.model,
            "backend": settings.encoder_backend,
            "vectors": VECTOR_FAMILY[settings.encoder_backend],
        },
        "index": {
            "type": settings.index_type,
            "hnsw_m": settings.hnsw_m if settings.index_type == "hnsw" else None,
            "exact_max_vectors": settings.exact_max_vectors if settings.index_type == "auto" else None,
        },
        "chunking": {
            "max_chars": settings.chunk_max_chars,
            "overlap_sentences": settings.chunk_overlap_sentences,
            "chunker_version": CHUNKER_VERSION,
            "medicine_names": _names_table_version(),
        },
        "corpus": {"files": fingerprints},
    }


def manifest_differences(manifest: dict, expected: dict) -> list[str]:
    """Human-readable reasons why an index does not match the corpus and settings (empty: up to date)."""
    reasons = []
    if manifest.get("format_version") != expected["format_version"]:
        reasons.append(f"index format {manifest.get('format_version')} != {expected['format_version']}")
    if manifest.get("model", {}).get("name") != expected["model"]["name"]:
        reasons.append(f"model changed: {manifest.get('model', {}).get('name')} -> {expected['model']['name']}")
    # Indexes from before the backend was recorded were all built by PyTorch (fp32 vectors).
    old_vectors = manifest.get("model", {}).get("vectors", "fp32")
    if old_vectors != expected["model"]["vectors"]:
        old_backend = manifest.get("model", {}).get("backend", "torch")
        reasons.append(
            f"encoder backend changed: {old_backend} ({old_vectors} vectors) -> "
            f"{expected['model']['backend']} ({expected['model']['vectors']} vectors)"
        )
    for section in ("index", "chunking"):
        old, new = manifest.get(section, {}), expected[section]
        for key, value in new.items():
            if old.get(key) != value:
                reasons.append(f"{section} setting {key} changed: {old.get(key)} -> {value}")
    old_files = manifest.get("corpus", {}).get("files", {})
    new_files = expected["corpus"]["files"]
    for doc_id in sorted(set(new_files) - set(old_files)):
        reasons.append(f"new file {doc_id}")
    for doc_id in sorted(set(old_files) - set(new_files)):
        reasons.append(f"removed file {doc_id}")
    for doc_id in sorted(set(old_files) & set(new_files)):
        if old_files[doc_id] != new_files[doc_id]:
            reasons.append(f"changed file {doc_id}")
    return reasons


def current_build(index_dir: Path) -> Path | None:
    """The live build folder, or None when there is no index."""
    pointer = index_dir / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = index_dir / name
    if not name or "/" in name or not path.is_dir():
        raise IndexCorruptError(f"{pointer} points to a missing build ({name!r}). Rebuild: baclofen-qa index --rebuild")
    return path


def read_manifest(build: Path) -> dict:
    try:
        return json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(
            f"Cannot read {build / MANIFEST} ({exc}). Rebuild: baclofen-qa index --rebuild"
        ) from None


def read_corpus(settings: Settings) -> Corpus:
    """The corpus read with the limits of `settings`.

    Raises:
        CorpusError: the folder is missing; EmptyCorpusError: no readable document.
    """
    return load_corpus(
        settings.corpus_dir, max_file_bytes=settings.max_file_bytes, max_html_depth=settings.max_html_depth
    )


def current_fingerprints(settings: Settings) -> dict[str, str]:
    """{doc_id: fingerprint} of the corpus as it is now (hashes only: nothing is parsed)."""
    return corpus_fingerprints(settings.corpus_dir, max_file_bytes=settings.max_file_bytes)


def check_index(settings: Settings) -> list[str]:
    """Reasons the index must be (re)built; empty when it is up to date. Does not load the model.

    A damaged index (missing build, unreadable manifest, a file that fails its checksum) is a reason
    too: it is never reported as up to date.
    """
    try:
        build = current_build(settings.index_dir)
        if build is None:
            return [f"no index in {settings.index_dir}"]
        manifest = read_manifest(build)
        if manifest.get("format_version") != FORMAT_VERSION:  # older builds have no checksums to verify
            return manifest_differences(manifest, expected_manifest(settings, current_fingerprints(settings)))
        damage = verify_build(build, manifest)
    except IndexCorruptError as exc:
        return [f"the index is damaged: {exc}"]
    if damage:
        return [f"the index is damaged: {problem}" for problem in damage]
    return manifest_differences(manifest, expected_manifest(settings, current_fingerprints(settings)))


@contextlib.contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index folder (a second `make run` waits instead of racing)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_index(
    settings: Settings,
    embedder: Embedder,
    *,
    corpus: Corpus | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> BuildReport:
    """Read the corpus, chunk, embed and write a new index, then make it live atomically."""
    started = time.perf_counter()
    index_dir = settings.index_dir
    with _build_lock(index_dir):
        corpus = corpus or read_corpus(settings)
        # The fingerprints of the bytes that are embedded, taken from the same read: a file changed or
        # deleted after this point makes the next check say "out of date", never "up to date".
        fingerprints = corpus.fingerprints()
        progress(f"Read {len(corpus.documents)} document(s) from {settings.corpus_dir}")
        chunks = build_chunks(corpus, settings)
        sentences = [SentenceRef(i, s, e) for i, c in enumerate(chunks) for s, e in c.sentences]
        names = MedicineNames.load()
        corpus_documents = with_medicines(corpus.documents, names)
        names = names.with_names(m for d in corpus_documents for m in d.medicines)
        masks = document_masks(corpus_documents, names)
        for document in corpus_documents:
            about = ", ".join(document.medicines) or "no particular medicine"
            progress(f"  {document.doc_id}: {document.kind}, about {about}")
        documents = {d.doc_id: d for d in corpus_documents}
        texts = [chunk_embedding_text(c, masks[c.doc_id]) for c in chunks] + [
            mask_names(
                documents[chunks[s.chunk_index].doc_id].text[s.start : s.end], masks[chunks[s.chunk_index].doc_id]
            )
            for s in sentences
        ]
        progress(f"Embedding {len(chunks)} chunks and {len(sentences)} sentences with {settings.model}")
        # One call for chunks and sentences: a text that is both (a one-sentence chunk without a heading),
        # or that repeats across documents, is embedded once; texts of earlier builds come from the cache.
        remove_stale_temporaries(index_dir)
        encoded = encode_with_cache(embedder, texts, index_dir, use_cache=settings.vector_cache)
        progress(
            f"Embedded {encoded.embedded} of {encoded.texts} texts ({encoded.texts - encoded.unique} repeated, "
            f"{encoded.reused} from the cache of earlier builds"
            + (f", {encoded.damaged} damaged cache entries recomputed)" if encoded.damaged else ")")
        )
        chunk_vectors, sentence_vectors = encoded.vectors[: len(chunks)], encoded.vectors[len(chunks) :]

        for what, vectors in (("chunk", chunk_vectors), ("sentence", sentence_vectors)):
            if len(vectors) and not sane_norms(vectors):
                raise ModelLoadError(
                    f"The model {settings.model} returned {what} vectors that are not unit length or not finite; "
                    "nothing was written. Check the model files (--model)."
                )
        staging = index_dir / f".tmp-build-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True)
        try:
            chunk_index, chunk_choice = build_vector_index(chunk_vectors, settings)
            sentence_index, sentence_choice = build_vector_index(sentence_vectors, settings)
            written = {
                "chunks.faiss": _serialize_faiss(chunk_index),
                "sentences.faiss": _serialize_faiss(sentence_index),
            }
            written.update(serialize_derived(compute_derived(chunks, sentence_texts(chunks, documents))))
            for name, data in written.items():
                write_bytes(staging / name, data)
            written["documents.json"] = _write_json(staging / "documents.json", [asdict(d) for d in corpus_documents])
            written["chunks.json"] = _write_json(staging / "chunks.json", [asdict(c) for c in chunks])
            manifest = expected_manifest(settings, fingerprints)
            manifest["model"].update({"dimension": embedder.dimension, "normalized": True})
            # The kind each index was built as, with its parameters (type "auto" decides by size).
            manifest["index"].update(chunks=chunk_choice.describe(), sentences=sentence_choice.describe())
            manifest.update(
                metric="inner_product",
                counts={"documents": len(corpus.documents), "chunks": len(chunks), "sentences": len(sentences)},
                skipped=[asdict(s) for s in corpus.skipped],
                versions=build_info().as_dict(),  # package version, commit, library versions
                built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                build_seconds=round(time.perf_counter() - started, 2),
                checksums={name: checksum(data) for name, data in written.items()},
            )
            _write_json(staging / MANIFEST, manifest)  # written last: a build folder with a manifest is complete
            fsync_dir(staging)
            final = index_dir / f"build-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        previous = _pointed_name(index_dir)
        pointer_tmp = index_dir / f".{POINTER}.tmp"
        write_bytes(pointer_tmp, (final.name + "\n").encode("utf-8"))
        os.replace(pointer_tmp, index_dir / POINTER)  # the atomic switch to the new build
        fsync_dir(index_dir)
        _remove_old_builds(index_dir, keep={final.name, previous})
    return BuildReport(
        path=final,
        rebuilt=True,
        reasons=(),
        documents=len(corpus.documents),
        chunks=len(chunks),
        dimension=embedder.dimension,
        seconds=time.perf_counter() - started,
        skipped=tuple(f"{s.path}: {s.reason}" for s in corpus.skipped),
        texts=encoded.texts,
        embedded=encoded.embedded,
    )


def _serialize_faiss(index) -> bytes:
    return _faiss().serialize_index(index).tobytes()


def _pointed_name(index_dir: Path) -> str:
    try:
        return (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _remove_old_builds(index_dir: Path, keep: set[str]) -> None:
    """Delete builds other than `keep` (the new one and the one before it: a loader may still be reading
    it) and staging folders of builds that were killed (this runs under the build lock, so no staging
    folder still belongs to a running build)."""
    for path in index_dir.iterdir():
        if (
            path.is_dir()
            and path.name not in keep
            and (path.name.startswith("build-") or path.name.startswith(".tmp-build-"))
        ):
            shutil.rmtree(path, ignore_errors=True)


def load_index(settings: Settings, *, check: bool = True) -> LoadedIndex:
    """Load the live index. With `check`, refuse one built from other documents or settings.

    Every file is checked against its checksum, and every vector for being finite and of unit length,
    before anything is served. When the build vanishes while it is being read (a new build switched in
    and cleaned up), CURRENT is read again, once.

    Raises:
        IndexNotFoundError: nothing built yet.
        IndexMismatchError: the index is stale (reasons listed).
        IndexCorruptError: files missing, truncated, corrupted or unreadable (the file is named).
    """
    try:
        return _load_index(settings, check)
    except _BuildVanished:
        try:
            return _load_index(settings, check)
        except _BuildVanished as exc:
            raise IndexCorruptError(
                f"The index in {settings.index_dir} changed twice while it was being loaded ({exc}). Try again."
            ) from None


class _BuildVanished(Exception):
    """The build CURRENT named was deleted while it was being read."""


def _load_index(settings: Settings, check: bool) -> LoadedIndex:
    build = current_build(settings.index_dir)
    if build is None:
        raise IndexNotFoundError(f"No index in {settings.index_dir}. Build it first: baclofen-qa index")
    try:
        manifest = read_manifest(build)
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"The index in {settings.index_dir} was built by another version of baclofen-qa (index format "
                f"{manifest.get('format_version')}, this version reads {FORMAT_VERSION}). Rebuild it: baclofen-qa index",
                [f"index format {manifest.get('format_version')} != {FORMAT_VERSION}"],
            )
        problems, contents = read_and_verify(build, manifest)
    except IndexCorruptError:
        if not build.exists() or _pointed_name(settings.index_dir) != build.name:
            raise _BuildVanished(build.name) from None
        raise
    if problems:
        if not build.exists() or _pointed_name(settings.index_dir) != build.name:
            raise _BuildVanished(build.name)
        raise IndexCorruptError(
            f"The index in {build} is damaged: {'; '.join(problems)}. Rebuild it: baclofen-qa index --rebuild"
        )
    if check:
        reasons = manifest_differences(manifest, expected_manifest(settings, current_fingerprints(settings)))
        if reasons:
            raise IndexMismatchError(
                f"The index in {settings.index_dir} is out of date ({'; '.join(reasons)}). "
                "Rebuild it: baclofen-qa index",
                reasons,
            )
    faiss = _faiss()
    try:
        documents = {
            d["doc_id"]: Document(**{**d, "medicines": tuple(d.get("medicines", ()))})
            for d in json.loads(contents["documents.json"].decode("utf-8"))
        }
        chunks = tuple(
            Chunk(**{**c, "sentences": tuple(tuple(s) for s in c["sentences"])})
            for c in json.loads(contents["chunks.json"].decode("utf-8"))
        )
        # Deserialised from the verified bytes, not re-read: the file cannot change between check and use.
        chunk_index = faiss.deserialize_index(np.frombuffer(contents["chunks.faiss"], dtype=np.uint8))
        sentence_index = faiss.deserialize_index(np.frombuffer(contents["sentences.faiss"], dtype=np.uint8))
        derived = parse_derived(contents, len(chunks))
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError, KeyError, ValueError, RuntimeError) as exc:
        raise IndexCorruptError(
            f"Cannot read the index in {build} ({exc}). Rebuild: baclofen-qa index --rebuild"
        ) from None
    sentences = tuple(SentenceRef(i, s, e) for i, c in enumerate(chunks) for s, e in c.sentences)
    if chunk_index.ntotal != len(chunks) or sentence_index.ntotal != len(sentences):
        raise IndexCorruptError(f"The index in {build} is inconsistent (vector and chunk counts differ). Rebuild it.")
    for name, index in (("chunks.faiss", chunk_index), ("sentences.faiss", sentence_index)):
        _check_vectors(build / name, index)
    for index in (chunk_index, sentence_index):
        configure_loaded(index, settings)
    return LoadedIndex(build, manifest, documents, chunks, chunk_index, sentence_index, sentences, derived)


def _check_vectors(path: Path, index) -> None:
    """Refuse vectors that are not finite or longer than unit length: scores must stay within [-1, 1]."""
    if not all(sane_norms(block) for block in VectorRows(index).blocks()):
        raise IndexCorruptError(
            f"{path} holds vectors that are not unit length or not finite, so its scores cannot be trusted. "
            "Rebuild it: baclofen-qa index --rebuild"
        )


def ensure_index(
    settings: Settings,
    embedder_factory: Callable[[], Embedder],
    *,
    rebuild: bool = False,
    allow_rebuild: bool = True,
    progress: Callable[[str], None] = lambda message: None,
) -> BuildReport:
    """Build the index when it is missing, stale or `rebuild` is asked; otherwise do nothing.

    The embedding model is only loaded (via `embedder_factory`) when a build is needed.

    Raises:
        IndexMismatchError: the index is missing or stale and `allow_rebuild` is False.
    """
    started = time.perf_counter()
    reasons = ["rebuild requested"] if rebuild else check_index(settings)
    # Read before the model is loaded: a missing or empty corpus is reported at once, and the build
    # embeds (and fingerprints) exactly this read.
    corpus = read_corpus(settings) if reasons and allow_rebuild else None
    if not reasons:
        build = current_build(settings.index_dir)
        assert build is not None  # check_index found no problem, so there is a current build
        manifest = read_manifest(build)
        return BuildReport(
            path=build,
            rebuilt=False,
            reasons=(),
            documents=manifest["counts"]["documents"],
            chunks=manifest["counts"]["chunks"],
            dimension=manifest["model"]["dimension"],
            seconds=time.perf_counter() - started,
            skipped=tuple(f"{s['path']}: {s['reason']}" for s in manifest.get("skipped", [])),
        )
    if not allow_rebuild:
        raise IndexMismatchError(
            f"The index in {settings.index_dir} needs a rebuild ({'; '.join(reasons)}); "
            "run without --no-rebuild or run: baclofen-qa index",
            reasons,
        )
    progress("Building the index: " + "; ".join(reasons))
    report = build_index(settings, embedder_factory(), corpus=corpus, progress=progress)
    return replace(report, reasons=tuple(reasons), seconds=time.perf_counter() - started)


def load_or_build_index(
    settings: Settings,
    embedder_factory: Callable[[], Embedder],
    *,
    allow_rebuild: bool = True,
    progress: Callable[[str], None] = lambda message: None,
) -> LoadedIndex:
    """The live index: read, checksummed and checked for freshness once when it is up to date (the
    common start); built first by `ensure_index` when it is missing, stale or damaged.

    Raises what `ensure_index` and `load_index` raise.
    """
    try:
        return load_index(settings)
    except (IndexNotFoundError, IndexMismatchError, IndexCorruptError):
        pass  # ensure_index finds the reasons again, then builds, or refuses with them
    ensure_index(settings, embedder_factory, allow_rebuild=allow_rebuild, progress=progress)
    return load_index(settings)
