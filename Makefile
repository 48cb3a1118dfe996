# Everything a fresh machine needs comes from this file, requirements*.txt and package.json.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20,18
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test lint typecheck unit synth deploy-local bench clean

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

## The whole suite: lint, types, tests (which synthesize the stack once with the real CDK CLI).
test: setup lint typecheck unit

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -n auto --dist loadfile

synth: setup
	npx cdk synth --quiet

## The README's Deploy commands, literally, with the pinned CDK CLI against moto in server mode (about a minute).
deploy-local: setup
	$(BIN)/python -m tools.deploy_local

bench: setup
	$(BIN)/python -m tools.bench

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
