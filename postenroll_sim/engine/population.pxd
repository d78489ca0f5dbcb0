# C declarations of population.py for the compiled engine core (see store.pxd).
cimport cython

from postenroll_sim.engine.clock cimport Clock, Receiver
from postenroll_sim.engine.lms cimport LMS

cdef int ADMIN, SELF, HIRE, HIRE_BATCH, LEAVE, ON_HIRE, SELF_ENROLL, PAIR_SHIFT
cdef long long LOW_HALF


cdef class PopulationDriver(Receiver):
    cdef public Clock clock
    cdef public LMS lms
    cdef public object plan, spec, interarrival, leave
    cdef public Py_ssize_t generated
    cdef public list on_hire, self_enroll
    cdef int _hire_code, _hire_batch_code, _leave_code, _on_hire_code, _self_enroll_code

    cpdef receive(self, int kind, double at, long long arg)

    @cython.locals(now=double, index=Py_ssize_t, delay=double, method=int)
    cpdef _joined(self, Py_ssize_t learner)

    cpdef _enroll(self, Py_ssize_t learner, Py_ssize_t course, int method)

    @cython.locals(learner=Py_ssize_t, index=Py_ssize_t)
    cpdef _on_hire(self, double at, long long arg)

    @cython.locals(learner=Py_ssize_t, index=Py_ssize_t)
    cpdef _self_enroll(self, double at, long long arg)

    cpdef _leave(self, double at, long long learner)

    cpdef _hire(self, double at, long long _arg=*)

    cpdef _hire_batch(self, double at, long long count)
