"""Web exposure and API errors (issue 10, findings 9 and 10), against real Gradio servers over HTTP.

The servers run in-process on free ports (`tests/conftest_ui.py`); most use the stub assistant, since
what is tested is the server's edge, not the answers. One test uses the real engine, where a lone
surrogate used to crash the tokenizer. Pure pieces (the throttle's arithmetic, the text check, the
settings) are tested without a server.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from assistant.config import Settings
from assistant.errors import SettingsError
from tests.conftest_ui import StubAssistant, start_server
from ui.web_guard import LoginThrottle

pytest_plugins = ["tests.conftest_ui"]

USER, PASSWORD = "nurse", "s3cret"


# --- Helpers -------------------------------------------------------------------------------------


def call_api(url: str, data: list, api_name: str = "ask") -> tuple[str, object]:
    """POST one call to the HTTP API and read its result: ("complete" | "error", the data sent back).

    The body is written by json.dumps (ASCII escapes), so a lone surrogate travels as "\\ud800",
    as any JSON client would send it.
    """
    base = url.rstrip("/")
    posted = httpx.post(
        f"{base}/gradio_api/call/{api_name}",
        content=json.dumps({"data": data}),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    posted.raise_for_status()
    event_id = posted.json()["event_id"]
    stream = httpx.get(f"{base}/gradio_api/call/{api_name}/{event_id}", timeout=60).text
    event, payload = "", None
    for line in stream.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            payload = json.loads(line.split(":", 1)[1])
    return event, payload


def login(url: str, password: str, client: httpx.Client | None = None) -> httpx.Response:
    poster = client or httpx
    return poster.post(url.rstrip("/") + "/login", data={"username": USER, "password": password}, timeout=30)


class FailingAssistant(StubAssistant):
    """A stub whose engine has a bug: every question raises an exception no handler expects."""

    def answer(self, question, history=()):
        raise RuntimeError("internal detail /srv/secret/path that must not reach a client")


@pytest.fixture(scope="module")
def open_server():
    server, demo = start_server(StubAssistant(), Settings())
    yield server, demo
    demo.close()


@pytest.fixture
def login_server():
    """A server with a login, a short lockout and a short delay, new for each test (the throttle has state)."""
    settings = Settings(
        auth_user=USER,
        auth_password=PASSWORD,
        login_max_failures=3,
        login_lockout_seconds=2.0,
        login_failure_delay_seconds=0.3,
    )
    server, demo = start_server(StubAssistant(), settings)
    yield server
    demo.close()


# --- Finding 9: uploads --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_file_upload_is_refused_and_nothing_is_stored_or_served_back(open_server):
    server, demo = open_server
    name = f"probe-{uuid.uuid4().hex}.html"
    content = b"<script>alert(1)</script>" + os.urandom(1024 * 1024)
    response = httpx.post(
        server.url.rstrip("/") + "/gradio_api/upload", files={"files": (name, content, "text/html")}, timeout=60
    )
    assert response.status_code == 403
    assert "uploads are turned off" in response.json()["detail"]
    upload_dir = demo.server_app.uploaded_file_dir
    stored = [os.path.join(d, f) for d, _, files in os.walk(upload_dir) for f in files if f == name]
    assert stored == []


# --- Finding 9: the API description with a login set ----------------------------------------------


@pytest.mark.slow
def test_with_a_login_a_stranger_gets_no_description_of_the_api(login_server):
    base = login_server.url.rstrip("/")
    page = httpx.get(base + "/", timeout=30)
    assert page.status_code == 200 and "auth_required" in page.text  # the login page itself still works
    assert '"/ask"' not in page.text and "parameter_name" not in page.text
    for path in ("/config", "/gradio_api/info", "/gradio_api/openapi.json", "/openapi.json", "/docs"):
        response = httpx.get(base + path, timeout=30)
        assert response.status_code in (401, 404), path
        assert "question" not in response.text, path

    with httpx.Client() as user:  # after login the page is whole again
        assert login(base, PASSWORD, user).status_code == 200
        assert '"/ask"' in user.get(base + "/", timeout=30).text


@pytest.mark.slow
@pytest.mark.browser
def test_in_a_browser_the_login_form_still_leads_to_a_working_chat(login_server, browser):
    """The emptied login page must still be Gradio's working login form."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(login_server.url)
        page.get_by_label("username").fill(USER)
        page.get_by_label("password").fill(PASSWORD)
        page.get_by_role("button", name="Login").click()
        box = page.locator("#bq-question textarea")
        box.wait_for(state="visible", timeout=30_000)
        box.fill("what are the side effects?")
        box.press("Enter")
        page.wait_for_selector("#bq-chat .bq-answer", timeout=30_000)
    finally:
        context.close()


# --- Finding 9: password guessing ------------------------------------------------------------------


@pytest.mark.slow
def test_twenty_quick_wrong_passwords_are_slowed_then_refused_and_the_right_one_works_after_the_lockout(login_server):
    url = login_server.url
    answers = []
    for attempt in range(20):
        response = login(url, f"guess-{attempt}")
        answers.append((response.status_code, response.text))

    assert [status for status, _ in answers[:3]] == [400, 400, 400]
    # The delay on each failure is checked without a clock in
    # test_each_failed_login_is_answered_after_the_delay_and_a_good_one_at_once.
    assert {status for status, _ in answers[3:]} == {429}
    assert "Too many failed logins" in answers[-1][1]

    during = login(url, PASSWORD)
    assert during.status_code == 429, "the lockout holds even for the right password"
    time.sleep(2.1)
    after = login(url, PASSWORD)
    assert after.status_code == 200 and after.json() == {"success": True}


@pytest.mark.slow
def test_twenty_guesses_sent_at_once_get_no_more_than_the_allowed_checks(login_server):
    start = threading.Barrier(20)

    def guess(number: int) -> int:
        start.wait(timeout=30)
        return login(login_server.url, f"parallel-{number}").status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(guess, range(20)))
    assert statuses.count(400) <= 3
    assert statuses.count(429) >= 17


# --- Finding 10: every API error carries a message -------------------------------------------------


BAD_CALLS = [
    pytest.param(["what are the side effects? \ud800", []], "not valid text", id="lone-surrogate-in-question"),
    pytest.param(["what did he write?", ["who is \udfff he"]], "History item 1", id="lone-surrogate-in-history"),
    pytest.param(["what are the side effects?"], "needs 2 (question, history)", id="missing-history"),
    pytest.param(["what are the side effects?", "not a list"], "history must be a list", id="history-a-string"),
    pytest.param(
        ["what are the side effects?", [1, 2]],
        "History item 1 (an earlier question) must be text",
        id="history-of-numbers",
    ),
    pytest.param([42, []], "question must be text", id="question-a-number"),
    pytest.param([None, []], "question must be text", id="question-null"),
    pytest.param([["a", "list"], []], "question must be text", id="question-a-list"),
    pytest.param([], "needs 2", id="no-arguments"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("data", "expected"), BAD_CALLS)
def test_a_bad_api_call_gets_a_clear_message_and_no_traceback_in_the_log(open_server, capfd, data, expected):
    server, _ = open_server
    event, payload = call_api(server.url, data)
    assert event == "error"
    assert isinstance(payload, dict) and payload.get("error"), f"no message for {data!r}: {payload!r}"
    assert expected in payload["error"]
    time.sleep(0.2)  # the server thread writes its log after the event is sent
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.slow
def test_a_lone_surrogate_never_reaches_the_real_engine(real_server, capfd):
    event, payload = call_api(real_server.url, ["can I drive \ud800 after baclofen?", []])
    assert event == "error"
    assert "not valid text" in payload["error"]
    time.sleep(0.2)
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.slow
def test_a_bug_in_the_engine_reaches_the_client_as_a_sentence_and_the_log_as_a_traceback(caplog):
    from ui.app import INTERNAL_ERROR_MESSAGE

    server, demo = start_server(FailingAssistant(), Settings())
    try:
        event, payload = call_api(server.url, ["what are the side effects?", []])
    finally:
        demo.close()
    assert event == "error"
    assert payload["error"] == INTERNAL_ERROR_MESSAGE
    assert "/srv/secret" not in json.dumps(payload)
    assert any(record.exc_info and "secret" in str(record.exc_info[1]) for record in caplog.records)


@pytest.mark.slow
def test_a_chat_message_with_a_lone_surrogate_is_answered_with_an_explanation(open_server):
    """The chat's own event, called as the page calls it (by its index, through the queue)."""
    server, demo = open_server
    fn_index = next(i for i, dep in enumerate(demo.config["dependencies"]) if dep.get("api_name") == "on_submit")
    session = uuid.uuid4().hex
    base = server.url.rstrip("/")
    joined = httpx.post(
        f"{base}/gradio_api/queue/join",
        content=json.dumps({"data": ["side effects \ud800?", []], "fn_index": fn_index, "session_hash": session}),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert joined.status_code == 200
    with httpx.stream("GET", f"{base}/gradio_api/queue/data", params={"session_hash": session}, timeout=30) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and '"process_completed"' in line:
                message = json.loads(line[5:])
                break
    assert message["success"] is True
    textbox, history, kept = message["output"]["data"]  # kept: the conversation for the browser's storage
    assert "not valid text" in history[-1]["content"][0]["text"]
    assert textbox.startswith("side effects \ufffd")  # kept in the box, as text the page can show
    assert all("\ud800" not in str(turn) for turn in history + kept)


# --- Load: memory held per API call ----------------------------------------------------------------


@pytest.mark.slow
def test_many_api_calls_do_not_each_keep_a_session_in_memory():
    """Every API call is a new Gradio session; the server keeps state for a bounded number of them.

    Measured by `scripts/bench_load.py` as RSS (+64 MiB over 2,000 calls before the bound); here as
    the number of sessions held, which RSS would only show through the noise of a test process.
    """
    from ui.app import SESSION_STATE_CAPACITY

    server, demo = start_server(StubAssistant(), Settings())
    try:
        with httpx.Client(timeout=30) as client:
            base = server.url.rstrip("/")
            for _ in range(SESSION_STATE_CAPACITY + 100):
                event_id = client.post(f"{base}/gradio_api/call/ask", json={"data": ["side effects?", []]}).json()[
                    "event_id"
                ]
                client.get(f"{base}/gradio_api/call/ask/{event_id}")
        assert len(demo.server_app.state_holder.session_data) <= SESSION_STATE_CAPACITY
    finally:
        demo.close()


# --- Pure pieces ---------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_each_failed_login_is_answered_after_the_delay_and_a_good_one_at_once():
    """The guard waits `failure_delay_seconds` before answering a failed login (a recorder stands in
    for asyncio.sleep, so no clock is read), and never before a successful one."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from ui.web_guard import WebGuard

    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    def app_answering(status: int):
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

        return app

    async def post_login(guard) -> int:
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "path": "/login", "method": "POST", "client": ("10.0.0.9", 1), "headers": []}
        await guard(scope, receive, send)
        return sent[0]["status"]

    def run(guard) -> int:
        # A thread of its own: in the full suite this thread may already run an event loop (Playwright's).
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(lambda: asyncio.run(post_login(guard))).result()

    refused = WebGuard(app_answering(400), max_failures=5, lockout_seconds=60, failure_delay_seconds=0.7, sleep=record)
    assert run(refused) == 400 and waits == [0.7]
    accepted = WebGuard(app_answering(200), max_failures=5, lockout_seconds=60, failure_delay_seconds=0.7, sleep=record)
    assert run(accepted) == 200 and waits == [0.7]


def test_the_throttle_locks_a_client_out_after_the_allowed_failures_and_lets_it_in_afterwards():
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, lockout_seconds=60, clock=clock)
    for _ in range(3):
        assert throttle.seconds_locked("10.0.0.1") == 0
        throttle.start("10.0.0.1")
        throttle.failed("10.0.0.1")
    assert throttle.seconds_locked("10.0.0.1") == pytest.approx(60)
    assert throttle.seconds_locked("10.0.0.2") == 0, "another address is not locked"
    clock.now += 59
    assert throttle.seconds_locked("10.0.0.1") == pytest.approx(1)
    clock.now += 1
    assert throttle.seconds_locked("10.0.0.1") == 0


def test_a_successful_login_clears_the_failures_before_it():
    throttle = LoginThrottle(max_failures=3, lockout_seconds=60, clock=Clock())
    for _ in range(2):
        throttle.start("10.0.0.1")
        throttle.failed("10.0.0.1")
    throttle.start("10.0.0.1")
    throttle.succeeded("10.0.0.1")
    for _ in range(2):
        throttle.start("10.0.0.1")
        throttle.failed("10.0.0.1")
    assert throttle.seconds_locked("10.0.0.1") == 0


def test_attempts_still_being_checked_count_towards_the_limit():
    throttle = LoginThrottle(max_failures=3, lockout_seconds=60, clock=Clock())
    for _ in range(3):
        throttle.start("10.0.0.1")  # three guesses in flight, none answered yet
    assert throttle.seconds_locked("10.0.0.1") == 60  # the whole lockout: the clock has not moved


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fine \u00e9 \U0001f600", None),
        ("bad \ud800", "U+D800"),
        (12, "not a number"),
        (None, "not null"),
        ([], "not a list"),
    ],
)
def test_text_problem_names_what_is_wrong_with_a_value(value, expected):
    from assistant.engine import text_problem

    problem = text_problem(value, "question")
    assert problem is None if expected is None else expected in problem


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"login_max_failures": 0}, "login_max_failures"),
        ({"login_lockout_seconds": 0}, "login_lockout_seconds"),
        ({"login_failure_delay_seconds": -1}, "login_failure_delay_seconds"),
        ({"login_failure_delay_seconds": 31}, "login_failure_delay_seconds"),
    ],
)
def test_login_throttle_settings_out_of_range_are_refused_by_name(changes, message):
    with pytest.raises(SettingsError, match=message):
        Settings(**changes)
