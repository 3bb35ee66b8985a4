"""Idempotent retries: a POST sent again with the same `Idempotency-Key` gets the first answer
and writes nothing twice (chalicelib/api/idempotency.py, chalicelib/services/idempotency.py;
docs/architecture.md, "Idempotent retries").

Every DynamoDB call is recorded at botocore (bench/calls.py's recorder, as the budget tests do):
a replay is one BatchGetItem and nothing else, and both tables are snapshotted around it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import yaml
from botocore.client import BaseClient

from bench.calls import DynamoCalls
from chalicelib import runtime
from chalicelib.api import auth_tokens, idempotency, v1_privacy, v1_rooms
from chalicelib.auth import apikeys
from chalicelib.clock import FrozenClock, parse_iso
from chalicelib.db.models import (
    ENV_SK,
    IDEMPOTENCY_SK,
    EnvironmentItem,
    IdempotencyItem,
    env_pk,
    idempotency_pk,
)
from chalicelib.entities import Actor
from chalicelib.errors import environment_suspended
from chalicelib.repositories import idempotency as idem_repo
from chalicelib.services.idempotency import LOCK_SECONDS, REPLAY_SECONDS

from .helpers import (
    V1,
    Tenant,
    call,
    each,
    error,
    list_all,
    make_room,
    make_thread,
    new_tenant,
    ok,
    totals,
)

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
SYSTEM = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
ROOM = "doc:1"
R = f"{V1}/rooms/doc%3A1"
SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


@pytest.fixture
def tenant(services: runtime.Services) -> Tenant:
    return new_tenant(services, "Acme")


@pytest.fixture
def other(services: runtime.Services) -> Tenant:
    return new_tenant(services, "Globex")


@pytest.fixture
def dynamo_calls(monkeypatch: pytest.MonkeyPatch) -> DynamoCalls:
    """Every DynamoDB call of any botocore client while `record()` is open (as
    tests/integration/conftest.py's fixture of the same name)."""
    recorder = DynamoCalls()
    monkeypatch.setattr(BaseClient, "_make_api_call", recorder.wrap(BaseClient._make_api_call))
    return recorder


@pytest.fixture
def thread_id(client: Any, tenant: Tenant) -> str:
    """The room `doc:1` with one thread (the parents the POSTs below need)."""
    make_room(client, tenant.sk, ROOM)
    return str(make_thread(client, tenant.sk, ROOM)["id"])


def post(
    client: Any,
    path: str,
    sk: str | None,
    body: Any = None,
    *,
    key: str | None = None,
    raw: str | None = None,
) -> Any:
    """A POST with a JSON body (`raw`: as is), with `Idempotency-Key: key` unless key is None."""
    headers = {} if key is None else {HEADER: key}
    return call(client, "POST", path, token=sk, body=body, raw=raw, headers=headers)


def snapshot(settings: Any) -> list[str]:
    """Every item of both tables, as sorted JSON text."""
    dynamodb = boto3.client("dynamodb")
    items: list[str] = []
    for table in (settings.control_table, settings.data_table):
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            items += [json.dumps(item, sort_keys=True) for item in page["Items"]]
    return sorted(items)


def idem_items(settings: Any) -> list[dict[str, Any]]:
    return [
        item
        for item in map(json.loads, snapshot(settings))
        if "#IDEM#" in item["pk"]["S"] and item["sk"]["S"] == IDEMPOTENCY_SK
    ]


def record_of(env_id: str, key: str) -> IdempotencyItem | None:
    try:
        return IdempotencyItem.get(idempotency_pk(env_id, key), IDEMPOTENCY_SK)
    except IdempotencyItem.DoesNotExist:
        return None


def totals_threads(client: Any, tenant: Tenant) -> int:
    return len(list_all(client, tenant.sk, f"{R}/threads"))


def operations(calls: list[Any]) -> list[str]:
    return [c.operation for c in calls]


def is_first_answer(resp: Any, status: int) -> Any:
    """A response that ran (not a replay)."""
    assert resp.status_code == status, (resp.status_code, resp.body)
    assert REPLAYED not in resp.headers, resp.headers
    return resp.json_body


def is_replay_of(resp: Any, first: Any) -> None:
    assert (resp.status_code, resp.body) == (first.status_code, first.body), resp.body
    assert resp.headers[REPLAYED] == "true"
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Request-Id"]


def set_suspended(env_id: str, suspended: bool) -> None:
    """As an operator's suspend or resume would (the environment item's `suspended_at`)."""
    item = EnvironmentItem(env_pk(env_id), ENV_SK)
    action = (
        EnvironmentItem.suspended_at.set("2026-01-01T00:00:00.000Z")
        if suspended
        else EnvironmentItem.suspended_at.remove()
    )
    item.update(actions=[action])


# --- the five opted-in POSTs --------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    path: str  # `{t}`: the thread of the `thread_id` fixture
    body: Callable[[int], dict[str, Any]]  # the n-th distinct body
    status: int

    def at(self, thread: str) -> str:
        return self.path.replace("{t}", thread)


ROUTES = {
    "rooms": Route(f"{V1}/rooms", lambda n: {"id": f"room-{n}", "metadata": {"n": n}}, 201),
    "threads": Route(
        f"{R}/threads", lambda n: {"comment": {"userId": "u-1", "body": f"Thread {n}"}}, 201
    ),
    "comments": Route(
        f"{R}/threads/{{t}}/comments", lambda n: {"userId": "u-2", "body": f"Reply {n}"}, 201
    ),
    "broadcast": Route(f"{R}/broadcast", lambda n: {"event": {"n": n}}, 202),
    "auth/token": Route("/auth/token", lambda n: {"userId": f"u-{n}", "name": "Ada"}, 200),
}


def state(client: Any, services: runtime.Services, tenant: Tenant) -> Any:
    """What a second write would change: the analytics counters and the lists."""
    rooms = list_all(client, tenant.sk, f"{V1}/rooms")
    threads = list_all(client, tenant.sk, f"{R}/threads")
    users = list_all(client, tenant.sk, f"{V1}/users")
    return totals(services, tenant.id), rooms, threads, users


@pytest.mark.parametrize("name", ROUTES)
def test_a_retried_post_replays_the_first_answer_and_writes_nothing(
    client: Any,
    services: runtime.Services,
    settings: Any,
    tenant: Tenant,
    thread_id: str,
    dynamo_calls: DynamoCalls,
    name: str,
) -> None:
    route = ROUTES[name]
    path, body = route.at(thread_id), route.body(1)
    first = post(client, path, tenant.sk, body, key="retry-1")
    is_first_answer(first, route.status)
    counted = state(client, services, tenant)  # (its reads count against the rate limits)
    before = snapshot(settings)

    with dynamo_calls.record() as calls:
        again = post(client, path, tenant.sk, body, key="retry-1")

    is_replay_of(again, first)
    assert operations(calls) == ["BatchGetItem"]  # the key check and the record, nothing else
    assert dynamo_calls.others == []  # no Management API push (a broadcast is not sent again)
    assert snapshot(settings) == before
    assert state(client, services, tenant) == counted
    assert [i["status"]["N"] for i in idem_items(settings)] == [str(route.status)]


@pytest.mark.parametrize("name", ROUTES)
def test_the_first_run_costs_a_claim_before_and_an_answer_after(
    client: Any, tenant: Tenant, thread_id: str, dynamo_calls: DynamoCalls, name: str
) -> None:
    route = ROUTES[name]
    path = route.at(thread_id)
    with dynamo_calls.record() as plain:
        is_first_answer(post(client, path, tenant.sk, route.body(1)), route.status)
    with dynamo_calls.record() as keyed:
        is_first_answer(post(client, path, tenant.sk, route.body(2), key="k-2"), route.status)

    assert operations(keyed) == ["BatchGetItem", "PutItem", *operations(plain), "UpdateItem"]
    claim, answer = keyed[1].params, keyed[-1].params
    idem_pk = idempotency_pk(tenant.id, "k-2")
    assert claim["Item"]["pk"]["S"] == idem_pk and "ConditionExpression" in claim
    assert answer["Key"]["pk"]["S"] == idem_pk and "ConditionExpression" in answer
    # The record rides in the key check's read.
    read = keyed[0].params["RequestItems"]
    assert any(k["pk"]["S"] == idem_pk for table in read.values() for k in table["Keys"])


def test_without_the_header_nothing_changes(
    client: Any, settings: Any, tenant: Tenant, thread_id: str, dynamo_calls: DynamoCalls
) -> None:
    body = {"comment": {"userId": "u-1", "body": "Again"}}
    with dynamo_calls.record() as calls:
        first = is_first_answer(post(client, f"{R}/threads", tenant.sk, body), 201)
    again = is_first_answer(post(client, f"{R}/threads", tenant.sk, body), 201)

    # tests/integration/test_v1_budgets.py's "create thread": check, rate, transaction, fan-out.
    assert operations(calls) == ["BatchGetItem", "UpdateItem", "TransactWriteItems", "Query"]
    read = calls[0].params["RequestItems"]
    assert not any("#IDEM#" in k["pk"]["S"] for table in read.values() for k in table["Keys"])
    assert again["id"] != first["id"]  # a plain retry runs again, as before
    assert idem_items(settings) == []


# --- which request a key belongs to -------------------------------------------------------------


def test_the_same_key_with_another_body_is_a_422_and_writes_nothing(
    client: Any, settings: Any, tenant: Tenant, thread_id: str, dynamo_calls: DynamoCalls
) -> None:
    first = post(client, f"{R}/threads", tenant.sk, ROUTES["threads"].body(1), key="k")
    is_first_answer(first, 201)
    before = snapshot(settings)

    with dynamo_calls.record() as calls:
        other_body = post(client, f"{R}/threads", tenant.sk, ROUTES["threads"].body(2), key="k")
    other_route = post(client, f"{V1}/rooms", tenant.sk, {"id": "room-x"}, key="k")
    other_query = call(
        client,
        "POST",
        f"{R}/threads?x=1",
        token=tenant.sk,
        body=ROUTES["threads"].body(1),
        headers={HEADER: "k"},
    )

    for resp in (other_body, other_route, other_query):
        err = error(resp, 422, "IDEMPOTENCY_KEY_REUSED")
        assert err["suggestion"]
        assert REPLAYED not in resp.headers
    assert operations(calls) == ["BatchGetItem"]
    assert snapshot(settings) == before


def test_a_json_body_re_encoded_with_other_key_order_and_spacing_still_replays(
    client: Any, tenant: Tenant, thread_id: str
) -> None:
    compact = '{"comment":{"userId":"u-1","body":"Caf\\u00e9"},"metadata":{"a":1,"b":true}}'
    loose = (
        '{ "metadata" : { "b" : true, "a" : 1 },\n "comment": {"body": "Café", "userId": "u-1"}}'
    )
    first = post(client, f"{R}/threads", tenant.sk, raw=compact, key="k")
    is_first_answer(first, 201)

    is_replay_of(post(client, f"{R}/threads", tenant.sk, raw=loose, key="k"), first)


def test_a_body_that_is_not_json_counts_byte_for_byte(
    client: Any, tenant: Tenant, thread_id: str
) -> None:
    first = post(client, f"{R}/threads", tenant.sk, raw="{not json", key="k")
    error(first, 400, "MALFORMED_JSON")

    is_replay_of(post(client, f"{R}/threads", tenant.sk, raw="{not json", key="k"), first)
    error(post(client, f"{R}/threads", tenant.sk, raw="{not json ", key="k"), 422)


# --- a key in use, and answers that are not kept -----------------------------------------------


def test_a_retry_while_the_first_request_runs_is_a_409_with_retry_after(
    client: Any, services: runtime.Services, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, go_on = threading.Event(), threading.Event()
    create_room = services.collab.create_room

    def blocking(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert go_on.wait(10)
        return create_room(*args, **kwargs)

    monkeypatch.setattr(services.collab, "create_room", blocking)
    body = {"id": "room-1"}
    answers: dict[str, Any] = {}
    running = threading.Thread(
        target=lambda: answers.update(first=post(client, f"{V1}/rooms", tenant.sk, body, key="k"))
    )
    running.start()
    try:
        assert entered.wait(10)
        meanwhile = post(client, f"{V1}/rooms", tenant.sk, body, key="k")
    finally:
        go_on.set()
        running.join(10)

    error(meanwhile, 409, "IDEMPOTENCY_KEY_IN_USE")
    assert meanwhile.headers["Retry-After"] == "1"
    assert REPLAYED not in meanwhile.headers
    first = answers["first"]
    is_first_answer(first, 201)
    is_replay_of(post(client, f"{V1}/rooms", tenant.sk, body, key="k"), first)


def test_after_a_409_the_key_is_released_and_a_retry_runs(
    client: Any, settings: Any, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "room-1")
    error(post(client, f"{V1}/rooms", tenant.sk, {"id": "room-1"}, key="k"), 409, "ROOM_EXISTS")
    assert idem_items(settings) == []
    ok(call(client, "DELETE", f"{V1}/rooms/room-1", token=tenant.sk), 204)

    first = post(client, f"{V1}/rooms", tenant.sk, {"id": "room-1"}, key="k")
    is_first_answer(first, 201)
    is_replay_of(post(client, f"{V1}/rooms", tenant.sk, {"id": "room-1"}, key="k"), first)


def test_after_a_429_the_key_is_released_and_a_retry_runs(
    client: Any,
    services: runtime.Services,
    clock: FrozenClock,
    tenant: Tenant,
    thread_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits = services.limits
    monkeypatch.setattr(limits, "settings", replace(limits.settings, rate_rest_per_key=1))
    body = ROUTES["threads"].body(1)
    limited = post(client, f"{R}/threads", tenant.sk, body, key="k")  # this second's 2nd+ request
    error(limited, 429, "RATE_LIMITED")
    assert limited.headers["Retry-After"] == "1"

    clock.advance(1)  # the next second
    first = post(client, f"{R}/threads", tenant.sk, body, key="k")
    is_first_answer(first, 201)
    # The replay is not a request the rate counts: this second's limit (1) is spent already.
    is_replay_of(post(client, f"{R}/threads", tenant.sk, body, key="k"), first)
    error(call(client, "GET", f"{V1}/rooms", token=tenant.sk), 429, "RATE_LIMITED")


def test_after_a_500_the_key_is_released_and_a_retry_runs(
    client: Any,
    services: runtime.Services,
    tenant: Tenant,
    thread_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_thread = services.collab.create_thread
    failures = [RuntimeError("boom")]

    def failing_once(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return create_thread(*args, **kwargs)

    monkeypatch.setattr(services.collab, "create_thread", failing_once)
    body = ROUTES["threads"].body(1)
    error(post(client, f"{R}/threads", tenant.sk, body, key="k"), 500, "INTERNAL_ERROR")

    first = post(client, f"{R}/threads", tenant.sk, body, key="k")
    is_first_answer(first, 201)
    is_replay_of(post(client, f"{R}/threads", tenant.sk, body, key="k"), first)


def test_a_suspension_that_began_while_the_request_ran_is_not_replayed(
    client: Any,
    services: runtime.Services,
    tenant: Tenant,
    thread_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key check before the claim passed; the route's own check found the environment
    suspended. A 401 or 403 says something about the credentials at that moment, not about the
    request: kept, it would be replayed for a day after the operators resume the environment."""
    create_thread = services.collab.create_thread
    refusals = [environment_suspended()]

    def suspended_once(*args: Any, **kwargs: Any) -> Any:
        if refusals:
            raise refusals.pop()
        return create_thread(*args, **kwargs)

    monkeypatch.setattr(services.collab, "create_thread", suspended_once)
    body = ROUTES["threads"].body(1)
    error(post(client, f"{R}/threads", tenant.sk, body, key="k"), 403, "ENVIRONMENT_SUSPENDED")

    is_first_answer(post(client, f"{R}/threads", tenant.sk, body, key="k"), 201)


def test_a_stored_4xx_replays(
    client: Any, services: runtime.Services, tenant: Tenant, dynamo_calls: DynamoCalls
) -> None:
    body = ROUTES["threads"].body(1)
    first = post(client, f"{V1}/rooms/later/threads", tenant.sk, body, key="k")
    error(first, 404, "ROOM_NOT_FOUND")
    make_room(client, tenant.sk, "later")

    with dynamo_calls.record() as calls:
        again = post(client, f"{V1}/rooms/later/threads", tenant.sk, body, key="k")

    is_replay_of(again, first)  # the first answer, though the room exists now
    assert operations(calls) == ["BatchGetItem"]
    assert totals(services, tenant.id)["threads"] == 0


# --- whose key, and whose answer ----------------------------------------------------------------


def test_keys_are_per_environment(client: Any, tenant: Tenant, other: Tenant) -> None:
    for t in (tenant, other):
        make_room(client, t.sk, ROOM)
    body = ROUTES["threads"].body(1)
    mine = is_first_answer(post(client, f"{R}/threads", tenant.sk, body, key="shared"), 201)

    theirs = post(client, f"{R}/threads", other.sk, body, key="shared")

    is_first_answer(theirs, 201)
    assert theirs.json_body["id"] != mine["id"]
    assert [t["id"] for t in list_all(client, other.sk, f"{R}/threads")] == [theirs.json_body["id"]]
    assert [t["id"] for t in list_all(client, tenant.sk, f"{R}/threads")] == [mine["id"]]


def test_a_revoked_key_never_gets_a_replay(
    client: Any, services: runtime.Services, tenant: Tenant, thread_id: str
) -> None:
    body = ROUTES["threads"].body(1)
    is_first_answer(post(client, f"{R}/threads", tenant.sk, body, key="k"), 201)
    services.environments.revoke(SYSTEM, tenant.id, tenant.sk_id)

    refused = post(client, f"{R}/threads", tenant.sk, body, key="k")

    error(refused, 401, "INVALID_API_KEY")
    assert REPLAYED not in refused.headers


def test_the_environments_new_key_gets_the_replay(
    client: Any, services: runtime.Services, tenant: Tenant, thread_id: str
) -> None:
    """Keys belong to the environment (as Stripe's to an account): a retry sent with the key
    that replaced a rotated one is still a retry."""
    body = ROUTES["threads"].body(1)
    first = post(client, f"{R}/threads", tenant.sk, body, key="k")
    is_first_answer(first, 201)
    new_keys, _ = services.environments.rotate(SYSTEM, tenant.id)
    (new_sk,) = [k.key for k in new_keys if k.kind == "secret"]

    is_replay_of(post(client, f"{R}/threads", new_sk, body, key="k"), first)


def test_a_suspended_environment_gets_no_replay(
    client: Any, tenant: Tenant, thread_id: str
) -> None:
    body = ROUTES["threads"].body(1)
    first = post(client, f"{R}/threads", tenant.sk, body, key="k")
    set_suspended(tenant.id, True)

    refused = post(client, f"{R}/threads", tenant.sk, body, key="k")

    error(refused, 403, "ENVIRONMENT_SUSPENDED")
    assert REPLAYED not in refused.headers
    set_suspended(tenant.id, False)
    is_replay_of(post(client, f"{R}/threads", tenant.sk, body, key="k"), first)


def test_failed_authentications_are_limited_with_the_header_too(
    client: Any,
    services: runtime.Services,
    tenant: Tenant,
    thread_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The header must not be a way around the failure limits: a refused key is counted, and a
    source over its limit is refused before any replay, whatever its key."""
    limits = services.limits
    monkeypatch.setattr(limits, "settings", replace(limits.settings, auth_failures_per_source=2))
    body = ROUTES["threads"].body(1)
    first = post(client, f"{R}/threads", tenant.sk, body, key="k")
    forged = apikeys.generate("secret", tenant.id, tenant.sk_id)  # right ids, wrong secret
    for n in range(2):
        error(post(client, f"{R}/threads", forged, body, key=f"guess-{n}"), 401, "INVALID_API_KEY")

    limited = post(client, f"{R}/threads", tenant.sk, body, key="k")

    error(limited, 429, "TOO_MANY_FAILURES")
    assert int(limited.headers["Retry-After"]) >= 1
    assert REPLAYED not in limited.headers
    assert first.status_code == 201


# --- the header itself ---------------------------------------------------------------------------


def test_an_invalid_header_is_a_400_naming_it_with_no_dynamodb_call(
    client: Any, settings: Any, tenant: Tenant, thread_id: str, dynamo_calls: DynamoCalls
) -> None:
    body = ROUTES["threads"].body(1)

    def check(value: str) -> None:
        with dynamo_calls.record() as calls:
            resp = post(client, f"{R}/threads", tenant.sk, body, key=value)
        err = error(resp, 400, "INVALID_IDEMPOTENCY_KEY")
        assert err["field"] == HEADER and HEADER in err["message"], err
        assert calls == []

    each(["", "k" * 256, "clé", "key-\u2603", "tab\there"], check)
    assert totals_threads(client, tenant) == 1
    assert idem_items(settings) == []


def test_any_printable_ascii_key_up_to_255_characters_is_taken(
    client: Any, tenant: Tenant, thread_id: str
) -> None:
    def check(value: str) -> None:
        body = {"event": {"key": value}}
        first = post(client, f"{R}/broadcast", tenant.sk, body, key=value)
        is_first_answer(first, 202)
        is_replay_of(post(client, f"{R}/broadcast", tenant.sk, body, key=value), first)

    each(["k" * 255, "8e2f6a1c-6f3b-4a51-9c8e-0f5b2d7c9a11", "a#IDEM#b", "a b!~{}"], check)


def test_credentials_are_checked_before_the_header(client: Any, tenant: Tenant) -> None:
    body = {"id": "room-1"}
    error(post(client, f"{V1}/rooms", None, body, key=""), 401, "MISSING_API_KEY")
    error(post(client, f"{V1}/rooms", tenant.pk, body, key="k"), 401, "SECRET_KEY_REQUIRED")
    error(post(client, "/auth/token", tenant.pk, body, key="k"), 401, "SECRET_KEY_REQUIRED")


# --- lifetimes -----------------------------------------------------------------------------------


def test_the_replay_expires_after_24_hours(
    client: Any, clock: FrozenClock, tenant: Tenant, thread_id: str
) -> None:
    body = ROUTES["threads"].body(1)
    first = post(client, f"{R}/threads", tenant.sk, body, key="k")
    is_first_answer(first, 201)
    record = record_of(tenant.id, "k")
    assert record is not None and record.expires_at == int(clock.now()) + REPLAY_SECONDS

    clock.advance(record.expires_at - clock.now() - 0.001)
    is_replay_of(post(client, f"{R}/threads", tenant.sk, body, key="k"), first)
    clock.advance(0.001)  # 24 hours (from the whole second of the first request)
    later = is_first_answer(post(client, f"{R}/threads", tenant.sk, body, key="k"), 201)

    assert later["id"] != first.json_body["id"]
    assert totals_threads(client, tenant) == 3


def test_a_mints_replay_lives_no_longer_than_its_token(
    client: Any, settings: Any, clock: FrozenClock, tenant: Tenant
) -> None:
    body = {"userId": "u-1", "name": "Ada"}
    first = post(client, "/auth/token", tenant.sk, body, key="k")
    minted = is_first_answer(first, 200)
    record = record_of(tenant.id, "k")
    assert record is not None
    assert record.expires_at == parse_iso(minted["expiresAt"])  # the token's `exp`
    assert record.expires_at == int(clock.now()) + settings.token_ttl_seconds

    clock.advance(record.expires_at - clock.now() - 0.001)
    is_replay_of(post(client, "/auth/token", tenant.sk, body, key="k"), first)
    clock.advance(0.001)  # the token has expired: so has its replay
    fresh = is_first_answer(post(client, "/auth/token", tenant.sk, body, key="k"), 200)

    assert fresh["token"] != minted["token"]
    assert parse_iso(fresh["expiresAt"]) > parse_iso(minted["expiresAt"])


def test_a_claim_whose_request_died_can_be_taken_over(
    client: Any, clock: FrozenClock, tenant: Tenant, thread_id: str
) -> None:
    body = ROUTES["threads"].body(1)
    now = clock.now()
    request = SimpleNamespace(method="POST", raw_body=json.dumps(body).encode(), query_params=None)
    assert idem_repo.claim(
        tenant.id,
        "k",
        fingerprint=idempotency.fingerprint(request, f"{V1}/rooms/{ROOM}/threads"),  # type: ignore[arg-type]
        owner="dead",
        now=now,
        lock_until=now + LOCK_SECONDS,
        expires_at=now + REPLAY_SECONDS,
    )
    error(post(client, f"{R}/threads", tenant.sk, body, key="k"), 409, "IDEMPOTENCY_KEY_IN_USE")

    clock.advance(LOCK_SECONDS)  # the lock has passed with no answer: the request died
    first = post(client, f"{R}/threads", tenant.sk, body, key="k")

    is_first_answer(first, 201)
    assert not idem_repo.complete(tenant.id, "k", "dead", 500, "")  # too late for the dead one
    is_replay_of(post(client, f"{R}/threads", tenant.sk, body, key="k"), first)
    assert totals_threads(client, tenant) == 2


# --- the routes and the contract ----------------------------------------------------------------


def test_the_opted_in_routes_are_the_secret_key_posts(services: runtime.Services) -> None:
    specs = [*v1_rooms.router.specs, *v1_privacy.router.specs, *auth_tokens.router.specs]
    assert sorted((s.method, s.path) for s in specs if s.idempotent) == [
        ("POST", "/api/v1/rooms"),
        ("POST", "/api/v1/rooms/{roomId}/attachments"),
        ("POST", "/api/v1/rooms/{roomId}/broadcast"),
        ("POST", "/api/v1/rooms/{roomId}/threads"),
        ("POST", "/api/v1/rooms/{roomId}/threads/{threadId}/comments"),
        ("POST", "/api/v1/rooms/{roomId}/threads/{threadId}/comments/{commentId}/reactions"),
        ("POST", "/api/v1/users/{userId}/erase"),
        ("POST", "/api/v1/users/{userId}/revoke-tokens"),
        ("POST", "/auth/token"),
    ]
    assert {s.method for s in specs if not s.idempotent} <= {"GET", "PATCH", "DELETE"}


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@pytest.fixture(scope="module")
def spec() -> Iterator[dict[str, Any]]:
    yield yaml.safe_load(SPEC.read_text(encoding="utf-8"))


def test_the_contract_documents_the_header_on_every_opted_in_post(spec: dict[str, Any]) -> None:
    specs = [*v1_rooms.router.specs, *v1_privacy.router.specs, *auth_tokens.router.specs]
    for s in specs:
        op = spec["paths"][s.path][s.method.lower()]
        parameters = [_resolve(spec, p) for p in op.get("parameters", [])]
        headers = {p["name"]: p for p in parameters if p["in"] == "header"}
        responses = {code: _resolve(spec, r) for code, r in op["responses"].items()}
        assert {"403", "429"} <= set(responses), (s.path, s.method)
        if not s.idempotent:
            assert HEADER not in headers, (s.path, s.method)
            continue
        assert headers[HEADER]["required"] is False
        assert headers[HEADER]["schema"]["maxLength"] == idempotency.MAX_LENGTH
        assert {"409", "422"} <= set(responses), (s.path, s.method)
        assert "Retry-After" in responses["409"]["headers"]
        success = next(r for code, r in responses.items() if code.startswith("2"))
        assert REPLAYED in success["headers"], (s.path, s.method)
