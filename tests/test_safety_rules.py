"""The safety rule book and red flags as data: every example is run, loading refuses bad data,
the public face is small and pinned, and composed symptom x person x time questions get the level
their frame calls for.

Rules and red flags live in assistant/safety/rules.toml and red_flags.toml; adding one touches only
data and is held to its examples here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

import assistant.safety
from assistant.config import Settings
from assistant.records import Category, Level
from assistant.safety import RulebookError, SafetyDetector
from assistant.safety.analysis import reading, rule_fires
from assistant.safety.rulebook import RULES_FILE, Rulebook
from assistant.safety.triage import RED_FLAGS_FILE, RedFlags

DETECTOR = SafetyDetector(Settings())
BOOK = DETECTOR.rulebook
FLAGS = DETECTOR.red_flags
DATA = Path(__file__).parent / "data"


def fires(rule, question: str) -> bool:
    text = DETECTOR.normalise(question)
    informational, live = reading(BOOK, text)
    return rule_fires(BOOK, rule, text, informational=informational, live=live, medicine_mentioned=True)


@pytest.mark.parametrize(
    "rule, question, expected",
    [(r, q, True) for r in BOOK.rules for q in r.fires] + [(r, q, False) for r in BOOK.rules for q in r.does_not_fire],
    ids=lambda v: v.name if hasattr(v, "name") else str(v)[:60],
)
def test_every_rule_fires_on_its_examples_and_not_on_its_look_alikes(rule, question, expected):
    assert fires(rule, question) is expected, f"{rule.name}: {question!r}"


def raised(concept_id: str, question: str) -> bool:
    return concept_id in DETECTOR.assess(question).red_flags


@pytest.mark.parametrize(
    "concept_id, question, expected",
    [(c.concept_id, q, True) for c in FLAGS.concepts for q in c.examples]
    + [(c.concept_id, q, False) for c in FLAGS.concepts for q in c.not_examples],
)
def test_every_red_flag_is_raised_by_its_examples_and_not_by_its_look_alikes(concept_id, question, expected):
    assert raised(concept_id, question) is expected
    if expected:
        assert DETECTOR.assess(question).levels[0] is Level.RED


def test_every_red_flag_cites_a_licensed_source_with_verbatim_extracts():
    for concept in FLAGS.concepts:
        assert concept.sources, concept.concept_id
        for source_id in concept.sources:
            source = FLAGS.sources[source_id]
            assert source.licence and source.url.startswith("http") and source.extracts


def test_the_public_face_is_small_and_pinned():
    assert sorted(assistant.safety.__all__) == [
        "Category",
        "Labels",
        "Level",
        "RulebookError",
        "SafetyAssessment",
        "SafetyDetector",
        "SafetyMessages",
        "load_labels",
        "personalise",
    ]


def test_levels_and_categories_are_enums_and_every_rule_uses_one():
    assert all(isinstance(r.category, Category) for r in BOOK.rules)
    assert all(isinstance(e.level, Level) for e in BOOK.escalations)
    assert all(isinstance(c.level, Level) for c in FLAGS.concepts)


# -- loading refuses bad data, naming the file and the entry ---------------------------------------------


def edited_rules(tmp_path: Path, old: str, new: str) -> Path:
    text = RULES_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "rules.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_typo_in_a_category_is_refused_with_file_and_rule(tmp_path):
    path = edited_rules(tmp_path, 'category = "overdose"', 'category = "overdoes"')
    with pytest.raises(RulebookError, match=r"rules\.toml: \[\[rule\]\] \w+: unknown category 'overdoes'"):
        Rulebook.load(path)


def test_a_duplicate_rule_name_is_refused(tmp_path):
    path = edited_rules(tmp_path, 'name = "dose_twice"', 'name = "double_dose"')
    with pytest.raises(RulebookError, match=r"\[\[rule\]\] double_dose: duplicate rule name"):
        Rulebook.load(path)


def test_a_pattern_that_does_not_compile_is_refused(tmp_path):
    path = edited_rules(
        tmp_path,
        'name = "dose_twice"\ncategory = "overdose"\n',
        'name = "dose_twice"\ncategory = "overdose"\nunless = "(unclosed"\n',
    )
    with pytest.raises(RulebookError, match=r"\[\[rule\]\] dose_twice unless: pattern does not compile"):
        Rulebook.load(path)


def test_an_unknown_key_and_an_unknown_fragment_are_refused(tmp_path):
    with pytest.raises(RulebookError, match=r"\[\[rule\]\] dose_twice: unknown key\(s\) skipp"):
        Rulebook.load(edited_rules(tmp_path, 'name = "dose_twice"\n', 'name = "dose_twice"\nskipp = []\n'))
    with pytest.raises(RulebookError, match=r"unknown fragment \{PERSONS\}"):
        Rulebook.load(edited_rules(tmp_path, "{PERSON}", "{PERSONS}"))


def test_a_rule_without_examples_is_refused(tmp_path):
    path = edited_rules(tmp_path, 'does_not_fire = ["can i take baclofen with ibuprofen"', "does_not_fire = [")
    path.write_text(path.read_text().replace("does_not_fire = [, ", "does_not_fire = ["), encoding="utf-8")
    text = path.read_text()
    start = text.index('name = "mixing_sedating_drugs"')
    cut = text.index("does_not_fire = [", start)
    end = text.index("\n", cut)
    path.write_text(text[:cut] + "does_not_fire = []" + text[end:], encoding="utf-8")
    with pytest.raises(RulebookError, match=r"mixing_sedating_drugs: needs at least one example"):
        Rulebook.load(path)


def test_a_red_flag_with_an_unknown_level_or_source_is_refused(tmp_path):
    text = RED_FLAGS_FILE.read_text(encoding="utf-8")
    path = tmp_path / "red_flags.toml"
    path.write_text(text.replace('level = "RED"', 'level = "ORANGE"', 1), encoding="utf-8")
    with pytest.raises(RulebookError, match=r"red_flags\.toml: \[\[concept\]\] cant_breathe: unknown level 'ORANGE'"):
        RedFlags.load(BOOK.fragments_expanded, path)
    path.write_text(text.replace('"nhs_anaphylaxis"', '"nhs_anaphylaxsis"', 1), encoding="utf-8")
    with pytest.raises(RulebookError, match=r"unknown source 'nhs_anaphylaxsis'"):
        RedFlags.load(BOOK.fragments_expanded, path)


def test_an_unknown_category_in_the_wording_is_refused(tmp_path):
    from assistant.safety.messages import SAFETY_FILE, SafetyMessages

    path = tmp_path / "wording.toml"
    path.write_text(
        SAFETY_FILE.read_text(encoding="utf-8") + '\n[categories.overdoes]\nlevel = "RED"\n', encoding="utf-8"
    )
    with pytest.raises(assistant.safety.RulebookError.__mro__[1], match=r"unknown category overdoes"):
        SafetyMessages.load(Settings(), path)


# -- composed questions: symptom x person x time -------------------------------------------------------

SYMPTOMS = {
    "cant_breathe": ["can't breathe", "is struggling to breathe", "is gasping for air"],
    "blue_lips": ["has lips going blue", "has lips turning a grey colour"],
    "face_throat_swelling": ["has a throat that is swelling up", "has a face that has puffed up"],
    "unrousable": ["won't wake up", "is unresponsive"],
    "fitting": ["is having a seizure", "is fitting"],
    "collapse": ["has collapsed", "collapsed on the floor"],
    "hallucinating_now": ["is seeing things that are not there", "is hearing voices"],
    "chest_pain": ["has crushing chest pain", "has a tight pain in the chest"],
}
PEOPLE = ["my husband", "my mum", "my 6 year old", "Tom", "my flatmate"]
LIVE_TIMES = [
    "{p} {s} right now",
    "{p} {s} since this morning",
    "help {p} {s}",
    "{p} took his baclofen after dinner and now {s}",
]
AWAY_TIMES = [
    "i read online that sometimes someone {s} on baclofen, is that true",
    "what should i do if {p} ever {s}",
    "years ago {p} {s} after a dose but is fine now, is baclofen safe",
]


@hypothesis_settings(max_examples=200, deadline=None)
@given(concept=st.sampled_from(sorted(SYMPTOMS)), data=st.data())
def test_a_red_flag_happening_now_is_red_and_the_same_symptom_read_about_or_over_is_not(concept, data):
    symptom = data.draw(st.sampled_from(SYMPTOMS[concept]))
    person = data.draw(st.sampled_from(PEOPLE))
    live = data.draw(st.sampled_from(LIVE_TIMES)).format(p=person, s=symptom)
    assert DETECTOR.assess(live).levels[:1] == (Level.RED,), live
    away = data.draw(st.sampled_from(AWAY_TIMES)).format(p=person, s=symptom)
    assert Level.RED not in DETECTOR.assess(away).levels, away


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    concept=st.sampled_from(sorted(SYMPTOMS)),
    extra=st.sampled_from(
        [
            "i'm on 20mg three times a day",
            "took it after lunch",
            "is this a normal side effect?",
            "should i take my next dose?",
            "we had a big roast dinner",
        ]
    ),
)
def test_a_dose_or_a_meal_in_the_message_never_turns_an_emergency_into_something_else(concept, extra):
    question = f"my husband {SYMPTOMS[concept][0]}, {extra}"
    assessment = DETECTOR.assess(question)
    assert assessment.levels[0] is Level.RED and assessment.emergency
    assert Category.DOSING not in {n.category for n in assessment.notices}


# -- the emergency bank (tuning half; the blind half is run once, by `make eval-emergencies-blind`) -----


@pytest.mark.parametrize("bank", ["emergency-tune.jsonl", "emergency-tune2.jsonl"])
def test_tuning_banks_meet_the_targets_with_the_lists_alone(bank):
    from assistant.safety.bank import read_bank, run_bank

    result = run_bank(DETECTOR, read_bank(DATA / bank))
    assert result.emergencies >= 40 and result.look_alikes >= 70
    assert result.recall >= 0.98
    assert result.false_alarm_rate <= 0.02


def test_the_review_sheet_in_docs_is_the_one_the_data_gives(tmp_path):
    from assistant.cli import main
    from assistant.safety.sheet import review_sheet

    sheet = review_sheet(DETECTOR)
    committed = (Path(__file__).parents[1] / "docs" / "safety-sheet.md").read_text(encoding="utf-8")
    assert committed == sheet, "docs/safety-sheet.md is out of date: run `make safety-sheet`"
    for concept in FLAGS.concepts:
        assert concept.label in sheet and all(e in sheet for e in concept.examples)
    for rule in BOOK.rules:
        assert f"`{rule.name}`" in sheet
    out = tmp_path / "sheet.md"
    assert main(["safety-sheet", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == sheet


@pytest.mark.parametrize(
    "question",
    [
        "We are updating our safeguarding procedures. How are staff expected to respond when a resident says they wish they were dead?",
        "What should staff do if a resident turns out to have taken extra tablets deliberately, what is the procedure?",
    ],
)
def test_a_question_about_policy_or_procedure_gets_the_help_line_not_a_crisis_banner(question):
    assessment = DETECTOR.assess(question)
    assert not assessment.emergency
    assert Category.SELF_HARM in assessment.categories  # the gentler help line is still shown


def test_a_resident_saying_it_now_is_still_a_crisis():
    assert DETECTOR.assess("one of our residents keeps saying she wishes she was dead").levels[0] is Level.CRISIS
