"""The pipeline most people would build, as a yardstick for `eval --compare ...,naive`.

Recursive character split (1000 characters, 200 overlap, separators paragraph, line, space,
character: the LangChain RecursiveCharacterTextSplitter algorithm), the same embedding model,
an in-memory exact FAISS inner-product index, the top 4 chunks. It never abstains, shows no
safety notices and ignores the conversation history. Passages keep exact document offsets,
so they are verbatim and judged by the same location-based relevance as the assistant.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embedding import Embedder, unit_vectors
from assistant.records import Answer, Chunk, Document, Passage, Question
from assistant.store import make_faiss_index

SEPARATORS = ("\n\n", "\n", " ", "")
CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4
DISCLAIMER = "Quoted from the documents; not medical advice. Ask your doctor or pharmacist."


def split_recursive(
    text: str,
    *,
    chunk_size: int = CHUNK_SIZE,
    chunk_overlap: int = CHUNK_OVERLAP,
    separators: Sequence[str] = SEPARATORS,
) -> list[tuple[int, int]]:
    """(start, end) offsets of the chunks RecursiveCharacterTextSplitter would make (keep_separator, strip)."""
    return _split(text, 0, len(text), tuple(separators), chunk_size, chunk_overlap)


def _split(
    text: str, start: int, end: int, separators: tuple[str, ...], size: int, overlap: int
) -> list[tuple[int, int]]:
    # The first separator present in this piece; finer ones are kept for pieces still too long.
    separator = separators[-1]
    finer: tuple[str, ...] = ()
    for i, candidate in enumerate(separators):
        if candidate == "":
            separator = ""
            break
        if text.find(candidate, start, end) >= 0:
            separator, finer = candidate, separators[i + 1 :]
            break
    chunks: list[tuple[int, int]] = []
    small: list[tuple[int, int]] = []
    for piece in _pieces(text, start, end, separator):
        if piece[1] - piece[0] < size:
            small.append(piece)
            continue
        if small:
            chunks.extend(_merge(text, small, size, overlap))
            small = []
        if finer:
            chunks.extend(_split(text, piece[0], piece[1], finer, size, overlap))
        elif (stripped := _strip(text, *piece)) is not None:
            chunks.append(stripped)
    if small:
        chunks.extend(_merge(text, small, size, overlap))
    return chunks


def _pieces(text: str, start: int, end: int, separator: str) -> list[tuple[int, int]]:
    """Cut before each separator (the separator starts the next piece), dropping empty pieces."""
    if not separator:
        return [(i, i + 1) for i in range(start, end)]
    cuts = [start, *(start + m.start() for m in re.finditer(re.escape(separator), text[start:end])), end]
    return [(a, b) for a, b in pairwise(cuts) if b > a]


def _merge(text: str, pieces: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    """Pack consecutive pieces into chunks of at most `size`, carrying up to `overlap` characters."""
    chunks: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    total = 0
    for piece in pieces:
        length = piece[1] - piece[0]
        if total + length > size and current:
            if (stripped := _strip(text, current[0][0], current[-1][1])) is not None:
                chunks.append(stripped)
            while total > overlap or (total + length > size and total > 0):
                total -= current[0][1] - current[0][0]
                current = current[1:]
        current.append(piece)
        total += length
    if current and (stripped := _strip(text, current[0][0], current[-1][1])) is not None:
        chunks.append(stripped)
    return chunks


def _strip(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


class NaiveBaseline:
    """Answers like a textbook retrieval pipeline; same `answer_batch` interface as the Assistant."""

    def __init__(
        self, documents: Sequence[Document], embedder: Embedder, settings: Settings, *, top_k: int = TOP_K
    ) -> None:
        self.embedder = embedder
        self.top_k = top_k
        self._by_id = {d.doc_id: d for d in documents}
        self.chunks = [
            Chunk(f"{d.doc_id}#{n}", d.doc_id, d.text[s:e], s, e, section="", kind="text")
            for d in documents
            for n, (s, e) in enumerate(split_recursive(d.text))
        ]
        vectors = embedder.encode([c.search_text for c in self.chunks])
        self.index = make_faiss_index(unit_vectors(vectors), settings.replace(index_type="flat"))

    def describe(self) -> dict[str, Any]:
        return {
            "name": "naive",
            "pipeline": "recursive character split, same model, exact FAISS inner product, top-k, no abstention",
            "model": self.embedder.name,
            "chunk_size": CHUNK_SIZE,
            "chunk_overlap": CHUNK_OVERLAP,
            "separators": list(SEPARATORS),
            "top_k": self.top_k,
            "chunks": len(self.chunks),
        }

    @property
    def documents(self) -> tuple[Document, ...]:
        return tuple(self._by_id.values())

    def answer(self, question: str, history: Sequence[str] = ()) -> Answer:
        """One question (the history is ignored)."""
        return self.answer_batch([Question(question, tuple(history))])[0]

    def answer_batch(self, questions: Sequence[Question]) -> list[Answer]:
        texts = [q.text.strip() for q in questions]  # history ignored: the naive pipeline has no memory
        started = time.perf_counter()
        vectors = unit_vectors(self.embedder.encode(texts))
        embed_ms = (time.perf_counter() - started) * 1000 / max(1, len(texts))
        return [self._answer_one(text, vector, embed_ms) for text, vector in zip(texts, vectors, strict=True)]

    def _answer_one(self, text: str, vector: np.ndarray, embed_ms: float) -> Answer:
        started = time.perf_counter()
        scores, ids = self.index.search(vector[None, :], min(self.top_k, len(self.chunks)))
        passages = tuple(
            Passage(
                text=chunk.text,
                doc_id=chunk.doc_id,
                source=self._by_id[chunk.doc_id].title,
                section="",
                start=chunk.start,
                end=chunk.end,
                score=float(score),
                highlight_end=len(chunk.text),
                chunk_ids=(chunk.chunk_id,),
            )
            for score, i in zip(scores[0], ids[0], strict=True)
            if i >= 0
            for chunk in (self.chunks[i],)
        )
        retrieve_ms = (time.perf_counter() - started) * 1000
        return Answer(
            question=text,
            condensed_query=text,
            passages=passages,
            abstained=False,
            emergency=False,
            notices=(),
            disclaimer=DISCLAIMER,
            top_score=passages[0].score if passages else 0.0,
            timings_ms={"embed": embed_ms, "retrieve": retrieve_ms, "total": embed_ms + retrieve_ms},
        )
