"""Integration fixtures (moto): environments made through the services, a recorder of every
DynamoDB call any botocore client makes, and moto made atomic per request for race tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.client import BaseClient
from moto.core.botocore_stubber import BotocoreStubber

from bench.calls import Call, DynamoCalls
from chalicelib import runtime
from chalicelib.entities import Actor
from chalicelib.repositories import usage_days

__all__ = [
    "OWNER",
    "READ_OPS",
    "WRITE_OPS",
    "Call",
    "DynamoCalls",
    "Env",
    "is_counter",
    "is_rate_count",
    "without_counters",
]

OWNER = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")

READ_OPS = frozenset({"BatchGetItem", "GetItem", "Query", "Scan", "TransactGetItems"})
WRITE_OPS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
)


# --- abuse-limit counters (chalicelib/services/limits.py) --------------------------------------
# Control-table items `RL#<scope>#<window>`: an environment's request counters (`RL#env:...`),
# written once by every authenticated REST request and mint, and failed-authentication counters
# (`RL#fail-ip:...`, `RL#fail-key:...`), read with every key check and written by refusals.


def is_counter(pk: str, kind: str = "") -> bool:
    """An abuse-limit counter's pk (`kind`: "env", "fail-ip", "fail-key"; "" any)."""
    return pk.startswith("RL#" + kind)


def is_rate_count(call: Call) -> bool:
    """The UpdateItem that counts an authenticated request against its rate limits."""
    return call.operation == "UpdateItem" and is_counter(call.params["Key"]["pk"]["S"], "env:")


# The usage meter's items (services/metering.py), in the environment's partition of the data
# table: every invocation adds to them, refusals included.
def is_usage(sk: str) -> bool:
    return sk.startswith(usage_days.SK_PREFIXES)


def without_counters(items: list[str], kind: str = "") -> list[str]:
    """Items as JSON text (a table snapshot) without the abuse-limit counters (of `kind`) and
    the usage meter's counters."""
    out = []
    for text in items:
        item = json.loads(text)
        if not is_counter(item["pk"]["S"], kind) and not is_usage(item["sk"]["S"]):
            out.append(text)
    return out


@dataclass(frozen=True)
class Env:
    id: str
    pk: str
    sk: str
    pk_id: str
    sk_id: str


@pytest.fixture
def make_env(services: runtime.Services) -> Callable[..., Env]:
    def make(name: str = "Acme") -> Env:
        env, (pk, sk) = services.environments.create(OWNER, name)
        assert pk.key is not None and sk.key is not None
        return Env(env.id, pk.key, sk.key, pk.id, sk.id)

    return make


@pytest.fixture
def dynamo_calls(monkeypatch: pytest.MonkeyPatch) -> DynamoCalls:
    """Records every DynamoDB call of any botocore client while `record()` is open (the recorder
    is bench/calls.py's, shared with bench/round_trips.py)."""
    recorder = DynamoCalls()
    monkeypatch.setattr(BaseClient, "_make_api_call", recorder.wrap(BaseClient._make_api_call))
    return recorder


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make each mocked request atomic, as each DynamoDB request is.

    moto applies a TransactWriteItems item by item and rolls back by restoring a deep copy of
    the whole table, with no lock: two concurrent requests can interleave inside one another or
    undo each other's committed writes. One lock around moto's request handling restores
    per-request atomicity; interleaving *between* requests - a read, then another thread's
    commit, then this thread's conditional write - is untouched, and that is the race tested."""
    lock = threading.Lock()
    original = BotocoreStubber.process_request

    def locked(self: Any, request: Any) -> Any:
        with lock:
            return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", locked)
