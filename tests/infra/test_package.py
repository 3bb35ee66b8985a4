"""`make package` for every stage, as an operator runs it (no AWS account needed): `chalice
package --merge-template` makes one CloudFormation template with the functions, both APIs and the
tables; cfn-lint finds nothing in it, and it carries the WebSocket routes, the stage's policy,
environment, memory and timeouts, and point-in-time recovery on the tables."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from infra import deploy, gateway_responses, guardrails
from infra.stages import Stage, load_stage, read_config, stage_names

ROOT = Path(__file__).resolve().parents[2]
STAGES = stage_names()
FUNCTIONS = {  # logical id in the template -> chalice's function name in config.json
    "APIHandler": "api_handler",
    "WebsocketConnect": "websocket_connect",
    "WebsocketMessage": "websocket_message",
    "WebsocketDisconnect": "websocket_disconnect",
    "WebhookEvents": "webhook_events",
    "WebhookAttempts": "webhook_attempts",
    "Retention": "retention",
}


def template(packaged: dict[str, Path], name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(packaged[name].read_text(encoding="utf-8"))
    return result


def resources_of(t: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: r for k, r in t["Resources"].items() if r["Type"] == kind}


def test_both_stages_are_packaged() -> None:
    assert STAGES == ["dev", "prod"]


@pytest.mark.parametrize("name", STAGES)
def test_cfn_lint_finds_no_error_and_no_warning(packaged: dict[str, Path], name: str) -> None:
    matches = lint_file(packaged[name])
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    warnings = [str(m) for m in matches if m.rule.id.startswith("W")]
    assert errors == []
    assert warnings == []


@pytest.mark.parametrize("name", STAGES)
def test_the_websocket_api_has_its_three_routes(packaged: dict[str, Path], name: str) -> None:
    t = template(packaged, name)
    routes = resources_of(t, "AWS::ApiGatewayV2::Route")
    assert sorted(r["Properties"]["RouteKey"] for r in routes.values()) == [
        "$connect",
        "$default",
        "$disconnect",
    ]
    (api,) = resources_of(t, "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    (stage,) = resources_of(t, "AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["StageName"] == load_stage(name).api_gateway_stage
    assert {"EndpointURL", "WebsocketConnectEndpointURL"} <= set(t["Outputs"])


@pytest.mark.parametrize("name", STAGES)
def test_every_function_has_its_own_policy_and_nothing_else(
    packaged: dict[str, Path], name: str
) -> None:
    """Each role holds its function's own policy file, its WebSocket push naming this template's
    WebSocket API (a reference), never every API whose stage has the same name."""
    t = template(packaged, name)
    stage = load_stage(name)
    for logical, function in FUNCTIONS.items():
        policy = json.loads(stage.function_policy_file(function).read_text(encoding="utf-8"))
        role_ref = t["Resources"][logical]["Properties"]["Role"]["Fn::GetAtt"][0]
        role = t["Resources"][role_ref]["Properties"]
        (document,) = [p["PolicyDocument"] for p in role["Policies"]]
        assert "ManagedPolicyArns" not in role
        for got, committed in zip(document["Statement"], policy["Statement"], strict=True):
            if got["Sid"] != "WebSocketPush":
                assert got == committed
                continue
            methods = [arn.split("/")[-3] for arn in committed["Resource"]]
            assert got["Resource"] == [
                {
                    "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                    f"${{AWS::AccountId}}:${{WebsocketAPI}}/api/{method}/@connections/*"
                }
                for method in methods
            ]


@pytest.mark.parametrize("name", STAGES)
def test_the_policy_names_the_websocket_push_secrets_and_logs(name: str) -> None:
    stage = load_stage(name)
    actions = {
        a for s in json.loads(stage.policy_file.read_text())["Statement"] for a in s["Action"]
    }
    assert "execute-api:ManageConnections" in actions
    assert "ssm:GetParameters" in actions
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= actions
    assert not any(a.endswith("*") for a in actions)


@pytest.mark.parametrize("name", STAGES)
def test_functions_carry_the_stage_environment_memory_and_timeout(
    packaged: dict[str, Path], name: str
) -> None:
    t = template(packaged, name)
    stage = load_stage(name)
    config = read_config()
    functions = resources_of(t, "AWS::Serverless::Function")
    assert set(functions) == set(FUNCTIONS)
    for logical, chalice_name in FUNCTIONS.items():
        props = functions[logical]["Properties"]
        assert props["Environment"]["Variables"] == stage.env
        expected = config["lambda_functions"][chalice_name]
        assert props["MemorySize"] == expected["lambda_memory_size"]
        assert props["Timeout"] == expected["lambda_timeout"]
    # Fan-out runs in $default (and REST writes): they get more time than $connect.
    assert (
        functions["WebsocketMessage"]["Properties"]["Timeout"]
        > (functions["WebsocketConnect"]["Properties"]["Timeout"])
    )


@pytest.mark.parametrize("name", STAGES)
def test_no_secret_is_in_the_template_or_the_config(packaged: dict[str, Path], name: str) -> None:
    stage = load_stage(name)
    assert stage.env["PULSE_SECRETS_SSM_PREFIX"] == f"/pulse/{name}/"
    text = packaged[name].read_text()
    for variable in ("PULSE_KEY_PEPPER", "PULSE_SIGNING_SECRET", "PULSE_SECRETS_FILE"):
        assert variable not in text
        assert variable not in (ROOT / ".chalice" / "config.json").read_text()


@pytest.mark.parametrize("name", STAGES)
def test_the_tables_are_merged_in_with_the_stage_prefix_and_point_in_time_recovery(
    packaged: dict[str, Path], name: str
) -> None:
    t = template(packaged, name)
    stage: Stage = load_stage(name)
    tables = resources_of(t, "AWS::DynamoDB::Table")
    assert set(tables) == {"ControlTable", "DataTable"}
    parameter = t["Parameters"]["TablePrefix"]
    assert parameter["Default"] == stage.table_prefix == stage.env["PULSE_TABLE_PREFIX"]
    assert parameter["AllowedValues"] == [stage.table_prefix]
    for logical, suffix in (("ControlTable", "control"), ("DataTable", "data")):
        props = tables[logical]["Properties"]
        assert props["TableName"] == {"Fn::Sub": "${TablePrefix}" + suffix}
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert props["TimeToLiveSpecification"]["Enabled"] is True
        assert tables[logical]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("name", STAGES)
def test_api_gateway_s_own_answers_are_in_the_error_shape(
    packaged: dict[str, Path], name: str
) -> None:
    """Gateway responses in the REST API's OpenAPI body, deployed with it: a path no route
    matches is a 404 (not 403 "Missing Authentication Token"), API Gateway's throttle a 429 with
    Retry-After, and each body the documented error shape."""
    body = template(packaged, name)["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]

    assert responses == gateway_responses.openapi_extension()
    expected = {
        "MISSING_AUTHENTICATION_TOKEN": ("404", "NOT_FOUND"),
        "THROTTLED": ("429", "RATE_LIMITED"),
        "REQUEST_TOO_LARGE": ("413", "PAYLOAD_TOO_LARGE"),
    }
    for kind, (status, code) in expected.items():
        assert responses[kind]["statusCode"] == status
        assert rendered(responses[kind])["error"]["code"] == code
    assert (
        responses["THROTTLED"]["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
    )
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert "statusCode" not in responses[kind]  # API Gateway's own status stays
        assert rendered(responses[kind])["error"]["code"] == "ACCESS_DENIED"
    for entry in responses.values():
        assert set(rendered(entry)["error"]) == {"code", "message", "requestId"}
        assert entry["responseParameters"]["gatewayresponse.header.Cache-Control"] == "'no-store'"


def rendered(entry: dict[str, Any]) -> dict[str, Any]:
    """The body API Gateway sends, $context filled in as it would."""
    text = entry["responseTemplates"]["application/json"]
    text = text.replace("$context.error.responseType", "ACCESS_DENIED")
    text = text.replace("$context.requestId", "c0ffee00-0000-4000-8000-000000000000")
    assert "$" not in text, text
    result: dict[str, Any] = json.loads(text)
    return result


def test_the_code_package_holds_the_app_and_nothing_of_the_dev_tools(
    packaged: dict[str, Path],
) -> None:
    with zipfile.ZipFile(packaged["prod"].parent / "deployment.zip") as archive:
        names = archive.namelist()
    assert "app.py" in names
    assert "chalicelib/config.py" in names
    assert not [
        n for n in names if n.split("/")[0] in {"infra", "devstack", "tests", "bench", ".pulse"}
    ]
    assert not [n for n in names if n.startswith("moto/") or n.startswith("chalice/cli/")]


def test_package_prints_the_next_steps(tmp_path: Path) -> None:
    lines: list[str] = []
    calls: list[list[str]] = []

    def fake_chalice(command: list[str], **kwargs: Any) -> Any:
        calls.append(command)
        (Path(command[-1])).mkdir(parents=True)
        merge = json.loads(Path(command[command.index("--merge-template") + 1]).read_text())
        assert merge["Parameters"]["TablePrefix"]["Default"] == "pulse-prod-"
        api = {"RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionBody": {}}}}
        (Path(command[-1]) / "sam.json").write_text(json.dumps({"Resources": api}))
        return type("Done", (), {"returncode": 0, "stdout": "", "stderr": ""})()

    deploy.package("prod", tmp_path / "out", run=fake_chalice, out=lines.append)

    (command,) = calls
    assert command[1:5] == ["package", "--stage", "prod", "--pkg-format"]
    text = "\n".join(lines)
    assert "python -m infra secrets --stage prod" in text
    assert "--stack-name pulse-prod --capabilities CAPABILITY_IAM" in text


def test_a_failed_package_is_one_line(tmp_path: Path) -> None:
    def failing(command: list[str], **kwargs: Any) -> Any:
        return type("Failed", (), {"returncode": 2, "stdout": "", "stderr": "boom\nNo region"})()

    with pytest.raises(deploy.DeployError, match="chalice package --stage dev failed: No region"):
        deploy.package("dev", tmp_path / "out", run=failing, out=print)


def test_package_never_empties_a_directory_that_is_not_an_earlier_package(tmp_path: Path) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")

    def never(command: list[str], **kwargs: Any) -> Any:
        raise AssertionError("chalice must not run")

    with pytest.raises(deploy.DeployError, match="choose --out"):
        deploy.package("dev", tmp_path, run=never, out=print)
    assert keep.read_text() == "mine"


@pytest.mark.parametrize("name", STAGES)
def test_the_code_package_ships_byte_code_python_uses(
    packaged: dict[str, Path], name: str, package_problems: Callable[[Path], list[str]]
) -> None:
    """Every module of the package has its .pyc (Lambda's /var/task is read-only: without them
    each cold start compiles everything), and the package holds no other byte code: none of the
    checkout's `__pycache__` (timestamp-checked files Python rejects once zipped, optimized ones,
    another Python's, byte code of an older source)."""
    assert package_problems(packaged[name].parent / "deployment.zip") == []


@pytest.mark.parametrize("name", STAGES)
def test_python_loads_every_module_of_the_package_from_its_byte_code(
    packaged: dict[str, Path], name: str, tmp_path: Path
) -> None:
    """Unpacked as Lambda unpacks it (every file dated as its zip entry: 1980), the app imports
    every module from the package's byte code: none is compiled from source, none rejected."""
    with zipfile.ZipFile(packaged[name].parent / "deployment.zip") as z:
        z.extractall(tmp_path)
        for info in z.infolist():
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(tmp_path / info.filename, (stamp, stamp))
    writing = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    verbose = subprocess.run(
        [
            sys.executable,
            "-v",
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import app, chalicelib.ids; "
            "print(hasattr(chalicelib.ids, 'STALE_BYTE_CODE'))",
        ],
        capture_output=True,
        text=True,
        env=writing,
        cwd=tmp_path,
        check=True,
    )
    assert verbose.stdout.strip() == "False"  # not the byte code of an older ids.py
    # "code object from '<x.pyc>'" when Python used the byte code, "... from <x.py>" when it
    # compiled the source
    loaded = re.findall(rf"code object from '?{re.escape(str(tmp_path))}/([^'\s]+)", verbose.stderr)
    tag = sys.implementation.cache_tag
    assert f"chalicelib/__pycache__/config.{tag}.pyc" in loaded
    assert f"chalicelib/__pycache__/ids.{tag}.pyc" in loaded
    assert len(loaded) > 100
    assert [n for n in loaded if not n.endswith(f".{tag}.pyc")] == []
    assert "bytecode is stale" not in verbose.stderr
    assert "bad magic number" not in verbose.stderr


@pytest.mark.parametrize("name", STAGES)
def test_the_webhook_pipeline_reads_the_merged_stream_and_queue(
    packaged: dict[str, Path], name: str
) -> None:
    t = template(packaged, name)
    (stream,) = t["Resources"]["WebhookEvents"]["Properties"]["Events"].values()
    assert stream["Type"] == "DynamoDB"
    assert stream["Properties"]["Stream"] == {"Fn::GetAtt": ["DataTable", "StreamArn"]}
    (pattern,) = stream["Properties"]["FilterCriteria"]["Filters"]
    assert json.loads(pattern["Pattern"]) == {
        "eventName": ["INSERT"],
        "dynamodb": {"NewImage": {"sk": {"S": [{"prefix": "EVT#"}, {"prefix": "SEQ#"}]}}},
    }
    (queue,) = t["Resources"]["WebhookAttempts"]["Properties"]["Events"].values()
    assert queue["Type"] == "SQS" and queue["Properties"]["BatchSize"] == 1
    assert queue["Properties"]["Queue"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    data = t["Resources"]["DataTable"]["Properties"]
    assert data["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    redrive = t["Resources"]["WebhookQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["WebhookDeadLetters", "Arn"]}
    assert "arn:aws:sqs:us-east-1:000000000000" not in json.dumps(t)  # no stand-in left


# --- guard rails (infra/guardrails.py and the stage's config) ---------------------------------


@pytest.mark.parametrize("name", STAGES)
def test_both_apis_throttle_at_the_stage_s_rate_and_burst(
    packaged: dict[str, Path], name: str
) -> None:
    t = template(packaged, name)
    config = read_config()["stages"][name]["api_throttling"]
    (rest,) = t["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    assert (rest["ResourcePath"], rest["HttpMethod"]) == ("/*", "*")  # every method of every path
    assert rest["ThrottlingRateLimit"] == config["rest"]["rate_limit"]
    assert rest["ThrottlingBurstLimit"] == config["rest"]["burst_limit"]
    websocket = t["Resources"]["WebsocketAPIStage"]["Properties"]["DefaultRouteSettings"]
    assert websocket["ThrottlingRateLimit"] == config["websocket"]["rate_limit"]
    assert websocket["ThrottlingBurstLimit"] == config["websocket"]["burst_limit"]


def test_the_stages_throttle_differently() -> None:
    dev, prod = (load_stage(name) for name in STAGES)
    assert dev.throttle("rest") != prod.throttle("rest")


@pytest.mark.parametrize("name", STAGES)
def test_every_function_has_a_reserved_concurrency_and_the_account_keeps_a_share(
    packaged: dict[str, Path], name: str
) -> None:
    t = template(packaged, name)
    config = read_config()["stages"][name]["lambda_functions"]
    total = 0
    for logical, function in FUNCTIONS.items():
        reserved = t["Resources"][logical]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved == config[function]["reserved_concurrency"] > 0
        total += reserved
    # Lambda keeps 100 of the default 1,000 unreserved: both stages in one account must fit.
    both = sum(
        f["reserved_concurrency"]
        for stage in read_config()["stages"].values()
        for f in stage["lambda_functions"].values()
    )
    assert total <= both <= 900


@pytest.mark.parametrize("name", STAGES)
def test_every_function_and_api_logs_to_a_group_with_the_stage_s_retention(
    packaged: dict[str, Path], name: str
) -> None:
    t = template(packaged, name)
    stage = load_stage(name)
    groups = resources_of(t, "AWS::Logs::LogGroup")
    names = [g["Properties"]["LogGroupName"] for g in groups.values()]
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {
        stage.log_retention_days
    }
    for logical in FUNCTIONS:  # Lambda's own group of the function, by reference
        assert {"Fn::Sub": f"/aws/lambda/${{{logical}}}"} in names
    rest = t["Resources"]["RestAPI"]["Properties"]["AccessLogSetting"]
    websocket = t["Resources"]["WebsocketAPIStage"]["Properties"]["AccessLogSettings"]
    for setting, group in ((rest, "RestAccessLogs"), (websocket, "WebsocketAccessLogs")):
        assert setting["DestinationArn"] == {"Fn::GetAtt": [group, "Arn"]}
        line = json.loads(setting["Format"])  # JSON lines
        assert {"requestId", "ip", "status"} <= set(line)
        assert group in groups


def test_tracing_is_a_per_stage_switch(packaged: dict[str, Path]) -> None:
    for name in STAGES:
        stage = load_stage(name)
        t = template(packaged, name)
        assert t["Resources"]["RestAPI"]["Properties"]["TracingEnabled"] is stage.tracing
        functions = resources_of(t, "AWS::Serverless::Function").values()
        modes = {r["Properties"]["Tracing"] for r in functions}
        assert modes == {"Active" if stage.tracing else "PassThrough"}
        for function in FUNCTIONS.values():
            policy = json.loads(stage.function_policy_file(function).read_text(encoding="utf-8"))
            sids = [s["Sid"] for s in policy["Statement"]]
            assert ("Tracing" in sids) is stage.tracing  # X-Ray's permission only where it is on
    assert [load_stage(n).tracing for n in STAGES] == [False, True]


@pytest.mark.parametrize("name", STAGES)
def test_the_tables_cannot_be_deleted_while_protected(packaged: dict[str, Path], name: str) -> None:
    for table in resources_of(template(packaged, name), "AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is True
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }


@pytest.mark.parametrize("name", STAGES)
def test_every_taggable_resource_carries_the_app_and_the_stage(
    packaged: dict[str, Path], name: str
) -> None:
    t = template(packaged, name)
    untagged = []
    for logical, resource in t["Resources"].items():
        if resource["Type"] in guardrails.UNTAGGABLE:
            continue
        tags = resource["Properties"].get("Tags", {})
        if isinstance(tags, list):
            tags = {tag["Key"]: tag["Value"] for tag in tags}
        if not {"app": "pulse", "stage": name}.items() <= tags.items():
            untagged.append(logical)
    assert untagged == []


@pytest.mark.parametrize("name", STAGES)
def test_alarms_watch_functions_apis_tables_and_dead_letters_into_the_stage_s_topic(
    packaged: dict[str, Path], name: str
) -> None:
    t = template(packaged, name)
    stage = load_stage(name)
    (topic,) = resources_of(t, "AWS::SNS::Topic").values()
    assert topic["Properties"]["TopicName"] == f"pulse-{name}-alarms"
    assert t["Outputs"]["AlarmTopicArn"] == {"Value": {"Ref": "AlarmTopic"}}
    alarms = resources_of(t, "AWS::CloudWatch::Alarm").values()
    watched = set()
    for alarm in alarms:
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        watched.add((props["Namespace"], props["MetricName"], json.dumps(dimensions)))
    for logical in FUNCTIONS:
        for metric in ("Errors", "Throttles"):
            assert ("AWS/Lambda", metric, json.dumps({"FunctionName": {"Ref": logical}})) in watched
    rest = json.dumps({"ApiName": stage.function_prefix, "Stage": "api"})
    assert t["Resources"]["RestAPI"]["Properties"]["Name"] == stage.function_prefix
    assert {("AWS/ApiGateway", "5XXError", rest), ("AWS/ApiGateway", "4XXError", rest)} <= watched
    websocket = json.dumps({"ApiId": {"Ref": "WebsocketAPI"}, "Stage": "api"})
    for metric in ("ExecutionError", "IntegrationError", "ClientError"):
        assert ("AWS/ApiGateway", metric, websocket) in watched
    for table in ("ControlTable", "DataTable"):
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            assert ("AWS/DynamoDB", metric, json.dumps({"TableName": {"Ref": table}})) in watched
    dlq = json.dumps({"QueueName": {"Fn::GetAtt": ["WebhookDeadLetters", "QueueName"]}})
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq) in watched
