"""How a chunk's retrieval signals become its one score: the fusion modes, by name.

The table `FUSION_MODES` is the one list of modes: `Settings.retrieval` is checked against it,
`eval --compare` offers its names, and the retriever scores with the function it names. A new mode
is one function and one entry here. This module imports nothing else from the package, so the
settings can read the names without importing retrieval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol


class Signals(Protocol):
    """What a candidate chunk scored (assistant.retrieval.Candidate has these fields)."""

    @property
    def dense(self) -> float: ...  # cosine of the question to the chunk with its section heading

    @property
    def sentence(self) -> float: ...  # cosine to the chunk's best-matching sentence

    @property
    def lexical(self) -> float: ...  # share of the question's content words the chunk has; < 0: none to cover

    @property
    def bm25(self) -> float: ...  # the BM25 score


# (signals, Settings.dense_weight) -> fused score; higher ranks first and is compared with min_score.
Fusion = Callable[[Signals, float], float]


def fuse_hybrid(signals: Signals, dense_weight: float) -> float:
    """`dense_weight` of the closer embedding match plus the rest of the lexical coverage; the embedding
    alone when the question has no content word to cover."""
    semantic = max(signals.dense, signals.sentence)
    if signals.lexical < 0:
        return semantic
    return dense_weight * semantic + (1 - dense_weight) * signals.lexical


def fuse_dense(signals: Signals, dense_weight: float) -> float:
    """Embedding only: the closer of the chunk's and its best sentence's cosine."""
    return max(signals.dense, signals.sentence)


def fuse_bm25(signals: Signals, dense_weight: float) -> float:
    """Lexical only: coverage of the question's words, ties broken by the BM25 score."""
    return max(signals.lexical, 0.0) + 1e-3 * signals.bm25


# In the order `eval --compare` lists them; "hybrid" is the default (Settings.retrieval).
FUSION_MODES: Mapping[str, Fusion] = {
    "dense": fuse_dense,
    "bm25": fuse_bm25,
    "hybrid": fuse_hybrid,
}
