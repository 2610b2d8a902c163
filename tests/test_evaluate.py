"""Reading question files (JSONL and CSV), reporting their problems by line, and the naive baseline."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from hypothesis import given, strategies as st

from assistant.baseline import NaiveBaseline, split_recursive
from assistant.config import Settings
from assistant.engine import Question
from assistant.errors import QuestionFileError
from assistant.evaluate import EvalReport, judge, summarize_run
from assistant.ingest import load_corpus
from assistant.metrics import CorpusText
from assistant.question_file import parse_questions, read_questions
from assistant.records import Answer, Document, Passage
from assistant.report import render_markdown
from tests.conftest import SEED_ARTICLE

KIDNEY = "People with kidney disease need care with this drug."
ALCOHOL = "Alcohol adds to the drowsy effect."
DOCUMENTS = (
    Document("kidneys.txt", "Kidneys", f"Kidney care\n\n{KIDNEY}  The kidney clears it.\n", "", False, "x"),
    Document("alcohol.txt", "Alcohol", f"Alcohol\n\n{ALCOHOL}\nAvoid alcohol.\n", "", False, "y"),
)


def write_jsonl(path, *records) -> str:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def read(path, *, skip_invalid=False):
    return read_questions(path, DOCUMENTS, max_question_chars=200, skip_invalid=skip_invalid)


def test_jsonl_questions_are_read_with_their_labels(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl",
        {
            "id": "k1",
            "question": " kidney ok? ",
            "history": ["hi"],
            "answerable": True,
            "evidence": [KIDNEY],
            "emergency": False,
            "tags": ["dev", "kidney"],
        },
        "",
        {"id": "u1", "question": "is it blue?", "answerable": False},
    )
    found = read(path)
    first, second = found.questions
    assert (first.qid, first.text, first.history, first.tags) == ("k1", "kidney ok?", ("hi",), ("dev", "kidney"))
    assert first.answerable is True and first.emergency is False and first.line == 1
    [span] = first.evidence_spans
    assert DOCUMENTS[0].text[span.start : span.end] == KIDNEY
    assert second.line == 3 and second.answerable is False and second.emergency is None and second.evidence == ()
    assert found.skipped == 0 and found.problems == ()


def test_a_question_without_labels_is_kept_unlabelled(tmp_path):
    [q] = read(write_jsonl(tmp_path / "q.jsonl", {"id": "1", "question": "what is it?"})).questions
    assert q.answerable is None and q.emergency is None and q.tags == ()


def test_evidence_without_an_answerable_label_means_answerable(tmp_path):
    [q] = read(write_jsonl(tmp_path / "q.jsonl", {"id": "1", "question": "kidney?", "evidence": [KIDNEY]})).questions
    assert q.answerable is True


def test_evidence_matches_across_different_whitespace(tmp_path):
    record = {"id": "1", "question": "kidney?", "evidence": ["People  with kidney\ndisease need care with this drug."]}
    [q] = read(write_jsonl(tmp_path / "q.jsonl", record)).questions
    assert len(q.evidence_spans) == 1


def test_a_malformed_json_line_is_reported_with_its_line_number_and_nothing_is_read(tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", {"id": "1", "question": "ok?"}, '{"id": "2", "question": "broken"')
    with pytest.raises(QuestionFileError, match="--skip-invalid") as raised:
        read(path)
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith("line 2: not valid JSON")


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"id": "1"}, "line 1: missing question"),
        ({"question": "no id?"}, "line 1: missing id"),
        ({"id": "1", "question": "   "}, "line 1: The question is empty"),
        ({"id": "1", "question": "x" * 201}, "line 1: The question is too long (201 characters; the limit is 200)"),
        ({"id": "1", "question": 7}, "line 1: The question must be text (a string), not a number"),
        (
            {"id": "1", "question": "side effects \ud800?"},
            "line 1: The question contains a character that is not valid text",
        ),
        ({"id": "1", "question": "q", "evidence": ["Kidneys are purple."]}, "line 1: evidence 1 is not in the corpus"),
        (
            {"id": "1", "question": "q", "answerable": False, "evidence": [KIDNEY]},
            "line 1: evidence is given but answerable is false",
        ),
        ({"id": "1", "question": "q", "answerable": "yes"}, "line 1: answerable must be true, false or null"),
        ({"id": "1", "question": "q", "tags": "dev"}, "line 1: tags must be a list of non-empty strings"),
        (
            {"id": "1", "question": "q", "evidense": [KIDNEY]},
            "line 1: unknown field(s) evidense; known fields: id, question",
        ),
        ([1, 2], "line 1: expected a JSON object"),
    ],
)
def test_each_kind_of_bad_line_is_named(tmp_path, record, problem):
    with pytest.raises(QuestionFileError) as raised:
        read(write_jsonl(tmp_path / "q.jsonl", json.dumps(record)))
    assert any(p.startswith(problem) for p in raised.value.problems), raised.value.problems


def test_duplicate_ids_name_the_first_line(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl",
        {"id": "a", "question": "1?"},
        {"id": "b", "question": "2?"},
        {"id": "a", "question": "3?"},
    )
    with pytest.raises(QuestionFileError) as raised:
        read(path)
    assert raised.value.problems == ["line 3: duplicate id 'a' (first on line 1)"]


def test_skip_invalid_keeps_the_good_lines_and_counts_the_bad_ones(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl",
        {"id": "a", "question": "kidney?", "evidence": [KIDNEY]},
        "not json",
        {"id": "b", "question": "q", "evidence": ["Nowhere in the corpus."]},
        {"id": "c", "question": "alcohol?", "evidence": [ALCOHOL]},
    )
    found = read(path, skip_invalid=True)
    assert [q.qid for q in found.questions] == ["a", "c"]
    assert found.skipped == 2
    assert [p.split(":")[0] for p in found.problems] == ["line 2", "line 3"]


def test_a_file_with_no_usable_question_is_an_error_even_when_skipping(tmp_path):
    with pytest.raises(QuestionFileError, match="no usable questions"):
        read(write_jsonl(tmp_path / "q.jsonl", "nope"), skip_invalid=True)


def test_a_missing_question_file_is_a_clear_error(tmp_path):
    with pytest.raises(QuestionFileError, match="does not exist"):
        read(tmp_path / "absent.jsonl")


def test_a_line_separator_inside_a_json_string_does_not_split_the_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "1", "question": "a\u2028b"}\n{"id": "2", "question": "c"}\n', encoding="utf-8")
    assert [q.line for q in read(path).questions] == [1, 2]


def test_csv_questions_use_pipes_for_lists_and_words_for_booleans(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(
        "id,question,history,answerable,evidence,emergency,tags\n"
        f"k1,kidney ok?,hi|and you?,yes,{KIDNEY} | {ALCOHOL},0,dev|kidney\n"
        "u1,is it blue?,,FALSE,,,\n"
        "x1,just asking,,,,,\n",
        encoding="utf-8",
    )
    k1, u1, x1 = read(path).questions
    assert k1.history == ("hi", "and you?") and k1.tags == ("dev", "kidney")
    assert k1.answerable is True and k1.emergency is False and len(k1.evidence_spans) == 2
    assert u1.answerable is False and u1.emergency is None and u1.evidence == ()
    assert x1.answerable is None and x1.line == 4


def test_csv_line_numbers_follow_multi_line_cells(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('id,question,answerable\n1,"two\nlines",yes\n2,bad,maybe\n', encoding="utf-8")
    with pytest.raises(QuestionFileError) as raised:
        read(path)
    assert raised.value.problems == ["line 4: answerable must be true/false/yes/no/1/0 or empty, not 'maybe'"]


def test_a_csv_header_without_a_question_column_is_reported_on_line_one(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("id,text\n1,hello\n", encoding="utf-8")
    with pytest.raises(QuestionFileError) as raised:
        read(path, skip_invalid=True)
    assert "line 1: unknown column 'text'; known columns: id, question" in raised.value.problems[0]
    assert "line 1: missing column 'question'" in raised.value.problems


def test_recursive_split_matches_the_langchain_algorithm():
    text = "one two three four five six seven"
    chunks = [text[s:e] for s, e in split_recursive(text, chunk_size=12, chunk_overlap=6)]
    # Output of langchain_text_splitters.RecursiveCharacterTextSplitter(chunk_size=12, chunk_overlap=6).
    assert chunks == ["one two", "two three", "three four", "four five", "five six", "six seven"]
    text = "First para line one.\nline two.\n\nSecond para here."
    chunks = [text[s:e] for s, e in split_recursive(text, chunk_size=20, chunk_overlap=5)]
    assert chunks == ["First para line one.", "line two.", "Second para here."]


@given(
    pieces=st.lists(st.sampled_from(["a", "b", " ", "\n", "\n\n", "word", "\t"]), max_size=120),
    size=st.integers(2, 60),
    data=st.data(),
)
def test_recursive_split_keeps_every_word_within_the_size(pieces, size, data):
    text = "".join(pieces)
    overlap = data.draw(st.integers(0, size))
    spans = split_recursive(text, chunk_size=size, chunk_overlap=overlap)
    assert all(0 <= s < e <= len(text) and e - s <= size for s, e in spans)
    covered = set().union(*(range(s, e) for s, e in spans)) if spans else set()
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_recursive_split_of_the_seed_article_keeps_exact_offsets_and_size():
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    spans = split_recursive(text)
    assert len(spans) > 5
    assert all(e - s <= 1000 for s, e in spans)
    assert all(text[s:e] == text[s:e].strip() for s, e in spans)
    assert all(a[0] < b[0] for a, b in pairwise(spans))  # in document order
    assert any(b[0] < a[1] for a, b in pairwise(spans))  # long paragraphs are cut with overlap


def test_the_naive_baseline_quotes_four_verbatim_passages_and_never_abstains(toy_corpus, fake_embedder):
    documents = load_corpus(toy_corpus).documents
    baseline = NaiveBaseline(documents, fake_embedder, Settings(model="fake-keywords"))
    by_id = {d.doc_id: d.text for d in documents}
    kidney, weather = baseline.answer_batch([Question("kidney disease?"), Question("nice weather today", ("kidney?",))])
    assert kidney.passages[0].doc_id == "kidneys.txt"
    assert len(kidney.passages) == 4 and not kidney.abstained and not kidney.emergency and kidney.notices == ()
    assert not weather.abstained and len(weather.passages) == 4
    for p in kidney.passages + weather.passages:
        assert by_id[p.doc_id][p.start : p.end] == p.text
    assert fake_embedder.calls == 2  # the chunks once, then both questions in one batch


def test_the_markdown_report_shows_a_missed_emergency_first_with_what_was_expected_and_returned():
    corpus = CorpusText({d.doc_id: d.text for d in DOCUMENTS})
    records = [
        {"id": "kidney-1", "question": "ok with bad kidneys?", "evidence": [KIDNEY]},
        {"id": "overdose-1", "question": "I took ten pills", "emergency": True},
    ]
    text = "".join(json.dumps(r) + "\n" for r in records)
    questions = parse_questions(text, fmt="jsonl", corpus=corpus, max_question_chars=200).questions
    at = DOCUMENTS[1].text.index(ALCOHOL)
    wrong = Passage(ALCOHOL, "alcohol.txt", "Alcohol", "", at, at + len(ALCOHOL), 0.7)
    answers = (
        Answer("q", "q", (wrong,), False, False, (), "", top_score=0.7),
        Answer("q", "q", (), True, False, (), "", message="Not in the documents.", top_score=0.2),
    )
    run = summarize_run(
        "default", {"name": "default"}, [judge(q, a, corpus, 5.0) for q, a in zip(questions, answers, strict=True)], k=3
    )

    failures = render_markdown(EvalReport("now", "q.jsonl", 3, 0.5, (run,))).split("## Worst failures")[1]

    assert failures.index("Emergency missed: `overdose-1`") < failures.index("No relevant passage shown: `kidney-1`")
    assert f"“{KIDNEY}”" in failures and f"“{ALCOHOL}”" in failures
    assert "no passage: “Not in the documents.”" in failures
    assert "emergency missed 1" in failures
