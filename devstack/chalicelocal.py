"""`python -m devstack chalice-local` (`make chalice-local`): `chalice local` beside a running
`make dev`, on its own port, against the dev stack's embedded DynamoDB, secrets and WebSocket
gateway."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from infra import toolenv

from . import localenv
from .localenv import LocalEnvError

HOST = "127.0.0.1"
DEFAULT_PORT = 8010  # beside `make dev`'s 8000 (HTTP), 8001-8002 (WebSocket) and 8009 (DynamoDB)
STAGE = "dev"


@dataclass(frozen=True)
class Launch:
    """The `chalice local` to run and what to tell the developer first."""

    command: list[str]
    banner: list[str]


def prepare(env: MutableMapping[str, str]) -> Launch:
    """Set `env` up for the app as `make dev` does, and return the command.

    - Port PULSE_CHALICE_PORT (8010): never `make dev`'s PULSE_HTTP_PORT.
    - Tables at PULSE_DYNAMODB_ENDPOINT, else the embedded DynamoDB of `make dev` on
      PULSE_DYNAMODB_PORT (8009), with the dev stack's secrets file (PULSE_DATA_DIR/secrets.json).
    - Pushes over plain http when the tables are local: their connections were opened through
      the dev stack's gateway, whose Management API is http (API Gateway's is https).
    - No auto-reload: chalice's watches the whole project, `.pulse/` included, and restarted
      (dropping requests) at every save of the dev stack's data."""
    port = localenv.port(env, "PULSE_CHALICE_PORT", DEFAULT_PORT)
    if not env.get("PULSE_DYNAMODB_ENDPOINT"):
        dynamodb = localenv.port(env, "PULSE_DYNAMODB_PORT", localenv.DEFAULT_DYNAMODB_PORT)
        env["PULSE_DYNAMODB_ENDPOINT"] = f"http://{HOST}:{dynamodb}"
    endpoint = env["PULSE_DYNAMODB_ENDPOINT"]
    local = toolenv.is_local_endpoint(endpoint)
    if local:
        env["PULSE_WS_MANAGEMENT_SCHEME"] = "http"
        toolenv.use_local_secrets_file(env)
        if not toolenv.has_secrets(env):
            raise LocalEnvError(
                f"no secrets: {toolenv.data_dir(env) / toolenv.SECRETS_FILE} does not exist. "
                "Start `make dev` first (without PULSE_EPHEMERAL, whose secrets stay in memory), "
                "with the same PULSE_DATA_DIR"
            )
    toolenv.default_aws(env)
    _check_free(port)
    if local:
        _check_listening(endpoint)
    command = [
        str(_chalice()),
        "local",
        "--host",
        HOST,
        "--port",
        str(port),
        "--stage",
        STAGE,
        "--no-autoreload",
    ]
    banner = [
        f"chalice local on http://{HOST}:{port} (PULSE_CHALICE_PORT), stage {STAGE}",
        f"  DynamoDB:  {endpoint}",
        f"  Pushes:    {env.get('PULSE_WS_MANAGEMENT_SCHEME', 'https')}://<the socket's gateway>",
        "  It does not reload when the code changes: stop it (Ctrl-C) and start it again.",
    ]
    return Launch(command, banner)


def run() -> int:
    """Replace this process with `chalice local` (Ctrl-C and signals reach it directly)."""
    env = os.environ
    try:
        launch = prepare(env)
    except LocalEnvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(launch.banner), flush=True)
    os.chdir(localenv.ROOT)  # chalice's project directory
    os.execve(launch.command[0], launch.command, dict(env))  # our own chalice  # noqa: S606


def _chalice() -> Path:
    beside = Path(sys.executable).with_name("chalice")
    if not beside.exists():
        raise LocalEnvError(f"chalice is not installed beside {sys.executable}: run `make dev`")
    return beside


def _check_free(port: int) -> None:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError as exc:
            raise LocalEnvError(
                f"cannot serve on {HOST}:{port} ({exc.strerror}): is `make dev` or another "
                "`make chalice-local` using it? Set PULSE_CHALICE_PORT to use another port."
            ) from None


def _check_listening(endpoint: str) -> None:
    url = urlparse(endpoint)
    try:
        with socket.create_connection((url.hostname or HOST, url.port or 80), timeout=2):
            pass
    except OSError:
        raise LocalEnvError(
            f"nothing answers at {endpoint}: start `make dev` first, or set PULSE_DYNAMODB_PORT "
            "to the port of its embedded DynamoDB (or PULSE_DYNAMODB_ENDPOINT to other tables)"
        ) from None
