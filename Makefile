# Two commands: `make run` (serve the embedded SQLite app with demo data) and `make test`.
PY ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell command -v $(PY))
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint format bench i18n clean

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	@touch $@

setup: $(VENV)/.synced  ## create the environment from the lock file

run: setup  ## migrate the SQLite database, load demo data if empty, print its logins, serve on :8000
	$(BIN)/aftersales db upgrade
	$(BIN)/aftersales demo --if-empty
	@echo "aftersales: open http://$(HOST):$(PORT)/ (API docs: http://$(HOST):$(PORT)/api/docs); Ctrl-C stops it"
	$(BIN)/aftersales serve --host $(HOST) --port $(PORT)

test: setup  ## run every test (SQLite and PostgreSQL), one process per core
	$(BIN)/pytest -n auto --dist worksteal

lint: setup  ## ruff on everything, the import contracts (pyproject.toml), mypy --strict on the package
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/mypy --strict src/aftersales

format: setup
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

bench: setup  ## speed and memory as ratios to a same-run baseline; writes docs/benchmarks.md
	$(BIN)/python -m aftersales.sim.bench

i18n: setup  ## refresh the message catalog after adding text shown to people
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k t -k gettext -k translate --no-location \
		--sort-output --project aftersales -o src/aftersales/locale/messages.pot src/
	$(BIN)/pybabel update -i src/aftersales/locale/messages.pot -d src/aftersales/locale \
		-D messages --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
