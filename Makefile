# cmftvb: set up a pip virtual environment and run the study or its tests.
#
#   make demo    set up .venv (if needed), run the default study (config.yaml) offline and
#                build its HTML report (results/report.html)
#   make test    set up .venv (if needed) and run the test suite
#
# Setup is idempotent: it reruns only when requirements.lock or pyproject.toml are newer than the
# stamp file $(VENV)/.cmftvb-installed. Python 3.11, 3.12 or 3.13 (pyproject.toml): the newest
# of python3.13 / python3.12 / python3.11 / python3 that runs and is supported is used, or set
# PYTHON=/path/to/python3.x.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
CORES ?= all
SNAKEMAKE_ARGS ?=
PYTEST_ARGS ?=
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	  if command -v $$p >/dev/null 2>&1 && \
	     $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; \
	  then command -v $$p; break; fi; done)

STAMP := $(VENV)/.cmftvb-installed
PIP := $(VENV)/bin/python -m pip --disable-pip-version-check

.PHONY: help setup demo test lint format report dryrun plan envs bench clean-results

help:
	@echo "make demo          - set up $(VENV) and run the default study (snakemake --cores $(CORES))"
	@echo "make test          - set up $(VENV) and run the tests (pytest \$$PYTEST_ARGS)"
	@echo "make setup         - only set up $(VENV) (pip install -r requirements.lock; pip install -e .)"
	@echo "make dryrun        - show the jobs the default study would run (snakemake -n)"
	@echo "make plan          - jobs, CPU-hours, memory and disk of a study before running it (SNAKEMAKE_ARGS=\"--configfile X\")"
	@echo "make lint          - snakemake --lint, snakefmt --check, ruff check, ruff format --check"
	@echo "make format        - snakefmt and ruff format, in place"
	@echo "make report        - build results/report.html from a finished run"
	@echo "make envs          - regenerate the conda environments envs/*.yaml from requirements.lock"
	@echo "make bench         - regenerate bench/RESULTS.md: engine vs tvb-library and cuBNM (tens of minutes; quiet machine)"
	@echo "make clean-results - delete results/"
	@echo "make help          - this list (the default target)"
	@echo "Python: $(if $(PYTHON),$(PYTHON),none of 3.13/3.12/3.11 found) (override: make PYTHON=/path/to/python3.x)"

# SUITPy 2.1.2 is installed without its dependencies (antspyx, plotly, neuroimagingtools): the
# cerebellar flatmaps only read the surface files it ships, with nibabel.
$(STAMP): requirements.lock pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: no Python 3.11-3.13 found (tried python3.13, python3.12, python3.11, python3); run 'make PYTHON=/path/to/python3.x ...'" >&2; \
	  exit 1; fi
	@if [ ! -x $(VENV)/bin/python ]; then echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); fi
	@$(VENV)/bin/python -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else \
	  "error: $(VENV) is not Python 3.11-3.13; remove it and rerun make")'
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -e .
	$(PIP) install --no-deps suitpy==2.1.2
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)
	$(VENV)/bin/snakemake --report results/report.html $(SNAKEMAKE_ARGS)

# pytest exits 5 when no test was collected (e.g. a -k filter that matches nothing): say so.
test: $(STAMP)
	@rc=0; $(VENV)/bin/pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected" >&2; exit 0; fi; exit $$rc

dryrun: $(STAMP)
	$(VENV)/bin/snakemake -n --cores $(CORES) $(SNAKEMAKE_ARGS)

plan: $(STAMP)
	$(VENV)/bin/python scripts/plan_study.py --cores $(CORES) $(SNAKEMAKE_ARGS)

lint: $(STAMP)
	$(VENV)/bin/snakemake --lint
	$(VENV)/bin/snakefmt --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/snakefmt .
	$(VENV)/bin/ruff format .

report: $(STAMP)
	$(VENV)/bin/snakemake --report results/report.html $(SNAKEMAKE_ARGS)

# envs/cmftvb.yaml (rules: runtime packages) and envs/cmftvb-dev.yaml (everything) mirror
# requirements.lock for conda users (tests check they agree).
envs: $(STAMP)
	$(VENV)/bin/python scripts/make_conda_env.py requirements.lock envs/cmftvb.yaml envs/cmftvb-dev.yaml

clean-results:
	rm -rf results

# The benchmarks (bench/run_all.py -> bench/RESULTS.md). cuBNM 0.1.0 (CPU build from PyPI; wheels
# for Python 3.11 and 3.12 only) goes into a venv of its own, never into $(VENV) (it pins numpy
# 1.x); when it cannot be installed the cuBNM cases are skipped and the report marks them "not run".
BENCH_CUBNM ?= .venv-cubnm
CUBNM_PYTHON ?= $(shell for p in python3.12 python3.11; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys' 2>/dev/null; \
	  then command -v $$p; break; fi; done)
bench: $(STAMP)
	@if [ ! -x $(BENCH_CUBNM)/bin/python ]; then \
	  { [ -n "$(CUBNM_PYTHON)" ] && $(CUBNM_PYTHON) -m venv $(BENCH_CUBNM) && \
	    $(BENCH_CUBNM)/bin/python -m pip --disable-pip-version-check install -q cubnm==0.1.0; } \
	  || { echo "cuBNM 0.1.0 not installed (needs python3.12 or 3.11): its cases are skipped" >&2; \
	       rm -rf $(BENCH_CUBNM); }; fi
	$(VENV)/bin/python bench/run_all.py \
	  $$(test -x $(BENCH_CUBNM)/bin/python && echo --cubnm $(BENCH_CUBNM)/bin/python)
