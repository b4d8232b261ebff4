# make lab      set up .venv if needed, then open JupyterLab on the notebooks (127.0.0.1 only)
# make test     set up .venv if needed, then run every test and execute every notebook (strict nbval)
# make execute  re-execute every notebook in place on the CPU (regenerates the stored outputs)
# make check-device DEVICE=cuda
#               run every notebook on that device: all asserts, outputs not compared
# make nav      rewrite navigation lines, the map in 00, the README table and teacher's path, and the slide marks
# make student  write the student edition (every notebook without its solutions) to build/student/
# make site     build the static site from the stored outputs into build/site/ (open build/site/index.html)
# make slides   build one offline reveal.js deck per notebook into build/slides/
# make translations
#               rebuild the Chinese notebooks (notebooks/zh/) from the English ones and the catalogs
# make python-check
#               say which Python a new .venv would be made with (or why none fits)
# make clean    remove .venv and caches
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
# Quieten pip's notes about local package folders it skips.
PIPFILTER := grep -v "is neither a file nor a directory" || true

DEVICE ?= cuda

# The pins have wheels for Python 3.11 to 3.14 only (numpy 2.4.6, pandas 3.1.1, matplotlib
# 3.11.2 and scikit-learn 1.9.1 have none for 3.10). PYTHON=... names the interpreter to use;
# by default it is the first of PYTHONS on the PATH that fits.
PYTHONS := python3 python3.14 python3.13 python3.12 python3.11
PY_VERSION := import sys; print("%d.%d" % sys.version_info[:2])
PY_FITS = case "$$v" in 3.11|3.12|3.13|3.14) true;; *) false;; esac
PY_HOWTO := install one (Ubuntu 22.04: sudo apt install python3.11 python3.11-venv; macOS: brew install python@3.12; else python.org/downloads) and run again, or name it: make lab PYTHON=/path/to/python3.12
# Sets py and v to the first interpreter that fits, or stops with one message.
FIND_PYTHON = py=; tried=; \
	for c in $(or $(PYTHON),$(PYTHONS)); do \
		if v=$$("$$c" -c '$(PY_VERSION)' 2>/dev/null); then tried="$$tried, $$c is $$v"; else tried="$$tried, no $$c"; continue; fi; \
		if $(PY_FITS); then py=$$c; break; fi; \
	done; \
	if [ -z "$$py" ]; then echo "make: the pinned packages need Python 3.11 to 3.14, found none ($${tried\#, }): $(PY_HOWTO)" >&2; exit 1; fi

# Tests and re-execution run isolated: their Jupyter, IPython and Matplotlib folders (and HOME)
# are in a temporary folder, and the caller's settings (MPLBACKEND=Agg hides every figure, a
# matplotlibrc, an IPython startup file, another python3 kernelspec) are not seen.
ISOLATED = $(BIN)/python tests/isolation.py

.PHONY: lab test execute nav clean venv check-device python-check student site slides translations

venv: $(STAMP)

# Rebuilt when missing or when requirements.txt / pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml
	@if [ -x $(BIN)/python ]; then \
		v=$$($(BIN)/python -c '$(PY_VERSION)'); \
		$(PY_FITS) || { echo "make: $(VENV) was made with Python $$v, but the pinned packages need 3.11 to 3.14: run make clean, then make again" >&2; exit 1; }; \
	else \
		$(FIND_PYTHON); \
		echo "creating $(VENV) with $$py (Python $$v)"; \
		"$$py" -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | { $(PIPFILTER); }
	$(BIN)/python -m pip install --quiet -r requirements.txt 2>&1 | { $(PIPFILTER); }
	@# Build matplotlib's font cache now, so its one-time notice never lands in a notebook output.
	MPLBACKEND=Agg $(BIN)/python -c "import matplotlib.pyplot"
	touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
ROOTFLAG = $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	env -u MPLBACKEND $(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=notebooks $(ROOTFLAG) $(LAB_ARGS)

# Stored outputs come from the CPU, whatever NOTEBOOK_DEVICE the caller's shell exports.
test: $(STAMP)
	NOTEBOOK_DEVICE=cpu $(ISOLATED) $(BIN)/python -m pytest $(PYTEST_ARGS)

student: $(STAMP)
	$(BIN)/python -m helpers.student build/student

# From the stored outputs, nothing re-executed (CI executes and compares them).
site: $(STAMP)
	$(BIN)/python -m helpers.site build/site

slides: $(STAMP)
	$(BIN)/python -m helpers.slides build build/slides

# The Chinese edition is generated first (python -m helpers.translate), then every notebook is
# executed (no NOTEBOOKS: English, then Chinese); the slide marks come last, since how cells share
# a slide depends on the size of their outputs, and the Chinese cells take the English marks.
execute: $(STAMP)
	$(BIN)/python -m helpers.nav
	$(BIN)/python -m helpers.translate
	NOTEBOOK_DEVICE=cpu $(ISOLATED) $(BIN)/python -m helpers.execute $(NOTEBOOKS)
	$(BIN)/python -m helpers.slides mark
	$(BIN)/python -m helpers.translate

# Rebuild the Chinese notebooks from the English ones and the catalogs (notebooks/zh/catalog/),
# then execute those whose code changed.
translations: $(STAMP)
	$(BIN)/python -m helpers.translate
	$(BIN)/python -m helpers.nav
	NOTEBOOK_DEVICE=cpu $(ISOLATED) $(BIN)/python -m helpers.execute --unexecuted notebooks/zh

# Stored outputs come from the CPU, so on another device only the asserts can be checked.
# A device this machine lacks stops it at once with one message, not a failure per cell.
check-device: $(STAMP)
	@$(BIN)/python -c 'import sys; sys.excepthook = lambda t, e, tb: print(f"make check-device DEVICE={sys.argv[1]}: " + str(e).replace(" (from the argument name)", ""), file=sys.stderr); from helpers import pick_device; pick_device(sys.argv[1])' '$(DEVICE)'
	NOTEBOOK_DEVICE=$(DEVICE) $(ISOLATED) $(BIN)/python -m pytest --nbval-lax notebooks -q

# Which interpreter a new $(VENV) would be made with; stops with the reason when none fits.
python-check:
	@$(FIND_PYTHON); echo "$$py (Python $$v)"

nav: $(STAMP)
	$(BIN)/python -m helpers.nav
	$(BIN)/python -m helpers.slides mark
	$(BIN)/python -m helpers.translate

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
