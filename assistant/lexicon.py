"""Understanding the words of a question: tokens, typo correction, lay terms, drug classes.

Patients write "baclofin", "side affects", "will it back me up" and "benadryl"; the documents
write "baclofen", "side effects", "constipation" and "antihistamines". The `Lexicon` is built
once from the corpus vocabulary and `vocabulary.toml`, and turns a question into a
`QueryTerms` record: the corrected words, the document words to add to the search, the
content stems that say what is asked, and the medicines named by a class ("oxy" -> opioids).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import pairwise
from pathlib import Path

import Stemmer

from assistant.errors import DataFileError
from assistant.spelling import DeleteIndex, HashedDeleteIndex, edit_distance

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.toml")
WORD_RE = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
# A standard English stop-word list, plus contractions as people type them.
STOPWORDS = frozenset(
    """a about above after again against all am an and are aren't as at be because been before being below
    between both but by could couldn't did didn't do does doesn't doing don't down during each few for from
    further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself
    his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself
    nor not of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll she's
    should shouldn't so some such than that that's the their theirs them themselves then there there's these they
    they'd they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're
    we've were weren't what what's when when's where where's which while who who's whom why why's with won't would
    wouldn't you you'd you'll you're you've your yours yourself yourselves whats hows its ok one ones another""".split()
)


def spelling_depth(word: str) -> int:
    """Deletions indexed per target word: long words may be corrected over 2 edits, short ones over 1."""
    return 2 if len(word) >= 6 else 1


def fold_for_matching(text: str) -> str:
    """Lower case with typographic quotes and dashes folded, for matching only (never for display)."""
    return (
        text.lower()
        .replace("’", "'")
        .replace("‘", "'")
        .replace("“", '"')
        .replace("”", '"')
        .replace("–", "-")
        .replace("—", "-")
        .replace("\u00a0", " ")
    )


def words(text: str) -> list[str]:
    return WORD_RE.findall(fold_for_matching(text))


@dataclass(frozen=True)
class Vocabulary:
    """The contents of vocabulary.toml."""

    lay_terms: dict[str, str]
    spelled_out: dict[str, str]  # chat spelling -> words ("whats" -> "what is")
    acronyms: dict[str, str]  # lower-case acronym -> what it stands for, used when written in capitals
    drug_classes: dict[str, str]  # drug name -> class name
    fillers: frozenset[str]

    @property
    def classes(self) -> dict[str, list[str]]:
        """Class name -> the drug names in it (the safety rules' sedating drugs come from here)."""
        found: dict[str, list[str]] = {}
        for name, drug_class in self.drug_classes.items():
            found.setdefault(drug_class, []).append(name)
        return found

    @classmethod
    def load(cls, path: Path = VOCABULARY_FILE) -> Vocabulary:
        """Read and check vocabulary.toml (a pharmacist edits it).

        Raises:
            DataFileError: the file cannot be read, or an entry has the wrong shape; the message names the
                file, the entry and the problem. A class given as one text instead of a list would otherwise
                make each of its letters a medicine name.
        """
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DataFileError(f"Could not read the vocabulary in {path}: {exc}") from None
        unknown = sorted(set(data) - set(_VOCABULARY_TABLES))
        if unknown:
            raise DataFileError(
                f"{path.name}: unknown table(s) {', '.join(f'[{t}]' for t in unknown)}; "
                f"known: {', '.join(f'[{t}]' for t in _VOCABULARY_TABLES)}"
            )
        texts = {table: _text_table(data, table, path) for table in ("lay_terms", "spelled_out", "acronyms")}
        classes = _table(data, "drug_classes", path)
        drugs: dict[str, str] = {}
        for class_name, names in classes.items():
            where = f"[drug_classes] {class_name!r}"
            for name in _text_list(names, where, path):
                drugs[name.lower()] = class_name
        words_table = _table(data, "words", path)
        if "fillers" not in words_table:
            raise DataFileError(f"{path.name}: [words] is missing 'fillers' (a list of words)")
        return cls(
            lay_terms={k.lower(): v for k, v in texts["lay_terms"].items()},
            spelled_out={k.lower(): v for k, v in texts["spelled_out"].items()},
            acronyms={k.lower(): v for k, v in texts["acronyms"].items()},
            drug_classes=drugs,
            fillers=frozenset(w.lower() for w in _text_list(words_table["fillers"], "[words] fillers", path)),
        )


# The tables of vocabulary.toml; the first two and [words] must be there, the others may be left out.
_VOCABULARY_TABLES = ("lay_terms", "spelled_out", "acronyms", "drug_classes", "words")
_OPTIONAL_TABLES = frozenset({"spelled_out", "acronyms"})


def _table(data: dict, name: str, path: Path) -> dict:
    if name not in data:
        if name in _OPTIONAL_TABLES:
            return {}
        raise DataFileError(f"{path.name}: the table [{name}] is missing")
    if not isinstance(data[name], dict):
        raise DataFileError(f"{path.name}: {name} must be a table ([{name}]), not {data[name]!r}")
    return data[name]


def _text_table(data: dict, name: str, path: Path) -> dict[str, str]:
    table = _table(data, name, path)
    for key, value in table.items():
        if not key.strip() or not isinstance(value, str) or not value.strip():
            raise DataFileError(f"{path.name}: [{name}] {key!r} = {value!r}: both sides must be non-empty texts")
    return table


def _text_list(value: object, where: str, path: Path) -> list[str]:
    if not isinstance(value, list):
        raise DataFileError(f'{path.name}: {where} must be a list of texts, like ["a", "b"], not {value!r}')
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise DataFileError(f"{path.name}: {where} holds {item!r}; every item must be a non-empty text")
    return value


@dataclass(frozen=True, slots=True)
class DrugMention:
    name: str  # as typed (after typo correction)
    drug_class: str


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """What the lexicon understood of one question."""

    corrected: str  # the question with typos corrected (lower case)
    expansions: tuple[str, ...]  # document words added for lay terms and drug names
    content_stems: tuple[str, ...]  # stems that say what the question is about (no stop words, no corpus topic)
    phrases: tuple[tuple[str, str], ...]  # adjacent stem pairs of the question ("common side"), for phrase matches
    drugs: tuple[DrugMention, ...]

    @property
    def search_text(self) -> str:
        return " ".join((self.corrected, *self.expansions)).strip()


@dataclass(frozen=True)
class CorpusWords:
    """What the lexicon takes from the indexed texts. Counted once when the index is built and saved with
    it (assistant/derived.py), so that start-up does not re-read every chunk."""

    word_counts: dict[str, int]  # word -> occurrences in all chunks
    stem_df: dict[str, int]  # stem -> number of chunks it occurs in
    chunks: int
    spelling: HashedDeleteIndex  # corpus words of 4+ letters: what a typo may be corrected to

    @classmethod
    def count(cls, chunk_texts: Sequence[str]) -> CorpusWords:
        stemmer = Stemmer.Stemmer("english")
        counts: Counter[str] = Counter()
        stem_df: Counter[str] = Counter()
        for text in chunk_texts:
            tokens = words(text)
            counts.update(tokens)
            stem_df.update(set(stemmer.stemWords(tokens)))
        spelling = HashedDeleteIndex.build((w for w in counts if len(w) >= 4), spelling_depth)
        return cls(dict(counts), dict(stem_df), len(chunk_texts), spelling)


class Lexicon:
    """Corpus vocabulary + query vocabulary, built once per index. Thread-safe (read-only)."""

    def __init__(
        self,
        chunk_texts: Sequence[str],
        vocabulary: Vocabulary | None = None,
        dictionary: frozenset[str] = frozenset(),
        max_word_chars: int = 40,
        corpus: CorpusWords | None = None,
    ) -> None:
        """Args:
        chunk_texts: the indexed texts (their words are "covered"); not read when `corpus` is given.
        vocabulary: lay terms, drug classes and filler words (default: vocabulary.toml).
        dictionary: correctly spelt English words, never "corrected" (e.g. the model's tokenizer words).
        max_word_chars: longer words are used as typed, never corrected (Settings.max_word_chars).
        corpus: the words of `chunk_texts`, counted when the index was built (`LoadedIndex.derived`).
        """
        self.vocabulary = vocabulary or Vocabulary.load()
        self.max_word_chars = max_word_chars
        self.dictionary = dictionary
        self.stemmer = Stemmer.Stemmer("english")
        corpus = corpus or CorpusWords.count(chunk_texts)
        counts = corpus.word_counts
        self.word_counts = counts
        self.corpus_words = frozenset(counts)
        self.corpus_stems = frozenset(corpus.stem_df)
        n = max(1, corpus.chunks)
        self.idf = {s: math.log(1 + n / df) for s, df in corpus.stem_df.items()}
        self.max_idf = math.log(1 + n)
        # Words a typo may be corrected to: the documents' words (indexed at build time) and the query
        # vocabulary's other words (a few hundred, indexed here: vocabulary.toml may change without a rebuild).
        self._corpus_spelling = corpus.spelling
        self._known = frozenset(self.corpus_words | self._vocabulary_words() | dictionary)
        self._max_phrase_words = max(
            len(k.split()) for k in (*self.vocabulary.lay_terms, *self.vocabulary.drug_classes)
        )
        # A cache per lexicon: lru_cache on the method is one cache for the class, and its keys hold every
        # lexicon it has seen (with its spelling index) alive until 4,096 later words push them out.
        self._correct = lru_cache(maxsize=4096)(self._correct_uncached)

    @cached_property
    def _spelling(self) -> tuple[HashedDeleteIndex, DeleteIndex]:
        """Built on the first correction, not with the lexicon: a build only reads stems through it.
        (Two threads building it at once build the same thing; either result may be kept.)"""
        vocabulary_only = self._vocabulary_words() - self.corpus_words
        return self._corpus_spelling, DeleteIndex((w for w in vocabulary_only if len(w) >= 4), depth=spelling_depth)

    def _vocabulary_words(self) -> set[str]:
        out: set[str] = set()
        for phrase in (*self.vocabulary.lay_terms, *self.vocabulary.drug_classes, *self.vocabulary.fillers):
            out.update(words(phrase))
        return out

    def stem(self, word: str) -> str:
        return self.stemmer.stemWord(word)

    def stems(self, tokens: Iterable[str]) -> list[str]:
        return self.stemmer.stemWords(list(tokens))

    def correct(self, word: str) -> str:
        """The known word closest to `word` (edit distance 1 for short words, 2 for long), or `word`.

        Words longer than `max_word_chars` are returned as typed, before the cache: a pasted run of
        letters is no typo of a real word, and the cache must not keep megabyte-long keys alive.
        """
        if len(word) > self.max_word_chars:
            return word
        return self._correct(word)

    def _correct_uncached(self, word: str) -> str:
        if word in self.corpus_words or len(word) < 4 or word.isdigit() or word in STOPWORDS:
            return word
        if word in self._known:
            # A real word the documents do not use may still be a swapped-letter typo ("trails").
            if len(word) >= 6:  # not shorter: "three" is not a typo of "there"
                for i in range(len(word) - 1):
                    swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
                    if swapped in self.corpus_words:
                        return swapped
            return word
        limit = 2 if len(word) >= 6 else 1
        best, best_key = word, None
        for candidate in set().union(*(index.candidates(word, limit) for index in self._spelling)):
            distance = edit_distance(word, candidate, limit)
            if distance > limit:
                continue
            # Prefer the closest, then a word of the documents, then the most frequent.
            key = (distance, candidate not in self.corpus_words, -self.word_counts.get(candidate, 0), candidate)
            if best_key is None or key < best_key:
                best, best_key = candidate, key
        return best

    def terms_of(self, question: str) -> QueryTerms:
        """What the retriever compares a question by: its corrected words, content stems (lay terms and
        drug classes expanded into the documents' words), word pairs and drug mentions."""
        spelled = self.vocabulary.spelled_out
        tokens = [self.correct(w) for t in words(question) for w in spelled.get(t, t).split()]
        expansions: list[str] = [
            self.vocabulary.acronyms[a.lower()]
            for a in re.findall(r"\b[A-Z]{2,5}\b", question)
            if a.lower() in self.vocabulary.acronyms
        ]
        drugs: list[DrugMention] = []
        consumed: set[int] = set()
        # Longest phrases first, so "back me up" wins over "up".
        for size in range(self._max_phrase_words, 0, -1):
            for i in range(len(tokens) - size + 1):
                if any(j in consumed for j in range(i, i + size)):
                    continue
                phrase = " ".join(tokens[i : i + size])
                if phrase in self.vocabulary.drug_classes:
                    drug_class = self.vocabulary.drug_classes[phrase]
                    drugs.append(DrugMention(phrase, drug_class))
                    expansions.append(drug_class)
                    consumed.update(range(i, i + size))
                elif phrase in self.vocabulary.lay_terms:
                    expansions.append(self.vocabulary.lay_terms[phrase])
                    consumed.update(range(i, i + size))

        content: list[str] = []
        for i, token in enumerate(tokens):
            if token in STOPWORDS or token in self.vocabulary.fillers or token.isdigit() or len(token) < 2:
                continue
            stem = self.stem(token)
            if i in consumed:
                continue  # its document words are in the expansions
            content.append(stem)
        for expansion in expansions:
            content.extend(self.stems(words(expansion)))
        kept = [self.stem(t) for t in tokens if t not in STOPWORDS and t not in self.vocabulary.fillers]
        phrases = tuple(dict.fromkeys(pairwise(kept)))
        return QueryTerms(
            corrected=" ".join(tokens),
            phrases=phrases,
            expansions=tuple(dict.fromkeys(expansions)),
            content_stems=tuple(dict.fromkeys(content)),
            drugs=tuple(drugs),
        )

    def coverage(self, content: Sequence[str], stems: frozenset[int], stem_number: Mapping[str, int]) -> float:
        """Share of a question's content (`content` stems, weighted by idf) that a text has: `stems` are the
        text's stems as numbers (`stem_number`); -1 when the question has no content word to cover."""
        if not content:
            return -1.0  # nothing to cover: the fused score falls back to the embedding alone
        idf = self.idf
        unseen = self.max_idf  # a word no chunk has is as telling as the rarest word
        total = sum(idf.get(s, unseen) for s in content)
        return sum(idf.get(s, unseen) for s in content if stem_number.get(s, -1) in stems) / total

    def content_stems_of(self, text: str) -> list[str]:
        """Stems of a text's content words: no stop words or fillers."""
        tokens = [t for t in words(text) if t not in STOPWORDS and t not in self.vocabulary.fillers]
        return self.stems(tokens)

    def phrases_of(self, text: str) -> frozenset[tuple[str, str]]:
        """Adjacent stem pairs of a text, skipping stop words and fillers as questions do."""
        kept = self.stems(t for t in words(text) if t not in STOPWORDS and t not in self.vocabulary.fillers)
        return frozenset(pairwise(kept))
