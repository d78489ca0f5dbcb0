"""Rules read from an LMS's own history: `postenroll-sim infer` (docs/infer.md).

The post-enrollment records of an export are matched to the triggers that precede them
(S17: an enrollment, completion or failure of a course by the same learner), and the
rules that must exist are suggested with their evidence: source course, trigger, delay
in whole days (S2), targets, and "Allow Consecutive Enrollments" (S19, S20). The history's
re-enrollments (S34) suggest each certificate's re-enrollment window. The result is a
scenario skeleton that `audit` then confirms.

This room (design) may not import the history loader (qa/audit): the command line reads
the history and hands its records here as plain data. A record is any object with the
attributes of `qa.audit.history.Record`: `line, learner, course, method, status,
enrolled, started, completed, failed, removed, expires, order` (moments in days from
day 0, None when absent).

How a record is explained
-------------------------
* The processing mode (S3) comes first. When most post enrollments sit at one whole
  hour of the day and their delays from any trigger are not whole days, the LMS runs a
  daily batch at that hour (`daily`); otherwise jobs run when due (`exact`).
* Each post enrollment of learner L in course T is paired with every earlier trigger of
  L. A pair gives a delay: `exact`, the gap in whole days (a gap that is not whole days,
  to the minute, is no pair); `daily`, the whole days D for which the run after
  trigger + D is the record's instant (the gap is between D and D + 1 days).
* Candidates (source course, trigger, delay) for T are counted over all records; the
  one explaining the most records of T wins those records (the delay most consistent
  across learners), then the next, until no record is left that a candidate explains.
  On a tie the shorter delay, then a completion or failure over an enrollment, wins, and
  the summary names the candidates that explain the same records just as well.
* Candidates with the same source, trigger and delay are one rule whose targets are
  all their courses (S10: one job enrolls in each target in order).
* Consecutive is on when the rule enrolled a learner who had already completed the
  target (S19.3 would have skipped them otherwise, S20).
* Every trigger of the rule's source is then checked: a trigger that led to no record is
  explained by the rule's own steps (S19: removed, already enrolled, already completed),
  is still pending at the history's end (S24), or is an exception.
* A rule whose source and trigger match another's, with the same targets but another
  delay, and whose triggers all come before (or all after) the other's, is one rule
  whose delay was edited (S18): the skeleton writes an `edit_rule` step.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from ..formatting import instant

TOLERANCE = 1 / 2880  # days (30 s): instants of an export to the minute still match
TRIGGER_ORDER = {"completed": 0, "failed": 1, "enrolled": 2}  # a tie goes to the first
DAILY_SHARE = 0.8  # of the post enrollments at one hour: a daily run at that hour
RUN_TOLERANCE = 1 / 24  # a daily run's records within the hour after it (audit's tolerance)
LOW_SHARE = 0.5  # a rule explaining fewer of its triggers than this is not written


@dataclass(frozen=True, slots=True)
class Trigger:
    """One trigger of the history (S17): `kind` of `course` by `learner` at `at`."""

    learner: str
    course: str
    kind: str  # enrolled, completed, failed
    at: float
    record: Any  # the record whose enrollment, completion or failure it is

    @property
    def order(self) -> tuple[float, int, int]:
        """An enrollment trigger follows the records created before it at its instant."""
        return (self.at, self.record.order if self.kind == "enrolled" else -1, 0)


@dataclass
class Processing:
    mode: str  # exact or daily
    hour: int | None
    evidence: str

    def run_after(self, day: float) -> float:
        """When a job due at `day` is processed (S3)."""
        if self.mode == "exact":
            return day
        run = math.floor(day) + self.hour / 24
        return run if run >= day - TOLERANCE else run + 1

    def run_before(self, day: float) -> float:
        """The daily run at or before `day` (the one that made a record at `day`)."""
        run = math.floor(day) + self.hour / 24
        return run if run <= day + TOLERANCE else run - 1

    def as_yaml(self) -> str:
        if self.mode == "exact":
            return "{mode: exact}"
        return f"{{mode: daily, hour: {self.hour}}}"


@dataclass
class Rule:
    """A rule the history says must exist, with its evidence."""

    id: str
    source: str
    when: str
    delay: int
    targets: list[str]
    consecutive: bool = False
    # (a post enrollment it explains, the trigger that made it, the gap in days)
    pairs: list[tuple[Any, Trigger, float]] = field(default_factory=list)
    consecutive_records: int = 0  # records of learners who had completed the target
    skipped: Counter = field(default_factory=Counter)  # outcome -> triggers (S19)
    pending: int = 0  # triggers whose job would run after the history's end (S24)
    missed: list[tuple[Trigger, str]] = field(default_factory=list)  # no record, no reason
    ambiguous: list[str] = field(default_factory=list)  # what explains them as well
    edit: tuple[int, float] | None = None  # (the later delay, the edit's day): S18
    edit_records: int = 0

    @property
    def records(self) -> list[Any]:
        return [p for p, _, _ in self.pairs]

    @property
    def triggers(self) -> list[Trigger]:
        return [t for _, t, _ in self.pairs]

    @property
    def gaps(self) -> list[float]:
        return [g for _, _, g in self.pairs]

    @property
    def explained(self) -> int:
        return len(self.pairs)

    @property
    def share(self) -> float:
        """Of the triggers whose job has run, those the rule accounts for."""
        fired = len({(t.learner, t.at) for t in self.triggers})
        accounted = fired + sum(self.skipped.values())
        return accounted / (accounted + len(self.missed)) if accounted else 0.0

    @property
    def confidence(self) -> str:
        if self.share < LOW_SHARE or self.explained == 1:
            return "low"
        if self.explained >= 5 and self.share >= 0.9 and not self.ambiguous:
            return "high"
        return "medium"

    @property
    def written(self) -> bool:
        return self.share >= LOW_SHARE

    def text(self, day0: dt.date | None = None) -> str:
        """The rule in plain words, as the rule graph and audit say it."""
        delay = _delay_words(self.delay)
        line = f"when {self.source} is {self.when}, enroll in {', '.join(self.targets)} {delay}"
        if self.consecutive:
            line += ", consecutive enrollments allowed"
        if self.edit is not None:
            line += f" (from {_on(self.edit[1], day0)}: {_delay_words(self.edit[0])})"
        return line


@dataclass
class Certificate:
    """A course whose re-enrollments (S34) say when its certificate is renewed."""

    course: str
    records: list[Any]
    gaps: list[float]  # completion to re-enrollment
    after: int  # whole days: valid_for - reenroll_before
    valid_for: int | None  # from the export's expiry dates, when it has them
    missed: int = 0  # completions whose re-enrollment should have come and did not


@dataclass
class Course:
    id: str
    allow_failure: bool
    records: int
    notes: list[str] = field(default_factory=list)  # what the designer must check


@dataclass
class Inference:
    file: str
    day0: dt.date | None
    start: float
    end: float
    learners: int
    total: int
    processing: Processing
    courses: list[Course]
    rules: list[Rule]
    certificates: list[Certificate]
    unexplained: list[Any]  # post enrollments no rule explains
    unexplained_re: list[Any]  # re-enrollments no completion precedes
    post_enrollments: int = 0
    re_enrollments: int = 0

    @property
    def exit_code(self) -> int:
        """0: a rule (or a re-enrollment window) was inferred; 1: none could be."""
        return 0 if any(r.written for r in self.rules) or self.certificates else 1

    def when(self, day: float) -> str:
        return _on(day, self.day0)

    def summary(self, out: str | None = None, map_file: str | None = None) -> str:
        """What was inferred, in plain words; `out`: where the skeleton was written."""
        return "\n".join(_summary_lines(self, out, map_file))

    def skeleton(self, name: str = "", map_file: str | None = None) -> str:
        """The scenario skeleton as YAML text, its evidence in comments."""
        return _skeleton(self, name, map_file)


def _on(day: float, day0: dt.date | None) -> str:
    """`day 2.083` without a calendar, else `2027-01-06 02:00 (day 2.08)`."""
    return f"day {round(day, 3):g}" if day0 is None else instant(day, day0)


# ----- inference ------------------------------------------------------------------------


def infer(records, day0: dt.date | None = None, file: str = "history") -> Inference:
    """Suggest the rules behind the post enrollments of `records` (see the module)."""
    records = sorted(records, key=lambda r: (r.enrolled, r.order, r.line))
    by_learner: dict[str, list[Any]] = defaultdict(list)
    for record in records:
        by_learner[record.learner].append(record)
    triggers = {learner: _triggers(rs) for learner, rs in by_learner.items()}
    posts = [r for r in records if r.method == "post_enrollment"]
    moments = [
        getattr(r, m)
        for r in records
        for m in ("enrolled", "started", "completed", "failed", "removed")
        if getattr(r, m) is not None
    ]
    start, end = (min(moments), max(moments)) if moments else (0.0, 0.0)
    processing = _processing(posts, triggers)
    candidates = {id(p): _candidates(p, triggers[p.learner], processing) for p in posts}
    rules, unexplained = _choose(posts, candidates)
    by_course = _Records()
    for record in records:
        by_course[(record.learner, record.course)].append(record)
        if record.removed is not None:
            known = by_course.removed.get(record.learner)
            by_course.removed[record.learner] = (
                record.removed if known is None else min(known, record.removed)
            )
    all_triggers = [t for ts in triggers.values() for t in ts]
    for rule in rules:
        _consecutive(rule, by_course)
        _check_triggers(rule, all_triggers, by_course, processing, end)
    rules = _edits(rules, all_triggers, by_course, processing, end)
    rules.sort(key=lambda r: (r.source, TRIGGER_ORDER[r.when], r.delay))
    _name(rules)
    certificates, unexplained_re = _certificates(records, by_course, processing, end)
    return Inference(
        file=file,
        day0=day0,
        start=start,
        end=end,
        learners=len(by_learner),
        total=len(records),
        processing=processing,
        courses=_courses(records, rules),
        rules=rules,
        certificates=certificates,
        unexplained=unexplained,
        unexplained_re=unexplained_re,
        post_enrollments=len(posts),
        re_enrollments=sum(r.method == "re_enrollment" for r in records),
    )


def _triggers(records) -> list[Trigger]:
    found = []
    for r in records:
        found.append(Trigger(r.learner, r.course, "enrolled", r.enrolled, r))
        for kind in ("completed", "failed"):
            if getattr(r, kind) is not None:
                found.append(Trigger(r.learner, r.course, kind, getattr(r, kind), r))
    found.sort(key=lambda t: t.order)
    return found


def _before(trigger: Trigger, record) -> bool:
    """The trigger happened before `record` was created (not its own enrollment)."""
    if trigger.record is record:
        return False
    if trigger.kind == "enrolled":
        return (trigger.at, trigger.record.order) < (record.enrolled, record.order)
    return trigger.at <= record.enrolled + TOLERANCE


def _whole(value: float) -> bool:
    return abs(value - round(value)) <= TOLERANCE


def _processing(posts, triggers) -> Processing:
    if not posts:
        return Processing("exact", None, "no post enrollments to read it from")
    hours = Counter(math.floor((p.enrolled % 1) * 24 + TOLERANCE * 24) % 24 for p in posts)
    hour, at_hour = hours.most_common(1)[0]
    whole = sum(
        any(_before(t, p) and _whole(p.enrolled - t.at) for t in triggers[p.learner]) for p in posts
    )
    n = len(posts)
    if at_hour >= DAILY_SHARE * n and whole < at_hour:
        return Processing(
            "daily",
            hour,
            f"{at_hour} of {n} post enrollments were made within the hour from {hour:02d}:00, "
            f"and {n - whole} are not a whole number of days after any trigger: a daily run at "
            f"{hour:02d}:00 (S3)",
        )
    return Processing(
        "exact",
        None,
        f"{whole} of {n} post enrollments are a whole number of days after a trigger: "
        "jobs run when due (S3)",
    )


def _candidates(post, triggers, processing: Processing) -> dict[tuple, tuple[Trigger, float]]:
    """(source, trigger, delay) -> (the nearest trigger that gives it, the gap)."""
    found: dict[tuple, tuple[Trigger, float]] = {}
    daily = processing.mode == "daily"
    run = processing.run_before(post.enrolled) if daily else post.enrolled
    if daily and post.enrolled - run > RUN_TOLERANCE:
        return found  # not made by a daily run: no rule's job made it
    for trigger in triggers:
        if not _before(trigger, post):
            continue
        gap = round((post.enrolled - trigger.at) * 86_400) / 86_400  # whole seconds (S1)
        if daily:
            delay = math.floor(run - trigger.at + TOLERANCE)
        elif _whole(gap):
            delay = round(gap)
        else:
            continue
        if delay >= 0:
            found[(trigger.course, trigger.kind, delay)] = (trigger, gap)  # the latest wins
    return found


def _rank(key: tuple, count: int, enrolled_by_rule: bool) -> tuple:
    course, kind, delay = key
    return (-count, delay, TRIGGER_ORDER[kind], enrolled_by_rule, course)


def _choose(posts, candidates) -> tuple[list[Rule], list[Any]]:
    """Greedy: the (candidate, target) explaining most of the records left wins them."""
    left = [p for p in posts if candidates[id(p)]]
    unexplained = [p for p in posts if not candidates[id(p)]]
    won: dict[tuple, list[tuple[Any, Trigger, float]]] = defaultdict(list)
    notes: dict[tuple, set[str]] = defaultdict(set)
    while left:
        count: Counter = Counter()
        cascade: set[tuple] = set()  # made by a trigger that a rule's own record gave
        for p in left:
            for key, (trigger, _) in candidates[id(p)].items():
                count[(key, p.course)] += 1
                if trigger.record.method == "post_enrollment":
                    cascade.add((key, p.course))
        best = min(count, key=lambda kt: _rank(kt[0], count[kt], kt in cascade))
        key, target = best
        taken = [p for p in left if p.course == target and key in candidates[id(p)]]
        for p in taken:
            trigger, gap = candidates[id(p)][key]
            won[key].append((p, trigger, gap))
        for other, n in count.items():
            if (
                len({p.learner for p in taken}) > 1  # one learner's record: any trigger fits
                and other != best
                and other[1] == target
                and n >= len(taken)
                and all(other[0] in candidates[id(p)] for p in taken)
            ):
                notes[key].add(f"{target}: " + _candidate_words(other[0]))
        left = [p for p in left if not (p.course == target and key in candidates[id(p)])]
    rules = []
    for key, items in won.items():
        source, when, delay = key
        firings: dict[tuple, list[Any]] = defaultdict(list)  # one trigger's records
        for p, trigger, _ in items:
            firings[(trigger.learner, trigger.at, trigger.kind)].append(p)
        position: dict[str, list[int]] = defaultdict(list)  # each target's place in them
        for made in firings.values():
            for rank, p in enumerate(sorted(made, key=lambda r: r.order)):
                position[p.course].append(rank)
        targets = sorted(position, key=lambda t: (statistics.mean(position[t]), t))
        rules.append(
            Rule(
                id="",
                source=source,
                when=when,
                delay=delay,
                targets=targets,
                pairs=list(items),
                ambiguous=sorted(notes[key]),
            )
        )
    return rules, unexplained


def _candidate_words(key: tuple) -> str:
    course, kind, delay = key
    return f"when {course} is {kind}, {_delay_words(delay)}"


def _delay_words(delay: int) -> str:
    return "at once" if delay == 0 else f"after {delay} day{'s' if delay != 1 else ''}"


def _consecutive(rule: Rule, by_course) -> None:
    """S19.3/S20: a record of a learner who had completed the target needs consecutive on."""
    for p in rule.records:
        earlier = by_course[(p.learner, p.course)]
        if any(
            r is not p and r.completed is not None and r.completed <= p.enrolled + TOLERANCE
            for r in earlier
        ):
            rule.consecutive_records += 1
    rule.consecutive = rule.consecutive_records > 0


class _Records(defaultdict):
    """A learner's records of one course, by (learner, course), and when each learner
    was removed (`removed`, learner -> day), which any of their records may say: a
    learner removed before a job's run has no record of its target course to say so."""

    def __init__(self):
        super().__init__(list)
        self.removed: dict[str, float] = {}


def _outcome(
    learner_records, target, at: float, consecutive: bool, removed: float | None = None
) -> str | None:
    """What S19 says a job for `target` at `at` finds (None: it would enroll); `removed`:
    when the learner was removed, if they were (S19.1, S29)."""
    records = [r for r in learner_records if r.enrolled < at - TOLERANCE]
    if removed is None:
        removed = next((r.removed for r in learner_records if r.removed is not None), None)
    if removed is not None and removed <= at + TOLERANCE:
        return "skipped_learner_removed"
    if records:
        current = max(records, key=lambda r: (r.enrolled, r.order))
        ended = [d for d in (current.completed, current.failed) if d is not None]
        if not ended or min(ended) > at + TOLERANCE:
            return "skipped_already_enrolled"
    if not consecutive and any(
        r.completed is not None and r.completed <= at + TOLERANCE for r in records
    ):
        return "skipped_already_completed"
    return None


def _check_triggers(rule: Rule, triggers, by_course, processing, end, until=math.inf) -> None:
    """Every trigger of the rule's source: fired, skipped by S19, pending, or missed."""
    fired = {(t.learner, t.at, t.kind) for t in rule.triggers}
    made = {(t.learner, t.at, t.kind, p.course) for p, t, _ in rule.pairs}
    rule.skipped, rule.pending, rule.missed = Counter(), 0, []
    for trigger in triggers:
        if trigger.course != rule.source or trigger.kind != rule.when or trigger.at >= until:
            continue
        at = processing.run_after(trigger.at + rule.delay)
        if at > end + TOLERANCE:
            rule.pending += 1
            continue
        gone = by_course.removed.get(trigger.learner)
        if (trigger.learner, trigger.at, trigger.kind) in fired:
            missing = [
                t
                for t in rule.targets
                if (trigger.learner, trigger.at, trigger.kind, t) not in made
                and _outcome(by_course[(trigger.learner, t)], t, at, rule.consecutive, gone) is None
            ]
            for _ in missing:
                rule.missed.append((trigger, "target"))
            continue
        reasons = [
            _outcome(by_course[(trigger.learner, t)], t, at, rule.consecutive, gone)
            for t in rule.targets
        ]
        if all(reasons):
            rule.skipped[reasons[0]] += 1
        else:
            rule.missed.append((trigger, "trigger"))


def _edits(rules, triggers, by_course, processing, end) -> list[Rule]:
    """Two rules alike but for the delay, one's triggers all before the other's: one rule
    whose delay was edited between them (S18: an edit acts on later triggers only)."""
    merged: list[Rule] = []
    done: set[int] = set()
    for a in rules:
        if id(a) in done:
            continue
        for b in rules:
            if b is a or id(b) in done or (a.source, a.when) != (b.source, b.when):
                continue
            if set(a.targets) != set(b.targets) or not a.missed:
                continue
            last_a = max(t.at for t in a.triggers)
            first_b = min(t.at for t in b.triggers)
            if last_a >= first_b:
                continue
            day = float(math.floor(first_b)) if math.floor(first_b) > last_a else first_b
            a.edit, a.edit_records = (b.delay, day), b.explained
            a.ambiguous += b.ambiguous
            a.consecutive_records += b.consecutive_records
            a.consecutive = a.consecutive or b.consecutive
            early, late = _split(a, b, triggers, by_course, processing, end, day)
            a.pairs += b.pairs
            a.skipped = early.skipped + late.skipped
            a.pending = early.pending + late.pending
            a.missed = early.missed + late.missed
            done.add(id(b))
            break
        merged.append(a)
        done.add(id(a))
    return merged


def _split(a: Rule, b: Rule, triggers, by_course, processing, end, day):
    """The checks of a with its first delay before `day` and of b from `day` on."""
    early = Rule("", a.source, a.when, a.delay, a.targets, a.consecutive, pairs=a.pairs)
    _check_triggers(early, triggers, by_course, processing, end, until=day)
    late = Rule("", b.source, b.when, b.delay, b.targets, a.consecutive, pairs=b.pairs)
    _check_triggers(late, [t for t in triggers if t.at >= day], by_course, processing, end)
    return early, late


def _name(rules: list[Rule]) -> None:
    seen: Counter = Counter()
    for rule in rules:
        base = f"{rule.source}-{rule.when}"
        seen[base] += 1
        rule.id = base if seen[base] == 1 else f"{base}-{seen[base]}"


def _certificates(records, by_course, processing, end):
    """S34: a course's re-enrollments, each after the learner's latest completion of it."""
    found, unexplained = [], []
    re_records = defaultdict(list)
    for r in records:
        if r.method == "re_enrollment":
            re_records[r.course].append(r)
    for course, items in sorted(re_records.items()):
        gaps, delays, valid, kept = [], [], [], []
        for r in items:
            done = [
                x
                for x in by_course[(r.learner, course)]
                if x is not r and x.completed is not None and x.completed <= r.enrolled + TOLERANCE
            ]
            if not done:
                unexplained.append(r)
                continue
            last = max(done, key=lambda x: x.completed)
            gaps.append(r.enrolled - last.completed)
            if processing.mode == "daily":  # the whole days before the run that made it
                delays.append(
                    math.floor(processing.run_before(r.enrolled) - last.completed + TOLERANCE)
                )
            else:
                delays.append(round(r.enrolled - last.completed))
            kept.append(r)
            if last.expires is not None:
                valid.append(last.expires - last.completed)
        if not kept:
            continue
        after = Counter(delays).most_common(1)[0][0]
        validity = round(statistics.median(valid)) if valid else None
        certificate = Certificate(course, kept, gaps, after, validity)
        for (learner, of), pair in by_course.items():
            if of == course:
                certificate.missed += _missed_reenrollments(
                    pair, after, processing, end, by_course.removed.get(learner)
                )
        found.append(certificate)
    return found, unexplained


def _missed_reenrollments(pair, after: int, processing, end, removed=None) -> int:
    """Completions of one learner's course whose re-enrollment should be in the history."""
    missed = 0
    for x in pair:
        if x.completed is None:
            continue
        at = processing.run_after(x.completed + after)
        if at > end + TOLERANCE:
            continue  # still pending (S24)
        slack = RUN_TOLERANCE if processing.mode == "daily" else TOLERANCE
        if any(
            r.method == "re_enrollment" and -TOLERANCE <= r.enrolled - at <= slack for r in pair
        ):
            continue
        renewed = any(
            y.completed is not None and x.completed < y.completed <= at + TOLERANCE for y in pair
        )
        if not renewed and _outcome(pair, None, at, True, removed) is None:  # S34.2, S34.3
            missed += 1
    return missed


def _courses(records, rules) -> list[Course]:
    order: dict[str, list[Any]] = {}
    for r in records:
        order.setdefault(r.course, []).append(r)
    courses = []
    for course, items in order.items():
        failed = any(r.failed is not None for r in items)
        entry = Course(course, failed, len(items))
        if all(r.started is None and r.completed is None and r.failed is None for r in items):
            bundled = {
                m.course
                for r in items
                for m in records
                if m.method == "bundle"
                and m.learner == r.learner
                and abs(m.enrolled - r.enrolled) <= TOLERANCE
            }
            if bundled:
                entry.notes.append(
                    f"never started or completed, and learners got `bundle` records in "
                    f"{', '.join(sorted(bundled))} as they were enrolled in it: a bundle? "
                    f"(type: bundle, members: [{', '.join(sorted(bundled))}])"
                )
        done = Counter(r.completed for r in items if r.completed is not None)
        shared = sum(n for n in done.values() if n > 1)
        if len(done) and shared >= 3 and shared * 2 >= sum(done.values()):
            entry.notes.append(
                f"{shared} of its {sum(done.values())} completions share an instant with another "
                "learner's: sessions? (type: ilc with its sessions)"
            )
        if failed:
            entry.notes.append("allow_failure: true, as some records failed (S5)")
        courses.append(entry)
    return courses


# ----- words ------------------------------------------------------------------------------


def _days(values: list[float]) -> str:
    lo, mid, hi = min(values), statistics.median(values), max(values)
    if abs(hi - lo) <= TOLERANCE:
        return f"delay {_num(lo)} day{'' if _num(lo) == '1' else 's'}"
    return f"delays {_num(lo)}-{_num(hi)} days (median {_num(mid)})"


def _num(days: float) -> str:
    return f"{days:.0f}" if _whole(days) else f"{days:.2f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


SKIP_WORDS = {
    "skipped_already_enrolled": "already enrolled (S19.2)",
    "skipped_already_completed": "already completed (S19.3)",
    "skipped_learner_removed": "learner{s} removed (S19.1)",
}


def _evidence(rule: Rule, inference: Inference) -> list[str]:
    lines = [
        f"{_plural(rule.explained, 'record')}, {_days(rule.gaps)}; confidence {rule.confidence}"
        + ("" if rule.written else ": not written into the skeleton")
    ]
    if rule.edit is not None:
        lines.append(
            f"the delay changed: {_plural(rule.explained - rule.edit_records, 'record')} at "
            f"{rule.delay} days, then {rule.edit_records} at {rule.edit[0]} days from "
            f"{inference.when(rule.edit[1])} (the skeleton's script edits it then, S18)"
        )
    if rule.consecutive_records:
        lines.append(
            f"consecutive: {_plural(rule.consecutive_records, 'record')} enrolled learners "
            "who had completed the target already (S20)"
        )
    if rule.skipped:
        lines.append(
            "triggers the rules skip: "
            + ", ".join(
                f"{n} {SKIP_WORDS[k].format(s='' if n == 1 else 's')}"
                for k, n in sorted(rule.skipped.items())
            )
        )
    if rule.pending:
        lines.append(f"{_plural(rule.pending, 'trigger')} still pending at the history's end (S24)")
    if rule.missed:
        first = rule.missed[0][0]
        lines.append(
            f"exceptions: {_plural(len(rule.missed), 'trigger')} led to no record, e.g. "
            f"{first.learner} {first.kind} {first.course} on {inference.when(first.at)} "
            f"(line {first.record.line}): the rule not yet in force (S18), or another rule"
        )
    if rule.ambiguous:
        shown = "; ".join(rule.ambiguous[:3])
        more = f" and {len(rule.ambiguous) - 3} more" if len(rule.ambiguous) > 3 else ""
        lines.append(
            f"ambiguous: as well explained by {shown}{more} (chose the shorter delay, then a "
            "completion or failure over an enrollment)"
        )
    return lines


def _summary_lines(inf: Inference, out: str | None, map_file: str | None):
    span = f"{inf.when(inf.start)} to {inf.when(inf.end)}"
    yield (
        f"{inf.file}: {_plural(inf.total, 'record')} of {_plural(inf.learners, 'learner')}, "
        f"{span}; {_plural(inf.post_enrollments, 'post enrollment')}, "
        f"{_plural(inf.re_enrollments, 're-enrollment')}"
    )
    yield (
        f"processing: {inf.processing.mode}"
        + (f" at {inf.processing.hour:02d}:00" if inf.processing.hour is not None else "")
        + f": {inf.processing.evidence}"
    )
    written = [r for r in inf.rules if r.written]
    yield f"{_plural(len(written), 'rule')} inferred" + (":" if inf.rules else "")
    for rule in inf.rules:
        mark = "" if rule.written else "(weak) "
        yield f"  {mark}{rule.id}: {rule.text(inf.day0)}"
        for line in _evidence(rule, inf):
            yield f"      {line}"
    for c in inf.certificates:
        yield (
            f"  re-enrollment: {c.course} is enrolled again {_plural(c.after, 'day')} after each "
            f"completion ({_plural(len(c.records), 'record')}, {_days(c.gaps).replace('delay', 'gap')}"
            + (f"; {c.missed} completions not re-enrolled" if c.missed else "")
            + "): valid_for - reenroll_before = "
            + f"{c.after} days"
            + (
                f", valid_for {c.valid_for} days from the export's expiry dates"
                if c.valid_for
                else ""
            )
            + " (S34)"
        )
    if inf.unexplained:
        shown = ", ".join(f"line {p.line} ({p.learner} in {p.course})" for p in inf.unexplained[:5])
        more = f", and {len(inf.unexplained) - 5} more" if len(inf.unexplained) > 5 else ""
        yield (
            f"not explained: {_plural(len(inf.unexplained), 'post enrollment')} follow no "
            f"trigger at a whole number of days: {shown}{more}"
        )
    if inf.unexplained_re:
        yield (
            f"not explained: {_plural(len(inf.unexplained_re), 're-enrollment')} with no "
            "earlier completion of the course"
        )
    notes = [(c.id, n) for c in inf.courses for n in c.notes]
    yield (
        "check: every course is written as online"
        + (f"; {_plural(len(notes), 'note')} in the skeleton's catalog" if notes else "")
        + "; titles, behaviour, certificates' validity and rule changes the history cannot show"
    )
    if out:
        again = f"postenroll-sim audit {out} {inf.file}" + (
            f" --map {map_file}" if map_file else ""
        )
        yield f"wrote {out}: audit it against the history ({again})"


# ----- the skeleton -----------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _q(text: str) -> str:
    """A YAML scalar for an id: plain when safe, else a double-quoted (JSON) string."""
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(text.split())


def _skeleton(inf: Inference, name: str, map_file: str | None = None) -> str:
    horizon = max(1, math.ceil(inf.end - TOLERANCE))
    rules_of = defaultdict(list)
    for rule in inf.rules:
        rules_of[rule.source].append(rule)
    certificates = {c.course: c for c in inf.certificates}
    out = [
        "# A scenario skeleton inferred from an LMS history by `postenroll-sim infer`",
        f"# ({_comment(inf.file)}): the catalog of its courses and the rules its post",
        "# enrollments say must exist, with their evidence. CHECK before use: course types",
        "# (all are written as online), titles, behaviour, certificates' validity, and what",
        "# the history cannot show (rules that never fired). Confirm it with",
        f"#   postenroll-sim audit THIS.yaml {_comment(inf.file)}"
        + (f" --map {_comment(map_file)}" if map_file else ""),
        # the file's name, not where it is on this machine: a report's title shows it
        f"name: {json.dumps(name or 'Inferred from ' + PurePath(inf.file).name, ensure_ascii=False)}",
    ]
    if inf.day0 is not None:
        out.append(f"start_date: {inf.day0.isoformat()}          # day 0: the history's first day")
    out.append(
        f"horizon_days: {horizon}                 # to cover the history ({inf.when(inf.end)})"
    )
    out.append(f"processing: {inf.processing.as_yaml()}    # {_comment(inf.processing.evidence)}")
    out.append("")
    out.append("courses:")
    for course in inf.courses:
        out.append(f"  - id: {_q(course.id)}")
        out.append(
            f"    type: online                 # CHECK ({_plural(course.records, 'record')})"
        )
        for note in course.notes:
            out.append(f"    # CHECK: {_comment(note)}")
        if course.allow_failure:
            out.append("    allow_failure: true")
        cert = certificates.get(course.id)
        if cert is not None:
            out.append(
                f"    # re-enrollment {cert.after} days after each completion "
                f"({len(cert.records)} records, {_days(cert.gaps).replace('delay', 'gap')}) (S34)"
            )
            if cert.valid_for is not None and cert.valid_for > cert.after:
                out.append(
                    f"    certificate: {{valid_for: {{days: {cert.valid_for}}}, "
                    f"reenroll_before: {{days: {cert.valid_for - cert.after}}}}}"
                )
            else:
                out.append(
                    "    # CHECK: the export has no expiry dates: set valid_for and "
                    f"reenroll_before so that their difference is {cert.after} days"
                )
                out.append(
                    f"    certificate: {{valid_for: {{days: {max(cert.after, 1)}}}, "
                    "reenroll_before: {days: 0}}"
                )
        written = [r for r in rules_of.get(course.id, []) if r.written]
        if written:
            out.append("    post_enrollments:")
        for rule in written:
            out.append(f"      # {_comment(rule.text(inf.day0))}")
            for line in _evidence(rule, inf):
                out.append(f"      #   {_comment(line)}")
            targets = ", ".join(_q(t) for t in rule.targets)
            consecutive = ", allow_consecutive: true" if rule.consecutive else ""
            out.append(
                f"      - {{id: {_q(rule.id)}, when: {rule.when}, delay_days: {rule.delay}, "
                f"courses: [{targets}]{consecutive}}}"
            )
    edits = [r for r in inf.rules if r.written and r.edit is not None]
    weak = [r for r in inf.rules if not r.written]
    if edits:
        out.append("")
        out.append("script:")
        for rule in edits:
            delay, day = rule.edit
            when = _script_day(day, inf.day0)
            out.append(
                f"  # the history's delay of {rule.id} changed ({rule.delay} -> {delay} days)"
            )
            out.append(
                f"  - {{day: {when}, action: edit_rule, rule: {_q(rule.id)}, "
                f"set: {{delay_days: {delay}}}}}"
            )
    if weak:
        out.append("")
        out.append(
            "# Weak candidates, not written (fewer than half of their triggers led to a record):"
        )
        for rule in weak:
            out.append(f"#   {_comment(rule.text(inf.day0))}: {_comment(_evidence(rule, inf)[0])}")
    if inf.unexplained:
        out.append("")
        out.append(
            f"# {len(inf.unexplained)} post enrollments no rule explains (lines "
            + ", ".join(str(p.line) for p in inf.unexplained[:20])
            + (", ..." if len(inf.unexplained) > 20 else "")
            + "): audit will list them as unexpected"
        )
    return "\n".join(out) + "\n"


def _script_day(day: float, day0: dt.date | None) -> str:
    if day0 is None or not float(day).is_integer():
        return f"{day:g}"
    return (day0 + dt.timedelta(days=int(day))).isoformat()
