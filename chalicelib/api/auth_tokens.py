"""`POST /auth/token`: a customer backend mints a short-lived user token with its secret key."""

from __future__ import annotations

from typing import Any

from .. import validation as v
from ..runtime import services
from ..services import keyauth
from ..services.tokens import MintRequest
from . import http
from .routing import Router

router = Router(prefix="/auth")
FIELD_MAX = 128


# A replayed answer holds a live token: it is kept no longer than the token lives.
@router.route(
    "/token", "POST", auth="none", idempotent=True, replay_for=lambda s: s.token_ttl_seconds
)
def mint_token() -> dict[str, Any]:
    request = router.request
    raw_key = http.bearer(request)
    parsed = keyauth.parse(raw_key, "secret")  # refuses pk_ and malformed keys with no read
    body = http.json_object(request)
    v.only_fields(body, ["userId", "name", "avatar"])
    mint = MintRequest(
        user_id=v.user_id(body, "userId", max_len=FIELD_MAX),
        name=v.required_text(body, "name", max_len=FIELD_MAX),
        avatar=v.http_url(body, "avatar"),
    )
    assert raw_key is not None
    graph = services()
    minted = graph.tokens.mint(raw_key, parsed, mint, graph.limits.gate(http.source_ip(request)))
    return {"token": minted.token, "expiresAt": minted.expires_at}
