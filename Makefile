# The two set-up commands are `make demo` and `make test`; see README.md.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck migrations-check venv clean lock

$(STAMP): pyproject.toml requirements.lock
	@PY=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(BIN)/python ]; then echo "Creating $(VENV) with $$PY"; "$$PY" -m venv $(VENV) || exit 1; fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/trellis migrate --no-input
	$(BIN)/trellis demo

test: $(STAMP) lint typecheck migrations-check
	TRELLIS_ENV=test $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	TRELLIS_ENV=test $(BIN)/mypy trellis

migrations-check: $(STAMP)
	TRELLIS_ENV=test $(BIN)/trellis makemigrations --check --dry-run

# Regenerates requirements.lock from a clean environment (run after changing dependencies).
lock:
	rm -rf /tmp/trellis-lock-venv
	PY=$$(scripts/find-python) && "$$PY" -m venv /tmp/trellis-lock-venv
	/tmp/trellis-lock-venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	/tmp/trellis-lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) var/*.sqlite3
