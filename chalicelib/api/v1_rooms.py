"""REST API v1 for customer backends (`Bearer sk_...`): rooms, threads and comments."""

from __future__ import annotations

from typing import Any

from .. import validation as v
from ..errors import InvalidInput
from ..runtime import services
from ..services.callers import SecretKeyCaller
from . import http
from . import serializers as out
from .routing import Router, SecretKey

router = Router(prefix="/api/v1")
SECRET = SecretKey(limit="rest")  # every route here: a secret key, the REST API's rates
USER_ID_MAX = 128


def _page_args() -> tuple[int, str | None]:
    return http.limit(router.request), http.query(router.request, "cursor")


# --- rooms -------------------------------------------------------------------------------------


@router.route("/rooms", "GET", auth=SECRET)
def list_rooms(access: SecretKeyCaller) -> dict[str, Any]:
    return out.page(services().collab.list_rooms(access, *_page_args()), out.room)


@router.route("/rooms", "POST", auth=SECRET, status=201, idempotent=True)
def create_room(access: SecretKeyCaller) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["id", "metadata"])
    room_id, metadata = v.room_id(body.get("id")), v.metadata(body)
    return out.room(services().collab.create_room(access, room_id, metadata))


@router.route("/rooms/{roomId}", "GET", auth=SECRET)
def get_room(access: SecretKeyCaller, roomId: str) -> dict[str, Any]:
    return out.room(services().collab.get_room(access, roomId))


@router.route("/rooms/{roomId}", "PATCH", auth=SECRET)
def update_room(access: SecretKeyCaller, roomId: str) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["metadata"])
    metadata = v.metadata(body, required=True)
    assert metadata is not None
    return out.room(services().collab.update_room(access, roomId, metadata))


@router.route("/rooms/{roomId}", "DELETE", auth=SECRET, status=204)
def delete_room(access: SecretKeyCaller, roomId: str) -> None:
    services().collab.delete_room(access, roomId)


@router.route("/rooms/{roomId}/active_users", "GET", auth=SECRET)
def active_users(access: SecretKeyCaller, roomId: str) -> dict[str, Any]:
    cursor = http.query(router.request, "cursor")
    return out.page(services().realtime.active_users(access, roomId, cursor), out.member)


@router.route("/rooms/{roomId}/broadcast", "POST", auth=SECRET, status=202, idempotent=True)
def broadcast(access: SecretKeyCaller, roomId: str) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["event"])
    if "event" not in body:
        raise InvalidInput("event", "is required (any JSON value)", code="MISSING_FIELD")
    services().realtime.broadcast(access, roomId, body["event"])
    return {"status": "accepted"}


# --- threads -----------------------------------------------------------------------------------


@router.route("/rooms/{roomId}/threads", "GET", auth=SECRET)
def list_threads(access: SecretKeyCaller, roomId: str) -> dict[str, Any]:
    resolved = http.flag(router.request, "resolved")
    page = services().collab.list_threads(access, roomId, resolved, *_page_args())
    return out.page(page, out.thread)


@router.route("/rooms/{roomId}/threads", "POST", auth=SECRET, status=201, idempotent=True)
def create_thread(access: SecretKeyCaller, roomId: str) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["comment", "metadata"])
    first = v.nested(body, "comment", ["userId", "body"])
    user_id = v.user_id(first, "comment.userId", max_len=USER_ID_MAX)
    text = v.comment_body(first, "comment.body")
    thread = services().collab.create_thread(access, roomId, user_id, text, v.metadata(body))
    return out.thread(thread)


@router.route("/rooms/{roomId}/threads/{threadId}", "GET", auth=SECRET)
def get_thread(access: SecretKeyCaller, roomId: str, threadId: str) -> dict[str, Any]:
    return out.thread_fitting(services().collab.get_thread(access, roomId, threadId))


@router.route("/rooms/{roomId}/threads/{threadId}", "PATCH", auth=SECRET)
def update_thread(access: SecretKeyCaller, roomId: str, threadId: str) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["resolved", "metadata"])
    resolved, metadata = v.boolean(body, "resolved"), v.metadata(body)
    if resolved is None and metadata is None:
        raise InvalidInput("body", "send resolved and/or metadata", code="NOTHING_TO_UPDATE")
    thread = services().collab.update_thread(
        access, roomId, threadId, resolved=resolved, metadata=metadata
    )
    return out.thread(thread)


@router.route("/rooms/{roomId}/threads/{threadId}", "DELETE", auth=SECRET, status=204)
def delete_thread(access: SecretKeyCaller, roomId: str, threadId: str) -> None:
    services().collab.delete_thread(access, roomId, threadId)


# --- comments ----------------------------------------------------------------------------------


@router.route("/rooms/{roomId}/threads/{threadId}/comments", "GET", auth=SECRET)
def list_comments(access: SecretKeyCaller, roomId: str, threadId: str) -> dict[str, Any]:
    page = services().collab.list_comments(access, roomId, threadId, *_page_args())
    return out.page(page, out.comment)


@router.route(
    "/rooms/{roomId}/threads/{threadId}/comments", "POST", auth=SECRET, status=201, idempotent=True
)
def create_comment(access: SecretKeyCaller, roomId: str, threadId: str) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["userId", "body"])
    user_id = v.user_id(body, "userId", max_len=USER_ID_MAX)
    text = v.comment_body(body)
    return out.comment(services().collab.create_comment(access, roomId, threadId, user_id, text))


@router.route("/rooms/{roomId}/threads/{threadId}/comments/{commentId}", "PATCH", auth=SECRET)
def update_comment(
    access: SecretKeyCaller, roomId: str, threadId: str, commentId: str
) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["body"])
    text = v.comment_body(body)
    comment = services().collab.update_comment(access, roomId, threadId, commentId, text)
    return out.comment(comment)


@router.route(
    "/rooms/{roomId}/threads/{threadId}/comments/{commentId}", "DELETE", auth=SECRET, status=204
)
def delete_comment(access: SecretKeyCaller, roomId: str, threadId: str, commentId: str) -> None:
    services().collab.delete_comment(access, roomId, threadId, commentId)


# --- users -------------------------------------------------------------------------------------


@router.route("/users", "GET", auth=SECRET)
def list_users(access: SecretKeyCaller) -> dict[str, Any]:
    return out.page(services().collab.list_users(access, *_page_args()), out.user)


@router.route("/users/{userId}", "GET", auth=SECRET)
def get_user(access: SecretKeyCaller, userId: str) -> dict[str, Any]:
    return out.user(services().collab.get_user(access, userId))
