"""`postenroll-sim lint`: the traps designers fall into, found in the rule graph without running.

Each finding has a stable code (scenario/lintcodes.py), a severity, the place in the
file, a plain explanation and a suggested fix. docs/designer-tools.md lists every code
with an example. A finding that is intended can be marked with `lint: {ignore: [CODE]}`
on the rule or course it names, or at the top level of the scenario.

Rules changed by the script are linted as they are after each change: a trap created
by `add_rule` or `edit_rule` is reported at that script line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from ..columns import TRIGGER_WORDS
from ..formatting import days, instant
from ..scenario import Scenario
from ..scenario.errors import Path, dotted
from ..scenario.lintcodes import CODES, SEVERITIES
from ..scenario.stochastic import median
from .rulegraph import (
    Edge,
    RuleGraph,
    Version,
    build,
    course_order,
    cycle_search,
    cycle_text,
    loop_groups,
    shortest_cycle,
)

MAX_ANCHORS = 20  # edges of a group too loopy to list whose shortest loop is looked for


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    file: str
    line: int | None
    path: Path
    message: str
    fix: str
    subjects: tuple[str, ...] = ()  # "rule:ID" / "course:ID": where a lint: ignore applies
    suppressed_by: str | None = None  # FILE:LINE of the `lint: ignore` that marks it intended

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return (
            f"{where}: {dotted(self.path)}: {self.code} {self.severity}: {self.message}\n"
            f"    fix: {self.fix}"
        )

    def as_dict(self) -> dict:
        d = asdict(self)
        d["path"] = dotted(self.path)
        d["title"] = CODES[self.code][1]
        d["subjects"] = list(self.subjects)
        return d


@dataclass
class LintResult:
    file: str
    findings: list[Finding] = field(default_factory=list)  # in force, in file order
    suppressed: list[Finding] = field(default_factory=list)  # marked intended

    @property
    def failing(self) -> bool:
        """Anything at warning level or above (what makes `lint` exit 1)."""
        return any(f.severity != "info" for f in self.findings)

    def counts(self) -> dict[str, int]:
        return {s: sum(f.severity == s for f in self.findings) for s in reversed(SEVERITIES)}


def lint(scenario: Scenario) -> list[Finding]:
    """The findings in force (not marked intended), in file order."""
    return lint_scenario(scenario).findings


# What learners can do is the history's to say when they come from one: these findings
# reason about how learners get in and finish, so they do not apply there.
FROM_HISTORY_SKIPS = frozenset({"PE201", "PE202", "PE203", "PE204", "PE205"})


def lint_scenario(scenario: Scenario, from_history: bool = False) -> LintResult:
    """`from_history`: the scenario is the rules of an `audit` (docs/audit.md), its
    learners come from the LMS's history, so nothing is said about how they get in or
    finish (`lint --history`)."""
    origin = scenario.origin
    file = origin.file if origin else "<scenario>"
    linter = _Linter(scenario, build(scenario), file)
    if from_history or scenario.initial_state is not None:  # a warm start's too (S39)
        linter.skip = FROM_HISTORY_SKIPS
    linter.run()
    return linter.result()


class _Linter:
    def __init__(self, scenario: Scenario, graph: RuleGraph, file: str):
        self.scenario = scenario
        self.graph = graph
        self.file = file
        self.reach = graph.reach()
        self.found: dict[tuple, Finding] = {}
        self.skip: frozenset[str] = frozenset()  # codes that do not apply (from a history)
        self._explained: set[str] | None = None
        self._rules_on: dict[str, list[str]] = {}  # course -> its rules, once (not per course)
        for v in graph.versions:
            self._rules_on.setdefault(v.source, []).append(v.rule)

    def _on(self, day: float) -> str:
        """An instant as every tool says it (with a calendar: its date, the day after)."""
        return instant(day, self.scenario.start_date)

    # ----- recording ---------------------------------------------------------------

    def add(self, key: tuple, code: str, path: Path, message: str, fix: str, subjects=()):
        if code in self.skip:
            return
        if (code, *key) in self.found:
            return  # the same trap in a later rule version: reported where it first appears
        origin = self.scenario.origin
        line = origin.line_of(path) if origin else None
        sources = {v.rule: v.source for v in self.graph.versions}
        subjects = tuple(  # a rule's course marks its rules too
            dict.fromkeys(
                s
                for subject in subjects
                for s in (
                    (subject, f"course:{sources[subject[5:]]}")
                    if subject.startswith("rule:")
                    else (subject,)
                )
            )
        )
        self.found[(code, *key)] = Finding(
            code, CODES[code][0], self.file, line, tuple(path), message, fix, tuple(subjects)
        )

    def result(self) -> LintResult:
        ignores = self._ignores()
        used: set[tuple[Path, str]] = set()
        out = LintResult(self.file)
        for finding in self.found.values():
            marks = [  # the most specific first: a rule, a course, the whole file
                (path, finding.code)
                for subject in (*finding.subjects, "*")
                for path, codes in ignores.get(subject, ())
                if finding.code in codes
            ]
            if not marks:
                out.findings.append(finding)
            else:
                used.update(marks)
                out.suppressed.append(
                    _with(finding, suppressed_by=f"{self.file}:{self._line(marks[0][0])}")
                )
        quiet = any("PE901" in codes for _, codes in ignores.get("*", ()))
        for subject_ignores in ignores.values():
            for path, codes in subject_ignores:
                for k, code in enumerate(codes):
                    if (path, code) in used or code == "PE901":
                        continue
                    finding = self._make(
                        "PE901",
                        (*path, "ignore", k),
                        f"`lint: ignore` lists {code}, but there is no {code} finding here",
                        f"remove {code} from the list, so that a {code} that appears later is "
                        "not hidden",
                    )
                    if quiet:
                        finding = _with(
                            finding, suppressed_by=f"{self.file}:{self._line(('lint',))}"
                        )
                    (out.suppressed if quiet else out.findings).append(finding)
        key = lambda f: (f.line or 0, f.code)  # noqa: E731
        out.findings.sort(key=key)
        out.suppressed.sort(key=key)
        return out

    def _make(self, code, path, message, fix) -> Finding:
        return Finding(code, CODES[code][0], self.file, self._line(path), tuple(path), message, fix)

    def _line(self, path) -> int | None:
        origin = self.scenario.origin
        return origin.line_of(path) if origin else None

    def _ignores(self) -> dict[str, list[tuple[Path, tuple[str, ...]]]]:
        """subject -> [(path of the lint key, codes)]: top level ("*"), courses, rules."""
        s = self.scenario
        found: dict[str, list[tuple[Path, tuple[str, ...]]]] = {}

        def note(subject, setting, path):
            if setting is not None:
                found.setdefault(subject, []).append((path, tuple(setting.ignore)))

        note("*", s.lint, ("lint",))
        for i, course in enumerate(s.courses):
            note(f"course:{course.id}", course.lint, ("courses", i, "lint"))
        for version in self.graph.versions:
            rule = self._rule_spec(version)
            if rule is not None:
                note(f"rule:{version.rule}", rule.lint, (*version.path, "lint"))
        return found

    def _rule_spec(self, version: Version):
        path = version.path
        if path[0] == "courses":
            return self.scenario.courses[path[1]].post_enrollments[path[3]]
        if len(path) == 3:  # add_rule
            return self.scenario.script[path[1]].rule
        return None  # an edit: the rule's own setting applies

    # ----- the checks ----------------------------------------------------------------

    def run(self) -> None:
        for version in self.graph.versions:
            self.rule_checks(version)
        for course in self.graph.nodes.values():
            self.course_checks(course.id)
        for rules in self.graph.epochs():
            edges = [
                Edge(v, t, p) for v in rules for t, p in zip(v.targets, v.target_paths, strict=True)
            ]
            self.loop_checks(edges)
            self.same_instant_checks(rules)

    def rule_checks(self, v: Version) -> None:
        g, reach = self.graph, self.reach
        source = g.nodes[v.source]
        rule = f"rule:{v.rule}"
        if v.source not in reach.enterable:
            pass  # PE202, on the course
        elif v.when == "failed" and v.source not in reach.failable:
            self.add(
                (v.rule,),
                "PE203",
                v.field_path("when"),
                f"rule {v.rule} fires when a learner fails {v.source}, but nothing ever fails "
                f"{v.source}: {self._why_no_finish(v.source, 'fail')}",
                f"give {v.source} a behaviour with a pass_rate below 1, or a `fail` action in the "
                "script; or remove the rule",
                (rule, f"course:{v.source}"),
            )
        elif (
            v.when == "completed"
            and source.type != "curriculum"  # PE205 says why a curriculum never completes
            and v.source not in reach.completable
        ):
            self.add(
                (v.rule,),
                "PE204",
                v.field_path("when"),
                f"rule {v.rule} fires when a learner completes {v.source}, but nothing ever "
                f"completes {v.source}: {self._why_no_finish(v.source, 'complete')}",
                f"give {v.source} a behaviour (learners then finish it on their own) or a "
                "`complete` action in the script; or remove the rule",
                (rule, f"course:{v.source}"),
            )
        # what the rule would do if it fired: reported even when it cannot fire yet
        for target, tpath in zip(v.targets, v.target_paths, strict=True):
            self.target_checks(v, target, tpath)

    def target_checks(self, v: Version, target: str, tpath: Path) -> None:
        g, reach = self.graph, self.reach
        node = g.nodes[target]
        rule = f"rule:{v.rule}"
        if v.when == "failed" and target != v.source and not v.consecutive:
            again = self._ways_back(v.source, v.targets)
            if again and node.type != "bundle" and target in reach.completable:
                self.add(
                    (v.rule, target),
                    "PE101",
                    v.field_path("allow_consecutive"),
                    f"repeat-failure trap: rule {v.rule} sends a learner who fails {v.source} to "
                    f"{target}, but allow_consecutive is off. Learners can take {v.source} again "
                    f"({'; '.join(again)}); one who fails it again after completing {target} gets "
                    f"no second {target}: the job is skipped_already_completed (S19.3) and the "
                    f"learner is left with a failed {v.source} and nothing queued",
                    f"set allow_consecutive: true on rule {v.rule}, so that every failure leads to "
                    f"{target} again (S20); if one remediation per learner is intended, add "
                    "`lint: {ignore: [PE101]}` to the rule",
                    (rule, f"course:{v.source}"),
                )
        if v.when == "completed" and target == v.source and not v.consecutive:
            self.add(
                (v.rule,),
                "PE102",
                v.field_path("allow_consecutive"),
                f"rule {v.rule} re-enrolls learners in {target} after they complete it, but "
                f"allow_consecutive is off: they have just completed {target}, so the job is "
                "always skipped_already_completed (S19.3) and nobody is ever re-enrolled",
                f"set allow_consecutive: true on rule {v.rule} for recertification (S20), with "
                "the recertification interval as delay_days; or remove the rule",
                (rule,),
            )
        if (
            v.when == "completed"
            and target == v.source
            and v.consecutive
            and v.delay > 0
            and node.certificate is not None
            and node.certificate.reenroll_before is not None
        ):
            self._two_chains(v, tpath)
        if v.when == "enrolled" and target == v.source and v.delay == 0:
            self.add(
                (v.rule,),
                "PE401",
                tpath,
                f"rule {v.rule} enrolls into {target} when a learner is enrolled in {target}: at "
                "that instant the learner's enrollment is open, so the job is always "
                "skipped_already_enrolled (S19.2) and the rule never enrolls anyone",
                f"to enroll learners again after they complete {target}, use when: completed with "
                "allow_consecutive: true and the interval as delay_days (S20); otherwise remove "
                f"{target} from the rule's courses",
                (rule,),
            )
        source = g.nodes[v.source]
        if (
            source.type == "curriculum"
            and v.when == "enrolled"
            and not v.consecutive
            and target in g.members(v.source)
        ):
            again = self._ways_back(v.source, [v.source], consecutive_only=True)
            if again:
                members = [t for t in v.targets if t in g.members(v.source)]
                self.add(
                    (v.rule,),
                    "PE103",
                    v.field_path("allow_consecutive"),
                    f"rule {v.rule} enrolls learners in {', '.join(members)} when they are "
                    f"enrolled in curriculum {v.source}, but allow_consecutive is off. "
                    f"{v.source} is assigned again ({'; '.join(again)}); by then they have "
                    f"completed {', '.join(members)}, so those jobs are skipped_already_completed "
                    f"(S19.3), and as only completions after the previous one count (S26), "
                    f"{v.source} is never completed again",
                    f"set allow_consecutive: true on rule {v.rule} (S20)",
                    (rule, f"course:{v.source}"),
                )
        if not node.ever_visible:
            self.add(
                (v.rule, target),
                "PE403",
                tpath,
                f"rule {v.rule} enrolls into {target}, which is inactive and never activated by "
                "the script: learners get an enrollment they never see, and never start it (S21)",
                f"activate it in the script (action: activate_course, course: {target}) or set "
                f"active: true; if the hidden enrollment is intended, add "
                "`lint: {ignore: [PE403]}` to the course",
                (rule, f"course:{target}"),
            )
        met = v.when == "completed" and v.source in node.prerequisites
        if node.prerequisites and not (met and node.prerequisites_required <= 1):
            self.add(
                (v.rule, target),
                "PE404",
                tpath,
                f"rule {v.rule} enrolls into {target}, which has prerequisites "
                f"({', '.join(node.prerequisites)}): rule enrollments bypass them (S16), so "
                f"learners get {target} whether or not they completed them",
                f"if {target} should wait for its prerequisites, enroll into it from a "
                f"`completed` rule on them instead; if bypassing them is intended, add "
                "`lint: {ignore: [PE404]}` to the rule",
                (rule, f"course:{target}"),
            )

    def course_checks(self, course: str) -> None:
        g, reach = self.graph, self.reach
        node = g.nodes[course]
        subject = (f"course:{course}",)
        rules = list(dict.fromkeys(self._rules_on.get(course, ())))
        has_rules = bool(rules)
        in_enterable_curriculum = any(
            c in reach.enterable for c in g.containers(course, "curriculum")
        )
        dead_end = course not in reach.enterable and not self._fed_by_dead_rule(course)
        if dead_end and rules:
            self.add(
                (course,),
                "PE202",
                node.path,
                f"{_rules_text(rules)} on {course} can never fire, as no learner can ever be "
                f"enrolled in {course}: {self._why_not_entered(course)}",
                f"give learners a way into {course} (population.on_hire or self_enroll, a script "
                f"`enroll`, or a rule that targets it), or remove the rule"
                f"{'s' if len(rules) > 1 else ''}; for the rules of an `audit`, whose learners "
                "come from the LMS's history, lint with --history",
                (*subject, *(f"rule:{r}" for r in rules)),
            )
        if dead_end and not has_rules and not in_enterable_curriculum:
            needed_by = [n.id for n in g.nodes.values() if course in n.prerequisites]
            more = (
                f"; self-enrollment in {', '.join(needed_by)}, which needs it, is always "
                "rejected (S16)"
                if needed_by
                else ""
            )
            self.add(
                (course,),
                "PE201",
                node.path,
                f"no learner can ever be enrolled in {course}: {self._why_not_entered(course)}"
                + more,
                "add a way in (population.on_hire or self_enroll, a script `enroll`, or a rule "
                "that targets it), or remove it from the catalog",
                subject,
            )
        if node.type == "curriculum" and course in reach.enterable:
            self._curriculum_check(course)
        self.certificate_checks(course)
        if node.type == "ilc" and node.sessions_given and not node.sessions_in_horizon:
            horizon = (
                f"(day 0 to {self.scenario.horizon_days:g})"
                if self.scenario.start_date is None
                else f"of {self._on(0)} to {self._on(self.scenario.horizon_days)}"
            )
            self.add(
                (course,),
                "PE206",
                (*node.path, "sessions"),
                f"ILC {course} lists sessions, but none falls within the horizon "
                f"{horizon}: the simulator then runs it as a course without sessions (S30), so "
                "learners with a behaviour finish it after duration_days like an online course "
                "and nobody ever waits for a seat",
                "move a session (or the series' first_day) inside the horizon, or lengthen "
                "horizon_days",
                subject,
            )
        for day, path in node.deactivated:
            if any(a > day for a, _ in node.activated):
                continue
            rules = sorted(
                {
                    v.rule
                    for v in g.versions
                    if course in v.targets and (v.until_day is None or v.until_day > day)
                }
            )
            if rules:
                self.add(
                    (course, "deactivated"),
                    "PE403",
                    path,
                    f"the script deactivates {course} on {self._on(day)} and never activates it "
                    f"again: from then on the enrollments that rule{'s' if len(rules) > 1 else ''} "
                    f"{', '.join(rules)} make{'' if len(rules) > 1 else 's'} into it are never "
                    "seen or started (S21)",
                    f"activate {course} again later in the script, or remove it from the rules' "
                    "courses when it is withdrawn",
                    (*subject, *(f"rule:{r}" for r in rules)),
                )

    def _two_chains(self, v: Version, tpath: Path) -> None:
        """S38: a recertification rule beside re-enrollment before expiry on one course."""
        course = v.source
        cert = self.graph.nodes[course].certificate
        window = cert.reenroll_before
        when = (
            f"the rule's job is due {days(v.delay)} after each completion"
            + ", the re-enrollment job "
        )
        valid = cert.valid_for
        if valid is not None and not valid.calendar and not window.calendar:
            ahead = valid.days - window.days  # days from the award to the re-enrollment job
            when += f"{days(ahead)} after it"
            if v.delay > ahead:
                when += (
                    f", so a learner who completes the re-enrollment within "
                    f"{days(v.delay - ahead)} is enrolled once more by rule {v.rule} (allow_consecutive on, S20)"
                )
            elif v.delay < ahead:
                when += f", so rule {v.rule} enrolls first and the re-enrollment job skips"
            else:
                when += " (queued first, it runs first and the rule's job skips)"
        else:
            when += f"{window.text()} before the certificate expires (the calendar decides)"
        self.add(
            (v.rule,),
            "PE501",
            tpath,
            f"{course} has two chains that re-enroll the same learners: rule {v.rule} "
            f"(completed, +{v.delay} d, allow_consecutive on) and re-enrollment "
            f"{window.text()} before its certificate expires (certificate.reenroll_before). "
            "They are independent (S38): each completion queues a job of each, and the one that "
            "comes second skips if it finds the enrollment still open or, for re-enrollment, "
            f"the certificate renewed (S19.2, S34.2, S34.3); {when}",
            f"keep the re-enrollment and remove rule {v.rule}: it counts from each "
            "certificate's expiry, renewals included (S32), and skips learners who renewed "
            "(S34.2); to keep the rule instead, remove certificate.reenroll_before (a "
            "warn_before keeps the window for the compliance states, S37)",
            (f"rule:{v.rule}", f"course:{course}"),
        )

    def certificate_checks(self, course: str) -> None:
        """PE502, PE503: a certificate that expires before learners can renew it, and
        re-enrollments overdue while their certificate is still valid."""
        node = self.graph.nodes[course]
        cert = node.certificate
        if cert is None:
            return
        usual = _usual_days(node)
        if cert.valid_for is not None and usual is not None:
            start, duration = usual
            if start + duration > cert.valid_for.longest_days():
                self.add(
                    (course,),
                    "PE502",
                    (*node.path, "certificate", "valid_for"),
                    f"learners usually take about {start + duration:.3g} days to finish "
                    f"{course} (its behaviour's median start_after_days {start:.3g} plus median "
                    f"duration_days {duration:.3g}), longer than its certificate is valid "
                    f"({cert.valid_for.text()}): even a learner enrolled again the moment a "
                    "certificate is awarded usually finishes the next one after it expired, so "
                    "every cycle ends in grace or expired (S31, S37)",
                    f"lengthen certificate.valid_for beyond {start + duration:.3g} days, or "
                    f"check {course}'s behaviour (its times are days)",
                    (f"course:{course}",),
                )
        window, due = cert.reenroll_before, node.due_after
        if (
            window is not None
            and due is not None
            and node.renewal_due == "due_after"
            and window.shortest_days() > due.longest_days()
        ):
            self.add(
                (course,),
                "PE503",
                (*node.path, "renewal_due"),
                f"{course} re-enrolls learners {window.text()} before their certificate "
                f"expires, and with renewal_due: due_after a re-enrollment is due "
                f"{due.text()} after it is made: a learner not done by then is overdue (S35) "
                "while their certificate is still valid for the rest of the window (state "
                "expiring, S37), so the overdue counts include compliant learners",
                "remove renewal_due (the default, expiry, makes a re-enrollment due when the "
                f"certificate it renews expires), or make due_after at least {window.text()}",
                (f"course:{course}",),
            )

    def _curriculum_check(self, course: str) -> None:
        node, reach = self.graph.nodes[course], self.reach
        if course in reach.completable:
            return
        never_in, never_done, needs = [], [], []
        for members, required in node.groups:
            done = [m for m in members if m in reach.completable]
            if len(done) >= required:
                continue
            never_in += [m for m in members if m not in reach.enterable]
            never_done += [m for m in members if m in reach.enterable and m not in done]
            needs.append(
                f"{required} of {', '.join(members)}"
                if required < len(members)
                else ", ".join(members)
            )
        parts = []
        if never_in:
            parts.append(
                f"nothing enrolls learners in {', '.join(never_in)} (enrolling in a curriculum "
                "does not enroll its members, S25)"
            )
        if never_done:
            parts.append(f"nothing ever completes {', '.join(never_done)}")
        self.add(
            (course,),
            "PE205",
            node.path,
            f"curriculum {course} can never be completed: {'; '.join(parts)}, and it needs "
            f"{' and '.join(needs)} (S26)",
            f"add an `enrolled` rule on {course} with its members as courses (allow_consecutive: "
            "true if it recertifies), or a behaviour with start_after_days so that learners "
            "enroll themselves in the members",
            (f"course:{course}",),
        )

    def _loop_kind(self, cycle: list[Edge]) -> str | None:
        zero = all(e.delay == 0 for e in cycle)
        if zero and self._runs_away(cycle):
            return "PE301"
        if zero and all(e.when == "enrolled" for e in cycle):
            return "PE303" if len(cycle) > 1 else None  # a self-loop is PE401
        forever = all(e.consecutive for e in cycle) and all(e.when != "failed" for e in cycle)
        recertify_at_once = cycle[0].when == "completed" and cycle[0].delay == 0
        if forever and (len(cycle) > 1 or recertify_at_once):
            return "PE302"
        return None

    def loop_checks(self, edges: list[Edge]) -> None:
        """Each kind of loop is reported once per group of courses it joins (the shortest
        loop, naming how many more there are), not once per path round them. Every loop of
        a kind follows only edges of that kind's sort (`_kind_edges`), so the search runs
        within the strongly connected groups of those edges: linear where there is no loop,
        and bounded where there are exponentially many (then the group is one finding, its
        count "at least")."""
        order = course_order(edges)
        for code, keep in self._kind_edges():
            for courses, inside in loop_groups([e for e in edges if keep(e)], order):
                found, complete = cycle_search(inside, order=order)
                loops = [c for c in found if self._loop_kind(c) == code]
                if complete:
                    for members, group in _joined(loops):
                        self._loop_group(code, group, members, "")
                    continue
                # too many to list: add the shortest loop through an edge of each sort
                anchors = {}
                for e in inside:
                    anchors.setdefault((e.when, e.delay > 0, e.consecutive), e)
                for e in [*anchors.values(), *inside[:MAX_ANCHORS]]:
                    cycle = shortest_cycle(inside, e, order)
                    if cycle is not None and self._loop_kind(cycle) == code:
                        loops.append(cycle)
                distinct = {tuple(map(id, c)): c for c in loops}  # Edges are made once per set
                if distinct:
                    self._loop_group(code, list(distinct.values()), set(courses), "at least ")

    def _kind_edges(self):
        """(code, which edges its loops can follow): PE301 zero-delay laps finished at once
        (`_laps_at_once`), PE302 `allow_consecutive` rules not on a failure, PE303
        zero-delay `enrolled` rules."""
        return (
            ("PE301", lambda e: e.delay == 0 and self._laps_at_once(e)),
            ("PE302", lambda e: e.consecutive and e.when != "failed"),
            ("PE303", lambda e: e.delay == 0 and e.when == "enrolled"),
        )

    def _loop_group(self, code: str, loops: list[list[Edge]], courses: set[str], capped: str):
        cycle = min(loops, key=len)
        more = (
            f" (one of {capped}{len(loops)} such loops among {_listed(sorted(courses))})"
            if len(loops) > 1 or capped
            else ""
        )
        self._report_loop(code, cycle, more, frozenset(courses))

    def _report_loop(self, code: str, cycle: list[Edge], more: str, courses) -> None:
        key = (frozenset((e.rule, e.target) for e in cycle) if not more else courses,)
        rules = list(dict.fromkeys(e.rule for e in cycle))
        subjects = tuple(f"rule:{r}" for r in rules)
        at = _closing_edge(cycle)
        loop = cycle_text(cycle) + more
        named = _rules_text(rules)
        if code == "PE301":
            finish = list(dict.fromkeys(e.source for e in cycle))
            self.add(
                key,
                code,
                _loop_path(at),
                f"{named} form a zero-delay loop {loop} through courses learners finish the "
                f"instant they get them ({', '.join(finish)}: start_after_days and "
                "duration_days 0): each lap enrolls the learner again at the same instant, "
                "until the cascade guard stops the chain at "
                f"{self.scenario.processing.cascade_limit} jobs (S22, outcome cascade_limit)",
                "give one of the rules a delay (delay_days: 1 or more), or turn "
                "allow_consecutive off on one of them so that the second lap is skipped "
                "(S19.3)",
                subjects,
            )
        elif code == "PE303":
            self.add(
                key,
                code,
                _loop_path(at),
                f"delay-0 `enrolled` {named} form a cycle {loop}: it stops only because "
                "open enrollments are skipped (S19.2), with a skipped_already_enrolled "
                "job on every pass",
                "nothing to change if it is intended; otherwise remove one of the rules",
                subjects,
            )
        elif len(cycle) == 1:
            e = cycle[0]
            self.add(
                key,
                code,
                _loop_path(at),
                f"rule {e.rule} re-enrolls learners in {e.source} the instant they complete it "
                "(delay 0, allow_consecutive on): nobody is ever done with "
                f"{e.source}, and a completion never lasts",
                "give the recertification its interval as delay_days (for example 365)",
                subjects,
            )
        else:
            lap = sum(e.delay for e in cycle)
            self.add(
                key,
                code,
                _loop_path(at),
                f"{named} form a loop {loop} in which every rule has allow_consecutive on "
                "and none waits for a failure: a learner who enters goes round it for as "
                f"long as the simulation runs, one lap every {days(lap)} of rule delays plus the time to finish the "
                "courses",
                "turn allow_consecutive off on one of the rules so that learners stop after "
                "one lap (S19.3); if the loop is a deliberate recertification cycle, add "
                f"`lint: {{ignore: [PE302]}}` to rule {at.rule}",
                subjects,
            )

    def _runs_away(self, cycle: list[Edge]) -> bool:
        """A zero-delay loop re-enrolls at the same instant on every lap when each course is
        finished the instant it is visible, with the outcome the next rule needs, and the
        rule into it does not skip a course completed before (S19.3, S22). A loop of
        `enrolled` rules only never does: its jobs run before the learner finishes."""
        if all(e.when == "enrolled" for e in cycle):
            return False
        return all(self._laps_at_once(e) for e in cycle)

    def _laps_at_once(self, e: Edge) -> bool:
        """What `_runs_away` asks of one rule edge of the loop: the course it leaves gives
        its trigger at once, and the course it enters is finished at once and not skipped."""
        nodes = self.graph.nodes
        source, target = nodes[e.source], nodes[e.target]
        for course in (source, target):
            if not course.finishes_at_once or not course.ever_visible:
                return False
        rate = source.pass_rate
        if e.when == "completed" and rate < 1:
            return False
        if e.when == "failed" and rate > 0:
            return False
        return not (target.pass_rate > 0 and not e.consecutive)

    def same_instant_checks(self, rules: list[Version]) -> None:
        """Two rules on one course with the same trigger and delay, into the same course:
        the later job always finds the first one's enrollment open (S19.2)."""
        first: dict[tuple, Version] = {}
        order = {v.rule: k for k, v in reversed(list(enumerate(self.graph.versions)))}
        for v in sorted(rules, key=lambda v: order[v.rule]):
            for target, tpath in zip(v.targets, v.target_paths, strict=True):
                slot = (v.source, v.when, v.delay, target)
                earlier = first.setdefault(slot, v)
                if earlier is v or earlier.rule == v.rule:
                    continue
                if v.consecutive and not earlier.consecutive:
                    continue  # the earlier one may skip a completed target where v enrolls
                after = "at the instant" if v.delay == 0 else f"{days(v.delay)} after"
                self.add(
                    (v.rule, target),
                    "PE402",
                    tpath,
                    f"rules {earlier.rule} and {v.rule} both enroll into {target} {after} a "
                    f"learner {TRIGGER_WORDS[v.when].singular} {v.source}: "
                    f"their jobs run at the same instant, {earlier.rule}'s first, so {v.rule}'s "
                    "job always finds the new enrollment open and is skipped_already_enrolled "
                    "(S19.2)",
                    f"remove {target} from rule {v.rule} (or the rule itself); to enroll twice, "
                    "give the rules different delays",
                    (f"rule:{v.rule}",),
                )

    # ----- explanations --------------------------------------------------------------

    def _ways_back(
        self, course: str, after: Iterable[str], consecutive_only: bool = False
    ) -> list[str]:
        """How a learner can be enrolled in `course` again once they went on from it to the
        courses `after`: rules leading back from there, self-enrollment, the script."""
        g, reach = self.graph, self.reach
        downstream = set(after)
        grew = True
        while grew:
            size = len(downstream)
            downstream |= {e.target for e in g.edges if e.source in downstream}
            grew = len(downstream) != size
        ways = []
        for e in g.edges:
            if e.target != course or e.source not in downstream or e.source not in reach.enterable:
                continue
            if consecutive_only and not e.consecutive:
                continue
            if e.when == "completed" and e.source not in reach.completable:
                continue
            if e.when == "failed" and e.source not in reach.failable:
                continue
            text = (
                f"rule {e.rule} enrolls them in {course} again when they {TRIGGER_WORDS[e.when].plural} {e.source}"
                if e.source != course
                else f"rule {e.rule} re-enrolls them {days(e.delay)} after they {TRIGGER_WORDS[e.when].plural} it"
            )
            if text not in ways:
                ways.append(text)
        for entry in g.entries_of(course):
            if entry.kind == "self_enroll" and course not in reach.self_rejected:
                ways.append(f"they can self-enroll in {course} from the catalog")
        learners = [e.learner for e in g.entries_of(course) if e.kind == "script"]
        twice = sorted({learner for learner in learners if learners.count(learner) > 1})
        if twice:
            ways.append(f"the script enrolls {', '.join(twice)} in {course} more than once")
        return ways

    def _fed_by_dead_rule(self, course: str) -> bool:
        """Whether `course` (which nobody enters) is only downstream of another problem: a
        rule whose trigger never happens (PE203, PE204) or a course reported itself. Each
        dead end is reported once, where it starts, not at everything after it."""
        if self._explained is None:
            self._explained = self._downstream_of_roots()
        return course in self._explained

    def _downstream_of_roots(self) -> set[str]:
        g, reach = self.graph, self.reach
        flows: dict[str, set[str]] = {}
        for e in g.edges:
            if e.source != e.target:
                flows.setdefault(e.source, set()).add(e.target)
        for m in g.memberships:
            flows.setdefault(m.container, set()).add(m.member)
        dead = [c for c in g.nodes if c not in reach.enterable]
        fed = {t for targets in flows.values() for t in targets}
        explained: set[str] = set()

        def spread(starts):
            stack = list(starts)
            while stack:
                for nxt in flows.get(stack.pop(), ()):
                    if nxt not in reach.enterable and nxt not in explained:
                        explained.add(nxt)
                        stack.append(nxt)

        spread(reach.enterable)  # after a rule that never fires
        spread(c for c in dead if c not in fed)  # after a course nothing leads to
        for c in dead:  # loops that nothing leads into: reported at their first course
            if c not in explained:
                spread([c])
                explained.discard(c)
        return explained

    def _why_not_entered(self, course: str) -> str:
        reason = self.reach.self_rejected.get(course)
        if reason and self.graph.entries_of(course):
            return f"its only way in is self-enrollment, always rejected: {reason}"
        feeders = sorted(
            {e.source for e in self.graph.edges if e.target == course and e.source != course}
        )
        if feeders:
            return f"only rules on {', '.join(feeders)} lead there, and they never fire for anyone"
        return (
            "nothing leads there (no script `enroll`, population.on_hire or self_enroll, rule or "
            "bundle)"
        )

    def _why_no_finish(self, course: str, verb: str) -> str:
        node = self.graph.nodes[course]
        script = "the script never fails it" if verb == "fail" else "the script never completes it"
        b = node.behaviour
        if b is None:
            return f"it has no behaviour (learners act only as the script says) and {script}"
        if not node.ever_visible:
            return (
                f"it is inactive and never activated, so learners never take it (S21), and {script}"
            )
        if (b.abandon_rate or 0) >= 1:
            return f"its learners always abandon it (abandon_rate 1), and {script}"
        if verb == "fail":
            return f"its behaviour has no pass_rate below 1, so learners always pass, and {script}"
        return f"its pass_rate is 0, so learners always fail, and {script}"


def _usual_days(node) -> tuple[float, float] | None:
    """(median start_after_days, median duration_days) of a course whose behaviour says
    how long learners take to finish it: online, or an ILC run without sessions (S30);
    None when there is no behaviour or it never completes."""
    b = node.behaviour
    if b is None or node.type not in ("online", "ilc") or node.sessions_in_horizon:
        return None
    if (b.abandon_rate or 0) >= 1 or node.pass_rate == 0:
        return None
    start = median(b.start_after_days) if b.start_after_days is not None else 0.0
    duration = median(b.duration_days) if b.duration_days is not None else 0.0
    return start, duration


def _with(finding: Finding, **changes) -> Finding:
    from dataclasses import replace

    return replace(finding, **changes)


def _listed(names: list[str], most: int = 12) -> str:
    """Names joined by commas, the first `most` of a long list and how many more."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])} and {len(names) - most} more"


def _joined(loops: list[list[Edge]]) -> list[tuple[set[str], list[list[Edge]]]]:
    """Loops grouped by the courses they share (a loop joins every group it touches)."""
    groups: list[tuple[set[str], list[list[Edge]]]] = []
    for cycle in loops:
        courses = {e.source for e in cycle}
        joined = [g for g in groups if g[0] & courses]
        for g in joined:
            groups.remove(g)
            courses |= g[0]
        groups.append((courses, [c for g in joined for c in g[1]] + [cycle]))
    return groups


def _closing_edge(cycle: list[Edge]) -> Edge:
    """The edge a loop is reported at: the script change that closed it, else its first rule."""
    latest = max(e.version.first for e in cycle)
    return next(e for e in cycle if e.version.first == latest)


def _loop_path(edge: Edge) -> Path:
    """Where a loop is reported: the target in the rule, or the script action that made
    the rule version (an edit: its `set`)."""
    v = edge.version
    if v.first == 0 or len(v.path) == 3:  # in `courses`, or added by add_rule
        return edge.path
    return (*v.path, "set")


def _rules_text(rules: list[str]) -> str:
    return f"rule {rules[0]}" if len(rules) == 1 else "rules " + ", ".join(rules)


# ----- output ------------------------------------------------------------------------------


def text_report(result: LintResult, label: str | None = None) -> str:
    lines = [str(f) for f in result.findings]
    counts = result.counts()
    shown = ", ".join(
        f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in counts.items() if n
    )
    note = (
        f" ({len(result.suppressed)} marked as intended with `lint: ignore`)"
        if result.suppressed
        else ""
    )
    lines.append(f"{label or result.file}: {shown or 'no problems found'}{note}")
    return "\n".join(lines)


def json_report(results: Iterable[LintResult], errors: Iterable = ()) -> str:
    results = list(results)
    payload = {
        "findings": [f.as_dict() for r in results for f in r.findings],
        "suppressed": [f.as_dict() for r in results for f in r.suppressed],
        "invalid": [
            {"file": p.file, "line": p.line, "path": dotted(p.path), "message": p.message}
            for p in errors
        ],
        "counts": {s: sum(r.counts()[s] for r in results) for s in reversed(SEVERITIES)},
    }
    return json.dumps(payload, indent=2)
