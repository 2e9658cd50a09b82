# Lookout: `make run` serves the demo, `make test` runs the suite, `make lint` checks hygiene.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format bench simulate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	DEMO_MODE=true $(BIN)/lookout serve --host 127.0.0.1 --port 8000

# The browser test needs Chromium: install Debian's package when it is missing (needs root).
.PHONY: browser
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) || true

test: install browser
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format app tests bench
	$(BIN)/ruff check --fix app tests bench

# The throughput benchmark needs wrk (a Python client cannot load the server enough): install
# Debian's package when it is missing (needs root); without it the benchmark says so.
.PHONY: wrk
wrk:
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) || true

bench: install wrk
	$(BIN)/python -m bench

simulate: install
	$(BIN)/lookout simulate --port 8001

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
