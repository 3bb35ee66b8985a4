"""Erasure and export on the wire: the erase request, the job answer, and the export answer
(the document inline, or a presigned download when it is large)."""

from __future__ import annotations

from typing import Any

from ..entities import EraseJob
from .fields import Body, choice
from .schemas import TIMESTAMP, USER_ID, Named, Schema
from .shapes import Record, Shape

MODES = ("anonymize", "delete")


class EraseRequest(Body):
    """`anonymize` keeps the user's threads and comments and replaces their name, avatar and
    mentions with "Deleted user"; `delete` removes what they wrote and everything Pulse keeps
    about them (docs/privacy.md)."""

    mode: str = choice(MODES, description="What happens to the user's data (docs/privacy.md).")

    example = {"mode": "delete"}


ERASE_JOB = Record(
    EraseJob,
    "EraseJob",
    schemas={"user_id": USER_ID, "created_at": TIMESTAMP, "updated_at": TIMESTAMP},
    describe={
        "id": "The job's id (`job_` + 16 characters).",
        "status": "`queued`, `running`, then `succeeded` or `failed`.",
        "phase": "What it is doing: `tokens`, `rooms`, `user`, `done`.",
        "error": "Why the last step failed (it is retried), or why the job failed.",
        "comments_deleted": "The user's comments deleted.",
        "comments_tombstoned": "First comments of threads others replied to, kept as tombstones.",
        "threads_deleted": "Threads that held only the user's comments.",
        "reactions_removed": "The user's reactions removed.",
        "mentions_replaced": "Comments whose mentions of the user were replaced.",
        "files_deleted": "Attachment files deleted with the user's comments.",
        "items_removed": "Inbox, settings, subscriptions and event-log entries removed.",
    },
    examples=[
        {
            "id": "job_0Q5cZkT8a1b2c3d4",
            "userId": "user-42",
            "mode": "delete",
            "status": "running",
            "phase": "rooms",
            "createdAt": "2026-11-25T04:48:22.123Z",
            "updatedAt": "2026-11-25T04:48:23.456Z",
            "finishedAt": None,
            "error": None,
            "commentsDeleted": 12,
            "commentsTombstoned": 1,
            "threadsDeleted": 2,
            "reactionsRemoved": 4,
            "mentionsReplaced": 3,
            "filesDeleted": 1,
            "itemsRemoved": 9,
        }
    ],
)

_ROWS: Schema = {"type": "array", "items": {"type": "object"}}
_DOCUMENT: Schema = {
    "type": "object",
    "description": "Everything Pulse holds about the user in the environment.",
    "additionalProperties": False,
    "required": [
        "userId",
        "exportedAt",
        "profile",
        "comments",
        "threadsStarted",
        "reactions",
        "readState",
        "inbox",
        "subscriptions",
        "notificationSettings",
        "attachments",
    ],
    "properties": {
        "userId": USER_ID,
        "exportedAt": TIMESTAMP,
        "profile": {"type": "object"},
        "comments": _ROWS,
        "threadsStarted": _ROWS,
        "reactions": _ROWS,
        "readState": _ROWS,
        "inbox": {"type": "object"},
        "subscriptions": _ROWS,
        "notificationSettings": _ROWS,
        "attachments": _ROWS,
    },
}
DOCUMENT = Named("UserExport", _DOCUMENT)


class _ExportAnswer(Shape):
    """The document inline, or where to download it: sent as the service built it."""

    name = "UserExportAnswer"
    description = (
        "The document inline (`url` and `expiresAt` null), or, when it is over 1 MiB, where to "
        "download it (`document` null)."
    )

    def dump(self, value: Any) -> Any:
        return value

    def schema(self) -> Schema:
        return self._documented(
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["document", "url", "expiresAt"],
                "properties": {
                    "document": {"oneOf": [DOCUMENT, {"type": "null"}]},
                    "url": {
                        "type": ["string", "null"],
                        "format": "uri",
                        "description": "A presigned S3 download of the document, valid an hour.",
                    },
                    "expiresAt": {"oneOf": [TIMESTAMP, {"type": "null"}]},
                },
            }
        )


EXPORT = _ExportAnswer()
