"""Tests that test what they claim (issue 13, part C).

The test doubles other tests lean on are held to the real thing here, so a stub cannot drift from
the engine it stands in for.
"""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.engine import Assistant
from assistant.errors import InvalidQuestionError
from tests.conftest import FakeEmbedder, write_corpus
from tests.conftest_ui import StubAssistant

# Small limits, so that "too long" is a few characters, not a few thousand.
LIMITS = {"max_question_chars": 20, "max_input_chars": 60, "max_history_turns": 2, "max_history_chars": 30}

BAD_REQUESTS = {
    "empty": ("", ()),
    "only whitespace": (" \n\t ", ()),
    "question too long": ("x" * 21, ()),
    "question not text": (42, ()),
    "broken encoding": ("side effects\ud800?", ()),
    "history not a list": ("why?", "the earlier question"),
    "history entry not text": ("why?", ("first", 5)),
    "question and history over max_input_chars": ("why?", ("y" * 29, "z" * 29)),
    "broken encoding in history": ("why?", ("bad \udfff text",)),
}
GOOD_REQUESTS = {
    "plain": ("can I drive?", ()),
    "padded to the limit": ("  " + "d" * 20 + "  ", ()),
    "long history is trimmed, not refused": ("why?", ("a" * 20, "b" * 20, "c" * 10)),
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Assistant:
    folder = tmp_path_factory.mktemp("stub-vs-engine")
    settings = Settings(corpus_dir=write_corpus(folder / "corpus"), index_dir=folder / "index", model="fake-keywords")
    # Loaded with the default limits: `Assistant.load` warms up with a 26-character question.
    loaded = Assistant.load(settings, embedder=FakeEmbedder())
    return Assistant(settings.replace(**LIMITS), loaded.embedder, loaded.index)


@pytest.mark.parametrize("request_", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_the_ui_stub_refuses_what_the_engine_refuses_with_the_same_words(engine, request_):
    question, history = request_
    with pytest.raises(InvalidQuestionError) as by_engine:
        engine.answer(question, history)
    stub = StubAssistant(engine.settings)
    with pytest.raises(InvalidQuestionError) as by_stub:
        stub.answer(question, history)
    assert str(by_stub.value) == str(by_engine.value)
    assert stub.calls == []  # refused before anything was recorded


@pytest.mark.parametrize("request_", GOOD_REQUESTS.values(), ids=GOOD_REQUESTS.keys())
def test_the_ui_stub_accepts_what_the_engine_accepts(engine, request_):
    question, history = request_
    assert engine.answer(question, history).question == question.strip()
    stub = StubAssistant(engine.settings)
    assert stub.answer(question, history).question == question.strip()
    assert stub.calls == [(question.strip(), tuple(history))]
