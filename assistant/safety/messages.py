"""Every safety message the user sees, and the labels every surface shows the same way, from `wording.toml`.

`SafetyMessages` is `wording.toml` (wording a clinician can edit) checked and formatted with the
configured phone numbers (`Settings`): the notice of each `Category` (and its escalated forms), the
replies, the disclaimer and the claims that cannot be verified. It knows nothing of the rules, so
the wording can change without touching detection, and detection without touching the wording.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from assistant.config import Settings
from assistant.errors import DataFileError
from assistant.records import Category, Document, Level, Notice

SAFETY_FILE = Path(__file__).with_name("wording.toml")

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


# Placeholders filled for each answer rather than from the settings.
PER_ANSWER_PLACEHOLDERS = ("medicine", "Medicine", "topic", "partner")
GENERIC_MEDICINE = "this medicine"


def personalise(text: str, medicine: str = "", **values: str) -> str:
    """Fill the per-answer placeholders: the medicine asked about ("this medicine" when none), and any
    of `values` ({topic}, {partner})."""
    name = medicine or GENERIC_MEDICINE
    text = text.replace("{medicine}", name).replace("{Medicine}", name[:1].upper() + name[1:])
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _require(table: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise DataFileError(f"{SAFETY_FILE.name}: {where} is missing {key!r}")
    return table[key]


def _placeholders_in(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError(f"Could not read the wording in {path}: {exc}") from None


@dataclass(frozen=True, slots=True)
class ChatWords:
    """wording.toml [chat]: the chat page's own words (buttons, headings, counter, its error sentences).

    Each field is the entry of the same name, checked to use only the placeholders `PLACEHOLDERS` allows
    it ({medicine} and {Medicine} everywhere); fill them with `personalise`.
    """

    notice_line: str  # the line under the title; **bold**, {documents}, {medicine}, {review}
    notice_one_document: str
    notice_documents: str  # {count}
    notice_some_reviewed: str
    notice_none_reviewed: str
    notice_emergency: str  # {emergency_number}
    chat_placeholder: str  # {about_heading}
    conversation_label: str
    question_label: str
    question_placeholder: str
    ask_button: str
    ask_again: str
    edit_last_question: str
    clear_conversation: str
    examples_heading: str
    examples_hint: str
    counter_near: str  # {used}, {limit}: filled by chat.js
    counter_over: str  # {used}, {limit}, {over}
    you: str
    assistant_name: str
    section: str  # {section}
    show_in_document: str
    new_tab: str
    copy_answer: str
    copied: str
    copy_failed: str
    about_heading: str
    legend: str  # **bold**, ==highlighted==, {urgent}, {crisis}, {caution}, {unverified}
    reviewed: str
    not_reviewed: str
    document_source: str  # {source}
    read_document: str
    no_documents: str
    could_not_answer: str  # {error}
    internal_error: str
    rating_unmatched: str
    rating_not_saved: str
    rating_saved: str
    login_message: str  # {max_failures}, {lockout_seconds}

    # The placeholders each entry may use besides {medicine} and {Medicine}.
    PLACEHOLDERS: ClassVar[Mapping[str, frozenset[str]]] = {
        "notice_line": frozenset({"documents", "review"}),
        "notice_documents": frozenset({"count"}),
        "notice_emergency": frozenset({"emergency_number"}),
        "chat_placeholder": frozenset({"about_heading"}),
        "counter_near": frozenset({"used", "limit"}),
        "counter_over": frozenset({"used", "limit", "over"}),
        "section": frozenset({"section"}),
        "legend": frozenset({"urgent", "crisis", "caution", "unverified"}),
        "document_source": frozenset({"source"}),
        "could_not_answer": frozenset({"error"}),
        "login_message": frozenset({"max_failures", "lockout_seconds"}),
    }

    @classmethod
    def from_dict(cls, table: Any, path: Path = SAFETY_FILE) -> ChatWords:
        """Raises DataFileError naming the file and the entry: a missing, unknown, empty or badly templated one."""
        return cls(**_word_table(table, "chat", [f.name for f in fields(cls)], cls.PLACEHOLDERS, path))


@dataclass(frozen=True, slots=True)
class DocumentPageWords:
    """wording.toml [document_page]: the words of the "Show in document" page and of its problem pages."""

    title: str  # {title}: the document's title
    back_to_chat: str
    intro: str
    source: str
    review: str
    published: str
    source_not_recorded: str
    text_label: str
    passage_starts: str
    passage_ends: str
    link_not_understood: str
    link_repeated: str  # {name}, {count}
    link_without_document: str
    link_bad_offset: str  # {name}
    link_backwards: str  # {start}, {end}
    document_not_found: str
    document_not_found_text: str
    passage_not_in_document: str
    passage_outside: str  # {start}, {end}, {length}
    documents_changed: str
    log_in_first: str
    log_in_first_text: str

    PLACEHOLDERS: ClassVar[Mapping[str, frozenset[str]]] = {
        "title": frozenset({"title"}),
        "link_repeated": frozenset({"name", "count"}),
        "link_bad_offset": frozenset({"name"}),
        "link_backwards": frozenset({"start", "end"}),
        "passage_outside": frozenset({"start", "end", "length"}),
    }

    @classmethod
    def from_dict(cls, table: Any, path: Path = SAFETY_FILE) -> DocumentPageWords:
        """Raises DataFileError naming the file and the entry: a missing, unknown, empty or badly templated one."""
        return cls(**_word_table(table, "document_page", [f.name for f in fields(cls)], cls.PLACEHOLDERS, path))


def _word_table(
    table: Any, name: str, entries: Sequence[str], placeholders: Mapping[str, frozenset[str]], path: Path
) -> dict[str, str]:
    """The entries of the wording table [name], each checked as a template using only {medicine}, {Medicine} and
    its own `placeholders`. Raises DataFileError naming the file, the table and the entry."""
    if not isinstance(table, Mapping):
        raise DataFileError(f"{path.name}: [{name}] is missing (a table of the page's words)")
    missing = [entry for entry in entries if entry not in table]
    if missing:
        raise DataFileError(f"{path.name}: [{name}] is missing {', '.join(repr(entry) for entry in missing)}")
    unknown = sorted(set(table) - set(entries))
    if unknown:
        raise DataFileError(f"{path.name}: [{name}] has unknown entry {', '.join(repr(entry) for entry in unknown)}")
    medicine = {"medicine", "Medicine"}
    return {
        entry: _template(table[entry], f"[{name}] {entry}", medicine | placeholders.get(entry, frozenset()), path)
        for entry in entries
    }


@dataclass(frozen=True, slots=True)
class Labels:
    """The words every surface (chat, terminal, tests) shows the same way, from wording.toml: the label of
    each banner level, the "unverified" marker, the plain "not found" reply and the chat page's words.
    Needs no settings, so that rendering code without them reads the one copy."""

    levels: Mapping[Level, str]  # [labels] levels: "EMERGENCY", "Urgent", ...
    unverified_marker: str  # [disclaimer] unverified_marker, with {reason}
    not_found: str  # [replies] not_found, without placeholders
    page_title: str  # [page] title, with {medicine}/{Medicine} to fill
    page_prompt: str
    page_examples: tuple[str, ...]
    chat: ChatWords  # [chat]: every other word of the chat page
    document_page: DocumentPageWords  # [document_page]: the "Show in document" page

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path = SAFETY_FILE) -> Labels:
        """Raises DataFileError naming the file, the entry and the problem."""

        def entry(table: str, key: str) -> Any:
            section = data.get(table)
            if not isinstance(section, Mapping) or key not in section:
                raise DataFileError(f"{path.name}: [{table}] is missing {key!r}")
            return section[key]

        levels = entry("labels", "levels")
        if not isinstance(levels, Mapping):
            raise DataFileError(f"{path.name}: [labels] levels must be a table of level = label, not {levels!r}")
        missing = [level for level in Level if level not in levels]
        unknown = sorted(set(levels) - set(Level))
        if missing or unknown:
            raise DataFileError(
                f"{path.name}: [labels] levels must give one label for each of {', '.join(Level)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
            )
        for level in Level:
            _template(levels[level], f"[labels] levels {level}", set(), path)
        medicine = {"medicine", "Medicine"}
        examples = entry("page", "examples")
        if not isinstance(examples, list) or not examples:
            raise DataFileError(f"{path.name}: [page] examples must be a list of example questions, not {examples!r}")
        marker = _template(entry("disclaimer", "unverified_marker"), "[disclaimer] unverified_marker", {"reason"}, path)
        if "{reason}" not in marker:
            raise DataFileError(f"{path.name}: [disclaimer] unverified_marker must show the reason: {{reason}}")
        return cls(
            levels={level: levels[level] for level in Level},
            unverified_marker=marker,
            not_found=_template(entry("replies", "not_found"), "[replies] not_found", set(), path),
            page_title=_template(entry("page", "title"), "[page] title", medicine, path),
            page_prompt=_template(entry("page", "prompt"), "[page] prompt", medicine, path),
            page_examples=tuple(
                _template(example, f"[page] examples item {number}", medicine, path)
                for number, example in enumerate(examples, start=1)
            ),
            chat=ChatWords.from_dict(data.get("chat"), path),
            document_page=DocumentPageWords.from_dict(data.get("document_page"), path),
        )

    def level(self, level: Level | str) -> str:
        """The label of a banner level; an unknown level is shown as INFO's (never an error on screen)."""
        try:
            return self.levels[Level(level)]
        except (ValueError, KeyError):
            return self.levels[Level.INFO]

    @property
    def unverified_label(self) -> str:
        """The marker without its reason and colon, for text that explains it (the legend, the long disclaimer)."""
        return self.unverified_marker.split("{reason}")[0].strip().rstrip(":").strip()

    def unverified(self, reason: str) -> str:
        """How a reason is shown next to a quote: [disclaimer] unverified_marker with the reason filled in."""
        return self.unverified_marker.replace("{reason}", reason)

    def title(self, medicine: str) -> str:
        return personalise(self.page_title, medicine)

    def prompt(self, medicine: str) -> str:
        return personalise(self.page_prompt, medicine)

    def examples(self, medicine: str) -> tuple[str, ...]:
        return tuple(personalise(example, medicine) for example in self.page_examples)


def _template(value: Any, where: str, allowed: set[str], path: Path) -> str:
    """`value` checked as a non-empty text whose placeholders are all in `allowed`."""
    if not isinstance(value, str) or not value.strip():
        raise DataFileError(f"{path.name}: {where} must be a non-empty text, not {value!r}")
    try:
        unknown = _placeholders_in(value) - allowed
    except ValueError as exc:  # an unmatched "{" or "}"
        raise DataFileError(f"{path.name}: {where} is not a valid template ({exc})") from None
    if unknown:
        known = ", ".join("{" + k + "}" for k in sorted(allowed)) or "none"
        raise DataFileError(
            f"{path.name}: {where} uses {', '.join('{' + k + '}' for k in sorted(unknown))}; allowed here: {known}"
        )
    return value


@cache
def load_labels(path: Path = SAFETY_FILE) -> Labels:
    """The labels of `path` (read once per process: the file is data shipped with the code)."""
    return Labels.from_dict(_read(path), path)


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
        return cls.from_dict(_read(path), settings)

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
