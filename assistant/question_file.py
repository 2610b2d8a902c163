"""Question files for batch evaluation: JSONL or CSV, read strictly, every problem named by its line.

The keys are `id`, `question`, `history`, `answerable`, `evidence`, `emergency`, `medicine`,
`tags` (README, "Batch evaluation"). A fault that makes the rest of the file untrustworthy (not
UTF-8, broken CSV quoting, an unusable header) stops the run even with --skip-invalid; a bad
line is listed, and skipped only when asked.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.engine import validate_question
from assistant.errors import InvalidQuestionError, QuestionFileError
from assistant.metrics import CorpusText, Span
from assistant.records import Document

FIELDS = ("id", "question", "history", "answerable", "evidence", "emergency", "medicine", "tags")
LIST_FIELDS = ("history", "evidence", "tags")
BOOL_FIELDS = ("answerable", "emergency")
CSV_TRUE = frozenset({"true", "yes", "1"})
CSV_FALSE = frozenset({"false", "no", "0"})


@dataclass(frozen=True, slots=True)
class LabelledQuestion:
    """One line of the question file. Labels are None when not given: no metric uses them."""

    qid: str
    text: str
    history: tuple[str, ...]
    answerable: bool | None
    evidence: tuple[str, ...]
    evidence_spans: tuple[Span, ...]  # every place any evidence string occurs in the corpus
    emergency: bool | None
    tags: tuple[str, ...]
    line: int
    medicine: str | None = None  # the medicine asked about (lower case); "" for none; None: not labelled


@dataclass(frozen=True, slots=True)
class QuestionSet:
    questions: tuple[LabelledQuestion, ...]
    problems: tuple[str, ...]  # "line N: ..." for each invalid line
    skipped: int  # invalid lines left out (only with skip_invalid)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_questions(
    path: Path, documents: Sequence[Document], *, max_question_chars: int, skip_invalid: bool = False
) -> QuestionSet:
    """Read and check a JSONL or CSV question file (CSV when the name ends in .csv) against the corpus documents.

    Raises:
        QuestionFileError: the file cannot be read or parsed as a whole (missing, a folder, empty,
            not UTF-8, broken CSV quoting: even with `skip_invalid`, since the lines after such a
            fault cannot be trusted), holds no usable question, or has problems and `skip_invalid`
            is False; `problems` lists them as "line N: ...".
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise QuestionFileError(f"Question file {path} does not exist.") from None
    except IsADirectoryError:
        raise QuestionFileError(f"Question file {path} is a folder; pass the .jsonl or .csv file itself.") from None
    except OSError as exc:
        raise QuestionFileError(f"Cannot read question file {path} ({exc.strerror or exc}).") from None
    if not data:
        raise QuestionFileError(f"Question file {path} is empty (0 bytes).")
    text = _decode(data, path)
    fmt = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    corpus = CorpusText({d.doc_id: d.text for d in documents})
    found = parse_questions(text, fmt=fmt, corpus=corpus, max_question_chars=max_question_chars, source=str(path))
    if found.problems and not skip_invalid:
        raise QuestionFileError(
            f"{path} has {len(found.problems)} problem(s); nothing was run. "
            "Fix them, or pass --skip-invalid to leave those lines out.",
            list(found.problems),
        )
    if not found.questions:
        raise QuestionFileError(f"{path} holds no usable questions.", list(found.problems))
    return found


def _decode(data: bytes, path: Path) -> str:
    """UTF-8 text (a leading byte-order mark is dropped by parse_questions); else the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise QuestionFileError(
            f"Question file {path} is not UTF-8 text; nothing was run. Save it as UTF-8 (in a spreadsheet: CSV UTF-8).",
            [f"line {line}: byte 0x{data[exc.start]:02x} at column {column} is not UTF-8"],
        ) from None


def parse_questions(
    text: str, *, fmt: str, corpus: CorpusText, max_question_chars: int, source: str = "The question file"
) -> QuestionSet:
    """Questions from the text of a question file ("jsonl" or "csv"), with every problem found.

    Raises:
        QuestionFileError: the CSV cannot be split into rows with confidence (broken quoting, a bad
            header): no line after the fault could be trusted, so this is never skipped.
    """
    text = text.removeprefix("\ufeff")  # a byte-order mark is not part of the first column's name
    questions: list[LabelledQuestion] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    skipped = 0
    for line, record, errors in _jsonl_records(text) if fmt == "jsonl" else _csv_records(text, source):
        question = None
        if not errors:
            question, errors = _to_question(record, line, corpus, max_question_chars)
        if question is not None and question.qid in first_line:
            errors = [f"duplicate id {question.qid!r} (first on line {first_line[question.qid]})"]
        if errors:
            problems.extend(f"line {line}: {error}" for error in errors)
            skipped += 1
            continue
        assert question is not None  # _to_question gives a question exactly when it finds no error
        first_line[question.qid] = line
        questions.append(question)
    return QuestionSet(tuple(questions), tuple(problems), skipped)


def _jsonl_records(text: str) -> Iterator[tuple[int, dict, list[str]]]:
    # Split on "\n" only: str.splitlines would also cut at U+2028, which JSON strings may hold.
    for number, raw in enumerate(text.split("\n"), 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, {}, [f"not valid JSON ({exc.msg} at column {exc.colno})"]
            continue
        if not isinstance(value, dict):
            yield number, {}, ["expected a JSON object {...}"]
            continue
        yield number, value, []


def _csv_records(text: str, source: str) -> Iterator[tuple[int, dict, list[str]]]:
    """Rows as typed records: lists split on "|", booleans from true/false/yes/no/1/0, empty = not given.

    A quote left open swallows the following lines into one value, and Python's csv module says
    nothing (3 questions became 1). So the reader is strict (a closing quote must end its value,
    the file must not end inside one), every row must have one value per column, and a value
    running over several lines may not hold a line that reads as a row of its own.

    Raises:
        QuestionFileError: broken quoting or an unusable header (see `parse_questions`).
    """
    rows = _csv_rows(text, source)  # all of them first: the swallowed-row check compares ids
    if not rows:
        return
    (header_line, _, header_row), rows = rows[0], rows[1:]
    header = _csv_header(header_row, header_line, source)
    id_at = header.index("id")
    id_shapes = {_id_shape(row[id_at].strip()) for _, _, row in rows if len(row) > id_at and row[id_at].strip()}
    physical = io.StringIO(text, newline="").readlines()  # numbered as csv.reader's line_num counts
    for line, last, row in rows:
        swallowed = _swallowed_row(physical, line, last, len(header), id_at, id_shapes) if last > line else None
        if swallowed is not None:
            raise QuestionFileError(
                f'{source} is not valid CSV; nothing was run. Close the quote, or double a quote inside a value ("").',
                [
                    f"line {line}: a quoted value opened here runs to line {last} and swallows line {swallowed}, "
                    f"which reads as a row of its own: {_short(physical[swallowed - 1].strip())!r}"
                ],
            )
        if len(row) != len(header):
            where = (
                f" (this row runs from line {line} to {last}: is a quote on line {line} left open?)"
                if last > line
                else ""
            )
            yield line, {}, [f"{len(row)} values but {len(header)} columns{where}"]
            continue
        record: dict[str, Any] = {}
        errors = []
        for name, cell in zip(header, row, strict=True):
            cell = cell.strip()
            if name in LIST_FIELDS:
                record[name] = [part.strip() for part in cell.split("|") if part.strip()]
            elif name in BOOL_FIELDS:
                if cell.lower() in CSV_TRUE | CSV_FALSE or not cell:
                    record[name] = (cell.lower() in CSV_TRUE) if cell else None
                else:
                    errors.append(f"{name} must be true/false/yes/no/1/0 or empty, not {cell!r}")
            else:
                record[name] = cell or None
        yield line, record, errors


def _csv_rows(text: str, source: str) -> list[tuple[int, int, list[str]]]:
    """(first line, last line, values) of every non-blank row, header included, read strictly."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, int, list[str]]] = []
    next_line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            raise QuestionFileError(
                f"{source} is not valid CSV; nothing was run. "
                'A quote inside a value must be doubled (""), and every opened quote closed.',
                [_csv_fault(str(exc), next_line, reader.line_num)],
            ) from None
        line, next_line = next_line, reader.line_num + 1
        if any(cell.strip() for cell in row):
            rows.append((line, reader.line_num, row))


def _csv_header(row: list[str], line: int, source: str) -> list[str]:
    header = [cell.strip().lower() for cell in row]
    problems = [f"unknown column {name!r}; known columns: {', '.join(FIELDS)}" for name in header if name not in FIELDS]
    problems += [f"column {name!r} appears more than once" for name in sorted(set(header)) if header.count(name) > 1]
    problems += [f"missing column {name!r}" for name in ("id", "question") if name not in header]
    if problems:
        # Without a usable header no row can be read: fatal even with --skip-invalid.
        raise QuestionFileError(
            f"{source} has no usable CSV header; nothing was run.", [f"line {line}: {p}" for p in problems]
        )
    return header


def _csv_fault(message: str, start: int, stop: int) -> str:
    """A csv.Error as a line a person can act on: where the value began, and where reading stopped."""
    if "unexpected end of data" in message:
        return f"line {start}: a quoted value opened here is never closed (the file ends inside it)"
    if "field larger than field limit" in message:
        return (
            f"line {start}: a value starting here runs past {csv.field_size_limit()} characters; is a quote left open?"
        )
    if "expected after" in message:
        opened = f" (the value began on line {start})" if stop > start else ""
        return f'line {stop}: a closing quote is followed by more text{opened}; double a quote inside a value ("")'
    return f"line {start}: {message}"


def _swallowed_row(
    physical: Sequence[str], first: int, last: int, n_columns: int, id_at: int, id_shapes: set[str]
) -> int | None:
    """The first line inside a multi-line value (lines first+1..last) that reads as a row of its own, or None.

    Such a line has balanced quotes, one value per column, and in the id column a value without
    spaces shaped like an id of this file ("q12" like "q3", "kid-04" like "dose-11"): what an
    unclosed quote swallows, and what a sentence continuing a long question almost never is.
    """
    for number in range(first + 1, last + 1):
        raw = physical[number - 1].rstrip("\r\n")
        if raw.count('"') % 2:
            continue
        cells = next(csv.reader([raw]), [])
        if len(cells) != n_columns:
            continue
        qid = cells[id_at].strip()
        if qid and not any(c.isspace() for c in qid) and _id_shape(qid) in id_shapes:
            return number
    return None


def _id_shape(qid: str) -> str:
    """Runs of digits as "0", runs of letters as "a", other characters kept: "q12" -> "a0", "kid-04" -> "a-0"."""
    shape: list[str] = []
    for char in qid:
        kind = "0" if char.isdigit() else "a" if char.isalpha() else char
        if not (shape and kind in "0a" and shape[-1] == kind):
            shape.append(kind)
    return "".join(shape)


def _to_question(
    record: dict, line: int, corpus: CorpusText, max_question_chars: int
) -> tuple[LabelledQuestion | None, list[str]]:
    errors = []
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        errors.append(f"unknown field(s) {', '.join(unknown)}; known fields: {', '.join(FIELDS)}")
    qid = record.get("id")
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if isinstance(qid, str):
        qid = qid.strip()
    if qid is None or qid == "":
        errors.append("missing id")
    elif not isinstance(qid, str):
        errors.append("id must be text")
    text = record.get("question")
    if text is None:
        errors.append("missing question")
    else:
        try:  # the engine's own check, so that a row it would refuse is refused here, with its line
            validate_question(text, max_question_chars)
        except InvalidQuestionError as exc:
            errors.append(str(exc))
    lists = {}
    for name in LIST_FIELDS:
        value = record.get(name) or []
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            errors.append(f"{name} must be a list of non-empty strings")
            value = []
        lists[name] = tuple(value)
    flags = {}
    for name in BOOL_FIELDS:
        flags[name] = record.get(name)
        if flags[name] is not None and not isinstance(flags[name], bool):
            errors.append(f"{name} must be true, false or null")
    medicine = record.get("medicine")
    if medicine is not None and not isinstance(medicine, str):
        errors.append("medicine must be text (a lower-case generic name) or empty")
        medicine = None
    answerable = flags["answerable"]
    if lists["evidence"] and answerable is False:
        errors.append("evidence is given but answerable is false")
    elif lists["evidence"] and answerable is None:
        answerable = True  # evidence says where the answer is: the question is answerable
    spans: list[Span] = []
    for n, evidence in enumerate(lists["evidence"], 1):
        found = corpus.locate(evidence)
        if not found:
            errors.append(f"evidence {n} is not in the corpus (even with whitespace folded): {_short(evidence)!r}")
        spans.extend(found)
    if errors:
        return None, errors
    assert isinstance(qid, str) and isinstance(text, str)  # each checked above, an error otherwise
    return (
        LabelledQuestion(
            qid=qid,
            text=text.strip(),
            history=lists["history"],
            answerable=answerable,
            evidence=lists["evidence"],
            evidence_spans=tuple(spans),
            emergency=flags["emergency"],
            tags=lists["tags"],
            line=line,
            medicine=medicine.strip().lower() if isinstance(medicine, str) else None,
        ),
        [],
    )
