"""The web chat in a real browser: headless Chromium from Debian's packages, driven by Playwright.

Without /usr/bin/chromium these tests skip with a visible reason; with REQUIRE_BROWSER_TESTS=1
(set by .ci/run) a missing browser is a failure. Screenshots go to artifacts/screenshots/.

Two servers: one with the real assistant (the everyday path), one with StubAssistant, whose
hand-made answers carry every display element and hostile text (conftest_ui.py).
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlparse

import pytest

from assistant.safety import load_labels
from tests.conftest_ui import (
    DISCLAIMER,
    SCREENSHOTS,
    TITLE,
    XSS_IMG,
    XSS_LINK,
    XSS_PAYLOADS,
    XSS_SCRIPT,
)
from ui.app import READY_ATTRIBUTE

pytest_plugins = ["tests.conftest_ui"]
pytestmark = [pytest.mark.slow, pytest.mark.browser]

ANSWER = "#bq-chat .bq-answer"


class ChatPage:
    """One browser tab on the chat, recording dialogs and requests to other hosts."""

    def __init__(self, browser, url: str, *, width: int = 1024, height: int = 1000, **context_options) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, **context_options)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.foreign_requests: list[str] = []
        host = urlparse(url).hostname
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on(
            "request",
            lambda request: (
                self.foreign_requests.append(request.url)
                if urlparse(request.url).hostname not in (host, None) and not request.url.startswith("data:")
                else None
            ),
        )
        self.page.goto(url)
        self.box.wait_for(state="visible", timeout=30_000)
        # A question typed before the saved conversation is restored could be wiped by it.
        self.page.locator(f"html[{READY_ATTRIBUTE}]").wait_for(state="attached", timeout=30_000)

    @property
    def box(self):
        return self.page.locator("#bq-question textarea")

    def answer_count(self) -> int:
        return self.page.locator(ANSWER).count()

    def wait_for_answers(self, count: int) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                "n => document.querySelectorAll('#bq-chat .bq-answer').length >= n", arg=count, timeout=30_000
            )
        except PlaywrightTimeout:
            # Say what the page showed, so that a failure on a busy machine can be told apart.
            state = self.page.evaluate(
                """() => ({box: document.querySelector('#bq-question textarea')?.value,
                           answers: document.querySelectorAll('#bq-chat .bq-answer').length,
                           messages: document.querySelectorAll('#bq-chat .message').length,
                           toasts: [...document.querySelectorAll('.toast-body')].map(t => t.innerText)})"""
            )
            raise AssertionError(f"no reply number {count} within 30 s; the page showed {state}") from None

    def ask(self, question: str):
        """Type a question, press Enter, wait for its reply; returns the reply's locator."""
        before = self.answer_count()
        self.box.fill(question)
        self.box.press("Enter")
        self.wait_for_answers(before + 1)
        return self.page.locator(ANSWER).nth(before)

    def settle(self) -> None:
        """Give any injected handler (img onerror, script) time to fire before we look."""
        time.sleep(0.8)

    def injected(self) -> dict[str, int]:
        return self.page.evaluate(
            r"""() => ({
                img: document.querySelectorAll('#bq-chat img, #bq-about img').length,
                script: document.querySelectorAll('#bq-chat script, #bq-about script').length,
                javascript_links: document.querySelectorAll('a[href^="javascript:" i]').length,
                // The only links a reply may hold: each quote's link to its document and the configured help numbers.
                chat_links: [...document.querySelectorAll('#bq-chat a')].filter(
                    a => !/^(document\?doc=|tel:)/.test(a.getAttribute('href') || '')).length,
            })"""
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def real_tab(browser, real_server):
    tab = ChatPage(browser, real_server.url)
    yield tab
    tab.close()


@pytest.fixture
def stub_tab(browser, stub_server):
    tab = ChatPage(browser, stub_server.url)
    yield tab
    tab.close()


def unique(text: str) -> str:
    return f"{text} [{uuid.uuid4().hex[:8]}]"


def calls_for(stub_server, question: str) -> list[tuple[str, ...]]:
    return [history for asked, history in stub_server.assistant.calls if asked == question]


# --- the everyday path, real engine --------------------------------------------------------------


def test_a_typed_question_shows_a_quote_its_source_and_the_disclaimer(real_tab, real_assistant):
    reply = real_tab.ask("Can I drive after taking baclofen?")
    quote = reply.locator("blockquote").first
    quote.wait_for(state="visible")
    assert "From the article:" in reply.inner_text()
    assert TITLE in reply.locator("cite").first.inner_text()
    disclaimer = reply.locator(".bq-disclaimer")
    assert disclaimer.is_visible()
    assert disclaimer.inner_text().strip() == real_assistant.answer("Can I drive after taking baclofen?").disclaimer
    # The page must not be a screen of raw markup: no tag characters in what is shown.
    assert "<div" not in reply.inner_text() and "&lt;" not in reply.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    real_tab.page.screenshot(path=str(SCREENSHOTS / "chat-real-engine.png"))
    reply.screenshot(path=str(SCREENSHOTS / "answer-real-engine.png"))
    assert not real_tab.foreign_requests, f"the page fetched from other hosts: {real_tab.foreign_requests}"


def test_an_emergency_shows_an_urgent_banner_in_words_before_anything_else(real_tab):
    reply = real_tab.ask("I took my dose twice by mistake")
    first = reply.locator("> *").first
    assert first.get_attribute("role") == "alert"
    assert first.locator(".bq-label").inner_text().strip() in ("EMERGENCY", "Urgent")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    reply.screenshot(path=str(SCREENSHOTS / "answer-real-emergency.png"))


def test_a_question_outside_the_article_says_so_and_suggests_a_pharmacist(real_tab):
    reply = real_tab.ask("what's the weather like in paris today")
    assert "pharmacist" in reply.inner_text()
    assert reply.locator("blockquote").count() == 0


# --- every display element, hand-made answers ------------------------------------------------------


def test_a_full_answer_shows_banners_then_quotes_then_the_disclaimer(stub_tab):
    reply = stub_tab.ask("show me a full answer please")
    text = reply.inner_text()
    order = [text.index("EMERGENCY"), text.index("Caution"), text.index("From the article:"), text.index(DISCLAIMER)]
    assert order == sorted(order)
    assert reply.locator("[role=alert]").count() == 1
    assert reply.locator("mark").count() == 1
    assert load_labels().unverified("no WHO scheme of that name exists") in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    reply.screenshot(path=str(SCREENSHOTS / "answer-all-parts.png"))


def test_on_a_phone_each_new_reply_is_shown_from_its_first_line(browser, stub_server):
    tab = ChatPage(browser, stub_server.url, width=390, height=844)
    try:
        for question in ("what are the side effects?", "show me a full answer", "show me a full answer"):
            reply = tab.ask(question)
            time.sleep(0.3)
            first_line = reply.locator("> *").first.bounding_box()
            panel = tab.page.locator("#bq-chat [role=log]").bounding_box()
            assert panel["y"] <= first_line["y"] < panel["y"] + panel["height"] - first_line["height"], question
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.page.screenshot(path=str(SCREENSHOTS / "phone-full-answer.png"))
    finally:
        tab.close()


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_html_javascript_and_markdown_links_in_a_question_stay_inert(stub_tab, payload):
    question = f"is this safe {payload} ok"
    stub_tab.ask(question)
    stub_tab.settle()
    assert stub_tab.dialogs == []
    assert stub_tab.injected() == {"img": 0, "script": 0, "javascript_links": 0, "chat_links": 0}
    user_bubble = stub_tab.page.locator("#bq-chat [data-testid=user]").last
    assert question in user_bubble.inner_text()


def test_html_javascript_and_markdown_links_in_a_document_stay_inert(stub_tab):
    reply = stub_tab.ask("show the evil document")
    stub_tab.page.locator("#bq-about").get_by_text(load_labels().chat.about_heading).click()
    stub_tab.page.locator("#bq-about .bq-docs").wait_for(state="visible")
    stub_tab.settle()
    assert stub_tab.dialogs == []
    assert stub_tab.injected() == {"img": 0, "script": 0, "javascript_links": 0, "chat_links": 0}
    text = reply.inner_text()
    assert XSS_IMG in text and XSS_SCRIPT in text and XSS_LINK in text
    assert "*stars* # hash | pipe $$x^2$$" in text  # Markdown and LaTeX characters shown as typed
    assert f"Evil {XSS_IMG} document" in stub_tab.page.locator("#bq-about").inner_text()


# --- sessions, clearing, examples, limits, sources -------------------------------------------------------


def test_follow_ups_use_this_tabs_questions_and_never_another_tabs(browser, stub_server):
    tab_a, tab_b = ChatPage(browser, stub_server.url), ChatPage(browser, stub_server.url)
    try:
        first_a, second_a, first_b = unique("tab A first"), unique("tab A second"), unique("tab B first")
        tab_a.ask(first_a)
        tab_b.ask(first_b)
        tab_a.ask(second_a)
        assert calls_for(stub_server, second_a) == [(first_a,)]
        assert calls_for(stub_server, first_b) == [()]
        assert tab_b.answer_count() == 1
    finally:
        tab_a.close()
        tab_b.close()


def test_the_clear_button_starts_a_new_conversation(stub_tab, stub_server):
    stub_tab.ask(unique("before clearing"))
    stub_tab.page.locator("#bq-clear").click()
    stub_tab.page.wait_for_function("() => document.querySelectorAll('#bq-chat .bq-answer').length === 0")
    after = unique("after clearing")
    stub_tab.ask(after)
    assert calls_for(stub_server, after) == [()]


def test_an_example_question_is_asked_with_one_click(stub_tab, stub_server):
    from ui.app import example_questions

    EXAMPLE_QUESTIONS = example_questions("baclofen")  # the page of the baclofen corpus and of the stub

    before = len(stub_server.assistant.calls)
    stub_tab.page.get_by_role("button", name=EXAMPLE_QUESTIONS[0]).click()
    stub_tab.wait_for_answers(1)
    assert (EXAMPLE_QUESTIONS[0], ()) in stub_server.assistant.calls[before:]
    assert "From the article:" in stub_tab.page.locator(ANSWER).first.inner_text()


def test_a_too_long_question_gets_a_friendly_message_and_stays_in_the_box(stub_tab):
    long_question = "why " * 300
    stub_tab.box.fill(long_question)
    stub_tab.box.press("Enter")
    stub_tab.wait_for_answers(1)
    assert "too long" in stub_tab.page.locator(ANSWER).first.inner_text()
    assert stub_tab.box.input_value() == long_question


def test_the_sources_panel_lists_each_document_and_its_review_status(stub_tab):
    stub_tab.page.locator("#bq-about").get_by_text(load_labels().chat.about_heading).click()
    panel = stub_tab.page.locator("#bq-about .bq-docs")
    panel.wait_for(state="visible")
    text = panel.inner_text()
    assert TITLE in text
    assert "Web article from an online pharmacy site" in text
    assert load_labels().chat.not_reviewed in text


def test_the_notice_under_the_title_says_what_the_assistant_is_not(stub_tab):
    line = stub_tab.page.locator(".bq-notice-line").inner_text()
    assert "not a doctor or pharmacist" in line
    assert "emergency number (112)" in line
