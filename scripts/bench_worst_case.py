"""Worst case per input size: the slowest request and the memory it added, for inputs of 10 to 1M characters.

    .venv/bin/python scripts/bench_worst_case.py [--corpus corpus] [--max-size 1000000] [--fake-model]

For each size, four shapes of request, each answered by the real engine (built once):
  question      a real question repeated to the size (refused above max_question_chars)
  long word     one word of random letters as the question (refused above max_question_chars)
  history word  a short question after one earlier "question" that is a word of that many letters
  history       a short question after earlier real questions adding up to the size
Printed per size: the worst time over the shapes (and which), the growth of the process's peak RSS
(the high-water mark: memory the request needed at once), and of its current RSS (memory kept after it).
A refusal (InvalidQuestionError) counts as a request: its time is what the refusal cost.

Then the cost of reading HTML pages with 15,000 to 60,000 navigation elements (CPU seconds; linear in
the page now, 72 s at 60,000 with the old repeated decompose).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import string
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.config import BUNDLED_MODEL, Settings  # noqa: E402
from assistant.engine import Assistant  # noqa: E402
from assistant.errors import InvalidQuestionError  # noqa: E402

SIZES = (10, 100, 1_000, 10_000, 100_000, 1_000_000)


def current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # kilobytes on Linux


def shapes(size: int, questions: list[str], rng: random.Random) -> dict[str, tuple[str, list[str]]]:
    word = "".join(rng.choices(string.ascii_lowercase, k=size))
    asked = " ".join(questions)
    question = (asked * (size // max(1, len(asked)) + 1))[:size]
    history: list[str] = []
    while sum(map(len, history)) < size:
        history.append(questions[len(history) % len(questions)])
    return {
        "question": (question, []),
        "long word": (word, []),
        "history word": ("is that safe?", [word]),
        "history": ("and is that safe?", history),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--max-size", type=int, default=SIZES[-1], help="skip larger sizes (e.g. on old code)")
    parser.add_argument("--fake-model", action="store_true", help="the keyword model of the tests, not the real one")
    args = parser.parse_args()

    if args.fake_model:
        from tests.conftest import FakeEmbedder

        embedder, model = FakeEmbedder(), "fake-keywords"
    else:
        from assistant.embedding import load_embedder

        embedder, model = load_embedder(BUNDLED_MODEL), BUNDLED_MODEL
    rows = [json.loads(line) for line in (REPO / "tests/data/gold.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = [r["question"] for r in rows if r.get("question")][:40]
    rng = random.Random(10)
    with tempfile.TemporaryDirectory() as index_dir:
        assistant = Assistant.load(
            Settings(corpus_dir=args.corpus, index_dir=Path(index_dir), model=model), embedder=embedder
        )
        for question in questions[:10]:
            assistant.answer(question)  # warm
        print(f"{'size':>10}  {'worst ms':>9}  {'worst shape':<13} {'peak RSS +MB':>12}  {'RSS kept +MB':>12}  outcome")
        for size in (s for s in SIZES if s <= args.max_size):
            worst = (0.0, "", "")
            peak_before, current_before = peak_rss_mb(), current_rss_mb()
            for name, (question, history) in shapes(size, questions, rng).items():
                started = time.perf_counter()
                try:
                    outcome = assistant.answer(question, history).kind
                except InvalidQuestionError:
                    outcome = "refused"
                elapsed_ms = (time.perf_counter() - started) * 1000
                worst = max(worst, (elapsed_ms, name, outcome))
            print(
                f"{size:>10,}  {worst[0]:>9.1f}  {worst[1]:<13} {peak_rss_mb() - peak_before:>12.1f}  "
                f"{current_rss_mb() - current_before:>12.1f}  {worst[2]}"
            )
    html_cost()
    return 0


def html_cost() -> None:
    from assistant.html_text import html_to_text

    print(f"\n{'<nav> elements':>14}  {'CPU s':>6}  {'per 1,000':>9}")
    for count in (15_000, 30_000, 60_000):
        items = "".join(f"<span>w{i}</span><nav><a href='/{i}'>link {i}</a></nav>" for i in range(count))
        page = f"<html><body><main><p>Content.</p>{items}</main></body></html>"
        started = time.process_time()
        html_to_text(page)
        spent = time.process_time() - started
        print(f"{count:>14,}  {spent:>6.2f}  {spent / count * 1000:>9.3f}")


if __name__ == "__main__":
    sys.exit(main())
