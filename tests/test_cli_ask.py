from __future__ import annotations

import json

import pytest

import assistant.embedding
from assistant.cli import main
from assistant.records import URGENT_LEVELS


@pytest.fixture
def args(tmp_path, toy_corpus, fake_embedder, monkeypatch):
    monkeypatch.setattr(assistant.embedding, "load_embedder", lambda *a, **k: fake_embedder)
    return ["--corpus", str(toy_corpus), "--index-dir", str(tmp_path / "idx")]


def test_ask_prints_the_passage_with_its_source_then_the_disclaimer(args, capsys):
    code = main(["ask", "is it ok with kidney disease?", *args])
    out = " ".join(capsys.readouterr().out.split())  # the disclaimer is wrapped to the terminal width
    assert code == 0
    assert "From the document: Kidney care" in out and "kidney disease need care" in out
    assert out.index("kidney disease need care") < out.index("not medical advice")


def test_ask_json_has_the_documented_shape(args, capsys):
    code = main(["ask", "can I drive when drowsy?", "--json", *args])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {
        "question",
        "condensed_query",
        "abstained",
        "emergency",
        "notices",
        "disclaimer",
        "passages",
        "timings_ms",
    } <= set(data)
    assert {"text", "source", "section", "start", "end", "score"} <= set(data["passages"][0])


def test_ask_uses_the_history_for_a_follow_up(args, capsys):
    main(["ask", "and is that safe?", "--history", "what about alcohol?", "--json", *args])
    data = json.loads(capsys.readouterr().out)
    assert data["condensed_query"].startswith("and is that safe?") and "alcohol" in data["condensed_query"]


def test_an_emergency_notice_is_printed_before_anything_else(args, capsys):
    question = "I took 10 pills of baclofen by mistake"
    main(["ask", question, "--json", *args])
    notices = json.loads(capsys.readouterr().out)["notices"]
    main(["ask", question, *args])
    lines = capsys.readouterr().out.splitlines()
    assert notices and notices[0]["level"] in URGENT_LEVELS
    # The first line is the most urgent notice's banner, and the notices follow in the engine's order.
    assert lines[0].startswith("[") and lines[0].endswith(f"] {notices[0]['title']}")
    banners = [line for line in lines if line.startswith("[")]
    assert [b.split("] ", 1)[1] for b in banners] == [n["title"] for n in notices]


@pytest.mark.parametrize("question, message", [("", "empty"), ("   ", "empty"), ("x" * 1001, "too long")])
def test_bad_input_is_a_one_line_error_with_exit_code_2(args, capsys, question, message):
    code = main(["ask", question, *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
