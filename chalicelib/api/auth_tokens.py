"""`POST /auth/token`: a customer backend mints a short-lived user token with its secret key."""

from __future__ import annotations

from typing import Any

from .. import validation as v
from ..runtime import services
from ..services.callers import SecretKeyCaller
from ..services.tokens import MintRequest
from . import http
from .routing import Router, SecretKey

router = Router(prefix="/auth")
FIELD_MAX = 128


# A replayed answer holds a live token: it is kept no longer than the token lives.
@router.route(
    "/token",
    "POST",
    auth=SecretKey(limit="mint"),
    idempotent=True,
    replay_for=lambda s: s.token_ttl_seconds,
)
def mint_token(caller: SecretKeyCaller) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["userId", "name", "avatar"])
    mint = MintRequest(
        user_id=v.user_id(body, "userId", max_len=FIELD_MAX),
        name=v.required_text(body, "name", max_len=FIELD_MAX),
        avatar=v.http_url(body, "avatar"),
    )
    minted = services().tokens.mint(caller, mint)
    return {"token": minted.token, "expiresAt": minted.expires_at}
