"""Progress of a long batch on stderr: a tqdm bar on a terminal, plain lines anywhere else.

tqdm hides itself when stderr is not a terminal, so a 127k-question evaluation run from a script,
CI or `nohup` printed nothing for over half an hour. Off a terminal a carriage-return bar would
pile up in the log as one endless line, so there we print whole lines instead: one at the start,
then one each time another 5% is done or 30 s have passed, and one at the end, each with the
count, the rate and the time left.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

LINE_EVERY_FRACTION = 0.05  # 20 lines for a whole run: enough to see it move, few enough to read
LINE_EVERY_S = 30.0  # and never more than half a minute of silence, however slow each step is


class Progress(Protocol):
    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


class SilentProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class LineProgress:
    """Plain progress lines for a log: "default: 6400/127000 questions (5%), 41.3 questions/s, about 49 min left"."""

    def __init__(
        self,
        total: int,
        label: str,
        stream: TextIO,
        *,
        unit: str = "questions",
        every_fraction: float = LINE_EVERY_FRACTION,
        every_s: float = LINE_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.label, self.stream, self.unit = total, label, stream, unit
        self.step = max(1, math.ceil(total * every_fraction))
        self.every_s = every_s
        self.clock = clock
        self.done = 0
        self.started = self.last_line = clock()
        self.next_count = self.step
        self._write(f"{self._prefix()}{total} {unit} to answer")

    def update(self, n: int) -> None:
        self.done += n
        now = self.clock()
        if self.done >= self.total or self.done >= self.next_count or now - self.last_line >= self.every_s:
            self._write(self._status(now))
            self.last_line = now
            self.next_count = (self.done // self.step + 1) * self.step

    def close(self) -> None:
        pass  # the last update already printed the final count

    def _prefix(self) -> str:
        return f"{self.label}: " if self.label else ""

    def _status(self, now: float) -> str:
        elapsed = now - self.started
        percent = 100 * self.done // self.total if self.total else 100
        text = f"{self._prefix()}{self.done}/{self.total} {self.unit} ({percent}%)"
        if elapsed <= 0 or not self.done:
            return text
        rate = self.done / elapsed
        text += f", {rate:.1f} {self.unit}/s"
        if self.done >= self.total:
            return text + f", done in {format_duration(elapsed)}"
        return text + f", about {format_duration((self.total - self.done) / rate)} left"

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


class BarProgress:
    """tqdm's bar, for a person watching a terminal."""

    def __init__(self, total: int, label: str, stream: TextIO, *, unit: str = "q") -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=label, unit=unit, file=stream)

    def update(self, n: int) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


def format_duration(seconds: float) -> str:
    """ "42 s", "7 min", "2 h 05 min": coarse on purpose, an estimate is not more precise than that."""
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def open_progress(total: int, label: str, *, enabled: bool = True, stream: TextIO | None = None) -> Progress:
    """A bar on a terminal, plain lines elsewhere (stderr by default); nothing when not `enabled`."""
    stream = sys.stderr if stream is None else stream
    if not enabled or total <= 0:
        return SilentProgress()
    is_terminal = getattr(stream, "isatty", lambda: False)()
    return BarProgress(total, label, stream) if is_terminal else LineProgress(total, label, stream)
