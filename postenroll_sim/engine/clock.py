"""The model's clock: SimPy advances time slot by slot, a calendar orders the calls within.

A population keeps about one pending call per learner (each learner's next step) and
makes dozens per learner-year. Giving each its own SimPy event costs SimPy's step and a
binary-heap push and pop over a heap as large as the population (cache misses at every
level). Instead calls wait in per-slot columns (1/16 of a day): their instants in a
typed array, callbacks and payloads in lists. One long-lived SimPy process wakes at each
slot that has calls, orders the slot with one numpy argsort of the instants and runs it.

The order is exactly SimPy's: by instant, then priority (script steps before everything
else at an instant, S23), then the order the calls were scheduled (a stable sort keeps
it). Calls scheduled into the slot being run (delay 0, or shorter than what is left of
the slot) and the script's urgent calls go on a small heap that is merged in; ordinary
calls there were scheduled after everything already in the slot, so they come after it
at equal instants.

Time has one owner: the clock sets `now` to a call's exact instant before it runs the
call (as SimPy's `step()` sets its `now` before it processes an event), and everything
else reads `clock.now`. Callbacks are also handed the instant, as `callback(at,
payload)`. Scheduling before `now` is an error, as SimPy's `Timeout` rejects a negative
delay. SimPy's own `env.now` is the start of the slot being run and is never used for
the rules.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from itertools import count

import numpy as np
import simpy

try:
    import cython

    COMPILED = cython.compiled
except ImportError:  # Cython is needed to build the compiled core, not to run
    COMPILED = False

SLOTS_PER_DAY = 16
URGENT, NORMAL = 0, 1  # priorities at one instant, as in SimPy

Callback = Callable[[float, object], None]


class Clock:
    def __init__(self, env: simpy.Environment, horizon: float = float("inf")):
        self.env = env
        self.horizon = horizon
        self.now = 0.0  # the instant of the call being run (set by the clock alone)
        self.slots_per_day = SLOTS_PER_DAY
        # slot -> (instants, callbacks, payloads) of its ordinary calls, in scheduling order
        self._slots: dict[int, tuple[array, list[Callback], list[object]]] = {}
        self._urgent: dict[int, list[tuple]] = {}  # slot -> (at, URGENT, seq, callback, payload)
        self._slot_heap: list[int] = []  # slots that have calls
        self._running = -1  # the slot being run: calls into it go on `_hot`
        self._hot: list[tuple] = []  # (at, priority, seq, callback, payload)
        self._seq = count().__next__
        # called with the day each slot begins, for progress displays; None: nobody watches
        self.on_advance: Callable[[float], None] | None = None
        env.process(self._tick())

    def call_at(self, at: float, callback: Callback, payload: object = None) -> None:
        """Run `callback(at, payload)` at instant `at`, never before `now`. Nothing is
        scheduled past the horizon: it could never happen."""
        if at > self.horizon:
            return
        if at < self.now:
            raise ValueError(f"cannot schedule a call at day {at!r}, before now ({self.now!r})")
        slot = int(at * self.slots_per_day)
        if slot <= self._running:
            heappush(self._hot, (at, NORMAL, self._seq(), callback, payload))
            return
        columns = self._slots.get(slot)
        if columns is None:
            self._slots[slot] = (array("d", (at,)), [callback], [payload])
            if slot not in self._urgent:
                heappush(self._slot_heap, slot)
            return
        instants, callbacks, payloads = columns
        instants.append(at)
        callbacks.append(callback)
        payloads.append(payload)

    def urgent_at(self, at: float, callback: Callback, payload: object = None) -> None:
        """Run `callback(at, payload)` at `at` before the ordinary calls of that instant (S23).
        The script's days are scheduled this way before the run starts."""
        if at > self.horizon:
            return
        if at < self.now:
            raise ValueError(f"cannot schedule a call at day {at!r}, before now ({self.now!r})")
        slot = int(at * self.slots_per_day)
        if slot <= self._running:
            heappush(self._hot, (at, URGENT, self._seq(), callback, payload))
            return
        if slot not in self._urgent and slot not in self._slots:
            heappush(self._slot_heap, slot)
        self._urgent.setdefault(slot, []).append((at, URGENT, self._seq(), callback, payload))

    def _tick(self):
        env, slot_heap = self.env, self._slot_heap
        while slot_heap:
            slot = heappop(slot_heap)
            start = slot / SLOTS_PER_DAY
            if start > env.now:
                yield env.timeout(start - env.now)
                if self.on_advance is not None:
                    self.on_advance(start)
            self._run_slot(slot)

    def _run_slot(self, slot: int) -> None:
        hot = self._hot
        hot.extend(self._urgent.pop(slot, ()))
        heapify(hot)
        self._running = slot
        instants, callbacks, payloads = self._slots.pop(slot, (array("d"), [], []))
        order = np.argsort(np.frombuffer(instants, dtype=np.float64), kind="stable")
        if not COMPILED:
            order = order.tolist()  # interpreted, plain ints index faster than numpy's
        for position in range(len(order)):  # compiled: a typed view, no object a call
            index = order[position]
            at = instants[index]
            # heap calls first if earlier, or at the same instant and urgent
            while hot and (hot[0][0] < at or (hot[0][0] == at and hot[0][1] == URGENT)):
                entry = heappop(hot)
                self.now = entry[0]
                entry[3](entry[0], entry[4])
            self.now = at
            callbacks[index](at, payloads[index])
        while hot:
            entry = heappop(hot)
            self.now = entry[0]
            entry[3](entry[0], entry[4])

    def finish(self) -> None:
        """The run is over: time stands at the horizon (for what is reported then, S24)."""
        self.now = self.horizon
