"""User tokens: HS256 JWTs signed with a per-key secret derived from the server signing secret.

The signing key is HMAC(server secret, env id + key id): a client holds nothing it could be
derived from, each API key signs with its own secret, and verification additionally checks that
the minting key is still active (a consistent read by the caller), so revoking or rotating a key
ends its tokens at once.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from .. import ids
from ..access import LEVELS

ALGORITHM = "HS256"
MAX_TOKEN_CHARS = 4096  # API Gateway caps the connect URL near 4096 chars
LEEWAY_SECONDS = 5
REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "exp", "jti"]
MAX_SUBJECT_CHARS = 128  # a user id, as POST /auth/token accepts it
FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit"})


class InvalidToken(Exception):
    """The token is malformed, forged, expired or otherwise unacceptable (reason is for logs)."""


class StaleToken(InvalidToken):
    """Signed with the right key, but expired or not yet valid: a client that held on to its
    token too long, not someone guessing signatures."""


@dataclass(frozen=True)
class TokenRef:
    """What an unverified token claims, so the caller knows which key item to read."""

    env_id: str
    key_id: str


@dataclass(frozen=True)
class UserClaims:
    env_id: str
    key_id: str
    user_id: str
    name: str
    avatar: str | None
    color: str
    issued_at: int
    expires_at: int
    token_id: str
    # Room access (chalicelib/access.py): the user's groups, and an access token's permissions
    # (None: an identity token, which gets what each room grants).
    group_ids: tuple[str, ...] = ()
    permissions: dict[str, str] | None = None


def signing_key(server_secret: bytes, env_id: str, key_id: str) -> bytes:
    return hmac.new(
        server_secret, f"pulse-token-v1:{env_id}:{key_id}".encode(), hashlib.sha256
    ).digest()


def mint(
    *,
    server_secret: bytes,
    issuer: str,
    env_id: str,
    key_id: str,
    user_id: str,
    name: str,
    avatar: str | None,
    color: str,
    now: int,
    ttl_seconds: int,
    group_ids: tuple[str, ...] = (),
    permissions: dict[str, str] | None = None,
) -> tuple[str, int]:
    expires_at = now + ttl_seconds
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": env_id,
        "sub": user_id,
        "name": name,
        "avatar": avatar,
        "color": color,
        "iat": now,
        "exp": expires_at,
        "jti": uuid.uuid4().hex,
    }
    if group_ids:
        claims["groupIds"] = list(group_ids)
    if permissions is not None:
        claims["permissions"] = permissions
    token = jwt.encode(
        claims, signing_key(server_secret, env_id, key_id), ALGORITHM, headers={"kid": key_id}
    )
    return token, expires_at


def peek(token: str) -> TokenRef:
    """Read the claimed environment and key without trusting them; rejects risky headers early."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        raise InvalidToken("token missing or too long")
    try:
        header = jwt.get_unverified_header(token)
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"unparseable token: {type(exc).__name__}") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("unexpected alg")
    if FORBIDDEN_HEADERS.intersection(header):
        raise InvalidToken("forbidden header")
    kid, aud = header.get("kid"), payload.get("aud")
    if not isinstance(kid, str) or ids.raw_part(kid, "key") is None:
        raise InvalidToken("missing or malformed kid")
    if not isinstance(aud, str) or ids.raw_part(aud, "env") is None:
        raise InvalidToken("missing or malformed aud")
    return TokenRef(env_id=aud, key_id=kid)


def claimed_subject(token: str | None) -> str | None:
    """The user id an unverified token claims, to read that user's items in the same round trip
    as the key check; None if it has no plausible one. Trust it only once `verify` agrees."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        return None
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    sub = payload.get("sub")
    return sub if isinstance(sub, str) and 0 < len(sub) <= MAX_SUBJECT_CHARS else None


def verify(
    token: str, *, server_secret: bytes, issuer: str, ref: TokenRef, now: float
) -> UserClaims:
    """Verify signature and claims against the key `ref` names (the caller checked it is active)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_key(server_secret, ref.env_id, ref.key_id),
            algorithms=[ALGORITHM],
            audience=ref.env_id,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS, "verify_sub": True, "verify_jti": True},
        )
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
        # PyJWT checks these only after the signature verified.
        raise StaleToken(f"rejected: {type(exc).__name__}") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"rejected: {type(exc).__name__}") from exc
    # PyJWT accepts numeric strings for exp/iat: comparing those below would raise TypeError.
    if not all(isinstance(claims[c], int | float) for c in ("exp", "iat")):
        raise InvalidToken("non-numeric exp or iat")
    # PyJWT checks exp against the wall clock; also check against the injected clock.
    if claims["exp"] <= now - LEEWAY_SECONDS or claims["iat"] > now + LEEWAY_SECONDS:
        raise StaleToken("outside validity window")
    name, avatar, color = claims.get("name"), claims.get("avatar"), claims.get("color")
    if not isinstance(name, str) or not isinstance(color, str):
        raise InvalidToken("missing profile claims")
    if avatar is not None and not isinstance(avatar, str):
        raise InvalidToken("bad avatar claim")
    groups, permissions = claims.get("groupIds", []), claims.get("permissions")
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise InvalidToken("bad groupIds claim")
    if permissions is not None and not (
        isinstance(permissions, dict)
        and all(isinstance(k, str) and v in LEVELS for k, v in permissions.items())
    ):
        raise InvalidToken("bad permissions claim")
    return UserClaims(
        env_id=ref.env_id,
        key_id=ref.key_id,
        user_id=claims["sub"],
        name=name,
        avatar=avatar,
        color=color,
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
        token_id=str(claims["jti"]),
        group_ids=tuple(groups),
        permissions=permissions,
    )
