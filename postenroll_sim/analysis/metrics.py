"""Counts over time: enrollment volume, recertification load, compliance, job backlog,
and what each rule did."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..columns import OUTCOMES
from .core import (
    HIGH,
    LOW,
    Found,
    as_str,
    band,
    categories_of,
    found_replications,
    one_variant,
    period_index,
    replications_of,
    shared,
    summarise,
    united,
)

# Each measure the report draws is a part taken of some replications' rows (`*_counts`:
# counts per replication, small) and a join of the parts of every replication (`*_band`,
# the mean and 5-95% band). The function of the whole tables is the join of one part,
# so a report that reads one replication at a time computes the same numbers by the same
# code (report/tables.py).


def enrollment_volume(
    enrollments: pd.DataFrame,
    horizon_days: float,
    period_days: float = 7.0,
    by: str | None = "course_id",
) -> pd.DataFrame:
    """New enrollment records per period and `by` group (course_id, method, ...; None:
    all together, group "all"): columns period_day, <by or "group">, mean, p05, p95."""
    one_variant(enrollments)
    part = volume_counts(enrollments, period_days, by)
    return volume_band([part], horizon_days, period_days, by, replications_of(enrollments))


def volume_counts(
    enrollments: pd.DataFrame, period_days: float = 7.0, by: str | None = "course_id"
) -> tuple[pd.DataFrame, Found | None]:
    """`enrollment_volume`'s part: records per replication, period and group (column
    `n`), and the groups found (None: all together)."""
    labels = (
        as_str(enrollments[by]).to_numpy() if by is not None else np.full(len(enrollments), "all")
    )
    name = by or "group"
    frame = pd.DataFrame(
        {
            "replication": enrollments["replication"].to_numpy(),
            "period_day": np.floor(enrollments["enrolled_day"].to_numpy() / period_days)
            * period_days,
            name: labels,
            "n": 1,
        }
    )
    counts = frame.groupby(["replication", "period_day", name], observed=True)["n"].sum()
    found = Found.of(enrollments[by]) if by is not None and by in enrollments else None
    return counts.reset_index(), found


def volume_band(
    parts: list, horizon_days: float, period_days: float, by: str | None, replications: list[int]
) -> pd.DataFrame:
    """`enrollment_volume` from the parts (`volume_counts`) of every replication."""
    name = by or "group"
    frame = pd.concat([counts for counts, _ in parts], ignore_index=True)
    found = [f for _, f in parts if f is not None]
    groups = united(found) if found else ["all"]
    full = pd.MultiIndex.from_product(
        [period_index(horizon_days, period_days), groups], names=["period_day", name]
    )
    return band(frame, ["period_day", name], "n", replications, full)


def _categories(series: pd.Series) -> list[str]:
    return categories_of(series)


KINDS = ("rule", "re-enrollment", "curriculum member", "catalog re-take", "admin", "bundle")


@shared
def re_enrollments(
    enrollments: pd.DataFrame, curricula: dict[str, list[str]] | None = None
) -> pd.DataFrame:
    """Every new record of a course the learner had completed before, with its `kind`:

    - `rule`: made by a Post Enrollment rule (a recertification);
    - `re-enrollment`: made by a course's re-enrollment before its certificate expires
      (method `re_enrollment`, S34);
    - `curriculum member`: a member course re-taken while the learner's curriculum that
      holds it is open (part of that curriculum's recertification, whoever enrolled it);
    - `catalog re-take`: the learner enrolled themselves (not for a curriculum);
    - `admin`, `bundle`: an administrator, or a bundle (S15).

    `curricula` maps each curriculum to its member courses (`curricula(scenario)`);
    tables that hold curricula need it, so members are never counted as extra people."""
    e = enrollments
    is_curriculum = e["course_type"].astype("str") == "curriculum" if "course_type" in e else None
    if curricula is None:
        if is_curriculum is not None and bool(is_curriculum.any()):
            raise ValueError(
                "these tables hold curricula: pass curricula=A.curricula(scenario), so a "
                "curriculum's members are not counted as people of their own"
            )
        curricula = {}
    e = e.assign(learner=as_str(e["learner_id"]), course=as_str(e["course_id"]))
    e = e.sort_values(["replication", "learner", "course", "enrollment_id"], kind="stable")
    done = e["completed_day"].notna().astype(int)
    earlier = done.groupby([e["replication"], e["learner"], e["course"]]).cumsum() - done
    again = e[earlier.to_numpy() > 0]
    method = as_str(again["method"])
    kind = pd.Series(
        np.select(
            [
                method == "post_enrollment",
                method == "re_enrollment",
                method == "self",
                method == "bundle",
            ],
            ["rule", "re-enrollment", "catalog re-take", "bundle"],
            "admin",
        ),
        index=again.index,
    )
    member_of = [(c, m) for c, members in curricula.items() for m in members]
    if member_of and len(again):
        pairs = pd.DataFrame(member_of, columns=["curriculum", "course"])
        open_curricula = e[e["course"].isin(curricula)][
            ["replication", "learner", "course", "enrolled_day", "completed_day", "superseded_day"]
        ].rename(
            columns={
                "course": "curriculum",
                "enrolled_day": "c_enrolled",
                "completed_day": "c_completed",
                "superseded_day": "c_superseded",
            }
        )
        candidates = (
            again[["replication", "learner", "course", "enrolled_day"]]
            .reset_index()
            .merge(pairs, on="course")
            .merge(open_curricula, on=["replication", "learner", "curriculum"])
        )
        t = candidates["enrolled_day"]
        inside = (
            (candidates["c_enrolled"] <= t)
            & ~(candidates["c_completed"] < t)
            & ~(candidates["c_superseded"] < t)
        )
        kind.loc[candidates.loc[inside, "index"].unique()] = "curriculum member"
    return again.drop(columns=["learner", "course"]).assign(kind=kind.to_numpy())


def recertification_load(
    enrollments: pd.DataFrame,
    horizon_days: float,
    period_days: float = 7.0,
    courses: list[str] | None = None,
    curricula: dict[str, list[str]] | None = None,
    by: str | None = "course_id",
    kind: str = "rule",
) -> pd.DataFrame:
    """People re-enrolled per period into a course they had completed before. By default
    (`kind="rule"`) only re-enrollments made by a rule count (recertifications); a
    curriculum counts once, its members apart (see `re_enrollments`); pass
    `kind="catalog re-take"` for learners who enrolled themselves again. Each person
    counts once per period and course (`by=None`: once per period, all courses together),
    per replication, then mean and 5-95% band: columns period_day, course_id (or
    group), mean, p05, p95."""
    one_variant(enrollments)
    part = load_counts(enrollments, period_days, courses, curricula, by, kind)
    return load_band([part], horizon_days, period_days, courses, by, replications_of(enrollments))


def _again(enrollments, curricula, kind, courses) -> pd.DataFrame:
    if kind not in KINDS:
        raise ValueError(f"kind is one of {', '.join(KINDS)}")
    again = re_enrollments(enrollments, curricula)
    again = again[again["kind"] == kind]
    if courses is not None:
        again = again[as_str(again["course_id"]).isin(courses)]
    return again


def load_counts(
    enrollments: pd.DataFrame,
    period_days: float = 7.0,
    courses: list[str] | None = None,
    curricula: dict[str, list[str]] | None = None,
    by: str | None = "course_id",
    kind: str = "rule",
) -> tuple[pd.DataFrame, Found]:
    """`recertification_load`'s part: people per replication, period (and course), and
    the courses found in the enrollments."""
    again = _again(enrollments, curricula, kind, courses)
    frame = pd.DataFrame(
        {
            "replication": again["replication"].to_numpy(),
            "period_day": np.floor(again["enrolled_day"].to_numpy() / period_days) * period_days,
            "course_id": as_str(again["course_id"]).to_numpy(),
            "learner": as_str(again["learner_id"]).to_numpy(),
        }
    )
    if by is None:
        people = frame.drop_duplicates(["replication", "period_day", "learner"]).assign(
            group="all", n=1
        )
        keys = ["replication", "period_day", "group"]
    else:
        people = frame.drop_duplicates(
            ["replication", "period_day", "course_id", "learner"]
        ).assign(n=1)
        keys = ["replication", "period_day", "course_id"]
    return people.groupby(keys)["n"].sum().reset_index(), Found.of(enrollments["course_id"])


def load_band(
    parts: list,
    horizon_days: float,
    period_days: float,
    courses: list[str] | None,
    by: str | None,
    replications: list[int],
) -> pd.DataFrame:
    """`recertification_load` from the parts (`load_counts`) of every replication."""
    people = pd.concat([counts for counts, _ in parts], ignore_index=True)
    periods = period_index(horizon_days, period_days)
    if by is None:
        full = pd.MultiIndex.from_product([periods, ["all"]], names=["period_day", "group"])
        return band(people, ["period_day", "group"], "n", replications, full)
    groups = courses if courses is not None else united([f for _, f in parts])
    full = pd.MultiIndex.from_product([periods, groups], names=["period_day", "course_id"])
    return band(people, ["period_day", "course_id"], "n", replications, full)


def recertification_peak(
    enrollments: pd.DataFrame,
    horizon_days: float,
    period_days: float = 7.0,
    courses: list[str] | None = None,
    curricula: dict[str, list[str]] | None = None,
) -> dict:
    """The recertification peak in people: each replication's busiest period (people
    re-enrolled by a rule into a course they completed, all courses together, each person
    once), then mean and 5-95% band of those peaks (`mean`, `p05`, `p95`), and the
    period that is busiest on average (`period_day`, None when nobody recertifies)."""
    one_variant(enrollments)
    part = peak_counts(enrollments, period_days, courses, curricula)
    return peak_band([part], horizon_days, period_days, replications_of(enrollments))


def peak_counts(
    enrollments: pd.DataFrame,
    period_days: float = 7.0,
    courses: list[str] | None = None,
    curricula: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """`recertification_peak`'s part: people per replication and period number."""
    again = _again(enrollments, curricula, "rule", courses)
    people = pd.DataFrame(
        {
            "replication": again["replication"].to_numpy(),
            "period": np.floor(again["enrolled_day"].to_numpy() / period_days).astype(int),
            "learner": as_str(again["learner_id"]).to_numpy(),
        }
    ).drop_duplicates()
    return people.groupby(["replication", "period"]).size().rename("n").reset_index()


def peak_band(
    parts: list[pd.DataFrame], horizon_days: float, period_days: float, replications: list[int]
) -> dict:
    """`recertification_peak` from the parts (`peak_counts`) of every replication."""
    periods = period_index(horizon_days, period_days)
    counts = np.zeros((len(replications), len(periods)))
    position = {r: i for i, r in enumerate(replications)}
    people = pd.concat(parts, ignore_index=True)
    people = people[people["period"] < len(periods)]
    np.add.at(
        counts,
        (people["replication"].map(position).to_numpy(), people["period"].to_numpy()),
        people["n"].to_numpy(dtype=float),
    )
    mean = counts.mean(axis=0)
    if mean.max(initial=0) <= 0:
        return {"period_day": None, "mean": 0.0, "p05": 0.0, "p95": 0.0}
    return {"period_day": float(periods[int(mean.argmax())]), **summarise(counts.max(axis=1))}


def compliance(
    enrollments: pd.DataFrame,
    events: pd.DataFrame,
    courses: list[str],
    validity_days: float,
    horizon_days: float,
    step_days: float = 7.0,
) -> pd.DataFrame:
    """Share of the learners present at each time who hold a completion of one of
    `courses` no older than `validity_days` (each learner once), per replication, then
    mean and 5-95% band. Columns day, mean, p05, p95 (shares)."""
    one_variant(enrollments, events)
    grid = period_index(horizon_days, step_days)
    done = enrollments[
        as_str(enrollments["course_id"]).isin(courses) & enrollments["completed_day"].notna()
    ]
    shares = []
    for replication in replications_of(enrollments, events):
        ev = events[events["replication"] == replication]
        learners = as_str(ev["learner_id"])
        joined = (
            ev[ev["event"] == "learner_added"]
            .assign(learner=learners)
            .groupby("learner")["day"]
            .min()
        )
        left = (
            ev[ev["event"] == "learner_removed"]
            .assign(learner=learners)
            .groupby("learner")["day"]
            .min()
        )
        present = (
            pd.DataFrame({"joined": joined}).join(left.rename("left")).fillna({"left": np.inf})
        )
        joined_day = present["joined"].to_numpy()
        left_day = present["left"].to_numpy()
        mine = done[done["replication"] == replication]
        who = present.index.get_indexer(as_str(mine["learner_id"]))  # -1: never present
        when = mine["completed_day"].to_numpy()
        known = who >= 0
        who, when = who[known], when[known]
        row = []
        for t in grid:
            active = (joined_day <= t) & (left_day > t)
            holds = np.zeros(len(active), dtype=bool)
            holds[who[(when <= t) & (when > t - validity_days)]] = True
            count = int(active.sum())
            row.append(int((holds & active).sum()) / count if count else np.nan)
        shares.append(row)
    values = np.array(shares, dtype=float)
    return pd.DataFrame(
        {
            "day": grid,
            "mean": np.nanmean(values, axis=0),
            "p05": np.nanquantile(values, LOW, axis=0),
            "p95": np.nanquantile(values, HIGH, axis=0),
        }
    )


def job_backlog(jobs: pd.DataFrame, horizon_days: float, step_days: float = 1.0) -> pd.DataFrame:
    """Jobs queued and not yet processed at each time (pending ones until the horizon).
    Columns day, mean, p05, p95."""
    one_variant(jobs)
    part = backlog_counts(jobs, horizon_days, step_days)
    return backlog_band([part], horizon_days, step_days, replications_of(jobs))


def backlog_counts(
    jobs: pd.DataFrame, horizon_days: float, step_days: float = 1.0
) -> dict[int, np.ndarray]:
    """`job_backlog`'s part: the jobs waiting at each instant, per replication found."""
    grid = period_index(horizon_days, step_days)
    per_job = (
        jobs.groupby(["replication", "job_id"], observed=True)
        .agg(queued=("queued_day", "first"), processed=("processed_day", "first"))
        .reset_index()
    )
    counts = {}
    for replication in found_replications(jobs):
        mine = per_job[per_job["replication"] == replication]
        queued = np.sort(mine["queued"].to_numpy())
        processed = np.sort(mine["processed"].fillna(np.inf).to_numpy())
        counts[replication] = np.searchsorted(queued, grid, side="right") - np.searchsorted(
            processed, grid, side="right"
        )
    return counts


def backlog_band(
    parts: list[dict], horizon_days: float, step_days: float, replications: list[int]
) -> pd.DataFrame:
    """`job_backlog` from the parts (`backlog_counts`) of every replication; a
    replication with no jobs waits for none."""
    grid = period_index(horizon_days, step_days)
    found = {r: counts for part in parts for r, counts in part.items()}
    none = np.zeros(len(grid), dtype=np.int64)
    values = np.array([found.get(r, none) for r in replications], dtype=float)
    return pd.DataFrame(
        {
            "day": grid,
            "mean": values.mean(axis=0),
            "p05": np.quantile(values, LOW, axis=0),
            "p95": np.quantile(values, HIGH, axis=0),
        }
    )


def rule_outcomes(jobs: pd.DataFrame) -> pd.DataFrame:
    """What each rule did: per rule and outcome, the mean count per replication (one
    per job and target) with its 5-95% band, and the share of the rule's outcomes. Zero
    where it never happened."""
    one_variant(jobs)
    return outcomes_band([outcome_counts(jobs)], replications_of(jobs))


def outcome_counts(jobs: pd.DataFrame) -> tuple[pd.DataFrame, Found]:
    """`rule_outcomes`' part: rows per replication, rule and outcome, and the rules found."""
    frame = pd.DataFrame(
        {
            "replication": jobs["replication"].to_numpy(),
            "rule_id": as_str(jobs["rule_id"]).to_numpy(),
            "outcome": as_str(jobs["outcome"]).to_numpy(),
            "n": 1,
        }
    )
    counts = frame.groupby(["replication", "rule_id", "outcome"])["n"].sum().reset_index()
    return counts, Found.of(jobs["rule_id"])


def outcomes_band(parts: list, replications: list[int]) -> pd.DataFrame:
    """`rule_outcomes` from the parts (`outcome_counts`) of every replication."""
    frame = pd.concat([counts for counts, _ in parts], ignore_index=True)
    rules = united([found for _, found in parts])
    full = pd.MultiIndex.from_product([rules, list(OUTCOMES)], names=["rule_id", "outcome"])
    out = band(frame, ["rule_id", "outcome"], "n", replications, full)
    totals = out.groupby("rule_id")["mean"].transform("sum")
    out["share"] = np.where(totals > 0, out["mean"] / totals.where(totals > 0, 1), 0.0)
    return out
