"""The run's event log: what happened, in order, as it happens (the `events` table).

The engine reports here (`event`), one packed row a call (no per-event pandas work); the
recorder (postenroll_sim/engine/recorder.py) builds the table from the rows once the run is
over (`finish`). Free texts (`detail`: a reason, a session id) are interned as codes.

Rows are kept in chunks of CHUNK_ROWS (2.4 MB): no copy of the whole log when it grows,
and a reader that takes the rows in order can let each chunk go once it has it. Given a
`spill` file, full chunks are written there instead of being kept: at a million learners
the log is 1.3 GB that then never sits in memory (`postenroll-sim run` spills into its
output folder's staging area).

Interpreted, a row is `EVENT_ROW.pack(...)` appended to the current chunk. Compiled, the
same bytes are written in place (no Python objects made for the call): the one place
the engine has a compiled-only branch, because this is its most frequent call, and it
is only how a row is stored, never what it says.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

try:
    import cython

    COMPILED = cython.compiled
except ImportError:  # Cython is needed to build the compiled core, not to run
    COMPILED = False

from .store import NONE

# day; event, learner, course, enrollment, rule, job, detail. Native sizes, no padding.
EVENT_ROW = struct.Struct("=d7i")
ROW_SIZE = EVENT_ROW.size
CHUNK_ROWS = 1 << 16
CHUNK_BYTES = CHUNK_ROWS * ROW_SIZE
_CHUNK_ROWS, _CHUNK_BYTES = CHUNK_ROWS, CHUNK_BYTES  # compiled: C values (log.pxd)


class EventLog:
    def __init__(self, spill: str | os.PathLike | None = None) -> None:
        self.n = 0  # rows written
        self.taken = 0  # rows a reader has taken and let go of (`chunks(release=True)`)
        self.fill = 0  # rows in the current chunk
        self.rows = bytearray()  # the current chunk (compiled: room for CHUNK_ROWS ahead)
        self.sealed: list[bytearray] = []  # full chunks kept in memory, in order
        self.spill_path = os.fspath(spill) if spill is not None else None
        self.spill = open(spill, "w+b") if spill is not None else None  # noqa: SIM115
        self.spilled = 0  # full chunks written to the spill file
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
        self.fill += 1
        if self.fill == _CHUNK_ROWS:
            self._seal()

    def _write(self, day, event, learner, course, enrollment, rule, job, detail) -> None:
        """Compiled only: the row EVENT_ROW.pack would make, written in place."""
        offset = self.fill * ROW_SIZE
        if offset == 0:  # a new chunk: room for all its rows at once
            self._view = None
            self.rows = bytearray(_CHUNK_BYTES)
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

    def _seal(self) -> None:
        """The current chunk is full: keep it (or spill it) and start another."""
        self._view = None
        if self.spill is not None:
            self.spill.write(self.rows)
            self.spilled += 1
        else:
            self.sealed.append(self.rows)
        self.rows = bytearray()
        self.fill = 0

    def finish(self) -> None:
        """The run is over: the current chunk holds exactly the rows written into it."""
        self._view = None
        del self.rows[self.fill * ROW_SIZE :]
        if self.spill is not None:
            self.spill.flush()

    def chunks(self, release: bool = False) -> Iterator[bytes | bytearray]:
        """Every row in order, a chunk at a time (after `finish`). With `release` (the run
        is over), each chunk is let go of once the next is asked for, and the log is empty
        at the end."""
        if self.spill is not None and self.spilled:
            self.spill.seek(0)
            for _ in range(self.spilled):
                chunk = self.spill.read(CHUNK_BYTES)
                yield chunk
                if release:
                    self.taken += CHUNK_ROWS
            if release:
                self.spilled = 0
                self.spill.truncate(0)
        if not release:
            yield from self.sealed
        while release and self.sealed:
            yield self.sealed[0]
            del self.sealed[0]  # let go of it: the reader has it
            self.taken += CHUNK_ROWS
        if self.rows:
            yield self.rows
            if release:
                self.taken += self.fill
                self.rows = bytearray()
                self.fill = 0

    def close(self) -> None:
        """Remove the spill file (the rows are gone with it)."""
        if self.spill is not None:
            self.spill.close()
            self.spill = None
            os.unlink(self.spill_path)

    def __len__(self) -> int:
        return self.n - self.taken  # the rows not yet taken by a reader


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
