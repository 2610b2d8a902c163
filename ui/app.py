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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import gradio as gr

from assistant.config import Settings
from assistant.errors import AssistantError, InvalidQuestionError
from assistant.records import AnswersQuestions, Document, Level
from assistant.safety import Labels, SafetyMessages, load_labels, personalise
from assistant.serialize import answer_to_dict
from ui.document_page import document_route
from ui.feedback import FeedbackLog
from ui.render import (
    Contacts,
    render_answer,
    render_documents,
    render_error,
    render_question,
    text_to_html,
    words_to_html,
)
from ui.web_guard import guard_middleware

log = logging.getLogger(__name__)

API_NAME = "ask"
# The page's title, prompt and example questions are wording.toml [page], filled with the corpus's main
# medicine (`ChatAssistant.medicine`), so that a folder about another medicine gets its own page.

UI_DIR = Path(__file__).resolve().parent
# The page's styles and its one script (scrolling, accessible names, copy, the character counter).
CSS = (UI_DIR / "chat.css").read_text(encoding="utf-8")
PAGE_JS = (UI_DIR / "chat.js").read_text(encoding="utf-8")
# Fonts the reader's device already has: Gradio's bundled web font has no lowercase glyphs in its
# semi-bold face, so bold text mixed two fonts; and nothing is fetched from a font service.
FONT_STACK = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "DejaVu Sans", "Arial", "sans-serif")
# The conversation is kept in the browser's own storage (gr.BrowserState: localStorage, encrypted
# with a key the server makes at start), so a reload in the same browser keeps it and nothing about it
# is stored on the server. The most recent messages are kept.
STORAGE_KEY = "baclofen-qa-conversation"
MAX_SAVED_MESSAGES = 200


class ChatAssistant(AnswersQuestions, Protocol):
    """What the chat needs from `assistant.engine.Assistant`: what every system answering questions has
    (assistant/records.py), and the medicine and wording the page shows."""

    @property
    def medicine(self) -> str:
        """The corpus's main medicine ("" when it is about none), named by the page."""
        ...

    @property
    def messages(self) -> SafetyMessages:
        """The wording (wording.toml) the answers use; the page shows its long disclaimer."""
        ...


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


def _role(message: Any) -> str | None:
    """The role of a chat message: Gradio hands events dicts, and `gr.ChatMessage` records in Python."""
    if isinstance(message, dict):
        return message.get("role")
    return message.role if isinstance(message, gr.ChatMessage) else None


def _content(message: Any) -> str:
    if isinstance(message, dict):
        return _message_text(message.get("content"))
    return _message_text(message.content) if isinstance(message, gr.ChatMessage) else ""


def past_questions(history: Sequence[Any] | None) -> list[str]:
    """The user's earlier questions in this chat, oldest first, as they typed them."""
    typed = (_display_to_text(_content(m)).strip() for m in history or () if _role(m) == "user")
    return [text for text in typed if text]


def shown_as_text(value: Any) -> str:
    """`value` as text that can be sent back to the page: lone surrogates become U+FFFD (the JSON
    encoder refuses them), anything that is not a string becomes ""."""
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def disclaimer_shown(history: Sequence[Any] | None, disclaimer: str) -> bool:
    """Has this chat already shown `disclaimer` in full? (Then an answer shows its short line.)"""
    shown = f'bq-disclaimer-full">{text_to_html(disclaimer)}<'
    return any(_role(m) == "assistant" and shown in _content(m) for m in history or ())


def respond(
    message: str, history: Sequence[Any] | None, assistant: ChatAssistant, contacts: Contacts = Contacts()
) -> Reply:
    """Answer one chat message given the chat so far; problems become a friendly reply.

    The disclaimer is shown in full the first time this chat quotes these documents, then as one
    short line naming the documents quoted.
    """
    try:
        answer = assistant.answer(message, past_questions(history))
    except InvalidQuestionError as exc:
        return Reply(render_error(str(exc)), accepted=False)
    except AssistantError as exc:
        return Reply(render_error(personalise(load_labels().chat.could_not_answer, error=str(exc))), accepted=False)
    full = not disclaimer_shown(history, answer.disclaimer)
    return Reply(render_answer(answer, contacts=contacts, full_disclaimer=full), accepted=True)


def chat_turn(
    message: str, history: list | None, assistant: ChatAssistant, contacts: Contacts = Contacts()
) -> tuple[str, list]:
    """The textbox event: (new textbox value, new chat history).

    An accepted question is added with its answer and the textbox is emptied. A rejected one
    (too long) keeps its text in the box so it can be shortened, and only the explanation is
    added, in a bubble of its own, so it never becomes part of the history used for follow-ups.
    Blank input does nothing.
    """
    history = list(history or [])
    if isinstance(message, str) and not message.strip():
        return "", history
    reply = respond(message, history, assistant, contacts)
    if not reply.accepted:
        return shown_as_text(message), history + [{"role": "assistant", "content": reply.html}]
    return "", history + [
        {"role": "user", "content": render_question(message)},
        {"role": "assistant", "content": reply.html},
    ]


def last_question(history: Sequence[Any] | None) -> tuple[int, str] | None:
    """Where the chat's last question is and its text as typed, or None before the first question."""
    messages = list(history or ())
    for position in range(len(messages) - 1, -1, -1):
        if _role(messages[position]) == "user":
            return position, _display_to_text(_content(messages[position]))
    return None


def ask_again(history: list | None, assistant: ChatAssistant, contacts: Contacts = Contacts()) -> list:
    """ "Ask again": the last question answered anew, in place of its earlier answer."""
    found = last_question(history)
    if found is None:
        return list(history or [])
    position, question = found
    return chat_turn(question, list(history or [])[:position], assistant, contacts)[1]


def edit_last_question(history: list | None) -> tuple[str, list]:
    """ "Edit last question": the last question goes back into the box and leaves the chat with its answer."""
    found = last_question(history)
    if found is None:
        return "", list(history or [])
    position, question = found
    return question, list(history or [])[:position]


READY_ATTRIBUTE = "data-bq-ready"  # set on <html> once the saved conversation is back


def restore_conversation(saved: Any) -> list:
    """The conversation kept in this browser, as chat messages; anything else in storage is dropped."""
    if not isinstance(saved, list):
        return []
    # Stored as Gradio sends messages to the page: content as a string or a list of text blocks.
    messages = [
        {"role": m["role"], "content": _message_text(m.get("content"))}
        for m in saved
        if isinstance(m, dict) and m.get("role") in ("user", "assistant")
    ]
    return [m for m in messages if m["content"]][-MAX_SAVED_MESSAGES:]


def rate_reply(history: Sequence[Any] | None, index: Any, liked: Any, feedback: FeedbackLog) -> None:
    """Record a thumbs up/down on the reply at `index` of the chat (ui/feedback.py)."""
    messages = list(history or ())
    position = index[0] if isinstance(index, (list, tuple)) and index else index
    if not isinstance(position, int) or not 0 <= position < len(messages) or _role(messages[position]) != "assistant":
        raise gr.Error(load_labels().chat.rating_unmatched, print_exception=False)
    earlier = last_question(messages[:position])
    thumbs_up = liked is True or liked == "Like"
    try:
        feedback.record(
            liked=thumbs_up, reply_html=_content(messages[position]), question=earlier[1] if earlier else ""
        )
    except OSError:
        log.exception("The feedback file %s could not be written", feedback.path)
        raise gr.Error(load_labels().chat.rating_not_saved, print_exception=False) from None
    gr.Info(load_labels().chat.rating_saved)


def ask_json(question: str, history: Sequence[str] | None, assistant: ChatAssistant) -> dict[str, Any]:
    """The API: the JSON shape of `baclofen-qa ask --json` (see assistant/serialize.py).

    Raises:
        gr.Error: the question is not text, empty or too long, or the history is not a list of texts.
    """
    # The engine checks types, encoding and lengths (validate_request), for the API as for the chat.
    try:
        answer = assistant.answer(question, () if history is None else history)
    except AssistantError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    return answer_to_dict(answer)


def page_title(medicine: str) -> str:
    """The page's title: "Baclofen questions" for the baclofen corpus (wording.toml [page] title)."""
    return load_labels().title(medicine)


def example_questions(medicine: str) -> tuple[str, ...]:
    """The example buttons' questions about `medicine` (wording.toml [page] examples)."""
    return load_labels().examples(medicine)


def notice_line(settings: Settings, documents: Sequence[Document], medicine: str) -> str:
    """The one line under the title: what the assistant is and is not ("this medicine" when the corpus names none)."""
    words = load_labels().chat
    count = len(documents)
    what = words.notice_one_document if count == 1 else personalise(words.notice_documents, count=str(count))
    if documents and all(d.reviewed for d in documents):
        review = ""
    elif any(d.reviewed for d in documents):
        review = words.notice_some_reviewed
    else:
        review = words.notice_none_reviewed
    line = words_to_html(words.notice_line, medicine, documents=text_to_html(what), review=text_to_html(review))
    emergency = words_to_html(words.notice_emergency, emergency_number=html.escape(settings.emergency_number))
    return f'<p class="bq-notice-line" role="note">{line} {contacts_for(settings).linkify(emergency)}</p>'


def contacts_for(settings: Settings) -> Contacts:
    """The configured help numbers, to be shown as tel: links."""
    return Contacts.of(settings.emergency_number, settings.poison_line, settings.crisis_line)


def about_legend(labels: Labels) -> str:
    """How to read an answer; the banner labels and the "unverified" marker named as the answers show them."""
    urgent, crisis, caution = (html.escape(labels.level(level)) for level in (Level.RED, Level.CRISIS, Level.AMBER))
    unverified = html.escape(labels.unverified_label)
    legend = words_to_html(labels.chat.legend, urgent=urgent, crisis=crisis, caution=caution, unverified=unverified)
    return f"<p>{legend}</p>"


def long_disclaimer(assistant: ChatAssistant) -> str:
    """The engine's longer disclaimer (clinician-reviewed text in wording.toml)."""
    return assistant.messages.long_disclaimer(assistant.documents)


def about_panel(assistant: ChatAssistant) -> str:
    """The "About the sources" panel: the long disclaimer, how to read answers, the documents.

    A native <details> element, so that its open or closed state reaches screen readers and the
    keyboard without any script.
    """
    disclaimer = long_disclaimer(assistant)
    intro = f'<p class="bq-long-disclaimer">{text_to_html(disclaimer)}</p>' if disclaimer else ""
    return (
        f'<details id="bq-about"><summary>{text_to_html(assistant.messages.labels.chat.about_heading)}</summary>'
        + intro
        + about_legend(assistant.messages.labels)
        + render_documents(assistant.documents)
        + "</details>"
    )


# The words chat.js shows (wording.toml [chat] entry -> the data attribute it reads), so the script holds
# no second copy of them.
SCRIPT_WORDS = {
    "question_label": "question",
    "you": "you",
    "assistant_name": "assistant",
    "counter_near": "near",
    "counter_over": "over",
    "copied": "copied",
    "copy_failed": "copy-failed",
}


def script_words(labels: Labels) -> str:
    """A hidden element whose data attributes are the words chat.js shows (it reads them from the page)."""
    attributes = " ".join(
        f'data-{attribute}="{html.escape(getattr(labels.chat, entry), quote=True)}"'
        for entry, attribute in SCRIPT_WORDS.items()
    )
    return f'<div id="bq-words" hidden {attributes}></div>'


# Gradio keeps a per-session copy of every component's config (about 33 KiB here) for its last
# SESSION_STATE_CAPACITY sessions, and every API call is a new session: with Gradio's default (10,000)
# the server grew by 64 MiB over 2,000 API calls and would reach about 330 MiB. This app keeps nothing
# in session state (the chat history travels with each event), so evicting an old session loses nothing.
SESSION_STATE_CAPACITY = 500
INTERNAL_ERROR_MESSAGE = load_labels().chat.internal_error
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


def build_app(assistant: ChatAssistant, settings: Settings) -> gr.Blocks:
    """The chat page and the `/ask` API endpoint, wired to one loaded assistant.

    Raises:
        SettingsError: feedback_file is set but cannot be written.
    """
    contacts = contacts_for(settings)
    feedback = (
        FeedbackLog(settings.feedback_file, keep_question=settings.feedback_keep_question)
        if settings.feedback_file
        else None
    )

    @explain_failures
    def on_submit(message: str, history: list) -> tuple[str, list, list]:
        box, history = chat_turn(message, history, assistant, contacts)
        return box, history, history

    def _example_handler(question: str):
        @explain_failures
        def on_example(history: list) -> tuple[list, list]:
            history = chat_turn(question, history, assistant, contacts)[1]
            return history, history

        return on_example

    @explain_failures
    def on_ask_again(history: list) -> tuple[list, list]:
        history = ask_again(history, assistant, contacts)
        return history, history

    @explain_failures
    def on_edit(history: list) -> tuple[str, list, list]:
        box, history = edit_last_question(history)
        return box, history, history

    @explain_failures
    def on_rate(history: list, rating: gr.LikeData) -> None:
        if feedback is not None:
            rate_reply(history, rating.index, rating.liked, feedback)

    @explain_failures
    def ask(question: str, history: list[str] | None = None) -> dict:
        """Answer a question about the medicine by quoting the documents verbatim, with safety notices.

        Args:
            question: the question, at most max_question_chars (default 1000) characters.
            history: the user's earlier questions in the same conversation, oldest first ([] for none).
        Returns:
            The JSON of `baclofen-qa ask --json` (its keys are listed in the README).
        """
        return ask_json(question, history, assistant)

    medicine = assistant.medicine
    words = load_labels().chat
    title = page_title(medicine)
    examples = example_questions(medicine)
    with ChatBlocks(title=title, analytics_enabled=False) as demo:
        gr.HTML(
            f"<h1>{html.escape(title)}</h1>{notice_line(settings, assistant.documents, medicine)}", elem_id="bq-header"
        )
        saved = gr.BrowserState([], storage_key=STORAGE_KEY)
        chatbot = gr.Chatbot(
            label=words.conversation_label,
            show_label=False,  # Gradio floats the label over the first line of the conversation
            elem_id="bq-chat",
            height="62vh",  # a phone gets no inner scrolling at all (chat.css)
            min_height=360,
            autoscroll=False,  # chat.js shows each new reply from its first line instead
            # Each reply, error and refusal in a bubble of its own, so that a refusal is never read as
            # the end of the answer above it.
            group_consecutive_messages=False,
            # Replies are HTML from ui/render.py (every text piece escaped); Markdown off so that
            # `[x](javascript:...)`, `*`, `#`, `|` or `$` in a question or a quote stay literal.
            render_markdown=False,
            sanitize_html=True,
            allow_tags=False,
            latex_delimiters=[],
            feedback_options=("Like", "Dislike") if feedback is not None else None,
            buttons=[],  # Gradio's copy button would copy the reply's HTML; each reply has its own (chat.js)
            placeholder=(
                f"<p><strong>{html.escape(load_labels().prompt(medicine))}</strong><br>"
                + words_to_html(words.chat_placeholder, medicine, about_heading=text_to_html(words.about_heading))
                + "</p>"
            ),
        )
        textbox = gr.Textbox(
            label=words.question_label,
            placeholder=words.question_placeholder,
            lines=1,
            max_lines=6,
            submit_btn=words.ask_button,
            elem_id="bq-question",
        )
        # Filled by chat.js as the question nears max_question_chars; #bq-words hands chat.js its words.
        gr.HTML(
            f'<div id="bq-counter" role="status" aria-live="polite" data-max="{settings.max_question_chars}"></div>'
            + script_words(load_labels()),
            padding=False,
            elem_id="bq-counter-block",
        )
        with gr.Row(elem_id="bq-tools"):
            again_button = gr.Button(words.ask_again, size="sm", variant="secondary", elem_id="bq-again")
            edit_button = gr.Button(words.edit_last_question, size="sm", variant="secondary", elem_id="bq-edit")
            clear_button = gr.ClearButton(
                [textbox, chatbot], value=words.clear_conversation, size="sm", elem_id="bq-clear"
            )
        heading = f"{text_to_html(words.examples_heading)} <span>{text_to_html(words.examples_hint)}</span>"
        gr.HTML(f'<h2 class="bq-examples-title">{heading}</h2>', padding=False)
        with gr.Row(elem_id="bq-examples"):
            example_buttons = [gr.Button(question, size="sm", variant="secondary") for question in examples]
        gr.HTML(about_panel(assistant), padding=False)

        # Every event that runs the assistant shares one limit, so at most concurrency_limit
        # answers are computed at once however the requests arrive (chat, examples, API).
        limits: dict[str, Any] = dict(concurrency_limit=settings.concurrency_limit, concurrency_id="assistant")
        private: dict[str, Any] = dict(api_visibility="private")
        # Each event that changes the conversation also hands it to `saved` (the browser's storage),
        # in the same update: a separate change event raced the next question typed.
        textbox.submit(on_submit, [textbox, chatbot], [textbox, chatbot, saved], **private, **limits)
        for button, question in zip(example_buttons, examples, strict=True):
            button.click(_example_handler(question), [chatbot], [chatbot, saved], **private, **limits)
        again_button.click(on_ask_again, [chatbot], [chatbot, saved], **private, **limits)
        edit_button.click(on_edit, [chatbot], [textbox, chatbot, saved], **private).then(
            None, js="() => document.querySelector('#bq-question textarea')?.focus()"
        )
        if feedback is not None:
            chatbot.like(on_rate, [chatbot], None, **private)
        # The conversation survives a reload: put back on load from this browser's storage.
        clear_button.click(lambda: [], None, [saved], **private, queue=False)
        # The marker tells anything driving the page (the browser tests, a monitoring probe) that the
        # restore has landed: a question sent before it could be wiped by the restored conversation.
        demo.load(restore_conversation, [saved], [chatbot], **private, queue=False).then(
            None, js=f"() => document.documentElement.setAttribute('{READY_ATTRIBUTE}', '')"
        )
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
        auth_message=personalise(
            load_labels().chat.login_message,
            max_failures=str(settings.login_max_failures),
            lockout_seconds=f"{settings.login_lockout_seconds:g}",
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
        js=PAGE_JS,
        theme=gr.themes.Default(font=list(FONT_STACK)),
        footer_links=[],  # "Use via API" and "Settings" links failed contrast; the API is in the README
    )
    options.update(overrides)
    return demo.launch(**options)
