"""The model's clock: SimPy advances time slot by slot, a calendar orders the calls within.

A population keeps about one pending call per learner (each learner's next step) and
makes dozens per learner-year. Giving each its own SimPy event costs SimPy's step and a
binary-heap push and pop over a heap as large as the population (cache misses at every
level). Instead calls wait in per-slot columns (1/16 of a day): their instants in a
typed array, callbacks and payloads in lists. One long-lived SimPy process wakes at each
slot that has calls, orders the slot with one numpy argsort of the instants and runs it.

The order is exactly SimPy's: by instant, then priority (script steps before everything
else at an instant, S23), then the order the calls were scheduled (a stable sort keeps
it). A late call (`late_at`) comes after everything else at its instant. Calls scheduled into the slot being run (delay 0, or shorter than what is left of
the slot) and the script's urgent calls go on a small heap that is merged in; ordinary
calls there were scheduled after everything already in the slot, so they come after it
at equal instants.

Instants are whole seconds (S1 v2): the clock rounds every instant it is given to the
second (`columns.whole_second`), so `now` and everything stamped with it compare equal
exactly when they are the same second, whatever float sums led to them.

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

from ..columns import SECONDS_PER_DAY, whole_second

try:
    import cython

    COMPILED = cython.compiled
except ImportError:  # Cython is needed to build the compiled core, not to run
    COMPILED = False

SLOTS_PER_DAY = 16
SECONDS = float(SECONDS_PER_DAY)  # compiled: a C double (clock.pxd)
# priorities at one instant: URGENT and NORMAL as in SimPy; LATE after every other call
# of the instant, even those scheduled while it runs (decisions taken once it is over)
# FIRST before even those (a certificate's expiry, S34)
FIRST, URGENT, NORMAL, LATE = -1, 0, 1, 2
GENERIC = -1  # the handler code of a call made with a Python callback (`call_at`)
PAIR_SHIFT = 32  # `pair(a, b)`: two ids in one argument, `a` in the high half
LOW_HALF = (1 << PAIR_SHIFT) - 1

Callback = Callable[[float, object], None]


def pair(a: int, b: int) -> int:
    """Two non-negative ids (each below 2**31) as one call argument (see `Receiver`)."""
    return (a << PAIR_SHIFT) | b


class Receiver:
    """What the engine's own layers are to the clock: `receive(kind, at, arg)` is called
    for each call scheduled with a handler code from `clock.handler(receiver, kind,
    method)`. Compiled, that is a C call with a C double and a C integer: no bound
    method, no boxed float or payload object per call (most of the engine's calls go this
    way). Interpreted, the clock calls `method(at, arg)` instead, which must do what
    `receive(kind, ...)` does: one Python call rather than two."""

    def receive(self, kind: int, at: float, arg: int) -> None:
        raise NotImplementedError


class Slot:
    """The ordinary calls of one slot, in scheduling order: their instants, handler codes
    and arguments in typed columns with room to spare (compiled: typed views, written in
    place), and the callbacks and payloads of generic calls (GENERIC, `arg` their index)."""

    def __init__(self) -> None:
        self.n = 0
        room = SLOT_ROOM if COMPILED else 0  # interpreted, the columns are appended to
        self._columns = (array("d", bytes(8 * room)), array("i", bytes(4 * room)))
        self._args = array("q", bytes(8 * room))
        self.capacity = room  # compiled: calls the columns have room for
        self.instants, self.handlers = self._columns
        self.args = self._args
        self.generic: list[tuple[Callback, object]] = []

    def add(self, at: float, handler: int, arg: int) -> None:
        if not COMPILED:  # interpreted, appended: cheaper than growing room by hand
            self.instants.append(at)
            self.handlers.append(handler)
            self.args.append(arg)
            self.n += 1
            return
        n = self.n
        if n == self.capacity:
            self.instants = self.handlers = self.args = None  # let go while they grow
            for column in (*self._columns, self._args):
                column.extend(array(column.typecode, bytes(column.itemsize * n)))  # double
            self.instants, self.handlers = self._columns
            self.args = self._args
            self.capacity = 2 * n
        self.instants[n] = at
        self.handlers[n] = handler
        self.args[n] = arg
        self.n = n + 1

    def order(self):
        """Positions of the calls by instant, ties in scheduling order (a stable sort)."""
        instants = np.frombuffer(self._columns[0], dtype=np.float64)[: self.n]
        return np.argsort(instants, kind="stable")


SLOT_ROOM = 16  # calls a slot has room for before its columns grow


class Clock:
    def __init__(self, env: simpy.Environment, horizon: float = float("inf"), origin: float = 0.0):
        """`origin`: the first instant (a whole day; day 0, or before it for a warm start
        that replays a history first, S39). Slots count from it, and SimPy's own time is
        days since it."""
        self.env = env
        self.horizon = horizon
        self.horizon_seconds = horizon * SECONDS  # (whole: the scenario rounds it, S1)
        self.origin = origin
        self.now = origin  # the instant of the call being run (set by the clock alone)
        self.slots_per_day = SLOTS_PER_DAY
        self._slots: dict[int, Slot] = {}  # slot -> its ordinary calls
        self._urgent: dict[int, list[tuple]] = {}  # slot -> hot entries of urgent (late) calls
        self._slot_heap: list[int] = []  # slots that have calls
        self._running = -1  # the slot being run: calls into it go on `_hot`
        # (at, priority, seq, handler, arg, (callback, payload) or None)
        self._hot: list[tuple] = []
        self._seq = count().__next__
        self._receivers: list[Receiver] = []  # handler code -> receiver ...
        self._kinds_array = array("i")  # ... and the kind of call it receives
        self._kinds = self._kinds_array  # compiled: a typed view of it
        self._methods: list[Callable[[float, int], None]] = []  # ... or, interpreted, this
        # called with the day each slot begins, for progress displays; None: nobody watches
        self.on_advance: Callable[[float], None] | None = None
        env.process(self._tick())

    def handler(self, receiver: Receiver, kind: int, method: Callable[[float, int], None]) -> int:
        """A code for `call`: calls with it run `receiver.receive(kind, at, arg)`, or
        interpreted `method(at, arg)`, the same thing (see Receiver)."""
        self._receivers.append(receiver)
        self._methods.append(method)
        self._kinds = None  # a view pins the array: let go while it grows
        self._kinds_array.append(kind)
        self._kinds = self._kinds_array
        return len(self._receivers) - 1

    def _slot_for(self, at: float) -> int:
        """The slot of instant `at` (a whole second); -1 when the call can never happen
        (past the horizon: nothing is scheduled there). Scheduling before `now` is an error."""
        if at > self.horizon:
            return -1
        if at < self.now:
            raise ValueError(f"cannot schedule a call at day {at!r}, before now ({self.now!r})")
        return int((at - self.origin) * self.slots_per_day)

    def _calls(self, slot: int) -> Slot:
        calls = self._slots.get(slot)
        if calls is None:
            calls = self._slots[slot] = Slot()
            if slot not in self._urgent:
                heappush(self._slot_heap, slot)
        return calls

    def call(self, at: float, handler: int, arg: int = 0) -> None:
        """Run the call of `handler` (from `handler()`) with `arg` at instant `at`. (The
        engine's busiest method: `_slot_for` written out, as interpreted a call costs
        more than what it does.)"""
        second = (at * SECONDS + 0.5) // 1.0  # S1: whole seconds (whole_second, written out)
        if not second <= self.horizon_seconds:
            return  # it could never happen (past the horizon, or never: infinity)
        at = second / SECONDS
        if at < self.now:
            raise ValueError(f"cannot schedule a call at day {at!r}, before now ({self.now!r})")
        slot = int((at - self.origin) * self.slots_per_day)  # never negative: at >= now
        if slot <= self._running:
            heappush(self._hot, (at, NORMAL, self._seq(), handler, arg, None))
            return
        calls = self._slots.get(slot)
        if calls is None:
            calls = self._calls(slot)
        calls.add(at, handler, arg)

    def call_at(self, at: float, callback: Callback, payload: object = None) -> None:
        """Run `callback(at, payload)` at instant `at`, never before `now` (any Python
        callable: the script, an audit, tests). Nothing is scheduled past the horizon."""
        at = whole_second(at)
        slot = self._slot_for(at)
        if slot < 0:
            return
        if slot <= self._running:
            heappush(self._hot, (at, NORMAL, self._seq(), GENERIC, 0, (callback, payload)))
            return
        calls = self._calls(slot)
        calls.add(at, GENERIC, len(calls.generic))
        calls.generic.append((callback, payload))

    def urgent_at(self, at: float, callback: Callback, payload: object = None) -> None:
        """Run `callback(at, payload)` at `at` before the ordinary calls of that instant (S23).
        The script's days are scheduled this way before the run starts."""
        self._prioritised(at, URGENT, GENERIC, 0, (callback, payload))

    def first_at(self, at: float, callback: Callback, payload: object = None) -> None:
        """Run `callback(at, payload)` at `at` before every other call of that instant, the
        script's included (S34: expiries come first)."""
        self._prioritised(at, FIRST, GENERIC, 0, (callback, payload))

    def late_at(self, at: float, callback: Callback, payload: object = None) -> None:
        """Run `callback(at, payload)` at `at` once every other call of that instant has run,
        including those scheduled meanwhile (what is decided at the end of an instant, S26)."""
        self._prioritised(at, LATE, GENERIC, 0, (callback, payload))

    def call_first(self, at: float, handler: int, arg: int = 0) -> None:
        """`first_at` for a handler code (`call`): no callback object a call."""
        self._prioritised(at, FIRST, handler, arg, None)

    def call_late(self, at: float, handler: int, arg: int = 0) -> None:
        """`late_at` for a handler code (`call`)."""
        self._prioritised(at, LATE, handler, arg, None)

    def _prioritised(
        self, at: float, priority: int, handler: int, arg: int, generic: tuple | None
    ) -> None:
        at = whole_second(at)
        slot = self._slot_for(at)
        if slot < 0:
            return
        entry = (at, priority, self._seq(), handler, arg, generic)
        if slot <= self._running:
            heappush(self._hot, entry)
            return
        if slot not in self._urgent and slot not in self._slots:
            heappush(self._slot_heap, slot)
        self._urgent.setdefault(slot, []).append(entry)

    def _tick(self):
        env, slot_heap = self.env, self._slot_heap
        while slot_heap:
            slot = heappop(slot_heap)
            start = slot / SLOTS_PER_DAY  # SimPy's time: days since the origin
            if start > env.now:
                yield env.timeout(start - env.now)
                if self.on_advance is not None:
                    self.on_advance(self.origin + start)
            self._run_slot(slot)

    def _dispatch(self, handler: int, at: float, arg: int, generic: tuple | None) -> None:
        self.now = at
        if handler == GENERIC:
            generic[0](at, generic[1])
        elif COMPILED:
            receiver = self._receivers[handler]
            receiver.receive(self._kinds[handler], at, arg)
        else:
            self._methods[handler](at, arg)

    def _run_hot(self, entry: tuple) -> None:
        self._dispatch(entry[3], entry[0], entry[4], entry[5])

    def _run_slot(self, slot: int) -> None:
        hot = self._hot
        hot.extend(self._urgent.pop(slot, ()))
        heapify(hot)
        self._running = slot
        calls = self._slots.pop(slot, None)
        if calls is not None:
            order = calls.order()
            if not COMPILED:
                order = order.tolist()  # interpreted, plain ints index faster than numpy's
            instants, handlers, args = calls.instants, calls.handlers, calls.args
            generic, receivers, kinds, methods = (
                calls.generic,
                self._receivers,
                self._kinds,
                self._methods,
            )
            for position in range(calls.n):  # compiled: typed views, no object a call
                index = order[position]
                at = instants[index]
                # heap calls first if earlier, or at the same instant and urgent
                while hot and (hot[0][0] < at or (hot[0][0] == at and hot[0][1] <= URGENT)):
                    self._run_hot(heappop(hot))
                self.now = at
                handler = handlers[index]
                if handler == GENERIC:
                    callback, payload = generic[args[index]]
                    callback(at, payload)
                elif COMPILED:  # (as _dispatch does, written out: the engine's busiest loop)
                    receiver = receivers[handler]
                    receiver.receive(kinds[handler], at, args[index])
                else:
                    methods[handler](at, args[index])
        while hot:
            self._run_hot(heappop(hot))

    def finish(self) -> None:
        """The run is over: time stands at the horizon (for what is reported then, S24)."""
        self.now = self.horizon
