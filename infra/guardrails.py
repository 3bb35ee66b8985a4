"""The guard rails chalice cannot express, added to what `chalice package` wrote: API Gateway's
throttle, JSON access logs and their log groups, tracing on the REST stage, alarms to the stage's
SNS topic, tags on every taggable resource, and the WebSocket push permission narrowed to the
stage's own WebSocket API. chalice itself sets what its config can say (.chalice/config.json:
reserved concurrency, the functions' log retention, X-Ray on the functions, their tags and
per-function policies). docs/operations.md, "Guard rails", says what each one is for."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .stages import Stage

# API Gateway's access log line: one JSON object per request (fields of $context).
REST_ACCESS_LOG = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "time": "$context.requestTime",
    "method": "$context.httpMethod",
    "path": "$context.resourcePath",
    "status": "$context.status",
    "length": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "errorType": "$context.error.responseType",
}
WEBSOCKET_ACCESS_LOG = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "time": "$context.requestTime",
    "route": "$context.routeKey",
    "event": "$context.eventType",
    "connectionId": "$context.connectionId",
    "status": "$context.status",
    "integrationStatus": "$context.integrationStatus",
    "errorType": "$context.error.responseType",
}
ACCESS_LOGS = {"RestAPI": "RestAccessLogs", "WebsocketAPIStage": "WebsocketAccessLogs"}
TOPIC = "AlarmTopic"
PERIOD = 300  # every alarm looks at 5-minute sums
# The placeholder of the committed policy files' WebSocket push statement: the API id is only
# known once CloudFormation creates the API (replaced by a reference to it below).
ANY_API = "arn:aws:execute-api:*:*:*/"
# Resource types that take no tags (CloudFormation has no Tags property for them).
UNTAGGABLE = frozenset(
    {
        "AWS::Lambda::Permission",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Deployment",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
    }
)
# How each taggable type spells its tags: a map, or a list of {Key, Value}.
TAGS_AS_MAP = frozenset(
    {
        "AWS::Serverless::Function",
        "AWS::Serverless::Api",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Stage",
    }
)


def add(template: dict[str, Any], stage: Stage) -> None:
    """Every guard rail, into the packaged template (infra/deploy.py's `package`)."""
    resources: dict[str, Any] = template["Resources"]
    _name_function_log_groups(resources)
    _throttle_and_log(resources, stage)
    _alarms(template, stage)
    _narrow_websocket_push(resources)
    _tag(resources, stage)


def _name_function_log_groups(resources: dict[str, Any]) -> None:
    """chalice 1.34 names the REST function's log group after `${ApiHandler}`, a resource its
    template does not have (the function is `APIHandler`): point each group at its function."""
    functions = {k.lower(): k for k, r in resources.items() if r["Type"].endswith("::Function")}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::Logs::LogGroup" or not logical.endswith("LogGroup"):
            continue
        function = functions.get(logical.removesuffix("LogGroup").lower())
        if function is not None:
            resource["Properties"]["LogGroupName"] = {"Fn::Sub": f"/aws/lambda/${{{function}}}"}


def _throttle_and_log(resources: dict[str, Any], stage: Stage) -> None:
    if not {"RestAPI", "WebsocketAPIStage"} <= set(resources):
        return  # not a package of this app (a test's fake chalice)
    for logical, name in ACCESS_LOGS.items():
        kind = "rest" if logical == "RestAPI" else "websocket"
        resources[name] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": f"/aws/apigateway/{stage.function_prefix}-{kind}-access",
                "RetentionInDays": stage.log_retention_days,
            },
        }
    rate, burst = stage.throttle("rest")
    rest = resources["RestAPI"]["Properties"]
    # The REST API's name is the ApiName dimension of its metrics: one per stage.
    rest["Name"] = stage.function_prefix
    rest["TracingEnabled"] = stage.tracing
    rest["MethodSettings"] = [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": rate,
            "ThrottlingBurstLimit": burst,
        }
    ]
    rest["AccessLogSetting"] = {
        "DestinationArn": {"Fn::GetAtt": [ACCESS_LOGS["RestAPI"], "Arn"]},
        "Format": json.dumps(REST_ACCESS_LOG, separators=(",", ":")),
    }
    rate, burst = stage.throttle("websocket")
    websocket = resources["WebsocketAPIStage"]["Properties"]
    websocket["DefaultRouteSettings"] = {
        "ThrottlingRateLimit": rate,
        "ThrottlingBurstLimit": burst,
    }
    websocket["AccessLogSettings"] = {
        "DestinationArn": {"Fn::GetAtt": [ACCESS_LOGS["WebsocketAPIStage"], "Arn"]},
        "Format": json.dumps(WEBSOCKET_ACCESS_LOG, separators=(",", ":")),
    }


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: what it watches and when it fires (5-minute sums unless said)."""

    description: str
    namespace: str
    metric: str
    dimensions: dict[str, Any]  # a value or a template reference
    threshold: int = 1
    statistic: str = "Sum"
    period: int = PERIOD


def alarm_specs(
    stage: Stage,
    functions: dict[str, Any],
    websocket_api: Any | None,
    tables: dict[str, Any],
    dead_letters: Any | None,
) -> dict[str, AlarmSpec]:
    """The stage's alarms by logical name, the same for the template (references) and for
    `make deploy` (names and ids: infra/stage_guardrails.py). `functions`: logical name ->
    function name; `tables`: logical name -> table name."""
    specs: dict[str, AlarmSpec] = {}
    for function, name in sorted(functions.items()):
        for metric in ("Errors", "Throttles"):
            specs[f"{function}{metric}Alarm"] = _spec(
                f"{function}: Lambda {metric}", "AWS/Lambda", metric, {"FunctionName": name}
            )
    rest = {"ApiName": stage.function_prefix, "Stage": stage.api_gateway_stage}
    # REST APIs publish 4XXError and 5XXError only: a 429 (API Gateway's throttle or Pulse's
    # limits) is one of the 4XXError, so that alarm's threshold is above the usual 401s and 404s.
    specs["RestAPI5xxAlarm"] = _spec("REST API 5xx", "AWS/ApiGateway", "5XXError", rest)
    specs["RestAPI4xxAlarm"] = _spec(
        "REST API 4xx (429 included)", "AWS/ApiGateway", "4XXError", rest, threshold=100
    )
    if websocket_api is None:
        return specs  # not a package of this app (a test's fake chalice)
    websocket = {"ApiId": websocket_api, "Stage": stage.api_gateway_stage}
    for metric in ("ExecutionError", "IntegrationError"):
        specs[f"Websocket{metric}Alarm"] = _spec(
            f"WebSocket API {metric} (its 5xx)", "AWS/ApiGateway", metric, websocket
        )
    specs["WebsocketClientErrorAlarm"] = _spec(
        "WebSocket API ClientError (429 included)",
        "AWS/ApiGateway",
        "ClientError",
        websocket,
        threshold=100,
    )
    for table, name in tables.items():
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            specs[f"{table}{metric}Alarm"] = _spec(
                f"{table}: DynamoDB {metric}", "AWS/DynamoDB", metric, {"TableName": name}
            )
    if dead_letters is not None:
        specs["WebhookDeadLettersAlarm"] = _spec(
            "Webhook attempts in the dead-letter queue",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": dead_letters},
            statistic="Maximum",
        )
    return specs


def _spec(
    what: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, Any],
    threshold: int = 1,
    statistic: str = "Sum",
) -> AlarmSpec:
    description = f"Pulse: {what} (docs/operations.md, Alarms)"
    return AlarmSpec(description, namespace, metric, dimensions, threshold, statistic)


def _alarms(template: dict[str, Any], stage: Stage) -> None:
    resources: dict[str, Any] = template["Resources"]
    resources[TOPIC] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {
            "TopicName": stage.alarm_topic,
            "KmsMasterKeyId": "alias/aws/sns",
        },
    }
    template.setdefault("Outputs", {})["AlarmTopicArn"] = {"Value": {"Ref": TOPIC}}
    functions = [k for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
    specs = alarm_specs(
        stage,
        functions={f: {"Ref": f} for f in functions},
        websocket_api={"Ref": "WebsocketAPI"} if "WebsocketAPI" in resources else None,
        tables={t: {"Ref": t} for t in ("ControlTable", "DataTable")},
        dead_letters={"Fn::GetAtt": ["WebhookDeadLetters", "QueueName"]}
        if "WebhookDeadLetters" in resources
        else None,
    )
    resources.update({logical: _alarm(spec) for logical, spec in specs.items()})


def _alarm(spec: AlarmSpec) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": spec.description,
            "Namespace": spec.namespace,
            "MetricName": spec.metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in spec.dimensions.items()],
            "Statistic": spec.statistic,
            "Period": spec.period,
            "EvaluationPeriods": 1,
            "Threshold": spec.threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": TOPIC}],
            "OKActions": [{"Ref": TOPIC}],
        },
    }


def _narrow_websocket_push(resources: dict[str, Any]) -> None:
    """`execute-api:ManageConnections` on this template's WebSocket API only."""
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if statement.get("Action") != ["execute-api:ManageConnections"]:
                    continue
                statement["Resource"] = [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                        "${AWS::AccountId}:${WebsocketAPI}/" + arn.removeprefix(ANY_API)
                    }
                    for arn in statement["Resource"]
                ]


def _tag(resources: dict[str, Any], stage: Stage) -> None:
    for resource in resources.values():
        kind = resource["Type"]
        if kind in UNTAGGABLE:
            continue
        properties = resource.setdefault("Properties", {})
        if kind in TAGS_AS_MAP:
            properties["Tags"] = {**properties.get("Tags", {}), **stage.tags}
        else:
            kept = [t for t in properties.get("Tags", []) if t["Key"] not in stage.tags]
            properties["Tags"] = kept + [{"Key": k, "Value": v} for k, v in stage.tags.items()]
