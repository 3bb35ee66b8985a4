"""The guard rails `chalice deploy` cannot set, put on the stage it deployed by API calls (the
`make deploy` path; `make package`'s template has them from infra/guardrails.py): both stages'
throttles, JSON access logs and their log groups, REST tracing, the SNS topic and its alarms, tags,
and the WebSocket push permission narrowed to the stage's own API. Each call sets a whole value,
so deploying again changes nothing; `remove` takes them away on teardown."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .guardrails import ANY_API, REST_ACCESS_LOG, WEBSOCKET_ACCESS_LOG, AlarmSpec, alarm_specs
from .stages import Stage

Print = Callable[[str], None]


@dataclass(frozen=True)
class Deployed:
    """What chalice deploy recorded of a stage (.chalice/deployed/<stage>.json)."""

    rest_api_id: str
    websocket_api_id: str
    functions: dict[str, str]  # chalice's name (api_handler, ...) -> the function's name
    roles: list[str]  # the functions' IAM role names

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Deployed:
        by_type: dict[str, list[dict[str, Any]]] = {}
        for resource in record["resources"]:
            by_type.setdefault(resource["resource_type"], []).append(resource)
        (rest,) = by_type["rest_api"]
        (websocket,) = by_type["websocket_api"]
        return cls(
            rest_api_id=rest["rest_api_id"],
            websocket_api_id=websocket["websocket_api_id"],
            functions={
                f["name"]: f["lambda_arn"].rsplit(":", 1)[-1] for f in by_type["lambda_function"]
            },
            roles=sorted({r["role_name"] for r in by_type.get("iam_role", [])}),
        )


def access_log_group(stage: Stage, api: str) -> str:
    """`api`: rest or websocket (the names the template gives them too)."""
    return f"/aws/apigateway/{stage.function_prefix}-{api}-access"


def alarm_name(stage: Stage, logical: str) -> str:
    """ApiHandlerErrorsAlarm -> pulse-<stage>-ApiHandlerErrors."""
    return f"{stage.function_prefix}-{logical.removesuffix('Alarm')}"


def apply(aws: Any, stage: Stage, deployed: Deployed, out: Print = print) -> None:
    """Every guard rail on the deployed stage (`aws`: infra.deploy.Aws)."""
    logs = aws.client("logs")
    groups = {
        api: _log_group(logs, stage, access_log_group(stage, api)) for api in ("rest", "websocket")
    }
    # chalice sets the retention on /aws/lambda/<app>-<stage>-<name>, but names the REST
    # function <app>-<stage>: its real log group would keep every line forever.
    for function in sorted(deployed.functions.values()):
        _log_group(logs, stage, f"/aws/lambda/{function}")
    _rest_stage(aws, stage, deployed.rest_api_id, groups["rest"])
    _websocket_stage(aws, stage, deployed.websocket_api_id, groups["websocket"])
    rate, burst = stage.throttle("rest")
    ws_rate, ws_burst = stage.throttle("websocket")
    out(
        f"    throttles: REST {rate:g}/s (burst {burst}), WebSocket {ws_rate:g}/s (burst "
        f"{ws_burst}); JSON access logs in {access_log_group(stage, 'rest')} and "
        f"{access_log_group(stage, 'websocket')}, the functions' log groups "
        f"({stage.log_retention_days} days); REST tracing {'on' if stage.tracing else 'off'}"
    )
    topic = aws.client("sns").create_topic(
        Name=stage.alarm_topic,
        Attributes={"KmsMasterKeyId": "alias/aws/sns"},
        Tags=_tag_list(stage),
    )["TopicArn"]
    specs = alarm_specs(
        stage,
        functions={_logical(name): function for name, function in deployed.functions.items()},
        websocket_api=deployed.websocket_api_id,
        tables={
            "ControlTable": f"{stage.table_prefix}control",
            "DataTable": f"{stage.table_prefix}data",
        },
        dead_letters=f"{stage.table_prefix}webhooks-dlq",
    )
    put, dropped = _alarms(aws.client("cloudwatch"), stage, specs, topic)
    stale = f" ({dropped} stale removed)" if dropped else ""
    out(f"    {put} alarms into SNS topic {topic}{stale}")
    narrowed = _narrow_websocket_push(aws, deployed)
    out(
        f"    WebSocket push permission narrowed to API {deployed.websocket_api_id} "
        f"({narrowed} statements)"
    )


def remove(aws: Any, stage: Stage, out: Print = print) -> None:
    """What `apply` created and `chalice delete` leaves: the alarms, the topic, the access logs."""
    cloudwatch = aws.client("cloudwatch")
    names = _stage_alarms(cloudwatch, stage)
    for start in range(0, len(names), 100):
        cloudwatch.delete_alarms(AlarmNames=names[start : start + 100])
    sns = aws.client("sns")
    topic = f"arn:aws:sns:{aws.region}:{aws.account}:{stage.alarm_topic}"
    sns.delete_topic(TopicArn=topic)
    logs = aws.client("logs")
    for api in ("rest", "websocket"):
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            logs.delete_log_group(logGroupName=access_log_group(stage, api))
    out(f"    removed {len(names)} alarms, topic {stage.alarm_topic} and both access logs")


def _log_group(logs: Any, stage: Stage, name: str) -> str:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=name, tags=stage.tags)
    logs.put_retention_policy(logGroupName=name, retentionInDays=stage.log_retention_days)
    arn: str = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["arn"]
    return arn.removesuffix(":*")


def _rest_stage(aws: Any, stage: Stage, api_id: str, log_arn: str) -> None:
    rate, burst = stage.throttle("rest")
    operations = [
        ("/*/*/throttling/rateLimit", str(rate)),
        ("/*/*/throttling/burstLimit", str(burst)),
        ("/accessLogSettings/destinationArn", log_arn),
        ("/accessLogSettings/format", json.dumps(REST_ACCESS_LOG, separators=(",", ":"))),
        ("/tracingEnabled", "true" if stage.tracing else "false"),
    ]
    apigateway = aws.client("apigateway")
    apigateway.update_stage(
        restApiId=api_id,
        stageName=stage.api_gateway_stage,
        patchOperations=[{"op": "replace", "path": p, "value": v} for p, v in operations],
    )
    apigateway.tag_resource(
        resourceArn=f"arn:aws:apigateway:{aws.region}::/restapis/{api_id}/stages/"
        f"{stage.api_gateway_stage}",
        tags=stage.tags,
    )


def _websocket_stage(aws: Any, stage: Stage, api_id: str, log_arn: str) -> None:
    rate, burst = stage.throttle("websocket")
    apigatewayv2 = aws.client("apigatewayv2")
    apigatewayv2.update_stage(
        ApiId=api_id,
        StageName=stage.api_gateway_stage,
        DefaultRouteSettings={"ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst},
        AccessLogSettings={
            "DestinationArn": log_arn,
            "Format": json.dumps(WEBSOCKET_ACCESS_LOG, separators=(",", ":")),
        },
    )
    apigatewayv2.tag_resource(
        ResourceArn=f"arn:aws:apigateway:{aws.region}::/apis/{api_id}", Tags=stage.tags
    )


def _alarms(
    cloudwatch: Any, stage: Stage, specs: dict[str, AlarmSpec], topic: str
) -> tuple[int, int]:
    """Put each alarm (a put replaces one of the same name); delete the stage's alarms that are
    no longer specified (a function renamed or removed). (put, deleted)."""
    wanted = {alarm_name(stage, logical): spec for logical, spec in specs.items()}
    for name, spec in wanted.items():
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription=spec.description,
            Namespace=spec.namespace,
            MetricName=spec.metric,
            Dimensions=[{"Name": k, "Value": str(v)} for k, v in spec.dimensions.items()],
            Statistic=spec.statistic,
            Period=spec.period,
            EvaluationPeriods=1,
            Threshold=spec.threshold,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=[topic],
            OKActions=[topic],
            Tags=_tag_list(stage),
        )
    stale = [name for name in _stage_alarms(cloudwatch, stage) if name not in wanted]
    if stale:
        cloudwatch.delete_alarms(AlarmNames=stale)
    return len(wanted), len(stale)


def _stage_alarms(cloudwatch: Any, stage: Stage) -> list[str]:
    names: list[str] = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=f"{stage.function_prefix}-", AlarmTypes=["MetricAlarm"]
    ):
        names += [a["AlarmName"] for a in page["MetricAlarms"]]
    return names


def _narrow_websocket_push(aws: Any, deployed: Deployed) -> int:
    """Each role's `execute-api:ManageConnections` on this stage's WebSocket API only (the policy
    files name every API, as its id is known only once chalice created it). Returns how many
    roles held the statement."""
    iam = aws.client("iam")
    api_arn = f"arn:aws:execute-api:{aws.region}:{aws.account}:{deployed.websocket_api_id}/"
    held = 0
    for role in deployed.roles:
        for policy_name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
            if isinstance(document, str):
                document = json.loads(document)
            changed = False
            for statement in document.get("Statement", []):
                actions = statement.get("Action")
                if actions not in (
                    ["execute-api:ManageConnections"],
                    "execute-api:ManageConnections",
                ):
                    continue
                resources = statement["Resource"]
                resources = [resources] if isinstance(resources, str) else resources
                statement["Resource"] = [
                    api_arn + r.removeprefix(ANY_API) if r.startswith(ANY_API) else r
                    for r in resources
                ]
                changed = changed or statement["Resource"] != resources
                held += 1
            if changed:
                iam.put_role_policy(
                    RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(document)
                )
    return held


def _logical(chalice_name: str) -> str:
    """The function's logical name in the package template, which names its alarms there and
    here: api_handler -> APIHandler (chalice's own name), websocket_connect -> WebsocketConnect."""
    if chalice_name == "api_handler":
        return "APIHandler"
    return "".join(part[:1].upper() + part[1:] for part in chalice_name.split("_"))


def _tag_list(stage: Stage) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in stage.tags.items()]
