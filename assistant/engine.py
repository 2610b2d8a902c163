"""The Assistant: loaded once (model, index, settings), answers questions with verbatim passages.

Per question, data flows one way, and no step goes back to a module an earlier step left:
condense it with the conversation so far (conversation.py) -> resolve its medicine and the
documents about it (routing.py) -> understand its words (lexicon.py) -> one batch of embeddings ->
safety assessment (safety/; small talk and emergencies are its typed fields) -> its topics
(topics.py) -> the medicines it asks to combine (partners.py) -> rank: hybrid retrieval in those
documents (retrieval.py) -> judge: do the ranked passages answer it? (answerability.py) -> passages:
which to quote (passages.py) -> compose the Answer (compose.py). Each step takes records (the
candidates carry their chunks) and returns one.

Everything heavy is loaded in `Assistant.load`; `answer` only computes. The Assistant keeps
no conversation state (callers pass the history), so one instance serves every chat session.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant import embedding
from assistant.answerability import Decision, decide
from assistant.calibration import DEFAULT_MIN_SCORE, applies, read_calibration
from assistant.compose import NotFound, compose_answer
from assistant.config import Settings
from assistant.conversation import condense_query
from assistant.embedding import Embedder
from assistant.errors import InvalidQuestionError
from assistant.lexicon import Lexicon, QueryTerms
from assistant.medicines import MedicineNames, mask_names, mask_pattern
from assistant.partners import find_partners
from assistant.passages import Quoter
from assistant.records import Answer, Category, Document, Question
from assistant.retrieval import Retriever
from assistant.routing import MedicineRouter, Route
from assistant.safety import SafetyAssessment, SafetyDetector
from assistant.store import LoadedIndex, load_or_build_index
from assistant.topics import NO_TOPIC, TopicDetector, TopicReading, emergency_topics, load_topics
from assistant.vector_cache import ExampleVectors


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A question after everything that needs no embedding: its route, words and search text."""

    text: str
    history: tuple[str, ...]
    condensed: str
    route: Route
    terms: QueryTerms
    search: str  # what is embedded for retrieval and topic detection: the subject's names masked


WARM_UP_QUESTION = "What are the side effects?"
# A dosing question about a child: both cautions are on the question (safety/rules.toml).
CHILD_DOSE = frozenset({Category.CHILDREN, Category.DOSING})

# Shown instead of passages when a question ran out of time (Settings.answer_budget_ms).
OVER_BUDGET_MESSAGE = (
    "Sorry, this question took too long to answer, so nothing is quoted. Please try again, or ask a shorter question."
)


def resolve_min_score(settings: Settings, index: LoadedIndex) -> tuple[float, str]:
    """The abstention threshold and where it came from: the setting, this corpus's calibration, or the default."""
    if settings.min_score is not None:
        return settings.min_score, "setting"
    calibration = read_calibration(settings.index_dir)
    if applies(calibration, index.manifest):
        return calibration.min_score, f"calibrated on {calibration.questions_file}"
    return DEFAULT_MIN_SCORE, "default"


# Lone UTF-16 surrogates (U+D800 to U+DFFF): JSON can carry them as escapes, no keyboard types them,
# and the model's tokenizer raises TypeError on them.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: object, what: str) -> str | None:
    """Why `value` cannot be read as text, in words an API user or a chat user can act on; None if it can.

    A lone UTF-16 surrogate (JSON "\\ud800") is valid JSON but not text: the tokenizer fails on it.
    """
    if not isinstance(value, str):
        return f"{what} must be text (a string), not {_json_type(value)}."
    found = _LONE_SURROGATE.search(value)
    if found:
        return (
            f"{what} contains a character that is not valid text (U+{ord(found.group()):04X}, a lone surrogate, "
            f"at position {found.start() + 1}). Remove it or type the text again."
        )
    return None


def _json_type(value: object) -> str:
    """The JSON name of a decoded value's type, as an API user sent it."""
    names = {
        type(None): "null",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    return names.get(type(value), type(value).__name__)


def _as_text(value: object, what: str) -> str:
    """`value` itself when it is usable text; raises InvalidQuestionError saying why not."""
    problem = text_problem(value, what)
    if problem is not None or not isinstance(value, str):
        raise InvalidQuestionError(problem or f"{what} must be text.")
    return value


def _history_item(number: int) -> str:
    return f"History item {number} (an earlier question)"


def validate_question(text: object, max_question_chars: int) -> str:
    """The question without surrounding whitespace; raises InvalidQuestionError when unusable (also
    used for each row of a question file, assistant/question_file.py)."""
    cleaned = _as_text(text, "The question").strip()
    if not cleaned:
        raise InvalidQuestionError("The question is empty. Type a question about the medicine.")
    if len(cleaned) > max_question_chars:
        raise InvalidQuestionError(
            f"The question is too long ({len(cleaned)} characters; the limit is {max_question_chars}). "
            "Please ask a shorter question."
        )
    return cleaned


def validate_request(question: object, history: object, settings: Settings) -> Question:
    """The question and the part of the history that is read: the one check of every entry point
    (chat, `/ask` API, CLI, evaluation), so that every request does bounded work.

    Too much history is trimmed, not refused: only the most recent turns are kept, at most
    `max_history_turns` of them and `max_history_chars` characters. Follow-ups lean on the last few
    questions, and the chat sends its whole history with every question, so refusing would leave a
    long chat unable to ask anything. Blank earlier questions are skipped.

    Raises:
        InvalidQuestionError: the question is unusable (see `validate_question`), the history is not a
            list of texts, or question and history together pass `max_input_chars`.
    """
    if history is None:
        history = ()
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise InvalidQuestionError("The history must be a list of the earlier questions (texts), oldest first.")
    for number, earlier in enumerate(history, start=1):
        if not isinstance(earlier, str):  # types only here; the text of the turns read is checked below
            _as_text(earlier, _history_item(number))
    # Counted before anything is read, so an oversized request costs one pass over its lengths.
    total = (len(question) if isinstance(question, str) else 0) + sum(len(h) for h in history)
    if total > settings.max_input_chars:
        raise InvalidQuestionError(
            f"The question and the conversation before it are too long ({total:,} characters; the limit is "
            f"{settings.max_input_chars:,}). Please start a new conversation."
        )
    text = validate_question(question, settings.max_question_chars)
    kept: list[str] = []
    used = 0
    for number in range(len(history), 0, -1):
        earlier = history[number - 1]
        if not earlier or earlier.isspace():
            continue
        if len(kept) == settings.max_history_turns or used + len(earlier) > settings.max_history_chars:
            break
        kept.append(_as_text(earlier, _history_item(number)))  # only the turns that are read: bounded work
        used += len(earlier)
    return Question(text, tuple(reversed(kept)))


def _one_blas_thread() -> None:
    """Run numpy's BLAS on one thread. The matrix products here are small (safety examples, the
    triage model), and OpenBLAS threads that keep spinning after them slow the embedding model's next
    call: answer p95 went from 13 to 92 ms on this 2-core machine."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn (sentence-transformers)
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")


class Assistant:
    """Answers questions from one corpus. Thread-safe; keeps no conversation state."""

    def __init__(self, settings: Settings, embedder: Embedder, index: LoadedIndex) -> None:
        self.settings = settings
        self.embedder = embedder
        self.index = index
        dictionary = embedder.known_words()
        self.lexicon = Lexicon(
            (), dictionary=dictionary, max_word_chars=settings.max_word_chars, corpus=index.derived.corpus_words
        )
        self.router = MedicineRouter(
            self.documents,
            MedicineNames.load(),
            default_medicine=settings.default_medicine,
            protected_words=dictionary,
            curated_names=self.lexicon.vocabulary.drug_classes,
        )
        every_medicine = mask_pattern(n for m in self.router.medicines for n in self.router.names.aliases(m))
        # The example phrases' vectors are kept beside the index: encoding them was most of a start.
        examples = ExampleVectors(embedder, settings.index_dir)
        self.topics = TopicDetector(
            load_topics(), embedder, mask=lambda text: mask_names(text, every_medicine), encode_examples=examples.encode
        )
        self.citations = tuple(t for t in self.topics.topics if t.citation)
        self._children_topics = tuple(t for t in self.topics.topics if t.name == "children")
        self.retriever = Retriever(index, settings, self.lexicon, self.topics.topics)
        self.quoter = Quoter(self.retriever)
        self.safety = SafetyDetector(
            settings,
            embedder,
            medicine_names=[n for m in self.router.medicines for n in self.router.names.aliases(m)],
            encode_examples=examples.encode,
        )
        examples.save()
        self.messages = self.safety.messages
        self.min_score, self.min_score_source = resolve_min_score(settings, index)

    @classmethod
    def load(
        cls,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        build_if_needed: bool = True,
        progress: Callable[[str], None] = lambda message: None,
    ) -> Assistant:
        """Load the model and the index once, building the index first when missing or stale.

        The index is checked first and the model loaded after, so that a missing or empty corpus is
        reported at once, not after the model's seconds of loading.
        """
        _one_blas_thread()
        loaded: list[Embedder] = [embedder] if embedder is not None else []

        def model() -> Embedder:
            if not loaded:
                progress(f"Loading the embedding model {settings.model}")
                loaded.append(embedding.load_embedder_for(settings, progress=progress))
            return loaded[0]

        index = load_or_build_index(settings, model, allow_rebuild=build_if_needed, progress=progress)
        assistant = cls(settings, model(), index)
        # Pay first-query costs at start-up, not on a user (cut to fit however short the limit is set).
        assistant.answer(WARM_UP_QUESTION[: settings.max_question_chars])
        return assistant

    @property
    def documents(self) -> tuple[Document, ...]:
        return tuple(self.index.documents.values())

    @property
    def medicine(self) -> str:
        """The corpus's main medicine (default_medicine, or the one most documents are about; "" for none):
        what the chat page names in its title, prompt and examples."""
        return self.router.main

    def answer(self, question: str, history: Sequence[str] = ()) -> Answer:
        """Answer one question; `history` holds the user's earlier questions, oldest first.

        Raises:
            InvalidQuestionError: see `validate_request`.
        """
        return self.answer_batch([Question(question, history)])[0]  # type: ignore[arg-type]  # validated there

    def answer_batch(self, questions: Sequence[Question]) -> list[Answer]:
        """Answer many questions, embedding all their texts in one batch (used by evaluation).

        Each question is held to `answer_budget_ms` on its own: its preparation, its share of the
        model call, its safety assessment.
        """
        valid = [validate_request(q.text, q.history, self.settings) for q in questions]  # all, before any work
        prepared, prepared_ms = [], []
        for question in valid:
            started = time.perf_counter()
            prepared.append(self._prepare(question))
            prepared_ms.append((time.perf_counter() - started) * 1000)

        # One model call for everything: the search texts and the raw questions (for safety).
        started = time.perf_counter()
        texts = list(dict.fromkeys([p.search for p in prepared] + [p.text for p in prepared]))
        vectors = dict(zip(texts, self.embedder.encode(texts), strict=True))
        embed_share_ms = (time.perf_counter() - started) * 1000 / max(1, len(questions))

        return [self._answer_one(p, vectors, ms + embed_share_ms) for p, ms in zip(prepared, prepared_ms, strict=True)]

    def _prepare(self, question: Question) -> _Prepared:
        """Everything before the model call, for a question `validate_request` returned."""
        text, history = question.text, question.history
        condensed = condense_query(text, history, self.lexicon)
        route = self.router.route(text, history)
        masked = mask_names(condensed, route.mask)
        terms = self.lexicon.terms_of(masked)
        return _Prepared(text, history, condensed, route, terms, terms.search_text or masked)

    def _answer_one(self, prepared: _Prepared, vectors: dict[str, np.ndarray], shared_ms: float) -> Answer:
        """safety -> topics -> partners -> rank -> judge -> passages -> compose, for one prepared question."""
        route = prepared.route
        started = time.perf_counter()
        safety = self.safety.assess(prepared.text, prepared.history, query_vector=vectors[prepared.text])
        safety_ms = (time.perf_counter() - started) * 1000
        if shared_ms + safety_ms > self.settings.answer_budget_ms:
            # Out of time: the safety notices are computed (an emergency banner is never dropped for
            # time), retrieval is not started.
            return self._over_budget(prepared, safety, shared_ms, safety_ms)

        started = time.perf_counter()
        vector = vectors[prepared.search]
        decision = Decision(False, ())
        not_found = NotFound(medicine=route.medicine)
        top_score = 0.0
        if route.absent:
            decision = Decision(False, (), f"no document is about {route.absent[0]}")
            not_found = NotFound(medicine=route.absent[0], medicine_absent=True)
        elif not safety.small_talk and not safety.suppress_passages:
            topics = self.topics.detect(prepared.terms.corrected, vector)
            if safety.emergency:
                # Under an urgent banner, only passages about that emergency (or none at all).
                topics = TopicReading(
                    emergency_topics(self.topics.topics, safety.urgent_categories) or (NO_TOPIC,), True, True
                )
            elif safety.categories >= CHILD_DOSE:
                # A child's dose comes only from their prescriber (SAFETY.md section 2, "Children"): only
                # passages about children are quoted, or "not found"; an adult dose is never shown for a child.
                topics = TopicReading(self._children_topics or (NO_TOPIC,), True, True)
            partners = (
                ()
                if safety.emergency
                else find_partners(route, prepared.terms, self.router.names, self.lexicon.vocabulary.drug_classes)
            )
            retrieval = self.retriever.rank(prepared.terms, vector, route.doc_ids, topics=topics, partners=partners)
            top_score = retrieval.top_score
            decision = decide(
                prepared.terms.corrected,
                retrieval.candidates,
                min_score=self.min_score,
                topics=topics,
                partners=partners,
                citations=self.citations,
                uncovered=frozenset(t.name for t in topics.topics) - retrieval.shown_topics,
                topic_bonus=self.settings.topic_bonus,
                margin=self.settings.secondary_margin,
            )
            not_found = NotFound(
                medicine=route.medicine,
                topic=decision.topic.label if decision.topic else "",
                partner=decision.partner,
            )
        passages = self.quoter.quote(decision, prepared.terms, vector, self.settings.top_k, self.min_score)
        retrieve_ms = (time.perf_counter() - started) * 1000

        return compose_answer(
            question=prepared.text,
            condensed_query=prepared.condensed,
            passages=passages,
            safety=safety,
            messages=self.messages,
            documents=self.documents,
            reason=decision.reason,
            not_found=not_found,
            top_score=top_score,
            timings_ms={
                "prepare_embed": shared_ms,
                "safety": safety_ms,
                "retrieve": retrieve_ms,
                "total": shared_ms + safety_ms + retrieve_ms,
            },
        )

    def _over_budget(self, prepared: _Prepared, safety: SafetyAssessment, shared_ms: float, safety_ms: float) -> Answer:
        """The answer of a question whose time ran out before retrieval: its notices, no passages."""
        spent_ms = shared_ms + safety_ms
        answer = compose_answer(
            question=prepared.text,
            condensed_query=prepared.condensed,
            passages=(),
            safety=safety,
            messages=self.messages,
            documents=self.documents,
            reason=f"over the time budget ({spent_ms:.0f} ms; answer_budget_ms is {self.settings.answer_budget_ms})",
            not_found=NotFound(medicine=prepared.route.medicine),
            timings_ms={"prepare_embed": shared_ms, "safety": safety_ms, "retrieve": 0.0, "total": spent_ms},
        )
        if answer.kind != "not_found":
            return answer  # an urgent notice or a crisis reply: it says what to do
        return replace(answer, message=OVER_BUDGET_MESSAGE)
