"""A content-hash cache of embedding vectors, kept in the index folder, so that a rebuild embeds only
the texts it has not embedded before (adding one leaflet to a thousand documents re-embeds that leaflet).

An entry's key is the sha256 of the embedder's identity (model name, backend, dimension) and the exact
text that was embedded: the medicine names are masked before a text gets here, so a change of masking
is a change of text, and a change of model or backend is a change of key.

The cache is one file, `vectors.cache.npz` (numpy arrays, loaded without pickle), replaced atomically:
written to a temporary file, fsynced, renamed. A `kill -9` leaves the old cache or the new one, never half
of one; a temporary file left by a killed build is deleted by the next one. Each entry carries a checksum
of its key and vector, so a damaged entry is dropped and its text embedded again, never served; a file that
cannot be read at all counts as an empty cache. The cache holds only the entries of the latest build
(older ones are dropped when it is written), so it never grows beyond one build's texts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.build_files import MAX_VECTOR_NORM, fsync_dir, sane_norms
from assistant.embedding import Embedder

CACHE_FILE = "vectors.cache.npz"
# The example phrases of the safety and topic banks: the same few hundred texts at every start.
EXAMPLES_CACHE_FILE = "examples.cache.npz"
_TEMPORARY_PREFIX = ".vectors.cache.tmp-"
_CHECK_BYTES = 8  # per-entry blake2b digest: enough to tell damage from data, small beside a 1.5 KB vector


@dataclass(frozen=True)
class Encoded:
    """The vectors of one build's texts (row i for text i), and how they were obtained."""

    vectors: np.ndarray
    texts: int  # texts asked for (chunks and sentences)
    unique: int  # distinct texts among them: a repeated text is embedded once
    reused: int  # distinct texts found in the cache
    embedded: int  # distinct texts given to the model
    damaged: int  # cache entries dropped because their checksum failed


def embedder_identity(embedder: Embedder) -> str:
    """What, besides the text, decides a vector: the model, how it is run, and its dimension.

    `backend` (e.g. "onnx-int8") is read when the embedder has one; without it the model is run by PyTorch.
    """
    backend = embedder.backend
    return f"{embedder.name}\x00{backend}\x00{embedder.dimension}"


def text_keys(identity: str, texts: Sequence[str]) -> list[bytes]:
    prefix = hashlib.sha256(identity.encode("utf-8") + b"\x00")
    keys = []
    for text in texts:
        digest = prefix.copy()
        digest.update(text.encode("utf-8", "surrogatepass"))
        keys.append(digest.digest())
    return keys


def _entry_check(key: bytes, vector: np.ndarray) -> bytes:
    return hashlib.blake2b(key + vector.tobytes(), digest_size=_CHECK_BYTES).digest()


def _temporary_prefix(file_name: str) -> str:
    return _TEMPORARY_PREFIX if file_name == CACHE_FILE else f".{file_name}.tmp-"


def read_cache(index_dir: Path, dimension: int, file_name: str = CACHE_FILE) -> tuple[dict[bytes, np.ndarray], int]:
    """The cached vectors of `dimension` by key, and how many entries were dropped as damaged."""
    path = index_dir / file_name
    try:
        with np.load(path, allow_pickle=False) as data:
            keys, vectors, checks = data["keys"], data["vectors"], data["checks"]
    except FileNotFoundError:
        return {}, 0
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return {}, 1  # unreadable as a whole: every text is embedded again
    if (
        keys.ndim != 2
        or keys.shape[1] != 32
        or vectors.ndim != 2
        or vectors.shape[1] != dimension
        or checks.shape != (len(keys), _CHECK_BYTES)
        or len(vectors) != len(keys)
        or vectors.dtype != np.float32
    ):
        return {}, 0 if len(keys) == 0 else len(keys)
    found: dict[bytes, np.ndarray] = {}
    damaged = 0
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    sane = np.isfinite(norms) & (norms <= MAX_VECTOR_NORM)
    for key_row, vector, check, ok in zip(keys, vectors, checks, sane, strict=True):
        key = key_row.tobytes()
        if not ok or _entry_check(key, vector) != check.tobytes():
            damaged += 1
            continue
        found[key] = vector
    return found, damaged


def write_cache(index_dir: Path, keys: Sequence[bytes], vectors: np.ndarray, file_name: str = CACHE_FILE) -> None:
    """Replace the cache with exactly these entries (atomically: the old file or the new, never half)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32)
    checks = np.frombuffer(
        b"".join(_entry_check(k, v) for k, v in zip(keys, vectors, strict=True)), dtype=np.uint8
    ).reshape(len(keys), _CHECK_BYTES)
    temporary = index_dir / f"{_temporary_prefix(file_name)}{uuid.uuid4().hex[:8]}.npz"
    try:
        with open(temporary, "wb") as handle:
            np.savez(handle, keys=key_array, vectors=vectors, checks=checks)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, index_dir / file_name)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_dir(index_dir)


def remove_stale_temporaries(index_dir: Path) -> None:
    """Delete temporary cache files of builds that were killed (call under the build lock)."""
    for path in index_dir.glob(f"{_TEMPORARY_PREFIX}*"):
        path.unlink(missing_ok=True)


def encode_with_cache(embedder: Embedder, texts: Sequence[str], index_dir: Path, *, use_cache: bool = True) -> Encoded:
    """Vectors for `texts` (row i for texts[i]): each distinct text embedded once, cached ones reused.

    With `use_cache`, the cache in `index_dir` is read first and afterwards replaced by the entries of
    these texts only. Without it, nothing is read or written (repeated texts are still embedded once).
    """
    cache = CachedVectors(embedder, index_dir, read=use_cache)
    vectors = cache.encode(texts, show_progress=True)
    if use_cache:
        cache.save()
    unique = len(cache.used)
    return Encoded(vectors, len(texts), unique, unique - cache.embedded, cache.embedded, cache.damaged)


class CachedVectors:
    """Vectors of texts, taken from the cache file `file_name` in `folder` where it has them, the others
    given to the model (each distinct text once). Use `encode`, then `save` once: the file then holds
    exactly the texts of this use (an unchanged cache is not written again)."""

    def __init__(self, embedder: Embedder, folder: Path, file_name: str = CACHE_FILE, *, read: bool = True) -> None:
        self.embedder = embedder
        self.folder = folder
        self.file_name = file_name
        self._identity = embedder_identity(embedder)
        self._cached, self.damaged = read_cache(folder, embedder.dimension, file_name) if read else ({}, 0)
        self.used: dict[bytes, np.ndarray] = {}  # by key, every text encoded or reused so far
        self.embedded = 0  # distinct texts given to the model

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Vectors for `texts` (row i for texts[i]), from the cache where it has them."""
        keys = text_keys(self._identity, texts)
        missing = {
            key: text for key, text in zip(keys, texts, strict=True) if key not in self._cached and key not in self.used
        }
        if missing:
            fresh = self.embedder.encode(list(missing.values()), show_progress=show_progress)
            self.used.update(zip(missing, np.asarray(fresh, dtype=np.float32), strict=True))
            self.embedded += len(missing)
        for key in keys:
            if key not in self.used:
                self.used[key] = self._cached[key]
        if not keys:
            return np.zeros((0, self.embedder.dimension), np.float32)
        return np.stack([self.used[key] for key in keys])

    def save(self) -> None:
        """Replace the cache file with the entries of this use. Raises OSError when it cannot be written.

        Only vectors that pass the norm check are kept: a build refuses bad vectors anyway."""
        if not self.embedded and not self.damaged and set(self.used) == set(self._cached):
            return
        kept = [key for key in self.used if sane_norms(self.used[key][None, :])]
        vectors = np.stack([self.used[k] for k in kept]) if kept else np.zeros((0, self.embedder.dimension), np.float32)
        write_cache(self.folder, kept, vectors, self.file_name)


class ExampleVectors(CachedVectors):
    """The vectors of the safety and topic example phrases, kept between starts in `folder`.

    Encoding the banks (a few hundred phrases) was about 0.6 s of every start. The phrases change only
    when their TOML files do, so their vectors are cached like a build's: keyed by the embedder's identity
    and the exact text, each entry checksummed (a damaged one is encoded again, never used), the file
    replaced atomically. A folder that cannot be written (an index on read-only storage) only means the
    phrases are encoded again at the next start.

    Use `encode` while the detectors are built, then `save` once.
    """

    def __init__(self, embedder: Embedder, folder: Path) -> None:
        super().__init__(embedder, folder, EXAMPLES_CACHE_FILE)

    def save(self) -> None:
        with contextlib.suppress(OSError):  # not writable: the phrases are encoded again at the next start
            super().save()
