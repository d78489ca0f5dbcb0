"""Located problems in scenario files, reported as `FILE:LINE: dotted.path: message`."""

from __future__ import annotations

from dataclasses import dataclass, field

Path = tuple[str | int, ...]


def dotted(path: Path) -> str:
    return ".".join(str(part) for part in path) if path else "(top)"


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int | None
    path: Path = field(compare=False)
    message: str = field(compare=False)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {dotted(self.path)}: {one_line(self.message)}"


def one_line(text: str) -> str:
    """A message stays one line whatever text from the file it quotes: control characters
    (a newline inside a value, say) are shown escaped, as `\\n`."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


MAX_SHOWN_PROBLEMS = 50  # located problems printed by the command line


class ScenarioError(Exception):
    """A scenario that cannot be loaded or run. Carries every problem found, in file order."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0))
        super().__init__("\n".join(str(p) for p in self.problems))

    def shown(self, most: int = MAX_SHOWN_PROBLEMS) -> str:
        """The problems as a user is shown them: the first `most`, then how many more (a
        history of 500,000 bad rows is not 500,000 lines on a terminal)."""
        if len(self.problems) <= most:
            return str(self)
        lines = [str(p) for p in self.problems[:most]]
        return "\n".join([*lines, f"... and {len(self.problems) - most:,} more problems"])

    def __reduce__(self):
        # rebuilt from its problems: a worker process hands it back to the parent intact
        return (type(self), (self.problems,))


@dataclass(frozen=True)
class Origin:
    """Where a scenario came from: its file name and the line of every key and item.

    `aliases` maps the path of an aliased (`*name`) or merged (`<<`) value to the path it
    is written at, so a problem inside it points at the lines of its anchor."""

    file: str
    lines: dict[Path, int]
    aliases: dict[Path, Path] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        # The nearest enclosing node that has a line: a missing key points at its parent.
        path = tuple(path)
        for _ in range(len(self.aliases) + 1):  # each redirect goes to an earlier anchor
            for end in range(len(path), -1, -1):
                prefix = path[:end]
                target = self.aliases.get(prefix)
                if target is not None and (end < len(path) or prefix not in self.lines):
                    path = (*target, *path[end:])
                    break
                line = self.lines.get(prefix)
                if line is not None:
                    return line
            else:
                return None
        return None  # pragma: no cover - redirects always end

    def problem(self, path: Path, message: str) -> Problem:
        return Problem(self.file, self.line_of(path), tuple(path), message)
