"""Idempotency keys: a POST retried with the same `Idempotency-Key` gets the first request's answer
instead of running again (docs/architecture.md, "Idempotent retries").

Keys are scoped to the environment of the secret key that sends them, as Stripe scopes them to
an account. The caller is authenticated in the same consistent BatchGetItem that reads the key's
record, before anything is replayed or claimed: a stored answer never goes to a caller whose key
no longer works, and an unauthenticated request never writes."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from .. import codes
from ..clock import Clock
from ..config import Settings
from ..errors import InUse, Unprocessable
from . import keyauth
from .callers import SecretKeyCaller
from .ports import IdempotencyStore

log = logging.getLogger("pulse.idempotency")

REPLAY_SECONDS = 24 * 3600  # how long an answer is replayed (as Stripe)
# How long a claim holds off others: past the REST function's timeout (29 s), so a claim whose
# request died (a crash, a timeout) frees its key, and a live one never is taken over.
LOCK_SECONDS = 30


def reused() -> Unprocessable:
    return Unprocessable(
        "This Idempotency-Key was used for a different request.",
        code=codes.IDEMPOTENCY_KEY_REUSED,
        suggestion="Use a new key for each distinct request (a UUID), the same key only for "
        "retries of the same request.",
    )


def in_use() -> InUse:
    return InUse(
        "A request with this Idempotency-Key is still running.",
        retry_after=1,
        code=codes.IDEMPOTENCY_KEY_IN_USE,
    )


@dataclass(frozen=True)
class Replay:
    """The stored answer of the first request with this key."""

    status: int
    body: str  # JSON text, "" for none


@dataclass(frozen=True)
class Claim:
    """This request runs; it must then answer() or release() the key."""

    env_id: str
    key: str
    owner: str


class IdempotencyService:
    def __init__(
        self, settings: Settings, clock: Clock, keys: keyauth.KeyCheck, records: IdempotencyStore
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.keys = keys
        self.records = records

    def begin(
        self, caller: SecretKeyCaller, key: str, fingerprint: str, replay_seconds: int
    ) -> Replay | Claim:
        """Authenticate the secret key and look the idempotency key up: its answer (same
        request), 422 (another request), 409 (still running), or a claim to run this one. The
        caller's failed-authentication limits (its Gate) apply to that same read."""
        now = self.clock.now()
        record_read = self.records.record_read(caller.env_id, key, now)
        ctx = self.keys.authenticate(
            caller.raw, caller.parsed, [record_read], caller.gate, caller.need
        )
        record = ctx.got[record_read]
        if record is not None:
            if record.fingerprint != fingerprint:
                raise reused()
            if record.status is not None:
                return Replay(record.status, record.body or "")
            if record.lock_until is not None and record.lock_until > now:
                raise in_use()
        owner = secrets.token_urlsafe(12)
        claimed = self.records.claim(
            ctx.env_id,
            key,
            fingerprint=fingerprint,
            owner=owner,
            now=now,
            lock_until=now + LOCK_SECONDS,
            # From the whole second, as a token's `exp` (int(now) + its TTL): a mint's answer
            # is never replayed after the token it holds has expired.
            expires_at=int(now) + replay_seconds,
        )
        if not claimed:  # another request with this key got there between the read and now
            raise in_use()
        return Claim(ctx.env_id, key, owner)

    def answer(self, claim: Claim, status: int, body: str) -> None:
        """Keep the answer for replays. Best-effort: the request's own answer stands either way;
        if this fails, the key stays claimed until its lock passes, and then runs again."""
        try:
            if not self.records.complete(claim.env_id, claim.key, claim.owner, status, body):
                log.warning("idempotency claim lost before its answer was stored")
        except Exception:
            log.exception("idempotent answer not stored")

    def release(self, claim: Claim) -> None:
        """Free the key (a 5xx, 409 or 429 is not replayed: the request may simply be retried).
        Best-effort: if this fails, the key frees itself when its lock passes."""
        try:
            self.records.release(claim.env_id, claim.key, claim.owner)
        except Exception:
            log.exception("idempotency claim not released")
