"""`python -m infra`: deploy tooling - tables, template, policy, secrets, admin accounts, deploy."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra",
        description=__doc__,
        epilog="The local stack (make dev) and chalice-local: python -m devstack --help.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    admin = commands.add_parser(
        "create-admin",
        help="create an operator account (password from a prompt or PULSE_ADMIN_PASSWORD)",
        description="Against the tables of the current settings: PULSE_STAGE/PULSE_TABLE_PREFIX, "
        "PULSE_DYNAMODB_ENDPOINT (unset: AWS), and the secrets.",
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--role", choices=("owner", "admin", "viewer"), default="owner")
    admin.add_argument(
        "--stage",
        help="a deployed stage of .chalice/config.json: use its tables and SSM secrets on AWS "
        "(with your AWS credentials, in the region deploy uses: AWS_DEFAULT_REGION or your "
        "profile's)",
    )
    commands.add_parser(
        "create-tables",
        help="create missing tables at PULSE_DYNAMODB_ENDPOINT (unset: AWS) with the stage prefix",
    )
    commands.add_parser("template", help="print the CloudFormation template of the tables")
    policy = commands.add_parser(
        "policy", help="print the Lambda IAM policy of a stage (.chalice/policy-<stage>.json)"
    )
    policy.add_argument("--stage", required=True)
    policy.add_argument(
        "--write",
        action="store_true",
        help="write the stage's policy and each function's own (.chalice/policy-<stage>-<function>"
        ".json) instead of printing",
    )
    deploy = commands.add_parser(
        "deploy",
        help="deploy a stage to AWS: tables stack, secrets, chalice deploy; prints the URLs",
    )
    deploy.add_argument("--stage", default="dev")
    teardown = commands.add_parser(
        "teardown",
        help="remove a deployed stage but its data: chalice delete, the guard rails, the tables "
        "stack (the tables and the bucket are kept)",
    )
    teardown.add_argument("--stage", required=True)
    package = commands.add_parser(
        "package",
        help="one CloudFormation template (functions, APIs, tables) of a stage: chalice package",
    )
    package.add_argument("--stage", default="dev")
    package.add_argument("--out", type=Path, help="output directory (default: dist/<stage>)")
    secrets = commands.add_parser(
        "secrets",
        help="create a stage's secrets in SSM Parameter Store if missing (never overwrites); "
        "rotate them",
    )
    secrets.add_argument("--stage", default="dev")
    action = secrets.add_mutually_exclusive_group()
    action.add_argument(
        "--rotate",
        choices=("signing-secret", "key-pepper"),
        help="replace a secret and restart the functions (key-pepper: every API key and "
        "operator session of the stage stops working; needs --yes)",
    )
    action.add_argument(
        "--drop-previous",
        action="store_true",
        help="end a signing-secret rotation: tokens signed with the old secret stop verifying",
    )
    action.add_argument(
        "--restart", action="store_true", help="restart the functions so they read the secrets"
    )
    secrets.add_argument("--yes", action="store_true", help="confirm --rotate key-pepper")
    openapi = commands.add_parser(
        "openapi",
        help="print the customer API's OpenAPI document, generated from the code, as JSON "
        "(chalicelib/openapi.json, which Lambda serves)",
    )
    openapi.add_argument("--admin", action="store_true", help="the Admin API's document instead")
    openapi.add_argument("--yaml", action="store_true", help="as YAML (docs/), not JSON")
    openapi.add_argument(
        "--write",
        action="store_true",
        help="write every document instead: chalicelib/*.json and docs/*.yaml",
    )
    args = parser.parse_args(argv)

    if args.command == "create-admin":
        from .admin import create_admin

        if args.stage:
            from .deploy import DeployError, configured_region
            from .stages import StageError, load_stage

            try:
                # The region deploy uses (the profile's too), not create-admin's local default;
                # found before anything in the environment changes.
                region = configured_region()
                load_stage(args.stage).apply_to(os.environ)
                os.environ["AWS_DEFAULT_REGION"] = region
            except (StageError, DeployError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        return create_admin(args.email, args.role)
    if args.command in ("deploy", "teardown", "package", "secrets", "policy"):
        return deploy_command(args)
    if args.command == "create-tables":
        return create_tables_command()
    if args.command == "template":
        sys.stdout.write(template_json())
        return 0
    if args.command == "openapi":
        return openapi_command(args)
    parser.error(f"unknown command {args.command}")
    return 2


def deploy_command(args: argparse.Namespace) -> int:
    from . import deploy
    from .policy import policy_json
    from .stages import load_stage

    if args.command == "policy":
        if args.write:
            return deploy.run_command(lambda: _write_policies(load_stage(args.stage)))
        return deploy.run_command(lambda: _write(policy_json(load_stage(args.stage))))
    if args.command == "deploy":
        return deploy.run_command(lambda: deploy.deploy(args.stage))
    if args.command == "teardown":
        return deploy.run_command(lambda: deploy.teardown(args.stage))
    if args.command == "package":
        out = args.out or Path("dist") / args.stage
        return deploy.run_command(lambda: _packaged(deploy.package(args.stage, out)))
    if args.rotate == "key-pepper" and not args.yes:
        print(
            "error: rotating the key pepper invalidates every API key and operator session of "
            f"stage {args.stage}; read docs/operations.md, then add --yes",
            file=sys.stderr,
        )
        return 1
    return deploy.run_command(
        lambda: deploy.secrets_command(
            args.stage, rotate=args.rotate, drop_previous=args.drop_previous, restart=args.restart
        )
    )


def _write(text: str) -> int:
    sys.stdout.write(text)
    return 0


def _write_policies(stage: Any) -> int:
    from .policy import policy_files

    for name, text in policy_files(stage).items():
        path = stage.policy_file.with_name(name)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.name}", file=sys.stderr)
    return 0


def _packaged(_: Path) -> int:
    return 0


def template_json() -> str:
    """The committed infra/tables.template.json, byte for byte."""
    from chalicelib.db.schema import cloudformation_template

    from . import buckets, queues

    template = cloudformation_template()
    for more in (queues.resources(), buckets.resources()):
        template["Resources"].update(more[0])
        template["Outputs"].update(more[1])
    template["Description"] += (
        "; the webhook delivery queues (infra/queues.py); the attachments bucket (infra/buckets.py)"
    )
    return json.dumps(template, indent=2, sort_keys=True) + "\n"


def openapi_json(contract: str = "customer") -> str:
    """A document as the committed chalicelib/ JSON, byte for byte: generated from the code."""
    from . import openapi

    return openapi.as_json(openapi.document(contract))


def openapi_command(args: argparse.Namespace) -> int:
    from . import openapi

    if args.write:
        for path in openapi.write_all():
            print(f"wrote {path.relative_to(openapi.ROOT)}", file=sys.stderr)
        return 0
    spec = openapi.document("admin" if args.admin else "customer")
    sys.stdout.write(openapi.as_yaml(spec) if args.yaml else openapi.as_json(spec))
    return 0


def create_tables_command() -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.config import ConfigError, Settings

    from . import toolenv
    from .tables import create_tables

    env = os.environ
    toolenv.default_aws(env)
    # Table names, region and endpoint only: this command never hashes keys or signs tokens, so
    # it runs where the app's secrets are not configured.
    placeholders = {"PULSE_KEY_PEPPER": "-" * 32, "PULSE_SIGNING_SECRET": "-" * 32}
    names_only = {k: v for k, v in env.items() if k != "PULSE_SECRETS_SSM_PREFIX"}
    try:
        settings = Settings.from_env({**names_only, **placeholders})
    except ConfigError as exc:
        print(f"error: configuration: {exc}", file=sys.stderr)
        return 1
    where = settings.dynamodb_endpoint or f"AWS {settings.region}"
    try:
        client = boto3.client(
            "dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint
        )
        created = create_tables(client, settings.table_prefix)
    except (ClientError, BotoCoreError) as exc:
        print(f"error: creating tables at {where}: {exc}", file=sys.stderr)
        return 1
    if created:
        print(f"Created {', '.join(created)} at {where}.")
    else:
        print(f"All tables with prefix {settings.table_prefix} exist at {where}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
