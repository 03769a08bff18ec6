# One obvious command per job. Each installs what it needs first, so every
# target works on a fresh machine.
PYTHON ?= python3
PIP := $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test lint bench install-dev

demo:
	$(PIP) -e '.[cli,ui]'
	$(PYTHON) -m enact.demo

install-dev:
	$(PIP) -e '.[dev]'

lint: install-dev
	$(PYTHON) -m ruff check src tests bench examples
	$(PYTHON) -m ruff format --check src tests bench examples
	$(PYTHON) -m mypy --strict src

test: lint
	$(PYTHON) -m pytest -q

# The full suite (1-2 min) rewrites bench/RESULTS.md; for a smoke run without
# writing: make bench BENCH_ARGS=--quick
BENCH_ARGS ?= --write

bench: install-dev
	$(PYTHON) bench/run.py $(BENCH_ARGS)
