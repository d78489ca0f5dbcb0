cimport cython

# C declarations of store.py for the compiled engine core (hatch_build.py): the Python
# source stays the one definition; this file only gives its classes C fields and methods.

cpdef bint unset(double day) noexcept
cpdef Py_ssize_t room(Py_ssize_t size)


cdef class Enrollments:
    cdef public Py_ssize_t n
    cdef public tuple _arrays
    cdef public int[:] learner, course, rule, job
    cdef public signed char[:] method, status
    cdef public double[:] enrolled, visible, started, completed, failed, superseded
    @cython.locals(eid=Py_ssize_t)
    cpdef Py_ssize_t new(self, int learner, int course, int method, int rule, int job,
                         double day, double visible) except -1
    cpdef bint is_current(self, Py_ssize_t enrollment) except -1
    cpdef bint is_visible(self, Py_ssize_t enrollment) except -1


cdef bint COMPILED
cdef Py_ssize_t _JOB_SIZE, _OUTCOME_SIZE


cdef class Jobs:
    cdef public Py_ssize_t n, n_outcomes
    cdef public object _learner, rows, outcomes
    cdef public int[:] learner
    cdef unsigned char[:] _rows_view, _outcomes_view

    @cython.locals(offset=Py_ssize_t, at=cython.p_uchar)
    cdef _write_job(self, Py_ssize_t jid, int rule, int source, int trigger,
                    int trigger_enrollment, double queued, double due)

    @cython.locals(offset=Py_ssize_t, at=cython.p_uchar)
    cdef _write_outcome(self, int job, int position, int target, int outcome,
                        double processed, int enrollment, int reason)

    cpdef finish(self)
    @cython.locals(jid=Py_ssize_t)
    cpdef Py_ssize_t new(self, int rule, int learner, int source, int trigger,
                         int trigger_enrollment, double queued, double due) except -1
    cpdef int outcome(self, int job, int position, int target, int outcome, double processed,
                      int enrollment, int reason=*) except -1


cdef class Sessions:
    cdef public Py_ssize_t n
    cdef public list ids
    cdef public tuple _arrays
    cdef public int[:] course, capacity, booked, attended, missed
    cdef public double[:] day


cdef class Store:
    cdef public object learner_ids
    cdef public Enrollments enrollments
    cdef public Jobs jobs
    cdef public Sessions sessions
    cdef public object certificates
