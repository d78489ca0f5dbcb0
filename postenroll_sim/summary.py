"""The short text summary `postenroll-sim run` prints: what was enrolled, what each rule did.

With several replications every number is counted per replication, then printed as the
mean with its 5-95% band across replications; a sweep prints each variant apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import METHODS, OUTCOMES

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
    reps = len(replications)
    table = pd.crosstab(enrollments["course_id"], enrollments["method"], dropna=False) / reps
    table = table.reindex(columns=[m for m in METHODS if m in table.columns])
    table = table.loc[:, table.sum() > 0]
    table["total"] = table.sum(axis=1)
    table = table[table["total"] > 0]
    if bands and reps > 1:
        per = (
            pd.crosstab(enrollments["replication"], enrollments["course_id"], dropna=False)
            .reindex(replications, fill_value=0)
            .reindex(columns=table.index, fill_value=0)
        )
        table["total 5-95%"] = _spread(per)
    return table


def outcomes_by_rule(
    jobs: pd.DataFrame, replications: list[int] | None = None, bands: bool = True
) -> pd.DataFrame:
    """Job outcomes per rule (one count per job and target, mean per replication), with
    the 5-95% band of each rule's jobs (`jobs 5-95%`) when there are several replications."""
    replications = _replications(jobs, replications)
    reps = len(replications)
    table = pd.crosstab(jobs["rule_id"], jobs["outcome"], dropna=False) / reps
    table = table.reindex(columns=[o for o in OUTCOMES if o in table.columns])
    table = table.loc[:, table.sum() > 0]
    table = table[table.sum(axis=1) > 0]
    if bands and reps > 1:
        per = (
            pd.crosstab(jobs["replication"], jobs["rule_id"], dropna=False)
            .reindex(replications, fill_value=0)
            .reindex(columns=table.index, fill_value=0)
        )
        table["outcomes 5-95%"] = _spread(per)
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


def headline(result, replications: list[int]) -> list[str]:
    """'enrollments 1234 (5-95%: 1200-1260)' and the like, counted per replication."""
    e, j, ev = result.enrollments, result.jobs, result.events
    parts = []

    def per(frame, counter) -> np.ndarray:
        return counter(frame).reindex(replications, fill_value=0).to_numpy()

    if ev is not None:
        added = ev[ev["event"] == "learner_added"]
        parts.append(
            "learners " + _band_text(per(added, lambda f: f.groupby("replication").size()))
        )
    if e is not None:
        parts.append("enrollments " + _band_text(per(e, lambda f: f.groupby("replication").size())))
    if j is not None:
        parts.append(
            "jobs " + _band_text(per(j, lambda f: f.groupby("replication")["job_id"].nunique()))
        )
        pending = j[j["outcome"] == "pending"]
        parts.append(
            "pending at the horizon "
            + _band_text(per(pending, lambda f: f.groupby("replication")["job_id"].nunique()))
        )
    return parts


def summary_text(result, source: str) -> str:
    scenario = result.scenario
    e, j = result.enrollments, result.jobs
    any_table = next(iter(result.tables().values()))
    replications = _replications(any_table, list(range(result.replications)))
    reps = len(replications)
    lines = [
        f"{scenario.name}  ({source})",
        f"horizon {scenario.horizon_days:g} days, {reps} replication{'s' if reps > 1 else ''}"
        + (": mean per replication (5-95% across replications)" if reps > 1 else ""),
        "  " + ", ".join(headline(result, replications)),
    ]
    if e is not None:
        lines += ["", "Enrollments by course and method" + (" (mean):" if reps > 1 else ":")]
        lines.append(_fmt(enrollments_by_course(e, replications)) if len(e) else "  (none)")
    if j is not None:
        lines += [
            "",
            "Rule outcomes (one per job and target course" + (", mean):" if reps > 1 else "):"),
        ]
        lines.append(_fmt(outcomes_by_rule(j, replications)) if len(j) else "  (no rule fired)")
    return "\n".join(lines)


def by_variant(result) -> pd.DataFrame:
    """Per variant: enrollments, jobs and each job outcome, mean per replication, with the
    5-95% band of enrollments and jobs across replications."""
    replications = list(range(max(result.replications, 1)))
    rows = {}
    for label, single in result.split_variants():
        e, j = single.enrollments, single.jobs
        row = {}
        if e is not None:
            per = e.groupby("replication").size().reindex(replications, fill_value=0)
            row["enrollments"] = per.mean()
            row["enrollments 5-95%"] = f"{per.quantile(LOW):.0f}-{per.quantile(HIGH):.0f}"
        if j is not None:
            per = j.groupby("replication")["job_id"].nunique().reindex(replications, fill_value=0)
            row["jobs"] = per.mean()
            row["jobs 5-95%"] = f"{per.quantile(LOW):.0f}-{per.quantile(HIGH):.0f}"
            outcomes = j["outcome"].astype("str").value_counts() / len(replications)
            for outcome in OUTCOMES:
                if outcomes.get(outcome, 0) > 0:
                    row[outcome] = outcomes[outcome]
        rows[label] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "variant"
    ordered = [c for c in ["enrollments", "enrollments 5-95%", "jobs", "jobs 5-95%"] if c in table]
    ordered += [o for o in OUTCOMES if o in table]
    return table[ordered].fillna(0) if len(table.columns) else table


def sweep_summary_text(result, source: str) -> str:
    reps = max(result.replications, 1)
    labels = result.variant_labels()
    lines = [
        f"{result.scenario.name}  ({source})",
        f"sweep: {len(labels)} variants x {reps} replications, each variant on its own "
        "(means per replication, 5-95% across replications; job counts are per job and target)",
        "",
    ]
    table = by_variant(result)
    lines.append(_fmt(table) if len(table.columns) else "(enrollments and jobs not built)")
    return "\n".join(lines)


# ----- two runs compared: `postenroll-sim compare` ---------------------------------------


def number_kind(name: str) -> str:
    """How a number reads: a share (printed in %), days, or a count."""
    lowered = name.lower()
    if "share" in lowered or "compliant" in lowered:
        return "share"
    if "days" in lowered:
        return "days"
    return "count"


def _plain_number(value: float, kind: str, whole: bool) -> str:
    if value != value:  # NaN
        return "–"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "count" and whole:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _signed_number(value: float, kind: str, whole: bool) -> str:
    if value != value:
        return "–"
    if value == 0:
        return "0"
    if kind == "share":
        text = f"{value * 100:+.1f} pts"
    elif kind == "count" and whole:
        text = f"{value:+,.0f}"
    else:
        text = f"{value:+,.1f}"
    return text[1:] if not text.strip("-+0.,pts ") else text  # -0.0 (rounded): 0.0


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
                    _signed_number(row[end] * (100 if kind == "share" else 1), "days", False)
                    for end in ("low", "high")
                )
                interval = f"[{low}, {high}]" + (" pts" if kind == "share" else "")
            if 0 < row["n"] < replications:
                interval += f" ({row['n']} paired)"
            means = [
                _plain_number(row[run], kind, whole)
                + (f" ({row[f'n_{run}']}/{replications})" if row[f"n_{run}"] < replications else "")
                for run in ("base", "other")
            ]
            rows.append(
                (
                    f"  {name}",
                    *means,
                    _signed_number(row["difference"], kind, whole),
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
) -> str:
    """What `postenroll-sim compare` prints: the two runs, what differs between the
    scenarios, the table of differences and what changed beyond noise."""
    reps = f"{replications} replication{'s' if replications != 1 else ''}"
    lines = [
        *(
            f"{which}: {label}" + (f" ({source})" if source not in label else "")
            for which, label, source in zip("AB", labels, sources, strict=True)
        ),
        f"horizon {horizon_days:g} days, seed {seed}, {reps} of each"
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
