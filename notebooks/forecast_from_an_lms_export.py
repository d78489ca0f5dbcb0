# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A forecast from an LMS export: calibrate, backtest, forecast
#
# Bramble Logistics exported its LMS on 1 January 2027: `examples/forecast/history.csv`
# holds every enrollment record since the LMS went live on 6 October 2025, in the audit
# format (docs/audit.md). Two courses: onboarding (`ONB`, online, assigned at hire),
# whose completion enrolls the learner a week later in the forklift licence
# (`FORKLIFT`), an instructor-led course with a session every Thursday for 80
# learners. Its certificate is valid for a year (S31), and the course's Re-Enrollment
# enrolls the learner again 30 days before it expires (S34). `catalog.yaml` holds these
# rules as configured in the LMS, and no behaviour: how fast learners start, finish,
# abandon or miss a session is what the export has to tell.
#
# The questions for next year: how many re-enrollments each month, how many
# certificates expire, and how many seats the Thursday sessions need. The steps are
# the analyst's: calibrate the behaviour from the export (docs/calibrate.md), check
# on the export's own past that a forecast with it would have been right
# (docs/backtest.md), then warm-start the organisation at the export's end (S39-S41)
# and forecast a year over replications. (The export is one simulated run of
# `examples/forecast/truth.yaml`, remade by `make_history.py`; the analysis below
# never reads it.)
#
# Every number is counted in each replication, then given as the mean with its 5-95%
# band across replications; the cell after each claim checks it.

# %%
import datetime as dt
from pathlib import Path

import pandas as pd
from ruamel.yaml import YAML

from postenroll_sim import analysis as A
from postenroll_sim import load_scenario, simulate_replications
from postenroll_sim import plots as P
from postenroll_sim.qa.backtest import backtest
from postenroll_sim.qa.calibrate import calibrate

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
HERE = ROOT / "examples" / "forecast"
REPS = 20
export = HERE / "history.csv"
records = pd.read_csv(export, parse_dates=["enrolled_at", "completed_at", "removed_at"])
scenario = load_scenario(HERE / "scenario.yaml")  # the forecast, below
forklift = next(c for c in scenario.courses if c.id == "FORKLIFT")
(weekly,) = forklift.sessions
rule = next(c for c in scenario.courses if c.id == "ONB").post_enrollments[0]
assert records["enrolled_at"].min() == pd.Timestamp("2025-10-06")  # the go-live
assert scenario.start_date == dt.date(2027, 1, 1) > records["completed_at"].max().date()
assert (rule.when, rule.delay_days, rule.courses) == ("completed", 7, ["FORKLIFT"])
assert (weekly.every_days, weekly.capacity, weekly.first_day) == (7, 80, 6)  # 7 Jan 2027
assert (pd.Timestamp(scenario.start_date) + pd.Timedelta(days=6)).day_name() == "Thursday"
assert forklift.certificate.valid_for.years == 1 and forklift.certificate.reenroll_before.days == 30
fit = calibrate(load_scenario(HERE / "catalog.yaml"), export)
fitted = fit.table()
fitted

# %% [markdown]
# Each row is one estimate with its 95% interval (`low`, `high`) and the observations it
# rests on (`n`): onboarding's start delay and duration (the family chosen by AIC, open
# records counted as censored), the share that abandon; for the forklift course no
# start or duration (an ILC with sessions starts and finishes at the session
# attended), but its no-shows, about one booked seat in eight; a hire about every
# three and a half days, and about one learner in seven leaving a year. No estimate
# rests on fewer than 50 observations. `scenario.yaml` takes these numbers through
# `behaviour_from: fitted.yaml`, the file `postenroll-sim calibrate` wrote from the
# same export: the cell below checks that it holds exactly what was fitted here.

# %%
estimate = fitted.set_index(["course", "key"])["value"]
no_show = estimate["FORKLIFT", "no_show_rate"]
per_day = estimate["(population)", "hires.per_day"]
leaving = estimate["(population)", "attrition.annual_rate"]
assert fitted["n"].min() >= 50, fitted.sort_values("n").head(1)
assert ((fitted["low"] <= fitted["value"]) & (fitted["value"] <= fitted["high"])).all()
assert 1 / 9 < no_show < 1 / 7, no_show
assert 3.25 < 1 / per_day < 3.75, per_day
assert round(1 / leaving) == 7, leaving
assert "start_after_days" not in estimate["FORKLIFT"], "an ILC with sessions has no start fit"
safe = YAML(typ="safe")
assert safe.load(fit.fragment()) == safe.load((HERE / "fitted.yaml").read_text()), (
    "fitted.yaml is not what calibrate finds in history.csv: run postenroll-sim calibrate "
    "examples/forecast/history.csv --scenario examples/forecast/catalog.yaml "
    "--out examples/forecast/fitted.yaml"
)
print(
    f"{fit.records:,} records of {fit.learners:,} learners, {fit.span()}; FORKLIFT no-shows "
    f"{no_show:.1%}, a hire every {1 / per_day:.1f} days, {leaving:.1%} leaving a year; "
    f"fewest observations behind an estimate: {fitted['n'].min()}"
)

# %% [markdown]
# ## Would it have been right? A backtest from 1 July 2026
#
# `backtest` moves the scenario's day 0 back to a cut inside the export, replays the
# export up to it, forecasts from there with the fitted behaviour, and compares each
# month's enrollments after the cut, per course and method, with the forecast's band.
# A cut on 1 July 2026 leaves six months to compare, and in them the year's wave of
# re-enrollments: the learners certified at the go-live in the autumn of 2025,
# re-enrolled a year later. A backtest scores enrollments, not seats: the sessions of
# `scenario.yaml` start on its own day 0, so between the cut and 1 January 2027 the
# forklift course has none (docs/backtest.md). Nothing scored here follows a forklift
# completion within the six months: the course has no rule, and its re-enrollments come
# eleven months after a completion.

# %%
CUT = dt.date(2026, 7, 1)
assert not forklift.post_enrollments and 365 - 30 > (scenario.start_date - CUT).days == 184
check = backtest(scenario, CUT, replications=REPS, source="examples/forecast/scenario.yaml")
print(check.summary())
P.backtest_panels(check.monthly, check.replications)

# %% [markdown]
# The history lies inside the forecast's band in at least 80% of the course-method-months
# (a 5-95% band that is right holds about 90%), and all enrollments after the cut
# together are within 10% of the forecast. The re-enrollments are the best forecast
# (a mean error under 10%, and under 5% in each of the wave's months): each was decided
# by a certificate awarded before the cut, so the forecast's band is narrow, and the
# history falls in it or just beside it. The onboarding enrollments (new hires) and
# the forklift enrollments that follow them are the uncertain part: after the cut hires
# came more slowly than the fitted rate, and the forecast expects about a fifth too
# many of both.

# %%
s = check.scores
pairs = check.pairs.set_index(["course", "method"])
again = check.monthly[check.monthly["method"] == "re_enrollment"]
wave = again[again["actual"] >= 50]
assert s.coverage >= 0.8 and abs(s.bias) < 0.1, s
assert pairs["mape"].idxmin() == ("FORKLIFT", "re_enrollment"), pairs["mape"]
assert pairs.loc[("FORKLIFT", "re_enrollment"), "mape"] < 0.1
assert len(wave) >= 2 and ((wave["mean"] - wave["actual"]).abs() / wave["actual"] < 0.05).all()
beside = (again["actual"] - again["p95"]).clip(lower=0) + (again["p05"] - again["actual"]).clip(
    lower=0
)
assert beside.max() <= 2, again  # outside the band, by a learner or two
hires = pairs.loc[("ONB", "admin")]
assert (
    0.15 <= hires["bias"] <= 0.25
    and 0.15 <= pairs.loc[("FORKLIFT", "post_enrollment"), "bias"] <= 0.25
)
print(
    f"coverage {s.coverage:.0%} ({s.inside} of {s.cells}), MAPE {s.mape:.0%}, bias "
    f"{s.bias:+.0%}; re-enrollments: MAPE "
    f"{pairs.loc[('FORKLIFT', 're_enrollment'), 'mape']:.0%}; the wave's months "
    + ", ".join(f"{r.month} {r.actual} against {r.mean:.1f}" for r in wave.itertuples())
    + f"; hires: {int(hires['actual'])} against {hires['forecast']:.1f} ({hires['bias']:+.0%})"
)

# %% [markdown]
# ## The forecast: 2027, from the export's end
#
# `scenario.yaml` starts on 1 January 2027 with `initial_state: {history: history.csv}`:
# the export is replayed under the rules up to day 0, which rebuilds every certificate
# and every re-enrollment job still pending (no LMS exports its queue, S39), and the
# year after it is simulated with the fitted behaviour, hires and attrition (S40).
# Twenty replications give each month its band.
#
# **Re-enrollments.** The wave comes back in August and September: the learners
# re-certified in the autumn of 2026 fall due a year after their completion, less the
# 30 days of the Re-Enrollment. The busiest month, September 2027, brings about 135. Every
# re-enrollment due before December is already in the export, one for each forklift
# certificate of 2026 (their band is a line: no replication changes them); only
# December's also count certificates the forecast itself awards.

# %%
forecast = simulate_replications(scenario, REPS, tables=("jobs", "certificates", "sessions"))
start = pd.Timestamp(scenario.start_date)
end = start + pd.Timedelta(days=scenario.horizon_days)
colors = P.course_colors([c.id for c in scenario.courses])


def the_year(table):
    """The twelve months from day 0: the horizon's own instant (1 Jan 2028 00:00) is a
    month of its own in the monthly tables, and nothing happens in it here."""
    assert (table.loc[table["month"] >= end, "mean"] == 0).all()
    return table[table["month"] < end].reset_index(drop=True)


due = the_year(A.re_enrollments_due_per_month(forecast.jobs, scenario))
P.monthly_bars(
    due, "FORKLIFT re-enrollments falling due per month, 2027", "re-enrollments", colors, REPS
)

# %%
# From the export alone: each forklift completion's certificate expires a year later
# (S31, calendar years), its re-enrollment is due 30 days before that (S34).
completed = records.loc[(records["course"] == "FORKLIFT"), "completed_at"].dropna()
expiry = completed + pd.DateOffset(years=1)
in_export = (expiry - pd.Timedelta(days=30)).dt.to_period("M").dt.start_time.value_counts()
by_month = due.set_index("month")
first_own = (start + pd.DateOffset(years=1) - pd.Timedelta(days=30)).to_period("M").start_time
known = by_month.index[by_month.index < first_own]
peak = by_month["mean"].idxmax()
assert first_own == pd.Timestamp("2027-12-01") and len(known) == 11
assert (by_month.loc[known, "mean"] == in_export.reindex(known, fill_value=0)).all()
assert (by_month.loc[known, "p05"] == by_month.loc[known, "p95"]).all(), "decided by the export"
assert by_month.loc[first_own, "mean"] > in_export.get(first_own, 0)  # and the forecast's own
assert (
    peak == in_export.reindex(by_month.index, fill_value=0).idxmax() == pd.Timestamp("2027-09-01")
)
assert 130 <= by_month.loc[peak, "mean"] <= 140
assert by_month["mean"].nlargest(2).index[1] == pd.Timestamp("2027-08-01")
print(
    f"busiest: {peak:%B %Y}, {by_month.loc[peak, 'mean']:.0f} re-enrollments due (the export "
    f"alone: {in_export[peak]}); December: {by_month.loc[first_own, 'mean']:.1f} "
    f"(5-95%: {by_month.loc[first_own, 'p05']:.0f}-{by_month.loc[first_own, 'p95']:.0f}), of "
    f"which {in_export.get(first_own, 0)} from the export"
)

# %% [markdown]
# **Certificate expiries.** A certificate expires only when it was not renewed before
# its expiry date (a renewal replaces it, S32). The forecast splits them by their
# holder: one who has left (removed in the export, or later, when the forecast's
# re-enrollment job finds them removed and skips, S34.1), or one still here, re-enrolled
# but not through a session by the expiry (a lapse: out of compliance until they
# pass). Expiries peak with the wave's expiry dates, in September and October, at 10
# to 20 a month; almost all of them (more than 80% over the year) are certificates of
# people who have left. Lapses among the staff stay at a few a month at most, even in
# the wave: the 30 days before an expiry hold four Thursday sessions or more.

# %%
certificates = forecast.certificates
jobs = forecast.jobs
skipped = jobs.loc[
    (jobs["kind"] == "re_enrollment") & (jobs["outcome"] == "skipped_learner_removed"),
    ["replication", "certificate_id"],
].assign(left=True)
certificates = certificates.merge(skipped, on=["replication", "certificate_id"], how="left")
gone = set(records.loc[records["removed_at"].notna(), "learner"])  # left before day 0
left = certificates["left"].notna() | certificates["learner_id"].astype(str).isin(gone)
kinds = {"holder has left": left, "lapsed: re-enrolled, not finished": ~left}
expiries = pd.concat(
    the_year(
        A.expiring_per_month(
            certificates.assign(expired_day=certificates["expired_day"].where(m)), scenario
        )
    ).assign(course_id=kind)
    for kind, m in kinds.items()
)
P.monthly_bars(
    expiries,
    "FORKLIFT certificates expiring unrenewed per month, 2027",
    "certificates",
    {kind: color for kind, color in zip(kinds, ["#999999", "#c0392b"], strict=True)},
    REPS,
)

# %%
per_kind = expiries.pivot(index="month", columns="course_id", values="mean")
total = per_kind.sum(axis=1)
lapses = per_kind["lapsed: re-enrolled, not finished"]
scheduled = expiry.dt.to_period("M").dt.start_time.value_counts().reindex(total.index, fill_value=0)
two = set(total.nlargest(2).index)
assert two == {pd.Timestamp("2027-09-01"), pd.Timestamp("2027-10-01")}, total
assert two == set(scheduled.nlargest(2).index), scheduled  # the wave's expiry dates
assert all(10 <= total[m] <= 20 for m in two), total[list(two)]
share_left = per_kind["holder has left"].sum() / total.sum()
assert share_left > 0.8, share_left
assert lapses.max() < 4 and lapses.max() < total[list(two)].min() / 3, lapses
assert 30 // weekly.every_days >= 4
print(
    "expiring unrenewed: "
    + ", ".join(f"{m:%B} {total[m]:.1f} (of {scheduled[m]} expiry dates)" for m in sorted(two))
    + f"; over the year {total.sum():.1f}, of which {share_left:.0%} of people who left; lapses "
    f"at most {lapses.max():.1f} a month ({lapses.idxmax():%B}), {lapses.sum():.1f} in the year"
)

# %% [markdown]
# **Seats.** The sessions table holds each Thursday session's capacity and the seats
# booked (a no-show books again, so a learner may take two seats). Per month, the
# seats booked against the capacity: the wave reaches the sessions in September, the
# month its re-enrollments fall due and a month before most of its certificates
# expire, and books about two fifths of that month's seats, some seven times a quiet
# month. No session is full in any replication: no learner waits for a seat, and the
# quiet months could run fewer groups.

# %%
seats = the_year(A.seats_per_month(forecast.sessions, scenario))
labels = {"capacity": "capacity (seats held)", "booked": "seats booked"}
shown = seats[seats["measure"].isin(list(labels))].assign(
    course_id=lambda f: f["measure"].map(labels)
)
P.monthly_bars(
    shown,
    "FORKLIFT sessions: seats per month, 2027",
    "seats",
    {labels["capacity"]: "#cccccc", labels["booked"]: colors["FORKLIFT"]},
    REPS,
)

# %%
table = seats.pivot(index="month", columns="measure", values="mean")
booked, capacity = table["booked"], table["capacity"]
busiest = booked.idxmax()
quiet = booked.drop(busiest).median()
assert busiest == peak, (busiest, peak)  # the re-enrollments' month, not the expiries'
assert busiest + pd.DateOffset(months=1) == scheduled.idxmax(), scheduled  # the expiries
assert 0.35 < booked[busiest] / capacity[busiest] < 0.45, booked[busiest] / capacity[busiest]
assert 6 < booked[busiest] / quiet < 8, (booked[busiest], quiet)
assert (forecast.sessions["booked"] < forecast.sessions["capacity"]).all(), "a session filled up"
band = seats[(seats["month"] == busiest) & (seats["measure"] == "booked")].iloc[0]
full = (forecast.sessions["booked"] >= forecast.sessions["capacity"]).sum()
print(
    f"{busiest:%B %Y}: {booked[busiest]:.0f} seats booked (5-95%: {band['p05']:.0f}-"
    f"{band['p95']:.0f}) of {capacity[busiest]:.0f} ({booked[busiest] / capacity[busiest]:.0%}); "
    f"a quiet month: {quiet:.0f}; sessions full: {full} of {len(forecast.sessions):,}"
)

# %% [markdown]
# ## What the analyst reads from it
#
# - The fitted behaviour holds up on the export's own past: in the backtest at least 80%
#   of the months fall in the forecast's band, and the whole volume is within 10%. The
#   hires are the soft spot: the last six months hired more slowly than the export's
#   rate, so the forecast's onboarding volumes are, if anything, high.
# - Re-enrollments are known a year ahead: August and September 2027 carry the autumn
#   wave (about 135 in September), and every one of them comes from a certificate
#   already in the export: planning can start from the export itself. The simulation
#   adds December's, from the certificates it awards itself, and the band.
# - Few certificates will lapse among the staff; most of the expiries the certificates
#   table shows in September and October are those of people who left.
# - The Thursday sessions have room: even the wave's month books under half the seats.
#   A smaller schedule for the quiet months is the question to try next, as a what-if
#   on `sessions` (`postenroll-sim sweep`), with this same scenario.
