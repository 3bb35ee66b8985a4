"""The guard rails `make deploy` puts on the stage chalice deployed (infra/stage_guardrails.py),
against moto: the same throttles, access logs, tracing and alarms as the package template's, the
push permission narrowed to the stage's own WebSocket API, nothing duplicated by a second deploy,
and nothing left by `teardown`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from test_deploy import (  # noqa: F401 (project: a fixture)
    FakeChalice,
    logging_role_for_api_gateway,
    project,
    run_deploy,
)

from infra import deploy, guardrails
from infra.deploy import Aws
from infra.stages import load_stage

REGION = "us-east-1"
PUSH = "execute-api:ManageConnections"


@pytest.fixture
def aws_account(aws: None) -> Aws:
    logging_role_for_api_gateway()
    return deploy.connect()


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def role_with_the_push_policy(name: str) -> None:
    """A role as chalice deploy makes it from .chalice/policy-prod-websocket_message.json."""
    iam = client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    policy = Path(".chalice/policy-prod-websocket_message.json").read_text(encoding="utf-8")
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=policy)


class ChaliceWithRoles(FakeChalice):
    """The fake chalice deploy, recording two functions and a role as well."""

    def __call__(self, command: list[str], **kwargs: Any) -> Any:
        done = super().__call__(command, **kwargs)
        if command[1] == "deploy" and self.returncode == 0:
            path = self.root / ".chalice" / "deployed" / "prod.json"
            record = json.loads(path.read_text())
            record["resources"] += [
                {
                    "name": "websocket_message",
                    "resource_type": "lambda_function",
                    "lambda_arn": "arn:aws:lambda:us-east-1:123456789012:function:"
                    "pulse-prod-websocket_message",
                },
                {
                    "name": "websocket_message_role",
                    "resource_type": "iam_role",
                    "role_name": "pulse-prod-websocket_message",
                    "role_arn": "arn:aws:iam::123456789012:role/pulse-prod-websocket_message",
                },
            ]
            path.write_text(json.dumps(record))
        return done


@pytest.fixture
def deployed(aws_account: Aws, project: Path) -> ChaliceWithRoles:  # noqa: F811
    role_with_the_push_policy("pulse-prod-websocket_message")
    fake = ChaliceWithRoles(project)
    lines: list[str] = []
    assert run_deploy(project, fake, lines) == 0
    assert "4/4 Guard rails" in "\n".join(lines)
    return fake


def packaged_alarms() -> dict[str, dict[str, Any]]:
    """The template's alarms (infra/guardrails.py) of the same two functions, by logical name."""
    template: dict[str, Any] = {
        "Resources": {
            "APIHandler": {"Type": "AWS::Serverless::Function", "Properties": {}},
            "WebsocketMessage": {"Type": "AWS::Serverless::Function", "Properties": {}},
            "WebsocketAPI": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}},
            "WebhookDeadLetters": {"Type": "AWS::SQS::Queue", "Properties": {}},
        }
    }
    guardrails._alarms(template, load_stage("prod"))
    return {
        k: r["Properties"]
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_both_stages_get_the_stage_s_throttle_access_log_and_tracing(
    deployed: ChaliceWithRoles,
) -> None:
    stage = load_stage("prod")
    rest = client("apigateway").get_stage(restApiId=deployed.rest_api_id, stageName="api")
    rate, burst = stage.throttle("rest")
    settings = rest["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (rate, burst)
    assert rest["tracingEnabled"] is stage.tracing is True
    assert rest["accessLogSettings"]["destinationArn"].endswith(
        ":log-group:/aws/apigateway/pulse-prod-rest-access"
    )
    assert json.loads(rest["accessLogSettings"]["format"]) == guardrails.REST_ACCESS_LOG
    assert rest["tags"] == {"app": "pulse", "stage": "prod"}

    websocket = client("apigatewayv2").get_stage(ApiId=deployed.websocket_api_id, StageName="api")
    rate, burst = stage.throttle("websocket")
    route = websocket["DefaultRouteSettings"]
    assert (route["ThrottlingRateLimit"], route["ThrottlingBurstLimit"]) == (rate, burst)
    access = websocket["AccessLogSettings"]
    assert access["DestinationArn"].endswith(
        ":log-group:/aws/apigateway/pulse-prod-websocket-access"
    )
    assert json.loads(access["Format"]) == guardrails.WEBSOCKET_ACCESS_LOG

    groups = client("logs").describe_log_groups(logGroupNamePrefix="/aws/apigateway/")
    assert {g["logGroupName"]: g["retentionInDays"] for g in groups["logGroups"]} == {
        "/aws/apigateway/pulse-prod-rest-access": 90,
        "/aws/apigateway/pulse-prod-websocket-access": 90,
    }


def test_every_function_s_own_log_group_has_the_stage_s_retention(
    deployed: ChaliceWithRoles,
) -> None:
    """chalice puts the retention on /aws/lambda/pulse-prod-api_handler, but the REST function
    is named pulse-prod: deploy sets it on the group the function writes to."""
    groups = client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")
    assert {g["logGroupName"]: g.get("retentionInDays") for g in groups["logGroups"]} == {
        "/aws/lambda/pulse-prod": 90,
        "/aws/lambda/pulse-prod-websocket_message": 90,
    }


def test_the_alarms_are_the_template_s_into_the_stage_s_topic(
    deployed: ChaliceWithRoles,
) -> None:
    (topic,) = [t["TopicArn"] for t in client("sns").list_topics()["Topics"]]
    assert topic.endswith(":pulse-prod-alarms")
    alarms = client("cloudwatch").describe_alarms()["MetricAlarms"]
    by_name = {a["AlarmName"]: a for a in alarms}
    expected = packaged_alarms()
    assert sorted(by_name) == sorted(f"pulse-prod-{k.removesuffix('Alarm')}" for k in expected)
    for logical, spec in expected.items():
        name = f"pulse-prod-{logical.removesuffix('Alarm')}"
        alarm = by_name[name]
        assert (alarm["Namespace"], alarm["MetricName"]) == (spec["Namespace"], spec["MetricName"])
        assert (alarm["Threshold"], alarm["Statistic"]) == (spec["Threshold"], spec["Statistic"])
        assert alarm["Period"] == spec["Period"] and alarm["AlarmActions"] == [topic]
        assert alarm["OKActions"] == [topic]
        names = sorted(d["Name"] for d in alarm["Dimensions"])
        assert names == sorted(d["Name"] for d in spec["Dimensions"]), name
    dimensions = {a["AlarmName"]: {d["Name"]: d["Value"] for d in a["Dimensions"]} for a in alarms}
    assert dimensions["pulse-prod-APIHandlerErrors"] == {"FunctionName": "pulse-prod"}
    assert dimensions["pulse-prod-WebsocketClientError"] == {
        "ApiId": deployed.websocket_api_id,
        "Stage": "api",
    }
    assert dimensions["pulse-prod-DataTableWriteThrottleEvents"] == {"TableName": "pulse-prod-data"}
    assert dimensions["pulse-prod-WebhookDeadLetters"] == {"QueueName": "pulse-prod-webhooks-dlq"}


def test_the_push_permission_names_the_stage_s_own_websocket_api(
    deployed: ChaliceWithRoles,
) -> None:
    document = client("iam").get_role_policy(
        RoleName="pulse-prod-websocket_message", PolicyName="pulse-prod-websocket_message"
    )["PolicyDocument"]
    (push,) = [s for s in document["Statement"] if s["Action"] == [PUSH]]
    api = f"arn:aws:execute-api:{REGION}:123456789012:{deployed.websocket_api_id}/"
    assert push["Resource"] == [
        api + "api/POST/@connections/*",
        api + "api/GET/@connections/*",
        api + "api/DELETE/@connections/*",
    ]
    others = [s for s in document["Statement"] if s["Action"] != [PUSH]]
    committed = json.loads(Path(".chalice/policy-prod-websocket_message.json").read_text())
    assert others == [s for s in committed["Statement"] if s["Action"] != [PUSH]]


def test_deploying_again_duplicates_no_alarm_and_drops_a_stale_one(
    deployed: ChaliceWithRoles,
    project: Path,  # noqa: F811
) -> None:
    cloudwatch = client("cloudwatch")
    before = sorted(a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"])
    cloudwatch.put_metric_alarm(
        AlarmName="pulse-prod-RemovedFunctionErrors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.put_metric_alarm(
        AlarmName="someone-else-Errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    lines: list[str] = []
    assert run_deploy(project, deployed, lines) == 0
    after = sorted(a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"])
    assert after == sorted([*before, "someone-else-Errors"])
    assert "(1 stale removed)" in "\n".join(lines)
    assert len(client("sns").list_topics()["Topics"]) == 1
    groups = client("logs").describe_log_groups(logGroupNamePrefix="/aws/apigateway/")
    assert len(groups["logGroups"]) == 2


def test_teardown_removes_the_guard_rails_and_the_tables_stack_and_keeps_the_tables(
    deployed: ChaliceWithRoles,
    project: Path,  # noqa: F811
) -> None:
    lines: list[str] = []
    assert deploy.teardown("prod", root=project, run=deployed, out=lines.append) == 0
    assert deployed.calls[-1][0][1:] == ["delete", "--stage", "prod"]
    names = [a["AlarmName"] for a in client("cloudwatch").describe_alarms()["MetricAlarms"]]
    assert names == []
    assert client("sns").list_topics()["Topics"] == []
    groups = client("logs").describe_log_groups(logGroupNamePrefix="/aws/apigateway/")
    assert groups["logGroups"] == []
    stacks = client("cloudformation").list_stacks()["StackSummaries"]
    assert [s["StackStatus"] for s in stacks if s["StackName"] == "pulse-prod-tables"] == [
        "DELETE_COMPLETE"
    ]
    assert "3/3 Tables stack pulse-prod-tables deleted" in "\n".join(lines)


def test_teardown_without_the_record_but_with_functions_refuses(
    aws_account: Aws,
    project: Path,  # noqa: F811
) -> None:
    client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    client("lambda").create_function(
        FunctionName="pulse-prod",
        Runtime="python3.12",
        Role="arn:aws:iam::123456789012:role/r",
        Handler="app.app",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    with pytest.raises(deploy.DeployError, match=r"prod\.json is missing but functions"):
        deploy.teardown("prod", root=project, run=FakeChalice(project), out=lambda line: None)
