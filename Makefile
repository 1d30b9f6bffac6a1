# gongkai build/test harness.  `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin

# Stamp files make re-runs fast; the install stamps carry a checksum of
# pyproject.toml so changing dependencies triggers a reinstall.
PYPROJECT_SUM := $(shell cksum pyproject.toml 2>/dev/null | cut -d' ' -f1)
VENV_STAMP := $(VENV)/.venv-ok
INSTALL_STAMP := $(VENV)/.installed-$(PYPROJECT_SUM)
DEV_STAMP := $(VENV)/.installed-dev-$(PYPROJECT_SUM)

DB ?= sqlite:///var/gongkai.db
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help venv install dev run lint test bench pg-start pg-stop clean distclean

help:
	@echo "make venv       create $(VENV) (Python >= 3.11) and upgrade pip"
	@echo "make install    pip install -e .            (runtime deps)"
	@echo "make dev        pip install -e '.[dev]'     (plus test/lint tools)"
	@echo "make run        load demo data if empty, serve on http://$(HOST):$(PORT) (DB=$(DB))"
	@echo "make lint       ruff check + mypy"
	@echo "make test       lint, then pytest against a throwaway PostgreSQL (PYTEST_ARGS=...)"
	@echo "make bench      the benchmarks of issue 8, ~15 min (BENCH_ARGS='--events 1000000 ...')"
	@echo "make pg-start   start the throwaway PostgreSQL by hand (prints its URL); pg-stop stops it"
	@echo "make clean      remove caches and build output; distclean also removes $(VENV) and var/"

venv: $(VENV_STAMP)

$(VENV_STAMP):
	bash scripts/venv.sh $(VENV)
	touch $@

install: $(INSTALL_STAMP)

$(INSTALL_STAMP): $(VENV_STAMP)
	$(BIN)/python -m pip install --quiet -e .
	rm -f $(VENV)/.installed-[0-9]*
	touch $@

dev: $(DEV_STAMP)

$(DEV_STAMP): $(VENV_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@ $(INSTALL_STAMP)

run: install
	mkdir -p var
	$(BIN)/gongkai --db $(DB) demo --if-empty
	$(BIN)/gongkai --db $(DB) publish --out var/site
	$(BIN)/gongkai --db $(DB) serve --host $(HOST) --port $(PORT)

lint: dev
	$(BIN)/ruff check .
	$(BIN)/mypy

test: dev lint
	bash scripts/test.sh $(PYTEST_ARGS)

bench: dev
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

pg-start:
	@bash scripts/pg.sh start

pg-stop:
	@bash scripts/pg.sh stop

clean:
	-bash scripts/pg.sh stop
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o \( -name '*.egg-info' -o -name __pycache__ \) -type d -print0 \
		| xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) var
