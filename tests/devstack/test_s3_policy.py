"""devstack/s3_policy.py: S3's checks of a presigned POST, on policies botocore signs (as the app
does), without a server: each refusal with S3's code, and what passes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from devstack.s3_policy import Refusal, check, tags_of

SECRET = "pulse-local"
BUCKET = "b"


def signed(conditions: list[Any], fields: dict[str, str], expires: int = 600) -> dict[str, str]:
    session = botocore.session.Session()
    session.set_credentials("AKID", SECRET)
    s3 = session.create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        config=Config(signature_version="s3v4"),
    )
    post = s3.generate_presigned_post(
        Bucket=BUCKET, Key="k", Fields=fields, Conditions=conditions, ExpiresIn=expires
    )
    return {k.lower(): v for k, v in post["fields"].items()}


def refusal(fields: dict[str, str], size: int, now: datetime | None = None) -> Refusal:
    with pytest.raises(Refusal) as caught:
        check(BUCKET, fields, size, SECRET, now or datetime.now(UTC))
    return caught.value


TYPED = (
    [{"Content-Type": "text/plain"}, ["content-length-range", 2, 4]],
    {"Content-Type": "text/plain"},
)


def test_an_upload_the_policy_allows_passes() -> None:
    check(BUCKET, signed(*TYPED), 3, SECRET, datetime.now(UTC))


def test_sizes_outside_the_range_are_s3s_entity_errors() -> None:
    fields = signed(*TYPED)
    big, small = refusal(fields, 5), refusal(fields, 1)
    assert (big.status, big.code, big.extra["MaxSizeAllowed"]) == (400, "EntityTooLarge", 4)
    assert (small.status, small.code) == (400, "EntityTooSmall")


def test_another_content_type_fails_its_condition() -> None:
    fields = {**signed(*TYPED), "content-type": "text/html"}
    got = refusal(fields, 3)
    assert (got.status, got.code) == (403, "AccessDenied")
    assert got.message.startswith("Invalid according to Policy: Policy Condition failed")


def test_an_expired_policy_is_refused() -> None:
    fields = signed(*TYPED)
    later = datetime.now(UTC) + timedelta(seconds=601)
    assert refusal(fields, 3, later).message == "Invalid according to Policy: Policy expired."


def test_a_policy_edited_after_signing_fails_the_signature() -> None:
    fields = signed(*TYPED)
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if "content-length-range" not in c]
    fields["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    assert refusal(fields, 3).code == "SignatureDoesNotMatch"


def test_a_field_no_condition_names_is_refused() -> None:
    fields = {**signed(*TYPED), "x-amz-meta-a": "1"}
    assert (
        refusal(fields, 3).message
        == "Invalid according to Policy: Extra input fields: x-amz-meta-a"
    )


def test_x_ignore_fields_need_no_condition_and_starts_with_matches_a_prefix() -> None:
    fields = signed([["starts-with", "$key", "k"]], {})
    check(BUCKET, {**fields, "x-ignore-me": "1"}, 1, SECRET, datetime.now(UTC))
    other = signed(
        [["starts-with", "$success_action_status", "20"]], {"success_action_status": "30"}
    )
    assert refusal(other, 1).code == "AccessDenied"


def test_no_policy_is_refused() -> None:
    assert refusal({"key": "k"}, 1).code == "AccessDenied"


def test_the_tagging_field_is_read_as_s3_reads_it() -> None:
    xml = (
        "<Tagging><TagSet><Tag><Key>pulse-state</Key><Value>pending</Value></Tag></TagSet>"
        "</Tagging>"
    )
    assert tags_of(xml) == {"pulse-state": "pending"}
