"""`POST /auth/token`: a customer backend mints a short-lived user token with its secret key."""

from __future__ import annotations

from ..entities import MintedToken
from ..runtime import services
from ..services import keyauth
from ..services.tokens import MintRequest
from ..wire import tokens
from . import http
from .routing import Router

router = Router(prefix="/auth", contract="customer", tag="Auth")
FIELD_MAX = tokens.FIELD_MAX


# A replayed answer holds a live token: it is kept no longer than the token lives. The key is
# checked here, before the body is read (a key error wins over a body error), so the view parses
# its body itself, with the declared model.
@router.route(
    "/token",
    "POST",
    auth="none",
    idempotent=True,
    replay_for=lambda s: s.token_ttl_seconds,
    body=tokens.MintRequest,
    parse_body=False,
    secured_by="secret_key",
    answer=tokens.MINTED,
)
def mint_token() -> MintedToken:
    """Mint a user token

    Mints a short-lived token (an HS256 JWT, 15 minutes by default) for one of your users, for
    the widget to connect with. Call it from your backend, never from a browser. It also records
    the user (`GET /api/v1/users`): the latest `name` and `avatar` win. With an
    `Idempotency-Key`, a retry gets the same token, for as long as that token lives.

    Returns: The token and when it expires.
    """
    request = router.request
    raw_key = http.bearer(request)
    parsed = keyauth.parse(raw_key, "secret")  # refuses pk_ and malformed keys with no read
    body = tokens.MintRequest.parse(http.json_object(request))
    mint = MintRequest(user_id=body.user_id, name=body.name, avatar=body.avatar)
    assert raw_key is not None
    graph = services()
    return graph.tokens.mint(raw_key, parsed, mint, graph.limits.gate(http.source_ip(request)))
