"""Behaviour fitted from an LMS history: `postenroll-sim calibrate` (docs/calibrate.md).

    from postenroll_sim import load_scenario
    from postenroll_sim.qa.calibrate import calibrate

    fit = calibrate(load_scenario("scenario.yaml"), "history.csv")
    print(fit.summary())
    Path("fitted.yaml").write_text(fit.fragment())  # `behaviour_from: fitted.yaml`

The history is read by the audit's loader (audit/history.py, with its map). Per online
course (and ILC without sessions) the start delay and the duration are fitted by maximum
likelihood, every family of the scenario's behaviour that has a likelihood (exponential,
lognormal, gamma; fixed when every observation is one value), open records
right-censored at the end of their clock; abandonment is the share of started records
that never finish, fitted with the duration as a cure fraction (the engine's own model:
behaviour.py abandons at the start). Families are compared by AIC. Intervals are 95%:
Wald intervals from the observed information (the numerical Hessian of the
log-likelihood) on the log or logit scale of each parameter, so they stay in range;
proportions with no censoring are Wilson intervals; hires and attrition exact Poisson.

SciPy (`scipy.optimize`, `scipy.special`) is imported by the functions that fit, never
at import: `--help`, `check` and `lint` do not pay for it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..columns import SECONDS_PER_DAY
from ..formatting import instant
from ..scenario import Problem, Scenario, ScenarioError
from ..scenario.base import MAX_DAYS
from ..scenario.stochastic import MAX_CV, MAX_SIGMA, MIN_CV
from .audit.history import SAME_INSTANT, History, HistoryMap, read_history

MIN_RECORDS = 20  # records of a course, to fit it at all
MIN_EVENTS = 20  # observed (not censored) times, to fit a distribution or a rate
LEVEL = 0.95
Z = 1.959963984540054  # the normal quantile of LEVEL, two-sided
SECOND = 1 / SECONDS_PER_DAY
FAMILIES = ("exponential", "lognormal", "gamma")  # behaviour's families with a likelihood
LOGIT_FLOOR = -30.0  # a probability this far down the logit scale is taken as zero


@dataclass
class Estimate:
    """One number fitted, its 95% interval, how many observations it rests on and how
    the interval was found."""

    name: str
    value: float
    low: float
    high: float
    n: int
    method: str

    def shown(self) -> str:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return f"{_num(self.value)} (interval not computed)"
        return f"{_num(self.value)} ({_num(self.low)} to {_num(self.high)})"


@dataclass
class FamilyFit:
    family: str
    params: dict[str, Estimate]
    loglik: float
    k: int  # free parameters, the abandonment's included
    abandon: Estimate | None = None  # fitted with a duration: the share never finishing

    @property
    def aic(self) -> float:
        return 2 * self.k - 2 * self.loglik

    def spec(self) -> dict[str, float | str]:
        return {"dist": self.family, **{n: e.value for n, e in self.params.items()}}


@dataclass
class DistributionFit:
    """A start delay or a duration: every family's fit and the one chosen (lowest AIC)."""

    key: str  # start_after_days | duration_days
    events: int  # observed times
    censored: int  # right-censored: still open when the clock stopped
    fits: list[FamilyFit]
    chosen: FamilyFit
    note: str = ""  # a fixed value: why

    def spec(self) -> dict[str, float | str]:
        return self.chosen.spec()

    def aic_text(self) -> str:
        if self.note:
            return self.note
        best = self.chosen.aic
        parts = [
            f"{f.family} {f.aic:,.1f}"
            + (" (chosen)" if f is self.chosen else f" (+{f.aic - best:,.1f})")
            for f in sorted(self.fits, key=lambda f: f.aic)
        ]
        return "AIC: " + ", ".join(parts)


@dataclass
class CourseFit:
    course: str
    kind: str  # online | ilc
    records: int
    start: DistributionFit | None = None
    duration: DistributionFit | None = None
    pass_rate: Estimate | None = None
    abandon_rate: Estimate | None = None
    no_show_rate: Estimate | None = None
    notes: list[str] = field(default_factory=list)  # what was not fitted, and why

    def behaviour(self) -> dict:
        out: dict = {}
        if self.start is not None:
            out["start_after_days"] = self.start.spec()
        if self.duration is not None:
            out["duration_days"] = self.duration.spec()
        for name in ("pass_rate", "abandon_rate", "no_show_rate"):
            estimate = getattr(self, name)
            if estimate is not None:
                out[name] = estimate.value
        return out


@dataclass
class Calibration:
    """What `calibrate` found: per course, the population, and what it left out."""

    file: str
    records: int
    learners: int
    first_day: float
    as_of: float
    courses: list[CourseFit]
    hires: Estimate | None = None
    attrition: Estimate | None = None
    warnings: list[str] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)  # courses not fitted, located
    day0: dt.date | None = None  # the history's calendar, when it has one

    def span(self) -> str:
        """The history's first moment to the export's, in words (dates with a calendar)."""
        if self.day0 is None:
            return f"days {_num(self.first_day)} to {_num(self.as_of)}"
        return f"{instant(self.first_day, self.day0)} to {instant(self.as_of, self.day0)}"

    def table(self):
        """Every estimate as a row (a pandas DataFrame): `course` (`(population)` for hires
        and attrition), `key` (start_after_days, duration_days, abandon_rate, pass_rate,
        no_show_rate, hires.per_day, attrition.annual_rate), `family` (a distribution's
        chosen one, else empty), `parameter` (a distribution's), `value`, `low`, `high`
        (the 95% interval), `n` and `method`: what `summary` prints, as numbers."""
        import pandas as pd

        rows = []

        def row(course: str, key: str, family: str, estimate: Estimate) -> None:
            rows.append(
                {
                    "course": course,
                    "key": key,
                    "family": family,
                    "parameter": estimate.name if family else "",
                    "value": estimate.value,
                    "low": estimate.low,
                    "high": estimate.high,
                    "n": estimate.n,
                    "method": estimate.method,
                }
            )

        for course in self.courses:
            for fit in (course.start, course.duration):
                if fit is not None:
                    for estimate in fit.chosen.params.values():
                        row(course.course, fit.key, fit.chosen.family, estimate)
            for name in ("abandon_rate", "pass_rate", "no_show_rate"):
                estimate = getattr(course, name)
                if estimate is not None:
                    row(course.course, name, "", estimate)
        if self.hires is not None:
            row("(population)", "hires.per_day", "", self.hires)
        if self.attrition is not None:
            row("(population)", "attrition.annual_rate", "", self.attrition)
        columns = ["course", "key", "family", "parameter", "value", "low", "high", "n", "method"]
        return pd.DataFrame(rows, columns=columns)

    # ----- what it writes --------------------------------------------------------------

    def fragment(self) -> str:
        """The scenario fragment (YAML) a scenario takes with `behaviour_from: FILE`: each
        estimate's interval and sample size in a comment beside it."""
        lines = [
            f"# Behaviour fitted by postenroll-sim calibrate {__version__} from "
            f"{Path(self.file).name}",
            f"# ({self.records:,} records, {self.learners:,} learners, {self.span()}).",
            "# A scenario uses it with `behaviour_from: THIS_FILE` (docs/calibrate.md);",
            "# comments: 95% intervals and sample sizes.",
        ]
        fitted = [c for c in self.courses if c.behaviour()]
        if fitted:
            lines.append("courses:")
        for course in fitted:
            lines.append(f"  {_key(course.course)}:")
            for fit in (course.start, course.duration):
                if fit is None:
                    continue
                params = ", ".join(f"{n} {e.shown()}" for n, e in fit.chosen.params.items())
                lines.append(
                    f"    # {fit.events:,} observed, {fit.censored:,} censored; {fit.aic_text()}"
                )
                lines.append(f"    {fit.key}: {_flow(fit.spec())}  # {params}")
            for name in ("pass_rate", "abandon_rate", "no_show_rate"):
                estimate = getattr(course, name)
                if estimate is not None:
                    lines.append(
                        f"    {name}: {_num(estimate.value)}  # {estimate.shown()}, n {estimate.n:,}"
                    )
        population = []
        if self.hires is not None:
            population.append(
                f"  hires: {{per_day: {_num(self.hires.value)}}}  # {self.hires.shown()}, "
                f"{self.hires.n:,} hires"
            )
        if self.attrition is not None:
            population.append(
                f"  attrition: {{annual_rate: {_num(self.attrition.value)}}}  # "
                f"{self.attrition.shown()}, {self.attrition.n:,} removals"
            )
        if population:
            lines += ["population:", *population]
        if not fitted and not population:
            lines.append("{}")
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        out = [
            f"calibrate {self.file}: {self.records:,} records, {self.learners:,} learners, "
            f"{self.span()} (open records censored there)",
            "intervals: 95%; distributions and abandonment from the observed information "
            "(Wald, log/logit scale); proportions Wilson; hires and attrition exact Poisson",
        ]
        for course in self.courses:
            out.append(f"{course.course} ({course.kind}, {course.records:,} records)")
            for fit in (course.start, course.duration):
                if fit is None:
                    continue
                params = ", ".join(f"{n} {e.shown()}" for n, e in fit.chosen.params.items())
                out.append(
                    f"  {fit.key:<17} {fit.chosen.family} {params}; n {fit.events:,} observed, "
                    f"{fit.censored:,} censored"
                )
                out.append(f"  {'':<17} {fit.aic_text()}")
            for name in ("abandon_rate", "pass_rate", "no_show_rate"):
                estimate = getattr(course, name)
                if estimate is not None:
                    out.append(
                        f"  {name:<17} {estimate.shown()}; n {estimate.n:,} ({estimate.method})"
                    )
            out += [f"  not fitted: {note}" for note in course.notes]
        if self.hires is not None or self.attrition is not None:
            out.append("population")
            if self.hires is not None:
                out.append(
                    f"  {'hires.per_day':<17} {self.hires.shown()}; n {self.hires.n:,} hires "
                    f"({self.hires.method})"
                )
            if self.attrition is not None:
                out.append(
                    f"  {'attrition':<17} annual_rate {self.attrition.shown()}; n "
                    f"{self.attrition.n:,} removals ({self.attrition.method})"
                )
        return "\n".join(out)


# ----- numbers as YAML ------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _key(text: str) -> str:
    import json

    if _PLAIN_KEY.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def _num(value: float) -> str:
    """Four significant digits, never in exponent form (YAML 1.1 reads `1e-05` as text)."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    text = np.format_float_positional(
        float(value), precision=4, unique=False, fractional=False, trim="-"
    )
    return text.rstrip(".") if "." in text else text


def _flow(spec: dict) -> str:
    return (
        "{"
        + ", ".join(f"{k}: {v if isinstance(v, str) else _num(v)}" for k, v in spec.items())
        + "}"
    )


# ----- the likelihoods ------------------------------------------------------------------


@dataclass
class _Times:
    """Times of one kind (start delays, durations): exact, known only to be at most a
    bound (a zero at the export's resolution, a start with no date), or right-censored."""

    exact: np.ndarray
    left: np.ndarray
    right: np.ndarray

    def __post_init__(self):
        # the exact times enter each likelihood through these sums alone (sufficient
        # statistics): an evaluation costs the censored records only
        logs = np.log(self.exact)
        self.n = len(self.exact)
        self.sum = float(self.exact.sum())
        self.sum_log = float(logs.sum())
        self.sum_log2 = float((logs * logs).sum())
        self.log_left = np.log(self.left)
        self.log_right = np.log(self.right)

    @property
    def events(self) -> int:
        return len(self.exact) + len(self.left)


def _log_parts(family: str, theta: np.ndarray, t: _Times):
    """The sum of log f over the exact times, log F(left) and log S(right) of one family;
    theta on the log scale of the scenario's own parameters (exponential: mean;
    lognormal: median, sigma; gamma: mean, cv)."""
    from scipy import special

    if family == "exponential":
        mean = math.exp(theta[0])
        return (
            -t.n * theta[0] - t.sum / mean,
            np.log(-np.expm1(-t.left / mean)),
            -t.right / mean,
        )
    if family == "lognormal":
        mu, sigma = theta[0], math.exp(theta[1])
        squares = t.sum_log2 - 2 * mu * t.sum_log + t.n * mu * mu  # sum of (log x - mu)^2
        return (
            -0.5 * squares / sigma**2 - t.n * math.log(sigma * math.sqrt(2 * math.pi)) - t.sum_log,
            special.log_ndtr((t.log_left - mu) / sigma),
            special.log_ndtr(-(t.log_right - mu) / sigma),
        )
    mean, cv = math.exp(theta[0]), math.exp(theta[1])
    shape = 1 / cv**2
    scale = mean / shape
    tiny = 1e-300
    return (
        (shape - 1) * t.sum_log
        - t.sum / scale
        - t.n * (special.gammaln(shape) + shape * math.log(scale)),
        np.log(np.maximum(special.gammainc(shape, t.left / scale), tiny)),
        np.log(np.maximum(special.gammaincc(shape, t.right / scale), tiny)),
    )


def _names(family: str) -> tuple[str, ...]:
    return {"exponential": ("mean",), "lognormal": ("median", "sigma"), "gamma": ("mean", "cv")}[
        family
    ]


def _bounds(family: str) -> list[tuple[float, float]]:
    days = (math.log(SECOND / 100), math.log(MAX_DAYS))
    return {
        "exponential": [days],
        "lognormal": [days, (math.log(1e-3), math.log(MAX_SIGMA))],
        "gamma": [days, (math.log(MIN_CV), math.log(MAX_CV))],
    }[family]


def _start(family: str, t: _Times) -> list[float]:
    values = np.concatenate([t.exact, t.left])
    positive = values[values > 0]
    mean = max(float(np.mean(values)) if len(values) else 1.0, SECOND)
    if family == "exponential":
        total = float(values.sum() + t.right.sum())
        return [math.log(max(total / max(len(values), 1), SECOND))]
    if family == "lognormal":
        logs = np.log(positive) if len(positive) else np.zeros(1)
        return [float(np.median(logs)), math.log(min(max(float(np.std(logs)), 0.05), 5.0))]
    cv = float(np.std(values)) / mean if len(values) > 1 else 1.0
    return [math.log(mean), math.log(min(max(cv, 0.05), 10.0))]


def _hessian(f, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    k = len(x)
    h = np.zeros((k, k))
    f0 = f(x)
    for i in range(k):
        for j in range(i, k):
            if i == j:
                e = np.zeros(k)
                e[i] = step
                h[i, i] = (f(x + e) - 2 * f0 + f(x - e)) / step**2
            else:
                ei, ej = np.zeros(k), np.zeros(k)
                ei[i], ej[j] = step, step
                h[i, j] = h[j, i] = (
                    f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
                ) / (4 * step**2)
    return h


@dataclass
class _Solved:
    theta: np.ndarray
    nll: float
    se: np.ndarray  # nan where not computed (a parameter on its bound)
    upper: dict[int, float]  # parameters at zero: the upper end of their interval


def _maximise(nll, x0, bounds, logit: tuple[int, ...] = ()) -> _Solved:
    """Minimise `nll` within `bounds`; standard errors from the observed information of the
    parameters not on a bound; a logit parameter found at zero gets a one-sided
    likelihood-ratio upper bound (the others held at their estimates)."""
    from scipy import optimize, special

    def safe(x):
        value = nll(x)
        return value if np.isfinite(value) else 1e300

    x0 = np.clip(np.asarray(x0, dtype=float), [b[0] for b in bounds], [b[1] for b in bounds])
    best = optimize.minimize(safe, x0, method="L-BFGS-B", bounds=bounds)
    if not best.success:  # try once more from there with a method that needs no gradient
        again = optimize.minimize(safe, best.x, method="Nelder-Mead", options={"maxiter": 4000})
        if again.fun < best.fun:
            best = again
    theta = np.clip(best.x, [b[0] for b in bounds], [b[1] for b in bounds])
    # a probability whose likelihood is as good at zero (within 0.01 nats: the optimiser
    # stops at 1e-7 rather than 0) is zero, with a one-sided bound rather than a Wald one
    base = float(nll(theta))
    floor = []
    for i in logit:
        at_zero = theta.copy()
        at_zero[i] = LOGIT_FLOOR
        if theta[i] < LOGIT_FLOOR + 5 or float(nll(at_zero)) - base < 0.01:
            floor.append(i)
    free = [i for i in range(len(theta)) if i not in floor]
    se = np.full(len(theta), np.nan)
    if free:

        def sub(y):
            x = theta.copy()
            x[free] = y
            return nll(x)

        try:
            cov = np.linalg.inv(_hessian(sub, theta[free]))
            diag = np.diag(cov)
            if np.all(np.isfinite(diag)) and np.all(diag > 0):
                se[free] = np.sqrt(diag)
        except np.linalg.LinAlgError:
            pass
    upper = {}
    base = float(nll(theta))
    for i in floor:
        theta[i] = LOGIT_FLOOR

        def excess(v, i=i):
            x = theta.copy()
            x[i] = v
            return nll(x) - base - Z**2 / 2

        hi = bounds[i][1]
        if excess(hi) <= 0:
            upper[i] = 1.0
        else:
            upper[i] = float(special.expit(optimize.brentq(excess, LOGIT_FLOOR, hi, xtol=1e-6)))
    return _Solved(theta, float(nll(theta)), se, upper)


def _fit_family(family: str, t: _Times, cure: bool) -> FamilyFit | None:
    """One family by maximum likelihood; with `cure`, a share of records never finish (the
    abandonment, fitted jointly: its estimate is the last parameter)."""
    from scipy import special

    k = len(_names(family))

    def nll(theta):
        fe, fl, fr = _log_parts(family, theta[:k], t)
        if not cure:
            return -(fe + fl.sum() + fr.sum())
        la, l1a = special.log_expit(theta[k]), special.log_expit(-theta[k])
        return -((fe + fl.sum()) + l1a * (t.n + len(fl)) + np.logaddexp(la, l1a + fr).sum())

    bounds = _bounds(family) + ([(LOGIT_FLOOR, 10.0)] if cure else [])
    x0 = _start(family, t) + ([-3.0] if cure else [])
    with np.errstate(all="ignore"):
        solved = _maximise(nll, x0, bounds, logit=(k,) if cure else ())
    if not np.isfinite(solved.nll) or solved.nll >= 1e299:
        return None
    params = {}
    for i, name in enumerate(_names(family)):
        value = solved.theta[i]  # the log of the parameter (lognormal: mu, the log median)
        se = solved.se[i]
        params[name] = Estimate(
            name,
            math.exp(value),
            math.exp(value - Z * se) if np.isfinite(se) else math.nan,
            math.exp(value + Z * se) if np.isfinite(se) else math.nan,
            t.events,
            "observed information",
        )
    fit = FamilyFit(family, params, -solved.nll, len(bounds))
    if cure:
        logit = solved.theta[k]
        if k in solved.upper:
            fit.abandon = Estimate(
                "abandon_rate", 0.0, 0.0, solved.upper[k], 0, "likelihood ratio, one-sided"
            )
        else:
            se = solved.se[k]
            fit.abandon = Estimate(
                "abandon_rate",
                float(special.expit(logit)),
                float(special.expit(logit - Z * se)) if np.isfinite(se) else math.nan,
                float(special.expit(logit + Z * se)) if np.isfinite(se) else math.nan,
                0,
                "observed information",
            )
    return fit


def _degenerate(t: _Times, resolution: float) -> float | None:
    """The one value every observation has (within a second), if so: a `fixed` delay."""
    values = np.concatenate([t.exact, np.zeros(len(t.left))]) if len(t.left) else t.exact
    if not len(values):
        return None
    if float(values.max() - values.min()) <= max(SECOND, 1e-9) + SAME_INSTANT:
        return float(np.median(values))
    return None


def fit_times(
    key: str, t: _Times, cure: bool, started: int = 0
) -> tuple[DistributionFit, Estimate | None]:
    """Fit every family to the times; the lowest AIC is chosen. With `cure`, also the
    abandonment among the `started` records."""
    fixed = _degenerate(t, SECOND)
    if fixed is not None:
        value = Estimate("value", fixed, fixed, fixed, t.events, "every observation")
        chosen = FamilyFit("fixed", {"value": value}, 0.0, 1)
        note = f"fixed: every one of the {t.events:,} observations is {_num(fixed)} days"
        dist = DistributionFit(key, t.events, len(t.right), [chosen], chosen, note)
        abandon = None
        if cure:  # with a fixed duration, a record open past it was abandoned
            late = int(np.sum(t.right > fixed + SAME_INSTANT))
            abandon = _proportion("abandon_rate", late, started, "Wilson")
        return dist, abandon
    fits = [f for f in (_fit_family(family, t, cure) for family in FAMILIES) if f is not None]
    chosen = min(fits, key=lambda f: f.aic)
    abandon = None
    if cure:
        abandon = chosen.abandon
        abandon.n = started
    return DistributionFit(key, t.events, len(t.right), fits, chosen), abandon


def _proportion(name: str, hits: int, n: int, method: str = "Wilson") -> Estimate:
    """A share with its Wilson score interval."""
    p = hits / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n * n)) / (1 + Z**2 / n)
    return Estimate(name, p, max(0.0, centre - half), min(1.0, centre + half), n, method)


def _poisson_rate(name: str, count: int, exposure: float) -> Estimate:
    """count / exposure with the exact (Garwood) interval."""
    from scipy import stats

    low = stats.chi2.ppf((1 - LEVEL) / 2, 2 * count) / 2 if count else 0.0
    high = stats.chi2.ppf(1 - (1 - LEVEL) / 2, 2 * count + 2) / 2
    return Estimate(name, count / exposure, low / exposure, high / exposure, count, "exact Poisson")


def _no_show(skipped: np.ndarray, open_passed: np.ndarray) -> tuple[Estimate, Estimate]:
    """ILC with sessions: each finished record missed `skipped` sessions before the one it
    attended (a geometric number of no-shows), each open one saw `open_passed` sessions
    pass (all missed, or it never booked: abandoned). Joint maximum likelihood."""
    from scipy import special

    finished = len(skipped)
    total_skipped = float(skipped.sum())

    def nll(theta):
        lp, l1p = special.log_expit(theta[0]), special.log_expit(-theta[0])
        la, l1a = special.log_expit(theta[1]), special.log_expit(-theta[1])
        ll = finished * l1a + total_skipped * lp + finished * l1p
        ll += np.logaddexp(la, l1a + open_passed * lp).sum()
        return -ll

    with np.errstate(all="ignore"):
        solved = _maximise(nll, [-2.0, -3.0], [(LOGIT_FLOOR, 10.0)] * 2, logit=(0, 1))
    out = []
    for i, (name, n) in enumerate(
        (
            ("no_show_rate", finished + int(total_skipped)),
            ("abandon_rate", finished + len(open_passed)),
        )
    ):
        if i in solved.upper:
            out.append(Estimate(name, 0.0, 0.0, solved.upper[i], n, "likelihood ratio, one-sided"))
            continue
        v, se = solved.theta[i], solved.se[i]
        out.append(
            Estimate(
                name,
                float(special.expit(v)),
                float(special.expit(v - Z * se)) if np.isfinite(se) else math.nan,
                float(special.expit(v + Z * se)) if np.isfinite(se) else math.nan,
                n,
                "observed information",
            )
        )
    return out[0], out[1]


# ----- from the history to the times ----------------------------------------------------


def _clock_ends(history: History, as_of: float) -> dict[int, float]:
    """When each record's clock stops: the export's moment, a newer record of the same
    learner and course (S14: it moves the old one to history), or the learner's removal."""
    ends: dict[int, float] = {}
    by_pair: dict[tuple[str, str], list] = {}
    for record in history.records:
        by_pair.setdefault((record.learner, record.course), []).append(record)
    for records in by_pair.values():
        records.sort(key=lambda r: (r.enrolled, r.line))
        for i, record in enumerate(records):
            end = as_of
            if i + 1 < len(records):
                end = min(end, records[i + 1].enrolled)
            if record.removed is not None:
                end = min(end, record.removed)
            ends[id(record)] = end
    return ends


def _resolution(record, *moments: str) -> float:
    """The smallest time the export can show between two moments: a day when one of them
    is a date alone, else a second."""
    return 1.0 if any(m in record.dates_only for m in moments) else SECOND


def _split(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(time, resolution) pairs: exact times, and those below their resolution (a zero)
    as known only to be at most it."""
    small = arr[:, 0] < arr[:, 1]
    return arr[~small, 0], arr[small, 1]


def _fit_course(
    course, records, ends, sessions_days, file
) -> tuple[CourseFit | None, Problem | None]:
    first_line = min(r.line for r in records)

    def skip(message: str) -> tuple[None, Problem]:
        return None, Problem(file, first_line, ("course",), f"{course.id}: {message}; not fitted")

    fit = CourseFit(course.id, course.type, len(records))
    if len(records) < MIN_RECORDS:
        return skip(
            f"{len(records)} record{'s' if len(records) != 1 else ''}, at least {MIN_RECORDS} are "
            "needed to fit a course"
        )
    finished = [r for r in records if r.completed is not None or r.failed is not None]
    completed = sum(1 for r in finished if r.completed is not None)
    if not completed:
        return skip(f"{len(records):,} records but no completion: nothing to fit a duration to")
    if course.allow_failure:
        if len(finished) >= MIN_EVENTS:
            fit.pass_rate = _proportion("pass_rate", completed, len(finished))
        else:
            fit.notes.append(f"pass_rate: {len(finished)} finished records, at least {MIN_EVENTS}")

    if sessions_days is not None:  # ILC with sessions: attendance, no-shows, abandonment
        skipped, open_passed = [], []
        for r in records:
            finish = r.completed if r.completed is not None else r.failed
            if finish is not None:
                lo = np.searchsorted(sessions_days, r.enrolled - SAME_INSTANT, "left")
                hi = np.searchsorted(sessions_days, finish - SAME_INSTANT, "left")
                skipped.append(max(0, hi - lo))
            elif r.started is None:
                end = ends[id(r)]
                lo = np.searchsorted(sessions_days, r.enrolled - SAME_INSTANT, "left")
                hi = np.searchsorted(sessions_days, end - SAME_INSTANT, "left")
                open_passed.append(max(0, hi - lo))
        fit.no_show_rate, fit.abandon_rate = _no_show(
            np.asarray(skipped, dtype=float), np.asarray(open_passed, dtype=float)
        )
        fit.notes.append(
            "start_after_days, duration_days: an ILC with sessions starts and finishes at the "
            "session attended (S30)"
        )
        return fit, None

    has_starts = any(r.started is not None for r in records)
    if not has_starts:
        fit.notes.append(
            "start_after_days: the history has no start dates; duration_days counts from "
            "the enrollment"
        )
    nan = math.nan
    enrolled = np.fromiter((r.enrolled for r in records), float, len(records))
    started = np.fromiter(
        (r.started if r.started is not None else nan for r in records), float, len(records)
    )
    finish = np.fromiter(
        (
            r.completed if r.completed is not None else r.failed if r.failed is not None else nan
            for r in records
        ),
        float,
        len(records),
    )
    end = np.fromiter((ends[id(r)] for r in records), float, len(records))
    # the export's resolution of each delay: a day where a moment is a date alone (_resolution)
    coarse = [r for r in records if r.dates_only]
    res_start = np.full(len(records), SECOND)
    res_dur = np.full(len(records), SECOND)
    if coarse:
        res_start = np.fromiter(
            (_resolution(r, "enrolled", "started") for r in records), float, len(records)
        )
        res_dur = np.fromiter(
            (_resolution(r, "started", "completed", "failed") for r in records), float, len(records)
        )
    if not has_starts:
        started = enrolled.copy()
    known = ~np.isnan(started)
    done = ~np.isnan(finish)
    delay = started - enrolled
    starts_exact = np.stack([delay[known], res_start[known]], axis=1)
    starts_left = np.maximum(finish[~known & done] - enrolled[~known & done], SECOND)
    waiting = ~known & ~done & (end - enrolled > SAME_INSTANT)
    starts_right = end[waiting] - enrolled[waiting]
    took = finish - started
    dur_exact = np.stack([took[known & done], res_dur[known & done]], axis=1)
    running = known & ~done & (end - started > SAME_INSTANT)
    dur_right = end[running] - started[running]

    if has_starts:
        exact, left = _split(starts_exact)
        times = _Times(
            exact, np.concatenate([left, np.asarray(starts_left)]), np.asarray(starts_right)
        )
        if times.events >= MIN_EVENTS:
            fit.start, _ = fit_times("start_after_days", times, cure=False)
        else:
            fit.notes.append(f"start_after_days: {times.events} starts, at least {MIN_EVENTS}")
    exact, left = _split(dur_exact)
    times = _Times(exact, left, np.asarray(dur_right, dtype=float))
    if times.events >= MIN_EVENTS:
        fit.duration, fit.abandon_rate = fit_times(
            "duration_days", times, cure=True, started=times.events + len(times.right)
        )
    else:
        fit.notes.append(f"duration_days: {times.events} finished, at least {MIN_EVENTS}")
    return fit, None


def _population(
    history: History, first: float, as_of: float
) -> tuple[Estimate | None, Estimate | None, list[str]]:
    """Hires per day from learners' first appearance after the history's first day (those
    there on its first day are the initial headcount); attrition from removals over the
    learners' time present, as the engine's annual rate (1 - exp(-365 x hazard))."""
    notes = []
    appeared: dict[str, float] = {}
    removed: dict[str, float] = {}
    for r in history.records:
        if r.enrolled < appeared.get(r.learner, math.inf):
            appeared[r.learner] = r.enrolled
        if r.removed is not None:
            removed[r.learner] = r.removed
    hires = None
    settle = first + 1.0  # the first day's learners were there already
    window = as_of - settle
    if window >= 1.0:
        count = sum(1 for day in appeared.values() if day > settle)
        hires = _poisson_rate("hires", count, window)
    else:
        notes.append("hires: the history spans less than two days")
    attrition = None
    if removed:
        exposure = sum(
            max(0.0, min(removed.get(learner, as_of), as_of) - day)
            for learner, day in appeared.items()
        )
        count = sum(1 for day in removed.values() if day <= as_of + SAME_INSTANT)
        if exposure > 0:
            rate = _poisson_rate("attrition", count, exposure)
            annual = [1 - math.exp(-365 * v) for v in (rate.value, rate.low, rate.high)]
            attrition = Estimate("annual_rate", *annual, count, "exact Poisson")
            if attrition.value >= 1:
                attrition = None
                notes.append("attrition: every learner leaves within the year")
    else:
        notes.append("attrition: the history has no removal dates (removed_at)")
    return hires, attrition, notes


@contextlib.contextmanager
def no_collection():
    """The cyclic garbage collector paused: a history is a million small objects that
    live until the end, and each full collection walks them all (a third of the time of
    a 1,000,000-record calibrate). Nothing here makes cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def calibrate(
    scenario: Scenario,
    history: History | str | os.PathLike,
    mapping: HistoryMap | None = None,
    as_of: float | None = None,
    strict: bool = False,
) -> Calibration:
    """Fit each course's behaviour and the population's hires and attrition from
    `history` (a History, or a CSV read with `mapping`) against the catalog of
    `scenario`. Open records are right-censored at `as_of` (default: the history's last
    moment). Raises ScenarioError, every problem located, for a history that cannot be
    read or fitted; a course that cannot be fitted is skipped (in `skipped`, with its
    reason) unless `strict`."""
    with no_collection():
        if not isinstance(history, History):
            history = read_history(history, scenario, mapping, window=False)
        return _calibrate(scenario, history, as_of, strict)


def _calibrate(scenario: Scenario, history: History, as_of: float | None, strict: bool):
    file = history.file
    records = history.records
    if len(records) < MIN_RECORDS:
        raise ScenarioError(
            [
                Problem(
                    file,
                    None,
                    (),
                    f"{len(records)} records: calibrate needs at least {MIN_RECORDS} "
                    f"(and {MIN_RECORDS} per course it fits)",
                )
            ]
        )
    moments = [
        m
        for r in records
        for m in (r.enrolled, r.started, r.completed, r.failed, r.removed)
        if m is not None
    ]
    first = min(r.enrolled for r in records)
    last = max(moments)
    if as_of is None:
        as_of = last
    elif as_of < last - SAME_INSTANT:
        late = max(
            records,
            key=lambda r: max(
                m for m in (r.enrolled, r.started, r.completed, r.failed) if m is not None
            ),
        )
        raise ScenarioError(
            [
                Problem(
                    file,
                    late.line,
                    ("(row)",),
                    f"a moment on {instant(last, history.day0)}, after --as-of "
                    f"({instant(as_of, history.day0)}): the export cannot show what happened "
                    "after it was made",
                )
            ]
        )
    ends = _clock_ends(history, as_of)
    by_course: dict[str, list] = {}
    for record in records:
        by_course.setdefault(record.course, []).append(record)
    shift = 0.0  # sessions are in the scenario's days; the history's day 0 may differ
    if history.day0 is not None and scenario.start_date is not None:
        shift = float((scenario.start_date - history.day0).days)
    plan_sessions = None
    courses, skipped, notes = [], [], []
    for course in scenario.courses:
        mine = by_course.get(course.id)
        if not mine or course.type not in ("online", "ilc"):
            continue
        sessions_days = None
        if course.type == "ilc" and course.sessions:
            if plan_sessions is None:
                from ..engine import compile_plan

                plan = compile_plan(scenario)
                plan_sessions = {
                    cid: np.asarray([s.day + shift for s in days], dtype=float)
                    for cid, days in zip(plan.course_ids, plan.sessions, strict=True)
                }
            sessions_days = plan_sessions[course.id]
        fit, problem = _fit_course(course, mine, ends, sessions_days, file)
        if problem is not None:
            skipped.append(problem)
        else:
            courses.append(fit)
    hires, attrition, population_notes = _population(history, first, as_of)
    absent = [
        c.id for c in scenario.courses if c.type in ("online", "ilc") and c.id not in by_course
    ]
    if absent:
        notes.append(f"{file}: no records of {', '.join(absent)}: not fitted")
    notes += population_notes
    if strict and skipped:
        raise ScenarioError(skipped)
    if not courses:
        raise ScenarioError(
            skipped
            or [Problem(file, None, (), "no online or ILC course of the scenario has records here")]
        )
    return Calibration(
        file=file,
        records=len(records),
        learners=len({r.learner for r in records}),
        first_day=first,
        as_of=as_of,
        courses=courses,
        hires=hires,
        attrition=attrition,
        warnings=[*history.warnings, *notes],
        skipped=skipped,
        day0=history.day0,
    )
