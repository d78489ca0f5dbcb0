"""What a report section shows, as data the templates render (templates/parts.html):
text made of pieces, tables of cells, figures, lists, a learner's story. Nothing here
is HTML: the templates escape every piece of text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup

from .. import formatting as F


@dataclass(frozen=True)
class Span:
    """Text in a class of the stylesheet: `band` (a 5-95% band, a note), `changed`."""

    css: str
    text: str


Inline = tuple  # text as pieces: each a str or a Span


def band(mean: float, p05: float, p95: float, kind: str, reps: int) -> Inline:
    """'mean (p05 to p95)' with the band greyed (formatting.band)."""
    text, spread = F.band(mean, p05, p95, kind, reps)
    return (text,) if spread is None else (text, " ", Span("band", spread))


def note(text: str) -> Inline:
    """A grey note after a number: ' (reached in 3 of 4)'."""
    return (" ", Span("band", text))


@dataclass
class Cell:
    text: Inline
    css: str = ""


@dataclass
class Row:
    head: str
    cells: list[Cell]


@dataclass
class Group:
    """A header row across the table."""

    title: str
    span: int


@dataclass
class Table:
    head: list[str]
    rows: list[Row | Group]
    kind: str = "table"
    css: str = ""  # "prose": every column read from the left

    @property
    def head_css(self) -> list[str]:
        """Each column head's class: "text" over a column of prose (left-aligned like
        its cells), else none."""
        cells = [r.cells for r in self.rows if isinstance(r, Row)]
        out = [""]  # the row heads' column: left-aligned anyway
        for k in range(len(self.head) - 1):
            column = [row[k].css for row in cells if k < len(row)]
            out.append("text" if column and all(c == "text" for c in column) else "")
        return out


# A cell with a word in it is prose (or an id), read from the left; numbers (with their
# %, signs and bands) stay right-aligned so that their digits line up.
_PROSE = re.compile(r"[^\W\d_]{2,}")


def table(frame: pd.DataFrame, digits: int = 1) -> Table:
    """A table of a frame: its index as the row heads; numbers of means as
    `formatting.table_number`, cells already made (a Cell: a frame cannot hold tuples)
    as they are."""

    def cell(value) -> Cell:
        if isinstance(value, Cell):
            return value
        if isinstance(value, float):
            return Cell((F.table_number(value, digits),))
        text = str(value)
        return Cell((text,), "text" if _PROSE.search(text.replace(" pts", "")) else "")

    return Table(
        [str(c) for c in [frame.index.name or "", *frame.columns]],
        [
            Row(str(i), [cell(v) for v in row])
            for i, row in zip(frame.index, frame.itertuples(index=False), strict=True)
        ],
    )


@dataclass
class Facts:
    """A two-column table of name and value, no header."""

    rows: list[tuple[str, Inline]]
    kind: str = "facts"


@dataclass
class Figure:
    uri: Markup  # pages.png_uri
    wide: bool = False  # drawn at its own size, scrolled sideways (the rule graph)
    kind: str = "figure"
    # the table behind the figure, written next to the report as `file` (build.py names
    # it from `name`: report-<name>.csv); None: the figure has no table of its own
    data: pd.DataFrame | None = field(default=None, repr=False)
    name: str = ""
    file: str = ""


@dataclass
class Paragraph:
    text: Inline
    kind: str = "paragraph"


@dataclass
class Items:
    items: list[str]
    kind: str = "items"


@dataclass
class Story:
    """A learner's account from `explain` (docs/explain.md); rows None when the run left
    out a table it needs (`missing`)."""

    learner: str
    rows: list[tuple[str, str]] | None
    missing: str = ""  # the tables the run left out, when rows is None
    kind: str = "story"
    when: str = "day"  # the first column's head: "when" where instants are dates


@dataclass
class Block:
    """One <section> of a page: a title, a paragraph of text, then its parts."""

    title: str
    text: Inline = ()
    parts: list = field(default_factory=list)
