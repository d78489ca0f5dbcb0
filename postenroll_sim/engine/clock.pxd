# C declarations of clock.py for the compiled engine core (see store.pxd).
cimport cython

cdef int URGENT, NORMAL  # the priorities at one instant, as C values
cdef bint COMPILED


cdef class Clock:
    cdef public object env
    cdef public double horizon
    cdef readonly double now
    cdef readonly double slots_per_day
    cdef dict _slots, _urgent
    cdef list _slot_heap, _hot
    cdef Py_ssize_t _running
    cdef object _seq
    cdef public object on_advance

    @cython.locals(slot=Py_ssize_t, columns=tuple, instants=object, callbacks=list, payloads=list)
    cpdef call_at(self, double at, object callback, object payload=*)

    @cython.locals(slot=Py_ssize_t)
    cpdef urgent_at(self, double at, object callback, object payload=*)

    @cython.locals(hot=list, at=double, index=Py_ssize_t, entry=tuple, callbacks=list,
                   payloads=list, instants="double[:]", order="const Py_ssize_t[:]", position=Py_ssize_t)
    cdef _run_slot(self, Py_ssize_t slot)

    cpdef finish(self)
