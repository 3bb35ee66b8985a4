"""Environments and their API keys in the control table, and the transactions that change keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.transactions import TransactWrite

from .. import ids, jsontext
from ..access import as_level
from ..db.dynamo import TransactionCancelled, transaction, unavailable_on_throttle
from ..db.models import (
    ENV_SK,
    ENVS_GSI,
    ApiKeyItem,
    EnvironmentItem,
    env_pk,
    key_sk,
)
from ..entities import (
    ATTACHMENT_MAX_BYTES,
    ATTACHMENT_TYPES,
    NOTIFICATION_DELAY_SECONDS,
    ApiKey,
    AuditEvent,
    Environment,
    Page,
)
from .audit import to_item
from .pages import BASE_KEY, GSI1_KEY, query_page
from .reads import Read, absent, fetch
from .records import to_record

MAX_ACTIVE_KEYS = 20  # keeps every key transaction far below DynamoDB's 100-item limit


@dataclass(frozen=True)
class EnvState:
    environment: Environment
    active_key_ids: frozenset[str]
    key_version: int


@dataclass(frozen=True)
class NewKey:
    key: ApiKey  # with .key set: the clear key, never stored
    digest: str


def to_environment(item: EnvironmentItem) -> Environment:
    return to_record(
        Environment,
        item,
        default_room_access=as_level(item.default_room_access),
        create_rooms_on_join=item.create_rooms_on_join is not False,
        attachment_max_bytes=(
            int(item.attachment_max_bytes)
            if item.attachment_max_bytes is not None
            else ATTACHMENT_MAX_BYTES
        ),
        attachment_types=(
            tuple(jsontext.stored(item.attachment_types))
            if item.attachment_types
            else ATTACHMENT_TYPES
        ),
        notification_delay_seconds=(
            int(item.notification_delay_seconds)
            if item.notification_delay_seconds is not None
            else NOTIFICATION_DELAY_SECONDS
        ),
        retention_days=int(item.retention_days) if item.retention_days else None,
        key_ends=tuple(
            sorted(
                jsontext.stored(item.key_ends).items() if item.key_ends else (),
                key=lambda pair: (pair[1], pair[0]),
            )
        ),
    )


def _ends(state: EnvState, add: dict[str, str] | None = None, drop: str | None = None) -> Any:
    """The action that writes the environment's key ends as `state` read them, changed."""
    ends = dict(state.environment.key_ends)
    ends.update(add or {})
    ends.pop(drop or "", None)
    if not ends:
        return EnvironmentItem.key_ends.remove()
    return EnvironmentItem.key_ends.set(jsontext.dumps(ends))


def to_state(item: EnvironmentItem) -> EnvState:
    return EnvState(
        environment=to_environment(item),
        active_key_ids=frozenset(item.active_key_ids or ()),
        key_version=int(item.key_version or 0),
    )


def to_key(item: ApiKeyItem) -> ApiKey:
    return to_record(
        ApiKey,
        item,
        scopes=tuple(sorted(item.scopes)) if item.scopes else None,
        key=item.public_key if item.kind == "publishable" else None,
        allowed_ips=tuple(jsontext.stored(item.allowed_ips)) if item.allowed_ips else None,
    )


def environment_read(env_id: str) -> Read[EnvState | None]:
    """The environment (None when absent, or when `env_id` is no environment id)."""

    def convert(item: EnvironmentItem | None) -> EnvState | None:
        return to_state(item) if item else None

    if not ids.raw_part(env_id, "env"):
        return absent(convert)
    return Read((EnvironmentItem, env_pk(env_id), ENV_SK), convert)


@dataclass(frozen=True)
class StoredKey:
    """An API key as stored: the record and the digest a presented key must match."""

    key: ApiKey
    digest: str


def stored_key_read(env_id: str, key_id: str) -> Read[StoredKey | None]:
    def convert(item: ApiKeyItem | None) -> StoredKey | None:
        return StoredKey(to_key(item), item.secret_hash) if item else None

    return Read((ApiKeyItem, env_pk(env_id), key_sk(key_id)), convert)


def key_read(env_id: str, key_id: str) -> Read[ApiKey | None]:
    """Another key of the environment (a token's minting key)."""
    return Read((ApiKeyItem, env_pk(env_id), key_sk(key_id)), lambda i: to_key(i) if i else None)


def get(env_id: str) -> EnvState | None:
    read = environment_read(env_id)
    return fetch([read])[read]


def get_with_key(env_id: str, key_id: str) -> tuple[EnvState | None, ApiKey | None]:
    """The environment and one of its keys, in one consistent BatchGetItem."""
    env, key = environment_read(env_id), key_read(env_id, key_id)
    got = fetch([env, key])
    return got[env], got[key]


def list_environments(
    q: str | None, *, limit: int, cursor: str | None, secret: bytes
) -> Page[Environment]:
    term = (q or "").strip()
    needle = term.lower()  # names match in any case; base62 ids only as typed
    condition = None
    if needle:
        condition = EnvironmentItem.name_lower.contains(needle) | EnvironmentItem.id.contains(term)

    def query(**kwargs: Any) -> Any:
        return EnvironmentItem.gsi1.query(
            ENVS_GSI, filter_condition=condition, scan_index_forward=False, **kwargs
        )

    return query_page(
        query,
        limit=limit,
        cursor=cursor,
        scope=f"environments:{term}",
        secret=secret,
        key_attrs=GSI1_KEY,
        filtered=bool(needle),
    ).page(to_environment)


def list_keys(
    env_id: str, q: str | None, *, limit: int, cursor: str | None, secret: bytes
) -> Page[ApiKey]:
    term = (q or "").strip()
    needle = term.lower()  # names, kinds, statuses match in any case; ids and previews as typed
    condition = None
    if needle:
        condition = (
            ApiKeyItem.name_lower.contains(needle)
            | ApiKeyItem.id.contains(term)
            | ApiKeyItem.preview.contains(term)
            | ApiKeyItem.kind.contains(needle)
            | ApiKeyItem.status.contains(needle)
        )

    def query(**kwargs: Any) -> Any:
        return ApiKeyItem.query(
            env_pk(env_id),
            ApiKeyItem.sk.startswith("KEY#"),
            filter_condition=condition,
            scan_index_forward=False,
            consistent_read=True,
            **kwargs,
        )

    return query_page(
        query,
        limit=limit,
        cursor=cursor,
        scope=f"keys:{env_id}:{term}",
        secret=secret,
        key_attrs=BASE_KEY,
        filtered=bool(needle),
    ).page(to_key)


def _key_item(new: NewKey) -> ApiKeyItem:
    k = new.key
    return ApiKeyItem(
        env_pk(k.env_id),
        key_sk(k.id),
        id=k.id,
        env_id=k.env_id,
        kind=k.kind,
        name=k.name,
        name_lower=k.name.lower(),
        secret_hash=new.digest,
        preview=k.preview,
        status="active",
        created_at=k.created_at,
        created_by=k.created_by,
        scopes=set(k.scopes) if k.scopes else None,
        rooms=k.rooms,
        expires_at=k.expires_at,
        allowed_ips=jsontext.dumps(list(k.allowed_ips)) if k.allowed_ips else None,
        # A pk_ is public (it sits in frontend code), so it is kept to be shown again.
        public_key=k.key if k.kind == "publishable" else None,
    )


def create(environment: Environment, keys: list[NewKey], audit: AuditEvent) -> None:
    env = environment
    item = EnvironmentItem(
        env_pk(env.id),
        ENV_SK,
        gsi1pk=ENVS_GSI,
        gsi1sk=env.id,
        id=env.id,
        name=env.name,
        name_lower=env.name.lower(),
        status=env.status,
        created_at=env.created_at,
        created_by=env.created_by,
        updated_at=env.updated_at,
        active_key_ids={k.key.id for k in keys},
        key_version=1,
    )
    with transaction() as tx:
        tx.save(item, condition=EnvironmentItem.pk.does_not_exist())
        for new in keys:
            tx.save(_key_item(new), condition=ApiKeyItem.pk.does_not_exist())
        tx.save(to_item(audit))


def update(env: Environment, now_iso: str, audit: AuditEvent) -> bool:
    """Write the environment's name and room access settings as `env` has them, with its audit
    event; False when the environment is missing or disabled."""
    try:
        with transaction() as tx:
            tx.update(
                EnvironmentItem(env_pk(env.id), ENV_SK),
                actions=[
                    EnvironmentItem.name.set(env.name),
                    EnvironmentItem.name_lower.set(env.name.lower()),
                    EnvironmentItem.default_room_access.set(env.default_room_access),
                    EnvironmentItem.create_rooms_on_join.set(env.create_rooms_on_join),
                    EnvironmentItem.attachment_max_bytes.set(env.attachment_max_bytes),
                    EnvironmentItem.attachment_types.set(jsontext.dumps(env.attachment_types)),
                    EnvironmentItem.notification_delay_seconds.set(env.notification_delay_seconds),
                    EnvironmentItem.retention_days.set(env.retention_days)
                    if env.retention_days
                    else EnvironmentItem.retention_days.remove(),
                    EnvironmentItem.updated_at.set(now_iso),
                ],
                condition=EnvironmentItem.status == "active",
            )
            tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def disable(state: EnvState, now_iso: str, audit: AuditEvent) -> bool:
    """Disable the environment and revoke its active keys in one transaction; False on a race."""
    env_id = state.environment.id
    try:
        with transaction() as tx:
            tx.update(
                EnvironmentItem(env_pk(env_id), ENV_SK),
                actions=[
                    EnvironmentItem.status.set("disabled"),
                    EnvironmentItem.disabled_at.set(now_iso),
                    EnvironmentItem.updated_at.set(now_iso),
                    EnvironmentItem.active_key_ids.remove(),
                    EnvironmentItem.key_version.add(1),
                    EnvironmentItem.key_ends.remove(),
                ],
                condition=(EnvironmentItem.status == "active")
                & (EnvironmentItem.key_version == state.key_version),
            )
            for key_id in state.active_key_ids:
                _revoke_in(tx, env_id, key_id, now_iso)
            tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def set_suspended(env_id: str, suspended: bool, now_iso: str, audit: AuditEvent) -> bool:
    """Suspend (`suspended`) or resume the environment, with its audit event, in one transaction
    conditioned on it being active and not already in that state; False otherwise (missing,
    disabled, or already suspended/resumed, by a racing request too). Keys are untouched."""
    suspended_at = EnvironmentItem.suspended_at
    try:
        with transaction() as tx:
            tx.update(
                EnvironmentItem(env_pk(env_id), ENV_SK),
                actions=[
                    suspended_at.set(now_iso) if suspended else suspended_at.remove(),
                    EnvironmentItem.updated_at.set(now_iso),
                ],
                condition=(EnvironmentItem.status == "active")
                & (suspended_at.does_not_exist() if suspended else suspended_at.exists()),
            )
            tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def _revoke_in(tx: TransactWrite, env_id: str, key_id: str, now_iso: str) -> None:
    tx.update(
        ApiKeyItem(env_pk(env_id), key_sk(key_id)),
        actions=[ApiKeyItem.status.set("revoked"), ApiKeyItem.revoked_at.set(now_iso)],
        condition=ApiKeyItem.status == "active",
    )


def add_key(state: EnvState, new: NewKey, audit: AuditEvent) -> bool:
    """Add one active key; False if the environment changed (disabled, or keys moved) meanwhile."""
    env_id = state.environment.id
    try:
        with transaction() as tx:
            tx.update(
                EnvironmentItem(env_pk(env_id), ENV_SK),
                actions=[
                    EnvironmentItem.active_key_ids.add({new.key.id}),
                    EnvironmentItem.key_version.add(1),
                    *(
                        [_ends(state, {new.key.id: new.key.expires_at})]
                        if new.key.expires_at
                        else []
                    ),
                ],
                condition=(EnvironmentItem.status == "active")
                & (EnvironmentItem.key_version == state.key_version),
            )
            tx.save(_key_item(new), condition=ApiKeyItem.pk.does_not_exist())
            tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def rotate(state: EnvState, new_keys: list[NewKey], now_iso: str, audit: AuditEvent) -> bool:
    """Swap every active key for the new pair in one transaction, conditioned on the version the
    caller read. Two racing rotations: exactly one commits; the other gets False."""
    env_id = state.environment.id
    try:
        with transaction() as tx:
            tx.update(
                EnvironmentItem(env_pk(env_id), ENV_SK),
                actions=[
                    EnvironmentItem.active_key_ids.set({k.key.id for k in new_keys}),
                    EnvironmentItem.key_version.add(1),
                    EnvironmentItem.updated_at.set(now_iso),
                    EnvironmentItem.key_ends.remove(),  # every key that had an end is revoked
                ],
                condition=(EnvironmentItem.status == "active")
                & (EnvironmentItem.key_version == state.key_version),
            )
            for new in new_keys:
                tx.save(_key_item(new), condition=ApiKeyItem.pk.does_not_exist())
            for key_id in state.active_key_ids:
                _revoke_in(tx, env_id, key_id, now_iso)
            tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def revoke(
    state: EnvState, key_id: str, now_iso: str, audit: AuditEvent, leaked: str | None = None
) -> bool:
    """Revoke one key; `leaked` (its preview): reported leaked, which the environment shows."""
    env_id = state.environment.id
    leak = _leak_actions(leaked, now_iso) if leaked else []
    try:
        with transaction() as tx:
            _revoke_in(tx, env_id, key_id, now_iso)
            tx.update(
                EnvironmentItem(env_pk(env_id), ENV_SK),
                actions=[
                    EnvironmentItem.active_key_ids.delete({key_id}),
                    EnvironmentItem.key_version.add(1),
                    *leak,
                    _ends(state, drop=key_id),
                ],
                condition=EnvironmentItem.key_version == state.key_version,
            )
            tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def _leak_actions(preview: str, now_iso: str) -> list[Any]:
    return [EnvironmentItem.leak_reported_at.set(now_iso), EnvironmentItem.leaked_key.set(preview)]


def record_leak(env_id: str, preview: str, now_iso: str, audit: AuditEvent) -> None:
    """A key already revoked, reported leaked again: shown again, with its audit event."""
    with transaction() as tx:
        tx.update(
            EnvironmentItem(env_pk(env_id), ENV_SK),
            actions=_leak_actions(preview, now_iso),
            condition=EnvironmentItem.pk.exists(),
        )
        tx.save(to_item(audit))


def dismiss_leak(env_id: str, audit: AuditEvent) -> bool:
    """Hide the leak banner, with its audit event; False if none was shown."""
    try:
        with transaction() as tx:
            tx.update(
                EnvironmentItem(env_pk(env_id), ENV_SK),
                actions=[
                    EnvironmentItem.leak_reported_at.remove(),
                    EnvironmentItem.leaked_key.remove(),
                ],
                condition=EnvironmentItem.leak_reported_at.exists(),
            )
            tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def roll(
    state: EnvState, old_id: str, new: NewKey, expires_at: str, audit: AuditEvent, *, cut: bool
) -> bool:
    """Put `new` beside the key `old_id` and give the old one its end, in one transaction
    conditioned on the key version read: `cut` revokes it now (out of the active set); else it
    stays active until `expires_at` (never later than an end it already had). False on a race
    or when the old key is no longer active."""
    env_id = state.environment.id
    active = set(state.active_key_ids) | {new.key.id}
    if cut:
        active.discard(old_id)
    try:
        with transaction() as tx:
            tx.update(
                EnvironmentItem(env_pk(env_id), ENV_SK),
                actions=[
                    EnvironmentItem.active_key_ids.set(active),
                    EnvironmentItem.key_version.add(1),
                    EnvironmentItem.updated_at.set(audit.created_at),
                    _ends(state, drop=old_id) if cut else _ends(state, {old_id: expires_at}),
                ],
                condition=(EnvironmentItem.status == "active")
                & (EnvironmentItem.key_version == state.key_version),
            )
            tx.save(_key_item(new), condition=ApiKeyItem.pk.does_not_exist())
            if cut:
                _revoke_in(tx, env_id, old_id, expires_at)
            else:
                tx.update(
                    ApiKeyItem(env_pk(env_id), key_sk(old_id)),
                    actions=[ApiKeyItem.expires_at.set(expires_at)],
                    condition=(ApiKeyItem.status == "active")
                    & (
                        ApiKeyItem.expires_at.does_not_exist()
                        | (ApiKeyItem.expires_at >= expires_at)
                    ),
                )
            tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def touch_last_used(env_id: str, key_id: str, now_iso: str, cutoff_iso: str) -> None:
    """Record use at most once per window; raises only on unexpected errors (callers swallow)."""
    item = ApiKeyItem(env_pk(env_id), key_sk(key_id))
    with unavailable_on_throttle():
        item.update(
            actions=[ApiKeyItem.last_used_at.set(now_iso)],
            condition=ApiKeyItem.pk.exists()
            & (ApiKeyItem.last_used_at.does_not_exist() | (ApiKeyItem.last_used_at < cutoff_iso)),
        )
