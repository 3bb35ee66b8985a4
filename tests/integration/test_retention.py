"""The scheduled retention run (services/retention.py), called as EventBridge calls it: resolved
threads last changed more than `retentionDays` ago are deleted and nothing else, counters stay
exact, environments without the setting keep everything, and what dead purges left (a deleted
thread's comments, a deleted room's threads) is removed. The Admin API's field is checked too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from api.helpers import PASSWORD, login_as
from erasure_world import recount

from chalicelib import runtime, webhook_handlers
from chalicelib.clock import FrozenClock
from chalicelib.repositories import rooms as rooms_repo
from chalicelib.services.environments import EnvironmentChange

from .conftest import OWNER

DAY = 86400


def scan(table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table):
        items += page["Items"]
    return items


class Tenant:
    def __init__(self, client: Any, services: runtime.Services, name: str) -> None:
        env, (_, sk) = services.environments.create(OWNER, name)
        assert sk.key is not None
        self.client, self.id, self.sk = client, env.id, sk.key

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.sk}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else b""
        resp = self.client.http.request(method, f"/api/v1{path}", headers=headers, body=data)
        assert resp.status_code == status, resp.body
        return resp.json_body if resp.body else None

    def thread(self, room: str, *, resolved: bool, replies: int = 0) -> str:
        body = {"comment": {"userId": "ada", "body": "Hi"}}
        made = self.call("POST", f"/rooms/{room}/threads", body, 201)
        for n in range(replies):
            path = f"/rooms/{room}/threads/{made['id']}/comments"
            self.call("POST", path, {"userId": "bob", "body": f"Reply {n}"}, 201)
        if resolved:
            self.call("PATCH", f"/rooms/{room}/threads/{made['id']}", {"resolved": True})
        return str(made["id"])

    def threads(self, room: str) -> set[str]:
        return {t["id"] for t in self.call("GET", f"/rooms/{room}/threads?limit=100")["data"]}

    def items(self, services: runtime.Services) -> list[dict[str, Any]]:
        return [
            i
            for i in scan(services.settings.data_table)
            if i["pk"]["S"].startswith(f"ENV#{self.id}")
        ]


@pytest.fixture
def tenant(client: Any, services: runtime.Services) -> Iterator[Tenant]:
    t = Tenant(client, services, "Kept 30 days")
    for room in ("r1", "r2"):
        t.call("POST", "/rooms", {"id": room}, 201)
    services.environments.update(OWNER, t.id, EnvironmentChange(retention_days=30))
    yield t


def test_only_resolved_threads_older_than_the_retention_go_and_counters_stay_exact(
    client: Any, services: runtime.Services, clock: FrozenClock, tenant: Tenant
) -> None:
    old_resolved = tenant.thread("r1", resolved=True, replies=3)
    old_open = tenant.thread("r1", resolved=False, replies=1)
    old_other_room = tenant.thread("r2", resolved=True)
    clock.advance(29 * DAY)
    touched = tenant.thread("r2", resolved=True)  # resolved 29 days ago: 1 day from expiry
    clock.advance(2 * DAY)
    recent = tenant.thread("r1", resolved=True, replies=2)
    keeper = Tenant(client, services, "No retention")
    keeper.call("POST", "/rooms", {"id": "r1"}, 201)
    clock.advance(-31 * DAY)
    ancient = keeper.thread("r1", resolved=True)
    clock.advance(31 * DAY)

    report = webhook_handlers.retention({})

    assert report["threadsDeleted"] == 2
    assert tenant.threads("r1") == {old_open, recent}
    assert tenant.threads("r2") == {touched}
    assert keeper.threads("r1") == {ancient}
    data = tenant.items(services)
    assert recount(data, tenant.id) == []
    assert recount(keeper.items(services), keeper.id) == []
    gone = {old_resolved, old_other_room}
    assert not [
        i for i in data if any(t in json.dumps(i) for t in gone) and "SEQ#" not in i["sk"]["S"]
    ]
    # A second run finds nothing more to do.
    assert webhook_handlers.retention({})["threadsDeleted"] == 0


def test_a_run_stops_at_its_bound_and_the_next_goes_on(
    services: runtime.Services, clock: FrozenClock, tenant: Tenant
) -> None:
    made = {tenant.thread("r1", resolved=True) for _ in range(5)}
    clock.advance(31 * DAY)

    first = services.retention.run(max_threads=3)
    second = services.retention.run(max_threads=3)

    assert (first.threads_deleted, first.complete) == (3, False)
    assert (second.threads_deleted, second.complete) == (2, True)
    assert tenant.threads("r1") & made == set()
    assert recount(tenant.items(services), tenant.id) == []


def test_the_comments_a_dead_thread_purge_left_are_removed(
    services: runtime.Services, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread = tenant.thread("r1", resolved=False, replies=4)
    real = rooms_repo._purge_comments

    def dies(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the purge died")

    with monkeypatch.context() as patch:
        patch.setattr(rooms_repo, "_purge_comments", dies)
        tenant.call("DELETE", f"/rooms/r1/threads/{thread}", status=204)
    left = [i for i in tenant.items(services) if f"#THREAD#{thread}" in i["pk"]["S"]]
    assert len(left) == 5  # invisible, but there
    markers = [i for i in tenant.items(services) if i["sk"]["S"].startswith("TPURGE#")]
    assert len(markers) == 1
    assert rooms_repo._purge_comments is real

    report = webhook_handlers.retention({})

    assert report["threadsPurged"] == 1
    data = tenant.items(services)
    assert [i for i in data if f"#THREAD#{thread}" in i["pk"]["S"]] == []
    assert [i for i in data if i["sk"]["S"].startswith("TPURGE#")] == []
    assert recount(data, tenant.id) == []


def test_a_thread_delete_whose_purge_ends_leaves_no_marker(
    services: runtime.Services, tenant: Tenant
) -> None:
    thread = tenant.thread("r1", resolved=False, replies=2)
    tenant.call("DELETE", f"/rooms/r1/threads/{thread}", status=204)
    assert [i for i in tenant.items(services) if i["sk"]["S"].startswith("TPURGE#")] == []


def test_the_threads_a_dead_room_purge_left_are_removed(
    services: runtime.Services, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(2):
        tenant.thread("r2", resolved=False, replies=1)
    with monkeypatch.context() as patch:
        patch.setattr(
            rooms_repo,
            "_purge_comments",
            lambda *a, **k: (_ for _ in ()).throw(RuntimeError("died")),
        )
        tenant.call("DELETE", "/rooms/r2", status=204)
    assert [i for i in tenant.items(services) if i["sk"]["S"].startswith("PURGE#")]

    report = webhook_handlers.retention({})

    assert report["roomsPurged"] == 1
    data = tenant.items(services)
    assert [i for i in data if "#ROOM#r2" in i["pk"]["S"] and "THREAD#" in i["sk"]["S"]] == []
    assert [i for i in data if i["sk"]["S"].startswith("PURGE#")] == []
    assert recount(data, tenant.id) == []


@pytest.mark.parametrize(
    ("value", "status", "stored"),
    [(7, 200, 7), (0, 200, None), (-1, 400, None), (3651, 400, None), ("7", 400, None)],
)
def test_the_admin_api_sets_retention_days(
    client: Any, services: runtime.Services, value: Any, status: int, stored: int | None
) -> None:
    services.operators.create(None, "owner@example.com", PASSWORD, "owner")
    owner = login_as(client, "owner@example.com")
    env, _ = services.environments.create(OWNER, "Settings")
    path = f"/admin/api/environments/{env.id}"
    headers = {"Authorization": f"Bearer {owner.token}", "Content-Type": "application/json"}

    resp = client.http.request(
        "PATCH", path, headers=headers, body=json.dumps({"retentionDays": value}).encode()
    )

    assert resp.status_code == status, resp.body
    if status == 400:
        assert resp.json_body["error"]["code"] == "INVALID_INPUT"
        assert "retentionDays" in resp.json_body["error"]["message"]
    got = client.http.request("GET", path, headers=headers).json_body
    assert got["retentionDays"] == stored
