"""The rule book: `rules.toml` read, checked and compiled, so that rules are data a clinician reviews.

`rules.toml` holds, in order: named regex fragments (who a person is, what a medicine is, the
danger signs), frames (what makes a question informational, hypothetical, long past or live),
the signals that escalate a notice, one `[[rule]]` per situation (each with a reason and example
questions it must and must not fire on), the escalation policy, the notices another notice makes
redundant, and the implications between categories. Nothing here decides anything: applying the
rules is `assistant.safety.analysis`.

Loading refuses a file with an unknown category, level, key or fragment, a duplicate rule name or
a pattern that does not compile, and names the file and the entry in its message.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from assistant.errors import SettingsError
from assistant.records import Category, Level

RULES_FILE = Path(__file__).with_name("rules.toml")

_REFERENCE = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")


class When(StrEnum):
    """How much context a rule's match needs before it counts."""

    ALWAYS = "always"  # the words themselves are the event or a clear request ("i took 10 baclofen")
    STATEMENT = "statement"  # a symptom phrase that counts unless the question is informational
    LIVE = "live"  # a bare symptom word that counts only with a person and present tense


class Skip(StrEnum):
    """Frames in which a rule's match does not count."""

    HYPOTHETICAL = "hypothetical"  # "what if he ...", "in case she ..." (just before the match)
    AFTER_MODAL = "after_modal"  # "can i overdose ...", "will he have a seizure ..."
    DISTANT_PAST = "distant_past"  # "... years ago", anywhere in the question
    HABITUAL = "habitual"  # "... sometimes", unless "now" is said too


class RulebookError(SettingsError):
    """rules.toml (or red_flags.toml) is wrong; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    category: Category
    pattern: re.Pattern[str]
    why: str = ""
    when: When = When.ALWAYS
    skip: frozenset[Skip] = frozenset()
    needs_medicine_mentioned: bool = False  # only when this or an earlier question names a medicine
    unless: re.Pattern[str] | None = None  # the rule does not apply when this matches anywhere
    ignore: re.Pattern[str] | None = None  # text matching this is blanked before the rule runs
    fires: tuple[str, ...] = ()  # example questions the rule must fire on
    does_not_fire: tuple[str, ...] = ()  # look-alikes it must not fire on
    source: str = ""  # the pattern as written, with {FRAGMENT} references (for the review sheet)


@dataclass(frozen=True, slots=True)
class Signal:
    """A danger sign that escalates a category ("very drowsy", "fever")."""

    name: str
    pattern: re.Pattern[str] | None
    not_when_informational: bool = False
    or_category: Category | None = None  # also present whenever this category was found
    # Present when the question is informational and this category was found only by these rules.
    informational_only_rules: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Escalation:
    category: Category
    signals: frozenset[str]  # any one of them
    level: Level
    also: bool = False  # shown together with (above) the category's own notice, not instead of it
    why: str = ""


@dataclass(frozen=True, slots=True)
class Quiet:
    """Notices another notice already covers, so that an emergency shows one clear message."""

    drop: frozenset[Category]
    drop_levels: frozenset[Level]
    when_level: Level | None = None
    when_notice: tuple[Category, Level] | None = None
    when_category: Category | None = None
    when_other_red: bool = False
    when_urgent: bool = False
    why: str = ""


@dataclass(frozen=True, slots=True)
class Implication:
    when: frozenset[Category]  # all of these were found
    add: Category | None = None
    remove: Category | None = None
    if_pattern: re.Pattern[str] | None = None
    unless_pattern: re.Pattern[str] | None = None
    why: str = ""


@dataclass(frozen=True, slots=True)
class Rulebook:
    rules: tuple[Rule, ...]
    frames: Mapping[str, re.Pattern[str]]
    signals: tuple[Signal, ...]
    escalations: tuple[Escalation, ...]
    quiet: tuple[Quiet, ...]
    implications: tuple[Implication, ...]
    fragments: Mapping[str, str]  # as written, for the review sheet
    fragments_expanded: Mapping[str, str]  # {NAME} filled in: for red_flags.toml's patterns
    medicine_names: tuple[str, ...]
    small_talk_max_words: int
    # Urgent category -> what it becomes when only told of as read, heard or over: a category, or a
    # signal name (the escalation policy then picks the level).
    framed_away: Mapping[Category, Category | str]
    model_threshold: float  # the triage model's P(emergency) above which RED is shown ([model])
    model_threshold_when_explained: float  # the same when the lists found a non-urgent category
    model_min_words: int  # shorter messages ("hi", "help") are left to the lists
    model_sentence_threshold: float  # for one sentence of a longer message read on its own
    model_sentence_min_words: int  # shorter sentences are not read on their own
    model_veto_below: float  # below this P(emergency), with a look-alike nearest, the lists' RED/POISON is dropped

    def frame(self, name: str) -> re.Pattern[str]:
        return self.frames[name]

    @classmethod
    def load(
        cls,
        path: Path = RULES_FILE,
        *,
        medicine_names: Iterable[str] = (),
        vocabulary: Mapping[str, Iterable[str]] | None = None,
    ) -> Rulebook:
        """Read and check rules.toml.

        Args:
            medicine_names: the names of the medicines the corpus is about (any case); they fill
                the {MEDICINE_NAME} fragment. Empty: the file's [medicine] default_names.
            vocabulary: drug classes (class -> names) from assistant/vocabulary.toml, for the
                fragments built `from_drug_classes`. None: read that file.
        """
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RulebookError(f"Could not read the safety rules in {path}: {exc}") from None
        if vocabulary is None:
            from assistant.lexicon import Vocabulary  # the one list of drug names people type

            vocabulary = Vocabulary.load().classes
        return _Loader(path.name, data, medicine_names, vocabulary).rulebook()


class _Loader:
    def __init__(
        self, file: str, data: Mapping[str, Any], medicine_names: Iterable[str], vocabulary: Mapping[str, Iterable[str]]
    ) -> None:
        self.file = file
        self.data = data
        names = [n.strip().lower() for n in medicine_names if n.strip()]
        if not names:
            names = [n.lower() for n in self._get(self._table("medicine"), "default_names", "[medicine]", list)]
        self.medicine_names = tuple(sorted(set(names), key=lambda n: (-len(n), n)))
        self.vocabulary = vocabulary
        self.written: dict[str, str] = {}
        self.expanded: dict[str, str] = {
            "MEDICINE_NAME": "(?:" + "|".join(re.escape(n) for n in self.medicine_names) + ")"
        }

    # -- helpers -------------------------------------------------------------------------------------
    def error(self, where: str, message: str) -> RulebookError:
        return RulebookError(f"{self.file}: {where}: {message}")

    def _table(self, key: str) -> Mapping[str, Any]:
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise self.error(f"[{key}]", "missing or not a table")
        return value

    def _get(self, table: Mapping[str, Any], key: str, where: str, kind: Any, default: Any = ...) -> Any:
        if key not in table:
            if default is ...:
                raise self.error(where, f"is missing {key!r}")
            return default
        value = table[key]
        if not isinstance(value, kind):
            expected = " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
            raise self.error(where, f"{key!r} must be {expected}, not {type(value).__name__}")
        return value

    def _check_keys(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.error(where, f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")

    def _enum(self, kind: type[StrEnum], value: Any, where: str) -> Any:
        try:
            return kind(value)
        except ValueError:
            known = ", ".join(m.value for m in kind)
            raise self.error(where, f"unknown {kind.__name__.lower()} {value!r}; known: {known}") from None

    def text(self, value: Any, where: str) -> str:
        """A pattern as written: one string, or a list of strings joined (for long patterns)."""
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "".join(value)
        if isinstance(value, str):
            return value
        raise self.error(where, "a pattern must be a string or a list of strings")

    def expand(self, written: str, where: str) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.expanded:
                raise self.error(where, f"uses unknown fragment {{{name}}}; known: {', '.join(sorted(self.expanded))}")
            return self.expanded[name]

        return _REFERENCE.sub(fill, written)

    def compile(self, value: Any, where: str) -> tuple[re.Pattern[str], str]:
        written = self.text(value, where)
        try:
            return re.compile(self.expand(written, where)), written
        except re.error as exc:
            raise self.error(where, f"pattern does not compile: {exc}") from None

    # -- sections ------------------------------------------------------------------------------------
    def rulebook(self) -> Rulebook:
        self._check_keys(
            self.data,
            {
                "medicine",
                "limits",
                "model",
                "framed_away",
                "fragments",
                "frames",
                "signal",
                "rule",
                "escalation",
                "quiet",
                "implies",
            },
            "the file",
        )
        for name, value in self._table("fragments").items():
            where = f"[fragments] {name}"
            if isinstance(value, dict):
                self._check_keys(value, {"from_drug_classes", "extra", "why"}, where)
                value = self._from_classes(value, where)
            written = self.text(value, where)
            self.written[name] = written
            self.expanded[name] = self.expand(written, where)
            self.compile(value, where)  # each fragment must compile on its own
        frames = {}
        for name, value in self._table("frames").items():
            frames[name], self.written[name] = self.compile(value, f"[frames] {name}")
            self.expanded[name] = frames[name].pattern  # rules may use a frame as a fragment
        for needed in (
            "INFORMATION_FRAME",
            "LIVE",
            "PERSON_WORD",
            "HYPOTHETICAL_BEFORE",
            "MODAL_BEFORE",
            "DISTANT_PAST",
            "HABITUAL",
            "NOW_WORDS",
            "SMALL_TALK",
            "MEDICINE_MENTIONED",
        ):
            if needed not in frames:
                raise self.error("[frames]", f"is missing {needed}")
        rules = tuple(self._rule(entry, i) for i, entry in enumerate(self.data.get("rule", [])))
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise self.error(f"[[rule]] {rule.name}", "duplicate rule name")
            seen.add(rule.name)
        limits = self._table("limits")
        signal_names = {e.get("name") for e in self.data.get("signal", [])}
        framed_away: dict[Category, Category | str] = {}
        for key, value in self.data.get("framed_away", {}).items():
            where = f"[framed_away] {key}"
            if isinstance(value, str) and value.startswith("signal:"):
                if value[len("signal:") :] not in signal_names:
                    raise self.error(where, f"unknown signal {value[len('signal:') :]!r}")
                framed_away[self._enum(Category, key, where)] = value[len("signal:") :]
            else:
                framed_away[self._enum(Category, key, where)] = self._enum(Category, value, where)
        return Rulebook(
            rules=rules,
            frames=frames,
            signals=tuple(self._signal(e, seen) for e in self.data.get("signal", [])),
            escalations=tuple(self._escalation(e) for e in self.data.get("escalation", [])),
            quiet=tuple(self._quiet(e) for e in self.data.get("quiet", [])),
            implications=tuple(self._implication(e) for e in self.data.get("implies", [])),
            fragments=dict(self.written),
            fragments_expanded=dict(self.expanded),
            medicine_names=self.medicine_names,
            small_talk_max_words=int(self._get(limits, "small_talk_max_words", "[limits]", int)),
            framed_away=framed_away,
            **self._model_settings(),
        )

    def _model_settings(self) -> dict[str, Any]:
        """The [model] table: thresholds (probabilities) and minimum lengths (words)."""
        table = self._table("model")
        thresholds = ("threshold", "threshold_when_explained", "sentence_threshold", "veto_below")
        lengths = ("min_words", "sentence_min_words")
        self._check_keys(table, {*thresholds, *lengths}, "[model]")
        settings: dict[str, Any] = {}
        for key in thresholds:
            value = float(self._get(table, key, "[model]", (int, float)))
            if not 0 < value < 1:
                raise self.error("[model]", f"{key} must be between 0 and 1")
            settings[f"model_{key}"] = value
        for key in lengths:
            settings[f"model_{key}"] = self._get(table, key, "[model]", int)
        return settings

    def _from_classes(self, table: Mapping[str, Any], where: str) -> str:
        names: list[str] = []
        for drug_class in self._get(table, "from_drug_classes", where, list):
            if drug_class not in self.vocabulary:
                raise self.error(where, f"unknown drug class {drug_class!r} (assistant/vocabulary.toml [drug_classes])")
            names.extend(self.vocabulary[drug_class])
        names.extend(self._get(table, "extra", where, list, []))
        words = sorted({re.escape(n.lower()) for n in names}, key=lambda n: (-len(n), n))
        return r"\b(?:" + "|".join(words) + r")\b"

    def _rule(self, entry: Any, index: int) -> Rule:
        if not isinstance(entry, dict):
            raise self.error(f"[[rule]] #{index + 1}", "must be a table")
        name = entry.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise self.error(f"[[rule]] #{index + 1}", f"needs a snake_case 'name', got {name!r}")
        where = f"[[rule]] {name}"
        self._check_keys(
            entry,
            {
                "name",
                "category",
                "pattern",
                "why",
                "when",
                "skip",
                "needs_medicine_mentioned",
                "unless",
                "ignore",
                "fires",
                "does_not_fire",
            },
            where,
        )
        pattern, written = self.compile(self._get(entry, "pattern", where, (str, list)), where)
        fires = tuple(self._get(entry, "fires", where, list))
        does_not_fire = tuple(self._get(entry, "does_not_fire", where, list))
        if not fires or not does_not_fire:
            raise self.error(where, "needs at least one example in 'fires' and one in 'does_not_fire'")
        optional = {key: self.compile(entry[key], f"{where} {key}")[0] for key in ("unless", "ignore") if key in entry}
        return Rule(
            name=name,
            category=self._enum(Category, self._get(entry, "category", where, str), where),
            pattern=pattern,
            why=self._get(entry, "why", where, str, ""),
            when=self._enum(When, self._get(entry, "when", where, str, "always"), where),
            skip=frozenset(self._enum(Skip, s, where) for s in self._get(entry, "skip", where, list, [])),
            needs_medicine_mentioned=self._get(entry, "needs_medicine_mentioned", where, bool, False),
            fires=fires,
            does_not_fire=does_not_fire,
            source=written,
            **optional,
        )

    def _signal(self, entry: Mapping[str, Any], rule_names: set[str]) -> Signal:
        name = self._get(entry, "name", "[[signal]]", str)
        where = f"[[signal]] {name}"
        self._check_keys(
            entry,
            {"name", "pattern", "not_when_informational", "or_category", "informational_only_rules", "why"},
            where,
        )
        only = self._get(entry, "informational_only_rules", where, list, [])
        for rule in only:
            if rule not in rule_names:
                raise self.error(where, f"names unknown rule {rule!r}")
        return Signal(
            name=name,
            pattern=self.compile(entry["pattern"], where)[0] if "pattern" in entry else None,
            not_when_informational=self._get(entry, "not_when_informational", where, bool, False),
            or_category=self._enum(Category, entry["or_category"], where) if "or_category" in entry else None,
            informational_only_rules=frozenset(only),
        )

    def _escalation(self, entry: Mapping[str, Any]) -> Escalation:
        where = f"[[escalation]] {entry.get('category', '?')}"
        self._check_keys(entry, {"category", "signals", "level", "also", "why"}, where)
        known = {s.get("name") for s in self.data.get("signal", [])}
        signals = frozenset(self._get(entry, "signals", where, list))
        if signals - known:
            raise self.error(where, f"unknown signal(s) {', '.join(sorted(signals - known))}")
        return Escalation(
            category=self._enum(Category, self._get(entry, "category", where, str), where),
            signals=signals,
            level=self._enum(Level, self._get(entry, "level", where, str), where),
            also=self._get(entry, "also", where, bool, False),
            why=self._get(entry, "why", where, str, ""),
        )

    def _quiet(self, entry: Mapping[str, Any]) -> Quiet:
        where = "[[quiet]]"
        self._check_keys(
            entry,
            {
                "drop",
                "drop_levels",
                "when_level",
                "when_notice",
                "when_category",
                "when_other_red",
                "when_urgent",
                "why",
            },
            where,
        )
        conditions = [
            k for k in ("when_level", "when_notice", "when_category", "when_other_red", "when_urgent") if k in entry
        ]
        if len(conditions) != 1:
            raise self.error(where, "needs exactly one when_* condition")
        notice = None
        if "when_notice" in entry:
            category, _, level = self._get(entry, "when_notice", where, str).partition(":")
            notice = (self._enum(Category, category, where), self._enum(Level, level, where))
        return Quiet(
            drop=frozenset(self._enum(Category, c, where) for c in self._get(entry, "drop", where, list, [])),
            drop_levels=frozenset(
                self._enum(Level, v, where) for v in self._get(entry, "drop_levels", where, list, [])
            ),
            when_level=self._enum(Level, entry["when_level"], where) if "when_level" in entry else None,
            when_notice=notice,
            when_category=self._enum(Category, entry["when_category"], where) if "when_category" in entry else None,
            when_other_red=self._get(entry, "when_other_red", where, bool, False),
            when_urgent=self._get(entry, "when_urgent", where, bool, False),
            why=self._get(entry, "why", where, str, ""),
        )

    def _implication(self, entry: Mapping[str, Any]) -> Implication:
        where = "[[implies]]"
        self._check_keys(entry, {"when", "add", "remove", "if", "unless", "why"}, where)
        return Implication(
            when=frozenset(self._enum(Category, c, where) for c in self._get(entry, "when", where, list)),
            add=self._enum(Category, entry["add"], where) if "add" in entry else None,
            remove=self._enum(Category, entry["remove"], where) if "remove" in entry else None,
            if_pattern=self.compile(entry["if"], f"{where} if")[0] if "if" in entry else None,
            unless_pattern=self.compile(entry["unless"], f"{where} unless")[0] if "unless" in entry else None,
            why=self._get(entry, "why", where, str, ""),
        )
