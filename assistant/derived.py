"""Structures derived from the chunks, computed once when the index is built and saved with it, so that
start-up reads them instead of re-reading every chunk (issue 12: start-up must not grow with the corpus
in Python work).

Two files in the build folder, covered by the manifest's checksums like every other:

    derived.json   the corpus words and their counts, stems and their chunk counts, the spelling index's
                   targets, the BM25 vocabulary, which chunks show each topic (and a hash of topics.toml),
                   the stems the retriever's per-chunk terms are numbered by (and a hash of vocabulary.toml)
    derived.npz    the spelling index (variant hashes, target numbers), the BM25 score matrix (CSR), and
                   per chunk and per sentence the stems, content stems and word pairs the retriever
                   compares with a question, as numbers in CSR arrays (a few hundred bytes a chunk,
                   where Python sets of strings took ~10 KB)

Everything here depends only on the chunks, the stemmer and two data files: topics.toml (topic coverage)
and vocabulary.toml (its filler words are not content). A change of either after the build is noticed by
its hash, and what depends on it is then computed at start-up, as before this module existed.
No pickle: arrays load with `allow_pickle=False`.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import bm25s  # imported with the module, not in the first build: it brings scipy (0.5-1.5 s here)
import numpy as np
import Stemmer

from assistant.lexicon import VOCABULARY_FILE, CorpusWords, Lexicon, words
from assistant.records import Chunk
from assistant.spelling import HashedDeleteIndex
from assistant.topics import TOPICS_FILE, Topic, load_topics, shows_topic

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import

DERIVED_JSON = "derived.json"
DERIVED_ARRAYS = "derived.npz"
_TERM_ROWS = ("chunk_stems", "text_stems", "chunk_phrases", "sentence_stems", "sentence_content")


@dataclass(frozen=True)
class Bm25Data:
    """A bm25s score matrix (CSR over tokens x chunks) and its vocabulary."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    num_docs: int
    vocab: dict[str, int]


@dataclass(frozen=True)
class Rows:
    """A ragged table of numbers (CSR): row i is values[starts[i]:starts[i + 1]]."""

    starts: np.ndarray  # int64, one more than the rows
    values: np.ndarray

    def row(self, i: int) -> frozenset[int]:
        return frozenset(self.values[self.starts[i] : self.starts[i + 1]].tolist())

    @classmethod
    def of(cls, rows: Sequence[Sequence[int]], dtype) -> Rows:
        starts = np.zeros(len(rows) + 1, dtype=np.int64)
        starts[1:] = np.cumsum([len(r) for r in rows]) if rows else []
        values = np.fromiter((v for r in rows for v in r), dtype=dtype, count=int(starts[-1]))
        return cls(starts, values)


def phrase_code(first: int, second: int) -> int:
    """A pair of stem numbers as one number (stems are numbered below 2**31)."""
    return (first << 32) | second


@dataclass(frozen=True)
class ChunkTerms:
    """What the retriever compares a question with, per chunk and per sentence, as stem numbers."""

    stems: tuple[str, ...]  # stem number -> stem
    chunk_stems: Rows  # stems of a chunk's heading and text
    text_stems: Rows  # content stems of its text (no stop words or fillers)
    chunk_phrases: Rows  # adjacent content stem pairs of heading and text (phrase_code)
    sentence_stems: Rows  # stems of each sentence
    sentence_content: Rows  # content stems of each sentence
    sentence_words: np.ndarray  # number of words of each sentence
    vocabulary_file: str  # hash of vocabulary.toml when computed: its fillers are not content


def vocabulary_file_version() -> str:
    try:
        return hashlib.sha256(VOCABULARY_FILE.read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def compute_chunk_terms(
    chunks: Sequence[Chunk], sentence_texts: Sequence[Sequence[str]], lexicon: Lexicon
) -> ChunkTerms:
    """Stems, content stems and phrases of every chunk, and stems of every sentence (`sentence_texts[i]`
    are chunk i's sentences), exactly as the retriever reads them from a question's side."""
    numbers: dict[str, int] = {}

    def numbered(stems: Iterable[str]) -> list[int]:
        return [numbers.setdefault(s, len(numbers)) for s in stems]

    chunk_stems, text_stems, chunk_phrases = [], [], []
    sentence_stems, sentence_content, sentence_words = [], [], []
    for chunk, sentences in zip(chunks, sentence_texts, strict=True):
        whole = chunk.search_text
        chunk_stems.append(sorted(set(numbered(lexicon.stems(words(whole))))))
        text_stems.append(sorted(set(numbered(lexicon.content_stems_of(chunk.text)))))
        chunk_phrases.append(sorted({phrase_code(*numbered(pair)) for pair in lexicon.phrases_of(whole)}))
        for sentence in sentences:
            tokens = words(sentence)
            sentence_words.append(len(tokens))
            sentence_stems.append(sorted(set(numbered(lexicon.stems(tokens)))))
            sentence_content.append(sorted(set(numbered(lexicon.content_stems_of(sentence)))))
    return ChunkTerms(
        tuple(numbers),
        Rows.of(chunk_stems, np.int32),
        Rows.of(text_stems, np.int32),
        Rows.of(chunk_phrases, np.int64),
        Rows.of(sentence_stems, np.int32),
        Rows.of(sentence_content, np.int32),
        np.asarray(sentence_words, dtype=np.int32),
        vocabulary_file_version(),
    )


@dataclass(frozen=True)
class Derived:
    """Everything start-up would otherwise compute from every chunk."""

    corpus_words: CorpusWords
    bm25: Bm25Data
    topic_chunks: dict[str, tuple[int, ...]]  # topic name -> indexes of the chunks that show it
    topics_file: str  # hash of topics.toml when `topic_chunks` was computed
    terms: ChunkTerms

    def chunk_terms(
        self, chunks: Sequence[Chunk], sentence_texts: Callable[[], Sequence[Sequence[str]]], lexicon: Lexicon
    ) -> ChunkTerms:
        """The per-chunk terms: as saved, unless vocabulary.toml changed since the build (then computed from
        the chunks and `sentence_texts()`, read only in that case)."""
        if self.terms.vocabulary_file == vocabulary_file_version():
            return self.terms
        return compute_chunk_terms(chunks, sentence_texts(), lexicon)

    def topic_coverage(self, topics: Sequence[Topic], chunks: Sequence[Chunk]) -> dict[str, tuple[int, ...]]:
        """Which chunks show each topic: as saved, unless topics.toml changed since the build."""
        if self.topics_file == topics_file_version() and all(t.name in self.topic_chunks for t in topics):
            return {t.name: self.topic_chunks[t.name] for t in topics}
        return compute_topic_coverage(topics, chunks)


def topics_file_version() -> str:
    try:
        return hashlib.sha256(TOPICS_FILE.read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def compute_topic_coverage(topics: Sequence[Topic], chunks: Sequence[Chunk]) -> dict[str, tuple[int, ...]]:
    return {t.name: tuple(i for i, c in enumerate(chunks) if shows_topic(t, c)) for t in topics}


def compute_bm25(texts: Sequence[str]) -> Bm25Data:
    """BM25 over texts, stemmed as the lexicon stems queries (English Snowball)."""
    stemmer = Stemmer.Stemmer("english")
    model = bm25s.BM25()
    model.index([stemmer.stemWords(words(t)) or [""] for t in texts], show_progress=False)
    scores = model.scores
    return Bm25Data(
        np.asarray(scores["data"]),
        np.asarray(scores["indices"]),
        np.asarray(scores["indptr"]),
        int(scores["num_docs"]),
        {str(k): int(v) for k, v in model.vocab_dict.items()},
    )


def compute_derived(chunks: Sequence[Chunk], sentence_texts: Sequence[Sequence[str]]) -> Derived:
    """Everything start-up needs from the chunks; `sentence_texts[i]` are the texts of chunk i's sentences."""
    texts = [c.search_text for c in chunks]  # BM25 and the corpus's word counts: heading and text
    corpus = CorpusWords.count(texts)
    terms = compute_chunk_terms(chunks, sentence_texts, Lexicon((), corpus=corpus))
    topics = load_topics()
    return Derived(corpus, compute_bm25(texts), compute_topic_coverage(topics, chunks), topics_file_version(), terms)


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
        "term_stems": list(derived.terms.stems),
        "vocabulary_file": derived.terms.vocabulary_file,
    }
    terms = derived.terms
    term_arrays = {
        f"{name}_{part}": getattr(getattr(terms, name), part) for name in _TERM_ROWS for part in ("starts", "values")
    }
    arrays = io.BytesIO()
    np.savez(
        arrays,
        spelling_hashes=corpus.spelling.hashes,
        spelling_ids=corpus.spelling.target_ids,
        bm25_data=derived.bm25.data,
        bm25_indices=derived.bm25.indices,
        bm25_indptr=derived.bm25.indptr,
        sentence_words=terms.sentence_words,
        **term_arrays,
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
        loaded["bm25_data"],
        loaded["bm25_indices"],
        loaded["bm25_indptr"],
        int(document["bm25_num_docs"]),
        {str(k): int(v) for k, v in document["bm25_vocab"].items()},
    )
    topic_chunks = {str(name): tuple(int(i) for i in rows) for name, rows in document["topic_chunks"].items()}
    if any(i < 0 or i >= chunk_count for rows in topic_chunks.values() for i in rows):
        raise ValueError("topic coverage names chunks the index does not have")
    stems = tuple(str(s) for s in document["term_stems"])
    rows = {name: Rows(loaded[f"{name}_starts"], loaded[f"{name}_values"]) for name in _TERM_ROWS}
    for name, table in rows.items():
        expected = chunk_count if name.startswith("chunk") or name == "text_stems" else len(loaded["sentence_words"])
        if len(table.starts) != expected + 1 or (len(table.starts) and table.starts[-1] != len(table.values)):
            raise ValueError(f"{name} does not have one row per {'chunk' if expected == chunk_count else 'sentence'}")
        if (
            name != "chunk_phrases"
            and len(table.values)
            and (table.values.min() < 0 or table.values.max() >= len(stems))
        ):
            raise ValueError(f"{name} names stems that are not listed")
    terms = ChunkTerms(
        stems, **rows, sentence_words=loaded["sentence_words"], vocabulary_file=str(document["vocabulary_file"])
    )
    return Derived(corpus, bm25, topic_chunks, str(document["topics_file"]), terms)
