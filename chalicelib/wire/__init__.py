"""The JSON Pulse's adapters take and send, declared once per resource: request bodies (typed
models whose parsing is the validation), response shapes (derived from the entities), and the
words and JSON Schemas the OpenAPI documents are generated from (infra/openapi.py)."""
