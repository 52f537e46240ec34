# The two commands of README: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo explain test lint typecheck pytest tools soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Runtime install (for the demo) and the dev extras (for the tests), re-done when pyproject or
# the constraints change; both take the versions the tests last ran with (constraints-dev.txt).
CONSTRAINTS := constraints-dev.txt

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e . -c $(CONSTRAINTS)
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c $(CONSTRAINTS)
	touch $@ $(VENV)/.installed

# The example branch run for real: the director and every emulated switch on loopback,
# live progress, then `show vstack status` and `show vstack download-status` (docs/lab.md).
demo: $(VENV)/.installed
	$(BIN)/smartinstall lab examples/branch/topology.yaml

# What the director would decide for each switch of the example branch, without running it.
explain: $(VENV)/.installed
	$(BIN)/smartinstall explain examples/branch/topology.yaml

tools:
	scripts/install-test-tools

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy --strict src/smartinstall

# The tests run in PYTEST_WORKERS processes, a test file to a process (its module fixtures
# stay in one place); most of a test's time is spent waiting on the peers it drives, so three
# processes keep two cores busy. PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= 3

pytest: $(VENV)/.installed-dev tools
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

# lint and the type check run beside the tests (the tests spend most of their time waiting
# on their peers); the run fails when any of the three fails
test: $(VENV)/.installed-dev
	$(MAKE) --no-print-directory -j3 lint typecheck pytest

# Fuzz + flood soak of a director process on loopback, 60 s (bench/README.md, "Soak");
# SOAK_ARGS passes options, e.g. `make soak SOAK_ARGS="--seconds 300"`. Not part of `make test`.
soak: $(VENV)/.installed-dev
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
