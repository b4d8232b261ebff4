# make lab      set up .venv if needed, then open JupyterLab on the notebooks (127.0.0.1 only)
# make test     set up .venv if needed, then run every test and execute every notebook (strict nbval)
# make execute  re-execute every notebook in place on the CPU (regenerates the stored outputs)
# make check-device DEVICE=cuda
#               run every notebook on that device: all asserts, outputs not compared
# make nav      rewrite navigation lines, the map in 00 and the README table from the titles
# make clean    remove .venv and caches
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
# Quieten pip's notes about local package folders it skips.
PIPFILTER := grep -v "is neither a file nor a directory" || true

DEVICE ?= cuda

.PHONY: lab test execute nav clean venv check-device

venv: $(STAMP)

# Rebuilt when missing or when requirements.txt / pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is needed; set PYTHON=python3.x")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | { $(PIPFILTER); }
	$(BIN)/python -m pip install --quiet -r requirements.txt 2>&1 | { $(PIPFILTER); }
	@# Build matplotlib's font cache now, so its one-time notice never lands in a notebook output.
	MPLBACKEND=Agg $(BIN)/python -c "import matplotlib.pyplot"
	touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
ROOTFLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=notebooks $(ROOTFLAG) $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

execute: $(STAMP)
	$(BIN)/python -m helpers.nav
	NOTEBOOK_DEVICE=cpu $(BIN)/python -m helpers.execute $(NOTEBOOKS)

# Stored outputs come from the CPU, so on another device only the asserts can be checked.
check-device: $(STAMP)
	NOTEBOOK_DEVICE=$(DEVICE) $(BIN)/python -m pytest --nbval-lax notebooks -q

nav: $(STAMP)
	$(BIN)/python -m helpers.nav

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
