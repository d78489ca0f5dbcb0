# C declarations of certificates.py for the compiled engine core (see store.pxd). The LMS
# is an object here: lms.py imports this module, so cimporting its class would be circular.
cimport cython

from postenroll_sim.engine.clock cimport Clock, Receiver
from postenroll_sim.engine.log cimport EventLog
from postenroll_sim.engine.store cimport Enrollments, Jobs

# the module's constants as C values (see lms.pxd)
cdef int RE_ENROLLMENT, EXPIRING, EV_AWARDED, EV_EXPIRED, EV_OVERDUE, EV_JOB_QUEUED
cdef int EV_JOB_PROCESSED, O_ENROLLED, O_OPEN, O_REMOVED, O_RENEWED, EXPIRE, OVERDUE
cdef int COMPLETE, NONE
cdef double NAN, SECONDS


cdef class CertificateRecords:
    cdef public bint re_enrolls
    cdef public object learner, course, enrollment, awarded, expires, replaced, expired
    cdef public dict job_certificate, due


cdef class CertificateDesk(Receiver):
    cdef public object lms
    cdef public Clock clock
    cdef public EventLog rec
    cdef public Enrollments enrollments
    cdef public Jobs jobs
    cdef public Py_ssize_t nc
    cdef public object calendar
    cdef public list certificate, due_after, renewal_due
    cdef public double[:] valid_days, window_days
    cdef public CertificateRecords records
    cdef public dict held, given_expiry
    cdef public int expire_code, overdue_code

    cpdef receive(self, int kind, double at, long long arg)

    @cython.locals(valid=double, second=double, held=object)
    cpdef double expiry(self, Py_ssize_t course, Py_ssize_t key, double now) except? -1.0

    @cython.locals(records=CertificateRecords, ens=Enrollments, now=double,
                   learner=Py_ssize_t, course=Py_ssize_t, key=Py_ssize_t, expires=double,
                   held=Py_ssize_t, certificate=Py_ssize_t, window=double, due=double,
                   job=Py_ssize_t)
    cpdef award(self, Py_ssize_t enrollment)

    @cython.locals(records=CertificateRecords)
    cpdef _expire(self, double at, long long certificate)

    @cython.locals(records=CertificateRecords, ens=Enrollments, now=double,
                   learner=Py_ssize_t, certificate=Py_ssize_t, course=Py_ssize_t,
                   key=Py_ssize_t, current=Py_ssize_t, enrollment=Py_ssize_t,
                   reason=Py_ssize_t, outcome=int)
    cpdef process(self, Py_ssize_t job)

    @cython.locals(course=Py_ssize_t, now=double, due=double)
    cpdef enrolled(self, Py_ssize_t enrollment, int method)

    @cython.locals(ens=Enrollments, learner=Py_ssize_t)
    cpdef _check_overdue(self, double at, long long enrollment)
