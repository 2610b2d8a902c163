"""The safety layer: which notices a question needs, and every safety message the user sees.

- `SafetyMessages` is `safety.toml` (wording a clinician can edit) formatted with the configured
  phone numbers.
- `SafetyDetector.assess` runs named rules over a normalised, typo-corrected copy of the question
  and, when an embedder is given, compares the question with each category's example phrases.
  Similarity can add a category the rules missed, but never turns a question the rules read as
  informational ("what are the signs of ...", "can it cause ...") into an emergency.

Sections, one module each: 1. normalisation (slang, contractions, spelling): `safety_text`;
2. vocabulary (regex fragments) and the rule table (one named pattern per situation, each with a
comment saying why): `safety_patterns`; 3. applying the rules: `safety_rules`; 4. messages:
`safety_messages`; 5. the detector: here. This module re-exports the public names of the others,
so callers import from `assistant.safety` alone. Display order and the urgent levels come from
`assistant.records`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from assistant.config import Settings
from assistant.embedding import Embedder, unit_vectors
from assistant.records import LEVEL_ORDER, URGENT_LEVELS, Notice
from assistant.safety_messages import CATEGORIES, SAFETY_FILE, CategorySpec, SafetyMessages, UnverifiedClaim
from assistant.safety_patterns import CAUTION_RULES, MEDICINE, PERSON_WORD, RULES, SMALL_TALK, SMALL_TALK_MAX_WORDS
from assistant.safety_rules import RuleAnalysis, _levels, _without_redundant, analyse
from assistant.safety_text import correct_spelling, normalise

__all__ = [
    "CATEGORIES",
    "CAUTION_RULES",
    "RULES",
    "SAFETY_FILE",
    "CategorySpec",
    "RuleAnalysis",
    "SafetyAssessment",
    "SafetyDetector",
    "SafetyMessages",
    "UnverifiedClaim",
    "analyse",
    "correct_spelling",
    "normalise",
]


# ---------------------------------------------------------------------------------------------------
# 5. The detector: rules first, then similarity to example phrases, then notices in display order.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SafetyAssessment:
    """The safety notices one question needs."""

    notices: tuple[Notice, ...]  # display order: RED, CRISIS, POISON, AMBER, INFO (records.LEVEL_ORDER)
    emergency: bool  # True iff any notice is RED, CRISIS or POISON
    categories: frozenset[str]  # every detected category id, e.g. {"overdose", "withdrawal"}
    suppress_passages: bool  # True for self-harm/CRISIS: the answer must quote nothing

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(n.level for n in self.notices)


# The medicine's name as the rules (safety_patterns.DRUG_NAME) spell it.
RULE_MEDICINE_NAME = "baclofen"


class SafetyDetector:
    """Decides which safety notices a question needs. Thread-safe; keeps no conversation state."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """Load the messages and, with an embedder, encode every example phrase once (one batch).

        `embedder=None` runs the rules only (fast tests, or no model available).
        """
        self.settings = settings
        self.messages = SafetyMessages.load(settings)
        self._embedder = embedder
        self._base_level = {c: spec.notice.level for c, spec in self.messages.categories.items()}
        self._example_matrix: np.ndarray | None = None
        if embedder is not None:
            examples = [(c, e) for c, spec in self.messages.categories.items() for e in spec.examples]
            vectors = np.asarray(embedder.encode([e for _, e in examples]), dtype=np.float32)
            # Every example is a question about the same medicine, so raw cosines between any two
            # baclofen questions are high (0.7-0.9). Subtracting the mean example vector removes that
            # shared part and leaves what tells the categories apart.
            self._centre = vectors.mean(axis=0)
            self._example_matrix = unit_vectors(vectors - self._centre)
            owners = np.array([CATEGORIES.index(c) for c, _ in examples])
            # Examples are grouped by category, so a per-category max is one reduceat over the scores.
            self._group_starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            self._group_categories = [CATEGORIES[i] for i in owners[self._group_starts]]
            self._thresholds = np.array([self.messages.categories[c].threshold for c in self._group_categories])

    def similarity_scores(self, question: str, query_vector: np.ndarray | None = None) -> dict[str, float]:
        """Max cosine similarity (after centring) of the question to each category's examples.

        Empty without an embedder.
        """
        if self._example_matrix is None:
            return {}
        vector = unit_vectors(self._query_vector(question, query_vector) - self._centre)
        best = np.maximum.reduceat(self._example_matrix @ vector, self._group_starts)
        return {c: float(s) for c, s in zip(self._group_categories, best)}

    def _query_vector(self, question: str, query_vector: np.ndarray | None) -> np.ndarray:
        if query_vector is not None:
            return np.asarray(query_vector, dtype=np.float32).reshape(-1)
        assert self._embedder is not None
        return self._embedder.encode([question])[0]

    def assess(
        self,
        question: str,
        history: Sequence[str] = (),
        query_vector: np.ndarray | None = None,
        medicine_names: re.Pattern[str] | None = None,
    ) -> SafetyAssessment:
        """The notices for `question`.

        Args:
            question: the user's message.
            history: the user's earlier messages, oldest first. Used only to know that "it",
                "them" or a bare count ("he took 5") refers to the medicine; an earlier emergency
                does not make this question one.
            query_vector: the unit embedding of `question`, if the caller already has it; the
                model is then not called.
            medicine_names: the names of the medicine the question is about (assistant/routing.py).
                The rules spell the medicine as the seed corpus does (RULE_MEDICINE_NAME), so these
                names are read as that name: "my son swallowed my tizanidine" is the same emergency.
        """
        if medicine_names is not None:
            question = medicine_names.sub(RULE_MEDICINE_NAME, question)
            history = [medicine_names.sub(RULE_MEDICINE_NAME, turn) for turn in history]
        text = normalise(question)
        drug_context = bool(re.search(rf"\b{MEDICINE}\b", text)) or any(
            re.search(rf"\b{MEDICINE}\b", normalise(turn)) for turn in history
        )
        found = analyse(text, drug_context=drug_context)
        categories = set(found.categories)
        if self._example_matrix is not None:
            for category, score in self.similarity_scores(question, query_vector).items():
                if category in categories or score < self.messages.categories[category].threshold:
                    continue
                urgent = self._base_level[category] in URGENT_LEVELS
                if urgent and (found.informational or not PERSON_WORD.search(text)):
                    # Similarity alone never makes an information question an emergency, nor a
                    # question that names nobody ("is baclofen dangerous?").
                    continue
                categories.add(category)
        return self._assessment(frozenset(categories), found.signals)

    def _assessment(self, categories: frozenset[str], signals: frozenset[str]) -> SafetyAssessment:
        ordered = [c for c in CATEGORIES if c in categories]
        shown = _without_redundant(_levels(ordered, signals, self._base_level))
        shown.sort(key=lambda item: (LEVEL_ORDER.index(item[1]), CATEGORIES.index(item[0])))
        notices = tuple(self.messages.notice(category, level) for category, level in shown)
        return SafetyAssessment(
            notices=notices,
            emergency=any(n.level in URGENT_LEVELS for n in notices),
            categories=categories,
            suppress_passages=any(n.level == "CRISIS" for n in notices),
        )

    def is_small_talk(self, question: str) -> bool:
        """Greetings, thanks, "what can you do?", "who are you": short, with no medical content."""
        text = normalise(question)
        if not text or len(text.split()) > SMALL_TALK_MAX_WORDS or not SMALL_TALK.match(text):
            return False
        return not analyse(text).categories
