"""Numbers that are not JSON, over REST (issue 11, class 3): NaN, Infinity, -Infinity, literals
that overflow to infinity (1e999) and integers too long to parse are refused in every JSON body
with a 400 INVALID_INPUT naming where they are, before anything is read or written; and no answer
holds anything but JSON."""

from __future__ import annotations

import json
from typing import Any

import boto3

from chalicelib import runtime

from .helpers import (
    API,
    Login,
    call,
    create_environment,
    each,
    error,
    make_room,
    make_thread,
    new_tenant,
    ok,
    v1,
)

# literal -> what the message must say about it
BAD_NUMBERS = {
    "1e999": "finite number",
    "-1e999": "finite number",
    "1" * 400 + ".5": "finite number",  # overflows too, without an exponent
    "NaN": "NaN is not a JSON number",
    "Infinity": "Infinity is not a JSON number",
    "-Infinity": "-Infinity is not a JSON number",
    "1" * 5000: "5000 digits",
    "-" + "9" * 4301: "4301 digits",
}
MARK = "§"


def strict(text: str | bytes) -> Any:
    """Parse as a browser's JSON.parse does: NaN and Infinity are not JSON."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in an answer")

    return json.loads(text, parse_constant=refuse)


def refused(client: Any, method: str, path: str, token: str, template: str, field: str) -> None:
    """Every bad number in the template's § gets a 400 INVALID_INPUT naming `field`."""

    def check(case: tuple[str, str]) -> None:
        literal, says = case
        resp = call(client, method, path, token=token, raw=template.replace(MARK, literal))
        err = error(resp, 400, "INVALID_INPUT")
        assert err.get("field") == field, err
        assert err["message"].startswith(f"{field}: ") and says in err["message"], err
        strict(resp.body)

    each(BAD_NUMBERS.items(), check)


def test_v1_bodies_refuse_numbers_json_cannot_carry_naming_where(
    client: Any, services: runtime.Services
) -> None:
    tenant = new_tenant(services)
    make_room(client, tenant.sk, "doc", {"n": 1})
    thread = make_thread(client, tenant.sk, "doc")
    t, c = thread["id"], thread["comments"][0]["id"]
    cases = [
        ("POST", "/rooms", '{"id": "new-room", "metadata": {"n": §}}', "metadata.n"),
        ("PATCH", "/rooms/doc", '{"metadata": {"a": 1, "n": §}}', "metadata.n"),
        ("POST", "/rooms/doc/threads", '{"comment": {"userId": "u", "body": §}}', "comment.body"),
        (
            "POST",
            "/rooms/doc/threads",
            '{"comment": {"userId": "u", "body": "x"}, "metadata": {"n": §}}',
            "metadata.n",
        ),
        (
            "PATCH",
            f"/rooms/doc/threads/{t}",
            '{"resolved": true, "metadata": {"n": §}}',
            "metadata.n",
        ),
        ("POST", f"/rooms/doc/threads/{t}/comments", '{"userId": "u", "body": §}', "body"),
        ("PATCH", f"/rooms/doc/threads/{t}/comments/{c}", '{"body": §}', "body"),
        ("POST", "/rooms/doc/broadcast", '{"event": {"cursor": [1, §]}}', "event.cursor[1]"),
        ("POST", "/rooms/doc/broadcast", '{"event": §}', "event"),
        ("POST", "/rooms", "§", "body"),
        ("POST", "/rooms", "[0, §]", "body[1]"),
    ]
    for method, path, template, field in cases:
        refused(client, method, f"/api/v1{path}", tenant.sk, template, field)

    # Nothing was written: the one room, its one thread with its one comment, as they were.
    rooms = ok(v1(client, "GET", "/rooms", tenant.sk))["data"]
    assert [(r["id"], r["metadata"]) for r in rooms] == [("doc", {"n": 1})]
    again = ok(v1(client, "GET", f"/rooms/doc/threads/{t}", tenant.sk))
    assert again == {**thread, "commentsNextCursor": None}


def test_the_token_mint_refuses_them(client: Any, services: runtime.Services) -> None:
    tenant = new_tenant(services)
    refused(client, "POST", "/auth/token", tenant.sk, '{"userId": "u", "name": §}', "name")
    refused(
        client,
        "POST",
        "/auth/token",
        tenant.sk,
        '{"userId": "u", "name": "A", "avatar": §}',
        "avatar",
    )


def test_admin_bodies_refuse_them(client: Any, owner: Login) -> None:
    env_id = create_environment(client, owner.token)["environment"]["id"]
    cases = [
        ("POST", f"{API}/environments", '{"name": §}', "name"),
        ("PATCH", f"{API}/environments/{env_id}", '{"name": §}', "name"),
        ("POST", f"{API}/environments/{env_id}/keys", '{"kind": "secret", "name": §}', "name"),
        ("POST", f"{API}/environments/{env_id}/keys/rotate", '{"n": §}', "n"),
        ("POST", f"{API}/operators", '{"email": "x@example.com", "role": §}', "role"),
        ("PATCH", f"{API}/operators/{owner.id}", '{"role": §}', "role"),
        ("POST", f"{API}/login", '{"email": "x@example.com", "password": §}', "password"),
    ]
    for method, path, template, field in cases:
        refused(client, method, path, owner.token, template, field)
    names = [
        e["name"] for e in ok(call(client, "GET", f"{API}/environments", token=owner.token))["data"]
    ]
    assert names == ["Production"]


def test_an_idempotency_key_never_takes_two_overflowing_numbers_for_one_request(
    client: Any, services: runtime.Services
) -> None:
    """1e999 and 2e999 both parse to infinity: fingerprinted by that, the second request would be
    a replay of the first. Each is its own request, and each is refused."""
    tenant = new_tenant(services)
    make_room(client, tenant.sk, "doc")
    key = {"Idempotency-Key": "5f0c6e1e-8a55-4a2b-9d9e-0d6f3d1c2b7a"}
    path = "/api/v1/rooms/doc/broadcast"
    first = call(client, "POST", path, token=tenant.sk, raw='{"event": 1e999}', headers=key)
    error(first, 400, "INVALID_INPUT")
    # A body the API refuses is fingerprinted byte for byte: the same bytes are a retry.
    again = call(client, "POST", path, token=tenant.sk, raw='{"event": 1e999}', headers=key)
    assert again.status_code == 400 and again.headers.get("Idempotent-Replayed") == "true"
    other = call(client, "POST", path, token=tenant.sk, raw='{"event": 2e999}', headers=key)
    error(other, 422, "IDEMPOTENCY_KEY_REUSED")


def test_stored_data_that_is_not_json_is_a_500_never_an_answer_that_is_not_json(
    client: Any, services: runtime.Services
) -> None:
    """A room item whose metadata holds `Infinity` (written by an older version, or by hand):
    its answers are the error shape (500), never a body that a browser cannot parse."""
    tenant = new_tenant(services)
    make_room(client, tenant.sk, "doc", {"n": 1})
    table = boto3.resource("dynamodb").Table(services.settings.data_table)
    table.update_item(
        Key={"pk": f"ENV#{tenant.id}", "sk": "ROOM#doc"},
        UpdateExpression="SET metadata = :m",
        ExpressionAttributeValues={":m": '{"n":Infinity}'},
    )
    for path in ("/rooms/doc", "/rooms"):
        resp = v1(client, "GET", path, tenant.sk)
        err = error(resp, 500, "INTERNAL_ERROR")
        assert "Infinity" not in resp.body.decode()
        assert set(strict(resp.body)) == {"error"} and err["requestId"]
