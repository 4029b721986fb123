# Quick start: `make run` serves the demo centre; `make test` runs every check.
# Both create .venv and install what they need on first use.

VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LINTED := app tests benchmarks migrations

.PHONY: run test lint typecheck unit integration browser bench install clean

run: $(STAMP)
	$(BIN)/switchboard serve --demo

test: lint typecheck
	$(BIN)/pytest

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
