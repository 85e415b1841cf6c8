"""A one-line progress bar on stderr for long scripts — only where a person is watching."""

from __future__ import annotations

import os
import sys
import time
import typing as t

MIN_STATEMENTS = 5
_WIDTH = 24


def wanted(total: int, stream: t.TextIO | None = None) -> bool:
    """A terminal, not CI, and enough statements for a bar to be worth drawing."""
    stream = stream or sys.stderr
    is_terminal = getattr(stream, "isatty", lambda: False)()
    return total > MIN_STATEMENTS and is_terminal and not os.environ.get("CI")


class ProgressBar:
    def __init__(self, total: int, stream: t.TextIO | None = None):
        self.total = total
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.note = ""

    def waiting(self, seconds: float) -> None:
        """Called by the pacer: say the pause is the rate limit, not a hang."""
        self.note = f"pacing: waiting {seconds:.1f}s for the rate limit" if seconds >= 0.5 else ""

    def update(self, done: int, errors: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        filled = int(_WIDTH * done / self.total) if self.total else _WIDTH
        bar = "#" * filled + "-" * (_WIDTH - filled)
        note = f"  {self.note}" if self.note else ""
        self.stream.write(
            f"\r[{bar}] {done}/{self.total}  {done / elapsed:.1f}/s  errors: {errors}{note}\x1b[K"
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()
