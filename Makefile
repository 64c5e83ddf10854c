# The README's two commands: `make demo` and `make test`. Each installs what it needs
# into a local virtual environment (.venv) first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo serve test lint install browser docs

$(BIN)/newswatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,airflow]'
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
	$(BIN)/mypy
	$(BIN)/pytest

docs: install
	$(BIN)/python -m pipeline.config_doc > docs/configuration.md
