"""Scheduling callbacks at exact instants on SimPy's clock, with a calendar for the far future.

A population keeps about one pending event per learner (the next step of each learner),
and SimPy's binary heap gets slow when it holds that many: each pop walks log(n) levels
of scattered tuples. So events further ahead than the current slot (1/16 of a day) wait
in per-slot lists, and a slot's list is pushed onto the heap when the slot begins. The
heap then holds about one slot's worth of events. Events at one instant still run in
the order they were scheduled: a slot's list is loaded in order, before anything later
can be scheduled into that slot.
"""

from __future__ import annotations

from heapq import heappush

import simpy
from simpy.core import NORMAL, URGENT

SLOTS_PER_DAY = 16


class Call:
    """A scheduled callback: the minimum SimPy's `step` needs of an event.

    `at` is the exact instant the semantics computed (SimPy adds a delay to its own
    `now`, which may round in the last bit); callbacks read `at`, never `env.now`."""

    __slots__ = ("callbacks", "_ok", "at", "payload")

    def __init__(self, callback, at: float, payload):
        self.callbacks = [callback]
        self._ok = True
        self.at = at
        self.payload = payload


class Clock:
    def __init__(self, env: simpy.Environment, horizon: float = float("inf")):
        self.env = env
        self.horizon = horizon
        self._queue = env._queue  # pushed directly: env.schedule would recompute `at` from a delay
        self._eid = env._eid
        self._slots: dict[int, list[Call]] = {}
        self._loaded = -1  # slots up to this one are on the heap: schedule into them directly

    def call_at(self, at: float, callback, payload=None) -> None:
        """Run `callback(call)` at instant `at` (after script steps at that instant).
        Nothing is scheduled past the horizon: it could never happen."""
        if at > self.horizon:
            return
        call = Call(callback, at, payload)
        slot = int(at * SLOTS_PER_DAY)
        if slot <= self._loaded:
            heappush(self._queue, (at, NORMAL, next(self._eid), call))
            return
        waiting = self._slots.get(slot)
        if waiting is None:
            self._slots[slot] = [call]
            # a slot may begin before now when nothing was scheduled into it until now
            start = max(slot / SLOTS_PER_DAY, self.env.now)
            heappush(self._queue, (start, URGENT, next(self._eid), Call(self._load, start, slot)))
        else:
            waiting.append(call)

    def urgent_at(self, at: float, callback, payload=None) -> None:
        """Run `callback(call)` at `at` before the ordinary events of that instant (S23)."""
        heappush(self._queue, (at, URGENT, next(self._eid), Call(callback, at, payload)))

    def _load(self, loader: Call) -> None:
        slot = loader.payload
        self._loaded = slot
        queue, eid = self._queue, self._eid
        for call in self._slots.pop(slot):
            heappush(queue, (call.at, NORMAL, next(eid), call))
