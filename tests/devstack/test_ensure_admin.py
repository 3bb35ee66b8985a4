"""`make dev`'s owner from PULSE_ADMIN_EMAIL / PULSE_ADMIN_PASSWORD: created at start, or one
`error:` line (never a traceback) for what the developer can fix. `python -m infra create-admin`
has its own tests in tests/infra/test_create_admin.py."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from chalicelib import runtime
from chalicelib.config import Settings
from chalicelib.errors import Unauthenticated
from devstack.localenv import LocalEnvError
from devstack.stack import ensure_admin
from infra.tables import create_tables

PASSWORD = "a-long-enough-password"


@pytest.fixture
def tables(aws: None, settings: Settings) -> Iterator[Settings]:
    create_tables(boto3.client("dynamodb"), settings.table_prefix)
    yield settings
    runtime.install(None)  # ensure_admin builds the process-wide graph; forget it


def login_role(email: str, password: str) -> str | None:
    """The role of the account these credentials log in to, or None if they do not."""
    runtime.install(None)
    try:
        return runtime.services().operators.login(email, password).operator.role
    except Unauthenticated:
        return None


def test_make_dev_refuses_a_look_alike_admin_email(tables: Settings) -> None:
    with pytest.raises(LocalEnvError, match="PULSE_ADMIN_EMAIL: must be ASCII"):
        ensure_admin("\u0430dmin@example.com", PASSWORD)
    runtime.install(None)
    assert login_role("\u0430dmin@example.com", PASSWORD) is None
