# The whole set-up is two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint clean

run: $(STAMP)  ## start Herald on the embedded defaults (SQLite in ./herald-data)
	$(BIN)/herald serve

test: $(STAMP)  ## lint, type-check and run every test (SQLite, PostgreSQL, SMTP, Chromium)
	$(BIN)/python scripts/test.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
