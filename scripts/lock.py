"""Write and check the lock files: exact versions and sha256 hashes of every dependency.

    requirements-torch.lock   torch alone, the CPU build, installed first with --no-deps
    requirements.lock         what `make run` installs (the [project] dependencies, torch left out)
    requirements-test.lock    what `make test` installs (the same plus the `test` extra)

Every lock starts with `# inputs-sha256: ...`, a digest of the dependency lists of pyproject.toml
(dependencies, the test extra, requires-python, build requires, the torch pin): `--check` (run by
tests/test_release.py in the fast tier) fails when pyproject.toml changed and `make lock` was not run,
and when a pin no longer satisfies its range. Cheap and offline: nothing is re-resolved.

torch is resolved only from the CPU build pip finds through its configured find-links (this machine's
/etc/pip.conf): a resolver that saw PyPI's torch would put the CUDA packages (several GB) in the lock.

Usage:
    python scripts/lock.py --uv .venv-lock/bin/uv     # regenerate, keeping pins the ranges still allow
    python scripts/lock.py --uv .venv-lock/bin/uv --upgrade   # the newest versions (make lock-upgrade)
    python scripts/lock.py --check                    # exit 1 with the reasons when stale
    python scripts/lock.py --check --digest-only      # the same with the standard library alone
    python scripts/lock.py --check --installed        # and this venv holds exactly the locked versions
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TORCH_LOCK = "requirements-torch.lock"
RUN_LOCK = "requirements.lock"
TEST_LOCK = "requirements-test.lock"
LOCKS = (TORCH_LOCK, RUN_LOCK, TEST_LOCK)
DIGEST_PREFIX = "# inputs-sha256: "
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def canonical(name: str) -> str:
    """PEP 503 name: 'PyStemmer' and 'pystemmer', 'gradio_client' and 'gradio-client' are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pyproject(root: Path = ROOT) -> dict:
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))


def lock_inputs(pyproject: dict) -> dict:
    """Everything in pyproject.toml that decides what the locks contain."""
    project = pyproject["project"]
    return {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "test": sorted(project.get("optional-dependencies", {}).get("test", [])),
        "build-requires": sorted(pyproject.get("build-system", {}).get("requires", [])),
        "torch": pyproject["tool"]["baclofen-qa"]["torch"],
    }


def inputs_digest(pyproject: dict) -> str:
    return hashlib.sha256(json.dumps(lock_inputs(pyproject), sort_keys=True).encode()).hexdigest()


def read_pins(text: str) -> dict[str, str]:
    """{canonical name: version} of every `name==version` line of a lock."""
    return {canonical(m.group(1)): m.group(2) for line in text.splitlines() if (m := PIN.match(line))}


def read_hashes(text: str) -> dict[str, list[str]]:
    """{`name==version`: its sha256 hashes} of every pin of a lock (hashes sit on continuation lines)."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if match := PIN.match(line):
            current = f"{match.group(1)}=={match.group(2)}"
            out[current] = []
        elif current and line.startswith(" "):
            out[current] += re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
        else:
            current = None
    for pin in out:
        first = next(line for line in text.splitlines() if line.startswith(pin))
        out[pin] += re.findall(r"--hash=sha256:([0-9a-f]{64})", first)
    return out


def check_locks(root: Path = ROOT, *, digest_only: bool = False) -> list[str]:
    """What is wrong with the lock files in `root`, in plain words; empty when they match pyproject.toml.

    `digest_only` checks the recorded digests and hashes with the standard library alone (before the
    venv has `packaging`), not that each pin satisfies its range.
    """
    pyproject = read_pyproject(root)
    digest = inputs_digest(pyproject)
    inputs = lock_inputs(pyproject)
    problems: list[str] = []
    texts: dict[str, str] = {}
    for name in LOCKS:
        path = root / name
        if not path.is_file():
            problems.append(f"{name} is missing: run `make lock`")
            continue
        texts[name] = path.read_text(encoding="utf-8")
        recorded = next(
            (line[len(DIGEST_PREFIX) :].strip() for line in texts[name].splitlines() if line.startswith(DIGEST_PREFIX)),
            None,
        )
        if recorded != digest:
            problems.append(f"{name} was written for other dependency lists than pyproject.toml's: run `make lock`")
        for pin, hashes in read_hashes(texts[name]).items():
            if not hashes:
                problems.append(f"{name}: {pin} has no hash (pip's --require-hashes would refuse it)")
    if problems or digest_only:
        return problems
    from packaging.requirements import Requirement
    from packaging.version import Version

    pins = {name: read_pins(text) for name, text in texts.items()}
    expected = {
        TORCH_LOCK: [inputs["torch"]],
        RUN_LOCK: inputs["dependencies"],
        TEST_LOCK: inputs["dependencies"] + inputs["test"],
    }
    for name, requirements in expected.items():
        for line in requirements:
            requirement = Requirement(line)
            key = canonical(requirement.name)
            version = pins[name].get(key)
            if version is None:
                problems.append(f"{name} does not pin {requirement.name} (pyproject.toml: {line}): run `make lock`")
            elif not requirement.specifier.contains(Version(version), prereleases=True):
                problems.append(f"{name} pins {requirement.name}=={version}, outside pyproject.toml's {line!r}")
    for key, version in pins[RUN_LOCK].items():
        if pins[TEST_LOCK].get(key) != version:
            problems.append(f"{RUN_LOCK} pins {key}=={version} but {TEST_LOCK} has {pins[TEST_LOCK].get(key)}")
    torch_names = set(pins[TORCH_LOCK])
    for name in (RUN_LOCK, TEST_LOCK):
        if torch_names & set(pins[name]):
            problems.append(f"{name} pins torch, which only {TORCH_LOCK} may (the CPU build, installed first)")
    return problems


def check_installed(root: Path = ROOT, lock_name: str = TEST_LOCK) -> tuple[list[str], list[str]]:
    """(problems, notes) comparing the running environment with the torch lock and `lock_name`.

    A problem: a locked package missing or at another version. A note: a package the locks do not list
    (installed by hand); it cannot change a locked version, so it is reported, not failed.
    """
    from importlib import metadata

    pins = read_pins((root / TORCH_LOCK).read_text(encoding="utf-8"))
    pins |= read_pins((root / lock_name).read_text(encoding="utf-8"))
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    problems = [
        f"{name}=={version} is locked but "
        + (f"{installed[name]} is installed" if name in installed else "not installed")
        + ": run `make install`"
        for name, version in sorted(pins.items())
        if installed.get(name) != version
    ]
    notes = [
        f"{name}=={version} is installed but in no lock"
        for name, version in sorted(installed.items())
        if name not in pins and name not in ("pip", "baclofen-qa")
    ]
    return problems, notes


def pip_find_links() -> list[str]:
    """Where pip looks for local wheels (PIP_FIND_LINKS, then pip's configuration): the CPU torch lives there."""
    found = os.environ.get("PIP_FIND_LINKS", "").split()
    configured = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.find-links"], capture_output=True, text=True
    )
    if configured.returncode == 0:
        found += configured.stdout.split()
    return list(dict.fromkeys(found))


def torch_pin(python: str, torch: str, scratch: Path) -> str:
    """`torch==<version> --hash=...` of the very file pip fetches here (uv does not hash local wheels)."""
    folder = scratch / "torch"
    subprocess.run([python, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(folder), torch], check=True)
    (wheel,) = folder.glob("torch-*.whl")
    version = wheel.name.split("-")[1]
    digest = hashlib.sha256()
    with open(wheel, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"torch=={version} \\\n    --hash=sha256:{digest.hexdigest()}\n    # the file pip finds for {torch}: {wheel.name}\n"


def write_locks(uv: str, python: str, root: Path = ROOT, *, upgrade: bool = False) -> None:
    """Resolve pyproject.toml into the three locks. The current test lock's pins are kept wherever the
    ranges still allow them (uv reads an existing output file as its preferences), so adding one
    dependency does not move the others; `upgrade` resolves the newest versions instead."""
    pyproject = read_pyproject(root)
    digest = inputs_digest(pyproject)
    torch = pyproject["tool"]["baclofen-qa"]["torch"]
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    header = (
        "# Written by `make lock` (scripts/lock.py) with uv; do not edit. Exact versions and sha256 hashes\n"
        f"# for Python {version} on {platform.system()} {platform.machine()}. tests/test_release.py checks the\n"
        "# digest below against pyproject.toml's dependency lists.\n"
        f"{DIGEST_PREFIX}{digest}\n"
    )
    uv = str(Path(uv).resolve()) if os.sep in uv else (shutil.which(uv) or uv)  # uv runs in a scratch folder
    common = [uv, "pip", "compile", "--quiet", "--generate-hashes", "--no-header", "--python", python]
    common += ["--upgrade"] if upgrade else []
    for link in pip_find_links():
        common += ["--find-links", link]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        constraint = scratch / "torch-constraint.txt"
        constraint.write_text(torch + "\n", encoding="utf-8")
        # A copy: uv reads the static dependency lists only (the version is the one dynamic field).
        shutil.copyfile(root / "pyproject.toml", scratch / "pyproject.toml")
        test_out = scratch / TEST_LOCK
        if (root / TEST_LOCK).is_file():
            shutil.copyfile(root / TEST_LOCK, test_out)
        # torch is resolved (its dependencies are locked here) but installed from TORCH_LOCK.
        # Run in the scratch folder with relative names, so the "via" notes in the locks name no temporary path.
        subprocess.run(
            [
                *common,
                "--extra",
                "test",
                "-c",
                constraint.name,
                "--no-emit-package",
                "torch",
                "-o",
                TEST_LOCK,
                "pyproject.toml",
            ],
            check=True,
            cwd=scratch,
        )
        # The run lock takes its versions from the test lock, so `make run` and `make test` agree.
        run_out = scratch / RUN_LOCK
        subprocess.run(
            [
                *common,
                "-c",
                constraint.name,
                "-c",
                TEST_LOCK,
                "--no-emit-package",
                "torch",
                "-o",
                RUN_LOCK,
                "pyproject.toml",
            ],
            check=True,
            cwd=scratch,
        )
        torch_text = torch_pin(python, torch, scratch)
        # Written only once every resolution succeeded: a failed `make lock` leaves the locks as they were.
        (root / TEST_LOCK).write_text(header + _strip_header(test_out.read_text(encoding="utf-8")), encoding="utf-8")
        (root / RUN_LOCK).write_text(header + _strip_header(run_out.read_text(encoding="utf-8")), encoding="utf-8")
        (root / TORCH_LOCK).write_text(header + torch_text, encoding="utf-8")


def _strip_header(text: str) -> str:
    """uv's output without any leading comment lines (the header is ours)."""
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="check the locks against pyproject.toml; write nothing")
    parser.add_argument(
        "--installed",
        action="store_true",
        help="with --check: also compare this environment's packages with the test lock",
    )
    parser.add_argument("--digest-only", action="store_true", help="with --check: digests and hashes only")
    parser.add_argument("--upgrade", action="store_true", help="resolve the newest versions the ranges allow")
    parser.add_argument("--uv", default="uv", help="the uv executable used to resolve (make lock installs one)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter the locks are resolved for")
    args = parser.parse_args(argv)
    if not args.check:
        write_locks(args.uv, args.python, upgrade=args.upgrade)
    problems = check_locks(digest_only=args.digest_only)
    if args.installed and not problems:
        problems, notes = check_installed()
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
