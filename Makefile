# Storefront ML — the two commands: `make run` (set up + main job), `make test` (set up + tests).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint services benchmarks clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/storefront quickstart --serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

services:
	scripts/services.sh start

benchmarks: install
	$(BIN)/python benchmarks/simulate.py
	$(BIN)/python benchmarks/features.py
	$(BIN)/python benchmarks/recommender.py --dataset simulator
	$(BIN)/python benchmarks/recommender.py --dataset online_retail
	$(BIN)/python benchmarks/forecast.py --dataset m5_tiny
	$(BIN)/python benchmarks/forecast.py --dataset breakfast_at_the_frat
	$(BIN)/python benchmarks/forecast.py --dataset simulator
	TZ=UTC $(BIN)/python benchmarks/pricing.py
	$(BIN)/python benchmarks/experiments_validity.py
	$(BIN)/python benchmarks/serving.py --data-dir data/shop  # after make run

clean:
	rm -rf $(VENV) data mlruns mlflow.db optuna.db .pytest_cache .ruff_cache
