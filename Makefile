# Fresh machine: `make run` (dev server on SQLite) or `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test workers (pytest-xdist): one per CPU; `make test PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= auto

.PHONY: run test lint migrate seed bench check-deploy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py runserver 127.0.0.1:8000

seed: migrate
	$(BIN)/python manage.py seed_demo

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

bench: $(STAMP)
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python bench/bench_privacy.py
	$(BIN)/python bench/bench_backups.py
	$(BIN)/python bench/bench_teif.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
