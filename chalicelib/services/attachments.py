"""Attachments: the rules of an upload (the environment's size and type limits, checked before
anything is signed), of a comment's claim on its uploads, of the URLs a read hands out, and of
the files a delete leaves behind (removed after the commit, best-effort)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .. import ids, meter
from ..clock import Clock, iso
from ..config import Settings
from ..entities import Attachment, Comment, Environment, Page
from ..errors import InvalidInput, Unavailable
from ..repositories.attachments import StoredAttachment
from ..repositories.reads import Fetched, Read
from ..repositories.stats import Change
from .ports import AttachmentStore, FileStore

log = logging.getLogger("pulse.attachments")

UPLOAD_SECONDS = 600  # a presigned POST's life
DOWNLOAD_SECONDS = 3600  # a presigned GET's life
UNCLAIMED_SECONDS = 24 * 3600  # an upload no comment claimed by then is dropped
FIELD = "attachmentIds"


@dataclass(frozen=True)
class Upload:
    attachment: Attachment
    url: str
    fields: dict[str, str]


def room_prefix(env_id: str, room_id: str) -> str:
    """Every file of a room is under this prefix (a room's delete lists it). The room id is
    base64url-encoded: any id, `..` included, is one key segment a URL cannot resolve."""
    encoded = base64.urlsafe_b64encode(room_id.encode()).decode().rstrip("=")
    return f"att/{env_id}/{encoded}/"


def file_key(env_id: str, room_id: str, attachment_id: str) -> str:
    return room_prefix(env_id, room_id) + attachment_id


def not_configured() -> Unavailable:
    return Unavailable(
        "Attachments are not set up on this deployment (no PULSE_ATTACHMENTS_BUCKET).",
        retry_after=3600,
    )


class AttachmentService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        attachments: AttachmentStore,
        files: FileStore | None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = attachments
        self.files = files

    # --- uploads -------------------------------------------------------------------------

    def new_upload(
        self,
        env_id: str,
        environment: Environment,
        room_id: str,
        name: str,
        mime_type: str,
        size: int,
    ) -> Upload:
        """Check the file against the environment's limits, record it, sign its POST."""
        if mime_type not in environment.attachment_types:
            raise InvalidInput(
                "mimeType",
                f"{mime_type[:100]!r} is not a type this environment accepts ("
                + ", ".join(environment.attachment_types)
                + ")",
            )
        if not 1 <= size <= environment.attachment_max_bytes:
            raise InvalidInput(
                "size",
                f"must be 1-{environment.attachment_max_bytes} bytes (this environment's limit)",
            )
        files = self._files()
        attachment = Attachment(ids.new_id("att"), name, mime_type, size)
        now = self.clock.now()
        self.store.create(env_id, room_id, attachment, iso(now), int(now) + UNCLAIMED_SECONDS)
        meter.count(env_id, "attachmentBytes", attachment.size)
        post = files.upload(
            file_key(env_id, room_id, attachment.id), mime_type, size, UPLOAD_SECONDS
        )
        return Upload(attachment, post["url"], post["fields"])

    # --- a comment's claim ---------------------------------------------------------------

    def reads(self, env_id: str, attachment_ids: Sequence[str]) -> list[Read[Any]]:
        """The records a comment's create loads in its one BatchGetItem."""
        now = int(self.clock.now())
        return [self.store.attachment_read(env_id, a, now) for a in attachment_ids]

    def claimable(
        self, got: Fetched, reads: Sequence[Read[StoredAttachment | None]], room_id: str
    ) -> list[Attachment]:
        """The attachments, each an upload of this room no comment has: else 400."""
        out = []
        for read in reads:
            found = got[read]
            if found is None or found.room_id != room_id:
                raise InvalidInput(
                    FIELD,
                    "names an attachment that is not an upload of this room "
                    "(create it with POST .../attachments or attachment.create)",
                )
            if found.comment_id is not None:
                raise InvalidInput(FIELD, f"{found.attachment.id} is attached to another comment")
            out.append(found.attachment)
        return out

    def check_uploaded(self, env_id: str, room_id: str, attachments: Sequence[Attachment]) -> None:
        """Before the comment's transaction: each file is in the bucket (HeadObject), else 400.
        Nothing changes in S3 yet, so a transaction that does not commit leaves nothing to undo."""
        if not attachments:
            return
        files = self._files()
        for a in attachments:
            if not files.exists(file_key(env_id, room_id, a.id)):
                raise InvalidInput(FIELD, f"{a.id} was not uploaded (or its upload failed)")

    def mark_attached(self, env_id: str, room_id: str, attachments: Sequence[Attachment]) -> None:
        """After the commit: take the files out of the bucket's one-day expiry of unclaimed
        uploads. Only the comment that committed does it, so two requests racing for one upload
        never undo each other. Best-effort: a failure is logged as an error (that file would
        expire with the unclaimed ones)."""
        if not attachments or self.files is None:
            return
        for a in attachments:
            try:
                self.files.mark_attached(file_key(env_id, room_id, a.id))
            except Exception:
                log.error("attached file not re-tagged", extra={"attachmentId": a.id})

    def claims(
        self,
        env_id: str,
        room_id: str,
        attachments: Sequence[Attachment],
        thread_id: str,
        comment_id: str,
    ) -> list[Change]:
        return self.store.claims(env_id, room_id, attachments, thread_id, comment_id)

    # --- reads ---------------------------------------------------------------------------

    def signed(self, env_id: str, comment: Comment) -> Comment:
        """The comment with a fresh presigned GET for each file (signed here, no call)."""
        if not comment.attachments or self.files is None:
            return comment
        now = self.clock.now()
        expires = iso(now + DOWNLOAD_SECONDS)
        signed = tuple(
            replace(
                a,
                url=self.files.download_url(
                    file_key(env_id, comment.room_id, a.id), DOWNLOAD_SECONDS
                ),
                url_expires_at=expires,
            )
            for a in comment.attachments
        )
        return replace(comment, attachments=signed)

    def signed_page(self, env_id: str, page: Page[Comment]) -> Page[Comment]:
        if not any(c.attachments for c in page.data):
            return page
        return replace(page, data=[self.signed(env_id, c) for c in page.data])

    # --- deletes -------------------------------------------------------------------------

    def delete_files(self, env_id: str, room_id: str, attachment_ids: Sequence[str]) -> None:
        """After the commit, best-effort: a failure is logged (the files are unreachable, since
        no comment names them any more)."""
        if not attachment_ids or self.files is None:
            return
        try:
            self.files.delete([file_key(env_id, room_id, a) for a in attachment_ids])
        except Exception:
            log.warning(
                "files not deleted", extra={"roomId": room_id, "count": len(attachment_ids)}
            )

    def delete_room_files(self, env_id: str, room_id: str) -> None:
        if self.files is None:
            return
        try:
            self.files.delete_prefix(room_prefix(env_id, room_id))
        except Exception:
            log.warning("room files not deleted", extra={"roomId": room_id})

    def _files(self) -> FileStore:
        if self.files is None:
            raise not_configured()
        return self.files
