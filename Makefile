# Everything a fresh machine needs comes from this file, requirements*.txt and package.json.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20,18
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test tests lint typecheck unit engine stack rehearsal synth deploy-local bench clean

$(STAMP): requirements.txt requirements-dev.txt package.json package-lock.json pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

setup: $(STAMP)

## The leaked-key spot-swarm incident replayed against emulated AWS, with a readable report.
demo: setup
	$(BIN)/responder demo

## The whole suite: lint, types, every test tier (which synthesize the stack once per mode with the real CDK CLI,
## and rehearse the README's deploy against moto in server mode).
test: setup lint typecheck tests

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

PYTEST_ALL := $(BIN)/pytest -n auto --dist loadgroup --durations=25

## Every tier, spread over the cores; the 25 slowest tests are printed.
tests: setup
	$(PYTEST_ALL)

## The inner loop: pure tests only (parsing, planning, wording, policies), seconds, no emulator, no synthesis.
unit: setup
	$(BIN)/pytest -p no:xdist -m unit

## Handlers and flows against emulated AWS.
engine: setup
	$(PYTEST_ALL) -m engine

## The synthesized stacks (one synthesis per mode).
stack: setup
	$(PYTEST_ALL) -m stack

## The README's deploy commands against moto in server mode (also part of `make test`).
rehearsal: setup
	$(BIN)/pytest -p no:xdist -m rehearsal

synth: setup
	npx cdk synth --quiet

## The README's Deploy commands, literally, with the pinned CDK CLI against moto in server mode (about a minute).
deploy-local: setup
	$(BIN)/python -m compromise_responder.tools.deploy_local

bench: setup
	$(BIN)/python -m compromise_responder.tools.bench

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
