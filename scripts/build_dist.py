"""Build the wheel and sdist (`make dist`) from a copy of the source, with the commit recorded in them.

The tracked files (`git ls-files`, as they are in the work tree) are copied to a scratch folder, the
commit is written into its `assistant/_build_info.py`, and `python -m build --no-isolation` builds the
sdist, then the wheel from that sdist. The checkout itself is never written to, so a build cannot leave
a stale `_build_info.py` behind. --no-isolation: the build uses the locked setuptools of this venv
instead of fetching one from the network.

Usage: python scripts/build_dist.py [--outdir dist]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.version import UNKNOWN, git_commit, write_build_info  # noqa: E402


def source_files(root: Path) -> list[Path]:
    """The files that make up the release: git's tracked files, or everything when not a checkout."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True)
    if listed.returncode == 0 and git_commit(root):
        return [root / name for name in listed.stdout.decode().split("\0") if name and (root / name).is_file()]
    skip = {".git", ".venv", ".venv-lock", "build", "dist", "index", "eval-out", ".eval-index"}
    return [p for p in root.rglob("*") if p.is_file() and not skip & set(p.relative_to(root).parts)]


def build(outdir: Path, root: Path = ROOT) -> list[Path]:
    """Build the sdist and wheel of `root` into `outdir`; returns their paths."""
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="baclofen-qa-build-") as scratch:
        copy = Path(scratch) / "src"
        for path in source_files(root):
            target = copy / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        write_build_info(copy / "assistant", git_commit(root) or UNKNOWN)
        subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(copy)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return sorted(outdir.glob("baclofen_qa-*"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the wheel and sdist with the commit recorded in them.")
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    for path in build(args.outdir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
