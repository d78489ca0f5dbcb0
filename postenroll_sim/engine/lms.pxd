# C declarations of lms.py for the compiled engine core (see store.pxd). Methods an audit
# replay overrides (postenroll_sim/qa/audit/replay.py) are cpdef: a Python subclass still wins.
cimport cython

from postenroll_sim.engine.clock cimport Clock, Receiver
from postenroll_sim.engine.log cimport EventLog
from postenroll_sim.engine.store cimport Enrollments, Jobs, Store

# the module's constants as C values (lms.py sets them; other modules import theirs
# from where they are defined, columns.py and store.py)
cdef int ADMIN, SELF, POST_ENROLLMENT, BUNDLE_METHOD, RE_ENROLLMENT, N_TRIGGERS
cdef int EV_BUNDLE_COURSE_ADDED, EV_BUNDLE_COURSE_REMOVED, EV_BUNDLE_MEMBER_SKIPPED
cdef int EV_CASCADE_LIMIT, EV_COMPLETED, EV_COURSE_ACTIVATED, EV_COURSE_DEACTIVATED
cdef int EV_ENROLLED, EV_FAILED, EV_JOB_PROCESSED, EV_JOB_QUEUED, EV_LEARNER_ADDED
cdef int EV_LEARNER_REMOVED, EV_RULE_ADDED, EV_RULE_EDITED, EV_RULE_REMOVED
cdef int EV_SELF_ENROLL_REJECTED, EV_STARTED, EV_SUPERSEDED, EV_VISIBLE
cdef int O_ENROLLED, O_OPEN, O_COMPLETED, O_REMOVED, O_CASCADE, O_PENDING
cdef int BUNDLE, COMPLETED, CURRICULUM, ENROLLED, FAILED
cdef int COMPLETE, IN_PROGRESS, NONE, NOT_STARTED, FAILED_STATUS
cdef double NAN, NEVER


cdef class JobScheduler(Receiver):
    cpdef schedule_job(self, Py_ssize_t job, double due)


cdef class VisibilityListener(Receiver):
    cpdef on_visible(self, Py_ssize_t enrollment)


cdef class LMS:
    cdef public object plan
    cdef public Clock clock
    cdef public Store store
    cdef public list learner_ids
    cdef public Enrollments enrollments
    cdef public Jobs jobs
    cdef public EventLog rec
    cdef public tuple observers
    cdef public JobScheduler scheduler
    cdef public Py_ssize_t nc
    cdef public object prerequisites, curricula_of, groups
    cdef public object course_types
    cdef public list active, bundle_members
    cdef public object _no_courses, _never_completed
    cdef public tuple _arrays
    cdef public signed char[:] removed
    cdef public int[:] current, completed_by
    cdef public double[:] last_completed
    cdef public dict invisible
    cdef public list to_start
    cdef public list bundle_holders
    cdef public dict version_of
    cdef public list course_rules, in_force, job_version
    cdef public Py_ssize_t cascade_limit
    cdef public double _guard_at
    cdef public dict _guard_counts
    cdef public list warnings
    cdef public VisibilityListener listener
    cdef public list method_detail
    cdef public list outcome_detail
    cdef public object desk
    cdef public signed char[:] certified, dated

    @cython.locals(versions=tuple, now=double, due=double, job=Py_ssize_t, rule=Py_ssize_t,
                   delay=double)
    cdef _trigger(self, Py_ssize_t learner, Py_ssize_t course, int trigger, Py_ssize_t enrollment)

    @cython.locals(learner=Py_ssize_t, now=double, count=Py_ssize_t, nc=Py_ssize_t,
                   position=Py_ssize_t, target=Py_ssize_t, key=Py_ssize_t,
                   enrollment=Py_ssize_t, reason=Py_ssize_t, outcome=int, cur=Py_ssize_t,
                   rule=Py_ssize_t, targets=tuple, consecutive=bint, ens=Enrollments)
    cpdef process_job(self, Py_ssize_t job)

    cpdef post_enroll(self, Py_ssize_t learner, Py_ssize_t target, Py_ssize_t rule,
                      Py_ssize_t job)

    cpdef re_enroll(self, Py_ssize_t learner, Py_ssize_t course, Py_ssize_t job)

    @cython.locals(now=double, key=Py_ssize_t, previous=Py_ssize_t, active=bint,
                   enrollment=Py_ssize_t, kind=int, rec=EventLog, ens=Enrollments)
    cpdef Py_ssize_t enroll(self, Py_ssize_t learner, Py_ssize_t course, int method,
                            Py_ssize_t rule=*, Py_ssize_t job=*) except? -2

    cpdef enroll_from_bundle(self, Py_ssize_t learner, Py_ssize_t course, Py_ssize_t bundle)

    @cython.locals(current=Py_ssize_t)
    cpdef bint is_open(self, Py_ssize_t learner, Py_ssize_t course) except -1

    cpdef Py_ssize_t self_enroll(self, Py_ssize_t learner, Py_ssize_t course) except? -2

    @cython.locals(base=Py_ssize_t, required=Py_ssize_t, done=Py_ssize_t,
                   needed=Py_ssize_t)
    cpdef bint prerequisites_met(self, Py_ssize_t learner, Py_ssize_t course) except -1

    @cython.locals(now=double, ens=Enrollments)
    cpdef start(self, Py_ssize_t enrollment)

    @cython.locals(now=double, learner=Py_ssize_t, course=Py_ssize_t, key=Py_ssize_t,
                   current=Py_ssize_t, ens=Enrollments)
    cpdef complete(self, Py_ssize_t enrollment)

    cpdef fail(self, Py_ssize_t enrollment)

    @cython.locals(base=Py_ssize_t)
    cpdef bint counts_for(self, Py_ssize_t learner, Py_ssize_t curriculum,
                          Py_ssize_t member) except -1

    @cython.locals(satisfied=bint, progress=bint, done=Py_ssize_t, required=Py_ssize_t,
                   member=Py_ssize_t)
    cdef tuple _curriculum_progress(self, Py_ssize_t learner, Py_ssize_t curriculum)

    cpdef check_curriculum(self, Py_ssize_t learner, Py_ssize_t curriculum,
                           Py_ssize_t enrollment)

    cpdef start_curriculum_later(self, Py_ssize_t enrollment)

    @cython.locals(ens=Enrollments, enrollment=Py_ssize_t)
    cpdef _start_curricula(self, double at, object payload)

    cpdef add_learner(self, Py_ssize_t learner)

    cpdef Py_ssize_t new_learners(self, list learner_ids) except -1
