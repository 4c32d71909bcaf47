# Daybreak: the two commands are `make demo` and `make test`. Everything else here is what they are made of.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := $(CURDIR)/.tools
UV := $(TOOLS)/bin/uv
VENV := $(CURDIR)/.venv
SERVE ?= 1
PYTEST_ARGS ?=
# the suite's workers (pytest-xdist): one per core, at most 8 (two per core measured 38.5 min against 27 on this
# 2-core machine: Spark's JVMs, Airflow and chromium thrash); WORKERS=0 runs it in this one process
WORKERS ?= $(shell n=$$(nproc); echo $$(( n > 8 ? 8 : n )))
# a module's tests share its fixtures, so each module runs on one worker, handed out in tests/conftest.py's order
DIST := --dist loadfile --no-loadscope-reorder
export DAYBREAK_HOME ?= $(CURDIR)/.daybreak
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test check env lint format clean-data help

help:
	@echo "make demo        create the environment, load the demo data, backfill 7 nights on Airflow's scheduler, serve the UIs"
	@echo "make demo SERVE=0  the same without serving (scripts, CI)"
	@echo "make test        create the environment if needed, check the import layers, run the whole test suite"
	@echo "make check       the fast loop: ruff, the import contracts and every test not marked integration"
	@echo "make lint        ruff check and format check"
	@echo "make clean-data  delete the data home ($(DAYBREAK_HOME))"

# uv itself, bootstrapped with nothing but Python's own venv and pip
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# the locked environment; re-synced when the lock or the project changes
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

env: $(VENV)/.synced

demo: env
	SERVE=$(SERVE) $(VENV)/bin/daybreak demo

test: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest -n $(WORKERS) $(DIST) $(PYTEST_ARGS)

check: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest -m "not integration" -n $(WORKERS) $(DIST) $(PYTEST_ARGS)

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: env
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean-data:
	rm -rf "$(DAYBREAK_HOME)"
