"""Typo correction helpers shared by the lexicon and the safety layer: edit distance and a
symmetric-delete index.

A misspelling and the word it stands for share a deletion variant ("siezure" and "seizure" both
give "sezure"), so looking a word up costs a few dozen dictionary probes instead of a comparison
with every known word; the edit distance then ranks the few candidates found. Pure functions and
one read-only index: no files, no globals.

Looking a word up is bounded whatever its length: a word more than `depth` letters longer than the
longest target cannot share a deletion variant with any target, so it is not expanded at all (the
deletion variants of a 1,000-letter word are half a million strings of 1,000 letters: seconds and
hundreds of megabytes for one word).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Edit distance counting a swap of neighbours as one edit ("siezure" -> "seizure" is 1).

    With `limit`, gives up early and returns `limit + 1` for anything beyond it.
    """
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if limit is not None and min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def deletions(word: str, depth: int) -> set[str]:
    """`word` and every string made from it by deleting up to `depth` letters."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


class DeleteIndex:
    """Symmetric-delete index over target words: which targets a word may be a misspelling of.

    `depth` is how many deletions of each target are indexed: one number for all, or a function
    of the target (short words have many real neighbours, so they may get fewer).
    """

    def __init__(self, targets: Iterable[str], depth: int | Callable[[str], int]) -> None:
        self._targets: dict[str, set[str]] = {}
        self.longest = 0  # the longest target's length: longer words are only looked up when within reach
        for target in targets:
            self.longest = max(self.longest, len(target))
            for variant in deletions(target, depth(target) if callable(depth) else depth):
                self._targets.setdefault(variant, set()).add(target)

    def candidates(self, word: str, depth: int) -> set[str]:
        """Targets sharing a deletion variant with `word` (up to `depth` deletions of `word`).

        Candidates only: rank them with `edit_distance` and keep those within the edits allowed.
        A word more than `depth` letters longer than every target has none, and costs nothing.
        """
        found: set[str] = set()
        if len(word) - depth > self.longest:
            # Every variant of `word` keeps at least len(word) - depth letters; no target variant has that many.
            return found
        for variant in deletions(word, depth):
            found |= self._targets.get(variant, set())
        return found


def variant_hash(variant: str) -> int:
    """A stable 64-bit hash of a deletion variant (Python's own `hash` changes between processes): two
    fast checksums side by side, as a million variants are hashed per build."""
    data = variant.encode("utf-8", "surrogatepass")
    return (zlib.crc32(data) << 32) | zlib.adler32(data)


class HashedDeleteIndex:
    """A `DeleteIndex` as two sorted arrays (variant hash, target number), built once with the index and
    loaded as is: start-up reads arrays instead of computing a million deletion variants into sets.

    Same candidates as `DeleteIndex` over the same targets and depth (a 64-bit hash collision could
    only add a candidate, which `edit_distance` then rejects or ranks like any other).
    """

    def __init__(self, targets: Sequence[str], hashes: np.ndarray, target_ids: np.ndarray) -> None:
        self.targets = tuple(targets)
        self.hashes = hashes
        self.target_ids = target_ids
        self.longest = max((len(t) for t in self.targets), default=0)

    @classmethod
    def build(cls, targets: Iterable[str], depth: Callable[[str], int]) -> HashedDeleteIndex:
        ordered = sorted(set(targets))
        hashes: list[int] = []
        ids: list[int] = []
        for number, target in enumerate(ordered):
            variants = deletions(target, depth(target))
            hashes.extend(variant_hash(v) for v in variants)
            ids.extend([number] * len(variants))
        hash_array = np.array(hashes, dtype=np.uint64)
        order = np.argsort(hash_array, kind="stable")
        return cls(ordered, hash_array[order], np.array(ids, dtype=np.int32)[order])

    def candidates(self, word: str, depth: int) -> set[str]:
        """As `DeleteIndex.candidates`."""
        if len(word) - depth > self.longest or not len(self.hashes):
            return set()
        keys = np.fromiter((variant_hash(v) for v in deletions(word, depth)), dtype=np.uint64)
        left = np.searchsorted(self.hashes, keys, "left")
        right = np.searchsorted(self.hashes, keys, "right")
        return {
            self.targets[int(i)] for lo, hi in zip(left, right, strict=True) if hi > lo for i in self.target_ids[lo:hi]
        }
