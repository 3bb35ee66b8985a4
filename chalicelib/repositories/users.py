"""Users of an environment and the counters that move with them, in the data table.

A token mint records its user with at most one write call: a plain UpdateItem, or one
TransactWriteItems when counters (new user, first activity of the day) or the minting key's
lastUsedAt must move with it. A conflict retries once without the part that lost."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from pynamodb.exceptions import PynamoDBException

from .. import jsontext
from ..db.dynamo import (
    TransactionCancelled,
    is_condition_failure,
    transaction,
    unavailable_on_throttle,
)
from ..db.models import (
    ApiKeyItem,
    UserItem,
    UserNameItem,
    env_pk,
    key_sk,
    user_name_sk,
    user_names_pk,
    user_sk,
)
from ..entities import Page, User
from . import stats
from .pages import query_page
from .reads import Read, absent, fetch
from .records import to_record
from .stats import Change


@dataclass(frozen=True)
class KeyTouch:
    """Set the key's lastUsedAt unless it was set after `cutoff_iso`."""

    env_id: str
    key_id: str
    now_iso: str
    cutoff_iso: str


@dataclass(frozen=True)
class SeenWrite:
    env_id: str
    user: User  # the profile to store; last_seen_at is the write time
    is_new: bool
    first_today: bool  # the day's first mint: the profile and the name index are written again
    profile_due: bool  # profile changed or lastSeenAt is stale; otherwise no user write
    today: str
    touch: KeyTouch | None
    previous_name: str | None = None  # the stored name, when there is one (its index items go)


USER_ID_MAX = 128  # the longest userId POST /auth/token accepts: no longer one is stored


def user_read(env_id: str, user_id: str) -> Read[User | None]:
    """Read the user in the same BatchGetItem that authenticates the key."""

    def convert(item: UserItem | None) -> User | None:
        return to_user(item) if item else None

    if not 0 < len(user_id) <= USER_ID_MAX:
        return absent(convert)
    return Read((UserItem, env_pk(env_id), user_sk(user_id)), convert)


@dataclass(frozen=True)
class Revocation:
    """Where a user's tokens stand: only a token minted at `generation` is valid (0 until the
    first revocation; a token without the claim was minted at 0)."""

    env_id: str
    user_id: str
    generation: int
    revoked_at: str | None


def revocation_read(env_id: str, user_id: str) -> Read[Revocation]:
    """The user's token generation, read from the user's item (in the same BatchGetItem as the
    key check; with user_read in one batch, the item is fetched once)."""

    def convert(item: UserItem | None) -> Revocation:
        if item is None:
            return Revocation(env_id, user_id, 0, None)
        return Revocation(env_id, user_id, int(item.token_generation or 0), item.tokens_revoked_at)

    if not 0 < len(user_id) <= USER_ID_MAX:
        return absent(convert)
    return Read((UserItem, env_pk(env_id), user_sk(user_id)), convert)


def generation_unchanged(r: Revocation) -> Any:
    """The condition a write makes on the user's item: no revocation since `r` was read (an
    absent item has generation 0)."""
    if r.generation == 0:
        return UserItem.token_generation.does_not_exist() | (UserItem.token_generation == 0)
    return UserItem.token_generation == r.generation


def user_key(env_id: str, user_id: str) -> UserItem:
    return UserItem(env_pk(env_id), user_sk(user_id))


def revoke_tokens(env_id: str, user_id: str, now_iso: str) -> Revocation | None:
    """Move the user to the next token generation (every token minted until now dies); one
    UpdateItem. None if the user does not exist."""
    item = user_key(env_id, user_id)
    try:
        with unavailable_on_throttle():
            item.update(
                actions=[
                    UserItem.token_generation.add(1),
                    UserItem.tokens_revoked_at.set(now_iso),
                ],
                condition=UserItem.pk.exists(),
            )
    except PynamoDBException as exc:
        if is_condition_failure(exc):
            return None
        raise
    return Revocation(env_id, user_id, int(item.token_generation or 0), now_iso)


def to_user(item: UserItem) -> User:
    permissions = jsontext.stored(item.permissions) if item.permissions else None
    groups = tuple(jsontext.stored(item.group_ids)) if item.group_ids else ()
    return to_record(User, item, group_ids=groups, permissions=permissions)


def list_users(env_id: str, *, limit: int, cursor: str | None, secret: bytes) -> Page[User]:
    def query(**kwargs: Any) -> Any:
        return UserItem.query(env_pk(env_id), UserItem.sk.startswith("USER#"), **kwargs)

    return query_page(
        query, limit=limit, cursor=cursor, scope=f"users:{env_id}", secret=secret
    ).page(to_user)


def _upsert(w: SeenWrite, condition: Any = None) -> Change:
    u = w.user
    actions = [
        UserItem.id.set(u.id),
        UserItem.name.set(u.name),
        UserItem.avatar.set(u.avatar) if u.avatar is not None else UserItem.avatar.remove(),
        UserItem.color.set(u.color),
        UserItem.first_seen_at.set(UserItem.first_seen_at | u.first_seen_at),
        UserItem.last_seen_at.set(u.last_seen_at),
        _json_or_remove(UserItem.group_ids, list(u.group_ids) if u.group_ids else None),
        _json_or_remove(UserItem.permissions, u.permissions),
    ]
    return Change(UserItem(env_pk(w.env_id), user_sk(u.id)), actions, condition)


def _json_or_remove(attribute: Any, value: Any) -> Any:
    return attribute.remove() if value is None else attribute.set(jsontext.dumps(value))


def _counter_ops(w: SeenWrite, *, users: int) -> list[Change]:
    """A new user counts in the environment's users. (Active users are counted when they
    connect, services/metering.py: a mint says nothing about who used a room.)"""
    return [stats.totals(w.env_id, users=users)] if users else []


def name_words(name: str) -> list[str]:
    """The keys a name is found under: its normalized words from each of the first three to the
    end ("Ada King Lovelace" -> "ada king lovelace", "king lovelace", "lovelace")."""
    words = unicodedata.normalize("NFKC", name).casefold().split()
    return [" ".join(words[n:])[:NAME_KEY_MAX] for n in range(min(len(words), 3))]


NAME_KEY_MAX = 200


def _name_index(w: SeenWrite) -> list[Change]:
    """The user's name index items (put: an update that sets the id), with the ones of a
    previous name removed (an update cannot delete: `_run` deletes those of `w.previous_name`).
    Written for a new user, on the first mint of a day (so users stored before the index find
    their way in) and when the name changes."""
    pk = user_names_pk(w.env_id)
    return [
        Change(
            UserNameItem(pk, user_name_sk(words, w.user.id)), [UserNameItem.user_id.set(w.user.id)]
        )
        for words in name_words(w.user.name)
    ]


def _stale_names(w: SeenWrite) -> list[UserNameItem]:
    if w.previous_name is None or w.previous_name == w.user.name:
        return []
    keep = set(name_words(w.user.name))
    pk = user_names_pk(w.env_id)
    return [
        UserNameItem(pk, user_name_sk(words, w.user.id))
        for words in name_words(w.previous_name)
        if words not in keep
    ]


def _plan(w: SeenWrite) -> list[Change]:
    ops: list[Change] = []
    renamed = w.previous_name is not None and w.previous_name != w.user.name
    if w.is_new:
        ops.append(_upsert(w, UserItem.pk.does_not_exist()))
        ops += _counter_ops(w, users=1)
        ops += _name_index(w)
    elif w.first_today:
        # Counted once per day: the condition fails if a concurrent request already did it.
        ops.append(_upsert(w, UserItem.last_seen_at < w.today))
        ops += _counter_ops(w, users=0)
        ops += _name_index(w)
    elif w.profile_due:
        ops.append(_upsert(w))
        if renamed:
            ops += _name_index(w)
    if w.touch:
        t = w.touch
        key = ApiKeyItem(env_pk(t.env_id), key_sk(t.key_id))
        condition = ApiKeyItem.pk.exists() & (
            ApiKeyItem.last_used_at.does_not_exist() | (ApiKeyItem.last_used_at < t.cutoff_iso)
        )
        ops.append(Change(key, [ApiKeyItem.last_used_at.set(t.now_iso)], condition))
    return ops


def _only_touch_failed(exc: TransactionCancelled, touch: KeyTouch) -> bool:
    """Whether the key's lastUsedAt touch is the only item the transaction refused."""
    return set(exc.refusals) == {(env_pk(touch.env_id), key_sk(touch.key_id))}


def _run(ops: list[Change], deletes: list[UserNameItem] | None = None) -> None:
    with unavailable_on_throttle():
        if len(ops) == 1 and not deletes:
            op = ops[0]
            op.item.update(actions=op.actions, condition=op.condition)
            return
        with transaction() as tx:
            for op in ops:
                tx.update(op.item, actions=op.actions, condition=op.condition)
            for item in deletes or ():
                tx.delete(item)


def record_seen(w: SeenWrite) -> None:
    """One write call, two after a lost race. If only the key's lastUsedAt lost (another request
    touched it first), the user and its counters are written again without the touch, so a new
    user is never left uncounted; if the user's own part lost (someone else counted this user),
    one retry only updates the profile, if that was due."""
    ops = _plan(w)
    if not ops:
        return
    try:
        _run(ops, _stale_names(w))
    except TransactionCancelled as exc:
        if w.touch is not None and _only_touch_failed(exc, w.touch):
            record_seen(replace(w, touch=None))
        elif w.is_new or w.first_today or w.profile_due:
            _run([_upsert(w), *_name_index(w)], _stale_names(w))
    except PynamoDBException as exc:
        # A lone conditional write is only ever the lastUsedAt touch: losing it is fine.
        if not is_condition_failure(exc):
            raise


def search(env_id: str, q: str, limit: int) -> list[User]:
    """Users whose id starts with `q`, then those with a word of their name that does (each
    once, at most `limit`): one Query of the user items, one of the name index, and one
    BatchGetItem of the users the index found. The cost never grows with the environment."""
    found: dict[str, User] = {}
    with unavailable_on_throttle():
        by_id = UserItem.query(
            env_pk(env_id),
            UserItem.sk.startswith(user_sk(q)),
            limit=limit,
            consistent_read=True,
        )
        for item in by_id:
            found.setdefault(item.id, to_user(item))
        words = " ".join(unicodedata.normalize("NFKC", q).casefold().split())
        if len(found) < limit and words:
            by_name = UserNameItem.query(
                user_names_pk(env_id),
                UserNameItem.sk.startswith(words[:NAME_KEY_MAX]),
                limit=limit * 3,  # a user is under up to three words of its name
                consistent_read=True,
            )
            ids = [i.user_id for i in by_name if i.user_id not in found]
            wanted = list(dict.fromkeys(ids))[: limit - len(found)]
            if wanted:
                reads = [user_read(env_id, u) for u in wanted]
                got = fetch(reads)
                for read in reads:
                    if (user := got[read]) is not None:
                        found.setdefault(user.id, user)
    return list(found.values())[:limit]
