"""`make chalice-local`'s set-up (devstack/chalicelocal.py): its own port, the dev stack's DynamoDB,
secrets and plain-http Management API, no auto-reload; what it cannot start with is one
`error:` line naming the fix. tests/e2e/test_chalice_local.py runs it beside a real stack."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.__main__ import main
from devstack.chalicelocal import DEFAULT_PORT, prepare
from devstack.localenv import LocalEnvError, load_or_create_secrets


@pytest.fixture
def dynamodb() -> Iterator[int]:
    """Something listening where the dev stack's DynamoDB would be."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shell(data_dir: Path, **extra: str) -> dict[str, str]:
    """A developer's shell beside a running `make dev` (which wrote data_dir/secrets.json)."""
    load_or_create_secrets(data_dir)
    return {"PULSE_DATA_DIR": str(data_dir), "PULSE_CHALICE_PORT": str(unused_port()), **extra}


def test_it_uses_the_dev_stacks_dynamodb_port_secrets_and_http_pushes(
    tmp_path: Path, dynamodb: int
) -> None:
    env = shell(tmp_path, PULSE_DYNAMODB_PORT=str(dynamodb), PULSE_WS_MANAGEMENT_SCHEME="https")
    launch = prepare(env)
    assert env["PULSE_DYNAMODB_ENDPOINT"] == f"http://127.0.0.1:{dynamodb}"
    assert env["PULSE_SECRETS_FILE"] == str(tmp_path / "secrets.json")
    assert env["PULSE_WS_MANAGEMENT_SCHEME"] == "http"  # the local gateway's Management API
    assert env["AWS_ACCESS_KEY_ID"] == "pulse-local"
    assert launch.command[1:] == [
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        env["PULSE_CHALICE_PORT"],
        "--stage",
        "dev",
        "--no-autoreload",
    ]


def test_its_default_port_is_not_make_devs() -> None:
    assert DEFAULT_PORT not in (8000, 8001, 8002, 8009)


def test_a_port_in_use_names_the_variable_that_moves_it(tmp_path: Path, dynamodb: int) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        env = shell(tmp_path, PULSE_CHALICE_PORT=port, PULSE_DYNAMODB_PORT=str(dynamodb))
        with pytest.raises(LocalEnvError, match=f"127.0.0.1:{port}.*PULSE_CHALICE_PORT"):
            prepare(env)


def test_without_a_running_make_dev_it_says_to_start_one(tmp_path: Path) -> None:
    env = shell(tmp_path, PULSE_DYNAMODB_PORT=str(unused_port()))
    with pytest.raises(LocalEnvError, match=r"start `make dev` first.*PULSE_DYNAMODB_PORT"):
        prepare(env)


def test_without_the_dev_stacks_secrets_it_says_where_they_were_looked_for(
    tmp_path: Path, dynamodb: int
) -> None:
    env = {"PULSE_DATA_DIR": str(tmp_path / "none"), "PULSE_DYNAMODB_PORT": str(dynamodb)}
    with pytest.raises(LocalEnvError, match=r"none/secrets.json does not exist.*PULSE_EPHEMERAL"):
        prepare(env)


@pytest.mark.parametrize("variable", ["PULSE_CHALICE_PORT", "PULSE_DYNAMODB_PORT"])
def test_a_bad_port_is_one_error_line(
    tmp_path: Path,
    variable: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in shell(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PULSE_DYNAMODB_ENDPOINT", raising=False)
    monkeypatch.setenv(variable, "eighty")
    assert main(["chalice-local"]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {variable} must be a port number, got 'eighty'\n"
