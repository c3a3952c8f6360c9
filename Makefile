# Turash developer commands. `make demo` and `make test` are the README's Quick start.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install web demo serve test test-fast lint docs-config bench clean

# The web app (web/, React + Vite) is built into turash/webapp_dist, which `turash serve` serves at `/`.
# Without Node.js the build is skipped: the API and the server-rendered register page still work.
WEB_SOURCES := $(shell find web/src web/public web/index.html web/package-lock.json web/vite.config.ts -type f 2>/dev/null)
WEB_STAMP := turash/webapp_dist/index.html

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(WEB_STAMP): $(WEB_SOURCES)
	@if command -v npm >/dev/null 2>&1; then \
	  cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build; \
	else \
	  echo "npm not found: the web app is not built (install Node.js >= 20 for it); the API still runs"; \
	fi

web: $(WEB_STAMP)

demo: install web  ## install, load the Hotmaps demo sites, serve on http://127.0.0.1:8000
	$(BIN)/turash demo

serve: install web
	$(BIN)/turash serve

test: install web  ## the whole suite (SQLite; PostgreSQL too when TURASH_TEST_DATABASE_URL is set), the web app's unit tests, then lint
	$(BIN)/python -m pytest -q
	@if command -v npm >/dev/null 2>&1; then cd web && npm test --silent; else echo "npm not found: the web app's unit tests are skipped"; fi
	$(MAKE) lint

lint: install  ## ruff, mypy, and bandit (security findings of medium severity and above fail)
	$(BIN)/ruff check turash tests bench migrations
	$(BIN)/mypy turash
	$(BIN)/bandit -q -c pyproject.toml -r turash -ll

docs-config: install  ## regenerate docs/configuration.md from turash.config.Settings
	$(BIN)/python -m turash.kit.configref > docs/configuration.md

bench: install
	$(BIN)/python bench/bench_import.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
