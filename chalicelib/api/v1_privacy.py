"""REST API v1: a user's erasure (a resumable job) and export (docs/privacy.md)."""

from __future__ import annotations

from typing import Any

from .. import codes
from ..entities import EraseJob
from ..runtime import services
from ..services.callers import SecretKeyCaller
from ..wire import privacy
from .routing import Router, SecretKey

router = Router(prefix="/api/v1", contract="customer")
# Erasure and export reach every room of the environment: refused to a key limited to rooms.
ERASE = SecretKey(limit="rest", scope="users:write", every_room=True)
EXPORT = SecretKey(limit="rest", scope="users:read", every_room=True)


@router.route(
    "/users/{userId}/erase",
    "POST",
    auth=ERASE,
    status=202,
    idempotent=True,
    body=privacy.EraseRequest,
    answer=privacy.ERASE_JOB,
    raises=[codes.USER_NOT_FOUND],
    tag="Privacy",
)
def erase_user(access: SecretKeyCaller, userId: str, body: privacy.EraseRequest) -> EraseJob:
    """Erase a user

    Starts a job that erases the user from the environment. `anonymize` keeps their threads
    and comments under their id, and replaces their name with "Deleted user", removes their
    avatar, and replaces their mentions in every comment with "@Deleted user". `delete` removes
    their comments (the first comment of a thread others replied to stays as a tombstone with
    no author or body), reactions, read state, inbox, subscriptions, notification settings,
    attachments (their files too) and the user; counters stay exact. Both revoke the user's
    tokens first and close their sockets. The job works in bounded steps, resumes after a
    failure, and is audited. Poll `GET /users/{userId}/erase/{jobId}`.

    Returns: The job, queued.
    """
    mode: Any = body.mode
    return services().erasure.start(access, userId, mode)


@router.route(
    "/users/{userId}/erase/{jobId}",
    "GET",
    auth=EXPORT,
    answer=privacy.ERASE_JOB,
    tag="Privacy",
)
def get_erase_job(access: SecretKeyCaller, userId: str, jobId: str) -> EraseJob:
    """Get an erase job

    Returns: The job and what it has done so far.
    """
    return services().erasure.get(access, userId, jobId)


@router.route(
    "/users/{userId}/export",
    "GET",
    auth=EXPORT,
    answer=privacy.EXPORT,
    raises=[codes.USER_NOT_FOUND],
    tag="Privacy",
)
def export_user(access: SecretKeyCaller, userId: str) -> dict[str, Any]:
    """Export a user

    Everything Pulse holds about the user in the environment, as one JSON document: profile,
    comments (with their thread and room ids), threads started, reactions, read state, inbox,
    subscriptions, notification settings and attachments' metadata, as `document`. A document
    over 1 MiB is not answered inline: `url` is a presigned download of it, valid an hour
    (`expiresAt`), and `document` is null.

    Returns: The document, or where to download it.
    """
    return services().export.export(access, userId)
