# registry: the two commands a fresh machine needs are `make analyze` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= registry.duckdb
SAMPLE := sample_data/sample_export.csv

.PHONY: install test lint bench bench-quick analyze clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check registry tests sample_data bench

# Every bench/bench_*.py module (bench/README.md); bench-quick runs them on 2,000 patients.
bench: install
	$(BIN)/python -m bench.run

bench-quick: install
	$(BIN)/python -m bench.run --quick

# The recipe: lock the plan (before any data), ingest the sample (once), gate it, analyse it.
analyze: install
	$(BIN)/registry plan lock --db $(DB)
	$(BIN)/registry ingest $(SAMPLE) --db $(DB)
	$(BIN)/registry validate --db $(DB)
	$(BIN)/registry analyze --db $(DB)

clean:
	rm -rf $(VENV) reports registry.duckdb registry.duckdb.wal
