# Pulse developer commands. `make dev` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test check lint format typecheck template openapi chalice-local clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "pip<26.3"  # chalice 1.34 requires pip<26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## dev: start the local stack (embedded DynamoDB + HTTP API on 127.0.0.1:8000) in the foreground
dev: $(STAMP)
	$(PY) -m infra dev

## test: run the whole test suite
test: $(STAMP)
	$(PY) -m pytest

## check: lint, format check and type check
check: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## template: regenerate infra/tables.template.json from the models
template: $(STAMP)
	$(PY) -m infra template > infra/tables.template.json

## openapi: regenerate chalicelib/openapi.json (served at GET /api/v1/openapi.json) from
## docs/openapi.yaml
openapi: $(STAMP)
	$(PY) -m infra openapi > chalicelib/openapi.json.tmp
	mv chalicelib/openapi.json.tmp chalicelib/openapi.json

## chalice-local: `chalice local` on :8000 against tables at PULSE_DYNAMODB_ENDPOINT (default: the
## embedded DynamoDB of a running `make dev`, whose secrets it shares)
chalice-local: $(STAMP)
	PULSE_DYNAMODB_ENDPOINT="$${PULSE_DYNAMODB_ENDPOINT:-http://127.0.0.1:8009}" \
	PULSE_SECRETS_FILE="$${PULSE_SECRETS_FILE:-$${PULSE_DATA_DIR:-.pulse}/secrets.json}" \
	AWS_DEFAULT_REGION="$${AWS_DEFAULT_REGION:-us-east-1}" \
	AWS_ACCESS_KEY_ID="$${AWS_ACCESS_KEY_ID:-pulse-local}" \
	AWS_SECRET_ACCESS_KEY="$${AWS_SECRET_ACCESS_KEY:-pulse-local}" \
	$(VENV)/bin/chalice local --port $${PULSE_HTTP_PORT:-8000}

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
