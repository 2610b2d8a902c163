"""Follow-up questions, understood from the user's earlier questions without a language model.

"what about its side effects?", "is that approved?", "and the serious ones?" name no subject of
their own. When a question looks like a follow-up (it starts like one, or leans on a pronoun),
the subject of the last on-topic question is carried into the search:

- a follow-up with a topic of its own ("what about its side effects?") carries only the named
  things of the earlier question (a person's name), so the new topic leads; the medicine of the
  conversation is carried by assistant/routing.py;
- a follow-up without one ("is that approved?", "do they go away?") carries the earlier
  question's content words, so the earlier topic is searched again with the new angle.

`condense_query` returns the text that is searched and shown to the user as what was searched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.lexicon import STOPWORDS, Lexicon, words

FOLLOW_UP_START = re.compile(
    r"^\s*(and|but|so|or|also|plus|then|&|what about|how about|what if|and what about|same for|what else)\b",
    re.IGNORECASE,
)
ANAPHORA = frozenset(
    "it its it's itself that this these those they them their theirs he him his she her hers one ones there same".split()
)
# Words that ask *about* a topic without being one: "is that safe?", "is it approved?".
PREDICATES = frozenset(
    """safe safer ok okay fine approved legal allowed dangerous risky normal common rare serious bad good better
    worse true effective work works working help helps helpful happen happens happened mean means cause causes
    do does did go away last long start stop based written write wrote say says said find found show shows
    recommend recommended need needed should can could would will may might""".split()
)
MAX_FOLLOW_UP_WORDS = 12


def _topic_words(text: str, lexicon: Lexicon) -> list[str]:
    """Words that name what a question is about (no function words, fillers, pronouns or predicates)."""
    out = []
    for token in words(text):
        corrected = lexicon.correct(token)
        if corrected in STOPWORDS or corrected in ANAPHORA or corrected in PREDICATES or len(corrected) < 2:
            continue
        if corrected in lexicon.vocabulary.fillers and corrected not in lexicon.corpus_words:
            continue
        out.append(corrected)
    return out


def _entity_words(text: str) -> list[str]:
    """Named things of a question: capitalised words inside the sentence ("Ameisen"). The medicine it is
    about is carried separately (assistant/routing.py)."""
    return [
        raw
        for raw in re.findall(r"[A-Za-z][\w'-]*", text)
        if raw[0].isupper() and raw.lower() not in STOPWORDS and raw != raw.upper() and text.find(raw) > 0
    ]


def is_follow_up(question: str) -> bool:
    tokens = words(question)
    if not tokens or len(tokens) > MAX_FOLLOW_UP_WORDS:
        return False
    return bool(FOLLOW_UP_START.match(question)) or any(t in ANAPHORA for t in tokens)


def condense_query(question: str, history: Sequence[str], lexicon: Lexicon) -> str:
    """The question, plus the subject carried over from earlier questions when it is a follow-up."""
    subject = ""  # the condensed form of the last on-topic question
    for earlier in history:
        if not earlier or not earlier.strip():
            continue
        condensed = _condense_one(earlier, subject, lexicon)
        if _topic_words(condensed, lexicon):
            subject = condensed
    return _condense_one(question.strip(), subject, lexicon)


def _condense_one(question: str, subject: str, lexicon: Lexicon) -> str:
    if not subject or not is_follow_up(question):
        return question
    own_topic = _topic_words(question, lexicon)
    present = set(words(question))
    if own_topic:
        carried = [w for w in _entity_words(subject) if w.lower() not in present]
    else:
        carried = [w for w in _topic_words(subject, lexicon) if w not in present]
    carried = list(dict.fromkeys(carried))
    return f"{question} {' '.join(carried)}".strip() if carried else question
