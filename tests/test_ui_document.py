"""The "Show in document" page (ui/document_page.py): a quoted passage shown in its whole document.

The pure tests read the page back with an HTML parser, as a browser would, and compare what a reader
sees with `Document.text`. The slow tests run a real Gradio server (with and without a login) and the
real engine on the real corpus.
"""

from __future__ import annotations

import html
from dataclasses import replace
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st
from starlette.datastructures import QueryParams

from assistant.config import Settings
from assistant.records import Document
from assistant.safety import load_labels, personalise
from tests.conftest_ui import XSS_IMG, XSS_SCRIPT, StubAssistant, start_server
from ui.document_page import (
    CONTENT_SECURITY_POLICY,
    PageProblem,
    document_href,
    read_link,
    render_document_page,
    web_link,
)

pytest_plugins = ["tests.conftest_ui"]

TEXT = (
    "Baclofen & you\n\n"
    "Common side effects of Baclofen include drowsiness and dizziness.\n"
    "Take it with <food> if it upsets your stomach; ask about 'alcohol' & \"sedatives\".\n"
    "    Indented line  with  double spaces.\n"
)
QUOTE = "Common side effects of Baclofen include drowsiness and dizziness."
DOC = Document(
    doc_id="leaflets/baclofen leaflet.txt",
    title="Baclofen 10 mg tablets – leaflet",
    text=TEXT,
    source="https://www.example.org/baclofen?lang=en&v=2",
    reviewed=True,
    fingerprint="0",
    kind="leaflet",
)
ODD_IDS = (
    "leaflets/baclofen leaflet.txt",
    "a b&c=d#e?f.txt",
    "dossier/éléments – été 100%.md",
    "+plus+ and %20 literal.txt",
    "日本語/バクロフェン.txt",
)


class PageReader(HTMLParser):
    """What a reader sees of the page: the document text (without the hidden screen-reader words),
    the text inside <mark>, and the mark's id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.marks: list[str] = []
        self.mark_ids: list[str | None] = []
        self.links: list[dict[str, str | None]] = []
        self.tags: list[str] = []
        self._in_text = False
        self._hidden = 0
        self._in_mark = False
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        if tag == "section" and "text" in (attributes.get("class") or "").split():
            self._in_text = True
        elif tag == "span" and "visually-hidden" in (attributes.get("class") or "").split():
            self._hidden += 1
        elif tag == "mark":
            self._in_mark = True
            self.marks.append("")
            self.mark_ids.append(attributes.get("id"))
        elif tag == "a":
            self.links.append(attributes)
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "section":
            self._in_text = False
        elif tag == "span" and self._hidden:
            self._hidden -= 1
        elif tag == "mark":
            self._in_mark = False
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if not self._in_text or self._hidden:
            return
        self.text += data
        if self._in_mark:
            self.marks[-1] += data


def read_page(page: str) -> PageReader:
    reader = PageReader()
    reader.feed(page)
    reader.close()
    return reader


# --- the page ------------------------------------------------------------------------------------


def test_the_mark_holds_exactly_the_quoted_characters_and_the_rest_of_the_text_is_unchanged():
    start = TEXT.index(QUOTE)
    page = render_document_page(DOC, start, start + len(QUOTE))
    seen = read_page(page)
    assert seen.marks == [QUOTE]
    assert seen.mark_ids == ["passage"]
    assert seen.text == TEXT  # before and after the mark, character for character
    assert html.escape(TEXT[:start]) + '<span class="visually-hidden">' in page


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=200), st.data())
def test_any_passage_of_any_text_is_marked_at_its_exact_offsets(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    seen = read_page(render_document_page(replace(DOC, text=text), start, end))
    assert seen.text == text
    assert seen.marks == ([text[start:end]] if start < end else [])


def test_without_a_passage_the_whole_document_is_shown_without_a_mark_or_the_highlight_line():
    page = render_document_page(DOC, 0, 0)
    seen = read_page(page)
    assert seen.text == TEXT and seen.marks == []
    assert load_labels().document_page.intro not in page
    assert document_href(DOC.doc_id, 0, 0).endswith("end=0")  # no #passage to jump to


def test_the_page_says_what_is_highlighted_and_links_back_to_the_chat():
    page = render_document_page(DOC, 0, 5)
    assert load_labels().document_page.intro in page
    assert {"href": "./"} in read_page(page).links
    assert '<html lang="en">' in page and "<main>" in page and "<h1>" in page
    assert "white-space: pre-wrap" in page and "max-width: 70ch" in page
    assert 'name="viewport"' in page


@pytest.mark.parametrize(
    ("reviewed", "words"), [(True, load_labels().chat.reviewed), (False, load_labels().chat.not_reviewed)]
)
def test_the_page_shows_the_title_the_source_and_whether_a_clinician_reviewed_it(reviewed, words):
    page = render_document_page(replace(DOC, reviewed=reviewed), 0, 0)
    assert html.escape(DOC.title) in page and DOC.title in read_page(page).title
    assert words in page
    source_link = {"href": "https://www.example.org/baclofen?lang=en&v=2", "rel": "noopener noreferrer"}
    assert source_link in read_page(page).links


@pytest.mark.parametrize(
    "source",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)//https://x",
        "data:text/html,<script>alert(1)</script>",
        "https://example.org/a b",  # more than a URL
        "Web article from https://example.org",
        "https://",
        "ftp://example.org/x",
        "//example.org/x",
        "https://[::1",
    ],
)
def test_only_a_plain_http_or_https_source_becomes_a_link(source):
    page = render_document_page(replace(DOC, source=source), 0, 0)
    assert read_page(page).links == [{"href": "./"}, {"href": "./"}]
    assert web_link(source) is None
    assert html.escape(source) in page


def test_markup_in_the_title_source_date_and_text_stays_inert_text():
    evil = f"{XSS_SCRIPT} {XSS_IMG} </mark></section><script>alert(5)</script>"
    document = replace(DOC, title=evil, source=evil, text=f"a {evil} b {evil} c", published=evil)
    start = document.text.index(evil)
    page = render_document_page(document, start, start + len(evil))
    lowered = page.lower()
    assert "<script" not in lowered and "<img" not in lowered
    assert set(read_page(page).tags) <= {
        "html", "head", "meta", "title", "style", "body", "main", "p", "a", "h1", "dl", "div", "dt", "dd",
        "span", "section", "mark",
    }  # fmt: skip
    seen = read_page(page)
    assert seen.marks == [evil] and seen.text == document.text and evil in seen.title


@pytest.mark.parametrize(("start", "end"), [(-1, 3), (5, 4), (0, len(TEXT) + 1), (len(TEXT) + 1, len(TEXT) + 1)])
def test_offsets_outside_the_text_are_refused(start, end):
    with pytest.raises(ValueError, match="outside"):
        render_document_page(DOC, start, end)


# --- the link --------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", ODD_IDS)
def test_the_link_carries_any_document_id_and_the_offsets_back_unchanged(doc_id):
    href = document_href(doc_id, 12, 40)
    parts = urlsplit(href)
    assert not href.startswith("/") and parts.scheme == "" and parts.netloc == ""
    assert parts.path == "document" and parts.fragment == "passage"
    query = QueryParams(parts.query)  # how the server (Starlette) reads it
    assert (query["doc"], query["start"], query["end"]) == (doc_id, "12", "40")
    assert len(query.getlist("doc")) == 1


def test_the_link_is_relative_so_it_works_under_a_path_prefix():
    href = document_href("a.txt", 1, 2)
    prefix = "https://example.org/tools/baclofen/"
    assert urljoin(prefix, href).startswith(prefix + "document?")


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("doc=nope.txt&start=0&end=1", 404, "no document with that name"),
        ("start=0&end=1", 400, "does not say which document"),
        ("doc=&start=0&end=1", 400, "does not say which document"),
        ("doc=d.txt&start=x&end=1", 400, "“start” must be a whole number"),
        ("doc=d.txt&start=1&end=2.5", 400, "“end” must be a whole number"),
        ("doc=d.txt&start=-1&end=2", 400, "“start” must be a whole number"),
        ("doc=d.txt&start=%2B1&end=2", 400, "“start” must be a whole number"),
        ("doc=d.txt&start=%201&end=2", 400, "“start” must be a whole number"),
        ("doc=d.txt&start=1_0&end=20", 400, "“start” must be a whole number"),
        ("doc=d.txt&start=%D9%A1&end=2", 400, "“start” must be a whole number"),  # an Arabic-Indic digit one
        ("doc=d.txt&start=1" + "0" * 5000 + "&end=2", 400, "“start” must be a whole number"),
        ("doc=d.txt&start=3&end=2", 400, personalise(load_labels().document_page.link_backwards, start="3", end="2")),
        ("doc=d.txt&start=0&end=11", 400, "the document has 10 characters"),
        ("doc=d.txt&doc=other.txt&start=0&end=1", 400, "gives “doc” 2 times"),
    ],
)
def test_a_link_that_cannot_be_shown_is_refused_with_a_sentence(query, status, words):
    documents = {"d.txt": replace(DOC, doc_id="d.txt", text="0123456789")}
    with pytest.raises(PageProblem) as caught:
        read_link(QueryParams(query), documents)
    assert caught.value.status == status
    assert words in caught.value.sentence


def test_a_link_without_offsets_shows_the_whole_document():
    assert read_link(QueryParams("doc=d.txt"), {"d.txt": DOC}) == (DOC, 0, 0)


# --- a real Gradio server --------------------------------------------------------------------------


class DocumentStub(StubAssistant):
    """The stub assistant with documents that have text, odd ids and hostile markup."""

    @property
    def documents(self) -> tuple[Document, ...]:
        documents = [replace(DOC, doc_id=doc_id) for doc_id in ODD_IDS]
        documents.append(replace(DOC, doc_id="evil.txt", title=XSS_SCRIPT, text=f"x {XSS_SCRIPT} {XSS_IMG} y"))
        return tuple(documents)


@pytest.fixture(scope="module")
def document_server():
    server, demo = start_server(DocumentStub(), Settings())
    yield server
    demo.close()


@pytest.fixture(scope="module")
def login_document_server():
    server, demo = start_server(DocumentStub(), Settings(auth_user="nurse", auth_password="s3cret-doc"))
    yield server, demo.app.cookie_id
    demo.close()


def get(url: str, client: httpx.Client | None = None) -> httpx.Response:
    return (client or httpx).get(url, timeout=30, follow_redirects=False)


@pytest.mark.slow
@pytest.mark.parametrize("doc_id", ODD_IDS)
def test_the_server_shows_each_document_with_the_passage_marked(document_server, doc_id):
    start = TEXT.index(QUOTE)
    response = get(urljoin(document_server.url, document_href(doc_id, start, start + len(QUOTE))))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    seen = read_page(response.text)
    assert seen.marks == [QUOTE] and seen.text == TEXT and seen.mark_ids == ["passage"]


@pytest.mark.slow
def test_the_page_is_served_with_headers_that_forbid_scripts_sniffing_and_referrers(document_server):
    response = get(urljoin(document_server.url, document_href("evil.txt", 2, 27)))
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY and "script-src" not in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in response.text.lower() and "<img" not in response.text.lower()
    assert read_page(response.text).marks == [XSS_SCRIPT]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("doc=unknown.txt&start=0&end=1", 404, "no document with that name"),
        ("doc=evil.txt&start=abc&end=1", 400, "must be a whole number"),
        ("doc=evil.txt&start=-5&end=1", 400, "must be a whole number"),
        ("doc=evil.txt&start=4&end=2", 400, "before it starts"),
        ("doc=evil.txt&start=0&end=100000", 400, "characters"),
    ],
)
def test_the_server_answers_a_bad_link_with_a_page_and_a_sentence(document_server, query, status, words):
    response = get(urljoin(document_server.url, f"document?{query}"))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert words in html.unescape(response.text)
    assert "Traceback" not in response.text and {"href": "./"} in read_page(response.text).links


@pytest.mark.slow
def test_the_web_guard_still_stands_in_front_of_the_server(document_server):
    upload = urljoin(document_server.url, "gradio_api/upload")
    response = httpx.post(upload, files={"files": ("a.txt", b"x")}, timeout=30)
    assert response.status_code == 403


@pytest.mark.slow
def test_with_a_login_a_stranger_gets_no_document_and_a_logged_in_user_gets_the_page(login_document_server):
    server, cookie_id = login_document_server
    url = urljoin(server.url, document_href("evil.txt", 2, 27))
    stranger = get(url)
    assert stranger.status_code == 401
    assert "alert" not in stranger.text and "Log in" in stranger.text  # the title and text both hold alert(2)

    with httpx.Client() as wrong:
        assert wrong.post(urljoin(server.url, "login"), data={"username": "nurse", "password": "no"}).status_code != 200
        assert get(url, wrong).status_code == 401
    forged_cookies = {f"access-token-{cookie_id}": "forged", f"access-token-unsecure-{cookie_id}": "forged"}
    forged = get(url, httpx.Client(cookies=forged_cookies))
    assert forged.status_code == 401

    with httpx.Client() as user:
        login = user.post(urljoin(server.url, "login"), data={"username": "nurse", "password": "s3cret-doc"})
        assert login.status_code == 200
        page = get(url, user)
        assert page.status_code == 200
        assert read_page(page.text).marks == [XSS_SCRIPT]
        bad = get(urljoin(server.url, "document?doc=nope"), user)
        assert bad.status_code == 404


# --- the real engine -------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_passage_of_a_real_answer_opens_its_document_with_exactly_the_quote_marked(real_assistant, real_server):
    answer = real_assistant.answer("what are the side effects?")
    assert answer.passages, "expected quotations for the side effects"
    documents = {d.doc_id: d for d in real_assistant.documents}
    for passage in answer.passages:
        document = documents[passage.doc_id]
        assert document.text[passage.start : passage.end] == passage.text
        response = get(urljoin(real_server.url, document_href(passage.doc_id, passage.start, passage.end)))
        assert response.status_code == 200, response.text
        seen = read_page(response.text)
        assert seen.marks == [passage.text]
        assert seen.text == document.text


# --- in a browser ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize(
    ("width", "height", "scheme"), [(390, 844, "light"), (390, 844, "dark"), (1280, 900, "light")], ids=str
)
def test_in_a_browser_without_javascript_the_passage_is_in_view_on_load_and_nothing_scrolls_sideways(
    browser, real_assistant, real_server, width, height, scheme
):
    from axe_playwright_python.sync_playwright import Axe

    from tests.conftest_ui import SCREENSHOTS

    answer = real_assistant.answer("what are the side effects?")
    # The quote furthest into its document: the page must scroll there by itself.
    passage = max(answer.passages, key=lambda p: p.start)
    url = urljoin(real_server.url, document_href(passage.doc_id, passage.start, passage.end))
    context = browser.new_context(
        viewport={"width": width, "height": height}, java_script_enabled=False, color_scheme=scheme
    )
    try:
        page = context.new_page()
        page.goto(url)
        mark = page.locator("mark#passage")
        assert mark.inner_text() == passage.text
        box = mark.bounding_box()
        assert box is not None and 0 <= box["y"] < height, f"the passage is not on the screen on load: {box}"
        assert page.evaluate("window.scrollY") > 0 or box["y"] + box["height"] <= height
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"document-page-{width}-{scheme}.png"))
    finally:
        context.close()

    # axe-core is injected by the test driver (the page itself allows no script).
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(url)
        violations = Axe().run(page).response["violations"]
        serious = [(v["id"], v["impact"], v["help"]) for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == []
    finally:
        context.close()
