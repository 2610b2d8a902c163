"""Issue 13, part B: each user-visible sentence and label once (wording.toml), errors typed and worded for users.

Expected wording is read from assistant/safety/wording.toml itself (tomllib, not through the code under test),
so a test checks that every surface shows the file's words, never a third copy.
"""

from __future__ import annotations

import ast
import html
import json
import re
import socket
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.cli import format_answer, main
from assistant.config import Settings
from assistant.engine import Assistant
from assistant.errors import DataFileError, InvalidQuestionError, MissingDependencyError
from assistant.lexicon import VOCABULARY_FILE, Vocabulary
from assistant.records import Answer, Document, Level, Notice
from assistant.safety import SafetyMessages, load_labels
from assistant.safety.messages import SAFETY_FILE
from assistant.store import ensure_index, load_index
from assistant.topics import TOPICS_FILE, load_topics
from tests.conftest_ui import StubAssistant, make_answer, make_passage
from ui.app import build_app  # Gradio's import (seconds) paid at collection, not by the first test
from ui.render import render_answer

REPO = Path(__file__).resolve().parents[2]
WORDING = tomllib.loads(SAFETY_FILE.read_text(encoding="utf-8"))
LEVEL_LABELS = WORDING["labels"]["levels"]
UNVERIFIED = WORDING["disclaimer"]["unverified_marker"]
NOT_FOUND = WORDING["replies"]["not_found"]


def _code_files() -> list[Path]:
    """The code and tests a sentence could be copied into (everything but the wording file itself)."""
    roots = [REPO / "assistant", REPO / "ui", REPO / "tests"]
    return [p for root in roots for p in root.rglob("*") if p.suffix in (".py", ".js") and p.is_file()]


# --- each sentence and label once -------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [NOT_FOUND, UNVERIFIED.split("{reason}")[0]],
    ids=["not-found reply", "unverified marker"],
)
def test_a_user_visible_sentence_is_written_only_in_wording_toml(sentence):
    copies = [str(p.relative_to(REPO)) for p in _code_files() if sentence in p.read_text(encoding="utf-8")]
    assert not copies, f"{sentence!r} is written again in {copies}; read it from wording.toml"


def _fixed_pieces(template: str) -> list[str]:
    """The words of a template that are shown as written: its markup and placeholders taken out. A single word
    between placeholders ("of", "characters") is no label of its own, so it is left out."""
    plain = template.replace("**", "").replace("==", "")
    pieces = [piece.strip(" .,:;()“”·") for piece in re.split(r"\{\w+\}", plain) if re.search(r"[A-Za-z]", piece)]
    return pieces if len(pieces) == 1 and pieces[0] == plain.strip(" .") else [p for p in pieces if " " in p]


# Every label and sentence of the chat page and the document page, as wording.toml has them.
PAGE_WORDS = [
    (f"[{table}] {key}", piece)
    for table in ("chat", "document_page")
    for key, value in WORDING[table].items()
    for template in (value if isinstance(value, list) else [value])
    for piece in _fixed_pieces(template)
]


def _python_strings(path: Path) -> list[str]:
    """The string literals of a Python file (f-string parts too), without its docstrings (they name labels)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def _script_strings(path: Path) -> list[str]:
    """The string literals of a script, without its comments (they name labels)."""
    code = re.sub(r"(?m)^\s*//.*$|\s//\s.*$", "", path.read_text(encoding="utf-8"))
    return [
        m.group(0)[1:-1] for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`(?:[^`\\]|\\.)*`', code)
    ]


def _literals() -> dict[str, list[str]]:
    return {
        str(p.relative_to(REPO)): _python_strings(p) if p.suffix == ".py" else _script_strings(p) for p in _code_files()
    }


LITERALS = _literals()


@pytest.mark.parametrize(("entry", "words"), PAGE_WORDS, ids=[f"{e} {w[:30]}" for e, w in PAGE_WORDS])
def test_a_page_label_or_sentence_is_written_only_in_wording_toml(entry, words):
    """The chat's buttons, headings, counter, copy and error sentences, and the document page's words: no
    string in the code or the tests holds them (a one-word label: no string is exactly that word)."""
    several = len(re.findall(r"\w+", words)) > 1
    pattern = re.compile(r"(?<![A-Za-z])" + re.escape(words) + r"(?![A-Za-z])")
    copies = [
        path
        for path, strings in LITERALS.items()
        if any(pattern.search(s) if several else s.strip(" .:") == words for s in strings)
    ]
    assert not copies, f"{entry} ({words!r}) is written again in {copies}; read it from load_labels()"


def test_every_word_chat_js_shows_is_handed_to_it_by_the_page():
    """chat.js reads its words from #bq-words (ui/app.py script_words): each one it asks for is there."""
    from ui.app import SCRIPT_WORDS, script_words

    asked = set(re.findall(r"words\(\)\.(\w+)", (REPO / "ui" / "chat.js").read_text(encoding="utf-8")))
    given = {
        re.sub(r"-(\w)", lambda m: m.group(1).upper(), name)
        for name in re.findall(r'data-([\w-]+)="', script_words(load_labels()))
    }
    assert asked and asked <= given, f"chat.js reads {sorted(asked - given)} that the page does not give it"
    assert set(SCRIPT_WORDS.values()) == set(re.findall(r'data-([\w-]+)="', script_words(load_labels())))
    for entry, attribute in SCRIPT_WORDS.items():
        assert f'data-{attribute}="{html.escape(WORDING["chat"][entry], quote=True)}"' in script_words(load_labels())


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("\ncopy_answer = ", "\n# copy_answer = ", r"\[chat\] is missing 'copy_answer'"),
        ("\ncopy_answer = ", "\ncopy_anwser = ", r"\[chat\] is missing 'copy_answer'"),
        ("\ncopied = ", "\ncopyed = 'x'\ncopied = ", r"\[chat\] has unknown entry 'copyed'"),
        ("{over} too many", "{too_many} too many", r"\[chat\] counter_over uses \{too_many\}; allowed here"),
        ("could not answer: {error}", "could not answer: {error", r"\[chat\] could_not_answer is not a valid template"),
        ("\nask_button = ", "\nask_button = 3\n# ", r"\[chat\] ask_button must be a non-empty text"),
        ("\n[chat]\n", "\n[chat_words]\n", r"\[chat\] is missing"),
        ('title = "{title} (document)"', 'title = "{name} (document)"', r"\[document_page\] title uses \{name\}"),
        ("\nback_to_chat = ", "\n# back_to_chat = ", r"\[document_page\] is missing 'back_to_chat'"),
    ],
    ids=[
        "missing",
        "misspelt",
        "unknown",
        "bad-placeholder",
        "unbalanced",
        "not-text",
        "no-table",
        "page-title",
        "page",
    ],
)
def test_a_bad_page_word_is_refused_naming_the_file_and_the_entry(tmp_path, old, new, named):
    path = _edited(tmp_path, SAFETY_FILE, old, new)
    with pytest.raises(DataFileError, match=named) as caught:
        load_labels(path)
    assert str(caught.value).startswith("wording.toml: ")


def _answer_with_every_level() -> Answer:
    notices = tuple(Notice(level, "overdose", f"Title {level}", f"Text {level}") for level in Level)
    passage = make_passage(unverified=("no study registry id",))
    return make_answer(notices=notices, passages=(passage,))


@pytest.mark.parametrize("level", list(Level))
def test_the_terminal_and_the_chat_show_the_same_banner_label_from_wording_toml(level):
    answer = _answer_with_every_level()
    label = LEVEL_LABELS[level]
    assert f"[{label}] Title {level}" in format_answer(answer).splitlines()
    assert f'data-level="{level}"><span class="bq-label">{label}</span>' in render_answer(answer)


def test_the_terminal_and_the_chat_show_the_unverified_marker_of_wording_toml():
    answer = _answer_with_every_level()
    marker = UNVERIFIED.replace("{reason}", "no study registry id")
    assert f"   {marker}" in format_answer(answer).splitlines()
    assert f'<div class="bq-unverified">{marker}</div>' in render_answer(answer)


# --- the page names the corpus's medicine ---------------------------------------------------------


@dataclass
class TizanidineAssistant(StubAssistant):
    medicine: str = "tizanidine"

    @property
    def documents(self) -> tuple[Document, ...]:
        return (
            Document(
                doc_id="tizanidine.txt",
                title="Tizanidine leaflet",
                text="",
                source="leaflet",
                reviewed=True,
                fingerprint="0",
                medicines=("tizanidine",),
            ),
        )


def _page_text(demo) -> str:
    return json.dumps(demo.config, ensure_ascii=False)


def test_a_page_for_another_medicine_names_that_medicine_and_never_baclofen():
    page = _page_text(build_app(TizanidineAssistant(), Settings()))
    assert "Tizanidine questions" in page
    assert "Ask a question about tizanidine." in page
    for example in WORDING["page"]["examples"]:
        assert example.replace("{medicine}", "tizanidine") in page
    assert "baclofen" not in page.lower().replace("baclofen-qa", "")


def test_the_baclofen_page_keeps_its_title_prompt_and_examples():
    page = _page_text(build_app(StubAssistant(), Settings()))
    assert "Baclofen questions" in page and "Ask a question about baclofen." in page
    assert "Can I stop taking baclofen suddenly?" in page and "Is baclofen safe if I have kidney problems?" in page


def test_the_real_assistant_tells_the_page_its_main_medicine(tmp_path, toy_corpus, fake_embedder):
    """The engine, not the page, knows the medicine: default_medicine here, on a real index of the toy corpus."""
    from ui.app import page_title

    settings = Settings(
        corpus_dir=toy_corpus,
        index_dir=tmp_path / "index",
        model="fake-keywords",
        chunk_max_chars=200,
        default_medicine="tizanidine",
    )
    assistant = Assistant.load(settings, embedder=fake_embedder)
    assert assistant.medicine == "tizanidine"
    assert page_title(assistant.medicine) in _page_text(build_app(assistant, settings))
    assert "Tizanidine questions" in _page_text(build_app(assistant, settings))


# --- errors typed and worded for users ------------------------------------------------------------


def test_a_missing_faiss_package_is_reported_as_missing_with_the_install_command(
    toy_settings, fake_embedder, monkeypatch
):
    ensure_index(toy_settings, lambda: fake_embedder)  # a real, sound index on disk
    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` now fails as when it is not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'faiss-cpu") as caught:
        load_index(toy_settings)
    assert "Rebuild" not in str(caught.value)  # the index is fine; rebuilding would not help


def test_the_cli_says_faiss_is_missing_without_a_traceback(tmp_path, toy_corpus, fake_model, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "faiss", None)
    code = main(["index", "--corpus", str(toy_corpus), "--index-dir", str(tmp_path / "index")])
    err = capsys.readouterr().err
    assert code == 1 and "not installed" in err and "pip install" in err and "Traceback" not in err


def test_a_notice_for_an_unknown_category_names_the_category_and_the_file():
    messages = SafetyMessages.load(Settings())
    with pytest.raises(DataFileError, match=r"wording\.toml.*'no_such_category'"):
        messages.notice("no_such_category", Level.RED)  # type: ignore[arg-type]


def _edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, f"the test's anchor {old!r} is no longer in {source.name}"
    edited = tmp_path / source.name
    edited.write_text(text.replace(old, new, 1), encoding="utf-8")
    return edited


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        # A class given as one text: each of its letters would become a medicine name.
        (
            'anticonvulsants = ["gabapentin", "neurontin", "pregabalin", "lyrica", "topamax", "topiramate", '
            '"keppra", "levetiracetam"]',
            'anticonvulsants = "gabapentin"',
            r"\[drug_classes\] 'anticonvulsants'",
        ),
        ('"sleepy" = "drowsiness"', '"sleepy" = 3', r"\[lay_terms\] 'sleepy'"),
        ('"sleepy" = "drowsiness"', '"sleepy" = "drowsiness', r"Could not read the vocabulary"),
        ("[words]\n", "[wrods]\n", r"unknown table\(s\) \[wrods\]"),
        ('fillers = [\n  "hi",', "fillers = [\n  7,", r"\[words\] fillers holds 7"),
    ],
    ids=["class-as-text", "lay-term-number", "toml-syntax", "table-typo", "filler-number"],
)
def test_a_bad_vocabulary_entry_is_refused_naming_the_file_and_the_entry(tmp_path, old, new, named):
    path = _edited(tmp_path, VOCABULARY_FILE, old, new)
    with pytest.raises(DataFileError, match=named) as caught:
        Vocabulary.load(path)
    assert "vocabulary.toml" in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('[uses]\nlabel = "what it is used for"', "[uses]\nlabel = 3", r"topic \[uses\] label must be a non-empty"),
        ("[uses]\n", "[uses]\nexmaples = []\n", r"topic \[uses\] has unknown entry exmaples"),
        ('emergencies = ["pump"]', 'emergencies = ["pumps"]', r"unknown safety category pumps"),
        ("[uses]\nlabel", '[uses]\ncitation = "yes"\nlabel', r"topic \[uses\] citation must be true or false"),
        ("[uses]\n", "[uses\n", r"Could not read the topics"),
    ],
    ids=["label-number", "key-typo", "unknown-category", "citation-text", "toml-syntax"],
)
def test_a_bad_topic_entry_is_refused_naming_the_file_and_the_entry(tmp_path, old, new, named):
    path = _edited(tmp_path, TOPICS_FILE, old, new)
    with pytest.raises(DataFileError, match=named) as caught:
        load_topics(path)
    assert "topics.toml" in str(caught.value)


def test_a_bad_data_file_is_a_one_line_cli_error(tmp_path, toy_corpus, fake_model, monkeypatch, capsys):
    """What the pharmacist sees after a bad edit: a sentence naming the file, not a traceback."""
    import assistant.lexicon

    bad = _edited(tmp_path, VOCABULARY_FILE, '"sleepy" = "drowsiness"', '"sleepy" = ["drowsiness"]')
    monkeypatch.setattr(assistant.lexicon, "VOCABULARY_FILE", bad)
    monkeypatch.setattr(assistant.lexicon.Vocabulary.load.__func__, "__defaults__", (bad,))  # its default path
    code = main(
        ["ask", "is it ok with kidney disease?", "--corpus", str(toy_corpus), "--index-dir", str(tmp_path / "index")]
    )
    err = capsys.readouterr().err
    assert code == 1 and "vocabulary.toml" in err and "'sleepy'" in err and "Traceback" not in err


def test_a_taken_port_is_refused_before_the_model_loads_naming_the_port_and_the_setting(
    tmp_path, toy_corpus, fake_model, capsys
):
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        code = main(["serve", "--port", str(port), "--corpus", str(toy_corpus), "--index-dir", str(tmp_path / "ix")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"Port {port}" in err and "--port" in err and "BACLOFEN_QA_PORT" in err
    assert fake_model.calls == 0, "the model was loaded before the port was checked"
    assert not (tmp_path / "ix").exists(), "the index was built before the port was checked"


@pytest.mark.parametrize("history", [["what is it for?", 3], ["ok", None], [{"text": "hi"}]])
def test_a_history_entry_that_is_not_text_is_refused_not_dropped(history):
    """Already so before this change (validate_request); kept here as the issue listed it."""
    from assistant.engine import validate_request

    with pytest.raises(InvalidQuestionError, match="earlier question"):
        validate_request("and with alcohol?", history, Settings())


def test_every_user_visible_label_table_has_one_label_per_level():
    assert set(LEVEL_LABELS) == {level.value for level in Level}
    assert all(isinstance(v, str) and v.strip() and not re.search(r"[{}]", v) for v in LEVEL_LABELS.values())
