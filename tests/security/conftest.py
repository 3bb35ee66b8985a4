"""Fixtures for the attack suites: the realtime gateway (hand-built API Gateway events), operator
sessions of each role, the DynamoDB call recorder, and a snapshot of both tables.

Everything here is reused from the other suites' conftests, not redefined."""

from __future__ import annotations

import json
from typing import Any

import boto3
from api.conftest import admin, make_operator, owner, viewer  # noqa: F401 (fixtures)
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
