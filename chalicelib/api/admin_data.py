"""Admin API: an environment's analytics and its data browser (rooms, threads, comments, users)."""

from __future__ import annotations

from typing import Any

from ..entities import Actor
from ..runtime import services
from ..services.callers import OperatorCaller
from . import http
from . import serializers as out
from .routing import Router

router = Router(prefix="/admin/api/environments/{envId}")


def _page_args() -> tuple[int, str | None]:
    return http.limit(router.request), http.query(router.request, "cursor")


@router.route("/analytics", "GET")
def analytics(actor: Actor, envId: str) -> dict[str, Any]:
    return out.analytics(services().collab.analytics(OperatorCaller(actor, envId)))


@router.route("/rooms", "GET")
def list_rooms(actor: Actor, envId: str) -> dict[str, Any]:
    return out.page(
        services().collab.list_rooms(OperatorCaller(actor, envId), *_page_args()), out.room
    )


@router.route("/rooms/{roomId}", "DELETE", role="admin", status=204)
def delete_room(actor: Actor, envId: str, roomId: str) -> None:
    services().collab.delete_room(OperatorCaller(actor, envId), roomId)
    services().environments.record(actor, envId, "room.deleted", "room", roomId)


@router.route("/rooms/{roomId}/threads", "GET")
def list_threads(actor: Actor, envId: str, roomId: str) -> dict[str, Any]:
    resolved = http.flag(router.request, "resolved")
    page = services().collab.browse_threads(
        OperatorCaller(actor, envId), roomId, resolved, *_page_args()
    )
    return out.page(page, out.thread, shrink=out.thread_within)


@router.route("/rooms/{roomId}/threads/{threadId}", "GET")
def get_thread(actor: Actor, envId: str, roomId: str, threadId: str) -> dict[str, Any]:
    return out.thread_fitting(
        services().collab.get_thread(OperatorCaller(actor, envId), roomId, threadId)
    )


@router.route("/rooms/{roomId}/threads/{threadId}", "DELETE", role="admin", status=204)
def delete_thread(actor: Actor, envId: str, roomId: str, threadId: str) -> None:
    services().collab.delete_thread(OperatorCaller(actor, envId), roomId, threadId)
    services().environments.record(actor, envId, "thread.deleted", "thread", threadId)


@router.route("/rooms/{roomId}/threads/{threadId}/comments", "GET")
def list_comments(actor: Actor, envId: str, roomId: str, threadId: str) -> dict[str, Any]:
    page = services().collab.list_comments(
        OperatorCaller(actor, envId), roomId, threadId, *_page_args()
    )
    return out.page(page, out.comment)


@router.route(
    "/rooms/{roomId}/threads/{threadId}/comments/{commentId}", "DELETE", role="admin", status=204
)
def delete_comment(actor: Actor, envId: str, roomId: str, threadId: str, commentId: str) -> None:
    services().collab.delete_comment(OperatorCaller(actor, envId), roomId, threadId, commentId)
    services().environments.record(actor, envId, "comment.deleted", "comment", commentId)


@router.route("/users", "GET")
def list_users(actor: Actor, envId: str) -> dict[str, Any]:
    return out.page(
        services().collab.list_users(OperatorCaller(actor, envId), *_page_args()), out.user
    )
