"""The shared vocabulary of the assistant: small frozen records that cross module boundaries.

This module imports nothing else from the package, so every stage (building the index,
answering, the UI, evaluation) can depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Document:
    """One source document, as text, with what a reader needs to judge it."""

    doc_id: str  # path relative to the corpus folder, with forward slashes
    title: str
    text: str  # the text every chunk offset points into
    source: str  # where the document came from (URL or description)
    reviewed: bool  # has a clinician reviewed it?
    fingerprint: str  # sha256 of the file's bytes (and its sidecar), for staleness checks
    notes: str = ""
    kind: str = "other"  # one of DOCUMENT_KINDS: how far its words can be trusted
    # Lower-case generic names of the medicines the document is about (from its sidecar, or
    # detected at index time); empty for a document about no particular medicine.
    medicines: tuple[str, ...] = ()
    published: str = ""  # the date of the text, as its sidecar gives it
    licence: str = ""

    @property
    def official(self) -> bool:
        """An official label or leaflet, or a document a clinician reviewed: ranked before the others."""
        return self.reviewed or self.kind in OFFICIAL_KINDS


# "general": health information about no particular medicine, searched for every question.
# "other": anything else (an unrelated file in the folder): searched only when no medicine is asked about.
DOCUMENT_KINDS = ("label", "leaflet", "article", "general", "other")
OFFICIAL_KINDS = frozenset({"label", "leaflet"})
# Every quote names its kind of document (SAFETY.md section 2); the title follows the label.
QUOTE_LABELS = {
    "label": "From the official label:",
    "leaflet": "From the official leaflet:",
    "article": "From the article:",
    "general": "From the document:",
    "other": "From the document:",
}


@dataclass(frozen=True, slots=True)
class Block:
    """A structural unit of a document: a heading, paragraph, list or table.

    `start`/`end` are character offsets into the document text.
    """

    kind: str  # "heading" | "paragraph" | "list" | "table" | "boilerplate"
    start: int
    end: int
    section: str  # the heading this block sits under ("" before the first heading)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A sentence-aligned span of one document: `document.text[start:end] == text`."""

    chunk_id: str  # "<doc_id>#<n>", stable across rebuilds of an unchanged document
    doc_id: str
    text: str
    start: int
    end: int
    section: str
    kind: str  # the kind of block the chunk came from ("paragraph", "list", "table")
    # Sentence spans inside the chunk, as (start, end) offsets into the *document* text.
    sentences: tuple[tuple[int, int], ...] = ()

    @property
    def search_text(self) -> str:
        """The chunk as it is searched: its section heading, a line break, its text (the heading gives
        context the text often omits). The one place the two are joined: the embedding, BM25, the
        lexical terms and the partner-name search all read this. Changing it changes every built
        index's vectors (bump CHUNKER_VERSION in chunking.py)."""
        return f"{self.section}\n{self.text}" if self.section else self.text


@dataclass(frozen=True, slots=True)
class Passage:
    """A verbatim quotation shown to the user, with where it came from."""

    text: str
    doc_id: str
    source: str  # the document's title, as shown to people
    section: str
    start: int  # offsets into the document text
    end: int
    score: float  # retrieval score used for ranking and abstention; higher is better
    # The best-matching sentence, as offsets *inside* `text` (0 <= start < end <= len(text)).
    highlight_start: int = 0
    highlight_end: int = 0
    unverified: tuple[str, ...] = ()  # why parts of the quote could not be verified
    chunk_ids: tuple[str, ...] = ()
    source_kind: str = "other"  # the document's kind (DOCUMENT_KINDS), for the quote's label

    @property
    def label(self) -> str:
        """How the quote is introduced: "From the article:", "From the official label:", ..."""
        return QUOTE_LABELS.get(self.source_kind, QUOTE_LABELS["other"])


class Level(StrEnum):
    """How a safety notice is shown (SAFETY.md section 2), most urgent first; display follows this order."""

    RED = "RED"  # emergency banner: call the emergency number now
    CRISIS = "CRISIS"  # crisis banner: help lines, nothing quoted
    POISON = "POISON"  # poison-centre banner, with a line to escalate to RED
    AMBER = "AMBER"  # a specific caution before the quote
    INFO = "INFO"  # a helpful line, never an emergency


class Category(StrEnum):
    """What a safety notice is about: one entry of assistant/safety/wording.toml each, in display order
    within one level (a pump line before a general withdrawal line)."""

    SERIOUS_REACTION_NOW = "serious_reaction_now"
    SELF_HARM = "self_harm"
    OVERDOSE = "overdose"
    CHILD_INGESTION = "child_ingestion"
    PUMP = "pump"
    WITHDRAWAL = "withdrawal"
    SEDATIVES = "sedatives"
    PREGNANCY = "pregnancy"
    CHILDREN = "children"
    KIDNEY = "kidney"
    DRIVING = "driving"
    DOSING = "dosing"
    OFFLABEL_ALCOHOL = "offlabel_alcohol"
    OVERDOSE_INFO = "overdose_info"


LEVEL_ORDER: tuple[Level, ...] = tuple(Level)
URGENT_LEVELS = frozenset({Level.RED, Level.CRISIS, Level.POISON})


@dataclass(frozen=True, slots=True)
class Notice:
    """A safety message shown with an answer. `level` orders display: RED, CRISIS, POISON, AMBER, INFO."""

    level: Level
    category: Category
    title: str
    text: str

    @property
    def urgent(self) -> bool:
        return self.level in URGENT_LEVELS


@dataclass(frozen=True, slots=True)
class Answer:
    """Everything the chat, the CLI and the evaluation show for one question."""

    question: str
    condensed_query: str
    passages: tuple[Passage, ...]
    abstained: bool
    emergency: bool  # an urgent notice (RED, CRISIS or POISON) is shown
    notices: tuple[Notice, ...]
    disclaimer: str
    message: str = ""  # plain text shown when no passage is shown ("not found", help reply)
    kind: str = "answer"  # "answer" | "not_found" | "help" | "emergency_only"
    top_score: float = 0.0  # best retrieval score, also when abstaining (for calibration plots)
    reason: str = ""  # why nothing is quoted, when abstaining (for evaluation reports)
    medicine: str = ""  # the medicine the question was understood to be about ("" when none)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # One short line naming the documents quoted, for a chat that has already shown `disclaimer` in full.
    short_disclaimer: str = ""


@dataclass(frozen=True, slots=True)
class Question:
    """One question and the user's earlier questions in the same conversation, oldest first."""

    text: str
    history: tuple[str, ...] = ()


class AnswersQuestions(Protocol):
    """What the chat, the `/ask` API and the evaluation need from an assistant: `assistant.engine.Assistant`,
    and the naive baseline (assistant/baseline.py) that evaluation compares it with."""

    @property
    def documents(self) -> tuple[Document, ...]: ...

    def answer(self, question: str, history: Sequence[str] = ()) -> Answer: ...

    def answer_batch(self, questions: Sequence[Question]) -> list[Answer]: ...
