"""Make a corpus of the seed article plus N unrelated documents, to check that the assistant holds up
when a corpus grows with files about other things (issue 8: "seed article + 200 unrelated documents").

The unrelated documents are the long descriptions of the Python packages installed in this
environment (their METADATA files), then, to reach N, the docstrings of their modules: real English
prose about software, already on the machine, no download. They get no sidecar, so the index build must find out by itself that they are about no
medicine. The seed article keeps its sidecar.

    .venv/bin/python scripts/make_noise_corpus.py /tmp/noise-corpus 200
    .venv/bin/baclofen-qa eval tests/data/gold.jsonl --corpus /tmp/noise-corpus --index-dir /tmp/noise-index
"""

from __future__ import annotations

import argparse
import shutil
import sys
from email.parser import Parser
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "corpus" / "baclofen-article.txt"
MIN_CHARS = 400  # skip packages whose description is a line or two
SKIP = {"baclofen-qa"}  # this project's own README is about baclofen


def package_descriptions(limit: int) -> list[tuple[str, str]]:
    """(name, description) of installed packages with a real description, sorted by name."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        raw = dist.read_text("METADATA") or ""
        message = Parser().parsestr(raw)
        body = message.get_payload() if not message.is_multipart() else ""
        name = (message.get("Name") or "").strip().lower()
        if name and name not in SKIP and isinstance(body, str) and len(body.strip()) >= MIN_CHARS and name not in found:
            found[name] = body.strip()
    return sorted(found.items())[:limit]


def module_docstrings(limit: int) -> list[tuple[str, str]]:
    """(module path, docstring) of installed modules with a long docstring, sorted by path."""
    import ast
    import sysconfig

    root = Path(sysconfig.get_paths()["purelib"])
    found = []
    for path in sorted(root.rglob("*.py")):
        if len(found) >= limit:
            break
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            continue
        if doc and len(doc) >= MIN_CHARS and "baclofen" not in doc.lower():
            found.append((path.relative_to(root).with_suffix("").as_posix().replace("/", "."), doc))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to create (must not exist, or be empty)")
    parser.add_argument("n", type=int, help="how many unrelated documents")
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        print(f"{args.out} is not empty; choose a new folder", file=sys.stderr)
        return 2
    docs = package_descriptions(args.n)
    docs += module_docstrings(args.n - len(docs))
    if len(docs) < args.n:
        print(f"only {len(docs)} package descriptions and module docstrings found", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SEED, args.out / SEED.name)
    shutil.copyfile(SEED.with_name(SEED.name + ".meta.json"), args.out / (SEED.name + ".meta.json"))
    for name, body in docs:
        (args.out / f"unrelated-{name}.md").write_text(body + "\n", encoding="utf-8")
    print(f"{args.out}: the seed article and {len(docs)} unrelated documents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
