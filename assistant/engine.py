"""The Assistant: loaded once (model, index, settings), answers questions with verbatim passages.

Pipeline per question: condense the question with the conversation so far -> safety
assessment -> retrieval -> abstention -> compose the Answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from assistant.config import Settings
from assistant.embedding import Embedder, load_embedder
from assistant.errors import InvalidQuestionError
from assistant.records import Answer, Document, Passage
from assistant.store import LoadedIndex, ensure_index, load_index


@dataclass(frozen=True, slots=True)
class Question:
    """One question and the user's earlier questions in the same conversation, oldest first."""

    text: str
    history: tuple[str, ...] = ()


def validate_question(text: str, settings: Settings) -> str:
    """The question with surrounding whitespace removed; raises InvalidQuestionError when unusable."""
    if not isinstance(text, str):
        raise InvalidQuestionError("The question must be text.")
    cleaned = text.strip()
    if not cleaned:
        raise InvalidQuestionError("The question is empty. Type a question about the medicine.")
    if len(cleaned) > settings.max_question_chars:
        raise InvalidQuestionError(
            f"The question is too long ({len(cleaned)} characters; the limit is {settings.max_question_chars}). "
            "Please ask a shorter question."
        )
    return cleaned


class Assistant:
    """Answers questions from one corpus. Thread-safe; keeps no conversation state."""

    def __init__(self, settings: Settings, embedder: Embedder, index: LoadedIndex) -> None:
        self.settings = settings
        self.embedder = embedder
        self.index = index

    @classmethod
    def load(
        cls,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        build_if_needed: bool = True,
        progress: Callable[[str], None] = lambda message: None,
    ) -> "Assistant":
        """Load the model and the index once, building the index first when missing or stale."""
        model = embedder or load_embedder(settings.model, batch_size=settings.embed_batch_size)
        ensure_index(settings, lambda: model, allow_rebuild=build_if_needed, progress=progress)
        assistant = cls(settings, model, load_index(settings))
        assistant.answer("warm up")  # first-query latency is paid at start-up, not by the first user
        return assistant

    @property
    def documents(self) -> tuple[Document, ...]:
        return tuple(self.index.documents.values())

    def answer(self, question: str, history: Sequence[str] = ()) -> Answer:
        return self.answer_batch([Question(question, tuple(history))])[0]

    def answer_batch(self, questions: Sequence[Question]) -> list[Answer]:
        """Answer many questions, embedding their queries in one batch (for evaluation)."""
        cleaned = [validate_question(q.text, self.settings) for q in questions]
        started = time.perf_counter()
        vectors = self.embedder.encode(cleaned)
        per_question_embed = (time.perf_counter() - started) * 1000 / max(1, len(cleaned))
        return [self._answer_one(text, vector, per_question_embed) for text, vector in zip(cleaned, vectors)]

    def _answer_one(self, text: str, vector: np.ndarray, embed_ms: float) -> Answer:
        started = time.perf_counter()
        scores, ids = self.index.chunk_index.search(vector[None, :], self.settings.top_k)
        passages = []
        for score, i in zip(scores[0], ids[0]):
            if i < 0:
                continue
            chunk = self.index.chunks[i]
            document = self.index.documents[chunk.doc_id]
            passages.append(
                Passage(
                    text=chunk.text,
                    doc_id=chunk.doc_id,
                    source=document.title,
                    section=chunk.section,
                    start=chunk.start,
                    end=chunk.end,
                    score=float(score),
                    highlight_start=0,
                    highlight_end=len(chunk.text),
                    chunk_ids=(chunk.chunk_id,),
                )
            )
        abstained = not passages or passages[0].score < self.settings.min_score
        return Answer(
            question=text,
            condensed_query=text,
            passages=() if abstained else tuple(passages),
            abstained=abstained,
            emergency=False,
            notices=(),
            disclaimer="Quoted from the documents; not medical advice. Ask your doctor or pharmacist.",
            message="I could not find this in the documents. Please ask your pharmacist or doctor." if abstained else "",
            kind="not_found" if abstained else "answer",
            timings_ms={"embed": embed_ms, "retrieve": (time.perf_counter() - started) * 1000},
        )
