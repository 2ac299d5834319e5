# Two commands on a fresh machine: `make demo` (build and serve the demo) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo serve test test-fast check format bench browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/triage demo --host $(HOST) --port $(PORT)

serve: $(STAMP)
	$(BIN)/triage serve --host $(HOST) --port $(PORT)

browser:
	bash scripts/install-browser.sh

test: $(STAMP) browser
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow and not e2e" $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy embeddings knowledge triage training eval serving

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m eval.bench --out BENCHMARKS.md

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
