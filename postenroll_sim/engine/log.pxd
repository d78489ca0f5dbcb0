# C declarations of log.py for the compiled engine core (see store.pxd).

cdef class EventLog:
    cdef public object rows, details, _detail_code
    cpdef int code(self, object detail) except -1
    cpdef event(self, double day, int event, int learner=*, int course=*, int enrollment=*,
                int rule=*, int job=*, int detail=*)


cdef class NullLog(EventLog):
    pass
