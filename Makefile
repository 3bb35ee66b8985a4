# Pulse developer commands. `make dev` and `make test` do all set-up on a fresh machine.
# The local stack is `python -m devstack` (devstack/, never shipped); deploy tooling is
# `python -m infra` (infra/).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= dev
# npm projects (each with a committed package-lock.json): installed by `npm ci` into their own
# node_modules/, checked by `npm run check` in `make check`, unit-tested by `npm test` in `make test`.
NPM_PROJECTS := sdk/browser sdk/node
NPM_STAMPS := $(NPM_PROJECTS:%=%/node_modules/.installed)

.PHONY: teardown dev test check lint format typecheck template openapi chalice-local clean \
	deploy package secrets policy

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "pip<26.3"  # chalice 1.34 requires pip<26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# An npm project's tools, at the versions its lock pins (reinstalled when the lock changes).
%/node_modules/.installed: %/package-lock.json
	cd $* && npm ci --no-audit --no-fund
	touch $@

# The template scanners (checkov, cfn-lint-serverless) in a venv of their own: checkov's pins
# (boto3 1.35) conflict with requirements.txt's. tests/infra/test_scanners.py runs them.
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
$(SCAN_STAMP): requirements-scan.txt
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet -r requirements-scan.txt
	touch $(SCAN_STAMP)

## dev: start the local stack (embedded DynamoDB + HTTP API on 127.0.0.1:8000) in the foreground
dev: $(STAMP) $(NPM_STAMPS)
	$(PY) -m devstack

## test: run the whole test suite: each npm project's unit tests, then pytest in TEST_WORKERS
## processes (2: CI's machine has 2 cores; each test file runs whole in one process, as its module
## fixtures start stacks; TEST_WORKERS=0: one)
TEST_WORKERS ?= 2
test: $(STAMP) $(NPM_STAMPS) $(SCAN_STAMP)
	for dir in $(NPM_PROJECTS); do (cd $$dir && npm test) || exit 1; done
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

## check: lint, format check, type check and the layer contracts (import-linter, pyproject.toml);
## then each npm project's check (eslint, tsc, and for sdk/browser: the committed build is current)
check: $(STAMP) $(NPM_STAMPS)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	for dir in $(NPM_PROJECTS); do (cd $$dir && npm run check) || exit 1; done

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## template: regenerate infra/tables.template.json from the models
template: $(STAMP)
	$(PY) -m infra template > infra/tables.template.json

## policy: regenerate the functions' IAM policies for every stage: .chalice/policy-<stage>.json
## (the stage's) and .chalice/policy-<stage>-<function>.json (each function's own, least privilege)
policy: $(STAMP)
	for stage in $$($(PY) -c 'import infra.stages as s; print(*s.stage_names())'); do \
		$(PY) -m infra policy --stage $$stage --write || exit 1; \
	done

## deploy: put STAGE (dev) on AWS: tables stack + secrets (created if missing) + chalice deploy +
## the guard rails chalice cannot set (throttles, access logs, alarms: docs/operations.md);
## prints the REST and WebSocket URLs and the create-admin command (docs/operations.md)
deploy: $(STAMP)
	$(PY) -m infra deploy --stage $(STAGE)

## teardown: remove STAGE from AWS but its data: chalice delete, the guard rails, the tables
## stack (the tables and the attachments bucket are kept: docs/operations.md, Teardown)
teardown: $(STAMP)
	$(PY) -m infra teardown --stage $(STAGE)

## package: one CloudFormation template of STAGE (functions, APIs, tables) in dist/STAGE/
package: $(STAMP)
	$(PY) -m infra package --stage $(STAGE) --out dist/$(STAGE)

## secrets: create STAGE's secrets in SSM Parameter Store if missing (never overwrites)
secrets: $(STAMP)
	$(PY) -m infra secrets --stage $(STAGE)

## openapi: regenerate the OpenAPI documents from the code (infra/openapi.py): the customer API's
## (chalicelib/openapi.json, served at GET /api/v1/openapi.json; docs/openapi.yaml) and the Admin
## API's (chalicelib/admin-openapi.json, served at GET /admin/api/openapi.json; docs/admin-openapi.yaml)
openapi: $(STAMP)
	$(PY) -m infra openapi --write
	$(MAKE) -s sdk-node-types

## chalice-local: `chalice local` on 127.0.0.1:8010 (PULSE_CHALICE_PORT) beside a running `make dev`:
## its embedded DynamoDB (PULSE_DYNAMODB_PORT, or PULSE_DYNAMODB_ENDPOINT), secrets and WebSocket
## gateway; no auto-reload (restart it after changing the code)
chalice-local: $(STAMP)
	$(PY) -m devstack chalice-local

clean:
	rm -rf $(VENV) $(SCAN_VENV) .pytest_cache .mypy_cache .ruff_cache

# The Node server SDK (sdk/node) is built to sdk/node/dist (not committed) for its users and for
# tests/sdk/test_node_sdk.py, which runs it against the real stack.
NODE_SDK := sdk/node
NODE_SDK_SOURCES := $(wildcard $(NODE_SDK)/src/*.ts $(NODE_SDK)/src/generated/*.ts) \
	$(NODE_SDK)/tsconfig.json $(NODE_SDK)/tsconfig.build.json

.PHONY: sdk-node sdk-node-types

$(NODE_SDK)/dist/index.js: $(NODE_SDK)/node_modules/.installed $(NODE_SDK_SOURCES)
	cd $(NODE_SDK) && npm run build
	touch $@

## sdk-node: install and build the Node server SDK (sdk/node/dist)
sdk-node: $(NODE_SDK)/dist/index.js

# The SDK's types from the customer API's contract (`make openapi` runs it after writing it).
sdk-node-types: $(NODE_SDK)/node_modules/.installed
	cd $(NODE_SDK) && npm run generate
