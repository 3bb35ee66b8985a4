"""Operators, their email claims and sessions in the control table (login throttles:
login_throttles.py).

Invariants live in conditions: an email belongs to one operator (a claim item written in the
same transaction), and the owner count never drops to zero (a counter item conditioned > 1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.update import Action

from ..db.dynamo import (
    TransactionCancelled,
    batch_get,
    transaction,
    unavailable_on_throttle,
)
from ..db.models import (
    EMAIL_SK,
    OPERATOR_SK,
    OPERATORS_GSI,
    OPERATORS_META,
    EmailClaimItem,
    OperatorItem,
    OperatorsMetaItem,
    SessionItem,
    email_pk,
    operator_pk,
    session_sk,
)
from ..entities import AuditEvent, Operator, Page
from .audit import to_item
from .login_throttles import Release, release_in
from .pages import GSI1_KEY, query_page
from .reads import Read
from .records import to_record


@dataclass(frozen=True)
class OperatorRecord:
    operator: Operator
    password_hash: str
    session_epoch: int


class LastOwner(Exception):
    """The change would leave no owner."""


class Changed(Exception):
    """The operator changed since it was read (its role, password or sessions)."""


def to_operator(item: OperatorItem) -> Operator:
    return to_record(Operator, item)


def _record(item: OperatorItem) -> OperatorRecord:
    return OperatorRecord(to_operator(item), item.password_hash, int(item.session_epoch or 0))


def get(operator_id: str) -> OperatorRecord | None:
    (item,) = batch_get([(OperatorItem, operator_pk(operator_id), OPERATOR_SK)])
    return _record(item) if item else None


def get_with_session(
    operator_id: str, token_hash: str
) -> tuple[OperatorRecord | None, float | None, int | None]:
    """(operator, session expiry, session epoch) in one consistent BatchGetItem."""
    op, session = batch_get(
        [
            (OperatorItem, operator_pk(operator_id), OPERATOR_SK),
            (SessionItem, operator_pk(operator_id), session_sk(token_hash)),
        ]
    )
    if session is None:
        return (_record(op) if op else None), None, None
    return (_record(op) if op else None), float(session.expires_at), int(session.session_epoch)


def claim_read(email: str) -> Read[str | None]:
    """Which operator an email belongs to (None: no operator has it)."""

    def convert(item: EmailClaimItem | None) -> str | None:
        return item.operator_id if item else None

    return Read((EmailClaimItem, email_pk(email), EMAIL_SK), convert)


def start_session(
    record: OperatorRecord,
    token_hash: str,
    *,
    now_iso: str,
    expires_at: float,
    release: Release | None,
) -> None:
    """Store the session, stamp the login and `release` the login's throttle, together."""
    op = record.operator
    with transaction() as tx:
        tx.save(
            SessionItem(
                operator_pk(op.id),
                session_sk(token_hash),
                operator_id=op.id,
                session_epoch=record.session_epoch,
                created_at=now_iso,
                expires_at=expires_at,
                ttl=expires_at,
            )
        )
        tx.update(
            OperatorItem(operator_pk(op.id), OPERATOR_SK),
            actions=[OperatorItem.last_login_at.set(now_iso)],
            condition=OperatorItem.pk.exists(),
        )
        if release is not None:
            release_in(tx, release)


def end_session(operator_id: str, token_hash: str) -> None:
    with unavailable_on_throttle():
        SessionItem(operator_pk(operator_id), session_sk(token_hash)).delete()


def list_operators(*, limit: int, cursor: str | None, secret: bytes) -> Page[Operator]:
    def query(**kwargs: Any) -> Any:
        return OperatorItem.gsi1.query(OPERATORS_GSI, **kwargs)

    return query_page(
        query, limit=limit, cursor=cursor, scope="operators", secret=secret, key_attrs=GSI1_KEY
    ).page(to_operator)


def _meta() -> OperatorsMetaItem:
    return OperatorsMetaItem(*OPERATORS_META)


def create(op: Operator, password_hash: str, audit: AuditEvent | None) -> bool:
    """False when the email is taken."""
    try:
        with transaction() as tx:
            tx.save(
                EmailClaimItem(email_pk(op.email), EMAIL_SK, operator_id=op.id),
                condition=EmailClaimItem.pk.does_not_exist(),
            )
            tx.save(
                OperatorItem(
                    operator_pk(op.id),
                    OPERATOR_SK,
                    gsi1pk=OPERATORS_GSI,
                    gsi1sk=op.email,
                    id=op.id,
                    email=op.email,
                    role=op.role,
                    password_hash=password_hash,
                    created_at=op.created_at,
                    updated_at=op.updated_at,
                    session_epoch=0,
                ),
                condition=OperatorItem.pk.does_not_exist(),
            )
            if op.role == "owner":
                tx.update(_meta(), actions=[OperatorsMetaItem.owners.add(1)])
            if audit is not None:
                tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def update(
    before: OperatorRecord,
    *,
    role: str | None,
    password_hash: str | None,
    now_iso: str,
    audit: AuditEvent,
) -> None:
    """Change role and/or password; both end the operator's other sessions (epoch bump).
    Raises LastOwner when demoting the only owner."""
    op = before.operator
    actions: list[Action] = [
        OperatorItem.updated_at.set(now_iso),
        OperatorItem.session_epoch.add(1),
    ]
    if role is not None:
        actions.append(OperatorItem.role.set(role))
    if password_hash is not None:
        actions.append(OperatorItem.password_hash.set(password_hash))
    demotes_owner = op.role == "owner" and role is not None and role != "owner"
    promotes = op.role != "owner" and role == "owner"
    try:
        with transaction() as tx:
            tx.update(
                OperatorItem(operator_pk(op.id), OPERATOR_SK),
                actions=actions,
                condition=OperatorItem.session_epoch == before.session_epoch,
            )
            if demotes_owner:
                tx.update(
                    _meta(),
                    actions=[OperatorsMetaItem.owners.add(-1)],
                    condition=OperatorsMetaItem.owners > 1,
                )
            if promotes:
                tx.update(_meta(), actions=[OperatorsMetaItem.owners.add(1)])
            tx.save(to_item(audit))
    except TransactionCancelled as exc:
        if demotes_owner and exc.reason(*OPERATORS_META) == "ConditionalCheckFailed":
            raise LastOwner() from exc
        raise Changed() from exc


def delete(before: OperatorRecord, audit: AuditEvent) -> None:
    """Remove the operator and its email claim (its sessions die with it: no operator item)."""
    op = before.operator
    try:
        with transaction() as tx:
            tx.delete(
                OperatorItem(operator_pk(op.id), OPERATOR_SK),
                condition=OperatorItem.session_epoch == before.session_epoch,
            )
            tx.delete(EmailClaimItem(email_pk(op.email), EMAIL_SK))
            if op.role == "owner":
                tx.update(
                    _meta(),
                    actions=[OperatorsMetaItem.owners.add(-1)],
                    condition=OperatorsMetaItem.owners > 1,
                )
            tx.save(to_item(audit))
    except TransactionCancelled as exc:
        if op.role == "owner" and exc.reason(*OPERATORS_META) == "ConditionalCheckFailed":
            raise LastOwner() from exc
        raise Changed() from exc
