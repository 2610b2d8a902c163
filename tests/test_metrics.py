"""Metrics on small hand-made runs whose right answers can be worked out by reading the test."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from assistant.evaluate import LabelledQuestion, judge
from assistant.metrics import (
    CorpusText,
    Outcome,
    Span,
    Target,
    check_targets,
    fold_whitespace,
    hit_curve,
    overlaps_enough,
    parse_target,
    resolve_targets,
    summarize,
    summarize_by_tag,
)
from assistant.records import Answer, Passage

DOCS = {
    "stopping.txt": "Stopping\n\nDo not stop suddenly:   stopping can cause\n  a seizure. Lower the dose slowly.\n",
    "kidneys.txt": "Kidney care\n\nPeople with kidney disease need care. Lower the dose slowly.\n",
}
CORPUS = CorpusText(DOCS)


def passage_at(doc_id: str, phrase: str, *, score: float = 0.9, text: str | None = None) -> Passage:
    start = DOCS[doc_id].index(phrase)
    end = start + len(phrase)
    return Passage(
        text=DOCS[doc_id][start:end] if text is None else text,
        doc_id=doc_id,
        source=doc_id,
        section="",
        start=start,
        end=end,
        score=score,
    )


def answer_with(*passages: Passage, abstained: bool = False, emergency: bool = False, ms: float = 10.0) -> Answer:
    return Answer(
        question="q",
        condensed_query="q",
        passages=tuple(passages),
        abstained=abstained,
        emergency=emergency,
        notices=(),
        disclaimer="",
        timings_ms={"total": ms},
    )


def question(
    qid: str,
    *,
    evidence: tuple[str, ...] = (),
    answerable: bool | None = None,
    emergency: bool | None = False,
    tags: tuple[str, ...] = (),
) -> LabelledQuestion:
    spans = tuple(span for e in evidence for span in CORPUS.locate(e))
    if evidence and answerable is None:
        answerable = True
    return LabelledQuestion(qid, "q", (), answerable, evidence, spans, emergency, tags, line=1)


def outcome(
    qid: str,
    relevant: tuple[bool, ...],
    *,
    abstained: bool = False,
    answerable: bool | None = True,
    tags: tuple[str, ...] = (),
    latency_ms: float = 10.0,
) -> Outcome:
    return Outcome(
        qid,
        tags,
        answerable,
        answerable is True,
        False,
        abstained,
        False,
        relevant,
        (True,) * len(relevant),
        None if abstained else 100,
        0.8,
        latency_ms,
    )


SEIZURE = "Do not stop suddenly: stopping can cause a seizure."
SLOWLY = "Lower the dose slowly."
KIDNEY = "People with kidney disease need care."


def test_whitespace_runs_fold_to_one_space_and_offsets_map_back():
    folded = fold_whitespace("a \n\t b  c")
    assert folded.text == "a b c"
    assert folded.to_original[2] == 5 and folded.to_folded[5] == 2  # "b"
    assert folded.to_folded[3] == 2  # inside the run: just after the folded space


def test_evidence_is_found_despite_different_whitespace_at_its_original_offsets():
    [span] = CORPUS.locate(SEIZURE)
    assert span.doc_id == "stopping.txt"
    assert DOCS["stopping.txt"][span.start : span.end] == "Do not stop suddenly:   stopping can cause\n  a seizure."


def test_evidence_is_found_at_every_place_in_every_document():
    assert {s.doc_id for s in CORPUS.locate(SLOWLY)} == {"stopping.txt", "kidneys.txt"}
    assert CORPUS.locate("Not in any document.") == ()


@pytest.mark.parametrize(
    ("a", "b", "relevant"),
    [
        ((0, 10), (5, 15), True),  # overlap 5 of the shorter 10: exactly half counts
        ((0, 10), (6, 16), False),  # 4 of 10
        ((0, 9), (4, 13), True),  # 5 of 9
        ((0, 9), (5, 14), False),  # 4 of 9: just under half
        ((0, 4), (2, 100), True),  # 2 of the shorter 4, however long the other is
        ((10, 20), (0, 10), False),  # touching is not overlapping
        ((0, 0), (0, 10), False),  # an empty span is never relevant
    ],
)
def test_relevance_needs_an_overlap_of_at_least_half_the_shorter_span(a, b, relevant):
    assert overlaps_enough(a, b) is relevant
    assert overlaps_enough(b, a) is relevant


def test_whitespace_does_not_count_towards_the_overlap():
    doc = "alpha" + " " * 40 + "beta" + "Z" * 20
    corpus = CorpusText({"d": doc})
    evidence = corpus.locate("alpha beta")
    # The passage starts inside the whitespace run: 43 raw characters overlap, but only "beta" (4 of 10) counts.
    assert not corpus.is_relevant(Span("d", 6, len(doc)), evidence)
    assert corpus.is_relevant(Span("d", 0, 7), evidence)  # "alpha" + the folded space: 6 of 7


@given(
    words=st.lists(st.text(alphabet="abcxyz", min_size=1, max_size=5), min_size=1, max_size=12),
    gaps=st.lists(st.sampled_from([" ", "  ", "\n", " \n\t", "\u00a0"]), min_size=12, max_size=12),
    data=st.data(),
)
def test_any_stretch_of_words_is_found_whatever_its_whitespace(words, gaps, data):
    text = "".join(w + g for w, g in zip(words, gaps, strict=False))  # up to 12 words, 12 gaps: the last gaps unused
    first = data.draw(st.integers(0, len(words) - 1))
    last = data.draw(st.integers(first, len(words) - 1))
    evidence = " ".join(words[first : last + 1])  # the same words, single-spaced
    corpus = CorpusText({"d": text})
    spans = corpus.locate(evidence)
    assert spans
    for span in spans:
        assert " ".join(text[span.start : span.end].split()) == evidence
        assert corpus.is_relevant(span, spans)


def test_a_passage_in_another_document_is_not_relevant():
    evidence = CORPUS.locate(KIDNEY)
    start = DOCS["stopping.txt"].index("Do not")
    assert not CORPUS.is_relevant(Span("stopping.txt", start, start + len(KIDNEY)), evidence)


def test_a_perfect_system_scores_one_on_every_ranking_metric():
    results = [
        judge(question("a", evidence=(SEIZURE,)), answer_with(passage_at("stopping.txt", "Do not stop")), CORPUS, 5.0),
        judge(question("b", evidence=(KIDNEY,)), answer_with(passage_at("kidneys.txt", KIDNEY)), CORPUS, 5.0),
    ]
    metrics = summarize([r.outcome for r in results], k=3)
    assert metrics["hit@1"] == metrics["hit@3"] == metrics["mrr@5"] == metrics["ndcg@5"] == metrics["recall@3"] == 1.0
    assert metrics["wrong_abstain"] == 0.0 and metrics["verbatim"] == 1.0


def test_a_relevant_passage_at_rank_two_halves_mrr():
    answer = answer_with(
        passage_at("kidneys.txt", KIDNEY, score=0.9), passage_at("stopping.txt", "Do not stop", score=0.8)
    )
    result = judge(question("a", evidence=(SEIZURE,)), answer, CORPUS, 5.0)
    assert result.outcome.relevant == (False, True)
    metrics = summarize([result.outcome], k=3)
    assert metrics["hit@1"] == 0.0 and metrics["hit@3"] == 1.0 and metrics["recall@3"] == 1.0
    assert metrics["mrr@5"] == pytest.approx(0.5)
    assert metrics["ndcg@5"] == pytest.approx(1 / math.log2(3))
    assert summarize([result.outcome], k=1)["recall@1"] == 0.0


def test_recall_means_any_relevant_passage_not_a_share_of_passages():
    both = outcome("a", (True, True, False))
    one = outcome("b", (False, False, True))
    assert summarize([both, one], k=3)["recall@3"] == 1.0


def test_a_system_that_abstains_on_everything_misses_every_answerable_question():
    answerable = [judge(question(q, evidence=(KIDNEY,)), answer_with(abstained=True), CORPUS, 3.0) for q in "ab"]
    unanswerable = [judge(question(q, answerable=False), answer_with(abstained=True), CORPUS, 3.0) for q in "cd"]
    metrics = summarize([r.outcome for r in answerable + unanswerable], k=3)
    assert metrics["hit@1"] == metrics["hit@3"] == metrics["mrr@5"] == metrics["ndcg@5"] == metrics["recall@3"] == 0.0
    assert metrics["abstain"] == 1.0 and metrics["wrong_abstain"] == 1.0
    assert metrics["top_passage_chars"] is None and metrics["verbatim"] is None
    assert metrics["n_answered"] == 0 and metrics["n_with_evidence"] == 2 and metrics["n_unanswerable"] == 2


def test_an_abstained_answer_that_still_carries_passages_counts_as_a_miss():
    answer = answer_with(passage_at("kidneys.txt", KIDNEY), abstained=True)
    result = judge(question("a", evidence=(KIDNEY,)), answer, CORPUS, 3.0)
    assert summarize([result.outcome], k=3)["hit@3"] == 0.0


def test_a_passage_that_is_not_verbatim_lowers_the_verbatim_share():
    cleaned = "Do not stop suddenly: stopping can cause a seizure."  # whitespace "tidied": not what the document says
    answer = answer_with(
        passage_at("stopping.txt", "Do not stop suddenly:   stopping can cause\n  a seizure.", text=cleaned),
        passage_at("kidneys.txt", KIDNEY),
        passage_at("kidneys.txt", SLOWLY),
    )
    result = judge(question("a", evidence=(SEIZURE,)), answer, CORPUS, 3.0)
    assert result.outcome.verbatim == (False, True, True)
    assert result.outcome.relevant[0]  # relevance is about where it is, not how it is written
    assert summarize([result.outcome], k=3)["verbatim"] == pytest.approx(2 / 3)


def test_emergency_recall_and_false_alarms_are_shares_of_their_labelled_questions():
    cases = [
        (question("e1", emergency=True), answer_with(emergency=True, abstained=True)),
        (question("e2", emergency=True), answer_with(abstained=True)),
        (question("n1", emergency=False), answer_with(emergency=True, abstained=True)),
        (question("n2", emergency=False), answer_with(abstained=True)),
        (question("n3", emergency=False), answer_with(abstained=True)),
        (question("u", emergency=None), answer_with(emergency=True, abstained=True)),  # unlabelled: not counted
    ]
    metrics = summarize([judge(q, a, CORPUS, 1.0).outcome for q, a in cases], k=3)
    assert metrics["emergency_recall"] == 0.5
    assert metrics["false_alarm"] == pytest.approx(1 / 3)
    assert metrics["n_emergency"] == 2 and metrics["n_not_emergency"] == 3 and metrics["n_questions"] == 6


def test_unlabelled_questions_get_no_metrics():
    result = judge(question("u", emergency=None), answer_with(passage_at("kidneys.txt", KIDNEY)), CORPUS, 1.0)
    metrics = summarize([result.outcome], k=3)
    for name in ("hit@1", "mrr@5", "recall@3", "abstain", "wrong_abstain", "emergency_recall", "false_alarm"):
        assert metrics[name] is None
    assert metrics["verbatim"] == 1.0 and metrics["top_passage_chars"] == len(KIDNEY)


def test_latency_percentiles_and_top_passage_length():
    outcomes = [outcome(str(i), (True,), latency_ms=ms) for i, ms in enumerate((10.0, 20.0, 30.0, 40.0))]
    metrics = summarize(outcomes, k=3)
    assert metrics["latency_p50_ms"] == pytest.approx(25.0)
    assert metrics["latency_p95_ms"] == pytest.approx(38.5)
    assert metrics["top_passage_chars"] == 100


def test_metrics_are_also_given_per_tag():
    outcomes = [
        outcome("a", (True,), tags=("typo",)),
        outcome("b", (False,), tags=("typo", "list")),
        outcome("c", (False,)),
    ]
    by_tag = summarize_by_tag(outcomes, k=3)
    assert list(by_tag) == ["list", "typo"]
    assert by_tag["typo"]["hit@1"] == 0.5 and by_tag["typo"]["n_questions"] == 2
    assert by_tag["list"]["hit@1"] == 0.0


def test_hit_at_k_curve_rises_to_the_share_found_within_k():
    outcomes = [
        outcome("a", (True, False, False)),
        outcome("b", (False, False, True)),
        outcome("c", (False, False, False)),
    ]
    assert hit_curve(outcomes, 3) == pytest.approx([1 / 3, 1 / 3, 2 / 3])


@pytest.mark.parametrize(
    ("target", "actual", "passed"),
    [
        ("hit@1=0.85", 0.85, True),
        ("hit@1=0.85", 0.84, False),
        ("wrong_abstain=0.1", 0.1, True),  # lower is better: must not exceed
        ("wrong_abstain=0.1", 0.2, False),
        ("latency_p95_ms=500", 120.0, True),
        ("abstain=0.9", None, False),  # nothing measured: the gate cannot pass
    ],
)
def test_a_target_fails_when_the_metric_is_worse(target, actual, passed):
    parsed = parse_target(target)
    [check] = check_targets({parsed.metric: actual}, [parsed])
    assert check.passed is passed


def test_an_unknown_metric_name_lists_the_known_ones():
    with_error = pytest.raises(ValueError, match="known metrics: hit@1, hit@3, mrr@5")
    with with_error:
        parse_target("hit@2=0.5")


def test_recall_targets_take_the_runs_k():
    assert resolve_targets([parse_target("recall@k=0.9")], 4) == [Target("recall@4", 0.9)]
    assert resolve_targets([parse_target("recall@4=0.9")], 4) == [Target("recall@4", 0.9)]
    with pytest.raises(ValueError, match="-k 5"):
        resolve_targets([parse_target("recall@5=0.9")], 4)
