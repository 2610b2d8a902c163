"""The lint and type gates (issue 13, part E), and a fault they found.

`make test` runs `make lint` first: ruff check, ruff format --check and mypy, configured in pyproject.toml.
These tests pin that wiring (a gate quietly dropped from the Makefile or the config would pass unnoticed)
and replay the one finding that changed behaviour: the spelling cache kept old lexicons alive.
"""

from __future__ import annotations

import gc
import re
import tomllib
import weakref
from pathlib import Path

from assistant.lexicon import Lexicon

REPO = Path(__file__).resolve().parents[2]
LINTED = ["assistant", "ui", "tests", "scripts"]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _recipe(target: str) -> tuple[list[str], list[str]]:
    """(prerequisites, recipe lines) of a Makefile target, with $(LINTED) and $(BIN) spelt out."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^(\w+)\s*:?=\s*(.*)$", makefile, flags=re.MULTILINE))
    match = re.search(rf"^{target}:([^=\n]*)\n((?:\t.*\n)*)", makefile, flags=re.MULTILINE)
    assert match, f"the Makefile has no `{target}` target"
    lines = [line.strip() for line in match.group(2).splitlines()]
    for name in ("LINTED", "BIN", "VENV"):
        lines = [line.replace(f"$({name})", variables[name].strip()) for line in lines]
    return match.group(1).split(), lines


def test_make_test_runs_lint_before_any_test():
    prerequisites, recipe = _recipe("test")
    assert prerequisites == ["install", "lint"]  # made in this order, before the first line of the recipe
    assert not any("lint" in line for line in recipe)


def test_make_lint_runs_ruff_check_ruff_format_check_and_mypy_from_the_venv():
    prerequisites, recipe = _recipe("lint")
    assert "install" in prerequisites  # the locked ruff and mypy, not whatever is on PATH
    paths = " ".join(LINTED)
    assert recipe == [
        f".venv/bin/ruff check {paths}",
        f".venv/bin/ruff format --check {paths}",
        ".venv/bin/mypy assistant ui",
    ]


def test_ruff_and_mypy_are_locked_test_dependencies():
    extra = _pyproject()["project"]["optional-dependencies"]["test"]
    pinned = {re.split(r"[<>=!~ ]", line, maxsplit=1)[0].lower(): line for line in extra}
    assert {"ruff", "mypy"} <= set(pinned)
    lock = (REPO / "requirements-test.lock").read_text(encoding="utf-8")
    for name in ("ruff", "mypy"):
        assert "<" in pinned[name], f"{name}: a new release adds rules, so the range has an upper bound"
        assert re.search(rf"^{name}==", lock, flags=re.MULTILINE), f"requirements-test.lock does not pin {name}"


def test_ruff_is_configured_with_the_agreed_rule_set_and_line_length():
    ruff = _pyproject()["tool"]["ruff"]
    assert ruff["line-length"] == 120
    assert {"E", "F", "W", "I", "B", "UP", "SIM"} <= set(ruff["lint"]["select"])
    # Each ignore is explained where it is made (a comment above it in pyproject.toml).
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    for code in ruff["lint"].get("ignore", []):
        line_above = text[: text.index(f'"{code}",')].splitlines()[-2]
        assert line_above.strip().startswith("#"), f"ruff ignores {code} without saying why"


def test_mypy_checks_the_packages_and_skips_imports_only_of_named_untyped_packages():
    mypy = _pyproject()["tool"]["mypy"]
    assert set(mypy["files"]) == {"assistant", "ui"}
    assert mypy["check_untyped_defs"] is True
    assert "ignore_missing_imports" not in mypy  # never for every package at once
    overrides = [o for o in mypy.get("overrides", []) if o.get("ignore_missing_imports")]
    modules = [m for o in overrides for m in ([o["module"]] if isinstance(o["module"], str) else o["module"])]
    assert modules and not any(m in ("*", "assistant.*", "ui.*") for m in modules)


def test_a_lexicon_is_freed_once_nothing_uses_it():
    """ruff B019: `lru_cache` on the correction method was one cache for the class, whose keys held every
    lexicon it had corrected a word for (and its spelling index) alive after the engine dropped it."""
    lexicon = Lexicon(["Baclofen may cause drowsiness and dizziness."], dictionary=frozenset())
    assert lexicon.correct("drowsyness") == "drowsiness"
    gone = weakref.ref(lexicon)
    del lexicon
    gc.collect()
    assert gone() is None


def test_each_lexicon_corrects_against_its_own_documents():
    first = Lexicon(["Baclofen may cause drowsiness."], dictionary=frozenset())
    second = Lexicon(["Baclofen may cause dizziness."], dictionary=frozenset())
    assert first.correct("drowsyness") == "drowsiness"
    assert second.correct("drowsyness") == "drowsyness"  # not a typo of any word in these documents
    assert second.correct("dizzyness") == "dizziness"
