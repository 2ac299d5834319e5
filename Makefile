# Two commands on a fresh machine: `make demo` (build and serve the demo) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo serve test test-postgresql test-fast check format bench profile bench-scale bench-finetune bench-ray bench-replicas bench-memory soak browser postgresql clean

$(STAMP): pyproject.toml clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,train,ray]"
	$(BIN)/pip install --quiet -e clients/python
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/triage demo --host $(HOST) --port $(PORT)

serve: $(STAMP)
	$(BIN)/triage serve --host $(HOST) --port $(PORT)

browser:
	bash scripts/install-browser.sh

# The PostgreSQL tests start their own throwaway server from Debian's binaries.
postgresql:
	bash scripts/install-postgresql.sh

# The whole suite twice: on SQLite, then with every database the tests use on a throwaway PostgreSQL.
test: $(STAMP) browser postgresql
	$(BIN)/pytest $(PYTEST_ARGS)
	TRIAGE_TEST_DATABASE=postgresql $(BIN)/pytest $(PYTEST_ARGS)

test-postgresql: $(STAMP) browser postgresql
	TRIAGE_TEST_DATABASE=postgresql $(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow and not e2e" $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy embeddings knowledge triage training eval serving clients/python/triage_client

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Serving speed on the demo, then quality against baselines on ../shared/datasets (same run, same splits).
bench: $(STAMP)
	$(BIN)/python -m eval.bench --cases 100000 --out BENCHMARKS.md
	$(BIN)/python -m eval.coldstart --rounds 5 --out BENCHMARKS.md
	$(BIN)/python -m eval.concurrency_bench --variant workers-auto:TRIAGE_WORKERS=auto --variant in-process-encoder:TRIAGE_ENCODER_PROCESS=false --out BENCHMARKS.md
	$(BIN)/python -m eval.webhook_bench --out BENCHMARKS.md
	$(BIN)/python -m eval.headline_bench --out BENCHMARKS.md
	$(BIN)/python -m eval.fields_bench --out BENCHMARKS.md
	$(BIN)/python -m eval.pii_bench --out BENCHMARKS.md
	$(BIN)/python -m eval.routing_bench --out BENCHMARKS.md
	$(BIN)/python -m eval.retrieval_bench --out BENCHMARKS.md
	$(BIN)/python -m eval.handling_bench --out BENCHMARKS.md

# Where a ticket's time goes: stage by stage, cProfile, threads waiting under 8 concurrent callers, and
# py-spy on the real server under 8 and 32 clients (the GIL-held time by stage).
profile: $(STAMP)
	$(BIN)/python -m eval.profile_bench --out BENCHMARKS.md
	$(BIN)/python -m eval.concurrency_bench --profile var/profile --out BENCHMARKS.md

# FAISS at 100k and 1M real-structured vectors (long: embeds ~1M texts once, cached under var/cache).
bench-scale: $(STAMP)
	$(BIN)/python -m eval.scale_bench --out BENCHMARKS.md

# Encoder fine-tuning vs the base encoder (long: fine-tunes MiniLM on CPU once, cached under var/cache).
bench-finetune: $(STAMP)
	$(BIN)/python -m eval.finetune_bench --out BENCHMARKS.md

# Backfill and batch triage on Ray against the single-process commands (long: --rows 100000 for the full run).
bench-ray: $(STAMP)
	$(BIN)/python -m eval.ray_bench --out BENCHMARKS.md

# The real server's memory at 100k and 1M cases (long: builds the 1M copy of the demo once, ~1 h of
# both cores, about 6 GB under var-1000000).
bench-memory: $(STAMP)
	$(BIN)/python -m eval.memory_bench --cases 100000 1000000 --out BENCHMARKS.md

# PostgreSQL vs SQLite at 100k cases, two replicas' write-to-searchable latency, catch-up, memory.
bench-replicas: $(STAMP) postgresql
	$(BIN)/python -m eval.replica_bench --cases 100000 --out BENCHMARKS.md

# Chaos and load, loopback only, bounded: schemathesis (all checks), 20 SIGKILL rounds during writes,
# the adversarial corpus, the overload ramp at 2x and 5x capacity (60 s each) and a 30-minute steady
# soak with RSS sampled every 30 s; figures into BENCHMARKS.md "Reliability" (about 45 minutes).
soak: $(STAMP)
	$(BIN)/python -m eval.soak --data-dir var/soak --out BENCHMARKS.md

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
