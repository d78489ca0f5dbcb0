"""The rule graph of a scenario: courses, the rules between them, and where learners enter.

Built from the scenario file alone (nothing is run). `lint` reasons over it, `graph`
draws it (`drawing.py`) or writes it as Mermaid or DOT text, and the report shows it.

- A **node** is a course, with what matters to its rules: type, inactive (and when the
  script activates it), allow_failure, prerequisites, curriculum groups, bundle members,
  its learner behaviour and ILC sessions.
- An **edge** is one version of a rule towards one target course. A rule the script
  adds or edits has a version per state (S18: a version is in force from the day it is
  made until the next edit or removal; `scenario.rules.rule_versions`), each with the
  place in the file that made it.
- An **entry** is where learners come in from outside the rules: population.on_hire,
  population.self_enroll and script `enroll` actions.
- `reach()` works out, over every version ever in force, which courses a learner can
  ever be enrolled in, complete or fail (an over-approximation: "can" means some
  sequence of events allows it, "cannot" is certain).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..columns import TRIGGER_WORDS
from ..formatting import instant
from ..scenario import Scenario, models
from ..scenario.certificates import Certificate, Period
from ..scenario.errors import Path
from ..scenario.rules import NEVER, Version, rule_versions, script_order
from ..scenario.stochastic import Behaviour, Empirical, Fixed

MAX_CYCLES = 500  # simple cycles listed per rule set: there can be exponentially many
MAX_CYCLE_WORK = 200_000  # steps of cycle search per rule set (a fraction of a second)


@dataclass(frozen=True)
class Entry:
    """Where learners enter a course from outside the rules."""

    course: str
    kind: str  # "on_hire", "self_enroll" or "script"
    method: str  # "admin" or "self" (S16: self-enrollment can be rejected)
    path: Path
    learner: str | None = None  # script entries
    per_year: float | None = None  # self_enroll

    @property
    def label(self) -> str:
        if self.kind == "on_hire":
            return "on hire" + (" (self)" if self.method == "self" else "")
        if self.kind == "self_enroll":
            return f"self-enroll {self.per_year:g}/yr"
        return "script" + (" (self)" if self.method == "self" else "")


@dataclass(frozen=True)
class Edge:
    """A rule version towards one of its targets."""

    version: Version
    target: str
    path: Path  # the target in the rule's `courses`

    @property
    def rule(self) -> str:
        return self.version.rule

    @property
    def source(self) -> str:
        return self.version.source

    @property
    def when(self) -> str:
        return self.version.when

    @property
    def delay(self) -> int:
        return self.version.delay

    @property
    def consecutive(self) -> bool:
        return self.version.consecutive


@dataclass(frozen=True)
class ReEnrollment:
    """Re-enrollment before expiry on a course with a certificate (S34): not a rule, but an
    arrow from the course to itself all the same."""

    course: str
    before: Period  # certificate.reenroll_before
    validity: str  # "valid 1 year", "expires 12-31"
    path: Path  # the course's certificate.reenroll_before

    @property
    def source(self) -> str:
        return self.course

    @property
    def target(self) -> str:
        return self.course

    @property
    def rule(self) -> str:
        return "re-enrollment"  # what its label box is named (drawing.boxes)

    @property
    def colour(self) -> str:
        return RE_ENROLL_COLOUR


@dataclass(frozen=True)
class Membership:
    container: str
    member: str
    kind: str  # "curriculum" or "bundle"
    path: Path
    since_day: float | None = None  # add_to_bundle (S28)
    until_day: float | None = None  # remove_from_bundle


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    title: str | None
    active: bool
    allow_failure: bool
    path: Path
    prerequisites: tuple[str, ...] = ()
    prerequisites_required: int = 0
    groups: tuple[tuple[tuple[str, ...], int], ...] = ()  # curricula: (members, required)
    behaviour: Behaviour | None = None  # its own, or default_behaviour for online and ilc
    sessions_given: bool = False  # ilc: `sessions` listed
    sessions_in_horizon: int = 0
    activated: tuple[tuple[float, Path], ...] = ()  # script activate_course (day, path)
    deactivated: tuple[tuple[float, Path], ...] = ()
    certificate: Certificate | None = None  # S31-S37
    due_after: Period | None = None  # S35
    renewal_due: str = "expiry"  # S35: a re-enrollment's due instant

    @property
    def ever_visible(self) -> bool:
        return self.active or bool(self.activated)

    @property
    def finishes_at_once(self) -> bool:
        """Learners finish it the instant it is visible: a behaviour whose start and
        duration are always 0, never abandoned (not curricula, bundles or ILC sessions)."""
        b = self.behaviour
        if b is None or self.type not in ("online", "ilc") or self.sessions_in_horizon:
            return False
        return (
            _always_zero(b.start_after_days)
            and _always_zero(b.duration_days)
            and not (b.abandon_rate or 0)
        )

    @property
    def pass_rate(self) -> float:
        """The chance a learner's own finish is a pass (1 without allow_failure or pass_rate)."""
        b = self.behaviour
        if b is None or b.pass_rate is None or not self.allow_failure:
            return 1.0
        return b.pass_rate


def _always_zero(dist) -> bool:
    if dist is None:
        return True  # a missing start_after_days or duration_days is 0
    if isinstance(dist, Fixed):
        return dist.value == 0
    if isinstance(dist, Empirical):
        weights = dist.weights or [1.0] * len(dist.values)
        return all(v == 0 for v, w in zip(dist.values, weights, strict=True) if w > 0)
    return False


@dataclass
class Reach:
    """What learners can ever do in each course, over every rule version ever in force."""

    enterable: set[str] = field(default_factory=set)
    completable: set[str] = field(default_factory=set)
    failable: set[str] = field(default_factory=set)
    self_rejected: dict[str, str] = field(default_factory=dict)  # course -> why self fails


@dataclass
class RuleGraph:
    scenario: Scenario
    nodes: dict[str, Node]
    versions: list[Version]
    memberships: list[Membership]
    entries: list[Entry]
    script_completes: set[str]
    script_fails: set[str]
    script_positions: list[tuple[int, float]]  # run order: (script index, day)
    _reach: Reach | None = field(default=None, repr=False)

    # ----- edges and rule sets -------------------------------------------------------

    @property
    def edges(self) -> list[Edge]:
        """Every version of every rule towards each target (file order, then script order)."""
        return [
            Edge(v, target, path)
            for v in self.versions
            for target, path in zip(v.targets, v.target_paths, strict=True)
        ]

    def epochs(self) -> list[list[Version]]:
        """The rule sets in force: at the start, then after each script change of a rule."""
        starts = sorted({0, *(v.first for v in self.versions), *self._ends()})
        sets = []
        for k in starts:
            in_force = [v for v in self.versions if v.first <= k < v.last]
            if in_force and (not sets or in_force != sets[-1]):
                sets.append(in_force)
        return sets

    def _ends(self) -> Iterable[int]:
        return (int(v.last) for v in self.versions if v.last != NEVER)

    def members(self, container: str) -> list[str]:
        return list(dict.fromkeys(m.member for m in self.memberships if m.container == container))

    def containers(self, member: str, kind: str | None = None) -> list[str]:
        return list(
            dict.fromkeys(
                m.container
                for m in self.memberships
                if m.member == member and (kind is None or m.kind == kind)
            )
        )

    def entries_of(self, course: str) -> list[Entry]:
        return [e for e in self.entries if e.course == course]

    def reenrollments(self) -> list[ReEnrollment]:
        """Every course that re-enrolls before its certificate expires (S34), catalog order."""
        out = []
        for course, node in self.nodes.items():
            cert = node.certificate
            if cert is None or cert.reenroll_before is None:
                continue
            validity = (
                f"valid {cert.valid_for.text()}"
                if cert.valid_for is not None
                else f"expires {cert.expires_on}"
            )
            out.append(
                ReEnrollment(
                    course,
                    cert.reenroll_before,
                    validity,
                    (*node.path, "certificate", "reenroll_before"),
                )
            )
        return out

    # ----- what learners can ever do ------------------------------------------------

    def reach(self) -> Reach:
        if self._reach is None:
            self._reach = _reach(self)
        return self._reach


def course_order(edges: list[Edge]) -> dict[str, int]:
    """The order loops are listed in: each course where it first appears in `edges`."""
    order: dict[str, int] = {}
    for e in edges:
        order.setdefault(e.source, len(order))
        order.setdefault(e.target, len(order))
    return order


def loop_groups(
    edges: list[Edge], order: dict[str, int] | None = None
) -> list[tuple[list[str], list[Edge]]]:
    """The strongly connected groups of courses that hold a loop (two or more courses, or a
    self-loop), each with its courses in `order` and the edges inside it: an edge is
    on a simple loop exactly when both its ends are in one group. Tarjan's algorithm,
    iterative (no recursion limit) and linear in the edges. `order`: `course_order` of a
    larger list of edges that these were taken from."""
    order = order or course_order(edges)
    out: dict[str, list[Edge]] = {}
    for e in edges:
        out.setdefault(e.source, []).append(e)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    group_of: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in sorted({c for e in edges for c in (e.source, e.target)}, key=order.get):
        if root in index:
            continue
        work = [(root, 0)]  # (course, next edge to follow): the recursion, as a list
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, k = work[-1]
            followed = out.get(node, [])
            if k < len(followed):
                work[-1] = (node, k + 1)
                target = followed[k].target
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    work.append((target, 0))
                elif target not in group_of:  # on the stack: a way back
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    group_of[member] = len(groups)
                    members.append(member)
                    if member == node:
                        break
                groups.append(members)
    inside: dict[int, list[Edge]] = {}
    for e in edges:
        if group_of[e.source] == group_of[e.target]:
            inside.setdefault(group_of[e.source], []).append(e)
    found = [(sorted(groups[g], key=order.get), group_edges) for g, group_edges in inside.items()]
    return sorted(found, key=lambda item: order[item[0][0]])


def cycles(
    edges: list[Edge], limit: int = MAX_CYCLES, work: int = MAX_CYCLE_WORK, order=None
) -> list[list[Edge]]:
    """Simple cycles (self-loops included), each listed once from its first course in
    `order` (default `course_order`), following rule edges; parallel edges give separate cycles. At most
    `limit` of them, and at most `work` steps of search (counted as path length): a
    graph can have exponentially many, so a caller that needs to know whether the list is
    complete uses `cycle_search`."""
    return cycle_search(edges, limit, work, order)[0]


def cycle_search(
    edges: list[Edge], limit: int = MAX_CYCLES, work: int = MAX_CYCLE_WORK, order=None
) -> tuple[list[list[Edge]], bool]:
    """`cycles`, and whether they are all the cycles there are. Only edges inside a loop
    group are searched, so the parts of the graph with no loop cost nothing."""
    rank = order or course_order(edges)
    groups = loop_groups(edges, rank)
    out: dict[str, list[Edge]] = {}
    for _, group_edges in groups:
        for e in group_edges:
            out.setdefault(e.source, []).append(e)
    found: list[list[Edge]] = []
    spent = 0
    for start in sorted({c for courses, _ in groups for c in courses}, key=rank.get):
        stack: list[tuple[str, list[Edge]]] = [(start, [])]
        while stack:
            if len(found) >= limit or spent > work:
                return found, False
            node, path = stack.pop()
            spent += len(path) + 1
            seen = {start, *(e.target for e in path)}
            for edge in reversed(out.get(node, [])):
                if edge.target == start:
                    found.append([*path, edge])
                elif edge.target not in seen and rank[edge.target] > rank[start]:
                    stack.append((edge.target, [*path, edge]))
    return found, True


def shortest_cycle(edges: list[Edge], through: Edge, order=None) -> list[Edge] | None:
    """The shortest simple cycle of `edges` that follows `through` (breadth first from its
    target back to its source), starting from its first course in `order`."""
    rank = order or course_order(edges)
    out: dict[str, list[Edge]] = {}
    for e in edges:
        out.setdefault(e.source, []).append(e)
    came: dict[str, Edge | None] = {through.target: None}
    frontier = [through.target]
    while frontier and through.source not in came:
        nxt = []
        for node in frontier:
            for e in out.get(node, []):
                if e.target not in came:
                    came[e.target] = e
                    nxt.append(e.target)
        frontier = nxt
    if through.source not in came:
        return None
    path: list[Edge] = []
    node = through.source
    while came[node] is not None:
        path.append(came[node])
        node = came[node].source
    cycle = [through, *reversed(path)]
    first = min(range(len(cycle)), key=lambda k: rank[cycle[k].source])
    return cycle[first:] + cycle[:first]


def cycle_text(cycle: list[Edge]) -> str:
    return " -> ".join([*(e.source for e in cycle), cycle[0].source])


# ----- building ------------------------------------------------------------------------


def build(scenario: Scenario) -> RuleGraph:
    horizon = scenario.horizon_days
    order = script_order(scenario.script)  # S23
    script = [(i, scenario.script[i]) for i in order]

    activated: dict[str, list[tuple[float, Path]]] = {}
    deactivated: dict[str, list[tuple[float, Path]]] = {}
    for i, action in script:
        if isinstance(action, models.ActivateCourse):
            activated.setdefault(action.course, []).append((action.day, ("script", i)))
        elif isinstance(action, models.DeactivateCourse):
            deactivated.setdefault(action.course, []).append((action.day, ("script", i)))

    nodes: dict[str, Node] = {}
    memberships: list[Membership] = []
    default = scenario.default_behaviour
    for index, course in enumerate(scenario.courses):
        here: Path = ("courses", index)
        groups: tuple[tuple[tuple[str, ...], int], ...] = ()
        if course.type == "curriculum":
            raw = (
                [models.Group(courses=course.members)]
                if course.members is not None
                else list(course.groups or ())
            )
            groups = tuple(
                (tuple(g.courses), g.required if g.required is not None else len(g.courses))
                for g in raw
            )
            for g, (members, _) in enumerate(groups):
                for k, member in enumerate(members):
                    where = (
                        (*here, "members", k)
                        if course.members is not None
                        else (*here, "groups", g, "courses", k)
                    )
                    memberships.append(Membership(course.id, member, "curriculum", where))
        elif course.type == "bundle":
            for k, member in enumerate(course.members or ()):
                memberships.append(Membership(course.id, member, "bundle", (*here, "members", k)))
        pre = course.prerequisites
        nodes[course.id] = Node(
            id=course.id,
            type=course.type,
            title=course.title,
            active=course.active,
            allow_failure=course.allow_failure,
            path=here,
            prerequisites=tuple(pre.courses) if pre else (),
            prerequisites_required=(pre.required or len(pre.courses)) if pre else 0,
            groups=groups,
            behaviour=course.behaviour
            if course.behaviour is not None
            else (default if course.type in ("online", "ilc") else None),
            sessions_given=bool(course.sessions),
            sessions_in_horizon=_sessions_within(course, horizon),
            activated=tuple(activated.get(course.id, ())),
            deactivated=tuple(deactivated.get(course.id, ())),
            certificate=course.certificate,
            due_after=course.due_after,
            renewal_due=course.renewal_due,
        )

    # Bundles changed by the script (S28): a member from the day it is added.
    for i, action in script:
        if isinstance(action, models.AddToBundle):
            memberships.append(
                Membership(action.bundle, action.course, "bundle", ("script", i), action.day)
            )
        elif isinstance(action, models.RemoveFromBundle):
            for k, m in enumerate(memberships):
                if (m.container, m.member, m.until_day) == (action.bundle, action.course, None):
                    memberships[k] = Membership(
                        m.container, m.member, m.kind, m.path, m.since_day, action.day
                    )

    versions = rule_versions(scenario)  # S18

    entries: list[Entry] = []
    population = scenario.population
    if population is not None:
        for k, item in enumerate(population.on_hire):
            entries.append(Entry(item.course, "on_hire", item.method, ("population", "on_hire", k)))
        for k, item in enumerate(population.self_enroll):
            entries.append(
                Entry(
                    item.course,
                    "self_enroll",
                    "self",
                    ("population", "self_enroll", k),
                    per_year=item.per_year,
                )
            )
    for i, action in script:
        if isinstance(action, models.Enroll):
            entries.append(
                Entry(action.course, "script", action.method, ("script", i), learner=action.learner)
            )
    return RuleGraph(
        scenario=scenario,
        nodes=nodes,
        versions=versions,
        memberships=memberships,
        entries=entries,
        script_completes={a.course for _, a in script if isinstance(a, models.Complete)},
        script_fails={a.course for _, a in script if isinstance(a, models.Fail)},
        script_positions=[(i, scenario.script[i].day) for i in order],
    )


def _sessions_within(course: models.Course, horizon: float) -> int:
    count = 0
    for spec in course.sessions or ():
        if spec.day is not None:
            count += spec.day <= horizon
        else:
            first = spec.first_day or 0.0
            last = min(horizon, spec.until_day if spec.until_day is not None else horizon)
            if first <= last:
                count += int((last - first) // spec.every_days) + 1
    return count


# ----- reachability ----------------------------------------------------------------------


def _reach(graph: RuleGraph) -> Reach:
    """A fixpoint over entries, rules, bundles and curricula (S16, S17, S25-S27)."""
    nodes = graph.nodes
    r = Reach()

    def self_ok(course: str) -> bool:
        node = nodes[course]
        if not node.ever_visible:
            r.self_rejected[course] = "it is inactive and never activated (S16)"
            return False
        if node.prerequisites:
            done = sum(1 for p in node.prerequisites if p in r.completable)
            if done < node.prerequisites_required:
                r.self_rejected[course] = (
                    "its prerequisites can never be met (S7): nobody completes "
                    + ", ".join(p for p in node.prerequisites if p not in r.completable)
                )
                return False
        r.self_rejected.pop(course, None)
        return True

    edges = graph.edges
    changed = True
    while changed:
        before = (len(r.enterable), len(r.completable), len(r.failable))
        for entry in graph.entries:
            if entry.course in nodes and (entry.method == "admin" or self_ok(entry.course)):
                r.enterable.add(entry.course)
        for m in graph.memberships:
            if m.container not in r.enterable:
                continue
            if m.kind == "bundle":  # S27: a bundle enrollment enrolls its members
                r.enterable.add(m.member)
            elif nodes[m.container].behaviour is not None and self_ok(m.member):
                r.enterable.add(m.member)  # learners self-enroll in the members they need
        for e in edges:
            if e.source in r.enterable and (
                e.when == "enrolled"
                or (e.when == "completed" and e.source in r.completable)
                or (e.when == "failed" and e.source in r.failable)
            ):
                r.enterable.add(e.target)
        for course in r.enterable:
            node = nodes[course]
            if node.type == "curriculum":
                if all(
                    sum(1 for m in members if m in r.completable) >= required
                    for members, required in node.groups
                ):
                    r.completable.add(course)
                continue
            if node.type == "bundle":
                continue
            b = node.behaviour
            acts = b is not None and node.ever_visible and (b.abandon_rate or 0) < 1
            if course in graph.script_completes or (acts and node.pass_rate > 0):
                r.completable.add(course)
            if node.allow_failure and (
                course in graph.script_fails or (acts and node.pass_rate < 1)
            ):
                r.failable.add(course)
        changed = before != (len(r.enterable), len(r.completable), len(r.failable))
    return r


# ----- what the picture and the Mermaid text say ---------------------------------------------

TYPE_COLORS = {  # fill, border
    "online": ("#e3f2fd", "#1565c0"),
    "ilc": ("#f3e5f5", "#6a1b9a"),
    "curriculum": ("#e8f5e9", "#2e7d32"),
    "bundle": ("#fff8e1", "#ef8f00"),
}
RE_ENROLL_COLOUR = "#00838f"  # teal: re-enrollment arrows, apart from the triggers' colours
OUTCOME_WORDS = {
    "skipped_already_enrolled": "still enrolled",
    "skipped_already_completed": "already completed",
    "skipped_learner_removed": "learner removed",
    "cascade_limit": "cascade limit",
    "pending": "pending",
}


def _short(text: str, width: int = 34) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _wrap(text: str, width: int = 36, most: int = 3) -> list[str]:
    """A long line as up to `most` lines of about `width` characters (the last shortened)."""
    lines = textwrap.wrap(text, width, break_on_hyphens=False) or [""]
    if len(lines) > most:
        lines = [*lines[: most - 1], _short(" ".join(lines[most - 1 :]), width)]
    return lines


def _day(value: float, start_date: dt.date | None = None) -> str:
    """A script day on the graph: `day 45`, or with a calendar `2027-02-15 (day 45)`."""
    return instant(value, start_date)


def node_lines(graph: RuleGraph, node: Node) -> list[str]:
    """A course as a few short lines: id, type and flags, title, prerequisites, members,
    where learners enter."""
    flags = [node.type]
    start = graph.scenario.start_date
    if node.type == "ilc" and node.sessions_given:
        flags.append(f"{node.sessions_in_horizon} sessions")
    if node.allow_failure:
        flags.append("can fail")
    if not node.active:
        days = [d for d, _ in node.activated]
        flags.append(f"inactive until {_day(min(days), start)}" if days else "inactive")
    elif node.deactivated:
        flags.append(f"inactive from {_day(node.deactivated[0][0], start)}")
    lines = [node.id, " · ".join(flags)]
    if node.title:
        lines += _wrap(node.title, 32, 2)
    if node.prerequisites:
        need = node.prerequisites_required
        of = f" ({need} of {len(node.prerequisites)})" if need < len(node.prerequisites) else ""
        lines += _wrap("needs " + ", ".join(node.prerequisites) + of)
    if node.type == "curriculum":
        parts = [
            " + ".join(members)
            if required == len(members)
            else f"{required} of {'/'.join(members)}"
            for members, required in node.groups
        ]
        lines += _wrap("members: " + "; ".join(parts))
    elif node.type == "bundle":
        members = [_member_text(m, start) for m in graph.memberships if m.container == node.id]
        lines += _wrap("members: " + (", ".join(members) if members else "none"))
    entries = list(dict.fromkeys(e.label for e in graph.entries_of(node.id)))
    if entries:
        lines += _wrap("▶ " + ", ".join(entries))
    return lines


def _member_text(m: Membership, start: dt.date | None = None) -> str:
    """A bundle member, with the days the script added or removed it (S28); no line
    break inside."""
    since, until = m.since_day, m.until_day
    if since is None and until is None:
        return m.member
    if until is None:
        when = f"from {_day(since, start)}"
    elif since is None:
        when = f"until {_day(until, start)}"
    else:
        when = f"{_day(since, start)} to {_day(until, start)}"
    return f"{m.member} ({when})".replace(" ", "\u00a0")


def edge_lines(
    edge: Edge, stats: dict[str, float] | None = None, start: dt.date | None = None
) -> list[str]:
    """A rule towards one target: id, trigger and delay, consecutive, when it was in force
    (script versions, in dates with a calendar `start`), and what it did in a run
    (`stats`: outcome -> mean count)."""
    v = edge.version
    lines = [
        edge.rule,
        f"{edge.when} · +{edge.delay} d",
        "consecutive on" if edge.consecutive else "consecutive off",
    ]
    if v.since_day is not None and v.until_day is not None:
        lines.append(f"{_day(v.since_day, start)} to {_day(v.until_day, start)}")
    elif v.since_day is not None:
        lines.append(f"from {_day(v.since_day, start)}")
    elif v.until_day is not None:
        lines.append(f"until {_day(v.until_day, start)}")
    if stats is not None:
        lines += stats_lines(stats)
    return lines


def reenroll_lines(r: ReEnrollment) -> list[str]:
    """A re-enrollment arrow's label: when it enrolls (S34), and the validity."""
    before = r.before
    if before.amount == 0:
        when = "re-enroll at expiry"
    else:
        amount = f"{before.amount} d" if before.unit == "days" else before.text()
        when = f"re-enroll {amount} before expiry"
    return [when, r.validity]


def stats_lines(stats: dict[str, float]) -> list[str]:
    jobs = stats.get("jobs", 0.0)
    lines = [
        f"{_count(jobs)} job{'' if jobs == 1 else 's'}: {_count(stats.get('enrolled', 0.0))} enrolled"
    ]
    for outcome, word in OUTCOME_WORDS.items():
        if stats.get(outcome, 0) > 0:
            lines.append(f"{_count(stats[outcome])} {word}")
    return lines


def _count(value: float) -> str:
    if value >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.1f}"


def loop_edges(graph: RuleGraph) -> set[tuple[str, str, str]]:
    """(rule, source, target) of every edge on a loop, in any rule set the scenario has."""
    on = set()
    for rules in graph.epochs():
        edges = [
            Edge(v, t, p) for v in rules for t, p in zip(v.targets, v.target_paths, strict=True)
        ]
        for _, inside in loop_groups(edges):
            on |= {(e.rule, e.source, e.target) for e in inside}
    return on


def rule_stats(
    jobs, runs: int, events=None, graph: RuleGraph | None = None
) -> dict[tuple[str, str, int], dict[str, float]]:
    """What each version of each rule did towards each target in a run: (rule, target,
    version) -> {"jobs", "enrolled", skip reasons...}, the mean per run (replication, or
    variant x replication). `version` counts the rule's edits before the job was queued
    (0: the rule as the file or its add_rule gives it): the version that queued a job is
    the one whose numbers it adds to, whatever became of the rule later (S18)."""
    if jobs is None or not len(jobs):
        return {}
    return stats_of([rule_counts(jobs, events, graph)], runs)


_STAT_KEYS = ["rule_id", "target_course_id", "_version", "outcome"]


def rule_counts(jobs, events=None, graph: RuleGraph | None = None):
    """`rule_stats`' part, of some replications' tables: jobs per rule, target, version
    and outcome (column `n`)."""
    version = _queued_by(jobs, events, graph)
    return (
        jobs.assign(_version=version)
        .groupby(_STAT_KEYS, observed=True)
        .size()
        .reset_index(name="n")
    )


def stats_of(parts: list, runs: int) -> dict[tuple[str, str, int], dict[str, float]]:
    """`rule_stats` from the parts (`rule_counts`) of every replication."""
    import pandas as pd

    parts = [part for part in parts if len(part)]
    if not parts:
        return {}
    counts = (
        pd.concat(parts, ignore_index=True)
        .groupby(_STAT_KEYS, observed=True)["n"]
        .sum()
        .reset_index()
    )
    out: dict[tuple[str, str, int], dict[str, float]] = {}
    for rule, target, k, outcome, n in counts.itertuples(index=False):
        if not n:
            continue
        entry = out.setdefault((str(rule), str(target), int(k)), {"jobs": 0.0, "enrolled": 0.0})
        entry[str(outcome)] = entry.get(str(outcome), 0.0) + n / runs
        entry["jobs"] += n / runs
    return out


def _queued_by(jobs, events, graph: RuleGraph | None):
    """For each row of `jobs`, how many times its rule had been edited when the job was
    queued. From the events table, exactly (its order is the run's); without it, from the
    edit days of the scenario's script (`graph`), a job queued on the day of an edit
    counting for the new version; with neither, the last version (-1)."""
    import numpy as np

    keys = ["replication", *(["variant"] if "variant" in jobs.columns else [])]
    if events is not None and len(events):
        ev = events[events["event"].isin(["rule_edited", "job_queued"])]
        edits = (
            (ev["event"] == "rule_edited")
            .astype("int64")
            .groupby([ev[k] for k in keys] + [ev["rule_id"].astype(str)], observed=True)
            .cumsum()
        )
        queued = ev.assign(_version=edits)[ev["event"] == "job_queued"]
        found = jobs[keys + ["job_id"]].merge(
            queued[keys + ["job_id", "_version"]].astype({"job_id": "int64"}),
            how="left",
            on=keys + ["job_id"],
        )
        return found["_version"].fillna(-1).astype("int64").to_numpy()
    if graph is None:
        return np.full(len(jobs), -1)
    since: dict[str, list[float]] = {}
    for v in graph.versions:
        if v.since_day is not None and v.first and v.path[0] == "script" and len(v.path) == 2:
            since.setdefault(v.rule, []).append(v.since_day)  # an edit_rule's version
    rules = jobs["rule_id"].astype(str).to_numpy()
    days = jobs["queued_day"].to_numpy()
    edits = [sum(d <= q for d in since.get(r, ())) for r, q in zip(rules, days, strict=True)]
    return np.array(edits, dtype="int64")


def stats_for(graph: RuleGraph, stats: dict | None) -> dict[Edge, dict[str, float]]:
    """Run statistics attached to the version of each rule that queued the jobs (the k-th
    version of the rule for key (rule, target, k); k = -1: its last version)."""
    if not stats:
        return {}
    versions: dict[str, list[Version]] = {}
    for v in graph.versions:
        versions.setdefault(v.rule, []).append(v)
    edges = {(e.version, e.target): e for e in graph.edges}
    out: dict[Edge, dict[str, float]] = {}
    for (rule, target, k), numbers in stats.items():
        known = versions.get(rule, [])
        if not -len(known) <= k < len(known):
            continue
        edge = edges.get((known[k], target))
        if edge is not None:
            out[edge] = numbers
    return out


# ----- Mermaid -------------------------------------------------------------------------------

_MERMAID_ESCAPES = {c: f"#{ord(c)};" for c in '#"<>*_`[]{}|&\\'}


def _m(text: str) -> str:
    return "".join(_MERMAID_ESCAPES.get(c, c) for c in text)


def mermaid(graph: RuleGraph, stats: dict | None = None) -> str:
    """The rule graph as a Mermaid flowchart (left to right): courses as boxes, rules as
    arrows coloured by trigger, re-enrollment (S34) as a thick teal arrow from a course to
    itself, members as dotted lines, loops drawn thick."""
    ids = {course: f"n{i}" for i, course in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for course, node in graph.nodes.items():
        text = "<br/>".join(_m(line.replace("\u00a0", " ")) for line in node_lines(graph, node))
        lines.append(f'  {ids[course]}["{text}"]')
    per_edge = stats_for(graph, stats)
    loops = loop_edges(graph)
    styles: list[str] = []
    k = 0
    for edge in graph.edges:
        text = "<br/>".join(
            _m(line) for line in edge_lines(edge, per_edge.get(edge), graph.scenario.start_date)
        )
        arrow = "-.->" if edge.version.first or edge.version.until_day is not None else "-->"
        lines.append(f'  {ids[edge.source]} {arrow}|"{text}"| {ids[edge.target]}')
        style = f"stroke:{TRIGGER_WORDS[edge.when].colour}"
        if (edge.rule, edge.source, edge.target) in loops:
            style += ",stroke-width:4px"
        styles.append(f"  linkStyle {k} {style}")
        k += 1
    for r in graph.reenrollments():
        text = "<br/>".join(_m(line) for line in reenroll_lines(r))
        lines.append(f'  {ids[r.course]} ==>|"{text}"| {ids[r.course]}')
        styles.append(f"  linkStyle {k} stroke:{RE_ENROLL_COLOUR}")
        k += 1
    ruled = {(e.source, e.target) for e in graph.edges}
    for m in graph.memberships:
        if (m.container, m.member) in ruled:
            continue  # the rule that enrolls the members says it already
        word = (
            "member"
            if m.since_day is None
            else f"member from {_day(m.since_day, graph.scenario.start_date)}"
        )
        lines.append(f'  {ids[m.container]} -.-|"{_m(word)}"| {ids[m.member]}')
        styles.append(f"  linkStyle {k} stroke:#9e9e9e")
        k += 1
    for kind, (fill, stroke) in TYPE_COLORS.items():
        lines.append(f"  classDef {kind} fill:{fill},stroke:{stroke},color:#212121")
        members = [ids[c] for c, n in graph.nodes.items() if n.type == kind]
        if members:
            lines.append(f"  class {','.join(members)} {kind}")
    hidden = [ids[c] for c, n in graph.nodes.items() if not n.active]
    if hidden:
        lines.append("  classDef inactive stroke-dasharray:5 4,color:#616161")
        lines.append(f"  class {','.join(hidden)} inactive")
    return "\n".join([*lines, *styles]) + "\n"


def mermaid_legend() -> str:
    """The key under a Mermaid graph (every trigger of the vocabulary, with its colour)."""
    colours = ", ".join(f"{w.colour_name} `{t}`" for t, w in TRIGGER_WORDS.items())
    return (
        "Boxes are courses (blue online, purple ILC, green curriculum, yellow bundle; dashed: "
        f"inactive; ▶ where learners enter). Arrows are rules, coloured by trigger: {colours}; "
        "a dashed arrow is a rule version the script adds, edits or removes; thick arrows "
        "are on a loop. A thick teal arrow from a course to itself is re-enrollment before "
        "its certificate expires (S34). Dotted grey lines join a curriculum or bundle to its "
        "members."
    )


def mermaid_markdown(
    graph: RuleGraph, source: str, stats: dict | None = None, run: str = ""
) -> str:
    """A Markdown page: a heading, the ```mermaid block and how to read it."""
    what = f" with what each rule did in `{run}` (mean per run)" if run else ""
    return (
        f"# Rule graph: {graph.scenario.name}\n\n"
        f"From `{source}`{what}.\n\n"
        f"```mermaid\n{mermaid(graph, stats)}```\n\n{mermaid_legend()}\n"
    )


# ----- DOT (Graphviz) ------------------------------------------------------------------------


def _q(text: str) -> str:
    """A DOT quoted ID: backslashes and double quotes escaped (ids never hold a line break:
    the scenario refuses control characters)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(lines: Iterable[str]) -> str:
    return '"' + "\\n".join(_q(line)[1:-1] for line in lines) + '"'


def dot(graph: RuleGraph, stats: dict | None = None) -> str:
    """The rule graph as Graphviz DOT, the same model and marks as `mermaid`: courses as
    boxes (id = course id), rules as arrows coloured by trigger (dashed: a version the
    script makes; thick: on a loop), re-enrollment as a bold teal arrow from a course to
    itself, members as dotted grey lines. Layout is left to the
    tool (`dot -Tsvg rules.dot`)."""
    lines = [
        f"digraph {_q(graph.scenario.name)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for course, node in graph.nodes.items():
        fill, stroke = TYPE_COLORS[node.type]
        style = "" if node.active else ', style="rounded,filled,dashed", fontcolor="#616161"'
        lines.append(
            f"  {_q(course)} [label={_label(node_lines(graph, node))}, "
            f'fillcolor="{fill}", color="{stroke}"{style}];'
        )
    per_edge = stats_for(graph, stats)
    loops = loop_edges(graph)
    for edge in graph.edges:
        attrs = [f"label={_label(edge_lines(edge, per_edge.get(edge), graph.scenario.start_date))}"]
        attrs.append(f'color="{TRIGGER_WORDS[edge.when].colour}"')
        if edge.version.first or edge.version.until_day is not None:
            attrs.append("style=dashed")
        if (edge.rule, edge.source, edge.target) in loops:
            attrs.append("penwidth=3")
        lines.append(f"  {_q(edge.source)} -> {_q(edge.target)} [{', '.join(attrs)}];")
    for r in graph.reenrollments():
        lines.append(
            f"  {_q(r.course)} -> {_q(r.course)} [label={_label(reenroll_lines(r))}, "
            f'color="{RE_ENROLL_COLOUR}", style=bold, penwidth=2];'
        )
    ruled = {(e.source, e.target) for e in graph.edges}
    for m in graph.memberships:
        if (m.container, m.member) in ruled:
            continue  # the rule that enrolls the members says it already
        word = (
            "member"
            if m.since_day is None
            else f"member from {_day(m.since_day, graph.scenario.start_date)}"
        )
        lines.append(
            f"  {_q(m.container)} -> {_q(m.member)} "
            f'[label={_q(word)}, style=dotted, color="#9e9e9e", arrowhead=none];'
        )
    return "\n".join([*lines, "}"]) + "\n"
