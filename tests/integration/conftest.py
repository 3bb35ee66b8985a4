"""Integration fixtures (moto): environments made through the services, a recorder of every
DynamoDB call any botocore client makes, and moto made atomic per request for race tests."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.client import BaseClient
from moto.core.botocore_stubber import BotocoreStubber

from chalicelib import runtime
from chalicelib.entities import Actor

OWNER = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")

READ_OPS = frozenset({"BatchGetItem", "GetItem", "Query", "Scan", "TransactGetItems"})
WRITE_OPS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
)


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


@dataclass(frozen=True)
class Call:
    operation: str
    params: dict[str, Any]


@dataclass
class DynamoCalls:
    """Every DynamoDB API call made while `record()` is open, from any botocore client."""

    calls: list[Call] = field(default_factory=list)
    active: bool = False

    @contextmanager
    def record(self) -> Iterator[list[Call]]:
        self.calls = []
        self.active = True
        try:
            yield self.calls
        finally:
            self.active = False


@pytest.fixture
def dynamo_calls(monkeypatch: pytest.MonkeyPatch) -> DynamoCalls:
    """Wraps botocore's BaseClient._make_api_call: PynamoDB's model calls and the shared client's
    own batch_get_item both pass through it, so no call can slip past the count."""
    recorder = DynamoCalls()
    original = BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if recorder.active and self.meta.service_model.service_name == "dynamodb":
            recorder.calls.append(Call(operation_name, copy.deepcopy(api_params)))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
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
