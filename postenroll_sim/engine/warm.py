"""A warm start's day 0 (S40): the enrollments a history leaves open continue with their
course's behaviour, conditioned on what the history shows.

- A record not started e days after it became visible starts after a start delay drawn
  from the course's start distribution given that it exceeds e (the learner is still
  waiting), counted from when it became visible.
- A record started s days ago has abandoned with the posterior chance
  abandon / (abandon + (1 - abandon) x survival(s)) (S(s): the chance that the duration
  exceeds s); otherwise it finishes at a duration drawn given that it exceeds s.
- An open ILC enrollment with sessions books a session now (S30: exports hold no
  bookings); a curriculum in progress enrolls in the members it still needs now.
- A record whose course puts no chance beyond its elapsed time (a fixed delay already
  past, a uniform's maximum) acts now, at day 0.

The conditional draws are exact: by inverse CDF where the family has a closed form or a
normal quantile (exponential: memoryless; lognormal; uniform; triangular; empirical;
fixed), and for the gamma by rejection (from the unconditional draw while the
condition is likely, in the tail from an exponential envelope that dominates it). Each
course draws from its own stream (`course:ID:resume`), in the order of the records, so
a warm start is as reproducible as any run. Not hot: it runs once, at day 0, interpreted.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from ..columns import whole_second
from ..scenario import stochastic as st
from .plan import BUNDLE, CURRICULUM, ILC
from .store import COMPLETE, NOT_STARTED, unset

_NORMAL = NormalDist()
MAX_TRIES = 10_000  # rejection draws before the tail is taken as reached (never, in practice)


def survival(dist, t: float) -> float:
    """P(X > t) for a scenario distribution (None: always 0, the engine's ZERO)."""
    if t < 0:
        return 1.0
    if dist is None:
        return 0.0
    if isinstance(dist, st.Fixed):
        return 1.0 if dist.value > t else 0.0
    if isinstance(dist, st.Empirical):
        values, p = _empirical(dist)
        return float(p[values > t].sum())
    if isinstance(dist, st.Uniform):
        if dist.max == dist.min:
            return 1.0 if dist.max > t else 0.0
        return min(1.0, max(0.0, (dist.max - t) / (dist.max - dist.min)))
    if t == 0:  # a continuous law on (0, inf)
        return 1.0
    if isinstance(dist, st.Exponential):
        return math.exp(-t / dist.mean_)
    if isinstance(dist, st.Lognormal):
        if dist.sigma == 0:
            return 1.0 if dist.median > t else 0.0
        return _NORMAL.cdf(-(math.log(t) - math.log(dist.median)) / dist.sigma)
    if isinstance(dist, st.Gamma):
        shape = 1.0 / dist.cv**2
        return gamma_q(shape, t * shape / dist.mean_)
    if isinstance(dist, st.Triangular):
        return 1.0 - _triangular_cdf(dist, t)
    raise TypeError(f"unknown distribution {dist!r}")  # pragma: no cover


def conditional(dist, elapsed: float, rng: np.random.Generator) -> float | None:
    """A draw of X given X > elapsed, to the whole second (S1); None when the distribution
    puts no chance beyond `elapsed` (the learner acts now)."""
    if dist is None:
        return None if elapsed >= 0 else 0.0
    if elapsed <= 0:
        return whole_second(_draw(dist, rng))
    tail = survival(dist, elapsed)
    if tail <= 0.0:
        return None
    if isinstance(dist, st.Fixed):
        value = dist.value
    elif isinstance(dist, st.Exponential):
        value = elapsed + rng.exponential(dist.mean_)  # memoryless
    elif isinstance(dist, st.Lognormal):
        if dist.sigma == 0:
            value = dist.median
        else:  # the upper tail's quantile, from its side (exact deep in the tail too)
            v = tail * (1.0 - rng.random())  # in (0, tail]
            z = -_NORMAL.inv_cdf(min(v, 1.0 - 1e-16))
            value = max(elapsed, dist.median * math.exp(dist.sigma * z))
    elif isinstance(dist, st.Gamma):
        value = _gamma_tail(dist, elapsed, tail, rng)
    elif isinstance(dist, st.Uniform):
        value = rng.uniform(max(dist.min, elapsed), dist.max)
    elif isinstance(dist, st.Triangular):
        low = _triangular_cdf(dist, elapsed)
        value = max(elapsed, _triangular_ppf(dist, low + (1.0 - low) * rng.random()))
    elif isinstance(dist, st.Empirical):
        values, p = _empirical(dist)
        above = values > elapsed
        value = rng.choice(values[above], p=p[above] / p[above].sum())
    else:  # pragma: no cover
        raise TypeError(f"unknown distribution {dist!r}")
    return whole_second(float(value))


def _draw(dist, rng: np.random.Generator) -> float:
    """One unconditional draw (the engine's samplers, random.py, draw the same laws)."""
    if isinstance(dist, st.Fixed):
        return dist.value
    if isinstance(dist, st.Exponential):
        return rng.exponential(dist.mean_)
    if isinstance(dist, st.Lognormal):
        return rng.lognormal(math.log(dist.median), dist.sigma)
    if isinstance(dist, st.Gamma):
        shape = 1.0 / dist.cv**2
        return rng.gamma(shape, dist.mean_ / shape)
    if isinstance(dist, st.Uniform):
        return rng.uniform(dist.min, dist.max)
    if isinstance(dist, st.Triangular):
        return rng.triangular(dist.min, dist.mode, dist.max)
    values, p = _empirical(dist)
    return float(rng.choice(values, p=p))


def _gamma_tail(dist: st.Gamma, elapsed: float, tail: float, rng) -> float:
    """X ~ Gamma(k, theta) given X > elapsed: rejection from the law itself while the
    condition is likely; in the tail from elapsed + Exp (rate 1/theta, less the shape's
    pull (k-1)/elapsed where k > 1), accepted with the ratio of the densities (<= 1)."""
    shape = 1.0 / dist.cv**2
    scale = dist.mean_ / shape
    if tail >= 0.2 or (shape <= 1 and elapsed < scale):
        for _ in range(MAX_TRIES):
            x = rng.gamma(shape, scale)
            if x > elapsed:
                return x
        return elapsed
    rate = 1.0 / scale - (shape - 1.0) / elapsed if shape > 1 else 1.0 / scale
    for _ in range(MAX_TRIES):
        x = elapsed + rng.exponential(1.0 / rate)
        ratio = (x / elapsed) ** (shape - 1.0)
        if shape > 1:
            ratio *= math.exp(-(x - elapsed) * (shape - 1.0) / elapsed)
        if rng.random() < ratio:
            return x
    return elapsed


def gamma_q(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) = P(Gamma(a, 1) > x): its
    series below a + 1, its continued fraction above (Numerical Recipes, 6.2)."""
    if x <= 0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1.0
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return math.exp(log_front) * h


def _triangular_cdf(dist: st.Triangular, x: float) -> float:
    a, c, b = dist.min, dist.mode, dist.max
    if x <= a:
        return 0.0
    if x >= b:
        return 1.0
    if x <= c:
        return (x - a) ** 2 / ((b - a) * (c - a))
    return 1.0 - (b - x) ** 2 / ((b - a) * (b - c))


def _triangular_ppf(dist: st.Triangular, u: float) -> float:
    a, c, b = dist.min, dist.mode, dist.max
    if u < (c - a) / (b - a):
        return a + math.sqrt(u * (b - a) * (c - a))
    return b - math.sqrt((1.0 - u) * (b - a) * (b - c))


def _empirical(dist: st.Empirical) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(dist.values, dtype=float)
    weights = np.asarray(
        dist.weights if dist.weights is not None else [1.0] * len(values), dtype=float
    )
    return values, weights / weights.sum()


def resume_open_enrollments(model, behaviours, streams, conditioned: bool = True) -> int:
    """S40, at day 0 (`model.clock.now`): schedule the next step of every current, visible,
    open enrollment of a present learner whose course has a behaviour, in creation order.
    Returns how many were resumed. `conditioned=False` draws as if each record had just
    become visible or started (what S40 rules out: the tests show it biased)."""
    now = model.clock.now
    plan, lms = model.plan, model.lms
    ens = model.store.enrollments
    draws: dict[int, np.random.Generator] = {}

    def rng(course: int) -> np.random.Generator:
        found = draws.get(course)
        if found is None:
            found = draws[course] = streams.generator(f"course:{plan.course_ids[course]}:resume")
        return found

    resumed = 0
    for enrollment in range(len(ens)):
        status = ens.status[enrollment]
        if status >= COMPLETE or not unset(ens.superseded[enrollment]):
            continue
        if lms.removed[ens.learner[enrollment]]:
            continue
        course = ens.course[enrollment]
        spec = plan.behaviour[course]
        kind = plan.course_types[course]
        if spec is None or kind == BUNDLE or behaviours.by_course[course] is None:
            continue
        visible = ens.visible[enrollment]
        if unset(visible):
            continue  # the course is inactive: its activation sets the learner off (S21)
        resumed += 1
        if kind == ILC and plan.sessions[course]:
            if status == NOT_STARTED:
                behaviours.start_at(enrollment, now)  # books (S30), or abandons
            else:
                behaviours.book_now(enrollment)
            continue
        if status == NOT_STARTED:
            if conditioned:
                delay = conditional(spec.start_after_days, now - visible, rng(course))
                at = now if delay is None else max(now, whole_second(visible + delay))
            else:
                at = whole_second(now + _draw_or_zero(spec.start_after_days, rng(course)))
            behaviours.start_at(enrollment, at)
            continue
        if kind == CURRICULUM:
            behaviours.start_at(enrollment, now)  # enrolls in the members it still needs
            continue
        started = ens.started[enrollment]
        elapsed = now - started
        abandon = spec.abandon_rate or 0.0
        if conditioned:
            stays = (1.0 - abandon) * survival(spec.duration_days, elapsed)
            posterior = abandon / (abandon + stays) if abandon + stays > 0 else 0.0
        else:
            posterior = abandon
        if posterior > 0 and rng(course).random() < posterior:
            continue  # it was abandoned: never finished
        if conditioned:
            duration = conditional(spec.duration_days, elapsed, rng(course))
            at = now if duration is None else max(now, whole_second(started + duration))
        else:
            at = whole_second(now + _draw_or_zero(spec.duration_days, rng(course)))
        behaviours.finish_at(enrollment, at)
    return resumed


def _draw_or_zero(dist, rng) -> float:
    return 0.0 if dist is None else float(_draw(dist, rng))
