"""Operator accounts: login (throttled by services/login_throttle.py), opaque sessions, and
owner-managed accounts."""

from __future__ import annotations

from dataclasses import replace

from .. import codes, ids, validation
from ..auth import passwords, sessions
from ..clock import Clock, iso
from ..config import Settings
from ..entities import Actor, AuditEvent, Operator, Page, Role, Session
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated, Unavailable
from ..repositories.operators import Changed, LastOwner, OperatorRecord
from ..repositories.reads import fetch
from .login_throttle import LoginThrottle
from .ports import AuditStore, OperatorStore


def invalid_credentials() -> Unauthenticated:
    return Unauthenticated("Email or password is incorrect.", code=codes.INVALID_CREDENTIALS)


def invalid_session() -> Unauthenticated:
    return Unauthenticated(
        "Missing, expired or revoked session.",
        code=codes.INVALID_SESSION,
        suggestion="Log in again with POST /admin/api/login.",
    )


def operator_not_found() -> NotFound:
    return NotFound("No operator with this id.", code=codes.OPERATOR_NOT_FOUND)


def last_owner() -> Conflict:
    return Conflict(
        "This would leave no owner.",
        code=codes.LAST_OWNER,
        suggestion="Make another operator owner first.",
    )


def check_password(password: str, field: str = "password") -> None:
    if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
        raise InvalidInput(
            field,
            f"must be {passwords.MIN_LENGTH}-{passwords.MAX_LENGTH} characters",
            code=codes.WEAK_PASSWORD,
        )


class OperatorService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        throttle: LoginThrottle,
        *,
        operators: OperatorStore,
        audit: AuditStore,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.throttle = throttle
        self.operators = operators
        self.audit_log = audit

    # --- sessions ------------------------------------------------------------------------

    def login(
        self,
        email: str,
        password: str,
        *,
        source_ip: str | None = None,
        device_cookie: str | None = None,
    ) -> Session:
        """Raises Unauthenticated (the same for an unknown email and a wrong password) or
        RateLimited (429: a throttle refused; no password was checked). The session carries the
        device cookie to set: the browser is recognised at its next login."""
        attempt = self.throttle.attempt(email, source_ip, device_cookie)
        now = attempt.now
        claim = self.operators.claim_read(email)
        got = fetch([claim, *attempt.reads()])
        attempt.admit(got)
        attempt.reserve()
        try:
            operator_id = got[claim]
            record = self.operators.get(operator_id) if operator_id else None
            # Same work whether or not the email exists: no user enumeration by timing.
            stored = record.password_hash if record else passwords.dummy_hash()
            ok = passwords.verify_password(stored, password) and record is not None
            if not ok or record is None:
                attempt.failed()
                raise invalid_credentials()
            token = sessions.generate(record.operator.id)
            expires_at = now + self.settings.session_ttl_seconds
            self.operators.start_session(
                record,
                sessions.digest(self.settings.key_pepper, token),
                now_iso=iso(now),
                expires_at=expires_at,
                release=attempt.release(),
            )
        except Unavailable:
            attempt.abandon()
            raise
        operator = replace(record.operator, last_login_at=iso(now))
        return Session(
            token=token,
            expires_at=iso(expires_at),
            operator=operator,
            device=attempt.cookie(self.settings.key_pepper),
        )

    def authenticate(self, token: str | None) -> Actor:
        operator_id = sessions.operator_of(token or "")
        if operator_id is None or token is None:
            raise invalid_session()
        record, expires_at, epoch = self.operators.get_with_session(
            operator_id, sessions.digest(self.settings.key_pepper, token)
        )
        if (
            record is None
            or expires_at is None
            or expires_at <= self.clock.now()
            or epoch != record.session_epoch
        ):
            raise invalid_session()
        op = record.operator
        return Actor(id=op.id, email=op.email, role=op.role)

    def logout(self, actor: Actor, token: str) -> None:
        self.operators.end_session(actor.id, sessions.digest(self.settings.key_pepper, token))

    def me(self, actor: Actor) -> Operator:
        return self._record(actor.id).operator

    # --- accounts (owner only; the API layer checks the role) ----------------------------

    def list_operators(self, limit: int, cursor: str | None) -> Page[Operator]:
        return self.operators.list_operators(
            limit=limit, cursor=cursor, secret=self.settings.signing_secret
        )

    def create(self, actor: Actor | None, email: str, password: str, role: Role) -> Operator:
        """`actor` None: the bootstrap path (create-admin, make dev), audited as `system`."""
        # Every way an operator email is set comes here: the look-alike rule holds for each.
        email = validation.operator_email({"email": email})
        check_password(password)
        now = self.clock.now_iso()
        op = Operator(
            id=ids.new_id("op"),
            email=email,
            role=role,
            created_at=now,
            updated_at=now,
            last_login_at=None,
        )
        who = actor or Actor(id="system", email="system", role="owner")
        audit = self.audit_log.new_event(
            who,
            "operator.created",
            env_id=None,
            target_type="operator",
            target_id=op.id,
            now_iso=now,
            details={"email": email, "role": role},
        )
        if not self.operators.create(op, passwords.hash_password(password), audit):
            raise Conflict("An operator with this email exists.", code=codes.EMAIL_TAKEN)
        return op

    def update(
        self, actor: Actor, operator_id: str, *, role: Role | None, password: str | None
    ) -> Operator:
        if password is not None:
            check_password(password)
        before = self._record(operator_id)
        if role is None and password is None:
            return before.operator
        now = self.clock.now_iso()
        details: dict[str, object] = {}
        if role is not None:
            details["role"] = {"from": before.operator.role, "to": role}
        if password is not None:
            details["passwordChanged"] = True
        audit = self.audit_log.new_event(
            actor,
            "operator.updated",
            env_id=None,
            target_type="operator",
            target_id=operator_id,
            now_iso=now,
            details=details,
        )
        try:
            self.operators.update(
                before,
                role=role,
                password_hash=passwords.hash_password(password) if password else None,
                now_iso=now,
                audit=audit,
            )
        except LastOwner as exc:
            raise last_owner() from exc
        except Changed as exc:
            raise Conflict("The operator changed meanwhile; retry.", code=codes.CONFLICT) from exc
        return replace(before.operator, role=role or before.operator.role, updated_at=now)

    def delete(self, actor: Actor, operator_id: str) -> None:
        if operator_id == actor.id:
            raise Forbidden("You cannot delete your own account.", code=codes.CANNOT_DELETE_SELF)
        before = self._record(operator_id)
        audit = self.audit_log.new_event(
            actor,
            "operator.deleted",
            env_id=None,
            target_type="operator",
            target_id=operator_id,
            now_iso=self.clock.now_iso(),
            details={"email": before.operator.email},
        )
        try:
            self.operators.delete(before, audit)
        except LastOwner as exc:
            raise last_owner() from exc
        except Changed as exc:
            raise Conflict("The operator changed meanwhile; retry.", code=codes.CONFLICT) from exc

    def audit(self, limit: int, cursor: str | None) -> Page[AuditEvent]:
        """Events about operator accounts (environment events live with each environment)."""
        return self.audit_log.list_events(
            None, limit=limit, cursor=cursor, secret=self.settings.signing_secret
        )

    def ensure_owner(self, email: str, password: str) -> tuple[Operator, bool]:
        """Create the owner if the email is free: (operator, created). Used by create-admin."""
        claim = self.operators.claim_read(email)
        operator_id = fetch([claim])[claim]
        if operator_id:
            record = self.operators.get(operator_id)
            if record is not None:
                return record.operator, False
        return self.create(None, email, password, "owner"), True

    def _record(self, operator_id: str) -> OperatorRecord:
        record = self.operators.get(operator_id) if ids.raw_part(operator_id, "op") else None
        if record is None:
            raise operator_not_found()
        return record
