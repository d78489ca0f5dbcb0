"""The reference scenario of the benchmarks: N learners over Y years.

An onboarding path (three courses), remediation on a failed test, a yearly
recertification curriculum with two members, and an instructor-led course with
recurring sessions sized for the population. Every learner is present from day 0
and is onboarded over the first 60 days; hires and attrition keep the headcount
roughly steady.
"""

from __future__ import annotations

import json


def reference_scenario(
    learners: int,
    years: float = 1.0,
    seed: int = 0,
    certificates: bool = False,
    due_dates: bool = False,
) -> str:
    """`certificates`: the compliance curriculum awards a 365-day certificate with
    re-enrollment 30 days before expiry (S31, S34) instead of its recertification rule;
    `due_dates`: its enrollments are also due 30 days after (S35)."""
    horizon = 365.0 * years
    seats = max(10, learners // 200)  # ILC capacity per session, scaled with the organisation
    data = {
        "name": f"reference {learners} learners x {years:g} years",
        "horizon_days": horizon,
        "seed": seed,
        "default_behaviour": {
            "start_after_days": {"dist": "exponential", "mean": 3},
            "duration_days": {"dist": "lognormal", "median": 1.5, "sigma": 0.7},
            "abandon_rate": 0.02,
        },
        "courses": [
            {
                "id": "ONB-1",
                "type": "online",
                "post_enrollments": [
                    {"id": "onb-1-2", "when": "completed", "delay_days": 0, "courses": ["ONB-2"]}
                ],
            },
            {
                "id": "ONB-2",
                "type": "online",
                "post_enrollments": [
                    {"id": "onb-2-test", "when": "completed", "delay_days": 1, "courses": ["TEST"]}
                ],
            },
            {
                "id": "TEST",
                "type": "online",
                "allow_failure": True,
                "behaviour": {
                    "start_after_days": {"dist": "exponential", "mean": 2},
                    "duration_days": {"dist": "fixed", "value": 0.1},
                    "pass_rate": 0.8,
                },
                "post_enrollments": [
                    {
                        "id": "test-failed",
                        "when": "failed",
                        "delay_days": 1,
                        "courses": ["REMEDIAL"],
                    },
                    {
                        "id": "test-passed",
                        "when": "completed",
                        "delay_days": 7,
                        "courses": ["COMP", "WORKSHOP"],
                    },
                ],
            },
            {
                "id": "REMEDIAL",
                "type": "online",
                "post_enrollments": [
                    {
                        "id": "remedial-retake",
                        "when": "completed",
                        "delay_days": 0,
                        "courses": ["TEST"],
                        "allow_consecutive": True,
                    }
                ],
            },
            {
                "id": "COMP",
                "type": "curriculum",
                "members": ["COMP-A", "COMP-B"],
                "post_enrollments": [
                    {
                        "id": "comp-members",
                        "when": "enrolled",
                        "delay_days": 0,
                        "courses": ["COMP-A", "COMP-B"],
                        "allow_consecutive": True,
                    },
                    {
                        "id": "comp-recert",
                        "when": "completed",
                        "delay_days": 365,
                        "courses": ["COMP"],
                        "allow_consecutive": True,
                    },
                ],
            },
            {"id": "COMP-A", "type": "online"},
            {"id": "COMP-B", "type": "online"},
            {
                "id": "WORKSHOP",
                "type": "ilc",
                "sessions": [{"every_days": 7, "first_day": 3, "capacity": seats}],
                "behaviour": {
                    "start_after_days": {"dist": "exponential", "mean": 5},
                    "no_show_rate": 0.1,
                },
            },
        ],
        "population": {
            "initial": learners,
            "hires": {"per_day": learners * 0.1 / 365},
            "attrition": {"annual_rate": 0.1},
            "on_hire": [
                {"course": "ONB-1", "after_days": {"dist": "uniform", "min": 0, "max": 60}}
            ],
        },
    }
    if certificates:
        comp = next(c for c in data["courses"] if c["id"] == "COMP")
        comp["post_enrollments"] = [r for r in comp["post_enrollments"] if r["id"] != "comp-recert"]
        comp["certificate"] = {"valid_for": {"days": 365}, "reenroll_before": {"days": 30}}
        if due_dates:
            comp["due_after"] = {"days": 30}
    return json.dumps(data, indent=1)  # JSON is YAML 1.2
