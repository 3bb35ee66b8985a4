"""Token minting (`POST /auth/token`) and verification (WebSocket `$connect`).

Mint budget: one consistent BatchGetItem (key, environment, user, the caller's failure
counters), one UpdateItem of the mint rate counters, and at most one write."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from .. import codes, meter
from ..auth import apikeys, tokens
from ..clock import Clock, iso
from ..config import Settings
from ..entities import ApiKey, Environment, MintedToken, User
from ..errors import InvalidInput, PulseError, Unauthenticated
from ..repositories.reads import Fetched, Read
from ..repositories.users import KeyTouch, Revocation, SeenWrite
from . import grants, keyauth
from .callers import SecretKeyCaller
from .limits import Gate
from .ports import EnvironmentStore, UserStore

log = logging.getLogger("pulse.tokens")

# Distinct, readable on light and dark backgrounds; a user keeps one color everywhere.
PALETTE = (
    "#E5484D",
    "#F76B15",
    "#FFC53D",
    "#46A758",
    "#12A594",
    "#0090FF",
    "#3E63DD",
    "#8E4EC6",
    "#D6409F",
    "#AD7F58",
    "#5B5BD6",
    "#00A2C7",
)
LAST_USED_WINDOW_SECONDS = 60
LAST_SEEN_WINDOW_SECONDS = 60
# A token's length is checked before the read that tells its user's token generation: checked with
# a generation longer than any a user reaches, the token minted after the read fits too.
LONGEST_GENERATION = 10**12


def color_for(user_id: str) -> str:
    digest = hashlib.sha256(user_id.encode()).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


@dataclass(frozen=True)
class MintRequest:
    user_id: str
    name: str
    avatar: str | None
    group_ids: tuple[str, ...] = ()
    permissions: dict[str, str] | None = None


@dataclass(frozen=True)
class VerifiedConnection:
    """What `$connect` learns from a valid pk_ + token pair."""

    env_id: str
    publishable_key_id: str
    user: tokens.UserClaims
    got: Fetched  # the caller's reads, answered in the key check's BatchGetItem
    revocation: Revocation  # the user's tokens as read: its connection is written only if unmoved
    environment: Environment  # read in the same BatchGetItem (its room access settings)


def token_revoked() -> Unauthenticated:
    return Unauthenticated(
        "The token was revoked: every token minted for this user before its revocation is.",
        code=codes.TOKEN_REVOKED,
        suggestion="Mint a fresh token with POST /auth/token from your backend.",
    )


def invalid_token() -> Unauthenticated:
    return Unauthenticated(
        "The token is invalid or expired.",
        code=codes.INVALID_TOKEN,
        suggestion="Mint a fresh token with POST /auth/token from your backend.",
    )


class TokenService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        keys: keyauth.KeyCheck,
        *,
        users: UserStore,
        environments: EnvironmentStore,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.keys = keys
        self.users = users
        self.environments = environments

    def mint(self, caller: SecretKeyCaller, request: MintRequest) -> MintedToken:
        """The caller's key passed its offline checks before the body was read; here it is
        verified with the user's record, in one read, and counted against the mint limits its
        route declared (caller.gate). A token that would not fit the connect URL is refused
        before anything is read."""
        now = self.clock.now()
        if request.permissions or request.group_ids:  # only these can make a token too long
            self._mint(caller, request, now, LONGEST_GENERATION)
        user_read = self.users.user_read(caller.env_id, request.user_id)
        revocation = self.users.revocation_read(caller.env_id, request.user_id)  # the same item
        reads: list[Read[Any]] = [user_read, revocation]
        ctx = self.keys.authenticate(caller.raw, caller.parsed, reads, caller.gate, caller.need)
        # A room-limited restricted key's token reaches only its rooms: a mint asking for more
        # gets less (grants.token_permissions); one reaching none of them is refused, uncounted
        # as every refusal of the key check.
        narrowed = grants.token_permissions(ctx.key, request.permissions)
        if narrowed != request.permissions:
            request = replace(request, permissions=narrowed)
        caller.gate.count(ctx.env_id, ctx.key.id)
        existing = ctx.got[user_read]
        now_iso, today = iso(now), iso(now)[:10]
        user = User(
            id=request.user_id,
            name=request.name,
            avatar=request.avatar,
            color=color_for(request.user_id),
            first_seen_at=existing.first_seen_at if existing else now_iso,
            last_seen_at=now_iso,
            group_ids=tuple(request.group_ids or ()),
            permissions=dict(request.permissions) if request.permissions else None,
        )
        self._record(ctx.key, existing, user, now, today)
        token, expires_at = self._mint(caller, request, now, ctx.got[revocation].generation)
        return MintedToken(token=token, expires_at=iso(expires_at), user=user)

    def _mint(
        self, caller: SecretKeyCaller, request: MintRequest, now: float, generation: int
    ) -> tuple[str, int]:
        """The token (signed offline, with the key the caller presents: it is handed out only
        once that key verified); a 400 naming the access field that makes it too long."""
        token, expires_at = tokens.mint(
            server_secret=self.settings.signing_secret,
            issuer=self.settings.token_issuer,
            env_id=caller.env_id,
            key_id=caller.parsed.key_id,
            user_id=request.user_id,
            name=request.name,
            avatar=request.avatar,
            color=color_for(request.user_id),
            now=int(now),
            ttl_seconds=self.settings.token_ttl_seconds,
            generation=generation,
            group_ids=request.group_ids,
            permissions=request.permissions,
        )
        if len(token) > tokens.MAX_TOKEN_CHARS and (request.permissions or request.group_ids):
            field = "permissions" if request.permissions else "groupIds"
            raise InvalidInput(
                field,
                f"makes the token {len(token)} characters; a token must fit the connect URL "
                f"({tokens.MAX_TOKEN_CHARS} characters): send fewer or shorter entries",
            )
        return token, expires_at

    def _record(
        self, key: ApiKey, existing: User | None, user: User, now: float, today: str
    ) -> None:
        touch = None
        if key.last_used_at is None or key.last_used_at < iso(now - LAST_USED_WINDOW_SECONDS):
            touch = KeyTouch(
                env_id=key.env_id,
                key_id=key.id,
                now_iso=iso(now),
                cutoff_iso=iso(now - LAST_USED_WINDOW_SECONDS),
            )
        profile_due = existing is None or (
            (existing.name, existing.avatar) != (user.name, user.avatar)
            or (existing.group_ids, existing.permissions) != (user.group_ids, user.permissions)
            or existing.last_seen_at < iso(now - LAST_SEEN_WINDOW_SECONDS)
        )
        write = SeenWrite(
            env_id=key.env_id,
            user=user,
            is_new=existing is None,
            first_today=existing is not None and existing.last_seen_at[:10] < today,
            profile_due=profile_due,
            today=today,
            touch=touch,
            previous_name=existing.name if existing else None,
        )
        try:
            self.users.record_seen(write)
        except Exception:
            if write.is_new or write.first_today or write.profile_due:
                raise
            # Only lastUsedAt was due: it must never fail a request.
            log.warning("could not record key use", extra={"keyId": key.id})

    def verify_connection(
        self, raw_pk: str | None, token: str | None, gate: Gate, reads: Sequence[Read[Any]] = ()
    ) -> VerifiedConnection:
        """For `$connect`: an active pk_, a token that verifies, the token's environment is the
        pk_'s, and the key that minted it still active. One consistent BatchGetItem in all (with
        the caller's failure counters; a token refused after it is counted)."""
        parsed = keyauth.parse(raw_pk, "publishable")
        if not token:
            raise invalid_token()
        try:
            ref = tokens.peek(token)
        except tokens.InvalidToken as exc:
            raise invalid_token() from exc
        if ref.env_id != parsed.env_id:
            raise invalid_token()
        minting = self.environments.key_read(ref.env_id, ref.key_id)
        # Under the user id the token claims; compared only once the token verified.
        revoked = self.users.revocation_read(ref.env_id, tokens.claimed_subject(token) or "")
        ctx = self.keys.authenticate(raw_pk or "", parsed, [minting, revoked, *reads], gate)
        try:
            return self._verified_connection(token, ref, ctx, minting, revoked, gate)
        except PulseError as exc:  # the key verified: a refusal of its environment's usage
            meter.count(ctx.env_id, f"refused:{exc.code}")
            raise

    def _verified_connection(
        self, token: str, ref: Any, ctx: Any, minting: Any, revoked: Any, gate: Gate
    ) -> VerifiedConnection:
        minting_key = ctx.got[minting]
        # Only what looks like guessing counts against the caller's failure limits: a token of no
        # secret key, or with a bad signature. A token of a revoked or rotated key, or an expired
        # one, is what every widget holds after a rotation or a long sleep: counting those would
        # lock out a whole office behind one address.
        if minting_key is None or minting_key.kind not in apikeys.SECRET_KINDS:
            self._guessed(gate)
        if minting_key.status != "active":
            raise invalid_token()
        try:
            claims = self._verify_signed(token, ref)
        except tokens.StaleToken as exc:
            raise invalid_token() from exc
        except tokens.InvalidToken:
            self._guessed(gate)
        return VerifiedConnection(
            env_id=ctx.env_id,
            publishable_key_id=ctx.key.id,
            user=claims,
            got=ctx.got,
            revocation=self.unrevoked(claims, ctx.got[revoked]),
            environment=ctx.environment,
        )

    def revoke(self, env_id: str, user_id: str) -> Revocation | None:
        """End every token minted for the user until now (None: no such user)."""
        return self.users.revoke_tokens(env_id, user_id, iso(self.clock.now()))

    def revocation_read(self, env_id: str, user_id: str) -> Read[Revocation]:
        return self.users.revocation_read(env_id, user_id)

    @staticmethod
    def unrevoked(claims: tokens.UserClaims, revocation: Revocation) -> Revocation:
        """`revocation` if the token is of the user's current generation; else TOKEN_REVOKED."""
        if claims.generation != revocation.generation:
            raise token_revoked()
        return revocation

    @staticmethod
    def _guessed(gate: Gate) -> NoReturn:
        """Refuse a forged token, counted as a failed attempt of its source (the pk_ was good)."""
        gate.failed(key=False)
        raise invalid_token()

    def _verify_signed(self, token: str, ref: tokens.TokenRef) -> tokens.UserClaims:
        """With the current signing secret, else the previous one (during a rotation). Raises
        StaleToken if the token is genuine under one of them but out of its validity window."""
        failure: tokens.InvalidToken = tokens.InvalidToken("no signing secret")
        for secret in self.settings.signing_secrets:
            try:
                return tokens.verify(
                    token,
                    server_secret=secret,
                    issuer=self.settings.token_issuer,
                    ref=ref,
                    now=self.clock.now(),
                )
            except tokens.InvalidToken as exc:
                if not isinstance(failure, tokens.StaleToken):
                    failure = exc
        raise failure
