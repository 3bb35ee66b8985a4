"""Table definitions derived from the models: the CloudFormation resources and local CreateTable
calls both come from here, so the tables are defined once (in db/models.py)."""

from __future__ import annotations

from typing import Any

from pynamodb.models import Model

from .models import TTL_ATTRIBUTE, ControlTable, DataTable

# Logical name (CloudFormation resource / settings property) -> model; table name suffix.
LOGICAL_TABLES: dict[str, tuple[type[Model], str]] = {
    "ControlTable": (ControlTable, "control"),
    "DataTable": (DataTable, "data"),
}
# Tables with a stream, and what it carries: the data table's feeds the webhooks (its event
# items' new images; services/webhook_dispatch.py).
STREAMS: dict[str, str] = {"DataTable": "NEW_IMAGE"}


def key_definition(model: type[Model]) -> dict[str, Any]:
    """KeySchema, AttributeDefinitions and GSIs, in the shape CreateTable and CFN share."""
    schema = model._get_schema()
    definition: dict[str, Any] = {
        "AttributeDefinitions": sorted(
            schema["attribute_definitions"], key=lambda a: a["AttributeName"]
        ),
        "KeySchema": schema["key_schema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = [
        {
            "IndexName": index["index_name"],
            "KeySchema": index["key_schema"],
            "Projection": index["projection"],
        }
        for index in schema["global_secondary_indexes"]
    ]
    if indexes:
        definition["GlobalSecondaryIndexes"] = sorted(indexes, key=lambda i: i["IndexName"])
    return definition


def cloudformation_template() -> dict[str, Any]:
    """The tables stack: an AWS::DynamoDB::Table per model table, `${TablePrefix}<suffix>`."""
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for logical, (model, suffix) in LOGICAL_TABLES.items():
        properties = {
            "TableName": {"Fn::Sub": "${TablePrefix}" + suffix},
            **key_definition(model),
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            # A table is deleted only after an operator turns this off (docs/operations.md).
            "DeletionProtectionEnabled": True,
        }
        if logical in STREAMS:
            properties["StreamSpecification"] = {"StreamViewType": STREAMS[logical]}
            outputs[f"{logical}StreamArn"] = {"Value": {"Fn::GetAtt": [logical, "StreamArn"]}}
        resources[logical] = {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": properties,
        }
        outputs[f"{logical}Name"] = {"Value": {"Ref": logical}}
        outputs[f"{logical}Arn"] = {"Value": {"Fn::GetAtt": [logical, "Arn"]}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Pulse DynamoDB tables (generated from chalicelib/db/models.py; "
        "regenerate with `python -m infra template`)",
        "Parameters": {
            "TablePrefix": {
                "Type": "String",
                "Description": "Stage prefix of every table name, e.g. pulse-prod-",
                "AllowedPattern": "[a-zA-Z0-9_.-]+",
            }
        },
        "Resources": resources,
        "Outputs": outputs,
    }


def create_table_requests(prefix: str) -> list[tuple[dict[str, Any], str]]:
    """(CreateTable kwargs, TTL attribute) for each table, for the local stack and tests."""
    return [
        (
            {"TableName": f"{prefix}{suffix}", **key_definition(model), **_stream(logical)},
            TTL_ATTRIBUTE,
        )
        for logical, (model, suffix) in LOGICAL_TABLES.items()
    ]


def _stream(logical: str) -> dict[str, Any]:
    if logical not in STREAMS:
        return {}
    return {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": STREAMS[logical]}}
