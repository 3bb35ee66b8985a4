"""Fault fixtures: DynamoDB errors injected on the runtime's client (injector.py), a world of
fresh rooms, threads, comments, operators and environments to aim requests at, and table
snapshots that prove a failed operation changed nothing, or everything.

Authenticated REST v1 requests and token mints also count themselves in the control table's
abuse-limit counters (chalicelib/services/limits.py). Snapshot comparisons of customer data leave
those out (`Diff.without_counters`) and check them on their own (`counters_grown`), exactly."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from api.helpers import PASSWORD, login_as
from callers import operator
from integration.conftest import is_usage as is_usage_sk
from realtime.conftest import env, fake, gw  # noqa: F401 (WebSocket fixtures, shared)

from chalicelib import runtime
from chalicelib.auth import apikeys
from chalicelib.db.models import TTL_ATTRIBUTE
from chalicelib.entities import Actor
from chalicelib.services.callers import OperatorCaller
from chalicelib.services.limits import day_of

from .injector import Faults, installed

OWNER = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
JSON_CT = {"Content-Type": "application/json"}


@pytest.fixture
def faults(services: runtime.Services) -> Iterator[Faults]:
    with installed() as injected:
        yield injected


@dataclass
class World:
    """An environment with its keys, an owner with a session, and factories of fresh things to
    change (made through the services, before a fault is armed)."""

    client: Any
    graph: runtime.Services
    env_id: str
    sk: str
    pk: str
    owner_token: str
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _shared: tuple[str, str, str] | None = None

    @property
    def access(self) -> OperatorCaller:
        return operator(self.env_id)

    @property
    def sk_id(self) -> str:
        parsed = apikeys.parse(self.sk)
        assert parsed is not None
        return parsed.key_id

    def rest_counts(self, n: int) -> dict[str, dict[str, int]]:
        """What `n` REST v1 requests with the world's sk_ add to the rate counters, as
        `counters_grown` tells it (the clock stands still: they all fall in one 1-second window)."""
        if not n:
            return {}
        day = day_of(self.graph.clock.now())  # the environment's partition of the day
        return {f"RL#env:{self.env_id}#{day}": {"rest": n, f"rest:{self.sk_id}": n}}

    def fresh(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counter)}"

    def room(self) -> str:
        room_id = self.fresh("room")
        self.graph.collab.create_room(self.access, room_id, {"team": "a"})
        return room_id

    def thread(self, room_id: str, comments: int = 1) -> str:
        thread = self.graph.collab.create_thread(self.access, room_id, "ada", "first", None)
        for i in range(comments - 1):
            self.graph.collab.create_comment(self.access, room_id, thread.id, "bob", f"c{i}")
        return thread.id

    def shared(self) -> tuple[str, str, str]:
        """A room, thread (2 comments) and comment for requests that change nothing."""
        if self._shared is None:
            room = self.room()
            thread = self.thread(room, comments=2)
            self._shared = (room, thread, self.comment(room, thread))
        return self._shared

    def comment(self, room_id: str, thread_id: str) -> str:
        return self.graph.collab.create_comment(self.access, room_id, thread_id, "bob", "x").id

    def environment(self) -> tuple[str, str, str]:
        """(environment id, pk_ key id, sk_)"""
        created, (pk, sk) = self.graph.environments.create(OWNER, self.fresh("Env"))
        assert sk.key is not None
        return created.id, pk.id, sk.key

    def operator(self, role: str = "viewer") -> str:
        email = f"{self.fresh('op')}@example.com"
        return self.graph.operators.create(None, email, PASSWORD, role).id  # type: ignore[arg-type]

    def email(self) -> str:
        """The email of a new viewer (password PASSWORD)."""
        email = f"{self.fresh('op')}@example.com"
        self.graph.operators.create(None, email, PASSWORD, "viewer")
        return email

    def session(self) -> str:
        return self.graph.operators.login(self.email(), PASSWORD).token

    def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = None, **headers: str
    ) -> Any:
        sent = {**JSON_CT, **headers}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else b""
        return self.client.http.request(method, path, headers=sent, body=data)


@pytest.fixture
def world(services: runtime.Services, client: Any) -> World:
    created, (pk, sk) = services.environments.create(OWNER, "Acme")
    assert pk.key is not None and sk.key is not None
    services.operators.create(None, "owner@example.com", PASSWORD, "owner")
    owner = login_as(client, "owner@example.com")
    w = World(client, services, created.id, sk.key, pk.key, owner.token)
    # Use the key once (minting a token for user "ada"): its lastUsedAt is then fresh for the
    # (frozen) rest of the test, so no best-effort touch comes and goes between runs.
    minted = w.request("POST", "/auth/token", {"userId": "ada", "name": "Ada"}, token=sk.key)
    assert minted.status_code == 200, minted.body
    return w


# --- snapshots -----------------------------------------------------------------------------------


Snapshot = dict[tuple[str, str, str], dict[str, Any]]  # (table, pk, sk) -> item


def snapshot() -> Snapshot:
    """Every item of both tables, read consistently behind the application's back."""
    settings = runtime.services().settings
    client = boto3.client("dynamodb", region_name=settings.region)
    items: Snapshot = {}
    for table in (settings.control_table, settings.data_table):
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = client.scan(**kwargs)
            for item in page["Items"]:
                items[(table.rsplit("-", 1)[-1], item["pk"]["S"], item["sk"]["S"])] = item
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items


@dataclass(frozen=True)
class Diff:
    added: dict[tuple[str, str, str], dict[str, Any]]
    removed: dict[tuple[str, str, str], dict[str, Any]]
    changed: dict[tuple[str, str, str], tuple[dict[str, Any], dict[str, Any]]]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def touched(self) -> set[tuple[str, str, str]]:
        return set(self.added) | set(self.removed) | set(self.changed)

    def without_counters(self) -> Diff:
        """The change without the abuse-limit counters (see `counters_grown` for those) and the
        usage meter's counters (every invocation adds to them, failed ones included)."""

        def kept(k: tuple[str, str, str]) -> bool:
            return not is_counter(k) and not is_usage(k)

        return Diff(
            added={k: v for k, v in self.added.items() if kept(k)},
            removed={k: v for k, v in self.removed.items() if kept(k)},
            changed={k: v for k, v in self.changed.items() if kept(k)},
        )


def diff(before: Snapshot, after: Snapshot) -> Diff:
    return Diff(
        added={k: v for k, v in after.items() if k not in before},
        removed={k: v for k, v in before.items() if k not in after},
        changed={
            k: (before[k], after[k]) for k in before.keys() & after.keys() if before[k] != after[k]
        },
    )


def number(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, {"N": "0"})["N"])


def is_usage(key: tuple[str, str, str]) -> bool:
    """A usage meter's item (services/metering.py)."""
    return key[0] == "data" and is_usage_sk(key[2])


def is_counter(key: tuple[str, str, str]) -> bool:
    """An abuse-limit counter item (`RL#<scope>#<window>`, in the control table)."""
    return key[0] == "control" and key[1].startswith("RL#")


def counters_grown(before: Snapshot, after: Snapshot) -> dict[str, dict[str, int]]:
    """Every counter item that changed (pk), with how much each of its counters grew (those that
    did); an item changed in any other way shows too, as {} or a negative growth."""
    out: dict[str, dict[str, int]] = {}
    for key in sorted(k for k in before.keys() | after.keys() if is_counter(k)):
        old, new = before.get(key, {}), after.get(key, {})
        if old == new:
            continue
        names = (old.keys() | new.keys()) - {"pk", "sk", TTL_ATTRIBUTE}
        grown = {n: number(new, n) - number(old, n) for n in sorted(names)}
        out[key[1]] = {n: g for n, g in grown.items() if g}
    return out
