from __future__ import annotations

import json

import pytest

from assistant.errors import CorpusError, EmptyCorpusError
from assistant.html_text import html_to_text
from assistant.ingest import load_corpus
from tests.conftest import CORPUS, SEED_ARTICLE


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with `text` in Helvetica, with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_the_seed_article_is_read_unchanged_with_its_sidecar_metadata():
    corpus = load_corpus(CORPUS)
    (document,) = [d for d in corpus.documents if d.doc_id == "baclofen-article.txt"]
    assert document.text == SEED_ARTICLE.read_text(encoding="utf-8")
    assert document.title.startswith("What You Need to Know About Baclofen")
    assert document.reviewed is False
    assert "clinician" in document.notes
    assert corpus.skipped == ()


def test_txt_md_html_and_pdf_are_all_read(tmp_path):
    (tmp_path / "a.txt").write_text("Plain text about kidneys.\n")
    (tmp_path / "b.md").write_text("# Driving\n\nDo not drive.\n")
    (tmp_path / "c.html").write_text("<html><head><title>Page</title></head><body><p>Html body text.</p></body></html>")
    (tmp_path / "d.pdf").write_bytes(minimal_pdf("Pdf text about alcohol."))
    corpus = load_corpus(tmp_path)
    texts = {d.doc_id: d.text for d in corpus.documents}
    assert set(texts) == {"a.txt", "b.md", "c.html", "d.pdf"}
    assert "Pdf text about alcohol." in texts["d.pdf"]
    assert "Html body text." in texts["c.html"]
    titles = {d.doc_id: d.title for d in corpus.documents}
    assert titles["b.md"] == "Driving" and titles["c.html"] == "Page"


def test_html_scripts_styles_and_navigation_are_dropped():
    html = (
        "<html><head><title>T</title><style>p{}</style><script>alert('x')</script></head><body>"
        "<nav>Home | Shop</nav><h1>Baclofen</h1><p>Real <b>content</b>.</p>"
        "<ul><li>First item</li><li>Second item</li></ul>"
        "<table><tr><th>Study</th><th>Patients</th></tr><tr><td>A</td><td>500</td></tr></table>"
        "<footer>Copyright</footer></body></html>"
    )
    text, title = html_to_text(html)
    assert title == "T"
    assert "alert" not in text and "Home" not in text and "Copyright" not in text and "p{}" not in text
    assert "Baclofen\n\nReal content." in text
    assert "• First item\n• Second item" in text
    assert "Study | Patients\nA | 500" in text


def test_an_unreadable_file_is_reported_by_name_and_skipped(tmp_path):
    (tmp_path / "good.txt").write_text("Good text.\n")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02\x03")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    corpus = load_corpus(tmp_path)
    assert [d.doc_id for d in corpus.documents] == ["good.txt"]
    reasons = {s.path: s.reason for s in corpus.skipped}
    assert set(reasons) == {"broken.pdf", "binary.txt", "image.png"}
    assert (
        "PDF" in reasons["broken.pdf"] and "binary" in reasons["binary.txt"] and "unsupported" in reasons["image.png"]
    )


def test_an_empty_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(EmptyCorpusError, match="No readable documents"):
        load_corpus(tmp_path)


def test_a_corpus_of_only_unreadable_files_names_them(tmp_path):
    (tmp_path / "broken.pdf").write_bytes(b"not a pdf")
    with pytest.raises(EmptyCorpusError, match="broken.pdf"):
        load_corpus(tmp_path)


def test_a_missing_corpus_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nowhere")


def test_sidecar_metadata_sets_title_source_and_review_status(tmp_path):
    (tmp_path / "leaflet.txt").write_text("Leaflet text.\n")
    (tmp_path / "leaflet.txt.meta.json").write_text(
        json.dumps({"title": "Patient leaflet", "source": "https://example.org/leaflet", "reviewed": True})
    )
    (document,) = load_corpus(tmp_path).documents
    assert (document.title, document.source, document.reviewed) == (
        "Patient leaflet",
        "https://example.org/leaflet",
        True,
    )
    assert document.text == "Leaflet text.\n"


def test_a_bad_sidecar_skips_the_document_with_a_reason(tmp_path):
    (tmp_path / "ok.txt").write_text("Fine.\n")
    (tmp_path / "bad.txt").write_text("Text.\n")
    (tmp_path / "bad.txt.meta.json").write_text("{not json")
    corpus = load_corpus(tmp_path)
    assert [s.path for s in corpus.skipped] == ["bad.txt"]
    assert "metadata" in corpus.skipped[0].reason


def test_hidden_files_are_ignored(tmp_path):
    (tmp_path / "a.txt").write_text("Visible.\n")
    (tmp_path / ".draft.txt").write_text("Hidden.\n")
    assert [d.doc_id for d in load_corpus(tmp_path).documents] == ["a.txt"]


def test_a_sidecar_gives_kind_medicines_date_and_licence(tmp_path):
    (tmp_path / "label.md").write_text("# Zanaflex\n\nText.\n")
    (tmp_path / "label.md.meta.json").write_text(
        json.dumps(
            {
                "title": "Zanaflex label",
                "kind": "label",
                "medicines": ["Tizanidine"],
                "reviewed": True,
                "published": "2024-11-01",
                "licence": "Public domain",
            }
        )
    )
    (document,) = load_corpus(tmp_path).documents
    assert (document.kind, document.medicines, document.published) == ("label", ("tizanidine",), "2024-11-01")
    assert document.official and document.licence == "Public domain"


def test_a_document_without_a_sidecar_is_of_kind_other_and_not_official(tmp_path):
    (tmp_path / "notes.txt").write_text("Some notes.\n")
    (document,) = load_corpus(tmp_path).documents
    assert document.kind == "other" and document.medicines == () and not document.official


@pytest.mark.parametrize(
    ("sidecar", "named"),
    [({"kind": "brochure"}, "kind"), ({"medicines": "baclofen"}, "medicines"), ({"medicines": [""]}, "medicines")],
)
def test_a_sidecar_with_a_bad_kind_or_medicines_list_skips_the_document_naming_the_problem(tmp_path, sidecar, named):
    (tmp_path / "a.txt").write_text("Text.\n")
    (tmp_path / "a.txt.meta.json").write_text(json.dumps(sidecar))
    (tmp_path / "b.txt").write_text("Other.\n")
    corpus = load_corpus(tmp_path)
    assert [s.path for s in corpus.skipped] == ["a.txt"]
    assert named in corpus.skipped[0].reason


def test_notes_about_the_folder_are_not_documents(tmp_path):
    for name in ("SOURCES.md", "README.txt", "LICENSE.md", "leaflet.md"):
        (tmp_path / name).write_text("Baclofen leaflet.\n")
    assert [d.doc_id for d in load_corpus(tmp_path).documents] == ["leaflet.md"]


def test_html_headings_stay_headings_even_when_they_are_questions():
    text, _ = html_to_text("<h2>Can I drink alcohol with it?</h2><p>It's best not to.</p><p>Call 111 if</p>")
    assert text.startswith("## Can I drink alcohol with it?\n\nIt's best not to.")
