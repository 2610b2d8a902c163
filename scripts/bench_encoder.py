"""Compare the encoder backends on this machine, all in one run: speed and agreement with PyTorch.

For each backend (torch, onnx, onnx-int8, openvino when installed) and thread count (1 and 2):
  - single-query encode p50/p95 in ms (the chat's case: one question at a time), over real questions;
  - batch encode throughput in texts/s (the build's case: chunks in batches of embed_batch_size);
and, once per backend, the agreement of its vectors with PyTorch's on 1,000 real texts (chunks and
sentences of the leaflet corpus): cosine min/median and the largest difference in any component.

The machine is shared and noisy: within a round the configurations take turns query by query and
slice by slice of the batch, so they share the same load; each figure is the median over `--repeats`
rounds, and a ratio to PyTorch with 1 thread is taken within each round, then the median. Prints a
table and writes JSON.

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_encoder.py --out /tmp/bench-encoder.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from assistant.config import BUNDLED_MODEL, ENCODER_BACKENDS, Settings  # noqa: E402
from assistant.embedding import load_embedder  # noqa: E402
from assistant.metrics import percentile  # noqa: E402  # the evaluation's, so every p50 means the same
from assistant.store import build_chunks, read_corpus  # noqa: E402


def real_texts(count: int) -> list[str]:
    """`count` real health texts: the leaflet corpus's chunks, then its sentences, in corpus order."""
    settings = Settings(corpus_dir=REPO / "tests" / "data" / "leaflets")
    chunks = build_chunks(read_corpus(settings), settings)
    texts = list(dict.fromkeys(c.text for c in chunks))
    for chunk in chunks:
        for sentence in chunk.text.split(". "):
            if len(texts) >= count:
                break
            if len(sentence) > 40 and sentence not in texts:
                texts.append(sentence)
    return texts[:count]


def questions() -> list[str]:
    lines = (REPO / "tests" / "data" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def set_threads(key: tuple[str, int]) -> None:
    if key[0] == "torch":
        import torch

        torch.set_num_threads(key[1])  # process-wide: set again before each PyTorch call


def measure_round(embedders: dict, queries: list[str], batch: list[str], chunk: int) -> dict:
    """One round over every configuration, interleaved finely (each query, then each slice of the
    batch, runs on every configuration in turn), so that all of them see the same load from the
    other work on the machine."""
    times = {key: [] for key in embedders}
    batch_seconds = dict.fromkeys(embedders, 0.0)
    for key, embedder in embedders.items():  # warm-up: first calls allocate
        set_threads(key)
        embedder.encode(queries[:3])
    for q in queries:
        for key, embedder in embedders.items():
            set_threads(key)
            start = time.perf_counter()
            embedder.encode([q])
            times[key].append((time.perf_counter() - start) * 1000)
    for first in range(0, len(batch), chunk):
        for key, embedder in embedders.items():
            set_threads(key)
            start = time.perf_counter()
            embedder.encode(batch[first : first + chunk])
            batch_seconds[key] += time.perf_counter() - start
    return {
        key: {
            "query_p50_ms": percentile(times[key], 50),
            "query_p95_ms": percentile(times[key], 95),
            "batch_texts_per_s": len(batch) / batch_seconds[key],
        }
        for key in embedders
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default=",".join(ENCODER_BACKENDS))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--queries", type=int, default=100, help="single-query encodes per measurement")
    parser.add_argument("--batch-texts", type=int, default=256, help="texts encoded per throughput measurement")
    parser.add_argument("--slice", type=int, default=64, help="batch texts run on one configuration before the next")
    parser.add_argument("--agreement-texts", type=int, default=1000)
    parser.add_argument("--cache-dir", type=Path, default=None, help="ONNX export cache (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=Path("bench-encoder.json"))
    args = parser.parse_args(argv)

    backends = [b for b in args.backends.split(",") if b]
    if "openvino" in backends and importlib.util.find_spec("openvino") is None:
        print("openvino is not installed: left out", file=sys.stderr)
        backends.remove("openvino")
    threads = [int(t) for t in args.threads.split(",")]
    texts = real_texts(args.agreement_texts)
    qs = (questions() * 10)[: args.queries]
    batch = texts[: args.batch_texts]
    tmp = tempfile.TemporaryDirectory()
    cache = args.cache_dir or Path(tmp.name)

    embedders = {}
    load_seconds = {}
    for backend in backends:
        for n in threads:
            start = time.perf_counter()
            embedders[(backend, n)] = load_embedder(
                BUNDLED_MODEL, backend=backend, threads=n, cache_dir=cache, progress=lambda m: print(m, file=sys.stderr)
            )
            load_seconds[(backend, n)] = time.perf_counter() - start

    # Agreement with PyTorch: one thread each (the thread count does not change the vectors here).
    reference = embedders[("torch", threads[0])].encode(texts) if "torch" in backends else None
    agreement = {}
    for backend in backends:
        vectors = embedders[(backend, threads[0])].encode(texts)
        if reference is not None:
            cosine = (vectors * reference).sum(axis=1)
            agreement[backend] = {
                "texts": len(texts),
                "cosine_min": float(cosine.min()),
                "cosine_median": float(np.median(cosine)),
                "max_abs_diff": float(np.abs(vectors - reference).max()),
            }

    # One thread count at a time: PyTorch's idle threads from a 2-thread call slow whatever runs next.
    rounds: dict[tuple[str, int], list[dict]] = {key: [] for key in embedders}
    for n in threads:
        group = {key: e for key, e in embedders.items() if key[1] == n}
        for r in range(args.repeats):
            for key, result in measure_round(group, qs, batch, args.slice).items():
                rounds[key].append(result)
                print(f"round {r + 1}/{args.repeats} {key[0]} x{key[1]}: {result}", file=sys.stderr)

    rows = []
    base_key = ("torch", 1) if ("torch", 1) in rounds else None
    for (backend, n), results in rounds.items():
        row = {"backend": backend, "threads": n, "load_s": load_seconds[(backend, n)]}
        for metric in results[0]:
            row[metric] = percentile([r[metric] for r in results], 50)
        if base_key and n == 1:
            # Ratios paired within each round (the same minutes of machine load), then the median.
            base = rounds[base_key]
            row["query_speedup"] = percentile(
                [b["query_p50_ms"] / r["query_p50_ms"] for b, r in zip(base, results, strict=True)], 50
            )
            row["batch_speedup"] = percentile(
                [r["batch_texts_per_s"] / b["batch_texts_per_s"] for b, r in zip(base, results, strict=True)], 50
            )
        elif base_key:  # measured in another phase: ratio of the medians
            base_row = rows[0] if rows and rows[0]["backend"] == "torch" else None
            if base_row:
                row["query_speedup"] = base_row["query_p50_ms"] / row["query_p50_ms"]
                row["batch_speedup"] = row["batch_texts_per_s"] / base_row["batch_texts_per_s"]
        row.update({f"agreement_{k}": v for k, v in agreement.get(backend, {}).items()})
        rows.append(row)

    header = (
        f"{'backend':<10} {'thr':>3} {'query p50 ms':>12} {'p95 ms':>7} {'batch texts/s':>13} "
        f"{'x query':>7} {'x batch':>7} {'cos min':>8} {'cos med':>8} {'max diff':>9}"
    )
    print(header)
    for row in rows:
        print(
            f"{row['backend']:<10} {row['threads']:>3} {row['query_p50_ms']:>12.2f} {row['query_p95_ms']:>7.2f} "
            f"{row['batch_texts_per_s']:>13.1f} {row.get('query_speedup', 0):>7.2f} {row.get('batch_speedup', 0):>7.2f} "
            f"{row.get('agreement_cosine_min', float('nan')):>8.4f} {row.get('agreement_cosine_median', float('nan')):>8.4f} "
            f"{row.get('agreement_max_abs_diff', float('nan')):>9.2e}"
        )
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "setup": {
            "repeats": args.repeats,
            "slice": args.slice,
            "queries": len(qs),
            "batch_texts": len(batch),
            "agreement_texts": len(texts),
            "batch_size": 32,
        },
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
