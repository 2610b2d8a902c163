"""The words every surface shows the same way, from `wording.toml`: the label of each banner level, the
"unverified" marker, the plain "not found" reply, and the words of the chat page and of the "Show in
document" page. They need no settings, so rendering code without them reads the one copy (`load_labels`).

`messages.py` reads the rest of the file (the notices, the replies and the disclaimer, formatted with the
configured phone numbers).
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from assistant.errors import DataFileError
from assistant.records import Level

SAFETY_FILE = Path(__file__).with_name("wording.toml")


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


def placeholders_in(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def read_wording(path: Path) -> dict[str, Any]:
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
        unknown = placeholders_in(value) - allowed
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
    return Labels.from_dict(read_wording(path), path)
