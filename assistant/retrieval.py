"""Question -> ranked candidate chunks (the "rank" step). Hybrid: FAISS (dense) plus BM25 (lexical).

Each chunk gets three signals:
- `dense`: cosine of the question to the chunk embedded with its section heading;
- `sentence`: cosine to the chunk's best-matching sentence (a long paragraph that answers in
  one sentence should not lose to a short vague one);
- `lexical`: how much of the question's content (rare words weigh more) the chunk mentions,
  after typo correction and lay-term expansion (see lexicon.py); BM25 (bm25s, stemmed)
  proposes candidates the embedding misses.

The fusion mode (`Settings.retrieval`, one of fusion.FUSION_MODES; hybrid by default:
`dense_weight * max(dense, sentence) + (1 - dense_weight) * lexical`), plus `official_bonus` for
passages of official or reviewed documents (so that a leaflet wins ties and near-ties with an
unreviewed article), ranks the chunks and is the score the abstention threshold applies to. A search
is limited to a scope: the documents about the medicine asked about (assistant/routing.py); FAISS
searches only their vectors (an ID selector). Whether the ranked chunks answer is judged next
(answerability.py); which of them are quoted, after that (passages.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from assistant import vector_index
from assistant.config import Settings
from assistant.derived import Bm25Data, phrase_code
from assistant.fusion import FUSION_MODES
from assistant.lexicon import Lexicon, QueryTerms
from assistant.partners import Partner
from assistant.records import Chunk
from assistant.store import LoadedIndex
from assistant.topics import Topic, TopicReading
from assistant.vector_index import VectorRows

# Share of the lexical score given to matching adjacent word pairs of the question.
PHRASE_WEIGHT = 0.25
# A "sentence" this short (a bullet, "Benefits of Baclofen:") is too little text to judge by embedding.
MIN_SENTENCE_WORDS = 4


@dataclass(frozen=True, slots=True)
class Candidate:
    """One chunk a question's search proposed, with its signals and fused score."""

    chunk_index: int  # row in LoadedIndex.chunks
    dense: float
    sentence: float
    best_sentence: int  # index into LoadedIndex.sentences
    lexical: float
    bm25: float
    score: float
    # The chunk itself, so that judging and quoting read it from the candidate, not from storage.
    # Not compared: `chunk_index` already says which chunk it is.
    chunk: Chunk = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Retrieval:
    """Ranked candidates for one question (best first), before any abstention decision."""

    query: QueryTerms
    candidates: tuple[Candidate, ...]
    # Names of the topics some passage of the searched documents shows at all (`Retriever.rank`).
    shown_topics: frozenset[str] = frozenset()

    @property
    def top_score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0


@dataclass(frozen=True, slots=True)
class _Scope:
    """Rows of the chunk and sentence indexes that belong to some documents."""

    chunks: np.ndarray
    sentences: np.ndarray
    chunk_set: frozenset[int]  # `chunks` as a set, to filter extra candidates without a scan
    chunk_selector: object | None  # faiss.IDSelector, None when the scope is the whole index
    sentence_selector: object | None


def _selector(ids: np.ndarray) -> object:
    """A faiss.IDSelectorBatch admitting the rows `ids` (faiss ships no type hints, hence `object`)."""
    import faiss

    return faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))


def _search(
    index: object, vector: np.ndarray, k: int, selector: object | None, selected: int
) -> tuple[np.ndarray, np.ndarray]:
    """FAISS search for one unit vector, limited to the `selected` rows `selector` admits (all when None)."""
    if k <= 0:
        return np.zeros((1, 0), np.float32), np.zeros((1, 0), np.int64)
    return vector_index.search(index, vector[None, :], k, selector, selected)


class _Bm25:
    """BM25 over chunk texts with English stemming (bm25s), tokenised exactly like the queries; its score
    matrix was computed when the index was built (assistant/derived.py)."""

    def __init__(self, data: Bm25Data) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
        self.model = bm25s.BM25()
        # What bm25s.BM25.load restores, from arrays that passed the index's checksums.
        self.model.scores = {
            "data": data.data,
            "indices": data.indices,
            "indptr": data.indptr,
            "num_docs": data.num_docs,
        }
        self.model.vocab_dict = data.vocab
        self.model.unique_token_ids_set = set(data.vocab.values())
        self.model.nonoccurrence_array = None  # only BM25L and BM25+ have one; this is the default "lucene"
        self.vocab = frozenset(data.vocab)
        self.size = data.num_docs

    def scores(self, stems: Sequence[str]) -> np.ndarray:
        known = [s for s in stems if s in self.vocab]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.model.get_scores(known), dtype=np.float32)


class Retriever:
    """Finds the chunks that answer a question. Built once per index; thread-safe (read-only)."""

    def __init__(self, index: LoadedIndex, settings: Settings, lexicon: Lexicon, topics: Sequence[Topic] = ()) -> None:
        """`topics`: the medicine-information topics (assistant/topics.toml) whose passages `rank` adds."""
        self.index = index
        self.settings = settings
        self.lexicon = lexicon
        # Rows of the FAISS indexes' own storage, not a copy (vector_index.VectorRows).
        self.chunk_vectors = VectorRows(index.chunk_index)
        self.sentence_vectors = VectorRows(index.sentence_index)
        self.sentence_chunk = np.array([s.chunk_index for s in index.sentences], dtype=np.int64)
        first = 0
        self.sentence_ranges: list[tuple[int, int]] = []
        for chunk in index.chunks:
            self.sentence_ranges.append((first, first + len(chunk.sentences)))
            first += len(chunk.sentences)
        self.bm25 = _Bm25(index.derived.bm25)
        self.chunk_doc = [c.doc_id for c in index.chunks]
        self.prior = np.array(
            [settings.official_bonus if index.documents[c.doc_id].official else 0.0 for c in index.chunks],
            dtype=np.float32,
        )
        self._scopes: dict[frozenset[str], _Scope] = {}
        self._scope_lock = threading.Lock()
        # Per chunk and sentence, the stems a question is compared with, as numbers in arrays computed
        # at build time (assistant/derived.py); a row becomes a set only when its chunk is a candidate.
        terms = index.derived.chunk_terms(
            index.chunks,
            lambda: [[index.documents[c.doc_id].text[s:e] for s, e in c.sentences] for c in index.chunks],
            lexicon,
        )
        self.stem_number = {stem: n for n, stem in enumerate(terms.stems)}
        self.numbers_with_digits = frozenset(
            n for n, stem in enumerate(terms.stems) if any(ch.isdigit() for ch in stem)
        )
        self.chunk_stems = terms.chunk_stems
        self.text_stems = terms.text_stems
        self.chunk_phrases = terms.chunk_phrases
        self.sentence_stems = terms.sentence_stems
        self.sentence_content = terms.sentence_content
        self.sentence_long_enough = terms.sentence_words >= MIN_SENTENCE_WORDS
        # Which passages show each topic, in the documents' own words (assistant/topics.toml `evidence`).
        self.topic_chunks = index.derived.topic_coverage(topics, index.chunks)
        self._scope_topics: dict[frozenset[str], frozenset[str]] = {}

    def _scope(self, doc_ids: frozenset[str] | None) -> _Scope:
        """The chunks and sentences of some documents, with FAISS selectors for them (cached per scope)."""
        key = frozenset(self.index.documents) if doc_ids is None else doc_ids
        found = self._scopes.get(key)
        if found is not None:
            return found
        with self._scope_lock:
            chunks = np.array([i for i, d in enumerate(self.chunk_doc) if d in key], dtype=np.int64)
            sentences = np.flatnonzero(np.isin(self.sentence_chunk, chunks)).astype(np.int64)
            everything = len(chunks) == len(self.chunk_doc)
            scope = _Scope(
                chunks,
                sentences,
                frozenset(int(i) for i in chunks),
                None if everything else _selector(chunks),
                None if everything else _selector(sentences),
            )
            self._scopes[key] = scope
        return scope

    def rank(
        self,
        query: QueryTerms,
        vector: np.ndarray,
        doc_ids: frozenset[str],
        *,
        topics: TopicReading = TopicReading(),
        partners: Sequence[Partner] = (),
    ) -> Retrieval:
        """The ranked candidates for one question (`search`), with the passages on its topics and those
        naming a medicine it asks to combine scored too, however they scored, and the topics the
        documents show at all (for the judge: a topic they never show is "not covered")."""
        extra = [i for t in topics.topics for i in self.topic_chunks.get(t.name, ())]
        extra += self._naming(partners, doc_ids)
        found = self.search(query, vector, doc_ids, extra)
        return replace(found, shown_topics=self._topics_shown(doc_ids))

    def _topics_shown(self, doc_ids: frozenset[str]) -> frozenset[str]:
        """The topics some passage of these documents shows (computed once per scope)."""
        found = self._scope_topics.get(doc_ids)
        if found is None:
            found = frozenset(
                name for name, ids in self.topic_chunks.items() if any(self.chunk_doc[i] in doc_ids for i in ids)
            )
            self._scope_topics[doc_ids] = found
        return found

    def _naming(self, partners: Sequence[Partner], doc_ids: frozenset[str]) -> list[int]:
        """The passages of the scope that name a partner medicine."""
        if not partners:
            return []
        return [
            i
            for i, doc_id in enumerate(self.chunk_doc)
            if doc_id in doc_ids and any(p.named_in(self.index.chunks[i]) for p in partners)
        ]

    def search(
        self,
        query: QueryTerms,
        vector: np.ndarray,
        doc_ids: frozenset[str] | None = None,
        extra: Sequence[int] = (),
    ) -> Retrieval:
        """Score and rank chunks for one analysed question and its unit query vector.

        `doc_ids` limits the search to those documents (None: every document). `extra` chunks (those
        on the question's topic, say) are scored too, whatever FAISS and BM25 propose.
        """
        settings = self.settings
        scope = self._scope(doc_ids)
        n = len(scope.chunks)
        if n == 0:
            return Retrieval(query, ())
        wanted = min(settings.candidates, n)
        pool: set[int] = set()
        _, dense_ids = _search(self.index.chunk_index, vector, wanted, scope.chunk_selector, n)
        pool.update(int(i) for i in dense_ids[0] if i >= 0)
        _, sentence_ids = _search(
            self.index.sentence_index,
            vector,
            min(2 * wanted, len(scope.sentences)),
            scope.sentence_selector,
            len(scope.sentences),
        )
        pool.update(int(self.sentence_chunk[i]) for i in sentence_ids[0] if i >= 0)
        bm25 = self.bm25.scores(query.content_stems)
        if bm25.any():
            in_scope = bm25[scope.chunks]
            best = scope.chunks[np.argsort(-in_scope)[:wanted]]
            pool.update(int(i) for i in best if bm25[i] > 0)

        pool.update(int(i) for i in extra if int(i) in scope.chunk_set)
        ids = np.fromiter(sorted(pool), dtype=np.int64)
        dense = self.chunk_vectors[ids] @ vector
        candidates = []
        content = query.content_stems
        phrase_codes = self._phrase_codes(query.phrases)
        for row, chunk_index in enumerate(ids):
            first, last = self.sentence_ranges[chunk_index]
            # Only the pooled chunks' sentences are scored, not the whole corpus.
            scores = np.where(self.sentence_long_enough[first:last], self.sentence_vectors[first:last] @ vector, -1.0)
            best = first + int(np.argmax(scores)) if last > first else first
            sentence = float(scores[best - first]) if last > first else -1.0
            lexical = self._coverage(content, self.chunk_stems.row(chunk_index))
            if query.phrases and lexical >= 0:
                # Word pairs in the question's order: "common side effects" is not "less common ... side effects".
                chunk_phrases = self.chunk_phrases.row(chunk_index)
                phrase_share = sum(code in chunk_phrases for code in phrase_codes) / len(query.phrases)
                lexical = (1 - PHRASE_WEIGHT) * lexical + PHRASE_WEIGHT * phrase_share
            candidates.append(
                Candidate(
                    int(chunk_index),
                    float(dense[row]),
                    sentence,
                    best,
                    lexical,
                    float(bm25[chunk_index]),
                    0.0,
                    self.index.chunks[chunk_index],
                )
            )
        fuse, weight = FUSION_MODES[settings.retrieval], settings.dense_weight
        scored = [replace(c, score=fuse(c, weight) + float(self.prior[c.chunk_index])) for c in candidates]
        scored.sort(key=lambda c: (-c.score, c.chunk_index))
        return Retrieval(query, tuple(scored))

    def _coverage(self, content: Sequence[str], stems: frozenset[int]) -> float:
        """Share of the question's content (`content` stems, weighted by idf) that `stems` (numbers) has."""
        return self.lexicon.coverage(content, stems, self.stem_number)

    def _phrase_codes(self, phrases: Sequence[tuple[str, str]]) -> list[int]:
        """The question's word pairs as numbers; a pair with a stem no chunk has can match no chunk."""
        numbers = self.stem_number
        return [phrase_code(numbers[a], numbers[b]) for a, b in phrases if a in numbers and b in numbers]
