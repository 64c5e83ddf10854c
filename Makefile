# The README's two commands: `make demo` and `make test`. Each installs what it needs
# into a local virtual environment (.venv) first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo serve test lint install browser docs bench

$(BIN)/newswatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,airflow,bench]'
	touch $@

install: $(BIN)/newswatch

demo: install
	$(BIN)/newswatch demo

serve: install
	$(BIN)/newswatch demo --serve

# Chromium for the browser tests comes from Debian's packages (Playwright never downloads one).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

test: install browser
	$(BIN)/ruff check pipeline dags tests benchmarks
	$(BIN)/ruff format --check pipeline dags tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

docs: install
	$(BIN)/python -m pipeline.config_doc > docs/configuration.md

# The speed and scale benchmarks (benchmarks/RESULTS.md explains the figures): 7 min 21 s
# on an idle 2-core machine with a cold corpus cache (budget 15 min). The 1M-article store
# (bench_dedup_scale.py) and the Airflow DAG (bench_airflow.py) take longer and run apart.
bench: install
	$(BIN)/python benchmarks/bench_index.py --docs 5000 --repeat 2
	$(BIN)/python benchmarks/bench_es_retention.py --docs 3000 --repeat 3
	$(BIN)/python benchmarks/bench_feeds.py --repeat 3
	$(BIN)/python benchmarks/bench_pipeline.py --pages 2000 --repeat 2 --workers 1,2
	$(BIN)/python benchmarks/bench_api.py --articles 100000 --workers 2
	$(BIN)/python benchmarks/bench_dedup.py --split test --sizes 10000
