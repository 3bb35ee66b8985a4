"""Realtime rooms: who may connect ($connect), the room's live members, and broadcasts.

$connect budget: one consistent BatchGetItem (pk_ key, environment, minting key, room) and one
TransactWriteItems (the connection's rows, the room's live count, and the room when new)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .. import ids
from ..clock import Clock, iso
from ..config import Settings
from ..db.dynamo import TransactionCancelled
from ..entities import Connection
from ..errors import Conflict, Forbidden, InvalidInput
from ..realtime.channel import RoomChannel
from ..repositories import connections as conn_repo
from ..repositories import rooms as rooms_repo
from ..validation import is_room_id
from .access import Access, load
from .collab import room_not_found
from .limits import Limits
from .tokens import TokenService

log = logging.getLogger("pulse.realtime")

# API Gateway ends every connection after 2 hours; rows live a little longer, then expire.
CONNECTION_TTL_SECONDS = 2 * 3600 + 300


@dataclass(frozen=True)
class ConnectRequest:
    connection_id: str
    domain_name: str
    stage: str
    api_key: str | None
    token: str | None
    room_id: str | None
    source_ip: str | None = None  # requestContext.identity.sourceIp (failed-attempt limits)


def room_full(cap: int) -> Forbidden:
    return Forbidden(
        f"The room has reached its limit of {cap} live connections.",
        code="ROOM_FULL",
        suggestion="Try again later or split users across rooms.",
    )


class RealtimeService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        tokens: TokenService,
        channel: RoomChannel,
        limits: Limits | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.tokens = tokens
        self.channel = channel
        self.limits = limits

    def connect(self, request: ConnectRequest) -> Connection:
        """Raises Unauthenticated (401), InvalidInput (400), Forbidden (ROOM_FULL,
        ENVIRONMENT_SUSPENDED) or RateLimited (429: too many failed attempts); on any refusal
        nothing is written but the failure counters."""
        # The credentials' offline checks come first, so a bad key is a 401 whatever the room.
        from . import keyauth

        parsed = keyauth.parse(request.api_key, "publishable")
        room_id = request.room_id
        if not is_room_id(room_id):
            raise InvalidInput("room", "must be 1-128 characters of letters, digits and -_.:")
        assert room_id is not None
        gate = self.limits.gate(request.source_ip) if self.limits is not None else None
        verified = self.tokens.verify_connection(
            request.api_key, request.token, [rooms_repo.room_read(parsed.env_id, room_id)], gate
        )
        now = self.clock.now()
        claims = verified.user
        connection = Connection(
            id=request.connection_id,
            env_id=verified.env_id,
            room_id=room_id,
            user_id=claims.user_id,
            name=claims.name,
            avatar=claims.avatar,
            color=claims.color,
            presence=None,
            domain_name=request.domain_name,
            stage=request.stage,
            publishable_key_id=verified.publishable_key_id,
            secret_key_id=claims.key_id,
            connected_at=iso(now),
            expires_at=now + CONNECTION_TTL_SECONDS,
        )
        room = verified.extra[0]
        for _ in range(3):
            try:
                conn_repo.add(
                    connection, room, cap=self.settings.room_connection_cap, now_iso=iso(now)
                )
                return connection
            except conn_repo.RoomFull:
                # The count may include connections whose $disconnect never ran: recount once.
                live = conn_repo.recount(connection.env_id, room_id, now)
                if live >= self.settings.room_connection_cap:
                    raise room_full(self.settings.room_connection_cap) from None
            except TransactionCancelled:
                pass  # the room was created or deleted meanwhile: read it again
            (room,) = load(
                self.settings,
                self.clock,
                Access.member(verified.env_id),
                [rooms_repo.room_read(verified.env_id, room_id)],
            )
        raise Conflict("The room kept changing; try connecting again.", code="CONCURRENT_CHANGE")

    def disconnect(self, connection_id: str) -> None:
        """Best-effort (API Gateway may never call it): drop the rows, tell the room."""
        connection = conn_repo.get(connection_id)
        if connection is not None:
            self.channel.drop([connection])

    def active_users(self, access: Access, room_id: str) -> list[Connection]:
        self._room(access, room_id)
        return self.channel.members(access.env_id, room_id)

    def broadcast(self, access: Access, room_id: str, event: Any) -> None:
        """A server-originated `broadcast` to everyone in the room (connectionId/userId null)."""
        self._room(access, room_id)
        self.channel.send(
            access.env_id,
            room_id,
            {"type": "broadcast", "connectionId": None, "userId": None, "event": event},
        )

    def _room(self, access: Access, room_id: str) -> None:
        if not is_room_id(room_id):
            load(self.settings, self.clock, access, [])
            raise room_not_found()
        (room,) = load(
            self.settings, self.clock, access, [rooms_repo.room_read(access.env_id, room_id)]
        )
        if room is None:
            raise room_not_found()


def new_connection_id() -> str:
    """For tests and tools that need a plausible id (API Gateway assigns the real ones)."""
    return ids.random_base62(16) + "="
