"""The detector: which safety notices one question needs.

Three readings decide together:
1. triage (triage.py, red_flags.toml): a red-flag symptom happening now to someone -> RED;
2. the situational rules (rules.toml via analysis.py): too much taken, a child swallowed
   medicine, self-harm, stopping suddenly, mixing with alcohol, pregnancy, dosing, ...;
3. the embedding model: the question compared with each category's example phrases (wording.toml)
   can add a category the lists missed, but only for a question that names someone and is not
   read as informational, hypothetical, reported or over.
Then the escalation policy and the quiet rules (rules.toml) give the notices in display order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.embedding import Embedder, unit_vectors
from assistant.lexicon import Vocabulary
from assistant.records import URGENT_LEVELS, Category, Level, Notice
from assistant.safety.analysis import RuleAnalysis, apply_rules, levels
from assistant.safety.messages import SafetyMessages
from assistant.safety.rulebook import Rulebook
from assistant.safety.text import Normaliser
from assistant.safety.triage import TOLD_NOT_HAPPENING, Finding, RedFlags

# Red flags, and emergencies only the triage model saw, are shown with the serious-reaction notice.
RED_FLAG_CATEGORY = Category.SERIOUS_REACTION_NOW
# The triage model: logistic-regression weights over question embeddings (scripts/train_triage_model.py).
TRIAGE_MODEL_FILE = Path(__file__).with_name("triage_model.npz")
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TriageModel:
    """P(emergency) for a question's unit embedding, made for one embedding model."""

    weights: np.ndarray
    bias: float
    model: str
    examples: np.ndarray  # the training questions' unit vectors
    labels: np.ndarray  # True for an emergency

    @classmethod
    def load(cls, embedder: Embedder, path: Path = TRIAGE_MODEL_FILE) -> TriageModel | None:
        """The model for `embedder`, or None (with a log line) when the file was made for another."""
        try:
            data = np.load(path)
            weights, bias, model = data["weights"], float(data["bias"]), str(data["model"])
            examples, labels = data["examples"].astype(np.float32), data["labels"].astype(bool)
        except (OSError, KeyError, ValueError) as exc:
            logger.warning("Triage model %s not used: %s", path, exc)
            return None
        if model != embedder.name or weights.shape != (embedder.dimension,):
            logger.warning("Triage model %s was made for %s; the lists and examples decide alone", path.name, model)
            return None
        return cls(weights.astype(np.float32), bias, model, examples, labels)

    def probability(self, unit_vector: np.ndarray) -> float:
        """P(emergency); 0 when the nearest training question is not an emergency (two readings agree)."""
        return self.read(unit_vector, veto_below=0.0)[0]

    def read(self, unit_vector: np.ndarray, veto_below: float) -> tuple[float, bool]:
        """(P(emergency) as in `probability`, and whether both readings are sure it is no emergency: a
        look-alike nearest and the regression's P below `veto_below`)."""
        nearest_is_emergency = bool(self.labels[int(np.argmax(self.examples @ unit_vector))])
        regression = float(1.0 / (1.0 + np.exp(-(float(self.weights @ unit_vector) + self.bias))))
        return (regression if nearest_is_emergency else 0.0), (not nearest_is_emergency and regression < veto_below)


@dataclass(frozen=True, slots=True)
class SafetyAssessment:
    """The safety notices one question needs."""

    notices: tuple[Notice, ...]  # display order: RED, CRISIS, POISON, AMBER, INFO (records.LEVEL_ORDER)
    emergency: bool  # True iff any notice is RED, CRISIS or POISON
    categories: frozenset[Category]  # every detected category, e.g. {overdose, withdrawal}
    suppress_passages: bool  # True for self-harm/CRISIS: the answer must quote nothing
    red_flags: tuple[str, ...] = ()  # ids of the red-flag concepts happening now (red_flags.toml)
    # A greeting, thanks or "what can you do?" with no notice: answered with the help reply, nothing searched.
    small_talk: bool = False

    @property
    def levels(self) -> tuple[Level, ...]:
        return tuple(n.level for n in self.notices)

    @property
    def urgent_categories(self) -> tuple[Category, ...]:
        """The categories of the urgent notices (RED, CRISIS, POISON), in display order."""
        return tuple(n.category for n in self.notices if n.urgent)


@dataclass(frozen=True, slots=True)
class Reading:
    """Everything the detector read in one question (for tests, the review sheet and debugging)."""

    normalised: str
    raw_sentences: tuple[str, ...]  # the question split into sentences (triage.RedFlags.sentences)
    sentences: tuple[str, ...]  # the same, normalised
    resolved: tuple[bool, ...]  # per sentence: this or a later one says the story ended well
    frames: tuple[str, ...]  # per sentence: how it reads as a whole (triage.RedFlags.frame)
    open_to_model: tuple[bool, ...]  # per sentence: live, and not hypothetical anywhere in it
    rules: RuleAnalysis
    findings: tuple[Finding, ...]
    similarity: dict[Category, float]
    emergency_probability: float | None  # the triage model's, when it applies to the embedder
    model_sure_not: bool  # the triage model is sure this is no emergency (rules.toml [model] veto_below)
    live: bool  # some sentence names a person or tells of something now, and none is framed away


class SafetyDetector:
    """Decides which safety notices a question needs. Thread-safe; keeps no conversation state."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        *,
        medicine_names: Iterable[str] = (),
        encode_examples: Callable[[list[str]], np.ndarray] | None = None,
    ) -> None:
        """Load the rules, red flags and messages; with an embedder, encode every example phrase once.

        Args:
            medicine_names: the names of the medicines the corpus is about; empty: rules.toml's defaults.
            embedder: None runs the lists only (fast tests, or no model available).
            encode_examples: encodes the example phrases in place of `embedder.encode` (a cache of their
                vectors, assistant/vector_cache.py ExampleVectors).
        """
        self.settings = settings
        self.messages = SafetyMessages.load(settings)
        vocabulary = Vocabulary.load()
        self.rulebook = Rulebook.load(medicine_names=medicine_names, vocabulary=vocabulary.classes)
        self.red_flags = RedFlags.load(self.rulebook.fragments_expanded)
        self.normaliser = Normaliser(vocabulary.spelled_out, self.rulebook.medicine_names)
        self._base_level = {c: spec.notice.level for c, spec in self.messages.categories.items()}
        # What the triage model's veto removes: urgent categories other than CRISIS, and the signals that
        # raise a caution to RED (a withdrawal caution stays a caution).
        self._vetoable = {
            c for c, level in self._base_level.items() if level in URGENT_LEVELS and level is not Level.CRISIS
        }
        self._vetoable_signals = {
            s
            for e in self.rulebook.escalations
            if e.level in URGENT_LEVELS and self._base_level[e.category] is not Level.CRISIS
            for s in e.signals
        }
        # Topic-only signals: the categories of their rules, and every rule of those categories.
        self._topic_only: dict[str, tuple[set[Category], set[str]]] = {}
        for signal in self.rulebook.signals:
            if signal.informational_only_rules:
                owners = {r.category for r in self.rulebook.rules if r.name in signal.informational_only_rules}
                self._topic_only[signal.name] = (owners, {r.name for r in self.rulebook.rules if r.category in owners})
        self._example_matrix: np.ndarray | None = None
        # Public so that scripts/triage_lobo.py can swap in a model trained without one bank.
        self.triage_model = TriageModel.load(embedder) if embedder is not None else None
        if embedder is not None:
            examples = [(c, e) for c, spec in self.messages.categories.items() for e in spec.examples]
            encode = encode_examples or embedder.encode
            vectors = np.asarray(encode([e for _, e in examples]), dtype=np.float32)
            # Every example is a question about the same medicine, so raw cosines between any two
            # are high (0.7-0.9). Subtracting the mean example vector removes that shared part and
            # leaves what tells the categories apart.
            self._centre = vectors.mean(axis=0)
            self._example_matrix = unit_vectors(vectors - self._centre)
            example_owners = [c for c, _ in examples]
            starts = [i for i in range(len(example_owners)) if i == 0 or example_owners[i] != example_owners[i - 1]]
            self._group_starts = np.array(starts)
            self._group_categories = [example_owners[i] for i in starts]
        self._embedder = embedder

    def normalise(self, text: str) -> str:
        return self.normaliser.normalise(text)

    def similarity_scores(self, question: str, query_vector: np.ndarray | None = None) -> dict[Category, float]:
        """Max cosine similarity (after centring) of the question to each category's examples."""
        if self._example_matrix is None:
            return {}
        if query_vector is None:
            assert self._embedder is not None
            query_vector = self._embedder.encode([question])[0]
        vector = unit_vectors(np.asarray(query_vector, dtype=np.float32).reshape(-1) - self._centre)
        best = np.maximum.reduceat(self._example_matrix @ vector, self._group_starts)
        return {c: float(s) for c, s in zip(self._group_categories, best, strict=True)}

    def read(self, question: str, history: Sequence[str] = (), query_vector: np.ndarray | None = None) -> Reading:
        """What the lists and the model see in `question` (history: earlier user messages, oldest first;
        used only to know that "it" or a bare count refers to a medicine)."""
        if query_vector is None and self._embedder is not None:
            query_vector = self._embedder.encode([question])[0]  # once, for every reading below
        text = self.normalise(question)
        mentioned = self.rulebook.frame("MEDICINE_MENTIONED")
        medicine_mentioned = bool(mentioned.search(text)) or any(
            mentioned.search(self.normalise(t)) for t in history[-5:]
        )
        rules = apply_rules(self.rulebook, text, medicine_mentioned=medicine_mentioned)
        raw_sentences = self.red_flags.sentences(question) or [question]
        sentences = [self.normalise(s) for s in raw_sentences]
        resolved = self.red_flags.resolved_from(sentences)
        findings = tuple(self.red_flags.find(sentences, text))
        framed = tuple(self.red_flags.frame(s, len(s), r) for s, r in zip(sentences, resolved, strict=True))
        hypothetical = self.red_flags.frames["hypothetical"]
        open_to_model = tuple(
            f == "live" and not hypothetical.search(s) for s, f in zip(sentences, framed, strict=True)
        )
        person = self.rulebook.frame("PERSON_WORD")
        live = any(f == "live" for f in framed) and bool(person.search(text)) and not rules.informational
        probability, sure_not = None, False
        if self.triage_model is not None and query_vector is not None:
            unit = unit_vectors(np.asarray(query_vector, dtype=np.float32).reshape(-1))
            probability, sure_not = self.triage_model.read(unit, self.rulebook.model_veto_below)
        return Reading(
            text,
            tuple(raw_sentences),
            tuple(sentences),
            tuple(resolved),
            framed,
            open_to_model,
            rules,
            findings,
            self.similarity_scores(question, query_vector),
            probability,
            sure_not,
            live,
        )

    def assess(
        self, question: str, history: Sequence[str] = (), query_vector: np.ndarray | None = None
    ) -> SafetyAssessment:
        """The notices for `question` (see `read` for the arguments)."""
        reading = self.read(question, history, query_vector)
        categories = set(reading.rules.categories)
        signals = set(reading.rules.signals)
        sentences, resolved = list(reading.sentences), list(reading.resolved)
        for signal in self.rulebook.signals:
            # A danger sign told of as read, heard, hypothetical or over escalates nothing.
            if signal.name in signals and signal.pattern is not None and len(sentences) > 1:
                frames = [
                    self.red_flags.frame(s, m.end(), r)
                    for s, r in zip(sentences, resolved, strict=True)
                    for m in [signal.pattern.search(s)]
                    if m
                ]
                if frames and all(f in TOLD_NOT_HAPPENING | {"hypothetical"} for f in frames):
                    signals.discard(signal.name)
        needs_sentences = any(c in categories for c in self.rulebook.framed_away) or (
            len(sentences) > 1 and any(owners & categories for owners, _ in self._topic_only.values())
        )
        mentioned = self.rulebook.frame("MEDICINE_MENTIONED").search(reading.normalised) is not None
        by_sentence = (
            [apply_rules(self.rulebook, s, medicine_mentioned=mentioned) for s in sentences] if needs_sentences else []
        )
        signals |= self._topic_only_by_sentence(reading, by_sentence)
        for category in self._framed_away(categories, reading, by_sentence):
            replacement = self.rulebook.framed_away[category]
            if isinstance(replacement, Category):
                categories.discard(category)
                categories.add(replacement)
            else:
                signals.add(replacement)
        red_flags = tuple(f.concept.concept_id for f in reading.findings if f.live)
        if red_flags:
            categories.add(RED_FLAG_CATEGORY)
        if self._model_reads_emergency(reading, categories):
            # The model read an emergency the lists did not name. When unsure between AMBER and RED: RED.
            categories.add(RED_FLAG_CATEGORY)
        for category, score in reading.similarity.items():
            if category in categories or score < self.messages.categories[category].threshold:
                continue
            if self._base_level[category] in URGENT_LEVELS and not reading.live:
                # Similarity alone never makes an emergency of a question that names nobody, asks
                # for information, or tells of something read, hypothetical or over.
                continue
            categories.add(category)
        if reading.model_sure_not:
            # The lists saw an emergency the model is sure is not one ("I had chest pains back in 2019
            # ... is baclofen OK with that history?"): RED and POISON go, a caution stays a caution.
            # CRISIS stays: a wish to die is never argued away.
            categories -= self._vetoable
            signals -= self._vetoable_signals
            red_flags = ()
        assessment = self._assessment(frozenset(categories), frozenset(signals), red_flags)
        if not assessment.notices and self.is_small_talk(question):
            return replace(assessment, small_talk=True)
        return assessment

    def _model_reads_emergency(self, reading: Reading, categories: set[Category]) -> bool:
        """Whether the triage model reads an emergency the lists found no urgent notice for: the whole
        message, or (a long message can bury it) one of its live sentences on its own."""
        book = self.rulebook
        if (
            reading.emergency_probability is None
            or {self._base_level[c] for c in categories} & URGENT_LEVELS
            or len(reading.normalised.split()) < book.model_min_words
            or book.frame("SMALL_TALK").match(reading.normalised)
            or not self._model_may_read(reading)
        ):
            return False
        threshold = book.model_threshold_when_explained if categories else book.model_threshold
        if reading.emergency_probability >= threshold:
            return True
        if len(reading.sentences) < 2 or self._embedder is None or self.triage_model is None:
            return False
        live = [
            text
            for text, s, open_ in zip(reading.raw_sentences, reading.sentences, reading.open_to_model, strict=True)
            if open_ and len(s.split()) >= book.model_sentence_min_words
        ]
        if not live:
            return False
        vectors = unit_vectors(np.asarray(self._embedder.encode(live), dtype=np.float32))
        return any(self.triage_model.probability(v) >= book.model_sentence_threshold for v in vectors)

    def _model_may_read(self, reading: Reading) -> bool:
        """The model reads whole questions and cannot tell when something happened: it may add a notice
        only when some sentence is live and not hypothetical anywhere in it, and when the lists did not
        already judge every symptom they saw to be read about, hypothetical or over."""
        if reading.findings and not any(f.live for f in reading.findings):
            return False
        return any(reading.open_to_model)

    def _topic_only_by_sentence(self, reading: Reading, by_sentence: list[RuleAnalysis]) -> set[str]:
        """Topic-only signals read sentence by sentence: "does it cause suicidal thoughts? my gp said to
        watch my mood" asks about the word in one sentence and tells of nothing in the other."""
        found = set()
        for name, (owners, owner_rules) in self._topic_only.items():
            if name in reading.rules.signals or len(reading.sentences) < 2 or not owners & reading.rules.categories:
                continue
            signal_rules = next(s.informational_only_rules for s in self.rulebook.signals if s.name == name)
            related = [m for m in by_sentence if m.categories & owners]
            if related and all(m.informational and set(m.rules) & owner_rules <= signal_rules for m in related):
                found.add(name)
        return found

    def _first_match(self, category: Category, sentence: str) -> int:
        """Where the first match of a rule of `category` ends in `sentence`: the frame is read up to there."""
        ends = [
            m.end() for r in self.rulebook.rules if r.category == category for m in [r.pattern.search(sentence)] if m
        ]
        return min(ends, default=len(sentence))

    def _framed_away(
        self, categories: set[Category], reading: Reading, by_sentence: list[RuleAnalysis]
    ) -> list[Category]:
        """Urgent categories the rules found only in sentences telling of something read, heard or over."""
        away = []
        for category in (c for c in self.rulebook.framed_away if c in categories):
            frames = [
                self.red_flags.frame(s, self._first_match(category, s), r)
                for s, r, found in zip(reading.sentences, reading.resolved, by_sentence, strict=True)
                if category in found.categories
            ]
            if frames and all(frame in TOLD_NOT_HAPPENING for frame in frames):
                away.append(category)
        return away

    def _assessment(
        self, categories: frozenset[Category], signals: frozenset[str], red_flags: tuple[str, ...]
    ) -> SafetyAssessment:
        shown = levels(self.rulebook, categories, signals, self._base_level)
        notices = tuple(self.messages.notice(category, level) for category, level in shown)
        return SafetyAssessment(
            notices=notices,
            emergency=any(n.level in URGENT_LEVELS for n in notices),
            categories=categories,
            suppress_passages=any(n.level is Level.CRISIS for n in notices),
            red_flags=red_flags,
        )

    def is_small_talk(self, question: str) -> bool:
        """Greetings, thanks, "what can you do?", "who are you": short, with no medical content."""
        text = self.normalise(question)
        if not text or len(text.split()) > self.rulebook.small_talk_max_words:
            return False
        # `assess` also checks that the question needs no notice (then it is not small talk).
        return bool(self.rulebook.frame("SMALL_TALK").match(text))
