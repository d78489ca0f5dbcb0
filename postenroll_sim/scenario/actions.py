"""Script actions: each defined once, with its model, its static check and its effect.

An action is a pydantic model (the keys a scenario file gives it) with two methods:

- `check(ctx, path)`: the static check. `postenroll_sim/scenario/checks.py` walks the
  script in the order it runs (S23) with a small model of the state the script changes
  (`ScriptCheck`) and calls this, so misuse is reported with the action's own line
  before anything runs;
- `apply(lms, plan, index)`: the effect on a run. The engine (`engine/model.py`) calls
  it at the action's instant with its LMS (`engine/lms.py`, where the rules live) and the
  compiled plan (int codes of learners, courses and rules). Problems only the run can
  see raise `ActionError` from the LMS, located at the action by the model.

Each action also declares its kind, and nothing lists actions by hand: `acts_on` (a
learner, a rule or a course) and `changes` (a learner's enrollments, who the learners
are, the rules or the catalog). `compare` requires two scenarios to agree on what acts
on learners and reports the rest (scenario/diff.py); `audit` replays every action but
those changing enrollments, which the history records (qa/audit/replay.py). A concrete
action without a kind is refused when its class is made.

Adding an action: a class here (with its kind, `check` and `apply`), listed in
`ACTIONS`; a method on the LMS if it changes state in a new way; a line in
docs/scenarios.md; a test.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import Field

from ..columns import LEARNING_TYPES, METHOD_CODE
from .base import Id, ScriptInstant, Spec
from .errors import Path
from .rules import Rule, RuleEdit

ADMIN = METHOD_CODE["admin"]
COURSE_KINDS = LEARNING_TYPES  # what curricula and bundles may hold
ACTS_ON = ("learner", "rule", "course")  # what an action names and acts on
# What it changes: a learner's enrollments (what a history records), who the learners
# are, the rules (S18), the catalog (S6, S21, S28).
CHANGES = ("enrollments", "learners", "rules", "catalog")


class ScriptCheck(Protocol):
    """What an action's static check may ask of the script walk (see checks.py)."""

    def problem(self, path: Path, message: str) -> None: ...
    def learner_ok(self, path: Path, learner: str, day: float) -> None: ...
    def course_kind(self, path: Path, key: str, course: str) -> str | None: ...
    def allows_failure(self, course: str) -> bool: ...
    def check_rule(self, rule: Rule | RuleEdit, source: str, path: Path) -> None: ...
    def add_rule(self, path: Path, course: str, rule: Rule) -> None: ...
    def rule_in_force(self, path: Path, rule: str) -> str | None: ...
    def remove_rule(self, rule: str, day: float) -> None: ...
    def bundle_members(self, path: Path, bundle: str) -> list[str] | None: ...
    def add_learner(self, path: Path, learner: str) -> None: ...
    def remove_learner(self, learner: str, day: float) -> None: ...


def check_kind(model: type) -> None:
    """A script action must say what it acts on and what it changes (see the module):
    without them `compare` and `audit` could not tell what to do with it."""
    acts_on, changes = getattr(model, "acts_on", None), getattr(model, "changes", None)
    if acts_on not in ACTS_ON or changes not in CHANGES:
        raise TypeError(
            f"script action {model.__name__} must declare acts_on (one of {ACTS_ON}) and "
            f"changes (one of {CHANGES}); it has acts_on={acts_on!r}, changes={changes!r}"
        )


class Action(Spec):
    day: ScriptInstant  # before day 0 only in a warm start (S39, checks.py)
    # Every concrete action declares both (no default: see `__pydantic_init_subclass__`).
    acts_on: ClassVar[str]
    changes: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "action" in cls.model_fields:  # a concrete action, not a shared base
            check_kind(cls)

    def check(self, ctx: ScriptCheck, path: Path) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def apply(self, lms, plan, index: int) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


# ----- learners and their enrollments ---------------------------------------------------


class Enroll(Action):
    acts_on = "learner"
    changes = "enrollments"
    action: Literal["enroll"]
    learner: Id
    course: Id
    method: Literal["admin", "self"] = "admin"

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        ctx.learner_ok(path, self.learner, self.day)
        ctx.course_kind(path, "course", self.course)

    def apply(self, lms, plan, index: int) -> None:
        learner, course = plan.learner(self.learner), plan.course(self.course)
        if self.method == "self":
            lms.self_enroll(learner, course)  # S16: may be rejected (recorded)
        else:
            lms.enroll(learner, course, ADMIN)  # S16: admin bypasses prerequisites


class _Progress(Action):
    """start, complete, fail: on the learner's current open enrollment in an online or
    ILC course. Curricula progress through their members (S26); bundles never (S27)."""

    acts_on = "learner"
    changes = "enrollments"
    learner: Id
    course: Id

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        self.check_progress(ctx, path)

    def check_progress(self, ctx: ScriptCheck, path: Path) -> str | None:
        """The checks every progress action shares; returns the course's kind."""
        ctx.learner_ok(path, self.learner, self.day)
        kind = ctx.course_kind(path, "course", self.course)
        if kind == "bundle":
            ctx.problem(
                (*path, "course"),
                f"'{self.course}' is a bundle: a bundle enrollment has no progress or completion (S27)",
            )
        elif kind == "curriculum":
            ctx.problem(
                (*path, "course"),
                f"'{self.course}' is a curriculum: it starts and completes "
                "when its member courses do (S26)",
            )
        return kind


class Start(_Progress):
    action: Literal["start"]

    def apply(self, lms, plan, index: int) -> None:
        lms.script_start(plan.learner(self.learner), plan.course(self.course))


class Complete(_Progress):
    action: Literal["complete"]

    def apply(self, lms, plan, index: int) -> None:
        learner, course = plan.learner(self.learner), plan.course(self.course)
        lms.complete(lms.open_enrollment(learner, course, "complete"))


class Fail(_Progress):
    action: Literal["fail"]

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        kind = self.check_progress(ctx, path)
        if kind in COURSE_KINDS and not ctx.allows_failure(self.course):
            ctx.problem(
                (*path, "course"),
                f"cannot fail '{self.course}': it does not have allow_failure (S5)",
            )

    def apply(self, lms, plan, index: int) -> None:
        learner, course = plan.learner(self.learner), plan.course(self.course)
        lms.fail(lms.open_enrollment(learner, course, "fail"))


class AddLearner(Action):
    acts_on = "learner"
    changes = "learners"
    action: Literal["add_learner"]
    learner: Id

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        ctx.add_learner(path, self.learner)

    def apply(self, lms, plan, index: int) -> None:
        lms.add_learner(plan.learner(self.learner))


class RemoveLearner(Action):
    acts_on = "learner"
    changes = "learners"
    action: Literal["remove_learner"]
    learner: Id

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        ctx.learner_ok(path, self.learner, self.day)
        ctx.remove_learner(self.learner, self.day)

    def apply(self, lms, plan, index: int) -> None:
        lms.remove_learner(plan.learner(self.learner))  # S29


# ----- rules (S18) -------------------------------------------------------------------------


class AddRule(Action):
    acts_on = "rule"
    changes = "rules"
    action: Literal["add_rule"]
    course: Id
    rule: Rule

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        kind = ctx.course_kind(path, "course", self.course)
        if kind == "bundle":
            ctx.problem(
                (*path, "course"), "Post Enrollment rules cannot be configured on a bundle (S8)"
            )
        elif kind is not None:
            ctx.check_rule(self.rule, self.course, (*path, "rule"))
            ctx.add_rule(path, self.course, self.rule)

    def apply(self, lms, plan, index: int) -> None:
        lms.add_rule(plan.script_rules[index])


class EditRule(Action):
    acts_on = "rule"
    changes = "rules"
    action: Literal["edit_rule"]
    rule: Id
    set: RuleEdit

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        source = ctx.rule_in_force(path, self.rule)
        if source is not None:
            ctx.check_rule(self.set, source, (*path, "set"))

    def apply(self, lms, plan, index: int) -> None:
        lms.edit_rule(plan.script_rules[index])


class RemoveRule(Action):
    acts_on = "rule"
    changes = "rules"
    action: Literal["remove_rule"]
    rule: Id

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        if ctx.rule_in_force(path, self.rule) is not None:
            ctx.remove_rule(self.rule, self.day)

    def apply(self, lms, plan, index: int) -> None:
        lms.remove_rule(plan.rule(self.rule))


# ----- the catalog (S6, S21, S28) ------------------------------------------------------------


class DeactivateCourse(Action):
    acts_on = "course"
    changes = "catalog"
    action: Literal["deactivate_course"]
    course: Id

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        ctx.course_kind(path, "course", self.course)

    def apply(self, lms, plan, index: int) -> None:
        lms.set_active(plan.course(self.course), False)


class ActivateCourse(Action):
    acts_on = "course"
    changes = "catalog"
    action: Literal["activate_course"]
    course: Id

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        ctx.course_kind(path, "course", self.course)

    def apply(self, lms, plan, index: int) -> None:
        lms.set_active(plan.course(self.course), True)


class _BundleChange(Action):
    acts_on = "course"
    changes = "catalog"
    bundle: Id
    course: Id

    def members(self, ctx: ScriptCheck, path: Path) -> tuple[list[str], str] | None:
        """The bundle's members so far and the course's kind, when both are valid."""
        members = ctx.bundle_members(path, self.bundle)
        kind = ctx.course_kind(path, "course", self.course)
        if members is None or kind is None:
            return None
        return members, kind


class AddToBundle(_BundleChange):
    action: Literal["add_to_bundle"]

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        found = self.members(ctx, path)
        if found is None:
            return
        members, kind = found
        if kind not in COURSE_KINDS:
            ctx.problem(
                (*path, "course"),
                f"'{self.course}' is a {kind}; a bundle holds online and ilc courses only",
            )
        elif self.course in members:
            ctx.problem((*path, "course"), f"'{self.course}' is already in bundle '{self.bundle}'")
        else:
            members.append(self.course)

    def apply(self, lms, plan, index: int) -> None:
        lms.add_to_bundle(plan.course(self.bundle), plan.course(self.course))  # S28


class RemoveFromBundle(_BundleChange):
    action: Literal["remove_from_bundle"]

    def check(self, ctx: ScriptCheck, path: Path) -> None:
        found = self.members(ctx, path)
        if found is None:
            return
        members, _ = found
        if self.course not in members:
            ctx.problem((*path, "course"), f"'{self.course}' is not in bundle '{self.bundle}'")
        else:
            members.remove(self.course)

    def apply(self, lms, plan, index: int) -> None:
        lms.remove_from_bundle(plan.course(self.bundle), plan.course(self.course))


# Every action, once: the scenario models, the JSON Schema, the checks and the engine
# all take them from here.
ACTIONS: tuple[type[Action], ...] = (
    Enroll,
    Start,
    Complete,
    Fail,
    AddRule,
    EditRule,
    RemoveRule,
    DeactivateCourse,
    ActivateCourse,
    AddToBundle,
    RemoveFromBundle,
    AddLearner,
    RemoveLearner,
)


def actions_where(**kind: str) -> tuple[type[Action], ...]:
    """The actions of `ACTIONS` of one kind, e.g. `actions_where(changes="rules")`."""
    for model in ACTIONS:
        check_kind(model)
    return tuple(m for m in ACTIONS if all(getattr(m, k) == v for k, v in kind.items()))


for _model in ACTIONS:
    check_kind(_model)
ACTION_MODELS: dict[str, type[Action]] = {
    model.model_fields["action"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in ACTIONS
}
ScriptAction = Annotated[reduce(operator.or_, ACTIONS), Field(discriminator="action")]
