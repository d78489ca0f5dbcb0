"""The preview served as a standalone page: Voila runs the bundled notebook
(`preview.ipynb`, which shows `Preview(SCENARIO)` and nothing else) on a kernel of this
very interpreter, and `serve` returns once the server says it is listening.

The notebook learns its scenario from the environment (`SCENARIO_ENV`, `CWD_ENV`) that
its kernel inherits from the server; the kernel is a kernelspec written for the run
(`KERNEL`, in a temporary JUPYTER_PATH folder), so a user's own `python3` kernel, which
may be another Python without this package, is never the one that starts.
"""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

NOTEBOOK = Path(__file__).with_name("preview.ipynb")
KERNEL = "postenroll-sim-preview"  # the notebook's kernelspec name
SCENARIO_ENV = "POSTENROLL_PREVIEW_SCENARIO"
CWD_ENV = "POSTENROLL_PREVIEW_CWD"
READY = re.compile(r"(https?://\S+?:(\d+)/\S*)")  # the line after "Voilà is running at:"
DEFAULT_PORT = 8866  # Voila's own: the next free one is taken when it is busy
# Each page opened starts a kernel (the simulator loaded: about 200 MB). Voila shuts it
# down when the page is reloaded or closed by a request the server refuses without an
# _xsrf cookie it never set (403: voila-dashboards/voila#1458), so the kernel of a page
# no longer open is culled instead: one with no connection, idle for this long (s).
# A page still open keeps its kernel however long it is left.
CULL_IDLE = 120
CULL_INTERVAL = 30  # how often the server looks (s)


class ServeProblem(RuntimeError):
    """The server did not start: why, in a line (and the end of what it said)."""


@dataclass
class Server:
    """A running Voila server: its address, and `stop()`."""

    process: subprocess.Popen
    url: str
    folder: tempfile.TemporaryDirectory
    said: collections.deque = field(default_factory=lambda: collections.deque(maxlen=40))

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Voila shuts its kernels down), then SIGKILL if it does not end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.folder.cleanup()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _kernelspec(folder: Path) -> None:
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "postenroll-sim preview",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )


def voila_command(port: int, cull_idle: int = CULL_IDLE, cull_interval: int = CULL_INTERVAL):
    return [
        sys.executable,
        "-m",
        "voila",
        str(NOTEBOOK),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=False",
        "--strip_sources=True",
        "--theme=light",
        # JupyterLab's own extensions that `make lab` installs beside Voila do not load
        # outside JupyterLab and fill the browser's console with errors
        "--VoilaConfiguration.extension_denylist=jupyterlab-jupytext",
        "--VoilaConfiguration.extension_denylist=@voila-dashboards/jupyterlab-preview",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
        f"--MappingKernelManager.cull_interval={cull_interval}",
        "--MappingKernelManager.cull_connected=False",  # an open page keeps its kernel
    ]


def serve(
    scenario: str | Path,
    port: int = DEFAULT_PORT,
    ready_timeout: float = 60.0,
    env: dict[str, str] | None = None,
    cull_idle: int = CULL_IDLE,
    cull_interval: int = CULL_INTERVAL,
) -> Server:
    """Start Voila on the preview notebook for `scenario` and return once it listens
    (ServeProblem if it ends first or says nothing within `ready_timeout` seconds). The
    page's kernel starts when the page is first opened, and ends `cull_idle` seconds after
    the page is closed or reloaded."""
    folder = tempfile.TemporaryDirectory(prefix="postenroll-preview-")
    _kernelspec(Path(folder.name))
    environment = {**os.environ, **(env or {})}
    environment[SCENARIO_ENV] = str(scenario)
    environment[CWD_ENV] = os.getcwd()
    environment["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (folder.name, environment.get("JUPYTER_PATH", "")) if p
    )
    environment.setdefault("MPLBACKEND", "Agg")
    try:
        process = subprocess.Popen(
            voila_command(port, cull_idle, cull_interval),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=environment,
            start_new_session=True,  # Ctrl-C on the terminal is ours to pass on, not Voila's
        )
    except OSError as exc:
        folder.cleanup()
        raise ServeProblem(f"cannot start Voila: {exc.strerror or exc}") from None
    server = Server(process, "", folder)
    found = threading.Event()

    def read() -> None:  # drains the output for as long as the server runs
        assert process.stdout is not None
        for line in process.stdout:
            server.said.append(line.rstrip())
            match = READY.search(line)
            if not found.is_set() and match and "running at" in "".join(server.said):
                server.url = match.group(1)
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    started = time.monotonic()
    found.wait(ready_timeout)
    if not server.url:
        waited = time.monotonic() - started
        ended = process.poll() is not None
        server.stop()
        last = "\n".join(list(server.said)[-8:])
        why = "Voila ended" if ended else f"Voila said nothing ready within {waited:.0f} s"
        raise ServeProblem(f"{why}; its last words:\n{last}" if last else why)
    return server
