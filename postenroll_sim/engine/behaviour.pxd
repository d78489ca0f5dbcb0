# C declarations of behaviour.py for the compiled engine core (see store.pxd).
cimport cython

from postenroll_sim.engine.clock cimport Clock
from postenroll_sim.engine.lms cimport LMS, VisibilityListener
from postenroll_sim.engine.log cimport EventLog
from postenroll_sim.engine.store cimport Enrollments, Sessions, unset

# the module's constants as C values (see lms.pxd)
cdef int EV_SESSION_ATTENDED, EV_SESSION_BOOKED, EV_SESSION_MISSED, EV_SESSION_WAITLISTED
cdef int COMPLETE, IN_PROGRESS, NONE, NOT_STARTED, CURRICULUM, ILC
cdef int START, BOOK, ENROLL_MEMBERS, FINISH, ATTEND, PAIR_SHIFT
cdef long long LOW_HALF


cdef class CourseBehaviour:
    cdef public object start_after, duration, uniform
    cdef public double pass_rate, abandon_rate, no_show_rate


cdef class Behaviours(VisibilityListener):
    cdef public Clock clock
    cdef public LMS lms
    cdef public EventLog rec
    cdef public Enrollments enrollments
    cdef public object plan
    cdef public Sessions sessions
    cdef public list by_course, detail, first_open_session, end_of_sessions, waiting, first_step
    cdef int _finish_code, _attend_code

    cpdef receive(self, int kind, double at, long long arg)

    @cython.locals(ens=Enrollments)
    cdef bint _still_open(self, Py_ssize_t enrollment, int status) except -1

    @cython.locals(course=Py_ssize_t, behaviour=CourseBehaviour)
    cpdef on_visible(self, Py_ssize_t enrollment)

    @cython.locals(behaviour=CourseBehaviour)
    cpdef _start(self, double at, Py_ssize_t enrollment)

    cpdef _finish(self, double at, Py_ssize_t enrollment)

    @cython.locals(behaviour=CourseBehaviour)
    cdef _result(self, Py_ssize_t enrollment)

    @cython.locals(behaviour=CourseBehaviour)
    cpdef _book(self, double at, Py_ssize_t enrollment)

    cpdef _attend_paired(self, double at, long long arg)

    @cython.locals(course=Py_ssize_t, index=Py_ssize_t, end=Py_ssize_t, learner=Py_ssize_t,
                   candidate=Py_ssize_t, sessions=Sessions)
    cdef _book_after(self, Py_ssize_t enrollment, double day, bint strictly)

    @cython.locals(status=int, course=Py_ssize_t, detail=int,
                   behaviour=CourseBehaviour, learner=Py_ssize_t,
                   rec=EventLog, lms=LMS, ens=Enrollments, sessions=Sessions)
    cdef _attend(self, double at, Py_ssize_t enrollment, Py_ssize_t session)
