from __future__ import annotations

from assistant.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_index_prints_a_summary_then_reports_up_to_date_without_embedding(tmp_path, toy_corpus, fake_model, capsys):
    args = ("index", "--corpus", str(toy_corpus), "--index-dir", str(tmp_path / "idx"))
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert "Built a new index" in out and "documents   5" in out
    for label in ("chunks", "model", "dimension", "seconds"):
        assert label in out
    calls = fake_model.calls
    code, out, _ = run(capsys, *args)
    assert code == 0 and "up to date" in out
    assert fake_model.calls == calls


def test_index_rebuilds_after_a_corpus_file_changes(tmp_path, toy_corpus, fake_model, capsys):
    args = ("index", "--corpus", str(toy_corpus), "--index-dir", str(tmp_path / "idx"))
    run(capsys, *args)
    (toy_corpus / "alcohol.txt").write_text("Changed text.\n")
    code, out, _ = run(capsys, *args)
    assert code == 0 and "Built a new index" in out and "changed file alcohol.txt" in out


def test_no_rebuild_on_a_stale_index_is_a_one_line_error(tmp_path, toy_corpus, fake_model, capsys):
    args = ("index", "--corpus", str(toy_corpus), "--index-dir", str(tmp_path / "idx"))
    run(capsys, *args)
    (toy_corpus / "alcohol.txt").write_text("Changed text.\n")
    code, out, err = run(capsys, *args, "--no-rebuild")
    assert code == 1
    assert "changed file alcohol.txt" in err and "Traceback" not in err


def test_an_empty_corpus_folder_is_a_clear_error_and_writes_no_index(tmp_path, fake_model, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "index", "--corpus", str(empty), "--index-dir", str(tmp_path / "idx"))
    assert code == 1 and "No readable documents" in err
    assert not (tmp_path / "idx" / "CURRENT").exists()


def test_skipped_files_are_listed_in_the_summary(tmp_path, toy_corpus, fake_model, capsys):
    (toy_corpus / "broken.pdf").write_bytes(b"not a pdf")
    code, out, _ = run(capsys, "index", "--corpus", str(toy_corpus), "--index-dir", str(tmp_path / "idx"))
    assert code == 0 and "skipped     broken.pdf" in out


def test_a_bad_setting_in_the_environment_is_a_clear_error(tmp_path, toy_corpus, fake_model, capsys, monkeypatch):
    monkeypatch.setenv("BACLOFEN_QA_CHUNK_MAX_CHARS", "lots")
    code, _, err = run(capsys, "index", "--corpus", str(toy_corpus), "--index-dir", str(tmp_path / "idx"))
    assert code == 1 and "chunk_max_chars" in err
