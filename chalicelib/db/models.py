"""PynamoDB models: the two tables and every item type in them (the one place that knows layout).

Key design (docs/architecture.md has the access-pattern table):

control table                      pk                     sk
  Environment                      ENV#<envId>            ENV
  ApiKey                           ENV#<envId>            KEY#<keyId>
  Audit event (environment)        ENV#<envId>            AUDIT#<eventId>
  Audit event (operators)          AUDIT#operators        AUDIT#<eventId>
  Operator                         OP#<operatorId>        OP
  Session (hash of the token)      OP#<operatorId>        SESSION#<sha256>
  Email claim (uniqueness)         EMAIL#<email>          EMAIL
  Login throttle of a device       LOGIN#<email>          DEVICE#<deviceId>
  Login attempts of an account     LOGIN#<email>          HOUR#<epoch hour start>
  Login throttle of a source       LOGINSRC#<address>     LOGIN
  Operators meta (owner count)     OPERATORS              META
  Rate counter (one window)        RL#<scope>#<window>    RL
  Webhook endpoint                 ENV#<envId>            WEBHOOK#<webhookId>
  Webhook delivery                 ENV#<envId>#WH#<webhookId>  DLV#<deliveryId>
  gsi1: ENVS/<envId> lists environments, OPERATORS/<email> lists operators.

data table (customer data; every pk starts with ENV#<envId>, so isolation holds by construction)
  User                             ENV#<envId>            USER#<userId>
  Environment stats                ENV#<envId>            STATS
  Daily stats                      ENV#<envId>            DAY#<yyyy-mm-dd>
  Room                             ENV#<envId>            ROOM#<roomId>
  Room purge pending (its gens)    ENV#<envId>            PURGE#<roomId>
  Room access entry (index)        ENV#<envId>#GRANT#<U|G>#<id>  ROOM#<roomId>
  Thread                           ENV#<envId>#ROOM#<roomId>   THREAD#<threadId>
  A user under a word of its name  ENV#<envId>#UNAME      <words from there on>#<userId>
  Reaction (a user's emoji)        ENV#<envId>#THREAD#<threadId>  REACT#<commentId>#<digest>
  Comment                          ENV#<envId>#THREAD#<threadId>  COMMENT#<commentId>
  Connection (by id: $default)     CONN#<connectionId>    CONN
  Connection (room membership)     ENV#<envId>#ROOM#<roomId>   CONN#<connectionId>
  Connection (environment-wide)    ENV#<envId>#CONNS      CONN#<connectionId>
  A user's live connections        ENV#<envId>#USER#<userId>   CONNS
  Idempotency key (a POST's answer)  ENV#<envId>#IDEM#<key>  IDEM
  Room event (its place in order)  ENV#<envId>#EVENTS#<roomId>  SEQ#<seq, 12 digits>
  Room event log head (last seq)   ENV#<envId>#EVENTS#<roomId>  HEAD
  Socket write by clientMutationId ENV#<envId>#EVENTS#<roomId>  MUT#<sha256(user, id)>
  Attachment (an upload)           ENV#<envId>#ATT#<attachmentId>  ATT
  A user's state of a thread       ENV#<envId>#INBOX#<userId>  T#<threadId>
  ... in the inbox, newest first   ENV#<envId>#INBOX#<userId>  L#<activity>#<threadId>
  A user's unread thread count     ENV#<envId>#INBOX#<userId>  COUNT
  A thread's subscriber            ENV#<envId>#SUBS#<threadId>  <userId>
  A user's setting for a room      ENV#<envId>#USER#<userId>   NOTIFY#<roomId>
  Erase job (its cursor, progress)  ENV#<envId>#JOBS      ERASE#<jobId>
  Thread purge pending             ENV#<envId>            TPURGE#<threadId>

A room carries a generation (`gen`, new each time the room is created); its threads carry the
gen they were created under. Deleting a room is one transaction (room + counters), after which
its threads are purged best-effort: a thread whose gen is not the room's is invisible, so a
half-finished purge never shows through, even if a room of the same id is created again. The
delete's transaction also records the gen in the room's purge item, which the purge deletes
last: a purge that died is finished by the next DELETE of that room.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class Gsi1(GlobalSecondaryIndex["ControlTable"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ControlTable(Model):
    """Environments, keys, audit, operators and sessions. Table name is bound from settings."""

    class Meta:
        table_name = "unbound-control"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    ttl = NumberAttribute(null=True)  # epoch seconds; DynamoDB TTL deletes lazily, readers filter
    gsi1 = Gsi1()


class DataTable(Model):
    """Customer data of every environment. Table name is bound from settings."""

    class Meta:
        table_name = "unbound-data"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    ttl = NumberAttribute(null=True)  # epoch seconds; DynamoDB TTL deletes lazily, readers filter


TABLES: tuple[type[Model], ...] = (ControlTable, DataTable)
TTL_ATTRIBUTE = "ttl"


# --- control table items -------------------------------------------------------------------


class EnvironmentItem(ControlTable):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    name_lower = UnicodeAttribute()
    status = UnicodeAttribute()  # active | disabled
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    disabled_at = UnicodeAttribute(null=True)
    # Set while an operator has the environment suspended (reversible, unlike disabled): every
    # request and connection of it is refused. Independent of status and keys.
    suspended_at = UnicodeAttribute(null=True)
    # The last key reported leaked (its preview, never the key) and when: the panel's banner,
    # until an operator dismisses it.
    leak_reported_at = UnicodeAttribute(null=True)
    leaked_key = UnicodeAttribute(null=True)
    # The set of active key ids and a version: every key change is a transaction conditioned on
    # the version, which is what makes two racing rotations leave exactly one active pair.
    active_key_ids = UnicodeSetAttribute(null=True)
    key_version = NumberAttribute(default=0)
    # The ends of its active keys that have one (JSON {keyId: expiresAt}), written with the
    # key transactions: the environment list tells keys about to end without reading them.
    key_ends = UnicodeAttribute(null=True)
    # Room access settings (absent: `write`, and rooms are created on join).
    default_room_access = UnicodeAttribute(null=True)
    create_rooms_on_join = BooleanAttribute(null=True)
    # Attachment limits (absent: the defaults in entities.py).
    attachment_max_bytes = NumberAttribute(null=True)
    attachment_types = UnicodeAttribute(null=True)  # JSON list of MIME types
    notification_delay_seconds = NumberAttribute(null=True)
    # Resolved threads untouched for this many days are deleted by the retention job (absent:
    # kept for ever).
    retention_days = NumberAttribute(null=True)


class ApiKeyItem(ControlTable):
    id = UnicodeAttribute()
    env_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # publishable | secret | restricted
    name = UnicodeAttribute()
    name_lower = UnicodeAttribute()
    secret_hash = UnicodeAttribute()  # HMAC-SHA256(pepper, key); the key itself is never stored
    preview = UnicodeAttribute()
    status = UnicodeAttribute()  # active | revoked
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    last_used_at = UnicodeAttribute(null=True)
    revoked_at = UnicodeAttribute(null=True)
    # A restricted key's limits (absent on pk_/sk_): read with the key, so checked for free.
    scopes = UnicodeSetAttribute(null=True)
    rooms = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute(null=True)  # refused from then on, like a revoked key
    allowed_ips = UnicodeAttribute(null=True)  # JSON list of CIDRs (secret keys); absent: any
    public_key = UnicodeAttribute(null=True)  # the whole pk_ (public by design); never an sk_


class AuditItem(ControlTable):
    id = UnicodeAttribute()
    env_id = UnicodeAttribute(null=True)
    actor_id = UnicodeAttribute()
    actor_email = UnicodeAttribute()
    action = UnicodeAttribute()
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    details = UnicodeAttribute(null=True)  # JSON text, never secrets
    created_at = UnicodeAttribute()


class OperatorItem(ControlTable):
    id = UnicodeAttribute()
    email = UnicodeAttribute()
    role = UnicodeAttribute()  # owner | admin | viewer
    password_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    last_login_at = UnicodeAttribute(null=True)
    # Bumped when the password changes or the operator is demoted: older sessions stop.
    session_epoch = NumberAttribute(default=0)


class SessionItem(ControlTable):
    operator_id = UnicodeAttribute()
    session_epoch = NumberAttribute()
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute()


class EmailClaimItem(ControlTable):
    operator_id = UnicodeAttribute()


class LoginThrottleItem(ControlTable):
    """Failed logins of one scope (a source address, or one operator's device): the count, the
    lock it earned, and the one password check running. `ttl` is when the failures are forgotten
    (readers treat an item past it as fresh)."""

    failures = NumberAttribute(default=0)
    locked_until = NumberAttribute(default=0)
    # A password check of this email is running until then: one at a time, so concurrent
    # guesses cannot all pass the lock check before the first failure is counted.
    checking_until = NumberAttribute(null=True)


class OperatorsMetaItem(ControlTable):
    owners = NumberAttribute(default=0)


class RateItem(ControlTable):
    """A counter of one fixed window (repositories/ratelimits.py). Failed-authentication counters
    hold `n`; an environment's request counter holds one attribute per scope and per key
    (`rest`, `rest:<keyId>`, `mint`, `mint:<keyId>`), written by name, so the model declares
    only `n`. Expires (TTL) shortly after its window: the window is in the key, so an expired
    counter is never read again."""

    n = NumberAttribute(null=True)


# --- data table items ----------------------------------------------------------------------


class UserItem(DataTable):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    avatar = UnicodeAttribute(null=True)
    color = UnicodeAttribute()
    first_seen_at = UnicodeAttribute()
    last_seen_at = UnicodeAttribute()
    # Bumped by POST /users/{id}/revoke-tokens: a token carries the generation it was minted at,
    # and only the current one connects (repositories/users.py).
    token_generation = NumberAttribute(null=True)
    tokens_revoked_at = UnicodeAttribute(null=True)
    # What the latest token minted for the user granted (JSON text): who can be mentioned where.
    group_ids = UnicodeAttribute(null=True)
    permissions = UnicodeAttribute(null=True)


class UserNameItem(DataTable):
    """A user, under a word of its name (users.search): the name's words, normalized (NFKC,
    casefolded), from each word to the end, so a prefix of any word finds it in one Query."""

    user_id = UnicodeAttribute()


class StatsItem(DataTable):
    rooms = NumberAttribute(default=0)
    threads = NumberAttribute(default=0)
    comments = NumberAttribute(default=0)
    users = NumberAttribute(default=0)


class DailyStatsItem(DataTable):
    """Comments written in a day (in the comment's own transaction). The day's usage counters
    are USE# items (repositories/usage_days.py)."""

    date = UnicodeAttribute()
    comments = NumberAttribute(default=0)


class RoomItem(DataTable):
    id = UnicodeAttribute()
    metadata = UnicodeAttribute()  # JSON text of a flat object
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    gen = UnicodeAttribute()
    thread_count = NumberAttribute(default=0)
    comment_count = NumberAttribute(default=0)
    # Live connections (for the per-room cap). $disconnect is best-effort, so this can run
    # high; the cap check recounts the live rows before refusing anyone.
    connections = NumberAttribute(default=0)
    # Access it grants identity tokens (absent: `write`, what rooms did before access control);
    # the maps as JSON text (id -> level). `access_version` moves with every change of them, and
    # a $connect's write is conditioned on the version it read, so no connection opens with a
    # level decided before a change that its room's re-evaluation missed.
    default_access = UnicodeAttribute(null=True)
    users_access = UnicodeAttribute(null=True)
    groups_access = UnicodeAttribute(null=True)
    access_version = NumberAttribute(null=True)


class RoomGrantItem(DataTable):
    """One entry of a room's usersAccess or groupsAccess, under the user or group it names: the
    index of GET /api/v1/rooms?userId=&groupIds=. Written and deleted in the transaction that
    changes the room's entries; a room delete removes them after (readers check the room)."""

    room_id = UnicodeAttribute()
    level = UnicodeAttribute()


class RoomPurgeItem(DataTable):
    """Generations of a room whose threads are not all purged yet (repositories/rooms.py)."""

    gens = UnicodeSetAttribute(null=True)


class ThreadPurgeItem(DataTable):
    """A deleted thread whose comments are not all purged yet: put in the thread delete's
    transaction, deleted after its comments, so a purge that died is finished by the retention
    job (services/retention.py) instead of leaving invisible comments for ever."""

    room_id = UnicodeAttribute()
    thread_id = UnicodeAttribute()


class EraseJobItem(DataTable):
    """A user's erasure (services/erasure.py): what it does, where its walk stands (`cursor`, JSON
    text) and what it has done (`progress`, JSON text). Every change a step makes commits in one
    transaction with this item's new cursor, conditioned on `version`, so a step retried from
    the saved cursor never does anything twice and two copies of one step cannot both go on."""

    id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    mode = UnicodeAttribute()  # anonymize | delete
    status = UnicodeAttribute()  # queued | running | succeeded | failed
    phase = UnicodeAttribute()
    key_id = UnicodeAttribute()  # the secret key that asked
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    finished_at = UnicodeAttribute(null=True)
    cursor = UnicodeAttribute(null=True)
    progress = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    failures = NumberAttribute(default=0)  # steps that failed in a row
    not_before = NumberAttribute(null=True)  # epoch seconds: the last phase waits until then
    version = NumberAttribute(default=0)


class ThreadItem(DataTable):
    id = UnicodeAttribute()
    room_id = UnicodeAttribute()
    room_gen = UnicodeAttribute()
    resolved = BooleanAttribute(default=False)
    metadata = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    comment_count = NumberAttribute(default=0)


class CommentItem(DataTable):
    id = UnicodeAttribute()
    thread_id = UnicodeAttribute()
    room_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()
    edited_at = UnicodeAttribute(null=True)
    # JSON text: [{emoji, count, userIds}], the summary readers get; rewritten with each reaction
    # item in one transaction, conditioned on the text it replaces (repositories/rooms.py).
    reactions = UnicodeAttribute(null=True)
    mentions = UnicodeAttribute(null=True)  # JSON list of user ids
    # JSON list of {id, name, mimeType, size}: what a read needs to sign the files' URLs.
    attachments = UnicodeAttribute(null=True)


class ReactionItem(DataTable):
    """One user's emoji on one comment: its existence makes reacting twice a no-op. In the
    thread's comment partition, so a thread's purge removes it with the comments."""

    emoji = UnicodeAttribute()
    user_id = UnicodeAttribute()


class InboxStateItem(DataTable):
    """A user's state of one thread: unread comments since they last read it, why it is in
    their inbox, the sort key of its inbox entry, and the end of its notification window.
    `version` conditions every change (the fan-out and a reader race)."""

    room_id = UnicodeAttribute()
    thread_id = UnicodeAttribute()
    unread = NumberAttribute(default=0)
    reason = UnicodeAttribute(null=True)
    last_seq = NumberAttribute(default=0)  # the room seq of the last comment counted
    activity_at = UnicodeAttribute(null=True)
    read_at = UnicodeAttribute(null=True)
    entry_sk = UnicodeAttribute(null=True)  # its inbox entry while unread
    notify_until = NumberAttribute(null=True)  # epoch seconds: a notification is scheduled
    version = NumberAttribute(default=0)


class InboxEntryItem(DataTable):
    """A thread with unread activity in a user's inbox, under its activity time."""

    room_id = UnicodeAttribute()
    thread_id = UnicodeAttribute()
    unread = NumberAttribute()
    reason = UnicodeAttribute()
    activity_at = UnicodeAttribute()


class InboxCountItem(DataTable):
    """The number of threads with unread activity in a user's inbox (the inbox/count read)."""

    total = NumberAttribute(default=0)


class SubscriptionItem(DataTable):
    """A user's subscription to a thread: `auto` (wrote in it, or was mentioned), `on` or `off`
    (chosen). Outside the thread's comment partition, so a thread's purge leaves it for the
    fan-out that clears its subscribers' inboxes."""

    room_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    state = UnicodeAttribute()
    # The room seq it started after: an older comment handed over again never reaches a user
    # who subscribed later.
    since_seq = NumberAttribute(default=0)


class RoomNotifyItem(DataTable):
    """A user's notification setting for a room: `all` (the default, absent), `mentions`, `none`."""

    room_id = UnicodeAttribute()
    setting = UnicodeAttribute()


class AttachmentItem(DataTable):
    """An upload: created with its presigned POST, then claimed by the one comment that
    references it. Until claimed it expires (`expires_at`, TTL) with S3's lifecycle rule."""

    id = UnicodeAttribute()
    room_id = UnicodeAttribute()
    name = UnicodeAttribute()
    mime_type = UnicodeAttribute()
    size = NumberAttribute()
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)  # removed when attached
    comment_id = UnicodeAttribute(null=True)
    thread_id = UnicodeAttribute(null=True)


class ConnectionItem(DataTable):
    """A WebSocket connection, written three times (see the key table) in one transaction.
    Rows past `expires_at` are ignored by every reader; DynamoDB's TTL removes them lazily."""

    id = UnicodeAttribute()
    env_id = UnicodeAttribute()
    room_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    name = UnicodeAttribute()
    avatar = UnicodeAttribute(null=True)
    color = UnicodeAttribute()
    presence = UnicodeAttribute(null=True)  # JSON text
    domain_name = UnicodeAttribute()
    stage = UnicodeAttribute()
    publishable_key_id = UnicodeAttribute()
    secret_key_id = UnicodeAttribute()
    connected_at = UnicodeAttribute()
    expires_at = NumberAttribute()
    # Per-connection message rate: a count within the current one-second window.
    rate_window = NumberAttribute(default=0)
    rate_count = NumberAttribute(default=0)
    # Set when the connection is an entry of its user's UserConnectionsItem (removing it removes
    # the entry too), and once the user has another live connection (its messages then count
    # against the user's rate as well). Absent on rows written before the per-user limits.
    tracked = BooleanAttribute(null=True)
    shared = BooleanAttribute(null=True)
    # Its room access level (absent: `write`, rows from before access control), whether its
    # token decided it alone (an access token), and its token's groups.
    access = UnicodeAttribute(null=True)
    access_fixed = BooleanAttribute(null=True)
    group_ids = UnicodeSetAttribute(null=True)


class UserConnectionsItem(DataTable):
    """A user's live connections in one environment, for the per-user connection limits
    (repositories/user_connections.py): `conns` maps each connection id to its room (`r`), its
    expiry (`x`) and whether it is flagged `shared` (`s`). It changes in the same transactions as
    the connection rows, so it holds exactly the user's connections; readers skip expired
    entries, and every connect rewrites it without them, conditioned on `version`."""

    conns = MapAttribute(null=True)  # type: ignore[var-annotated]
    version = NumberAttribute(default=0)


class IdempotencyItem(DataTable):
    """A POST's Idempotency-Key in its environment (services/idempotency.py): the request's
    fingerprint and the claim of the request running it (`owner`, `lock_until`), then its answer
    (`status`, `body`). Readers treat it as absent after `expires_at`."""

    fingerprint = UnicodeAttribute()
    owner = UnicodeAttribute()
    lock_until = NumberAttribute(null=True)  # while the first request runs
    status = NumberAttribute(null=True)  # once it answered
    body = UnicodeAttribute(null=True)  # the answer's JSON text ("" for none)
    expires_at = NumberAttribute()


class WebhookItem(ControlTable):
    """An environment's webhook endpoint (repositories/webhooks.py). `secret` signs every
    delivery; after a rotation `previous_secret` signs beside it until `previous_until`."""

    id = UnicodeAttribute()
    env_id = UnicodeAttribute()
    url = UnicodeAttribute()
    events = UnicodeAttribute(null=True)  # JSON list of event types; absent: all
    description = UnicodeAttribute(null=True)
    enabled = BooleanAttribute(default=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    disabled_at = UnicodeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)
    failing_since = UnicodeAttribute(null=True)
    secret = UnicodeAttribute()
    previous_secret = UnicodeAttribute(null=True)
    previous_until = NumberAttribute(null=True)  # epoch seconds


class WebhookDeliveryItem(ControlTable):
    """One event sent to one endpoint: the exact body (retries and replays send the same bytes)
    and the outcome of the last attempt. Expires (TTL) 30 days after it was made."""

    id = UnicodeAttribute()
    env_id = UnicodeAttribute()
    webhook_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    payload = UnicodeAttribute()  # the JSON body sent
    status = UnicodeAttribute()  # pending | succeeded | failed
    attempt = NumberAttribute(default=0)
    response_code = NumberAttribute(null=True)
    response_body = UnicodeAttribute(null=True)
    duration_ms = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    attempted_at = UnicodeAttribute(null=True)
    next_attempt_at = UnicodeAttribute(null=True)


class EventItem(DataTable):
    """A committed change of a room (repositories/events.py), put in the change's own
    transaction; the data table's stream carries it to the webhooks. Expires (TTL) after the
    stage's retention."""

    event_id = UnicodeAttribute()
    seq = NumberAttribute(null=True)  # the room's order: 1, 2, 3 ...
    type = UnicodeAttribute()
    env_id = UnicodeAttribute()
    room_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    data = UnicodeAttribute()  # JSON text


class EventHeadItem(DataTable):
    """The last `seq` a room's events took. It outlives the room (never expires), so a room
    deleted and created again goes on from where it was: a seq is never reused."""

    seq = NumberAttribute()


class MutationItem(DataTable):
    """A socket write a client named with a clientMutationId: its acknowledgement, for a resend
    within the day. Written in the write's own transaction; expires (TTL) a day later."""

    frame = UnicodeAttribute()  # JSON text: the acknowledgement frame, without requestId
    seq = NumberAttribute(null=True)  # the seq the write took


# --- keys: the only place that spells them ---------------------------------------------------


def env_pk(env_id: str) -> str:
    return f"ENV#{env_id}"


ENV_SK = "ENV"
ENVS_GSI = "ENVS"
OPERATORS_GSI = "OPERATORS"
OPERATORS_AUDIT_PK = "AUDIT#operators"
OPERATORS_META = ("OPERATORS", "META")
STATS_SK = "STATS"


def key_sk(key_id: str) -> str:
    return f"KEY#{key_id}"


def audit_sk(event_id: str) -> str:
    return f"AUDIT#{event_id}"


def operator_pk(operator_id: str) -> str:
    return f"OP#{operator_id}"


OPERATOR_SK = "OP"


def session_sk(token_hash: str) -> str:
    return f"SESSION#{token_hash}"


def email_pk(email: str) -> str:
    return f"EMAIL#{email}"


EMAIL_SK = "EMAIL"


def login_pk(email: str) -> str:
    return f"LOGIN#{email}"


LOGIN_SK = "LOGIN"


def login_source_pk(source: str) -> str:
    return f"LOGINSRC#{source}"


def login_device_sk(device_id: str) -> str:
    return f"DEVICE#{device_id}"


def login_hour_sk(window: int) -> str:
    return f"HOUR#{window}"


def rate_pk(scope: str, window: int | str) -> str:
    """`scope` names what is counted, e.g. `env:<envId>`, `fail-ip:<address>`."""
    return f"RL#{scope}#{window}"


RATE_SK = "RL"


def user_sk(user_id: str) -> str:
    return f"USER#{user_id}"


def day_sk(date: str) -> str:
    return f"DAY#{date}"


def room_sk(room_id: str) -> str:
    return f"ROOM#{room_id}"


def grant_pk(env_id: str, kind: str, holder: str) -> str:
    """The index partition of a user (`kind` U) or group (G) that rooms grant access to."""
    return f"ENV#{env_id}#GRANT#{kind}#{holder}"


def purge_sk(room_id: str) -> str:
    return f"PURGE#{room_id}"


def threads_pk(env_id: str, room_id: str) -> str:
    return f"ENV#{env_id}#ROOM#{room_id}"


def thread_sk(thread_id: str) -> str:
    return f"THREAD#{thread_id}"


def attachment_pk(env_id: str, attachment_id: str) -> str:
    return f"ENV#{env_id}#ATT#{attachment_id}"


ATTACHMENT_SK = "ATT"


def thread_purge_sk(thread_id: str) -> str:
    return f"TPURGE#{thread_id}"


def jobs_pk(env_id: str) -> str:
    return f"ENV#{env_id}#JOBS"


def erase_job_sk(job_id: str) -> str:
    return f"ERASE#{job_id}"


def comments_pk(env_id: str, thread_id: str) -> str:
    return f"ENV#{env_id}#THREAD#{thread_id}"


def comment_sk(comment_id: str) -> str:
    return f"COMMENT#{comment_id}"


def connection_pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


CONNECTION_SK = "CONN"


def connection_sk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


def env_connections_pk(env_id: str) -> str:
    return f"ENV#{env_id}#CONNS"


def user_connections_pk(env_id: str, user_id: str) -> str:
    return f"ENV#{env_id}#USER#{user_id}"


USER_CONNECTIONS_SK = "CONNS"


def idempotency_pk(env_id: str, key: str) -> str:
    return f"ENV#{env_id}#IDEM#{key}"


IDEMPOTENCY_SK = "IDEM"


def webhook_sk(webhook_id: str) -> str:
    return f"WEBHOOK#{webhook_id}"


def deliveries_pk(env_id: str, webhook_id: str) -> str:
    return f"ENV#{env_id}#WH#{webhook_id}"


def delivery_sk(delivery_id: str) -> str:
    return f"DLV#{delivery_id}"


def events_pk(env_id: str, room_id: str) -> str:
    return f"ENV#{env_id}#EVENTS#{room_id}"


def event_sk(seq: int) -> str:
    """Zero-padded, so the sort key orders events as their seq does."""
    return f"SEQ#{seq:012d}"


EVENT_HEAD_SK = "HEAD"


def reaction_sk(comment_id: str, emoji: str, user_id: str) -> str:
    """A digest of the emoji and the user (neither can then spell another's key), under the
    comment's id (a comment's reactions are one prefix)."""
    digest = hashlib.sha256(f"{emoji}\0{user_id}".encode()).hexdigest()[:40]
    return f"REACT#{comment_id}#{digest}"


def user_names_pk(env_id: str) -> str:
    return f"ENV#{env_id}#UNAME"


def user_name_sk(words: str, user_id: str) -> str:
    return f"{words}#{user_id}"


def mutation_sk(digest: str) -> str:
    return f"MUT#{digest}"


def inbox_pk(env_id: str, user_id: str) -> str:
    return f"ENV#{env_id}#INBOX#{user_id}"


def inbox_state_sk(thread_id: str) -> str:
    return f"T#{thread_id}"


def inbox_entry_sk(activity_at: str, thread_id: str) -> str:
    """Under its activity time, so a Query newest first lists the inbox in order."""
    return f"L#{activity_at}#{thread_id}"


INBOX_ENTRY_PREFIX = "L#"
INBOX_COUNT_SK = "COUNT"


def subscribers_pk(env_id: str, thread_id: str) -> str:
    return f"ENV#{env_id}#SUBS#{thread_id}"


def room_notify_sk(room_id: str) -> str:
    return f"NOTIFY#{room_id}"


# The sort key prefixes of event items, the only items the stream handler takes (`EVT#`: events
# written before they carried the room's seq).
EVENT_SK_PREFIXES = ("EVT#", "SEQ#")


def all_models() -> list[type[Model]]:
    """Every model class, so bindings reach the connection PynamoDB caches on each class."""
    found: list[type[Model]] = []
    stack: list[Any] = list(TABLES)
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found
