"""The local environment of the dev tools: data dir, dev secrets, region and fake credentials."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import MutableMapping
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGION = "us-east-1"
DEFAULT_HTTP_PORT = 8000
DEFAULT_DYNAMODB_PORT = 8009
SECRETS_FILE = "secrets.json"
TRUTHY = {"1", "true", "yes", "on"}


class LocalEnvError(RuntimeError):
    """The local set-up cannot go on (port in use, bad secrets file): shown without traceback."""


def is_ephemeral(env: MutableMapping[str, str]) -> bool:
    return env.get("PULSE_EPHEMERAL", "").strip().lower() in TRUTHY


def data_dir(env: MutableMapping[str, str]) -> Path:
    return Path(env.get("PULSE_DATA_DIR") or ROOT / ".pulse").expanduser().resolve()


def port(env: MutableMapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LocalEnvError(f"{name} must be a port number, got {raw!r}") from None
    if not 0 < value < 65536:
        raise LocalEnvError(f"{name} must be 1-65535, got {value}")
    return value


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


def new_secrets() -> dict[str, str]:
    return {"keyPepper": secrets.token_urlsafe(48), "signingSecret": secrets.token_urlsafe(48)}


def load_or_create_secrets(directory: Path) -> Path:
    """The dev stack's secrets, generated once (mode 0600) and reused so keys and tokens survive
    a restart. Returns the file's path for PULSE_SECRETS_FILE."""
    path = directory / SECRETS_FILE
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LocalEnvError(f"cannot read {path}: {exc}") from exc
        if not all(len(str(data.get(k) or "")) >= 32 for k in ("keyPepper", "signingSecret")):
            raise LocalEnvError(f"{path} lacks keyPepper/signingSecret (>= 32 chars each)")
        return path
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(new_secrets(), fh, indent=2)
        fh.write("\n")
    return path


def use_local_secrets_file(env: MutableMapping[str, str]) -> None:
    """For tools run against the dev stack from another shell: when no secrets are configured and
    the endpoint is local, use the dev stack's secrets file if it exists."""
    if has_secrets(env) or not is_local_endpoint(env.get("PULSE_DYNAMODB_ENDPOINT")):
        return
    path = data_dir(env) / SECRETS_FILE
    if path.exists():
        env["PULSE_SECRETS_FILE"] = str(path)
