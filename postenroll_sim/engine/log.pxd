# C declarations of log.py for the compiled engine core (see store.pxd).
cimport cython

cdef bint COMPILED
cdef Py_ssize_t ROW_SIZE, _CHUNK_ROWS, _CHUNK_BYTES


cdef class EventLog:
    cdef public object rows, sealed, spill, spill_path, details, _detail_code
    cdef public Py_ssize_t n, taken, fill, spilled
    cdef unsigned char[:] _view
    cpdef int code(self, object detail) except -1
    cpdef event(self, double day, int event, int learner=*, int course=*, int enrollment=*,
                int rule=*, int job=*, int detail=*)

    @cython.locals(offset=Py_ssize_t, at=cython.p_uchar, fields=cython.p_int)
    cdef _write(self, double day, int event, int learner, int course, int enrollment,
                int rule, int job, int detail)

    cpdef _seal(self)
    cpdef finish(self)


cdef class NullLog(EventLog):
    pass
