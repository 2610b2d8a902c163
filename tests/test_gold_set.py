"""The gold question set is usable: every evidence string is verbatim corpus text, and it covers what it must."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.conftest import REPO, SEED_ARTICLE

GOLD = [json.loads(line) for line in (REPO / "tests/data/gold.jsonl").read_text(encoding="utf-8").splitlines()]
ARTICLE = SEED_ARTICLE.read_text(encoding="utf-8")


@pytest.mark.parametrize("row", GOLD, ids=[row["id"] for row in GOLD])
def test_every_evidence_string_occurs_verbatim_in_the_corpus(row):
    for evidence in row["evidence"]:
        assert evidence in ARTICLE


def test_ids_are_unique_and_every_question_is_in_exactly_one_split():
    assert len({row["id"] for row in GOLD}) == len(GOLD)
    for row in GOLD:
        assert sum(tag in ("dev", "test") for tag in row["tags"]) == 1, row["id"]


def test_the_set_covers_every_kind_of_question_in_both_halves():
    assert len(GOLD) >= 100
    kinds = Counter((row["tags"][0], row["tags"][1]) for row in GOLD)
    for category in ("answerable", "followup", "unanswerable", "offtopic", "smalltalk", "emergency", "safety-trap"):
        assert kinds[("dev", category)] > 0 and kinds[("test", category)] > 0, category


def test_answerable_questions_have_evidence_and_others_have_none():
    for row in GOLD:
        assert bool(row["evidence"]) == (row["answerable"] is True), row["id"]


def test_follow_ups_carry_their_history():
    follow_ups = [row for row in GOLD if "followup" in row["tags"]]
    assert len(follow_ups) >= 10 and all(row["history"] for row in follow_ups)
