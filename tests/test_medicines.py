"""Medicine names from the FDA-derived table, and which medicines a document is about (assistant/medicines.py)."""

from __future__ import annotations

import pytest

from assistant.medicines import MedicineNames, detect_medicines, mask_names, mask_pattern, name_words, read_names_table

NAMES = MedicineNames.load()


@pytest.mark.parametrize(
    "name, ingredients",
    [
        ("lioresal", ("baclofen",)),
        ("zanaflex", ("tizanidine",)),
        ("robaxin", ("methocarbamol",)),
        ("percocet", ("acetaminophen", "oxycodone")),
        ("advil", ("ibuprofen",)),
        ("baclofen", ("baclofen",)),
    ],
)
def test_the_names_table_maps_brands_and_generics_to_ingredients(name, ingredients):
    assert NAMES.ingredients(name) == ingredients


def test_the_table_has_a_header_and_thousands_of_names():
    table = read_names_table()
    assert len(table) > 5000 and all(name == name.lower() for name in table)


def test_names_are_found_as_whole_words_longest_first():
    found = NAMES.find(name_words("Is Tylenol PM ok with baclofen? not a camel"))
    assert [m.name for m in found][-1] == "baclofen"
    assert all(m.name != "pm" for m in found)


def test_aliases_are_the_generic_and_its_single_ingredient_brands():
    assert {"baclofen", "lioresal", "ozobax"} <= set(NAMES.aliases("baclofen"))
    assert "percocet" not in NAMES.aliases("oxycodone")


@pytest.mark.parametrize(
    "title, text, medicines",
    [
        ("Zanaflex - prescribing information", "Tizanidine is a central alpha-2 agonist.", ("tizanidine",)),
        (
            "Leaflet",
            "Baclofen relaxes muscles. Take baclofen with food. Baclofen may make you sleepy. "
            "Do not take it with alcohol or diazepam.",
            ("baclofen",),
        ),
        ("typer", "Thanks to Camila, Camila and Camila for the docs.", ()),  # a name, not norethindrone
        ("numpy", "Arrays, broadcasting and linear algebra for Python.", ()),
        ("Interactions", "Baclofen, diazepam and tramadol each cause sleepiness.", ()),  # no medicine dominates
    ],
)
def test_a_document_without_a_sidecar_is_about_the_medicine_its_title_or_text_is_about(title, text, medicines):
    assert detect_medicines(title, text, NAMES) == medicines


def test_masking_removes_every_name_and_possessive_but_never_everything():
    pattern = mask_pattern(["baclofen", "lioresal"])
    assert mask_names("Is Baclofen’s effect like Lioresal's?", pattern) == "Is effect like ?"
    assert mask_names("baclofen", pattern) == "baclofen"
    assert mask_names("anti-baclofen-ish", pattern) == "anti-baclofen-ish"
    assert mask_names("text", None) == "text"
