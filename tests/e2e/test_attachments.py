"""Attachments end to end on the real local stack: the upload is a real multipart POST to the
stack's S3 (the embedded moto server, behind devstack/s3_policy.py), refused as S3 refuses
what the presigned policy does not allow; then a comment takes it and hands out a URL that
downloads it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests

from .conftest import Stack

pytestmark = pytest.mark.e2e

ROOM = "doc:att"
R = "/api/v1/rooms/" + quote(ROOM, safe="")


class Env:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        admin = stack.login()
        created = stack.create_environment(admin, "Attachments")
        self.id = created["environment"]["id"]
        self.sk = next(k["key"] for k in created["keys"] if k["kind"] == "secret")
        self.admin = admin

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.stack.call(method, path, self.sk, **kwargs)

    def attachment(self, name: str, mime: str, size: int) -> dict[str, Any]:
        body = {"name": name, "mimeType": mime, "size": size}
        response = self.api("POST", f"{R}/attachments", json=body)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture(scope="module")
def env(shared_stack: Stack) -> Env:
    made = Env(shared_stack)
    assert made.api("POST", "/api/v1/rooms", json={"id": ROOM}).status_code == 201
    return made


def upload(created: dict[str, Any], content: bytes, **override: str) -> requests.Response:
    """The browser's form POST: every field of the presigned POST, then the file."""
    post = created["upload"]
    fields = {**post["fields"], **override}
    return requests.post(post["url"], data=fields, files={"file": ("f", content)}, timeout=10)


def s3_error(response: requests.Response) -> tuple[str, str]:
    root = ET.fromstring(response.content)
    return root.findtext("Code") or "", root.findtext("Message") or ""


def tag_of(s3: Any, created: dict[str, Any]) -> str:
    key = created["upload"]["fields"]["key"]
    tags = s3.get_object_tagging(Bucket="pulse-dev-attachments", Key=key)["TagSet"]
    return str({t["Key"]: t["Value"] for t in tags}["pulse-state"])


def test_an_upload_attached_to_a_comment_downloads_from_its_url(env: Env, stack_s3: Any) -> None:
    content = b"\x89PNG\r\n\x1a\n" + b"x" * 100
    created = env.attachment("shot.png", "image/png", len(content))
    assert created["upload"]["url"].startswith(env.stack.dynamodb_url)  # the stack's S3

    stored = upload(created, content)
    assert stored.status_code == 204, stored.text
    assert tag_of(stack_s3, created) == "pending"  # the lifecycle rule's: gone after a day

    first = {"userId": "ada", "body": "See the screenshot", "attachmentIds": []}
    thread = env.api("POST", f"{R}/threads", json={"comment": first}).json()
    reply = {"userId": "ada", "body": "Here", "attachmentIds": [created["attachment"]["id"]]}
    response = env.api("POST", f"{R}/threads/{thread['id']}/comments", json=reply)
    assert response.status_code == 201, response.text
    (attachment,) = response.json()["attachments"]
    assert attachment["name"] == "shot.png" and attachment["size"] == len(content)
    assert tag_of(stack_s3, created) == "attached"  # out of the rule: kept

    listed = env.api("GET", f"{R}/threads/{thread['id']}/comments").json()["data"]
    url = listed[-1]["attachments"][0]["url"]
    download = requests.get(url, timeout=10)
    assert download.status_code == 200
    assert download.content == content


def test_an_upload_larger_than_declared_is_refused_by_the_policy(env: Env) -> None:
    created = env.attachment("big.pdf", "application/pdf", 10)

    response = upload(created, b"y" * 11)

    assert response.status_code == 400
    assert s3_error(response)[0] == "EntityTooLarge"


def test_an_upload_smaller_than_declared_is_refused_by_the_policy(env: Env) -> None:
    created = env.attachment("small.pdf", "application/pdf", 10)

    response = upload(created, b"y" * 9)

    assert response.status_code == 400
    assert s3_error(response)[0] == "EntityTooSmall"


def test_an_upload_of_another_type_is_refused_by_the_policy(env: Env) -> None:
    created = env.attachment("notes.txt", "text/plain", 5)

    response = upload(created, b"hello", **{"Content-Type": "text/html"})

    assert response.status_code == 403
    code, message = s3_error(response)
    assert code == "AccessDenied"
    assert message.startswith("Invalid according to Policy: Policy Condition failed")


@pytest.fixture(scope="module")
def stack_s3(shared_stack: Stack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=shared_stack.dynamodb_url,
        region_name="us-east-1",
        aws_access_key_id="pulse-local",
        aws_secret_access_key="pulse-local",
        config=boto3.session.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def test_a_policy_that_expired_is_refused(env: Env, stack_s3: Any) -> None:
    post = stack_s3.generate_presigned_post(
        Bucket="pulse-dev-attachments",
        Key="att/expired",
        Fields={"Content-Type": "text/plain"},
        Conditions=[{"Content-Type": "text/plain"}, ["content-length-range", 1, 10]],
        ExpiresIn=-60,
    )

    response = upload({"upload": post}, b"late")

    assert response.status_code == 403
    assert s3_error(response) == ("AccessDenied", "Invalid according to Policy: Policy expired.")


def test_a_policy_signed_with_other_credentials_is_refused(env: Env) -> None:
    other = boto3.client(
        "s3",
        endpoint_url=env.stack.dynamodb_url,
        region_name="us-east-1",
        aws_access_key_id="pulse-local",
        aws_secret_access_key="not-the-stack-secret",
        config=boto3.session.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    post = other.generate_presigned_post(Bucket="pulse-dev-attachments", Key="att/forged")

    response = upload({"upload": post}, b"forged")

    assert response.status_code == 403
    assert s3_error(response)[0] == "SignatureDoesNotMatch"


def test_a_field_the_policy_does_not_name_is_refused(env: Env) -> None:
    created = env.attachment("a.txt", "text/plain", 3)

    response = upload(created, b"abc", **{"x-amz-meta-extra": "1"})

    assert response.status_code == 403
    assert (
        s3_error(response)[1] == "Invalid according to Policy: Extra input fields: x-amz-meta-extra"
    )


def test_a_comment_may_not_take_an_attachment_never_uploaded(env: Env) -> None:
    created = env.attachment("missing.png", "image/png", 3)
    first = {"userId": "ada", "body": "x", "attachmentIds": [created["attachment"]["id"]]}
    before = len(env.api("GET", f"{R}/threads?limit=100").json()["data"])

    response = env.api("POST", f"{R}/threads", json={"comment": first})

    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == "attachmentIds"
    assert (
        len(env.api("GET", f"{R}/threads?limit=100").json()["data"]) == before
    )  # nothing half-written
