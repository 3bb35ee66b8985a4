"""Who is touching an environment's data, and the one read that proves it may.

A customer backend comes with a secret key (REST API); an operator comes through the admin API,
already authenticated, naming the environment. Either way the reads the request needs ride in
the same consistent BatchGetItem as the check."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import codes, ids
from ..auth import apikeys
from ..clock import Clock, iso
from ..config import Settings
from ..entities import ApiKey
from ..errors import Unauthenticated, environment_suspended
from ..repositories import environments as env_repo
from ..repositories.environments import ExtraRead
from . import keyauth
from .environments import environment_not_found
from .limits import Gate

log = logging.getLogger("pulse.access")
LAST_USED_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Access:
    env_id: str
    raw_key: str | None = None
    parsed: apikeys.ParsedKey | None = None
    # A WebSocket member was authenticated at $connect; its environment must still be active.
    require_active: bool = False
    # The abuse limits a key's request passes (REST API v1): failed authentications, then the
    # environment's and the key's request rates.
    gate: Gate | None = field(default=None, compare=False, repr=False)

    @classmethod
    def secret_key(cls, raw: str | None, gate: Gate | None = None) -> Access:
        """Refuses missing, malformed and pk_ keys here, before any read."""
        parsed = keyauth.parse(raw, "secret")
        return cls(env_id=parsed.env_id, raw_key=raw, parsed=parsed, gate=gate)

    @classmethod
    def operator(cls, env_id: str) -> Access:
        return cls(env_id=env_id)

    @classmethod
    def member(cls, env_id: str) -> Access:
        return cls(env_id=env_id, require_active=True)


def load(settings: Settings, clock: Clock, access: Access, reads: Sequence[ExtraRead]) -> list[Any]:
    """Authenticate (or check the environment exists) and return the reads, converted."""
    if access.parsed is not None and access.raw_key is not None:
        ctx = keyauth.authenticate(settings, access.raw_key, access.parsed, reads, access.gate)
        if access.gate is not None:
            access.gate.count("rest", ctx.env_id, ctx.key.id)
        touch_if_due(clock, ctx.key)
        return ctx.extra
    if not ids.raw_part(access.env_id, "env"):
        raise environment_not_found()
    state, extra = env_repo.read_environment(access.env_id, reads)
    if state is None:
        raise environment_not_found()
    if access.require_active and state.environment.status != "active":
        raise Unauthenticated("The environment is disabled.", code=codes.ENVIRONMENT_DISABLED)
    if access.require_active and state.environment.suspended_at is not None:
        raise environment_suspended()
    return extra


def touch_if_due(clock: Clock, key: ApiKey) -> None:
    """Record the key's use at most once a minute; never fails the request."""
    now = clock.now()
    cutoff = iso(now - LAST_USED_WINDOW_SECONDS)
    if key.last_used_at is not None and key.last_used_at >= cutoff:
        return
    try:
        env_repo.touch_last_used(key.env_id, key.id, iso(now), cutoff)
    except Exception as exc:  # a lost race (condition) or a throttle: both harmless here
        log.info("key use not recorded", extra={"keyId": key.id, "reason": type(exc).__name__})
