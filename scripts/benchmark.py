"""Benchmark: warm answer latency, start-up, index build and memory, printed as figures.

    .venv/bin/python scripts/benchmark.py [--corpus corpus] [--questions tests/data/gold.jsonl] [--rounds 3]

Targets: warm answer latency p50 <= 25 ms and p95 <= 60 ms on a 2-core machine, on the seed corpus
and on the leaflet corpus (tests/data/leaflets with tests/data/leaflets-tune.jsonl). Timings on a shared machine are noisy, so the naive pipeline
(recursive 1000/200 split, FAISS top-4) is timed in the same run and the ratio is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.baseline import NaiveBaseline  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.embedding import load_embedder  # noqa: E402
from assistant.engine import Assistant, Question  # noqa: E402
from assistant.ingest import load_corpus  # noqa: E402
from assistant.store import build_index  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def time_each(answer, questions: list[Question], rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            answer(question)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--questions", type=Path, default=REPO / "tests/data/gold.jsonl")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    questions = [
        Question(row["question"], tuple(row.get("history") or ()))
        for row in map(json.loads, args.questions.read_text(encoding="utf-8").splitlines())
        if row.get("question")
    ]
    started = time.perf_counter()
    embedder = load_embedder("all-MiniLM-L6-v2")
    model_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"corpus_dir": args.corpus, "index_dir": Path(tmp) / "index"})
        started = time.perf_counter()
        report = build_index(settings, embedder)
        build_seconds = time.perf_counter() - started

        started = time.perf_counter()
        assistant = Assistant.load(settings, embedder=embedder)
        load_seconds = time.perf_counter() - started
        naive = NaiveBaseline(load_corpus(settings.corpus_dir).documents, embedder, settings)

        for question in questions[:20]:  # warm both pipelines
            assistant.answer(question.text, question.history)
            naive.answer_batch([question])
        ours = time_each(lambda q: assistant.answer(q.text, q.history), questions, args.rounds)
        theirs = time_each(lambda q: naive.answer_batch([q]), questions, args.rounds)

        started = time.perf_counter()
        assistant.answer_batch(questions)
        batch_ms = (time.perf_counter() - started) * 1000 / len(questions)

        # The safety rules alone (the model vector is passed in, as the engine does).
        vectors = embedder.encode([q.text for q in questions])
        safety_ms = []
        for _ in range(args.rounds):
            for question, vector in zip(questions, vectors):
                started = time.perf_counter()
                assistant.safety.assess(question.text, question.history, query_vector=vector)
                safety_ms.append((time.perf_counter() - started) * 1000)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p50, p95 = percentile(ours, 50), percentile(ours, 95)
    naive_p50, naive_p95 = percentile(theirs, 50), percentile(theirs, 95)
    print(f"corpus                    {args.corpus} ({report.documents} documents)")
    print(f"questions                 {len(questions)} x {args.rounds} rounds, one at a time (warm)")
    print(f"answer latency p50        {p50:7.1f} ms   (target <= 25)   {'PASS' if p50 <= 25 else 'FAIL'}")
    print(f"answer latency p95        {p95:7.1f} ms   (target <= 60)   {'PASS' if p95 <= 60 else 'FAIL'}")
    print(f"answer latency mean       {statistics.mean(ours):7.1f} ms")
    print(f"naive pipeline p50 / p95  {naive_p50:7.1f} / {naive_p95:.1f} ms")
    print(f"ratio ours / naive        p50 {p50 / naive_p50:.2f}x   p95 {p95 / naive_p95:.2f}x")
    print(f"safety assessment p50/p95 {percentile(safety_ms, 50):7.2f} / {percentile(safety_ms, 95):.2f} ms (part of the answer time)")
    print(f"batch answering           {batch_ms:7.1f} ms per question ({len(questions)} in one batch)")
    print(f"model load                {model_seconds:7.2f} s")
    print(f"index build               {build_seconds:7.2f} s  ({report.chunks} chunks)")
    print(f"assistant start-up        {load_seconds:7.2f} s  (index load, lexicon, safety examples, warm-up)")
    print(f"peak memory (RSS)         {peak_mb:7.0f} MB")
    print(f"cpu threads (torch)       {__import__('torch').get_num_threads()} on {os.cpu_count()} cores")
    return 0 if p50 <= 25 and p95 <= 60 else 1


if __name__ == "__main__":
    sys.exit(main())
