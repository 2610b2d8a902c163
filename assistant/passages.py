"""Judged candidates -> the verbatim passages shown: which to quote, merged with their neighbours.

After the judge (answerability.py) has put the candidates in the order to quote them, the first ones
that do not repeat each other are chosen (`select`): a candidate that repeats an already chosen passage
is dropped, unless it says more than it (more sentences or list items the other does not say): then the
fuller one takes the chosen one's place. Neighbouring chunks of one section are merged (`to_passages`),
and each passage gets the sentence to highlight.

The per-chunk word tables and sentence vectors are the retriever's (built once per index, read-only);
nothing here searches or scores the corpus again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.answerability import Decision
from assistant.lexicon import QueryTerms
from assistant.records import Chunk, Passage
from assistant.retrieval import Candidate, Retriever

# A passage whose content words are mostly (this share) in an already chosen passage repeats it
# (the seed article states its facts two or three times). Embeddings are no help here: every
# passage about one medicine is close to every other.
DUPLICATE_OVERLAP = 0.6
# A sentence is said by another passage when this share of its content words, and every number in it,
# are in that passage ("92% of patients reported only mild side effects" is not said by a table of
# trials that has every word of it but the 92).
SAID_SHARE = 0.8
# Merged neighbours may not grow a passage beyond this, so answers stay readable at a glance.
MERGED_MAX_CHARS = 700


def _overlap(a: frozenset[int], b: frozenset[int]) -> float:
    """Share of the smaller set's words that the other set has too."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


class Quoter:
    """Chooses and quotes passages for judged candidates. Built once per index; thread-safe (read-only)."""

    def __init__(self, retriever: Retriever) -> None:
        """Takes the retriever's read-only tables of the same index (no second copy of them)."""
        self.index = retriever.index
        self.settings = retriever.settings
        self.lexicon = retriever.lexicon
        self.stem_number = retriever.stem_number
        self.numbers_with_digits = retriever.numbers_with_digits
        self.text_stems = retriever.text_stems
        self.sentence_stems = retriever.sentence_stems
        self.sentence_content = retriever.sentence_content
        self.sentence_ranges = retriever.sentence_ranges
        self.sentence_vectors = retriever.sentence_vectors

    def quote(
        self, decision: Decision, query: QueryTerms, vector: np.ndarray, top_k: int, min_score: float
    ) -> list[Passage]:
        """The passages to show for a judged question: none when the judge found it unanswerable."""
        chosen = self.select(decision.candidates, top_k, min_score) if decision.answerable else []
        return self.to_passages(chosen, query, vector)

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
        ca, cb = a.chunk, b.chunk
        if ca.doc_id == cb.doc_id and ca.start < cb.end and cb.start < ca.end:
            return True  # overlapping chunks
        return _overlap(self.text_stems.row(a.chunk_index), self.text_stems.row(b.chunk_index)) >= DUPLICATE_OVERLAP

    def to_passages(self, chosen: Sequence[Candidate], query: QueryTerms, vector: np.ndarray) -> list[Passage]:
        """Turn chosen candidates into verbatim passages, merging neighbours of one section."""
        groups: list[list[Candidate]] = []
        for candidate in chosen:
            for group in groups:
                if (
                    any(self._neighbours(candidate, member) for member in group)
                    and self._merged_length(group, candidate) <= MERGED_MAX_CHARS
                ):
                    group.append(candidate)
                    break
            else:
                groups.append([candidate])
        return [self._passage(group, query, vector) for group in groups]

    def _neighbours(self, a: Candidate, b: Candidate) -> bool:
        ca, cb = a.chunk, b.chunk
        return ca.doc_id == cb.doc_id and ca.section == cb.section and abs(a.chunk_index - b.chunk_index) == 1

    def _merged_length(self, group: Sequence[Candidate], extra: Candidate) -> int:
        chunks = [c.chunk for c in (*group, extra)]
        return max(c.end for c in chunks) - min(c.start for c in chunks)

    def _best_sentence(self, chunk_indexes: Sequence[int], query: QueryTerms, vector: np.ndarray) -> int:
        """The sentence to highlight: closest in meaning, with a bonus for naming the question's words."""
        best, best_score = -1, -np.inf
        for chunk_index in chunk_indexes:
            first, last = self.sentence_ranges[chunk_index]
            for i in range(first, last):
                score = float(self.sentence_vectors[i] @ vector) + 0.5 * max(
                    self.lexicon.coverage(query.content_stems, self.sentence_stems.row(i), self.stem_number), 0.0
                )
                if score > best_score:
                    best, best_score = i, score
        return best

    def _passage(self, group: Sequence[Candidate], query: QueryTerms, vector: np.ndarray) -> Passage:
        lead = group[0]  # the best-scoring member decides the score
        chunks: list[Chunk] = sorted((c.chunk for c in group), key=lambda c: c.start)
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
