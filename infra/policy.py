"""The Lambda functions' IAM policy of a stage (`.chalice/policy-<stage>.json`), derived from the
models, the stage's settings and the calls the code makes, so it stays least-privilege.

Regenerate with `make policy`; tests/infra/test_policy.py fails when a committed file drifts, and
checks these actions against the DynamoDB operations the app really makes."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.db.schema import LOGICAL_TABLES

from .buckets import bucket_name
from .queues import QUEUE_SUFFIX
from .stages import Stage

# Every DynamoDB action the app takes, per table (tests/infra/test_policy.py records them).
# TransactWriteItems has no IAM action of its own: each Put/Update/Delete in it needs
# PutItem/UpdateItem/DeleteItem, and a ConditionCheck ConditionCheckItem ($connect checks that
# the user's tokens were not revoked meanwhile: data table only). No Scan, no DescribeTable
# (PynamoDB takes the schema from the models), no TransactGetItems. GetItem ($disconnect's
# connection row) and BatchWriteItem (the purge of a deleted room's threads and comments) touch
# the data table only.
TABLE_ACTIONS: dict[str, tuple[str, ...]] = {
    "ControlTable": (
        "dynamodb:BatchGetItem",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ),
    "DataTable": (
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ),
}
INDEX_ACTIONS = ("dynamodb:Query",)
# The Management API calls of realtime/sender.py: post_to_connection (POST), get_connection
# (GET: is a socket counted against its user's limits still open?) and delete_connection (DELETE).
CONNECTION_METHODS = ("POST", "GET", "DELETE")
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
# The data table's stream, read by the webhook events function's event source mapping (Lambda
# polls it with the function's role).
STREAM_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
# The delivery queue: the pipeline sends attempts to it (outbound/queue.py); the attempts
# function's event source mapping receives and deletes them.
QUEUE_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
)


# The attachments bucket (outbound/files.py): presigned POSTs and GETs act with the signer's
# rights (PutObject with its tag, GetObject; HeadObject needs GetObject too), a comment re-tags
# its files (PutObjectTagging), deletes remove files (DeleteObjects needs DeleteObject) and a
# room's delete lists its prefix.
# Only under att/, the one prefix the app writes.
FILE_ACTIONS = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectTagging")
FILES_PREFIX = "att/"


# What each function calls, by statement of the stage's policy: each function's own policy file
# (.chalice/policy-<stage>-<function>.json) holds these statements only. tests/infra/test_policy.py
# records the calls each handler's code paths make and holds this table to them. The event
# source mappings act with the function's role: the stream (webhook_events) and the queue's
# receive and delete (webhook_attempts).
COMMON = ("ControlTable", "DataTable", "Secrets", "Logs")
FUNCTION_STATEMENTS: dict[str, tuple[str, ...]] = {
    "api_handler": (
        *COMMON,
        "Indexes",
        "WebhookQueue",
        "AttachmentFiles",
        "AttachmentList",
        "WebSocketPush",
    ),
    "websocket_connect": (*COMMON, "WebSocketPush"),
    "websocket_message": (*COMMON, "AttachmentFiles", "WebSocketPush"),
    "websocket_disconnect": ("DataTable", "Secrets", "Logs", "WebSocketPush"),
    "webhook_events": (*COMMON, "EventStream", "WebhookQueue"),
    # queued steps of an erase delete the user's files (services/erasure.py)
    "webhook_attempts": (*COMMON, "WebhookQueue", "AttachmentFiles", "WebSocketPush"),
    # the hourly retention run deletes threads as a DELETE does: their files, their sockets told
    # (the environments listed through gsi1)
    "retention": (*COMMON, "Indexes", "AttachmentFiles", "WebSocketPush"),
}
# X-Ray's write actions take no resource: "*" is the only form IAM accepts (stages with `xray`).
TRACING_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")


def function_policy_document(stage: Stage, function: str) -> dict[str, Any]:
    """The function's own policy: the statements FUNCTION_STATEMENTS gives it."""
    wanted = FUNCTION_STATEMENTS[function]
    statements = [s for s in policy_document(stage)["Statement"] if s["Sid"] in wanted]
    if stage.tracing:
        statements.append(_allow("Tracing", TRACING_ACTIONS, ["*"]))
    return {"Version": "2012-10-17", "Statement": statements}


def policy_files(stage: Stage) -> dict[str, str]:
    """Every committed policy file of the stage (file name -> text), byte for byte."""
    files = {stage.policy_file.name: policy_json(stage)}
    for function in FUNCTION_STATEMENTS:
        document = function_policy_document(stage, function)
        files[stage.function_policy_file(function).name] = json.dumps(document, indent=2) + "\n"
    return files


def policy_document(stage: Stage) -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    indexes = []
    for logical, (model, suffix) in LOGICAL_TABLES.items():
        table = f"arn:aws:dynamodb:*:*:table/{stage.table_prefix}{suffix}"
        statements.append(_allow(logical, TABLE_ACTIONS[logical], [table]))
        indexes += [f"{table}/index/{name}" for name in sorted(model._indexes)]
    data_table = f"arn:aws:dynamodb:*:*:table/{stage.table_prefix}{LOGICAL_TABLES['DataTable'][1]}"
    bucket = bucket_name(stage.table_prefix)
    statements += [
        _allow("Indexes", INDEX_ACTIONS, indexes),
        _allow("EventStream", STREAM_ACTIONS, [f"{data_table}/stream/*"]),
        _allow(
            "WebhookQueue", QUEUE_ACTIONS, [f"arn:aws:sqs:*:*:{stage.table_prefix}{QUEUE_SUFFIX}"]
        ),
        _allow("AttachmentFiles", FILE_ACTIONS, [f"arn:aws:s3:::{bucket}/{FILES_PREFIX}*"]),
        {
            **_allow("AttachmentList", ("s3:ListBucket",), [f"arn:aws:s3:::{bucket}"]),
            "Condition": {"StringLike": {"s3:prefix": [f"{FILES_PREFIX}*"]}},
        },
        _allow(
            "WebSocketPush",
            ("execute-api:ManageConnections",),
            [
                f"arn:aws:execute-api:*:*:*/{stage.api_gateway_stage}/{method}/@connections/*"
                for method in CONNECTION_METHODS
            ],
        ),
        # One GetParameters call per container; SecureStrings under the AWS managed key aws/ssm,
        # whose key policy lets every principal of the account decrypt through SSM: no kms:Decrypt.
        _allow(
            "Secrets",
            ("ssm:GetParameters",),
            [f"arn:aws:ssm:*:*:parameter{name}" for name in stage.parameter_names],
        ),
        _allow(
            "Logs",
            LOG_ACTIONS,
            [
                f"arn:aws:logs:*:*:log-group:/aws/lambda/{stage.function_prefix}",
                f"arn:aws:logs:*:*:log-group:/aws/lambda/{stage.function_prefix}:*",
                f"arn:aws:logs:*:*:log-group:/aws/lambda/{stage.function_prefix}-*",
            ],
        ),
    ]
    return {"Version": "2012-10-17", "Statement": [s for s in statements if s["Resource"]]}


def policy_json(stage: Stage) -> str:
    """The committed policy file, byte for byte."""
    return json.dumps(policy_document(stage), indent=2) + "\n"


def _allow(sid: str, actions: tuple[str, ...], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources}
