"""Idempotency keys in the data table: read with the key check, claimed with a conditional put,
then given the answer (or released). One item per environment and key."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import PynamoDBException

from ..db.dynamo import is_condition_failure
from ..db.models import IDEMPOTENCY_SK, IdempotencyItem, idempotency_pk
from .reads import Read


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    owner: str
    lock_until: float | None  # set while the first request runs
    status: int | None  # set once it answered
    body: str | None


def record_read(env_id: str, key: str, now: float) -> Read[IdempotencyRecord | None]:
    """The key's record, None when absent or expired (DynamoDB's TTL deletes lazily)."""

    def convert(item: IdempotencyItem | None) -> IdempotencyRecord | None:
        if item is None or item.expires_at <= now:
            return None
        return IdempotencyRecord(
            fingerprint=item.fingerprint,
            owner=item.owner,
            lock_until=item.lock_until,
            status=int(item.status) if item.status is not None else None,
            body=item.body,
        )

    return Read((IdempotencyItem, idempotency_pk(env_id, key), IDEMPOTENCY_SK), convert)


def claim(
    env_id: str,
    key: str,
    *,
    fingerprint: str,
    owner: str,
    now: float,
    lock_until: float,
    expires_at: float,
) -> bool:
    """Take the key for one running request: False if another holds it (or has answered) and
    its record is neither expired nor abandoned (lock past)."""
    item = IdempotencyItem(
        idempotency_pk(env_id, key),
        IDEMPOTENCY_SK,
        fingerprint=fingerprint,
        owner=owner,
        lock_until=lock_until,
        expires_at=expires_at,
        ttl=int(expires_at) + 1,
    )
    free = (
        IdempotencyItem.pk.does_not_exist()
        | (IdempotencyItem.expires_at <= now)
        | (IdempotencyItem.lock_until <= now)
    )
    try:
        item.save(condition=free)
    except PynamoDBException as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def complete(env_id: str, key: str, owner: str, status: int, body: str) -> bool:
    """Store the answer; False if the claim was lost meanwhile (taken over past its lock)."""
    item = IdempotencyItem(idempotency_pk(env_id, key), IDEMPOTENCY_SK)
    try:
        item.update(
            actions=[
                IdempotencyItem.status.set(status),
                IdempotencyItem.body.set(body),
                IdempotencyItem.lock_until.remove(),
            ],
            condition=IdempotencyItem.owner == owner,
        )
    except PynamoDBException as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def release(env_id: str, key: str, owner: str) -> None:
    """Give the key up (the answer is not one to replay): the next request with it runs."""
    item = IdempotencyItem(idempotency_pk(env_id, key), IDEMPOTENCY_SK)
    try:
        item.delete(condition=IdempotencyItem.owner == owner)
    except PynamoDBException as exc:
        if not is_condition_failure(exc):
            raise
