"""Load benchmark of the web API: many clients at once, then a long run for memory growth.

    .venv/bin/python scripts/bench_load.py [--clients 200] [--sequential 2000] [--max-growth 0.05]

Starts `baclofen-qa serve` as its own process on a free port, on the seed corpus (its index built into
a temporary folder), and talks to it over plain HTTP (`POST /gradio_api/call/ask`, then the result
stream), as any API client would:

1. `--clients` clients at once, one question each (threads released together by a barrier): every
   one must get its own answer (no error, the question echoed back is the one it asked); latency
   p50/p95/max is printed.
2. `--sequential` questions one after another. The server's resident memory (VmRSS from /proc) is
   read after a warm-up and at the end; the run fails if it grew by `--max-growth` or more.

Exits 1 on any error or too much growth, so `make bench` can gate on it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# The evaluation's percentile, so this script's p50 and `baclofen-qa eval`'s mean the same thing.
from assistant.metrics import percentile  # noqa: E402

GOLD = REPO / "tests" / "data" / "gold.jsonl"
START_TIMEOUT_SECONDS = 600  # the first start builds the index with the real model on 2 shared cores
REQUEST_TIMEOUT_SECONDS = 300  # a client at the back of a 200-deep queue waits for all before it


@dataclass(frozen=True, slots=True)
class Outcome:
    """One API call as a client saw it."""

    question: str
    seconds: float
    error: str  # "" when the call returned the answer to `question`


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def questions_from_gold() -> list[str]:
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["question"] for row in rows if row.get("question") and not row.get("history")]


def ask(client: httpx.Client, base: str, question: str) -> Outcome:
    """One question through the HTTP API; any failure becomes the outcome's error text."""
    started = time.perf_counter()
    try:
        posted = client.post(f"{base}/gradio_api/call/ask", json={"data": [question, []]})
        posted.raise_for_status()
        event_id = posted.json()["event_id"]
        stream = client.get(f"{base}/gradio_api/call/ask/{event_id}")
        stream.raise_for_status()
        event, payload = "", None
        for line in stream.text.splitlines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                payload = json.loads(line.split(":", 1)[1])
        seconds = time.perf_counter() - started
        if event != "complete":
            return Outcome(question, seconds, f"event {event!r}: {payload!r}"[:300])
        if not isinstance(payload, list) or payload[0].get("question") != question.strip():
            return Outcome(question, seconds, f"wrong answer: {str(payload)[:200]}")
        return Outcome(question, seconds, "")
    except (httpx.HTTPError, ValueError, KeyError, IndexError, AttributeError) as exc:
        return Outcome(question, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"[:300])


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def start_server(port: int, index_dir: Path, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(REPO))
    env = {k: v for k, v in env.items() if not k.startswith("BACLOFEN_QA_")}  # the benchmark's own settings only
    command = [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port), "--index-dir", str(index_dir)]
    log = log_path.open("w")
    # Its own process group, so that stopping it also stops anything it started.
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_until_up(server: subprocess.Popen, base: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(
                f"The server exited ({server.returncode}) before answering:\n{log_path.read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"{base}/gradio_api/info", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"The server did not answer within {START_TIMEOUT_SECONDS} s:\n{log_path.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def concurrent_phase(base: str, questions: list[str], clients: int) -> list[Outcome]:
    barrier = threading.Barrier(clients)

    def one(question: str) -> Outcome:
        with httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS) as client:
            barrier.wait(timeout=120)
            return ask(client, base, question)

    picked = [questions[i % len(questions)] for i in range(clients)]
    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(one, picked))


def report_latency(label: str, outcomes: list[Outcome]) -> None:
    ms = [o.seconds * 1000 for o in outcomes]
    errors = [o for o in outcomes if o.error]
    print(
        f"{label}: {len(outcomes)} requests, {len(errors)} errors, latency p50 {percentile(ms, 50):.0f} ms, "
        f"p95 {percentile(ms, 95):.0f} ms, max {max(ms):.0f} ms",
        flush=True,
    )
    for outcome in errors[:5]:
        print(f"  error for {outcome.question!r}: {outcome.error}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="API clients at once (default 200)")
    parser.add_argument("--sequential", type=int, default=2000, help="requests one after another (default 2000)")
    parser.add_argument("--warm-up", type=int, default=100, help="requests before the first memory reading")
    parser.add_argument("--max-growth", type=float, default=0.05, help="allowed RSS growth over the run (0.05 = 5%%)")
    args = parser.parse_args()

    questions = questions_from_gold()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        log_path = Path(tmp) / "server.log"
        started = time.perf_counter()
        server = start_server(port, Path(tmp) / "index", log_path)
        try:
            wait_until_up(server, base, log_path)
            print(f"server up on {base} in {time.perf_counter() - started:.1f} s (pid {server.pid})", flush=True)

            started = time.perf_counter()
            outcomes = concurrent_phase(base, questions, args.clients)
            report_latency(f"{args.clients} clients at once ({time.perf_counter() - started:.1f} s)", outcomes)
            failed |= any(o.error for o in outcomes)

            with httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS) as client:
                for i in range(args.warm_up):
                    ask(client, base, questions[i % len(questions)])
                rss_start = rss_kib(server.pid)
                samples = [rss_start]
                outcomes = []
                started = time.perf_counter()
                for i in range(args.sequential):
                    outcomes.append(ask(client, base, questions[i % len(questions)]))
                    if (i + 1) % max(1, args.sequential // 10) == 0:
                        samples.append(rss_kib(server.pid))
                rss_end = rss_kib(server.pid)
            report_latency(f"{args.sequential} sequential ({time.perf_counter() - started:.1f} s)", outcomes)
            failed |= any(o.error for o in outcomes)
            growth = (rss_end - rss_start) / rss_start
            print(
                f"server RSS: {rss_start / 1024:.1f} MiB after warm-up, {rss_end / 1024:.1f} MiB after "
                f"{args.sequential} requests: {growth:+.2%} (limit {args.max_growth:.0%}); "
                f"samples MiB: {' '.join(f'{s / 1024:.0f}' for s in samples)}",
                flush=True,
            )
            if growth >= args.max_growth:
                print(f"FAIL: memory grew {growth:.2%}, at or above {args.max_growth:.0%}", flush=True)
                failed = True
            if server.poll() is not None:
                print(f"FAIL: the server exited ({server.returncode})", flush=True)
                failed = True
        finally:
            stop(server)
    print("FAIL" if failed else "OK: no errors, memory growth under the limit", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
