# Quick start: `make demo`, then `make test`. Both create .venv if it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test browser lint bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime: $(VENV)/bin/python pyproject.toml tools/web/package-lock.json
	$(PY) -m pip install -q -e .
	touch $@

# The estimate extra's torch: this pin is a CPU build on these machines' disks (a bare
# torch requirement would pull a multi-GB CUDA build); the extra's range admits it.
TORCH ?= torch==2.13.0

$(VENV)/.test: $(VENV)/bin/python pyproject.toml tools/web/package-lock.json
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[test,estimate,ray]'
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(VENV)/bin/normalkit demo -o out

# Debian's chromium for the viewer's browser tests (installed with apt where missing).
browser:
	tools/ensure_chromium.sh

test: $(VENV)/.test browser
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

bench: $(VENV)/.test
	$(PY) benchmarks/bench_bake.py
	$(PY) benchmarks/bench_reduce.py
	$(PY) benchmarks/bench_render.py
	$(PY) benchmarks/bench_integration.py
	$(PY) benchmarks/bench_estimate.py
	$(PY) benchmarks/bench_view.py
	$(PY) benchmarks/bench_batch.py

clean:
	rm -rf $(VENV) out src/normalkit/viewing/web/vendor tools/web/node_modules
