"""The model's clock: SimPy advances time slot by slot, a calendar orders the calls within.

A population keeps about one pending call per learner (each learner's next step) and
makes dozens per learner-year. Giving each its own SimPy event costs SimPy's step and a
binary-heap push and pop over a heap as large as the population (cache misses at every
level). Instead calls wait in per-slot lists (1/16 of a day); one long-lived SimPy
process wakes at each slot that has calls, sorts the slot's list once and runs it.

The order is exactly SimPy's: by instant, then priority (script steps before everything
else at an instant, S23), then the order the calls were scheduled. Calls scheduled into
the slot being run (delay 0, or shorter than what is left of the slot) go on a small
heap that is merged in; they were scheduled after everything already in the slot, so
they come after it at equal instants.

Callbacks are called as `callback(at, payload)` with the exact instant the semantics
computed; SimPy's own `now` is the slot's start and is never used for the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count

import simpy

SLOTS_PER_DAY = 16
URGENT, NORMAL = 0, 1  # priorities at one instant, as in SimPy

Callback = Callable[[float, object], None]


class Clock:
    def __init__(self, env: simpy.Environment, horizon: float = float("inf")):
        self.env = env
        self.horizon = horizon
        self._slots: dict[int, list[tuple]] = {}  # slot -> calls (at, priority, seq, fn, payload)
        self._slot_heap: list[int] = []  # slots that have calls
        self._running = -1  # the slot being run: calls into it go on `_hot`
        self._hot: list[tuple] = []
        self._seq = count().__next__
        env.process(self._tick())

    def call_at(
        self, at: float, callback: Callback, payload: object = None, priority: int = NORMAL
    ) -> None:
        """Run `callback(at, payload)` at instant `at` (`at` is never before the current
        call's instant). Nothing is scheduled past the horizon: it could never happen."""
        if at > self.horizon:
            return
        slot = int(at * SLOTS_PER_DAY)
        call = (at, priority, self._seq(), callback, payload)
        if slot <= self._running:
            heappush(self._hot, call)
            return
        waiting = self._slots.get(slot)
        if waiting is None:
            self._slots[slot] = [call]
            heappush(self._slot_heap, slot)
        else:
            waiting.append(call)

    def urgent_at(self, at: float, callback: Callback, payload: object = None) -> None:
        """Run `callback(at, payload)` at `at` before the ordinary calls of that instant (S23)."""
        self.call_at(at, callback, payload, URGENT)

    def _tick(self):
        env, slot_heap = self.env, self._slot_heap
        while slot_heap:
            slot = heappop(slot_heap)
            start = slot / SLOTS_PER_DAY
            if start > env.now:
                yield env.timeout(start - env.now)
            self._run_slot(slot)

    def _run_slot(self, slot: int) -> None:
        calls = self._slots.pop(slot)
        calls.sort()  # (at, priority, seq): seq is unique, callbacks are never compared
        hot = self._hot
        self._running = slot
        for call in calls:
            while hot and hot[0] < call:
                at, _, _, callback, payload = heappop(hot)
                callback(at, payload)
            at, _, _, callback, payload = call
            callback(at, payload)
        while hot:
            at, _, _, callback, payload = heappop(hot)
            callback(at, payload)
