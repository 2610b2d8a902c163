"""The Assistant: loaded once (model, index, settings), answers questions with verbatim passages.

Per question: condense it with the conversation so far (conversation.py) -> understand its
words (lexicon.py) -> safety assessment (safety.py) -> hybrid retrieval (retrieval.py) ->
is it really answered? (answerability.py) -> compose the Answer (compose.py).

Everything heavy is loaded in `Assistant.load`; `answer` only computes. The Assistant keeps
no conversation state (callers pass the history), so one instance serves every chat session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from assistant.answerability import check_answerable, covered_topics, missing_topics, promote_answer_type
from assistant.compose import compose_answer
from assistant.config import Settings
from assistant.conversation import condense_query
from assistant.embedding import Embedder, load_embedder
from assistant.errors import InvalidQuestionError
from assistant.lexicon import Lexicon, QueryTerms, mask_terms
from assistant.records import Answer, Document
from assistant.retrieval import Retriever
from assistant.safety import SafetyDetector, SafetyMessages
from assistant.store import LoadedIndex, ensure_index, load_index


@dataclass(frozen=True, slots=True)
class Question:
    """One question and the user's earlier questions in the same conversation, oldest first."""

    text: str
    history: tuple[str, ...] = ()


def validate_question(text: object, settings: Settings) -> str:
    """The question without surrounding whitespace; raises InvalidQuestionError when unusable."""
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
        dictionary = embedder.known_words() if hasattr(embedder, "known_words") else frozenset()
        self.lexicon = Lexicon([f"{c.section}\n{c.text}" for c in index.chunks], dictionary=dictionary)
        self.retriever = Retriever(index, settings, self.lexicon)
        self.covered_topics = covered_topics(
            self.lexicon.vocabulary.topics, [d.text for d in index.documents.values()]
        )
        self.safety = SafetyDetector(settings, embedder)
        self.messages = SafetyMessages.load(settings)

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
        if embedder is None:
            progress(f"Loading the embedding model {settings.model}")
            embedder = load_embedder(settings.model, batch_size=settings.embed_batch_size)
        ensure_index(settings, lambda: embedder, allow_rebuild=build_if_needed, progress=progress)
        assistant = cls(settings, embedder, load_index(settings))
        assistant.answer("What are the side effects?")  # pay first-query costs at start-up, not on a user
        return assistant

    @property
    def documents(self) -> tuple[Document, ...]:
        return tuple(self.index.documents.values())

    def answer(self, question: str, history: Sequence[str] = ()) -> Answer:
        """Answer one question; `history` holds the user's earlier questions, oldest first."""
        return self.answer_batch([Question(question, tuple(history))])[0]

    def answer_batch(self, questions: Sequence[Question]) -> list[Answer]:
        """Answer many questions, embedding all their texts in one batch (used by evaluation)."""
        started = time.perf_counter()
        cleaned = [validate_question(q.text, self.settings) for q in questions]
        condensed = [
            condense_query(text, [h for h in q.history if isinstance(h, str)], self.lexicon)
            for text, q in zip(cleaned, questions)
        ]
        terms = [self.lexicon.analyse(c) for c in condensed]
        prepared_ms = (time.perf_counter() - started) * 1000

        # One model call for everything: the search texts and the raw questions (for safety).
        started = time.perf_counter()
        searches = [self._search_text(t, c) for t, c in zip(terms, condensed)]
        texts = list(dict.fromkeys(searches + cleaned))
        vectors = dict(zip(texts, self.embedder.encode(texts)))
        embed_ms = (time.perf_counter() - started) * 1000

        share_ms = (prepared_ms + embed_ms) / max(1, len(questions))
        return [
            self._answer_one(text, history_q.history, condensed_q, term, vectors, share_ms)
            for text, history_q, condensed_q, term in zip(cleaned, questions, condensed, terms)
        ]

    def _search_text(self, terms: QueryTerms, condensed: str) -> str:
        """What is embedded for retrieval: corrected and expanded, without the corpus's subject words."""
        return mask_terms(terms.search_text or condensed, self.index.masked_terms)

    def _answer_one(
        self,
        question: str,
        history: Sequence[str],
        condensed: str,
        terms: QueryTerms,
        vectors: dict[str, np.ndarray],
        shared_ms: float,
    ) -> Answer:
        started = time.perf_counter()
        safety = self.safety.assess(question, history, query_vector=vectors[question])
        small_talk = self.safety.is_small_talk(question) and not safety.notices
        safety_ms = (time.perf_counter() - started) * 1000

        started = time.perf_counter()
        vector = vectors[self._search_text(terms, condensed)]
        retrieval = self.retriever.search(terms, vector)
        texts = [self.index.chunks[c.chunk_index].text for c in retrieval.candidates]
        retrieval = replace(
            retrieval,
            candidates=tuple(promote_answer_type(condensed, retrieval.candidates, texts, self.settings.secondary_margin)),
        )
        top = retrieval.candidates[0] if retrieval.candidates else None
        top_text = self.index.chunks[top.chunk_index].text if top else ""
        verdict = check_answerable(
            condensed,
            terms,
            retrieval.top_score,
            top_text,
            min_score=self.settings.min_score,
            missing=missing_topics(terms.corrected, self.lexicon.vocabulary.topics, self.covered_topics),
            personal_dosing="dosing" in safety.categories,
        )
        show = verdict.answerable and not small_talk and not safety.suppress_passages
        chosen = self.retriever.select(retrieval, self.settings.top_k, self.settings.min_score) if show else []
        passages = self.retriever.to_passages(chosen, terms, vector)
        retrieve_ms = (time.perf_counter() - started) * 1000

        return compose_answer(
            question=question,
            condensed_query=condensed,
            passages=passages,
            safety=safety,
            messages=self.messages,
            documents=self.documents,
            small_talk=small_talk,
            reason=verdict.reason,
            top_score=retrieval.top_score,
            timings_ms={
                "prepare_embed": shared_ms,
                "safety": safety_ms,
                "retrieve": retrieve_ms,
                "total": shared_ms + safety_ms + retrieve_ms,
            },
        )
