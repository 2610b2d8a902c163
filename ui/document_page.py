"""The "Show in document" page: one whole document, with the quoted passage highlighted (issue 11).

Each quote in the chat links to `document?doc=<id>&start=<n>&end=<n>#passage`. The page shows the
document's title, source and review status, then its full text with `text[start:end]` in
`<mark id="passage">`; the `#passage` fragment makes the browser scroll the mark into view on load,
so the page needs no script at all and works with JavaScript off.

The offsets are the engine's own (`Passage.start`, `Passage.end` index into `Document.text`), so
what is highlighted is exactly what was quoted, character for character.

Every piece of document text is escaped; the page is served with a Content-Security-Policy that
allows no script, no image, no frame and no form, so even a document full of markup stays text.

With a login set, the page is refused to strangers by Gradio's own login check (`login_check` and
`get_current_user`, the functions that guard its `/config` route), never by a check of our own.

The rendering functions are pure; `document_route` is the only part that touches Starlette.
"""

from __future__ import annotations

import html
import inspect
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from assistant.records import Document
from assistant.safety import load_labels, personalise

log = logging.getLogger(__name__)

DOCUMENT_PATH = "/document"
PASSAGE_ANCHOR = "passage"
# The page's words are wording.toml [document_page] (load_labels().document_page), the one copy tests read too.

# No script, image, font, frame, form or connection at all; only the page's own <style>.
# `default-src` does not cover base-uri, form-action or frame-ancestors: they are closed separately
# ('self' for frames, so the chat could one day show the page in a panel of its own).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # The query names a document and a passage; it is nobody else's business, not even the source's site.
    "Referrer-Policy": "no-referrer",
    # A document can change when the index is rebuilt; the page is cheap to make again.
    "Cache-Control": "no-store",
}

# Offsets are plain ASCII digits: int() would also take " 5", "+5", "1_0" and other scripts' digits,
# and nine digits is beyond any document this project indexes.
OFFSET_PATTERN = re.compile(r"[0-9]{1,9}")

# A route Gradio 6 guards with its login check; see `gradio_login_functions`.
GRADIO_GUARDED_ROUTE = "/config"

STYLE = """
:root { color-scheme: light dark; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #ffffff; color: #1a1a1a; line-height: 1.55; font-size: 1.05rem;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 70ch; margin: 0 auto; padding: 1rem 1rem 3rem; overflow-wrap: anywhere; }
h1 { font-size: 1.45rem; line-height: 1.3; margin: .5rem 0 .75rem; }
a { color: #0b57d0; }
.intro { background: #fff4c2; border-left: 4px solid #8a6d00; padding: .5rem .75rem; margin: 0 0 1rem; }
.facts { margin: 0 0 1.25rem; }
.facts div { margin: .15rem 0; }
.facts dt { display: inline; font-weight: 700; }
.facts dd { display: inline; margin: 0; }
.unreviewed { color: #8a4b00; font-weight: 700; }
.text { white-space: pre-wrap; border-top: 1px solid #9ca3af; padding-top: 1rem; }
/* scroll-margin: the #passage jump leaves some text above the quote, for context. */
mark { background: #ffe27a; color: #111111; box-shadow: 0 0 0 3px #ffe27a; scroll-margin-top: 25vh; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
@media (prefers-color-scheme: dark) {
  body { background: #121212; color: #e8e8e8; }
  a { color: #8ab4f8; }
  .intro { background: #3a3000; border-left-color: #ffe27a; }
  .unreviewed { color: #ffb74d; }
}
"""


def document_href(doc_id: str, start: int, end: int) -> str:
    """The relative URL of the page showing `doc_id` with `text[start:end]` highlighted.

    Relative (no leading slash), so it resolves next to the chat page, also behind a path prefix.
    start == end means no highlight (the whole document, no `#passage`). The `&` between parameters
    must still be escaped (`html.escape`) when the URL goes into an HTML attribute.
    """
    # safe="" encodes "/" too, so a doc id like "leaflets/a b.txt" stays one query value.
    query = urlencode({"doc": doc_id, "start": start, "end": end}, quote_via=quote, safe="")
    fragment = f"#{PASSAGE_ANCHOR}" if start < end else ""
    return f"{DOCUMENT_PATH.lstrip('/')}?{query}{fragment}"


def web_link(source: str) -> str | None:
    """`source` as an href if it is a plain http(s) URL (nothing else in it), else None."""
    candidate = source.strip()
    if not candidate or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _back_link() -> str:
    # "./" is the chat page, wherever the app is mounted (the page sits next to it).
    return f'<p><a href="./">{html.escape(load_labels().document_page.back_to_chat)}</a></p>'


def render_document_text(text: str, start: int, end: int) -> str:
    """The document text, escaped, with `text[start:end]` in `<mark id="passage">` when start < end.

    Raises:
        ValueError: the offsets are not 0 <= start <= end <= len(text).
    """
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"offsets {start}..{end} are outside a text of {len(text)} characters")
    if start == end:
        return html.escape(text)
    # Screen readers do not announce <mark>: the hidden words say where the quote starts and ends.
    words = load_labels().document_page
    return (
        f"{html.escape(text[:start])}"
        f'<span class="visually-hidden">{html.escape(words.passage_starts)} </span>'
        f'<mark id="{PASSAGE_ANCHOR}">{html.escape(text[start:end])}</mark>'
        f'<span class="visually-hidden"> {html.escape(words.passage_ends)}</span>'
        f"{html.escape(text[end:])}"
    )


def render_document_page(document: Document, start: int, end: int) -> str:
    """The whole page for one document with the passage `text[start:end]` highlighted.

    Raises:
        ValueError: the offsets are not 0 <= start <= end <= len(document.text).
    """
    labels = load_labels()
    words = labels.document_page
    text = render_document_text(document.text, start, end)
    link = web_link(document.source)
    source = html.escape(document.source) or html.escape(words.source_not_recorded)
    if link:
        source = f'<a href="{html.escape(link, quote=True)}" rel="noopener noreferrer">{source}</a>'
    reviewed = (
        html.escape(labels.chat.reviewed)
        if document.reviewed
        else f'<span class="unreviewed">{html.escape(labels.chat.not_reviewed)}</span>'
    )
    facts = [(words.source, source), (words.review, reviewed)]
    if document.published:
        facts.append((words.published, html.escape(document.published)))
    facts_html = "".join(f"<div><dt>{html.escape(name)}:</dt> <dd>{value}</dd></div>" for name, value in facts)
    intro = f'<p class="intro">{html.escape(words.intro)}</p>' if start < end else ""
    body = (
        f"{_back_link()}\n"
        f"<h1>{html.escape(document.title)}</h1>\n"
        f"{intro}\n"
        f'<dl class="facts">{facts_html}</dl>\n'
        f'<section class="text" aria-label="{html.escape(words.text_label, quote=True)}">{text}</section>\n'
        f"{_back_link()}"
    )
    return _page(personalise(words.title, title=document.title), body)


def render_problem_page(heading: str, sentence: str) -> str:
    """A short page for a link that cannot be shown: what went wrong, and the way back to the chat."""
    return _page(heading, f"<h1>{html.escape(heading)}</h1>\n<p>{html.escape(sentence)}</p>\n{_back_link()}")


class PageProblem(Exception):
    """A document link that cannot be shown; `status` and a sentence for the reader."""

    def __init__(self, status: int, heading: str, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status
        self.heading = heading
        self.sentence = sentence


def _one_value(query: Any, name: str) -> str | None:
    values = query.getlist(name)
    if len(values) > 1:
        words = load_labels().document_page
        sentence = personalise(words.link_repeated, name=name, count=str(len(values)))
        raise PageProblem(400, words.link_not_understood, sentence)
    return values[0] if values else None


def read_link(query: Any, documents: Mapping[str, Document]) -> tuple[Document, int, int]:
    """The document and offsets a link's query names (`doc`, `start`, `end`; a missing offset is 0).

    Raises:
        PageProblem: 400 for a missing doc or bad offsets, 404 for a document that is not loaded.
    """
    words = load_labels().document_page
    doc_id = _one_value(query, "doc")
    if not doc_id:
        raise PageProblem(400, words.link_not_understood, words.link_without_document)
    offsets = []
    for name in ("start", "end"):
        raw = _one_value(query, name)
        if raw is None or raw == "":
            offsets.append(0)
        elif OFFSET_PATTERN.fullmatch(raw):
            offsets.append(int(raw))
        else:
            raise PageProblem(400, words.link_not_understood, personalise(words.link_bad_offset, name=name))
    start, end = offsets
    document = documents.get(doc_id)
    if document is None:
        sentence = f"{words.document_not_found_text} {words.documents_changed}"
        raise PageProblem(404, words.document_not_found, sentence)
    if start > end:
        sentence = personalise(words.link_backwards, start=str(start), end=str(end))
        raise PageProblem(400, words.link_not_understood, sentence)
    if end > len(document.text):
        outside = personalise(words.passage_outside, start=str(start), end=str(end), length=str(len(document.text)))
        raise PageProblem(400, words.passage_not_in_document, f"{outside} {words.documents_changed}")
    return document, start, end


def gradio_login_functions(app: Any) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """Gradio's own `login_check` and `get_current_user`, or None if this Gradio does not have them.

    Both are closures inside `gradio.routes.App.create_app`, reachable only through the routes they
    guard: Gradio's `/config` route is declared with `dependencies=[Depends(login_check)]`, and
    `login_check(user: str = Depends(get_current_user))` names the function that reads the session
    cookie. The same pair decides whether a client may load the chat's configuration.
    """
    for route in getattr(app, "routes", ()):
        if getattr(route, "path", None) != GRADIO_GUARDED_ROUTE:
            continue
        for depends in getattr(route, "dependencies", ()):
            login_check = getattr(depends, "dependency", None)
            if not callable(login_check) or getattr(login_check, "__name__", "") != "login_check":
                continue
            try:
                user_parameter = inspect.signature(login_check).parameters["user"]
            except (KeyError, TypeError, ValueError):
                return None
            get_current_user = getattr(user_parameter.default, "dependency", None)
            if callable(get_current_user):
                return login_check, get_current_user
    return None


async def gradio_lets_in(request: Request) -> bool:
    """Whether Gradio's login check lets this request in (always, when no login is set).

    Fails closed: with a login set and Gradio's functions not found (a Gradio upgrade), nobody gets in
    and the server log says why.
    """
    app = request.app
    if getattr(app, "auth", None) is None and getattr(app, "auth_dependency", None) is None:
        return True
    functions = gradio_login_functions(app)
    if functions is None:
        log.error("Gradio's login check is not on its %s route: document pages are refused", GRADIO_GUARDED_ROUTE)
        return False
    login_check, get_current_user = functions
    user = get_current_user(request)
    if inspect.isawaitable(user):
        user = await user
    try:
        login_check(user)  # raises HTTPException(401) when a login is set and `user` is None
    except HTTPException:
        return False
    return True


def _html_response(status: int, page: str) -> HTMLResponse:
    return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)


def document_route(documents: Sequence[Document]) -> Route:
    """The GET /document route for the loaded documents, to pass to the app as `routes=[...]`.

    Gradio's `launch(app_kwargs={"routes": [...]})` hands the list to FastAPI, so the route exists
    before the server takes its first request, and ui/web_guard.py's middleware sits in front of it
    like every Gradio route.
    """
    by_id = {document.doc_id: document for document in documents}

    async def show_document(request: Request) -> HTMLResponse:
        if not await gradio_lets_in(request):
            return _html_response(
                401,
                render_problem_page(
                    load_labels().document_page.log_in_first, load_labels().document_page.log_in_first_text
                ),
            )
        try:
            document, start, end = read_link(request.query_params, by_id)
        except PageProblem as problem:
            return _html_response(problem.status, render_problem_page(problem.heading, problem.sentence))
        return _html_response(200, render_document_page(document, start, end))

    return Route(DOCUMENT_PATH, show_document, methods=["GET"], name="show_document")
