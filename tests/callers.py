"""Callers for tests that drive services directly, as the adapters build them, but with the abuse
limits configured off (every limit 0, as an operator would turn them off): these tests are about
the services' rules, and count their DynamoDB calls exactly. The limits' own tests go through the
adapters (tests/api/test_rate_limits.py, tests/realtime/test_limits.py)."""

from __future__ import annotations

import dataclasses

from chalicelib import runtime
from chalicelib.entities import Actor
from chalicelib.services.callers import OperatorCaller, SecretKeyCaller
from chalicelib.services.limits import Gate, Limits, Scope

OWNER = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")


def _limits_off() -> Limits:
    graph = runtime.services()
    off = dataclasses.replace(
        graph.settings,
        rate_rest_per_env=0,
        rate_rest_per_key=0,
        rate_mint_per_env=0,
        rate_mint_per_key=0,
        auth_failures_per_source=0,
        auth_failures_per_key=0,
    )
    return Limits(off, graph.clock, graph.limits.counters)


def secret_key(raw: str, limit: Scope = "rest") -> SecretKeyCaller:
    """A secret key as a route declared with `limit` hands it to its service."""
    return SecretKeyCaller.of(raw, _limits_off().gate(None, limit))


def operator(env_id: str) -> OperatorCaller:
    return OperatorCaller(OWNER, env_id)


def connect_gate() -> Gate:
    """The limits a `$connect` passes (failed authentications; a socket's rate is its own)."""
    return _limits_off().gate(None, None)
