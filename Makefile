# moxpy: `make run` starts localserve, `make test` proves the project. See README.md.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCALDIR ?= local

.PHONY: run test lint unit build bench system-deps clean fmt

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m app localserve -dir $(LOCALDIR)

system-deps:
	sh tests/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check app tests build.py
	$(BIN)/ruff format --check app tests build.py
	$(BIN)/mypy

unit: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup $(PYTEST_ARGS)

test: lint unit

build: $(STAMP)
	$(BIN)/python build.py

bench: $(STAMP) build
	$(BIN)/python tests/bench/run.py

fmt: $(STAMP)
	$(BIN)/ruff check --fix app tests build.py
	$(BIN)/ruff format app tests build.py

clean:
	rm -rf dist build .pytest_cache .mypy_cache
