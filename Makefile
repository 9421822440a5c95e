# sendwell — the two commands of the quick start are `make demo` and `make test`.
# Both create .venv and install everything on a fresh machine; nothing else is needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: demo test test-fast lint bench install system-deps clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "sendwell needs Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,sqlite]'
	touch $(STAMP)

install: $(STAMP)

## Debian packages for the independent verifiers and real MTAs the tests use.
system-deps:
	./scripts/system-deps.sh

## Run the main job: a real campaign to the simulated internet (add ARGS="--recipients 500 --exit").
demo: $(STAMP)
	$(BIN)/sendwell demo $(ARGS)

## The whole test suite (PostgreSQL tests run when a server answers on 127.0.0.1:5432).
test: $(STAMP) system-deps
	$(BIN)/pytest -n 2 $(ARGS)

## The fast part, in seconds: everything but whole-campaign runs.
test-fast: $(STAMP)
	$(BIN)/pytest -m 'not slow' -n 2 $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

bench: $(STAMP) system-deps
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b $(ARGS) || exit 1; done

clean:
	rm -rf $(VENV) sendwell-data .pytest_cache .mypy_cache .ruff_cache
