"""Question -> ranked, de-duplicated passages. Hybrid: FAISS (dense) plus BM25 (lexical).

Each chunk gets three signals:
- `dense`: cosine of the question to the chunk embedded with its section heading;
- `sentence`: cosine to the chunk's best-matching sentence (a long paragraph that answers in
  one sentence should not lose to a short vague one);
- `lexical`: how much of the question's content (rare words weigh more) the chunk mentions,
  after typo correction and lay-term expansion (see lexicon.py); BM25 (bm25s, stemmed)
  proposes candidates the embedding misses.

The fused score `dense_weight * max(dense, sentence) + (1 - dense_weight) * lexical`, plus
`official_bonus` for passages of official or reviewed documents (so that a leaflet wins ties and
near-ties with an unreviewed article), ranks the chunks and is the score the abstention threshold
applies to. A search is limited to a scope: the documents about the medicine asked about
(assistant/routing.py); FAISS searches only their vectors (an ID selector). Candidates that repeat an
already chosen passage are dropped, unless they say more than it (more sentences or list items the
other does not say): then the fuller one takes the chosen one's place. Neighbouring chunks of one section
are merged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant import vector_index
from assistant.config import Settings
from assistant.derived import Bm25Data, phrase_code
from assistant.lexicon import Lexicon, QueryTerms
from assistant.records import Chunk, Passage
from assistant.store import LoadedIndex, stored_vectors

# A passage whose content words are mostly (this share) in an already chosen passage repeats it
# (the seed article states its facts two or three times). Embeddings are no help here: every
# passage about one medicine is close to every other.
DUPLICATE_OVERLAP = 0.6
# Share of the lexical score given to matching adjacent word pairs of the question.
PHRASE_WEIGHT = 0.25
# A sentence is said by another passage when this share of its content words, and every number in it,
# are in that passage ("92% of patients reported only mild side effects" is not said by a table of
# trials that has every word of it but the 92).
SAID_SHARE = 0.8
# A "sentence" this short (a bullet, "Benefits of Baclofen:") is too little text to judge by embedding.
MIN_SENTENCE_WORDS = 4
# Merged neighbours may not grow a passage beyond this, so answers stay readable at a glance.
MERGED_MAX_CHARS = 700


@dataclass(frozen=True, slots=True)
class Candidate:
    chunk_index: int
    dense: float
    sentence: float
    best_sentence: int  # index into LoadedIndex.sentences
    lexical: float
    bm25: float
    score: float


@dataclass(frozen=True, slots=True)
class Retrieval:
    """Ranked candidates for one question (best first), before any abstention decision."""

    query: QueryTerms
    candidates: tuple[Candidate, ...]

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


def _selector(ids: np.ndarray):
    import faiss

    return faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))


def _search(index, vector: np.ndarray, k: int, selector, selected: int) -> tuple[np.ndarray, np.ndarray]:
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
        self.model.scores = {"data": data.data, "indices": data.indices, "indptr": data.indptr, "num_docs": data.num_docs}
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


def _overlap(a: frozenset[int], b: frozenset[int]) -> float:
    """Share of the smaller set's words that the other set has too."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


class Retriever:
    """Finds the chunks that answer a question. Built once per index; thread-safe (read-only)."""

    def __init__(self, index: LoadedIndex, settings: Settings, lexicon: Lexicon) -> None:
        self.index = index
        self.settings = settings
        self.lexicon = lexicon
        self.chunk_vectors = stored_vectors(index.chunk_index)
        self.sentence_vectors = stored_vectors(index.sentence_index)
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
        self.numbers_with_digits = frozenset(n for n, stem in enumerate(terms.stems) if any(ch.isdigit() for ch in stem))
        self.chunk_stems = terms.chunk_stems
        self.text_stems = terms.text_stems
        self.chunk_phrases = terms.chunk_phrases
        self.sentence_stems = terms.sentence_stems
        self.sentence_content = terms.sentence_content
        self.sentence_long_enough = terms.sentence_words >= MIN_SENTENCE_WORDS

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
            self.index.sentence_index, vector, min(2 * wanted, len(scope.sentences)), scope.sentence_selector,
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
                Candidate(int(chunk_index), float(dense[row]), sentence, best, lexical, float(bm25[chunk_index]), 0.0)
            )
        scored = [replace(c, score=self._fuse(c) + float(self.prior[c.chunk_index])) for c in candidates]
        scored.sort(key=lambda c: (-c.score, c.chunk_index))
        return Retrieval(query, tuple(scored))

    def _coverage(self, content: Sequence[str], stems: frozenset[int]) -> float:
        """Share of the question's content (`content` stems, weighted by idf) that `stems` (numbers) has."""
        if not content:
            return -1.0  # nothing to cover: the fused score falls back to the embedding alone
        idf = self.lexicon.idf
        unseen = self.lexicon.max_idf  # a word no chunk has is as telling as the rarest word
        total = sum(idf.get(s, unseen) for s in content)
        return sum(idf.get(s, unseen) for s in content if self.stem_number.get(s, -1) in stems) / total

    def _phrase_codes(self, phrases: Sequence[tuple[str, str]]) -> list[int]:
        """The question's word pairs as numbers; a pair with a stem no chunk has can match no chunk."""
        numbers = self.stem_number
        return [phrase_code(numbers[a], numbers[b]) for a, b in phrases if a in numbers and b in numbers]

    def _fuse(self, candidate: Candidate) -> float:
        mode = self.settings.retrieval
        semantic = max(candidate.dense, candidate.sentence)
        if mode == "dense":
            return semantic
        if mode == "bm25":
            # Lexical only: coverage of the question's words, ties broken by the BM25 score.
            return max(candidate.lexical, 0.0) + 1e-3 * candidate.bm25
        if candidate.lexical < 0:
            return semantic
        weight = self.settings.dense_weight
        return weight * semantic + (1 - weight) * candidate.lexical

    def select(self, candidates: Sequence[Candidate], top_k: int, min_score: float) -> list[Candidate]:
        """The first candidates (in the order given) that do not repeat each other, all scoring at least
        `min_score`, and after the first at most `secondary_margin` below it.

        Of passages that repeat each other, the fuller one is kept, in the place of the first: a later
        candidate that says more than every chosen passage it repeats replaces them (the seed article
        gives "dizziness, weakness, nausea, and headache" in one sentence before its full list of common
        side effects, and the list, not the sentence, answers "what are the side effects?").
        """
        chosen: list[Candidate] = []
        if not candidates:
            return chosen
        floor = max(min_score, candidates[0].score - self.settings.secondary_margin)
        for candidate in candidates:
            if candidate.score < (min_score if not chosen else floor):
                continue
            repeated = [i for i, other in enumerate(chosen) if self._repeats(candidate, other)]
            if not repeated:
                if len(chosen) < top_k:
                    chosen.append(candidate)
                continue
            # Still read once `top_k` are chosen: a fuller repeat may come later in the ranking. It must say
            # the sentence that made the chosen passage match, and more sentences than it leaves unsaid.
            if all(
                self._says(candidate, self.sentence_content.row(chosen[i].best_sentence))
                and self._unsaid(candidate, chosen[i]) > self._unsaid(chosen[i], candidate)
                for i in repeated
            ):
                chosen[repeated[0]] = candidate
                chosen = [c for i, c in enumerate(chosen) if i not in repeated[1:]]
        return chosen

    def _says(self, a: Candidate, sentence: frozenset[int]) -> bool:
        """Does passage `a` say a sentence (its content stems)? See SAID_SHARE."""
        stems = self.text_stems.row(a.chunk_index)
        return len(sentence & stems) >= SAID_SHARE * len(sentence) and all(
            s in stems for s in sentence & self.numbers_with_digits
        )

    def _unsaid(self, a: Candidate, b: Candidate) -> int:
        """How many of `a`'s sentences (a list item is one) `b` does not say."""
        first, last = self.sentence_ranges[a.chunk_index]
        sentences = (self.sentence_content.row(i) for i in range(first, last))
        return sum(1 for stems in sentences if stems and not self._says(b, stems))

    def _repeats(self, a: Candidate, b: Candidate) -> bool:
        ca, cb = self.index.chunks[a.chunk_index], self.index.chunks[b.chunk_index]
        if ca.doc_id == cb.doc_id and ca.start < cb.end and cb.start < ca.end:
            return True  # overlapping chunks
        return _overlap(self.text_stems.row(a.chunk_index), self.text_stems.row(b.chunk_index)) >= DUPLICATE_OVERLAP

    def to_passages(self, chosen: Sequence[Candidate], query: QueryTerms, vector: np.ndarray) -> list[Passage]:
        """Turn chosen candidates into verbatim passages, merging neighbours of one section."""
        groups: list[list[Candidate]] = []
        for candidate in chosen:
            for group in groups:
                if any(self._neighbours(candidate, member) for member in group) and self._merged_length(group, candidate) <= MERGED_MAX_CHARS:
                    group.append(candidate)
                    break
            else:
                groups.append([candidate])
        return [self._passage(group, query, vector) for group in groups]

    def _neighbours(self, a: Candidate, b: Candidate) -> bool:
        ca, cb = self.index.chunks[a.chunk_index], self.index.chunks[b.chunk_index]
        return ca.doc_id == cb.doc_id and ca.section == cb.section and abs(a.chunk_index - b.chunk_index) == 1

    def _merged_length(self, group: Sequence[Candidate], extra: Candidate) -> int:
        chunks = [self.index.chunks[c.chunk_index] for c in (*group, extra)]
        return max(c.end for c in chunks) - min(c.start for c in chunks)

    def _best_sentence(self, chunk_indexes: Sequence[int], query: QueryTerms, vector: np.ndarray) -> int:
        """The sentence to highlight: closest in meaning, with a bonus for naming the question's words."""
        best, best_score = -1, -np.inf
        for chunk_index in chunk_indexes:
            first, last = self.sentence_ranges[chunk_index]
            for i in range(first, last):
                score = float(self.sentence_vectors[i] @ vector) + 0.5 * max(
                    self._coverage(query.content_stems, self.sentence_stems.row(i)), 0.0
                )
                if score > best_score:
                    best, best_score = i, score
        return best

    def _passage(self, group: Sequence[Candidate], query: QueryTerms, vector: np.ndarray) -> Passage:
        lead = group[0]  # the best-scoring member decides the score
        chunks: list[Chunk] = sorted((self.index.chunks[c.chunk_index] for c in group), key=lambda c: c.start)
        document = self.index.documents[chunks[0].doc_id]
        start, end = chunks[0].start, max(c.end for c in chunks)
        best = self._best_sentence([c.chunk_index for c in group], query, vector)
        sentence = self.index.sentences[best if best >= 0 else lead.best_sentence]
        return Passage(
            text=document.text[start:end],
            doc_id=document.doc_id,
            source=document.title,
            section=chunks[0].section,
            start=start,
            end=end,
            score=lead.score,
            highlight_start=sentence.start - start,
            highlight_end=sentence.end - start,
            chunk_ids=tuple(c.chunk_id for c in chunks),
            source_kind=document.kind,
        )
