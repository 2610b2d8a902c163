"""No silent loss in batch evaluation: question files that are broken say where, --out is proved
writable before any work and replaced as one unit, and a long run shows progress in a log.

Real files, a real corpus folder and the real `baclofen-qa eval` command (with the keyword
FakeEmbedder in place of the model, which is not what these tests are about).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import assistant.embedding
import assistant.report
from assistant.cli import main
from assistant.errors import OutputFolderError, QuestionFileError
from assistant.ingest import load_corpus
from assistant.progress import LineProgress
from assistant.question_file import read_questions
from tests.conftest import REPO, write_corpus

KIDNEY = "People with kidney disease need care with this drug."
DOCUMENTS = {
    "kidneys.txt": f"Kidney care\n\n{KIDNEY} The kidney clears it.\n",
    "stopping.txt": "Stopping\n\nDo not stop suddenly: stopping can cause a seizure. Lower the dose slowly.\n",
}
REPORT_FILES = ("report.json", "results.csv", "report.md", "scores.png", "hit_at_k.png")
GOOD_JSONL = "".join(
    json.dumps(q) + "\n"
    for q in (
        {"id": "k1", "question": "Is it safe with kidney disease?", "evidence": [KIDNEY]},
        {"id": "s1", "question": "What if I stop?", "answerable": True},
        {"id": "u1", "question": "What is the weather like?", "answerable": False},
    )
)


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "corpus", DOCUMENTS)


@pytest.fixture
def documents(corpus):
    return load_corpus(corpus).documents


def run_eval(capsys, tmp_path, corpus, *args):
    common = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--model", "fake-keywords"]
    code = main(["eval", *map(str, args), *common])
    out, err = capsys.readouterr()
    return code, out, err


def write(path, content: str | bytes):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))  # bytes as given: no newline translation
    return path


def read(path, documents, **kwargs):
    return read_questions(path, documents, max_question_chars=500, **kwargs)


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --- Question files: finding 6 and the other input faults -------------------------------------------------------

BROKEN_CSV = {
    "unclosed quote until the end": (
        'id,question\nq1,"Can I drive?\nq2,Is it safe?\nq3,Can I drink?\n',
        2,
        "never closed",
    ),
    "unclosed quote closed by a later quote": (
        'id,question\nq1,"Can I drive?\nq2,Is it safe?\nq3,Can I drink?"\nq4,And coffee?\n',
        2,
        "swallows line 3",
    ),
    "unclosed quote, more columns": (
        'id,question,answerable\nq1,"Can I drive?,yes\nq2,Is it safe?,no\nq3,Can I drink?",yes\n',
        2,
        "swallows line 3",
    ),
    "text after a closing quote": ('id,question\nq1,"Can I" drive?\n', 2, "followed by more text"),
    "unclosed quote, huge value": ('id,question\nq1,"x\n' + "q,Is it safe?\n" * 12000, 2, None),
}


@pytest.mark.parametrize("content, line, words", BROKEN_CSV.values(), ids=BROKEN_CSV.keys())
def test_a_csv_with_broken_quoting_is_an_error_naming_the_line(tmp_path, documents, content, line, words):
    path = write(tmp_path / "questions.csv", content)
    with pytest.raises(QuestionFileError, match="not valid CSV") as raised:
        read(path, documents)
    assert str(path) in str(raised.value)
    assert raised.value.problems[0].startswith(f"line {line}:")
    assert words is None or words in raised.value.problems[0]


def test_broken_quoting_is_an_error_even_with_skip_invalid(tmp_path, documents):
    # Skipping would keep the lines before the fault and silently lose every line after it.
    path = write(
        tmp_path / "questions.csv", 'id,question\nq0,Fine\nq1,"Can I drive?\nq2,Is it safe?\nq3,Can I drink?\n'
    )
    with pytest.raises(QuestionFileError, match="not valid CSV"):
        read(path, documents, skip_invalid=True)


GOOD_CSV = {
    "quoted commas": (
        'id,question\nq1,"Can I drive, or cycle, on it?"\nq2,plain\n',
        ["Can I drive, or cycle, on it?", "plain"],
    ),
    "doubled quotes": (
        'id,question\nq1,"What does ""as needed"" mean, exactly?"\n',
        ['What does "as needed" mean, exactly?'],
    ),
    "a quoted answer over three lines": (
        'id,question\nq1,"My doctor said:\nno, not yet\nis that right?"\n',
        ["My doctor said:\nno, not yet\nis that right?"],
    ),
    "a question over two lines": (
        'id,question\nq1,"I take 10 mg, twice a day,\nand forgot one, is that bad?"\nq2,next\n',
        ["I take 10 mg, twice a day,\nand forgot one, is that bad?", "next"],
    ),
    "windows line ends": ('id,question\r\nq1,"a, b"\r\nq2,c\r\n', ["a, b", "c"]),
    "a byte-order mark": ("\ufeffid,question\nq1,first\n", ["first"]),
    "empty trailing cells": ("id,question,answerable,tags\nq1,first,,\n", ["first"]),
}


@pytest.mark.parametrize("content, texts", GOOD_CSV.values(), ids=GOOD_CSV.keys())
def test_well_formed_csv_with_commas_quotes_and_line_breaks_still_reads(tmp_path, documents, content, texts):
    path = write(tmp_path / "questions.csv", content)
    found = read(path, documents)
    assert [q.text for q in found.questions] == texts and found.problems == ()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1).map(str.strip).filter(bool),
        min_size=1,
        max_size=8,
    )
)
def test_any_single_line_questions_written_by_a_csv_writer_read_back_exactly(tmp_path, documents, texts):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "question", "tags"])
    writer.writerows([f"q{n}", text, "t"] for n, text in enumerate(texts))
    path = write(tmp_path / "questions.csv", buffer.getvalue())
    assert [q.text for q in read(path, documents).questions] == texts


def test_a_csv_row_with_too_few_values_is_reported(tmp_path, documents):
    path = write(tmp_path / "questions.csv", "id,question,answerable\nq1,first,yes\nq2,second\n")
    with pytest.raises(QuestionFileError) as raised:
        read(path, documents)
    assert raised.value.problems == ["line 3: 2 values but 3 columns"]


@pytest.mark.parametrize(
    "content, problem",
    [
        ("id,text\nq1,hello\n", "line 1: missing column 'question'"),
        ("id,question,question\nq1,a,b\n", "line 1: column 'question' appears more than once"),
    ],
    ids=["missing column", "duplicate column"],
)
def test_a_csv_header_that_cannot_be_used_is_fatal(tmp_path, documents, content, problem):
    path = write(tmp_path / "questions.csv", content)
    with pytest.raises(QuestionFileError, match="header") as raised:
        read(path, documents, skip_invalid=True)
    assert problem in raised.value.problems


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_bytes_that_are_not_utf8_are_reported_with_their_line(tmp_path, documents, suffix):
    body = (
        b"id,question\nq1,fine\nq2,caf\xe9 latte\n"
        if suffix == ".csv"
        else (b'{"id": "q1", "question": "fine"}\n{"id": "q2", "question": "caf\xe9"}\n')
    )
    path = write(tmp_path / f"questions{suffix}", body)
    with pytest.raises(QuestionFileError, match="not UTF-8") as raised:
        read(path, documents)
    assert raised.value.problems[0].startswith("line 2:" if suffix == ".jsonl" else "line 3:")
    assert "0xe9" in raised.value.problems[0]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda folder: folder / "absent.jsonl", "does not exist"),
        (lambda folder: (folder / "adir.jsonl").mkdir() or folder / "adir.jsonl", "is a folder"),
        (lambda folder: write(folder / "empty.csv", b""), "is empty"),
        (lambda folder: write(folder / "blank.jsonl", "\n  \n"), "no usable questions"),
    ],
    ids=["missing", "folder", "zero bytes", "only blank lines"],
)
def test_a_question_file_that_is_not_there_or_holds_nothing_is_a_clear_error(tmp_path, documents, make, match):
    path = make(tmp_path)
    with pytest.raises(QuestionFileError, match=match):
        read(path, documents)


def test_a_jsonl_file_with_a_byte_order_mark_reads_from_its_first_line(tmp_path, documents):
    path = write(tmp_path / "q.jsonl", "\ufeff" + GOOD_JSONL)
    assert [q.qid for q in read(path, documents).questions] == ["k1", "s1", "u1"]


def test_a_jsonl_line_that_is_not_json_and_duplicate_ids_are_named_by_line(tmp_path, documents):
    path = write(
        tmp_path / "q.jsonl", GOOD_JSONL + '{"id": "k1", "question": "again"}\n{"id": "x", "question": "oops"\n'
    )
    with pytest.raises(QuestionFileError) as raised:
        read(path, documents)
    assert raised.value.problems[0] == "line 4: duplicate id 'k1' (first on line 1)"
    assert raised.value.problems[1].startswith("line 5: not valid JSON")


def test_eval_of_a_broken_csv_exits_2_names_file_and_line_and_writes_nothing(tmp_path, corpus, fake_model, capsys):
    path = write(tmp_path / "questions.csv", BROKEN_CSV["unclosed quote closed by a later quote"][0])
    out_dir = tmp_path / "new" / "report"
    code, _, err = run_eval(capsys, tmp_path, corpus, path, "--out", out_dir)
    assert code == 2
    assert str(path) in err and "line 2:" in err
    assert not (tmp_path / "new").exists()  # the --out probe left nothing behind
    assert fake_model.calls == 0


# --- --out: finding 7 --------------------------------------------------------------------------------------------


@pytest.fixture
def questions(tmp_path):
    return write(tmp_path / "questions.jsonl", GOOD_JSONL)


@pytest.fixture
def previous_report(tmp_path, corpus, questions, fake_model, capsys):
    out_dir = tmp_path / "report"
    code, _, _ = run_eval(capsys, tmp_path, corpus, questions, "--out", out_dir)
    assert code == 0
    (out_dir / "notes.txt").write_text("mine, not the report's", encoding="utf-8")
    return out_dir, snapshot(out_dir)


def test_a_failure_while_swapping_the_files_in_leaves_exactly_the_old_report(
    tmp_path, corpus, questions, fake_model, capsys, monkeypatch, previous_report
):
    out_dir, before = previous_report
    real_replace = os.replace
    calls = []

    def failing_third_move(source, target):
        calls.append(target)
        if len(calls) == 3:
            raise OSError(5, "Input/output error", str(target))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_third_move)
    code, _, err = run_eval(capsys, tmp_path, corpus, questions, "-k", "2", "--out", out_dir)
    monkeypatch.undo()
    assert snapshot(out_dir) == before  # every file old, none new, no staging folder left
    assert code == 1 and "Input/output error" in err and "unchanged" in err


def test_a_writer_failing_halfway_leaves_exactly_the_old_report(
    tmp_path, corpus, questions, fake_model, capsys, monkeypatch, previous_report
):
    out_dir, before = previous_report

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(assistant.report, "plot_hit_at_k", disk_full)
    code, _, err = run_eval(capsys, tmp_path, corpus, questions, "-k", "2", "--out", out_dir)
    assert code == 1 and "No space left on device" in err
    assert snapshot(out_dir) == before


def test_a_new_report_replaces_every_file_and_keeps_other_files(
    tmp_path, corpus, questions, fake_model, capsys, previous_report
):
    out_dir, before = previous_report
    code, _, _ = run_eval(capsys, tmp_path, corpus, questions, "-k", "2", "--out", out_dir)
    after = snapshot(out_dir)
    assert code == 0 and set(after) == set(before)
    assert after["notes.txt"] == before["notes.txt"]
    assert json.loads(after["report.json"])["k"] == 2 and json.loads(before["report.json"])["k"] != 2


@pytest.fixture
def read_only(tmp_path):
    """Make a folder read-only for real: chmod for a normal user; for root (whom chmod does not stop) the
    immutable attribute, which the kernel enforces for root too."""
    made = []

    def make(folder):
        if os.geteuid() != 0:
            folder.chmod(0o555)
        elif subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("running as root on a filesystem without chattr +i: no real read-only folder to test with")
        made.append(folder)
        try:
            (folder / "probe").write_text("x")
        except OSError:
            return folder
        pytest.skip("could not make a folder read-only here")

    yield make
    for folder in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def test_a_writable_out_inside_a_read_only_parent_gets_its_report(
    tmp_path, corpus, questions, fake_model, capsys, read_only
):
    parent = tmp_path / "shared"
    out_dir = parent / "report"
    out_dir.mkdir(parents=True)
    read_only(parent)
    code, _, err = run_eval(capsys, tmp_path, corpus, questions, "--out", out_dir)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(REPORT_FILES)


def test_an_out_folder_that_cannot_be_written_is_refused_before_the_model_loads(
    tmp_path, corpus, questions, fake_model, capsys, read_only
):
    out_dir = read_only(write_corpus(tmp_path / "locked", {"old.txt": "x"}))
    code, _, err = run_eval(capsys, tmp_path, corpus, questions, "--out", out_dir)
    assert code == 1 and f"Cannot write a report into {out_dir}" in err
    assert fake_model.calls == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: write(tmp / "plain.txt", "a file") / "report",  # under a regular file
        lambda tmp: (tmp / "out" / "report.md").mkdir(parents=True) or tmp / "out",  # a folder where a file goes
    ],
    ids=["under a file", "folder in the way"],
)
def test_an_out_the_report_cannot_take_is_refused_before_the_model_loads(
    tmp_path, corpus, questions, fake_model, capsys, make
):
    out_dir = make(tmp_path)
    code, _, err = run_eval(capsys, tmp_path, corpus, questions, "--out", out_dir)
    assert code == 1 and "baclofen-qa: error:" in err and "Traceback" not in err
    assert fake_model.calls == 0


def test_the_writability_probe_leaves_no_folder_or_file_behind(tmp_path):
    out_dir = tmp_path / "a" / "b" / "report"
    assistant.report.check_output_folder(out_dir)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "existing").mkdir()
    assistant.report.check_output_folder(tmp_path / "existing")
    assert list((tmp_path / "existing").iterdir()) == []


def test_the_probe_refuses_a_folder_where_a_report_file_goes(tmp_path):
    (tmp_path / "out" / "report.json").mkdir(parents=True)
    with pytest.raises(OutputFolderError, match="report.json is not a file"):
        assistant.report.check_output_folder(tmp_path / "out")


# --- Progress: finding 11a ---------------------------------------------------------------------------------------


def test_a_long_run_off_a_terminal_prints_plain_progress_lines(tmp_path, corpus, fake_model, capsys):
    path = write(
        tmp_path / "many.jsonl",
        "".join(json.dumps({"id": f"q{n}", "question": f"Question {n} about the dose?"}) + "\n" for n in range(400)),
    )
    code, _, err = run_eval(capsys, tmp_path, corpus, path, "--out", tmp_path / "report")
    assert code == 0
    assert "\r" not in err  # no bar redrawn in place: a log keeps every line
    lines = [line for line in err.splitlines() if "/400 questions" in line]
    assert len(lines) >= 5
    assert lines[-1].startswith("default: 400/400 questions (100%)") and "questions/s" in lines[-1]
    assert any("left" in line for line in lines[:-1])


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_lines_come_every_5_percent_or_30_seconds_with_rate_and_time_left():
    stream, clock = io.StringIO(), FakeClock()
    progress = LineProgress(1000, "default", stream, clock=clock)
    clock.now = 10.0
    progress.update(10)  # 1%, 10 s: too soon for a line
    clock.now = 31.0
    progress.update(10)  # 2%, but 31 s since the first line
    clock.now = 40.0
    progress.update(30)  # 5%
    clock.now = 41.0
    progress.update(1)  # nothing new
    lines = stream.getvalue().splitlines()
    assert lines == [
        "default: 1000 questions to answer",
        "default: 20/1000 questions (2%), 0.6 questions/s, about 25 min left",
        "default: 50/1000 questions (5%), 1.2 questions/s, about 13 min left",
    ]


@pytest.mark.slow  # a child process: about 5 s
def test_progress_shows_in_a_real_process_whose_stderr_is_a_pipe(tmp_path, corpus):
    """The whole command in a child process, stderr a pipe as under nohup or CI (the model replaced by the
    keyword embedder so the test stays fast)."""
    path = write(
        tmp_path / "many.jsonl",
        "".join(json.dumps({"id": f"q{n}", "question": f"Dose question {n}?"}) + "\n" for n in range(100)),
    )
    script = (
        "import sys, assistant.embedding as e; from tests.conftest import FakeEmbedder; "
        "e.load_embedder = lambda *a, **k: FakeEmbedder(); from assistant.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    args = [
        "eval",
        str(path),
        "--out",
        str(tmp_path / "report"),
        "--corpus",
        str(corpus),
        "--index-dir",
        str(tmp_path / "index"),
        "--model",
        "fake-keywords",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "default: 100/100 questions (100%)" in done.stderr and "\r" not in done.stderr
