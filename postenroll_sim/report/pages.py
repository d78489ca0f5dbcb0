"""The HTML pages (run, comparison, sweep and audit) from jinja2 templates.

One base template (`templates/base.html`) and one stylesheet (`templates/style.css`) are
shared by every page. Autoescape is on: every value a page shows is escaped by the
template that shows it, so no code here or in the sections escapes by hand. The only
markup made outside the templates is a figure's PNG as a data URI (`png_uri`), marked
safe there and nowhere else.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

_ENV = Environment(
    loader=PackageLoader("postenroll_sim.report", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    undefined=StrictUndefined,  # a name a template uses but is not given is a bug, not ""
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# An absolute path (`/home/ana/work/scenarios/x.yaml`, `C:\\Users\\...`) is this
# machine's, not the reader's: a page shows the file's name alone.
_ABSOLUTE = re.compile(r"(?<![\w.~])(?:/|[A-Za-z]:[\\/])(?:[^\s/\\]+[/\\])*([^\s/\\]+)")


def file_names(text: str) -> str:
    """`text` with every absolute path in it cut to its file name: a page never shows
    the folders of the machine that made it (relative paths, as typed, stay)."""
    return _ABSOLUTE.sub(lambda m: m.group(1), str(text))


_ENV.filters["file_names"] = file_names


def render(template: str, **values) -> str:
    """The page `template` (a file of templates/) filled with `values`, escaped."""
    made = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return _ENV.get_template(template).render(made=made, **values)


def png_uri(fig) -> Markup:
    """A matplotlib figure as a `data:` URI of its PNG. Marked safe here, the one place:
    base64 of bytes we just made holds only [A-Za-z0-9+/=], nothing to escape."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Markup(f"data:image/png;base64,{data}")
