"""Which FAISS index holds a set of unit vectors, how it is built, and how it is searched.

Three kinds, all inner product over unit vectors (so scores are cosine similarities):

- "flat": exact. Every query reads every vector: on one thread of this 2-core machine 0.25 ms at 10k
  vectors (they fit in cache), 1.3-4.7 ms at 20k, 13.5 ms at 100k, 61-130 ms at 1M. Up to
  `Settings.exact_max_vectors` (20k) that is small next to the ~15 ms the model takes to encode the
  question, so "auto" stays exact there.
- "ivf": IndexIVFFlat. The vectors are split into `nlist` cells by k-means trained on a sample, and a
  query reads only the `nprobe` cells nearest to it. Training on a sample keeps the build at a few
  minutes for 1M vectors (an HNSW build on this machine manages ~1.6k vectors/s and slows as it grows).
  The vectors are stored uncompressed, so the scores are exact cosines and the index can give
  back every vector (the retriever and the integrity check read them).
- "hnsw": a graph (IndexHNSWFlat), kept as an explicit choice for those who already use it.

"auto" (the default) is "flat" up to `exact_max_vectors` vectors, "ivf" above.

Searching a subset (an ID selector: the documents of one medicine) needs care with IVF: the nprobe
cells nearest to the query may hold few or none of the subset's vectors. `search` therefore reads
more cells the smaller the subset: as many as make the expected number of subset vectors read the
same as for an unrestricted search.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from assistant.config import Settings
from assistant.errors import MissingDependencyError

# Cells per vector: nlist = IVF_CELLS_PER_SQRT * sqrt(n), FAISS's usual rule of thumb (4..16 * sqrt(n)).
# 4 keeps training cheap (k-means cost grows with nlist) and cells large enough that a few dozen
# of them hold a query's neighbours.
IVF_CELLS_PER_SQRT = 4
# k-means is trained on this many vectors per cell (FAISS warns below 39): more adds build time,
# not recall.
IVF_TRAINING_PER_CELL = 40
# k-means iterations: the cells only need to be roughly right, since nprobe cells are read anyway.
IVF_TRAINING_ITERATIONS = 10
# The sample is drawn with a fixed seed, so the same vectors always give the same index.
IVF_SEED = 1234


@dataclass(frozen=True, slots=True)
class IndexChoice:
    """The kind of FAISS index for a number of vectors, with its parameters (recorded in the manifest)."""

    kind: str  # "flat", "ivf" or "hnsw"
    vectors: int
    nlist: int | None = None  # ivf: number of cells
    nprobe: int | None = None  # ivf: cells read per query (unrestricted search)
    training_vectors: int | None = None  # ivf: size of the k-means sample
    hnsw_m: int | None = None
    hnsw_ef_search: int | None = None

    def describe(self) -> dict:
        """JSON-ready, without the parameters that do not apply to this kind."""
        return {key: value for key, value in asdict(self).items() if value is not None}


# How to install the package, said where it is missing: the floor is the one in pyproject.toml.
FAISS_INSTALL = "pip install 'faiss-cpu>=1.8'"


def import_faiss():
    """The faiss module; imported at the point of use so that a missing package is reported as such
    (not as a broken index, which would send the user to rebuild it for nothing).

    Raises:
        MissingDependencyError: faiss is not installed; the message gives the install command.
    """
    try:
        import faiss
    except ImportError:
        raise MissingDependencyError(
            f"The search index needs the FAISS package (faiss-cpu), which is not installed in this Python "
            f"environment. Install it with: {FAISS_INSTALL}"
        ) from None
    return faiss


_faiss = import_faiss


def ivf_cells(vectors: int) -> int:
    """How many IVF cells for this many vectors (at least 1, never more than 1 per 39 vectors)."""
    return max(1, min(vectors // 39, round(IVF_CELLS_PER_SQRT * math.sqrt(vectors))))


def choose_index(vectors: int, settings: Settings) -> IndexChoice:
    """The index for `vectors` unit vectors under `settings.index_type` ("auto" picks by size)."""
    kind = settings.index_type
    if kind == "auto":
        kind = "flat" if vectors <= settings.exact_max_vectors else "ivf"
    if kind == "hnsw":
        return IndexChoice("hnsw", vectors, hnsw_m=settings.hnsw_m, hnsw_ef_search=settings.hnsw_ef_search)
    if kind == "ivf":
        nlist = ivf_cells(vectors)
        return IndexChoice(
            "ivf",
            vectors,
            nlist=nlist,
            nprobe=min(nlist, settings.ivf_nprobe),
            training_vectors=min(vectors, IVF_TRAINING_PER_CELL * nlist),
        )
    return IndexChoice("flat", vectors)


def build_vector_index(vectors: np.ndarray, settings: Settings):
    """A FAISS index over `vectors` (unit rows), of the kind `choose_index` picks. Returns (index, choice)."""
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    count, dimension = vectors.shape
    choice = choose_index(count, settings)
    if choice.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, choice.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = choice.hnsw_ef_search
    elif choice.kind == "ivf":
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, choice.nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = IVF_TRAINING_ITERATIONS
        index.cp.seed = IVF_SEED
        # The sample is drawn here (FAISS would otherwise subsample with its own cap and a warning).
        rows = np.random.default_rng(IVF_SEED).choice(count, size=choice.training_vectors, replace=False)
        index.train(vectors[np.sort(rows)])
        index.nprobe = choice.nprobe
    else:
        index = faiss.IndexFlatIP(dimension)
    if count:
        index.add(vectors)
    if choice.kind == "ivf":
        # Row i of the index must be retrievable by id: the retriever and the integrity check read
        # the vectors back (reconstruct_n), which IVF only allows with a direct map.
        index.make_direct_map()
    return index, choice


def configure_loaded(index, settings: Settings) -> None:
    """Apply the search-time settings (HNSW efSearch, IVF nprobe, FAISS threads) to an index read from disk.

    The thread count is process-wide in FAISS (OpenMP): it is set here because loading an index is
    what a process does before it starts answering.
    """
    _faiss().omp_set_num_threads(settings.faiss_threads)
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = settings.hnsw_ef_search
    elif hasattr(index, "nprobe"):
        index.nprobe = min(index.nlist, settings.ivf_nprobe)


def subset_nprobe(nprobe: int, nlist: int, total: int, selected: int) -> int:
    """Cells to read when only `selected` of `total` vectors may be returned.

    Reading nprobe cells finds about nprobe * total / nlist vectors; a subset is spread over the cells,
    so about `selected / total` of them are in the subset. Reading nprobe * total / selected cells keeps
    that expectation; capped at nlist (every cell: an exact search of the subset).
    """
    if selected <= 0 or total <= 0:
        return nprobe
    return min(nlist, max(nprobe, math.ceil(nprobe * total / selected)))


def search(index, queries: np.ndarray, k: int, selector=None, selected: int | None = None):
    """FAISS search of `queries` (rows), limited to the rows `selector` admits (all when None).

    `selected` is how many rows the selector admits; an IVF index reads more cells for a small subset
    (see `subset_nprobe`). Returns (scores, ids) like `index.search`; ids are -1 where fewer than k exist.
    """
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    if selector is None:
        return index.search(queries, k)
    faiss = _faiss()
    if hasattr(index, "hnsw"):
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=index.hnsw.efSearch)
    elif hasattr(index, "nprobe"):
        nprobe = index.nprobe if selected is None else subset_nprobe(index.nprobe, index.nlist, index.ntotal, selected)
        params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
    else:
        params = faiss.SearchParameters(sel=selector)
    return index.search(queries, k, params=params)


class VectorRows:
    """An index's vectors by row (an int, a slice or an array of row numbers), without a second copy.

    The retriever scores the pooled chunks and their sentences against the question with these rows.
    Exact and HNSW indexes are read in place (a read-only view of their flat storage); an IVF index row
    by row through its direct map. A full copy of an IVF sentence index was 3.4 KB per chunk at 14k chunks.
    """

    def __init__(self, index) -> None:
        self._index = index  # keeps the storage a view points into alive
        self.dimension = index.d
        self._matrix = _flat_view(index)

    def __len__(self) -> int:
        return self._index.ntotal

    def __getitem__(self, rows) -> np.ndarray:
        if self._matrix is not None:
            return self._matrix[rows]
        if isinstance(rows, (int, np.integer)):
            return self._index.reconstruct(int(rows))
        ids = (
            np.arange(*rows.indices(len(self)), dtype=np.int64)
            if isinstance(rows, slice)
            else np.asarray(rows, np.int64)
        )
        if not len(ids):
            return np.zeros((0, self.dimension), np.float32)
        return self._index.reconstruct_batch(ids)

    def blocks(self, size: int = 4096):
        """The rows in consecutive blocks (a whole-index check without a whole-index copy)."""
        for start in range(0, len(self), size):
            yield self[start : start + size]


def _flat_view(index) -> np.ndarray | None:
    """A read-only view of the vectors of an exact index, or of an HNSW index's flat storage; None for others."""
    faiss = _faiss()
    storage = faiss.downcast_index(index.storage) if hasattr(index, "hnsw") else index
    if not isinstance(storage, faiss.IndexFlat) or not storage.ntotal:
        return None if not isinstance(storage, faiss.IndexFlat) else np.zeros((0, index.d), np.float32)
    view = faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * storage.d).reshape(storage.ntotal, storage.d)
    view.flags.writeable = False
    return view
