"""The dev stack's own environment: its ports, ephemeral mode and its generated secrets."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import MutableMapping
from pathlib import Path

from infra.toolenv import SECRETS_FILE

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HTTP_PORT = 8000
DEFAULT_DYNAMODB_PORT = 8009
TRUTHY = {"1", "true", "yes", "on"}


class LocalEnvError(RuntimeError):
    """The local set-up cannot go on (port in use, bad secrets file): shown without traceback."""


def is_ephemeral(env: MutableMapping[str, str]) -> bool:
    return env.get("PULSE_EPHEMERAL", "").strip().lower() in TRUTHY


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
