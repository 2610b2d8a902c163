"""Safety layer, part 3: applying the rule table to one normalised question.

`analyse` runs every rule of `assistant.safety_patterns` (with its guards: hypothetical, after a
modal, long past, habitual, needs the medicine named) and reports the categories found and the
danger signals that escalate them. `_levels` and `_without_redundant` turn categories and signals
into the (category, level) notices to show, so that an emergency shows one clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from assistant.safety_patterns import (
    ALCOHOL,
    AT_LEAST_4,
    CAUTION_RULES,
    CHILD_UNDER_18,
    DISTANT_PAST,
    HABITUAL,
    HYPOTHETICAL_BEFORE,
    INFORMATION_FRAME,
    LIVE,
    MEDICINE,
    MODAL_BEFORE,
    OFFLABEL,
    OVERDOSE_DANGER,
    RULES,
    SEDATING_DRUGS,
    SEDATION_DANGER,
    WITHDRAWAL_DANGER,
    _Rule,
)

NOW_WORDS = re.compile(r"\b(?:now|right now|just|keeps?|currently|at the moment|again|still)\b")
MASSIVE_AMOUNT = re.compile(
    r"\b(?:the whole|a whole) (?:bottle|pack|packet|box|strip|blister|lot|prescription)\b|\ball (?:of )?(?:my"
    r"|his|her|their|the) (?:\S+ )?(?:pills|tablets|meds|medication|baclofen)\b|\bthem all\b|\ball of them\b"
    r"|\b(?:a )?handfuls?\b|\b(?:took|swallowed|taken) (?:\S+ ){0,2}(?:[2-9]\d|\d{3,})\b"
)
# Self-harm becomes RED when pills are already down or the danger is immediate.
ALREADY_TAKEN = re.compile(
    rf"\b(?:took|taken|swallowed|downed|necked|had|overdosed|have taken|just took) (?:\S+ ){{0,4}}?(?:all"
    rf"|them|everything|the whole|a whole|the lot|a handful|the bottle|{AT_LEAST_4}|{MEDICINE}|it)\b"
)
IMMEDIATE_DANGER = re.compile(
    r"\b(?:right now|now|about to|in (?:my|his|her|their) hands?|in front of (?:me|him|her)|goodbye|bye"
    r" forever|final message|last message|on the (?:roof|bridge|ledge|edge|tracks)|gun|knife|rope|this is it"
    r"|going to do it|doing it)\b"
)


@dataclass(frozen=True, slots=True)
class RuleAnalysis:
    """What the rules found in one question (exposed for tests and the evaluation report)."""

    categories: frozenset[str]
    informational: bool  # asks for information, with no person-and-present-tense event
    signals: frozenset[str]  # danger signs that escalate a category: see _escalations
    rules: tuple[str, ...]  # names of the rules that fired, for debugging and reports


def _rule_fires(rule: _Rule, text: str, *, informational: bool, live: bool, drug_context: bool) -> bool:
    if rule.needs_drug_context and not drug_context:
        return False
    if rule.unless is not None and rule.unless.search(text):
        return False
    if rule.when == "statement" and informational:
        return False
    if rule.when == "live" and (informational or not live):
        return False
    if rule.skip_distant_past and DISTANT_PAST.search(text):
        return False
    if rule.skip_habitual and HABITUAL.search(text) and not NOW_WORDS.search(text):
        return False
    for match in rule.pattern.finditer(text):
        before = text[: match.start()]
        if rule.skip_hypothetical and HYPOTHETICAL_BEFORE.search(before[-80:]):
            continue
        if rule.skip_after_modal and MODAL_BEFORE.search(before[-12:]):
            continue
        return True
    return False


_SELF_HARM_RULES = frozenset(rule.name for rule in RULES if rule.category == "self_harm")


def analyse(text: str, *, drug_context: bool = False) -> RuleAnalysis:
    """Run every rule over already normalised `text` (see `normalise`)."""
    informational = bool(INFORMATION_FRAME.search(text)) and not LIVE.search(text)
    live = bool(LIVE.search(text))
    fired = [
        rule
        for rule in RULES + CAUTION_RULES
        if _rule_fires(rule, text, informational=informational, live=live, drug_context=drug_context)
    ]
    categories = {rule.category for rule in fired}
    names = [rule.name for rule in fired]

    # Alcohol, opioids and sedatives: any mention, once alcohol-dependence phrases are set aside.
    mixing_text = OFFLABEL.sub(" ", text)
    if re.search(ALCOHOL, mixing_text) or re.search(SEDATING_DRUGS, text):
        categories.add("sedatives")
        names.append("sedatives")

    signals = set()
    if re.search(OVERDOSE_DANGER, text):
        signals.add("overdose_danger")
    if MASSIVE_AMOUNT.search(text):
        signals.add("massive_amount")
    if not informational and re.search(SEDATION_DANGER, text):
        signals.add("sedation_danger")
    if not informational and re.search(WITHDRAWAL_DANGER, text):
        signals.add("withdrawal_danger")
    if ALREADY_TAKEN.search(text) or "overdose" in categories:
        signals.add("already_taken")
    if IMMEDIATE_DANGER.search(text):
        signals.add("immediate_danger")
    if informational and "self_harm" in categories and set(names) & _SELF_HARM_RULES == {"suicide_words"}:
        # "does it say anything about suicide?": the word is the topic; no wish, plan or event.
        signals.add("self_harm_topic_only")
    if "pregnancy" in categories and "children" in categories:
        # "trying for a baby", "breastfeeding my baby": the baby is not the one taking a dose.
        if not re.search(CHILD_UNDER_18, re.sub(r"\b(?:bab(?:y|ies)|newborns?|infants?)\b", " ", text)):
            categories.discard("children")
            names.remove("children")
    if "overdose" in categories and re.search(CHILD_UNDER_18, text):
        categories.add("child_ingestion")  # "gave my son his baclofen twice": a child took too much
    return RuleAnalysis(frozenset(categories), informational, frozenset(signals), tuple(names))


def _levels(categories: Iterable[str], signals: frozenset[str], base: Mapping[str, str]) -> list[tuple[str, str]]:
    """(category, level) for every notice to show, before ordering and de-duplication."""
    shown: list[tuple[str, str]] = []
    for category in categories:
        level = base[category]
        if category == "overdose" and signals & {"overdose_danger", "massive_amount"}:
            level = "RED"
        elif category == "child_ingestion" and "overdose_danger" in signals:
            level = "RED"
        elif category in ("withdrawal", "pump") and "withdrawal_danger" in signals:
            level = "RED"
        elif category == "sedatives" and "sedation_danger" in signals:
            level = "RED"
        elif category == "self_harm" and "self_harm_topic_only" in signals:
            level = "INFO"
        elif category == "self_harm" and signals & {"already_taken", "immediate_danger"}:
            shown.append((category, "RED"))  # shown with, and above, the crisis notice
        shown.append((category, level))
    return shown


def _without_redundant(shown: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop notices another notice already covers, so an emergency shows one clear message."""
    categories = {category for category, _ in shown}
    levels = {level for _, level in shown}
    reds = [category for category, level in shown if level == "RED"]
    drop: set[tuple[str, str]] = set()
    for category, level in shown:
        if "CRISIS" in levels and level in ("AMBER", "INFO"):
            drop.add((category, level))  # a crisis message stands alone (WHO/IASP)
        if ("self_harm", "RED") in shown and category in ("overdose", "serious_reaction_now"):
            drop.add((category, level))  # the self-harm RED notice already says: call now
        if category == "serious_reaction_now" and len(set(reds)) > 1:
            drop.add((category, level))  # a more specific RED (withdrawal, pump, mixing) says the same
        if "child_ingestion" in categories and category in ("overdose", "children", "dosing", "overdose_info"):
            drop.add((category, level))
        if "overdose" in categories and category in ("overdose_info", "dosing"):
            drop.add((category, level))
    return [item for item in shown if item not in drop]
