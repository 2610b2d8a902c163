"""The gold question set is usable: every evidence string is verbatim corpus text, and it covers what it must."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.conftest import REPO, SEED_ARTICLE

GOLD = [json.loads(line) for line in (REPO / "tests/data/gold.jsonl").read_text(encoding="utf-8").splitlines()]
ARTICLE = SEED_ARTICLE.read_text(encoding="utf-8")


# The rows without evidence, by category and `answerable`, as tests/data/README.md counts them:
# unanswerable 36, offtopic 12, smalltalk 6, followup 4 not answerable, safety-trap 8 not answerable,
# emergency 16 with answerable null and 6 CRISIS cases with answerable false. 88 in all.
ROWS_WITHOUT_EVIDENCE = {
    ("unanswerable", False): 36,
    ("offtopic", False): 12,
    ("smalltalk", False): 6,
    ("followup", False): 4,
    ("safety-trap", False): 8,
    ("emergency", None): 16,
    ("emergency", False): 6,
}


@pytest.mark.parametrize("row", GOLD, ids=[row["id"] for row in GOLD])
def test_every_row_is_checked_evidence_verbatim_or_labelled_as_having_none(row):
    category = row["tags"][1]
    if row["evidence"]:
        assert row["answerable"] is True
        for evidence in row["evidence"]:
            # An empty string is "in" any text: it would pass the verbatim check and prove nothing.
            assert evidence.strip(), row["id"]
            assert evidence in ARTICLE
    else:
        # No evidence is a claim too: nothing may be quoted. Only the documented kinds of row make it.
        assert row["evidence"] == []
        assert (category, row["answerable"]) in ROWS_WITHOUT_EVIDENCE, row["id"]
        # `answerable: null` is only for emergencies (README: unclear whether quoting is appropriate).
        assert row["answerable"] is False or row["emergency"] is True


def test_the_rows_without_evidence_are_exactly_the_documented_ones():
    without = Counter((row["tags"][1], row["answerable"]) for row in GOLD if not row["evidence"])
    assert dict(without) == ROWS_WITHOUT_EVIDENCE
    assert sum(without.values()) == 88


def test_ids_are_unique_and_every_question_is_in_exactly_one_split():
    assert len({row["id"] for row in GOLD}) == len(GOLD)
    for row in GOLD:
        assert sum(tag in ("dev", "test") for tag in row["tags"]) == 1, row["id"]


def test_the_set_covers_every_kind_of_question_in_both_halves():
    assert len(GOLD) == 218  # tests/data/README.md, "Counts (218 questions)"
    kinds = Counter((row["tags"][0], row["tags"][1]) for row in GOLD)
    for category in ("answerable", "followup", "unanswerable", "offtopic", "smalltalk", "emergency", "safety-trap"):
        assert kinds[("dev", category)] > 0 and kinds[("test", category)] > 0, category


def test_answerable_questions_have_evidence_and_others_have_none():
    for row in GOLD:
        assert bool(row["evidence"]) == (row["answerable"] is True), row["id"]


def test_follow_ups_carry_their_history():
    follow_ups = [row for row in GOLD if "followup" in row["tags"]]
    assert len(follow_ups) == 20 and all(row["history"] for row in follow_ups)  # README: followup 20
