"""Text -> structural blocks -> sentence-aligned chunks, with exact character offsets.

The verbatim guarantee lives here: every chunk is `document.text[start:end]`, never a
re-joined or cleaned string. Structure is recognised from the plain text so that the same
code serves .txt, .md, and the text extracted from HTML and PDF:

- headings: a short line standing alone, optionally numbered ("  1. Baclofen as a ..."),
  or a Markdown "# heading"; they name the section of the chunks below them and are not
  indexed themselves (a heading alone answers nothing);
- lists: bullet items ("•", "-", "*", "1.") stay together with the sentence that introduces
  them ("Common side effects include:"), so a list question gets the whole list;
- tables: Markdown/tab rows, or a header line followed by rows, stay together;
- paragraphs: the rest, split into sentences.

Site boilerplate ("See also ..." cross-links, trailing "source" link texts) is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.records import Block, Chunk

# The version of what this module produces (blocks, sections, chunk boundaries, sentence spans) and of
# what is searched for a chunk (`Chunk.search_text`): an index built by another version is rebuilt
# (store.py writes it into the manifest). Bump it with any change to either; then record the new
# digest in tests/data/chunker_digest.json (tests/reliability/test_engine.py fails until both agree).
CHUNKER_VERSION = 4

BULLET_RE = re.compile(r"[ \t]*(?:[•·◦▪●○■□‣⁃\-*+–]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])[ \t\u00a0]+\S")
NUMBERED_HEADING_RE = re.compile(r"\d{1,3}(?:\.\d{1,3})*\.?[ \t\u00a0]+(?=\S)")
MARKDOWN_HEADING_RE = re.compile(r"#{1,6}[ \t]+\S")
TABLE_ROW_RE = re.compile(r".*(?:\|.*\||\t\S.*\t)")
BOILERPLATE_LINE_RE = re.compile(
    r"[ \t\u00a0]*(?:see also\b|related:|read more\b|share this\b|advertisement\b|skip to (?:main )?content\b|"
    r"[-=_*]{3,}[ \t]*$)",
    re.IGNORECASE,
)
# Link texts that a web page leaves at the end of a paragraph ("... treatment option. source").
TRAILING_LINK_RE = re.compile(
    r"(?<=[.!?)\]”\"])[ \t\u00a0]+(?:source|\[source\]|read more|link)[ \t\u00a0]*$", re.IGNORECASE
)

SENTENCE_END_CHARS = ".!?"
CLOSERS = "\"'”’)]»"
# Words after which a full stop does not end a sentence.
ABBREVIATIONS = frozenset(
    "e.g i.e etc vs dr mr mrs ms prof st no fig approx incl al dept u.s u.k jan feb mar apr jun jul aug sep sept oct nov dec mg ml".split()
)
HEADING_MAX_CHARS = 100
HEADING_MAX_WORDS = 16
QUESTION_HEADING_MAX_WORDS = 14


@dataclass(frozen=True, slots=True)
class _Line:
    start: int  # offset of the first non-blank character
    end: int  # offset after the last non-blank character
    raw_start: int  # offset of the line's first character

    def text(self, doc: str) -> str:
        return doc[self.start : self.end]


def _lines(text: str) -> list[_Line | None]:
    """Lines of `text` with trimmed offsets; None for a blank line."""
    out: list[_Line | None] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
        stripped_left = len(body) - len(body.lstrip())
        stripped_right = len(body.rstrip())
        if stripped_right <= stripped_left:
            out.append(None)
        else:
            out.append(_Line(pos + stripped_left, pos + stripped_right, pos))
        pos += len(raw)
    return out


def _is_question_heading(line: str) -> bool:
    """A short question standing as a title, as leaflets use them: "How does baclofen work?"."""
    body = line.lstrip("#").strip()
    return (
        body.endswith("?")
        and len(body) <= HEADING_MAX_CHARS
        and len(body.split()) <= QUESTION_HEADING_MAX_WORDS
        and (body[0].isupper() or body[0].isdigit())
        and not re.search(r"[.!?][\s\u00a0]+\S", body)
        and not BULLET_RE.match(line)
    )


def _opens_group(line: str) -> bool:
    """A heading on the first line of a block of lines (no blank line after it): Markdown or a question."""
    return bool(MARKDOWN_HEADING_RE.match(line)) or _is_question_heading(line)


def _is_heading_line(line: str) -> bool:
    if MARKDOWN_HEADING_RE.match(line) or _is_question_heading(line):
        return True
    if len(line) > HEADING_MAX_CHARS or len(line.split()) > HEADING_MAX_WORDS:
        return False
    if line[-1] in SENTENCE_END_CHARS + ":;," or line.startswith(("•", "-", "*", "|")):
        return False
    body = NUMBERED_HEADING_RE.sub("", line, count=1) if NUMBERED_HEADING_RE.match(line) else line
    if not body or re.search(r"[.!?][\s\u00a0]+\S", body):
        return False  # a full sentence inside: prose, not a title
    return any(ch.isalpha() for ch in body) and (body[0].isupper() or body[0].isdigit())


def _ends_sentence(line: str) -> bool:
    return line.rstrip(CLOSERS)[-1:] in SENTENCE_END_CHARS + ":" if line.rstrip(CLOSERS) else False


def _looks_hard_wrapped(lines: list[str]) -> bool:
    """Lines of a re-flowed paragraph (PDF, wrapped .txt) have similar, moderate lengths."""
    if len(lines) < 2:
        return False
    return all(40 <= len(x) <= 110 for x in lines[:-1]) and not all(_ends_sentence(x) for x in lines[:-1])


def _is_table(lines: list[str]) -> bool:
    if len(lines) >= 2 and sum(bool(TABLE_ROW_RE.match(x)) for x in lines) >= len(lines) - 1:
        return True
    # A plain-text table as web pages leave it: a short header with no punctuation, then rows.
    header = lines[0]
    if any(BULLET_RE.match(x) for x in lines):
        return False
    return (
        len(lines) >= 3
        and len(header) <= 80
        and not _ends_sentence(header)
        and len(header.split()) <= 10
        and all(len(x) <= 300 for x in lines[1:])
    )


def find_blocks(text: str) -> list[Block]:
    """Split a document into headings, paragraphs, lists and tables with exact offsets."""
    blocks: list[Block] = []
    section = ""
    groups: list[list[_Line]] = []
    current: list[_Line] = []
    for line in _lines(text):
        if line is None:
            if current:
                groups.append(current)
                current = []
        else:
            current.append(line)
    if current:
        groups.append(current)

    for group in groups:
        kept: list[_Line] = []
        for line in group:
            if BOILERPLATE_LINE_RE.match(text[line.raw_start : line.end]):
                blocks.append(Block("boilerplate", line.start, line.end, section))
            else:
                kept.append(line)
        if not kept:
            continue
        strings = [ln.text(text) for ln in kept]
        if len(kept) == 1 and _is_heading_line(strings[0]):
            section = strings[0].lstrip("#").strip()
            blocks.append(Block("heading", kept[0].start, kept[0].end, section))
            continue
        if len(kept) > 1 and _opens_group(strings[0]):
            # "How does it work?" directly above its answer (web pages and FAQs): a heading all the same.
            section = strings[0].lstrip("#").strip()
            blocks.append(Block("heading", kept[0].start, kept[0].end, section))
            kept, strings = kept[1:], strings[1:]
        if _is_table(strings):
            blocks.append(Block("table", kept[0].start, kept[-1].end, section))
            continue
        # Runs of bullet lines form lists; other lines form paragraphs.
        run_kind = ""
        run: list[_Line] = []

        def flush(run_kind: str, run: list[_Line], section: str) -> None:
            if run:
                blocks.append(Block(run_kind, run[0].start, run[-1].end, section))

        wrapped = _looks_hard_wrapped(strings)
        for line in kept:
            kind = "list" if BULLET_RE.match(text[line.raw_start : line.end]) else "paragraph"
            continues_list = (
                kind == "paragraph" and run_kind == "list" and line.start - line.raw_start > 0 and not wrapped
            )
            if continues_list:
                kind = "list"  # an indented continuation line of a bullet item
            new_block = kind != run_kind or (
                kind == "paragraph" and not wrapped and _ends_sentence(text[run[-1].start : run[-1].end])
            )
            if new_block:
                flush(run_kind, run, section)
                run_kind, run = kind, []
            run.append(line)
        flush(run_kind, run, section)
    return blocks


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of text[start:end] as (start, end) offsets into `text`, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    sent_start = start
    i = start
    while i < end:
        ch = text[i]
        boundary_end = -1
        if ch in SENTENCE_END_CHARS:
            j = i + 1
            while j < end and text[j] in SENTENCE_END_CHARS + CLOSERS:
                j += 1
            if j >= end or text[j].isspace():
                k = j
                while k < end and text[k].isspace():
                    k += 1
                if (k >= end or _starts_sentence(text[k])) and (ch != "." or not _is_abbreviation(text, sent_start, i)):
                    boundary_end = j
            i = j
        elif ch == "\n":
            # A line break before a bullet or after a colon ends a sentence too.
            k = i + 1
            while k < end and text[k] in " \t\u00a0":
                k += 1
            prev = text[sent_start:i].rstrip()
            if k < end and (BULLET_RE.match(text, k) or prev.endswith(":") or text[k] == "\n"):
                boundary_end = i
            i += 1
        else:
            i += 1
        if boundary_end > 0:
            _append_trimmed(text, sent_start, boundary_end, spans)
            sent_start = boundary_end
    _append_trimmed(text, sent_start, end, spans)
    return spans


def _starts_sentence(ch: str) -> bool:
    return ch.isupper() or ch.isdigit() or ch in "\"'“‘([•·-*" or not ch.isascii() and not ch.islower()


def _is_abbreviation(text: str, sent_start: int, dot: int) -> bool:
    word_start = dot
    while word_start > sent_start and not text[word_start - 1].isspace() and text[word_start - 1] not in "(":
        word_start -= 1
    word = text[word_start:dot].lower()
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def _units(text: str, block: Block) -> list[tuple[int, int]]:
    """The pieces a block may be cut between: sentences, list items or table rows."""
    if block.kind == "paragraph":
        end = block.end
        trailing = TRAILING_LINK_RE.search(text, block.start, end)
        if trailing and trailing.start() > block.start:
            end = trailing.start()
        return split_sentences(text, block.start, end)
    units: list[tuple[int, int]] = []
    for line in _lines(text[block.start : block.end]):
        if line is None:
            continue
        line_start, line_end = block.start + line.start, block.start + line.end
        is_new_item = block.kind == "table" or BULLET_RE.match(text, block.start + line.raw_start) or not units
        if is_new_item:
            units.append((line_start, line_end))
        else:
            units[-1] = (units[-1][0], line_end)  # continuation of the previous item
    return units


def _merge_list_intros(text: str, blocks: list[Block]) -> list[Block]:
    """Attach a paragraph ending in ':' to the list or table right after it ("Side effects include:")."""
    merged: list[Block] = []
    for block in blocks:
        if block.kind == "heading" and merged and _is_dangling_intro(text, merged[-1]):
            merged.pop()  # "Here are some key points:" followed by a heading introduces nothing
        if block.kind == "boilerplate" or block.kind == "heading":
            merged.append(block)
            continue
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and prev.kind == "paragraph"
            and block.kind in ("list", "table")
            and text[prev.start : prev.end].rstrip().endswith(":")
        ):
            merged[-1] = Block(block.kind, prev.start, block.end, block.section)
        else:
            merged.append(block)
    return merged


def _is_dangling_intro(text: str, block: Block) -> bool:
    return (
        block.kind == "paragraph"
        and text[block.start : block.end].rstrip().endswith(":")
        and block.end - block.start < 120
    )


def chunk_text(
    text: str,
    doc_id: str,
    *,
    max_chars: int = 500,
    overlap_sentences: int = 0,
) -> list[Chunk]:
    """Cut a document into sentence-aligned chunks of at most `max_chars` characters.

    A chunk never crosses a block (paragraph, list, table) boundary, so a chunk is always
    something a person can read as a unit; one sentence longer than `max_chars` stays whole.

    Returns chunks in document order; `text[c.start:c.end] == c.text` for every chunk.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars ({max_chars}) must be positive")
    if overlap_sentences < 0:
        raise ValueError(f"overlap_sentences ({overlap_sentences}) must not be negative")
    chunks: list[Chunk] = []
    for block in _merge_list_intros(text, find_blocks(text)):
        if block.kind in ("heading", "boilerplate"):
            continue
        units = _units(text, block) if block.kind == "paragraph" else _block_units(text, block)
        for group in _pack(units, max_chars, overlap_sentences):
            start, end = group[0][0], group[-1][1]
            chunks.append(
                Chunk(
                    chunk_id=f"{doc_id}#{len(chunks)}",
                    doc_id=doc_id,
                    text=text[start:end],
                    start=start,
                    end=end,
                    section=block.section,
                    kind=block.kind,
                    sentences=tuple(group),
                )
            )
    return chunks


def _block_units(text: str, block: Block) -> list[tuple[int, int]]:
    """Units of a list or table block; an intro paragraph merged in front is split into sentences."""
    first_item = None
    for line in _lines(text[block.start : block.end]):
        if line is None:
            continue
        absolute = block.start + line.raw_start
        if block.kind == "list" and BULLET_RE.match(text, absolute):
            first_item = block.start + line.start
            break
    if block.kind == "table":
        intro_end = _table_start(text, block)
        first_item = intro_end
    if first_item is None or first_item == block.start:
        return _units(text, block)
    intro = split_sentences(text, block.start, first_item)
    return intro + _units(text, Block(block.kind, first_item, block.end, block.section))


def _table_start(text: str, block: Block) -> int:
    """Where the table itself starts inside a block that may begin with an intro paragraph."""
    for line in _lines(text[block.start : block.end]):
        if line is None:
            continue
        candidate = block.start + line.start
        if not text[block.start : candidate].strip():
            continue
        previous = text[block.start : candidate].rstrip()
        if previous.endswith(":"):
            return candidate
    return block.start


def _pack(units: list[tuple[int, int]], max_chars: int, overlap: int) -> list[list[tuple[int, int]]]:
    """Greedily group consecutive units while the span stays within max_chars."""
    groups: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    for unit in units:
        if current and unit[1] - current[0][0] > max_chars:
            groups.append(current)
            carried = current[-overlap:] if overlap else []
            # Carry overlap only while it still leaves room for the new unit.
            while carried and unit[1] - carried[0][0] > max_chars:
                carried = carried[1:]
            current = list(carried)
        current.append(unit)
    if current:
        groups.append(current)
    return groups
