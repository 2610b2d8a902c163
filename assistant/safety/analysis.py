"""Applying the rule book to one normalised question, and turning what it found into notice levels.

`apply_rules` runs every `[[rule]]` of rules.toml (with its guards: hypothetical, after a modal, long
past, habitual, needs a medicine mentioned), then the implications and the signals. `levels` turns
categories and signals into the (category, level) notices to show, by the escalation policy, and
drops the notices another notice already covers (`[[quiet]]`). No category name appears in this
module: the policy is data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from assistant.records import LEVEL_ORDER, URGENT_LEVELS, Category, Level
from assistant.safety.rulebook import Rule, Rulebook, Skip, When


@dataclass(frozen=True, slots=True)
class RuleAnalysis:
    """What the rules found in one question (exposed for tests and the evaluation report)."""

    categories: frozenset[Category]
    informational: bool  # asks for information, with no person-and-present-tense event
    signals: frozenset[str]  # danger signs that escalate a category (rules.toml [[signal]])
    rules: tuple[str, ...]  # names of the rules that fired, for debugging and reports


def rule_fires(
    book: Rulebook, rule: Rule, text: str, *, informational: bool, live: bool, medicine_mentioned: bool
) -> bool:
    """Whether `rule` fires on normalised `text`, given how the whole question reads."""
    if rule.needs_medicine_mentioned and not medicine_mentioned:
        return False
    if rule.unless is not None and rule.unless.search(text):
        return False
    if rule.when is When.STATEMENT and informational:
        return False
    if rule.when is When.LIVE and (informational or not live):
        return False
    if Skip.DISTANT_PAST in rule.skip and book.frame("DISTANT_PAST").search(text):
        return False
    if Skip.HABITUAL in rule.skip and book.frame("HABITUAL").search(text) and not book.frame("NOW_WORDS").search(text):
        return False
    if rule.ignore is not None:
        text = rule.ignore.sub(" ", text)
    for match in rule.pattern.finditer(text):
        before = text[: match.start()]
        if Skip.HYPOTHETICAL in rule.skip and book.frame("HYPOTHETICAL_BEFORE").search(before[-80:]):
            continue
        if Skip.AFTER_MODAL in rule.skip and book.frame("MODAL_BEFORE").search(before[-12:]):
            continue
        return True
    return False


def reading(book: Rulebook, text: str) -> tuple[bool, bool]:
    """(informational, live): does the question ask for information, and does it tell of a person
    and something happening now?"""
    live = bool(book.frame("LIVE").search(text))
    return bool(book.frame("INFORMATION_FRAME").search(text)) and not live, live


def apply_rules(book: Rulebook, text: str, *, medicine_mentioned: bool = False) -> RuleAnalysis:
    """Run every rule over already normalised `text` (see `assistant.safety.text.Normaliser`)."""
    informational, live = reading(book, text)
    fired = [
        rule
        for rule in book.rules
        if rule_fires(book, rule, text, informational=informational, live=live, medicine_mentioned=medicine_mentioned)
    ]
    categories = {rule.category for rule in fired}
    names = [rule.name for rule in fired]

    for implication in book.implications:
        if not implication.when <= categories:
            continue
        if implication.if_pattern is not None and not implication.if_pattern.search(text):
            continue
        if implication.unless_pattern is not None and implication.unless_pattern.search(text):
            continue
        if implication.remove is not None:
            categories.discard(implication.remove)
            names = [n for n, r in zip(names, fired, strict=True) if r.category != implication.remove]
            fired = [r for r in fired if r.category != implication.remove]
        if implication.add is not None:
            categories.add(implication.add)

    signals = set()
    for signal in book.signals:
        if signal.not_when_informational and informational:
            continue
        if signal.informational_only_rules:
            # The category was found only by these rules, in an information question.
            owners = {r.category for r in book.rules if r.name in signal.informational_only_rules}
            same = {r.name for r in fired if r.category in owners}
            if informational and same and same <= signal.informational_only_rules:
                signals.add(signal.name)
        elif (signal.pattern is not None and signal.pattern.search(text)) or (
            signal.or_category is not None and signal.or_category in categories
        ):
            signals.add(signal.name)
    return RuleAnalysis(frozenset(categories), informational, frozenset(signals), tuple(names))


def levels(
    book: Rulebook, categories: Iterable[Category], signals: frozenset[str], base: Mapping[Category, Level]
) -> list[tuple[Category, Level]]:
    """(category, level) for every notice to show, most urgent first, after the quiet rules."""
    shown: list[tuple[Category, Level]] = []
    for category in categories:
        level = base[category]
        for escalation in book.escalations:
            if escalation.category == category and escalation.signals & signals:
                if escalation.also:
                    shown.append((category, escalation.level))
                else:
                    level = escalation.level
                break
        shown.append((category, level))
    shown = _without_quiet(book, shown)
    order = list(Category)
    shown.sort(key=lambda item: (LEVEL_ORDER.index(item[1]), order.index(item[0])))
    return shown


def _without_quiet(book: Rulebook, shown: list[tuple[Category, Level]]) -> list[tuple[Category, Level]]:
    categories = {category for category, _ in shown}
    levels_shown = {level for _, level in shown}
    red_categories = {category for category, level in shown if level is Level.RED}
    urgent = bool(levels_shown & URGENT_LEVELS)
    drop: set[tuple[Category, Level]] = set()
    for quiet in book.quiet:
        for category, level in shown:
            if quiet.when_level is not None:
                applies = quiet.when_level in levels_shown
            elif quiet.when_notice is not None:
                applies = quiet.when_notice in shown
            elif quiet.when_category is not None:
                applies = quiet.when_category in categories
            elif quiet.when_other_red:
                applies = bool(red_categories - {category})
            else:
                applies = quiet.when_urgent and urgent and level not in URGENT_LEVELS
            if applies and (category in quiet.drop or level in quiet.drop_levels):
                drop.add((category, level))
    return [item for item in shown if item not in drop]
