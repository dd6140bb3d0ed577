# Trendoff: `make run` sets up and runs the pipeline; `make test` runs every test on the real stack.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
TRENDOFF := $(VENV)/bin/trendoff
STAMP := $(VENV)/.installed

.PHONY: setup run test test-cluster test-faults browser-deps lint format typecheck stack-up stack-down stack-status docs clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found; install Python 3.11 or pass PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## setup: Python venv with pinned packages, and the pinned JVM jars from Maven Central (idempotent)
setup: $(STAMP)
	$(TRENDOFF) setup

## run: set everything up, start Kafka and Cassandra, create topics and tables, then run the jobs,
## the batch scheduler, a source and the app. SOURCE picks another source: a bare name
## (SOURCE=synthetic) or the arguments of `trendoff produce` (SOURCE="--source csv FILE --retime now").
# A SOURCE not starting with "--" is a source name: SOURCE=bluesky means --source bluesky.
SOURCE_ARGS = $(if $(filter --%,$(firstword $(SOURCE))),$(SOURCE),--source $(SOURCE))
run: setup
	$(TRENDOFF) stack up
	$(TRENDOFF) init
	$(if $(strip $(SOURCE)),SOURCE='$(SOURCE_ARGS)' )$(TRENDOFF) run

## test: lint, types, then unit and integration tests (starts the local stack if it is not running)
test: setup lint typecheck browser-deps
	$(PY) -m pytest

## browser-deps: Debian's chromium for the end-to-end browser test (Playwright never downloads one)
browser-deps:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "make: the browser test needs Debian's chromium: sudo apt-get install chromium"; exit 2; \
	  fi; }

lint:
	$(VENV)/bin/ruff check --no-cache .
	$(VENV)/bin/ruff format --no-cache --check .

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck:
	$(VENV)/bin/mypy

## test-cluster: the scale-out tests on a local 3-broker/3-node/2-worker cluster (slow; own ports)
test-cluster: setup
	$(PY) -m pytest tests/cluster -x -v

## test-faults: only the fault test (`trendoff run` through kill -9 of Kafka and Cassandra, own stack, ~8 min; also in make test)
test-faults: setup
	$(PY) -m pytest tests/faults -x -v

stack-up: setup
	$(TRENDOFF) stack up
stack-down:
	$(TRENDOFF) stack down
stack-status:
	$(TRENDOFF) stack status

## docs: regenerate the README's configuration table from the settings class
docs: $(STAMP)
	$(PY) -m pipeline.docs README.md

clean:
	-$(TRENDOFF) stack down
	rm -rf .trendoff
