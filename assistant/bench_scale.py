"""`baclofen-qa bench --scale`: the vector index alone at 10k, 100k and 1M vectors.

Recall figures mean something only on vectors shaped like real ones, so every corpus starts from
real embeddings of real English text: the long descriptions of the Python packages installed here
(the same text scripts/make_noise_corpus.py uses), chunked like documents and embedded with the
configured model. Up to that many vectors the corpus is those vectors; above, each vector is a real
one plus Gaussian noise shaped like the real vectors' spread (per-dimension standard deviation),
scaled so that it keeps a cosine of about `NOISE_COSINE` with its parent, then renormalised: a
corpus with the real vectors' topics and density, in which near neighbours are not copies.

The queries are other real vectors, held out (never a parent), so a query is never in the corpus.
Recall@10 is measured against exact search on the same vectors, without and with an ID selector
(a subset of rows, like the documents of one medicine).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import numpy as np

from assistant.bench import timing_percentile
from assistant.chunking import chunk_text
from assistant.config import Settings
from assistant.embedding import Embedder, unit_vectors
from assistant.errors import BenchError
from assistant.vector_index import build_vector_index, search

SCALE_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 20_000)
RECALL_K = 10
# A synthetic vector's expected cosine with the real vector it was drawn around: about the cosine
# of a real vector's nearest real neighbour in the package texts, so density stays realistic.
NOISE_COSINE = 0.8
# The selector admits this share of the rows: one medicine's documents in a corpus of many.
SELECTOR_SHARE = 0.02
# How many queries time the exact search (it is slow at 1M; the figure is only a comparison).
EXACT_TIMED_QUERIES = 50
SEED = 7


@dataclass(frozen=True, slots=True)
class ScaleRow:
    """The index alone at one corpus size."""

    vectors: int
    synthetic: bool  # False: every vector is a real embedding
    kind: str  # flat, ivf, hnsw (what index_type chose at this size)
    parameters: dict
    build_seconds: float
    search_p50_ms: float
    search_p95_ms: float
    selector_p50_ms: float
    selector_p95_ms: float
    exact_p50_ms: float
    recall_at_10: float
    selector_recall_at_10: float
    index_mb: float


def real_texts(limit: int, *, max_chars: int = 300) -> list[str]:
    """Up to `limit` distinct passages of real English: installed packages' descriptions, chunked."""
    bodies = []
    for dist in sorted(metadata.distributions(), key=lambda d: (d.name or "").lower()):
        message = Parser().parsestr(dist.read_text("METADATA") or "")
        body = message.get_payload() if not message.is_multipart() else ""
        if isinstance(body, str) and len(body.strip()) >= 400:
            bodies.append(body)
    texts: dict[str, None] = {}
    for n, body in enumerate(bodies):
        for chunk in chunk_text(body, f"package-{n}", max_chars=max_chars, overlap_sentences=0):
            if len(chunk.text) >= 40:
                texts.setdefault(chunk.text, None)
        if len(texts) >= limit:
            break
    return list(texts)[:limit]


def read_vectors(path: Path) -> np.ndarray:
    """Unit vectors saved with numpy.save (rows), checked before use.

    Raises:
        BenchError: unreadable, not a 2-D float array, or rows that are not unit length.
    """
    from assistant.build_files import sane_norms

    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BenchError(f"Cannot read vectors from {path} ({exc}); give a .npy file saved with numpy.save") from None
    if vectors.ndim != 2 or not np.issubdtype(vectors.dtype, np.floating) or not sane_norms(vectors):
        raise BenchError(f"{path} must hold finite float vectors of unit length, one per row (shape {vectors.shape})")
    return np.ascontiguousarray(vectors, dtype=np.float32)


def synthetic_corpus(real: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` unit vectors: the real ones, then real ones plus shaped noise (see the module docstring)."""
    if size <= len(real):
        return np.ascontiguousarray(real[:size])
    spread = real.std(axis=0)
    # Noise of norm r around a unit vector leaves a cosine of about 1 / sqrt(1 + r^2).
    scale = np.sqrt(1 / NOISE_COSINE**2 - 1) / np.linalg.norm(spread)
    out = np.empty((size, real.shape[1]), dtype=np.float32)
    out[: len(real)] = real
    for start in range(len(real), size, 100_000):
        stop = min(size, start + 100_000)
        parents = real[rng.integers(0, len(real), stop - start)]
        block = parents + rng.standard_normal(parents.shape, dtype=np.float32) * (spread * scale)
        out[start:stop] = unit_vectors(block)
    return out


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [
        len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) / max(1, (t >= 0).sum())
        for f, t in zip(found, truth, strict=True)
    ]
    return float(np.mean(hits))


def _timed_searches(run: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    """One query at a time, as the assistant searches: per-query milliseconds and the ids found."""
    times, ids = [], []
    for query in queries:
        started = time.perf_counter()
        found = run(query[None, :])
        times.append((time.perf_counter() - started) * 1000)
        ids.append(found[0])
    return times, np.array(ids)


def measure_size(vectors: np.ndarray, queries: np.ndarray, settings: Settings, *, synthetic: bool, rng) -> ScaleRow:
    """Build the index `settings` chooses for `vectors`, then time and check it against exact search."""
    import faiss

    # As in the app: a build uses every core, searches use settings.faiss_threads (see config.py).
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    index, choice = build_vector_index(vectors, settings)
    build_seconds = time.perf_counter() - started
    faiss.omp_set_num_threads(settings.faiss_threads)
    index_mb = len(faiss.serialize_index(index)) / 1e6

    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, RECALL_K)
    exact_ms, _ = _timed_searches(lambda q: exact.search(q, RECALL_K)[1], queries[:EXACT_TIMED_QUERIES])
    times, found = _timed_searches(lambda q: search(index, q, RECALL_K)[1], queries)

    # A subset of rows in contiguous runs, as documents are stored.
    runs = 20
    length = max(1, int(len(vectors) * SELECTOR_SHARE) // runs)
    starts = rng.choice(max(1, len(vectors) - length), size=runs, replace=False)
    subset = np.unique(np.concatenate([np.arange(s, s + length) for s in starts])).astype(np.int64)
    selector = faiss.IDSelectorBatch(subset)
    sub_truth = subset[np.argsort(-(vectors[subset] @ queries.T), axis=0)[:RECALL_K].T]
    sel_times, sel_found = _timed_searches(lambda q: search(index, q, RECALL_K, selector, len(subset))[1], queries)
    return ScaleRow(
        vectors=len(vectors),
        synthetic=synthetic,
        kind=choice.kind,
        parameters=choice.describe(),
        build_seconds=build_seconds,
        search_p50_ms=timing_percentile(times, 50),
        search_p95_ms=timing_percentile(times, 95),
        selector_p50_ms=timing_percentile(sel_times, 50),
        selector_p95_ms=timing_percentile(sel_times, 95),
        exact_p50_ms=timing_percentile(exact_ms, 50),
        recall_at_10=_recall(found, truth),
        selector_recall_at_10=_recall(sel_found, sub_truth),
        index_mb=index_mb,
    )


def run_scale(
    settings: Settings,
    embedder_factory: Callable[[], Embedder],
    *,
    sizes: Sequence[int],
    real_vectors: int,
    queries: int,
    vectors_file: Path | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> dict:
    """Embed `real_vectors + queries` real passages (or read them from `vectors_file`, a .npy of unit
    rows saved by an earlier run), then measure the index at each size."""
    rng = np.random.default_rng(SEED)
    encode_seconds = None
    if vectors_file is not None:
        embedded = read_vectors(vectors_file)[: real_vectors + queries]
    else:
        texts = real_texts(real_vectors + queries)
        embedder = embedder_factory()  # loaded only when passages are embedded
        progress(f"Embedding {len(texts)} real passages with {settings.model}")
        started = time.perf_counter()
        embedded = embedder.encode(texts)
        encode_seconds = time.perf_counter() - started
    if len(embedded) < queries + 10:
        raise BenchError(f"only {len(embedded)} real vectors; need at least {queries + 10}")
    order = rng.permutation(len(embedded))
    held_out, real = embedded[order[:queries]], embedded[order[queries:]]
    rows = []
    for size in sizes:
        progress(f"Index of {size} vectors")
        vectors = synthetic_corpus(real, size, rng)
        rows.append(measure_size(vectors, held_out, settings, synthetic=size > len(real), rng=rng))
        del vectors
    return {
        "real_vectors": len(real),
        "queries": queries,
        "real_encode_per_second": len(embedded) / encode_seconds if encode_seconds else None,
        "real_vectors_file": str(vectors_file) if vectors_file else None,
        "noise_cosine": NOISE_COSINE,
        "selector_share": SELECTOR_SHARE,
        "index_type": settings.index_type,
        "exact_max_vectors": settings.exact_max_vectors,
        "ivf_nprobe": settings.ivf_nprobe,
        "rows": [asdict(r) for r in rows],
    }


def scale_table(result: dict) -> str:
    """The --scale figures as one Markdown table."""
    lines = [
        "| vectors | index | build s | search p50 / p95 ms | with selector p50 / p95 ms | exact p50 ms "
        "| recall@10 | with selector | index MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        params = ", ".join(f"{k}={v}" for k, v in r["parameters"].items() if k in ("nlist", "nprobe", "hnsw_m"))
        lines.append(
            f"| {r['vectors']:,}{' (synthetic)' if r['synthetic'] else ' (real)'} | {r['kind']}"
            f"{f' ({params})' if params else ''} | {r['build_seconds']:.1f} "
            f"| {r['search_p50_ms']:.2f} / {r['search_p95_ms']:.2f} | {r['selector_p50_ms']:.2f} / {r['selector_p95_ms']:.2f} "
            f"| {r['exact_p50_ms']:.2f} | {r['recall_at_10']:.3f} | {r['selector_recall_at_10']:.3f} | {r['index_mb']:.0f} |"
        )
    return "\n".join(lines)
