"""Plain domain records that services return and adapters serialize (no storage types leak out)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from .access import Level

T = TypeVar("T")

# Attachments, per environment unless an operator changes them (Admin API environment PATCH).
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_MAX_BYTES_CAP = 100 * 1024 * 1024  # the most an operator may allow
NOTIFICATION_DELAY_SECONDS = 300  # unread activity waits this long before notification.created
NOTIFICATION_DELAY_MAX = 7 * 86400
ATTACHMENT_TYPES: tuple[str, ...] = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
    "text/markdown",
    "application/rtf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
)
Role = Literal["owner", "admin", "viewer"]
ROLES: tuple[Role, ...] = ("viewer", "admin", "owner")  # ascending power


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    next_cursor: str | None
    # The cursor that continues right after data[i] (i = -1: from where this page starts), so
    # that an adapter can send fewer items than were read (an answer must fit a size limit).
    after: Callable[[int], str] | None = field(default=None, repr=False, compare=False)

    def first(self, n: int) -> Page[T]:
        """The first n items, and the cursor that continues after them."""
        if n >= len(self.data):
            return self
        if self.after is None:
            raise ValueError("this page has no cursors to continue from")
        return Page(self.data[:n], self.after(n - 1), self.after)


@dataclass(frozen=True)
class Environment:
    id: str
    name: str
    status: str
    created_at: str
    created_by: str
    updated_at: str
    disabled_at: str | None
    suspended_at: str | None = None  # set while suspended by an operator (reversible)
    # Room access settings: the level of a room created without `defaultAccess` (by a
    # connection too), and whether a connection may create the room it names.
    default_room_access: Level = "write"
    create_rooms_on_join: bool = True
    # Attachments (docs/attachments.md): the largest file and the MIME types an upload may
    # have; the presigned POST's policy enforces both.
    attachment_max_bytes: int = ATTACHMENT_MAX_BYTES
    attachment_types: tuple[str, ...] = ATTACHMENT_TYPES
    # How long unread activity waits before `notification.created` (docs/inbox.md).
    notification_delay_seconds: int = NOTIFICATION_DELAY_SECONDS
    # Resolved threads untouched for this many days are deleted (docs/privacy.md); None: kept.
    retention_days: int | None = None
    # A key reported leaked (POST /admin/api/keys/report-leak): its preview and when, until an
    # operator dismisses the banner.
    leak_reported_at: str | None = None
    leaked_key: str | None = None
    # (key id, expiresAt) of each active key that has an end, soonest first.
    key_ends: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ApiKey:
    id: str
    env_id: str
    kind: str
    name: str
    preview: str
    status: str
    created_at: str
    created_by: str
    last_used_at: str | None
    revoked_at: str | None
    # The full key string: on the answer that creates a key, and on every answer for a pk_ (a
    # publishable key is public: it sits in frontend code). Never a secret key's after creation.
    key: str | None = field(default=None, repr=False)
    # A restricted key's scopes and rooms pattern (scopes.py); None for pk_/sk_ (sk_: every
    # scope, every room).
    scopes: tuple[str, ...] | None = None
    rooms: str | None = None
    # Refused like a revoked key from then on (set at creation, or by a roll with a grace).
    expires_at: str | None = None
    # Source addresses (CIDRs) a secret key is accepted from; None: any.
    allowed_ips: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AuditEvent:
    id: str
    env_id: str | None
    actor_id: str
    actor_email: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, object]
    created_at: str


@dataclass(frozen=True)
class Operator:
    id: str
    email: str
    role: Role
    created_at: str
    updated_at: str
    last_login_at: str | None


@dataclass(frozen=True)
class Actor:
    """The authenticated operator behind an admin request."""

    id: str
    email: str
    role: Role

    def can(self, role: Role) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class Session:
    token: str = field(repr=False)
    expires_at: str
    operator: Operator
    # The device cookie a successful login sets (services/login_throttle.py), if any.
    device: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class User:
    id: str
    name: str
    avatar: str | None
    color: str
    first_seen_at: str
    last_seen_at: str
    # What the user's latest token granted (never answered: it decides who can be mentioned).
    group_ids: tuple[str, ...] = ()
    permissions: dict[str, str] | None = None


@dataclass(frozen=True)
class TokensRevoked:
    """What POST /users/{userId}/revoke-tokens did."""

    user_id: str
    revoked_at: str  # tokens minted for the user until then no longer connect
    closed_connections: int  # the user's sockets it closed


@dataclass(frozen=True)
class EraseJob:
    """A user's erasure (POST /users/{userId}/erase) and how far it has got."""

    id: str
    user_id: str
    mode: Literal["anonymize", "delete"]
    status: Literal["queued", "running", "succeeded", "failed"]
    phase: str  # what it is doing: tokens, rooms, user, done
    created_at: str
    updated_at: str
    finished_at: str | None
    error: str | None
    # What it has changed so far, each counted once.
    comments_deleted: int = 0
    comments_tombstoned: int = 0
    threads_deleted: int = 0
    reactions_removed: int = 0
    mentions_replaced: int = 0
    files_deleted: int = 0
    items_removed: int = 0  # inbox, settings, subscriptions, events, acknowledgements


@dataclass(frozen=True)
class MintedToken:
    token: str = field(repr=False)
    expires_at: str
    user: User


Metadata = dict[str, str | int | float | bool]


@dataclass(frozen=True)
class Room:
    id: str
    metadata: Metadata
    created_at: str
    updated_at: str
    # What the room grants identity tokens (chalicelib/access.py); a room from before access
    # control grants `write`, as it always did.
    default_access: Level = "write"
    users_access: dict[str, Level] = field(default_factory=dict)
    groups_access: dict[str, Level] = field(default_factory=dict)


@dataclass(frozen=True)
class Comment:
    id: str
    thread_id: str
    room_id: str
    user_id: str
    body: str
    created_at: str
    edited_at: str | None
    reactions: tuple[Reaction, ...] = ()  # in the order each emoji was first used
    mentions: tuple[str, ...] = ()  # the users `<@id>` names who could read the room then
    # The files it references (services/attachments.py signs their URLs as it is read).
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class InboxEntry:
    """A thread with unread activity for a user, and why it is in their inbox (`mention`,
    `reply`: they wrote in it, `subscribed`: they chose to follow it)."""

    thread_id: str
    room_id: str
    unread_count: int
    reason: str
    last_activity_at: str


@dataclass(frozen=True)
class InboxCount:
    user_id: str
    count: int


@dataclass(frozen=True)
class ThreadRead:
    user_id: str
    thread_id: str
    unread_count: int


@dataclass(frozen=True)
class ThreadSubscription:
    user_id: str
    thread_id: str
    subscribed: bool


@dataclass(frozen=True)
class NotificationSettings:
    user_id: str
    room_id: str
    setting: str


@dataclass(frozen=True)
class Reaction:
    """One emoji on a comment: how many users reacted with it, and the first few of them."""

    emoji: str
    count: int
    user_ids: tuple[str, ...]


@dataclass(frozen=True)
class Attachment:
    """A file uploaded for a comment; `url`/`url_expires_at` are set where it is read."""

    id: str
    name: str
    mime_type: str
    size: int
    url: str | None = None
    url_expires_at: str | None = None


@dataclass(frozen=True)
class Thread:
    id: str
    room_id: str
    resolved: bool
    metadata: Metadata
    created_at: str
    updated_at: str
    created_by: str
    comment_count: int
    # Set where the thread is returned with its comments (create, get one): the first page.
    comments: Page[Comment] | None = None
    # Set where the thread is answered to one user (a socket's threads.list): their unread
    # comments in it and whether they are subscribed.
    unread_count: int | None = None
    subscribed: bool | None = None


@dataclass(frozen=True)
class DailyStats:
    """One day of an environment's usage (services/metering.py)."""

    date: str
    comments: int
    active_users: int  # users who connected that day
    connections: int  # connections opened
    peak_connections: int  # most connections open at once
    messages_in: int  # WebSocket messages received
    pushes_out: int  # frames posted to connections
    webhook_deliveries: int  # attempts the endpoint accepted (2xx)
    webhook_failures: int  # attempts that failed
    refused: dict[str, int]  # connections refused, by error code
    rate_limited: dict[str, int]  # 429 answers, by key id


@dataclass(frozen=True)
class ActiveUsers:
    """Users who connected today, this ISO week (from Monday) and this month (UTC)."""

    day: int
    week: int
    month: int


@dataclass(frozen=True)
class RoomRank:
    room_id: str
    count: int


@dataclass(frozen=True)
class Analytics:
    rooms: int
    threads: int
    comments: int
    users: int
    days: int
    active_users: ActiveUsers
    daily: list[DailyStats]
    busiest_by_connections: list[RoomRank]
    busiest_by_comments: list[RoomRank]


@dataclass(frozen=True)
class CostLine:
    """One priced quantity of an environment's AWS use."""

    name: str
    quantity: float
    unit: str
    unit_price: float
    cost: float


@dataclass(frozen=True)
class CostEstimate:
    region: str
    currency: str
    days: int
    first_day: str
    last_day: str
    total: float  # for the days counted
    monthly: float  # the same rate over 30 days
    lines: list[CostLine]


@dataclass(frozen=True)
class Connection:
    """A live WebSocket connection: who is behind it, where it is, and how to reach it."""

    id: str
    env_id: str
    room_id: str
    user_id: str
    name: str
    avatar: str | None
    color: str
    presence: dict[str, object] | None
    domain_name: str
    stage: str
    publishable_key_id: str
    secret_key_id: str
    connected_at: str
    expires_at: float
    # An entry of its user's live connections (the per-user limits), and whether the user had
    # another live connection since (its messages then count against the user's rate too).
    tracked: bool = False
    shared: bool = False
    # Its room access level (chalicelib/access.py; rows from before access control: `write`),
    # whether its token decides it alone (an access token: room changes do not move it), and
    # its token's groups (what a change of the room's groupsAccess is weighed against).
    access: str = "write"
    access_fixed: bool = False
    group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Endpoint:
    """Where a socket is reached before its connection is known (a message's reply): API
    Gateway's connection id, and the domain and stage the message came through."""

    id: str
    domain_name: str
    stage: str


@dataclass(frozen=True)
class RoomEvent:
    """A committed change of a room, written in the change's own transaction (the event source
    webhooks read from the data table's stream). `data` is the resource as the REST API answers
    it, plus `environmentId` and `roomId`."""

    id: str
    env_id: str
    room_id: str
    type: str
    data: dict[str, Any]
    created_at: str
    expires_at: int  # epoch seconds: kept at least this long (the stage's setting)
    seq: int = 0  # its place in the room's order: 1, 2, 3 ...
    ack: Ack | None = None  # a socket write named by a clientMutationId: kept for its resends


@dataclass(frozen=True)
class Ack:
    """The acknowledgement of a socket write its client named (clientMutationId): a resend by
    the same user in the same room gets `frame` again (with the seq it took) until `expires_at`."""

    user_id: str
    client_mutation_id: str
    frame: dict[str, Any]
    written_at: int  # epoch seconds
    expires_at: int


@dataclass(frozen=True)
class Webhook:
    id: str
    env_id: str
    url: str
    events: list[str] | None  # None: every event type
    description: str | None
    enabled: bool
    created_at: str
    updated_at: str
    disabled_at: str | None
    disabled_reason: str | None  # operator | gone (410) | failing (5 days)
    failing_since: str | None  # the first failed attempt since the last success
    # The signing secret: set only on the answers that create or rotate it (shown once).
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class WebhookDelivery:
    id: str  # also the `webhook-id` header: the same on every attempt
    webhook_id: str
    event_id: str
    event_type: str
    status: str  # pending | succeeded | failed
    attempt: int  # attempts made so far
    response_code: int | None
    response_body: str | None  # the first 1 KB of the last answer
    duration_ms: int | None
    error: str | None  # why the last attempt failed without an answer (timeout, refused, ...)
    created_at: str
    attempted_at: str | None
    next_attempt_at: str | None
