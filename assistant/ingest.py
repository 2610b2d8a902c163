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
from dataclasses import dataclass
from pathlib import Path

from assistant.config import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_HTML_DEPTH
from assistant.errors import CorpusError, EmptyCorpusError
from assistant.html_text import HtmlTooDeepError, html_to_text
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
            f"No readable documents in {root} ({detail}). Add .txt, .md, .html or .pdf files, or pass --corpus DIR."
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
            try:
                text, found_title = html_to_text(_decode(source.raw), max_depth=max_html_depth)
            except HtmlTooDeepError as exc:
                raise _UnreadableError(str(exc)) from None
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
