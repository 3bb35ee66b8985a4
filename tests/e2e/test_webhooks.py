"""Webhooks end to end on the real local stack: REST changes commit, the data table's stream
(moto) hands the event items to the pipeline, SQS (moto) carries each attempt, and a real HTTP
listener receives the posts. Signatures are checked with the Standard Webhooks reference library
(`standardwebhooks` from PyPI), which nobody here wrote."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks import WebhookVerificationError
from webhook_listener import Listener, Received, listening

from .conftest import Stack, stacks

# Short waits (the schedule's shape is tested with a frozen clock in tests/integration): retries
# after 1 s each, a 1 s timeout per attempt.
RETRY_DELAYS = "1,1,1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    with stacks(tmp) as start:
        yield start(
            tmp / "data",
            PULSE_EPHEMERAL="1",
            PULSE_WEBHOOK_RETRY_DELAYS=RETRY_DELAYS,
            PULSE_WEBHOOK_TIMEOUT_SECONDS="1",
        )


@pytest.fixture(scope="module")
def admin(stack: Stack) -> str:
    return stack.login()


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening() as server:
        yield server


class Env:
    def __init__(self, stack: Stack, admin: str) -> None:
        created = stack.create_environment(admin, "Hooks")
        self.stack, self.admin = stack, admin
        self.id = created["environment"]["id"]
        (self.sk,) = [k["key"] for k in created["keys"] if k["kind"] == "secret"]

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.stack.call(method, path, self.sk, **kwargs)

    def admin_api(self, method: str, path: str, **kwargs: Any) -> Any:
        base = f"/admin/api/environments/{self.id}/webhooks"
        return self.stack.call(method, base + path, self.admin, **kwargs)

    def register(self, url: str, **fields: Any) -> dict[str, Any]:
        response = self.admin_api("POST", "", json={"url": url, **fields})
        assert response.status_code == 201, response.text
        hook: dict[str, Any] = response.json()
        return hook

    def deliveries(self, hook_id: str) -> list[dict[str, Any]]:
        response = self.admin_api("GET", f"/{hook_id}/deliveries")
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data


@pytest.fixture
def env(stack: Stack, admin: str) -> Env:
    return Env(stack, admin)


def verified(secret: str, received: Received) -> dict[str, Any]:
    payload: dict[str, Any] = Verifier(secret).verify(received.body, received.headers)
    return payload


def wait_until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_every_event_type_arrives_signed_with_the_rest_shape(env: Env, listener: Listener) -> None:
    hook = env.register(listener.url + "/all")
    room = quote("doc:1", safe="")
    assert env.api("POST", "/api/v1/rooms", json={"id": "doc:1"}).status_code == 201
    assert env.api("PATCH", f"/api/v1/rooms/{room}", json={"metadata": {"t": 1}}).ok
    thread = env.api(
        "POST",
        f"/api/v1/rooms/{room}/threads",
        json={"comment": {"userId": "u1", "body": "first"}},
    ).json()
    t = f"/api/v1/rooms/{room}/threads/{thread['id']}"
    comment = env.api("POST", t + "/comments", json={"userId": "u2", "body": "second"}).json()
    edited = env.api("PATCH", t + f"/comments/{comment['id']}", json={"body": "second!"})
    assert edited.ok
    assert env.api("PATCH", t, json={"metadata": {"a": 1}}).ok
    assert env.api("PATCH", t, json={"resolved": True}).ok
    assert env.api("DELETE", t + f"/comments/{comment['id']}").status_code == 204
    assert env.api("DELETE", t).status_code == 204
    assert env.api("DELETE", f"/api/v1/rooms/{room}").status_code == 204

    expected = [
        "room.updated",
        "thread.created",
        "comment.created",
        "comment.updated",
        "thread.updated",
        "thread.resolved",
        "comment.deleted",
        "thread.deleted",
        "room.deleted",
    ]
    got = listener.wait_for("/all", len(expected))
    payloads = [verified(hook["secret"], r) for r in got]
    assert sorted(p["type"] for p in payloads) == sorted(expected)
    by_type = {p["type"]: p for p in payloads}
    for p in payloads:
        assert p["data"]["environmentId"] == env.id and p["data"]["roomId"] == "doc:1"
        assert p["timestamp"].endswith("Z")
    # each with its place in the room's order: the order the changes were made in
    assert {t: by_type[t]["data"]["seq"] for t in expected} == {
        t: n for n, t in enumerate(expected, start=1)
    }
    # `data` is what the REST API answered for the resource
    created = by_type["thread.created"]["data"]
    assert {k: created[k] for k in thread} == thread
    made = by_type["comment.created"]["data"]
    assert {k: made[k] for k in comment} == comment
    assert by_type["comment.updated"]["data"]["body"] == "second!"
    assert by_type["comment.updated"]["data"] == {
        **edited.json(),
        "environmentId": env.id,
        "roomId": "doc:1",
        "seq": 4,
    }
    assert by_type["thread.resolved"]["data"]["resolved"] is True
    assert by_type["comment.deleted"]["data"]["id"] == comment["id"]
    assert by_type["thread.deleted"]["data"]["id"] == thread["id"]
    # one webhook-id per event, and the deliveries log shows them succeeded
    ids = {r.headers["webhook-id"] for r in got}
    assert len(ids) == len(expected)
    logged = wait_until(
        lambda: (
            [d for d in env.deliveries(hook["id"]) if d["status"] == "succeeded"]
            if len(env.deliveries(hook["id"])) == len(expected)
            and all(d["status"] == "succeeded" for d in env.deliveries(hook["id"]))
            else None
        )
    )
    assert {d["id"] for d in logged} == ids
    assert all(d["responseCode"] == 200 and d["attempt"] == 1 for d in logged)


def test_a_tampered_body_or_another_secret_does_not_verify(env: Env, listener: Listener) -> None:
    hook = env.register(listener.url + "/tamper")
    env.api("POST", "/api/v1/rooms", json={"id": "t1"})
    env.api("PATCH", "/api/v1/rooms/t1", json={"metadata": {"x": 1}})
    (got,) = listener.wait_for("/tamper", 1)
    verified(hook["secret"], got)
    with pytest.raises(WebhookVerificationError):
        Verifier(hook["secret"]).verify(got.body.replace(b"t1", b"t2"), got.headers)
    other = "whsec_" + base64.b64encode(b"k" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        Verifier(other).verify(got.body, got.headers)


def test_the_event_filter_sends_only_what_was_asked(env: Env, listener: Listener) -> None:
    env.register(listener.url + "/only-rooms", events=["room.deleted"])
    everything = env.register(listener.url + "/everything")
    env.api("POST", "/api/v1/rooms", json={"id": "f1"})
    env.api("PATCH", "/api/v1/rooms/f1", json={"metadata": {"x": 1}})
    env.api("DELETE", "/api/v1/rooms/f1")
    assert len(listener.wait_for("/everything", 2)) == 2
    (only,) = listener.wait_for("/only-rooms", 1)
    assert json.loads(only.body)["type"] == "room.deleted"
    assert everything["events"] is None


def test_a_500_is_retried_with_the_same_id_until_it_succeeds(env: Env, listener: Listener) -> None:
    listener.script["/flaky"] = [500, 503, 200]
    hook = env.register(listener.url + "/flaky")
    env.api("POST", "/api/v1/rooms", json={"id": "r500"})
    env.api("PATCH", "/api/v1/rooms/r500", json={"metadata": {"x": 1}})
    got = listener.wait_for("/flaky", 3)
    assert len(got) == 3
    assert len({r.headers["webhook-id"] for r in got}) == 1
    assert len({r.body for r in got}) == 1
    for r in got:
        verified(hook["secret"], r)
    (delivery,) = wait_until(
        lambda: [d for d in env.deliveries(hook["id"]) if d["status"] == "succeeded"]
    )
    assert delivery["attempt"] == 3 and delivery["responseCode"] == 200
    assert (
        delivery["responseBody"].startswith("answer 200") and len(delivery["responseBody"]) <= 1024
    )


def test_a_timeout_is_retried_then_the_delivery_fails(env: Env, listener: Listener) -> None:
    listener.script["/slow"] = ["hang"]
    hook = env.register(listener.url + "/slow")
    env.api("POST", "/api/v1/rooms", json={"id": "slow"})
    env.api("PATCH", "/api/v1/rooms/slow", json={"metadata": {"x": 1}})
    # the first attempt and one retry per delay of the shortened schedule
    attempts = 1 + len(RETRY_DELAYS.split(","))
    assert len(listener.wait_for("/slow", attempts, timeout=40)) == attempts
    (failed,) = wait_until(
        lambda: [d for d in env.deliveries(hook["id"]) if d["status"] == "failed"], timeout=20
    )
    assert failed["attempt"] == attempts
    assert failed["error"] == "timeout" and failed["responseCode"] is None
    assert failed["nextAttemptAt"] is None


def test_a_410_disables_the_endpoint_audited(env: Env, listener: Listener) -> None:
    listener.script["/gone"] = [410]
    hook = env.register(listener.url + "/gone")
    env.api("POST", "/api/v1/rooms", json={"id": "g1"})
    env.api("PATCH", "/api/v1/rooms/g1", json={"metadata": {"x": 1}})
    assert len(listener.wait_for("/gone", 1)) == 1
    shown = wait_until(
        lambda: (h := env.admin_api("GET", f"/{hook['id']}").json())["enabled"] is False and h
    )
    assert shown["disabledReason"] == "gone" and shown["disabledAt"]
    env.api("PATCH", "/api/v1/rooms/g1", json={"metadata": {"x": 2}})
    time.sleep(2)  # nothing more may arrive: give the pipeline time to (wrongly) send
    assert len(listener.at("/gone")) == 1
    audit = env.stack.call("GET", f"/admin/api/environments/{env.id}/audit", env.admin).json()
    actions = [(e["action"], e["target"]["id"]) for e in audit["data"]]
    assert ("webhook.disabled", hook["id"]) in actions


def test_a_rotated_secret_signs_beside_the_old_one(env: Env, listener: Listener) -> None:
    hook = env.register(listener.url + "/rotate")
    rotated = env.admin_api("POST", f"/{hook['id']}/rotate-secret")
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != hook["secret"]
    assert "secret" not in env.admin_api("GET", f"/{hook['id']}").json()
    env.api("POST", "/api/v1/rooms", json={"id": "rot"})
    env.api("PATCH", "/api/v1/rooms/rot", json={"metadata": {"x": 1}})
    (got,) = listener.wait_for("/rotate", 1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    verified(hook["secret"], got)  # receivers still on the old secret
    verified(new, got)  # and those that switched


def test_the_test_button_sends_webhook_test(env: Env, listener: Listener) -> None:
    hook = env.register(listener.url + "/test")
    sent = env.admin_api("POST", f"/{hook['id']}/test")
    assert sent.status_code == 202, sent.text
    (got,) = listener.wait_for("/test", 1)
    payload = verified(hook["secret"], got)
    assert payload["type"] == "webhook.test" and payload["data"]["webhookId"] == hook["id"]
    assert got.headers["webhook-id"] == sent.json()["id"]


def test_failed_deliveries_can_be_retried_and_replayed(env: Env, listener: Listener) -> None:
    listener.script["/down"] = [500]
    hook = env.register(listener.url + "/down")
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    env.api("POST", "/api/v1/rooms", json={"id": "down"})
    env.api("PATCH", "/api/v1/rooms/down", json={"metadata": {"x": 1}})
    env.api("PATCH", "/api/v1/rooms/down", json={"metadata": {"x": 2}})
    attempts = 2 * (1 + len(RETRY_DELAYS.split(",")))
    listener.wait_for("/down", attempts, timeout=40)
    failed = wait_until(
        lambda: (
            (ds := env.deliveries(hook["id"]))
            and len(ds) == 2
            and all(d["status"] == "failed" for d in ds)
            and ds
        ),
        timeout=20,
    )
    assert failed
    listener.script["/down"] = [200]
    retried = env.admin_api("POST", f"/{hook['id']}/deliveries/{failed[0]['id']}/retry")
    assert retried.status_code == 202, retried.text
    got = listener.wait_for("/down", attempts + 1)
    assert got[-1].headers["webhook-id"] == failed[0]["id"]
    assert wait_until(lambda: [d for d in env.deliveries(hook["id"]) if d["status"] == "succeeded"])
    replayed = env.admin_api("POST", f"/{hook['id']}/replay", json={"since": since})
    assert replayed.status_code == 202 and replayed.json() == {"replayed": 1}
    got = listener.wait_for("/down", attempts + 2)
    assert got[-1].headers["webhook-id"] == failed[1]["id"]
    verified(hook["secret"], got[-1])


def test_no_event_leaves_a_cancelled_transaction(
    env: Env, listener: Listener, stack: Stack
) -> None:
    """A change that rolls back sends nothing: a TransactWriteItems holding an event item and a
    write whose condition fails, sent to the stack's DynamoDB as the app would."""
    import boto3

    env.register(listener.url + "/rollback")
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.dynamodb_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    table = "pulse-dev-data"
    event = {
        "pk": {"S": f"ENV#{env.id}#EVENTS#rb"},
        "sk": {"S": "EVT#evt_0000000000000001"},
        "event_id": {"S": "evt_0000000000000001"},
        "type": {"S": "room.updated"},
        "env_id": {"S": env.id},
        "room_id": {"S": "rb"},
        "created_at": {"S": "2026-01-01T00:00:00.000Z"},
        "data": {"S": "{}"},
    }
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": event}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": f"ENV#{env.id}"}, "sk": {"S": "ROOM#absent"}},
                        "UpdateExpression": "SET x = :x",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":x": {"S": "y"}},
                    }
                },
            ]
        )
    # a committed change after it arrives; the cancelled one never does
    env.api("POST", "/api/v1/rooms", json={"id": "after"})
    env.api("PATCH", "/api/v1/rooms/after", json={"metadata": {"x": 1}})
    listener.wait_for("/rollback", 1)
    time.sleep(1)
    assert [json.loads(r.body)["data"]["roomId"] for r in listener.at("/rollback")] == ["after"]
