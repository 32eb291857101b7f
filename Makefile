# The two set-up commands are `make demo` and `make test`; see README.md.
# Both create .venv with Python 3.12+ and install Trellis with the versions and hashes pinned
# in requirements/dev.txt the first time (and again whenever pyproject.toml or a lock changes).
# requirements/prod.txt pins what a server needs; `make lock` regenerates both.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra pytest arguments, for example: make test PYTEST_ARGS="-k login -x"
PYTEST_ARGS ?=
# Parallel test processes (pytest-xdist); PYTEST_WORKERS=0 runs everything in this process
# (handy with a debugger).
PYTEST_WORKERS ?= 2
# The tool that writes the locks, and extra arguments for it, for example:
# make lock LOCK_ARGS=--upgrade, or LOCK_ARGS="--upgrade-package django"
PIP_TOOLS := pip-tools==7.7.0
LOCK_ARGS ?=

export TRELLIS_ENV ?= dev

.DEFAULT_GOAL := all
.PHONY: all help demo test pytest lint format typecheck migrations-check venv clean lock fuzz

# A bare `make` sets up .venv and lists the commands.
all: venv help

help:
	@echo "make demo    set up the demo clinic and serve it on http://127.0.0.1:8000"
	@echo "make test    lint, type-check, check migrations and run every test"
	@echo "make format  reformat the code with ruff"
	@echo "make fuzz    the long fuzzing run of the JSON API (docs/api.md)"
	@echo "make lock    regenerate requirements/prod.txt and dev.txt after changing dependencies"
	@echo "make clean   remove .venv and the demo database"

$(STAMP): pyproject.toml requirements/prod.txt requirements/dev.txt scripts/find-python
	@PY=$$(scripts/find-python) || exit 1; \
	if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		echo "$(VENV) uses a Python older than 3.12; recreating it"; rm -rf $(VENV); \
	fi; \
	if [ ! -x $(BIN)/python ]; then \
		echo "Creating $(VENV) with $$PY"; "$$PY" -m venv $(VENV) || exit 1; \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

# Front-end test tools (axe-core) from the npm registry, pinned by package-lock.json.
# Without npm the browser accessibility checks skip locally (CI requires them).
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else \
		echo "npm not found: skipping node_modules (accessibility checks will be skipped)"; \
	fi

ifneq ($(wildcard package-lock.json),)
NODE_DEPS := $(NODE_STAMP)
endif

demo: $(STAMP)
	$(BIN)/trellis migrate --no-input
	$(BIN)/trellis demo

test: export TRELLIS_ENV = test
test: lint typecheck migrations-check pytest

pytest: export TRELLIS_ENV = test
pytest: $(STAMP) $(NODE_DEPS)
	$(BIN)/python -m pytest -p no:cacheprovider \
		$(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS)) --durations=20 $(PYTEST_ARGS)

# The long fuzzing run of the JSON API against its OpenAPI document (docs/api.md); the
# short run is part of `make test`. FUZZ_REQUESTS sets how many requests at least.
FUZZ_REQUESTS ?= 20000
fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz_api.py --requests $(FUZZ_REQUESTS)

# ruff, and import-linter's contracts in pyproject.toml: each app imports only from the
# layers below it (docs/architecture.md) and production code never imports a test module.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: export TRELLIS_ENV = test
typecheck: $(STAMP)
	$(BIN)/mypy trellis

migrations-check: export TRELLIS_ENV = test
migrations-check: $(STAMP)
	$(BIN)/trellis makemigrations --check --dry-run

# Regenerates the locks from pyproject.toml (run after changing dependencies): prod.txt from
# [project.dependencies], dev.txt from those plus the dev extra, held to prod.txt's versions.
# Versions already in a lock stay unless LOCK_ARGS asks for upgrades; each pin carries the
# hashes of every file PyPI has for it, so the locks install on any platform.
LOCK_VENV := /tmp/trellis-lock-venv
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet \
	--generate-hashes --allow-unsafe --strip-extras --no-emit-options $(LOCK_ARGS)
lock:
	rm -rf $(LOCK_VENV)
	PY=$$(scripts/find-python) && "$$PY" -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --disable-pip-version-check $(PIP_TOOLS)
	$(PIP_COMPILE) --output-file requirements/prod.txt pyproject.toml
	$(PIP_COMPILE) --extra dev --constraint requirements/prod.txt \
		--output-file requirements/dev.txt pyproject.toml
	rm -rf $(LOCK_VENV)

clean:
	rm -rf $(VENV) var/*.sqlite3 var/*.sqlite3-wal var/*.sqlite3-shm var/audit-anchors.jsonl
