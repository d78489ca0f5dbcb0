"""Reading an LMS history: moved to `postenroll_sim/history/exports.py` (the warm start,
S39, reads it too, below this room); these names stay importable from here."""

from ...history.exports import (  # noqa: F401 - re-exported
    FIELDS,
    MOMENTS,
    SAME_INSTANT,
    History,
    HistoryMap,
    Record,
    load_map,
    parse_history,
    parse_map,
    read_history,
)
