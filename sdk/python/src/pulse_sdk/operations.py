"""Which SDK method serves each operation of the REST contract (chalicelib/openapi.json): one
table, so the contract test (tests/sdk/test_python_contract.py) checks both ways exactly."""

from __future__ import annotations

from typing import NamedTuple


class Operation(NamedTuple):
    resource: str  # the client's attribute: `pulse.rooms`
    method: str  # the resource's method: `pulse.rooms.create`
    # Contract names the method spells otherwise (the body's `id` is `room_id`).
    renames: tuple[tuple[str, str], ...] = ()


OPERATIONS: dict[str, Operation] = {
    "mintToken": Operation("tokens", "mint"),
    "listRooms": Operation("rooms", "list"),
    "createRoom": Operation("rooms", "create", (("id", "room_id"),)),
    "getRoom": Operation("rooms", "get"),
    "updateRoom": Operation("rooms", "update"),
    "deleteRoom": Operation("rooms", "delete"),
    "listThreads": Operation("threads", "list"),
    "createThread": Operation("threads", "create"),
    "getThread": Operation("threads", "get"),
    "updateThread": Operation("threads", "update"),
    "deleteThread": Operation("threads", "delete"),
    "subscribe": Operation("threads", "subscribe"),
    "unsubscribe": Operation("threads", "unsubscribe"),
    "listComments": Operation("comments", "list"),
    "createComment": Operation("comments", "create"),
    "updateComment": Operation("comments", "update"),
    "deleteComment": Operation("comments", "delete"),
    "addReaction": Operation("reactions", "add"),
    "removeReaction": Operation("reactions", "remove"),
    "createAttachment": Operation("attachments", "create"),
    "listEvents": Operation("events", "list"),
    "listUsers": Operation("users", "list"),
    "getUser": Operation("users", "get"),
    "revokeTokens": Operation("users", "revoke_tokens"),
    "eraseUser": Operation("users", "erase"),
    "getEraseJob": Operation("users", "erase_job"),
    "exportUser": Operation("users", "export"),
    "listInbox": Operation("inbox", "list"),
    "inboxCount": Operation("inbox", "count"),
    "markRead": Operation("inbox", "mark_read"),
    "getSettings": Operation("notification_settings", "get"),
    "putSettings": Operation("notification_settings", "set"),
    "broadcastToRoom": Operation("broadcast", "send"),
    "listActiveUsers": Operation("active_users", "list"),
    "getOpenApi": Operation("openapi", "get"),
}

# The list operations whose pages `list_all` walks (same resource, same filters but `cursor`).
PAGINATED = {
    "listRooms",
    "listThreads",
    "listComments",
    "listEvents",
    "listUsers",
    "listInbox",
    "listActiveUsers",
}
