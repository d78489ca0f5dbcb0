"""The short text summary `postenroll-sim run` prints: what was enrolled, what each rule did.

With several replications every number is counted per replication, then printed as the
mean with its 5-95% band across replications; a sweep prints each variant apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..columns import METHODS, OUTCOMES
from ..formatting import days, instant, number, number_kind, plural, signed

LOW, HIGH = 0.05, 0.95


def _replications(frame: pd.DataFrame, replications: list[int] | None) -> list[int]:
    if replications:
        return list(replications)
    found = sorted(int(r) for r in pd.unique(frame["replication"])) if len(frame) else []
    return found or [0]


def _spread(per_replication: pd.DataFrame) -> pd.Series:
    """'low-high' per column of a (replication x column) table of counts."""
    low = per_replication.quantile(LOW)
    high = per_replication.quantile(HIGH)
    return pd.Series(
        [f"{a:.0f}-{b:.0f}" for a, b in zip(low, high, strict=True)], index=per_replication.columns
    )


def enrollments_by_course(
    enrollments: pd.DataFrame, replications: list[int] | None = None, bands: bool = True
) -> pd.DataFrame:
    """Enrollments per course and method (mean per replication), with a total column and,
    with several replications, the total's 5-95% band (`total 5-95%`)."""
    replications = _replications(enrollments, replications)
    part = by_course_counts(enrollments, replications, bands)
    return by_course_of([part], replications)


def by_course_counts(
    enrollments: pd.DataFrame, replications: list[int], bands: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """`enrollments_by_course`' part, of the rows of `replications`: records per course
    and method, and (`bands`) per replication and course."""
    counts = _crosstab(enrollments["course_id"], enrollments["method"])
    per = _per_replication(enrollments, "course_id", replications) if bands else None
    return counts, per


def by_course_of(parts: list, replications: list[int]) -> pd.DataFrame:
    """`enrollments_by_course` from the parts (`by_course_counts`) of every replication."""
    counts = None
    for part, _ in parts:
        counts = part if counts is None else _added(counts, part)
    pers = [per for _, per in parts if per is not None]
    per = None
    if pers:
        per = pd.concat(pers) if len(pers) > 1 else pers[0]
        if per.isna().any().any():  # a course some parts' categories lack: none there
            per = per.fillna(0).astype(np.int64)
    return _by_course(counts, replications, per)


def _added(before: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Two tables of counts added, rows and columns united in order of first appearance
    (as categories are)."""
    if before.index.equals(table.index) and before.columns.equals(table.columns):
        return before + table
    index = before.index.append(table.index.difference(before.index, sort=False))
    columns = before.columns.append(table.columns.difference(before.columns, sort=False))
    before = before.reindex(index=index, columns=columns, fill_value=0)
    return before + table.reindex(index=index, columns=columns, fill_value=0)


def _per_replication(frame: pd.DataFrame, column: str, replications: list[int]) -> pd.DataFrame:
    """Rows per replication and value of `column` (replication x value)."""
    return _crosstab(frame["replication"], frame[column]).reindex(replications, fill_value=0)


def _crosstab(rows: pd.Series, columns: pd.Series) -> pd.DataFrame:
    """`pd.crosstab(rows, columns, dropna=False)`, counted on codes: crosstab first turns
    a categorical's every value into a string (seconds for a million rows)."""

    def coded(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
        if isinstance(series.dtype, pd.CategoricalDtype):
            return series.cat.codes.to_numpy(), series.cat.categories
        codes, uniques = pd.factorize(series, sort=True)
        return codes, pd.Index(uniques)

    row_codes, row_values = coded(rows)
    column_codes, column_values = coded(columns)
    both = (row_codes >= 0) & (column_codes >= 0)
    cells = row_codes[both].astype(np.int64) * len(column_values) + column_codes[both]
    counts = np.bincount(cells, minlength=len(row_values) * len(column_values))
    return pd.DataFrame(
        counts.reshape(len(row_values), len(column_values)),
        index=pd.Index(row_values, name=rows.name),
        columns=pd.Index(column_values, name=columns.name),
    )


def _by_course(
    counts: pd.DataFrame, replications: list[int], per: pd.DataFrame | None
) -> pd.DataFrame:
    reps = len(replications)
    table = counts / reps
    table = table.reindex(columns=[m for m in METHODS if m in table.columns])
    table = table.loc[:, table.sum() > 0]
    table["total"] = table.sum(axis=1)
    table = table[table["total"] > 0]
    if per is not None and reps > 1:
        table["total 5-95%"] = _spread(per.reindex(columns=table.index, fill_value=0))
    return table


def outcomes_by_rule(
    jobs: pd.DataFrame, replications: list[int] | None = None, bands: bool = True
) -> pd.DataFrame:
    """Job outcomes per rule (one count per job and target, mean per replication), with
    the 5-95% band of each rule's jobs (`jobs 5-95%`) when there are several replications."""
    replications = _replications(jobs, replications)
    counts = _crosstab(jobs["rule_id"], jobs["outcome"])
    per = _per_replication(jobs, "rule_id", replications) if bands else None
    return _by_rule(counts, replications, per)


def _by_rule(
    counts: pd.DataFrame, replications: list[int], per: pd.DataFrame | None
) -> pd.DataFrame:
    reps = len(replications)
    table = counts / reps
    table = table.reindex(columns=[o for o in OUTCOMES if o in table.columns])
    table = table.loc[:, table.sum() > 0]
    table = table[table.sum(axis=1) > 0]
    if per is not None and reps > 1:
        table["outcomes 5-95%"] = _spread(per.reindex(columns=table.index, fill_value=0))
    return table


def _fmt(table: pd.DataFrame) -> str:
    numbers = table.select_dtypes("number")
    whole = (numbers % 1 == 0).all().all()
    return table.to_string(float_format=(lambda v: f"{v:.0f}") if whole else (lambda v: f"{v:.1f}"))


def _band_text(values: np.ndarray) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return f"{values.mean():.0f}"
    return (
        f"{values.mean():.0f} (5-95%: {np.quantile(values, LOW):.0f}"
        f"-{np.quantile(values, HIGH):.0f})"
    )


class Digest:
    """What the summary says of a run, taken table by table and batch by batch: a run
    written to disk as it is built never holds its tables whole (runner.simulate_into).
    Every number is a sum over batches; jobs are counted where their rows begin (a job's
    rows are consecutive in the jobs table), so a job split between two batches counts once."""

    def __init__(self, replications: list[int]):
        self.replications = list(replications)
        self.counts: dict[str, np.ndarray] = {}  # headline name -> count per replication
        self.crosstabs: dict[str, pd.DataFrame] = {}  # summed over batches
        self._last_job: dict[str, tuple[int, int]] = {}  # (replication, job) ending a batch

    @classmethod
    def of(cls, result) -> Digest:
        digest = cls(list(range(result.replications)))
        for name, frame in result.tables().items():
            digest.add(name, frame)
        return digest

    def _count(self, name: str, replication: np.ndarray) -> None:
        per = np.bincount(replication, minlength=max(self.replications, default=0) + 1)
        values = per[self.replications]
        self.counts[name] = self.counts.get(name, 0) + values

    def _sum(self, name: str, table: pd.DataFrame) -> None:
        before = self.crosstabs.get(name)
        self.crosstabs[name] = table if before is None else _added(before, table)

    def absorb(self, other: Digest) -> None:
        """Add the digest of other replications (a worker's, of its own): each count goes
        to its replication, the tables are summed."""
        at = {r: i for i, r in enumerate(self.replications)}
        places = np.array([at[r] for r in other.replications], dtype=np.int64)
        for name, values in other.counts.items():
            counts = self.counts.get(name)
            if counts is None or np.isscalar(counts):
                counts = np.zeros(len(self.replications), dtype=np.asarray(values).dtype)
            counts[places] += values
            self.counts[name] = counts
        for name, table in other.crosstabs.items():
            self._sum(name, table)

    def _job_starts(self, name: str, frame: pd.DataFrame) -> np.ndarray:
        replication = frame["replication"].to_numpy(dtype=np.int64)
        job = frame["job_id"].to_numpy(dtype=np.int64, na_value=-1)
        if not len(job):
            return replication
        previous = self._last_job.get(name, (-1, -1))
        starts = np.ones(len(job), dtype=bool)
        starts[1:] = (job[1:] != job[:-1]) | (replication[1:] != replication[:-1])
        starts[0] = (int(replication[0]), int(job[0])) != previous
        self._last_job[name] = (int(replication[-1]), int(job[-1]))
        return replication[starts]

    def add(self, name: str, frame: pd.DataFrame) -> None:
        """Take what the summary needs of one table, or of one batch of it (in order)."""
        replication = frame["replication"].to_numpy(dtype=np.int64)
        if name == "events":
            self._count("learners", replication[(frame["event"] == "learner_added").to_numpy()])
        elif name == "enrollments":
            self._count("enrollments", replication)
            self._sum("by_course", _crosstab(frame["course_id"], frame["method"]))
            self._sum("per_course", _per_replication(frame, "course_id", self.replications))
        elif name == "jobs":
            self._count("jobs", self._job_starts("jobs", frame))
            pending = frame[frame["outcome"] == "pending"]
            self._count("pending at the horizon", self._job_starts("pending", pending))
            self._sum("by_rule", _crosstab(frame["rule_id"], frame["outcome"]))
            self._sum("per_rule", _per_replication(frame, "rule_id", self.replications))
            outcome = frame["outcome"]
            if isinstance(outcome.dtype, pd.CategoricalDtype):
                codes, values = outcome.cat.codes.to_numpy(), outcome.cat.categories
            else:
                codes, values = pd.factorize(outcome.astype("str"), sort=True)
            found = np.bincount(codes[codes >= 0], minlength=len(values))
            self._sum("outcomes", pd.DataFrame([found], columns=pd.Index(values, name="outcome")))
            if "kind" in frame:  # S34: a certificate's re-enrollment jobs (no rule's)
                renewing = frame[frame["kind"] == "re_enrollment"]
                self._sum("renewing", _crosstab(renewing["target_course_id"], renewing["outcome"]))

    def headline(self) -> list[str]:
        """'enrollments 1234 (5-95%: 1200-1260)' and the like, counted per replication."""
        order = ("learners", "enrollments", "jobs", "pending at the horizon")
        return [f"{name} {_band_text(self.counts[name])}" for name in order if name in self.counts]

    @property
    def by_course(self) -> pd.DataFrame | None:
        if "by_course" not in self.crosstabs:
            return None
        return _by_course(
            self.crosstabs["by_course"], self.replications, self.crosstabs["per_course"]
        )

    @property
    def by_rule(self) -> pd.DataFrame | None:
        if "by_rule" not in self.crosstabs:
            return None
        return _by_rule(self.crosstabs["by_rule"], self.replications, self.crosstabs["per_rule"])

    @property
    def re_enrollments(self) -> pd.DataFrame | None:
        """Re-enrollment jobs' outcomes by course (S34), mean per replication; None when
        the run had none."""
        table = self.crosstabs.get("renewing")
        if table is None or not table.to_numpy().sum():
            return None
        table = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
        table.index.name, table.columns.name = "course_id", "outcome"
        return (table / len(self.replications)).round(1)


def span(horizon_days: float, start_date=None) -> str:
    """The simulated span: `730 days`, with a calendar `730 days, 2027-01-04 to
    2029-01-03 (day 730)`."""
    if start_date is None:
        return days(horizon_days)
    return f"{days(horizon_days)}, {instant(0, start_date).split(' (')[0]} to " + instant(
        horizon_days, start_date
    )


def warm_start_text(counts: dict[str, int], scenario) -> str:
    """What a warm start replayed (S39), in one line: `run` prints it."""
    day0 = f" ({scenario.start_date})" if scenario.start_date else ""
    return (
        f"warm start: replayed {counts['records']:,} history records before day 0{day0}, "
        f"{counts['learners']:,} learners present; {counts['pending']:,} jobs pending at "
        f"day 0; {counts['open']:,} open enrollments continue (S40); "
        f"{counts['discrepancies']:,} discrepancies before day 0 as audit counts them "
        f"({counts['missing']:,} missing, {counts['unexpected']:,} unexpected, "
        f"{counts['off_time']:,} off-time; the history wins, S39)"
    )


def summary_text(result, source: str) -> str:
    return digest_text(Digest.of(result), result.scenario, source)


def digest_text(digest: Digest, scenario, source: str) -> str:
    """The summary of a run from its digest (the tables it was taken from may be gone)."""
    reps = len(digest.replications)
    lines = [
        f"{scenario.name}  ({source})",
        f"horizon {span(scenario.horizon_days, scenario.start_date)}, {plural(reps, 'replication')}"
        + (": mean per replication (5-95% across replications)" if reps > 1 else ""),
        "  " + ", ".join(digest.headline()),
    ]
    by_course, by_rule = digest.by_course, digest.by_rule
    if by_course is not None:
        lines += ["", "Enrollments by course and method" + (" (mean):" if reps > 1 else ":")]
        lines.append(_fmt(by_course) if len(by_course) else "  (none)")
    if by_rule is not None:
        lines += [
            "",
            "Rule outcomes (one per job and target course" + (", mean):" if reps > 1 else "):"),
        ]
        lines.append(_fmt(by_rule) if len(by_rule) else "  (no rule fired)")
    renewing = digest.re_enrollments
    if renewing is not None:
        lines += [
            "",
            "Re-enrollment outcomes (S34: one per job, counted in `jobs` too"
            + ("; mean):" if reps > 1 else "):"),
            _fmt(renewing),
        ]
    return "\n".join(lines)


def by_variant(result) -> pd.DataFrame:
    """Per variant: enrollments, jobs and each job outcome, mean per replication, with the
    5-95% band of enrollments and jobs across replications."""
    return variant_table([(label, Digest.of(single)) for label, single in result.split_variants()])


def variant_table(digests: list[tuple[str | None, Digest]]) -> pd.DataFrame:
    """`by_variant` from each variant's digest (a sweep written as it ran keeps no tables)."""
    rows = {}
    for label, digest in digests:
        reps = max(len(digest.replications), 1)
        row = {}
        for name in ("enrollments", "jobs"):
            if name in digest.counts:
                per = np.asarray(digest.counts[name])
                row[name] = per.mean()
                row[f"{name} 5-95%"] = f"{np.quantile(per, LOW):.0f}-{np.quantile(per, HIGH):.0f}"
        outcomes = digest.crosstabs.get("outcomes")
        if outcomes is not None:
            totals = outcomes.sum(axis=0)
            for outcome in OUTCOMES:
                if totals.get(outcome, 0) > 0:
                    row[outcome] = totals[outcome] / reps
        rows[label] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "variant"
    ordered = [c for c in ["enrollments", "enrollments 5-95%", "jobs", "jobs 5-95%"] if c in table]
    ordered += [o for o in OUTCOMES if o in table]
    return table[ordered].fillna(0) if len(table.columns) else table


def sweep_summary_text(result, source: str) -> str:
    return sweep_digest_text(
        result.scenario, result.replications, result.variant_labels(), by_variant(result), source
    )


def sweep_digest_text(
    scenario, replications: int, labels: list[str], table: pd.DataFrame, source: str
) -> str:
    """The summary of a sweep from its `variant_table` (the tables may be gone)."""
    reps = max(replications, 1)
    lines = [
        f"{scenario.name}  ({source})",
        f"sweep: {plural(len(labels), 'variant')} x {plural(reps, 'replication')}, each variant on its own "
        "(means per replication, 5-95% across replications; job counts are per job and target)",
        "",
    ]
    lines.append(_fmt(table) if len(table.columns) else "(enrollments and jobs not built)")
    return "\n".join(lines)


# ----- two runs compared: `postenroll-sim compare` ---------------------------------------


def _places(kind: str, whole: bool) -> int:
    """Decimals of a line of the comparison: whole counts when every number of it is."""
    return 0 if kind == "count" and whole else 1


def comparison_lines(table: pd.DataFrame, replications: int, exact: bool = False) -> list[str]:
    """The table of `analysis.compare.compare_numbers` as text: each number's mean in A
    and in B, B - A and its 95% interval, `*` where it changed beyond noise."""
    header = ("", "A", "B", "B - A", "95% interval")
    rows: list[tuple[str, ...] | str] = []
    for group, frame in table.groupby(level="group", sort=False):
        rows.append(group)
        for (_, name), row in frame.iterrows():
            kind = number_kind(name)
            values = [row["base"], row["other"], row["difference"]]
            whole = all(v != v or float(v).is_integer() for v in values)
            if row["exact"]:
                interval = "exact" if exact else "the same in every replication"
            elif row["n"] == 0:
                missing = [r for r, n in (("A", row["n_base"]), ("B", row["n_other"])) if not n]
                interval = (
                    f"no value in {' or '.join(missing)}"
                    if missing
                    else "no replication has it in both"
                )
            elif row["low"] != row["low"]:
                interval = "–"
            else:
                low, high = (
                    signed(row[end] * (100 if kind == "share" else 1), "days", 1)
                    for end in ("low", "high")
                )
                interval = f"[{low}, {high}]" + (" pts" if kind == "share" else "")
            if 0 < row["n"] < replications:
                interval += f" ({row['n']} paired)"
            means = [
                number(row[run], kind, _places(kind, whole))
                + (f" ({row[f'n_{run}']}/{replications})" if row[f"n_{run}"] < replications else "")
                for run in ("base", "other")
            ]
            rows.append(
                (
                    f"  {name}",
                    *means,
                    signed(row["difference"], kind, _places(kind, whole)),
                    interval + ("  *" if row["changed"] else ""),
                )
            )
    cells = [r for r in rows if isinstance(r, tuple)]
    widths = [max(len(str(r[i])) for r in [header, *cells]) for i in range(len(header))]

    def line(r: tuple[str, ...]) -> str:
        return (
            f"{r[0]:<{widths[0]}}  "
            + "  ".join(f"{r[i]:>{widths[i]}}" for i in range(1, 4))
            + f"  {r[4]}"
        ).rstrip()

    out = [line(header)]
    for r in rows:
        out.append(r if isinstance(r, str) else line(r))
    if ((table["n_base"] < replications) | (table["n_other"] < replications)).any():
        out += [
            "",
            "(k/N): the number exists in k of the N replications (a percentile not reached, "
            "no one waiting, ...);",
            "the difference is taken over the replications where both runs have it (paired).",
        ]
    return out


def comparison_text(
    table: pd.DataFrame,
    labels: tuple[str, str],
    sources: tuple[str, str],
    changes: list[str],
    replications: int,
    seed: int | None,
    horizon_days: float,
    exact: bool = False,
    start_date=None,
) -> str:
    """What `postenroll-sim compare` prints: the two runs, what differs between the
    scenarios, the table of differences and what changed beyond noise."""
    reps = plural(replications, "replication")
    lines = [
        *(
            f"{which}: {label}" + (f" ({source})" if source not in label else "")
            for which, label, source in zip("AB", labels, sources, strict=True)
        ),
        f"horizon {span(horizon_days, start_date)}, seed {seed}, {reps} of each"
        + (
            ", paired: replication r of A and of B draw from the same random streams"
            if replications > 1 and not exact
            else ""
        ),
    ]
    if changes:
        lines += ["", "What differs (B against A):", *(f"  {c}" for c in changes)]
    else:
        lines += ["", "The two scenarios run the same rules: every difference should be 0."]
    lines += ["", *comparison_lines(table, replications, exact)]
    changed = table[table["changed"]]
    names = [name for _, name in changed.index]
    lines.append("")
    if exact:
        lines.append(
            "The scenarios draw nothing at random (no population, no behaviour): every "
            "replication is the same, so each difference is exact."
        )
    elif replications < 2:
        lines.append(
            "One replication gives no interval, so nothing is flagged: run with "
            "--replications 20 to see what changed beyond noise."
        )
    if exact or replications >= 2:
        what = "changed" if exact else "changed beyond noise (the 95% interval excludes 0)"
        lines.append(
            f"* {what}: {len(names)} of {len(table)} numbers"
            if names
            else f"Nothing {what.split(' (')[0]}."
        )
    return "\n".join(lines)
