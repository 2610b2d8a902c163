"""The web chat (Gradio 6 Blocks): a chat message -> `Assistant.answer` -> an `Answer` shown as HTML.

No retrieval or safety logic lives here. The functions above `build_app` are plain Python
and testable without Gradio; `build_app` wires them to components, `launch_app` starts the
server with the project's limits (127.0.0.1, no share link, queue with a concurrency limit,
optional login, and `ui/web_guard.py` in front: no uploads, no API description for strangers,
throttled logins). Every failure reaches an API client as a sentence, never as `"error": null`.

Per-session state is only the chat history Gradio keeps for each browser tab; nothing is
stored in module globals, so sessions never see each other's questions.

The chat shows every message with Markdown rendering off: replies are HTML built in
`ui/render.py` from escaped text, so user and corpus text stay inert.
"""

import functools
import html
import inspect
import logging
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence, TypeVar

import gradio as gr

from assistant.config import Settings
from assistant.errors import AssistantError, InvalidQuestionError
from assistant.records import Answer, Document
from assistant.serialize import answer_to_dict
from ui.document_page import document_route
from ui.render import render_answer, render_documents, render_error, render_question, text_to_html
from ui.web_guard import guard_middleware

log = logging.getLogger(__name__)

TITLE = "Baclofen questions"
API_NAME = "ask"
EXAMPLE_QUESTIONS = (
    "What are the common side effects of baclofen?",
    "Can I stop taking baclofen suddenly?",
    "Can I drive after taking baclofen?",
    "Is baclofen safe if I have kidney problems?",
    "Can baclofen interact with other medicines?",
)

CSS = """
.bq-notice-line { font-size: 1rem; margin: 0 0 .25rem 0; }
.bq-answer { line-height: 1.5; }
.bq-answer > * + * { margin-top: .6rem; }
.bq-notice { border-radius: 6px; padding: .6rem .75rem; border: 2px solid; }
.bq-notice .bq-label { display: inline-block; font-weight: 700; letter-spacing: .03em; margin-right: .35rem;
  padding: 0 .4rem; border-radius: 4px; }
.bq-red, .bq-crisis, .bq-poison { background: #fde8e8; border-color: #b3261e; color: #3b0a08; }
.bq-red .bq-label, .bq-crisis .bq-label, .bq-poison .bq-label { background: #b3261e; color: #ffffff; }
.bq-amber { background: #fff4e0; border-color: #a15c00; color: #3a2300; }
.bq-amber .bq-label { background: #a15c00; color: #ffffff; }
.bq-info { background: #e8f0fe; border-color: #1a56b0; color: #0b2550; }
.bq-info .bq-label { background: #1a56b0; color: #ffffff; }
.bq-message { font-weight: 600; margin: 0; }
.bq-notice ~ .bq-message { font-weight: 400; }  /* after a banner, the banner is what must stand out */
.bq-source { font-size: .95em; }
.bq-source cite { font-style: italic; }
.bq-quote { margin: .25rem 0 0 0; padding: .5rem .75rem; border-left: 4px solid #6b7280;
  background: rgba(127, 127, 127, .10); }
.bq-quote mark { background: #ffe27a; color: #111111; padding: 0 .1em; }
.bq-unverified { font-size: .95em; font-weight: 600; color: #8a4b00; background: #fff4e0; padding: .15rem .4rem;
  border-radius: 4px; margin-top: .3rem; display: inline-block; }
.bq-disclaimer { display: block; font-size: .88em; border-top: 1px solid rgba(127, 127, 127, .4);
  padding-top: .4rem; }
.bq-docs { margin: 0; padding-left: 1.2rem; }
.bq-doc + .bq-doc { margin-top: .6rem; }
.bq-unreviewed { font-weight: 700; color: #a15c00; }
"""

# Runs once on page load. Gradio's autoscroll would show the *end* of a long reply; this shows
# each new reply from its first line instead, so an emergency banner at its top is never
# scrolled past. Only the chat panel scrolls, not the page.
SHOW_NEW_REPLY_FROM_THE_TOP_JS = """
() => {
  let seen = 0;
  const align = () => {
    const replies = document.querySelectorAll('#bq-chat .bq-answer');
    if (replies.length < seen) seen = replies.length;
    if (replies.length === seen) return;
    seen = replies.length;
    const reply = replies[replies.length - 1];
    const panel = reply.closest('[role="log"]');
    const row = reply.closest('.message-row') || reply;
    if (panel) panel.scrollTop += row.getBoundingClientRect().top - panel.getBoundingClientRect().top - 8;
  };
  new MutationObserver(align).observe(document.body, { childList: true, subtree: true });
}
"""


class AnswersQuestions(Protocol):
    """What the chat needs from `assistant.engine.Assistant`."""

    @property
    def documents(self) -> tuple[Document, ...]: ...

    def answer(self, question: str, history: Sequence[str] = ()) -> Answer: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """One turn of the chat: the reply HTML, and whether the question went to the assistant."""

    html: str
    accepted: bool


def _message_text(content: Any) -> str:
    """The text of a chat message: a plain string or, in Gradio 6, a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return content.get("text", "") if content.get("type", "text") == "text" else ""
    if isinstance(content, (list, tuple)):
        return "".join(_message_text(block) for block in content)
    return ""


def _display_to_text(shown: str) -> str:
    """Undo `render_question`: the chat holds questions as escaped HTML with <br> for line breaks."""
    return html.unescape(shown.replace("<br>", "\n"))


def past_questions(history: Sequence[Any] | None) -> list[str]:
    """The user's earlier questions in this chat, oldest first, as they typed them."""
    questions = []
    for message in history or ():
        role = message.get("role") if isinstance(message, dict) else getattr(message, "role", None)
        if role != "user":
            continue
        content = message.get("content") if isinstance(message, dict) else getattr(message, "content", "")
        text = _display_to_text(_message_text(content)).strip()
        if text:
            questions.append(text)
    return questions


def text_problem(value: Any, what: str) -> str | None:
    """Why `value` cannot be read as text (not a string, or not encodable as UTF-8), or None if it can.

    Only types and encoding: how long a question or a history may be is the engine's to decide.
    A lone UTF-16 surrogate (JSON "\\ud800") is valid JSON but not text; the tokenizer fails on it.
    """
    if not isinstance(value, str):
        return f"{what} must be text (a string), not {_json_type(value)}."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        return (
            f"{what} contains a character that is not valid text (U+{code:04X}, a lone surrogate, "
            f"at position {exc.start + 1}). Remove it or type the text again."
        )
    return None


def shown_as_text(value: Any) -> str:
    """`value` as text that can be sent back to the page: lone surrogates become U+FFFD (the JSON
    encoder refuses them), anything that is not a string becomes ""."""
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, as an API user sent it."""
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def respond(message: str, history: Sequence[Any] | None, assistant: AnswersQuestions) -> Reply:
    """Answer one chat message given the chat so far; problems become a friendly reply."""
    problem = text_problem(message, "The question")
    if problem:
        return Reply(render_error(problem), accepted=False)
    try:
        answer = assistant.answer(message, past_questions(history))
    except InvalidQuestionError as exc:
        return Reply(render_error(str(exc)), accepted=False)
    except AssistantError as exc:
        return Reply(render_error(f"Sorry, the assistant could not answer: {exc}"), accepted=False)
    return Reply(render_answer(answer), accepted=True)


def chat_turn(message: str, history: list | None, assistant: AnswersQuestions) -> tuple[str, list]:
    """The textbox event: (new textbox value, new chat history).

    An accepted question is added with its answer and the textbox is emptied. A rejected one
    (too long) keeps its text in the box so it can be shortened, and only the explanation is
    added, so it never becomes part of the history used for follow-ups. Blank input does nothing.
    """
    history = list(history or [])
    if isinstance(message, str) and not message.strip():
        return "", history
    reply = respond(message, history, assistant)
    if not reply.accepted:
        return shown_as_text(message), history + [{"role": "assistant", "content": reply.html}]
    return "", history + [
        {"role": "user", "content": render_question(message)},
        {"role": "assistant", "content": reply.html},
    ]


def ask_json(question: str, history: Sequence[str] | None, assistant: AnswersQuestions) -> dict[str, Any]:
    """The API: the JSON shape of `baclofen-qa ask --json` (see assistant/serialize.py).

    Raises:
        gr.Error: the question is not text, empty or too long, or the history is not a list of texts.
    """
    problem = text_problem(question, "question")
    if problem:
        raise gr.Error(problem, print_exception=False)
    if history is None:
        history = []
    if not isinstance(history, (list, tuple)) or not all(isinstance(item, str) for item in history):
        raise gr.Error(
            "history must be a list of the earlier questions (strings), oldest first.", print_exception=False
        )
    for number, item in enumerate(history, start=1):
        problem = text_problem(item, f"history item {number}")
        if problem:
            raise gr.Error(problem, print_exception=False)
    try:
        answer = assistant.answer(question, list(history))
    except AssistantError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    return answer_to_dict(answer)


def notice_line(settings: Settings, documents: Sequence[Document]) -> str:
    """The one line under the title: what the assistant is and is not."""
    what = "one article" if len(documents) == 1 else f"{len(documents)} documents"
    if documents and all(d.reviewed for d in documents):
        review = ""
    elif any(d.reviewed for d in documents):
        review = ", not all of them reviewed by a clinician"
    else:
        review = " that no clinician has reviewed"
    return (
        '<p class="bq-notice-line" role="note">'
        f"This assistant only <strong>quotes</strong> {what} about baclofen{review}. "
        "It is <strong>not</strong> a doctor or pharmacist and does not give medical advice. "
        f"In an emergency, call your local emergency number ({html.escape(settings.emergency_number)})."
        "</p>"
    )


ABOUT_LEGEND = (
    "<p>Every answer is a word-for-word quotation from the documents below; nothing is written by a computer model. "
    "The <mark>highlighted</mark> sentence is the one that best matches your question. "
    "Banners marked <strong>EMERGENCY</strong>, <strong>Urgent</strong> or <strong>Caution</strong> are fixed safety "
    "messages shown before the quotes. “⚠ unverified” marks claims in the article that could not be checked.</p>"
)


def long_disclaimer(assistant: AnswersQuestions) -> str:
    """The engine's longer disclaimer (clinician-reviewed text in safety.toml), or "" if it has none."""
    messages = getattr(assistant, "messages", None)
    if messages is None or not hasattr(messages, "long_disclaimer"):
        return ""
    return messages.long_disclaimer(assistant.documents)


def about_panel(assistant: AnswersQuestions) -> str:
    """The "About the sources" panel: the long disclaimer, how to read answers, the documents."""
    disclaimer = long_disclaimer(assistant)
    intro = f'<p class="bq-long-disclaimer">{text_to_html(disclaimer)}</p>' if disclaimer else ""
    return intro + ABOUT_LEGEND + render_documents(assistant.documents)


# Gradio keeps a per-session copy of every component's config (about 33 KiB here) for its last
# SESSION_STATE_CAPACITY sessions, and every API call is a new session: with Gradio's default (10,000)
# the server grew by 64 MiB over 2,000 API calls and would reach about 330 MiB. This app keeps nothing
# in session state (the chat history travels with each event), so evicting an old session loses nothing.
SESSION_STATE_CAPACITY = 500
INTERNAL_ERROR_MESSAGE = (
    "Sorry, the assistant failed on this request (an internal error, recorded in the server log). "
    "Please try again; if it keeps happening, tell whoever runs this server."
)
Handler = TypeVar("Handler", bound=Callable[..., Any])


def explain_failures(handler: Handler) -> Handler:
    """Every failure of an event handler reaches the client as a sentence.

    Gradio sends `"error": null` for any exception other than `gr.Error` (show_error is off so that
    internal details never reach a client). Expected problems are already `gr.Error`s or replies; this
    is the last resort for a bug, so it catches everything and keeps the traceback in the server log.
    """

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except Exception:  # noqa: BLE001 - the outermost boundary; see the docstring
            log.exception("The %s handler failed", getattr(handler, "__name__", "event"))
            raise gr.Error(INTERNAL_ERROR_MESSAGE, print_exception=False) from None

    return wrapper  # type: ignore[return-value]


class ChatBlocks(gr.Blocks):
    """`gr.Blocks` whose complaint about missing input values reaches the client as a message."""

    def validate_inputs(self, block_fn: Any, inputs: list[Any]) -> None:
        try:
            super().validate_inputs(block_fn, inputs)
        except ValueError:
            # Gradio raises a plain ValueError here, which a client receives as `"error": null` and
            # the server log as a traceback.
            try:
                names = ", ".join(inspect.signature(block_fn.fn).parameters)
            except (TypeError, ValueError):
                names = ""
            wanted = f"{len(block_fn.inputs)} ({names})" if names else str(len(block_fn.inputs))
            raise gr.Error(
                f"This request sent {len(inputs)} input value(s); this endpoint needs {wanted}. "
                "For /ask send [question, history], with [] as the history when there are no earlier questions.",
                print_exception=False,
            ) from None


def build_app(assistant: AnswersQuestions, settings: Settings) -> gr.Blocks:
    """The chat page and the `/ask` API endpoint, wired to one loaded assistant."""

    @explain_failures
    def on_submit(message: str, history: list) -> tuple[str, list]:
        return chat_turn(message, history, assistant)

    def _example_handler(question: str):
        @explain_failures
        def on_example(history: list) -> list:
            return chat_turn(question, history, assistant)[1]

        return on_example

    @explain_failures
    def ask(question: str, history: list[str] | None = None) -> dict:
        """Answer a question about baclofen by quoting the documents verbatim, with safety notices.

        Args:
            question: the question, at most max_question_chars (default 1000) characters.
            history: the user's earlier questions in the same conversation, oldest first ([] for none).
        Returns:
            The JSON of `baclofen-qa ask --json` (its keys are listed in the README).
        """
        return ask_json(question, history, assistant)

    with ChatBlocks(title=TITLE, analytics_enabled=False) as demo:
        gr.HTML(f"<h1>{html.escape(TITLE)}</h1>{notice_line(settings, assistant.documents)}", elem_id="bq-header")
        chatbot = gr.Chatbot(
            label="Conversation",
            elem_id="bq-chat",
            height="62vh",
            min_height=360,
            autoscroll=False,  # see SHOW_NEW_REPLY_FROM_THE_TOP_JS
            # Replies are HTML from ui/render.py (every text piece escaped); Markdown off so that
            # `[x](javascript:...)`, `*`, `#`, `|` or `$` in a question or a quote stay literal.
            render_markdown=False,
            sanitize_html=True,
            allow_tags=False,
            latex_delimiters=[],
            feedback_options=None,
            buttons=[],  # the copy buttons would copy the reply's HTML source, not its text
            placeholder=(
                "<p><strong>Ask a question about baclofen.</strong><br>"
                "Answers are word-for-word quotations from the documents listed under “About the sources”. "
                "They are not medical advice.</p>"
            ),
        )
        textbox = gr.Textbox(
            label="Your question",
            placeholder="Type your question and press Enter",
            lines=1,
            max_lines=6,
            submit_btn="Ask",
            autofocus=True,
            elem_id="bq-question",
        )
        with gr.Row():
            gr.ClearButton([textbox, chatbot], value="Clear conversation", size="sm", elem_id="bq-clear")
        gr.Markdown("**Example questions** (click to ask):")
        with gr.Row(elem_id="bq-examples"):
            example_buttons = [gr.Button(question, size="sm", variant="secondary") for question in EXAMPLE_QUESTIONS]
        with gr.Accordion("About the sources", open=False, elem_id="bq-about"):
            gr.HTML(about_panel(assistant))

        # Every event that runs the assistant shares one limit, so at most concurrency_limit
        # answers are computed at once however the requests arrive (chat, examples, API).
        limits = dict(concurrency_limit=settings.concurrency_limit, concurrency_id="assistant")
        textbox.submit(on_submit, [textbox, chatbot], [textbox, chatbot], api_visibility="private", **limits)
        for button, question in zip(example_buttons, EXAMPLE_QUESTIONS):
            button.click(_example_handler(question), [chatbot], [chatbot], api_visibility="private", **limits)
        gr.api(ask, api_name=API_NAME, **limits)

    demo.queue(default_concurrency_limit=settings.concurrency_limit)
    return demo


def launch_app(demo: gr.Blocks, settings: Settings, *, documents: Sequence[Document] = (), **overrides: Any):
    """Start the server with the project's limits. Blocks unless `prevent_thread_lock=True`.

    `documents` are the ones the "Show in document" links open (ui/document_page.py).

    Returns what `gr.Blocks.launch` returns: (app, local_url, share_url).
    """
    auth = (settings.auth_user, settings.auth_password) if settings.auth_user and settings.auth_password else None
    guard = guard_middleware(
        max_failures=settings.login_max_failures,
        lockout_seconds=settings.login_lockout_seconds,
        failure_delay_seconds=settings.login_failure_delay_seconds,
    )
    options: dict[str, Any] = dict(
        server_name=settings.host,
        server_port=settings.port,
        share=False,  # never a public *.gradio.live link
        auth=auth,
        auth_message=(
            "Log in with the user name and password set in BACLOFEN_QA_AUTH_USER / BACLOFEN_QA_AUTH_PASSWORD. "
            f"After {settings.login_max_failures} failed attempts, logins from your address are refused for "
            f"{settings.login_lockout_seconds:g} seconds."
        )
        if auth
        else None,
        # WebGuard refuses uploads, hides the API description from strangers and throttles logins
        # (ui/web_guard.py). FastAPI's own /openapi.json, served without login, lists every route.
        # routes: the "Show in document" page, added before the server starts and behind the guard.
        app_kwargs={"middleware": [guard], "openapi_url": None, "routes": [document_route(documents)]},
        max_file_size=0,  # a second lock on uploads, should a route escape the guard
        state_session_capacity=SESSION_STATE_CAPACITY,
        ssr_mode=False,
        enable_monitoring=False,
        show_error=False,
        quiet=True,  # the CLI prints the address; Gradio's own banner suggests a public share link, which we never want
        css=CSS,
        js=SHOW_NEW_REPLY_FROM_THE_TOP_JS,
    )
    options.update(overrides)
    return demo.launch(**options)
