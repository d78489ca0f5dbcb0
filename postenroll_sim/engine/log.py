"""The run's event log: what happened, in order, as it happens (the `events` table).

The engine reports here (`event`), one packed row a call (no per-event pandas work); the
recorder (postenroll_sim/recorder.py) builds the table from the rows once the run is
over (`finish`). Free texts (`detail`: a reason, a session id) are interned as codes.

Interpreted, a row is `EVENT_ROW.pack(...)` appended to a bytearray. Compiled, the same
bytes are written in place into room kept ahead in that bytearray (no Python objects
made for the call): the one place the engine has a compiled-only branch, because this
is its most frequent call, and it is only how a row is stored, never what it says.
"""

from __future__ import annotations

import struct

try:
    import cython

    COMPILED = cython.compiled
except ImportError:  # Cython is needed to build the compiled core, not to run
    COMPILED = False

from .store import NONE, room

# day; event, learner, course, enrollment, rule, job, detail. Native sizes, no padding.
EVENT_ROW = struct.Struct("=d7i")
ROW_SIZE = EVENT_ROW.size


class EventLog:
    def __init__(self) -> None:
        self.rows = bytearray()  # one EVENT_ROW an event, in the order they happened
        self.n = 0  # rows written (compiled, `rows` keeps room beyond them until finish)
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
        if COMPILED:
            self._write(day, event, learner, course, enrollment, rule, job, detail)
        else:
            self.rows += EVENT_ROW.pack(day, event, learner, course, enrollment, rule, job, detail)
            self.n += 1

    def _write(self, day, event, learner, course, enrollment, rule, job, detail) -> None:
        """Compiled only: the row EVENT_ROW.pack would make, written in place."""
        offset = self.n * ROW_SIZE
        if offset + ROW_SIZE > len(self.rows):
            self._view = None  # a view pins the bytearray: let go of it while it grows
            self.rows.extend(bytes(room(len(self.rows))))
            self._view = self.rows
        at = cython.address(self._view[offset])
        cython.cast(cython.pointer(cython.double), at)[0] = day
        fields = cython.cast(cython.pointer(cython.int), at + 8)
        fields[0] = event
        fields[1] = learner
        fields[2] = course
        fields[3] = enrollment
        fields[4] = rule
        fields[5] = job
        fields[6] = detail
        self.n += 1

    def finish(self) -> None:
        """The run is over: `rows` holds exactly the rows written, for the recorder."""
        self._view = None
        del self.rows[self.n * ROW_SIZE :]

    def __len__(self) -> int:
        # the rows written, less any the recorder has already taken (it cuts `rows` back
        # as it builds the table, once the run is over)
        return min(self.n, len(self.rows) // ROW_SIZE)


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
