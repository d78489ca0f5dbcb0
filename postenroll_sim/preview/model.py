"""The preview's state, without any widget: the scenario as published (its file), the
designer's edits, the edited scenario they make, its lint findings and rule graph, and
the last run (published against edited, paired, for a chosen learner).

`Preview` (widget.py) is a thin view over this class: every button and field calls one
method here, so what the preview does is tested without a browser. Edits are kept in a
draft file as they are made (`drafts`), so a page reload, a new kernel or a closed
browser tab loses none of them; saving writes the edited YAML (comments kept) and
forgets the draft.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..formatting import days, instant, plural
from ..scenario import ScenarioError, parse_scenario
from ..scenario.errors import Problem
from ..scenario.loader import read_scenario_text
from .edits import PERIOD_UNITS, RULE_FIELDS, apply_edits

PUBLISHED, EDITED = "published", "edited"  # the two runs' labels (the `variant` column)
MAX_REPLICATIONS = 200  # the preview's own bound: more belongs to `compare` on a terminal
DRAFTS_ENV = "POSTENROLL_PREVIEW_DRAFTS"  # where drafts are kept (default: the user cache)


class Cancelled(Exception):
    """The run was cancelled by the designer (between two replications)."""


@dataclass(frozen=True)
class RuleSettings:
    """One rule as the form shows it."""

    rule_id: str
    course: str  # the source course
    when: str
    delay_days: int
    courses: tuple[str, ...]
    allow_consecutive: bool
    path: tuple  # where it is in the file
    added_day: float | None = None  # added by the script (`add_rule`) on this day
    added_on: str = ""  # that day in words: `2027-03-01 (day 56)` with a calendar, `day 56`

    @property
    def label(self) -> str:
        added = f", added on {self.added_on}" if self.added_day is not None else ""
        return f"{self.rule_id} (on {self.course}{added})"

    def words(self) -> str:
        """`when SAFE-201 is completed, enroll in COMP-CUR after 7 days (consecutive)`"""
        delay = "at once" if self.delay_days == 0 else f"after {days(self.delay_days)}"
        also = ", consecutive enrollments allowed" if self.allow_consecutive else ""
        return (
            f"when {self.course} is {self.when}, enroll in {', '.join(self.courses)} {delay}{also}"
        )


@dataclass(frozen=True)
class CertificateSettings:
    """A course's certificate: the re-enrollment window the form edits (S34)."""

    course: str
    path: tuple
    reenroll_before: tuple[int, str] | None  # (amount, unit), None: no re-enrollment
    validity: str  # `valid for 1 year` / `expires on 12-31`: shown beside the field

    @property
    def label(self) -> str:
        return f"{self.course} ({self.validity})"


def _period(period) -> tuple[int, str] | None:
    if period is None:
        return None
    return getattr(period, period.unit), period.unit


def _period_text(period: tuple[int, str] | None) -> str:
    if period is None:
        return "no re-enrollment"
    amount, unit = period
    return f"{amount} {unit[:-1] if amount == 1 else unit}"


def rule_settings(scenario) -> list[RuleSettings]:
    """Every rule of a validated scenario, configured and added by the script, S12 order."""
    from ..scenario.rules import scenario_rules

    found = []
    for rule_id, course, rule, index, path in scenario_rules(scenario):
        added = None if index is None else float(scenario.script[index].day)
        found.append(
            RuleSettings(
                rule_id,
                course,
                rule.when,
                int(rule.delay_days),
                tuple(rule.courses),
                bool(rule.allow_consecutive),
                tuple(path),
                added,
                "" if added is None else instant(added, scenario.start_date),
            )
        )
    return found


def certificate_settings(scenario) -> list[CertificateSettings]:
    found = []
    for c, course in enumerate(scenario.courses):
        cert = course.certificate
        if cert is None:
            continue
        validity = (
            f"valid for {_period_text(_period(cert.valid_for))}"
            if cert.valid_for is not None
            else f"expires on {cert.expires_on}"
        )
        found.append(
            CertificateSettings(
                course.id, ("courses", c, "certificate"), _period(cert.reenroll_before), validity
            )
        )
    return found


@dataclass
class Outcome:
    """A run of the published and the edited scenario, paired, for one learner."""

    learner: str | None
    replications: int
    changes: list[str]  # what differs, edited against published (`compare`'s lines)
    what_if: Any  # design.whatif.WhatIf: both runs' tables and the numbers compared
    learner_table: Any  # pandas DataFrame: the learner's enrollments, published and edited
    story: str  # `explain` for the learner in the edited run (replication 0)
    seconds: float

    @property
    def comparison(self) -> str:
        """What `compare` prints: every number in both, B - A with its 95% interval."""
        return self.what_if.text

    def changed_numbers(self):
        """The rows of the comparison that changed beyond noise (or exactly)."""
        table = self.what_if.table
        return table[table["changed"]]


def drafts_folder() -> Path:
    given = os.environ.get(DRAFTS_ENV)
    if given:
        return Path(given)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "postenroll-sim" / "preview"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PreviewModel:
    """The state of one preview: open a scenario file, edit its rules, run, save."""

    def __init__(self, path: str | Path, drafts: str | Path | None = None, restore: bool = True):
        self.path = Path(path)
        self.file = str(path)
        self.drafts = Path(drafts) if drafts is not None else drafts_folder()
        self.rule_edits: dict[str, dict[str, Any]] = {}  # rule id -> changed settings
        self.certificate_edits: dict[str, dict[str, Any]] = {}  # course -> {reenroll_before}
        self.learner: str | None = None
        self.replications: int | None = None  # None: the default for the scenario
        self.outcome: Outcome | None = None
        self.restored = ""  # what was restored from a draft, for the view to say
        self._cancel = threading.Event()
        self._edited_cache: tuple[str, Any] | None = None
        self._open()
        if restore:
            self._restore()

    # --- the published scenario --------------------------------------------------------

    def _open(self) -> None:
        """Read the file (every problem located: ScenarioError) as the published version."""
        self.published_text = read_scenario_text(self.path)
        self.published = parse_scenario(self.published_text, self.file)
        self.rules = {r.rule_id: r for r in rule_settings(self.published)}
        self.certificates = {c.course: c for c in certificate_settings(self.published)}

    @property
    def course_ids(self) -> list[str]:
        return [c.id for c in self.published.courses]

    def learners(self) -> list[str]:
        """The learners to choose from: the scenario's own, then those of the last run."""
        named = [item if isinstance(item, str) else item.id for item in self.published.learners]
        if self.outcome is not None:
            ran = self.outcome.what_if.result.enrollments["learner_id"].astype(str)
            named += [x for x in dict.fromkeys(ran) if x not in set(named)]
        return named[:1000]

    @property
    def default_replications(self) -> int:
        from ..scenario.diff import draws_nothing_at_random

        return 1 if draws_nothing_at_random(self.published) else 20

    # --- edits --------------------------------------------------------------------------

    def settings(self, rule_id: str) -> RuleSettings:
        """A rule's settings as edited (the published ones where nothing was edited)."""
        if rule_id not in self.rules:
            raise KeyError(f"no rule '{rule_id}' in {self.file}")
        base = self.rules[rule_id]
        edits = dict(self.rule_edits.get(rule_id, {}))
        if "courses" in edits:
            edits["courses"] = tuple(edits["courses"])
        return RuleSettings(**{**base.__dict__, **edits})

    def reenroll_before(self, course: str) -> tuple[int, str] | None:
        """A certificate's re-enrollment window as edited."""
        if course not in self.certificates:
            raise KeyError(f"course '{course}' has no certificate in {self.file}")
        edits = self.certificate_edits.get(course, {})
        if "reenroll_before" in edits:
            value = edits["reenroll_before"]
            return None if value is None else _period_pair(value)
        return self.certificates[course].reenroll_before

    def set_rule(self, rule_id: str, **settings: Any) -> None:
        """Change settings of a rule: `when`, `delay_days`, `courses`, `allow_consecutive`.
        A setting back at its published value is no longer an edit."""
        self.settings(rule_id)  # KeyError for an unknown rule
        published = self.rules[rule_id]
        edits = self.rule_edits.setdefault(rule_id, {})
        for key, value in settings.items():
            if key not in RULE_FIELDS:
                raise ValueError(f"a rule's {key} is not edited here; fields are {RULE_FIELDS}")
            value = _clean(key, value)
            if value == _clean(key, getattr(published, key)):
                edits.pop(key, None)
            else:
                edits[key] = value
        if not edits:
            del self.rule_edits[rule_id]
        self._changed()

    def set_reenroll_before(self, course: str, period: tuple[int, str] | None) -> None:
        """A certificate's re-enrollment window: `(30, "days")`, or None for none (S34)."""
        published = self.certificates[course].reenroll_before if course in self.certificates else 0
        if published == 0:
            raise KeyError(f"course '{course}' has no certificate in {self.file}")
        if period is not None:
            amount, unit = int(period[0]), str(period[1])
            if unit not in PERIOD_UNITS:
                raise ValueError(f"a period's unit is one of {', '.join(PERIOD_UNITS)}")
            period = (amount, unit)
        if period == published:
            self.certificate_edits.pop(course, None)
        else:
            self.certificate_edits[course] = {
                "reenroll_before": None if period is None else {period[1]: period[0]}
            }
        self._changed()

    def reset(self) -> None:
        """Forget every edit: back to the published version."""
        self.rule_edits.clear()
        self.certificate_edits.clear()
        self._changed()

    @property
    def edited_count(self) -> int:
        return sum(len(e) for e in self.rule_edits.values()) + len(self.certificate_edits)

    def _changed(self) -> None:
        self._edited_cache = None
        self.save_draft()

    # --- the edited scenario -----------------------------------------------------------

    def edited_text(self) -> str:
        """The scenario file as edited: the published text with only the edited values
        changed (comments and layout kept)."""
        rules = {self.rules[r].path: e for r, e in self.rule_edits.items()}
        certs = {self.certificates[c].path: e for c, e in self.certificate_edits.items()}
        return apply_edits(self.published_text, rules, certs)

    def edited(self):
        """The edited scenario, validated as the loader validates a file (ScenarioError:
        every problem, located at its line in the edited text)."""
        text = self.edited_text()
        if self._edited_cache is None or self._edited_cache[0] != text:
            try:
                scenario = parse_scenario(text, self.file)
            except ScenarioError as exc:
                scenario = exc
            self._edited_cache = (text, scenario)
        found = self._edited_cache[1]
        if isinstance(found, ScenarioError):
            raise found
        return found

    def problems(self) -> list[str]:
        """The edited scenario's problems (empty when it is valid), as lines."""
        try:
            self.edited()
        except ScenarioError as exc:
            return [str(p) for p in exc.problems]
        return []

    def changes(self) -> list[str]:
        """What differs, edited against published, in `compare`'s words."""
        from ..design.whatif import comparable

        return comparable(self.published, self.edited(), PUBLISHED, EDITED, seed_given=False)

    def lint(self):
        """The edited scenario's lint findings (design.lint.LintResult)."""
        from ..design.lint import lint_scenario

        return lint_scenario(self.edited())

    def rule_graph(self):
        from ..design.rulegraph import build

        return build(self.edited())

    def rule_graph_svg(self) -> str:
        """The edited rule graph as an SVG picture (the `graph` command's drawing)."""
        import io

        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from ..design.drawing import rule_graph_figure

        figure = rule_graph_figure(self.rule_graph())
        out = io.StringIO()
        try:
            figure.savefig(out, format="svg")
        finally:
            plt.close(figure)
        text = out.getvalue()
        return text[text.index("<svg") :]  # the XML prologue and DOCTYPE cannot go in HTML

    # --- running -------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the run in progress before its next replication (from another thread)."""
        self._cancel.set()

    def run(
        self,
        learner: str | None = None,
        replications: int | None = None,
        progress=None,
    ) -> Outcome:
        """Run the published and the edited scenario paired (replication r of each draws
        the same random streams), compare every number, and tell `learner`'s story.
        `progress(done, total)` is called after each of the 2 x replications runs;
        `cancel()` from another thread raises Cancelled before the next one."""
        from ..design.explain import ExplainError, as_text, explain
        from ..design.whatif import what_if

        if learner is not None:
            self.learner = learner or None
        if replications is not None:
            if not 1 <= int(replications) <= MAX_REPLICATIONS:
                raise ValueError(f"replications: from 1 to {MAX_REPLICATIONS}")
            self.replications = int(replications)
        self.save_draft()
        edited = self.edited()
        changes = self.changes()
        reps = self.replications or self.default_replications
        self._cancel.clear()
        started = time.perf_counter()
        executor = _Counting(2 * reps, progress, self._cancel)
        found = what_if(PUBLISHED, EDITED, self.published, edited, changes, reps, executor=executor)
        learner_id = self.learner
        story = ""
        table = None
        if learner_id is not None:
            table = learner_table(found.result, learner_id, self.published.start_date)
            try:
                story = as_text(explain(found.result, learner_id, replication=0, variant=EDITED))
            except ExplainError as exc:
                story = str(exc)
        self.outcome = Outcome(
            learner_id,
            reps,
            changes,
            found,
            table,
            story,
            time.perf_counter() - started,
        )
        return self.outcome

    # --- saving and drafts ---------------------------------------------------------------

    def save(self, path: str | Path | None = None) -> Path:
        """Write the edited scenario (valid, or ScenarioError) to `path` (default: the
        scenario file itself, refused if it changed on disk since it was opened). Saved
        over the file, the edited version becomes the published one."""
        text = self.edited_text()
        self.edited()  # refuse an invalid scenario
        target = Path(path) if path else self.path
        if target.resolve() == self.path.resolve():
            on_disk = read_scenario_text(self.path)
            if on_disk != self.published_text:
                raise ScenarioError(
                    [
                        Problem(
                            self.file,
                            None,
                            (),
                            "changed on disk since the preview opened it: save under another "
                            "name, or reopen it (your edits are kept in the draft)",
                        )
                    ]
                )
        staged = target.with_name(f".{target.name}.saving")
        staged.write_text(text, encoding="utf-8")
        os.replace(staged, target)
        if target.resolve() == self.path.resolve():
            self.forget_draft()
            self.rule_edits.clear()
            self.certificate_edits.clear()
            self._edited_cache = None
            self._open()
        return target

    def draft_path(self) -> Path:
        key = _digest(str(self.path.resolve()))[:16]
        return self.drafts / f"{self.path.stem}-{key}.json"

    def save_draft(self) -> None:
        """Keep the edits (and the learner and replications chosen) where a reopened
        preview of the same file finds them. A folder that cannot be written loses only
        the draft, never the edits in memory."""
        state = {
            "scenario": str(self.path.resolve()),
            "published": _digest(self.published_text),
            "rules": self.rule_edits,
            "certificates": self.certificate_edits,
            "learner": self.learner,
            "replications": self.replications,
            "saved": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        try:
            if not (self.rule_edits or self.certificate_edits or self.learner):
                self.draft_path().unlink(missing_ok=True)
                return
            self.drafts.mkdir(parents=True, exist_ok=True)
            staged = self.draft_path().with_suffix(".saving")
            staged.write_text(json.dumps(state, indent=1), encoding="utf-8")
            os.replace(staged, self.draft_path())
        except OSError:
            pass

    def forget_draft(self) -> None:
        with contextlib.suppress(OSError):
            self.draft_path().unlink(missing_ok=True)

    def _restore(self) -> None:
        try:
            state = json.loads(self.draft_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if state.get("published") != _digest(self.published_text):
            self.restored = (
                f"a draft of edits from {state.get('saved', 'earlier')} was made on another "
                "version of this file and is not applied"
            )
            return
        rules = {r: e for r, e in dict(state.get("rules") or {}).items() if r in self.rules}
        certs = {
            c: e for c, e in dict(state.get("certificates") or {}).items() if c in self.certificates
        }
        self.rule_edits, self.certificate_edits = rules, certs
        learner = state.get("learner")
        self.learner = learner if isinstance(learner, str) else None
        reps = state.get("replications")
        self.replications = (
            reps if isinstance(reps, int) and 1 <= reps <= MAX_REPLICATIONS else None
        )
        if self.edited_count:
            self.restored = f"restored {plural(self.edited_count, 'unsaved edit')} from {state.get('saved', 'earlier')}"


def _period_pair(value: dict) -> tuple[int, str]:
    (unit, amount), *_ = value.items()
    return int(amount), str(unit)


def _clean(key: str, value: Any) -> Any:
    if key == "courses":
        courses = [str(c) for c in value]
        if not courses:
            raise ValueError("a rule enrolls into at least one course")
        return courses
    if key == "delay_days":
        return int(value)
    if key == "allow_consecutive":
        return bool(value)
    return str(value)


class _Counting(Executor):
    """Runs each replication in this thread when it is submitted (as the serial
    executor), counting them for a progress bar, and refusing the next one once the
    run is cancelled."""

    def __init__(self, total: int, progress, cancel: threading.Event):
        self.total, self.done, self.progress, self.cancelled = total, 0, progress, cancel

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if self.cancelled.is_set():
            raise Cancelled(f"cancelled after {self.done} of {self.total} runs")
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)
        return future


def learner_table(result, learner: str, start_date=None):
    """The learner's enrollments in replication 0, published beside edited: a row per
    course and occurrence (the learner's 1st, 2nd, ... enrollment in it), with how each
    came about, when, its status, and what changed."""
    import pandas as pd

    frame = result.enrollments
    frame = frame[(frame["learner_id"].astype(str) == learner) & (frame["replication"] == 0)]
    sides = {}
    for label in (PUBLISHED, EDITED):
        part = frame[frame["variant"].astype(str) == label].sort_values(
            ["enrolled_day", "enrollment_id"]
        )
        part = part.assign(occurrence=part.groupby("course_id", observed=True).cumcount() + 1)
        sides[label] = {(str(r.course_id), int(r.occurrence)): r for r in part.itertuples()}
    keys = sorted(
        set(sides[PUBLISHED]) | set(sides[EDITED]),
        key=lambda k: min(
            (float(side[k].enrolled_day), int(side[k].enrollment_id))
            for side in sides.values()
            if k in side
        ),
    )
    rows = []
    for key in keys:
        a, b = sides[PUBLISHED].get(key), sides[EDITED].get(key)
        shown = b if b is not None else a
        by_rule = isinstance(shown.rule_id, str) and bool(shown.rule_id)
        how = f"rule {shown.rule_id}" if by_rule else str(shown.method).replace("_", " ")
        rows.append(
            {
                "course": key[0] + (f" (#{key[1]})" if key[1] > 1 else ""),
                "how": how,
                "published: enrolled": _instant(a, "enrolled", start_date),
                "edited: enrolled": _instant(b, "enrolled", start_date),
                "edited: completed": _instant(b, "completed", start_date),
                "edited: status": "" if b is None else str(b.status),
                "what changed": _change(a, b),
            }
        )
    return pd.DataFrame(rows, columns=list(_COLUMNS))


_COLUMNS = (  # what changed first: the table scrolls sideways in a narrow page
    "course",
    "what changed",
    "how",
    "published: enrolled",
    "edited: enrolled",
    "edited: completed",
    "edited: status",
)


def _instant(row, what: str, start) -> str:
    if row is None:
        return ""
    value = getattr(row, f"{what}_day")
    return "" if value != value else instant(float(value), start)  # NaN: not (yet)


def _change(a, b) -> str:
    if a is None:
        return "new: only in the edited version"
    if b is None:
        return "gone: only in the published version"
    said = []
    shift = float(b.enrolled_day) - float(a.enrolled_day)
    if abs(shift) > 1e-9:
        said.append(f"enrolled {days(round(abs(shift), 4))} {'later' if shift > 0 else 'earlier'}")
    if str(a.status) != str(b.status):
        said.append(f"status {a.status} -> {b.status}")
    if str(a.method) != str(b.method) or str(a.rule_id) != str(b.rule_id):
        said.append("by another rule or method")
    return "; ".join(said)
