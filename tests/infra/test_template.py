"""The committed CloudFormation template of the tables: no drift from the models, and the same
tables, keys, indexes and TTL as the models and as the local stack's CreateTable calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from pynamodb.models import Model

from chalicelib.config import Settings
from chalicelib.db.models import TTL_ATTRIBUTE
from chalicelib.db.schema import LOGICAL_TABLES
from infra.__main__ import main, template_json
from infra.tables import create_tables

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "infra" / "tables.template.json"


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return result


def model_keys(model: type[Model]) -> list[dict[str, str]]:
    """KeySchema spelled from the model's attributes (not from chalicelib.db.schema)."""
    attrs = model.get_attributes().values()
    hash_key = next(a.attr_name for a in attrs if a.is_hash_key)
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    keys += [{"AttributeName": a.attr_name, "KeyType": "RANGE"} for a in attrs if a.is_range_key]
    return keys


def model_indexes(model: type[Model]) -> dict[str, dict[str, Any]]:
    indexes = {}
    for name, index in model._indexes.items():
        attrs = index.Meta.attributes.values()
        keys = [{"AttributeName": a.attr_name, "KeyType": "HASH"} for a in attrs if a.is_hash_key]
        keys += [
            {"AttributeName": a.attr_name, "KeyType": "RANGE"} for a in attrs if a.is_range_key
        ]
        indexes[name] = {"KeySchema": keys, "Projection": index.Meta.projection.projection_type}
    return indexes


def model_key_types(model: type[Model]) -> dict[str, str]:
    """Every attribute used as a key of the table or of an index, with its DynamoDB type."""
    types = {a.attr_name: a.attr_type for a in model.get_attributes().values() if a.is_hash_key}
    types |= {a.attr_name: a.attr_type for a in model.get_attributes().values() if a.is_range_key}
    for index in model._indexes.values():
        for a in index.Meta.attributes.values():
            if a.is_hash_key or a.is_range_key:
                types[a.attr_name] = a.attr_type
    return types


def test_committed_template_matches_the_models() -> None:
    assert TEMPLATE_PATH.read_text(encoding="utf-8") == template_json(), (
        "infra/tables.template.json is out of date with chalicelib/db/models.py: "
        "run `make template` and commit the result"
    )


def test_template_command_prints_the_committed_template(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["template"]) == 0
    assert capsys.readouterr().out == TEMPLATE_PATH.read_text(encoding="utf-8")


def test_template_has_exactly_one_table_resource_per_model_table(
    committed: dict[str, Any],
) -> None:
    tables = {
        name
        for name, resource in committed["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }
    assert tables == set(LOGICAL_TABLES)


@pytest.mark.parametrize("logical", sorted(LOGICAL_TABLES))
def test_template_table_name_is_the_settings_name_under_the_stage_prefix(
    committed: dict[str, Any], logical: str
) -> None:
    _, suffix = LOGICAL_TABLES[logical]
    settings = Settings.from_env(
        {
            "PULSE_TABLE_PREFIX": "pulse-prod-",
            "PULSE_KEY_PEPPER": "p" * 32,
            "PULSE_SIGNING_SECRET": "s" * 32,
        }
    )
    by_suffix = {"control": settings.control_table, "data": settings.data_table}
    name = committed["Resources"][logical]["Properties"]["TableName"]
    assert name == {"Fn::Sub": "${TablePrefix}" + suffix}
    assert by_suffix[suffix] == "pulse-prod-" + suffix
    assert "TablePrefix" in committed["Parameters"]


@pytest.mark.parametrize("logical", sorted(LOGICAL_TABLES))
def test_template_keys_indexes_and_ttl_match_the_model(
    committed: dict[str, Any], logical: str
) -> None:
    model, _ = LOGICAL_TABLES[logical]
    resource = committed["Resources"][logical]
    props = resource["Properties"]

    assert props["KeySchema"] == model_keys(model)
    assert {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]} == (
        model_key_types(model)
    )
    template_indexes = {
        i["IndexName"]: {
            "KeySchema": i["KeySchema"],
            "Projection": i["Projection"]["ProjectionType"],
        }
        for i in props.get("GlobalSecondaryIndexes", [])
    }
    assert template_indexes == model_indexes(model)
    assert props["BillingMode"] == model.Meta.billing_mode
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert model.get_attributes()[TTL_ATTRIBUTE].attr_type == "N"
    # Customer data is never dropped by a stack update or replacement.
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("logical", sorted(LOGICAL_TABLES))
def test_local_tables_are_created_as_the_template_declares(
    aws: None, committed: dict[str, Any], logical: str
) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    created = create_tables(client, "pulse-local-")
    _, suffix = LOGICAL_TABLES[logical]
    name = "pulse-local-" + suffix
    assert name in created
    props = committed["Resources"][logical]["Properties"]

    table = client.describe_table(TableName=name)["Table"]
    assert table["KeySchema"] == props["KeySchema"]
    assert (
        sorted(table["AttributeDefinitions"], key=lambda d: d["AttributeName"])
        == (props["AttributeDefinitions"])
    )
    described = {
        i["IndexName"]: (i["KeySchema"], i["Projection"]["ProjectionType"])
        for i in table.get("GlobalSecondaryIndexes", [])
    }
    declared = {
        i["IndexName"]: (i["KeySchema"], i["Projection"]["ProjectionType"])
        for i in props.get("GlobalSecondaryIndexes", [])
    }
    assert described == declared
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"
    assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]


def test_create_tables_skips_tables_that_exist(aws: None) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    first = create_tables(client, "pulse-again-")
    second = create_tables(client, "pulse-again-")
    assert sorted(first) == ["pulse-again-control", "pulse-again-data"]
    assert second == []
