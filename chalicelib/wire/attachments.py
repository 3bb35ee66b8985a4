"""Attachments on the wire: the body that asks for an upload, an attachment as answered (in a
comment, with its short-lived download URL) and the upload a create answers with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import validation as v
from ..entities import Attachment
from .fields import Body, Spec, text
from .schemas import ATTACHMENT_ID, MIME_TYPE, TIMESTAMP
from .shapes import Many, Obj, Record, Value


def _mime_type() -> Any:
    def read(body: Mapping[str, Any], name: str) -> str:
        return v.mime_type(body, name)

    return Spec(
        read,
        MIME_TYPE,
        required=True,
        description="The file's exact Content-Type; one of the environment's attachment types.",
    )


def _size() -> Any:
    def read(body: Mapping[str, Any], name: str) -> int:
        return v.byte_size(body, name)

    return Spec(
        read,
        {"type": "integer", "minimum": 1},
        required=True,
        description="The file's exact size in bytes, at most the environment's limit "
        "(10 MB unless changed). The upload must be exactly this size.",
    )


class CreateAttachmentRequest(Body):
    name: str = text(
        max_len=v.ATTACHMENT_NAME_MAX, description="The file's name, as shown to readers."
    )
    mime_type: str = _mime_type()
    size: int = _size()

    example = {"name": "launch-plan.pdf", "mimeType": "application/pdf", "size": 48213}


def attachment_ids_field() -> Any:
    """`attachmentIds` of a comment's create: uploads of the room no comment has yet."""

    def read(body: Mapping[str, Any], name: str) -> tuple[str, ...]:
        return v.attachment_ids(body, name)

    schema = {
        "type": ["array", "null"],
        "maxItems": v.ATTACHMENTS_MAX,
        "uniqueItems": True,
        "items": ATTACHMENT_ID,
    }
    return Spec(
        read,
        schema,
        required=False,
        description="Up to 10 attachments of this room, each uploaded and not yet attached to "
        "a comment.",
    )


ATTACHMENT = Record(
    Attachment,
    "Attachment",
    schemas={
        "id": ATTACHMENT_ID,
        "size": {"type": "integer", "minimum": 1},
        "url": {"type": ["string", "null"], "format": "uri"},
        "url_expires_at": {"oneOf": [TIMESTAMP, {"type": "null"}]},
    },
    describe={
        "url": "A presigned GET of the file, made when the comment was read (null in the "
        "answer that creates the attachment).",
        "url_expires_at": "When `url` stops working (an hour after the read); read the comment "
        "again for a new one.",
    },
    examples=[
        {
            "id": "att_0Q9cZk1aB2cD3eF6",
            "name": "launch-plan.pdf",
            "mimeType": "application/pdf",
            "size": 48213,
            "url": "https://pulse-attachments.s3.amazonaws.com/att/env_0Q9cZk1aB2cD3eF4/ZG9jOjQy/"
            "att_0Q9cZk1aB2cD3eF6?X-Amz-Algorithm=AWS4-HMAC-SHA256&...",
            "urlExpiresAt": "2026-11-25T05:48:22.123Z",
        }
    ],
)
ATTACHMENTS = Many(ATTACHMENT)

UPLOAD = Value(
    {
        "type": "object",
        "description": "An S3 presigned POST: send a multipart/form-data POST to `url` with "
        "every field of `fields`, then the file as the last field, `file`. Valid for 10 "
        "minutes; S3 refuses another size, another Content-Type or a late upload.",
        "additionalProperties": False,
        "required": ["url", "fields"],
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
)
CREATED_ATTACHMENT = Obj(
    "CreatedAttachment",
    {"attachment": ATTACHMENT, "upload": UPLOAD},
    description="The attachment's id and where to upload its file.",
)
