"""The `postenroll-sim` command line: a thin layer over the Python API, one module per room
(run.py, design.py, qa.py) on a shared ground (base.py: the group, `main`, the options and
steps the commands share). Each command imports what it needs when it runs, so `--help`,
`check` and `lint` do not pay for pandas, the engine or matplotlib.

Exit codes (docs/outputs.md): 0 done; 1 `check`/`lint` found what they look for; 2 the
input or the environment is wrong (a located scenario problem, a bad argument, a folder
that cannot be written or read); 3 an internal error (a bug: please report it);
130 interrupted; 143 terminated (SIGTERM). No traceback reaches a user unless `--debug`
asks for it.
"""

from . import design, preview, qa, run  # noqa: F401 - each registers its commands on the group
from .base import cli, main

__all__ = ["cli", "main"]

if __name__ == "__main__":  # pragma: no cover
    main()
