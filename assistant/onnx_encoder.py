"""The embedding model exported to ONNX, run by ONNX Runtime or OpenVINO instead of PyTorch.

sentence-transformers' own `backend="onnx"` needs optimum-onnx, whose releases pin transformers below
the 5.x that sentence-transformers 6 requires: the two cannot be installed together. So the export is
done here with `torch.onnx.export` of the whole SentenceTransformer pipeline (transformer, pooling,
normalisation in one graph: the ONNX output is the sentence vector itself), and the graph is run with
ONNX Runtime (fp32, or int8 after dynamic quantisation) or OpenVINO.

The export happens once per model and variant, offline, into a cache folder outside the installed
package:

    <model_cache_dir>/<model>-<variant>-<key>/
        model.onnx        the graph with its weights
        tokenizer.json    the model's own tokenizer (the `tokenizers` library runs it)
        encoder.json      written last: what was exported, from which files, and model.onnx's sha256

It is written into a temporary folder beside its final place and renamed into place in one step, so a
half-written export is never seen; an entry whose encoder.json is missing or whose model.onnx fails its
checksum is damaged, removed and exported again (with a message).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import threading
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from assistant.embedding import unit_vectors
from assistant.errors import ModelLoadError

# Raised whenever the export code changes what it writes: older cache entries are then not reused.
EXPORT_VERSION = 1
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "encoder.json"
# The graph's inputs, in the order the exporter traced them (BERT-style models).
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
VARIANTS = ("fp32", "int8")


@dataclass(frozen=True, slots=True)
class ExportedModel:
    """One usable cache entry: an exported graph and the facts needed to run it like the original."""

    folder: Path
    model: str
    variant: str  # "fp32" or "int8" (dynamically quantised weights)
    dimension: int
    max_seq_length: int  # longer texts are truncated to this many tokens, as sentence-transformers does

    @property
    def onnx_path(self) -> Path:
        return self.folder / ONNX_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.folder / TOKENIZER_FILE


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _torch_version() -> str:
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "none"


def source_key(model: str, model_path: str, variant: str) -> str:
    """A short key of what an export is made from: the model's files (name, size, time), the variant,
    the export code and the torch version. Any change (a reinstalled or updated model) gives a new key."""
    # The version from the package metadata: importing torch would cost a second of every start-up,
    # and a cached export is run without PyTorch.
    parts = [model, str(Path(model_path).resolve()), variant, str(EXPORT_VERSION), _torch_version()]
    root = Path(model_path)
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            stat = path.stat()
            parts.append(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def entry_folder(cache_dir: Path, model: str, variant: str, key: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model).name or model)[:60]
    return cache_dir / f"{slug}-{variant}-{key}"


def read_entry(folder: Path, *, verify: bool = True) -> ExportedModel:
    """The cache entry in `folder`, checked. Raises ValueError naming what is wrong with it."""
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        raise ValueError(f"{META_FILE} is missing (an export that did not finish)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        entry = ExportedModel(
            folder, str(meta["model"]), str(meta["variant"]), int(meta["dimension"]), int(meta["max_seq_length"])
        )
        expected_sha = str(meta["onnx_sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{META_FILE} is unreadable ({exc})") from None
    for path in (entry.onnx_path, entry.tokenizer_path):
        if not path.is_file():
            raise ValueError(f"{path.name} is missing")
    if verify and _sha256(entry.onnx_path) != expected_sha:
        raise ValueError(f"{ONNX_FILE} does not match its checksum (a damaged or half-copied file)")
    return entry


def _export(model_path: str, model: str, variant: str, key: str, staging: Path) -> None:
    """Write a complete entry into `staging` (which the caller renames into place)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    st = SentenceTransformer(model_path, device="cpu")
    st.eval()
    tokenizer = st.tokenizer
    if not hasattr(tokenizer, "backend_tokenizer"):
        raise ModelLoadError(f"The model {model!r} has no fast tokenizer (tokenizer.json): the ONNX backend needs one")

    class Pipeline(torch.nn.Module):
        """The whole SentenceTransformer forward pass (transformer, pooling, normalisation) as one graph."""

        def __init__(self) -> None:
            super().__init__()
            self.st = st

        def forward(self, input_ids, attention_mask, token_type_ids):
            features = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
            return self.st(features)["sentence_embedding"]

    sample = tokenizer(["a short text", "a somewhat longer text to trace"], padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        raise ModelLoadError(f"The model {model!r} is not BERT-style (no token_type_ids): use encoder_backend torch")
    fp32_path = staging / ("model-fp32.onnx" if variant == "int8" else ONNX_FILE)
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUT_NAMES} | {"sentence_embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns that shape checks become constants (padding length, "is causal", the pooling
        # mask's length): each holds for every input the tokenizer makes, and the vectors are checked
        # against PyTorch's (tests/reliability/test_encoder.py). Not worth a screenful at every export.
        warnings.simplefilter("ignore")
        # The TorchScript exporter (dynamo=False): the dynamo one needs onnxscript and gives the same graph.
        torch.onnx.export(
            Pipeline(),
            tuple(sample[name] for name in INPUT_NAMES),
            str(fp32_path),
            dynamo=False,
            input_names=list(INPUT_NAMES),
            output_names=["sentence_embedding"],
            dynamic_axes=dynamic,
            opset_version=17,
            do_constant_folding=True,
        )
    if variant == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Dynamic quantisation: int8 weights, activations quantised on the fly; no calibration data needed.
        # Per channel: one scale per output column kept the cosine with fp32 at 0.993 (median) against 0.979
        # with one scale per tensor, on chunks of the seed article.
        quantize_dynamic(str(fp32_path), str(staging / ONNX_FILE), weight_type=QuantType.QInt8, per_channel=True)
        fp32_path.unlink()
    tokenizer.backend_tokenizer.save(str(staging / TOKENIZER_FILE))
    dimension = (
        st.get_embedding_dimension()
        if hasattr(st, "get_embedding_dimension")
        else (st.get_sentence_embedding_dimension())
    )
    max_seq_length = st.max_seq_length
    if dimension is None or max_seq_length is None:
        raise ModelLoadError(
            f"The model {model!r} states no embedding dimension or no max_seq_length, which the ONNX export records: "
            "use encoder_backend torch"
        )
    meta = {
        "model": model,
        "variant": variant,
        "key": key,
        "export_version": EXPORT_VERSION,
        "dimension": int(dimension),
        "max_seq_length": int(max_seq_length),
        "pad_token_id": int(tokenizer.pad_token_id or 0),
        "pad_token": str(tokenizer.pad_token or "[PAD]"),
        "onnx_sha256": _sha256(staging / ONNX_FILE),
        "torch": torch.__version__,
    }
    (staging / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")  # last: marks it complete


def ensure_exported(
    model: str,
    model_path: str,
    variant: str,
    cache_dir: Path,
    *,
    progress: Callable[[str], None] = lambda message: None,
) -> ExportedModel:
    """The cached export of `model` as `variant`, exporting it first when missing or damaged.

    Raises:
        ModelLoadError: the export failed or the cache folder cannot be written.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}")
    key = source_key(model, model_path, variant)
    folder = entry_folder(cache_dir, model, variant, key)
    if folder.exists():
        try:
            return read_entry(folder)
        except ValueError as problem:
            progress(f"The exported model in {folder} is damaged: {problem}. Exporting it again.")
            shutil.rmtree(folder, ignore_errors=True)
    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise ModelLoadError(
            f"The ONNX encoder backends need {' and '.join(missing)}, not installed here: run `make install` "
            '(or pip install onnx onnxruntime), or set encoder_backend = "torch".'
        )
    progress(f"Exporting the embedding model {model} to ONNX ({variant}) into {cache_dir} (once)")
    staging = cache_dir / f".tmp-export-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir(parents=True)
        _export(model_path, model, variant, key, staging)
        try:
            os.replace(staging, folder)  # one rename: the entry appears whole or not at all
        except OSError:
            if not folder.is_dir():
                raise
            # Another process finished the same export first; theirs is as good as ours.
        return read_entry(folder)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelLoadError(
            f"Could not export the embedding model {model!r} to ONNX in {cache_dir} ({exc}). "
            'Check that the folder is writable, or set encoder_backend = "torch".'
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class _Tokenizer:
    """The model's tokenizer, padding and truncating like sentence-transformers (to max_seq_length)."""

    def __init__(self, entry: ExportedModel) -> None:
        from tokenizers import Tokenizer

        meta = json.loads((entry.folder / META_FILE).read_text(encoding="utf-8"))
        self._tokenizer = Tokenizer.from_file(str(entry.tokenizer_path))
        self._tokenizer.enable_truncation(entry.max_seq_length)
        self._tokenizer.enable_padding(
            pad_id=int(meta.get("pad_token_id", 0)), pad_token=str(meta.get("pad_token", "[PAD]"))
        )

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        encodings = self._tokenizer.encode_batch(list(texts))
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }

    def vocabulary(self) -> dict[str, int]:
        return self._tokenizer.get_vocab()


class OnnxEmbedder:
    """The exported model run by ONNX Runtime (`runtime="onnxruntime"`) or OpenVINO (`"openvino"`).

    Thread-safe like the PyTorch embedder: concurrent chat requests share one session, one at a time.
    """

    def __init__(
        self,
        entry: ExportedModel,
        *,
        runtime: str = "onnxruntime",
        threads: int = 1,
        batch_size: int = 32,
        name: str | None = None,
    ) -> None:
        self.name = name or entry.model
        # What the vector cache keys on (assistant/vector_cache.py): int8 vectors are not fp32 ones.
        self.backend = "openvino" if runtime == "openvino" else ("onnx-int8" if entry.variant == "int8" else "onnx")
        self.dimension = entry.dimension
        self.batch_size = batch_size
        self.entry = entry
        self._tokenize = _Tokenizer(entry)
        self._lock = threading.Lock()
        if runtime == "onnxruntime":
            self._run = self._onnxruntime(entry, threads)
        elif runtime == "openvino":
            self._run = self._openvino(entry, threads)
        else:
            raise ValueError(f"unknown runtime {runtime!r}")

    @staticmethod
    def _onnxruntime(entry: ExportedModel, threads: int) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelLoadError(
                'onnxruntime is not installed; run `make install` or set encoder_backend = "torch"'
            ) from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle worker threads that spin wait steal the core the other requests (and other processes) need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

        # ONNX Runtime's own exception classes derive from Exception directly, not from RuntimeError.
        unreadable = (
            ort_errors.Fail,
            ort_errors.InvalidProtobuf,
            ort_errors.InvalidGraph,
            ort_errors.NoSuchFile,
            ort_errors.InvalidArgument,
            ort_errors.RuntimeException,
        )
        try:
            session = ort.InferenceSession(str(entry.onnx_path), options, providers=["CPUExecutionProvider"])
        except unreadable as exc:
            raise ModelLoadError(f"ONNX Runtime could not load {entry.onnx_path} ({exc}); delete that folder") from None
        names = {i.name for i in session.get_inputs()}
        return lambda feed: session.run(None, {k: v for k, v in feed.items() if k in names})[0]

    @staticmethod
    def _openvino(entry: ExportedModel, threads: int) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
        try:
            import openvino as ov
        except ImportError:
            raise ModelLoadError(
                'openvino is not installed; pip install openvino, or set encoder_backend = "onnx"'
            ) from None
        core = ov.Core()
        try:
            # f32: on CPUs with bf16 instructions OpenVINO would otherwise compute in bf16 (other vectors).
            compiled = core.compile_model(
                core.read_model(str(entry.onnx_path)),
                "CPU",
                {
                    "INFERENCE_NUM_THREADS": threads,
                    "INFERENCE_PRECISION_HINT": "f32",
                    "PERFORMANCE_HINT": "LATENCY",
                },
            )
        except RuntimeError as exc:
            raise ModelLoadError(f"OpenVINO could not load {entry.onnx_path} ({exc}); delete that folder") from None
        request = compiled.create_infer_request()
        output = compiled.outputs[0]
        return lambda feed: np.array(request.infer(feed)[output])

    def known_words(self) -> frozenset[str]:
        """Whole English words of the model's tokenizer vocabulary (the same as the PyTorch embedder's)."""
        return frozenset(t for t in self._tokenize.vocabulary() if t.isalpha() and t.islower() and len(t) > 1)

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        texts = list(texts)
        # Longest first, like sentence-transformers: texts of similar length share a batch, so little padding.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        with self._lock:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                out[batch] = self._run(self._tokenize([texts[i] for i in batch]))
        # The graph ends in sentence-transformers' Normalize; renormalising in float32 only guards rounding.
        return unit_vectors(out)
