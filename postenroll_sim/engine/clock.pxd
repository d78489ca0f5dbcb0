# C declarations of clock.py for the compiled engine core (see store.pxd).
cimport cython

cdef int FIRST, URGENT, NORMAL, LATE, GENERIC  # the priorities at one instant, the generic handler
cdef bint COMPILED
cdef int SLOT_ROOM
cdef double SECONDS


cdef class Receiver:
    cpdef receive(self, int kind, double at, long long arg)


cdef class Slot:
    cdef public Py_ssize_t n, capacity
    cdef public tuple _columns
    cdef public object _args
    cdef public double[:] instants
    cdef public int[:] handlers
    cdef public long long[:] args
    cdef public list generic

    @cython.locals(n=Py_ssize_t)
    cpdef add(self, double at, int handler, long long arg)


cdef class Clock:
    cdef public object env
    cdef public double horizon, horizon_seconds
    cdef readonly double origin
    cdef readonly double now
    cdef readonly double slots_per_day
    cdef dict _slots, _urgent
    cdef list _slot_heap, _hot
    cdef Py_ssize_t _running
    cdef object _seq
    cdef list _receivers, _methods
    cdef int[:] _kinds
    cdef object _kinds_array
    cdef public object on_advance

    cpdef Py_ssize_t handler(self, Receiver receiver, int kind, object method) except -1

    @cython.locals(slot=Py_ssize_t)
    cdef Py_ssize_t _slot_for(self, double at) except -2

    @cython.locals(calls=Slot)
    cdef Slot _calls(self, Py_ssize_t slot)

    @cython.locals(slot=Py_ssize_t, second=double)
    cpdef call(self, double at, int handler, long long arg=*)

    @cython.locals(slot=Py_ssize_t, calls=Slot)
    cpdef call_at(self, double at, object callback, object payload=*)

    cpdef urgent_at(self, double at, object callback, object payload=*)

    cpdef first_at(self, double at, object callback, object payload=*)

    cpdef late_at(self, double at, object callback, object payload=*)

    cpdef call_first(self, double at, int handler, long long arg=*)

    cpdef call_late(self, double at, int handler, long long arg=*)

    @cython.locals(slot=Py_ssize_t)
    cdef _prioritised(self, double at, int priority, int handler, long long arg,
                      object generic)

    @cython.locals(receiver=Receiver)
    cdef _dispatch(self, int handler, double at, long long arg, object generic)

    cdef _run_hot(self, tuple entry)

    @cython.locals(hot=list, at=double, index=Py_ssize_t, calls=Slot, handler=int,
                   instants="double[:]", handlers="int[:]", args="long long[:]",
                   generic=list, receivers=list, kinds="int[:]", receiver=Receiver, methods=list,
                   order="const Py_ssize_t[:]", position=Py_ssize_t)
    cdef _run_slot(self, Py_ssize_t slot)

    cpdef finish(self)
