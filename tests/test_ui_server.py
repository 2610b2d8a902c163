"""The web chat as a real server, called with gradio_client (slow: real model, real corpus, Gradio).

The server runs in-process (`launch(prevent_thread_lock=True)`) on a free port with the real
assistant; its index is built once into a temporary folder.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError

from assistant.config import Settings
from assistant.errors import InvalidQuestionError
from assistant.records import URGENT_LEVELS
from assistant.serialize import answer_to_dict
from tests.conftest_ui import StubAssistant, start_server

pytest_plugins = ["tests.conftest_ui"]
pytestmark = pytest.mark.slow

GOLD = Path(__file__).resolve().parent / "data" / "gold.jsonl"


def ask(client: Client, question: str, history: list[str] | None = None) -> dict:
    return client.predict(question, history or [], api_name="/ask")


@pytest.fixture(scope="module")
def client(real_server) -> Client:
    return Client(real_server.url, verbose=False)


def passage_keys(result: dict) -> list[tuple[str, int, int]]:
    return [(p["doc_id"], p["start"], p["end"]) for p in result["passages"]]


def test_the_api_lists_one_named_endpoint_ask(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/ask"]
    assert [p["parameter_name"] for p in endpoints["/ask"]["parameters"]] == ["question", "history"]


def test_the_server_listens_on_localhost_only_and_has_no_share_link(real_server):
    assert real_server.url.startswith("http://127.0.0.1:")


def test_a_question_is_answered_with_verbatim_quotes_sources_and_the_disclaimer(client, real_assistant):
    question = "Can I drive after taking baclofen?"
    result = ask(client, question)
    assert result["kind"] == "answer" and not result["abstained"]
    assert result["passages"], "expected at least one quotation"
    documents = {d.doc_id: d for d in real_assistant.documents}
    for passage in result["passages"]:
        assert documents[passage["doc_id"]].text[passage["start"] : passage["end"]] == passage["text"]
        assert passage["source"] == documents[passage["doc_id"]].title
    assert result["disclaimer"] == real_assistant.answer(question).disclaimer  # the engine's, whole
    assert any("driving" in p["text"] for p in result["passages"])


def test_the_result_has_the_shape_of_ask_json(client, real_assistant):
    result = ask(client, "What are the side effects of baclofen?")
    expected = answer_to_dict(real_assistant.answer("What are the side effects of baclofen?"))
    assert set(result) == set(expected)
    assert passage_keys(result) == passage_keys(expected)


def test_the_history_sent_to_the_api_reaches_the_assistant(client, real_assistant):
    history = ["who is olivier ameisen?"]
    result = ask(client, "what did he write?", history)
    expected = answer_to_dict(real_assistant.answer("what did he write?", history))
    assert (result["condensed_query"], passage_keys(result)) == (expected["condensed_query"], passage_keys(expected))


def test_a_follow_up_is_answered_from_the_earlier_question(client):
    result = ask(client, "what did he write?", ["who is olivier ameisen?"])
    assert not result["abstained"]
    assert any("Olivier Ameisen" in p["text"] for p in result["passages"])


def test_a_question_outside_the_article_gets_the_not_found_message_and_no_quotes(client, real_assistant):
    question = "what's the weather like in paris today"
    result = ask(client, question)
    assert result["abstained"] is True
    assert result["kind"] == "not_found"
    assert result["passages"] == []
    direct = real_assistant.answer(question)
    assert "pharmacist" in result["message"] and result["message"] == direct.message
    assert result["disclaimer"] == direct.disclaimer


@pytest.mark.parametrize(
    "question",
    ["I took 10 pills", "my husband is having a seizure, he's on baclofen", "I took my dose twice by mistake"],
)
def test_an_emergency_raises_an_urgent_notice_first(client, real_assistant, question):
    result = ask(client, question)
    assert result["emergency"] is True
    assert result["notices"] and result["notices"][0]["level"] in URGENT_LEVELS
    assert result["disclaimer"] == real_assistant.answer(question).disclaimer


@pytest.mark.parametrize(("question", "message"), [("   ", "empty"), ("why " * 300, "too long")])
def test_an_unusable_question_gets_a_clear_error(client, real_assistant, question, message):
    with pytest.raises(InvalidQuestionError) as refused:
        real_assistant.answer(question)
    with pytest.raises(AppError) as raised:
        ask(client, question)
    assert message in str(raised.value)
    assert str(raised.value) == str(refused.value)  # the engine's own words, nothing added or lost


def test_twenty_clients_at_once_each_get_their_own_correct_answer(real_server, real_assistant):
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [r["question"] for r in rows if r["answerable"] is True and not r["history"]][:20]
    assert len(questions) == 20
    expected = {q: answer_to_dict(real_assistant.answer(q)) for q in questions}
    clients = [Client(real_server.url, verbose=False) for _ in questions]
    start = threading.Barrier(len(questions))

    def one(pair):
        client, question = pair
        start.wait(timeout=60)
        return question, ask(client, question)

    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        results = list(pool.map(one, zip(clients, questions, strict=True), timeout=300))

    assert len(results) == 20
    for question, result in results:
        assert result["question"] == expected[question]["question"]
        assert passage_keys(result) == passage_keys(expected[question]), question
        assert result["abstained"] == expected[question]["abstained"]


def test_with_login_variables_set_the_server_refuses_clients_without_the_password():
    server, demo = start_server(StubAssistant(), Settings(auth_user="nurse", auth_password="s3cret"))
    try:
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(server.url, verbose=False)
        with pytest.raises(ValueError, match="Could not login"):
            Client(server.url, auth=("nurse", "wrong"), verbose=False)
        client = Client(server.url, auth=("nurse", "s3cret"), verbose=False)
        assert client.predict("what are the side effects?", [], api_name="/ask")["kind"] == "answer"
    finally:
        demo.close()
