# Everything starts from python3 alone: the first target that needs it builds .venv.
PYTHON ?= python3
# Python caches compiled modules in __pycache__ (ignored by git) even where the machine sets
# PYTHONDONTWRITEBYTECODE: without the cache every test worker, notebook kernel and command
# the tests start compiles the package (and pytest rewrites its asserts) again, a third of
# `make test`.
export PYTHONDONTWRITEBYTECODE :=
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint format schema clean lab preview bench

# The engine core is compiled (Cython) when the package is installed, and again here when
# an engine module changed since; with no C compiler the engine runs interpreted.
CORE   := postenroll_sim/engine/_compiled.json

# The install itself compiles nothing (pip would hide it for a minute): the engine is
# compiled beside it, as soon as Cython is there, while pip fetches and unpacks the rest
# (the two were most of a first setup's wait, one after the other); the compile says so
# and how long it took.
$(STAMP): pyproject.toml hatch_build.py
	@echo "make: creating $(VENV) and installing postenroll-sim with its tools (a minute or two the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet 'cython>=3.0' 'setuptools>=70'
	$(BIN)/python hatch_build.py --allow-interpreted & compiling=$$!; \
	POSTENROLL_SIM_BUILD=interpreted $(BIN)/python -m pip install --quiet -e '.[dev]' \
	  || { kill $$compiling; exit 1; }; \
	wait $$compiling
	touch $(STAMP)

$(CORE): $(STAMP) $(wildcard postenroll_sim/engine/*.py postenroll_sim/engine/*.pxd)
	$(BIN)/python hatch_build.py --allow-interpreted
	@touch $(CORE)
	@$(BIN)/postenroll-sim --version
	@# compiled modules cached once here (pytest's rewritten test modules with them), so
	@# the first `make test` compiles nothing in each of its processes
	@$(BIN)/python -m compileall -q postenroll_sim
	@MPLBACKEND=Agg $(BIN)/python -m pytest --collect-only -q -p no:cacheprovider > /dev/null

setup: $(CORE)  ## create .venv, install the package with its dev tools, compile the core

demo: $(CORE)  ## run the bundled default scenario into out/demo/ (the README tour's other steps: out/*/)
	$(BIN)/postenroll-sim run --out out/demo --report

# the suite includes the semantic tests on the interpreted engine too (a nested pytest:
# tests/test_interpreted_engine.py)
test: $(CORE)  ## lint, then the whole test suite (on both engines)
	$(BIN)/ruff check postenroll_sim tests notebooks benchmarks examples hatch_build.py
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -n 2 --dist worksteal

lint: $(CORE)
	$(BIN)/ruff check postenroll_sim tests notebooks benchmarks examples hatch_build.py
	$(BIN)/ruff format --check postenroll_sim tests notebooks benchmarks examples hatch_build.py

format: $(STAMP)
	$(BIN)/ruff format postenroll_sim tests notebooks benchmarks examples hatch_build.py
	$(BIN)/ruff check --fix postenroll_sim tests notebooks benchmarks examples

schema: $(STAMP)  ## refresh the committed JSON Schema for editors
	$(BIN)/postenroll-sim schema --out docs/scenario.schema.json

clean:
	rm -rf $(VENV) out .pytest_cache

# JupyterLab opens the notebooks/*.py files (jupytext percent format) as notebooks: the
# project's setting .jupyter/lab-overrides.json goes into this .venv's JupyterLab (its
# overrides.d), never into your own ~/.jupyter; settings you made yourself still win.
# Saving a notebook there writes its header as tracked (each file's own jupytext metadata
# filter: tests/test_notebooks.py). JupyterLab refuses to run as root without --allow-root:
# as root (a container) it is given, and said.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.d/postenroll-sim.json
LAB_STAMP := $(VENV)/.lab-installed
LAB_ARGS ?=
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# JupyterLab and jupytext, the `lab` extra's requirements only (read from pyproject.toml):
# installing the package again would compile the unchanged engine again (two minutes)
$(LAB_STAMP): $(STAMP)
	$(BIN)/python -c "import tomllib; print('\n'.join(r for r in tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['lab'] if not r.startswith('postenroll-sim')))" | xargs $(BIN)/python -m pip install --quiet
	touch $(LAB_STAMP)

lab: $(CORE) $(LAB_STAMP)  ## open the notebooks in JupyterLab as notebooks (installs it into .venv on first use)
	mkdir -p $(dir $(LAB_OVERRIDES))
	cp .jupyter/lab-overrides.json $(LAB_OVERRIDES)
	@$(if $(AS_ROOT),echo "make lab: running as root: JupyterLab is started with --allow-root")
	$(BIN)/jupyter lab notebooks/ $(AS_ROOT) $(LAB_ARGS)

# The interactive preview served as a page (docs/preview.md): SCENARIO=... PORT=...
SCENARIO ?= scenarios/showcase.yaml
PORT ?= 8866

preview: $(CORE)  ## the interactive preview of SCENARIO (default: the showcase) at http://127.0.0.1:PORT/
	$(BIN)/postenroll-sim preview $(SCENARIO) --port $(PORT)

bench: $(CORE)  ## the benchmarks of docs/performance.md (10k and 100k learners)
	$(BIN)/python -m benchmarks.run --learners 10000,100000
