"""Environments and their key lifecycle: create (with a first key pair), rename and change the
room access settings, suspend and resume, disable, create/rotate/roll/revoke keys (a rolled key's
end, and the close of its sockets then), and the audit trail of each."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from .. import codes, ids
from ..access import Level
from ..auth import apikeys
from ..clock import Clock, iso, parse_iso
from ..config import Settings
from ..entities import Actor, ApiKey, AuditEvent, Environment, Page
from ..errors import Conflict, InvalidInput, NotFound
from ..repositories.environments import MAX_ACTIVE_KEYS, EnvState, NewKey
from ..repositories.reads import fetch
from .keyauth import expired
from .ports import AuditStore, DeliveryQueue, EnvironmentStore

log = logging.getLogger("pulse.environments")

DEFAULT_KEY_NAMES = {
    "publishable": "Publishable key",
    "secret": "Secret key",
    "restricted": "Restricted key",
}
# How long a rolled key keeps working beside its successor (`now`: not at all, as a revoke).
ROLL_GRACES = {"now": 0, "1h": 3600, "24h": 86400, "3d": 3 * 86400, "7d": 7 * 86400}
KEY_EXPIRY_MAX_SECONDS = 365 * 86400  # a key's expiresAt at creation: at most a year ahead
KEY_EXPIRY_JOB = "key.expiry"  # the queued message that closes a rolled pk_'s sockets
MAX_QUEUE_DELAY = 900  # SQS's longest DelaySeconds: longer waits are chained


def shown(key: ApiKey, now_iso: str) -> ApiKey:
    """The key with the status an operator reads: an active key with an end is `expiring`
    until it, `expired` after it (the stored status stays `active`: the end alone refuses it)."""
    if key.status != "active" or key.expires_at is None:
        return key
    return replace(key, status="expired" if expired(key, now_iso) else "expiring")


def environment_not_found() -> NotFound:
    return NotFound("No environment with this id.", code=codes.ENVIRONMENT_NOT_FOUND)


def environment_disabled(consequence: str = "its keys cannot change") -> Conflict:
    return Conflict(f"The environment is disabled; {consequence}.", code=codes.ENVIRONMENT_DISABLED)


def already_suspended() -> Conflict:
    return Conflict(
        "The environment is already suspended.", code=codes.ENVIRONMENT_ALREADY_SUSPENDED
    )


def not_suspended() -> Conflict:
    return Conflict("The environment is not suspended.", code=codes.ENVIRONMENT_NOT_SUSPENDED)


def keys_changed() -> Conflict:
    return Conflict(
        "The environment's keys changed while this request ran; nothing was changed.",
        code=codes.KEYS_CHANGED,
        suggestion="Reload the keys and retry.",
    )


def new_key(
    settings: Settings,
    env_id: str,
    kind: apikeys.KeyKind,
    name: str,
    created_by: str,
    now: str,
    limits: KeyLimits | None = None,
    *,
    expires_at: str | None = None,
    allowed_ips: tuple[str, ...] | None = None,
) -> NewKey:
    """A fresh key: the record (with the clear key, for the one response) and its digest."""
    key_id = ids.new_id("key")
    secret = apikeys.generate(kind, env_id, key_id)
    key = ApiKey(
        id=key_id,
        env_id=env_id,
        kind=kind,
        name=name,
        preview=apikeys.preview(secret),
        status="active",
        created_at=now,
        created_by=created_by,
        last_used_at=None,
        revoked_at=None,
        key=secret,
        scopes=limits.scopes if limits else None,
        rooms=limits.rooms if limits else None,
        expires_at=expires_at,
        allowed_ips=allowed_ips,
    )
    return NewKey(key=key, digest=apikeys.digest(settings.key_pepper, secret))


@dataclass(frozen=True)
class KeyLimits:
    """What a restricted key may do: its scopes (scopes.SCOPES) and, optionally, its rooms."""

    scopes: tuple[str, ...]
    rooms: str | None = None

    @staticmethod
    def of(
        kind: apikeys.KeyKind, scopes: tuple[str, ...] | None, rooms: str | None
    ) -> KeyLimits | None:
        """The limits a create request names, which only a restricted key has (and must)."""
        if kind != "restricted":
            for field, value in (("scopes", scopes), ("rooms", rooms)):
                if value is not None:
                    raise InvalidInput(field, "is only for a restricted key (kind `restricted`)")
            return None
        if not scopes:
            raise InvalidInput("scopes", "is required for a restricted key: a non-empty list")
        return KeyLimits(scopes, rooms)


@dataclass(frozen=True)
class LeakReport:
    """A reported key: whose it is, and whether this report revoked it (False: it already was)."""

    env_id: str
    key: ApiKey
    revoked_now: bool


# What report_leak reads and hashes against for a string that carries no ids: well-formed ids
# no environment has (an id's first 7 chars are its creation time: 0000000 is 1970), and a
# digest no key has (hex digests have no `-`).
_NO_KEY_IDS = ("env_0000000000000000", "key_0000000000000000")
_NO_DIGEST = "-" * 64


KeysDead = Callable[[str, "set[str] | None"], object]


@dataclass(frozen=True)
class EnvironmentChange:
    """What a PATCH of an environment changes (None: unchanged)."""

    name: str | None = None
    default_room_access: Level | None = None
    create_rooms_on_join: bool | None = None
    attachment_max_bytes: int | None = None
    attachment_types: tuple[str, ...] | None = None
    notification_delay_seconds: int | None = None
    retention_days: int | None = None  # 0: no retention

    @property
    def only_name(self) -> bool:
        return all(
            value is None
            for value in (
                self.default_room_access,
                self.create_rooms_on_join,
                self.attachment_max_bytes,
                self.attachment_types,
                self.notification_delay_seconds,
                self.retention_days,
            )
        )

    def details(self, before: Environment) -> dict[str, object]:
        """Each change as {"from", "to"}, for the audit log."""
        out: dict[str, object] = {}
        for attr, key in (
            ("name", "name"),
            ("default_room_access", "defaultRoomAccess"),
            ("create_rooms_on_join", "createRoomsOnJoin"),
            ("attachment_max_bytes", "attachmentMaxBytes"),
            ("attachment_types", "attachmentTypes"),
            ("notification_delay_seconds", "notificationDelaySeconds"),
            ("retention_days", "retentionDays"),
        ):
            value = getattr(self, attr)
            if value is not None:
                out[key] = {"from": getattr(before, attr), "to": value}
        return out


class EnvironmentService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        environments: EnvironmentStore,
        audit: AuditStore,
        on_keys_dead: KeysDead | None = None,
        queue: DeliveryQueue | None = None,
    ) -> None:
        self.repo = environments
        self.audit_log = audit
        self.settings = settings
        self.clock = clock
        # Told which keys just stopped (None: all of an environment's), so live WebSocket
        # connections opened with them can be closed. Never fails the admin request.
        self.on_keys_dead = on_keys_dead
        # Where the close of a rolled pk_'s sockets waits for its end (the webhook queue, SQS).
        self.queue = queue

    def _keys_dead(self, env_id: str, key_ids: set[str] | None) -> None:
        if self.on_keys_dead is None:
            return
        try:
            self.on_keys_dead(env_id, key_ids)
        except Exception:
            log.exception("could not close connections of dead keys", extra={"envId": env_id})

    # --- environments --------------------------------------------------------------------

    def create(self, actor: Actor, name: str) -> tuple[Environment, list[ApiKey]]:
        now = self.clock.now_iso()
        env = Environment(
            id=ids.new_id("env"),
            name=name,
            status="active",
            created_at=now,
            created_by=actor.email,
            updated_at=now,
            disabled_at=None,
        )
        pair = self._new_pair(env.id, actor, now, names=DEFAULT_KEY_NAMES)
        audit = self.audit_log.new_event(
            actor,
            "environment.created",
            env_id=env.id,
            target_type="environment",
            target_id=env.id,
            now_iso=now,
            details={"name": name},
        )
        self.repo.create(env, pair, audit)
        return env, [k.key for k in pair]

    def list_environments(self, q: str | None, limit: int, cursor: str | None) -> Page[Environment]:
        return self.repo.list_environments(
            q, limit=limit, cursor=cursor, secret=self.settings.signing_secret
        )

    def get(self, env_id: str) -> Environment:
        return self._state(env_id).environment

    def update(self, actor: Actor, env_id: str, change: EnvironmentChange) -> Environment:
        """Rename and/or change the room access settings, audited in the same transaction."""
        state = self._state(env_id)
        env = state.environment
        if env.status != "active":
            raise environment_disabled()
        now = self.clock.now_iso()
        updated = replace(
            env,
            name=change.name if change.name is not None else env.name,
            default_room_access=change.default_room_access or env.default_room_access,
            create_rooms_on_join=(
                change.create_rooms_on_join
                if change.create_rooms_on_join is not None
                else env.create_rooms_on_join
            ),
            attachment_max_bytes=change.attachment_max_bytes or env.attachment_max_bytes,
            attachment_types=change.attachment_types or env.attachment_types,
            notification_delay_seconds=(
                change.notification_delay_seconds
                if change.notification_delay_seconds is not None
                else env.notification_delay_seconds
            ),
            retention_days=(
                (change.retention_days or None)
                if change.retention_days is not None
                else env.retention_days
            ),
            updated_at=now,
        )
        details: dict[str, object]
        if change.name is not None and change.only_name:
            action, details = "environment.renamed", {"from": env.name, "to": change.name}
        else:
            action, details = "environment.updated", change.details(env)
        audit = self.audit_log.new_event(
            actor,
            action,
            env_id=env_id,
            target_type="environment",
            target_id=env_id,
            now_iso=now,
            details=details,
        )
        if not self.repo.update(updated, now, audit):
            raise environment_disabled()
        return updated

    def disable(self, actor: Actor, env_id: str, confirm_name: str) -> None:
        """Disable for good (every key revoked), only when the request names the environment:
        a request that reached this by accident (a mistyped id, a resolved `..`) changes
        nothing. The name is the one just read: no extra call."""
        state = self._state(env_id)
        if confirm_name != state.environment.name:
            raise InvalidInput(
                "confirmName",
                "is not this environment's name; send its name, exactly, to disable it",
                code=codes.CONFIRM_NAME_MISMATCH,
            )
        if state.environment.status != "active":
            raise environment_disabled()
        now = self.clock.now_iso()
        audit = self.audit_log.new_event(
            actor,
            "environment.disabled",
            env_id=env_id,
            target_type="environment",
            target_id=env_id,
            now_iso=now,
            details={"revokedKeys": sorted(state.active_key_ids)},
        )
        if not self.repo.disable(state, now, audit):
            raise keys_changed()
        self._keys_dead(env_id, None)

    def suspend(self, actor: Actor, env_id: str) -> Environment:
        """Refuse every request and connection of the environment until it is resumed (its keys
        stay as they are), and close its live WebSocket connections."""
        env = self._set_suspended(actor, env_id, suspended=True)
        # Every connection of the environment, whatever its keys: the same kick as a disable.
        self._keys_dead(env_id, None)
        return env

    def resume(self, actor: Actor, env_id: str) -> Environment:
        """End a suspension: the same keys and tokens work again on their next request."""
        return self._set_suspended(actor, env_id, suspended=False)

    def _set_suspended(self, actor: Actor, env_id: str, *, suspended: bool) -> Environment:
        state = self._state(env_id)
        self._check_can_suspend(state, suspended)
        now = self.clock.now_iso()
        audit = self.audit_log.new_event(
            actor,
            "environment.suspended" if suspended else "environment.resumed",
            env_id=env_id,
            target_type="environment",
            target_id=env_id,
            now_iso=now,
        )
        if not self.repo.set_suspended(env_id, suspended, now, audit):
            # A racing request changed it since the read: say what it is now.
            self._check_can_suspend(self._state(env_id), suspended)
            raise Conflict(
                "The environment changed while this request ran; nothing was changed.",
                code=codes.ENVIRONMENT_CHANGED,
                suggestion="Reload the environment and retry.",
            )
        return replace(state.environment, suspended_at=now if suspended else None, updated_at=now)

    @staticmethod
    def _check_can_suspend(state: EnvState, suspended: bool) -> None:
        env = state.environment
        if env.status != "active":
            raise environment_disabled("it cannot be suspended or resumed")
        if suspended and env.suspended_at is not None:
            raise already_suspended()
        if not suspended and env.suspended_at is None:
            raise not_suspended()

    # --- keys ----------------------------------------------------------------------------

    def list_keys(self, env_id: str, q: str | None, limit: int, cursor: str | None) -> Page[ApiKey]:
        self._state(env_id)
        page = self.repo.list_keys(
            env_id, q, limit=limit, cursor=cursor, secret=self.settings.signing_secret
        )
        now = self.clock.now_iso()
        return replace(page, data=[shown(k, now) for k in page.data])

    def create_key(
        self,
        actor: Actor,
        env_id: str,
        kind: apikeys.KeyKind,
        name: str | None,
        *,
        scopes: tuple[str, ...] | None = None,
        rooms: str | None = None,
        expires_at: str | None = None,
        allowed_ips: tuple[str, ...] | None = None,
    ) -> ApiKey:
        limits = KeyLimits.of(kind, scopes, rooms)
        if kind == "publishable":
            for field, value in (("expiresAt", expires_at), ("allowedIps", allowed_ips)):
                if value is not None:  # a pk_ is public and its sockets come from anywhere
                    raise InvalidInput(field, "is for secret keys only; leave it out for a pk_")
        if expires_at is not None:
            self._check_expiry(expires_at)
        state = self._active_state(env_id)
        if len(state.active_key_ids) >= MAX_ACTIVE_KEYS:
            raise Conflict(
                f"An environment can have at most {MAX_ACTIVE_KEYS} active keys.",
                code=codes.TOO_MANY_KEYS,
                suggestion="Revoke keys you no longer use.",
            )
        now = self.clock.now_iso()
        new = new_key(
            self.settings,
            env_id,
            kind,
            name or DEFAULT_KEY_NAMES[kind],
            actor.email,
            now,
            limits,
            expires_at=expires_at,
            allowed_ips=allowed_ips,
        )
        details: dict[str, object] = {"kind": kind, "name": new.key.name}
        if limits is not None:
            details.update(scopes=list(limits.scopes), rooms=limits.rooms)
        if expires_at is not None:
            details["expiresAt"] = expires_at
        if allowed_ips is not None:
            details["allowedIps"] = list(allowed_ips)
        audit = self.audit_log.new_event(
            actor,
            "key.created",
            env_id=env_id,
            target_type="key",
            target_id=new.key.id,
            now_iso=now,
            details=details,
        )
        if not self.repo.add_key(state, new, audit):
            raise keys_changed()
        return new.key

    def rotate(self, actor: Actor, env_id: str) -> tuple[list[ApiKey], list[str]]:
        """A new active pair in, every active key out, in one transaction."""
        state = self._active_state(env_id)
        now = self.clock.now_iso()
        pair = self._new_pair(env_id, actor, now, names=DEFAULT_KEY_NAMES)
        revoked = sorted(state.active_key_ids)
        audit = self.audit_log.new_event(
            actor,
            "keys.rotated",
            env_id=env_id,
            target_type="environment",
            target_id=env_id,
            now_iso=now,
            details={"created": [k.key.id for k in pair], "revoked": revoked},
        )
        if not self.repo.rotate(state, pair, now, audit):
            raise keys_changed()
        self._keys_dead(env_id, set(revoked))
        return [k.key for k in pair], revoked

    def _check_expiry(self, expires_at: str) -> None:
        now = self.clock.now()
        at = parse_iso(expires_at)
        if at <= now:
            raise InvalidInput("expiresAt", "must be in the future")
        if at > now + KEY_EXPIRY_MAX_SECONDS:
            raise InvalidInput("expiresAt", "must be within 365 days")

    def roll(self, actor: Actor, env_id: str, key_id: str, expires_in: str) -> ApiKey:
        """A successor of the key (same kind, name and allowed addresses), the old one ending
        `expires_in` from now: `now` revokes it at once (its tokens and sockets die, as a revoke);
        a grace leaves it active until then, when its sockets are closed (a queued job)."""
        state, key = self._state_with_key(env_id, key_id)
        now = self.clock.now()
        now_iso = iso(now)
        if state.environment.status != "active":
            raise environment_disabled()
        if key.status != "active":
            raise Conflict("The key is already revoked.", code=codes.KEY_ALREADY_REVOKED)
        if expired(key, now_iso):
            raise Conflict("The key has already expired.", code=codes.KEY_EXPIRED)
        if len(state.active_key_ids) >= MAX_ACTIVE_KEYS and expires_in != "now":
            raise Conflict(
                f"An environment can have at most {MAX_ACTIVE_KEYS} active keys; a key rolled "
                "with a grace stays active beside its successor until it expires.",
                code=codes.TOO_MANY_KEYS,
                suggestion="Revoke keys you no longer use, or roll with expiresIn `now`.",
            )
        grace = ROLL_GRACES[expires_in]
        if grace and self.settings.key_grace_seconds:
            grace = self.settings.key_grace_seconds  # tests only: an end that comes soon
        ends = now_iso if not grace else iso(now + grace)
        if key.expires_at is not None and key.expires_at < ends:
            ends = key.expires_at  # a roll never lengthens a key's life
        # The same kind, name, scopes, rooms and addresses (a restricted key stays restricted).
        limits = KeyLimits(key.scopes, key.rooms) if key.scopes is not None else None
        kinds: dict[str, apikeys.KeyKind] = {
            "publishable": "publishable",
            "secret": "secret",
            "restricted": "restricted",
        }
        new = new_key(
            self.settings,
            env_id,
            kinds[key.kind],
            key.name,
            actor.email,
            now_iso,
            limits,
            allowed_ips=key.allowed_ips,
        )
        audit = self.audit_log.new_event(
            actor,
            "key.rolled",
            env_id=env_id,
            target_type="key",
            target_id=key_id,
            now_iso=now_iso,
            details={
                "kind": key.kind,
                "name": key.name,
                "newKeyId": new.key.id,
                "expiresIn": expires_in,
                "expiresAt": ends,
            },
        )
        cut = not grace
        if not self.repo.roll(state, key_id, new, ends, audit, cut=cut):
            raise keys_changed()
        if cut:
            self._keys_dead(env_id, {key_id})
        elif key.kind == "publishable":
            self._schedule_expiry(env_id, key_id, parse_iso(ends))
        return new.key

    def _schedule_expiry(self, env_id: str, key_id: str, at: float) -> None:
        """Queue the close of the key's sockets for its end; never fails the admin request
        (the key is refused at $connect from then on whatever happens to the job)."""
        if self.queue is None:
            return
        message = {"job": KEY_EXPIRY_JOB, "envId": env_id, "keyId": key_id, "at": at}
        try:
            self.queue.send(message, self._delay(at))
        except Exception:
            log.exception("could not queue a key's end", extra={"envId": env_id, "keyId": key_id})

    def _delay(self, at: float) -> int:
        return max(0, min(MAX_QUEUE_DELAY, int(at - self.clock.now() + 0.999)))

    def on_key_expiry(self, message: dict[str, object]) -> bool:
        """A queued key end: before its time, wait again (SQS holds a message 15 minutes at
        most); at it, close the sockets opened with the key if it is still ended (read again:
        a key revoked since is closed too, one that still works is left). True when closed."""
        env_id, key_id, at = message.get("envId"), message.get("keyId"), message.get("at")
        if not isinstance(env_id, str) or not isinstance(key_id, str):
            return False
        if not isinstance(at, int | float):
            return False
        if at > self.clock.now():
            if self.queue is not None:
                self.queue.send(message, self._delay(at))
            return False
        if not (ids.raw_part(env_id, "env") and ids.raw_part(key_id, "key")):
            return False
        state, key = self.repo.get_with_key(env_id, key_id)
        if state is None or key is None:
            return False
        if key.status == "active" and not expired(key, self.clock.now_iso()):
            return False
        self._keys_dead(env_id, {key_id})
        return True

    def _state_with_key(self, env_id: str, key_id: str) -> tuple[EnvState, ApiKey]:
        key: ApiKey | None = None
        if ids.raw_part(env_id, "env") and ids.raw_part(key_id, "key"):
            state, key = self.repo.get_with_key(env_id, key_id)
        else:
            state = self._state(env_id)  # 404 for a malformed env id; a malformed key id: below
        if state is None:
            raise environment_not_found()
        if key is None:
            raise NotFound("No key with this id in this environment.", code=codes.KEY_NOT_FOUND)
        return state, key

    def revoke(self, actor: Actor, env_id: str, key_id: str) -> ApiKey:
        state, key = self._state_with_key(env_id, key_id)
        if key.status != "active":
            raise Conflict("The key is already revoked.", code=codes.KEY_ALREADY_REVOKED)
        now = self.clock.now_iso()
        audit = self.audit_log.new_event(
            actor,
            "key.revoked",
            env_id=env_id,
            target_type="key",
            target_id=key_id,
            now_iso=now,
            details={"kind": key.kind, "name": key.name},
        )
        if not self.repo.revoke(state, key_id, now, audit):
            raise keys_changed()
        self._keys_dead(env_id, {key_id})
        return replace(key, status="revoked", revoked_at=now)

    def report_leak(self, actor: Actor, raw: str) -> LeakReport | None:
        """Revoke a key found where it should not be (a repository, a paste), in whichever
        environment it is: its ids are inside it, and its digest must match the stored one (a
        well-formed key with a forged checksum or secret is no key of ours). Audited as a leak
        in its environment, revoked as `revoke` does (its tokens and sockets end at once). A key
        already revoked is reported and audited again, and stays revoked.

        None when it changed nothing: no Pulse key (format or checksum), no key of this
        deployment, or a publishable key (public by design: not revoked, not audited). The
        caller answers the same either way, so the lookup costs the same too: every string is
        read (one consistent BatchGetItem of an environment and a key item, at placeholder ids
        when it carries none) and hashed; only a found `sk_`/`rk_` goes on to write."""
        text = raw.strip()
        parsed = apikeys.parse(text)
        env_id, key_id = (parsed.env_id, parsed.key_id) if parsed else _NO_KEY_IDS
        env_read = self.repo.environment_read(env_id)
        key_read = self.repo.stored_key_read(env_id, key_id)
        got = fetch([env_read, key_read])
        state, stored = got[env_read], got[key_read]
        hashed = apikeys.matches(
            self.settings.key_pepper, text, stored.digest if stored else _NO_DIGEST
        )
        if (
            parsed is None
            or parsed.kind not in apikeys.SECRET_KINDS  # a pk_: public by design
            or state is None
            or stored is None
            or stored.key.kind != parsed.kind
            or not hashed
        ):
            return None
        key, now = stored.key, self.clock.now_iso()
        active = key.status == "active"
        audit = self.audit_log.new_event(
            actor,
            "key.leaked",
            env_id=parsed.env_id,
            target_type="key",
            target_id=key.id,
            now_iso=now,
            details={"kind": key.kind, "name": key.name, "revoked": active},
        )
        if not active:
            self.repo.record_leak(parsed.env_id, key.preview, now, audit)
            return LeakReport(parsed.env_id, key, revoked_now=False)
        if not self.repo.revoke(state, key.id, now, audit, leaked=key.preview):
            raise keys_changed()
        self._keys_dead(parsed.env_id, {key.id})
        return LeakReport(parsed.env_id, replace(key, status="revoked", revoked_at=now), True)

    def dismiss_leak(self, actor: Actor, env_id: str) -> Environment:
        """Hide the environment's leak banner (the key stays revoked). Dismissing none is a
        no-op, so a second click or a racing operator gets the same answer."""
        env = self._state(env_id).environment
        if env.leak_reported_at is None:
            return env
        audit = self.audit_log.new_event(
            actor,
            "environment.leak_dismissed",
            env_id=env_id,
            target_type="environment",
            target_id=env_id,
            now_iso=self.clock.now_iso(),
            details={"key": env.leaked_key, "reportedAt": env.leak_reported_at},
        )
        self.repo.dismiss_leak(env_id, audit)
        return replace(env, leak_reported_at=None, leaked_key=None)

    def audit(self, env_id: str, limit: int, cursor: str | None) -> Page[AuditEvent]:
        self._state(env_id)
        return self.audit_log.list_events(
            env_id, limit=limit, cursor=cursor, secret=self.settings.signing_secret
        )

    def record(
        self,
        actor: Actor,
        env_id: str,
        action: str,
        target_type: str,
        target_id: str,
        details: dict[str, object] | None = None,
    ) -> None:
        """Audit an operator's change to the environment's data (room/thread/comment deletes,
        a room's access)."""
        self.audit_log.record(
            self.audit_log.new_event(
                actor,
                action,
                env_id=env_id,
                target_type=target_type,
                target_id=target_id,
                now_iso=self.clock.now_iso(),
                details=details,
            )
        )

    # --- helpers -------------------------------------------------------------------------

    def _state(self, env_id: str) -> EnvState:
        state = self.repo.get(env_id) if ids.raw_part(env_id, "env") else None
        if state is None:
            raise environment_not_found()
        return state

    def _active_state(self, env_id: str) -> EnvState:
        state = self._state(env_id)
        if state.environment.status != "active":
            raise environment_disabled()
        return state

    def _new_pair(
        self, env_id: str, actor: Actor, now: str, *, names: dict[str, str]
    ) -> list[NewKey]:
        return [
            new_key(self.settings, env_id, "publishable", names["publishable"], actor.email, now),
            new_key(self.settings, env_id, "secret", names["secret"], actor.email, now),
        ]
