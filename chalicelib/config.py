"""Settings: the only reader of os.environ, read lazily on first use and cached per container."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

MAX_TOKEN_TTL_SECONDS = 3600
DEFAULT_TOKEN_TTL_SECONDS = 900


class ConfigError(RuntimeError):
    """The deployment is misconfigured (never shown to clients; logged with a request id)."""


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str
    dynamodb_endpoint: str | None
    token_issuer: str
    token_ttl_seconds: int
    session_ttl_seconds: int
    # WebSocket: the Management API scheme (https on AWS; http for the local gateway), the
    # per-room connection cap and the per-connection message rate (messages per second).
    ws_management_scheme: str
    room_connection_cap: int
    ws_messages_per_second: int
    # Secrets: kept out of repr so a logged Settings never leaks them.
    key_pepper: bytes = field(repr=False)
    signing_secret: bytes = field(repr=False)

    @property
    def control_table(self) -> str:
        return f"{self.table_prefix}control"

    @property
    def data_table(self) -> str:
        return f"{self.table_prefix}data"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        stage = env.get("PULSE_STAGE", "dev")
        ttl = _int(env, "PULSE_TOKEN_TTL_SECONDS", DEFAULT_TOKEN_TTL_SECONDS)
        if not 60 <= ttl <= MAX_TOKEN_TTL_SECONDS:
            raise ConfigError(f"PULSE_TOKEN_TTL_SECONDS must be 60..{MAX_TOKEN_TTL_SECONDS}")
        pepper, signing = _secrets(env)
        return cls(
            stage=stage,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            table_prefix=env.get("PULSE_TABLE_PREFIX", f"pulse-{stage}-"),
            dynamodb_endpoint=env.get("PULSE_DYNAMODB_ENDPOINT") or None,
            token_issuer=env.get("PULSE_TOKEN_ISSUER", f"pulse:{stage}"),
            token_ttl_seconds=ttl,
            session_ttl_seconds=_int(env, "PULSE_SESSION_TTL_SECONDS", 12 * 3600),
            ws_management_scheme=env.get("PULSE_WS_MANAGEMENT_SCHEME", "https"),
            room_connection_cap=_int(env, "PULSE_ROOM_CONNECTION_CAP", 100),
            ws_messages_per_second=_int(env, "PULSE_WS_MESSAGES_PER_SECOND", 20),
            key_pepper=pepper,
            signing_secret=signing,
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer") from exc


def _secrets(env: Mapping[str, str]) -> tuple[bytes, bytes]:
    """The key-hash pepper and token signing secret: from env vars, or a JSON file (local stack)."""
    pepper = env.get("PULSE_KEY_PEPPER")
    signing = env.get("PULSE_SIGNING_SECRET")
    path = env.get("PULSE_SECRETS_FILE")
    if (not pepper or not signing) and path:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read PULSE_SECRETS_FILE {path}") from exc
        pepper = pepper or data.get("keyPepper")
        signing = signing or data.get("signingSecret")
    if not pepper or not signing or len(pepper) < 32 or len(signing) < 32:
        raise ConfigError(
            "PULSE_KEY_PEPPER and PULSE_SIGNING_SECRET (>= 32 chars each) must be configured"
        )
    return pepper.encode(), signing.encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env(os.environ)


def reset_settings() -> None:
    """Forget cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
