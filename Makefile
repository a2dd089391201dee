# Maillage: the two commands of the README, and a few more for development.
#   make demo   set up .venv and serve the demo at http://127.0.0.1:8000
#   make test   set up .venv and the test tools, then ruff and the whole test suite
# Everything is installed by these targets themselves (nothing by hand).

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_ARGS ?=
PYTEST_ARGS ?=
BENCH_ARGS ?=
CHROMIUM ?= /usr/bin/chromium

BIN := $(VENV)/bin
STAMP := $(VENV)/.maillage-installed
TEST_STAMP := $(VENV)/.maillage-test-installed
NODE_STAMP := node_modules/.maillage-installed

.DEFAULT_GOAL := help
.PHONY: help install install-test demo serve migrate test lint format bench clean browser node

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(STAMP) node  ## create .venv and install Maillage (editable)

install-test: install $(TEST_STAMP)  ## install also the test tools (pytest, ruff, Playwright)

# Front-end packages (served by the instance itself, never from a CDN), when there are any.
node:
	@if [ -f package.json ]; then \
	  if [ ! -f $(NODE_STAMP) ] || [ package.json -nt $(NODE_STAMP) ] \
	     || { [ -f package-lock.json ] && [ package-lock.json -nt $(NODE_STAMP) ]; }; then \
	    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
	    else npm install --no-audit --no-fund; fi && touch $(NODE_STAMP); \
	  fi; \
	fi

demo: install  ## serve the demo (SQLite in data/demo) at http://$(HOST):$(PORT)
	$(BIN)/maillage demo --host $(HOST) --port $(PORT) $(DEMO_ARGS)

migrate: install  ## apply the migrations to MAILLAGE_DATABASE_URL
	$(BIN)/maillage migrate

serve: install  ## serve MAILLAGE_DATABASE_URL (after make migrate)
	$(BIN)/maillage serve --host $(HOST) --port $(PORT)

# Headless Chromium from Debian for the browser tests; Playwright drives it through
# executable_path, and never downloads a browser of its own.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "warning: $(CHROMIUM) is missing (apt-get install chromium as root); browser tests will not run" >&2; \
	  fi; \
	fi

lint: install-test  ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test  ## ruff fix and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# pytest exits 5 when it collected no test: for the whole suite that is a broken run, said
# as such, never a pass.
test: install-test browser  ## ruff, then the whole test suite (SQLite and PostgreSQL, browser)
	$(BIN)/ruff check .
	@status=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: pytest collected no test" >&2; exit 1; fi; \
	exit $$status

bench: install  ## run every benchmark (python -m bench.NAME; each prints its figures)
	@for b in bench/*.py; do \
	  [ -e "$$b" ] || continue; name=$$(basename "$$b" .py); [ "$$name" = __init__ ] && continue; \
	  echo "== bench.$$name"; $(BIN)/python -m "bench.$$name" $(BENCH_ARGS) || exit 1; \
	done

clean:  ## remove .venv, node_modules, caches and the demo data
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache data/demo
