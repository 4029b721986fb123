# Quick start: `make run` serves the demo centre; `make test` runs every check.
# Both create .venv and install what they need on first use.

VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LINTED := app tests benchmarks migrations
# Test processes for the parallel part of `make test` (most tests wait on I/O, not the CPU).
TEST_WORKERS ?= 3

.PHONY: run test lint typecheck unit integration browser bench install clean

run: $(STAMP)
	$(BIN)/switchboard serve --demo

# Everything, in two runs: the bulk in parallel, then what must run alone (real server
# processes with take-over timings, and the browser).
test: lint typecheck
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not serial and not browser"
	$(BIN)/pytest -m "serial or browser"

install: $(STAMP)

$(STAMP): pyproject.toml scripts/bootstrap-venv.sh
	./scripts/bootstrap-venv.sh $(VENV)
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy app

# Each marker group alone.
unit: $(STAMP)
	$(BIN)/pytest -m "not integration and not browser and not slow"

integration: $(STAMP)
	$(BIN)/pytest -m integration

browser: $(STAMP)
	$(BIN)/pytest -m browser

bench: $(STAMP)
	$(BIN)/python benchmarks/routing_core.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
