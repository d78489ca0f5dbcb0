"""Replaying an LMS history through the engine: moved to `postenroll_sim/history/replay.py`
(the warm start, S39, replays through it too, below this room); these names stay
importable from here."""

from ...history.replay import (  # noqa: F401
    AuditLMS,
    Replay,
    Requirement,
    Unexpected,
    span,
    when,
)
