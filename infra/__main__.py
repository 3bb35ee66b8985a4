"""`python -m infra`: the command line for the local stack, tables, template and admin accounts."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "dev",
        help="run the local stack (embedded DynamoDB + HTTP and WebSocket APIs) in the foreground",
        description="Environment: PULSE_HTTP_PORT (8000), PULSE_DYNAMODB_PORT (8009), "
        "PULSE_WS_PORT (8001), PULSE_WS_MANAGEMENT_PORT (8002), PULSE_WS_IDLE_SECONDS (600), "
        "PULSE_WS_MAX_SECONDS (7200), PULSE_DATA_DIR (.pulse), PULSE_EPHEMERAL=1, "
        "PULSE_ADMIN_EMAIL + PULSE_ADMIN_PASSWORD.",
    )
    admin = commands.add_parser(
        "create-admin",
        help="create an operator account (password from a prompt or PULSE_ADMIN_PASSWORD)",
        description="Against the tables of the current settings: PULSE_STAGE/PULSE_TABLE_PREFIX, "
        "PULSE_DYNAMODB_ENDPOINT (unset: AWS), and the secrets.",
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--role", choices=("owner", "admin", "viewer"), default="owner")
    commands.add_parser(
        "create-tables",
        help="create missing tables at PULSE_DYNAMODB_ENDPOINT (unset: AWS) with the stage prefix",
    )
    commands.add_parser("template", help="print the CloudFormation template of the tables")
    commands.add_parser(
        "openapi",
        help="print docs/openapi.yaml as JSON (chalicelib/openapi.json, which Lambda serves)",
    )
    args = parser.parse_args(argv)

    if args.command == "dev":
        from .devstack import run

        return run()
    if args.command == "create-admin":
        from .admin import create_admin

        return create_admin(args.email, args.role)
    if args.command == "create-tables":
        return create_tables_command()
    if args.command == "template":
        sys.stdout.write(template_json())
        return 0
    if args.command == "openapi":
        sys.stdout.write(openapi_json())
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


def template_json() -> str:
    """The committed infra/tables.template.json, byte for byte."""
    from chalicelib.db.schema import cloudformation_template

    return json.dumps(cloudformation_template(), indent=2, sort_keys=True) + "\n"


def openapi_json() -> str:
    """docs/openapi.yaml as the committed chalicelib/openapi.json, byte for byte."""
    import yaml

    root = Path(__file__).resolve().parents[1]
    spec = yaml.safe_load((root / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


def create_tables_command() -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.config import ConfigError, Settings

    from . import localenv
    from .tables import create_tables

    env = os.environ
    localenv.default_aws(env)
    # Table names, region and endpoint only: this command never hashes keys or signs tokens, so
    # it runs where the app's secrets are not configured.
    placeholders = {"PULSE_KEY_PEPPER": "-" * 32, "PULSE_SIGNING_SECRET": "-" * 32}
    try:
        settings = Settings.from_env({**env, **placeholders})
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
