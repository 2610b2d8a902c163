"""Structures derived from the chunks, computed once when the index is built and saved with it, so that
start-up reads them instead of re-reading every chunk (issue 12: start-up must not grow with the corpus
in Python work).

Two files in the build folder, covered by the manifest's checksums like every other:

    derived.json   the corpus words and their counts, stems and their chunk counts, the spelling index's
                   targets, the BM25 vocabulary, which chunks show each topic (and a hash of topics.toml)
    derived.npz    the spelling index (variant hashes, target numbers) and the BM25 score matrix (CSR)

Everything here depends only on the chunks, the stemmer and, for topic coverage, topics.toml: a change of
topics.toml after the build is noticed by its hash, and that coverage is then computed at start-up.
No pickle: arrays load with `allow_pickle=False`.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from assistant.lexicon import CorpusWords, words
from assistant.records import Chunk
from assistant.spelling import HashedDeleteIndex
from assistant.topics import TOPICS_FILE, Topic, load_topics, shows_topic

DERIVED_JSON = "derived.json"
DERIVED_ARRAYS = "derived.npz"


@dataclass(frozen=True)
class Bm25Data:
    """A bm25s score matrix (CSR over tokens x chunks) and its vocabulary."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    num_docs: int
    vocab: dict[str, int]


@dataclass(frozen=True)
class Derived:
    """Everything start-up would otherwise compute from every chunk."""

    corpus_words: CorpusWords
    bm25: Bm25Data
    topic_chunks: dict[str, tuple[int, ...]]  # topic name -> indexes of the chunks that show it
    topics_file: str  # hash of topics.toml when `topic_chunks` was computed

    def topic_coverage(self, topics: Sequence[Topic], chunks: Sequence[Chunk]) -> dict[str, tuple[int, ...]]:
        """Which chunks show each topic: as saved, unless topics.toml changed since the build."""
        if self.topics_file == topics_file_version() and all(t.name in self.topic_chunks for t in topics):
            return {t.name: self.topic_chunks[t.name] for t in topics}
        return compute_topic_coverage(topics, chunks)


def bm25_text(chunk: Chunk) -> str:
    """What BM25 indexes for a chunk: its section heading and text."""
    return f"{chunk.section}\n{chunk.text}"


def topics_file_version() -> str:
    try:
        return hashlib.sha256(TOPICS_FILE.read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def compute_topic_coverage(topics: Sequence[Topic], chunks: Sequence[Chunk]) -> dict[str, tuple[int, ...]]:
    return {t.name: tuple(i for i, c in enumerate(chunks) if shows_topic(t, c)) for t in topics}


def compute_bm25(texts: Sequence[str]) -> Bm25Data:
    """BM25 over texts, stemmed as the lexicon stems queries (English Snowball)."""
    import bm25s
    import Stemmer

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
    stemmer = Stemmer.Stemmer("english")
    model = bm25s.BM25()
    model.index([stemmer.stemWords(words(t)) or [""] for t in texts], show_progress=False)
    scores = model.scores
    return Bm25Data(
        np.asarray(scores["data"]), np.asarray(scores["indices"]), np.asarray(scores["indptr"]),
        int(scores["num_docs"]), {str(k): int(v) for k, v in model.vocab_dict.items()},
    )


def compute_derived(chunks: Sequence[Chunk]) -> Derived:
    texts = [bm25_text(c) for c in chunks]
    return Derived(
        CorpusWords.count(texts), compute_bm25(texts), compute_topic_coverage(load_topics(), chunks), topics_file_version()
    )


def serialize_derived(derived: Derived) -> dict[str, bytes]:
    """The two files of a build that hold `derived`, by name."""
    corpus = derived.corpus_words
    document = {
        "chunks": corpus.chunks,
        "words": list(corpus.word_counts),
        "word_counts": list(corpus.word_counts.values()),
        "stems": list(corpus.stem_df),
        "stem_df": list(corpus.stem_df.values()),
        "spelling_targets": list(corpus.spelling.targets),
        "bm25_vocab": derived.bm25.vocab,
        "bm25_num_docs": derived.bm25.num_docs,
        "topics_file": derived.topics_file,
        "topic_chunks": {name: list(rows) for name, rows in derived.topic_chunks.items()},
    }
    arrays = io.BytesIO()
    np.savez(
        arrays,
        spelling_hashes=corpus.spelling.hashes,
        spelling_ids=corpus.spelling.target_ids,
        bm25_data=derived.bm25.data,
        bm25_indices=derived.bm25.indices,
        bm25_indptr=derived.bm25.indptr,
    )
    return {
        DERIVED_JSON: json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        DERIVED_ARRAYS: arrays.getvalue(),
    }


def parse_derived(contents: dict[str, bytes], chunk_count: int) -> Derived:
    """`Derived` from the verified bytes of its two files.

    Raises:
        ValueError, KeyError, TypeError: the files do not hold what `serialize_derived` writes.
    """
    document = json.loads(contents[DERIVED_JSON].decode("utf-8"))
    with np.load(io.BytesIO(contents[DERIVED_ARRAYS]), allow_pickle=False) as arrays:
        loaded = {name: arrays[name] for name in arrays.files}
    if document["chunks"] != chunk_count or document["bm25_num_docs"] != chunk_count:
        raise ValueError(f"derived data is of {document['chunks']} chunks, the index has {chunk_count}")
    spelling = HashedDeleteIndex(document["spelling_targets"], loaded["spelling_hashes"], loaded["spelling_ids"])
    if len(spelling.hashes) != len(spelling.target_ids) or (
        len(spelling.target_ids) and int(spelling.target_ids.max()) >= len(spelling.targets)
    ):
        raise ValueError("the spelling index does not match its targets")
    corpus = CorpusWords(
        dict(zip(document["words"], document["word_counts"], strict=True)),
        dict(zip(document["stems"], document["stem_df"], strict=True)),
        int(document["chunks"]),
        spelling,
    )
    bm25 = Bm25Data(
        loaded["bm25_data"], loaded["bm25_indices"], loaded["bm25_indptr"], int(document["bm25_num_docs"]),
        {str(k): int(v) for k, v in document["bm25_vocab"].items()},
    )
    topic_chunks = {str(name): tuple(int(i) for i in rows) for name, rows in document["topic_chunks"].items()}
    if any(i < 0 or i >= chunk_count for rows in topic_chunks.values() for i in rows):
        raise ValueError("topic coverage names chunks the index does not have")
    return Derived(corpus, bm25, topic_chunks, str(document["topics_file"]))
