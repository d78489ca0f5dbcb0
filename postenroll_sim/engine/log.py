"""The run's event log: what happened, in order, as it happens (the `events` table).

The engine reports here (`event`), one packed row a call (one C call a row, no per-event
pandas work); the recorder (postenroll_sim/recorder.py) builds the table from the rows
once the run is over. Free texts (`detail`: a reason, a session id) are interned as codes.
"""

from __future__ import annotations

import struct

from .store import NONE

# day; event, learner, course, enrollment, rule, job, detail. Native sizes, no padding.
EVENT_ROW = struct.Struct("=d7i")


class EventLog:
    def __init__(self) -> None:
        self.rows = bytearray()  # one EVENT_ROW an event, in the order they happened
        self.details: list[str] = []
        self._detail_code: dict[str, int] = {}

    def code(self, detail: str) -> int:
        """The code of a `detail` text (interned: each text is stored once)."""
        code = self._detail_code.get(detail)
        if code is None:
            code = self._detail_code[detail] = len(self.details)
            self.details.append(detail)
        return code

    def event(
        self,
        day: float,
        event: int,
        learner: int = NONE,
        course: int = NONE,
        enrollment: int = NONE,
        rule: int = NONE,
        job: int = NONE,
        detail: int = NONE,
    ) -> None:
        """Log one event; `detail` is a code from `code()`."""
        self.rows += EVENT_ROW.pack(day, event, learner, course, enrollment, rule, job, detail)

    def __len__(self) -> int:
        return len(self.rows) // EVENT_ROW.size


class NullLog(EventLog):
    """A log that keeps no events: for runs whose events table nobody asked for."""

    def event(
        self,
        day: float,
        event: int,
        learner: int = NONE,
        course: int = NONE,
        enrollment: int = NONE,
        rule: int = NONE,
        job: int = NONE,
        detail: int = NONE,
    ) -> None:
        return None
