"""Other medicines a question asks to take together with its subject ("can I take it with oxycodone?").

A partner is found before anything is searched, from the question's medicine names (routing.py) and
its drug-class words (lexicon.py); it carries the words a passage may use for it and the pattern
that finds them, so that ranking (the passages naming it are scored too) and judging (no passage
names it: "not found") read the same record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assistant.lexicon import QueryTerms
from assistant.medicines import MedicineNames
from assistant.records import Chunk
from assistant.routing import Route, taken_together


def naming_pattern(terms: Sequence[str]) -> re.Pattern[str]:
    """Any of `terms` as a whole word (a plural "s" or "es" allowed), in any case."""
    alternatives = "|".join(re.escape(t) for t in sorted({t for t in terms if t}, key=len, reverse=True)) or "(?!x)x"
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?:e?s)?(?![\w-])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Partner:
    """Another medicine (or alcohol) the question wants to take together with the subject."""

    name: str  # as the person wrote it, corrected ("oxycodone", "benadryl")
    terms: tuple[str, ...]  # words a passage may use for it: names, ingredients, brands, class
    # `terms` as whole words, in any case (see `naming_pattern`).
    pattern: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", naming_pattern(self.terms))

    def named_in(self, chunk: Chunk) -> bool:
        """Does a chunk's `search_text` (its heading or its text) name this partner?"""
        # Heading and text searched apart: no copy of every chunk's joined text, and no name can span
        # the line break between them.
        return self.pattern.search(chunk.section) is not None or self.pattern.search(chunk.text) is not None


def partner_terms(
    name: str, *, ingredients: Sequence[str] = (), aliases: Sequence[str] = (), drug_class: str = ""
) -> tuple[str, ...]:
    """The words a passage may use for a partner medicine: its names, ingredients, brands and class
    (a class both as written, "opioids", and singular, "opioid")."""
    words = [name, *ingredients, *aliases]
    if drug_class:
        words += [drug_class, drug_class.rstrip("s")]
    return tuple(dict.fromkeys(w.lower() for w in words if w))


def find_partners(
    route: Route, terms: QueryTerms, names: MedicineNames, drug_classes: Mapping[str, str]
) -> tuple[Partner, ...]:
    """Other medicines the question wants to take with its subject: from the names table (`route.partners`)
    and from the vocabulary's drug classes ("oxy" -> opioids), when it asks about taking them together."""
    found: dict[str, Partner] = {}
    for mention in route.partners:
        drug_class = drug_classes.get(mention.name) or next(
            (drug_classes[i] for i in mention.ingredients if i in drug_classes), ""
        )
        aliases = [a for i in mention.ingredients for a in names.aliases(i)]
        found[mention.name] = Partner(
            mention.name,
            partner_terms(mention.name, ingredients=mention.ingredients, aliases=aliases, drug_class=drug_class),
        )
    for drug in terms.drugs:
        known = drug.name in found or any(drug.name in p.terms for p in found.values())
        if not known and taken_together(terms.corrected, drug.name):
            found[drug.name] = Partner(drug.name, partner_terms(drug.name, drug_class=drug.drug_class))
    return tuple(found.values())
