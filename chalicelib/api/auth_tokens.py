"""`POST /auth/token`: a customer backend mints a short-lived user token with its secret key."""

from __future__ import annotations

from ..entities import MintedToken
from ..runtime import services
from ..services.callers import SecretKeyCaller
from ..services.tokens import MintRequest
from ..wire import tokens
from .routing import Router, SecretKey

router = Router(prefix="/auth", contract="customer", tag="Auth")
FIELD_MAX = tokens.FIELD_MAX


# A replayed answer holds a live token: it is kept no longer than the token lives. The key's
# offline checks come before the body is read (a key error wins over a body error).
@router.route(
    "/token",
    "POST",
    auth=SecretKey(limit="mint", scope="tokens:mint"),
    idempotent=True,
    replay_for=lambda s: s.token_ttl_seconds,
    body=tokens.MintRequest,
    answer=tokens.MINTED,
)
def mint_token(caller: SecretKeyCaller, body: tokens.MintRequest) -> MintedToken:
    """Mint a user token

    Mints a short-lived token (an HS256 JWT, 15 minutes by default) for one of your users, for
    the widget to connect with. Call it from your backend, never from a browser. It also records
    the user (`GET /api/v1/users`): the latest `name` and `avatar` win. With an
    `Idempotency-Key`, a retry gets the same token, for as long as that token lives.

    Two kinds: with `permissions`, an access token (it alone decides the user's level in each
    room); without, an identity token (each room grants levels to users and `groupIds`). The
    token must fit the connect URL: one over 4096 characters is a 400 naming `permissions` or
    `groupIds`.

    Returns: The token and when it expires.
    """
    mint = MintRequest(
        user_id=body.user_id,
        name=body.name,
        avatar=body.avatar,
        group_ids=body.group_ids or (),
        permissions=body.permissions,
    )
    return services().tokens.mint(caller, mint)
