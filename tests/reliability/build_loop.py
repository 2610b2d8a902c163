"""A process that rebuilds an index again and again, for tests that kill it or load while it switches.

    python -m tests.reliability.build_loop CORPUS INDEX_DIR [BUILDS]

Uses the keyword FakeEmbedder, so a build takes milliseconds and a kill lands at any point of it (reading,
embedding, writing, switching, cleaning up). Before each build it rewrites `changing.txt` with a new
version, so every build differs from the one before. Prints "ready" once imported, then one line per build.
"""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.config import Settings
from assistant.store import build_index
from tests.conftest import FakeEmbedder


def changing_text(version: int) -> str:
    return f"Version {version}\n\nThis is version {version} of a document that changes: kidney dose {version}.\n"


def main(argv: list[str]) -> None:
    corpus, index_dir = Path(argv[0]), Path(argv[1])
    builds = int(argv[2]) if len(argv) > 2 else 10**9
    settings = Settings(corpus_dir=corpus, index_dir=index_dir, model="fake-keywords", chunk_max_chars=200)
    embedder = FakeEmbedder()
    print("ready", flush=True)
    for version in range(builds):
        (corpus / "changing.txt").write_text(changing_text(version), encoding="utf-8")
        build_index(settings, embedder)
        print(f"built {version}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
