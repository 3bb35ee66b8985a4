"""`python -m infra create-admin` and `create-tables`: accounts and tables from the command line,
with one-line errors (never a traceback) for what the operator can fix."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import boto3
import pytest

from chalicelib import runtime
from chalicelib.config import Settings
from chalicelib.errors import Unauthenticated
from infra.__main__ import main
from infra.admin import create_admin
from infra.tables import create_tables

PASSWORD = "a-long-enough-password"


@pytest.fixture
def tables(aws: None, settings: Settings) -> Iterator[Settings]:
    create_tables(boto3.client("dynamodb"), settings.table_prefix)
    yield settings
    runtime.install(None)  # create-admin builds the process-wide graph; forget it


def answers(*replies: str) -> Callable[[str], str]:
    queue = list(replies)
    return lambda prompt: queue.pop(0)


def login_role(email: str, password: str) -> str | None:
    """The role of the account these credentials log in to, or None if they do not."""
    runtime.install(None)
    try:
        return runtime.services().operators.login(email, password).operator.role
    except Unauthenticated:
        return None


def test_creates_an_owner_that_can_log_in(
    tables: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", PASSWORD)
    assert main(["create-admin", "--email", "Owner@Example.com"]) == 0
    out = capsys.readouterr().out
    assert "Created owner owner@example.com" in out
    assert PASSWORD not in out
    assert login_role("owner@example.com", PASSWORD) == "owner"


def test_role_option_creates_that_role(tables: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", PASSWORD)
    assert main(["create-admin", "--email", "viewer@example.com", "--role", "viewer"]) == 0
    assert login_role("viewer@example.com", PASSWORD) == "viewer"


def test_password_is_prompted_twice_when_not_in_the_environment(
    tables: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULSE_ADMIN_PASSWORD", raising=False)
    assert create_admin("p@example.com", prompt=answers(PASSWORD, PASSWORD)) == 0
    assert login_role("p@example.com", PASSWORD) == "owner"


def test_differing_prompted_passwords_create_nothing(
    tables: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PULSE_ADMIN_PASSWORD", raising=False)
    assert create_admin("d@example.com", prompt=answers(PASSWORD, PASSWORD + "x")) == 1
    assert "passwords differ" in capsys.readouterr().err
    assert login_role("d@example.com", PASSWORD) is None


def test_existing_email_fails_with_a_message_not_a_traceback(
    tables: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", PASSWORD)
    assert create_admin("twice@example.com") == 0
    capsys.readouterr()
    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", "another-long-password")
    assert create_admin("twice@example.com") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "exists" in err
    assert "Traceback" not in err
    assert login_role("twice@example.com", PASSWORD) == "owner"  # the first account is untouched


def test_weak_password_fails_with_a_message(
    tables: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", "short")
    assert create_admin("weak@example.com") == 1
    err = capsys.readouterr().err
    assert "password" in err and "characters" in err
    assert "Traceback" not in err
    assert login_role("weak@example.com", "short") is None


def test_malformed_email_fails_with_a_message(
    tables: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", PASSWORD)
    assert create_admin("not-an-email") == 1
    assert "email" in capsys.readouterr().err


def test_look_alike_email_fails_with_a_message_and_creates_nothing(
    tables: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", PASSWORD)
    assert create_admin("owner@example.com") == 0
    capsys.readouterr()
    look_alikes = ("\u043ewner@example.com", "owner@ex\u0430mple.com", "ow\u200bner@example.com")
    for look_alike in look_alikes:
        assert main(["create-admin", "--email", look_alike]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: email: must be ASCII"), err
        assert "Traceback" not in err
        assert login_role(look_alike, PASSWORD) is None


def test_missing_tables_fail_with_a_hint(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", PASSWORD)
    try:
        assert create_admin("nobody@example.com") == 1
    finally:
        runtime.install(None)
    err = capsys.readouterr().err
    assert "create-tables" in err
    assert "Traceback" not in err


def test_create_tables_command_creates_the_stage_tables(
    aws: None, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-tables"]) == 0
    names = boto3.client("dynamodb").list_tables()["TableNames"]
    assert sorted(names) == [settings.control_table, settings.data_table]
    assert main(["create-tables"]) == 0
    assert "exist" in capsys.readouterr().out


def test_create_tables_needs_no_app_secrets(
    aws: None, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.delenv("PULSE_KEY_PEPPER")
    monkeypatch.delenv("PULSE_SIGNING_SECRET")
    assert "PULSE_SECRETS_FILE" not in os.environ
    assert main(["create-tables"]) == 0
    assert settings.control_table in boto3.client("dynamodb").list_tables()["TableNames"]
