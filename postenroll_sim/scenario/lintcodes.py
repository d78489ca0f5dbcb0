"""The codes of `postenroll-sim lint` findings: stable, so a scenario can mark one as intended.

Kept apart from `lint.py` (which reasons over the rule graph) because the scenario
models need the list to validate `lint: {ignore: [...]}`. docs/designer-tools.md
explains each code with an example and its fix.
"""

from __future__ import annotations

# code -> (severity, short title)
CODES: dict[str, tuple[str, str]] = {
    "PE101": ("warning", "repeat-failure trap: remediation with allow_consecutive off"),
    "PE102": ("warning", "recertification with allow_consecutive off"),
    "PE103": ("warning", "curriculum recertification whose members are not re-enrolled"),
    "PE201": ("warning", "course nobody can enter"),
    "PE202": ("warning", "rule on a course nobody can enter: it never fires"),
    "PE203": ("warning", "`failed` rule on a course nothing fails: it never fires"),
    "PE204": ("warning", "`completed` rule on a course nothing completes: it never fires"),
    "PE205": ("warning", "curriculum whose members nothing enrolls: it never completes"),
    "PE206": ("warning", "ILC with no session inside the horizon"),
    "PE301": ("error", "zero-delay loop that runs into the cascade guard"),
    "PE302": ("warning", "consecutive loop that re-enrolls forever"),
    "PE303": ("info", "zero-delay `enrolled` loop, stopped by open enrollments"),
    "PE401": ("warning", "`enrolled` rule into its own course: always skipped"),
    "PE402": ("warning", "two rules enroll into the same course at the same instant"),
    "PE403": ("warning", "target inactive and never activated"),
    "PE404": ("warning", "target has prerequisites, which rules bypass"),
    "PE501": ("warning", "recertification rule and re-enrollment on one course: two chains"),
    "PE502": ("warning", "certificate valid for less time than learners take to finish"),
    "PE503": ("warning", "re-enrollment window longer than the due period"),
    "PE901": ("info", "`lint: ignore` that matches no finding"),
}

SEVERITIES = ("info", "warning", "error")
