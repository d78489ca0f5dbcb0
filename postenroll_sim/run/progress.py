"""Saying what a long run is doing, on a terminal only: one line on stderr, rewritten in
place ("building tables", "report: recertification load"), cleared when done."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Status:
    """`status("building tables")` shows what the run does now; `status.done()` clears the
    line. Silent when disabled or when the stream is not a terminal (pipes, CI, logs)."""

    def __init__(self, enabled: bool = True, stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(enabled and isatty is not None and isatty())
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, what: str) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r\x1b[K{what} ... [{elapsed:.0f} s]")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
