# Everything starts from python3 alone: the first target that needs it builds .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint format schema clean lab bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the package with its dev tools

demo: $(STAMP)  ## run the bundled default scenario into out/
	$(BIN)/postenroll-sim run --out out --report

test: $(STAMP)  ## lint, then the whole test suite
	$(BIN)/ruff check postenroll_sim tests
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -n 2 --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check postenroll_sim tests
	$(BIN)/ruff format --check postenroll_sim tests

format: $(STAMP)
	$(BIN)/ruff format postenroll_sim tests
	$(BIN)/ruff check --fix postenroll_sim tests

schema: $(STAMP)  ## refresh the committed JSON Schema for editors
	$(BIN)/postenroll-sim schema --out docs/scenario.schema.json

clean:
	rm -rf $(VENV) out .pytest_cache

# JupyterLab opens the notebooks/*.py files (jupytext percent format) as notebooks: the
# project's setting .jupyter/lab-overrides.json goes into this .venv's JupyterLab (its
# overrides.d), never into your own ~/.jupyter; settings you made yourself still win.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.d/postenroll-sim.json
LAB_ARGS ?=

lab: $(STAMP)  ## open the notebooks in JupyterLab as notebooks (installs it into .venv on first use)
	$(BIN)/python -m pip install --quiet -e '.[dev,lab]'
	mkdir -p $(dir $(LAB_OVERRIDES))
	cp .jupyter/lab-overrides.json $(LAB_OVERRIDES)
	$(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

bench: $(STAMP)  ## the benchmarks of docs/performance.md (10k and 100k learners)
	$(BIN)/python -m benchmarks.run --learners 10000,100000
