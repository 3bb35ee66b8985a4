"""Attachment records in the data table: one per upload, claimed by the comment that references
it inside that comment's transaction (so an upload belongs to at most one comment)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import ids, jsontext
from ..db.models import ATTACHMENT_SK, AttachmentItem, attachment_pk
from ..entities import Attachment
from .reads import Read, absent
from .stats import Change


@dataclass(frozen=True)
class StoredAttachment:
    attachment: Attachment
    room_id: str
    comment_id: str | None
    expires_at: int | None  # while unattached: when the record (and S3's copy) lapse


def attachment_read(env_id: str, attachment_id: str, now: int) -> Read[StoredAttachment | None]:
    """The record, or None (also when it lapsed unattached: DynamoDB's TTL is lazy)."""

    def convert(item: AttachmentItem | None) -> StoredAttachment | None:
        if item is None:
            return None
        expires = int(item.expires_at) if item.expires_at is not None else None
        if item.comment_id is None and expires is not None and expires <= now:
            return None
        return StoredAttachment(
            Attachment(item.id, item.name, item.mime_type, int(item.size)),
            item.room_id,
            item.comment_id,
            expires,
        )

    if not ids.raw_part(attachment_id, "att"):
        return absent(convert)
    return Read((AttachmentItem, attachment_pk(env_id, attachment_id), ATTACHMENT_SK), convert)


def create(env_id: str, room_id: str, a: Attachment, now_iso: str, expires_at: int) -> None:
    item = AttachmentItem(
        attachment_pk(env_id, a.id),
        ATTACHMENT_SK,
        id=a.id,
        room_id=room_id,
        name=a.name,
        mime_type=a.mime_type,
        size=a.size,
        created_at=now_iso,
        expires_at=expires_at,
        ttl=expires_at + 1,
    )
    item.save(condition=AttachmentItem.pk.does_not_exist())


def claims(
    env_id: str, room_id: str, attachments: Sequence[Attachment], thread_id: str, comment_id: str
) -> list[Change]:
    """The transaction items that give `attachments` to the comment: each only if it is still
    unclaimed and of this room (a racing comment that claimed it first cancels this one)."""
    out = []
    for a in attachments:
        item = AttachmentItem(attachment_pk(env_id, a.id), ATTACHMENT_SK)
        out.append(
            Change(
                item,
                [
                    AttachmentItem.comment_id.set(comment_id),
                    AttachmentItem.thread_id.set(thread_id),
                    AttachmentItem.expires_at.remove(),
                    AttachmentItem.ttl.remove(),
                ],
                AttachmentItem.pk.exists()
                & AttachmentItem.comment_id.does_not_exist()
                & (AttachmentItem.room_id == room_id),
            )
        )
    return out


def stored_text(attachments: Sequence[Attachment]) -> str | None:
    """A comment's attachments as its item keeps them (no URLs: those are signed per read)."""
    if not attachments:
        return None
    return jsontext.dumps(
        [{"id": a.id, "name": a.name, "mimeType": a.mime_type, "size": a.size} for a in attachments]
    )


def from_stored(text: str | None) -> tuple[Attachment, ...]:
    if not text:
        return ()
    return tuple(
        Attachment(d["id"], d["name"], d["mimeType"], int(d["size"])) for d in jsontext.stored(text)
    )
