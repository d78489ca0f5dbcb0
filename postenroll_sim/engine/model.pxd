# C declarations of model.py for the compiled engine core (see store.pxd).
cimport cython

from postenroll_sim.engine.clock cimport Clock
from postenroll_sim.engine.lms cimport LMS, JobScheduler
from postenroll_sim.engine.log cimport EventLog
from postenroll_sim.engine.store cimport Store


cdef class Model(JobScheduler):
    cdef public object plan, env, behaviours, population, _daily_hour, script
    cdef public tuple drivers, observers
    cdef public EventLog log
    cdef public Clock clock
    cdef public LMS lms
    cdef public Store store
    cdef public list _past_horizon
    cdef public bint warm
    cdef double _horizon
    cdef int _run_job_code

    @cython.locals(at=double)
    cpdef schedule_job(self, Py_ssize_t job, double due)

    cpdef double run_at(self, double due)

    cpdef receive(self, int kind, double at, long long arg)

    cpdef _run_job(self, double at, long long job)


cdef double SECONDS

@cython.locals(offset=double, second=double, runs=double)
cpdef double daily_run_at(double due, int hour)
