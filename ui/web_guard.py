"""What the web server refuses or hides, as one ASGI middleware in front of Gradio's FastAPI app.

Gradio serves more than this app uses. `WebGuard` closes three gaps (issue 10, finding 9):

- File uploads: the app has no upload feature, but Gradio's `POST /gradio_api/upload` takes files of
  any size and serves them back from its cache, so anyone who can reach the server could host files
  on it. The upload routes answer 403 and nothing is written.
- The API description: with a login set, Gradio protects `/config` and `/gradio_api/info`, yet the
  login page it serves to strangers still embeds the full description of every endpoint
  (`window.gradio_api_info`). It is emptied on that page; a logged-in user gets the page unchanged.
- Password guessing: Gradio answers failed logins at once and without limit. Each failed login is
  answered after a short delay, and after `max_failures` failures in a row from one client address,
  every login from that address is refused (429) until the lockout ends.

Installed through `launch(app_kwargs={"middleware": [...]})` (`guard_middleware`), so it wraps every
route Gradio defines, whatever the order in which they are added.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.middleware import Middleware

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Gradio's upload routes (the file itself, and the progress of one); the app has no component
# that takes a file, so no page of ours ever calls them.
UPLOAD_PATHS = frozenset({"/gradio_api/upload", "/gradio_api/upload_progress", "/gradio_api/process_recording"})
LOGIN_PATH = "/login"
UPLOADS_OFF_MESSAGE = "File uploads are turned off on this server: the assistant has no upload feature."
# Emptied, not removed: the page's script still defines the variable the front end reads.
API_INFO_SCRIPT = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.DOTALL)
NO_API_INFO_SCRIPT = b'window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};</script>'
# Bounds the memory an attacker can make the throttle use by sending logins from many addresses.
MAX_TRACKED_CLIENTS = 10_000


@dataclass(slots=True)
class _Attempts:
    """Login attempts from one client address since its last success or lockout."""

    count: int = 0  # failed logins plus logins still being checked
    locked_until: float = 0.0


class LoginThrottle:
    """Counts failed logins per client address and says when one is locked out. No I/O."""

    def __init__(self, *, max_failures: int, lockout_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.clock = clock
        self._clients: dict[str, _Attempts] = {}

    def seconds_locked(self, client: str) -> float:
        """How long `client` must still wait before its next login is checked (0: not locked)."""
        attempts = self._clients.get(client)
        if attempts is None:
            return 0.0
        now = self.clock()
        if attempts.locked_until:
            if now < attempts.locked_until:
                return attempts.locked_until - now
            del self._clients[client]  # the lockout is over: a fresh start
            return 0.0
        if attempts.count >= self.max_failures:
            # Failures plus attempts in flight already reach the limit: refusing here stops parallel
            # guesses from all slipping in before the first of them is answered.
            return self.lockout_seconds
        return 0.0

    def start(self, client: str) -> None:
        """Count an attempt before it is checked (it stays counted unless it succeeds)."""
        if client not in self._clients and len(self._clients) >= MAX_TRACKED_CLIENTS:
            self._forget_idle()
        self._clients.setdefault(client, _Attempts()).count += 1

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)

    def failed(self, client: str) -> None:
        attempts = self._clients.setdefault(client, _Attempts(count=1))
        if attempts.count >= self.max_failures and not attempts.locked_until:
            attempts.locked_until = self.clock() + self.lockout_seconds

    def _forget_idle(self) -> None:
        now = self.clock()
        for client in [c for c, a in self._clients.items() if a.locked_until <= now]:
            del self._clients[client]


class WebGuard:
    """The ASGI middleware: refuses uploads, hides the API description from strangers, throttles logins."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_failures: int,
        lockout_seconds: float,
        failure_delay_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self.failure_delay_seconds = failure_delay_seconds
        self._sleep = sleep  # asyncio.sleep holds only this connection; a test passes a recorder
        self.throttle = LoginThrottle(max_failures=max_failures, lockout_seconds=lockout_seconds, clock=clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/") or "/"
        method = scope["method"]
        if path in UPLOAD_PATHS:
            await _send_json(send, 403, {"detail": UPLOADS_OFF_MESSAGE})
        elif path == LOGIN_PATH and method == "POST":
            await self._login(scope, receive, send)
        elif path == "/" and method == "GET" and _login_required(scope) and not _logged_in(scope):
            await self._login_page(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = (scope.get("client") or ("unknown",))[0]
        wait = self.throttle.seconds_locked(client)
        if wait > 0:
            seconds = math.ceil(wait)
            await _send_json(
                send,
                429,
                {"detail": f"Too many failed logins from this address. Try again in {seconds} seconds."},
                headers=[(b"retry-after", str(seconds).encode())],
            )
            return
        self.throttle.start(client)

        async def send_after_verdict(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.throttle.succeeded(client)
                else:
                    self.throttle.failed(client)
                    await self._sleep(self.failure_delay_seconds)
            await send(message)

        await self.app(scope, receive, send_after_verdict)

    async def _login_page(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve Gradio's login page with the API description emptied (the page is a few kB)."""
        start: Message = {}
        body = bytearray()

        async def send_emptied(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)  # held back: the length changes
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            page = API_INFO_SCRIPT.sub(lambda _: NO_API_INFO_SCRIPT, bytes(body), count=1)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, send_emptied)


def _login_required(scope: Scope) -> bool:
    """Gradio's App keeps the login (user -> password, or a function) in `auth`; None means no login."""
    return getattr(scope.get("app"), "auth", None) is not None


def _logged_in(scope: Scope) -> bool:
    """Whether the request carries a session token Gradio issued at login (its cookie names, its token table).

    If a Gradio upgrade renames these, this answers False: a logged-in user then gets a page without
    the API description, never a stranger a page with it.
    """
    app = scope.get("app")
    tokens = getattr(app, "tokens", None)
    cookie_id = getattr(app, "cookie_id", None)
    if not isinstance(tokens, dict) or cookie_id is None:
        return False
    cookies = _cookies(scope)
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
    return token is not None and token in tokens


def _cookies(scope: Scope) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        if key.lower() != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            name, _, item = part.strip().partition("=")
            if name:
                cookies[name] = item
    return cookies


async def _send_json(
    send: Send, status: int, content: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps(content).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def guard_middleware(*, max_failures: int, lockout_seconds: float, failure_delay_seconds: float) -> Middleware:
    """`WebGuard` as a Starlette `Middleware` entry for `launch(app_kwargs={"middleware": [...]})`."""
    return Middleware(
        WebGuard,
        max_failures=max_failures,
        lockout_seconds=lockout_seconds,
        failure_delay_seconds=failure_delay_seconds,
    )
