"""What a restricted key (rk_) may do on a request: the scope and room its route needs, checked
on the key item the request's one BatchGetItem already read, and the narrowing of the
permissions of a token it mints. A secret key (sk_) may do everything."""

from __future__ import annotations

from dataclasses import dataclass

from .. import codes, scopes
from ..entities import ApiKey
from ..errors import Forbidden


@dataclass(frozen=True)
class Need:
    """What a request needs of its key: its route's scope, the room it touches (None: none, or
    not known yet), and whether it reads every room of the environment (a list of rooms)."""

    scope: scopes.KeyScope
    room_id: str | None = None
    every_room: bool = False


def insufficient_scope(message: str, suggestion: str) -> Forbidden:
    return Forbidden(message, code=codes.INSUFFICIENT_SCOPE, suggestion=suggestion)


def require(key: ApiKey, need: Need | None) -> None:
    """Refuse (403 INSUFFICIENT_SCOPE, naming what is missing) a restricted key outside its
    scopes or rooms. A restricted key on a path that declared no need is refused too: a secret
    key's path that forgot its scope fails closed."""
    if key.kind != "restricted":
        return
    if need is None or need.scope not in (key.scopes or ()):
        scope = need.scope if need is not None else "(none declared)"
        raise insufficient_scope(
            f"This restricted key lacks the `{scope}` scope this request needs.",
            "Create a restricted key with this scope, or call from a backend holding one.",
        )
    if key.rooms is None:
        return
    if need.every_room:
        raise insufficient_scope(
            f"This restricted key is limited to rooms `{key.rooms}`; this request reads every "
            "room of the environment.",
            "Read the rooms one by one (GET /api/v1/rooms/{roomId}), or use a key for all rooms.",
        )
    if need.room_id is not None and not scopes.room_in(key.rooms, need.room_id):
        raise insufficient_scope(
            f"This restricted key is limited to rooms `{key.rooms}`; the room is outside it.",
            "Use a key whose rooms pattern includes this room.",
        )


def token_permissions(key: ApiKey, permissions: dict[str, str] | None) -> dict[str, str] | None:
    """The permissions of a token `key` mints: as asked, narrowed to a restricted key's rooms
    (scopes.narrow). A room-limited key mints access tokens only: an identity token's rooms are
    decided by each room, which the key cannot bound."""
    if key.kind != "restricted" or key.rooms is None:
        return permissions
    if not permissions:
        raise insufficient_scope(
            f"This restricted key is limited to rooms `{key.rooms}`: it mints access tokens only.",
            f"Send `permissions` naming rooms within `{key.rooms}`.",
        )
    narrowed = scopes.narrow(permissions, key.rooms)
    if not narrowed:
        raise insufficient_scope(
            f"This restricted key is limited to rooms `{key.rooms}`; no entry of `permissions` "
            "reaches a room within it.",
            f"Send `permissions` naming rooms within `{key.rooms}`.",
        )
    return narrowed
