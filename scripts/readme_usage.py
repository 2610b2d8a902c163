"""Keep the README's command usage blocks equal to the real `--help` of `baclofen-qa`.

The README marks each block with a pair of HTML comments naming the command whose help it shows:

    <!-- usage: baclofen-qa ask -->
    ```text
    usage: baclofen-qa ask [-h] ...
    ```
    <!-- /usage -->

Everything between the two comments is generated; the prose around them is not touched. The help is
rendered in-process from `assistant.cli.build_parser()` (the parser the command itself uses) at a fixed
width, so the text does not depend on the terminal it is run in.

Usage:
    python scripts/readme_usage.py            # rewrite the blocks in README.md (make readme)
    python scripts/readme_usage.py --check    # exit 1 with a diff when a block is stale or missing

Exit codes: 0 up to date (or rewritten), 1 stale (with --check), 2 the README's markers are broken.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.cli import build_parser  # noqa: E402

README = ROOT / "README.md"
# The width every block is wrapped at: a README code block reads well up to about 80 columns, and a fixed
# width makes the text the same on every terminal (argparse otherwise wraps to $COLUMNS).
HELP_WIDTH = 80
PROGRAM = "baclofen-qa"
OPEN = re.compile(r"^<!-- usage: (?P<command>[^>]*?) -->$")
CLOSE = "<!-- /usage -->"


class MarkerError(ValueError):
    """The README's usage markers cannot be read: unclosed, nested, or naming no real command."""


@dataclass(frozen=True, slots=True)
class UsageBlock:
    """One marked block of the README: the command it shows and where its generated lines sit."""

    command: str  # "baclofen-qa" or "baclofen-qa ask"
    first_line: int  # index of the line after the opening comment
    end_line: int  # index of the closing comment


def _fixed_width(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The same parser, formatting its help at HELP_WIDTH columns and without colour (Python 3.14+
    colours help on a terminal)."""
    formatter_class = parser.formatter_class
    parser.formatter_class = lambda prog: formatter_class(prog, width=HELP_WIDTH)  # type: ignore[misc]
    if hasattr(parser, "color"):
        parser.color = False
    return parser


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its full name: the program itself, then each subcommand in the order
    `--help` lists them."""
    parser = build_parser()
    parsers = {PROGRAM: _fixed_width(parser)}
    for action in parser._actions:  # argparse offers no public way to reach its subparsers
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                parsers[f"{PROGRAM} {name}"] = _fixed_width(subparser)
    return parsers


def render_help(command: str, parsers: dict[str, argparse.ArgumentParser] | None = None) -> str:
    """The text `<command> --help` prints, at HELP_WIDTH columns.

    Raises:
        MarkerError: `command` is not one of the program's commands.
    """
    parsers = parsers if parsers is not None else command_parsers()
    if command not in parsers:
        raise MarkerError(f"'{command}' is not a command; the commands are: {', '.join(parsers)}")
    return parsers[command].format_help().rstrip("\n")


def render_block(command: str, parsers: dict[str, argparse.ArgumentParser] | None = None) -> list[str]:
    """The lines that go between a command's two markers: its help in a text code block."""
    return ["```text", *render_help(command, parsers).split("\n"), "```"]


def find_blocks(lines: list[str], source: str = "README.md") -> list[UsageBlock]:
    """Every marked block, in order.

    Raises:
        MarkerError: a block is not closed, a closing marker has no opening one, or blocks are nested;
            the message names the line.
    """
    blocks: list[UsageBlock] = []
    opened: tuple[str, int] | None = None
    for number, line in enumerate(lines):
        match = OPEN.match(line.strip())
        if match:
            if opened is not None:
                raise MarkerError(
                    f"{source} line {number + 1}: a usage block opens inside the one opened on "
                    f"line {opened[1]}; close it with {CLOSE} first"
                )
            opened = (match.group("command").strip(), number + 1)
        elif line.strip() == CLOSE:
            if opened is None:
                raise MarkerError(f"{source} line {number + 1}: {CLOSE} closes no usage block")
            blocks.append(UsageBlock(opened[0], opened[1], number))
            opened = None
    if opened is not None:
        raise MarkerError(f"{source} line {opened[1]}: the usage block for '{opened[0]}' is never closed ({CLOSE})")
    return blocks


def rewrite(text: str, source: str = "README.md") -> str:
    """`text` with every marked block replaced by the current help of its command.

    Raises:
        MarkerError: broken markers, or a marker naming no command.
    """
    lines = text.split("\n")
    parsers = command_parsers()
    # Bottom up, so that replacing a block never moves the line numbers of the blocks above it.
    for block in reversed(find_blocks(lines, source)):
        try:
            generated = render_block(block.command, parsers)
        except MarkerError as exc:
            raise MarkerError(f"{source} line {block.first_line}: {exc}") from None
        lines[block.first_line : block.end_line] = generated
    return "\n".join(lines)


def missing_commands(text: str) -> list[str]:
    """The commands the README shows no usage block for (a new subcommand must get one)."""
    shown = {block.command for block in find_blocks(text.split("\n"))}
    return [command for command in command_parsers() if command not in shown]


def check(text: str, source: str = "README.md") -> list[str]:
    """What is stale, as printable lines (a unified diff, then any command without a block); empty when
    every block equals `--help` and every command has one."""
    problems = list(
        difflib.unified_diff(
            text.split("\n"),
            rewrite(text, source).split("\n"),
            fromfile=f"{source} (as written)",
            tofile=f"{source} (from --help)",
            lineterm="",
        )
    )
    for command in missing_commands(text):
        problems.append(f"{source}: no usage block for '{command}'; add <!-- usage: {command} --> ... {CLOSE}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff when stale")
    parser.add_argument("--readme", type=Path, default=README, help="the file to rewrite or check (default: README.md)")
    args = parser.parse_args(argv)
    try:
        text = args.readme.read_text(encoding="utf-8")
        if args.check:
            problems = check(text, args.readme.name)
            for problem in problems:
                print(problem)
            if problems:
                print(f"\n{args.readme.name} is out of date with --help: run `make readme`.", file=sys.stderr)
            return 1 if problems else 0
        updated = rewrite(text, args.readme.name)
    except MarkerError as exc:
        print(f"readme_usage: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"readme_usage: error: cannot read {args.readme}: {exc.strerror}", file=sys.stderr)
        return 2
    if updated != text:
        # Written beside it and renamed over it, so that an interrupted run never leaves half a README.
        partial = args.readme.with_name(f".{args.readme.name}.tmp")
        partial.write_text(updated, encoding="utf-8")
        os.replace(partial, args.readme)
        print(f"{args.readme.name}: usage blocks rewritten from --help")
    for command in missing_commands(text):
        print(f"note: {args.readme.name} shows no usage block for '{command}'", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
