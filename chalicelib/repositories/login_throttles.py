"""Operator login throttles in the control table (the rules are services/login_throttle.py):
the failed logins of a source address and of an operator's device (count, lock, the one password
check running), and an account's login attempts in an hour. All ride in the login's first
BatchGetItem; a password check is reserved with one conditional write, whose conditions are what
that read saw, so concurrent attempts cannot all pass a read taken before any failure counted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from ..db.dynamo import TransactionCancelled, is_condition_failure, transaction
from ..db.dynamo import unavailable_on_throttle as guarded
from ..db.models import (
    LOGIN_SK,
    LoginThrottleItem,
    RateItem,
    login_device_sk,
    login_hour_sk,
    login_pk,
    login_source_pk,
)
from .reads import Read


@dataclass(frozen=True)
class Throttle:
    """One scope's failed logins as read: remembered failures (0 once forgotten), the count as
    stored (the reservation's condition), its lock, and when its failures are forgotten."""

    pk: str
    sk: str
    failures: int
    stored: int | None
    locked_until: float
    forget_at: float

    def item(self) -> LoginThrottleItem:
        return LoginThrottleItem(self.pk, self.sk)


@dataclass(frozen=True)
class HourCount:
    """An account's login attempts (from unrecognised devices) in one hour."""

    pk: str
    sk: str
    attempts: int
    ends: int


def _throttle(pk: str, sk: str, now: float) -> Read[Throttle]:
    def convert(item: LoginThrottleItem | None) -> Throttle:
        if item is None:
            return Throttle(pk, sk, 0, None, 0.0, 0.0)
        forget_at = float(item.ttl or 0)
        stored = int(item.failures) if item.failures is not None else None
        live = forget_at > now  # DynamoDB's TTL deletes lazily: an item past it is forgotten
        return Throttle(
            pk,
            sk,
            failures=(stored or 0) if live else 0,
            stored=stored,
            locked_until=float(item.locked_until or 0) if live else 0.0,
            forget_at=forget_at,
        )

    return Read((LoginThrottleItem, pk, sk), convert)


def source_read(source: str, now: float) -> Read[Throttle]:
    return _throttle(login_source_pk(source), LOGIN_SK, now)


def device_read(email: str, device_id: str, now: float) -> Read[Throttle]:
    return _throttle(login_pk(email), login_device_sk(device_id), now)


def hour_read(email: str, window: int, ends: int) -> Read[HourCount]:
    pk, sk = login_pk(email), login_hour_sk(window)

    def convert(item: RateItem | None) -> HourCount:
        return HourCount(pk, sk, int(item.n or 0) if item else 0, ends)

    return Read((RateItem, pk, sk), convert)


Reserved = Literal["ok", "busy", "capped"]


def reserve(
    throttles: Sequence[Throttle],
    hour: HourCount | None,
    cap: int,
    *,
    now: float,
    until: float,
) -> Reserved:
    """Reserve each throttle's one password check (none running, no lock, the count unchanged
    since the read) and count an attempt in `hour` (under `cap`), all or nothing: one
    UpdateItem for a single throttle, else one TransactWriteItems. "busy": another check runs,
    or one started and ended since the read; "capped": the hour is at its cap."""
    parts = [_reservation(t, now=now, until=until) for t in throttles]
    if hour is not None:
        parts.append(
            (
                RateItem(hour.pk, hour.sk),
                [RateItem.n.add(1), RateItem.ttl.set(hour.ends + 3600)],
                RateItem.n.does_not_exist() | (RateItem.n < cap),
            )
        )
    if len(parts) == 1:
        item, actions, condition = parts[0]
        try:
            with guarded():
                item.update(actions=actions, condition=condition)
        except PynamoDBException as exc:
            if is_condition_failure(exc):
                return "capped" if hour is not None else "busy"
            raise
        return "ok"
    try:
        with transaction() as tx:
            for item, actions, condition in parts:
                tx.update(item, actions=actions, condition=condition)
    except TransactionCancelled as exc:
        if hour is not None and exc.reason(hour.pk, hour.sk) == "ConditionalCheckFailed":
            return "capped"
        return "busy"
    return "ok"


def _reservation(t: Throttle, *, now: float, until: float) -> tuple[Any, list[Any], Condition]:
    item = LoginThrottleItem
    free = item.checking_until.does_not_exist() | (item.checking_until <= now)
    unlocked = item.locked_until.does_not_exist() | (item.locked_until <= now)
    same = item.failures.does_not_exist() if t.stored is None else item.failures == t.stored
    actions = [
        item.checking_until.set(until),
        item.failures.set(t.failures),  # a forgotten count starts again from 0
        item.ttl.set(max(t.forget_at, until + 60)),
    ]
    return t.item(), actions, free & unlocked & same


def record_failure(t: Throttle, *, locked_until: float, forget_at: float) -> None:
    """Count a failed check of a reserved throttle, set its lock, end its check."""
    with guarded():
        t.item().update(
            actions=[
                LoginThrottleItem.failures.set(t.failures + 1),
                LoginThrottleItem.locked_until.set(locked_until),
                LoginThrottleItem.ttl.set(forget_at),
                LoginThrottleItem.checking_until.remove(),
            ]
        )


def end_check(t: Throttle) -> None:
    """End a reserved throttle's check without counting anything (the check died)."""
    with guarded():
        t.item().update(
            actions=[LoginThrottleItem.checking_until.remove()],
            condition=LoginThrottleItem.pk.exists(),
        )


@dataclass(frozen=True)
class Release:
    """What a successful login does to the throttle that admitted it, in its session's
    transaction: end the check, and forget the failures (`forget`) or keep them until
    `keep_until`, when they would have been forgotten anyway."""

    throttle: Throttle
    forget: bool
    keep_until: float


def release_in(tx: TransactWrite, release: Release) -> None:
    t = release.throttle
    if release.forget:
        tx.delete(t.item())
        return
    tx.update(
        t.item(),
        actions=[
            LoginThrottleItem.checking_until.remove(),
            LoginThrottleItem.ttl.set(release.keep_until),
        ],
    )
