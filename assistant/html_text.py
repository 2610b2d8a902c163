"""HTML -> text with the page's structure as lines (headings, list items, table rows, paragraphs).

Split from ingest.py (which re-exports `html_to_text`). The tree is walked with an explicit stack and
page furniture is skipped rather than removed, so time is linear in the page size and no nesting depth
can exhaust Python's recursion limit; pages nested deeper than a limit are refused.
"""

from __future__ import annotations

import re

from assistant.config import DEFAULT_MAX_HTML_DEPTH

# HTML elements that are page furniture, not content.
HTML_DROP = (
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "button",
    "iframe",
    "svg",
    "template",
)
HTML_DROP_ROLES = ("navigation", "banner", "contentinfo")
HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
HTML_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "blockquote",
    "pre",
    "address",
    "figure",
    "figcaption",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "br",
    "hr",
    "li",
}


class HtmlTooDeepError(ValueError):
    """The page nests elements deeper than the limit (ingest skips the file with this reason)."""


def html_to_text(html: str, *, max_depth: int = DEFAULT_MAX_HTML_DEPTH) -> tuple[str, str]:
    """Readable text of an HTML page, keeping its structure as lines, and the page title.

    Scripts, styles and navigation are dropped. Headings become Markdown heading lines ("## ..."), list
    items become "• item" lines, table rows become "cell | cell" lines, and paragraphs are
    separated by blank lines, so the chunker sees the same structure as in a text file.

    The tree is walked with an explicit stack and dropped elements are skipped, not removed: time is
    linear in the page size and no nesting depth can exhaust Python's recursion limit.

    Raises:
        HtmlTooDeepError: the page nests elements deeper than `max_depth`.
    """
    from bs4 import BeautifulSoup, Tag

    too_deep = HtmlTooDeepError(f"is HTML nested deeper than {max_depth} levels (the limit max_html_depth)")
    try:
        soup = BeautifulSoup(html, "html.parser")
        title = ""
        if soup.title and soup.title.string:
            title = soup.title.string.strip()
    except RecursionError:
        raise too_deep from None
    body = soup.body or soup
    out = _TextBuilder()
    # Each entry: a node to visit with its depth, or a break to emit once a block's children are done.
    stack: list = [(child, 1) for child in reversed(body.contents)]
    while stack:
        node, depth = stack.pop()
        if node is _LINE_BREAK or node is _BLOCK_BREAK:
            out.emit_break(blank=node is _BLOCK_BREAK)
            continue
        if not isinstance(node, Tag):
            if _is_text(node):
                out.add_text(re.sub(r"\s+", " ", str(node)))
            continue
        if _is_dropped(node):
            continue
        if depth > max_depth:
            raise too_deep
        name = node.name
        children = [(child, depth + 1) for child in reversed(node.contents)]
        if name == "br":
            out.emit_break(blank=False)
        elif name == "li":
            out.emit_break(blank=False)
            out.add("• ")
            stack.append((_LINE_BREAK, depth))
            stack.extend(children)
        elif name == "tr":
            out.emit_break(blank=False)
            cells = [_visible_text(cell) for cell in _visible_tags(node, ("td", "th"))]
            out.add(" | ".join(cells))
            out.emit_break(blank=False)
        elif name in HTML_HEADINGS:
            # Marked as a Markdown heading, so the chunker knows it from the tag, not by guessing.
            out.emit_break()
            out.add("#" * int(name[1]) + " ")
            stack.append((_BLOCK_BREAK, depth))
            stack.extend(children)
        elif name in HTML_BLOCKS:
            out.emit_break()
            stack.append((_BLOCK_BREAK, depth))
            stack.extend(children)
        else:
            stack.extend(children)
    first_h1 = next(_visible_tags(body, ("h1",)), None) if not title else None
    if first_h1 is not None:
        title = _visible_text(first_h1)
    lines = [line.strip(" \t") for line in out.text().split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text + "\n", title


_LINE_BREAK = object()
_BLOCK_BREAK = object()


def _is_dropped(tag) -> bool:
    return tag.name in HTML_DROP or tag.get("role") in HTML_DROP_ROLES


def _is_text(node) -> bool:
    """Text a reader sees: not comments, doctypes, declarations or processing instructions."""
    from bs4 import CData, NavigableString
    from bs4.element import PreformattedString

    return isinstance(node, NavigableString) and (not isinstance(node, PreformattedString) or isinstance(node, CData))


def _visible_tags(tag, names: tuple[str, ...]):
    """Descendants of `tag` named `names`, in document order, outside dropped elements."""
    from bs4 import Tag

    stack = list(reversed(tag.contents))
    while stack:
        node = stack.pop()
        if isinstance(node, Tag) and not _is_dropped(node):
            if node.name in names:
                yield node
            stack.extend(reversed(node.contents))


def _visible_text(tag) -> str:
    """The words of `tag` outside dropped elements, joined by single spaces (get_text(" ", strip=True))."""
    from bs4 import Tag

    words, stack = [], list(reversed(tag.contents))
    while stack:
        node = stack.pop()
        if isinstance(node, Tag):
            if not _is_dropped(node):
                stack.extend(reversed(node.contents))
        elif _is_text(node) and str(node).strip():
            words.append(str(node).strip())
    return " ".join(words)


class _TextBuilder:
    """Text built from pieces, where a break looks only at the end (never re-joins everything so far)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, piece: str) -> None:
        self.parts.append(piece)

    def add_text(self, piece: str) -> None:
        # Whitespace-only text separates words, so it is kept only right after a word.
        last = self.parts[-1] if self.parts else ""
        if piece.strip() or (last and not last.endswith((" ", "\n"))):
            self.parts.append(piece)

    def _trim(self, chars: str) -> None:
        while self.parts:
            trimmed = self.parts[-1].rstrip(chars)
            if trimmed:
                self.parts[-1] = trimmed
                return
            self.parts.pop()

    def _ends_with(self, suffix: str) -> bool:
        tail = ""
        for part in reversed(self.parts):
            tail = part + tail
            if len(tail) >= len(suffix):
                break
        return tail.endswith(suffix)

    def emit_break(self, blank: bool = True) -> None:
        want = "\n\n" if blank else "\n"
        self._trim(" \t")
        if not self.parts or self._ends_with(want):
            return
        self._trim("\n")
        self.parts.append(want)

    def text(self) -> str:
        return "".join(self.parts)
