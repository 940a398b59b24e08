# Storefront ML — the two commands: `make run` (set up + main job), `make test` (set up + tests).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint benchmarks clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/storefront quickstart

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

benchmarks: install
	$(BIN)/python benchmarks/simulate.py

clean:
	rm -rf $(VENV) data mlruns .pytest_cache .ruff_cache
