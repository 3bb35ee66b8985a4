"""What the services need of storage: one narrow interface per repository, listing exactly the
calls services make. The repository modules implement them (a module satisfies a Protocol); the
composition root (runtime.py) hands each service its stores, and tests may hand in fakes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from ..entities import (
    Actor,
    ApiKey,
    Attachment,
    AuditEvent,
    Comment,
    Connection,
    Environment,
    InboxEntry,
    Operator,
    Page,
    Reaction,
    Room,
    RoomEvent,
    Thread,
    User,
    Webhook,
    WebhookDelivery,
)
from ..outbound.http import Answer
from ..repositories.attachments import StoredAttachment
from ..repositories.connections import UserWrite
from ..repositories.environments import EnvState, NewKey, StoredKey
from ..repositories.erasure import JobState, JobWrite, Reacted
from ..repositories.events import EventsAfter, StoredAck
from ..repositories.idempotency import IdempotencyRecord
from ..repositories.inbox import InboxState
from ..repositories.login_throttles import HourCount, Release, Reserved, Throttle
from ..repositories.operators import OperatorRecord
from ..repositories.reads import Read
from ..repositories.rooms import Changed, RoomState, ThreadState
from ..repositories.stats import Change
from ..repositories.user_connections import UserConnections
from ..repositories.users import Revocation, SeenWrite
from ..repositories.webhooks import DeliveryState, WebhookState


class RoomStore(Protocol):
    """Rooms, threads and comments (repositories/rooms.py)."""

    def latest_comments(self, env_id: str, thread_id: str, n: int) -> list[Comment]: ...
    def room_read(self, env_id: str, room_id: str) -> Read[RoomState | None]: ...
    def purge_read(self, env_id: str, room_id: str) -> Read[set[str]]: ...
    def thread_read(
        self, env_id: str, room_id: str, thread_id: str
    ) -> Read[ThreadState | None]: ...
    def comment_read(
        self, env_id: str, thread_id: str, comment_id: str
    ) -> Read[Comment | None]: ...
    def list_rooms(
        self, env_id: str, *, limit: int, cursor: str | None, secret: bytes
    ) -> Page[Room]: ...
    def create_room(self, env_id: str, room: Room, gen: str) -> bool: ...
    def update_room(
        self, env_id: str, room_id: str, metadata: dict[str, Any], now_iso: str, event: RoomEvent
    ) -> RoomEvent | None: ...
    def change_access(
        self, env_id: str, state: RoomState, after: Room, event: RoomEvent
    ) -> Changed | None: ...
    def purge_grants(self, env_id: str, room: Room) -> None: ...
    def list_granted(
        self,
        env_id: str,
        user_id: str | None,
        group_ids: Sequence[str],
        *,
        limit: int,
        cursor: str | None,
        secret: bytes,
    ) -> Page[Room]: ...
    def delete_room(self, env_id: str, state: RoomState, event: RoomEvent) -> RoomEvent | None: ...
    def purge_room(self, env_id: str, room_id: str, gens: set[str]) -> bool: ...
    def pending_purges(
        self, env_id: str
    ) -> tuple[list[tuple[str, set[str]]], list[tuple[str, str]]]: ...
    def finish_thread_purge(self, env_id: str, thread_id: str) -> list[str]: ...
    def expired_threads(
        self, env_id: str, room: RoomState, cutoff_iso: str, after: str | None, limit: int
    ) -> tuple[list[str], str | None]: ...
    def list_threads(
        self,
        env_id: str,
        room: RoomState,
        resolved: bool | None,
        *,
        limit: int,
        cursor: str | None,
        secret: bytes,
    ) -> Page[Thread]: ...
    def create_thread(
        self,
        env_id: str,
        room: RoomState,
        thread: Thread,
        first: Comment,
        today: str,
        event: RoomEvent,
        claims: Sequence[Change] = ...,
    ) -> RoomEvent | None: ...
    def update_thread(
        self,
        env_id: str,
        state: ThreadState,
        *,
        resolved: bool | None,
        metadata: dict[str, Any] | None,
        now_iso: str,
        event: RoomEvent,
    ) -> RoomEvent | None: ...
    def delete_thread(
        self,
        env_id: str,
        room: RoomState,
        state: ThreadState,
        event: RoomEvent,
        files: list[str] | None = ...,
    ) -> RoomEvent | None: ...
    def list_comments(
        self, env_id: str, thread_id: str, *, limit: int, cursor: str | None, secret: bytes
    ) -> Page[Comment]: ...
    def first_comments(
        self, env_id: str, thread_id: str, comments: list[Comment], secret: bytes
    ) -> Page[Comment]: ...
    def create_comment(
        self,
        env_id: str,
        room: RoomState,
        state: ThreadState,
        comment: Comment,
        today: str,
        event: RoomEvent,
        claims: Sequence[Change] = ...,
    ) -> RoomEvent | None: ...
    def update_comment(
        self,
        env_id: str,
        comment: Comment,
        body: str,
        mentions: Sequence[str],
        now_iso: str,
        event: RoomEvent,
    ) -> RoomEvent | None: ...
    def delete_comment(
        self, env_id: str, room: RoomState, state: ThreadState, comment: Comment, event: RoomEvent
    ) -> RoomEvent | None: ...
    def reaction_read(
        self, env_id: str, thread_id: str, comment_id: str, emoji: str, user_id: str
    ) -> Read[bool]: ...
    def react(
        self,
        env_id: str,
        state: ThreadState,
        comment: Comment,
        after: Sequence[Reaction],
        *,
        emoji: str,
        user_id: str,
        added: bool,
        event: RoomEvent,
    ) -> RoomEvent | None: ...


class AttachmentStore(Protocol):
    """Attachment records (repositories/attachments.py)."""

    def attachment_read(
        self, env_id: str, attachment_id: str, now: int
    ) -> Read[StoredAttachment | None]: ...
    def create(
        self, env_id: str, room_id: str, a: Attachment, now_iso: str, expires_at: int
    ) -> None: ...
    def claims(
        self,
        env_id: str,
        room_id: str,
        attachments: Sequence[Attachment],
        thread_id: str,
        comment_id: str,
    ) -> list[Change]: ...


class FileStore(Protocol):
    """The attachments bucket (outbound/files.py: S3, signed in process)."""

    def upload(self, key: str, mime_type: str, size: int, expires_in: int) -> dict[str, Any]: ...
    def download_url(self, key: str, expires_in: int) -> str: ...
    def exists(self, key: str) -> bool: ...
    def put(self, key: str, body: bytes, content_type: str) -> None: ...
    def mark_attached(self, key: str) -> None: ...
    def delete(self, keys: Sequence[str]) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...


class EventLog(Protocol):
    """Each room's events in order, and the acknowledgements of named socket writes
    (repositories/events.py)."""

    def head_read(self, env_id: str, room_id: str) -> Read[int]: ...
    def mutation_read(
        self, env_id: str, room_id: str, user_id: str, client_mutation_id: str, now: int
    ) -> Read[StoredAck | None]: ...
    def events_after(
        self, env_id: str, room_id: str, since: int, limit: int, now: int
    ) -> EventsAfter: ...


class InboxStore(Protocol):
    """Unread state, inboxes, subscriptions and room settings (repositories/inbox.py)."""

    def state_read(self, env_id: str, user_id: str, thread_id: str) -> Read[InboxState]: ...
    def count_read(self, env_id: str, user_id: str) -> Read[int]: ...
    def subscription_read(self, env_id: str, thread_id: str, user_id: str) -> Read[str | None]: ...
    def setting_read(self, env_id: str, user_id: str, room_id: str) -> Read[str]: ...
    def save(self, before: InboxState, after: InboxState) -> bool: ...
    def drop(self, before: InboxState) -> bool: ...
    def entry_sk(self, activity_at: str, thread_id: str) -> str: ...
    def entries(
        self, env_id: str, user_id: str, *, limit: int, cursor: str | None, secret: bytes
    ) -> Page[InboxEntry]: ...
    def subscribers(self, env_id: str, thread_id: str) -> dict[str, tuple[str, int]]: ...
    def subscribe(
        self, env_id: str, room_id: str, thread_id: str, user_id: str, state: str, since_seq: int
    ) -> None: ...
    def subscribe_auto(
        self, env_id: str, room_id: str, thread_id: str, user_ids: Iterable[str], seq: int
    ) -> None: ...
    def unsubscribe_all(self, env_id: str, thread_id: str, user_ids: Iterable[str]) -> None: ...
    def set_setting(self, env_id: str, user_id: str, room_id: str, setting: str) -> None: ...


class StatsStore(Protocol):
    """Counters (repositories/stats.py)."""

    def totals_and_comments(
        self, env_id: str, first: str, last: str
    ) -> tuple[dict[str, int], dict[str, int]]: ...


class UsageStore(Protocol):
    """Usage counters per environment and day (repositories/usage_days.py)."""

    def add(self, env_id: str, day: str, counts: Mapping[str, int], expires_at: int) -> None: ...

    def days(self, env_id: str, first: str, last: str) -> dict[str, dict[str, int]]: ...

    def live(self, env_id: str, delta: int) -> int: ...

    def raise_peak(self, env_id: str, day: str, value: int, expires_at: int) -> bool: ...

    def seen(
        self, env_id: str, user_id: str, periods: Mapping[str, str]
    ) -> dict[str, bool] | None: ...

    def add_room(
        self, env_id: str, day: str, room_id: str, counts: Mapping[str, int], expires_at: int
    ) -> dict[str, int]: ...

    def standing(self, env_id: str, day: str) -> tuple[dict[str, dict[str, int]], int]: ...

    def save_standing(
        self,
        env_id: str,
        day: str,
        top: Mapping[str, Mapping[str, int]],
        version: int,
        expires_at: int,
    ) -> bool: ...

    def standings(
        self, env_id: str, first: str, last: str
    ) -> dict[str, dict[str, dict[str, int]]]: ...


class UserStore(Protocol):
    """Users of an environment (repositories/users.py)."""

    def user_read(self, env_id: str, user_id: str) -> Read[User | None]: ...
    def list_users(
        self, env_id: str, *, limit: int, cursor: str | None, secret: bytes
    ) -> Page[User]: ...
    def record_seen(self, w: SeenWrite) -> None: ...
    def search(self, env_id: str, q: str, limit: int) -> list[User]: ...
    def revocation_read(self, env_id: str, user_id: str) -> Read[Revocation]: ...
    def revoke_tokens(self, env_id: str, user_id: str, now_iso: str) -> Revocation | None: ...


class EnvironmentStore(Protocol):
    """Environments and their keys (repositories/environments.py)."""

    def environment_read(self, env_id: str) -> Read[EnvState | None]: ...
    def stored_key_read(self, env_id: str, key_id: str) -> Read[StoredKey | None]: ...
    def key_read(self, env_id: str, key_id: str) -> Read[ApiKey | None]: ...
    def get(self, env_id: str) -> EnvState | None: ...
    def get_with_key(self, env_id: str, key_id: str) -> tuple[EnvState | None, ApiKey | None]: ...
    def list_environments(
        self, q: str | None, *, limit: int, cursor: str | None, secret: bytes
    ) -> Page[Environment]: ...
    def list_keys(
        self, env_id: str, q: str | None, *, limit: int, cursor: str | None, secret: bytes
    ) -> Page[ApiKey]: ...
    def create(self, environment: Environment, keys: list[NewKey], audit: AuditEvent) -> None: ...
    def update(self, env: Environment, now_iso: str, audit: AuditEvent) -> bool: ...
    def disable(self, state: EnvState, now_iso: str, audit: AuditEvent) -> bool: ...
    def set_suspended(
        self, env_id: str, suspended: bool, now_iso: str, audit: AuditEvent
    ) -> bool: ...
    def add_key(self, state: EnvState, new: NewKey, audit: AuditEvent) -> bool: ...
    def rotate(
        self, state: EnvState, new_keys: list[NewKey], now_iso: str, audit: AuditEvent
    ) -> bool: ...
    def revoke(
        self,
        state: EnvState,
        key_id: str,
        now_iso: str,
        audit: AuditEvent,
        leaked: str | None = None,
    ) -> bool: ...
    def record_leak(self, env_id: str, preview: str, now_iso: str, audit: AuditEvent) -> None: ...
    def dismiss_leak(self, env_id: str, audit: AuditEvent) -> bool: ...
    def roll(
        self,
        state: EnvState,
        old_id: str,
        new: NewKey,
        expires_at: str,
        audit: AuditEvent,
        *,
        cut: bool,
    ) -> bool: ...
    def touch_last_used(self, env_id: str, key_id: str, now_iso: str, cutoff_iso: str) -> None: ...


class AuditStore(Protocol):
    """Audit events (repositories/audit.py)."""

    def new_event(
        self,
        actor: Actor,
        action: str,
        *,
        env_id: str | None,
        target_type: str,
        target_id: str,
        now_iso: str,
        details: dict[str, object] | None = None,
    ) -> AuditEvent: ...
    def list_events(
        self, env_id: str | None, *, limit: int, cursor: str | None, secret: bytes
    ) -> Page[AuditEvent]: ...
    def record(self, event: AuditEvent) -> None: ...


class ConnectionStore(Protocol):
    """Live WebSocket connections (repositories/connections.py)."""

    def by_ids(self, connection_ids: Sequence[str]) -> list[Connection]: ...
    def add(
        self,
        c: Connection,
        room: RoomState | None,
        *,
        cap: int,
        now_iso: str,
        user: UserWrite | None = None,
        revocation: Revocation | None = None,
        default_access: str = ...,
    ) -> None: ...
    def get(self, connection_id: str) -> Connection | None: ...
    def hit(
        self, connection_id: str, window: int, limit: int
    ) -> tuple[Connection | None, bool]: ...
    def room_members(self, env_id: str, room_id: str, now: float) -> list[Connection]: ...
    def environment_connections(self, env_id: str, now: float) -> list[Connection]: ...
    def user_connections_in(self, env_id: str, user_id: str, now: float) -> list[Connection]: ...
    def set_presence(self, c: Connection, presence: dict[str, Any]) -> None: ...
    def set_access_many(self, changes: Sequence[tuple[Connection, str]]) -> None: ...
    def remove_many(self, gone: Sequence[Connection]) -> list[Connection]: ...
    def recount(self, env_id: str, room_id: str, now: float) -> int: ...


class UserConnectionStore(Protocol):
    """Each user's live connections (repositories/user_connections.py)."""

    def read(self, env_id: str, user_id: str) -> Read[UserConnections]: ...


class IdempotencyStore(Protocol):
    """Idempotency-Key records (repositories/idempotency.py)."""

    def record_read(self, env_id: str, key: str, now: float) -> Read[IdempotencyRecord | None]: ...
    def claim(
        self,
        env_id: str,
        key: str,
        *,
        fingerprint: str,
        owner: str,
        now: float,
        lock_until: float,
        expires_at: float,
    ) -> bool: ...
    def complete(self, env_id: str, key: str, owner: str, status: int, body: str) -> bool: ...
    def release(self, env_id: str, key: str, owner: str) -> None: ...


class CounterStore(Protocol):
    """Abuse-limit counters (repositories/ratelimits.py)."""

    def add(
        self, key: str, names: Sequence[str], expires_at: int, sk: str = ...
    ) -> dict[str, int]: ...
    def add_unless_at(
        self, key: str, names: Sequence[str], expires_at: int, cap: tuple[str, int], sk: str = ...
    ) -> dict[str, int] | None: ...
    def counter_read(self, key: str, sk: str = ...) -> Read[int]: ...
    def day_totals(self, key: str) -> list[tuple[str, dict[str, int]]]: ...


class LoginThrottleStore(Protocol):
    """Operator login throttles (repositories/login_throttles.py)."""

    def source_read(self, source: str, now: float) -> Read[Throttle]: ...
    def device_read(self, email: str, device_id: str, now: float) -> Read[Throttle]: ...
    def hour_read(self, email: str, window: int, ends: int) -> Read[HourCount]: ...
    def reserve(
        self,
        throttles: Sequence[Throttle],
        hour: HourCount | None,
        cap: int,
        *,
        now: float,
        until: float,
    ) -> Reserved: ...
    def record_failure(self, t: Throttle, *, locked_until: float, forget_at: float) -> None: ...
    def end_check(self, t: Throttle) -> None: ...


class OperatorStore(Protocol):
    """Operators and their sessions (repositories/operators.py)."""

    def get(self, operator_id: str) -> OperatorRecord | None: ...
    def get_with_session(
        self, operator_id: str, token_hash: str
    ) -> tuple[OperatorRecord | None, float | None, int | None]: ...
    def claim_read(self, email: str) -> Read[str | None]: ...
    def start_session(
        self,
        record: OperatorRecord,
        token_hash: str,
        *,
        now_iso: str,
        expires_at: float,
        release: Release | None,
    ) -> None: ...
    def end_session(self, operator_id: str, token_hash: str) -> None: ...
    def list_operators(
        self, *, limit: int, cursor: str | None, secret: bytes
    ) -> Page[Operator]: ...
    def create(self, op: Operator, password_hash: str, audit: AuditEvent | None) -> bool: ...
    def update(
        self,
        before: OperatorRecord,
        *,
        role: str | None,
        password_hash: str | None,
        now_iso: str,
        audit: AuditEvent,
    ) -> None: ...
    def delete(self, before: OperatorRecord, audit: AuditEvent) -> None: ...


class WebhookStore(Protocol):
    """Webhook endpoints and deliveries (repositories/webhooks.py)."""

    def get(self, env_id: str, webhook_id: str) -> WebhookState | None: ...
    def list_webhooks(
        self, env_id: str, *, limit: int, cursor: str | None, secret: bytes
    ) -> Page[Webhook]: ...
    def all_webhooks(self, env_id: str) -> list[WebhookState]: ...
    def create(self, webhook: Webhook, secret: str, audit: AuditEvent) -> None: ...
    def update(
        self, env_id: str, webhook_id: str, changes: dict[str, Any], audit: AuditEvent
    ) -> bool: ...
    def delete(self, env_id: str, webhook_id: str, audit: AuditEvent) -> bool: ...
    def disable(
        self, env_id: str, webhook_id: str, reason: str, now_iso: str, audit: AuditEvent
    ) -> bool: ...
    def mark_failing(self, env_id: str, webhook_id: str, since_iso: str) -> None: ...
    def clear_failing(self, env_id: str, webhook_id: str) -> None: ...
    def add_delivery(
        self, env_id: str, delivery: WebhookDelivery, payload: str, now: float
    ) -> bool: ...
    def get_delivery(
        self, env_id: str, webhook_id: str, delivery_id: str
    ) -> DeliveryState | None: ...
    def list_deliveries(
        self, env_id: str, webhook_id: str, *, limit: int, cursor: str | None, secret: bytes
    ) -> Page[WebhookDelivery]: ...
    def record_attempt(self, env_id: str, delivery: WebhookDelivery) -> None: ...
    def failed_since(self, env_id: str, webhook_id: str, since_ms: int) -> list[DeliveryState]: ...


class ErasureStore(Protocol):
    """repositories/erasure.py: erase jobs, the walk's reads, each change with the job's cursor."""

    def job_read(self, env_id: str, job_id: str) -> Read[JobState | None]: ...
    def get_job(self, env_id: str, job_id: str) -> JobState | None: ...
    def create_job(self, state: JobState, audit_event: AuditEvent) -> None: ...
    def save(self, state: JobState, w: JobWrite) -> JobState: ...
    def record_failure(self, state: JobState, now_iso: str, error: str, failed: bool) -> bool: ...
    def room_ids(self, env_id: str, prefix: str, after: str | None, limit: int) -> list[str]: ...
    def room_gen(self, env_id: str, room_id: str) -> str | None: ...
    def threads(
        self, env_id: str, room_id: str, after: str | None, limit: int
    ) -> list[ThreadState]: ...
    def thread(self, env_id: str, room_id: str, thread_id: str) -> ThreadState | None: ...
    def comments(
        self, env_id: str, thread_id: str, after: str | None, limit: int
    ) -> list[Comment]: ...
    def reactions(
        self, env_id: str, thread_id: str, after: str | None, limit: int
    ) -> list[Reacted]: ...
    def comments_by_id(
        self, env_id: str, thread_id: str, ids: Sequence[str]
    ) -> dict[str, Comment]: ...
    def keys_under(
        self, pk: str, prefix: str, after: str | None, limit: int
    ) -> list[tuple[str, str]]: ...
    def texts_under(
        self, pk: str, prefix: str, after: str | None, limit: int, attribute: str
    ) -> list[tuple[str, str]]: ...
    def own_partitions(self, env_id: str, user_id: str) -> list[str]: ...
    def items_under(
        self, pk: str, prefix: str, after: str | None, limit: int
    ) -> list[dict[str, Any]]: ...
    def subscription_key(self, env_id: str, thread_id: str, user_id: str) -> tuple[str, str]: ...
    def subscriptions(
        self, env_id: str, thread_ids: Sequence[str], user_id: str
    ) -> dict[str, str]: ...
    def log_partition(self, env_id: str, room_id: str) -> str: ...
    def delete_comment(
        self, state: JobState, w: JobWrite, t: ThreadState, comment: Comment, visible: bool
    ) -> JobState | None: ...
    def delete_thread(
        self, state: JobState, w: JobWrite, t: ThreadState, last: Comment, visible: bool
    ) -> JobState | None: ...
    def tombstone(
        self, state: JobState, w: JobWrite, t: ThreadState, comment: Comment, author: str, body: str
    ) -> JobState | None: ...
    def rewrite_comment(
        self, state: JobState, w: JobWrite, comment: Comment, body: str, mentions: Sequence[str]
    ) -> JobState | None: ...
    def remove_reaction(
        self,
        state: JobState,
        w: JobWrite,
        thread_id: str,
        r: Reacted,
        comment: Comment | None,
        summary: str | None,
    ) -> JobState | None: ...
    def delete_keys(
        self, state: JobState, w: JobWrite, keys: Sequence[tuple[str, str]]
    ) -> JobState: ...
    def revoke_tokens(self, state: JobState, w: JobWrite, user_id: str) -> JobState | None: ...
    def delete_user(
        self, state: JobState, w: JobWrite, user_id: str, name: str
    ) -> JobState | None: ...
    def anonymize_user(
        self, state: JobState, w: JobWrite, user_id: str, name: str, placeholder: str
    ) -> JobState | None: ...


class DeliveryQueue(Protocol):
    """Where delivery attempts wait (outbound/queue.py: SQS, delayed up to 15 minutes)."""

    def send(self, message: dict[str, Any], delay_seconds: int = 0) -> None: ...


class WebhookPoster(Protocol):
    """Posts one attempt (outbound/http.py: resolved, checked, bounded)."""

    def post(self, url: str, headers: dict[str, str], body: bytes) -> Answer: ...
