"""Files -> Documents. Reads .txt, .md, .html and .pdf from a corpus folder.

Each document may have a sidecar `<file name>.meta.json` with `title`, `source`, `kind`
(label / leaflet / article / general / other), `medicines` (the lower-case generic names it is
about), `reviewed`, `published`, `licence` and `notes`; the sidecar never changes the document's
text. Without `medicines`, the index build detects them (assistant/medicines.py). A file that cannot be
read is reported by name and skipped; a folder with no readable document is an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

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
HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
HTML_BLOCKS = {
    "p", "div", "section", "article", "main", "blockquote", "pre", "address", "figure", "figcaption",
    "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "dt", "dd", "table", "tr", "br", "hr", "li",
}


@dataclass(frozen=True, slots=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Corpus:
    """The readable documents of a corpus folder and the files that were skipped, with why."""

    root: Path
    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...]

    def by_id(self) -> dict[str, Document]:
        return {d.doc_id: d for d in self.documents}


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


def fingerprint_file(path: Path) -> str:
    """sha256 of the file's bytes, and of its sidecar's when there is one."""
    digest = hashlib.sha256(path.read_bytes())
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if sidecar.is_file():
        digest.update(b"\0sidecar\0" + sidecar.read_bytes())
    return digest.hexdigest()


def corpus_fingerprints(root: Path) -> dict[str, str]:
    """{doc_id: fingerprint} for every supported file, readable or not (a fixed file must trigger a rebuild)."""
    return {
        _doc_id(root, path): fingerprint_file(path)
        for path in corpus_files(root)
        if path.suffix.lower() in SUPPORTED_SUFFIXES
    }


def _doc_id(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def load_corpus(root: Path) -> Corpus:
    """Read every supported document under `root`.

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
            document = read_document(path, doc_id)
        except _UnreadableError as exc:
            log.warning("Skipping %s: %s", doc_id, exc)
            skipped.append(SkippedFile(doc_id, str(exc)))
            continue
        if not document.text.strip():
            skipped.append(SkippedFile(doc_id, "no text could be extracted"))
            continue
        documents.append(document)
    if not documents:
        detail = "; ".join(f"{s.path}: {s.reason}" for s in skipped) or "the folder has no files"
        raise EmptyCorpusError(
            f"No readable documents in {root} ({detail}). "
            f"Add .txt, .md, .html or .pdf files, or pass --corpus DIR."
        )
    return Corpus(root, tuple(documents), tuple(skipped))


class _UnreadableError(Exception):
    pass


def read_document(path: Path, doc_id: str) -> Document:
    """Read one file into a Document. Raises _UnreadableError with a reason a person understands."""
    suffix = path.suffix.lower()
    meta = _read_sidecar(path)
    try:
        if suffix in TEXT_SUFFIXES:
            text, found_title = _read_text_file(path)
        elif suffix in HTML_SUFFIXES:
            text, found_title = html_to_text(_decode(path.read_bytes()))
        else:
            text, found_title = _read_pdf(path)
    except OSError as exc:
        raise _UnreadableError(f"cannot be read ({exc.strerror or exc})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    title = str(meta.get("title") or found_title or path.stem.replace("-", " ").replace("_", " "))
    return Document(
        doc_id=doc_id,
        title=title.strip(),
        text=text,
        source=str(meta.get("source") or f"file {doc_id}"),
        reviewed=bool(meta.get("reviewed", False)),
        fingerprint=fingerprint_file(path),
        notes=str(meta.get("notes") or ""),
        kind=meta.get("kind") or "other",
        medicines=tuple(dict.fromkeys(m.strip().lower() for m in meta.get("medicines", ()) if m.strip())),
        published=str(meta.get("published") or ""),
        licence=str(meta.get("licence") or ""),
    )


def _read_sidecar(path: Path) -> dict:
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
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


def _read_text_file(path: Path) -> tuple[str, str]:
    text = _decode(path.read_bytes())
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first.lstrip("#").strip() if len(first) <= 200 else ""
    return text, title


def _read_pdf(path: Path) -> tuple[str, str]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:  # pragma: no cover - pypdf is a dependency
        raise _UnreadableError("PDF support needs pypdf: pip install pypdf") from None
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise _UnreadableError("is an encrypted PDF")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        title = ""
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise _UnreadableError(f"is not a readable PDF ({exc})") from None
    return "\n\n".join(p for p in pages if p), title


def html_to_text(html: str) -> tuple[str, str]:
    """Readable text of an HTML page, keeping its structure as lines, and the page title.

    Scripts, styles and navigation are dropped. Headings become Markdown heading lines ("## ..."), list
    items become "• item" lines, table rows become "cell | cell" lines, and paragraphs are
    separated by blank lines, so the chunker sees the same structure as in a text file.
    """
    from bs4 import BeautifulSoup, Comment, NavigableString, Tag

    soup = BeautifulSoup(html, "html.parser")
    title = ""
    if soup.title and soup.title.string:
        title = soup.title.string.strip()
    for tag in soup.find_all(HTML_DROP):
        tag.decompose()
    for tag in soup.find_all(attrs={"role": ["navigation", "banner", "contentinfo"]}):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    body = soup.body or soup
    h1 = body.find("h1")
    if not title and h1:
        title = h1.get_text(" ", strip=True)

    out: list[str] = []

    def emit_break(blank: bool = True) -> None:
        text = "".join(out)
        if not text:
            return
        want = "\n\n" if blank else "\n"
        trimmed = text.rstrip(" \t")
        if trimmed.endswith(want):
            return
        out[:] = [trimmed.rstrip("\n") + want]

    def walk(node) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                piece = re.sub(r"\s+", " ", str(child))
                if piece.strip() or ("".join(out[-1:]) and not "".join(out[-1:]).endswith((" ", "\n"))):
                    out.append(piece)
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name == "br":
                emit_break(blank=False)
            elif name == "li":
                emit_break(blank=False)
                out.append("• ")
                walk(child)
                emit_break(blank=False)
            elif name == "tr":
                emit_break(blank=False)
                cells = [c.get_text(" ", strip=True) for c in child.find_all(["td", "th"])]
                out.append(" | ".join(cells))
                emit_break(blank=False)
            elif name in HTML_HEADINGS:
                # Marked as a Markdown heading, so the chunker knows it from the tag, not by guessing.
                emit_break()
                out.append("#" * int(name[1]) + " ")
                walk(child)
                emit_break()
            elif name in ("ul", "ol", "table"):
                emit_break()
                walk(child)
                emit_break()
            elif name in HTML_BLOCKS:
                emit_break()
                walk(child)
                emit_break()
            else:
                walk(child)

    walk(body)
    lines = [line.strip(" \t") for line in "".join(out).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text + "\n", title
