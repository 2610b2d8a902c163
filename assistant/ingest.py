"""Files -> Documents. Reads .txt, .md, .html and .pdf from a corpus folder.

Each document may have a sidecar `<file name>.meta.json` with `title`, `source`, `kind`
(label / leaflet / article / general / other), `medicines` (the lower-case generic names it is
about), `reviewed`, `published`, `licence` and `notes`; the sidecar never changes the document's
text. Without `medicines`, the index build detects them (assistant/medicines.py). A file that cannot be
used (no permission, vanished while the corpus was read, larger than `max_file_bytes`, HTML nested deeper
than `max_html_depth`, not text) is reported by name and reason and skipped; a folder with no readable
document is an error.

Each file is read once: its Document carries the fingerprint of exactly the bytes it was parsed from, so
an index records what it embedded, and a file changed after that read makes the index out of date.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.config import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_HTML_DEPTH
from assistant.errors import CorpusError, EmptyCorpusError
from assistant.records import DOCUMENT_KINDS, Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES
SIDECAR_SUFFIX = ".meta.json"
# Files that describe the folder (where its documents came from, their licences), not documents.
FOLDER_NOTES = frozenset({"SOURCES", "README", "LICENSE", "LICENCE"})
META_KEYS = {"title", "source", "reviewed", "notes", "kind", "medicines", "published", "licence"}

# HTML elements that are page furniture, not content.
HTML_DROP = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "button", "iframe", "svg", "template")
HTML_DROP_ROLES = ("navigation", "banner", "contentinfo")
HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
HTML_BLOCKS = {
    "p", "div", "section", "article", "main", "blockquote", "pre", "address", "figure", "figcaption",
    "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "dt", "dd", "table", "tr", "br", "hr", "li",
}


@dataclass(frozen=True, slots=True)
class SkippedFile:
    path: str
    reason: str
    # What the index records for the file, so that fixing it triggers a rebuild: the hash of the bytes
    # that were read, or a marker such as "too large (N bytes)". Empty: nothing recorded (an unsupported
    # type, or a file that vanished, which the next check sees as no file at all).
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Corpus:
    """The readable documents of a corpus folder and the files that were skipped, with why."""

    root: Path
    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...]

    def by_id(self) -> dict[str, Document]:
        return {d.doc_id: d for d in self.documents}

    def fingerprints(self) -> dict[str, str]:
        """{doc_id: fingerprint} of exactly what was read, skipped files included (what an index records)."""
        out = {s.path: s.fingerprint for s in self.skipped if s.fingerprint}
        out.update((d.doc_id, d.fingerprint) for d in self.documents)
        return dict(sorted(out.items()))


@dataclass(frozen=True, slots=True)
class SourceBytes:
    """A file's bytes and its sidecar's (None: no sidecar), read once, and the fingerprint of these bytes."""

    raw: bytes
    sidecar: bytes | None
    fingerprint: str


class _UnreadableError(Exception):
    """A file to skip; `fingerprint` is what the index records for it ("" for a file that vanished)."""

    def __init__(self, reason: str, fingerprint: str = "") -> None:
        super().__init__(reason)
        self.fingerprint = fingerprint


def corpus_files(root: Path) -> list[Path]:
    """Document files under `root` (recursively), sorted; hidden files and folders, sidecars and notes
    about the folder itself (SOURCES, README, LICENSE) excluded."""
    if not root.exists():
        raise CorpusError(f"Corpus folder {root} does not exist. Pass --corpus DIR with your documents.")
    if not root.is_dir():
        raise CorpusError(f"Corpus path {root} is not a folder. Pass --corpus DIR with your documents.")
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.name.endswith(SIDECAR_SUFFIX) or path.stem.upper() in FOLDER_NOTES:
            continue
        files.append(path)
    return files


def _fingerprint(raw: bytes, sidecar: bytes | None) -> str:
    digest = hashlib.sha256(raw)
    if sidecar is not None:
        digest.update(b"\0sidecar\0" + sidecar)
    return digest.hexdigest()


def read_source(path: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> SourceBytes:
    """Read a file and its sidecar, once each.

    Shared by ingest and the staleness check, so both give a file the same fingerprint.

    Raises:
        _UnreadableError: too large, vanished or unreadable, with the fingerprint to record.
    """
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            raise _UnreadableError(
                f"is too large ({size} bytes; the limit, max_file_bytes, is {max_file_bytes})",
                f"too large ({size} bytes)",
            )
        with open(path, "rb") as handle:
            raw = handle.read(max_file_bytes + 1)  # +1: the file may have grown since stat()
    except FileNotFoundError:
        raise _UnreadableError("vanished while the corpus was being read") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _UnreadableError(f"cannot be read ({reason})", f"unreadable ({reason})") from None
    if len(raw) > max_file_bytes:
        raise _UnreadableError(
            f"is too large (over {max_file_bytes} bytes, the limit max_file_bytes)", f"too large ({size} bytes)"
        )
    sidecar_path = path.with_name(path.name + SIDECAR_SUFFIX)
    try:
        sidecar = sidecar_path.read_bytes()
    except FileNotFoundError:
        sidecar = None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _UnreadableError(
            f"its metadata file {sidecar_path.name} cannot be read ({reason})",
            _fingerprint(raw, f"unreadable ({reason})".encode()),
        ) from None
    return SourceBytes(raw, sidecar, _fingerprint(raw, sidecar))


def fingerprint_file(path: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str | None:
    """sha256 of the file's bytes, and of its sidecar's when there is one; a marker for a file that is too
    large or cannot be read (so fixing it triggers a rebuild); None when the file no longer exists."""
    try:
        return read_source(path, max_file_bytes=max_file_bytes).fingerprint
    except _UnreadableError as exc:
        return exc.fingerprint or None


def corpus_fingerprints(root: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> dict[str, str]:
    """{doc_id: fingerprint} for every supported file, readable or not (a fixed file must trigger a rebuild)."""
    out = {}
    for path in corpus_files(root):
        if path.suffix.lower() in SUPPORTED_SUFFIXES:
            fingerprint = fingerprint_file(path, max_file_bytes=max_file_bytes)
            if fingerprint is not None:
                out[_doc_id(root, path)] = fingerprint
    return dict(sorted(out.items()))


def _doc_id(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def load_corpus(
    root: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, max_html_depth: int = DEFAULT_MAX_HTML_DEPTH
) -> Corpus:
    """Read every supported document under `root`; a file that cannot be used is skipped, with the reason.

    Raises:
        CorpusError: the folder does not exist.
        EmptyCorpusError: no file could be read.
    """
    root = Path(root)
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for path in corpus_files(root):
        doc_id = _doc_id(root, path)
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            skipped.append(SkippedFile(doc_id, f"unsupported file type {suffix or '(none)'}"))
            continue
        try:
            document = read_document(path, doc_id, max_file_bytes=max_file_bytes, max_html_depth=max_html_depth)
        except _UnreadableError as exc:
            log.warning("Skipping %s: %s", doc_id, exc)
            skipped.append(SkippedFile(doc_id, str(exc), exc.fingerprint))
            continue
        if not document.text.strip():
            skipped.append(SkippedFile(doc_id, "no text could be extracted", document.fingerprint))
            continue
        documents.append(document)
    if not documents:
        detail = "; ".join(f"{s.path}: {s.reason}" for s in skipped) or "the folder has no files"
        raise EmptyCorpusError(
            f"No readable documents in {root} ({detail}). "
            f"Add .txt, .md, .html or .pdf files, or pass --corpus DIR."
        )
    return Corpus(root, tuple(documents), tuple(skipped))


def read_document(
    path: Path,
    doc_id: str,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_html_depth: int = DEFAULT_MAX_HTML_DEPTH,
) -> Document:
    """Read one file into a Document. Raises _UnreadableError with a reason a person understands."""
    source = read_source(path, max_file_bytes=max_file_bytes)
    try:
        meta = _read_sidecar(path, source.sidecar)
        suffix = path.suffix.lower()
        if suffix in TEXT_SUFFIXES:
            text, found_title = _read_text_file(source.raw)
        elif suffix in HTML_SUFFIXES:
            text, found_title = html_to_text(_decode(source.raw), max_depth=max_html_depth)
        else:
            text, found_title = _read_pdf(source.raw)
    except _UnreadableError as exc:
        # Record the bytes that were read: fixing the file or its sidecar must trigger a rebuild.
        raise _UnreadableError(str(exc), source.fingerprint) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    title = str(meta.get("title") or found_title or path.stem.replace("-", " ").replace("_", " "))
    return Document(
        doc_id=doc_id,
        title=title.strip(),
        text=text,
        source=str(meta.get("source") or f"file {doc_id}"),
        reviewed=bool(meta.get("reviewed", False)),
        fingerprint=source.fingerprint,
        notes=str(meta.get("notes") or ""),
        kind=meta.get("kind") or "other",
        medicines=tuple(dict.fromkeys(m.strip().lower() for m in meta.get("medicines", ()) if m.strip())),
        published=str(meta.get("published") or ""),
        licence=str(meta.get("licence") or ""),
    )


def _read_sidecar(path: Path, raw: bytes | None) -> dict:
    if raw is None:
        return {}
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _UnreadableError(f"its metadata file {sidecar.name} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _UnreadableError(f"its metadata file {sidecar.name} must hold a JSON object")
    unknown = set(data) - META_KEYS
    if unknown:
        raise _UnreadableError(f"its metadata file {sidecar.name} has unknown keys: {', '.join(sorted(unknown))}")
    kind = data.get("kind")
    if kind is not None and kind not in DOCUMENT_KINDS:
        raise _UnreadableError(
            f"its metadata file {sidecar.name} has kind {kind!r}; use one of {', '.join(DOCUMENT_KINDS)}"
        )
    medicines = data.get("medicines")
    if medicines is not None and (
        not isinstance(medicines, list) or not all(isinstance(m, str) and m.strip() for m in medicines)
    ):
        raise _UnreadableError(f"its metadata file {sidecar.name}: medicines must be a list of names")
    return data


def _decode(raw: bytes) -> str:
    if b"\0" in raw[:4096]:
        raise _UnreadableError("looks like a binary file, not text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _UnreadableError("is not UTF-8 or Windows-1252 text")


def _read_text_file(raw: bytes) -> tuple[str, str]:
    text = _decode(raw)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first.lstrip("#").strip() if len(first) <= 200 else ""
    return text, title


def _read_pdf(raw: bytes) -> tuple[str, str]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:  # pragma: no cover - pypdf is a dependency
        raise _UnreadableError("PDF support needs pypdf: pip install pypdf") from None
    try:
        reader = PdfReader(io.BytesIO(raw))  # the bytes already read and fingerprinted, not the file again
        if reader.is_encrypted:
            raise _UnreadableError("is an encrypted PDF")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        title = ""
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title)
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise _UnreadableError(f"is not a readable PDF ({exc})") from None
    return "\n\n".join(p for p in pages if p), title




def html_to_text(html: str, *, max_depth: int = DEFAULT_MAX_HTML_DEPTH) -> tuple[str, str]:
    """Readable text of an HTML page, keeping its structure as lines, and the page title.

    Scripts, styles and navigation are dropped. Headings become Markdown heading lines ("## ..."), list
    items become "• item" lines, table rows become "cell | cell" lines, and paragraphs are
    separated by blank lines, so the chunker sees the same structure as in a text file.

    The tree is walked with an explicit stack and dropped elements are skipped, not removed: time is
    linear in the page size and no nesting depth can exhaust Python's recursion limit.

    Raises:
        _UnreadableError: the page nests elements deeper than `max_depth`.
    """
    from bs4 import BeautifulSoup, Tag

    too_deep = _UnreadableError(f"is HTML nested deeper than {max_depth} levels (the limit max_html_depth)")
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
