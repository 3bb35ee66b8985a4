"""REST API v1 attachments: the upload's presigned POST (its policy holds the exact size and
type), the environment's limits (refused before anything is signed or stored), comments and
threads that reference uploads (and every refusal naming attachmentIds), the URLs a read signs,
and the files a delete removes. S3 is moto's (the policy itself is checked end to end in
tests/e2e/test_attachments.py against the local stack)."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from chalicelib import runtime
from chalicelib.services.attachments import file_key, room_prefix

from .helpers import (
    Tenant,
    enc,
    error,
    make_room,
    make_thread,
    names_field,
    new_tenant,
    ok,
    totals,
    v1,
)

ROOM = "design:review"
OTHER_ROOM = "design:other"
BUCKET = "pulse-test-attachments"


@pytest.fixture
def tenant(services: runtime.Services, client: Any) -> Tenant:
    t = new_tenant(services, "Acme")
    make_room(client, t.sk, ROOM)
    make_room(client, t.sk, OTHER_ROOM)
    return t


def create(client: Any, key: str, body: Any, room: str = ROOM) -> Any:
    return v1(client, "POST", f"/rooms/{enc(room)}/attachments", key, body)


def uploaded(
    client: Any, t: Tenant, room: str = ROOM, name: str = "a.png", size: int = 3
) -> dict[str, Any]:
    """An attachment whose file is in the bucket (put where its POST would put it)."""
    att = ok(create(client, t.sk, {"name": name, "mimeType": "image/png", "size": size}, room), 201)
    key = att["upload"]["fields"]["key"]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"x" * size)
    return att["attachment"]  # type: ignore[no-any-return]


def comment(client: Any, t: Tenant, thread_id: str, ids: list[str], room: str = ROOM) -> Any:
    body = {"userId": "ada", "body": "see", "attachmentIds": ids}
    return v1(client, "POST", f"/rooms/{enc(room)}/threads/{thread_id}/comments", t.sk, body)


def objects(prefix: str = "att/") -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def policy_of(upload: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(upload["fields"]["policy"]))  # type: ignore[no-any-return]


# --- the upload -------------------------------------------------------------------------------


def test_an_upload_is_an_id_and_a_post_whose_policy_holds_size_and_type(
    client: Any, tenant: Tenant
) -> None:
    body = {"name": "plan.pdf", "mimeType": "application/pdf", "size": 48213}

    answer = ok(create(client, tenant.sk, body), 201)

    att = answer["attachment"]
    assert att["id"].startswith("att_") and len(att["id"]) == 20
    assert {k: att[k] for k in ("name", "mimeType", "size")} == body
    assert att["url"] is None and att["urlExpiresAt"] is None
    fields = answer["upload"]["fields"]
    assert fields["key"] == file_key(tenant.id, ROOM, att["id"])
    assert fields["Content-Type"] == "application/pdf"
    conditions = policy_of(answer["upload"])["conditions"]
    assert ["content-length-range", 48213, 48213] in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert {"key": fields["key"]} in conditions
    assert any(
        "tagging" in c and "pending" in c["tagging"] for c in conditions if isinstance(c, dict)
    )


def test_the_post_expires_in_ten_minutes(client: Any, tenant: Tenant) -> None:
    from datetime import UTC, datetime

    answer = ok(create(client, tenant.sk, {"name": "a", "mimeType": "text/plain", "size": 1}), 201)

    expiration = datetime.strptime(policy_of(answer["upload"])["expiration"], "%Y-%m-%dT%H:%M:%SZ")
    left = expiration.replace(tzinfo=UTC).timestamp() - datetime.now(UTC).timestamp()
    assert 0 < left <= 600


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    (
        "over the limit",
        {"name": "a", "mimeType": "image/png", "size": 10 * 1024 * 1024 + 1},
        "size",
    ),
    ("empty", {"name": "a", "mimeType": "image/png", "size": 0}, "size"),
    ("not a number", {"name": "a", "mimeType": "image/png", "size": "3"}, "size"),
    ("type not allowed", {"name": "a", "mimeType": "text/html", "size": 3}, "mimeType"),
    ("not a type", {"name": "a", "mimeType": "png", "size": 3}, "mimeType"),
    ("name too long", {"name": "n" * 256, "mimeType": "image/png", "size": 3}, "name"),
    ("no name", {"mimeType": "image/png", "size": 3}, "name"),
]


@pytest.mark.parametrize(("case", "body", "field"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_refused_upload_names_its_field_and_stores_nothing(
    client: Any, services: runtime.Services, tenant: Tenant, case: str, body: Any, field: str
) -> None:
    err = error(create(client, tenant.sk, body), 400)

    assert err["code"] in ("INVALID_INPUT", "MISSING_FIELD")
    names_field(err, field)
    items = boto3.client("dynamodb").scan(TableName=services.settings.data_table)["Items"]
    assert not [i for i in items if "#ATT#" in i["pk"]["S"]]


def test_an_upload_to_a_room_that_does_not_exist_is_404(client: Any, tenant: Tenant) -> None:
    body = {"name": "a", "mimeType": "image/png", "size": 3}
    error(create(client, tenant.sk, body, room="nope"), 404, "ROOM_NOT_FOUND")


def test_the_environments_limits_are_its_own(
    client: Any, services: runtime.Services, tenant: Tenant, owner: Any
) -> None:
    from .helpers import call

    path = f"/admin/api/environments/{tenant.id}"
    settings = {"attachmentMaxBytes": 100, "attachmentTypes": ["text/csv"]}
    changed = ok(call(client, "PATCH", path, token=owner.token, body=settings))
    assert changed["attachmentMaxBytes"] == 100 and changed["attachmentTypes"] == ["text/csv"]

    names_field(
        error(create(client, tenant.sk, {"name": "a", "mimeType": "text/csv", "size": 101}), 400),
        "size",
    )
    names_field(
        error(create(client, tenant.sk, {"name": "a", "mimeType": "image/png", "size": 3}), 400),
        "mimeType",
    )
    answer = ok(create(client, tenant.sk, {"name": "a", "mimeType": "text/csv", "size": 100}), 201)
    assert ["content-length-range", 100, 100] in policy_of(answer["upload"])["conditions"]
    other = new_tenant(services, "Other")
    make_room(client, other.sk, ROOM)
    ok(create(client, other.sk, {"name": "a", "mimeType": "image/png", "size": 3}), 201)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"attachmentMaxBytes": 0}, "attachmentMaxBytes"),
        ({"attachmentMaxBytes": 100 * 1024 * 1024 + 1}, "attachmentMaxBytes"),
        ({"attachmentTypes": []}, "attachmentTypes"),
        ({"attachmentTypes": ["png"]}, "attachmentTypes"),
        ({"attachmentTypes": ["image/png", "image/png"]}, "attachmentTypes"),
    ],
)
def test_bad_limits_are_refused_naming_the_field(
    client: Any, tenant: Tenant, owner: Any, change: dict[str, Any], field: str
) -> None:
    from .helpers import call

    resp = call(
        client, "PATCH", f"/admin/api/environments/{tenant.id}", token=owner.token, body=change
    )

    names_field(error(resp, 400, "INVALID_INPUT"), field)


# --- comments that reference uploads ------------------------------------------------------------


def test_a_comment_answers_its_attachments_with_urls_that_download_them(
    client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM)
    a, b = uploaded(client, tenant, name="one.png"), uploaded(client, tenant, name="two.png")

    made = ok(comment(client, tenant, thread["id"], [a["id"], b["id"]]), 201)

    assert [x["name"] for x in made["attachments"]] == ["one.png", "two.png"]
    listed = ok(v1(client, "GET", f"/rooms/{enc(ROOM)}/threads/{thread['id']}", tenant.sk))
    shown = listed["comments"][-1]["attachments"]
    assert [x["id"] for x in shown] == [a["id"], b["id"]]
    for x in shown:
        query = parse_qs(urlsplit(x["url"]).query)
        assert query["X-Amz-Expires"] == ["3600"]
        assert urlsplit(x["url"]).path.endswith(file_key(tenant.id, ROOM, x["id"]))
        assert x["urlExpiresAt"] > made["createdAt"]


def test_a_thread_takes_attachments_with_its_first_comment(client: Any, tenant: Tenant) -> None:
    a = uploaded(client, tenant)
    body = {"comment": {"userId": "ada", "body": "see", "attachmentIds": [a["id"]]}}

    thread = ok(v1(client, "POST", f"/rooms/{enc(ROOM)}/threads", tenant.sk, body), 201)

    assert [x["id"] for x in thread["comments"][0]["attachments"]] == [a["id"]]
    tags = boto3.client("s3").get_object_tagging(
        Bucket=BUCKET, Key=file_key(tenant.id, ROOM, a["id"])
    )
    assert tags["TagSet"] == [{"Key": "pulse-state", "Value": "attached"}]


def test_refused_attachment_ids_name_the_field_and_write_nothing(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM)
    other = new_tenant(services, "Other")
    make_room(client, other.sk, ROOM)
    theirs = uploaded(client, other)
    elsewhere = uploaded(client, tenant, room=OTHER_ROOM)
    taken = uploaded(client, tenant)
    ok(comment(client, tenant, thread["id"], [taken["id"]]), 201)
    never = ok(create(client, tenant.sk, {"name": "a", "mimeType": "image/png", "size": 3}), 201)
    eleven = [uploaded(client, tenant)["id"] for _ in range(11)]
    before = totals(services, tenant.id)

    cases = {
        "another environment's": [theirs["id"]],
        "another room's": [elsewhere["id"]],
        "attached already": [taken["id"]],
        "never uploaded": [never["attachment"]["id"]],
        "unknown": ["att_0000000000000000"],
        "not an id": ["nope"],
        "repeated": [eleven[0], eleven[0]],
        "too many": eleven,
    }
    for case, ids in cases.items():
        resp = comment(client, tenant, thread["id"], ids)
        assert resp.status_code == 400, (case, resp.body)
        names_field(error(resp, 400, "INVALID_INPUT"), "attachmentIds")

    assert totals(services, tenant.id) == before
    assert ok(comment(client, tenant, thread["id"], eleven[:10]), 201)["attachments"]


def test_ten_is_the_most_and_each_id_is_named_once(client: Any, tenant: Tenant) -> None:
    thread = make_thread(client, tenant.sk, ROOM)
    ids = [uploaded(client, tenant)["id"] for _ in range(10)]

    made = ok(comment(client, tenant, thread["id"], ids), 201)

    assert [a["id"] for a in made["attachments"]] == ids


# --- deletes --------------------------------------------------------------------------------------


def test_deleting_a_comment_deletes_its_files(client: Any, tenant: Tenant) -> None:
    thread = make_thread(client, tenant.sk, ROOM)
    a, keep = uploaded(client, tenant), uploaded(client, tenant)
    made = ok(comment(client, tenant, thread["id"], [a["id"]]), 201)
    ok(comment(client, tenant, thread["id"], [keep["id"]]), 201)

    path = f"/rooms/{enc(ROOM)}/threads/{thread['id']}/comments/{made['id']}"
    ok(v1(client, "DELETE", path, tenant.sk), 204)

    assert objects() == [file_key(tenant.id, ROOM, keep["id"])]


def test_deleting_a_thread_deletes_the_files_of_all_its_comments(
    client: Any, tenant: Tenant
) -> None:
    a, b = uploaded(client, tenant), uploaded(client, tenant)
    body = {"comment": {"userId": "ada", "body": "see", "attachmentIds": [a["id"]]}}
    thread = ok(v1(client, "POST", f"/rooms/{enc(ROOM)}/threads", tenant.sk, body), 201)
    ok(comment(client, tenant, thread["id"], [b["id"]]), 201)
    elsewhere = uploaded(client, tenant, room=OTHER_ROOM)

    ok(v1(client, "DELETE", f"/rooms/{enc(ROOM)}/threads/{thread['id']}", tenant.sk), 204)

    assert objects() == [file_key(tenant.id, OTHER_ROOM, elsewhere["id"])]


def test_deleting_a_room_deletes_its_files_uploaded_or_attached(
    client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM)
    ok(comment(client, tenant, thread["id"], [uploaded(client, tenant)["id"]]), 201)
    uploaded(client, tenant)  # never attached
    elsewhere = uploaded(client, tenant, room=OTHER_ROOM)

    ok(v1(client, "DELETE", f"/rooms/{enc(ROOM)}", tenant.sk), 204)

    assert objects(room_prefix(tenant.id, ROOM)) == []
    assert objects() == [file_key(tenant.id, OTHER_ROOM, elsewhere["id"])]
