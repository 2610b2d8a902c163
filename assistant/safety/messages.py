"""Every safety message the user sees, from `wording.toml` (the labels every surface shows the same way are
read by `labels.py`).

`SafetyMessages` is `wording.toml` (wording a clinician can edit) checked and formatted with the
configured phone numbers (`Settings`): the notice of each `Category` (and its escalated forms), the
replies, the disclaimer and the claims that cannot be verified. It knows nothing of the rules, so
the wording can change without touching detection, and detection without touching the wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import DataFileError
from assistant.records import Category, Document, Level, Notice
from assistant.safety.labels import (
    PER_ANSWER_PLACEHOLDERS,
    SAFETY_FILE,
    Labels,
    personalise,
    read_wording,
)

_PHONE_LIKE = re.compile(r"\d(?:[\s-]?\d){2,}")  # "911", "1-800-222-1222": numbers belong in settings


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """One category from safety.toml, its notices already formatted."""

    category: Category
    notice: Notice
    escalation: Notice | None
    topic: Notice | None  # self-harm only: the gentler notice for an information question
    threshold: float
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnverifiedClaim:
    claim_id: str
    pattern: re.Pattern[str]
    reason: str


class _Placeholders(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def _fill(template: str, values: Mapping[str, str], where: str) -> str:
    try:
        return template.format_map(_Placeholders(values))
    except KeyError as exc:
        raise DataFileError(
            f"{SAFETY_FILE.name}: {where} uses an unknown placeholder {{{exc.args[0]}}}; "
            f"known: {', '.join('{' + k + '}' for k in sorted(values))}"
        ) from None


def _require(table: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise DataFileError(f"{SAFETY_FILE.name}: {where} is missing {key!r}")
    return table[key]


@dataclass(frozen=True, slots=True)
class SafetyMessages:
    """The parsed wording.toml, formatted with `Settings` (emergency number, poison and crisis lines)."""

    not_found: str
    not_found_topic: str  # with {topic} and {medicine} still to fill
    not_found_medicine: str
    not_found_partner: str
    help_reply: str
    categories: Mapping[Category, CategorySpec]
    claims: tuple[UnverifiedClaim, ...]
    labels: Labels  # the labels and page words (level labels, unverified marker), checked with the rest
    _disclaimer: Mapping[str, str]
    _placeholders: Mapping[str, str]

    @classmethod
    def load(cls, settings: Settings, path: Path = SAFETY_FILE) -> SafetyMessages:
        """Read and check wording.toml; raises DataFileError (a SettingsError) naming the entry that is wrong."""
        return cls.from_dict(read_wording(path), settings)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], settings: Settings) -> SafetyMessages:
        phrases = _require(data, "phrases", "the file")
        labels = Labels.from_dict(data)
        placeholders = {
            # The marker's name as quotes show it, so that the long disclaimer names it in the same words.
            "unverified_label": labels.unverified_label,
            "emergency_number_phrase": _fill(
                _require(phrases, "emergency_number", "[phrases]"),
                {"emergency_number": settings.emergency_number.strip()},
                "[phrases] emergency_number",
            ),
            "poison_phrase": _fill(
                phrases["poison_configured"],
                {"poison_line": settings.poison_line.strip()},
                "[phrases] poison_configured",
            )
            if settings.poison_line.strip()
            else _require(phrases, "poison_default", "[phrases]"),
            "crisis_phrase": _fill(
                phrases["crisis_configured"],
                {"crisis_line": settings.crisis_line.strip()},
                "[phrases] crisis_configured",
            )
            if settings.crisis_line.strip()
            else _require(phrases, "crisis_default", "[phrases]"),
            # Filled per answer (the medicine asked about, the topic or medicine not covered).
            **{key: "{" + key + "}" for key in PER_ANSWER_PLACEHOLDERS},
        }

        def text(template: str, where: str) -> str:
            if _PHONE_LIKE.search(template):
                raise DataFileError(
                    f"{SAFETY_FILE.name}: {where} contains a phone number; use {{emergency_number_phrase}}, "
                    "{poison_phrase} or {crisis_phrase} so that every country gets its own number"
                )
            return _fill(template, placeholders, where)

        def level_of(value: object, where: str) -> Level:
            try:
                return Level(str(value))
            except ValueError:
                raise DataFileError(
                    f"{SAFETY_FILE.name}: {where} level {value!r} must be one of {', '.join(Level)}"
                ) from None

        categories: dict[Category, CategorySpec] = {}
        table = _require(data, "categories", "the file")
        unknown = sorted(set(table) - set(Category))
        if unknown:
            raise DataFileError(
                f"{SAFETY_FILE.name}: unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                f"known: {', '.join(Category)}"
            )
        for category in Category:
            entry = _require(table, category, "[categories]")
            where = f"[categories.{category}]"
            level = level_of(_require(entry, "level", where), where)
            examples = tuple(_require(entry, "examples", where))
            if not 10 <= len(examples) <= 30:
                raise DataFileError(f"{SAFETY_FILE.name}: {where} needs 10 to 30 examples, has {len(examples)}")
            extra: dict[str, Notice | None] = {}
            for key in ("escalation", "topic"):
                extra[key] = None
                if key in entry:
                    sub = entry[key]
                    extra[key] = Notice(
                        level=level_of(_require(sub, "level", f"{where}.{key}"), f"{where}.{key}"),
                        category=category,
                        title=text(_require(sub, "title", f"{where}.{key}"), f"{where}.{key} title"),
                        text=text(_require(sub, "text", f"{where}.{key}"), f"{where}.{key} text"),
                    )
            categories[category] = CategorySpec(
                category=category,
                notice=Notice(
                    level=level,
                    category=category,
                    title=text(_require(entry, "title", where), f"{where} title"),
                    text=text(_require(entry, "text", where), f"{where} text"),
                ),
                escalation=extra["escalation"],
                topic=extra["topic"],
                threshold=float(_require(entry, "threshold", where)),
                examples=examples,
            )

        claims = []
        for entry in data.get("unverified", []):
            claim_id = _require(entry, "id", "[[unverified]]")
            try:
                pattern = re.compile(_require(entry, "pattern", f"[[unverified]] {claim_id}"))
            except re.error as exc:
                raise DataFileError(
                    f"{SAFETY_FILE.name}: [[unverified]] {claim_id} pattern is invalid: {exc}"
                ) from None
            reason = _require(entry, "reason", f"[[unverified]] {claim_id}")
            claims.append(UnverifiedClaim(claim_id, pattern, reason))

        disclaimer = dict(_require(data, "disclaimer", "the file"))
        for key in (
            "official",
            "unreviewed",
            "advice",
            "crisis",
            "long",
            "short_quoted",
            "short_unreviewed",
            "short_advice",
        ):
            if _PHONE_LIKE.search(_require(disclaimer, key, "[disclaimer]")):
                raise DataFileError(f"{SAFETY_FILE.name}: [disclaimer] {key} contains a phone number")
        replies = _require(data, "replies", "the file")
        return cls(
            not_found=text(_require(replies, "not_found", "[replies]"), "[replies] not_found"),
            not_found_topic=text(_require(replies, "not_found_topic", "[replies]"), "[replies] not_found_topic"),
            not_found_medicine=text(
                _require(replies, "not_found_medicine", "[replies]"), "[replies] not_found_medicine"
            ),
            not_found_partner=text(_require(replies, "not_found_partner", "[replies]"), "[replies] not_found_partner"),
            help_reply=text(_require(replies, "help", "[replies]"), "[replies] help"),
            categories=categories,
            claims=tuple(claims),
            labels=labels,
            _disclaimer=disclaimer,
            _placeholders=placeholders,
        )

    def notice(self, category: Category, level: Level) -> Notice:
        """The notice for `category` at `level` (its own level, or its escalation).

        Raises:
            DataFileError: `category` has no entry in wording.toml, or none at `level`.
        """
        spec = self.categories.get(category)
        if spec is None:
            raise DataFileError(
                f"{SAFETY_FILE.name} has no [categories.{category}], so there is no notice to show for {category!r}; "
                f"known categories: {', '.join(Category)}"
            )
        for notice in (spec.notice, spec.escalation, spec.topic):
            if notice is not None and notice.level == level:
                return notice
        raise DataFileError(
            f"{SAFETY_FILE.name}: [categories.{category}] has no {level} notice, but the escalation policy "
            "(rules.toml) can show one"
        )

    def _titles(self, documents: Sequence[Document], *, dated: bool = False) -> dict[str, str]:
        names = [f"“{d.title}”" + (f" ({d.published})" if dated and d.published else "") for d in documents]
        titles = list(dict.fromkeys(names)) or ["the documents"]
        joined = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]
        kind = self._disclaimer["source_kind_one" if len(titles) == 1 else "source_kind_many"]
        return {"titles": joined, "source_kind": kind, **self._placeholders}

    def disclaimer(self, documents: Sequence[Document], medicine: str = "") -> str:
        """The one-line footer about the documents actually quoted (none: no "Quoted from").

        Official or reviewed documents are named with their dates; any unreviewed one is called what
        it is; the advice to ask a doctor or pharmacist always ends it.
        """
        parts = []
        official = [d for d in documents if d.official]
        unreviewed = [d for d in documents if not d.official]
        if official:
            parts.append(
                _fill(self._disclaimer["official"], self._titles(official, dated=True), "[disclaimer] official")
            )
        if unreviewed:
            parts.append(_fill(self._disclaimer["unreviewed"], self._titles(unreviewed), "[disclaimer] unreviewed"))
        parts.append(self._disclaimer["advice"])
        return personalise(" ".join(parts), medicine)

    def short_disclaimer(self, documents: Sequence[Document], medicine: str = "") -> str:
        """One short line for a chat that has shown `disclaimer` in full: the documents quoted, if any,
        and "not medical advice". Never "Quoted from" when nothing was quoted."""
        parts = []
        official = [d for d in documents if d.official]
        unreviewed = [d for d in documents if not d.official]
        if official:
            parts.append(_fill(self._disclaimer["short_quoted"], self._titles(official), "[disclaimer] short_quoted"))
        if unreviewed:
            parts.append(
                _fill(self._disclaimer["short_unreviewed"], self._titles(unreviewed), "[disclaimer] short_unreviewed")
            )
        parts.append(self._disclaimer["short_advice"])
        return personalise(" ".join(parts), medicine)

    def crisis_disclaimer(self) -> str:
        """The footer under a crisis banner: no quotes, so no sources and no medicine wording."""
        return self._disclaimer["crisis"]

    def long_disclaimer(self, documents: Sequence[Document], medicine: str = "") -> str:
        """The longer version, shown once per session."""
        return personalise(_fill(self._disclaimer["long"], self._titles(documents), "[disclaimer] long"), medicine)

    def unverified_reasons(self, passage_text: str) -> tuple[str, ...]:
        """Why claims in this quote could not be verified; empty when it makes none of them."""
        return tuple(dict.fromkeys(c.reason for c in self.claims if c.pattern.search(passage_text)))

    def unverified_marker(self, reason: str) -> str:
        """How a reason is shown next to a quote (see `Labels.unverified`)."""
        return self.labels.unverified(reason)
