"""API key authentication: format and checksum first (no I/O), then one consistent BatchGetItem
of the key, its environment, and whatever else the caller needs in the same round trip."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import codes
from ..auth import apikeys
from ..config import Settings
from ..entities import ApiKey
from ..errors import Unauthenticated, environment_suspended, invalid_api_key
from ..repositories import environments as env_repo
from ..repositories.environments import ExtraRead
from .limits import Gate


@dataclass(frozen=True)
class KeyContext:
    key: ApiKey
    env_id: str
    extra: list[Any]  # the caller's extra reads, converted, in order (None where absent)


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
    if claimed is not None and claimed != kind:
        raise secret_key_required() if kind == "secret" else publishable_key_required()
    parsed = apikeys.parse(raw)
    if parsed is None:
        raise invalid_api_key()
    return parsed


def authenticate(
    settings: Settings,
    raw: str,
    parsed: apikeys.ParsedKey,
    extra_reads: Sequence[ExtraRead] = (),
    gate: Gate | None = None,
) -> KeyContext:
    """Identical refusal for unknown, revoked, wrong-hash and disabled-environment keys.

    With a `gate`, the caller's failed-authentication counters are read in the same
    BatchGetItem: a source over its limit gets 429 before the key is checked, a wrong key is
    counted (a revoked one is not: it is no guess), and a wrong key whose key id is over its
    limit gets 429 instead of 401."""
    guards = gate.failure_reads(parsed.env_id, parsed.key_id) if gate else []
    read = env_repo.read_key(parsed.env_id, parsed.key_id, [*guards, *extra_reads])
    if gate:
        gate.check_failures(read.extra[: len(guards)])
    key = read.key
    genuine = (
        key is not None
        and read.digest is not None
        and key.kind == parsed.kind
        and apikeys.matches(settings.key_pepper, raw, read.digest)
    )
    if not genuine:  # someone guessing: counted
        if gate:
            gate.failed(key=True)
        raise invalid_api_key()
    assert key is not None
    if not read.env_active or key.status != "active":
        # A real key that was revoked or rotated (or its environment disabled): what every
        # deployed widget sends until its page is updated. Not a guess, so not counted.
        raise invalid_api_key()
    if read.env_suspended:  # told only to a caller whose key is good
        raise environment_suspended()
    return KeyContext(key=key, env_id=parsed.env_id, extra=read.extra[len(guards) :])
