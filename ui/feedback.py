"""Thumbs up/down on answers, written to a local JSONL file only when the operator turns it on.

`Settings.feedback_file` names the file (no file: no rating buttons at all). Each rating is one
line: when, up or down, the kind of reply, the banners it showed and the passages it quoted
(document and character offsets, enough to find them again). The question is written only with
`Settings.feedback_keep_question` on: people type health details into a question that they did
not mean to hand to whoever reads the file.

The reply's facts come from the `data-*` attributes `ui/render.py` writes on each reply, so a
rating needs nothing kept on the server between the answer and the click.
"""

from __future__ import annotations

import html
import json
import re
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.errors import SettingsError

_ROOT_TAG = re.compile(r'^<div class="bq-answer"([^>]*)>')
_ATTRIBUTE = re.compile(r'\sdata-([a-z]+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class Rating:
    """One line of the feedback file."""

    time: str
    rating: str  # "up" or "down"
    kind: str  # the reply's kind: answer, not_found, help, emergency_only
    levels: list[str]  # the banners shown, most urgent first
    quotes: list[str]  # "doc_id:start-end" of each passage quoted
    question: str | None = None  # only with feedback_keep_question


def reply_facts(reply_html: str) -> dict[str, Any]:
    """The kind, banner levels and quotes a reply's root element records (empty if it records none)."""
    match = _ROOT_TAG.match(reply_html or "")
    attributes = {name: html.unescape(value) for name, value in _ATTRIBUTE.findall(match.group(1) if match else "")}
    split = lambda value: [item for item in value.split(" ") if item]  # noqa: E731
    return {
        "kind": attributes.get("kind", ""),
        "levels": split(attributes.get("levels", "")),
        "quotes": split(attributes.get("quotes", "")),
    }


class FeedbackLog:
    """Appends ratings to one JSONL file; safe to share between the server's worker threads."""

    def __init__(self, path: Path, *, keep_question: bool) -> None:
        self.path = path
        self.keep_question = keep_question
        self._lock = threading.Lock()
        # Checked at start-up, so that a wrong path is a clear message then, not a lost rating later.
        try:
            with self.path.open("a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise SettingsError(
                f"feedback_file {str(path)!r} cannot be written ({exc.strerror or exc}); "
                "name a file in a folder that exists and that this user can write to, or leave it unset"
            ) from None

    def record(self, *, liked: bool, reply_html: str, question: str) -> Rating:
        """Append one rating; returns what was written. Raises OSError if the file cannot be written."""
        rating = Rating(
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            rating="up" if liked else "down",
            **reply_facts(reply_html),
            question=question if self.keep_question else None,
        )
        line = json.dumps({k: v for k, v in asdict(rating).items() if v is not None}, ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
        return rating
