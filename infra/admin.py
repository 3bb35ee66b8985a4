"""`python -m infra create-admin`: create an operator account against the configured tables."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, MutableMapping
from typing import cast

from . import toolenv

ROLES = ("owner", "admin", "viewer")


class _Refused(Exception):
    """The password prompt was abandoned or its two answers differ."""


def create_admin(
    email: str,
    role: str = "owner",
    env: MutableMapping[str, str] | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> int:
    """Exit code 0 on success; 1 with a one-line reason for anything the operator can fix."""
    env = os.environ if env is None else env
    toolenv.default_aws(env)
    toolenv.use_local_secrets_file(env)

    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    from chalicelib import validation
    from chalicelib.config import ConfigError
    from chalicelib.entities import Role
    from chalicelib.errors import PulseError
    from chalicelib.runtime import install, services

    try:
        password = env.get("PULSE_ADMIN_PASSWORD") or _ask_password(prompt)
        address = validation.operator_email({"email": email})
        install(None)  # settings from the environment as it is now
        graph = services()
        operator = graph.operators.create(None, address, password, cast(Role, role))
    except _Refused as exc:
        return _fail(str(exc))
    except PulseError as exc:
        return _fail(exc.message)
    except ConfigError as exc:
        return _fail(f"configuration: {exc}")
    except (PynamoDBException, ClientError, BotoCoreError) as exc:
        where = env.get("PULSE_DYNAMODB_ENDPOINT") or f"AWS ({env.get('AWS_DEFAULT_REGION')})"
        return _fail(
            f"DynamoDB at {where} refused or could not be reached: {exc}. "
            "Are the tables created (`python -m infra create-tables`) and the endpoint right?"
        )
    tables = f"{graph.settings.control_table} at {graph.settings.dynamodb_endpoint or 'AWS'}"
    print(f"Created {operator.role} {operator.email} (id {operator.id}) in {tables}.")
    return 0


def _ask_password(prompt: Callable[[str], str]) -> str:
    try:
        first = prompt("Password: ")
        second = prompt("Repeat the password: ")
    except (EOFError, KeyboardInterrupt):
        raise _Refused("no password given (set PULSE_ADMIN_PASSWORD for scripts)") from None
    if first != second:
        raise _Refused("the passwords differ; nothing was created")
    return first


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1
