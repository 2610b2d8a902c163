"""SAFETY.md, the safety specification, is in the repository and says what the code and tests cite it for.

Code comments, data files and tests cite it by number ("SAFETY.md section 2", "§4", "cases 26-31",
"anchor A1"); each citation must land on a section, case or anchor of that number. SAFETY.md in turn names
the module implementing each rule and the test checking it; each of those must exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

SPEC = REPO / "SAFETY.md"
# Where citations live: the code, its data, the tests and their data, the scripts and the docs.
CITING_FOLDERS = ("assistant", "ui", "tests", "scripts", "docs", "corpus", "index")
CITING_FILES = ("README.md", "CHANGELOG.md", "Makefile", "pyproject.toml")
TEXT_SUFFIXES = {".py", ".toml", ".md", ".json", ".js", ".css", ".html", ".txt", ".cfg", ".ini"}
# The section numbers code and data rely on, with what each is about: a renumbered or repurposed
# section would silently change the meaning of every citation of it.
SECTION_TITLES = {
    1: "Anchors",
    2: "What is shown, and when",
    3: "Standing disclaimer",
    4: "Test cases",
    5: "Claims flagged as unverified",
}


@dataclass(frozen=True, slots=True)
class Citation:
    kind: str  # "section", "case" or "anchor"
    number: str  # "2", "29", "A1"
    where: str  # "assistant/records.py"


def _numbers(text: str) -> list[str]:
    """'2', '2-3', '2 and 4', '#14–#17', '26-31' -> every number meant."""
    numbers: list[str] = []
    for part in re.split(r"\s*(?:,|\band\b)\s*", text):
        bounds = re.findall(r"\d+", part)
        if len(bounds) == 2 and re.search(r"\d\s*[-–]\s*#?\d", part):
            numbers += [str(n) for n in range(int(bounds[0]), int(bounds[1]) + 1)]
        else:
            numbers += bounds
    return numbers


def citations_in(text: str, where: str) -> list[Citation]:
    """Every numbered reference to SAFETY.md in one file's text."""
    if "SAFETY.md" not in text:
        return []
    # A citation may run over a line break inside a comment: "(SAFETY.md\n# section 2)".
    flat = re.sub(r"[ \t]*\n[ \t]*(?:#+(?=\s)|//|\*|>)?[ \t]*", " ", text)
    found: list[Citation] = []
    for match in re.finditer(r"SAFETY\.md`?\)?[\s(,:]*((?:sections?|§|cases?|anchors?)[^.;)]*)", flat):
        reference = match.group(1)
        for section in re.finditer(r"(?:sections?|§)\s*(\d+(?:\s*(?:[-–]|,|\band\b)\s*\d+)*)", reference):
            found += [Citation("section", n, where) for n in _numbers(section.group(1))]
        for cases in re.finditer(r"cases?\s*(#?\d+(?:\s*(?:[-–]|,|\band\b)\s*#?\d+)*)", reference):
            found += [Citation("case", n, where) for n in _numbers(cases.group(1))]
        found += [Citation("anchor", a, where) for a in re.findall(r"anchors?\s*(A\d+)", reference)]
    # In a file that cites SAFETY.md, a bare "§4" is that file's shorthand, and "§4 ... cases (#2, #14–#17)"
    # lists case numbers.
    found += [Citation("section", n, where) for n in re.findall(r"§\s*(\d+)", flat)]
    for listed in re.finditer(r"§\s*4\b[^()]*?cases[^()]*\(([^)]*)\)", flat):
        found += [Citation("case", n, where) for n in _numbers(listed.group(1))]
    return found


def repository_citations() -> list[Citation]:
    paths = [REPO / name for name in CITING_FILES if (REPO / name).is_file()]
    for folder in CITING_FOLDERS:
        paths += [p for p in sorted((REPO / folder).rglob("*")) if p.is_file() and p.suffix in TEXT_SUFFIXES]
    found: list[Citation] = []
    for path in paths:
        if path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        found += citations_in(text, str(path.relative_to(REPO)))
    return found


def _section(spec: str, number: int) -> str:
    match = re.search(rf"^## {number}\. .*?(?=^## \d+\. |\Z)", spec, re.M | re.S)
    assert match, f"SAFETY.md has no section {number}"
    return match.group(0)


def targets(spec: str) -> dict[str, set[str]]:
    """What SAFETY.md offers to cite: its numbered sections, the cases of section 4, the anchors of section 1."""
    sections = set(re.findall(r"^## (\d+)\. ", spec, re.M))
    cases = set(re.findall(r"^\| (\d+) \|", _section(spec, 4), re.M)) if "4" in sections else set()
    anchors = set(re.findall(r"^\| (A\d+) \|", _section(spec, 1), re.M)) if "1" in sections else set()
    return {"section": sections, "case": cases, "anchor": anchors}


def unresolved(citations: list[Citation], spec: str) -> list[str]:
    offered = targets(spec)
    return sorted({f"{c.where}: SAFETY.md {c.kind} {c.number}" for c in citations if c.number not in offered[c.kind]})


@pytest.fixture(scope="module")
def spec() -> str:
    assert SPEC.is_file(), "SAFETY.md is cited by the code and the tests but is not in the repository"
    return SPEC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cited() -> list[Citation]:
    return repository_citations()


# --- citations land on something ---------------------------------------------------------------------


def test_every_citation_of_safety_md_in_the_repository_lands_on_a_section_case_or_anchor(spec, cited):
    assert unresolved(cited, spec) == []


def test_the_citations_found_are_the_ones_the_code_and_tests_make(cited):
    # So that the test above cannot pass by finding nothing.
    found = {(c.kind, c.number) for c in cited}
    assert {("section", n) for n in "2345"} <= found
    assert {("case", str(n)) for n in (2, 14, 17, 26, 31)} <= found
    assert ("anchor", "A1") in found
    assert {c.where for c in cited} >= {
        "assistant/records.py",
        "ui/render.py",
        "tests/test_safety.py",
        "assistant/safety/wording.toml",
        "tests/data/README.md",
    }


@pytest.mark.parametrize(
    "text, expected",
    [
        ("# see (SAFETY.md\n# section 2, cases 26-31)", {("section", "2"), *{("case", str(n)) for n in range(26, 32)}}),
        ("Display order (SAFETY.md sections 2-3): banners", {("section", "2"), ("section", "3")}),
        ("follows `SAFETY.md` (sections 2 and 4).", {("section", "2"), ("section", "4")}),
        (
            "all SAFETY.md §4 emergency cases verbatim (#2, #14–#16) and the §2 table",
            {("section", "4"), ("section", "2"), ("case", "2"), ("case", "14"), ("case", "15"), ("case", "16")},
        ),
        ("the label SAFETY.md anchor A1 names", {("anchor", "A1")}),
        ("Levels and order follow SAFETY.md: RED, CRISIS", set()),
        ("no citation of the spec here, section 9", set()),
    ],
)
def test_citations_are_read_in_every_form_the_repository_uses(text, expected):
    assert {(c.kind, c.number) for c in citations_in(text, "x")} == expected


def test_a_citation_of_a_section_the_file_lacks_is_reported_with_the_citing_file(spec, cited):
    without_section_5 = re.sub(r"^## 5\. ", "## Five. ", spec, flags=re.M)
    problems = unresolved(cited, without_section_5)
    assert "assistant/safety/wording.toml: SAFETY.md section 5" in problems
    without_case_29 = spec.replace("\n| 29 |", "\n| twenty-nine |")
    assert any(p.endswith("SAFETY.md case 29") for p in unresolved(cited, without_case_29))


def test_each_numbered_section_keeps_its_number_and_its_subject(spec):
    headings = dict(re.findall(r"^## (\d+)\. (.+)$", spec, re.M))
    for number, title in SECTION_TITLES.items():
        assert headings.get(str(number), "").startswith(title), f"section {number} is {headings.get(str(number))!r}"


# --- the specification and the safety tests list the same cases ------------------------------------------


def test_section_4_lists_every_case_the_safety_tests_run_with_the_same_question(spec):
    from tests.test_safety import SECTION_4

    rows = dict(re.findall(r'^\| (\d+) \| "([^"]*)"', _section(spec, 4), re.M))
    for number, question, *_ in SECTION_4:
        assert rows.get(str(number)) == question, f"case #{number}"


def test_section_2_lists_every_trigger_the_safety_tests_run(spec):
    from tests.test_safety import SECTION_2

    situations = _section(spec, 2)
    missing = [trigger for trigger, _, _ in SECTION_2 if f'"{trigger}"' not in situations]
    assert missing == []


# --- what SAFETY.md names exists ---------------------------------------------------------------------------


def test_every_module_file_and_test_named_in_safety_md_exists(spec):
    named = re.findall(r"`([\w./-]+/[\w.-]+)(?:::(\w+))?`", spec)
    assert len(named) > 50
    problems = []
    for path, test in named:
        file = REPO / path
        if not file.exists():
            problems.append(f"{path}: no such file")
        elif test and not re.search(rf"^(?:    )?def {test}\(", file.read_text(encoding="utf-8"), re.M):
            problems.append(f"{path}::{test}: no such test")
    assert problems == []
