"""The data table's stream, by hand: a room's event items as the INSERT records DynamoDB Streams
would hand the stream handler (the webhook pipeline's Lambda, and the inbox's fan-out in it)."""

from __future__ import annotations

from typing import Any

import boto3

from chalicelib import runtime


def stream_records(table: str, env_id: str, room_id: str) -> list[dict[str, Any]]:
    """The room's event items as stream records (INSERT, NEW_IMAGE), oldest first (the
    partition also holds its log's head, which the stream handler leaves out)."""
    items = boto3.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :seq)",
        ExpressionAttributeValues={
            ":pk": {"S": f"ENV#{env_id}#EVENTS#{room_id}"},
            ":seq": {"S": "SEQ#"},
        },
    )["Items"]
    return [{"eventName": "INSERT", "dynamodb": {"NewImage": item}} for item in items]


def fan_out(services: runtime.Services, env_id: str, room_id: str) -> int:
    """Every event of the room handed to the inbox's fan-out, as the stream would (again and
    again: a record handed over twice counts once); the number of inboxes changed."""
    records = stream_records(services.settings.data_table, env_id, room_id)
    return services.inbox.on_stream(records)
