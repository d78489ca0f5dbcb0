"""The sections of the report, in page order: one class each, with the view of one run
(`single`) and the view of several variants side by side (`comparison`).

Every number is worked out per replication, then shown as the mean with a 5-95% band;
variants are never added together. A section says which measures it needs (`needs`, by
name: `measures.py`, each taken of one replication's tables at a time and joined, so
that a page never holds every table of every replication: tables.py), then returns the
blocks it shows from them (`single(run, got)`: `parts.Block`, none when the run lacks
what it needs); the page template renders and escapes them. Adding a section is one
class here, decorated with `@section`, placed where it goes on the page
(docs/contributing.md, "Adding a report section").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from .. import analysis as A
from .. import plots as P
from ..analysis import certificates as C
from ..analysis import compare as K
from ..analysis.rules import recertifications, validity_of
from ..analysis.timing import END_TO_END
from ..formatting import instant, number, number_kind, plural, signed
from ..run.summary import span
from ..scenario.diff import compare_scenarios
from . import measures as M
from .pages import png_uri
from .parts import (
    Block,
    Cell,
    Facts,
    Figure,
    Group,
    Inline,
    Items,
    Paragraph,
    Row,
    Span,
    Story,
    Table,
    band,
    note,
    table,
)
from .tables import Joining, Part, RunTables, gather

Progress = Callable[[str], None] | None


@dataclass
class Run:
    """What every section of a one-run page is given (report.build_report)."""

    result: object  # runner.Result, one variant
    replications: list[int]
    path: list[str]  # the learning path timed
    path_reason: str
    learner: str | None  # as asked (--learner), or None
    chosen: tuple[str, int] | None  # the learner drawn and their replication
    label: str | None = None  # the variant, when the run is one variant of a sweep
    progress: Progress = None
    tables: RunTables | None = None  # the run's tables, read a chunk at a time
    joining: Joining | None = None  # after the pass: the replications and rows found

    @property
    def scenario(self):
        return self.result.scenario

    def has(self, table: str) -> bool:
        """Whether the run has `table` (it may have left it out: --tables)."""
        return table in self.tables.names

    def rows(self, table: str) -> int:
        """The rows of `table` in every replication (after the pass)."""
        return self.joining.rows.get(table, 0) if self.has(table) else 0

    @property
    def reps(self) -> int:
        return len(self.replications)

    @cached_property
    def colors(self) -> dict:
        return P.course_colors([c.id for c in self.scenario.courses])

    def say(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what)


@dataclass
class Comparison:
    """What every section of a comparison page is given: the variants of a sweep, or A
    and B of `postenroll-sim compare`."""

    result: object  # runner.Result, every variant
    variants: list[tuple[str, object]]  # (label, one variant's Result)
    replications: list[int]
    path: list[str]
    path_reason: str
    chosen: dict[str, tuple[str, int]] = field(default_factory=dict)  # with --learner
    progress: Progress = None
    tables: RunTables | None = None
    joining: dict[str, Joining] = field(default_factory=dict)  # by label, after the pass

    def has(self, table: str) -> bool:
        return table in self.tables.names

    def rows(self, label: str, table: str) -> int:
        return self.joining[label].rows.get(table, 0) if self.has(table) else 0

    @property
    def first(self):
        return self.variants[0][1].scenario

    @property
    def reps(self) -> int:
        return len(self.replications)

    @property
    def compared(self) -> bool:
        """`postenroll-sim compare A B`: two files."""
        return self.result.command == "compare"

    @property
    def ab(self) -> bool:
        return self.compared and len(self.variants) == 2

    @cached_property
    def validity(self) -> dict[str, float]:
        return validity_of([v.scenario for _, v in self.variants])

    @property
    def paired(self) -> bool:
        seeds = (
            {str(v.get("seed")) for v in self.result.variants} if self.result.variants else {"same"}
        )
        return len(seeds) == 1

    def say(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what)


class Section:
    """A section of the report: the measures it needs (`needs`: name -> Part, taken in
    the one pass over the run's tables) and the blocks it shows from them (`got`: name ->
    the measure; in a comparison, name -> {variant label: the measure}), for one run and
    for a comparison."""

    def needs(self, run: Run) -> dict[str, Part]:
        return {}

    def single(self, run: Run, got: dict) -> list[Block]:
        return []

    def comparison_needs(self, c: Comparison) -> dict[str, Part]:
        return {}

    def comparison(self, c: Comparison, got: dict) -> list[Block]:
        return []


SECTIONS: list[Section] = []


def section(cls: type[Section]) -> type[Section]:
    """Register a section: the page shows them in the order they are defined here."""
    SECTIONS.append(cls())
    return cls


def blocks(view: str, context: Run | Comparison) -> list[Block]:
    """Every section's blocks for `view` ("single" or "comparison"), in page order: the
    measures every section needs are taken in one pass over the run's tables, then each
    section shows its blocks."""
    single = view == "single"
    needs = [s.needs(context) if single else s.comparison_needs(context) for s in SECTIONS]
    labels = [context.label] if single else [label for label, _ in context.variants]
    parts = [part for named in needs for part in named.values()]
    context.say("reading the tables")
    joined, joining = gather(context.tables, dict.fromkeys(labels, parts), context.say)
    context.joining = joining[context.label] if single else joining
    out = []
    for s, named in zip(SECTIONS, needs, strict=True):
        if single:
            got = {name: joined[context.label][part.key] for name, part in named.items()}
            out += s.single(context, got)
        else:
            got = {
                name: {label: joined[label][part.key] for label in labels}
                for name, part in named.items()
            }
            out += s.comparison(context, got)
    return out


# ----- helpers shared by the sections ---------------------------------------------------


def _reps_text(reps: int) -> str:
    return (
        f"Counted in each of the {reps} replications, then the mean, with the 5-95% band "
        "across replications in brackets."
        if reps > 1
        else "One replication."
    )


def _figure(fig) -> Figure:
    return Figure(png_uri(fig))


def _mean_cell(frame: pd.DataFrame, name: str, reps: int) -> Inline:
    """A number's mean over replications with its 5-95% band."""
    values = frame[name] if name in frame else pd.Series(dtype=float)
    summary = A.summarise(values)
    cell = band(summary["mean"], summary["p05"], summary["p95"], number_kind(name), reps)
    have = int(values.notna().sum())
    if 0 < have < reps:  # a percentile some replications never reached, ...
        cell += note(f"in {have} of {reps} replications")
    return cell


def _overlay_period(horizon_days: float) -> tuple[float, str]:
    """The period of the overlaid count lines: weeks, or 4 weeks past a year (weekly
    counts that alternate with fortnightly sessions would draw two combs over each other)."""
    return (7.0, "week") if horizon_days <= 366 else (28.0, "4 weeks")


def _whole_periods(curve: pd.DataFrame, days: float, horizon_days: float) -> pd.DataFrame:
    """The periods that end by the horizon: a last, shorter period would draw as a drop."""
    whole = curve[curve["period_day"] + days <= horizon_days + 1e-9]
    return whole if len(whole) else curve


# ----- the sections, in page order -------------------------------------------------------


@section
class Variants(Section):
    """Which variants were run, with what seed; for `compare`, what differs in B."""

    def comparison(self, c: Comparison, got: dict) -> list[Block]:
        variants, reps = c.variants, c.reps
        records = {str(r.get("label")): r for r in c.result.variants}
        described = pd.DataFrame(
            {
                **(
                    {
                        "file": [
                            str(records.get(label, {}).get("source", "")) for label, _ in variants
                        ]
                    }
                    if c.compared
                    else {}
                ),
                "seed": [str(records.get(label, {}).get("seed", "")) for label, _ in variants],
                "horizon (days)": [f"{v.scenario.horizon_days:g}" for _, v in variants],
            },
            index=pd.Index([label for label, _ in variants], name="variant"),
        )
        parts = [table(described)]
        if c.ab:
            found = compare_scenarios(c.first, variants[1][1].scenario, ("A", "B"), seed_given=True)
            if found.changes:
                parts += [
                    Paragraph(
                        (f"What differs in B ({variants[1][0]}) against A ({variants[0][0]}):",)
                    ),
                    Items(list(found.changes)),
                ]
            else:
                parts.append(
                    Paragraph(
                        ("The two scenarios run the same rules: every difference should be 0.",)
                    )
                )
        plural = "s" if reps > 1 else ""
        title = (
            f"A: {variants[0][0]}, B: {variants[1][0]}; {reps} replication{plural} each"
            if c.ab
            else f"{len(variants)} variants, {reps} replication{plural} each"
        )
        text = (
            "A and B are each run on their own; nothing below adds them together. "
            if c.compared
            else "Each variant is one scenario run on its own; nothing below adds "
            "variants together. "
        ) + (
            "The variants share their replication seeds (common random numbers): "
            "replication r of every variant met the same learners on the same days."
            if c.paired
            else "The variants ran with different seeds: differences are between "
            "independent samples."
        )
        return [Block(title, (text,), parts)]


MAX_STORIES = 40  # learners listed one by one at the top of a scripted scenario's page


def scripted(scenario) -> bool:
    """A scenario whose learners are all written down and act only as its script says
    (no generated population): its page is about those people, not shares."""
    return scenario.population is None and bool(scenario.script)


@section
class EachLearner(Section):
    """A scripted scenario's page leads with what happened to each learner: every
    enrollment, how it came, and how it ended (first replication)."""

    def needs(self, run: Run) -> dict[str, Part]:
        if not scripted(run.scenario) or not run.has("enrollments"):
            return {}
        return {"first": M.rows_of("enrollments", run.replications[0])}

    def single(self, run: Run, got: dict) -> list[Block]:
        if not got or not run.rows("enrollments"):
            return []
        run.say("each learner")
        first = got["first"].sort_values("enrollment_id")
        start = run.scenario.start_date
        learners = list(dict.fromkeys(first["learner_id"].astype(str)))
        shown = learners[:MAX_STORIES]
        head = ["course", "how", "enrolled", "what became of it"]
        rows: list[Row | Group] = []
        for learner in shown:
            mine = first[first["learner_id"].astype(str) == learner]
            rows.append(Group(learner, len(head)))
            rows += [_enrollment_row(r, start) for r in mine.to_dict("records")]
        more = len(learners) - len(shown)
        text = (
            "The scenario is scripted: every learner is written down and acts as the script "
            "says, so the page starts with what happened to each of them"
            + (f" (the first {len(shown)} of {len(learners)})" if more else "")
            + ". The shares and curves further down count these few people."
            + (" First replication." if run.reps > 1 else "")
        )
        return [Block("What happened to each learner", (text,), [Table(head, rows, css="prose")])]


_HOW_ENROLLED = {
    "admin": "by an administrator",
    "self": "from the catalog",
    "bundle": "through a bundle",
    "re_enrollment": "re-enrollment before expiry",
}


def _enrollment_row(r: dict, start) -> Row:
    def when(column: str) -> str | None:
        value = r.get(column)
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return None
        return f"{value:g}" if start is None else instant(value, start)

    method = str(r["method"])
    how = (
        f"by rule {r['rule_id']}"
        if method == "post_enrollment"
        else _HOW_ENROLLED.get(method, method)
    )
    ended = []
    for column, word in (
        ("started_day", "started"),
        ("completed_day", "completed"),
        ("failed_day", "failed"),
        ("superseded_day", "moved to history"),
    ):
        moment = when(column)
        if moment is not None:
            ended.append(f"{word} {moment if start is not None else 'day ' + moment}")
    if not ended:
        ended.append("not started by the horizon")
    elif (
        when("completed_day") is None
        and when("failed_day") is None
        and when("superseded_day") is None
    ):
        ended.append("still in progress at the horizon")
    text = lambda t: Cell((t,), "text")  # noqa: E731 - prose, read from the left
    enrolled = when("enrolled_day")
    return Row(
        str(r["course_id"]),
        [
            text(how),
            text(enrolled if start is not None else f"day {enrolled}"),
            text("; ".join(ended)),
        ],
    )


@section
class KeyNumbers(Section):
    """The key numbers (analysis.key_numbers); side by side and their differences."""

    def needs(self, run: Run) -> dict[str, Part]:
        return {"numbers": M.numbers(run.path, None, key_only=True)}

    def single(self, run: Run, got: dict) -> list[Block]:
        run.say("key numbers")
        scenario, reps = run.scenario, run.reps
        keys = got["numbers"][A.KEY_NUMBERS]
        start = scenario.start_date
        rows: list[tuple[str, Inline]] = [
            ("replications", (str(reps),)),
            ("horizon", (span(scenario.horizon_days, start),)),
        ]
        if run.label is not None:
            rows.append(("variant", (run.label,)))
        for name in keys.columns:
            summary = A.summarise(keys[name])
            rows.append(
                (
                    name,
                    band(summary["mean"], summary["p05"], summary["p95"], number_kind(name), reps),
                )
            )
        rows.append(("warnings", (str(len(dict.fromkeys(run.result.warnings))),)))
        return [Block("At a glance", (_reps_text(reps),), [Facts(rows)])]

    def comparison_needs(self, c: Comparison) -> dict[str, Part]:
        return {"numbers": M.numbers(c.path, c.validity)}

    def comparison(self, c: Comparison, got: dict) -> list[Block]:
        reps, path = c.reps, c.path
        c.say("key numbers")
        keys = got["numbers"]
        differences, exact = K.differences_of(keys, [v.scenario for _, v in c.variants], c.paired)
        names = list(dict.fromkeys(n for k in keys.values() for n in k[A.KEY_NUMBERS].columns))
        shown = []
        if not c.ab:  # compare: the means go in the table of changes
            side = pd.DataFrame(index=pd.Index(names, name="key number"))
            for label, numbers in keys.items():
                frame = numbers[A.KEY_NUMBERS]
                side[label] = [Cell(_mean_cell(frame, name, reps)) for name in names]
            shown.append(
                Block(
                    "Key numbers side by side",
                    (_reps_text(reps) + (f" Learning path: {' → '.join(path)}." if path else ""),),
                    [table(side)],
                )
            )
        base_label = next(iter(keys))
        tables = {f"{label} minus {base_label}": t for label, t in differences.items()}
        how = (
            "paired replication by replication (common random numbers)"
            if c.paired
            else "as independent samples (Welch)"
        )
        if exact:
            text = (
                "The scenarios draw nothing at random (no population, no behaviour): every "
                "replication is the same, so each difference is exact."
            )
        elif reps > 1:
            text = f"Mean difference with its 95% interval in brackets, {how}."
        else:
            text = (
                "Mean difference; one replication gives no interval, so nothing is marked: "
                "run with --replications 20."
            )
        marked = "changed" if exact else "changed beyond noise: the 95% interval excludes 0"
        count = sum(int(t["changed"].sum()) for t in tables.values())
        highlighted: Inline = (
            (
                " ",
                Span("changed", "Highlighted"),
                f": {marked} ({count} {'difference' if count == 1 else 'differences'}).",
            )
            if exact or reps > 1
            else ()
        )
        if c.ab:
            shown.append(
                Block(
                    f"What changed: B ({c.variants[1][0]}) minus A ({base_label})",
                    (
                        f"A and B: {_reps_text(reps).lower()[:-1]}"
                        + (f"; learning path: {' → '.join(path)}" if path else "")
                        + f". B minus A: {text[0].lower()}{text[1:]}",
                        *highlighted,
                    ),
                    [_difference_table(tables, exact, reps, means=keys)],
                )
            )
        else:
            shown.append(
                Block(
                    f"Difference against the first variant ({base_label})",
                    (text, *highlighted),
                    [_difference_table(tables, exact, reps)],
                )
            )
        return shown


def _difference_table(
    tables: dict[str, pd.DataFrame],
    exact: bool,
    reps: int,
    means: dict[str, dict[str, pd.DataFrame]] | None = None,
) -> Table:
    """The differences of `A.compare_numbers` (one column per variant against the first),
    a header row per group, each cell that changed highlighted; with `means` (each
    variant's `A.comparison_numbers`), first a column of means per variant."""
    first = next(iter(tables.values()))
    means = means or {}
    columns = [
        *(f"{'AB'[i]}: {label}" if len(means) == 2 else label for i, label in enumerate(means)),
        *(("B minus A",) if len(means) == 2 else tables),
    ]
    rows: list[Row | Group] = []
    for group, frame in first.groupby(level="group", sort=False):
        rows.append(Group(str(group), len(columns) + 1))
        for key in frame.index:
            cells = [
                Cell(_mean_cell(numbers.get(key[0], pd.DataFrame()), key[1], reps))
                if key[1] in numbers.get(key[0], pd.DataFrame()) or key[0] not in A.COUNTED
                else Cell((number(0.0),))
                for numbers in means.values()
            ]
            for differences in tables.values():
                if key not in differences.index:
                    cells.append(Cell(("–",)))
                    continue
                d = differences.loc[key]
                kind = number_kind(key[1])
                cell: Inline = (signed(d["difference"], kind),)
                if d["exact"] and not exact:
                    cell += note("(the same in every replication)")
                elif not d["exact"] and not math.isnan(d["low"]):
                    cell += note(f"[{signed(d['low'], kind)}, {signed(d['high'], kind)}]")
                if 0 < d["n"] < reps:  # a number some replications do not have
                    cell += note(f"in {d['n']} of {reps} replications")
                cells.append(Cell(cell, "changed" if d["changed"] else ""))
            rows.append(Row(str(key[1]), cells))
    return Table(["number", *columns], rows)


@section
class RuleGraph(Section):
    """The rule graph of the scenario, drawn (docs/designer-tools.md)."""

    def needs(self, run: Run) -> dict[str, Part]:
        return {"counts": M.rule_counts()} if run.has("jobs") else {}

    def single(self, run: Run, got: dict) -> list[Block]:
        from ..design.drawing import report_figure

        graph, findings, summarised = report_figure(run.result, got.get("counts", []))
        return [
            Block(
                "The rules",
                (
                    "Courses and the rules between them (docs/designer-tools.md); loops are "
                    "highlighted." + (f" Not drawn: {summarised}." if summarised else ""),
                ),
                [Figure(png_uri(graph), wide=True), *(Paragraph((f,)) for f in findings)],
            )
        ]


@section
class EnrollmentVolume(Section):
    """Enrollment records by course and method, and over time."""

    def needs(self, run: Run) -> dict[str, Part]:
        if not run.has("enrollments"):
            return {}
        return {
            "by course": M.by_course(),
            "volume": M.volume(7.0, "course_id"),
            "total": M.volume(7.0, None),
        }

    def single(self, run: Run, got: dict) -> list[Block]:
        reps = run.reps
        if not run.rows("enrollments"):
            return []
        run.say("enrollment volume")
        start = run.scenario.start_date
        by_course = Block(
            "Enrollments by course and method",
            (
                "Records created during the run, current and superseded: mean per replication"
                + (" (the total's 5-95% band in its own column)." if reps > 1 else "."),
            ),
            [table(got["by course"])],
        )
        volume, total = got["volume"], got["total"]
        fig = P.stacked_volume(
            volume, start_date=start, colors=run.colors, replications=reps, total_band=total
        )
        return [by_course, Block("Enrollment volume", (), [_figure(fig)])]

    def comparison_needs(self, c: Comparison) -> dict[str, Part]:
        if not c.has("enrollments"):
            return {}
        days, _ = _overlay_period(c.first.horizon_days)
        return {"volume": M.volume(days, None), "by course": M.by_course(bands=False)}

    def comparison(self, c: Comparison, got: dict) -> list[Block]:
        variants = c.variants
        if not got:
            return []
        c.say("enrollment volume")
        days, period = _overlay_period(c.first.horizon_days)
        curves = {
            label: _whole_periods(got["volume"][label], days, v.scenario.horizon_days)
            for label, v in variants
        }
        fig = P.variant_lines(
            curves,
            "period_day",
            f"New enrollment records per {period}, by variant",
            f"records per {period}",
            c.first.start_date,
            c.reps,
            counts=True,
        )
        frame = pd.concat(
            {label: got["by course"][label]["total"] for label, _ in variants}, axis=1
        ).fillna(0.0)
        frame.index = frame.index.astype("str")
        frame.index.name = "course"
        return [
            Block(
                "Enrollment volume",
                (
                    f"All courses together per {period}; the table gives the records per course "
                    "over the whole run (mean per replication).",
                ),
                [_figure(fig), table(frame)],
            )
        ]


@section
class RuleOutcomes(Section):
    """One outcome per job and target course (S19), by rule."""

    def needs(self, run: Run) -> dict[str, Part]:
        return {"outcomes": M.outcomes()} if run.has("jobs") else {}

    def single(self, run: Run, got: dict) -> list[Block]:
        reps = run.reps
        if not run.rows("jobs"):
            return []
        run.say("rule outcomes")
        outcomes = got["outcomes"]
        frame = outcomes.pivot_table(
            index="rule_id", columns="outcome", values="mean", aggfunc="sum", observed=True
        ).fillna(0)
        frame = frame.loc[frame.sum(axis=1) > 0, frame.sum() > 0]
        if frame.empty:  # only re-enrollment jobs (S34): no rule did anything
            return []
        return [
            Block(
                "What each rule did",
                (
                    "One outcome per job and target course: enrolled, or the reason it was "
                    "skipped (S19)" + (", mean per replication." if reps > 1 else "."),
                ),
                [_figure(P.rule_outcome_bars(outcomes, reps)), table(frame)],
            )
        ]

    def comparison_needs(self, c: Comparison) -> dict[str, Part]:
        return {"outcomes": M.outcomes()} if c.has("jobs") else {}

    def comparison(self, c: Comparison, got: dict) -> list[Block]:
        if not got:
            return []
        c.say("rule outcomes")
        frames = {}
        for label, _ in c.variants:
            outcomes = got["outcomes"][label]
            frames[label] = outcomes.set_index(["rule_id", "outcome"])["mean"]
        frame = pd.concat(frames, axis=1).fillna(0.0)
        frame = frame[frame.sum(axis=1) > 0]
        frame.index = [f"{rule}: {outcome.replace('_', ' ')}" for rule, outcome in frame.index]
        frame.index.name = "rule: outcome"
        return [
            Block(
                "What each rule did",
                ("One outcome per job and target course, mean per replication, by variant.",),
                [table(frame)],
            )
        ]


@section
class JobBacklog(Section):
    """Jobs waiting for their delay or the next daily run."""

    def needs(self, run: Run) -> dict[str, Part]:
        if not run.has("jobs"):
            return {}
        return {"backlog": M.backlog(), "renewing": M.any_value("jobs", "kind", "re_enrollment")}

    def single(self, run: Run, got: dict) -> list[Block]:
        if not run.rows("jobs"):
            return []
        run.say("job backlog")
        backlog, renewing = got["backlog"], got["renewing"]
        text = "Jobs waiting for their delay or the next daily run." + (
            " Re-enrollment jobs (S34) wait from the award until their window opens."
            if renewing
            else ""
        )
        figure = P.backlog_curve(backlog, run.scenario.start_date, run.reps, renewing)
        return [Block("Job backlog", (text,), [_figure(figure)])]


@section
class LearningPath(Section):
    """Time to complete each step of the learning path, and end to end (Kaplan-Meier)."""

    def needs(self, run: Run) -> dict[str, Part]:
        if not run.has("enrollments") or not run.path:
            return {}
        return {"timing": M.timing(run.path)}

    def single(self, run: Run, got: dict) -> list[Block]:
        path, reps = run.path, run.reps
        if not got:
            return []
        run.say("learning path")
        timing = got["timing"]
        if not len(timing):
            return []
        summary = A.path_summary(timing, run.replications)
        curve = A.completion_curve(timing)
        return [
            Block(
                f"Learning path: {' → '.join(path)}",
                (
                    f"The path is {run.path_reason}. Time from entering each step to "
                    "completing it, and end to end; learners still on a step at the horizon "
                    "count as not done (Kaplan-Meier). " + _reps_text(reps),
                ),
                [
                    _figure(P.completion_curves(curve, reps, run.colors)),
                    _path_table(summary, reps),
                ],
            )
        ]

    def comparison_needs(self, c: Comparison) -> dict[str, Part]:
        if not c.path or not c.has("enrollments"):
            return {}
        return {"timing": M.timing(c.path)}

    def comparison(self, c: Comparison, got: dict) -> list[Block]:
        path, reps = c.path, c.reps
        if not path:
            return []
        c.say("learning path")
        if not got:
            return []
        curves, rows = {}, {}
        timings = {label: t for label, t in got["timing"].items() if len(t)}
        if not timings:
            return []
        done = pd.concat(
            [
                t.loc[t["completed"] & (t["step"] == END_TO_END), "duration_days"]
                for t in timings.values()
            ]
        )
        longest = max(float(done.quantile(0.99) * 1.25), 1.0) if len(done) else None
        for label, timing in timings.items():  # one time axis for every variant
            curve = A.completion_curve(timing[timing["step"] == END_TO_END], max_days=longest)
            curves[label] = curve
            summary = A.path_summary(timing, c.replications).set_index("step")
            whole = summary.loc[END_TO_END]
            row = {
                "learners who started it": Cell(
                    band(
                        whole["started"], whole["started_p05"], whole["started_p95"], "count", reps
                    )
                ),
                "completed by the horizon": Cell(
                    band(
                        whole["completed_share"],
                        whole["completed_share_p05"],
                        whole["completed_share_p95"],
                        "share",
                        reps,
                    )
                ),
            }
            for name in ("median", "p90"):
                cell = band(
                    whole[f"{name}_days"],
                    whole[f"{name}_days_p05"],
                    whole[f"{name}_days_p95"],
                    "days",
                    reps,
                )
                reached = whole[f"{name}_days_reached"]
                if reached < reps:
                    cell += note(f"reached in {int(reached)} of {reps}")
                row[f"{name} days end to end"] = Cell(cell)
            rows[label] = row
        fig = P.variant_lines(
            curves,
            "days",
            f"Learning path {' → '.join(path)}: completed end to end within t days",
            "learners who completed the path",
            replications=reps,
            share=True,
            xlabel="days since entering the path",
        )
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "variant"
        return [
            Block(
                f"Learning path: {' → '.join(path)}",
                (
                    f"The path is {c.path_reason}. Kaplan-Meier per replication (learners "
                    "still on the path at the horizon count as not done). " + _reps_text(reps),
                ),
                [_figure(fig), table(frame)],
            )
        ]


def _path_table(summary: pd.DataFrame, reps: int) -> Table:
    frame = pd.DataFrame(index=pd.Index(summary["step"], name="step"))
    measures = {
        "learners who started it": ("started", "count"),
        "completed by the horizon": ("completed_share", "share"),
        "median days": ("median_days", "days"),
        "90% done within (days)": ("p90_days", "days"),
    }
    for title, (name, kind) in measures.items():
        cells = []
        for _, row in summary.iterrows():
            if name.endswith("_days") and row[f"{name}_reached"] == 0:
                cells.append(Cell(("not reached",)))
                continue
            cell = band(row[name], row[f"{name}_p05"], row[f"{name}_p95"], kind, reps)
            reached = row.get(f"{name}_reached", reps)
            if name.endswith("_days") and reached < reps:
                cell += note(f"reached in {reached:.0f} of {reps}")
            cells.append(Cell(cell))
        frame[title] = cells
    return table(frame)


@section
class Recertification(Section):
    """Re-enrollments into courses completed before (the load, its peak week, by kind),
    then the compliance of each recertified course."""

    def needs(self, run: Run) -> dict[str, Part]:
        if not run.has("enrollments"):
            return {}
        needs = {
            "again": M.re_enrollments(),
            "load": M.load(7.0, "course_id"),
            "total": M.load(7.0, None),
            "peak": M.peak(7.0),
        }
        certified = A.certified_courses(run.scenario)
        if certified:
            needs |= _calendar_needs(run)
        if certified and run.has("events") and run.has("certificates"):
            for course in certified:
                needs |= _compliance_needs(course)
        return needs

    def single(self, run: Run, got: dict) -> list[Block]:
        scenario = run.scenario
        if not run.rows("enrollments"):
            return []
        start, reps = scenario.start_date, run.reps
        recert = recertifications(scenario)
        certified = A.certified_courses(scenario)
        again = got["again"]
        if not recert and not certified and not len(again):
            return []
        run.say("recertification load")
        text: Inline = (
            "People re-enrolled by a rule into a course they had completed before, each person "
            "once per week and course. A curriculum counts once: the member courses re-taken "
            "for it are counted apart, and so are learners who enrolled themselves again from "
            "the catalog (table). " + _reps_text(reps),
        )
        parts = []
        load = got["load"]
        if load["mean"].sum() > 0:
            total, peak = got["total"], got["peak"]
            when = (
                (pd.Timestamp(start) + pd.Timedelta(days=peak["period_day"])).strftime("%d %b %Y")
                if start
                else f"day {peak['period_day']:g}"
            )
            text += (
                " Peak: ",
                *band(peak["mean"], peak["p05"], peak["p95"], "count", reps),
                f" {'person' if peak['mean'] == 1 else 'people'} in one week (each "
                f"replication's busiest week); on average the busiest week starts {when}.",
            )
            parts.append(
                _figure(P.recertification_bars(load, 7.0, start, run.colors, reps, total, peak))
            )
        if len(again):
            parts.append(_kinds_table(again, run.replications, reps))
        shown = [Block("Recertification load", text, parts)]
        if certified:
            shown += _certificate_calendar(run, got)
        if not run.has("events"):
            return shown
        if certified and run.has("certificates"):
            shown += [_certificate_compliance(run, course, got) for course in certified]
        shown += [
            _no_certificate(course, recert[course]) for course in recert if course not in certified
        ]
        return shown

    def comparison_needs(self, c: Comparison) -> dict[str, Part]:
        if not c.validity or not c.has("enrollments"):
            return {}
        days, _ = _overlay_period(c.first.horizon_days)
        needs = {"load": M.load(days, None), "peak": M.peak(7.0)}
        if c.has("events") and c.has("certificates"):
            for course in _certified_in(c):
                needs[f"states {course}"] = M.state_counts([course])
        return needs

    def comparison(self, c: Comparison, got: dict) -> list[Block]:
        variants, validity, reps = c.variants, c.validity, c.reps
        if not got:
            return []
        c.say("recertification load")
        first = c.first
        curves, peaks = {}, {}
        days, period = _overlay_period(first.horizon_days)
        for label, v in variants:
            curves[label] = _whole_periods(got["load"][label], days, v.scenario.horizon_days)
            peak = got["peak"][label]
            peaks[label] = {
                "peak people in one week": Cell(
                    band(peak["mean"], peak["p05"], peak["p95"], "count", reps)
                )
            }
        fig = P.variant_lines(
            curves,
            "period_day",
            f"Recertification load: people re-enrolled per {period}, by variant",
            f"people per {period}",
            first.start_date,
            reps,
            counts=True,
        )
        shown = [
            Block(
                "Recertification load",
                (
                    f"People re-enrolled by a rule into a course they completed before, per "
                    f"{period}, all courses together (each person once; a curriculum's members "
                    "are not counted again); the peak is each replication's busiest week. "
                    + _reps_text(reps),
                ),
                [
                    _figure(fig),
                    table(pd.DataFrame.from_dict(peaks, orient="index").rename_axis("variant")),
                ],
            )
        ]
        if not c.has("events"):
            return shown
        certified = _certified_in(c)
        for course in certified:
            c.say(f"compliance {course}")
            curves = {
                label: _compliant_curve(got[f"states {course}"][label])
                for label, v in variants
                if course in A.certified_courses(v.scenario) and c.has("certificates")
            }
            fig = P.variant_lines(
                curves,
                "day",
                f"Compliance on certificates: {course}, share of the assigned learners",
                "share of assigned learners",
                first.start_date,
                reps,
                share=True,
            )
            shown.append(
                Block(
                    f"Compliance: {course}",
                    (
                        f"Share of the learners assigned {course} (present, with an enrollment "
                        "in it) whose certificate is valid, expiring or in grace (S37), in each "
                        "variant that awards one. " + _reps_text(reps),
                    ),
                    [_figure(fig)],
                )
            )
        shown += [
            _no_certificate(course, days)
            for course, days in validity.items()
            if course not in certified
        ]
        return shown


def _certified_in(c: Comparison) -> dict[str, bool]:
    """The courses any variant certifies, in order."""
    return {course: True for _, v in c.variants for course in A.certified_courses(v.scenario)}


def _no_certificate(course: str, days: float) -> Block:
    """A course recertified by a rule that awards no certificate: no compliance is
    measured, and the page says why (a rule's delay is not a validity)."""
    return Block(
        f"Compliance: {course}",
        (
            f"{course} awards no certificate, so there is no validity to be compliant with, "
            f"and none is read from its recertification rule's delay ({plural(days, 'day')}). To "
            "measure compliance, give the course a certificate (`certificate: {valid_for: "
            "...}`, S31), with `reenroll_before` for re-enrollment before expiry (S34) "
            "instead of the rule (S38).",
        ),
    )


def _compliant_curve(counts: pd.DataFrame) -> pd.DataFrame:
    """The compliant share of the assigned learners over time (S37) from a course's state
    counts: day, mean, p05, p95."""
    shares = C.shares_band(counts)
    mine = shares[(shares["over"] == "assigned") & (shares["measure"] == "compliant")]
    return mine[["day", "mean", "p05", "p95"]].reset_index(drop=True)


def _compliance_needs(course: str) -> dict[str, Part]:
    return {
        f"states {course}": M.state_counts([course]),
        f"at horizon {course}": M.state_counts([course], at_horizon=True),
    }


def _certificate_compliance(run: Run, course: str, got: dict) -> Block:
    """S37: the states of a certifying course over time (stacked), the compliant share
    at the horizon over both denominators, the states then, and the overdue."""
    run.say(f"compliance {course}")
    scenario, reps = run.scenario, run.reps
    horizon, start = scenario.horizon_days, scenario.start_date
    certificate = A.certified_courses(scenario)[course]
    states = C.states_band(got[f"states {course}"])
    day = A.day_of(scenario, horizon)
    at = C.compliance_at(got[f"at horizon {course}"], day).set_index("measure")
    window = certificate.window()
    grace = certificate.grace
    validity = (
        f"valid for {certificate.valid_for.text()}"
        if certificate.valid_for is not None
        else f"expiring on {certificate.expires_on} each year"
    )
    text: Inline = (
        f"Each learner's state from their latest certificate of {course} ({validity}"
        + (f", window {window.text()} before expiry" if window is not None else ", no window")
        + (f", grace {grace.text()}" if grace is not None and grace.amount else ", no grace")
        + "): valid, expiring (the window is open), grace, expired or never (S37). "
        "Compliant is valid, expiring or grace. At the horizon, compliant: ",
        *band(
            at.loc["compliant", "assigned"],
            at.loc["compliant", "assigned_p05"],
            at.loc["compliant", "assigned_p95"],
            "share",
            reps,
        ),
        " of the assigned learners (present, with an enrollment in the course), ",
        *band(
            at.loc["compliant", "population"],
            at.loc["compliant", "population_p05"],
            at.loc["compliant", "population_p95"],
            "share",
            reps,
        ),
        " of everyone present. " + _reps_text(reps),
    )
    frame = pd.DataFrame(
        {
            "learners": [
                Cell(band(r["count"], r["count_p05"], r["count_p95"], "count", reps))
                for _, r in at.iterrows()
            ],
            "share of the assigned": [
                Cell(band(r["assigned"], r["assigned_p05"], r["assigned_p95"], "share", reps))
                for _, r in at.iterrows()
            ],
            "share of everyone present": [
                Cell(band(r["population"], r["population_p05"], r["population_p95"], "share", reps))
                for _, r in at.iterrows()
            ],
        },
        index=pd.Index(at.index, name="state at the horizon"),
    )
    figure = Figure(
        png_uri(P.compliance_states_chart(states, course, start, reps)),
        data=A.with_dates(states, start),
        name=f"compliance states {course}",
    )
    return Block(f"Compliance: {course}", text, [figure, table(frame)])


def _calendar_needs(run: Run) -> dict[str, Part]:
    needs = {}
    if run.has("certificates"):
        needs["expiring"] = M.expiring()
    if run.has("jobs") and "kind" in run.tables.columns.get("jobs", []):
        needs["due"] = M.due()
        needs["renewing"] = M.any_value("jobs", "kind", "re_enrollment")
    if run.has("events"):
        needs["overdue"] = M.overdue()
        needs["any overdue"] = M.any_value("events", "event", "overdue")
    return needs


def _certificate_calendar(run: Run, got: dict) -> list[Block]:
    """Certificates expiring and re-enrollments falling due per calendar month, and the
    enrollments overdue over time (S34, S35)."""
    scenario, reps = run.scenario, run.reps
    start = scenario.start_date
    unit = "calendar month" if start is not None else "30 days (no start_date: no calendar)"
    parts = []
    if "expiring" in got:
        run.say("certificates expiring")
        expiring = got["expiring"]
        parts.append(
            Figure(
                png_uri(
                    P.monthly_bars(
                        expiring,
                        f"Certificates expiring per {unit.split(' (')[0]}",
                        "certificates expiring",
                        run.colors,
                        reps,
                    )
                ),
                data=expiring,
                name="certificates expiring per month",
            )
        )
    if got.get("renewing"):
        run.say("re-enrollments due")
        due = got["due"]
        parts.append(
            Figure(
                png_uri(
                    P.monthly_bars(
                        due,
                        f"Re-enrollments falling due per {unit.split(' (')[0]}",
                        "re-enrollment jobs due",
                        run.colors,
                        reps,
                    )
                ),
                data=due,
                name="re-enrollments due per month",
            )
        )
    if got.get("any overdue"):
        run.say("overdue")
        overdue = got["overdue"]
        parts.append(
            Figure(
                png_uri(P.overdue_curve(overdue, start, run.colors, reps)),
                data=A.with_dates(overdue, start),
                name="overdue over time",
            )
        )
    if not parts:
        return []
    return [
        Block(
            "Certificates expiring, re-enrollments due, overdue",
            (
                f"Per {unit}: certificates that expired (a certificate replaced by a renewal "
                "never expires, S32), and re-enrollment jobs falling due (S34), whatever "
                "they then did; over time, the enrollments open past their due date (S35). "
                + _reps_text(reps)
                + " The table behind each figure is a CSV file next to this page.",
            ),
            parts,
        )
    ]


def _kinds_table(again: pd.DataFrame, replications: list[int], reps: int) -> Table:
    """Re-enrollments over the whole run by course and kind (people per replication)."""
    titles = {
        "rule": "re-enrolled by a rule (recertification)",
        "re-enrollment": "re-enrolled before the certificate expires (S34)",
        "curriculum member": "member re-taken for its curriculum",
        "catalog re-take": "catalog re-take (self-enrolled again)",
        "admin": "re-enrolled by an administrator",
        "bundle": "re-enrolled by a bundle",
    }
    frame = again.assign(course=again["course_id"].astype("str"))
    rows = {}
    for course, mine in frame.groupby("course", sort=False):
        cells = {}
        for kind, title in titles.items():
            counts = (
                mine[mine["kind"] == kind]
                .groupby("replication")
                .size()
                .reindex(replications, fill_value=0)
            )
            summary = A.summarise(counts)
            cells[title] = Cell(
                band(summary["mean"], summary["p05"], summary["p95"], "count", reps)
            )
        rows[course] = cells
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "course"
    used = [t for k, t in titles.items() if (again["kind"] == k).any()]
    return table(frame[used])


@section
class Sessions(Section):
    """Instructor-led sessions: seats booked and attended, and the waits."""

    def needs(self, run: Run) -> dict[str, Part]:
        return _session_needs(run)

    def single(self, run: Run, got: dict) -> list[Block]:
        reps = run.reps
        s = got.get("sessions")
        if s is None or not len(s):
            return []
        run.say("ILC sessions")
        start = run.scenario.start_date
        parts = [_figure(P.seat_utilisation_bars(A.seat_utilisation(s), start, run.colors, reps))]
        summary = A.seat_summary(s, run.replications)
        if "waits" in got:
            waits = got["waits"]
            if len(waits):
                parts.append(_figure(P.wait_histogram(waits, run.replications)))
                summary = pd.concat(
                    [summary, A.wait_summary(waits, run.replications)], ignore_index=True
                )
        frame = pd.DataFrame(
            {
                "course": summary["course_id"],
                "measure": summary["measure"],
                "value": _measure_cells(summary, reps),
            }
        ).pivot(index="measure", columns="course", values="value")
        frame = frame.reindex(list(dict.fromkeys(summary["measure"])))
        parts.append(table(frame))
        return [
            Block(
                "Instructor-led sessions",
                (
                    "Seats booked and attended per session. Waits (docs/analysis.md): the "
                    "booking delay runs from the course becoming visible to the learner's first "
                    "booking attempt (their own delay); the wait for a seat from that attempt to "
                    "the session they attended. " + _reps_text(reps),
                ),
                parts,
            )
        ]

    def comparison_needs(self, c: Comparison) -> dict[str, Part]:
        return _session_needs(c)

    def comparison(self, c: Comparison, got: dict) -> list[Block]:
        variants, reps = c.variants, c.reps
        if "sessions" not in got or any(c.rows(label, "sessions") == 0 for label, _ in variants):
            return []
        c.say("ILC sessions")
        columns = {}
        for label, _ in variants:
            summary = A.seat_summary(got["sessions"][label], c.replications)
            if "waits" in got:
                waits = got["waits"][label]
                summary = pd.concat(
                    [summary, A.wait_summary(waits, c.replications)], ignore_index=True
                )
            columns[label] = pd.Series(
                _measure_cells(summary, reps),
                index=[f"{r['course_id']}: {r['measure']}" for _, r in summary.iterrows()],
            )
        frame = pd.concat(columns, axis=1).fillna("–")
        frame.index.name = "course: measure"
        return [
            Block(
                "Instructor-led sessions",
                (
                    "Seats and waits by variant (the waits are defined in docs/analysis.md). "
                    + _reps_text(reps),
                ),
                [table(frame)],
            )
        ]


def _session_needs(context: Run | Comparison) -> dict[str, Part]:
    if not context.has("sessions"):
        return {}
    needs = {"sessions": M.sessions()}
    if context.has("events") and context.has("enrollments"):
        needs["waits"] = M.waits()
    return needs


def _measure_cells(summary: pd.DataFrame, reps: int) -> list[Cell]:
    return [
        Cell(band(r["mean"], r["p05"], r["p95"], number_kind(r["measure"]), reps))
        for _, r in summary.iterrows()
    ]


@section
class LearnerTimeline(Section):
    """One learner's enrollments drawn, with their account from `explain`."""

    def needs(self, run: Run) -> dict[str, Part]:
        if run.chosen is None:
            return {}
        return {"learner": M.of_replication("learner", {run.label: run.chosen}, _learner)}

    def single(self, run: Run, got: dict) -> list[Block]:
        if run.chosen is None:
            return []
        run.say("learner timeline")
        scenario = run.scenario
        who, replication = run.chosen
        timeline, story = got["learner"]
        how = (
            "chosen with --learner"
            if run.learner is not None
            else "the learner with the most enrollments in the first replication; choose "
            "another with --learner"
        )
        fig = P.learner_gantt(
            timeline, who, run.colors, scenario.start_date, note=f"replication {replication}"
        )
        return [
            Block(
                f"One learner's timeline: {who}",
                (f"Replication {replication}: {how}.",),
                [_figure(fig), story],
            )
        ]

    def comparison_needs(self, c: Comparison) -> dict[str, Part]:
        if not c.chosen:
            return {}
        return {"learner": M.of_replication("variant learner", c.chosen, _learner)}

    def comparison(self, c: Comparison, got: dict) -> list[Block]:
        shown = []
        for label, v in c.variants:
            if label not in c.chosen:
                continue
            c.say(f"learner timeline: {label}")
            who, replication = c.chosen[label]
            timeline, story = got["learner"][label]
            colors = P.course_colors([course.id for course in v.scenario.courses])
            fig = P.learner_gantt(
                timeline,
                who,
                colors,
                v.scenario.start_date,
                note=f"variant {label}, replication {replication}",
            )
            shown.append(
                Block(
                    f"Learner {who}: {label}",
                    (f"Variant {label}, replication {replication}.",),
                    [_figure(fig), story],
                )
            )
        return shown


def _learner(result, who: str, replication: int, label: str | None) -> tuple:
    """A learner's timeline and story, of the tables holding their replication (`label`:
    of a variant compared, None: the page's one run)."""
    timeline = A.learner_timeline(
        result.enrollments, result.jobs, who, replication, result.scenario.horizon_days
    )
    return timeline, _story(result, who, replication, label)


def _story(result, learner: str, replication: int, variant: str | None = None) -> Story:
    """The learner's account from `explain` (docs/explain.md), under the timeline."""
    needs = [n for n in ("enrollments", "jobs", "events") if getattr(result, n) is None]
    if needs:  # explain reads all three
        return Story(learner, None, tables_text(needs))
    from ..design.explain import explain

    if variant is not None and "variant" not in result.events.columns:
        variant = None  # a variant already split out of its sweep
    frame = explain(result, learner, replication=replication, variant=variant)
    start = result.scenario.start_date
    rows = [
        (
            "" if math.isnan(day) else (f"{day:g}" if start is None else instant(day, start)),
            str(text),
        )
        for day, text in zip(frame["day"], frame["text"], strict=True)
    ]
    return Story(learner, rows, when="day" if start is None else "when")


def tables_text(names: list[str]) -> str:
    """'the jobs table', 'the jobs, events tables'."""
    return f"{', '.join(names)} table{'s' if len(names) > 1 else ''}"


@section
class Warnings(Section):
    """What the run warned of, each warning once."""

    def single(self, run: Run, got: dict) -> list[Block]:
        return self._warnings(run.result)

    def comparison(self, c: Comparison, got: dict) -> list[Block]:
        return self._warnings(c.result)

    @staticmethod
    def _warnings(result) -> list[Block]:
        if not result.warnings:
            return []
        return [Block("Warnings", (), [Items(list(dict.fromkeys(result.warnings)))])]
