"""Erase jobs in the data table, the reads their walk makes (every one a Query or GetItem on a
known key), and the changes a step makes, each committed with the job's new cursor.

A change to the user's data and the job item's cursor and progress go in one transaction,
conditioned on the job's `version`: a step retried from the saved cursor finds its own earlier
changes already made (and skips them) and counts nothing twice, and a second copy of the same
step (SQS delivers at least once) loses the condition and stops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pynamodb.exceptions import PynamoDBException

from .. import jsontext
from ..db.dynamo import (
    TransactionCancelled,
    batch_get,
    connection,
    is_condition_failure,
    transaction,
    unavailable_on_throttle,
)
from ..db.models import (
    ATTACHMENT_SK,
    AttachmentItem,
    CommentItem,
    DataTable,
    EraseJobItem,
    ReactionItem,
    RoomItem,
    StatsItem,
    SubscriptionItem,
    ThreadItem,
    UserItem,
    UserNameItem,
    attachment_pk,
    comment_sk,
    comments_pk,
    env_pk,
    erase_job_sk,
    events_pk,
    inbox_pk,
    jobs_pk,
    room_sk,
    subscribers_pk,
    thread_sk,
    threads_pk,
    user_connections_pk,
    user_name_sk,
    user_names_pk,
    user_sk,
)
from ..entities import AuditEvent, Comment, EraseJob
from . import audit, rooms, stats, users
from .reads import Read
from .rooms import ThreadState
from .stats import Change

PROGRESS = (
    "comments_deleted",
    "comments_tombstoned",
    "threads_deleted",
    "reactions_removed",
    "mentions_replaced",
    "files_deleted",
    "items_removed",
)


@dataclass(frozen=True)
class JobState:
    """A job as stored: the entity, and what its steps need (the walk's cursor, the version
    every change is conditioned on, the key that asked, failures in a row, the wait)."""

    env_id: str
    job: EraseJob
    key_id: str
    cursor: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    failures: int = 0
    not_before: int | None = None


@dataclass(frozen=True)
class JobWrite:
    """What a change sets on the job item besides its data change: the new cursor, what the
    change did (added to the progress), and optionally a new phase, status or wait."""

    cursor: dict[str, Any]
    now_iso: str
    done: dict[str, int] = field(default_factory=dict)
    phase: str | None = None
    status: str | None = None
    error: str | None = None
    not_before: int | None = None


class JobMoved(Exception):
    """The job item's version moved under a step: another copy of it is running (or ran)."""


@dataclass(frozen=True)
class Reacted:
    """One user's reaction item on a comment (its key's sort key, and what it says)."""

    sk: str
    comment_id: str
    emoji: str
    user_id: str


# --- jobs --------------------------------------------------------------------------------------


def _job_of(env_id: str, item: EraseJobItem) -> JobState:
    progress = jsontext.stored(item.progress) if item.progress else {}
    job = EraseJob(
        id=item.id,
        user_id=item.user_id,
        mode=item.mode,  # type: ignore[arg-type]
        status=item.status,  # type: ignore[arg-type]
        phase=item.phase,
        created_at=item.created_at,
        updated_at=item.updated_at,
        finished_at=item.finished_at,
        error=item.error,
        **{name: int(progress.get(name, 0)) for name in PROGRESS},
    )
    return JobState(
        env_id,
        job,
        item.key_id,
        jsontext.stored(item.cursor) if item.cursor else {},
        int(item.version or 0),
        int(item.failures or 0),
        int(item.not_before) if item.not_before is not None else None,
    )


def job_read(env_id: str, job_id: str) -> Read[JobState | None]:
    """The job, in the request's one read (None: no such job in the environment)."""

    def convert(item: EraseJobItem | None) -> JobState | None:
        return _job_of(env_id, item) if item is not None else None

    return Read((EraseJobItem, jobs_pk(env_id), erase_job_sk(job_id)), convert)


def get_job(env_id: str, job_id: str) -> JobState | None:
    (item,) = batch_get([(EraseJobItem, jobs_pk(env_id), erase_job_sk(job_id))])
    return _job_of(env_id, item) if item is not None else None


def create_job(state: JobState, audit_event: AuditEvent) -> None:
    """The job and the audit event of its request, in one transaction."""
    j = state.job
    item = EraseJobItem(
        jobs_pk(state.env_id),
        erase_job_sk(j.id),
        id=j.id,
        user_id=j.user_id,
        mode=j.mode,
        status=j.status,
        phase=j.phase,
        key_id=state.key_id,
        created_at=j.created_at,
        updated_at=j.updated_at,
        cursor=jsontext.dumps(state.cursor),
        version=0,
        failures=0,
    )
    with transaction() as tx:
        tx.save(item, condition=EraseJobItem.pk.does_not_exist())
        tx.save(audit.to_item(audit_event))


def _job_change(state: JobState, w: JobWrite) -> tuple[Change, JobState]:
    """The job item's update for `w`, conditioned on the version read, and the state after it."""
    j = state.job
    counts = {name: getattr(j, name) + w.done.get(name, 0) for name in PROGRESS}
    status = w.status or j.status
    finished = w.now_iso if status in ("succeeded", "failed") else j.finished_at
    after = replace(
        j,
        status=status,  # type: ignore[arg-type]
        phase=w.phase or j.phase,
        updated_at=w.now_iso,
        finished_at=finished,
        error=w.error if w.error is not None else j.error,
        **counts,
    )
    actions: list[Any] = [
        EraseJobItem.cursor.set(jsontext.dumps(w.cursor)),
        EraseJobItem.progress.set(jsontext.dumps(counts, sort_keys=True)),
        EraseJobItem.status.set(after.status),
        EraseJobItem.phase.set(after.phase),
        EraseJobItem.updated_at.set(w.now_iso),
        EraseJobItem.version.set(state.version + 1),
        EraseJobItem.failures.set(0),
    ]
    if finished is not None:
        actions.append(EraseJobItem.finished_at.set(finished))
    if after.error is not None:
        actions.append(EraseJobItem.error.set(after.error))
    not_before = w.not_before if w.not_before is not None else state.not_before
    if not_before is not None:
        actions.append(EraseJobItem.not_before.set(not_before))
    item = EraseJobItem(jobs_pk(state.env_id), erase_job_sk(j.id))
    change = Change(item, actions, EraseJobItem.version == state.version)
    new = replace(
        state, job=after, cursor=w.cursor, version=state.version + 1, not_before=not_before
    )
    return change, new


def _job_key(state: JobState) -> tuple[str, str]:
    return jobs_pk(state.env_id), erase_job_sk(state.job.id)


def commit(
    state: JobState,
    w: JobWrite,
    changes: Sequence[Change] = (),
    deletes: Sequence[tuple[Any, Any]] = (),
) -> JobState | None:
    """The data change and the job's new cursor in one transaction. The job after it; None when
    a condition on the data failed (the caller re-reads); JobMoved when the job's did."""
    job, new = _job_change(state, w)
    try:
        with transaction() as tx:
            for item, condition in deletes:
                tx.delete(item, condition=condition)
            for change in (*changes, job):
                tx.update(change.item, actions=change.actions, condition=change.condition)
    except TransactionCancelled as exc:
        if exc.reason(*_job_key(state)):
            raise JobMoved() from exc
        return None
    return new


def save(state: JobState, w: JobWrite) -> JobState:
    """Only the job's cursor (a step's end, a phase change)."""
    saved = commit(state, w)
    assert saved is not None  # no data condition
    return saved


def record_failure(state: JobState, now_iso: str, error: str, failed: bool) -> bool:
    """Count a failed step, if the job is still as `state` read it (False: it moved on, the
    step made progress first); `failed` ends the job."""
    item = EraseJobItem(jobs_pk(state.env_id), erase_job_sk(state.job.id))
    actions: list[Any] = [
        EraseJobItem.failures.add(1),
        EraseJobItem.updated_at.set(now_iso),
        EraseJobItem.error.set(error),
    ]
    if failed:
        actions += [EraseJobItem.status.set("failed"), EraseJobItem.finished_at.set(now_iso)]
    try:
        with unavailable_on_throttle():
            item.update(actions=actions, condition=EraseJobItem.version == state.version)
    except PynamoDBException as exc:
        if not is_condition_failure(exc):
            raise
        return False
    return True


# --- the walk's reads --------------------------------------------------------------------------


def _query(
    pk: str, prefix: str, after: str | None, limit: int, attributes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """One consistent Query page of a partition's items under `prefix`, after the sort key
    `after` (raw items: a comment partition holds comments and reactions)."""
    request: dict[str, Any] = {
        "TableName": DataTable.Meta.table_name,
        "KeyConditionExpression": "pk = :0",
        "ExpressionAttributeValues": {":0": {"S": pk}},
        "ConsistentRead": True,
        "Limit": max(1, limit),
    }
    if prefix:
        request["KeyConditionExpression"] += " AND begins_with(sk, :1)"
        request["ExpressionAttributeValues"][":1"] = {"S": prefix}
    if attributes:
        request["ProjectionExpression"] = ", ".join(f"#a{i}" for i in range(len(attributes)))
        request["ExpressionAttributeNames"] = {f"#a{i}": a for i, a in enumerate(attributes)}
    if after:
        request["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": after}}
    with unavailable_on_throttle():
        items: list[dict[str, Any]] = connection().client.query(**request).get("Items", [])
    return items


def room_ids(env_id: str, prefix: str, after: str | None, limit: int) -> list[str]:
    """Ids of the environment's rooms (`ROOM#`) or rooms with a purge pending (`PURGE#`)."""
    start = prefix + after if after is not None else None
    found = _query(env_pk(env_id), prefix, start, limit, ("pk", "sk"))
    return [i["sk"]["S"][len(prefix) :] for i in found]


def room_gen(env_id: str, room_id: str) -> str | None:
    """The room's current generation (None: no room)."""
    (item,) = batch_get([(RoomItem, env_pk(env_id), room_sk(room_id))])
    return str(item.gen) if item is not None else None


def threads(env_id: str, room_id: str, after: str | None, limit: int) -> list[ThreadState]:
    """The room's threads of every generation (invisible ones hold the user's data too)."""
    start = thread_sk(after) if after is not None else None
    found = _query(threads_pk(env_id, room_id), "THREAD#", start, limit)
    return [rooms.to_thread_state(ThreadItem.from_raw_data(i)) for i in found]


def thread(env_id: str, room_id: str, thread_id: str) -> ThreadState | None:
    (item,) = batch_get([(ThreadItem, threads_pk(env_id, room_id), thread_sk(thread_id))])
    return rooms.to_thread_state(item) if item is not None else None


def comments(env_id: str, thread_id: str, after: str | None, limit: int) -> list[Comment]:
    found = _query(comments_pk(env_id, thread_id), "COMMENT#", after, limit)
    return [rooms.to_comment(CommentItem.from_raw_data(i)) for i in found]


def reactions(env_id: str, thread_id: str, after: str | None, limit: int) -> list[Reacted]:
    found = _query(comments_pk(env_id, thread_id), "REACT#", after, limit)
    out = []
    for raw in found:
        item = ReactionItem.from_raw_data(raw)
        comment_id = item.sk.split("#")[1]
        out.append(Reacted(item.sk, comment_id, item.emoji, item.user_id))
    return out


def comments_by_id(env_id: str, thread_id: str, ids: Sequence[str]) -> dict[str, Comment]:
    """The comments that still exist among `ids` (one BatchGetItem, at most 100)."""
    if not ids:
        return {}
    pk = comments_pk(env_id, thread_id)
    got = batch_get([(CommentItem, pk, comment_sk(i)) for i in ids])
    return {c.id: rooms.to_comment(c) for c in got if c is not None}


def items_under(pk: str, prefix: str, after: str | None, limit: int) -> list[dict[str, Any]]:
    """A partition's items under `prefix` as plain values (strings, numbers, booleans, lists),
    keys included: what an export copies out."""
    return [{k: _plain(v) for k, v in raw.items()} for raw in _query(pk, prefix, after, limit)]


def _plain(value: dict[str, Any]) -> Any:
    ((kind, inner),) = value.items()
    if kind == "N":
        number = float(inner)
        return int(number) if number.is_integer() else number
    if kind in ("SS", "NS"):
        return sorted(inner)
    if kind == "M":
        return {k: _plain(v) for k, v in inner.items()}
    if kind == "L":
        return [_plain(v) for v in inner]
    if kind == "NULL":
        return None
    return inner


def keys_under(pk: str, prefix: str, after: str | None, limit: int) -> list[tuple[str, str]]:
    """Keys of a partition's items under `prefix` (a user's inbox, settings, a room's log)."""
    return [(i["pk"]["S"], i["sk"]["S"]) for i in _query(pk, prefix, after, limit, ("pk", "sk"))]


def texts_under(
    pk: str, prefix: str, after: str | None, limit: int, attribute: str
) -> list[tuple[str, str]]:
    """(sort key, the text of `attribute`) of a partition's items under `prefix`."""
    found = _query(pk, prefix, after, limit, ("pk", "sk", attribute))
    return [(i["sk"]["S"], str((i.get(attribute) or {}).get("S", ""))) for i in found]


def own_partitions(env_id: str, user_id: str) -> list[str]:
    """The partitions that hold only the user's items: their inbox (states, entries, count)
    and their settings (notifications per room, live connections)."""
    return [inbox_pk(env_id, user_id), user_connections_pk(env_id, user_id)]


def subscription_key(env_id: str, thread_id: str, user_id: str) -> tuple[str, str]:
    return subscribers_pk(env_id, thread_id), user_id


def subscriptions(env_id: str, thread_ids: Sequence[str], user_id: str) -> dict[str, str]:
    """The user's subscription state of each of these threads that has one (one BatchGetItem
    per 100 threads)."""
    found: dict[str, str] = {}
    for start in range(0, len(thread_ids), 100):
        chunk = thread_ids[start : start + 100]
        keys = [(SubscriptionItem, subscribers_pk(env_id, t), user_id) for t in chunk]
        for thread_id, item in zip(chunk, batch_get(keys), strict=True):
            if item is not None:
                found[thread_id] = str(item.state)
    return found


def log_partition(env_id: str, room_id: str) -> str:
    return events_pk(env_id, room_id)


# --- the changes -------------------------------------------------------------------------------


def _attachment_deletes(env_id: str, comment: Comment) -> list[tuple[Any, Any]]:
    return [
        (AttachmentItem(attachment_pk(env_id, a.id), ATTACHMENT_SK), None)
        for a in comment.attachments
    ]


def _counts(env_id: str, t: ThreadState, *, threads: int, comments: int) -> list[Change]:
    """The room's and environment's counters, moved only for a visible thread (one of its
    room's current generation: the room's condition makes sure)."""
    room = Change(
        RoomItem(env_pk(env_id), room_sk(t.thread.room_id)),
        [
            *([RoomItem.thread_count.add(threads)] if threads else []),
            RoomItem.comment_count.add(comments),
        ],
        RoomItem.gen == t.room_gen,
    )
    return [room, stats.totals(env_id, threads=threads, comments=comments)]


def delete_comment(
    state: JobState, w: JobWrite, t: ThreadState, comment: Comment, visible: bool
) -> JobState | None:
    """One of the user's comments (not the thread's last), its uploads' records, and its share
    of the counters; None if the thread or room changed (the caller re-reads)."""
    env_id = state.env_id
    th = Change(
        ThreadItem(threads_pk(env_id, t.thread.room_id), thread_sk(t.thread.id)),
        [ThreadItem.comment_count.add(-1)],
        (ThreadItem.room_gen == t.room_gen) & (ThreadItem.comment_count > 1),
    )
    changes = [th, *(_counts(env_id, t, threads=0, comments=-1) if visible else [])]
    deletes = [
        (
            CommentItem(comments_pk(env_id, t.thread.id), comment_sk(comment.id)),
            CommentItem.pk.exists(),
        ),
        *_attachment_deletes(env_id, comment),
    ]
    return commit(state, w, changes, deletes)


def delete_thread(
    state: JobState, w: JobWrite, t: ThreadState, last: Comment, visible: bool
) -> JobState | None:
    """A thread whose one comment is the user's (or its tombstone): both, with the counters."""
    env_id = state.env_id
    deletes = [
        (
            ThreadItem(threads_pk(env_id, t.thread.room_id), thread_sk(t.thread.id)),
            (ThreadItem.room_gen == t.room_gen) & (ThreadItem.comment_count == 1),
        ),
        (
            CommentItem(comments_pk(env_id, t.thread.id), comment_sk(last.id)),
            CommentItem.pk.exists(),
        ),
        *_attachment_deletes(env_id, last),
    ]
    changes = _counts(env_id, t, threads=-1, comments=-1) if visible else []
    return commit(state, w, changes, deletes)


def tombstone(
    state: JobState, w: JobWrite, t: ThreadState, comment: Comment, author: str, body: str
) -> JobState | None:
    """The first comment of a thread others replied to, kept as a tombstone: no author, body,
    mentions or files (the thread's creator goes too)."""
    env_id = state.env_id
    item = CommentItem(comments_pk(env_id, t.thread.id), comment_sk(comment.id))
    changes = [
        Change(
            item,
            [
                CommentItem.user_id.set(author),
                CommentItem.body.set(body),
                CommentItem.edited_at.set(w.now_iso),
                CommentItem.mentions.remove(),
                CommentItem.attachments.remove(),
            ],
            CommentItem.user_id == comment.user_id,
        ),
        Change(
            ThreadItem(threads_pk(env_id, t.thread.room_id), thread_sk(t.thread.id)),
            [ThreadItem.created_by.set(author)],
            ThreadItem.pk.exists(),
        ),
    ]
    return commit(state, w, changes, _attachment_deletes(env_id, comment))


def rewrite_comment(
    state: JobState, w: JobWrite, comment: Comment, body: str, mentions: Sequence[str]
) -> JobState | None:
    """A comment's body and mention list with the user's mentions replaced, if unchanged since
    read."""
    item = CommentItem(comments_pk(state.env_id, comment.thread_id), comment_sk(comment.id))
    listed = jsontext.dumps(list(mentions)) if mentions else None
    actions = [
        CommentItem.body.set(body),
        CommentItem.mentions.set(listed) if listed else CommentItem.mentions.remove(),
    ]
    return commit(state, w, [Change(item, actions, CommentItem.body == comment.body)])


def remove_reaction(
    state: JobState,
    w: JobWrite,
    thread_id: str,
    r: Reacted,
    comment: Comment | None,
    summary: str | None,
) -> JobState | None:
    """The user's reaction item, and its comment's summary without it (conditioned on the
    summary read), or an orphan reaction whose comment is gone."""
    pk = comments_pk(state.env_id, thread_id)
    deletes = [(ReactionItem(pk, r.sk), None)]
    changes: list[Change] = []
    if comment is not None:
        before = rooms.reactions_text(comment.reactions)
        same = CommentItem.reactions == before if before else CommentItem.reactions.does_not_exist()
        action = CommentItem.reactions.set(summary) if summary else CommentItem.reactions.remove()
        changes.append(Change(CommentItem(pk, comment_sk(comment.id)), [action], same))
    return commit(state, w, changes, deletes)


def delete_keys(state: JobState, w: JobWrite, keys: Sequence[tuple[str, str]]) -> JobState:
    """Items found under the user's own keys (at most 98), unconditionally."""
    deletes = [(DataTable(pk, sk), None) for pk, sk in keys]
    saved = commit(state, w, (), deletes)
    assert saved is not None
    return saved


def revoke_tokens(state: JobState, w: JobWrite, user_id: str) -> JobState | None:
    """The user's next token generation (every token minted until now stops connecting), with
    the job's move past it; None if the user is gone."""
    change = Change(
        UserItem(state_user_pk(state), user_sk(user_id)),
        [UserItem.token_generation.add(1), UserItem.tokens_revoked_at.set(w.now_iso)],
        UserItem.pk.exists(),
    )
    return commit(state, w, [change])


def state_user_pk(state: JobState) -> str:
    return env_pk(state.env_id)


def delete_user(state: JobState, w: JobWrite, user_id: str, name: str) -> JobState | None:
    """The user's item, its name index and its place in the environment's user count."""
    env_id = state.env_id
    deletes = [
        (UserItem(env_pk(env_id), user_sk(user_id)), UserItem.pk.exists()),
        *_name_deletes(env_id, user_id, name),
    ]
    changes = [Change(StatsItem(env_pk(env_id), "STATS"), [StatsItem.users.add(-1)])]
    return commit(state, w, changes, deletes)


def anonymize_user(
    state: JobState, w: JobWrite, user_id: str, name: str, placeholder: str
) -> JobState | None:
    """The user's name set to the placeholder and avatar removed; its name index goes (an
    anonymized user is found by id, never by a name)."""
    env_id = state.env_id
    change = Change(
        UserItem(env_pk(env_id), user_sk(user_id)),
        [UserItem.name.set(placeholder), UserItem.avatar.remove()],
        UserItem.name == name,
    )
    return commit(state, w, [change], _name_deletes(env_id, user_id, name))


def _name_deletes(env_id: str, user_id: str, name: str) -> list[tuple[Any, Any]]:
    pk = user_names_pk(env_id)
    return [
        (UserNameItem(pk, user_name_sk(words, user_id)), None) for words in users.name_words(name)
    ]
