"""Issue 13, part D: one pass through the engine, records between its steps, each fact in one place.

Following one question through the code must never climb back to a module it already left: the
engine calls safety -> topics -> partners -> rank (retrieval) -> judge (answerability) -> passages
-> compose once each, and no later step calls back into the engine or reads storage through it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import assistant
from assistant import evaluate
from assistant.chunking import CHUNKER_VERSION
from assistant.cli import build_parser
from assistant.config import Settings
from assistant.derived import compute_derived
from assistant.engine import Assistant
from assistant.errors import SettingsError
from assistant.fusion import FUSION_MODES
from assistant.partners import find_partners
from assistant.records import AnswersQuestions
from assistant.retrieval import Retriever
from assistant.safety import SafetyDetector
from assistant.store import build_chunks, build_index, load_index, read_corpus
from assistant.vector_index import VectorRows
from tests.conftest import CORPUS, REPO, FakeEmbedder, write_corpus

PACKAGE = Path(assistant.__file__).parent
DIGEST_FILE = REPO / "tests" / "data" / "chunker_digest.json"
# The corpora whose chunking is pinned: the seed article (plain text) and the leaflets (Markdown
# headings, lists and tables).
PINNED_CORPORA = ("corpus", "tests/data/leaflets")


@pytest.fixture(scope="module", params=["fake", pytest.param("real", marks=pytest.mark.slow)])
def seed_assistant(request, tmp_path_factory):
    """The Assistant over the real seed article and a real FAISS index: with the keyword FakeEmbedder
    (fast; its safety detector reads the rule lists only, as keyword vectors mean nothing to the
    safety examples), or with the real model (slow)."""
    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("seed-index"))
    if request.param == "real":
        return Assistant.load(settings, embedder=request.getfixturevalue("real_embedder"))
    settings = settings.replace(model="fake-keywords")
    embedder = FakeEmbedder()
    build_index(settings, embedder)
    built = Assistant(settings, embedder, load_index(settings))
    built.safety = SafetyDetector(settings, medicine_names=built.router.medicines)
    return built


def _module_of(frame) -> str | None:
    """The assistant module a Python frame runs in; None for generated code (dataclass __init__) and others."""
    filename = frame.f_code.co_filename
    if not filename.startswith(str(PACKAGE)):
        return None
    return frame.f_globals.get("__name__")


def _trace(seed_assistant, question: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(the modules the engine's per-question steps call, in order, consecutive repeats merged;
    the calls from another assistant module into assistant.engine)."""
    steps: list[str] = []
    back_into_engine: list[tuple[str, str]] = []
    engine_steps = {"_prepare", "_answer_one"}

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = _module_of(frame)
        caller_frame = frame.f_back
        if callee is None or caller_frame is None:
            return
        caller = _module_of(caller_frame)
        stepping = caller == "assistant.engine" and caller_frame.f_code.co_name in engine_steps
        if stepping and callee != "assistant.engine" and (not steps or steps[-1] != callee):
            steps.append(callee)
        if callee == "assistant.engine" and caller not in (None, "assistant.engine"):
            back_into_engine.append((caller, frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        seed_assistant.answer(question)
    finally:
        sys.setprofile(None)
    return steps, back_into_engine


@pytest.mark.parametrize(
    "question",
    [
        "what are the side effects?",
        "can I take baclofen with oxycodone?",  # a partner medicine: ranked and judged by name
        "how many tablets should I take a day?",  # an amount question: the judge reorders
        "is it safe while pregnant?",  # a topic
        "hello",  # small talk: safety says so, nothing is searched
    ],
)
def test_one_question_never_climbs_back_to_a_module_it_already_left(seed_assistant, question):
    steps, back_into_engine = _trace(seed_assistant, question)
    repeated = sorted({m for m in steps if steps.count(m) > 1})
    assert not repeated, f"the engine goes back to {repeated}: {' -> '.join(steps)}"
    assert not back_into_engine, f"later steps call back into the engine: {back_into_engine}"
    if question != "hello":
        order = ["assistant.retrieval", "assistant.answerability", "assistant.passages", "assistant.compose"]
        assert [m for m in steps if m in order] == order, " -> ".join(steps)


@pytest.mark.parametrize(
    "question, small_talk",
    [
        ("hello", True),
        ("thanks!", True),
        ("what can you do?", True),
        ("hello, my son swallowed 20 of my baclofen tablets", False),  # a notice: never small talk
        ("what are the side effects?", False),
    ],
)
def test_small_talk_is_a_typed_field_of_the_safety_assessment(question, small_talk):
    assessment = SafetyDetector(Settings()).assess(question)
    assert assessment.small_talk is small_talk
    if small_talk:
        assert not assessment.notices


def test_urgent_categories_are_read_from_the_assessment_not_from_label_strings():
    assessment = SafetyDetector(Settings()).assess("my son swallowed 20 of my baclofen tablets")
    assert assessment.emergency and assessment.urgent_categories
    assert set(assessment.urgent_categories) == {n.category for n in assessment.notices if n.urgent}


HEADED = {
    # A word only the section heading has ("kidney", "oxycodone"): embedding, BM25 and partner search
    # must all read the heading with the text.
    "notes.md": "# Kidney and oxycodone notes\n\nTake care with this drug and talk to the pharmacist first.\n\n"
    "# Weather\n\nThe weather does not change the dose.\n",
}


def test_embedding_bm25_and_partner_search_all_read_the_chunk_with_its_heading(tmp_path):
    settings = Settings(
        corpus_dir=write_corpus(tmp_path / "docs", HEADED), index_dir=tmp_path / "ix", model="fake-keywords"
    )
    embedder = FakeEmbedder()
    build_index(settings, embedder)
    index = load_index(settings)
    (noted,) = [c for c in index.chunks if c.section == "Kidney and oxycodone notes"]
    assert noted.search_text == "Kidney and oxycodone notes\n" + noted.text
    row = index.chunks.index(noted)
    # What was embedded for the chunk is its search text (no medicine here, so nothing masked).
    np.testing.assert_allclose(
        VectorRows(index.chunk_index)[row], embedder.encode([noted.search_text])[0], rtol=1e-5, atol=1e-6
    )
    # BM25 finds it by a word only its heading has.
    derived = compute_derived(
        index.chunks, [[index.documents[c.doc_id].text[s:e] for s, e in c.sentences] for c in index.chunks]
    )
    assert "oxycodon" in derived.bm25.vocab
    # The partner search finds it by the name in its heading.
    assistant_ = Assistant(settings, embedder, index)
    question = "can I take it with oxycodone?"
    partners = find_partners(
        assistant_.router.route(question),
        assistant_.lexicon.terms_of(question),
        assistant_.router.names,
        assistant_.lexicon.vocabulary.drug_classes,
    )
    assert [p.name for p in partners] == ["oxycodone"]
    assert assistant_.retriever._naming(partners, frozenset(index.documents)) == [row]  # the rank step's scan


def test_every_vector_is_scaled_to_unit_length_by_one_function():
    """Dividing by a norm is written once (embedding.unit_vectors); elsewhere norms are only checked."""
    dividers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "embedding.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            divisor = ast.unparse(node.right) if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) else ""
            # Rows divided by their norms ("norms", or a norm along an axis); a scalar norm is no normaliser.
            if "norms" in divisor or ("norm(" in divisor and "axis" in divisor):
                dividers.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {ast.unparse(node)}")
    assert not dividers, "normalise with assistant.embedding.unit_vectors:\n" + "\n".join(dividers)


def test_every_fusion_mode_is_offered_and_accepted_by_name():
    for name in FUSION_MODES:
        assert Settings(retrieval=name).retrieval == name
        assert name in evaluate.CONFIG_NAMES
    parser = build_parser()
    args = parser.parse_args(["eval", "questions.jsonl", "--compare", ",".join(FUSION_MODES)])
    assert args.compare == list(FUSION_MODES)
    with pytest.raises(SettingsError, match=", ".join(FUSION_MODES)):
        Settings(retrieval="magic")


def test_a_mode_added_to_the_table_is_accepted_and_ranks_by_its_function(seed_assistant, monkeypatch):
    monkeypatch.setitem(FUSION_MODES, "flat", lambda signals, dense_weight: 0.5)
    settings = seed_assistant.settings.replace(retrieval="flat", official_bonus=0.0)
    retriever = Retriever(seed_assistant.index, settings, seed_assistant.lexicon)
    terms = seed_assistant.lexicon.terms_of("side effects")
    found = retriever.search(terms, seed_assistant.embedder.encode([terms.search_text])[0])
    assert found.candidates and {c.score for c in found.candidates} == {0.5}


def test_the_chat_and_the_evaluation_share_one_protocol_that_both_systems_meet(tmp_path):
    import ui.app
    from assistant.baseline import NaiveBaseline
    from assistant.ingest import load_corpus

    assert evaluate.AnswersQuestions is AnswersQuestions
    assert ui.app.AnswersQuestions is AnswersQuestions
    documents = load_corpus(CORPUS).documents
    baseline: AnswersQuestions = NaiveBaseline(documents, FakeEmbedder(), Settings(model="fake-keywords"))
    answer = baseline.answer("can I drive?")
    assert answer.passages and baseline.documents == tuple(documents)


def _chunking_digest(corpus_dir: Path) -> str:
    """A hash of every chunk the index would be built from: its id, offsets, section, kind, sentence spans
    and the text searched for it."""
    settings = Settings(corpus_dir=corpus_dir)
    digest = hashlib.sha256()
    for chunk in build_chunks(read_corpus(settings), settings):
        record = [chunk.chunk_id, chunk.start, chunk.end, chunk.section, chunk.kind, chunk.sentences, chunk.search_text]
        digest.update(json.dumps(record, ensure_ascii=False).encode())
    return digest.hexdigest()


def test_chunking_the_pinned_corpora_gives_the_digest_recorded_for_this_chunker_version():
    """Chunking output may change only together with CHUNKER_VERSION (so that built indexes are rebuilt)."""
    recorded = json.loads(DIGEST_FILE.read_text(encoding="utf-8"))
    now = {name: _chunking_digest(REPO / name) for name in PINNED_CORPORA}
    update = json.dumps({"chunker_version": CHUNKER_VERSION, "digests": now}, indent=2)
    if recorded["chunker_version"] == CHUNKER_VERSION:
        assert recorded["digests"] == now, (
            f"chunking output changed but CHUNKER_VERSION is still {CHUNKER_VERSION}: bump it in "
            f"assistant/chunking.py (old indexes must be rebuilt), then write to {DIGEST_FILE.name}:\n{update}"
        )
    else:
        pytest.fail(f"CHUNKER_VERSION is now {CHUNKER_VERSION}: record its digests in {DIGEST_FILE.name}:\n{update}")
