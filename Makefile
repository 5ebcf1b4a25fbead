# TVMS — the README's commands. `make setup` once, then `make run` or `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin

.PHONY: setup run test test-postgres bench client lint

setup: $(BIN)/tvms

$(BIN)/tvms: pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet -e clients/python
	@touch $@

run: setup
	$(BIN)/tvms serve

test: setup
	$(BIN)/python -m pytest --cov=tvms --cov=procedures --cov-report=term:skip-covered

test-postgres: setup
	TVMS_TEST_DATABASE_URL=$${TVMS_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest --cov=tvms --cov=procedures --cov-report=term:skip-covered

bench: setup
	$(BIN)/python bench/run.py

client: setup
	$(BIN)/tvms gen-client

lint: setup
	$(BIN)/ruff check src procedures tests bench
	$(BIN)/ruff format --check src procedures tests bench
	$(BIN)/mypy
