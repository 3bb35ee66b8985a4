"""How the command-line tools reach a stage's tables: region, local credentials, local secrets."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGION = "us-east-1"
# Where the dev stack keeps its generated secrets (it writes the file at its first start). A file
# convention rather than an import, so `python -m infra create-admin` works against a running
# `make dev` while infra never imports the dev stack.
SECRETS_FILE = "secrets.json"


def data_dir(env: MutableMapping[str, str]) -> Path:
    return Path(env.get("PULSE_DATA_DIR") or ROOT / ".pulse").expanduser().resolve()


def is_local_endpoint(endpoint: str | None) -> bool:
    host = urlparse(endpoint or "").hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


def default_aws(env: MutableMapping[str, str]) -> None:
    """A region for PynamoDB (it has none by default) and, for a local endpoint, fake credentials
    when none are configured: moto accepts any, botocore refuses to sign without some."""
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION") or DEFAULT_REGION)
    has_credentials = env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE")
    if not has_credentials and is_local_endpoint(env.get("PULSE_DYNAMODB_ENDPOINT")):
        env["AWS_ACCESS_KEY_ID"] = "pulse-local"
        env["AWS_SECRET_ACCESS_KEY"] = "pulse-local"  # moto accepts any credentials


def has_secrets(env: MutableMapping[str, str]) -> bool:
    both = env.get("PULSE_KEY_PEPPER") and env.get("PULSE_SIGNING_SECRET")
    return bool(both or env.get("PULSE_SECRETS_FILE"))


def use_local_secrets_file(env: MutableMapping[str, str]) -> None:
    """For tools run against the dev stack from another shell: when no secrets are configured and
    the endpoint is local, use the dev stack's secrets file if it exists."""
    if has_secrets(env) or not is_local_endpoint(env.get("PULSE_DYNAMODB_ENDPOINT")):
        return
    path = data_dir(env) / SECRETS_FILE
    if path.exists():
        env["PULSE_SECRETS_FILE"] = str(path)
