# TVMS — the README's commands. `make setup` once, then `make run` or `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin

.PHONY: setup run test test-postgres bench client lint console demo

setup: $(BIN)/tvms console

$(BIN)/tvms: pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet -e clients/python
	@touch $@

# The console (web/) is built when Node.js is present and a source is newer than the build;
# without Node.js, setup still succeeds and `/` says how to build it.
CONSOLE_INDEX := src/tvms/console_dist/index.html
WEB_MODULES   := web/node_modules/.package-lock.json
WEB_SOURCES   := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json clients/typescript/client.ts clients/typescript/types.ts -type f 2>/dev/null)
HAVE_NODE     := $(shell command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && echo yes)

console:
ifeq ($(HAVE_NODE),yes)
	@$(MAKE) --no-print-directory $(CONSOLE_INDEX)
else
	@echo "make: Node.js/npm not found: the console is not built (the API works; see README)"
endif

$(WEB_MODULES): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CONSOLE_INDEX): $(WEB_MODULES) $(WEB_SOURCES)
	cd web && npm run build

run: setup
	$(BIN)/tvms serve

# A living city: the demo data, a server, and every device as an agent (Ctrl-C stops both).
demo: setup
	$(BIN)/tvms seed --demo
	@mkdir -p $${TVMS_DATA_DIR:-data}; echo "demo: the server's log goes to $${TVMS_DATA_DIR:-data}/demo-server.log"
	$(BIN)/tvms serve >$${TVMS_DATA_DIR:-data}/demo-server.log 2>&1 & server=$$!; trap 'kill $$server 2>/dev/null' EXIT INT TERM; \
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
ifeq ($(HAVE_NODE),yes)
	@$(MAKE) --no-print-directory $(WEB_MODULES)
	cd web && npm run typecheck && npm run lint
endif
