"""Scheduling at exact instants on SimPy's clock."""

from __future__ import annotations

import simpy
from simpy.events import Event


class At(Event):
    """An already-triggered event for the exact instant `at`, carrying a `payload`.

    SimPy adds a delay to its own `now`, which may round in the last bit; callbacks read
    `at`, so every logged time is the exact value the semantics computed."""

    def __init__(self, env: simpy.Environment, at: float, priority: int, payload=None):
        super().__init__(env)
        self.at = at
        self.payload = payload
        self._ok = True
        self._value = None
        env.schedule(self, priority, at - env.now)
