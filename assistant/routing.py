"""Which medicine a question is about, and so which documents may answer it.

A question is resolved to a medicine before anything is searched:

1. a medicine the question names ("tizanidine side effects", "is Lioresal safe", "baclofin"): the
   names come from the documents' own medicines and from the FDA-derived names table
   (assistant/medicines.py), typos of the corpus's medicines included;
2. otherwise the medicine of the conversation so far ("and can I drink on it?");
3. otherwise the corpus's only medicine, or its main one (`default_medicine`, or the medicine most
   documents are about).

Passages then come only from the documents about that medicine and from general documents
(sidecar kind "general"). A medicine that no document is about is an honest "not found" that
names it, before any retrieval. Another medicine named in a question about taking two things
together ("can I take it with oxycodone?") is a *partner*, not the subject: the answer must come
from a passage of the subject's documents that names it (assistant/answerability.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.medicines import MedicineMention, MedicineNames, mask_pattern, name_words
from assistant.records import Document
from assistant.spelling import DeleteIndex, edit_distance

# Taking two things together. Words that say so anywhere in a message ("together", "mix", "interact"):
TOGETHER = re.compile(
    r"\b(?:together|mix(?:ed|ing|es)?|combin\w*|interact\w*|alongside|on top of|(?:at )?the same time)\b|\+"
    r"|\b(?:ok|okay|alright|all right|safe|fine|take|taking|have|having|use|using)\s+(?:\w+\s+)?with\s+(?:it|this|them|that|these|baclofen)\b",
    re.IGNORECASE,
)
# ... and words that say so only right before the other medicine's name ("with my oxycodone", "and
# ibuprofen", "while on sertraline"): "allergic to penicillin and had depression" is no combination.
NEAR_BEFORE = r"(?:with|and|plus|or|while (?:on|taking|using)|on)\s+(?:(?:my|his|her|their|the|some|a|an|your|any|other)\s+)?(?:\w+\s+)?"
# Examples that must and must not match are in tests/test_routing.py.


def taken_together(text: str, name: str) -> bool:
    """Does `text` ask about taking `name` (another medicine) together with the one it is about?"""
    if TOGETHER.search(text):
        return True
    words = r"[\s-]+".join(re.escape(w) for w in name.split())
    return bool(
        re.search(
            rf"\b{NEAR_BEFORE}{words}\b|\b{words}\s+(?:with|and|plus)\s+(?:it|this|them|that)\b", text, re.IGNORECASE
        )
    )


# A misspelt medicine name is corrected only from this length on, by at most 1 edit (2 from 8 letters).
MIN_FUZZY_LENGTH = 5


@dataclass(frozen=True, slots=True)
class Route:
    """The medicine a question is about and the documents that may answer it."""

    medicine: str  # the subject medicine ("" when the corpus is about no medicine)
    how: str  # "named" | "conversation" | "only" | "main" | "none"
    doc_ids: frozenset[str]  # documents that may be quoted
    absent: tuple[str, ...] = ()  # medicines asked about that no document is about
    partners: tuple[MedicineMention, ...] = ()  # other medicines to be taken together with the subject
    mask: re.Pattern[str] | None = None  # the subject's names (as typed too), masked before searching


@dataclass(frozen=True, slots=True)
class _Reading:
    """The medicines one message names: corpus medicines, others, and how each was typed."""

    corpus: tuple[str, ...]
    others: tuple[MedicineMention, ...]
    typed: tuple[str, ...]  # the words as typed that named a corpus medicine (for masking)


class MedicineRouter:
    """Resolves questions to medicines and document scopes. Read-only, so shared between threads."""

    def __init__(
        self,
        documents: Sequence[Document],
        names: MedicineNames,
        *,
        default_medicine: str = "",
        protected_words: frozenset[str] = frozenset(),
        curated_names: Iterable[str] = (),
    ) -> None:
        """Args:
        documents: the corpus, each with its medicines.
        names: the names table (generic and brand names -> ingredients).
        default_medicine: the medicine of a question that names none (empty: the corpus's main one).
        protected_words: ordinary English words (e.g. the model's vocabulary): a table name that is
            one of them ("focus", "relief") is not taken for a medicine unless `curated_names` has it.
        curated_names: medicine names known to be meant as medicines (vocabulary.toml's lists).
        """
        self.documents = {d.doc_id: d for d in documents}
        self.by_medicine: dict[str, frozenset[str]] = {}
        for document in documents:
            for medicine in document.medicines:
                self.by_medicine[medicine] = self.by_medicine.get(medicine, frozenset()) | {document.doc_id}
        self.general = frozenset(d.doc_id for d in documents if d.kind == "general")
        self.names = names.with_names(self.by_medicine)
        curated = {" ".join(name_words(n)) for n in curated_names}
        self._ignored = frozenset(
            n
            for n in self.names.table
            if n in protected_words and n not in curated and not set(self.names.table[n]) & set(self.by_medicine)
        )
        self.main = self._main_medicine(default_medicine, documents)
        self._aliases = {m: self.names.aliases(m) for m in self.by_medicine}
        # Typos are corrected only towards the corpus's own medicines and their brand names.
        alias_words = {
            a: m for m, names in self._aliases.items() for a in names if " " not in a and len(a) >= MIN_FUZZY_LENGTH
        }
        self._fuzzy = DeleteIndex(alias_words, depth=lambda w: 2 if len(w) >= 8 else 1)
        self._protected = protected_words

    def _main_medicine(self, default: str, documents: Sequence[Document]) -> str:
        if default:
            return default.strip().lower()
        if not self.by_medicine:
            return ""
        chars: Counter[str] = Counter()
        for document in documents:
            for medicine in document.medicines:
                chars[medicine] += len(document.text)
        # Most documents first; then most text.
        return max(self.by_medicine, key=lambda m: (len(self.by_medicine[m]), chars[m], m))

    @property
    def medicines(self) -> tuple[str, ...]:
        return tuple(sorted(self.by_medicine))

    def scope(self, medicine: str) -> frozenset[str]:
        """The documents a question about `medicine` may quote ("" : every document)."""
        if not medicine:
            return frozenset(self.documents)
        return self.by_medicine.get(medicine, frozenset()) | self.general

    def read(self, text: str) -> _Reading:
        """The medicines a message names, with typos of the corpus's medicines corrected."""
        words = name_words(text)
        corrected = [self._correct(w) for w in words]
        mentions = [m for m in self.names.find(corrected) if m.name not in self._ignored]
        corpus: list[str] = []
        others: list[MedicineMention] = []
        typed: list[str] = []
        for mention in mentions:
            inside = [i for i in mention.ingredients if i in self.by_medicine]
            if inside:
                corpus.extend(inside)
                typed.append(" ".join(words[mention.start : mention.end]))
            else:
                others.append(mention)
        return _Reading(tuple(dict.fromkeys(corpus)), tuple(others), tuple(dict.fromkeys(typed)))

    def _correct(self, word: str) -> str:
        if len(word) < MIN_FUZZY_LENGTH or word in self.names.table or word in self._protected:
            return word
        limit = 2 if len(word) >= 8 else 1
        best, best_distance = word, limit + 1
        for candidate in sorted(self._fuzzy.candidates(word, limit)):
            distance = edit_distance(word, candidate, limit)
            if distance < best_distance:
                best, best_distance = candidate, distance
        return best

    def route(self, question: str, history: Sequence[str] = ()) -> Route:
        """The medicine `question` is about, given the user's earlier questions (oldest first)."""
        context = ""
        for earlier in history:
            context = self._resolve(self.read(earlier), earlier, context)[0] or context
        reading = self.read(question)
        subject, how, partners = self._resolve(reading, question, context)
        if not subject:
            subject, how = (context, "conversation") if context else (self.main, self._default_how())
        # With no medicine document at all, nothing can be "about another medicine": search everything.
        absent = (subject,) if subject and self.by_medicine and subject not in self.by_medicine else ()
        if not self.by_medicine:
            subject = ""
        if len(reading.corpus) > 1:  # "baclofen or tizanidine?": both medicines' documents
            doc_ids = frozenset().union(*(self.scope(m) for m in reading.corpus))
        else:
            doc_ids = frozenset() if absent else self.scope(subject)
        names = [*reading.typed, *(a for m in (reading.corpus or (subject,)) for a in self._aliases.get(m, ()))]
        return Route(subject, how, doc_ids, absent, partners, mask_pattern(names))

    def _resolve(self, reading: _Reading, text: str, context: str) -> tuple[str, str, tuple[MedicineMention, ...]]:
        """(subject, how, partners) from what one message names; ("", "", ()) when it names no medicine.

        Another medicine named beside the conversation's (or the main) medicine in a question about
        taking them together is a partner: "can I take ibuprofen with it?" stays about the subject.
        """
        if reading.corpus:
            together = tuple(m for m in reading.others if taken_together(text, m.name))
            return reading.corpus[0], "named", together
        if not reading.others:
            return "", "", ()
        fallback = context or self.main
        if fallback and any(taken_together(text, m.name) for m in reading.others):
            return fallback, ("conversation" if context else self._default_how()), reading.others
        first = reading.others[0]
        return (first.ingredients[0] if len(first.ingredients) == 1 else first.name), "named", ()

    def _default_how(self) -> str:
        if not self.by_medicine:
            return "none"
        return "only" if len(self.by_medicine) == 1 else "main"
