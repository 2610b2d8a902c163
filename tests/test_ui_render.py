"""The web chat without a server: Answer -> HTML, chat turns, history, the API function, launch options.

Hand-made Answer records stand in for the engine (see conftest_ui.py), so every display case
(notices of each level, highlights, unverified reasons, abstention, help) is covered whatever
the engine currently produces.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest
from hypothesis import given, strategies as st

from assistant.config import Settings
from assistant.records import Document, Notice
from assistant.safety import load_labels, personalise
from assistant.serialize import answer_to_dict
from tests.conftest_ui import (
    AMBER,
    BEST_SENTENCE,
    CRISIS,
    DISCLAIMER,
    HELP,
    INFO,
    NOT_FOUND,
    POISON,
    RED,
    SIDE_EFFECTS_TEXT,
    TITLE,
    XSS_IMG,
    XSS_LINK,
    XSS_PAYLOADS,
    XSS_SCRIPT,
    StubAssistant,
    make_answer,
    make_passage,
)
from ui.render import render_answer, render_documents, render_question, render_quote_text, text_to_html

# The only tags a reply may contain: the fixed ones render.py writes.
# "a" only from configuration (tel: links, web addresses in the safety wording), "button" only the copy button.
ALLOWED_TAGS = {"div", "span", "strong", "p", "cite", "blockquote", "mark", "small", "br", "a", "button"}


class Collected(HTMLParser):
    """Tags, attributes and visible text of an HTML fragment, as a browser would parse it."""

    def __init__(self, html_text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text_parts: list[str] = []
        self.marked: list[str] = []
        self._in_mark = 0
        self.feed(html_text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend(attrs)
        if tag == "br":
            self.text_parts.append("\n")
            if self._in_mark:
                self.marked.append("\n")
        if tag == "mark":
            self._in_mark += 1

    def handle_endtag(self, tag):
        if tag == "mark":
            self._in_mark -= 1

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._in_mark:
            self.marked.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


def assert_inert(html_text: str) -> None:
    parsed = Collected(html_text)
    assert set(parsed.tags) <= ALLOWED_TAGS, f"unexpected tags: {set(parsed.tags) - ALLOWED_TAGS}"
    assert not [name for name, _ in parsed.attributes if name.startswith("on")]
    # The only links: each passage's "Show in document" page, built from its document id and offsets.
    assert not [value for name, value in parsed.attributes if name == "src"]
    assert not [v for name, v in parsed.attributes if name == "href" and not v.startswith("document?doc=")]


# --- one reply ------------------------------------------------------------------------------


def test_a_full_answer_shows_emergency_then_cautions_then_quotes_then_disclaimer():
    answer = make_answer(notices=(AMBER, RED, INFO, POISON, CRISIS))
    text = Collected(render_answer(answer)).text
    positions = [
        text.index("EMERGENCY"),
        text.index(CRISIS.title),
        text.index(POISON.title),
        text.index(AMBER.title),
        text.index(INFO.title),
        text.index("From the article:"),
        text.index(BEST_SENTENCE),
        text.index(DISCLAIMER),
    ]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("notice", "role"), [(RED, "alert"), (CRISIS, "alert"), (POISON, "alert"), (AMBER, "note"), (INFO, "note")]
)
def test_each_notice_level_is_named_in_words_and_urgent_ones_are_alerts(notice, role):
    label = load_labels().level(notice.level)  # the words of wording.toml [labels], the terminal's too
    assert label.strip()
    rendered = render_answer(make_answer(notices=(notice,)))
    assert f'<span class="bq-label">{label}</span>' in rendered
    assert f'role="{role}"' in rendered
    assert html.escape(notice.text.split("\n")[0]) in rendered


def test_notice_text_keeps_its_line_breaks():
    rendered = render_answer(make_answer(notices=(POISON,)))
    assert "Even if you feel fine.<br>Keep the pack at hand." in rendered


def test_the_best_sentence_is_marked_and_the_quote_is_unchanged():
    passage = make_passage()
    parsed = Collected(render_quote_text(passage))
    assert parsed.text == SIDE_EFFECTS_TEXT
    assert "".join(parsed.marked) == BEST_SENTENCE


@pytest.mark.parametrize(("start", "end"), [(0, 0), (5, 5), (10, 3), (-1, 4), (0, 10_000)])
def test_an_unusable_highlight_is_ignored_and_the_quote_is_unchanged(start, end):
    from dataclasses import replace

    passage = replace(make_passage(), highlight_start=start, highlight_end=end)
    parsed = Collected(render_quote_text(passage))
    assert parsed.text == SIDE_EFFECTS_TEXT
    assert parsed.marked == []


def test_a_highlight_over_the_whole_quote_marks_nothing():
    passage = make_passage(best=SIDE_EFFECTS_TEXT)
    assert "<mark" not in render_quote_text(passage)


@given(
    text=st.text(min_size=1, max_size=200),
    start=st.integers(min_value=-5, max_value=210),
    length=st.integers(min_value=-5, max_value=210),
)
def test_any_quote_renders_as_exactly_its_own_characters(text, start, length):
    from dataclasses import replace

    passage = replace(make_passage(), text=text, highlight_start=start, highlight_end=start + length)
    rendered = render_quote_text(passage)
    parsed = Collected(rendered)
    assert set(parsed.tags) <= {"mark", "br"}
    assert parsed.text == text.replace("\r\n", "\n")


def test_quotes_name_their_source_and_section():
    rendered = render_answer(make_answer())
    text = Collected(rendered).text
    assert f"From the article: {TITLE}" in text
    assert "section “Side effects”" in text
    assert "<blockquote" in rendered


def test_unverified_reasons_are_shown_next_to_the_quote():
    passage = make_passage(unverified=("no WHO scheme of that name exists", "no study registry id"))
    text = Collected(render_answer(make_answer(passages=(passage,)))).text
    labels = load_labels()  # the marker as wording.toml words it
    assert labels.unverified("no WHO scheme of that name exists") in text
    assert labels.unverified("no study registry id") in text
    assert text.index(SIDE_EFFECTS_TEXT) < text.index(labels.unverified_label) < text.index(DISCLAIMER)


def test_the_disclaimer_comes_after_the_quotes_and_only_the_copy_button_after_it():
    rendered = render_answer(make_answer())
    footer = f'<p class="bq-disclaimer bq-disclaimer-full">{html.escape(DISCLAIMER)}</p>'
    assert footer in rendered
    assert rendered.index("bq-quote") < rendered.index(footer)
    assert rendered.index(footer) < rendered.index('class="bq-actions"')


def test_an_abstention_shows_the_not_found_message_without_quotes():
    answer = make_answer(passages=(), abstained=True, message=NOT_FOUND, kind="not_found")
    rendered = render_answer(answer)
    text = Collected(rendered).text
    assert NOT_FOUND in text
    assert "pharmacist" in text
    assert "<blockquote" not in rendered
    assert DISCLAIMER in text


def test_an_abstention_without_a_message_still_says_to_ask_a_pharmacist():
    rendered = render_answer(make_answer(passages=(), abstained=True, message="", kind="not_found"))
    assert "pharmacist" in Collected(rendered).text


def test_a_help_reply_shows_its_message():
    rendered = render_answer(make_answer("hi", passages=(), message=HELP, kind="help"))
    assert HELP in Collected(rendered).text
    assert "<blockquote" not in rendered


def test_an_emergency_without_quotes_still_shows_the_banner_and_disclaimer():
    rendered = render_answer(make_answer(passages=(), notices=(RED,), kind="emergency_only"))
    text = Collected(rendered).text
    assert text.index("EMERGENCY") < text.index(DISCLAIMER)


def test_an_unknown_notice_level_is_shown_as_a_note_after_the_known_ones():
    odd = Notice("PURPLE", "x", "Odd title", "Odd text")
    text = Collected(render_answer(make_answer(notices=(odd, AMBER)))).text
    assert text.index("Caution") < text.index("Note") < text.index("Odd title")


# --- safe rendering ----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_html_and_markdown_in_a_question_render_as_text(payload):
    shown = render_question(f"hello {payload}")
    assert_inert(shown)
    assert Collected(shown).text == f"hello {payload}"


def test_html_and_markdown_in_the_corpus_render_as_text():
    evil = f"A {XSS_IMG} B {XSS_SCRIPT} C {XSS_LINK} D"
    passage = make_passage(evil, best=XSS_SCRIPT, source=f"T {XSS_IMG}", section=XSS_LINK, unverified=(XSS_SCRIPT,))
    notice = Notice("RED", "x", f"T {XSS_SCRIPT}", f"{XSS_IMG} {XSS_LINK}")
    answer = make_answer(XSS_IMG, passages=(passage,), notices=(notice,), message=XSS_LINK, disclaimer=f"D {XSS_IMG}")
    rendered = render_answer(answer)
    assert_inert(rendered)
    text = Collected(rendered).text
    for payload in XSS_PAYLOADS:
        assert payload in text


def test_the_sources_panel_renders_document_fields_as_text_and_links_only_web_addresses():
    documents = StubAssistant().documents + (
        Document("a.txt", "Linked", "", "https://example.org/a?x=1&y=2", True, "2"),
    )
    rendered = render_documents(documents)
    parsed = Collected(rendered)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    hrefs = [value for name, value in parsed.attributes if name == "href" and not value.startswith("document?")]
    assert hrefs == ["https://example.org/a?x=1&y=2"]
    assert load_labels().chat.not_reviewed in parsed.text
    assert load_labels().chat.reviewed in parsed.text
    assert f"Evil {XSS_IMG} document" in parsed.text
    assert "Web article from an online pharmacy site" in parsed.text


def test_text_to_html_escapes_quotes_and_ampersands():
    assert text_to_html("a & \"b\" 'c' <d>\ne") == "a &amp; &quot;b&quot; &#x27;c&#x27; &lt;d&gt;<br>e"


# --- chat turns and history ----------------------------------------------------------------------


def test_a_chat_turn_adds_the_question_and_its_answer_and_empties_the_box():
    from ui.app import chat_turn

    stub = StubAssistant()
    box, history = chat_turn("what are the side effects?", [], stub)
    assert box == ""
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert BEST_SENTENCE in history[1]["content"]
    assert stub.calls == [("what are the side effects?", ())]


def test_a_follow_up_receives_the_earlier_questions_as_typed():
    from ui.app import chat_turn

    stub = StubAssistant()
    first = f"is it <b>safe</b> & {XSS_LINK}\nfor me?"
    _, history = chat_turn(first, [], stub)
    _, history = chat_turn("and for older people?", history, stub)
    assert stub.calls[-1] == ("and for older people?", (first.strip(),))


def test_past_questions_reads_gradio_6_content_blocks_and_plain_strings():
    from ui.app import past_questions

    history = [
        {"role": "user", "content": [{"type": "text", "text": "first &lt;q&gt;"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "<div>answer</div>"}]},
        {"role": "user", "content": "second<br>line"},
        {"role": "user", "content": [{"type": "file", "file": {"path": "x.png"}}]},
        {"role": "assistant", "content": "ignored"},
    ]
    assert past_questions(history) == ["first <q>", "second\nline"]


def test_two_conversations_never_share_history():
    from ui.app import chat_turn

    stub = StubAssistant()
    _, tab_a = chat_turn("question in tab A", [], stub)
    _, tab_b = chat_turn("question in tab B", [], stub)
    chat_turn("follow-up in tab B", tab_b, stub)
    chat_turn("follow-up in tab A", tab_a, stub)
    assert stub.calls[-2] == ("follow-up in tab B", ("question in tab B",))
    assert stub.calls[-1] == ("follow-up in tab A", ("question in tab A",))


def test_a_too_long_question_gets_a_friendly_reply_keeps_its_text_and_is_not_history():
    from ui.app import chat_turn

    stub = StubAssistant(Settings(max_question_chars=1000))
    long_question = "why " * 400
    box, history = chat_turn(long_question, [], stub)
    assert box == long_question
    assert [m["role"] for m in history] == ["assistant"]
    assert "too long" in history[0]["content"] and "1000" in history[0]["content"]
    chat_turn("short one", history, stub)
    assert stub.calls[-1] == ("short one", ())


def test_a_blank_message_changes_nothing():
    from ui.app import chat_turn

    stub = StubAssistant()
    assert chat_turn("   ", [], stub) == ("", [])
    assert stub.calls == []


def test_respond_turns_an_answer_into_reply_html():
    from ui.app import respond

    reply = respond("took 10 emergency", [], StubAssistant())
    assert reply.accepted
    assert "EMERGENCY" in reply.html


# --- the API function ------------------------------------------------------------------------------


def test_the_api_returns_the_json_of_ask_json():
    from ui.app import ask_json

    stub = StubAssistant()
    result = ask_json("what are the side effects?", ["what is baclofen?"], stub)
    assert result == answer_to_dict(make_answer("what are the side effects?", notices=(AMBER,)))
    assert stub.calls == [("what are the side effects?", ("what is baclofen?",))]


@pytest.mark.parametrize(
    ("question", "history", "message"),
    [
        ("", [], "empty"),
        ("x" * 1001, [], "too long"),
        ("ok", "not a list", "history must be a list"),
        ("ok", [1, 2], r"History item 1 \(an earlier question\) must be text \(a string\), not a number"),
    ],
)
def test_the_api_rejects_bad_input_with_a_clear_error(question, history, message):
    import gradio as gr

    from ui.app import ask_json

    with pytest.raises(gr.Error, match=message):
        ask_json(question, history, StubAssistant())


# --- the app and its launch options ------------------------------------------------------------------


def _config_components(demo, kind):
    return [c for c in demo.config["components"] if c["type"] == kind]


def test_the_app_exposes_one_public_endpoint_named_ask_and_keeps_the_chat_events_private():
    from ui.app import build_app

    demo = build_app(StubAssistant(), Settings())
    public = [d for d in demo.config["dependencies"] if d.get("api_visibility", "public") == "public"]
    assert [d["api_name"] for d in public] == ["ask"]


def test_the_chat_shows_messages_as_html_without_markdown_or_latex():
    from ui.app import build_app

    demo = build_app(StubAssistant(), Settings())
    (chatbot,) = _config_components(demo, "chatbot")
    props = chatbot["props"]
    assert props["render_markdown"] is False
    assert props["sanitize_html"] is True
    assert props["latex_delimiters"] == []


def test_the_page_states_what_the_assistant_is_and_is_not():
    from ui.app import notice_line

    words = load_labels().chat  # the sentence as wording.toml [chat] writes it, its **bold** shown as bold
    line = Collected(notice_line(Settings(emergency_number="000"), StubAssistant().documents[:1], "baclofen")).text
    what = personalise(
        words.notice_line, "baclofen", documents=words.notice_one_document, review=words.notice_none_reviewed
    ).replace("**", "")
    assert line == f"{what} {personalise(words.notice_emergency, emergency_number='000')}"
    assert "baclofen" in line and "000" in line and "*" not in line and "{" not in line


def test_the_notice_line_follows_the_documents_review_status():
    from ui.app import notice_line

    documents = StubAssistant().documents  # one unreviewed, one reviewed
    line = Collected(notice_line(Settings(), documents, "baclofen")).text
    assert "2 documents about baclofen, not all of them reviewed" in line
    reviewed = tuple(d for d in documents if d.reviewed)
    assert "reviewed" not in Collected(notice_line(Settings(), reviewed, "baclofen")).text


def test_the_sources_panel_starts_with_the_engines_long_disclaimer():
    from assistant.safety import load_labels
    from ui.app import about_panel

    class Messages:
        labels = load_labels()

        def long_disclaimer(self, documents):
            return f"Long disclaimer about {len(documents)} document(s) {XSS_IMG}"

    stub = StubAssistant()
    stub.messages = Messages()
    panel = about_panel(stub)
    assert Collected(panel).text.startswith(
        f"{load_labels().chat.about_heading}Long disclaimer about 2 document(s) {XSS_IMG}"
    )
    assert "<img" not in panel


class _LaunchSpy:
    def __init__(self) -> None:
        self.kwargs: dict = {}

    def __call__(self, **kwargs):
        self.kwargs = kwargs
        return None, "http://127.0.0.1:0/", None


def test_launch_binds_to_localhost_without_a_share_link_or_login_by_default(monkeypatch):
    from ui.app import build_app, launch_app

    demo = build_app(StubAssistant(), Settings())
    spy = _LaunchSpy()
    monkeypatch.setattr(demo, "launch", spy)
    launch_app(demo, Settings())
    assert spy.kwargs["server_name"] == "127.0.0.1"
    assert spy.kwargs["server_port"] == 7860
    assert spy.kwargs["share"] is False
    assert spy.kwargs["auth"] is None


def test_launch_requires_a_login_when_both_variables_are_set(monkeypatch):
    from assistant.config import load_settings
    from ui.app import build_app, launch_app

    settings = load_settings(environ={"BACLOFEN_QA_AUTH_USER": "nurse", "BACLOFEN_QA_AUTH_PASSWORD": "s3cret"})
    demo = build_app(StubAssistant(), settings)
    spy = _LaunchSpy()
    monkeypatch.setattr(demo, "launch", spy)
    launch_app(demo, settings)
    assert spy.kwargs["auth"] == ("nurse", "s3cret")


def test_the_queue_limits_how_many_answers_run_at_once():
    from ui.app import build_app

    demo = build_app(StubAssistant(), Settings(concurrency_limit=3))
    answering = [fn for fn in demo.fns.values() if fn.concurrency_id == "assistant"]
    assert len(answering) == 1 + 1 + 5 + 1  # the API, the textbox, the example buttons, "Ask again"
    assert {(fn.concurrency_limit, fn.concurrency_id) for fn in answering} == {(3, "assistant")}


def test_serve_is_a_cli_command_with_host_and_port():
    from assistant.cli import build_parser

    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "8000"])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8000)


def test_each_quote_names_its_kind_of_document():
    from dataclasses import replace

    official = replace(make_passage(), source="Baclofen tablets label", source_kind="label")
    text = Collected(render_answer(make_answer(passages=(official, make_passage())))).text
    assert "From the official label: Baclofen tablets label" in text and "From the article:" in text
