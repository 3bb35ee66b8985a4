"""`make deploy` exercised end to end against moto's server standing in for AWS
(devstack/aws_standin.py: moto with the project's three fixes for what it lacks). The real deploy
command runs in a copy of the checkout; what it created is checked against the package template
(`make package`); the handlers it uploaded serve login, mint and a socket connect, run from the
uploaded code with the deployed environment (moto runs Lambda in docker, which is not here); a
second deploy duplicates nothing; `chalice delete` and the tables stack's deletion tear it down."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from lambda_package import aws_environ, make_writable, run_lambda_child, unpack_read_only

from infra import deploy
from infra.deploy import GENERATED_SECRETS
from infra.stages import load_stage

ROOT = Path(__file__).resolve().parents[2]
STAGE = "dev"
OPERATOR = ("owner@example.com", "a-long-enough-password")
NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "dist",
    ".pulse",
    "test-artifacts",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "deployments",
    "deployed",
    "node_modules",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout, as an operator has it (nothing deployed from it yet)."""
    root = tmp_path_factory.mktemp("deploy") / "pulse"
    shutil.copytree(ROOT, root, ignore=NOT_COPIED, symlinks=False)
    return root


@pytest.fixture(scope="module")
def env(aws_standin: str) -> dict[str, str]:
    return aws_environ(aws_standin)


def infra_command(project: Path, env: dict[str, str], *args: str) -> str:
    """`python -m infra ...` (what `make deploy` runs) in the copy; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "infra", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done.stdout


@pytest.fixture(scope="module")
def deployed(project: Path, env: dict[str, str]) -> Iterator[str]:
    """The stage deployed once for the module (torn down by the last test); its output. The
    account has API Gateway's logging role, as an operator sets it once (docs/operations.md)."""
    client(env, "apigateway").update_account(
        patchOperations=[
            {
                "op": "replace",
                "path": "/cloudwatchRoleArn",
                "value": "arn:aws:iam::123456789012:role/apigateway-logs",
            }
        ]
    )
    yield infra_command(project, env, "deploy", "--stage", STAGE)


@pytest.fixture(scope="module")
def template(
    deployed: str, project: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The package template of the same checkout and stage (`make package`)."""
    out = tmp_path_factory.mktemp("package") / STAGE
    path = deploy.package(STAGE, out, root=project, out=lambda line: None)
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def client(env: dict[str, str], service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


def named(template: dict[str, Any], value: Any) -> str:
    """A name as CloudFormation resolves it: `{"Fn::Sub": "${TablePrefix}..."}` with the
    parameter's (only allowed) value."""
    if isinstance(value, str):
        return value
    prefix = template["Parameters"]["TablePrefix"]["Default"]
    return str(value["Fn::Sub"]).replace("${TablePrefix}", prefix)


def functions(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The stage's deployed functions by handler (each function has its own)."""
    stage = load_stage(STAGE)
    found = client(env, "lambda").list_functions()["Functions"]
    ours = [f for f in found if f["FunctionName"].startswith(stage.function_prefix)]
    return {f["Handler"]: f for f in ours}


def inventory(env: dict[str, str]) -> dict[str, Any]:
    """Everything a deploy creates, by name, with how many of each."""
    rest = client(env, "apigateway")
    apis = rest.get_rest_apis()["items"]
    return {
        "functions": sorted(
            f["FunctionName"] for f in client(env, "lambda").list_functions()["Functions"]
        ),
        "event sources": sorted(
            (m["FunctionArn"], m["EventSourceArn"].split("/stream/")[0])
            for m in client(env, "lambda").list_event_source_mappings()["EventSourceMappings"]
        ),
        "rest apis": sorted(a["name"] for a in apis),
        "rest resources": sorted(
            r["path"]
            for a in apis
            for r in rest.get_resources(restApiId=a["id"], limit=500)["items"]
        ),
        "websocket apis": sorted(
            a["Name"] for a in client(env, "apigatewayv2").get_apis()["Items"]
        ),
        "roles": sorted(r["RoleName"] for r in client(env, "iam").list_roles()["Roles"]),
        "tables": sorted(client(env, "dynamodb").list_tables()["TableNames"]),
        "stacks": sorted(
            s["StackName"]
            for s in client(env, "cloudformation").describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"
        ),
        "parameters": sorted(
            p["Name"] for p in client(env, "ssm").describe_parameters()["Parameters"]
        ),
        "queues": sorted(client(env, "sqs").list_queues().get("QueueUrls", [])),
        "buckets": sorted(b["Name"] for b in client(env, "s3").list_buckets()["Buckets"]),
        "alarms": sorted(
            a["AlarmName"] for a in client(env, "cloudwatch").describe_alarms()["MetricAlarms"]
        ),
        "topics": sorted(t["TopicArn"] for t in client(env, "sns").list_topics()["Topics"]),
        "access logs": sorted(
            g["logGroupName"]
            for g in client(env, "logs").describe_log_groups(logGroupNamePrefix="/aws/apigateway/")[
                "logGroups"
            ]
        ),
    }


def test_deploy_prints_both_urls(deployed: str) -> None:
    assert f"Pulse {STAGE} is deployed." in deployed
    assert "REST API:      https://" in deployed
    assert "WebSocket API: wss://" in deployed
    assert "trimmed to what the functions load" in deployed


def test_every_function_of_the_template_is_deployed_as_declared(
    template: dict[str, Any], env: dict[str, str]
) -> None:
    declared = of_type(template, "AWS::Serverless::Function")
    deployed = functions(env)
    assert sorted(deployed) == sorted(p["Handler"] for p in declared.values())
    for props in declared.values():
        function = deployed[props["Handler"]]
        assert function["Runtime"] == props["Runtime"]
        assert function["MemorySize"] == props["MemorySize"]
        assert function["Timeout"] == props["Timeout"]
        assert function["Environment"]["Variables"] == props["Environment"]["Variables"]
        assert function["PackageType"] == "Zip"


def test_every_route_of_the_template_is_deployed(
    template: dict[str, Any], env: dict[str, str]
) -> None:
    (api,) = of_type(template, "AWS::Serverless::Api").values()
    declared = {
        (path, method.upper())
        for path, methods in api["DefinitionBody"]["paths"].items()
        for method in methods
    }
    rest = client(env, "apigateway")
    (rest_api,) = rest.get_rest_apis()["items"]
    resources = rest.get_resources(restApiId=rest_api["id"], limit=500)["items"]
    routed = {(r["path"], m) for r in resources for m in r.get("resourceMethods", {})}
    assert routed == declared

    v2 = client(env, "apigatewayv2")
    (websocket,) = v2.get_apis()["Items"]
    assert websocket["ProtocolType"] == "WEBSOCKET"
    keys = sorted(r["RouteKey"] for r in v2.get_routes(ApiId=websocket["ApiId"])["Items"])
    declared_keys = sorted(
        r["RouteKey"] for r in of_type(template, "AWS::ApiGatewayV2::Route").values()
    )
    assert keys == declared_keys == ["$connect", "$default", "$disconnect"]
    (stage,) = v2.get_stages(ApiId=websocket["ApiId"])["Items"]
    (declared_stage,) = of_type(template, "AWS::ApiGatewayV2::Stage").values()
    assert stage["StageName"] == declared_stage["StageName"]


def test_every_table_of_the_template_is_created_with_its_keys_and_indexes(
    template: dict[str, Any], env: dict[str, str]
) -> None:
    dynamodb = client(env, "dynamodb")
    declared = of_type(template, "AWS::DynamoDB::Table")
    assert sorted(dynamodb.list_tables()["TableNames"]) == sorted(
        named(template, p["TableName"]) for p in declared.values()
    )
    for props in declared.values():
        name = named(template, props["TableName"])
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == props["KeySchema"]
        assert sorted(map(json.dumps, table["AttributeDefinitions"])) == sorted(
            map(json.dumps, props["AttributeDefinitions"])
        )
        assert sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])) == sorted(
            i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])
        )
        if "StreamSpecification" in props:
            assert (
                table["StreamSpecification"]["StreamViewType"]
                == (props["StreamSpecification"]["StreamViewType"])
            )


def test_the_secrets_queues_bucket_and_event_sources_are_the_template_s(
    template: dict[str, Any], env: dict[str, str]
) -> None:
    (prefix,) = {
        p["Environment"]["Variables"]["PULSE_SECRETS_SSM_PREFIX"]
        for p in of_type(template, "AWS::Serverless::Function").values()
    }
    parameters = client(env, "ssm").describe_parameters()["Parameters"]
    assert sorted((p["Name"], p["Type"]) for p in parameters) == sorted(
        (prefix + name, "SecureString") for name in GENERATED_SECRETS
    )
    queues = {u.rsplit("/", 1)[-1] for u in client(env, "sqs").list_queues()["QueueUrls"]}
    declared_queues = of_type(template, "AWS::SQS::Queue").values()
    assert queues == {named(template, p["QueueName"]) for p in declared_queues}
    buckets = {b["Name"] for b in client(env, "s3").list_buckets()["Buckets"]}
    declared_buckets = of_type(template, "AWS::S3::Bucket").values()
    assert buckets == {named(template, p["BucketName"]) for p in declared_buckets}

    by_arn = {f["FunctionArn"]: handler for handler, f in functions(env).items()}
    mappings = client(env, "lambda").list_event_source_mappings()["EventSourceMappings"]
    sources = {by_arn[m["FunctionArn"]]: m["EventSourceArn"] for m in mappings}
    events = {
        p["Handler"]: next(iter(p["Events"].values()))
        for p in of_type(template, "AWS::Serverless::Function").values()
        if p.get("Events")
    }
    declared = {h: e["Type"] for h, e in events.items() if e["Type"] in ("DynamoDB", "SQS")}
    assert sorted(sources) == sorted(declared)
    # The retention run's schedule is an EventBridge rule, not a mapping.
    schedules = {
        h: e["Properties"]["Schedule"] for h, e in events.items() if e["Type"] == "Schedule"
    }
    assert schedules == {"app.retention": "rate(1 hour)"}
    rules = client(env, "events").list_rules()["Rules"]
    assert [r["ScheduleExpression"] for r in rules] == ["rate(1 hour)"]
    for handler, kind in declared.items():
        assert sources[handler].split(":")[2] == {"DynamoDB": "dynamodb", "SQS": "sqs"}[kind]


def test_the_guard_rails_are_the_template_s(template: dict[str, Any], env: dict[str, str]) -> None:
    """What infra/guardrails.py puts in the package template, make deploy sets on the stage it
    deployed (infra/stage_guardrails.py): throttles, access logs, tracing, alarms, the topic."""
    (api,) = of_type(template, "AWS::Serverless::Api").values()
    (setting,) = api["MethodSettings"]
    rest = client(env, "apigateway")
    (rest_api,) = rest.get_rest_apis()["items"]
    stage = rest.get_stage(restApiId=rest_api["id"], stageName=api["StageName"])
    deployed_setting = stage["methodSettings"]["*/*"]
    assert deployed_setting["throttlingRateLimit"] == setting["ThrottlingRateLimit"]
    assert deployed_setting["throttlingBurstLimit"] == setting["ThrottlingBurstLimit"]
    assert stage["accessLogSettings"]["format"] == api["AccessLogSetting"]["Format"]
    assert stage.get("tracingEnabled", False) == api["TracingEnabled"]

    v2 = client(env, "apigatewayv2")
    (websocket,) = v2.get_apis()["Items"]
    (ws_stage,) = v2.get_stages(ApiId=websocket["ApiId"])["Items"]
    (declared,) = of_type(template, "AWS::ApiGatewayV2::Stage").values()
    route = ws_stage["DefaultRouteSettings"]
    assert route["ThrottlingRateLimit"] == declared["DefaultRouteSettings"]["ThrottlingRateLimit"]
    assert route["ThrottlingBurstLimit"] == declared["DefaultRouteSettings"]["ThrottlingBurstLimit"]
    assert ws_stage["AccessLogSettings"]["Format"] == declared["AccessLogSettings"]["Format"]

    groups = client(env, "logs").describe_log_groups(logGroupNamePrefix="/aws/apigateway/")
    declared_groups = [
        p for k, p in of_type(template, "AWS::Logs::LogGroup").items() if "Access" in k
    ]
    assert sorted((g["logGroupName"], g["retentionInDays"]) for g in groups["logGroups"]) == sorted(
        (p["LogGroupName"], p["RetentionInDays"]) for p in declared_groups
    )

    # each function's own log group (the template's, by the function's name) keeps the days
    function_groups = client(env, "logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")
    retention = {g["logGroupName"]: g.get("retentionInDays") for g in function_groups["logGroups"]}
    (days,) = {p["RetentionInDays"] for p in of_type(template, "AWS::Logs::LogGroup").values()}
    for function in functions(env).values():
        assert retention["/aws/lambda/" + function["FunctionName"]] == days

    prefix = load_stage(STAGE).function_prefix
    alarms = client(env, "cloudwatch").describe_alarms()["MetricAlarms"]
    declared_alarms = of_type(template, "AWS::CloudWatch::Alarm")
    assert sorted(a["AlarmName"] for a in alarms) == sorted(
        f"{prefix}-{k.removesuffix('Alarm')}" for k in declared_alarms
    )
    by_name = {a["AlarmName"]: a for a in alarms}
    for logical, props in declared_alarms.items():
        alarm = by_name[f"{prefix}-{logical.removesuffix('Alarm')}"]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
            props["Namespace"],
            props["MetricName"],
            props["Threshold"],
        )
    (topic,) = client(env, "sns").list_topics()["Topics"]
    (declared_topic,) = of_type(template, "AWS::SNS::Topic").values()
    assert topic["TopicArn"].endswith(":" + declared_topic["TopicName"])
    assert {a["AlarmActions"][0] for a in alarms} == {topic["TopicArn"]}


def test_the_uploaded_handlers_serve_login_mint_and_a_socket_connect(
    deployed: str, project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """The code every function got is the package deploy built (same SHA-256); unpacked
    read-only, its handlers (as deployed) serve with the deployed environment."""
    found = functions(env)
    (sha,) = {f["CodeSha256"] for f in found.values()}
    cached = {
        base64.b64encode(hashlib.sha256(z.read_bytes()).digest()).decode(): z
        for z in (project / ".chalice" / "deployments").glob("*.zip")
    }
    package = cached[sha]
    (variables,) = {
        json.dumps(f["Environment"]["Variables"], sort_keys=True) for f in found.values()
    }
    infra_command(
        project,
        {**env, "PULSE_ADMIN_PASSWORD": OPERATOR[1]},
        "create-admin",
        "--stage",
        STAGE,
        "--email",
        OPERATOR[0],
    )
    code = unpack_read_only(package, tmp_path / "task")
    try:
        rest_handler = next(h for h in found if h == "app.app")
        connect_handler = next(h for h in found if h.endswith("connect") and "dis" not in h)
        result = run_lambda_child(
            code,
            {**env, **json.loads(variables)},
            {
                "handlers": {"rest": rest_handler, "connect": connect_handler},
                "email": OPERATOR[0],
                "password": OPERATOR[1],
            },
        )
    finally:
        make_writable(code)
    assert (result["login"], result["create environment"], result["mint"]) == (200, 201, 200)
    assert result["$connect"] == 200


def test_deploying_again_duplicates_nothing(
    deployed: str, project: Path, env: dict[str, str]
) -> None:
    before = inventory(env)
    again = infra_command(project, env, "deploy", "--stage", STAGE)
    assert f"1/4 Tables: stack {load_stage(STAGE).tables_stack} unchanged." in again
    assert "2/4 Secrets: 0 created, 2 already there" in again
    assert inventory(env) == before


def test_tear_down_removes_the_functions_apis_and_roles(
    deployed: str, project: Path, env: dict[str, str]
) -> None:
    """`make teardown` (python -m infra teardown): everything but the data."""
    out = infra_command(project, env, "teardown", "--stage", STAGE)
    assert "3/3 Tables stack" in out
    left = inventory(env)
    assert left["functions"] == []
    assert left["rest apis"] == []
    assert left["websocket apis"] == []
    assert left["roles"] == []
    assert left["event sources"] == []
    assert left["stacks"] == []
    assert left["alarms"] == [] and left["topics"] == [] and left["access logs"] == []
    assert left["queues"] == []
    # the data is kept (DeletionPolicy: Retain; docs/operations.md, Teardown)
    stage = load_stage(STAGE)
    assert left["tables"] == [f"{stage.table_prefix}control", f"{stage.table_prefix}data"]
    record = json.loads((project / deploy.DEPLOYED_DIR / f"{STAGE}.json").read_text())
    assert record["resources"] == []  # chalice's record of the stage: nothing deployed
