"""Start-up and memory per chunk, measured on two corpora of different sizes (issue 12's targets:
start-up after the model <= 1.5 s at 14k chunks; memory added per chunk <= 8 KB).

Each corpus is measured in a fresh process (so that nothing of the other stays in memory): the model is
loaded and warmed first, then `Assistant.load` is timed (wall and CPU seconds, best of `--repeat`) and the
process's resident memory is read before and after the first start; each corpus is measured in
`--processes` fresh processes (start-up: the best; memory: the median, as the allocator keeps a different
amount in each process). Memory per chunk is the slope between the two corpora,
(RSS added by the large - RSS added by the small) / (chunks of the large - chunks of the small), so what
every start pays whatever the corpus (the safety rules, the topic banks) is not counted per chunk.

The indexes are built first when missing or stale (that takes minutes for 14k chunks).

    .venv/bin/python scripts/make_noise_corpus.py /tmp/noise-100 100
    .venv/bin/python scripts/make_noise_corpus.py /tmp/noise-1250 1250
    .venv/bin/python scripts/bench_startup.py /tmp/noise-100 /tmp/noise-1250 --index-root /tmp/startup-indexes
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def resident_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure_one(corpus: Path, index_dir: Path, repeat: int, *, prepare: bool) -> dict:
    """In this process: with `prepare`, build the index if needed and make a first start (which writes
    the example-vector cache); otherwise time `Assistant.load` with the model already loaded, and read
    the memory the first of those starts added."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant.config import load_settings
    from assistant.embedding import load_embedder_for
    from assistant.engine import Assistant

    settings = load_settings({"corpus_dir": corpus, "index_dir": index_dir}, environ={})
    embedder = load_embedder_for(settings)
    if prepare:
        Assistant.load(settings, embedder=embedder, progress=lambda message: print(f"  {message}", file=sys.stderr))
        return {}
    embedder.encode(["warm the model up"])
    gc.collect()
    before = resident_mb()
    walls, cpus, added, kept = [], [], 0.0, None
    for attempt in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        assistant = Assistant.load(settings, embedder=embedder, build_if_needed=False)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        if attempt == 0:
            gc.collect()
            added, kept = resident_mb() - before, assistant
    assert kept is not None
    return {
        "chunks": len(kept.index.chunks),
        "sentences": len(kept.index.sentences),
        "start_up_wall_s": round(min(walls), 3),
        "start_up_cpu_s": round(min(cpus), 3),
        "added_mb": round(added, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("small", type=Path, help="the smaller corpus folder")
    parser.add_argument("large", type=Path, help="the larger corpus folder")
    parser.add_argument(
        "--index-root", type=Path, default=Path("/tmp/bench-startup"), help="where the two indexes are kept"
    )
    parser.add_argument("--repeat", type=int, default=3, help="starts timed per process (the best is kept)")
    parser.add_argument("--processes", type=int, default=3, help="fresh processes per corpus (memory: their median)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    # internal: one corpus (`small`) with its index folder (`large`), in a process of its own
    parser.add_argument("--one", choices=("prepare", "measure"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(args.small, args.large, args.repeat, prepare=args.one == "prepare")))
        return 0
    figures: dict = {}
    for name, corpus in (("small", args.small), ("large", args.large)):
        runs = []
        for step in ("prepare", *["measure"] * args.processes):
            command = [sys.executable, __file__, str(corpus), str(args.index_root / name), "--one", step]
            done = subprocess.run(
                [*command, "--repeat", str(args.repeat)], cwd=REPO, stdout=subprocess.PIPE, text=True, check=False
            )
            if done.returncode != 0:
                return 1
            if step == "measure":
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        # Start-up: the best run (the least disturbed by other jobs); memory: the median run (the allocator
        # keeps a different amount from process to process).
        figures[name] = {
            **runs[0],
            "start_up_wall_s": min(r["start_up_wall_s"] for r in runs),
            "start_up_cpu_s": min(r["start_up_cpu_s"] for r in runs),
            "added_mb": statistics.median(r["added_mb"] for r in runs),
            "added_mb_runs": [r["added_mb"] for r in runs],
        }
    small, large = figures["small"], figures["large"]
    figures["kb_per_chunk"] = round(
        (large["added_mb"] - small["added_mb"]) * 1024 / (large["chunks"] - small["chunks"]), 2
    )
    for name in ("small", "large"):
        f = figures[name]
        print(
            f"{name:5s} {f['chunks']:>6,} chunks  start-up after the model {f['start_up_wall_s']:.2f} s wall, "
            f"{f['start_up_cpu_s']:.2f} s CPU  memory added {f['added_mb']:.0f} MB (median of {f['added_mb_runs']})"
        )
    print(f"memory per chunk (slope between the two): {figures['kb_per_chunk']:.2f} KB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
