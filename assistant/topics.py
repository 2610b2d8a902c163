"""What a question asks about (its topic), and whether a retrieved passage shows that topic.

The topics are data (`topics.toml`): for each, a question gate (`asks`), example questions, and the
words a passage about it uses (`evidence`). A question is on a topic when the gate matches; when
several gates match, the embedding model decides which the question is nearest to ("dose" in "can I
drive after my dose?" loses to driving). Whether the documents cover the topic is then read from the
retrieved passages themselves (`evidence` on a passage's section heading and text), never from a
keyword anywhere in the corpus.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.embedding import Embedder, unit_vectors
from assistant.errors import DataFileError
from assistant.records import Category, Chunk

TOPICS_FILE = Path(__file__).with_name("topics.toml")
# Of the topics whose gate matches, those whose nearest example is at most this much less similar
# than the best one's are the question's topics (cosine after centring).
NEAREST_MARGIN = 0.05
# A topic may justify "the documents don't cover it" only when the question is also nearest to it
# among ALL topics (not only those whose gate matched) and at least this similar to one of its
# examples: a long story mentions many things, and its gate words alone do not say what it asks.
REFUSAL_FLOOR = 0.35
# When the documents have no passage on a topic at all, a looser reading suffices: the topic must be
# at most this much less similar than the nearest topic overall ("my daughter is pregnant and takes it
# for her CP" is nearer to children's questions, yet asks about pregnancy).
UNCOVERED_GAP = 0.2


@dataclass(frozen=True, slots=True)
class TopicReading:
    """The topics a question asks about, most likely first, and how sure the reading is."""

    topics: tuple[Topic, ...] = ()
    # Sure enough that, when no passage scoring well shows the first topic, the answer is "not covered".
    refusable: bool = False
    # Sure enough that, when the documents have no passage on the first topic at all, it is "not covered".
    refusable_if_absent: bool = False


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    label: str  # shown in "The documents don't cover {label}"
    asks: re.Pattern[str]
    evidence: re.Pattern[str]
    examples: tuple[str, ...]
    not_examples: tuple[str, ...]
    emergencies: tuple[str, ...] = ()  # safety categories whose urgent notice its passages may follow
    citation: bool = False  # its passages are citations: they answer only questions on this topic


_TOPIC_KEYS = ("label", "asks", "evidence", "examples", "not_examples", "emergencies", "citation")


def load_topics(path: Path = TOPICS_FILE) -> tuple[Topic, ...]:
    """The topics of `path`, checked and with their patterns compiled.

    Raises:
        DataFileError: the file cannot be read, or a topic has a missing, unknown or wrongly typed entry or
            a pattern that does not compile; the message names the file, the topic and the entry.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError(f"Could not read the topics in {path}: {exc}") from None
    return tuple(_topic(name, spec, path) for name, spec in data.items())


def _topic(name: str, spec: object, path: Path) -> Topic:
    where = f"{path.name}: topic [{name}]"
    if not isinstance(spec, dict):
        raise DataFileError(f"{where} must be a table of {', '.join(_TOPIC_KEYS)}, not {spec!r}")
    unknown = sorted(set(spec) - set(_TOPIC_KEYS))
    if unknown:
        raise DataFileError(
            f"{where} has unknown entr{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
            f"known: {', '.join(_TOPIC_KEYS)}"
        )

    def text(key: str) -> str:
        if key not in spec:
            raise DataFileError(f"{where} is missing {key!r}")
        value = spec[key]
        if not isinstance(value, str) or not value.strip():
            raise DataFileError(f"{where} {key} must be a non-empty text, not {value!r}")
        return value

    def pattern(key: str) -> re.Pattern[str]:
        try:
            return re.compile(text(key), re.IGNORECASE)
        except re.error as exc:
            raise DataFileError(f"{where} {key} is not a valid regular expression: {exc}") from None

    def texts(key: str, *, required: bool = False) -> tuple[str, ...]:
        value = spec.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise DataFileError(f"{where} {key} must be a list of non-empty texts, not {value!r}")
        if required and not value:
            raise DataFileError(f"{where} needs at least one example question in {key}")
        return tuple(value)

    emergencies = texts("emergencies")
    strangers = [e for e in emergencies if e not in set(Category)]
    if strangers:
        raise DataFileError(
            f"{where} emergencies names unknown safety categor{'y' if len(strangers) == 1 else 'ies'} "
            f"{', '.join(strangers)}; known: {', '.join(Category)}"
        )
    citation = spec.get("citation", False)
    if not isinstance(citation, bool):
        raise DataFileError(f"{where} citation must be true or false, not {citation!r}")
    return Topic(
        name=name,
        label=text("label"),
        asks=pattern("asks"),
        evidence=pattern("evidence"),
        examples=texts("examples", required=True),
        not_examples=texts("not_examples"),
        emergencies=emergencies,
        citation=citation,
    )


class TopicDetector:
    """Reads the topic of a question: gate patterns plus nearest examples. Read-only after construction."""

    def __init__(
        self,
        topics: Sequence[Topic],
        embedder: Embedder,
        mask=None,
        *,
        encode_examples: Callable[[list[str]], np.ndarray] | None = None,
    ) -> None:
        """Encodes every example once (with `encode_examples` when given: a cache of their vectors).
        `mask(text)` removes medicine names, as for questions."""
        self.topics = tuple(topics)
        self._mask = mask or (lambda text: text)
        rows = [(i, example) for i, topic in enumerate(self.topics) for example in topic.examples]
        self.example_topic = np.array([i for i, _ in rows], dtype=np.int64)
        self.examples = tuple(example for _, example in rows)
        encode = encode_examples or embedder.encode
        vectors = encode([self._mask(e) for e in self.examples]) if rows else np.zeros((0, 1), np.float32)
        # All examples are questions about a medicine: their shared direction says nothing about which
        # topic; removing the mean leaves what tells topics apart (as in the safety layer).
        self._centre = vectors.mean(axis=0) if len(rows) else 0.0
        self._bank = unit_vectors(vectors - self._centre)

    def nearest(self, vector: np.ndarray, skip: frozenset[int] = frozenset()) -> np.ndarray:
        """Per topic, the highest similarity of `vector` to its examples (rows in `skip` left out)."""
        sims = self._bank @ unit_vectors(np.asarray(vector, dtype=np.float32) - self._centre)
        if skip:
            sims = sims.copy()
            sims[list(skip)] = -np.inf
        best = np.full(len(self.topics), -np.inf, dtype=np.float32)
        np.maximum.at(best, self.example_topic, sims)
        return best

    def detect(self, question: str, vector: np.ndarray, skip: frozenset[int] = frozenset()) -> TopicReading:
        """The topics `question` (typo-corrected text) asks about, most likely first.

        `vector` is the question's unit embedding, with medicine names masked as for the examples.
        `skip` leaves bank rows out (tests use it to check each example against the others).
        """
        gated = [i for i, topic in enumerate(self.topics) if topic.asks.search(question)]
        if not gated:
            return TopicReading()
        best = self.nearest(vector, skip)
        top = max(float(best[i]) for i in gated)
        chosen = sorted((i for i in gated if best[i] >= top - NEAREST_MARGIN), key=lambda i: -best[i])
        gap = float(best.max()) - top
        refusable = top >= REFUSAL_FLOOR and gap <= NEAREST_MARGIN
        return TopicReading(tuple(self.topics[i] for i in chosen), refusable, refusable or gap <= UNCOVERED_GAP)


# A topic no passage shows: under an urgent notice with no topic of its own, nothing is quoted.
NO_TOPIC = Topic("none", "", re.compile(r"(?!x)x"), re.compile(r"(?!x)x"), ("",), ())


def emergency_topics(topics: Sequence[Topic], categories: Sequence[str]) -> tuple[Topic, ...]:
    """The topics whose passages may be shown under an urgent notice of one of `categories`."""
    return tuple(t for t in topics if set(t.emergencies) & set(categories))


def shows_topic(topic: Topic, chunk: Chunk) -> bool:
    """Does a passage speak about the topic, in the documents' own words: its section heading, or one of
    its sentences (sentence by sentence, so that two words of a pattern must be said together)?"""
    if chunk.section and topic.evidence.search(chunk.section):
        return True
    if not chunk.sentences:
        return bool(topic.evidence.search(chunk.text))
    return any(topic.evidence.search(chunk.text[s - chunk.start : e - chunk.start]) for s, e in chunk.sentences)
