"""Key numbers per replication, and differences between variants with a 95% interval.

Variants of a sweep share their replication seeds (common random numbers), so
replication r of one variant and replication r of another met the same learners on
the same days: the difference is taken replication by replication (paired), which
removes most of the noise the two runs share. Variants that ran with different seeds
(a sweep of `seed`) are compared as independent samples (Welch).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..scenario.diff import draws_nothing_at_random
from .certificates import COMPLIANT, certified_courses, compliance_state_counts
from .core import as_str, one_variant, replications_of
from .ilc import seat_summary, session_waits
from .metrics import re_enrollments
from .rules import curricula as curricula_of
from .rules import recertifications
from .timing import END_TO_END, learning_path_timing, path_measures

# two-sided 95%: the 0.975 quantile of Student's t by degrees of freedom
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]
_T975 += [2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086]
_T975 += [2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
_T975_TAIL = [(40, 2.021), (60, 2.000), (120, 1.980), (math.inf, 1.960)]


def t975(df: float) -> float:
    """The 0.975 quantile of Student's t (linear between tabulated degrees of freedom)."""
    if df < 1:
        return math.nan
    if df <= 30:
        low = int(math.floor(df))
        if low == df or low == 30:
            return _T975[low - 1]
        a, b = _T975[low - 1], _T975[low]
        return a + (b - a) * (df - low)
    previous = (30, _T975[-1])
    for limit, value in _T975_TAIL:
        if df <= limit:
            if math.isinf(limit):
                return value
            share = (df - previous[0]) / (limit - previous[0])
            return previous[1] + (value - previous[1]) * share
        previous = (limit, value)
    return 1.960


def difference(base: pd.Series, other: pd.Series, paired: bool = True) -> dict[str, float]:
    """`other - base` (both one value per replication, indexed by replication): the mean
    difference with a 95% interval (`low`, `high`; NaN with fewer than 2 replications).
    Paired: replication by replication (common random numbers); else Welch."""
    if paired:
        both = pd.concat([base.rename("a"), other.rename("b")], axis=1).dropna()
        d = (both["b"] - both["a"]).to_numpy(dtype=float)
        n = len(d)
        mean = float(d.mean()) if n else math.nan
        if n < 2:
            return {"mean": mean, "low": math.nan, "high": math.nan, "n": n}
        half = t975(n - 1) * float(d.std(ddof=1)) / math.sqrt(n)
        return {"mean": mean, "low": mean - half, "high": mean + half, "n": n}
    a = base.dropna().to_numpy(dtype=float)
    b = other.dropna().to_numpy(dtype=float)
    n = min(len(a), len(b))
    mean = float(b.mean() - a.mean()) if len(a) and len(b) else math.nan
    if len(a) < 2 or len(b) < 2:
        return {"mean": mean, "low": math.nan, "high": math.nan, "n": n}
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return {"mean": mean, "low": mean, "high": mean, "n": n}
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = t975(df) * se
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": n}


def key_numbers(
    result,
    path: list[str] | None = None,
    validity: dict[str, float] | None = None,
    replications: list[int] | None = None,
) -> pd.DataFrame:
    """The numbers an analyst quotes, one row per replication (index `replication`), one
    column per number. `result` is one variant's Result; `path` the learning path to
    time (none: not timed); `validity` {course: days} the courses whose compliance at
    the horizon to report (default: the scenario's recertifying courses)."""
    part = chunk_key_numbers(result, replications, path, validity)
    return joined_numbers(result.scenario, [part])[KEY_NUMBERS]


def chunk_key_numbers(
    result,
    replications: list[int] | None,
    path: list[str] | None = None,
    validity: dict[str, float] | None = None,
) -> dict[str, Any]:
    """`key_numbers`' part, of the tables of some replications: what `joined_numbers`
    stacks (as `chunk_numbers`, the key numbers alone)."""
    numbers, counted = _key_numbers(result, path, validity, replications)
    return {"numbers": {KEY_NUMBERS: numbers}, "counted": counted}


def _key_numbers(
    result,
    path: list[str] | None,
    validity: dict[str, float] | None,
    replications: list[int] | None,
) -> tuple[pd.DataFrame, list[str]]:
    """`key_numbers`, and which of them are counts (0 in a replication without any, where
    the others have no value)."""
    scenario = result.scenario
    e, j, ev, s = result.enrollments, result.jobs, result.events, result.sessions
    one_variant(e, j, ev, s)  # a sweep: one variant at a time (Result.split_variants())
    horizon = scenario.horizon_days
    replications = replications or replications_of(*[t for t in (e, j, ev, s) if t is not None])
    out = pd.DataFrame(index=pd.Index(replications, name="replication"))

    counted: list[str] = []

    def per_replication(series: pd.Series) -> pd.Series:
        return series.reindex(replications, fill_value=0).astype(float)

    def count(name: str, series: pd.Series) -> None:
        out[name] = per_replication(series)
        counted.append(name)

    if ev is not None:
        added = ev[ev["event"] == "learner_added"]
        count("learners", added.groupby("replication").size())
    if e is not None:
        count("enrollment records", e.groupby("replication").size())
    if j is not None:
        # S34: a certificate's re-enrollment jobs are no rule's (a v2 column: `kind`)
        renewing = j["kind"] == "re_enrollment" if "kind" in j else None
        rules = j[~renewing] if renewing is not None else j
        count("rule jobs", rules.groupby("replication")["job_id"].nunique())
        if renewing is not None and renewing.any():
            count(
                "re-enrollment jobs (S34)", j[renewing].groupby("replication")["job_id"].nunique()
            )
        pending = j[j["outcome"] == "pending"]
        count("jobs pending at the horizon", pending.groupby("replication")["job_id"].nunique())
    if e is not None and path:
        timing = learning_path_timing(e, path, horizon)
        whole = timing[timing["step"] == END_TO_END]
        count("learning path: starters", whole.groupby("replication").size())
        out["learning path: share completed by the horizon"] = (
            whole.groupby("replication")["completed"].mean().reindex(replications)
        )
        measures = path_measures(timing, replications)
        per = measures[measures["step"] == END_TO_END].set_index("replication")
        out["learning path: median days end to end"] = per["median_days"].reindex(replications)
        out["learning path: p90 days end to end"] = per["p90_days"].reindex(replications)
    validity = recertifications(scenario) if validity is None else validity
    certified = certified_courses(scenario)
    if e is not None and (validity or certified):
        again = re_enrollments(e, curricula_of(scenario))
        rule = again[again["kind"] == "rule"]
        count("recertifications (people re-enrolled by a rule)", rule.groupby("replication").size())
        weekly = rule.assign(
            week=np.floor(rule["enrolled_day"] / 7.0), learner=as_str(rule["learner_id"])
        ).drop_duplicates(["replication", "week", "learner"])
        count(
            "recertification peak (people in one week)",
            weekly.groupby(["replication", "week"]).size().groupby(level=0).max(),
        )
        if certified:
            count(
                "re-enrollments before expiry (S34)",
                again[again["kind"] == "re-enrollment"].groupby("replication").size(),
            )
        retakes = again[again["kind"] == "catalog re-take"]
        count("catalog re-takes (self-enrolled again)", retakes.groupby("replication").size())
        if ev is not None and result.certificates is not None and certified:
            # on certificates only (S37): a rule's delay is no validity
            at = compliance_state_counts(result.certificates, e, ev, scenario, days=[horizon])
            for course in certified:
                mine = at[at["course_id"] == course].set_index("replication")
                assigned = mine["assigned"].where(mine["assigned"] > 0)
                out[f"compliant at the horizon: {course} (share assigned)"] = (
                    mine[list(COMPLIANT)].sum(axis=1) / assigned
                ).reindex(replications)
    if s is not None and len(s):
        for course in seat_summary(s, replications)["course_id"].unique():
            mine = s[as_str(s["course_id"]) == course]
            per = mine.groupby("replication")[["booked", "capacity"]].sum().reindex(replications)
            out[f"{course}: seats booked (share of capacity)"] = per["booked"] / per["capacity"]
        if ev is not None and e is not None:
            waits = session_waits(ev, e)
            for course, mine in waits.groupby("course_id", sort=False):
                seat = mine.dropna(subset=["seat_wait_days"])
                out[f"{course}: median days from booking to the session"] = (
                    seat.groupby("replication")["seat_wait_days"].median().reindex(replications)
                )
                count(
                    f"{course}: learners with no seat at the horizon",
                    mine[mine["no_seat"]].groupby("replication").size(),
                )
    return out, counted


# ----- every number a comparison looks at -------------------------------------------

KEY_NUMBERS = "key numbers"
ENROLLMENTS = "enrollment records by course"
RULE_OUTCOMES = "rule outcomes (one per job and target course)"
GROUPS = (KEY_NUMBERS, ENROLLMENTS, RULE_OUTCOMES)
COUNTED = (ENROLLMENTS, RULE_OUTCOMES)  # a number missing from one run is 0 there


def comparison_numbers(
    result,
    path: list[str] | None = None,
    validity: dict[str, float] | None = None,
    replications: list[int] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every number a comparison looks at, one row per replication, by group: the key
    numbers (`key_numbers`), the enrollment records of each course of the catalog, and
    what each rule did (`rule: outcome`, one per job and target course; every outcome
    of every rule, zero where it did not happen)."""
    return _comparison_numbers(result, path, validity, replications)[0]


def _comparison_numbers(result, path, validity, replications):
    from ..columns import OUTCOMES
    from ..scenario.rules import scenario_rules

    scenario = result.scenario
    e, j = result.enrollments, result.jobs
    replications = replications or replications_of(*result.tables().values())
    key, counted = _key_numbers(result, path, validity, replications)
    out = {KEY_NUMBERS: key}
    index = pd.Index(replications, name="replication")
    if e is not None:
        courses = [c.id for c in scenario.courses]
        counts = pd.crosstab(e["replication"], as_str(e["course_id"]))
        out[ENROLLMENTS] = (
            counts.reindex(index=index, columns=courses, fill_value=0).astype(float)
            if len(e)
            else pd.DataFrame(0.0, index=index, columns=courses)
        )
    if j is not None:
        order = list(dict.fromkeys(rule_id for rule_id, *_ in scenario_rules(scenario)))
        frame = j.assign(rule=as_str(j["rule_id"]), outcome_name=as_str(j["outcome"]))
        found = set(zip(frame["rule"], frame["outcome_name"], strict=True))
        rules = order + sorted({r for r, _ in found} - set(order))
        columns = [(r, o) for r in rules for o in OUTCOMES]  # zero rows: dropped when compared
        counts = frame.groupby(["replication", "rule", "outcome_name"]).size()
        table = (
            counts.unstack(["rule", "outcome_name"])
            .reindex(
                index=index,
                columns=pd.MultiIndex.from_tuples(columns, names=["rule", "outcome_name"]),
            )
            .fillna(0)
            .astype(float)
        )
        table.columns = [outcome_label(r, o) for r, o in columns]
        out[RULE_OUTCOMES] = table
    return out, counted


def replication_numbers(
    result,
    replication: int,
    path: list[str] | None = None,
    validity: dict[str, float] | None = None,
) -> dict[str, Any]:
    """`comparison_numbers` of one replication's tables (a worker's, as it finishes), with
    what `joined_numbers` needs to stack them into the run's: which key numbers are
    counts, and the rules found."""
    return chunk_numbers(result, [replication], path, validity)


def chunk_numbers(
    result,
    replications: list[int],
    path: list[str] | None = None,
    validity: dict[str, float] | None = None,
) -> dict[str, Any]:
    """`replication_numbers` of the tables of some replications (`replications`, in
    order: a report reads a few at a time)."""
    numbers, counted = _comparison_numbers(result, path, validity, list(replications))
    return {"numbers": numbers, "counted": counted}


def joined_numbers(scenario, per_replication: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """`comparison_numbers` of a run from those of its replications
    (`replication_numbers`, in replication order): the same frames, columns in the same
    order, a count missing from a replication 0 there, any other number missing."""
    from ..columns import OUTCOMES
    from ..scenario.rules import scenario_rules

    out: dict[str, pd.DataFrame] = {}
    groups = dict.fromkeys(g for one in per_replication for g in one["numbers"])
    for group in groups:
        frames = [one["numbers"][group] for one in per_replication if group in one["numbers"]]
        table = pd.concat(frames)
        if group == KEY_NUMBERS:
            counted = {name for one in per_replication for name in one["counted"]}
            order = _merged_order([list(frame.columns) for frame in frames])
            table = table[order]
            for name in order:
                if name in counted:
                    table[name] = table[name].fillna(0.0)
        elif group == RULE_OUTCOMES:
            known = list(dict.fromkeys(rule_id for rule_id, *_ in scenario_rules(scenario)))
            labels = {outcome_label(r, o) for r in known for o in OUTCOMES}
            found = {c.rsplit(": ", 1)[0] for c in table.columns if c not in labels}
            rules = known + sorted(found - set(known))
            table = table.reindex(columns=[outcome_label(r, o) for r in rules for o in OUTCOMES])
            table = table.fillna(0.0)
        out[group] = table
    return out


def _merged_order(orders: list[list[str]]) -> list[str]:
    """The columns of several frames in one order that keeps each frame's: a column one
    frame adds goes right after the one before it there (a number a replication lacks
    keeps its place)."""
    merged: list[str] = []
    for order in orders:
        for at, name in enumerate(order):
            if name in merged:
                continue
            before = next((order[i] for i in range(at - 1, -1, -1) if order[i] in merged), None)
            merged.insert(merged.index(before) + 1 if before is not None else 0, name)
    return merged


def outcome_label(rule: str, outcome: str) -> str:
    """'exam-failed: skipped already completed'."""
    return f"{rule}: {outcome.replace('_', ' ')}"


def compare_numbers(
    base: dict[str, pd.DataFrame],
    other: dict[str, pd.DataFrame],
    paired: bool = True,
    exact: bool = False,
) -> pd.DataFrame:
    """Each number of two runs (`comparison_numbers` of each) side by side, and the
    difference `other - base` with its 95% interval (`difference`). One row per (group,
    number), in order; columns `base` and `other` (means per replication), `difference`,
    `low`, `high`, `n` (replications compared: those where both runs have the number;
    `n_base`, `n_other`: where each has it, e.g. a percentile reached), `exact` (the
    difference was the same in
    every replication, or `exact` says no number is random) and `changed`: the interval
    excludes 0 (an exact difference: it is not 0). With one replication and nothing
    exact there is no interval and nothing is `changed`."""
    rows = []
    for group in dict.fromkeys([*base, *other]):
        a = base.get(group, pd.DataFrame())
        b = other.get(group, pd.DataFrame())
        for name in dict.fromkeys([*a.columns, *b.columns]):
            fill = 0.0 if group in COUNTED else math.nan
            index = a.index if name in a else b.index
            xa = a[name] if name in a else pd.Series(fill, index=index)
            xb = b[name] if name in b else pd.Series(fill, index=index)
            if group in COUNTED and not (xa.any() or xb.any()):
                continue  # a course or outcome that neither run has
            d = difference(xa, xb, paired=paired)
            both = pd.concat([xa.rename("a"), xb.rename("b")], axis=1).dropna()
            deltas = (both["b"] - both["a"]).to_numpy(dtype=float)
            same = paired and len(deltas) > 0 and bool(np.ptp(deltas) <= 1e-9)
            is_exact = same and (len(deltas) > 1 or exact)
            low, high = d["low"], d["high"]
            if is_exact:
                low = high = d["mean"]
            if is_exact:
                changed = abs(d["mean"]) > 1e-9
            else:
                changed = bool(low > 0 or high < 0) if not math.isnan(low) else False
            rows.append(
                {
                    "group": group,
                    "number": name,
                    "base": float(xa.mean()),
                    "other": float(xb.mean()),
                    "difference": d["mean"],
                    "low": low,
                    "high": high,
                    "n": d["n"],
                    "n_base": int(xa.notna().sum()),
                    "n_other": int(xb.notna().sum()),
                    "exact": is_exact,
                    "changed": changed,
                }
            )
    columns = ["group", "number", "base", "other", "difference", "low", "high", "n"]
    columns += ["n_base", "n_other"]
    table = pd.DataFrame(rows, columns=[*columns, "exact", "changed"])
    return table.set_index(["group", "number"])


def variant_differences(
    variants: list[tuple[str, Any]],
    path: list[str] | None,
    validity: dict[str, float],
    replications: list[int],
    paired: bool = True,
    say: Callable[[str], None] | None = None,
) -> tuple[dict[str, dict[str, pd.DataFrame]], dict[str, pd.DataFrame], bool]:
    """What a what-if compares, for `compare` and the comparison page alike: each
    variant's numbers (`comparison_numbers`), each later variant against the first
    (`compare_numbers`, keyed by its label) and whether every difference is exact (no
    scenario draws anything at random)."""
    numbers = {}
    for label, run in variants:
        if say is not None:
            say(f"key numbers: {label}")
        numbers[label] = comparison_numbers(run, path, validity, replications)
    return numbers, *differences_of(numbers, [run.scenario for _, run in variants], paired)


def differences_of(
    numbers: dict[str, dict[str, pd.DataFrame]], scenarios: list[Any], paired: bool = True
) -> tuple[dict[str, pd.DataFrame], bool]:
    """Each later variant's numbers against the first's (`compare_numbers`, keyed by its
    label), and whether every difference is exact (no scenario draws anything)."""
    exact = all(draws_nothing_at_random(scenario) for scenario in scenarios)
    (_, base), *others = numbers.items()
    differences = {label: compare_numbers(base, other, paired, exact) for label, other in others}
    return differences, exact
