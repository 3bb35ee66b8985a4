"""Admin API: environments, their API keys and audit log (`/admin/api/environments...`)."""

from __future__ import annotations

from typing import Any

from .. import codes
from ..entities import Actor, ApiKey, AuditEvent, Environment, Page
from ..runtime import services
from ..services.environments import EnvironmentChange
from ..wire import environments as wire
from ..wire import params
from . import http
from .routing import Router

router = Router(prefix="/admin/api", contract="admin", tag="Environments")
KEY_KINDS = wire.KEY_KINDS
DISABLED = codes.ENVIRONMENT_DISABLED


@router.route(
    "/environments",
    "GET",
    answer=wire.ENVIRONMENTS,
    query=[params.SEARCH, *params.PAGE],
)
def list_environments(actor: Actor) -> Page[Environment]:
    """List environments

    Newest first; `q` keeps those whose name or id contains it.

    Returns: A page of environments.
    """
    req = router.request
    return services().environments.list_environments(
        http.search(req), http.limit(req), http.query(req, "cursor")
    )


@router.route(
    "/environments",
    "POST",
    role="admin",
    status=201,
    body=wire.CreateEnvironmentRequest,
    answer=wire.CREATED_ENVIRONMENT,
)
def create_environment(actor: Actor, body: wire.CreateEnvironmentRequest) -> dict[str, Any]:
    """Create an environment

    A new environment with a publishable and a secret key. Their full keys are in this answer
    only: store the secret key now.

    Returns: The environment and its keys.
    """
    env, keys = services().environments.create(actor, body.name)
    return {"environment": env, "keys": keys}


@router.route("/environments/{envId}", "GET", answer=wire.ENVIRONMENT)
def get_environment(actor: Actor, envId: str) -> Environment:
    """Get an environment

    Returns: The environment.
    """
    return services().environments.get(envId)


@router.route(
    "/environments/{envId}",
    "PATCH",
    role="admin",
    body=wire.UpdateEnvironmentRequest,
    answer=wire.ENVIRONMENT,
    raises=[DISABLED],
)
def update_environment(
    actor: Actor, envId: str, body: wire.UpdateEnvironmentRequest
) -> Environment:
    """Rename an environment or change its room access or attachment settings

    Any non-empty subset of `name`, `defaultRoomAccess`, `createRoomsOnJoin`,
    `attachmentMaxBytes` and `attachmentTypes`. Recorded in
    the environment's audit log (`environment.renamed` for a name alone, else
    `environment.updated` with each change). Rooms that exist keep the access they have.

    Returns: The updated environment.
    """
    change = EnvironmentChange(
        name=body.name,
        default_room_access=body.default_room_access,
        create_rooms_on_join=body.create_rooms_on_join,
        attachment_max_bytes=body.attachment_max_bytes,
        attachment_types=body.attachment_types,
        notification_delay_seconds=body.notification_delay_seconds,
        retention_days=body.retention_days,
    )
    return services().environments.update(actor, envId, change)


@router.route(
    "/environments/{envId}",
    "DELETE",
    role="admin",
    status=204,
    body=wire.DisableEnvironmentRequest,
    raises=[codes.CONFIRM_NAME_MISMATCH, DISABLED, codes.KEYS_CHANGED],
)
def disable_environment(actor: Actor, envId: str, body: wire.DisableEnvironmentRequest) -> None:
    """Disable an environment

    For good: every key is revoked, every request and connection with them fails at once, and
    its data stays readable here. `confirmName` must be its current name (else 400
    `CONFIRM_NAME_MISMATCH` and nothing changes).
    """
    services().environments.disable(actor, envId, body.confirm_name)


@router.route(
    "/environments/{envId}/suspend",
    "POST",
    role="admin",
    body=wire.NoBody,
    answer=wire.ENVIRONMENT,
    raises=[DISABLED, codes.ENVIRONMENT_ALREADY_SUSPENDED, codes.ENVIRONMENT_CHANGED],
)
def suspend_environment(actor: Actor, envId: str, body: wire.NoBody) -> Environment:
    """Suspend an environment

    Refuses every request and connection made with its keys (403 `ENVIRONMENT_SUSPENDED`) and
    closes its live connections, until it is resumed. Its keys stay as they are.

    Returns: The suspended environment.
    """
    return services().environments.suspend(actor, envId)


@router.route(
    "/environments/{envId}/resume",
    "POST",
    role="admin",
    body=wire.NoBody,
    answer=wire.ENVIRONMENT,
    raises=[DISABLED, codes.ENVIRONMENT_NOT_SUSPENDED, codes.ENVIRONMENT_CHANGED],
)
def resume_environment(actor: Actor, envId: str, body: wire.NoBody) -> Environment:
    """Resume a suspended environment

    Returns: The environment, active again.
    """
    return services().environments.resume(actor, envId)


@router.route(
    "/environments/{envId}/keys",
    "GET",
    answer=wire.API_KEYS,
    query=[params.SEARCH, *params.PAGE],
    tag="Keys",
)
def list_keys(actor: Actor, envId: str) -> Page[ApiKey]:
    """List an environment's keys

    Newest first, revoked ones included; a publishable key with its full `key` (it is public),
    a secret key never; `q` keeps those whose name, kind, status, id or preview contains it.
    `status` tells a key rolled with a grace or created with an end (`expiring`, `expired`).

    Returns: A page of keys.
    """
    req = router.request
    return services().environments.list_keys(
        envId, http.search(req), http.limit(req), http.query(req, "cursor")
    )


@router.route(
    "/environments/{envId}/keys",
    "POST",
    role="admin",
    status=201,
    body=wire.CreateKeyRequest,
    answer=wire.API_KEY,
    raises=[DISABLED, codes.TOO_MANY_KEYS, codes.KEYS_CHANGED],
    tag="Keys",
)
def create_key(actor: Actor, envId: str, body: wire.CreateKeyRequest) -> ApiKey:
    """Create a key

    One more key of the environment, beside the others. A secret or restricted key's full
    `key` is in this answer only. A `restricted` key (`rk_...`) is a secret key limited to its
    `scopes` and, optionally, to the rooms its `rooms` pattern names (docs/keys.md). A secret or
    restricted key may carry `expiresAt` (refused like a revoked key from then on) and
    `allowedIps` (403 `IP_NOT_ALLOWED` from any other source address); both are set here only
    (no key is edited after its creation: roll it to change them).

    Returns: The new key, with its `key`.
    """
    return services().environments.create_key(
        actor,
        envId,
        body.kind,
        body.name,
        scopes=body.scopes,
        rooms=body.rooms,
        expires_at=body.expires_at,
        allowed_ips=body.allowed_ips,
    )


@router.route(
    "/environments/{envId}/keys/usage",
    "GET",
    answer=wire.KEY_USAGE,
    tag="Keys",
)
def keys_usage(actor: Actor, envId: str) -> dict[str, Any]:
    """Usage per key

    Per UTC day for the last 30 days, each key's REST API v1 calls (`requests`), token mints
    (`mints`) and failed authentications with a key carrying its id (`refusals`), as counted by
    the rate counters every request writes anyway: nothing more is written on the request path.
    A request refused after its key was found good (an ended key, a source address outside its
    `allowedIps`, a rate limit, a suspended environment) is in none of them.

    Returns: The days and each key's counts.
    """
    services().environments.get(envId)  # 404 for an unknown environment
    return wire.key_usage(services().usage.by_key(envId))


@router.route(
    "/environments/{envId}/keys/rotate",
    "POST",
    role="admin",
    status=201,
    body=wire.NoBody,
    answer=wire.ROTATED_KEYS,
    raises=[DISABLED, codes.KEYS_CHANGED],
    tag="Keys",
)
def rotate_keys(actor: Actor, envId: str, body: wire.NoBody) -> dict[str, Any]:
    """Rotate the keys

    A new publishable and secret key replace every active key, which stop working (with the
    tokens they minted) on the very next call. Their full keys are in this answer only.

    Returns: The new keys and the ids of the revoked ones.
    """
    keys, revoked = services().environments.rotate(actor, envId)
    return {"keys": keys, "revoked": revoked}


@router.route(
    "/environments/{envId}/keys/{keyId}/roll",
    "POST",
    role="admin",
    status=201,
    body=wire.RollKeyRequest,
    answer=wire.API_KEY,
    raises=[
        DISABLED,
        codes.KEY_ALREADY_REVOKED,
        codes.KEY_EXPIRED,
        codes.TOO_MANY_KEYS,
        codes.KEYS_CHANGED,
    ],
    tag="Keys",
)
def roll_key(actor: Actor, envId: str, keyId: str, body: wire.RollKeyRequest) -> ApiKey:
    """Roll a key

    A new key of the same kind, name and allowed addresses replaces this one, which keeps
    working for `expiresIn` (`1h`, `24h`, `3d`, `7d`; its `status` is `expiring` with
    `expiresAt` meanwhile), then is refused like a revoked key. Tokens it minted stay valid
    until their own `exp`; sockets opened with a rolled publishable key are closed when it
    ends. `now` cuts at once, as a revoke: its tokens and sockets die on the spot. Recorded as
    `key.rolled`. A secret key's full `key` is in this answer only.

    Returns: The new key, with its `key`.
    """
    return services().environments.roll(actor, envId, keyId, body.expires_in)


@router.route(
    "/environments/{envId}/keys/{keyId}/revoke",
    "POST",
    role="admin",
    body=wire.NoBody,
    answer=wire.API_KEY,
    raises=[codes.KEY_ALREADY_REVOKED, codes.KEYS_CHANGED],
    tag="Keys",
)
def revoke_key(actor: Actor, envId: str, keyId: str, body: wire.NoBody) -> ApiKey:
    """Revoke a key

    It fails on the very next call, as do the tokens it minted.

    Returns: The revoked key.
    """
    return services().environments.revoke(actor, envId, keyId)


@router.route(
    "/keys/report-leak",
    "POST",
    role="admin",
    body=wire.ReportLeakRequest,
    answer=wire.LEAK_RECEIVED,
    status=202,
    raises=[codes.KEYS_CHANGED],
    tag="Keys",
)
def report_leak(actor: Actor, body: wire.ReportLeakRequest) -> None:
    """Report a leaked key

    A key found where it should not be (a public repository, a paste, a log), in any
    environment: it is found by its ids and hash, revoked at once (its tokens and live sockets
    end, as a revoke), audited as `key.leaked` in its environment, and shown there until an
    operator dismisses it. Reporting a key that is already revoked audits (and shows) it again
    and changes nothing else. A publishable key (`pk_`) is public by design: it is not revoked
    or audited this way. A string that is no Pulse key, or no key of this deployment, changes
    nothing.

    The answer is the same 202 in every case, so the endpoint reveals nothing about the key:
    see what it did in the environment (its keys, audit log and `leakReportedAt`). Its time
    says little too: every string costs the same lookup (one consistent read of an environment
    and a key item, at placeholder ids for a string that carries none, and one hash); only a
    found `sk_`/`rk_` goes on to write. It is not constant-time. A 409 `KEYS_CHANGED` comes
    only from a found key whose environment's keys changed during the report: send it again.
    For secret scanning partners: docs/keys.md.

    Returns: Received (whatever the key was).
    """
    services().environments.report_leak(actor, body.key)


@router.route(
    "/environments/{envId}/leak/dismiss",
    "POST",
    role="admin",
    body=wire.NoBody,
    answer=wire.ENVIRONMENT,
    tag="Keys",
)
def dismiss_leak(actor: Actor, envId: str, body: wire.NoBody) -> Environment:
    """Dismiss a leak report

    Hides the banner a reported leak shows on the environment (`leakReportedAt`,
    `leakedKey`); the key stays revoked. Audited as `environment.leak_dismissed`; with no
    leak shown it changes nothing.

    Returns: The environment.
    """
    return services().environments.dismiss_leak(actor, envId)


@router.route(
    "/environments/{envId}/audit", "GET", answer=wire.AUDIT_EVENTS, query=params.PAGE, tag="Audit"
)
def environment_audit(actor: Actor, envId: str) -> Page[AuditEvent]:
    """An environment's audit log

    What operators did to it and its keys and data, newest first.

    Returns: A page of audit events.
    """
    req = router.request
    return services().environments.audit(envId, http.limit(req), http.query(req, "cursor"))
