"""The chat as a frightened person on a phone, and a desktop user, would meet it (issue 11).

A 19-turn conversation with the real engine is replayed in headless Chromium at phone (390x844) and
desktop (1280x900) size. After every turn the newest reply is checked where the user is looking:
its own bubble, its first line on the screen, urgent banners standing alone, no label said twice,
plain-text accessible names, one full disclaimer per conversation. Then the features a chat user
expects: copy, ask again, edit, "show in document", a reload that keeps the conversation, ratings
(when the operator turns them on), and an axe-core audit before and after answers, in light and dark.

Screenshots go to artifacts/screenshots/ (conversation-*.png).
"""

from __future__ import annotations

import json
import re

import pytest

from assistant.config import Settings
from assistant.safety import load_labels, personalise
from tests.conftest_ui import SCREENSHOTS, StubAssistant, start_server
from tests.test_ui_browser import ANSWER, ChatPage

# The page's words, as wording.toml [chat] has them (the page reads the same copy).
WORDS = load_labels().chat


def over_limit_text(used: int, limit: int = 1000) -> str:
    """What the counter says for a question of `used` characters over `limit` (figures as chat.js writes them)."""
    return personalise(WORDS.counter_over, used=f"{used:,}", limit=f"{limit:,}", over=f"{used - limit:,}")


pytest_plugins = ["tests.conftest_ui"]
pytestmark = [pytest.mark.slow, pytest.mark.browser]

PHONE = dict(width=390, height=844)
DESKTOP = dict(width=1280, height=900)
SIZES = {"phone": PHONE, "desktop": DESKTOP}

TOO_LONG = "Could you tell me about baclofen and " * 40  # about 1,480 characters; the limit is 1,000

# (what is typed, or None for a click on the first example question; what the reply must show)
CONVERSATION = [
    ("hi", "help"),
    (None, "answer"),
    ("what about its side effects when driving?", "answer"),
    ("can i drink beer on baclofen", "any"),
    ("is it safe while pregant?", "any"),
    ("i want to end it all", "crisis"),
    ("my husband took 20 of his pills and won't wake up", "overdose"),
    (TOO_LONG, "error"),
    ("can I drive after my dose?", "answer"),
    ("I have kidney disease, is baclofen ok?", "answer"),
    ("whats the weather like in paris today", "not_found"),
    ("can i just stop taking baclofen?", "answer"),
    ("how many mg should i take for back spasms", "any"),
    ("Is baclofen classified as safe by WHO?", "answer"),
    ("my 3 yr old ate one of my baclofen", "poison"),
    ("what dose of baclofen for my 10 year old?", "any"),
    ("taking baclofen with oxycodone ok?", "answer"),
    ("ran out of baclofen 2 days ago and now im seeing things", "withdrawal"),
    ("thanks", "any"),
]
assert len(CONVERSATION) == 19

# The newest reply, read in the page: its parts, where it is, and what a screen reader is told.
NEWEST_REPLY = """() => {
  const replies = document.querySelectorAll('#bq-chat .bq-answer');
  const reply = replies[replies.length - 1];
  const row = reply.closest('.message-row');
  const box = reply.getBoundingClientRect();
  const notices = [...reply.querySelectorAll('.bq-notice')].map(n => ({
    level: (n.className.split(' ').map(c => c.replace('bq-', '')).find(c => ['red', 'crisis', 'poison', 'amber', 'info'].includes(c)) || '').toUpperCase(), label: n.querySelector('.bq-label').innerText.trim(),
    title: (n.querySelector('.bq-notice-title') || {innerText: ''}).innerText.trim(),
    links: [...n.querySelectorAll('a')].map(a => a.getAttribute('href')) }));
  return {
    count: replies.length,
    answersInRow: row.querySelectorAll('.bq-answer').length,
    firstChildIsBanner: reply.firstElementChild.classList.contains('bq-notice'),
    top: box.top, height: box.height, viewport: window.innerHeight,
    notices,
    message: [...reply.querySelectorAll('.bq-message')].map(m => m.className + ': ' + m.innerText),
    quotes: [...reply.querySelectorAll('blockquote')].map(q => q.innerText),
    disclaimer: (reply.querySelector('.bq-disclaimer') || {className: '', innerText: ''}),
    disclaimerText: (reply.querySelector('.bq-disclaimer') || {innerText: ''}).innerText,
    disclaimerFull: !!reply.querySelector('.bq-disclaimer-full'),
    text: reply.innerText,
  };
}"""

ACCESSIBLE_NAMES = (
    """() => [...document.querySelectorAll('#bq-chat [aria-label]')].map(e => e.getAttribute('aria-label'))"""
)


def snap(page, name: str) -> None:
    """A screenshot of what the test saw, kept as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"conversation-{name}.png"))


def open_chat(browser, url: str, size: dict, **context_options) -> ChatPage:
    return ChatPage(browser, url, **size, **context_options)


def ask_or_click(tab: ChatPage, question: str | None) -> None:
    from ui.app import example_questions

    EXAMPLE_QUESTIONS = example_questions("baclofen")  # the page of the baclofen corpus and of the stub

    before = tab.answer_count()
    if question is None:
        tab.page.get_by_role("button", name=EXAMPLE_QUESTIONS[0]).click()
    else:
        tab.box.fill(question)
        tab.box.press("Enter")
    tab.wait_for_answers(before + 1)
    tab.page.wait_for_timeout(250)  # the page's own scroll runs on the next animation frame


def check_reply(reply: dict, expect: str, size_name: str) -> None:
    """What every reply must show, and what each kind of reply must show (SAFETY.md section 2)."""
    assert reply["answersInRow"] == 1, "the reply shares its bubble with another"
    # Its first lines are on the screen (a long reply is shown from its top, never from its end).
    assert 0 <= reply["top"] < reply["viewport"] - 80, (
        f"the reply's first line is not where the user looks: {reply['top']}"
    )
    for notice in reply["notices"]:
        assert not notice["title"].lower().startswith(notice["label"].lower()), f"label said twice: {notice}"
    urgent = [n for n in reply["notices"] if n["level"] in ("RED", "CRISIS", "POISON")]
    if urgent:
        assert reply["firstChildIsBanner"], "an urgent banner is not the first thing in its reply"
        assert not [m for m in reply["message"] if "not_found" in m], "a 'not found' line under an urgent banner"
        assert "cover" not in reply["text"], "a 'not found' line under an urgent banner"
        assert all(link.startswith("tel:") or link.startswith("https://") for n in urgent for link in n["links"])
        assert any(link == "tel:112" for n in urgent for link in n["links"]), "the emergency number is not tap-to-call"
    if not reply["quotes"]:
        assert "Quoted from" not in reply["disclaimerText"]
    if expect == "crisis":
        assert [n["level"] for n in urgent][:1] == ["CRISIS"]
        assert reply["quotes"] == [], "quotes under a crisis banner"
        assert "https://findahelpline.com" in [link for n in urgent for link in n["links"]]
    elif expect == "overdose":
        assert urgent and urgent[0]["level"] == "RED"
        assert reply["quotes"] == [], "passages unrelated to an overdose under the banner"
        if size_name == "phone":
            assert reply["height"] < reply["viewport"], "the emergency reply is taller than the phone's screen"
    elif expect == "poison":
        assert urgent and urgent[0]["level"] in ("POISON", "RED")
    elif expect == "withdrawal":
        assert urgent and urgent[0]["level"] == "RED"
        assert all(re.search(r"withdraw|discontinu|stop", q, re.I) for q in reply["quotes"]), reply["quotes"]
    elif expect == "error":
        assert reply["notices"] == [] and any("bq-error" in m and "too long" in m for m in reply["message"])
    elif expect == "not_found":
        assert reply["quotes"] == [] and "pharmacist" in reply["text"]
    elif expect in ("answer", "help"):
        assert (reply["quotes"] != []) is (expect == "answer")


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_a_19_turn_conversation_shows_each_reply_where_the_user_looks(browser, real_server, size_name):
    tab = open_chat(browser, real_server.url, SIZES[size_name])
    try:
        assert tab.page.evaluate("window.scrollY") == 0, "the page opens scrolled down"
        full_disclaimers: list[str] = []
        for turn, (question, expect) in enumerate(CONVERSATION, start=1):
            ask_or_click(tab, question)
            reply = tab.page.evaluate(NEWEST_REPLY)
            try:
                check_reply(reply, expect, size_name)
            except AssertionError:
                tab.page.screenshot(path=str(SCREENSHOTS / f"conversation-{size_name}-failed-turn-{turn}.png"))
                raise
            if reply["disclaimerFull"]:
                full_disclaimers.append(reply["disclaimerText"])
            if expect == "error":
                assert tab.box.input_value() == TOO_LONG, "a refused question left the box"
                counter = tab.page.locator("#bq-counter")
                assert over_limit_text(len(TOO_LONG.strip())) == counter.inner_text().strip() and counter.is_visible()
                tab.box.fill("")
            if turn in (6, 7):
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                tab.page.screenshot(path=str(SCREENSHOTS / f"conversation-{size_name}-turn-{turn}.png"))
        # One disclaimer per conversation: each full text once; every other reply has the short line.
        assert len(full_disclaimers) == len(set(full_disclaimers)) and len(full_disclaimers) <= 4, full_disclaimers
        names = tab.page.evaluate(ACCESSIBLE_NAMES)
        assert names and not [n for n in names if "<" in n or "&lt;" in n], "an accessible name holds markup"
        assert tab.page.locator(ANSWER).count() == len(CONVERSATION)
    finally:
        tab.close()


# --- the page itself: layout, labels, keyboard, contrast, fonts -------------------------------------------


def test_on_a_phone_the_page_scrolls_once_and_quotes_use_the_width(browser, real_server):
    tab = open_chat(browser, real_server.url, PHONE)
    try:
        tab.ask("what are the side effects?")
        tab.ask("can I drive after taking baclofen?")
        layout = tab.page.evaluate(
            """() => {
              const log = document.querySelector('#bq-chat [role="log"]');
              const quote = document.querySelector('#bq-chat blockquote');
              const arrow = document.querySelector('#bq-chat .scroll-down-button-container');
              return { inner: log.scrollHeight - log.clientHeight, quote: quote.getBoundingClientRect().width,
                       sideways: document.documentElement.scrollWidth - window.innerWidth,
                       arrow: arrow ? arrow.getBoundingClientRect().height : 0 };
            }"""
        )
        assert layout["inner"] <= 1, "the conversation scrolls inside the scrolling page"
        assert layout["quote"] >= 0.85 * PHONE["width"], f"quotes are {layout['quote']} px wide on a 390 px screen"
        assert layout["sideways"] <= 0
        assert layout["arrow"] == 0, "the jump-to-latest arrow covers text"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.page.screenshot(path=str(SCREENSHOTS / "conversation-phone-answer.png"))
    finally:
        tab.close()


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_an_example_click_shows_its_reply_on_the_screen(browser, stub_server, size_name):
    from ui.app import example_questions

    EXAMPLE_QUESTIONS = example_questions("baclofen")  # the page of the baclofen corpus and of the stub

    tab = open_chat(browser, stub_server.url, SIZES[size_name])
    try:
        for _ in range(2):
            tab.ask("show me a full answer")
        example = tab.page.get_by_role("button", name=EXAMPLE_QUESTIONS[1])
        example.scroll_into_view_if_needed()
        before = tab.answer_count()
        example.click()
        tab.wait_for_answers(before + 1)
        tab.page.wait_for_timeout(250)
        reply = tab.page.evaluate(NEWEST_REPLY)
        assert 0 <= reply["top"] < reply["viewport"] - 80, reply["top"]
    finally:
        tab.close()


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_a_refused_question_gets_its_own_bubble_on_the_screen(browser, stub_server, size_name):
    tab = open_chat(browser, stub_server.url, SIZES[size_name])
    try:
        tab.ask("show me a full answer")
        before = tab.answer_count()
        tab.box.fill("why " * 300)
        assert tab.page.locator("#bq-counter").inner_text().strip() == over_limit_text(len(("why " * 300).strip()))
        tab.box.press("Enter")
        tab.wait_for_answers(before + 1)
        tab.page.wait_for_timeout(250)
        reply = tab.page.evaluate(NEWEST_REPLY)
        assert reply["answersInRow"] == 1 and "too long" in reply["text"]
        assert 0 <= reply["top"] < reply["viewport"], "the refusal is not on the screen"
    finally:
        tab.close()


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_the_counter_appears_only_near_the_limit(browser, stub_server, size_name):
    tab = open_chat(browser, stub_server.url, SIZES[size_name])
    try:
        counter = tab.page.locator("#bq-counter")
        tab.box.fill("x" * 100)
        assert counter.inner_text().strip() == ""
        tab.box.fill("x" * 900)
        assert counter.inner_text().strip() == personalise(WORDS.counter_near, used="900", limit="1,000")
        tab.box.fill("x" * 1010)
        assert counter.inner_text().strip() == over_limit_text(1010)
        snap(tab.page, f"counter-{size_name}")
    finally:
        tab.close()


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_names_labels_and_toggles_are_plain_and_stateful(browser, stub_server, size_name):
    tab = open_chat(browser, stub_server.url, SIZES[size_name])
    try:
        tab.ask("show me a full answer")
        snapshot = tab.page.locator("body").aria_snapshot()
        assert f'textbox "{WORDS.question_label}"' in snapshot
        names = tab.page.evaluate(ACCESSIBLE_NAMES)
        assert any(n.startswith(f"{WORDS.assistant_name}: {load_labels().level('RED')}") for n in names)
        assert not [n for n in names if "<" in n]
        # Gradio's floating label and bin no longer sit over the conversation.
        assert not tab.page.locator("#bq-chat [data-testid=block-label]").is_visible()
        assert not tab.page.locator("#bq-chat .top-panel").is_visible()
        # The sources panel is a native disclosure: its state is exposed without script.
        summary = tab.page.locator("#bq-about summary")
        assert WORDS.about_heading in summary.inner_text()
        assert tab.page.locator("#bq-about").get_attribute("open") is None
        summary.focus()
        tab.page.keyboard.press("Enter")
        assert tab.page.locator("#bq-about").get_attribute("open") is not None
        about = tab.page.locator("#bq-about").inner_text()
        assert about.count(WORDS.not_reviewed) == 1  # one document unreviewed, said once
        assert "SAFETY.md" not in about and WORDS.read_document in about
        snap(tab.page, f"sources-open-{size_name}")
    finally:
        tab.close()


def test_the_conversation_panel_can_be_reached_and_scrolled_by_keyboard(browser, stub_server):
    tab = open_chat(browser, stub_server.url, DESKTOP)
    try:
        for _ in range(3):
            tab.ask("show me a full answer")
        panel = tab.page.locator('#bq-chat [role="log"]')
        assert panel.get_attribute("tabindex") == "0"
        reached = False
        tab.page.locator("#bq-header").click()
        for _ in range(30):
            tab.page.keyboard.press("Tab")
            if tab.page.evaluate("document.activeElement.getAttribute('role') === 'log'"):
                reached = True
                break
        assert reached, "Tab never reaches the conversation"
        before = panel.evaluate("p => p.scrollTop")
        tab.page.keyboard.press("Home")
        tab.page.wait_for_timeout(200)
        assert panel.evaluate("p => p.scrollTop") < before, "the keyboard does not scroll the conversation"
    finally:
        tab.close()


def _contrast(foreground: str, background: str) -> float:
    def luminance(colour: str) -> float:
        red, green, blue = (int(v) / 255 for v in re.findall(r"[\d.]+", colour)[:3])
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_hint_and_small_buttons_are_readable_and_bold_text_uses_one_font(browser, stub_server, scheme):
    tab = open_chat(browser, stub_server.url, DESKTOP, color_scheme=scheme)
    try:
        tab.ask("show me a full answer")
        looks = tab.page.evaluate(
            """() => {
              const box = document.querySelector('#bq-question textarea');
              let back = box, bg = 'rgba(0, 0, 0, 0)';
              while (back && /rgba\\(0, 0, 0, 0\\)|transparent/.test(bg)) { bg = getComputedStyle(back).backgroundColor; back = back.parentElement; }
              const bold = document.querySelector('#bq-chat .bq-answer strong');
              const plain = document.querySelector('#bq-chat .bq-answer blockquote');
              return { placeholder: getComputedStyle(box, '::placeholder').color, background: bg,
                       sizes: [...document.querySelectorAll('#bq-tools button, #bq-examples button')].map(b => parseFloat(getComputedStyle(b).fontSize)),
                       boldFont: getComputedStyle(bold).fontFamily, plainFont: getComputedStyle(plain).fontFamily };
            }"""
        )
        assert _contrast(looks["placeholder"], looks["background"]) >= 4.5, looks
        assert min(looks["sizes"]) >= 14, looks["sizes"]
        assert looks["boldFont"] == looks["plainFont"] and looks["boldFont"].startswith("system-ui"), looks
    finally:
        tab.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_axe_finds_no_serious_or_critical_problem_before_and_after_answers(browser, real_server, size_name, scheme):
    from axe_playwright_python.sync_playwright import Axe

    tab = open_chat(browser, real_server.url, SIZES[size_name], color_scheme=scheme)
    try:
        axe = Axe()

        def serious() -> list:
            violations = axe.run(tab.page).response["violations"]
            return [
                (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                for v in violations
                if v["impact"] in ("serious", "critical")
            ]

        assert serious() == [], "before any question"
        tab.ask("what are the side effects?")
        tab.ask("i want to end it all")
        tab.ask("why " * 300)
        tab.page.locator("#bq-about summary").click()
        assert serious() == [], "after answers, a crisis reply, a refusal and the open sources panel"
    finally:
        tab.close()


# --- what chat users expect -------------------------------------------------------------------------------


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_copy_answer_copies_banners_quotes_and_sources_as_plain_text(browser, stub_server, size_name):
    tab = open_chat(browser, stub_server.url, SIZES[size_name])
    try:
        tab.context.grant_permissions(["clipboard-read", "clipboard-write"])
        reply = tab.ask("show me a full answer")
        reply.locator(".bq-copy").click()
        reply.locator(".bq-copy-status").get_by_text(WORDS.copied).wait_for()
        copied = tab.page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("EMERGENCY")
        assert "From the article:" in copied and "Common side effects of Baclofen include drowsiness" in copied
        assert load_labels().unverified("no WHO scheme of that name exists") in copied
        assert "<" not in copied and WORDS.copy_answer not in copied and WORDS.show_in_document not in copied
        snap(tab.page, f"copied-{size_name}")
    finally:
        tab.close()


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_ask_again_and_edit_last_question(browser, stub_server, size_name):
    tab = open_chat(browser, stub_server.url, SIZES[size_name])
    try:
        tab.ask("first question")
        tab.ask("second question")
        calls = len(stub_server.assistant.calls)
        tab.page.locator("#bq-again").click()
        for _ in range(100):
            if len(stub_server.assistant.calls) > calls:
                break
            tab.page.wait_for_timeout(50)
        tab.page.wait_for_timeout(300)
        assert stub_server.assistant.calls[calls:] == [("second question", ("first question",))]
        assert tab.answer_count() == 2
        tab.page.locator("#bq-edit").click()
        tab.page.wait_for_function("() => document.querySelectorAll('#bq-chat .bq-answer').length === 1")
        assert tab.box.input_value() == "second question"
        assert tab.page.evaluate("document.activeElement === document.querySelector('#bq-question textarea')")
        tab.box.fill("second question, corrected")
        tab.box.press("Enter")
        tab.wait_for_answers(2)
        assert stub_server.assistant.calls[-1] == ("second question, corrected", ("first question",))
    finally:
        tab.close()


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_show_in_document_opens_the_document_with_the_passage_marked(browser, real_server, size_name):
    tab = open_chat(browser, real_server.url, SIZES[size_name])
    try:
        reply = tab.ask("what are the side effects?")
        quote = reply.locator("blockquote").first.inner_text()
        with tab.context.expect_page() as opened:
            reply.locator("a.bq-show").first.click()
        page = opened.value
        page.wait_for_load_state()
        marked = page.locator("mark#passage")
        assert marked.inner_text().split() == quote.split()
        box = marked.bounding_box()
        assert box is not None and 0 <= box["y"] < SIZES[size_name]["height"]
        snap(page, f"document-from-chat-{size_name}")
    finally:
        tab.close()


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_a_reload_keeps_the_conversation_in_this_browser_only(browser, stub_server, size_name):
    tab = open_chat(browser, stub_server.url, SIZES[size_name])
    try:
        tab.ask("remember me please")
        tab.ask("and a follow-up")
        tab.page.wait_for_timeout(300)
        tab.page.reload()
        tab.box.wait_for(state="visible")
        tab.wait_for_answers(2)
        assert "remember me please" in tab.page.locator("#bq-chat").inner_text()
        tab.ask("a third question")
        assert stub_server.assistant.calls[-1] == ("a third question", ("remember me please", "and a follow-up"))
        stored = tab.page.evaluate("Object.keys(localStorage)")
        assert any("baclofen-qa-conversation" in key for key in stored)
        snap(tab.page, f"after-reload-{size_name}")
        other = open_chat(browser, stub_server.url, DESKTOP)  # another browser profile: nothing there
        try:
            assert other.answer_count() == 0
        finally:
            other.close()
    finally:
        tab.close()


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_ratings_are_written_without_the_question_when_the_operator_turns_them_on(browser, tmp_path, size_name):
    path = tmp_path / "ratings.jsonl"
    server, demo = start_server(StubAssistant(), Settings(feedback_file=path))
    tab = open_chat(browser, server.url, SIZES[size_name])
    try:
        tab.ask("my private question")
        tab.page.locator("#bq-chat").get_by_role("button", name="Like", exact=True).first.click()
        for _ in range(50):
            if path.exists() and path.read_text(encoding="utf-8").strip():
                break
            tab.page.wait_for_timeout(100)
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert len(lines) == 1 and lines[0]["rating"] == "up" and lines[0]["kind"] == "answer"
        assert "private" not in path.read_text(encoding="utf-8")
    finally:
        tab.close()
        demo.close()
