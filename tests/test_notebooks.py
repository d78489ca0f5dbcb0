"""The notebooks run from top to bottom, and the facts they state hold (they assert them)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from helpers import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
PLOTS = re.compile(r"\bP\.(?!course_colors\b)\w+\(")  # a call that draws a figure


def test_there_are_five_notebooks():
    assert len(NOTEBOOKS) == 5


@pytest.fixture(scope="session")
def kernel():
    """One Python kernel per test process, started in notebooks/ as Jupyter starts one
    there; each notebook runs in it from a namespace emptied by `%reset -f` (an import or
    name a notebook forgets is still a NameError), without paying for a kernel that
    imports pandas and matplotlib again per notebook."""
    import jupytext
    from nbclient import NotebookClient

    with pytest.MonkeyPatch.context() as scoped:
        scoped.setenv("MPLBACKEND", "Agg")  # the kernel inherits it from this process
        starter = NotebookClient(jupytext.reads("", fmt="py:percent"), kernel_name="python3")
        starter.km = starter.create_kernel_manager()
        starter.start_new_kernel(cwd=str(ROOT / "notebooks"))
    yield starter.km
    starter._cleanup_kernel()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, kernel):
    import jupytext  # here, not at collection: only the process running notebooks pays
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    assert any(cell.cell_type == "markdown" for cell in notebook.cells), (
        "a notebook explains what it shows"
    )
    fresh = jupytext.reads("# %%\n%reset -f\n", fmt="py:percent").cells[0]
    notebook.cells.insert(0, fresh)
    client = NotebookClient(notebook, km=kernel, timeout=900, kernel_name="python3")
    client.execute()
    assert notebook.cells.pop(0) is fresh and not fresh.outputs
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors
    plotting = [c for c in notebook.cells if c.cell_type == "code" and PLOTS.search(c.source)]
    assert plotting, "every notebook draws its answers"
    for cell in plotting:  # each figure is shown, not only made (`<Figure size ...>` as text)
        shown = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        assert shown, f"no figure shown by the cell:\n{cell.source}"


def test_make_lab_opens_the_py_notebooks_as_notebooks(tmp_path):
    """`make lab` puts the project's JupyterLab setting into the venv's JupyterLab (never
    the user's own): .py files open with jupytext's notebook view, not the text editor."""
    import json

    settings = ROOT / ".jupyter" / "lab-overrides.json"
    viewers = json.loads(settings.read_text())["@jupyterlab/docmanager-extension:plugin"]
    assert viewers["defaultViewers"]["python"] == "Jupytext Notebook"
    makefile = (ROOT / "Makefile").read_text()
    assert "cp .jupyter/lab-overrides.json $(LAB_OVERRIDES)" in makefile
    assert "share/jupyter/lab/settings/overrides.d/" in makefile
    # the viewer is the one jupytext's JupyterLab extension registers (jupytext ships it)
    extension = Path(sys.prefix) / "share/jupyter/labextensions/jupyterlab-jupytext/static"
    scripts = [f.read_text(errors="ignore") for f in extension.glob("*.js")]
    assert any('"Jupytext Notebook"' in text for text in scripts)
    settings_utils = pytest.importorskip("jupyterlab_server.settings_utils")  # the [lab] extra
    overrides_d = tmp_path / "overrides.d"
    overrides_d.mkdir()
    (overrides_d / "postenroll-sim.json").write_text(settings.read_text())
    found, error = settings_utils._get_overrides(str(tmp_path))
    assert not error and found == json.loads(settings.read_text())


def test_saving_a_notebook_in_jupyterlab_rewrites_nothing(tmp_path):
    """`make lab` opens the .py files through jupytext: JupyterLab's save (with its
    kernel's name and language info, each cell's execution metadata) writes the file as
    it is tracked, not with jupytext's version and another kernel name (issue 23)."""
    import shutil

    pytest.importorskip("jupyter_server")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_server.services.contents.largefilemanager import LargeFileManager
    from jupytext.sync_contentsmanager import build_sync_jupytext_contents_manager_class

    for path in NOTEBOOKS:
        shutil.copy(path, tmp_path / path.name)
    manager = build_sync_jupytext_contents_manager_class(LargeFileManager)(root_dir=str(tmp_path))
    kernel = KernelSpecManager().get_kernel_spec("python3")
    for path in NOTEBOOKS:
        notebook = manager.get(path.name, content=True, type="notebook")["content"]
        notebook.metadata["kernelspec"] = {
            "display_name": kernel.display_name,
            "language": "python",
            "name": "python3",
        }
        notebook.metadata["language_info"] = {"name": "python", "version": sys.version.split()[0]}
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.execution_count, cell.outputs = 1, []
                cell.metadata["execution"] = {"iopub.status.idle": "2027-01-04T00:00:00Z"}
        manager.save({"type": "notebook", "format": "json", "content": notebook}, path.name)
        saved = (tmp_path / path.name).read_text(encoding="utf-8")
        assert saved == path.read_text(encoding="utf-8"), path.name
