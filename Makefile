# TVMS — the README's commands. `make setup` once, then `make run` or `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin

.PHONY: setup run test test-postgres bench client lint demo

setup: $(BIN)/tvms

$(BIN)/tvms: pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet -e clients/python
	@touch $@

run: setup
	$(BIN)/tvms serve

# A living city: the demo data, a server, and every device as an agent (Ctrl-C stops both).
demo: setup
	$(BIN)/tvms seed --demo
	$(BIN)/tvms serve & server=$$!; trap 'kill $$server 2>/dev/null' EXIT INT TERM; \
	$(BIN)/tvms simulate --wait 60 --url http://127.0.0.1:$${TVMS_PORT:-8000}

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
