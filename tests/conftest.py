"""Shared fixtures: a small toy corpus, a keyword-count FakeEmbedder, isolated settings.

The FakeEmbedder makes the right top passage obvious by reading the test: a text's vector
counts a handful of keywords, so "kidney" questions land on the kidney document.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SEED_ARTICLE = CORPUS / "baclofen-article.txt"

KEYWORDS = ("kidney", "drowsy", "drive", "alcohol", "seizure", "stop", "dose", "spasm", "pregnan", "weather")

TOY_DOCUMENTS = {
    "kidneys.txt": "Kidney care\n\nPeople with kidney disease need care with this drug. The kidney clears it.\n",
    "driving.md": "# Driving\n\nDo not drive until you know how drowsy it makes you. Drowsy drivers crash.\n",
    "alcohol.txt": "Alcohol\n\nAlcohol adds to the drowsy effect. Avoid alcohol.\n",
    "stopping.txt": "Stopping\n\nDo not stop suddenly: stopping can cause a seizure. Lower the dose slowly.\n",
    "uses.txt": "Uses\n\nIt relieves muscle spasm and stiffness.\n\nBenefits:\n\n  • Less spasm\n  • Less pain\n",
}


class FakeEmbedder:
    """Deterministic keyword-count vectors; counts calls so tests can prove nothing was embedded."""

    name = "fake-keywords"
    backend = "fake"

    def __init__(self) -> None:
        self.dimension = len(KEYWORDS) + 1
        self.calls = 0
        self.texts_encoded = 0

    def known_words(self) -> frozenset[str]:
        return frozenset()

    def encode(self, texts, *, show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.texts_encoded += len(texts)
        rows = []
        for text in texts:
            lower = text.lower()
            row = [float(lower.count(k)) for k in KEYWORDS] + [0.3]
            rows.append(row)
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dimension)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


def write_corpus(folder: Path, documents: dict[str, str] = TOY_DOCUMENTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in documents.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def _isolate_environment(monkeypatch):
    """No test reads the developer's BACLOFEN_QA_* variables."""
    for key in list(os.environ):
        if key.startswith("BACLOFEN_QA_"):
            monkeypatch.delenv(key)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_model(monkeypatch, fake_embedder) -> FakeEmbedder:
    """The CLI's model loader returns the fake embedder (commands run without the real model)."""
    import assistant.embedding

    monkeypatch.setattr(assistant.embedding, "load_embedder", lambda *a, **k: fake_embedder)
    return fake_embedder


@pytest.fixture
def toy_corpus(tmp_path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def toy_settings(tmp_path, toy_corpus) -> Settings:
    return Settings(corpus_dir=toy_corpus, index_dir=tmp_path / "index", model="fake-keywords", chunk_max_chars=200)


@pytest.fixture(scope="session")
def real_embedder():
    """The real model, loaded once per test session (slow tests only)."""
    from assistant.embedding import load_embedder

    return load_embedder("all-MiniLM-L6-v2")
