"""The errors a user is shown as one line (exit 2), kept in a module that imports nothing,
so the command line can name them without loading pandas or the engine."""


class UsageProblem(Exception):
    """A bad argument or missing file: a one-line reason, exit 2."""


class OutputError(Exception):
    """An output folder that cannot be written or read: a one-line reason for the user."""


class SchedulerError(Exception):
    """The Dask scheduler cannot be reached (or was lost): a one-line reason."""


class Terminated(BaseException):
    """SIGTERM: the command stops as on Ctrl-C (workers ended, nothing committed), exit 143.
    A BaseException, like KeyboardInterrupt, so no `except Exception` swallows it."""
