"""Answer records -> the HTML shown in the chat. Pure functions, no Gradio.

Every piece of user or corpus text goes through `text_to_html` (html.escape, then line
breaks), and the chat shows messages with Markdown rendering switched off, so a question or a
document holding `<img onerror=...>`, `<script>` or `[x](javascript:...)` is displayed as the
literal characters and never becomes an element or a link. The only tags in a reply are
the fixed ones written below.

Display order (SAFETY.md sections 2-3): urgent banners (RED, CRISIS, POISON), cautions
(AMBER, INFO), the plain message ("not found", help), the quotations, the disclaimer, then
the reply's actions (copy). Under an urgent banner with nothing quoted, the banner stands alone.

Links are made only from configuration and fixed wording, never from corpus or user text: the
configured emergency, poison and crisis numbers become `tel:` links, and web addresses in the
safety wording (findahelpline.com) become links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from assistant.records import LEVEL_ORDER, Answer, Document, Level, Notice, Passage
from assistant.safety import load_labels, personalise
from ui.document_page import document_href, web_link

# Every word shown here that is not user or corpus text (banner labels, the "unverified" marker, the plain
# "not found" reply, the [chat] words) comes from wording.toml (assistant.safety.load_labels), the one copy
# the terminal and the tests read too.
KINDS = ("answer", "not_found", "help", "emergency_only")
# In a [chat] sentence shown as HTML: **bold** and ==highlighted== (as an answer's best sentence).
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HIGHLIGHTED = re.compile(r"==(.+?)==")

# A phone number as people write one: digits with spaces, dashes, dots, brackets, an optional "+".
_PHONE = re.compile(r"^\+?\(?[0-9][0-9 ().-]*[0-9]$|^[0-9]$")
# A web address in fixed safety wording: "findahelpline.com", "https://www.samaritans.org/...".
_WEB_ADDRESS = re.compile(r"(?<![@\w.])(?:https?://)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/[\w./?=%-]*)?(?![\w@])", re.I)


@dataclass(frozen=True, slots=True)
class Contacts:
    """The configured help numbers (Settings.emergency_number, poison_line, crisis_line), made
    tappable wherever the safety wording shows them."""

    numbers: tuple[str, ...] = ()

    @classmethod
    def of(cls, *values: str) -> Contacts:
        return cls(tuple(dict.fromkeys(v.strip() for v in values if v and _PHONE.match(v.strip()))))

    def linkify(self, escaped: str, *, web_addresses: bool = True) -> str:
        """Escaped text with each configured number as a tel: link and (unless `web_addresses` is
        False, for text that may carry a user's words) each web address as a link."""
        for number in sorted(self.numbers, key=len, reverse=True):
            dial = re.sub(r"[^0-9+]", "", number)
            pattern = re.compile(r"(?<![\w+>])" + re.escape(html.escape(number)) + r"(?![\w<])")
            link = f'<a class="bq-tel" href="tel:{dial}">{html.escape(number)}</a>'
            # A function, not a template, so that nothing in the link is read as \1; sub() calls it at once.
            escaped = pattern.sub(lambda _: link, escaped)  # noqa: B023
        return _WEB_ADDRESS.sub(_web_link, escaped) if web_addresses else escaped


def _web_link(match: re.Match[str]) -> str:
    address = match.group(0)
    href = address if address.lower().startswith(("http://", "https://")) else f"https://{address}"
    return f'<a class="bq-web" href="{href}" target="_blank" rel="noopener noreferrer">{address}</a>'


def text_to_html(text: str) -> str:
    """Text shown as text: every character escaped, line breaks kept as <br>."""
    escaped = html.escape(text, quote=True)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def words_to_html(template: str, medicine: str = "", **html_values: str) -> str:
    """A wording.toml [chat] sentence as HTML: its text escaped, **x** bold, ==x== highlighted, then its
    placeholders filled: {medicine} with `medicine` (escaped), the others with `html_values` (already HTML,
    so they can hold links; placed after the markup so that nothing in them is read as markup)."""
    marked = _HIGHLIGHTED.sub(r"<mark>\1</mark>", _BOLD.sub(r"<strong>\1</strong>", text_to_html(template)))
    return personalise(marked, html.escape(medicine), **html_values)


def new_tab_note() -> str:
    """The words a screen reader hears after a link that opens a new tab."""
    return f'<span class="bq-sr-only"> {text_to_html(load_labels().chat.new_tab)}</span>'


def _level_rank(notice: Notice) -> int:
    try:
        return LEVEL_ORDER.index(notice.level)
    except ValueError:
        return len(LEVEL_ORDER)


def order_notices(notices: Iterable[Notice]) -> list[Notice]:
    """RED, then CRISIS, then POISON, then AMBER, then INFO; the engine's order within a level."""
    return sorted(notices, key=_level_rank)


def render_notice(notice: Notice, contacts: Contacts = Contacts()) -> str:
    labels = load_labels()
    level = notice.level if notice.level in labels.levels else Level.INFO
    label = text_to_html(labels.level(level))
    # role="alert" makes screen readers announce urgent banners as soon as they appear.
    role = ' role="alert"' if notice.urgent else ' role="note"'
    title = f'<strong class="bq-notice-title">{text_to_html(notice.title)}</strong> ' if notice.title else ""
    return (
        f'<div class="bq-notice bq-{level.lower()}"{role} data-level="{level}">'
        f'<span class="bq-label">{label}</span> '
        f"{title}"
        f'<span class="bq-notice-text">{contacts.linkify(text_to_html(notice.text))}</span>'
        "</div>"
    )


def _highlight_span(passage: Passage) -> tuple[int, int] | None:
    """The best sentence as a valid, proper part of the quote, or None."""
    start, end = passage.highlight_start, passage.highlight_end
    if not 0 <= start < end <= len(passage.text):
        return None
    if start == 0 and end == len(passage.text):
        return None  # marking the whole quote points at nothing in particular
    return start, end


def render_quote_text(passage: Passage) -> str:
    """The quote, escaped, with its best-matching sentence in <mark>; the characters are unchanged."""
    span = _highlight_span(passage)
    if span is None:
        return text_to_html(passage.text)
    start, end = span
    return (
        text_to_html(passage.text[:start])
        + f'<mark class="bq-best">{text_to_html(passage.text[start:end])}</mark>'
        + text_to_html(passage.text[end:])
    )


def render_passage(passage: Passage) -> str:
    section = ""
    if passage.section:
        shown = words_to_html(load_labels().chat.section, section=text_to_html(passage.section))
        section = f' <span class="bq-section">{shown}</span>'
    source = f"<strong>{text_to_html(passage.label)}</strong> <cite>{text_to_html(passage.source)}</cite>{section}"
    marker = load_labels().unverified
    unverified = "".join(
        f'<div class="bq-unverified">{text_to_html(marker(reason))}</div>' for reason in passage.unverified
    )
    # A new tab, so the conversation stays where it was.
    href = html.escape(document_href(passage.doc_id, passage.start, passage.end), quote=True)
    show = (
        f'<a class="bq-show" href="{href}" target="_blank" rel="noopener noreferrer">'
        f"{text_to_html(load_labels().chat.show_in_document)}{new_tab_note()}</a>"
    )
    return (
        '<div class="bq-passage">'
        f'<div class="bq-source">{source}</div>'
        f'<blockquote class="bq-quote">{render_quote_text(passage)}</blockquote>'
        f"{unverified}"
        f'<div class="bq-passage-links">{show}</div>'
        "</div>"
    )


def render_answer(answer: Answer, *, contacts: Contacts = Contacts(), full_disclaimer: bool = True) -> str:
    """The whole reply as one line of HTML, in the order SAFETY.md requires.

    `full_disclaimer` False shows the answer's short line instead (a chat shows the full one once).
    """
    kind = answer.kind if answer.kind in KINDS else "answer"
    parts = [render_notice(notice, contacts) for notice in order_notices(answer.notices)]
    # Shown only if the engine says "not found" without a message of its own; never under a banner.
    message = answer.message or (load_labels().not_found if kind == "not_found" and not answer.emergency else "")
    if message:
        # A "not found" message can repeat the user's words ("The documents are not about <x>").
        linked = contacts.linkify(text_to_html(message), web_addresses=False)
        parts.append(f'<p class="bq-message bq-{kind}">{linked}</p>')
    parts.extend(render_passage(passage) for passage in answer.passages)
    disclaimer = answer.disclaimer if full_disclaimer or not answer.short_disclaimer else answer.short_disclaimer
    if disclaimer:
        size = "full" if disclaimer == answer.disclaimer else "short"
        parts.append(f'<p class="bq-disclaimer bq-disclaimer-{size}">{text_to_html(disclaimer)}</p>')
    parts.append(
        '<div class="bq-actions">'
        f'<button type="button" class="bq-copy">{text_to_html(load_labels().chat.copy_answer)}</button>'
        '<span class="bq-copy-status" role="status"></span>'
        "</div>"
    )
    return f'<div class="bq-answer"{_reply_facts(answer, kind)}>{"".join(parts)}</div>'


def _reply_facts(answer: Answer, kind: str) -> str:
    """What a rating of this reply records (ui/feedback.py): its kind, banners and quotes, as attributes."""
    levels = " ".join(n.level for n in order_notices(answer.notices))
    quotes = " ".join(f"{quote(p.doc_id, safe='/')}:{p.start}-{p.end}" for p in answer.passages)
    return f' data-kind="{kind}" data-levels="{html.escape(levels)}" data-quotes="{html.escape(quotes)}"'


def render_error(message: str) -> str:
    """A reply that explains why a question was not sent (empty, too long)."""
    return f'<div class="bq-answer"><p class="bq-message bq-error">{text_to_html(message)}</p></div>'


def render_question(question: str) -> str:
    """The user's own words, shown as text."""
    return text_to_html(question)


def render_documents(documents: Iterable[Document]) -> str:
    """The "About the sources" panel: each document, where it comes from, whether it was reviewed,
    and a link to read it whole."""
    words = load_labels().chat
    items = []
    for document in documents:
        source = text_to_html(document.source)
        href = web_link(document.source)
        if href:
            source = f'<a href="{html.escape(href, quote=True)}" target="_blank" rel="noopener noreferrer">{source}</a>'
        status = words.reviewed if document.reviewed else words.not_reviewed
        reviewed = f'<span class="bq-{"reviewed" if document.reviewed else "unreviewed"}">{text_to_html(status)}</span>'
        # A sidecar's notes often restate the review status; it is said once, above.
        notes_text = document.notes.replace(status, "").strip()
        notes = f'<div class="bq-doc-notes">{text_to_html(notes_text)}</div>' if notes_text else ""
        read = html.escape(document_href(document.doc_id, 0, 0), quote=True)
        items.append(
            '<li class="bq-doc">'
            f'<div class="bq-doc-title"><cite>{text_to_html(document.title)}</cite></div>'
            f'<div class="bq-doc-source">{words_to_html(words.document_source, source=source)}</div>'
            f'<div class="bq-doc-review">{reviewed}</div>'
            f"{notes}"
            f'<div class="bq-doc-read"><a href="{read}" target="_blank" rel="noopener noreferrer">'
            f"{text_to_html(words.read_document)}{new_tab_note()}</a></div>"
            "</li>"
        )
    if not items:
        return f'<p class="bq-docs-empty">{text_to_html(words.no_documents)}</p>'
    return f'<ul class="bq-docs">{"".join(items)}</ul>'
