"""The warm start (S39-S41): a run that starts from a real LMS's history, cut at day 0.

    from postenroll_sim import load_scenario
    from postenroll_sim.history.warm import cut_scenario, model_for, warm_start_of

    scenario = load_scenario("forecast.yaml")          # with initial_state
    model = model_for(scenario)                         # a Model, the history replayed first
    model.run()
    warm_start_of(model).counts                         # replayed, pending at day 0, ...
    earlier = cut_scenario(scenario, dt.date(2026, 1, 1))  # the same, day 0 on another date

One engine run does both halves. Its clock starts at the history's first day (a whole
day before day 0): before day 0 the history drives the engine exactly as `audit` replays
it (replay.py: the history's records at their instants, the scenario's rule and catalog
changes, the rules queueing jobs with their snapshots, each job decided against the
replayed state, the history winning where it and the rules disagree), and at day 0,
before anything else of that instant, the run goes live: jobs still queued enroll (S19.4,
S34.4), bundles and curricula are derived again (S26-S28), learners act on their own
with their behaviour conditioned on what the history shows (S40, engine/warm.py), the
population hires, and the history's learners are subject to attrition. The tables then
hold both (S41: engine/recorder.py marks `source`, and keeps the jobs processed or
pending at or after day 0).

Every replication replays the same history (it is deterministic: the rules, not chance,
decide before day 0), so every replication holds the same history rows; the history is
read once per process (`initial_state_of` keeps it).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..engine import compile_plan
from ..engine.behaviour import Behaviours
from ..engine.lms import LMS
from ..engine.model import Driver, Model, Script
from ..engine.population import PopulationDriver
from ..engine.random import Streams
from ..engine.warm import resume_open_enrollments
from ..scenario import Scenario
from .exports import History, HistoryMap, load_map, parse_map, read_history
from .learners import LearnersFile, read_learners
from .replay import AuditLMS, Replay

DEFAULT_TOLERANCE_DAYS = 1 / 24  # as `audit`'s: a post enrollment within an hour is on time
ATTRIBUTE_TABLES = ("enrollments", "certificates")  # tables given the learners' attributes


# ----- the ready-made maps --------------------------------------------------------------


def ready_map(name: str) -> HistoryMap:
    """A map shipped with the package (columns.READY_MAPS: `vendor`, `unified`)."""
    text = resources.files(__package__).joinpath("maps", f"{name}.yaml").read_text("utf-8")
    return parse_map(text, f"<map {name}>")


def map_of(value: str | os.PathLike | HistoryMap | None) -> HistoryMap | None:
    """A map given by name (a ready-made one), by file, or as it is."""
    from ..columns import READY_MAPS

    if value is None or isinstance(value, HistoryMap):
        return value
    if str(value) in READY_MAPS:
        return ready_map(str(value))
    return load_map(value)


# ----- what the history says: read once per process --------------------------------------


@dataclass
class InitialState:
    """A scenario's initial state as read: its history cut at day 0, its learners file."""

    history: History
    learners: LearnersFile | None
    warnings: list[str] = field(default_factory=list)

    @property
    def first_day(self) -> float:
        """The first instant the replay needs: a whole day at or before every moment."""
        days = [0.0]
        for record in self.history.records:
            days.append(record.enrolled)
            if record.removed is not None:
                days.append(record.removed)
        if self.learners is not None:
            for row in self.learners.rows:
                days += [d for d in (row.joined, row.removed) if d is not None]
        return float(math.floor(min(days)))


_READ: dict[tuple, InitialState] = {}


def _stamp(path: str | None) -> tuple:
    if path is None or not os.path.exists(path):
        return (path,)
    stat = os.stat(path)
    return (path, stat.st_mtime_ns, stat.st_size)


def initial_state_of(scenario: Scenario) -> InitialState:
    """Read (once per process and scenario) the history and learners file of the
    scenario's `initial_state`; every problem located (ScenarioError, exit 2)."""
    spec = scenario.initial_state
    if spec is None:
        raise ValueError("the scenario has no initial_state")
    key = (
        _stamp(spec.history),
        _stamp(spec.map),
        _stamp(spec.learners),
        scenario.model_dump_json(include={"start_date", "horizon_days", "courses"}),
    )
    found = _READ.get(key)
    if found is None:
        mapping = map_of(spec.map)
        history = read_history(spec.history, scenario, mapping, warm=True)
        learners = read_learners(spec.learners, scenario, mapping) if spec.learners else None
        found = InitialState(history, learners, list(history.warnings))
        if len(_READ) > 8:
            _READ.clear()
        _READ[key] = found
    return found


# ----- the run ---------------------------------------------------------------------------


class WarmLMS(AuditLMS):
    """Before day 0, the audit's LMS (the history's records answer the jobs; bundles and
    curricula are the history's records); from day 0, the LMS itself (`go_live`)."""

    def go_live(self) -> None:
        """Day 0: the instance takes a class without the replay's overrides, so that from
        here no job, bundle or curriculum goes through a Python method (a flag tested in
        each override cost a warm forecast half its speed per event)."""
        self.__class__ = LiveLMS


class LiveLMS(LMS):
    """A warm start's LMS from day 0: every S-rule as in any run."""


class WarmScript(Script):
    """The scenario's script; its named learners join at day 0 (not at the history's first
    day). Steps before day 0 are rule and catalog changes only (the loader checks, S39)."""

    def start(self, model: Model) -> None:
        self.model = model
        if model.plan.initial_learners:
            model.clock.urgent_at(0.0, self._join)
        for group_index, group in enumerate(model.plan.timeline):
            model.clock.urgent_at(group[0].day, self.run_day, group_index)

    def _join(self, at: float, _payload: object) -> None:
        for learner in self.model.plan.initial_learners:
            self.model.lms.add_learner(learner)


@dataclass
class Counts:
    """What `run` says of a warm start (S39)."""

    records: int = 0  # the history's records replayed (created before day 0)
    learners: int = 0  # present at day 0, from the history and the learners file
    pending: int = 0  # jobs queued before day 0 and processed at or after it
    discrepancies: int = 0  # as `audit` counts them, before day 0
    missing: int = 0
    unexpected: int = 0
    off_time: int = 0
    open: int = 0  # enrollments open at day 0 that continue (S40)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class WarmStart(Driver):
    """The warm start's own driver: the learners file's people (before the history's
    records), and day 0, when the run goes live (see the module docstring)."""

    def __init__(
        self,
        state: InitialState,
        seed: np.random.SeedSequence,
        behaviour: bool = True,
        population: bool = True,
        conditioned: bool = True,
    ):
        self.state = state
        self.seed = seed
        self.behaviour = behaviour
        self.population = population
        self.conditioned = conditioned  # S40; False only to show what it is for (tests)
        self.counts = Counts(records=len(state.history.records))
        self.replay: Replay | None = None
        self.attributes: dict[str, tuple[str | None, ...]] = {}  # learner -> attributes
        width = len(state.learners.attributes) if state.learners is not None else 0
        self.no_attributes = (None,) * width  # of a learner the file does not list

    def with_attributes(self, table: str, frame):
        """The enrollments or certificates `frame` with the learners file's attribute
        columns (department, role, ...: categorical, null for learners it does not list,
        hires among them); other tables as they are."""
        learners = self.state.learners
        if learners is None or not learners.attributes or table not in ATTRIBUTE_TABLES:
            return frame
        import pandas as pd

        ids = frame["learner_id"]
        codes = ids.cat.codes.to_numpy()
        categories = ids.cat.categories
        columns = {}
        for k, name in enumerate(learners.attributes):
            values = [self.attributes.get(learner, self.no_attributes)[k] for learner in categories]
            kinds = pd.Categorical(values)
            picked = np.where(codes >= 0, kinds.codes[codes] if len(codes) else codes, -1)
            columns[name] = pd.Categorical.from_codes(picked, dtype=kinds.dtype)
        return frame.assign(**columns)

    def start(self, model: Model) -> None:
        self.model = model
        lms, clock = model.lms, model.clock
        learners = self.state.learners
        if learners is not None:
            named = model.plan.learner_code
            # the history's own removals are the replay's (replay.py); the file's are for
            # learners the history does not remove
            removed = {r.learner for r in self.state.history.records if r.removed is not None}
            for row in learners.rows:
                self.attributes[row.learner] = row.attributes
                code = named.get(row.learner)
                if code is None:  # (a learner the scenario names joins as it says)
                    code = lms.new_learners([row.learner])
                    joined = clock.origin if row.joined is None else row.joined
                    clock.urgent_at(joined, self._join, code)
                if row.removed is not None and row.learner not in removed:
                    clock.urgent_at(row.removed, self._remove, code)
        # Behaviour and the population exist from the start (their calls are registered
        # with the clock before time moves), but act from day 0 only.
        plan = model.plan
        self.streams = Streams(self.seed)
        self.behaviours = None
        if self.behaviour:
            self.behaviours = Behaviours(clock, lms, plan, self.streams)
            self.listener = lms.listener
            lms.listener = None  # before day 0 learners do only what the history says
        spec = plan.scenario.population
        self.hiring = None
        if spec is not None and self.population:
            self.hiring = PopulationDriver(clock, lms, plan, spec, self.streams)
        clock.first_at(0.0, self._day0)

    def _join(self, at: float, code: int) -> None:
        self.model.lms.add_learner(code)

    def _remove(self, at: float, code: int) -> None:
        if not self.model.lms.removed[code]:
            self.model.lms.remove_learner(code)

    def _day0(self, at: float, _payload: object) -> None:
        """S39 -> S40: what the history leaves, counted; then the run goes live."""
        model, lms, replay = self.model, self.model.lms, self.replay
        counts = self.counts
        if replay is not None:
            for requirement in replay.requirements:
                if requirement.record is None:
                    counts.missing += 1
                elif not requirement.on_time:
                    counts.off_time += 1
            counts.unexpected = len(replay.unexpected)
            counts.discrepancies = counts.missing + counts.unexpected + counts.off_time
            counts.pending = sum(len(jobs) for jobs in replay.pending.values())
            model.remove_observer(replay)  # its matching is over: from here jobs are the LMS's
        lms.go_live()
        named = set(model.plan.learner_code.values())
        present = [
            code
            for code in range(len(lms.learner_ids))
            if not lms.removed[code] and code not in named
        ]
        counts.learners = len(present)
        behaviours = self.behaviours
        if behaviours is not None:
            lms.listener = self.listener
            model.behaviours = behaviours
            counts.open = resume_open_enrollments(model, behaviours, self.streams, self.conditioned)
        population = self.hiring
        if population is not None:
            model.population = population
            prefix = model.plan.scenario.population.id_prefix
            population.generated = _last_generated(lms.learner_ids, prefix)
            for code in present:  # S40: the history's learners leave as anyone does
                population.attrite(code)
            population.start()  # hires (population.initial: none, the loader says)


def _last_generated(ids: list[str], prefix: str) -> int:
    """The highest number among ids the population would generate (L0000042): hires
    continue after it, so a simulated history's learners are never made again."""
    pattern = re.compile(re.escape(prefix) + r"(\d{7,})$")
    found = 0
    for learner in ids:
        match = pattern.match(learner)
        if match:
            found = max(found, int(match.group(1)))
    return found


def model_for(
    scenario: Scenario,
    seed: np.random.SeedSequence | None = None,
    *,
    record_events: bool = True,
    on_advance: Callable[[float], None] | None = None,
    spill: str | os.PathLike | None = None,
    conditioned: bool = True,
) -> Model:
    """The model of one replication of `scenario`: a plain Model, or with `initial_state`
    a warm start's (the history replayed before day 0, then the run). Raises
    ScenarioError when the history or its map or learners file cannot be read."""
    plan = compile_plan(scenario)
    if seed is None:
        seed = np.random.SeedSequence(scenario.seed)
    if scenario.initial_state is None:
        return Model(plan, seed, record_events, on_advance, spill)
    state = initial_state_of(scenario)
    warm = WarmStart(state, seed, conditioned=conditioned)
    replay = Replay(
        plan,
        state.history,
        DEFAULT_TOLERANCE_DAYS,
        lms_type=WarmLMS,
        script=WarmScript(),
        drivers=(warm,),
        seed=seed,
        record_events=record_events,
        on_advance=on_advance,
        spill=spill,
        start=min(state.first_day, _first_script_day(plan)),
    )
    warm.replay = replay
    model = replay.model
    model.warm = True
    for warning in state.warnings:
        model.lms.warnings.append(warning)
    return model


def _first_script_day(plan) -> float:
    return float(math.floor(min([0.0, *(group[0].day for group in plan.timeline)])))


def warm_start_of(model: Model) -> WarmStart | None:
    """The warm start that drove `model`, if one did (its `counts`, its learners'
    attributes)."""
    return next((d for d in model.drivers if isinstance(d, WarmStart)), None)


# ----- the same organisation, day 0 on another date (a backtest's cut) ---------------------


def cut_scenario(scenario: Scenario, cut: dt.date, until: dt.date | None = None) -> Scenario:
    """`scenario` with day 0 on `cut` (its history cut there instead, S39) and, with
    `until`, its horizon there (else the same last day). Script steps keep their dates:
    their days count from the cut (learner actions before it are dropped: the history
    says what learners did); sessions before the cut are dropped; named learners who
    joined before it join at day 0; a hire schedule's batches before it are dropped."""
    if scenario.initial_state is None or scenario.start_date is None:
        raise ValueError("cut_scenario needs a scenario with initial_state (and start_date)")
    shift = float((scenario.start_date - cut).days)  # old day d is new day d + shift
    data = scenario.model_dump(mode="python", by_alias=True, exclude_none=True)
    end = scenario.horizon_days + shift if until is None else float((until - cut).days)
    if end <= 0:
        raise ValueError(
            f"the horizon ({until or 'the scenario’s end'}) is not after the cut {cut}"
        )
    data["start_date"] = cut
    data["horizon_days"] = end
    script = []
    for step in data.get("script", []):
        step["day"] = step["day"] + shift
        if step["day"] < 0 and step["action"] in ("enroll", "start", "complete", "fail"):
            continue
        if step["day"] <= end:
            script.append(step)
    data["script"] = script
    for learner in data.get("learners", []):
        if isinstance(learner, dict):
            learner["joined_day"] = max(0.0, learner.get("joined_day", 0.0) + shift)
    for course in data.get("courses", []):
        sessions = []
        for session in course.get("sessions", []) or []:
            for key in ("day", "first_day", "until_day"):
                if key in session:
                    session[key] = session[key] + shift
            if session.get("day", 0) < 0 or session.get("until_day", 1) < 0:
                continue
            if session.get("first_day", 0) < 0:  # a series: its first session after the cut
                every = session["every_days"]
                session["first_day"] += math.ceil(-session["first_day"] / every) * every
            sessions.append(session)
        if "sessions" in course:
            course["sessions"] = sessions
    hires = (data.get("population") or {}).get("hires") or {}
    if hires.get("schedule"):
        hires["schedule"] = [
            {**b, "day": b["day"] + shift} for b in hires["schedule"] if b["day"] + shift >= 0
        ]
    data.pop("expect", None)
    return Scenario.model_validate(data)


def initial_state_files(scenario: Scenario) -> list[Path]:
    """The files a warm start reads (a run's inputs: its output folder never replaces them)."""
    spec = scenario.initial_state
    if spec is None:
        return []
    from ..columns import READY_MAPS

    named = [spec.history, spec.learners, None if spec.map in READY_MAPS else spec.map]
    return [Path(p) for p in named if p is not None]
