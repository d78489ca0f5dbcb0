"""An LMS's enrollment history: reading an export (`exports.py`, with its map or a
ready-made one, `maps/`), a learners file (`learners.py`), replaying it through the
engine (`replay.py`: for `audit` and the warm start) and the warm start itself
(`warm.py`, S39-S41)."""
