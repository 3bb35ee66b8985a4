"""Create the tables (with TTL) from the model definitions; used by the local stack and tests."""

from __future__ import annotations

from typing import Any

from chalicelib.db.schema import create_table_requests


def create_tables(client: Any, prefix: str) -> list[str]:
    """Create any missing table named `prefix + suffix`; returns the names created."""
    existing = set(client.list_tables().get("TableNames", []))
    created = []
    for request, ttl_attribute in create_table_requests(prefix):
        name = request["TableName"]
        if name in existing:
            continue
        client.create_table(**request)
        client.get_waiter("table_exists").wait(TableName=name)
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl_attribute, "Enabled": True},
        )
        created.append(name)
    return created
