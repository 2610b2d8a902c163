"""Symptom-based triage: is a red-flag symptom happening to someone now?

Each sentence of a question is read for *what* is happening (the red-flag concepts of
red_flags.toml, in lay words) and *when* (now, just, since this morning; versus read about, heard,
"what if", years ago, fine now). A red flag counts when its sentence is not hypothetical, not
reported, not over and not a general question that names nobody. The words around the symptom,
not other parts of the message, decide: a dose, a meal or "is this a side effect?" in the same
message does not make the emergency a dosing, food or side-effect question.

The embedding model reads the same question against each concept's examples (see
`SafetyDetector`); this module is the list half of that decision.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.records import Level
from assistant.safety.rulebook import RulebookError

RED_FLAGS_FILE = Path(__file__).with_name("red_flags.toml")
# Frames in which something is told of but not happening: read or heard, a question of procedure, over.
TOLD_NOT_HAPPENING = frozenset({"reported", "policy", "over"})
_LAUGHING = str.maketrans({emoji: " lol " for emoji in "\U0001f602\U0001f923\U0001f480\U0001f606\U0001f605"})
_REFERENCE = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_FRAME_KEYS = (
    "hypothetical",
    "reported",
    "policy",
    "over",
    "habitual",
    "joking",
    "resolved",
    "wellness",
    "past_time",
    "so_far",
    "now",
    "resumes",
    "general_question",
    "person",
    "sentence_break",
)


@dataclass(frozen=True, slots=True)
class Source:
    source_id: str
    title: str
    publisher: str
    url: str
    licence: str
    extracts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Concept:
    concept_id: str
    label: str
    level: Level
    lay: tuple[re.Pattern[str], ...]
    requires: re.Pattern[str] | None
    unless: re.Pattern[str] | None
    examples: tuple[str, ...]
    not_examples: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """One red flag found in one sentence, and how that sentence reads."""

    concept: Concept
    sentence: str
    live: bool  # happening now to someone: counts as an emergency
    frame: str  # "live", or why not: "hypothetical", "reported", "policy", "over", "habitual", "joking", "general question"


@dataclass(frozen=True, slots=True)
class RedFlags:
    concepts: tuple[Concept, ...]
    sources: Mapping[str, Source]
    frames: Mapping[str, re.Pattern[str]]

    @classmethod
    def load(cls, fragments: Mapping[str, str], path: Path = RED_FLAGS_FILE) -> RedFlags:
        """Read and check red_flags.toml; `fragments` are rules.toml's, expanded ({RELATIONS}, ...)."""
        name = path.name
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RulebookError(f"Could not read the red flags in {path}: {exc}") from None

        def compile_(value: Any, where: str) -> re.Pattern[str]:
            if not isinstance(value, str):
                raise RulebookError(f"{name}: {where}: a pattern must be a string")

            def fill(match: re.Match[str]) -> str:
                if match.group(1) not in fragments:
                    raise RulebookError(f"{name}: {where}: unknown fragment {{{match.group(1)}}}")
                return fragments[match.group(1)]

            try:
                return re.compile(_REFERENCE.sub(fill, value))
            except re.error as exc:
                raise RulebookError(f"{name}: {where}: pattern does not compile: {exc}") from None

        frame_table = data.get("frame", {})
        missing = [k for k in _FRAME_KEYS if k not in frame_table]
        if missing:
            raise RulebookError(f"{name}: [frame] is missing {', '.join(missing)}")
        frames = {k: compile_(frame_table[k], f"[frame] {k}") for k in _FRAME_KEYS}

        sources: dict[str, Source] = {}
        for entry in data.get("source", []):
            where = f"[[source]] {entry.get('id', '?')}"
            unknown = set(entry) - {"id", "title", "publisher", "url", "licence", "extracts"}
            if unknown:
                raise RulebookError(f"{name}: {where}: unknown key(s) {', '.join(sorted(unknown))}")
            try:
                source = Source(
                    entry["id"],
                    entry["title"],
                    entry["publisher"],
                    entry["url"],
                    entry["licence"],
                    tuple(entry["extracts"]),
                )
            except KeyError as exc:
                raise RulebookError(f"{name}: {where}: missing {exc.args[0]!r}") from None
            if source.source_id in sources:
                raise RulebookError(f"{name}: {where}: duplicate source id")
            sources[source.source_id] = source

        concepts: list[Concept] = []
        allowed = {"id", "label", "level", "lay", "requires", "unless", "examples", "not_examples", "sources"}
        for entry in data.get("concept", []):
            where = f"[[concept]] {entry.get('id', '?')}"
            unknown = set(entry) - allowed
            if unknown:
                raise RulebookError(f"{name}: {where}: unknown key(s) {', '.join(sorted(unknown))}")
            for key in ("id", "label", "level", "lay", "examples", "not_examples", "sources"):
                if not entry.get(key):
                    raise RulebookError(f"{name}: {where}: missing or empty {key!r}")
            try:
                level = Level(entry["level"])
            except ValueError:
                raise RulebookError(f"{name}: {where}: unknown level {entry['level']!r}") from None
            if any(c.concept_id == entry["id"] for c in concepts):
                raise RulebookError(f"{name}: {where}: duplicate concept id")
            for source_id in entry["sources"]:
                if source_id not in sources:
                    raise RulebookError(f"{name}: {where}: unknown source {source_id!r}")
            concepts.append(
                Concept(
                    concept_id=entry["id"],
                    label=entry["label"],
                    level=level,
                    lay=tuple(compile_(p, f"{where} lay") for p in entry["lay"]),
                    requires=compile_(entry["requires"], f"{where} requires") if "requires" in entry else None,
                    unless=compile_(entry["unless"], f"{where} unless") if "unless" in entry else None,
                    examples=tuple(entry["examples"]),
                    not_examples=tuple(entry["not_examples"]),
                    sources=tuple(entry["sources"]),
                )
            )
        return cls(tuple(concepts), sources, frames)

    # -- reading a question ---------------------------------------------------------------------------
    def sentences(self, raw: str) -> list[str]:
        """The question split into sentences (before normalisation, which drops punctuation and emoji;
        laughing emoji are kept as "lol" for the joking frame)."""
        raw = raw.translate(_LAUGHING)
        return [s for s in self.frames["sentence_break"].split(raw) if s and s.strip()]

    def resolved_from(self, sentences: list[str]) -> list[bool]:
        """For each sentence: does it, or a later one, say the story ended well ("he is back to his
        normal self"; "i am fine now" when the event was yesterday or earlier), without "so far" or
        "for now"?"""
        in_the_past = any(self.frames["past_time"].search(s) for s in sentences)
        ended = [
            bool(self.frames["resolved"].search(s) or (in_the_past and self.frames["wellness"].search(s)))
            and not self.frames["so_far"].search(s)
            for s in sentences
        ]
        return [any(ended[i:]) for i in range(len(sentences))]

    def frame(self, sentence: str, start: int, resolved_later: bool = False) -> str:
        """How the words around position `start` of a normalised sentence read; `resolved_later`:
        this or a later sentence says the story ended well (see `resolved_from`)."""
        before = sentence[:start]
        # "fine now", "cleared up now": the now-word there belongs to the story being over.
        has_now = bool(self.frames["now"].search(self.frames["over"].sub(" ", sentence)))
        window = " ".join(before.split()[-10:])
        if self.frames["policy"].search(sentence):
            return "policy"  # before "hypothetical": "what should staff do if a resident says ..."
        if self._cue_holds("hypothetical", window):
            return "hypothetical"
        if self._cue_holds("reported", before):
            return "reported"
        if (self.frames["over"].search(sentence) and not has_now) or resolved_later:
            return "over"
        if self.frames["habitual"].search(sentence) and not has_now:
            return "habitual"
        if self.frames["joking"].search(sentence):
            return "joking"
        if (
            self.frames["general_question"].search(sentence)
            and not self.frames["person"].search(sentence)
            and not has_now
        ):
            return "general question"
        return "live"

    def _cue_holds(self, frame: str, before: str) -> bool:
        """A cue before the symptom frames it, unless a now-word comes between them
        ("i told him not to mix them and now he will not wake up")."""
        cues = list(self.frames[frame].finditer(before))
        last = cues[-1] if cues else None
        return last is not None and not self.frames["resumes"].search(before[last.end() :])

    def find(self, sentences: list[str], whole: str) -> list[Finding]:
        """Every red flag in the normalised `sentences` (`whole`: all of them joined)."""
        found: list[Finding] = []
        resolved = self.resolved_from(sentences)
        for concept in self.concepts:
            if concept.requires is not None and not concept.requires.search(whole):
                continue
            best: Finding | None = None
            for sentence, resolved_later in zip(sentences, resolved, strict=True):
                if concept.unless is not None and concept.unless.search(sentence):
                    continue
                for pattern in concept.lay:
                    for match in pattern.finditer(sentence):
                        frame = self.frame(sentence, match.start(), resolved_later)
                        finding = Finding(concept, sentence, frame == "live", frame)
                        if best is None or (finding.live and not best.live):
                            best = finding
                        if finding.live:
                            break
                    if best is not None and best.live:
                        break
            if best is not None:
                found.append(best)
        return found
