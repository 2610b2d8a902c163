"""The chat's conversation features as plain Python (no browser): emergency replies, one disclaimer
per conversation, tappable help numbers, ask again / edit, the conversation kept in the browser,
and the optional feedback file. The browser tests (test_ui_browser.py) check the same on the page.
"""

from __future__ import annotations

import html
import json
import re

import gradio as gr
import pytest

from assistant.config import Settings
from assistant.errors import SettingsError
from assistant.records import Notice
from assistant.safety import load_labels
from tests.conftest_ui import (
    AMBER,
    CRISIS,
    DISCLAIMER,
    POISON,
    RED,
    StubAssistant,
    make_answer,
    make_passage,
)
from ui.render import Contacts, render_answer

pytest_plugins = ["tests.conftest_ui"]

SHORT = "Quoted from “the article”. Not medical advice."


def visible_text(reply_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", reply_html.replace("<br>", "\n")))


# --- emergency replies (SAFETY.md section 2) -----------------------------------------------------


@pytest.mark.parametrize("banner", [RED, CRISIS, POISON])
def test_an_urgent_banner_with_nothing_quoted_stands_alone_without_a_not_found_line(banner):
    answer = make_answer(passages=(), notices=(banner,), abstained=True, kind="emergency_only")
    shown = visible_text(render_answer(answer))
    assert banner.text in shown
    assert load_labels().not_found not in shown and "cover" not in shown


def test_a_plain_not_found_reply_still_says_so():
    answer = make_answer(passages=(), abstained=True, kind="not_found")
    assert load_labels().not_found in visible_text(render_answer(answer))


def test_configured_numbers_are_tel_links_and_the_helpline_site_is_a_link():
    crisis = Notice(
        "CRISIS",
        "self_harm",
        "You don't have to face this alone",
        "Contact a local crisis line (findahelpline.com lists them) or 112, or 116 123.",
    )
    rendered = render_answer(
        make_answer(passages=(), notices=(crisis,), kind="emergency_only"), contacts=Contacts.of("112", "", "116 123")
    )
    assert '<a class="bq-tel" href="tel:112">112</a>' in rendered
    assert '<a class="bq-tel" href="tel:116123">116 123</a>' in rendered
    assert 'href="https://findahelpline.com"' in rendered and 'rel="noopener noreferrer"' in rendered


def test_numbers_and_addresses_in_quotes_or_user_words_are_never_links():
    quote = make_passage("Call 112 or see evil.example.com for 112 tips.", best=None)
    not_found = make_answer(
        passages=(), abstained=True, kind="not_found", message="The documents are not about evil.example.com; call 112."
    )
    contacts = Contacts.of("112")
    hrefs = re.findall(r'href="([^"]*)"', render_answer(make_answer(passages=(quote,)), contacts=contacts))
    assert hrefs and all(href.startswith("document?doc=") for href in hrefs)  # only "Show in document"
    rendered = render_answer(not_found, contacts=contacts)
    assert "https://evil.example.com" not in rendered and 'href="tel:112"' in rendered


@pytest.mark.parametrize(
    "number, expected",
    [
        ("112", True),
        ("1-800-222-1222", True),
        ("+44 116 123", True),
        ("(02) 9999 0000", True),
        ("", False),
        ("call us", False),
        ("javascript:alert(1)", False),
    ],
)
def test_only_phone_numbers_become_tel_links(number, expected):
    assert bool(Contacts.of(number).numbers) is expected


def test_no_banner_title_repeats_its_label():
    """The label says the level in words ("EMERGENCY"); a title starting "Emergency:" read it twice."""
    from assistant.safety import SafetyMessages

    messages = SafetyMessages.load(Settings())
    notices = [n for spec in messages.categories.values() for n in (spec.notice, spec.escalation, spec.topic) if n]
    assert len(notices) > 10
    for notice in notices:
        label = messages.labels.level(notice.level).lower()
        assert not notice.title.lower().startswith(label), f"{notice.category}: {notice.title!r} repeats {label!r}"


# --- one disclaimer per conversation -------------------------------------------------------------


class TwoLineStub(StubAssistant):
    """The stub with a short line, as the engine gives."""

    def answer(self, question, history=()):
        from dataclasses import replace

        return replace(super().answer(question, history), short_disclaimer=SHORT)


def test_the_disclaimer_is_shown_in_full_once_then_as_a_short_line():
    from ui.app import chat_turn

    stub = TwoLineStub()
    history: list = []
    for question in ("side effects?", "driving?", "kidneys?"):
        _, history = chat_turn(question, history, stub)
    replies = [m["content"] for m in history if m["role"] == "assistant"]
    assert DISCLAIMER in visible_text(replies[0]) and SHORT not in visible_text(replies[0])
    for later in replies[1:]:
        assert SHORT in visible_text(later) and DISCLAIMER not in visible_text(later)


def test_a_new_conversation_shows_the_full_disclaimer_again():
    from ui.app import chat_turn

    stub = TwoLineStub()
    _, first = chat_turn("side effects?", [], stub)
    _, later = chat_turn("driving?", first, stub)
    _, fresh = chat_turn("driving?", [], stub)
    assert DISCLAIMER not in visible_text(later[-1]["content"])
    assert DISCLAIMER in visible_text(fresh[-1]["content"])


def test_the_short_line_never_says_quoted_from_when_nothing_was_quoted():
    from assistant.safety import SafetyMessages

    messages = SafetyMessages.load(Settings())
    assert "Quoted from" not in messages.short_disclaimer([])
    assert "Quoted from" not in messages.disclaimer([])
    article = StubAssistant().documents[0]
    assert messages.short_disclaimer([article]).startswith("Quoted from “")
    assert len(messages.short_disclaimer([article])) < len(messages.disclaimer([article])) / 2


# --- ask again, edit, reload ---------------------------------------------------------------------


def test_ask_again_answers_the_last_question_anew_in_place_of_its_answer():
    from ui.app import ask_again, chat_turn

    stub = StubAssistant()
    _, history = chat_turn("first question", [], stub)
    _, history = chat_turn("what about the weather", history, stub)
    again = ask_again(history, stub)
    assert len(again) == len(history)
    assert again[-2] == history[-2]
    assert stub.calls[-1] == ("what about the weather", ("first question",))
    assert ask_again([], stub) == []


def test_edit_last_question_puts_it_back_in_the_box_as_typed_and_removes_its_turn():
    from ui.app import chat_turn, edit_last_question

    stub = StubAssistant()
    _, history = chat_turn("first", [], stub)
    _, history = chat_turn("is 5 < 6 & ok?", history, stub)
    text, shorter = edit_last_question(history)
    assert text == "is 5 < 6 & ok?"
    assert shorter == history[:2]
    assert edit_last_question([]) == ("", [])


def test_a_refusal_after_an_answer_is_a_message_of_its_own_and_never_history():
    from ui.app import chat_turn, last_question

    stub = StubAssistant(Settings(max_question_chars=20))
    _, history = chat_turn("side effects?", [], stub)
    box, after = chat_turn("x" * 50, history, stub)
    assert box == "x" * 50 and after[:-1] == history and after[-1]["role"] == "assistant"
    assert "too long" in after[-1]["content"]
    assert last_question(after)[1] == "side effects?"


@pytest.mark.parametrize(
    "saved, kept",
    [
        (None, 0),
        ("not a list", 0),
        ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "<div>x</div>"}], 2),
        ([{"role": "system", "content": "x"}, {"role": "user", "content": 5}, "junk", {"content": "x"}], 0),
        # As Gradio hands them to the page: content blocks, metadata and options.
        (
            [
                {"role": "user", "metadata": None, "content": [{"text": "hi", "type": "text"}], "options": None},
                {"role": "assistant", "content": [{"type": "file", "file": "x"}]},
            ],
            1,
        ),
        ([{"role": "user", "content": "q"}] * 500, 200),
    ],
)
def test_a_kept_conversation_is_restored_only_as_well_formed_messages(saved, kept):
    from ui.app import MAX_SAVED_MESSAGES, restore_conversation

    restored = restore_conversation(saved)
    assert len(restored) == min(kept, MAX_SAVED_MESSAGES)
    assert all(set(m) == {"role", "content"} for m in restored)


# --- feedback (off unless the operator names a file) ---------------------------------------------


def rated_history():
    from ui.app import chat_turn

    _, history = chat_turn("my private question about my dose", [], StubAssistant())
    return history


def test_without_a_feedback_file_there_are_no_rating_buttons():
    from ui.app import build_app

    demo = build_app(StubAssistant(), Settings())
    chat = next(c for c in demo.blocks.values() if isinstance(c, gr.Chatbot))
    assert chat.feedback_options is None


def test_a_rating_is_written_without_the_question_unless_the_operator_keeps_it(tmp_path):
    from ui.app import build_app, rate_reply
    from ui.feedback import FeedbackLog

    path = tmp_path / "feedback.jsonl"
    demo = build_app(StubAssistant(), Settings(feedback_file=path))
    chat = next(c for c in demo.blocks.values() if isinstance(c, gr.Chatbot))
    assert chat.feedback_options == ("Like", "Dislike")

    history = rated_history()
    rate_reply(history, 1, True, FeedbackLog(path, keep_question=False))
    rate_reply(history, [1], "Dislike", FeedbackLog(path, keep_question=True))
    first, second = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    assert first["rating"] == "up" and "question" not in first
    assert "private" not in json.dumps(first)
    assert first["kind"] == "answer" and first["levels"] == ["AMBER"]
    assert first["quotes"] == ["baclofen-article.txt:100-276"]
    assert second["rating"] == "down" and second["question"] == "my private question about my dose"


@pytest.mark.parametrize("index", [0, 2, -1, "1", None, [9]])
def test_a_rating_that_points_at_no_answer_is_refused_and_writes_nothing(tmp_path, index):
    from ui.app import rate_reply
    from ui.feedback import FeedbackLog

    path = tmp_path / "feedback.jsonl"
    with pytest.raises(gr.Error):
        rate_reply(rated_history(), index, True, FeedbackLog(path, keep_question=False))
    assert path.read_text(encoding="utf-8") == ""


def test_a_feedback_file_that_cannot_be_written_is_a_clear_settings_error(tmp_path):
    from ui.app import build_app

    with pytest.raises(SettingsError, match="feedback_file .* cannot be written"):
        build_app(StubAssistant(), Settings(feedback_file=tmp_path / "no-such-folder" / "f.jsonl"))


def test_feedback_settings_load_from_the_environment(tmp_path):
    from assistant.config import load_settings

    settings = load_settings(
        environ={"BACLOFEN_QA_FEEDBACK_FILE": str(tmp_path / "f.jsonl"), "BACLOFEN_QA_FEEDBACK_KEEP_QUESTION": "yes"}
    )
    assert settings.feedback_file == tmp_path / "f.jsonl" and settings.feedback_keep_question is True
    assert load_settings(environ={}).feedback_file is None


def test_a_reply_records_its_kind_banners_and_quotes_for_a_rating():
    from ui.feedback import reply_facts

    reply = render_answer(make_answer(notices=(AMBER, RED)))
    assert reply_facts(reply) == {
        "kind": "answer",
        "levels": ["RED", "AMBER"],
        "quotes": ["baclofen-article.txt:100-276"],
    }
    assert reply_facts("<p>anything else</p>") == {"kind": "", "levels": [], "quotes": []}
