"""Fixtures and hand-made records for the web chat tests (render, server, browser).

Loaded by `pytest_plugins = ["tests.conftest_ui"]` in the UI test modules, so the real assistant
and the servers are started once per session however many modules use them.

`StubAssistant` answers from hand-made `Answer` records (notices of each level, highlights,
unverified reasons, abstention, help, and text full of HTML/JS/Markdown), so rendering can
be checked without the model and before the engine produces notices.

PYTEST_DONT_REWRITE: test modules import helpers from here before pytest registers it as a
plugin; this marker stops pytest warning that it cannot rewrite asserts it does not have.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assistant.config import Settings, load_settings
from assistant.engine import validate_request
from assistant.records import Answer, Document, Notice, Passage
from assistant.safety import SafetyMessages, load_labels

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>alert(2)</script>"
XSS_LINK = "[x](javascript:alert(3))"
XSS_PAYLOADS = (XSS_IMG, XSS_SCRIPT, XSS_LINK)

TITLE = "What You Need to Know About Baclofen – A Commonly Used and Safe Muscle Relaxant"
DISCLAIMER = (
    "Quoted from a web article, not from official medicine information. It is not medical advice. "
    "Ask your doctor or pharmacist before starting, changing or stopping baclofen."
)
NOT_FOUND = load_labels().not_found  # the one copy, in assistant/safety/wording.toml
HELP = "Ask me a question about baclofen, for example: what are the side effects?"

SIDE_EFFECTS_TEXT = (
    "Common side effects of Baclofen include drowsiness and dizziness. "
    "These side effects are usually mild and transient, and they may improve as the body adjusts to the medication."
)
BEST_SENTENCE = "These side effects are usually mild and transient"
WHO_TEXT = "Baclofen is classified by the WHO as a medicine with established safety (MES)."


def make_passage(
    text: str = SIDE_EFFECTS_TEXT,
    *,
    best: str | None = BEST_SENTENCE,
    source: str = TITLE,
    section: str = "Side effects",
    unverified: Sequence[str] = (),
    score: float = 0.71,
) -> Passage:
    start = text.index(best) if best else 0
    end = start + len(best) if best else 0
    return Passage(
        text=text,
        doc_id="baclofen-article.txt",
        source=source,
        section=section,
        start=100,
        end=100 + len(text),
        score=score,
        highlight_start=start,
        highlight_end=end,
        unverified=tuple(unverified),
        chunk_ids=("baclofen-article.txt#7",),
        source_kind="article",
    )


def make_answer(
    question: str = "what are the side effects?",
    *,
    passages: Sequence[Passage] | None = None,
    notices: Sequence[Notice] = (),
    abstained: bool = False,
    message: str = "",
    kind: str = "answer",
    disclaimer: str = DISCLAIMER,
) -> Answer:
    passages = (make_passage(),) if passages is None else tuple(passages)
    return Answer(
        question=question,
        condensed_query=question,
        passages=passages,
        abstained=abstained,
        emergency=any(n.urgent for n in notices),
        notices=tuple(notices),
        disclaimer=disclaimer,
        message=message,
        kind=kind,
        timings_ms={"retrieve": 1.0},
    )


RED = Notice("RED", "reaction", "Call your local emergency number now (112).", "Don't wait for this chat.")
CRISIS = Notice("CRISIS", "self-harm", "You don't have to face this alone.", "Contact a crisis line or 112 now.")
POISON = Notice(
    "POISON", "overdose", "Contact your poison centre now.", "Even if you feel fine.\nKeep the pack at hand."
)
AMBER = Notice("AMBER", "withdrawal", "Don't stop suddenly.", "Stopping can cause serious withdrawal.")
INFO = Notice("INFO", "general", "Good to know", "The article is a web page.")


def stub_answer(question: str) -> Answer:
    """A hand-made answer picked by a word in the question (the stub's whole 'engine')."""
    lower = question.lower()
    if "full answer" in lower:
        who = make_passage(WHO_TEXT, best=None, section="WHO", unverified=("no WHO scheme of that name exists",))
        return make_answer(question, passages=(make_passage(), who), notices=(AMBER, RED))
    if "emergency" in lower or "took 10" in lower:
        return make_answer(question, passages=(), notices=(AMBER, RED, POISON), kind="emergency_only")
    if "weather" in lower:
        return make_answer(question, passages=(), abstained=True, message=NOT_FOUND, kind="not_found")
    if lower.strip() in ("hi", "hello", "help"):
        return make_answer(question, passages=(), message=HELP, kind="help")
    if "who" in lower:
        return make_answer(
            question,
            passages=(
                make_passage(WHO_TEXT, best=None, section="WHO", unverified=("no WHO scheme of that name exists",)),
            ),
        )
    if "evil" in lower:
        evil = f"Before {XSS_IMG} middle {XSS_SCRIPT} and {XSS_LINK} *stars* # hash | pipe $$x^2$$ end."
        return make_answer(
            question,
            passages=(make_passage(evil, best=XSS_SCRIPT, source=f"Evil {XSS_IMG} title", section=XSS_LINK),),
            notices=(Notice("AMBER", "x", f"Caution {XSS_SCRIPT}", XSS_LINK),),
        )
    return make_answer(question, notices=(AMBER,))


@dataclass
class StubAssistant:
    """Stands in for `assistant.engine.Assistant`; records the history each call received.

    Questions are checked by the engine's own `validate_request`, so the stub refuses exactly what the
    real assistant refuses, with the same words, and cannot drift from it.
    """

    settings: Settings = field(default_factory=Settings)
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    medicine: str = "baclofen"  # the corpus's main medicine, as the engine's router finds it
    messages: SafetyMessages = field(default_factory=lambda: SafetyMessages.load(Settings()))

    @property
    def documents(self) -> tuple[Document, ...]:
        return (
            Document(
                doc_id="baclofen-article.txt",
                title=TITLE,
                text="",
                source="Web article from an online pharmacy site",
                reviewed=False,
                fingerprint="0",
                notes=load_labels().chat.not_reviewed,  # restating the review status, said once on the page
            ),
            Document(
                doc_id="evil.txt",
                title=f"Evil {XSS_IMG} document",
                text="",
                source=f"javascript:alert(4) {XSS_LINK}",
                reviewed=True,
                fingerprint="1",
                notes=XSS_SCRIPT,
            ),
        )

    def answer(self, question: str, history: Sequence[str] = ()) -> Answer:
        request = validate_request(question, history, self.settings)
        with self.lock:
            # The history as the UI sent it (not as trimmed), so tests see what the chat passed on.
            self.calls.append((request.text, tuple(history)))
        return stub_answer(request.text)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningServer:
    url: str
    assistant: object
    settings: Settings


def start_server(assistant, settings: Settings) -> tuple[RunningServer, object]:
    from ui.app import build_app, launch_app

    demo = build_app(assistant, settings)
    port = free_port()
    _, url, _ = launch_app(
        demo, settings.replace(port=port), documents=assistant.documents, prevent_thread_lock=True, quiet=True
    )
    return RunningServer(url=url, assistant=assistant, settings=settings), demo


@pytest.fixture(scope="session")
def real_assistant(tmp_path_factory, real_embedder):
    """The real engine on the real corpus, with its index built once into a temporary folder."""
    from assistant.engine import Assistant

    settings = load_settings({"index_dir": tmp_path_factory.mktemp("ui-index")}, environ={})
    return Assistant.load(settings, embedder=real_embedder)


@pytest.fixture(scope="session")
def real_server(real_assistant):
    server, demo = start_server(real_assistant, real_assistant.settings)
    yield server
    demo.close()


@pytest.fixture(scope="session")
def stub_server():
    stub = StubAssistant()
    server, demo = start_server(stub, Settings())
    yield server
    demo.close()


def chromium_or_skip() -> str:
    """The path of Debian's Chromium; a visible skip without it, a failure when CI requires it."""
    if CHROMIUM.exists() or shutil.which("chromium"):
        return str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))
    reason = "Chromium not found at /usr/bin/chromium (Debian package 'chromium'); browser tests skipped"
    if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
        pytest.fail(reason.replace("skipped", "required because REQUIRE_BROWSER_TESTS=1"))
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    executable = chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail("Playwright for Python is not installed (pip install playwright)")
        pytest.skip("Playwright for Python is not installed; browser tests skipped")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def pytest_terminal_summary(terminalreporter):
    """Say plainly when the browser tests did not run, even without `-rs`."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "test_ui_browser" in r.nodeid]
    if skipped:
        reason = skipped[0].longrepr[2] if isinstance(skipped[0].longrepr, tuple) else str(skipped[0].longrepr)
        terminalreporter.write_line(f"{len(skipped)} browser test(s) skipped: {reason}", yellow=True)
