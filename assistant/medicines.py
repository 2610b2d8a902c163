"""Medicine names: which medicines a text names, and which medicines a document is about.

The names come from data, not code: `data/medicine_names.tsv` maps the names people type (generic
and brand names, from public-domain FDA data; see data/SOURCES.md) to active ingredients, so
"Lioresal" is baclofen and "Robaxin" is methocarbamol. Documents add their own names: a sidecar's
`medicines` are always known, whatever the table says.

A document's medicines come from its sidecar; when it has none, `detect_medicines` reads them
from its title, or from the one medicine its text keeps naming. A document about no medicine
(an unrelated file in the corpus folder) gets none and is never quoted for a medicine question.

Used when building the index (which words to mask in each document) and when answering (which
medicine a question is about, assistant/routing.py).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

NAMES_FILE = Path(__file__).with_name("data") / "medicine_names.tsv"
NAME_WORD_RE = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
MAX_NAME_WORDS = 4
# Detection from the body of a document without a title match: the medicine must be named this
# often and at least this share of all medicine mentions (a label names other drugs in passing).
MIN_BODY_MENTIONS = 3
MIN_BODY_SHARE = 0.5


def name_words(text: str) -> list[str]:
    """Lower-case words as the names table spells them (hyphens and apostrophes kept inside words)."""
    return NAME_WORD_RE.findall(text.lower().replace("’", "'").replace("–", "-"))


@dataclass(frozen=True, slots=True)
class MedicineMention:
    """A medicine name found in a text: `words[start:end]` of the text's `name_words`."""

    name: str  # the name as the table spells it, e.g. "lioresal"
    ingredients: tuple[str, ...]  # active ingredients, e.g. ("baclofen",)
    start: int
    end: int


class MedicineNames:
    """Name -> ingredients lookup. Read-only after construction, so safe to share between threads."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.table: dict[str, tuple[str, ...]] = {}
        for name, ingredients in table.items():
            key = " ".join(name_words(name))
            if key and ingredients:
                self.table[key] = tuple(sorted({i.strip().lower() for i in ingredients if i.strip()}))
        self._longest = max((len(k.split()) for k in self.table), default=1)
        self._longest = min(self._longest, MAX_NAME_WORDS)
        self._single: dict[str, list[str]] = {}
        for name, ingredients in self.table.items():
            if len(ingredients) == 1:
                self._single.setdefault(ingredients[0], []).append(name)

    @classmethod
    def load(cls, path: Path = NAMES_FILE) -> MedicineNames:
        """The names table (add a corpus's own medicines with `with_names`)."""
        return cls(read_names_table(path))

    def with_names(self, extra: Iterable[str]) -> MedicineNames:
        """A copy that also knows `extra` generic names (e.g. the medicines a corpus's sidecars list)."""
        merged = dict(self.table)
        for name in extra:
            key = " ".join(name_words(name))
            merged.setdefault(key, (key,))
        return MedicineNames(merged)

    def ingredients(self, name: str) -> tuple[str, ...]:
        return self.table.get(" ".join(name_words(name)), ())

    def aliases(self, medicine: str) -> tuple[str, ...]:
        """Every name of a single-ingredient medicine: itself and its brands ("baclofen", "lioresal", ...)."""
        return tuple(sorted({medicine, *self._single.get(medicine, ())}))

    def find(self, words: Sequence[str]) -> list[MedicineMention]:
        """Medicine names in a word sequence, longest match first, not overlapping."""
        found: list[MedicineMention] = []
        taken = [False] * len(words)
        for size in range(min(self._longest, len(words)), 0, -1):
            for i in range(len(words) - size + 1):
                if any(taken[i : i + size]):
                    continue
                name = " ".join(words[i : i + size])
                ingredients = self.table.get(name)
                if ingredients:
                    found.append(MedicineMention(name, ingredients, i, i + size))
                    taken[i : i + size] = [True] * size
        return sorted(found, key=lambda m: m.start)

    def find_in_text(self, text: str) -> list[MedicineMention]:
        return self.find(name_words(text))


def read_names_table(path: Path = NAMES_FILE) -> dict[str, tuple[str, ...]]:
    """`name<TAB>ingredients` rows (ingredients joined with ";"); lines starting with "#" are comments."""
    table: dict[str, tuple[str, ...]] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader((line for line in handle if not line.startswith("#")), delimiter="\t")
        header = next(rows, None)
        if header is None or [h.strip() for h in header[:2]] != ["name", "ingredients"]:
            raise ValueError(f"{path}: the first row must be the header 'name<TAB>ingredients'")
        for row in rows:
            if len(row) >= 2 and row[0].strip():
                table[row[0].strip().lower()] = tuple(i.strip() for i in row[1].split(";") if i.strip())
    return table


def detect_medicines(title: str, text: str, names: MedicineNames) -> tuple[str, ...]:
    """The medicines a document without a sidecar is about.

    Those its title names; otherwise the one medicine its text names most, when it is named at
    least MIN_BODY_MENTIONS times and makes up at least MIN_BODY_SHARE of all medicine mentions
    (a label mentions other drugs in its interactions section; an unrelated text, none or few).
    Either way the generic name itself must appear somewhere: a brand name alone may be a
    person's name ("Camila" in a software README is not norethindrone).
    """
    spelled = " ".join(name_words(f"{title} {text}"))

    def generic_named(medicine: str) -> bool:
        return re.search(rf"(?<![\w-]){re.escape(medicine)}(?![\w-])", spelled) is not None

    in_title = [i for m in names.find_in_text(title) for i in m.ingredients if generic_named(i)]
    if in_title:
        return tuple(dict.fromkeys(in_title))
    counts: Counter[str] = Counter(i for m in names.find_in_text(text) for i in m.ingredients)
    if not counts:
        return ()
    (top, n), total = counts.most_common(1)[0], sum(counts.values())
    return (top,) if n >= MIN_BODY_MENTIONS and n / total >= MIN_BODY_SHARE and generic_named(top) else ()


def mask_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """A case-insensitive pattern matching any of `names` as whole words (and their possessive)."""
    ordered = sorted({n for n in names if n}, key=len, reverse=True)
    if not ordered:
        return None
    alternatives = "|".join(r"[\s-]+".join(re.escape(w) for w in n.split()) for n in ordered)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?:['’]s)?(?![\w-])", re.IGNORECASE)


def mask_names(text: str, pattern: re.Pattern[str] | None) -> str:
    """`text` without the names `pattern` matches; the text itself if nothing would be left.

    Masking the medicine a passage (or a question) is about keeps its name, which is in nearly every
    sentence, from pulling every passage towards every question.
    """
    if pattern is None:
        return text
    masked = re.sub(r"[ \t]{2,}", " ", pattern.sub("", text)).strip()
    return masked if re.search(r"\w", masked) else text
