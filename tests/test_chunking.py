from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from assistant.chunking import chunk_text, find_blocks, split_sentences
from tests.conftest import SEED_ARTICLE


def kinds_and_texts(text):
    return [(b.kind, text[b.start : b.end]) for b in find_blocks(text)]


def assert_verbatim(text, chunks):
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip() == chunk.text and chunk.text
        for start, end in chunk.sentences:
            assert chunk.start <= start < end <= chunk.end


# --- structure ---------------------------------------------------------------------------


def test_short_standalone_lines_are_headings_and_name_the_section_below():
    text = "Side effects\n\nDrowsiness is common. Dizziness happens too.\n"
    chunks = chunk_text(text, "d")
    assert [c.text for c in chunks] == ["Drowsiness is common. Dizziness happens too."]
    assert chunks[0].section == "Side effects"


def test_numbered_and_indented_headings_are_recognised():
    text = "Intro text here.\n\n  1. Baclofen as a commonly used muscle relaxant\n\nIt relaxes muscles.\n"
    (chunk,) = [c for c in chunk_text(text, "d") if "relaxes" in c.text]
    assert chunk.section == "1. Baclofen as a commonly used muscle relaxant"


def test_markdown_headings_are_recognised():
    text = "# Storage\n\nKeep it dry.\n"
    assert chunk_text(text, "d")[0].section == "Storage"


def test_headings_are_not_indexed():
    text = "Title Line\n\nBody sentence.\n"
    assert [c.text for c in chunk_text(text, "d")] == ["Body sentence."]


def test_a_bullet_list_stays_together_with_its_introduction():
    text = "Common side effects include:\n\n  • Drowsiness\n  • Dizziness\n  • Constipation\n\nAfter the list.\n"
    chunks = chunk_text(text, "d")
    assert chunks[0].kind == "list"
    assert chunks[0].text == "Common side effects include:\n\n  • Drowsiness\n  • Dizziness\n  • Constipation"
    assert chunks[1].text == "After the list."


def test_each_bullet_item_is_a_sentence_of_the_list_chunk():
    text = "Effects:\n\n  • Drowsiness\n  • Dizziness\n"
    (chunk,) = chunk_text(text, "d")
    assert [text[s:e] for s, e in chunk.sentences] == ["Effects:", "• Drowsiness", "• Dizziness"]


def test_plain_text_table_rows_stay_together():
    text = (
        "Clinical Trial Number of Participants Results\n"
        "Study A 500 patients Less than 5% reported adverse effects.\n"
        "Study B 1000 patients No serious adverse effects reported.\n"
    )
    (chunk,) = chunk_text(text, "d")
    assert chunk.kind == "table"
    assert len(chunk.sentences) == 3


def test_markdown_table_is_a_table():
    text = "| drug | class |\n|---|---|\n| baclofen | relaxant |\n"
    assert kinds_and_texts(text)[0][0] == "table"


def test_see_also_cross_links_are_not_indexed():
    text = "Real content here.\n\nSee also  Robaxin - A Muscle Relaxant for Spasms\n\nMore content.\n"
    assert [c.text for c in chunk_text(text, "d")] == ["Real content here.", "More content."]


def test_trailing_source_link_text_is_left_out_of_the_chunk():
    text = "The study found it works. source\n"
    assert [c.text for c in chunk_text(text, "d")] == ["The study found it works."]


def test_lines_ending_in_full_stops_are_separate_paragraphs():
    text = "First paragraph is here.\nSecond paragraph is here.\n"
    assert [c.text for c in chunk_text(text, "d")] == ["First paragraph is here.", "Second paragraph is here."]


def test_hard_wrapped_lines_join_into_one_paragraph():
    text = (
        "This is a long sentence that was wrapped by an editor at a fixed\n"
        "width so that it continues on the next line without punctuation at\n"
        "the end of each line. It ends here.\n"
    )
    chunks = chunk_text(text, "d", max_chars=1000)
    assert len(chunks) == 1


# --- sizes and sentences -----------------------------------------------------------------


def test_chunks_are_sentence_aligned_and_within_the_size_limit():
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = chunk_text(text, "d", max_chars=120)
    assert len(chunks) > 5
    for chunk in chunks:
        assert len(chunk.text) <= 120
        assert chunk.text.startswith("Sentence") and chunk.text.endswith(".")


def test_a_sentence_longer_than_the_limit_stays_whole():
    long_sentence = "word " * 60 + "end."
    (chunk,) = chunk_text(long_sentence, "d", max_chars=50)
    assert chunk.text == long_sentence.strip()


def test_overlap_repeats_the_last_sentence_of_the_previous_chunk():
    text = " ".join(f"Sentence {i} ends." for i in range(10))
    chunks = chunk_text(text, "d", max_chars=60, overlap_sentences=1)
    assert chunks[1].sentences[0] == chunks[0].sentences[-1]


def test_sentence_splitter_keeps_abbreviations_together():
    text = "Ask Dr. Smith about it, e.g. at a visit. Then decide."
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["Ask Dr. Smith about it, e.g. at a visit.", "Then decide."]


def test_chunk_ids_are_stable_and_numbered_in_document_order():
    text = "A one.\n\nB two.\n\nC three.\n"
    assert [c.chunk_id for c in chunk_text(text, "doc.txt")] == ["doc.txt#0", "doc.txt#1", "doc.txt#2"]


@pytest.mark.parametrize("max_chars", [0, -5])
def test_chunk_size_must_be_positive(max_chars):
    with pytest.raises(ValueError, match="max_chars"):
        chunk_text("Some text.", "d", max_chars=max_chars)


# --- the verbatim guarantee --------------------------------------------------------------


@pytest.mark.parametrize("max_chars", [80, 300, 500, 1000])
def test_every_chunk_of_the_seed_article_is_verbatim(max_chars):
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    chunks = chunk_text(text, "baclofen-article.txt", max_chars=max_chars)
    assert len(chunks) > 20
    assert_verbatim(text, chunks)


def test_seed_article_structure_is_recognised():
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    chunks = chunk_text(text, "a", max_chars=500)
    lists = [c for c in chunks if c.kind == "list"]
    assert any(
        c.text.startswith("Common side effects of Baclofen include:") and "• Constipation" in c.text for c in lists
    )
    assert any(c.kind == "table" and "Study B 1000 patients" in c.text for c in chunks)
    assert not any("See also" in c.text for c in chunks)
    assert not any(c.text.endswith(" source") for c in chunks)
    sections = {c.section for c in chunks}
    assert "Controversy and ongoing research" in sections
    assert "2. Clinical Trials" in sections


LINE = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120),
    st.sampled_from(
        [
            "",
            "  • Item one",
            "- dash item",
            "1. Numbered Heading",
            "# Title",
            "| a | b |",
            "See also  x",
            "Ends with colon:",
            "It works. source",
            "Dr. Who e.g. this.",
            "\t\tindented",
            "   ",
            "\u00a0",
        ]
    ),
    st.builds(
        lambda words: " ".join(words) + ".",
        st.lists(st.sampled_from(["Aa", "bb", "cc.", "Dd?", "e!", "f"]), max_size=30),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(LINE, max_size=30),
    newline=st.sampled_from(["\n", "\r\n", "\n\n"]),
    max_chars=st.integers(min_value=1, max_value=400),
    overlap=st.integers(min_value=0, max_value=2),
)
def test_chunks_are_exact_spans_of_any_generated_document(lines, newline, max_chars, overlap):
    text = newline.join(lines)
    chunks = chunk_text(text, "gen", max_chars=max_chars, overlap_sentences=overlap)
    assert_verbatim(text, chunks)
    if overlap == 0:
        for before, after in pairwise(chunks):
            assert before.end <= after.start


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400))
def test_sentence_spans_are_ordered_trimmed_and_inside_the_text(text):
    spans = split_sentences(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        assert text[start:end].strip() == text[start:end]
        previous_end = end


# --- real leaflets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "How does baclofen work?\n\nIt relaxes the muscles.\n",  # a question standing alone
        "How does baclofen work?\nIt relaxes the muscles.\n",  # a question right above its answer (web pages)
        "## How does baclofen work?\nIt relaxes the muscles.\n",  # a Markdown heading with no blank line after it
    ],
)
def test_a_short_question_over_its_answer_is_a_heading_not_a_passage(text):
    (chunk,) = chunk_text(text, "d")
    assert chunk.text == "It relaxes the muscles." and chunk.section == "How does baclofen work?"


@pytest.mark.parametrize(
    "text",
    [
        "Can I drink alcohol? Yes, but it may make you more sleepy.\n",  # a question inside a paragraph
        "- Can I drive?\n- Can I drink?\n",  # a list of questions
        "Do you ever wonder whether the tablets you take every morning are really doing anything at all for you?\n",
    ],
)
def test_questions_in_prose_or_lists_stay_text(text):
    assert all(b.kind != "heading" for b in find_blocks(text))
