"""Putting a stage on AWS: `python -m infra deploy | package | secrets --stage <stage>`.

deploy:  the tables stack (CloudFormation, from infra/tables.template.json), the secrets (SSM
         SecureString parameters, created when missing, never overwritten), `chalice deploy`,
         then the REST and WebSocket URLs and the create-admin command.
package: `chalice package --merge-template`: one CloudFormation template of the functions, both
         APIs and the tables, to deploy with CloudFormation (after `secrets`).
secrets: create the secrets when missing; rotate them; restart the functions so they read them.

Every failure an operator can fix is a DeployError: one line, no traceback."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.config import (
    PEPPER_PARAMETER,
    PREVIOUS_SIGNING_PARAMETER,
    QUEUE_ARN_VARIABLE,
    SIGNING_PARAMETER,
    STREAM_ARN_VARIABLE,
)

from . import gateway_responses, guardrails, lean, stage_guardrails
from .policy import policy_files
from .stages import ROOT, Stage, StageError, load_stage

TEMPLATE_PATH = Path("infra") / "tables.template.json"
DEPLOYED_DIR = Path(".chalice") / "deployed"
GENERATED_SECRETS = (PEPPER_PARAMETER, SIGNING_PARAMETER)
RESTART_VARIABLE = "PULSE_SECRETS_CHANGED_AT"

Runner = Callable[..., "subprocess.CompletedProcess[Any]"]
Print = Callable[[str], None]


NO_REGION = (
    "no AWS region configured: set AWS_DEFAULT_REGION (or AWS_REGION), "
    "or a region in your AWS profile"
)


class DeployError(Exception):
    """Something the operator can fix: credentials, region, a failed stack, chalice's failure."""


@dataclass(frozen=True)
class Aws:
    """A checked AWS session: credentials that work, a region, the account they belong to."""

    session: Any
    region: str
    account: str

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region)


def configured_region() -> str:
    """The region `deploy` uses (boto3's: the environment, else the profile's), for the other
    commands that reach a deployed stage (`create-admin --stage`)."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        region = boto3.Session().region_name
    except ProfileNotFound as exc:
        raise DeployError(f"AWS profile not found: {exc}") from None
    if not region:
        raise DeployError(NO_REGION)
    return str(region)


def connect(region: str | None = None) -> Aws:
    """The caller's AWS session, checked with one sts:GetCallerIdentity."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

    try:
        session = boto3.Session(region_name=region)
    except ProfileNotFound as exc:
        raise DeployError(f"AWS profile not found: {exc}") from None
    if not session.region_name:
        raise DeployError(NO_REGION)
    if session.get_credentials() is None:
        raise DeployError(
            "no AWS credentials found: run `aws configure` or `aws sso login`, set AWS_PROFILE, "
            "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    try:
        identity = session.client("sts", region_name=session.region_name).get_caller_identity()
    except ClientError as exc:
        raise DeployError(f"AWS refused the credentials: {_reason(exc)}") from None
    except BotoCoreError as exc:
        raise DeployError(f"cannot reach AWS in {session.region_name}: {exc}") from None
    return Aws(session=session, region=session.region_name, account=identity["Account"])


# --- secrets -------------------------------------------------------------------------------


def new_secret() -> str:
    return secrets.token_urlsafe(48)  # 384 bits, 64 characters


def ensure_secrets(ssm: Any, stage: Stage) -> tuple[list[str], list[str]]:
    """Create the pepper and signing secret when missing; never overwrite one. Returns the names
    (created, already there). Values are never printed or returned."""
    from botocore.exceptions import ClientError

    names = [stage.ssm_prefix + suffix for suffix in GENERATED_SECRETS]
    found = {p["Name"]: p for p in ssm.get_parameters(Names=names)["Parameters"]}
    wrong = [n for n, p in found.items() if p["Type"] != "SecureString"]
    if wrong:
        raise DeployError(
            f"{', '.join(wrong)} exist(s) but not as SecureString: delete and run this again"
        )
    created, existing = [], []
    for name in names:
        if name in found:
            existing.append(name)
            continue
        try:
            ssm.put_parameter(
                Name=name,
                Description=f"Pulse {stage.name}: {name.rsplit('/', 1)[-1]} (never print it)",
                Value=new_secret(),
                Type="SecureString",  # the AWS managed key aws/ssm
                Overwrite=False,
                Tags=[
                    {"Key": "app", "Value": stage.app_name},
                    {"Key": "stage", "Value": stage.name},
                ],
            )
            created.append(name)
        except ClientError as exc:
            if _code(exc) != "ParameterAlreadyExists":  # lost a race: someone created it
                raise
            existing.append(name)
    return created, existing


def rotate_signing_secret(aws: Aws, stage: Stage) -> list[str]:
    """The current signing secret becomes the previous one (tokens it signed keep verifying);
    a new one signs from now on. Returns the functions restarted."""
    ssm = aws.client("ssm")
    current = _get_secret(ssm, stage.ssm_prefix + SIGNING_PARAMETER)
    _put_secret(ssm, stage.ssm_prefix + PREVIOUS_SIGNING_PARAMETER, current)
    _put_secret(ssm, stage.ssm_prefix + SIGNING_PARAMETER, new_secret())
    return restart_functions(aws.client("lambda"), stage)


def drop_previous_signing_secret(aws: Aws, stage: Stage) -> list[str]:
    """End the rotation: tokens signed with the old secret stop verifying."""
    from botocore.exceptions import ClientError

    try:
        aws.client("ssm").delete_parameter(Name=stage.ssm_prefix + PREVIOUS_SIGNING_PARAMETER)
    except ClientError as exc:
        if _code(exc) != "ParameterNotFound":
            raise
    return restart_functions(aws.client("lambda"), stage)


def rotate_pepper(aws: Aws, stage: Stage) -> list[str]:
    """A new key-hash pepper: every API key and operator session of the stage stops working."""
    ssm = aws.client("ssm")
    _get_secret(ssm, stage.ssm_prefix + PEPPER_PARAMETER)  # exists: this is a rotation
    _put_secret(ssm, stage.ssm_prefix + PEPPER_PARAMETER, new_secret())
    return restart_functions(aws.client("lambda"), stage)


def restart_functions(lambda_client: Any, stage: Stage) -> list[str]:
    """Secrets are read once per container: make every function of the stage start new ones by
    changing one environment variable (RESTART_VARIABLE). The next deploy resets it."""
    names = stage_functions(lambda_client, stage)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in sorted(names):
        config = lambda_client.get_function_configuration(FunctionName=name)
        variables = dict(config.get("Environment", {}).get("Variables", {}))
        variables[RESTART_VARIABLE] = stamp
        lambda_client.update_function_configuration(
            FunctionName=name, Environment={"Variables": variables}
        )
    return sorted(names)


def stage_functions(lambda_client: Any, stage: Stage) -> list[str]:
    """The deployed functions of the stage: `pulse-<stage>` and `pulse-<stage>-*`."""
    names = []
    for page in lambda_client.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            name = function["FunctionName"]
            if name == stage.function_prefix or name.startswith(stage.function_prefix + "-"):
                names.append(name)
    return sorted(names)


def refuse_a_second_copy(lambda_client: Any, stage: Stage, root: Path = ROOT) -> None:
    """chalice deploy updates what .chalice/deployed/<stage>.json records; without that record
    it creates every function and both APIs again, beside the first ones (new URLs, two sets of
    everything). Refuse when the stage's functions exist and the record does not."""
    record = root / DEPLOYED_DIR / f"{stage.name}.json"
    if record.is_file():
        return
    existing = stage_functions(lambda_client, stage)
    if existing:
        shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
        raise DeployError(
            f"stage {stage.name} is deployed ({shown}) but {record.relative_to(root)}, "
            "chalice's record of it, is missing: deploying now would create a second copy of "
            "its functions and APIs. Restore the file from where you keep it (your deployment "
            "fork or CI), or tear the stage down first (docs/operations.md, Teardown)"
        )


def check_logging_role(apigateway: Any, region: str) -> None:
    """API Gateway writes the stages' access logs with a role set once per account and region;
    without it the guard rails step would fail after chalice deployed. Refuse before anything."""
    if apigateway.get_account().get("cloudwatchRoleArn"):
        return
    raise DeployError(
        f"API Gateway in {region} has no CloudWatch Logs role, which the stages' access logs "
        "need: set one once per account and region (`aws apigateway update-account "
        "--patch-operations op=replace,path=/cloudwatchRoleArn,value=<ARN of a role with the "
        "managed policy AmazonAPIGatewayPushToCloudWatchLogs>`; docs/operations.md, Guard "
        "rails) and deploy again"
    )


def _get_secret(ssm: Any, name: str) -> str:
    from botocore.exceptions import ClientError

    try:
        value: str = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ClientError as exc:
        if _code(exc) == "ParameterNotFound":
            raise DeployError(
                f"{name} does not exist: create it with `python -m infra secrets`"
            ) from None
        raise
    return value


def _put_secret(ssm: Any, name: str, value: str) -> None:
    ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


# --- tables stack --------------------------------------------------------------------------


def deploy_tables(cfn: Any, stage: Stage, root: Path = ROOT, out: Print = print) -> str:
    """Create or update the stage's tables stack; 'created', 'updated' or 'unchanged'."""
    from botocore.exceptions import ClientError, WaiterError

    name = stage.tables_stack
    body = (root / TEMPLATE_PATH).read_text(encoding="utf-8")
    request: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": body,
        "Parameters": [{"ParameterKey": "TablePrefix", "ParameterValue": stage.table_prefix}],
        "Tags": _tags(stage),
    }
    status = _stack_status(cfn, name)
    if status is not None and status.endswith("_IN_PROGRESS"):
        raise DeployError(f"stack {name} is busy ({status}): wait for it, then run this again")
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
        raise DeployError(
            f"stack {name} is {status} and cannot be updated: delete it "
            f"(`aws cloudformation delete-stack --stack-name {name}`; the tables are kept) "
            "and run this again"
        )
    try:
        if status is None:
            out(f"Creating stack {name} (tables {stage.table_prefix}*)...")
            cfn.create_stack(**request)
            cfn.get_waiter("stack_create_complete").wait(StackName=name)
            return "created"
        out(f"Updating stack {name}...")
        try:
            cfn.update_stack(**request)
        except ClientError as exc:
            if "No updates are to be performed" in str(exc):
                return "unchanged"
            raise
        cfn.get_waiter("stack_update_complete").wait(StackName=name)
        return "updated"
    except WaiterError:
        raise DeployError(f"stack {name} failed: {_stack_failure(cfn, name)}") from None


def event_source_env(cfn: Any, stage: Stage) -> dict[str, str]:
    """The webhook pipeline's sources (the data table's stream, the delivery queue) from the
    tables stack's outputs, for app.py to declare its handlers with (chalicelib/config.py)."""
    stacks = cfn.describe_stacks(StackName=stage.tables_stack)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    try:
        return {
            STREAM_ARN_VARIABLE: outputs["DataTableStreamArn"],
            QUEUE_ARN_VARIABLE: outputs["WebhookQueueArn"],
        }
    except KeyError as exc:
        raise DeployError(f"stack {stage.tables_stack} has no output {exc}") from None


# `chalice package` writes what app.py is given; these stand-ins become references to the
# merged template's own resources (add_event_sources).
STREAM_STAND_IN = "arn:aws:dynamodb:us-east-1:000000000000:table/pulse-stand-in/stream/events"
QUEUE_STAND_IN = "arn:aws:sqs:us-east-1:000000000000:pulse-stand-in-webhooks"
# Only new event items reach the events function (the handler checks again).
EVENT_FILTER = {
    "Filters": [
        {
            "Pattern": json.dumps(
                {
                    "eventName": ["INSERT"],
                    "dynamodb": {
                        "NewImage": {
                            "sk": {"S": [{"prefix": "EVT#"}, {"prefix": "SEQ#"}]},
                        }
                    },
                },
                separators=(",", ":"),
            )
        }
    ]
}


def add_event_sources(template: dict[str, Any]) -> None:
    """Point the packaged event sources at the merged stream and queue, and filter the stream's."""
    for resource in template["Resources"].values():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            props = event.get("Properties", {})
            if props.get("Stream") == STREAM_STAND_IN:
                props["Stream"] = {"Fn::GetAtt": ["DataTable", "StreamArn"]}
                props["FilterCriteria"] = EVENT_FILTER
            if props.get("Queue") == QUEUE_STAND_IN:
                props["Queue"] = {"Fn::GetAtt": ["WebhookQueue", "Arn"]}


def _stack_status(cfn: Any, name: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    status: str = stacks[0]["StackStatus"]
    return status


def _stack_failure(cfn: Any, name: str) -> str:
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    reasons = [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', e['ResourceStatus'])}"
        for e in events
        if e["ResourceStatus"].endswith("_FAILED")
    ]
    return "; ".join(reasons[:3]) or "see its events in the CloudFormation console"


# --- chalice -------------------------------------------------------------------------------


def chalice_command() -> str:
    """The chalice of this venv (next to the running Python), else the one on PATH."""
    beside = Path(sys.executable).with_name("chalice")
    if beside.exists():
        return str(beside)
    found = shutil.which("chalice")
    if found is None:
        raise DeployError("chalice is not installed: run `make deploy` (it sets up .venv)")
    return found


def chalice_env(region: str | None, sources: dict[str, str] | None = None) -> dict[str, str]:
    """The environment chalice runs in: a region (`chalice package` needs one configured though
    its template names none), and no byte code written. chalice imports the app, and so
    `chalicelib`, before it hashes `chalicelib/` (its `__pycache__` included) to name the package
    in .chalice/deployments/: a `.pyc` written by `chalice package` and not by `chalice deploy`,
    or the other way round, would give `chalice deploy` another name, and a package without the
    byte code added to the first. What `__pycache__` already holds never reaches Lambda
    (infra/bytecode.py drops it)."""
    return {
        **os.environ,
        "AWS_DEFAULT_REGION": region or "us-east-1",
        "PYTHONDONTWRITEBYTECODE": "1",
        **(sources or {}),
    }


def prebuild_package(
    stage: Stage,
    region: str,
    root: Path = ROOT,
    run: Runner = subprocess.run,
    sources: dict[str, str] | None = None,
) -> lean.Finished | None:
    """Build the code package `chalice deploy` is about to build, and finish it (infra/lean.py:
    trimmed to what the functions load, with its byte code). chalice keeps each package it
    builds in .chalice/deployments/, named by a hash of requirements.txt and the app's files,
    and `chalice deploy` reuses the one that matches: `chalice package` builds that same file,
    which is then finished. Best-effort: if this fails, `chalice deploy` builds its package
    itself, untrimmed and without byte code. Returns what finishing did (nothing if the cached
    package was finished), None if it failed."""
    env = chalice_env(region, sources)
    cache = root / ".chalice" / "deployments"
    with tempfile.TemporaryDirectory(prefix="pulse-prebuild-") as tmp:
        command = [chalice_command(), "package", "--stage", stage.name, tmp]
        result = run(command, cwd=root, env=env, capture_output=True, text=True)
        built = Path(tmp) / "deployment.zip"
        if result.returncode != 0 or not built.is_file():
            return None
        digest = _sha256(built)
        matches = [z for z in cache.glob("*.zip") if _sha256(z) == digest]
    finished = [lean.finish(z) for z in matches]
    return lean.Finished(
        dropped=sum(f.dropped for f in finished),
        compiled=sum(f.compiled for f in finished),
        size=max((f.size for f in finished), default=0),
    )


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def chalice_deploy(
    stage: Stage,
    region: str,
    root: Path = ROOT,
    run: Runner = subprocess.run,
    sources: dict[str, str] | None = None,
) -> tuple[str, str]:
    """`chalice deploy --stage <stage>` (its output goes to the terminal); the REST and
    WebSocket URLs it recorded in .chalice/deployed/<stage>.json."""
    env = chalice_env(region, sources)
    result = run([chalice_command(), "deploy", "--stage", stage.name], cwd=root, env=env)
    if result.returncode != 0:
        raise DeployError(f"chalice deploy --stage {stage.name} failed (its output is above)")
    return deployed_urls(stage, root)


def deployed_urls(stage: Stage, root: Path = ROOT) -> tuple[str, str]:
    rest, websocket = _deployed(
        stage, root, ("rest_api", "rest_api_url"), ("websocket_api", "websocket_api_url")
    )
    return rest, websocket


def deployed_rest_api_id(stage: Stage, root: Path = ROOT) -> str:
    (rest_api_id,) = _deployed(stage, root, ("rest_api", "rest_api_id"))
    return rest_api_id


def deployed_record(stage: Stage, root: Path = ROOT) -> stage_guardrails.Deployed:
    path = root / DEPLOYED_DIR / f"{stage.name}.json"
    try:
        return stage_guardrails.Deployed.from_record(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeployError(f"cannot read the deployed stage from {path}: {exc!r}") from None


def _deployed(stage: Stage, root: Path, *fields: tuple[str, str]) -> list[str]:
    """Values chalice deploy recorded in .chalice/deployed/<stage>.json: (resource, field)."""
    path = root / DEPLOYED_DIR / f"{stage.name}.json"
    try:
        resources = json.loads(path.read_text(encoding="utf-8"))["resources"]
        by_name = {r["name"]: r for r in resources}
        return [str(by_name[resource][name]) for resource, name in fields]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeployError(f"cannot read the deployed API from {path}: {exc!r}") from None


def check_policy_file(stage: Stage) -> None:
    """Refuse to deploy a policy (the stage's, or a function's own) that no longer matches the
    models and the stage's settings."""
    for name, expected in policy_files(stage).items():
        path = stage.policy_file.with_name(name)
        try:
            committed = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DeployError(f"cannot read {path}: {exc}; run `make policy`") from None
        if committed != expected:
            raise DeployError(
                f"{name} does not match the tables, secrets and log groups of stage "
                f"{stage.name!r}: run `make policy`, review the diff, and deploy again"
            )


# --- the commands --------------------------------------------------------------------------


def deploy(
    stage_name: str,
    *,
    root: Path = ROOT,
    connect_aws: Callable[[], Aws] = connect,
    run: Runner = subprocess.run,
    out: Print = print,
) -> int:
    stage = load_stage(stage_name, root)
    check_policy_file(stage)
    aws = connect_aws()
    refuse_a_second_copy(aws.client("lambda"), stage, root)
    check_logging_role(aws.client("apigateway"), aws.region)
    out(f"Deploying Pulse stage {stage.name} to AWS account {aws.account}, {aws.region}.")

    tables = deploy_tables(aws.client("cloudformation"), stage, root, out)
    out(f"1/4 Tables: stack {stage.tables_stack} {tables}.")

    created, existing = ensure_secrets(aws.client("ssm"), stage)
    for name in created:
        out(f"    created SecureString {name}")
    out(f"2/4 Secrets: {len(created)} created, {len(existing)} already there (never overwritten).")

    out(f"3/4 chalice deploy --stage {stage.name}")
    sources = event_source_env(aws.client("cloudformation"), stage)
    compiled = prebuild_package(stage, aws.region, root, run, sources)
    if compiled is None:
        out(
            "    could not prebuild the code package: chalice deploy builds it, untrimmed and "
            "without byte code"
        )
    else:
        out(
            f"    code package with byte code (+{compiled.compiled} .pyc files: faster cold "
            f"starts), trimmed to what the functions load (-{compiled.dropped} files, "
            f"{compiled.size / 1e6:.1f} MB)"
        )
    rest_url, websocket_url = chalice_deploy(stage, aws.region, root, run, sources)
    rest_api_id = deployed_rest_api_id(stage, root)
    shaped = gateway_responses.put(aws.client("apigateway"), rest_api_id, stage.api_gateway_stage)
    out(f"    API Gateway's own answers in the error shape: {', '.join(shaped)}")
    out("4/4 Guard rails (docs/operations.md, Guard rails)")
    stage_guardrails.apply(aws, stage, deployed_record(stage, root), out)

    out("")
    out(f"Pulse {stage.name} is deployed.")
    out(f"  REST API:      {rest_url}")
    out(f"  WebSocket API: {websocket_url}")
    out(f"  Admin Panel:   {rest_url.rstrip('/')}/admin")
    out("Create the first owner (it asks for a password, or reads PULSE_ADMIN_PASSWORD):")
    out(f"  {create_admin_command(stage, aws.region)}")
    return 0


def teardown(
    stage_name: str,
    *,
    root: Path = ROOT,
    connect_aws: Callable[[], Aws] = connect,
    run: Runner = subprocess.run,
    out: Print = print,
) -> int:
    """Remove what `deploy` made of a stage but the data: `chalice delete` (functions, roles,
    both APIs), the guard rails it added, and the tables stack, which keeps the tables and the
    bucket (DeletionPolicy: Retain); docs/operations.md, Teardown, says how to delete those."""
    stage = load_stage(stage_name, root)
    aws = connect_aws()
    out(f"Tearing down Pulse stage {stage.name} in AWS account {aws.account}, {aws.region}.")
    command = [chalice_command(), "delete", "--stage", stage.name]
    if (root / DEPLOYED_DIR / f"{stage.name}.json").is_file():
        if run(command, cwd=root, env=chalice_env(aws.region)).returncode != 0:
            raise DeployError(f"chalice delete --stage {stage.name} failed (its output is above)")
        out("1/3 chalice delete: functions, roles and both APIs removed")
    else:
        left = stage_functions(aws.client("lambda"), stage)
        if left:
            raise DeployError(
                f"{DEPLOYED_DIR}/{stage.name}.json is missing but functions of the stage exist "
                f"({', '.join(left[:3])}): restore it, or delete them by hand"
            )
        out("1/3 nothing deployed by chalice (no record, no functions)")
    out("2/3 Guard rails")
    stage_guardrails.remove(aws, stage, out)
    cfn = aws.client("cloudformation")
    if _stack_status(cfn, stage.tables_stack) is not None:
        cfn.delete_stack(StackName=stage.tables_stack)
        cfn.get_waiter("stack_delete_complete").wait(StackName=stage.tables_stack)
    out(
        f"3/3 Tables stack {stage.tables_stack} deleted: the queues went; the tables "
        f"({stage.table_prefix}control, {stage.table_prefix}data) and the attachments bucket "
        "are kept (docs/operations.md, Teardown)"
    )
    return 0


def create_admin_command(stage: Stage, region: str) -> str:
    return (
        f"AWS_DEFAULT_REGION={region} .venv/bin/python -m infra create-admin "
        f"--stage {stage.name} --email you@example.com"
    )


def merge_template(stage: Stage, root: Path = ROOT) -> dict[str, Any]:
    """The tables template for `--merge-template`, its TablePrefix pinned to the stage's: the
    functions' PULSE_TABLE_PREFIX and the IAM policy name exactly these tables."""
    template: dict[str, Any] = json.loads((root / TEMPLATE_PATH).read_text(encoding="utf-8"))
    parameter = template["Parameters"]["TablePrefix"]
    parameter["Default"] = stage.table_prefix
    parameter["AllowedValues"] = [stage.table_prefix]
    return template


def package(
    stage_name: str,
    out_dir: Path,
    *,
    root: Path = ROOT,
    run: Runner = subprocess.run,
    out: Print = print,
) -> Path:
    """`chalice package` with the tables merged in; returns the template's path."""
    stage = load_stage(stage_name, root)
    check_policy_file(stage)
    out_dir = out_dir.resolve()
    if out_dir.exists() and any(out_dir.iterdir()):
        # Only ever replace an earlier package: never a directory that holds anything else.
        if not (out_dir / "sam.json").is_file() or root.resolve().is_relative_to(out_dir):
            raise DeployError(f"{out_dir} is not empty and holds no earlier package: choose --out")
        shutil.rmtree(out_dir)
    # chalice package needs a region configured, though the template names none (it uses
    # ${AWS::Region}).
    env = chalice_env(
        os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION"),
        {STREAM_ARN_VARIABLE: STREAM_STAND_IN, QUEUE_ARN_VARIABLE: QUEUE_STAND_IN},
    )
    with tempfile.TemporaryDirectory(prefix="pulse-package-") as tmp:
        merge_path = Path(tmp) / "tables.json"
        merge_path.write_text(json.dumps(merge_template(stage, root), indent=2), encoding="utf-8")
        command = [
            chalice_command(),
            "package",
            "--stage",
            stage.name,
            "--pkg-format",
            "cloudformation",
            "--merge-template",
            str(merge_path),
            str(out_dir),
        ]
        result = run(command, cwd=root, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip().splitlines()
        raise DeployError(
            f"chalice package --stage {stage.name} failed: {detail[-1] if detail else '?'}"
        )
    template = out_dir / "sam.json"
    # API Gateway's own answers (no route, throttled, ...) in the error shape, in the API's body.
    packaged = json.loads(template.read_text(encoding="utf-8"))
    gateway_responses.add_to_template(packaged)
    add_event_sources(packaged)
    guardrails.add(packaged, stage)
    template.write_text(json.dumps(packaged, indent=2) + "\n", encoding="utf-8")
    shown = _relative(template)
    code = out_dir / "deployment.zip"
    finished = lean.finish(code) if code.is_file() else lean.Finished(0, 0, 0)
    out(
        f"Packaged stage {stage.name}: {shown} and {_relative(code)} ({finished.size / 1e6:.1f} "
        f"MB: -{finished.dropped} files never loaded, +{finished.compiled} .pyc files)."
    )
    out("To deploy it with CloudFormation (functions, both APIs and the tables in one stack):")
    out(f"  .venv/bin/python -m infra secrets --stage {stage.name}")
    out(
        f"  aws cloudformation package --template-file {shown} --s3-bucket YOUR_BUCKET "
        f"--output-template-file {_relative(out_dir / 'packaged.yaml')}"
    )
    out(
        f"  aws cloudformation deploy --template-file {_relative(out_dir / 'packaged.yaml')} "
        f"--stack-name {stage.app_stack} --capabilities CAPABILITY_IAM"
    )
    return template


def secrets_command(
    stage_name: str,
    *,
    rotate: str | None = None,
    drop_previous: bool = False,
    restart: bool = False,
    root: Path = ROOT,
    connect_aws: Callable[[], Aws] = connect,
    out: Print = print,
) -> int:
    stage = load_stage(stage_name, root)
    aws = connect_aws()
    where = f"{aws.region}, account {aws.account}"
    if rotate == SIGNING_PARAMETER:
        restarted = rotate_signing_secret(aws, stage)
        out(f"Rotated {stage.ssm_prefix}{SIGNING_PARAMETER} ({where}).")
        out(
            f"The old value is now {stage.ssm_prefix}{PREVIOUS_SIGNING_PARAMETER}: tokens it "
            "signed keep verifying."
        )
        out(
            f"After the token lifetime (PULSE_TOKEN_TTL_SECONDS, at most 1 h), end the rotation: "
            f"python -m infra secrets --stage {stage.name} --drop-previous"
        )
    elif rotate == PEPPER_PARAMETER:
        restarted = rotate_pepper(aws, stage)
        out(f"Rotated {stage.ssm_prefix}{PEPPER_PARAMETER} ({where}).")
        out("Every API key and operator session of this stage is now invalid: log in again and")
        out("rotate the keys of every environment (docs/operations.md, 'Rotating the pepper').")
    elif drop_previous:
        restarted = drop_previous_signing_secret(aws, stage)
        out(f"Removed {stage.ssm_prefix}{PREVIOUS_SIGNING_PARAMETER} ({where}).")
    elif restart:
        restarted = restart_functions(aws.client("lambda"), stage)
    else:
        created, existing = ensure_secrets(aws.client("ssm"), stage)
        for name in created:
            out(f"Created SecureString {name} ({where}).")
        for name in existing:
            out(f"{name} exists ({where}); left as it is.")
        return 0
    if restarted:
        out(f"Restarted {len(restarted)} function(s) so they read it: {', '.join(restarted)}.")
    else:
        out(f"No function named {stage.function_prefix}[-*] is deployed: nothing to restart.")
    return 0


def run_command(action: Callable[[], int]) -> int:
    """Operator-fixable failures as one `error:` line, exit 1; AWS errors likewise."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return action()
    except (DeployError, StageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except ClientError as exc:
        operation = getattr(exc, "operation_name", "?")
        print(f"error: AWS refused {operation}: {_reason(exc)}", file=sys.stderr)
    except BotoCoreError as exc:
        print(f"error: AWS: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
    return 1


def _tags(stage: Stage) -> list[dict[str, str]]:
    return [{"Key": "app", "Value": stage.app_name}, {"Key": "stage", "Value": stage.name}]


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _reason(exc: Any) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', '?')}: {error.get('Message', '')}".strip()


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
