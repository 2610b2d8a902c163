"""`baclofen-qa eval` end to end on a small corpus written by the test, with the keyword FakeEmbedder."""

from __future__ import annotations

import csv
import json

import pytest

import assistant.embedding
import assistant.report
from assistant.cli import main
from assistant.metrics import percentile
from assistant.serialize import answer_from_dict, answer_to_dict
from tests.conftest import CORPUS, REPO, write_corpus

KIDNEY = "People with kidney disease need care with this drug."
DRIVE = "Do not drive until you know how drowsy it makes you."
SEIZURE = "Do not stop suddenly: stopping can cause a seizure."
DOCUMENTS = {
    "kidneys.txt": f"Kidney care\n\n{KIDNEY} The kidney clears it.\n",
    "driving.txt": f"Driving\n\n{DRIVE} Drowsy drivers crash.\n",
    "stopping.txt": f"Stopping\n\n{SEIZURE} Lower the dose slowly.\n",
}
QUESTIONS = [
    {
        "id": "k1",
        "question": "Is it safe with kidney disease?",
        "answerable": True,
        "evidence": [KIDNEY],
        "emergency": False,
        "tags": ["kidney"],
    },
    {
        "id": "d1",
        "question": "Can I drive if I feel drowsy?",
        "answerable": True,
        "evidence": [DRIVE],
        "emergency": False,
        "tags": ["driving"],
    },
    {
        "id": "s1",
        "question": "and if I stop?",
        "history": ["I take it for spasm"],
        "answerable": True,
        "evidence": [SEIZURE],
        "emergency": False,
        "tags": ["stopping", "followup"],
    },
    {
        "id": "u1",
        "question": "What is the weather like?",
        "answerable": False,
        "evidence": [],
        "emergency": False,
        "tags": ["offtopic"],
    },
    {"id": "x1", "question": "Tell me about the dose"},
]
REPORT_FILES = ("report.json", "results.csv", "report.md", "scores.png", "hit_at_k.png")


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "corpus", DOCUMENTS)


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


def run_eval(capsys, tmp_path, corpus, *args):
    common = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--model", "fake-keywords"]
    code = main(["eval", *map(str, args), *common])
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_writes_every_report_file(tmp_path, corpus, questions, fake_model, capsys):
    out_dir = tmp_path / "report"
    code, out, _ = run_eval(capsys, tmp_path, corpus, questions, "--out", out_dir)
    assert code == 0
    assert all((out_dir / name).is_file() for name in REPORT_FILES)
    assert "hit@1" in out and "report.md" in out
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    assert {"metrics", "by_tag", "config", "results"} <= set(report)
    assert report["metrics"]["n_questions"] == 5 and report["metrics"]["n_with_evidence"] == 3
    # k1, d1 and s1 are answered, each with its evidence first; u1 (weather) and x1 (a dose) abstain.
    assert report["metrics"]["verbatim"] == 1.0 and report["metrics"]["n_answered"] == 3
    ranks = [(r["id"], r["hit_rank"]) for r in report["results"]]
    assert ranks == [("k1", 1), ("d1", 1), ("s1", 1), ("u1", None), ("x1", None)]
    assert {"kidney", "driving", "offtopic"} <= set(report["by_tag"])
    assert report["config"]["name"] == "default" and "kidneys.txt" in report["config"]["corpus_fingerprints"]
    assert [r["id"] for r in report["results"]] == ["k1", "d1", "s1", "u1", "x1"]
    for result in report["results"]:
        assert {
            "question",
            "condensed_query",
            "abstained",
            "emergency",
            "notices",
            "passages",
            "hit_rank",
            "latency_ms",
            "relevant",
            "verbatim",
        } <= set(result)
        assert result["latency_ms"] > 0
    rows = list(csv.DictReader((out_dir / "results.csv").open(encoding="utf-8")))
    assert [row["id"] for row in rows] == ["k1", "d1", "s1", "u1", "x1"]
    markdown = (out_dir / "report.md").read_text(encoding="utf-8")
    assert "## Metrics" in markdown and "## By tag" in markdown and "## Worst failures" in markdown
    assert (out_dir / "scores.png").read_bytes().startswith(b"\x89PNG")
    assert not list(out_dir.glob(".eval-tmp-*"))  # the staging folder is gone


def test_each_result_rebuilds_the_answer_as_ask_shows_it(tmp_path, corpus, questions, fake_model, capsys):
    run_eval(capsys, tmp_path, corpus, questions, "--out", tmp_path / "report")
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    for result in report["results"]:
        shown = answer_to_dict(answer_from_dict(result))
        assert shown == {key: result[key] for key in shown}


def test_fail_under_sets_the_exit_code(tmp_path, corpus, questions, fake_model, capsys):
    code, out, _ = run_eval(
        capsys,
        tmp_path,
        corpus,
        questions,
        "--fail-under",
        "hit@1=0",
        "--fail-under",
        "false_alarm=1",
        "--out",
        tmp_path / "a",
    )
    assert code == 0 and "target" in out
    code, out, err = run_eval(
        capsys,
        tmp_path,
        corpus,
        questions,
        "--fail-under",
        "hit@1=0",
        "--fail-under",
        "latency_p50_ms=0",
        "--out",
        tmp_path / "b",
    )
    assert code == 1
    assert "latency_p50_ms" in err and "FAIL" in out
    report = json.loads((tmp_path / "b" / "report.json").read_text(encoding="utf-8"))
    assert report["passed"] is False  # the report is still written, to see why
    assert "**FAIL**" in (tmp_path / "b" / "report.md").read_text(encoding="utf-8")


def test_an_unknown_metric_is_a_usage_error_listing_the_known_ones(tmp_path, corpus, questions, fake_model, capsys):
    with pytest.raises(SystemExit) as stopped:
        run_eval(capsys, tmp_path, corpus, questions, "--fail-under", "precision=0.5")
    assert stopped.value.code == 2
    assert "known metrics: hit@1, hit@3" in capsys.readouterr().err


def test_a_malformed_question_file_exits_2_lists_lines_and_writes_nothing(tmp_path, corpus, fake_model, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps(QUESTIONS[0])
        + "\n{oops\n"
        + json.dumps({"id": "z", "question": "q", "evidence": ["Not there."]})
        + "\n",
        encoding="utf-8",
    )
    code, _, err = run_eval(capsys, tmp_path, corpus, path, "--out", tmp_path / "report")
    assert code == 2
    assert "line 2: not valid JSON" in err and "line 3: evidence 1 is not in the corpus" in err
    assert not (tmp_path / "report").exists()
    assert fake_model.calls == 0  # stopped before any work: no model, no index


def test_an_output_path_that_is_a_file_is_refused_before_any_work(tmp_path, corpus, questions, fake_model, capsys):
    taken = tmp_path / "taken"
    taken.write_text("not a folder", encoding="utf-8")
    code, _, err = run_eval(capsys, tmp_path, corpus, questions, "--out", taken)
    assert code == 1 and "is a file" in err
    assert fake_model.calls == 0


def test_skip_invalid_runs_the_good_lines_and_records_how_many_were_skipped(
    tmp_path, corpus, questions, fake_model, capsys
):
    with questions.open("a", encoding="utf-8") as handle:
        handle.write("{oops\n")
    code, out, err = run_eval(capsys, tmp_path, corpus, questions, "--skip-invalid", "--out", tmp_path / "report")
    assert code == 0 and "Skipped 1 invalid line" in err and "line 6" in err
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    assert report["skipped_invalid"] == 1 and report["metrics"]["n_questions"] == 5


def test_csv_question_files_work(tmp_path, corpus, fake_model, capsys):
    path = tmp_path / "questions.csv"
    path.write_text(
        "id,question,history,answerable,evidence,emergency,tags\n"
        f"k1,Is it safe with kidney disease?,,yes,{KIDNEY},no,kidney\n"
        's1,and if I stop?,I take it for spasm,true,"' + SEIZURE + '",0,stopping|followup\n'
        "u1,What is the weather like?,,false,,false,offtopic\n",
        encoding="utf-8",
    )
    code, _, _ = run_eval(capsys, tmp_path, corpus, path, "--out", tmp_path / "report")
    assert code == 0
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    assert report["metrics"]["n_with_evidence"] == 2 and report["metrics"]["n_unanswerable"] == 1
    assert report["results"][1]["history"] == ["I take it for spasm"]


def test_compare_prints_one_table_with_every_configuration(tmp_path, corpus, questions, fake_model, capsys):
    code, out, _ = run_eval(
        capsys, tmp_path, corpus, questions, "--compare", "dense,bm25,hybrid,naive", "--out", tmp_path / "report"
    )
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "dense", "bm25", "hybrid", "naive"]
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    assert list(report["compare"]) == ["dense", "bm25", "hybrid", "naive"]
    assert report["compare"]["naive"]["wrong_abstain"] == 0.0  # the naive pipeline never abstains
    assert report["compare"]["naive"]["verbatim"] == 1.0
    assert report["config"]["name"] == "dense"
    assert "## Configurations compared" in (tmp_path / "report" / "report.md").read_text(encoding="utf-8")


def test_an_unknown_configuration_is_a_usage_error(tmp_path, corpus, questions, fake_model, capsys):
    with pytest.raises(SystemExit) as stopped:
        run_eval(capsys, tmp_path, corpus, questions, "--compare", "dense,bert")
    assert stopped.value.code == 2 and "bert" in capsys.readouterr().err


def test_an_interrupted_run_leaves_the_previous_report_intact(
    tmp_path, corpus, questions, fake_model, capsys, monkeypatch
):
    out_dir = tmp_path / "report"
    run_eval(capsys, tmp_path, corpus, questions, "--out", out_dir)
    before = (out_dir / "report.json").read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(assistant.report, "plot_hit_at_k", interrupted)
    code, _, _ = run_eval(capsys, tmp_path, corpus, questions, "-k", "2", "--out", out_dir)
    assert code == 130
    assert (out_dir / "report.json").read_bytes() == before
    assert not list(out_dir.glob(".eval-tmp-*"))


@pytest.mark.slow
def test_eval_with_the_real_model_on_the_seed_article(tmp_path, capsys):
    gold = [
        json.loads(line) for line in (REPO / "tests" / "data" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    picked = [q for q in gold if q["answerable"] is True][:6] + [q for q in gold if q["answerable"] is False][:2]
    picked += [q for q in gold if q["emergency"]][:2]
    path = tmp_path / "ten.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in picked), encoding="utf-8")
    out_dir = tmp_path / "report"
    code = main(
        [
            "eval",
            str(path),
            "--out",
            str(out_dir),
            "--corpus",
            str(CORPUS),
            "--index-dir",
            str(tmp_path / "index"),
            "--compare",
            "default,naive",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert all((out_dir / name).is_file() for name in REPORT_FILES)
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    metrics = report["metrics"]
    assert metrics["n_questions"] == 10 and metrics["n_with_evidence"] == 6
    results = {r["id"]: r for r in report["results"]}
    # The six are plain "what is it / what is it for" questions: each answer's first passage holds the
    # evidence. The two unanswerable follow-ups abstain; the two emergencies are flagged.
    assert [results[q["id"]]["hit_rank"] for q in picked[:6]] == [1] * 6
    assert (metrics["hit@1"], metrics["hit@3"]) == (1.0, 1.0)
    assert (metrics["abstain"], metrics["wrong_abstain"]) == (1.0, 0.0)
    assert (metrics["emergency_recall"], metrics["false_alarm"]) == (1.0, 0.0)
    assert metrics["verbatim"] == 1.0
    # The naive pipeline (same model, no judging) finds 5 of the 6 within 3 passages, 3 of them first.
    naive = report["compare"]["naive"]
    assert (naive["hit@1"], naive["hit@3"]) == (pytest.approx(3 / 6), pytest.approx(5 / 6))
    # The reported latencies are the percentiles of the per-question latencies (written rounded to
    # 0.01 ms), not another measure.
    latencies = [r["latency_ms"] for r in report["results"]]
    assert metrics["latency_p50_ms"] == pytest.approx(percentile(latencies, 50), abs=0.005)
    assert metrics["latency_p95_ms"] == pytest.approx(percentile(latencies, 95), abs=0.005)
    assert max(latencies) < 10_000


TWO_MEDICINES = {
    "baclofen.txt": "Baclofen\n\nBaclofen can make you drowsy. Do not drive until you know how drowsy it makes you.\n",
    "baclofen.txt.meta.json": json.dumps({"title": "Baclofen leaflet", "kind": "leaflet", "medicines": ["baclofen"]}),
    "tizanidine.txt": "Tizanidine\n\nTizanidine can make you drowsy. Do not drive when drowsy.\n",
    "tizanidine.txt.meta.json": json.dumps({"title": "Tizanidine label", "kind": "label", "medicines": ["tizanidine"]}),
}


def test_wrong_medicine_counts_answers_quoting_a_document_about_another_medicine(tmp_path, fake_model, capsys):
    corpus = write_corpus(tmp_path / "two", TWO_MEDICINES)
    rows = [
        {"id": "t1", "question": "can I drive on tizanidine if drowsy?", "medicine": "tizanidine"},
        {"id": "b1", "question": "baclofen drowsy drive?", "medicine": "baclofen"},
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, _ = run_eval(capsys, tmp_path, corpus, path, "--out", tmp_path / "out", "--compare", "default,naive")
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["metrics"]["wrong_medicine"] == 0.0 and report["metrics"]["n_medicine_labelled"] == 2
    for result in report["results"]:
        assert {p["doc_id"] for p in result["passages"]} <= {f"{result['medicine_expected']}.txt"}
    assert report["compare"]["naive"]["wrong_medicine"] == 1.0  # the naive pipeline quotes both documents


def test_a_medicine_label_must_be_text(tmp_path, corpus, fake_model, capsys):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "q?", "medicine": 3}) + "\n", encoding="utf-8")
    code, _, err = run_eval(capsys, tmp_path, corpus, path, "--out", tmp_path / "out")
    assert code == 2 and "line 1: medicine must be text" in err


def test_calibrate_stores_a_threshold_that_the_assistant_then_uses(tmp_path, corpus, questions, fake_model, capsys):
    from assistant.calibration import read_calibration
    from assistant.config import Settings
    from assistant.engine import Assistant
    from assistant.store import load_index

    common = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--model", "fake-keywords"]
    assert main(["calibrate", str(questions), *common]) == 0
    out = capsys.readouterr().out
    stored = read_calibration(tmp_path / "index")
    assert stored is not None and f"min_score {stored.min_score:.2f}" in out
    assert stored.n_answerable == 3 and stored.n_unanswerable == 1
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", model="fake-keywords")
    auto = Assistant(settings, fake_model, load_index(settings))
    assert (auto.min_score, auto.min_score_source.startswith("calibrated")) == (stored.min_score, True)
    explicit = Assistant(settings.replace(min_score=0.9), fake_model, auto.index)
    assert (explicit.min_score, explicit.min_score_source) == (0.9, "setting")
    (corpus / "new.txt").write_text("A new leaflet.\n")
    main(["index", *common])
    changed = Assistant(settings, fake_model, load_index(settings))
    assert changed.min_score_source == "default"  # fitted on another corpus: not used


def test_calibrate_needs_both_answerable_and_unanswerable_questions(tmp_path, corpus, fake_model, capsys):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(QUESTIONS[0]) + "\n", encoding="utf-8")
    common = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--model", "fake-keywords"]
    assert main(["calibrate", str(path), *common]) == 2
    assert "answerable: false" in capsys.readouterr().err
