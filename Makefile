# The two commands of the README's quick start, and what CI adds to them.
#   make run    install outreach into .venv and run it on embedded defaults (SQLite, local outbox)
#   make test   install the dev tools and run the whole test suite
#   make check  lint, type-check, check the import contracts (pyproject.toml), and compare the
#               migrations with the models on both backends

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HTMX := src/outreach/web/static/vendor/htmx.min.js

.PHONY: run test check

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "outreach needs Python 3.11 or newer; set PYTHON=python3.x"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.installed

$(HTMX): frontend.json | $(BIN)/python
	$(BIN)/python tools/fetch_frontend.py

run: $(VENV)/.installed $(HTMX)
	$(BIN)/outreach run

# One pytest-xdist worker per core; worksteal, because a few modules (browser, e2e) take far
# longer than the rest and an idle worker should take over their queued tests. No test needs
# to share a process with another: each worker has its own databases, servers and browser.
test: $(VENV)/.dev-installed $(HTMX)
	$(BIN)/python -m pytest -n auto --dist worksteal

check: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests tools bench
	$(BIN)/ruff format --check src tests tools bench
	$(BIN)/mypy
	$(BIN)/lint-imports
