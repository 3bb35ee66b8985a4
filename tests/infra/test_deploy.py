"""`python -m infra deploy | secrets`, against moto's CloudFormation, SSM, Lambda and STS (chalice
deploy itself is replaced by a fake that records what a real one would: it needs real AWS).
Secrets are created once and never printed; failures are one `error:` line, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import runtime
from chalicelib.config import Settings
from chalicelib.errors import Unauthenticated
from infra import deploy, gateway_responses, lean
from infra.__main__ import main
from infra.deploy import Aws, DeployError
from infra.stages import LOCAL_ONLY_VARIABLES, load_stage
from infra.tables import create_tables

ROOT = Path(__file__).resolve().parents[2]
REST_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/api/"
WS_URL = "wss://def456.execute-api.us-east-1.amazonaws.com/api/"
PASSWORD = "a-long-enough-password"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of what deploy reads: the chalice config, the policies and the tables template."""
    shutil.copytree(ROOT / ".chalice", tmp_path / ".chalice", ignore=_only_config)
    (tmp_path / "infra").mkdir()
    shutil.copy(ROOT / "infra" / "tables.template.json", tmp_path / "infra")
    return tmp_path


def _only_config(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if not n.endswith(".json") or n.startswith("deployed")]


@pytest.fixture
def aws_account(aws: None) -> Iterator[Aws]:
    logging_role_for_api_gateway()
    yield deploy.connect()


def logging_role_for_api_gateway() -> None:
    """What an operator sets once per account and region (docs/operations.md, Guard rails)."""
    boto3.client("apigateway", region_name="us-east-1").update_account(
        patchOperations=[
            {
                "op": "replace",
                "path": "/cloudwatchRoleArn",
                "value": "arn:aws:iam::123456789012:role/apigateway-logs",
            }
        ]
    )


class FakeChalice:
    """Records the command and writes .chalice/deployed/<stage>.json as chalice deploy does,
    with a REST API (in moto) of one method, as chalice deploy imports it."""

    def __init__(self, root: Path, returncode: int = 0) -> None:
        self.root = root
        self.returncode = returncode
        self.calls: list[tuple[list[str], dict[str, Any]]] = []
        self.rest_api_id = ""
        self.websocket_api_id = ""

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((command, kwargs))
        if self.returncode == 0:
            stage = command[command.index("--stage") + 1]
            deployed = self.root / ".chalice" / "deployed"
            deployed.mkdir(parents=True, exist_ok=True)
            if not self.rest_api_id:
                self.rest_api_id = rest_api_with_a_method()
                self.websocket_api_id = websocket_api_with_a_stage()
            function = f"arn:aws:lambda:us-east-1:123456789012:function:pulse-{stage}"
            resources = [
                {"name": "api_handler", "resource_type": "lambda_function", "lambda_arn": function},
                {
                    "name": "rest_api",
                    "resource_type": "rest_api",
                    "rest_api_id": self.rest_api_id,
                    "rest_api_url": REST_URL,
                },
                {
                    "name": "websocket_api",
                    "resource_type": "websocket_api",
                    "websocket_api_id": self.websocket_api_id,
                    "websocket_api_url": WS_URL,
                },
            ]
            (deployed / f"{stage}.json").write_text(
                json.dumps({"resources": resources, "schema_version": "2.0"})
            )
        return subprocess.CompletedProcess(command, self.returncode)


def rest_api_with_a_method() -> str:
    apigateway = boto3.client("apigateway", region_name="us-east-1")
    api_id: str = apigateway.create_rest_api(name="pulse")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(
        restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE"
    )
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    return api_id


def websocket_api_with_a_stage() -> str:
    apigatewayv2 = boto3.client("apigatewayv2", region_name="us-east-1")
    api_id: str = apigatewayv2.create_api(
        Name="pulse-websocket-api",
        ProtocolType="WEBSOCKET",
        RouteSelectionExpression="$request.body.action",
    )["ApiId"]
    apigatewayv2.create_stage(ApiId=api_id, StageName="api")
    return api_id


def parameter(name: str) -> dict[str, Any]:
    ssm = boto3.client("ssm", region_name="us-east-1")
    result: dict[str, Any] = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    return result


def run_deploy(project: Path, fake: FakeChalice, lines: list[str]) -> int:
    return deploy.deploy("prod", root=project, run=fake, out=lines.append)


# --- deploy ---------------------------------------------------------------------------------


def test_deploy_creates_tables_and_secrets_then_runs_chalice_and_prints_the_urls(
    aws_account: Aws, project: Path
) -> None:
    fake, lines = FakeChalice(project), []

    assert run_deploy(project, fake, lines) == 0

    tables = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
    assert sorted(tables) == ["pulse-prod-control", "pulse-prod-data"]
    stack = boto3.client("cloudformation", region_name="us-east-1").describe_stacks(
        StackName="pulse-prod-tables"
    )["Stacks"][0]
    assert stack["Parameters"] == [{"ParameterKey": "TablePrefix", "ParameterValue": "pulse-prod-"}]
    for name in ("/pulse/prod/key-pepper", "/pulse/prod/signing-secret"):
        assert parameter(name)["Type"] == "SecureString"
        assert len(parameter(name)["Value"]) >= 32
    # the code package built first (to add its byte code), then chalice deploy
    (prebuild, _), (command, kwargs) = fake.calls
    assert prebuild[1:4] == ["package", "--stage", "prod"]
    assert command[1:] == ["deploy", "--stage", "prod"]
    assert kwargs["cwd"] == project and kwargs["env"]["AWS_DEFAULT_REGION"] == "us-east-1"
    text = "\n".join(lines)
    assert f"REST API:      {REST_URL}" in text
    assert f"WebSocket API: {WS_URL}" in text
    assert "python -m infra create-admin --stage prod --email" in text
    for name in ("/pulse/prod/key-pepper", "/pulse/prod/signing-secret"):
        assert parameter(name)["Value"] not in text


def test_deploy_shapes_api_gateway_s_own_answers_and_deploys_them(
    aws_account: Aws, project: Path
) -> None:
    """After chalice deploy (whose import leaves them out): every gateway response put, then the
    stage deployed again so they take effect."""
    fake, lines = FakeChalice(project), []

    assert run_deploy(project, fake, lines) == 0

    apigateway = boto3.client("apigateway", region_name="us-east-1")
    put = {
        r["responseType"]: r
        for r in apigateway.get_gateway_responses(restApiId=fake.rest_api_id)["items"]
    }
    assert set(put) == set(gateway_responses.RESPONSES)
    for kind, response in gateway_responses.RESPONSES.items():
        assert put[kind]["responseTemplates"] == {"application/json": response.template()}
        assert put[kind]["responseParameters"] == response.parameters()
        assert put[kind].get("statusCode") == (str(response.status) if response.status else None)
    assert put["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    assert put["THROTTLED"]["statusCode"] == "429"
    (deployment,) = apigateway.get_deployments(restApiId=fake.rest_api_id)["items"]
    (stage,) = apigateway.get_stages(restApiId=fake.rest_api_id)["item"]
    assert stage["stageName"] == load_stage("prod").api_gateway_stage
    assert stage["deploymentId"] == deployment["id"]
    assert "API Gateway's own answers in the error shape" in "\n".join(lines)


def test_deploying_again_changes_no_table_and_no_secret(aws_account: Aws, project: Path) -> None:
    lines: list[str] = []
    run_deploy(project, FakeChalice(project), lines)
    before = parameter("/pulse/prod/signing-secret")["Value"]
    lines.clear()

    assert run_deploy(project, FakeChalice(project), lines) == 0

    assert "stack pulse-prod-tables unchanged" in "\n".join(lines)
    assert "0 created, 2 already there" in "\n".join(lines)
    assert parameter("/pulse/prod/signing-secret")["Value"] == before


def test_deploy_without_api_gateway_s_logging_role_refuses_before_anything(
    aws: None, project: Path
) -> None:
    fake = FakeChalice(project)
    with pytest.raises(DeployError, match="no CloudWatch Logs role") as refused:
        run_deploy(project, fake, [])
    assert "update-account" in str(refused.value)
    assert fake.calls == []
    assert (
        boto3.client("cloudformation", region_name="us-east-1").list_stacks()["StackSummaries"]
        == []
    )


def test_a_failed_chalice_deploy_is_an_error(aws_account: Aws, project: Path) -> None:
    with pytest.raises(DeployError, match="chalice deploy --stage prod failed"):
        run_deploy(project, FakeChalice(project, returncode=2), [])


def test_a_policy_out_of_date_refuses_to_deploy(aws_account: Aws, project: Path) -> None:
    policy = project / ".chalice" / "policy-prod.json"
    policy.write_text(policy.read_text().replace("pulse-prod-data", "pulse-prod-*"))
    fake = FakeChalice(project)

    with pytest.raises(DeployError, match="make policy"):
        run_deploy(project, fake, [])
    assert fake.calls == []


def test_an_unknown_stage_is_named(
    aws: None, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--stage", "staging"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no stage 'staging'") and "dev, prod" in err
    assert "Traceback" not in err


def test_a_stack_that_cannot_be_updated_says_what_to_do(
    aws_account: Aws, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deploy, "_stack_status", lambda cfn, name: "ROLLBACK_COMPLETE")
    with pytest.raises(DeployError, match="delete-stack --stack-name pulse-prod-tables"):
        deploy.deploy_tables(aws_account.client("cloudformation"), load_stage("prod"), project)


# --- credentials and region ----------------------------------------------------------------


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)


def test_missing_credentials_are_one_line(
    no_aws_config: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--stage", "prod"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS credentials found")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_missing_region_is_one_line(
    no_aws_config: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert main(["secrets", "--stage", "prod"]) == 1
    assert capsys.readouterr().err.startswith("error: no AWS region configured")


# --- secrets -------------------------------------------------------------------------------


def test_secrets_are_created_once_and_never_printed(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["secrets", "--stage", "prod"]) == 0
    first = capsys.readouterr().out
    pepper = parameter("/pulse/prod/key-pepper")["Value"]
    signing = parameter("/pulse/prod/signing-secret")["Value"]
    assert "Created SecureString /pulse/prod/key-pepper" in first
    assert pepper != signing

    assert main(["secrets", "--stage", "prod"]) == 0
    second = capsys.readouterr().out

    assert "/pulse/prod/key-pepper exists" in second
    assert parameter("/pulse/prod/key-pepper")["Value"] == pepper
    assert parameter("/pulse/prod/signing-secret")["Value"] == signing
    for text in (first, second):
        assert pepper not in text and signing not in text


def test_an_existing_plain_string_parameter_is_refused(aws: None) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/pulse/prod/key-pepper", Value="x" * 64, Type="String")
    with pytest.raises(DeployError, match="not as SecureString"):
        deploy.ensure_secrets(ssm, load_stage("prod"))


@pytest.fixture
def functions(aws: None) -> list[str]:
    """Deployed functions of both stages (as chalice deploy names them) and an unrelated one."""
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("lambda", region_name="us-east-1")
    names = ["pulse-prod", "pulse-prod-websocket_connect", "pulse-dev", "pulse-production-x"]
    for name in names:
        client.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role,
            Handler="app.app",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            Environment={"Variables": {"PULSE_STAGE": name}},
        )
    return names


def function_env(name: str) -> dict[str, str]:
    config = boto3.client("lambda", region_name="us-east-1").get_function_configuration(
        FunctionName=name
    )
    variables: dict[str, str] = config.get("Environment", {}).get("Variables", {})
    return variables


def test_rotating_the_signing_secret_keeps_the_old_one_as_previous_and_restarts_the_stage(
    functions: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    main(["secrets", "--stage", "prod"])
    old = parameter("/pulse/prod/signing-secret")["Value"]
    pepper = parameter("/pulse/prod/key-pepper")["Value"]
    capsys.readouterr()

    assert main(["secrets", "--stage", "prod", "--rotate", "signing-secret"]) == 0

    out = capsys.readouterr().out
    assert parameter("/pulse/prod/signing-secret-previous")["Value"] == old
    assert parameter("/pulse/prod/signing-secret")["Value"] != old
    assert parameter("/pulse/prod/key-pepper")["Value"] == pepper
    assert old not in out and "--drop-previous" in out
    restarted = [n for n in functions if deploy.RESTART_VARIABLE in function_env(n)]
    assert restarted == ["pulse-prod", "pulse-prod-websocket_connect"]
    assert function_env("pulse-prod")["PULSE_STAGE"] == "pulse-prod"  # other variables kept


def test_the_settings_read_the_rotated_secrets(functions: list[str]) -> None:
    main(["secrets", "--stage", "prod"])
    main(["secrets", "--stage", "prod", "--rotate", "signing-secret"])
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PULSE_SECRETS_SSM_PREFIX": "/pulse/prod/"}

    settings = Settings.from_env(env)

    assert settings.signing_secret == parameter("/pulse/prod/signing-secret")["Value"].encode()
    assert settings.previous_signing_secret == (
        parameter("/pulse/prod/signing-secret-previous")["Value"].encode()
    )
    main(["secrets", "--stage", "prod", "--drop-previous"])
    assert Settings.from_env(env).previous_signing_secret is None


def test_rotating_the_pepper_needs_yes(
    functions: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    main(["secrets", "--stage", "prod"])
    pepper = parameter("/pulse/prod/key-pepper")["Value"]
    capsys.readouterr()

    assert main(["secrets", "--stage", "prod", "--rotate", "key-pepper"]) == 1
    assert "every API key" in capsys.readouterr().err
    assert parameter("/pulse/prod/key-pepper")["Value"] == pepper

    assert main(["secrets", "--stage", "prod", "--rotate", "key-pepper", "--yes"]) == 0
    assert parameter("/pulse/prod/key-pepper")["Value"] != pepper


def test_rotating_a_secret_that_was_never_created_names_the_fix(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["secrets", "--stage", "prod", "--rotate", "signing-secret"]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "python -m infra secrets" in err


# --- the first admin, against the deployed stage -------------------------------------------


def test_create_admin_with_stage_uses_its_tables_and_ssm_secrets(
    aws_account: Aws, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_deploy(project, FakeChalice(project), [])
    stage = load_stage("prod")
    for name in LOCAL_ONLY_VARIABLES:  # so that undo restores what --stage changes
        monkeypatch.delenv(name, raising=False)
    for name, value in stage.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PULSE_KEY_PEPPER", "a-local-pepper-that-stage-mode-drops-000000")
    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", PASSWORD)

    try:
        assert main(["create-admin", "--stage", "prod", "--email", "owner@example.com"]) == 0
        assert "PULSE_KEY_PEPPER" not in os.environ
        runtime.install(None)
        graph = runtime.services()
        assert graph.settings.control_table == "pulse-prod-control"
        assert graph.operators.login("owner@example.com", PASSWORD).operator.role == "owner"
        with pytest.raises(Unauthenticated):
            graph.operators.login("owner@example.com", PASSWORD + "x")
    finally:
        runtime.install(None)


def test_the_code_package_chalice_deploy_reuses_gets_its_byte_code(tmp_path: Path) -> None:
    """chalice deploy reuses the package in .chalice/deployments/ that `chalice package` built
    for the same app and requirements: that one (and no other) gets its .pyc files, once."""
    cache = tmp_path / ".chalice" / "deployments"
    cache.mkdir(parents=True)
    current, older = cache / "current-python3.11.zip", cache / "older-python3.11.zip"
    for path, body in ((current, "X = 1\n"), (older, "X = 0\n")):
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("app.py", "import chalicelib.clock\n")
            z.writestr("chalicelib/clock.py", body)
    older_bytes = older.read_bytes()

    def fake_package(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert command[1:4] == ["package", "--stage", "prod"]
        shutil.copy(current, Path(command[-1]) / "deployment.zip")
        return subprocess.CompletedProcess(command, 0)

    stage = load_stage("prod")
    first = deploy.prebuild_package(stage, "us-east-1", tmp_path, fake_package)
    assert first is not None and first.compiled == 2
    tag = sys.implementation.cache_tag
    assert sorted(zipfile.ZipFile(current).namelist()) == [
        f"__pycache__/app.{tag}.pyc",
        "app.py",
        f"chalicelib/__pycache__/clock.{tag}.pyc",
        "chalicelib/clock.py",
    ]
    assert older.read_bytes() == older_bytes
    again = deploy.prebuild_package(stage, "us-east-1", tmp_path, fake_package)
    assert again is not None and (again.compiled, again.dropped) == (0, 0)


def test_a_failed_prebuild_leaves_the_deploy_to_chalice(tmp_path: Path) -> None:
    def failing(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1)

    assert deploy.prebuild_package(load_stage("prod"), "us-east-1", tmp_path, failing) is None


def test_make_deploy_on_a_machine_that_writes_byte_code_deploys_only_byte_code_python_uses(
    aws_account: Aws,
    ordinary_checkout: Path,
    package_problems: Callable[[Path], list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make deploy` from a checkout whose `__pycache__` holds a developer's byte code, with
    byte-code writing on: the real `chalice package` builds the code package, and the real
    `chalice deploy` reuses it, then stops at its first AWS call (an endpoint nothing listens
    on). The package it would upload holds only byte code Python loads."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{s.getsockname()[1]}"
    deploys: list[subprocess.CompletedProcess[str]] = []

    def chalice_without_aws(command: list[str], **kwargs: Any) -> Any:
        if command[1] != "deploy":
            return subprocess.run(command, **kwargs)
        env = {**kwargs.pop("env"), "AWS_ENDPOINT_URL": nowhere, "AWS_MAX_ATTEMPTS": "1"}
        deploys.append(subprocess.run(command, env=env, capture_output=True, text=True, **kwargs))
        return deploys[-1]

    lines: list[str] = []
    with pytest.raises(DeployError, match="chalice deploy --stage prod failed"):
        deploy.deploy("prod", root=ordinary_checkout, run=chalice_without_aws, out=lines.append)

    assert "code package with byte code" in "\n".join(lines)
    (chalice,) = deploys
    assert "Reusing existing deployment package." in chalice.stdout, chalice.stdout
    assert "Could not connect to the endpoint URL" in chalice.stderr  # went no further
    (package,) = (ordinary_checkout / ".chalice" / "deployments").glob("*.zip")
    assert package_problems(package) == []
    # and trimmed to what the functions load (infra/lean.py; tests/infra/test_lean_package.py)
    assert package.stat().st_size < lean.LIMIT_BYTES
    assert not [n for n in zipfile.ZipFile(package).namelist() if n.startswith("boto3/")]


# --- no second copy of a stage ---------------------------------------------------------------


def test_deploy_refuses_a_second_copy_when_chalice_s_record_is_missing(
    aws_account: Aws, project: Path, functions: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The stage's functions exist, .chalice/deployed/prod.json does not: chalice would create
    every function and both APIs again. Nothing is created, the message says how to recover."""
    fake = FakeChalice(project)

    with pytest.raises(DeployError) as refused:
        run_deploy(project, fake, [])

    message = str(refused.value)
    assert "pulse-prod, pulse-prod-websocket_connect" in message
    assert ".chalice/deployed/prod.json" in message and "second copy" in message
    assert "Restore the file" in message and "Teardown" in message
    assert "pulse-dev" not in message and "pulse-production-x" not in message
    assert fake.calls == []  # no chalice package or deploy
    stacks = boto3.client("cloudformation", region_name="us-east-1").list_stacks()
    assert stacks["StackSummaries"] == []  # no tables stack either
    parameters = boto3.client("ssm", region_name="us-east-1").describe_parameters()
    assert parameters["Parameters"] == []


def test_deploy_goes_on_when_the_record_is_there(
    aws_account: Aws, project: Path, functions: list[str]
) -> None:
    fake = FakeChalice(project)
    (project / ".chalice" / "deployed").mkdir()
    FakeChalice(project)(["chalice", "deploy", "--stage", "prod"])  # the record of a deploy

    assert run_deploy(project, fake, []) == 0
    assert fake.calls[-1][0][1:] == ["deploy", "--stage", "prod"]


def test_deploy_of_another_stage_is_not_refused(
    aws_account: Aws, project: Path, functions: list[str]
) -> None:
    """pulse-production-x is not stage prod's, nor pulse-prod's of stage dev."""
    only_others = boto3.client("lambda", region_name="us-east-1")
    for name in ("pulse-prod", "pulse-prod-websocket_connect"):
        only_others.delete_function(FunctionName=name)
    assert run_deploy(project, FakeChalice(project), []) == 0


def test_the_refusal_is_one_error_line(
    aws_account: Aws,
    project: Path,
    functions: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(deploy, "ROOT", project)
    assert deploy.run_command(lambda: run_deploy(project, FakeChalice(project), [])) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: stage prod is deployed") and len(err.strip().splitlines()) == 1


# --- create-admin --stage: deploy's region ----------------------------------------------------


def test_create_admin_with_stage_uses_the_profile_s_region_as_deploy_does(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No region in the environment, one in the AWS profile: deploy goes there, and so does
    create-admin (it used to take us-east-1, and found no tables)."""
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):  # set, then removed: restored after
        monkeypatch.setenv(name, "us-east-1")
        monkeypatch.delenv(name)
    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", PASSWORD)
    for name in LOCAL_ONLY_VARIABLES:  # so that undo restores what --stage changes
        monkeypatch.setenv(name, "unused")
        monkeypatch.delenv(name)
    for name, value in load_stage("prod").env.items():
        monkeypatch.setenv(name, value)
    ssm = boto3.client("ssm", region_name="eu-west-1")  # the stage's secrets are there
    for name in ("key-pepper", "signing-secret"):
        ssm.put_parameter(Name=f"/pulse/prod/{name}", Value="s" * 64, Type="SecureString")
    create_tables(boto3.client("dynamodb", region_name="eu-west-1"), "pulse-prod-")

    try:
        assert deploy.configured_region() == "eu-west-1"
        code = main(["create-admin", "--stage", "prod", "--email", "owner@example.com"])
        assert code == 0, capsys.readouterr().err
        assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
        in_eu = boto3.client("dynamodb", region_name="eu-west-1").scan(
            TableName="pulse-prod-control"
        )
        assert in_eu["Count"] >= 1  # the operator is there
    finally:
        runtime.install(None)


def test_create_admin_with_stage_and_no_region_is_one_line(
    no_aws_config: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    before = dict(os.environ)
    assert main(["create-admin", "--stage", "prod", "--email", "a@example.com"]) == 1
    assert capsys.readouterr().err.startswith("error: no AWS region configured")
    assert dict(os.environ) == before  # refused before the stage's settings were applied
