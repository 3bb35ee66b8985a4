"""Fixtures for the attack suites: the realtime gateway (hand-built API Gateway events), operator
sessions of each role, the DynamoDB call recorder, and a snapshot of both tables.

Everything here is reused from the other suites' conftests, not redefined."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from api.conftest import admin, make_operator, owner, viewer  # noqa: F401 (fixtures)
from api.helpers import (
    Login,
    call,
    create_environment,
    make_comment,
    make_room,
    make_thread,
    secret_of,
)
from integration.conftest import atomic_moto, dynamo_calls  # noqa: F401 (fixtures)
from realtime.conftest import env, fake, gw  # noqa: F401 (fixtures)

from chalicelib import runtime


def table_items() -> list[str]:
    """Every item of both tables, as sorted JSON (Scan is fine in a test)."""
    settings = runtime.services().settings
    client = boto3.client("dynamodb", region_name=settings.region)
    items: list[str] = []
    for table in (settings.control_table, settings.data_table):
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = client.scan(**kwargs)
            items += [json.dumps(i, sort_keys=True) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(items)


@pytest.fixture
def existing(client: Any, owner: Login) -> dict[str, str]:  # noqa: F811 (the fixture)
    """An environment (made by the owner through the API) with a room, a thread and a comment:
    the values of every path parameter, and the environment's `sk`."""
    created = create_environment(client, owner.token, "Existing")
    sk = secret_of(created)
    make_room(client, sk, "room-1")
    minted = call(client, "POST", "/auth/token", token=sk, body={"userId": "user-1", "name": "U"})
    assert minted.status_code == 200, minted.body
    thread = make_thread(client, sk, "room-1")
    comment = make_comment(client, sk, "room-1", thread["id"])
    env_id = created["environment"]["id"]
    hook = call(
        client,
        "POST",
        f"/admin/api/environments/{env_id}/webhooks",
        token=owner.token,
        body={"url": "https://hooks.example.com/in"},
    ).json_body
    delivery = call(
        client,
        "POST",
        f"/admin/api/environments/{env_id}/webhooks/{hook['id']}/test",
        token=owner.token,
    ).json_body
    return {
        "sk": sk,
        "{envId}": created["environment"]["id"],
        "{keyId}": created["keys"][0]["id"],
        "{operatorId}": owner.id,
        "{roomId}": "room-1",
        "{threadId}": thread["id"],
        "{commentId}": comment["id"],
        "{userId}": "user-1",
        "{webhookId}": hook["id"],
        "{deliveryId}": delivery["id"],
        # (no socket in this world: the role is refused before any read, so no live one is needed)
        "{connectionId}": "conn-1",
    }


def fill(template: str, values: dict[str, str]) -> str:
    """A route template with its path parameters replaced."""
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    assert "{" not in template, template
    return template
