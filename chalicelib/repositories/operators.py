"""Operators, their email claims and sessions in the control table (login throttles:
login_throttles.py).

Invariants live in conditions: an email belongs to one operator (a claim item written in the
same transaction), and the owner count never drops to zero (a counter item conditioned > 1)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

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
    AuditItem,
    EmailClaimItem,
    OperatorItem,
    OperatorsMetaItem,
    SessionItem,
    email_pk,
    operator_pk,
    session_sk,
)
from ..entities import Operator, Page
from .environments import ExtraRead
from .pages import GSI1_KEY, query_page
from .records import to_record


@dataclass(frozen=True)
class OperatorRecord:
    operator: Operator
    password_hash: str
    session_epoch: int


@dataclass(frozen=True)
class LoginState:
    operator_id: str | None
    extra: list[Any]  # the caller's extra reads, converted, in order


class LastOwner(Exception):
    """The change would leave no owner."""


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


def login_state(email: str, extra_reads: Sequence[ExtraRead] = ()) -> LoginState:
    """The email's claim (which operator it is, if any) and the login's throttles, in one
    consistent BatchGetItem."""
    claim, *extra = batch_get(
        [(EmailClaimItem, email_pk(email), EMAIL_SK), *(r[0] for r in extra_reads)]
    )
    return LoginState(
        operator_id=claim.operator_id if claim else None,
        extra=[convert(item) for (_, convert), item in zip(extra_reads, extra, strict=True)],
    )


def start_session(
    record: OperatorRecord,
    token_hash: str,
    *,
    now_iso: str,
    expires_at: float,
    release: Callable[[TransactWrite], None],
) -> None:
    """Store the session, stamp the login and `release` the login's throttles, together."""
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
        release(tx)


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


def create(op: Operator, password_hash: str, audit: AuditItem | None) -> bool:
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
                tx.save(audit)
    except TransactionCancelled:
        return False
    return True


def update(
    before: OperatorRecord,
    *,
    role: str | None,
    password_hash: str | None,
    now_iso: str,
    audit: AuditItem,
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
            tx.save(audit)
    except TransactionCancelled as exc:
        # PynamoDB sends deletes, then puts, then updates: the owners counter is the last item.
        if demotes_owner and exc.reasons[-1] == "ConditionalCheckFailed":
            raise LastOwner() from exc
        raise


def delete(before: OperatorRecord, audit: AuditItem) -> None:
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
            tx.save(audit)
    except TransactionCancelled as exc:
        # PynamoDB sends deletes, then puts, then updates: the owners counter is the last item.
        if op.role == "owner" and exc.reasons[-1] == "ConditionalCheckFailed":
            raise LastOwner() from exc
        raise
