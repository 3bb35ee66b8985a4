"""API key authentication: format and checksum first (no I/O), then one consistent BatchGetItem
of the key, its environment, and whatever else the caller needs in the same round trip."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import codes, validation
from ..auth import apikeys
from ..clock import Clock
from ..config import Settings
from ..entities import ApiKey, Environment
from ..errors import Forbidden, Unauthenticated, environment_suspended, invalid_api_key
from ..repositories.reads import Fetched, Read, fetch
from . import grants
from .grants import Need
from .limits import Gate
from .ports import EnvironmentStore


@dataclass(frozen=True)
class KeyContext:
    key: ApiKey
    env_id: str
    got: Fetched  # the caller's reads, answered in the same BatchGetItem
    environment: Environment  # read with the key (its settings: room access)


def secret_key_required() -> Unauthenticated:
    return Unauthenticated(
        "This endpoint needs a secret key (sk_...); a publishable key was sent.",
        code=codes.SECRET_KEY_REQUIRED,
        suggestion="Call this endpoint from your backend with the environment's sk_ key. "
        "Publishable keys (pk_...) belong in the browser widget only.",
    )


def publishable_key_required() -> Unauthenticated:
    return Unauthenticated(
        "This endpoint needs a publishable key (pk_...).",
        code=codes.PUBLISHABLE_KEY_REQUIRED,
        suggestion="Never send a secret key from a browser; use the environment's pk_ key.",
    )


def parse(raw: str | None, kind: apikeys.KeyKind) -> apikeys.ParsedKey:
    """Refuse missing, malformed and wrong-kind keys without touching DynamoDB."""
    if not raw:
        raise Unauthenticated(
            "Missing API key.",
            code=codes.MISSING_API_KEY,
            suggestion="Send it as `Authorization: Bearer sk_...`.",
        )
    claimed = apikeys.kind_of_prefix(raw)
    if claimed is not None and claimed != kind and not _stands_for(claimed, kind):
        raise secret_key_required() if kind == "secret" else publishable_key_required()
    parsed = apikeys.parse(raw)
    if parsed is None:
        raise invalid_api_key()
    return parsed


def _stands_for(claimed: apikeys.KeyKind, kind: apikeys.KeyKind) -> bool:
    """A restricted key goes wherever a secret key does, within its scopes (grants.py)."""
    return kind == "secret" and claimed == "restricted"


def ip_not_allowed() -> Forbidden:
    return Forbidden(
        "This key is not accepted from this address.",
        code=codes.IP_NOT_ALLOWED,
        suggestion="Call from one of the networks in the key's allowedIps, or use another key.",
    )


def expired(key: ApiKey, now_iso: str) -> bool:
    """Whether the key's end (`expiresAt`: set at creation or by a roll) has come."""
    return key.expires_at is not None and key.expires_at <= now_iso


class KeyCheck:
    """Verifies a presented key in the one consistent BatchGetItem its request makes."""

    def __init__(
        self, settings: Settings, environments: EnvironmentStore, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.environments = environments
        self.clock = clock or Clock()

    def authenticate(
        self,
        raw: str,
        parsed: apikeys.ParsedKey,
        reads: Sequence[Read[Any]],
        gate: Gate,
        need: Need | None = None,
    ) -> KeyContext:
        """Identical refusal for unknown, revoked, wrong-hash and disabled-environment keys.

        The caller's failed-authentication counters are read in the same BatchGetItem: a source
        over its limit gets 429 before the key is checked, a wrong key is counted (a revoked one
        is not: it is no guess), and a wrong key whose key id is over its limit gets 429 instead
        of 401."""
        guards = gate.failure_reads(parsed.env_id, parsed.key_id)
        stored = self.environments.stored_key_read(parsed.env_id, parsed.key_id)
        environment = self.environments.environment_read(parsed.env_id)
        got = fetch([stored, environment, *guards, *reads])
        gate.check_failures(got)
        found, state = got[stored], got[environment]
        genuine = (
            found is not None
            and found.key.kind == parsed.kind
            and apikeys.matches(self.settings.key_pepper, raw, found.digest)
        )
        if not genuine or found is None:  # someone guessing: counted
            gate.failed(key=True)
            raise invalid_api_key()
        key = found.key
        env = state.environment if state is not None else None
        if (
            env is None
            or env.status != "active"
            or key.status != "active"
            or expired(key, self.clock.now_iso())
        ):
            # A real key that was revoked, rotated or rolled, or expired (or its environment
            # disabled): what every deployed widget sends until its page is updated. Not a
            # guess, so not counted.
            raise invalid_api_key()
        if key.allowed_ips is not None and not validation.address_in(
            gate.address, key.allowed_ips
        ):  # before the caller's reads are used: the key proves nothing from elsewhere
            raise ip_not_allowed()
        if env.suspended_at is not None:  # told only to a caller whose key is good
            raise environment_suspended()
        grants.require(key, need)  # a restricted key's scope and rooms: on the item just read
        return KeyContext(key=key, env_id=parsed.env_id, got=got, environment=env)
