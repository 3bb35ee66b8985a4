"""JSON Schemas shared by several fields (ids, timestamps, text, metadata), named as the
OpenAPI documents' components. Only the contract generator reads them: nothing here runs on a
request."""

from __future__ import annotations

from typing import Any

from .. import access
from .. import validation as v

Schema = dict[str, Any]
# Characters the validators refuse in one-line text (validation.text): C0 and C1 controls.
NO_CONTROL_CHARS = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"


class Named:
    """A JSON Schema with a name: the generator writes it once under components/schemas and
    refers to it by `$ref` wherever it appears (as a value, or as `{"$ref": it, ...}`)."""

    __slots__ = ("name", "schema")

    def __init__(self, name: str, schema: Schema) -> None:
        self.name = name
        self.schema = schema


TIMESTAMP = Named(
    "Timestamp",
    {
        "type": "string",
        "format": "date-time",
        "description": "UTC, RFC 3339 with milliseconds.",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
        "examples": ["2026-11-25T04:48:22.123Z"],
    },
)
CURSOR = Named(
    "Cursor",
    {
        "type": ["string", "null"],
        "description": "Send it as `cursor` to read the next page; `null` on the last page.",
        "examples": ["eyJrIjoiUk9PTSNkb2M6NDIifQ.Zk3x"],
    },
)
ROOM_ID = Named(
    "RoomId",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": v.ROOM_ID_MAX,
        "pattern": "^[A-Za-z0-9_.:-]+$",
        "examples": ["doc:42"],
    },
)
THREAD_ID = Named(
    "ThreadId",
    {"type": "string", "pattern": "^th_[0-9A-Za-z]{16}$", "examples": ["th_0Q9cZk1aB2cD3eF4"]},
)
COMMENT_ID = Named(
    "CommentId",
    {"type": "string", "pattern": "^cm_[0-9A-Za-z]{16}$", "examples": ["cm_0Q9cZk1aB2cD3eF5"]},
)
MIME_TYPE = Named(
    "MimeType",
    {"type": "string", "minLength": 3, "maxLength": 255, "pattern": "^[^/ ]+/[^/ ]+$"},
)
ATTACHMENT_ID = Named(
    "AttachmentId",
    {"type": "string", "pattern": "^att_[0-9A-Za-z]{16}$", "examples": ["att_0Q9cZk1aB2cD3eF6"]},
)
USER_ID = Named(
    "UserId",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        "description": "Your id for the user.",
        "examples": ["user-42"],
    },
)
ROOM_ID_IN_PATH = Named(
    "RoomIdInPath",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 172,
        "pattern": "^[A-Za-z0-9_.:~-]+$",
        "description": "A room id, or its escape: `~` + the unpadded base64url of the id (at "
        "most 172 characters), for an id a URL cannot carry. A segment starting with `~` is "
        "always read as an escape; a malformed one is a 400.",
        "examples": ["doc:42", "~Li4"],
    },
)
USER_ID_IN_PATH = Named(
    "UserIdInPath",
    {
        "description": "A user id, or its escape: `~` + the unpadded base64url of the id's UTF-8 "
        "(at most 684 characters). A segment starting with `~` is always read as an escape; a "
        "malformed one is a 400.",
        "anyOf": [
            USER_ID,
            {"type": "string", "pattern": "^~[A-Za-z0-9_-]+$", "maxLength": 684},
        ],
        "examples": ["user-42", "~Li4"],
    },
)
TEXT_128 = Named(
    "Text128",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        "pattern": NO_CONTROL_CHARS,
        "description": "1-128 characters, no control characters.",
    },
)
NEW_ROOM_ID = Named(
    "NewRoomId",
    {
        "type": "string",
        "description": "A new room's id; not `.` or `..`, which a URL cannot carry.",
        "allOf": [ROOM_ID, {"not": {"enum": [".", ".."]}}],
    },
)
NEW_USER_ID = Named(
    "NewUserId",
    {
        "type": "string",
        "description": "1-128 characters, no control characters; one URL path segment: not `.` "
        "or `..` (nor spelled with `%2e`), no `/` or `\\`, and not starting with `~`.",
        "allOf": [
            TEXT_128,
            {"pattern": "^[^/\\\\~][^/\\\\]*$"},
            {"not": {"pattern": "^(\\.|%2[eE]){1,2}$"}},
        ],
    },
)
COMMENT_BODY = Named(
    "CommentBody",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": v.BODY_MAX,
        # Something other than whitespace; tabs and line breaks, but no other control characters.
        "pattern": "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*"
        "[^\\s\\u0000-\\u001F\\u007F-\\u009F]"
        "[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$",
        "description": "1-10,000 characters of text, not only whitespace. Line breaks and tabs "
        "are kept; other control characters are refused.",
        "examples": ["Should we move the launch to Tuesday?"],
    },
)
METADATA = Named(
    "Metadata",
    {
        "type": "object",
        "description": "A flat object of at most 20 keys (1-64 characters each) whose values are "
        "strings (at most 256 characters), numbers or booleans. Anything else is a 400 naming "
        "the field.",
        "maxProperties": v.METADATA_MAX_KEYS,
        "propertyNames": {
            "minLength": 1,
            "maxLength": v.METADATA_KEY_MAX,
            "pattern": NO_CONTROL_CHARS,
        },
        "additionalProperties": {
            "anyOf": [
                {"type": "string", "maxLength": v.METADATA_STRING_MAX},
                {"type": "number"},
                {"type": "boolean"},
            ]
        },
        "examples": [{"title": "Q3 plan", "pinned": True, "version": 3}],
    },
)
COLOR = Named(
    "Color",
    {
        "type": "string",
        "pattern": "^#[0-9A-Fa-f]{6}$",
        "description": "The user's color (the same everywhere), for avatars and cursors.",
        "examples": ["#E5484D"],
    },
)
LEVEL = Named(
    "AccessLevel",
    {
        "type": "string",
        "enum": list(access.LEVELS),
        "description": "`none` < `read` (join, presence, read threads) < `comment` (create "
        "threads and comments, edit and delete one's own, resolve) < `write` (also broadcast).",
        "examples": ["write"],
    },
)
