"""The README's usage blocks are the real `--help` of every command (scripts/readme_usage.py, `make readme`)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

README = REPO / "README.md"


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


readme_usage = _load_script("readme_usage")


def _edit_line_in_block(text: str, command: str, old: str, new: str) -> str:
    """`text` with `old` replaced by `new` inside the usage block of `command` only."""
    start = text.index(f"<!-- usage: {command} -->")
    end = text.index("<!-- /usage -->", start)
    assert old in text[start:end]
    return text[:start] + text[start:end].replace(old, new, 1) + text[end:]


def test_every_usage_block_in_the_readme_is_the_commands_real_help():
    problems = readme_usage.check(README.read_text(encoding="utf-8"))
    assert problems == [], "README.md is stale; run `make readme`:\n" + "\n".join(problems)


def test_every_command_has_a_usage_block_in_the_readme():
    commands = set(readme_usage.command_parsers())
    assert {"baclofen-qa", "baclofen-qa ask", "baclofen-qa eval", "baclofen-qa safety-sheet"} <= commands
    assert readme_usage.missing_commands(README.read_text(encoding="utf-8")) == []


def test_a_hand_edited_block_is_reported_with_a_diff_naming_the_line():
    stale = _edit_line_in_block(
        README.read_text(encoding="utf-8"), "baclofen-qa ask", "at most N passages", "at most N quotes"
    )
    diff = "\n".join(readme_usage.check(stale))
    assert "-  -k N                  at most N quotes" in diff
    assert "+  -k N                  at most N passages" in diff


def test_rewriting_restores_the_blocks_and_leaves_the_prose_alone():
    original = README.read_text(encoding="utf-8")
    stale = _edit_line_in_block(original, "baclofen-qa index", "--rebuild", "--rebuilt")
    stale = stale.replace("## Building the index", "## Building the index (prose edited)")
    rewritten = readme_usage.rewrite(stale)
    assert rewritten == original.replace("## Building the index", "## Building the index (prose edited)")


def test_a_new_subcommand_without_a_block_is_reported():
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- usage: baclofen-qa bench -->")
    end = text.index("<!-- /usage -->", start) + len("<!-- /usage -->")
    problems = readme_usage.check(text[:start] + text[end:])
    assert any("no usage block for 'baclofen-qa bench'" in p for p in problems)


def test_the_help_is_the_same_whatever_the_terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    narrow = readme_usage.render_help("baclofen-qa eval")
    monkeypatch.setenv("COLUMNS", "250")
    wide = readme_usage.render_help("baclofen-qa eval")
    assert narrow == wide
    assert max(len(line) for line in wide.split("\n")) <= readme_usage.HELP_WIDTH


@pytest.mark.parametrize(
    "broken, message",
    [
        ("<!-- usage: baclofen-qa ask -->\ntext\n", "line 1: the usage block for 'baclofen-qa ask' is never closed"),
        ("intro\n<!-- /usage -->\n", "line 2: <!-- /usage --> closes no usage block"),
        (
            "<!-- usage: baclofen-qa ask -->\n<!-- usage: baclofen-qa eval -->\n<!-- /usage -->\n",
            "line 2: a usage block opens inside the one opened on line 1",
        ),
        (
            "x\n<!-- usage: baclofen-qa frobnicate -->\n<!-- /usage -->\n",
            "line 2: 'baclofen-qa frobnicate' is not a command",
        ),
    ],
)
def test_broken_markers_stop_the_script_naming_the_line_and_change_nothing(tmp_path, capsys, broken, message):
    readme = tmp_path / "README.md"
    readme.write_text(broken, encoding="utf-8")
    assert readme_usage.main(["--readme", str(readme)]) == 2
    assert message in capsys.readouterr().err
    assert readme.read_text(encoding="utf-8") == broken


def test_the_script_checks_and_rewrites_a_readme_as_a_program(tmp_path):
    readme = tmp_path / "README.md"
    shutil.copy(README, readme)
    original = readme.read_text(encoding="utf-8")
    readme.write_text(_edit_line_in_block(original, "baclofen-qa serve", "port to listen on", "prot"), encoding="utf-8")
    script = [sys.executable, str(REPO / "scripts" / "readme_usage.py"), "--readme", str(readme)]

    stale = subprocess.run([*script, "--check"], capture_output=True, text=True, timeout=60)
    assert stale.returncode == 1
    assert "+  --port PORT           port to listen on (default: 7860)" in stale.stdout
    assert "make readme" in stale.stderr
    assert "prot" in readme.read_text(encoding="utf-8")  # --check writes nothing

    assert subprocess.run(script, capture_output=True, text=True, timeout=60).returncode == 0
    assert readme.read_text(encoding="utf-8") == original
    assert subprocess.run([*script, "--check"], capture_output=True, text=True, timeout=60).returncode == 0
