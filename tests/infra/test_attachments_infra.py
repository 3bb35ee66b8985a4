"""The attachments bucket in the template (private, encrypted, TLS only, CORS, the lifecycle
rule of unclaimed uploads keyed on the tag the app sets) and the functions' S3 rights: exactly
the calls the app makes and the requests it signs, on its own prefix of its own bucket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import lint_file

from chalicelib import runtime
from chalicelib.outbound import files
from infra import buckets
from infra.policy import policy_document
from infra.stages import load_stage, stage_names

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "tables.template.json"


@pytest.fixture(scope="module")
def bucket() -> dict[str, Any]:
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    resource: dict[str, Any] = template["Resources"]["AttachmentsBucket"]
    return resource


def test_the_bucket_is_private_encrypted_and_kept(bucket: dict[str, Any]) -> None:
    props = bucket["Properties"]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (sse,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["DeletionPolicy"] == "Retain"


def test_unclaimed_uploads_expire_by_the_tag_the_app_sets(bucket: dict[str, Any]) -> None:
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    rule = rules["unclaimed-uploads"]
    assert rule["TagFilters"] == [{"Key": files.TAG_KEY, "Value": files.PENDING}]
    assert rule["ExpirationInDays"] == 1 and rule["Status"] == "Enabled"
    assert files.PENDING in files.tagging_xml(files.PENDING)  # what the POST's policy requires


def test_browsers_may_post_and_get_and_nothing_else(bucket: dict[str, Any]) -> None:
    (rule,) = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    assert sorted(rule["AllowedMethods"]) == ["GET", "POST"]


def test_the_template_passes_cfn_lint() -> None:
    assert [str(m) for m in lint_file(TEMPLATE)] == []


@pytest.mark.parametrize("name", stage_names())
def test_the_stage_names_the_templates_bucket(name: str) -> None:
    stage = load_stage(name)
    assert stage.env["PULSE_ATTACHMENTS_BUCKET"] == buckets.bucket_name(stage.table_prefix)


def s3_statements(_: str) -> dict[str, dict[str, Any]]:
    stage = load_stage("prod")
    return {
        s["Sid"]: s
        for s in policy_document(stage)["Statement"]
        if any(a.startswith("s3:") for a in s["Action"])
    }


def test_the_policy_names_only_the_stages_bucket_and_prefix() -> None:
    by_sid = s3_statements("pulse-prod-")
    assert by_sid["AttachmentFiles"]["Resource"] == ["arn:aws:s3:::pulse-prod-attachments/att/*"]
    assert by_sid["AttachmentList"]["Resource"] == ["arn:aws:s3:::pulse-prod-attachments"]
    assert by_sid["AttachmentList"]["Condition"] == {"StringLike": {"s3:prefix": ["att/*"]}}


# The IAM action of each S3 API call, and of each request the app signs for browsers.
ACTION_OF = {
    "PutObjectTagging": "s3:PutObjectTagging",
    "HeadObject": "s3:GetObject",
    "DeleteObjects": "s3:DeleteObject",
    "ListObjectsV2": "s3:ListBucket",
}
SIGNED = {"s3:PutObject", "s3:PutObjectTagging", "s3:GetObject"}  # the POST (+ tag), the GET


def test_the_s3_rights_are_exactly_the_calls_the_app_makes(
    client: Any, services: runtime.Services
) -> None:
    from api.helpers import enc, make_room, make_thread, new_tenant, ok, v1

    from bench.calls import installed

    t = new_tenant(services)
    room = "r:1"
    make_room(client, t.sk, room)
    thread = make_thread(client, t.sk, room)
    with installed() as recorder, recorder.record():
        body = {"name": "a.png", "mimeType": "image/png", "size": 1}
        att = ok(v1(client, "POST", f"/rooms/{enc(room)}/attachments", t.sk, body), 201)
        boto3.client("s3").put_object(
            Bucket="pulse-test-attachments", Key=att["upload"]["fields"]["key"], Body=b"x"
        )
        path = f"/rooms/{enc(room)}/threads/{thread['id']}/comments"
        made = ok(
            v1(
                client,
                "POST",
                path,
                t.sk,
                {"userId": "a", "body": "b", "attachmentIds": [att["attachment"]["id"]]},
            ),
            201,
        )
        ok(v1(client, "GET", path, t.sk))
        ok(v1(client, "DELETE", f"{path}/{made['id']}", t.sk), 204)
        ok(v1(client, "DELETE", f"/rooms/{enc(room)}", t.sk), 204)
    made_calls = {op for service, op in recorder.others if service == "s3"} - {"PutObject"}

    used = {ACTION_OF[op] for op in made_calls} | SIGNED
    allowed = {a for s in s3_statements("pulse-prod-").values() for a in s["Action"]}
    assert used == allowed
