"""Answer records -> the HTML shown in the chat. Pure functions, no Gradio.

Every piece of user or corpus text goes through `text_to_html` (html.escape, then line
breaks), and the chat shows messages with Markdown rendering switched off, so a question or a
document holding `<img onerror=...>`, `<script>` or `[x](javascript:...)` is displayed as the
literal characters and never becomes an element or a link. The only tags in a reply are
the fixed ones written below.

Display order (SAFETY.md sections 2-3): urgent banners (RED, CRISIS, POISON), cautions
(AMBER, INFO), the plain message ("not found", help), the quotations, the disclaimer.
"""

from __future__ import annotations

import html
from typing import Iterable

from assistant.records import LEVEL_ORDER, Answer, Document, Notice, Passage

# The words in front of each banner, so that the level is stated in text, not only by colour.
LEVEL_LABELS = {
    "RED": "EMERGENCY",
    "CRISIS": "Urgent",
    "POISON": "Urgent",
    "AMBER": "Caution",
    "INFO": "Note",
}
UNVERIFIED_LABEL = "⚠ unverified:"
KINDS = ("answer", "not_found", "help", "emergency_only")
# Shown only if the engine abstains without a message of its own.
FALLBACK_NOT_FOUND = "The article doesn't cover this. Please ask your pharmacist or doctor."


def text_to_html(text: str) -> str:
    """Text shown as text: every character escaped, line breaks kept as <br>."""
    escaped = html.escape(text, quote=True)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def _level_rank(notice: Notice) -> int:
    try:
        return LEVEL_ORDER.index(notice.level)
    except ValueError:
        return len(LEVEL_ORDER)


def order_notices(notices: Iterable[Notice]) -> list[Notice]:
    """RED, then CRISIS, then POISON, then AMBER, then INFO; the engine's order within a level."""
    return sorted(notices, key=_level_rank)


def render_notice(notice: Notice) -> str:
    level = notice.level if notice.level in LEVEL_LABELS else "INFO"
    label = LEVEL_LABELS[level]
    # role="alert" makes screen readers announce urgent banners as soon as they appear.
    role = ' role="alert"' if notice.urgent else ' role="note"'
    title = f'<strong class="bq-notice-title">{text_to_html(notice.title)}</strong> ' if notice.title else ""
    return (
        f'<div class="bq-notice bq-{level.lower()}"{role} data-level="{level}">'
        f'<span class="bq-label">{label}</span> '
        f"{title}"
        f'<span class="bq-notice-text">{text_to_html(notice.text)}</span>'
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
        section = f' <span class="bq-section">· section “{text_to_html(passage.section)}”</span>'
    source = f"<strong>{text_to_html(passage.label)}</strong> <cite>{text_to_html(passage.source)}</cite>{section}"
    unverified = "".join(
        f'<div class="bq-unverified">{UNVERIFIED_LABEL} {text_to_html(reason)}</div>' for reason in passage.unverified
    )
    return (
        '<div class="bq-passage">'
        f'<div class="bq-source">{source}</div>'
        f'<blockquote class="bq-quote">{render_quote_text(passage)}</blockquote>'
        f"{unverified}"
        "</div>"
    )


def render_answer(answer: Answer) -> str:
    """The whole reply as one line of HTML, in the order SAFETY.md requires."""
    parts = [render_notice(notice) for notice in order_notices(answer.notices)]
    message = answer.message or (FALLBACK_NOT_FOUND if answer.abstained and not answer.passages else "")
    if message:
        kind = answer.kind if answer.kind in KINDS else "answer"
        parts.append(f'<p class="bq-message bq-{kind}">{text_to_html(message)}</p>')
    parts.extend(render_passage(passage) for passage in answer.passages)
    if answer.disclaimer:
        parts.append(f'<small class="bq-disclaimer">{text_to_html(answer.disclaimer)}</small>')
    return f'<div class="bq-answer">{"".join(parts)}</div>'


def render_error(message: str) -> str:
    """A reply that explains why a question was not sent (empty, too long)."""
    return f'<div class="bq-answer"><p class="bq-message bq-error">{text_to_html(message)}</p></div>'


def render_question(question: str) -> str:
    """The user's own words, shown as text."""
    return text_to_html(question)


def render_documents(documents: Iterable[Document]) -> str:
    """The "About the sources" panel: each document, where it comes from, and whether it was reviewed."""
    items = []
    for document in documents:
        source = text_to_html(document.source)
        if document.source.startswith(("https://", "http://")):
            href = html.escape(document.source, quote=True)
            source = f'<a href="{href}" target="_blank" rel="noopener noreferrer">{source}</a>'
        reviewed = (
            '<span class="bq-reviewed">Reviewed by a clinician.</span>'
            if document.reviewed
            else '<span class="bq-unreviewed">Not reviewed by a clinician.</span>'
        )
        notes = f'<div class="bq-doc-notes">{text_to_html(document.notes)}</div>' if document.notes else ""
        items.append(
            '<li class="bq-doc">'
            f'<div class="bq-doc-title"><cite>{text_to_html(document.title)}</cite></div>'
            f'<div class="bq-doc-source">Source: {source}</div>'
            f'<div class="bq-doc-review">{reviewed}</div>'
            f"{notes}"
            "</li>"
        )
    if not items:
        return '<p class="bq-docs-empty">No documents are loaded.</p>'
    return f'<ul class="bq-docs">{"".join(items)}</ul>'
