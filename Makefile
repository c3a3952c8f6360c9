# Turash developer commands. `make demo` and `make test` are the README's Quick start.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo serve test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install  ## install, load the Hotmaps demo sites, serve on http://127.0.0.1:8000
	$(BIN)/turash demo

serve: install
	$(BIN)/turash serve

test: install  ## the whole suite (SQLite; PostgreSQL too when TURASH_TEST_DATABASE_URL is set), then lint
	$(BIN)/python -m pytest -q
	$(MAKE) lint

lint: install
	$(BIN)/ruff check turash tests bench migrations
	$(BIN)/mypy turash

bench: install
	$(BIN)/python bench/bench_import.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
