"""Realtime rooms: who may connect ($connect), who may send ($default), the room's live members,
and broadcasts.

$connect budget: one consistent BatchGetItem (pk_ key, environment, minting key, room, the user's
live connections) and one TransactWriteItems (the connection's rows, the room's live count, the
room when new, the user's live connections). $default: one UpdateItem (the connection's rate,
returning it), and one more for the user's rate when the user has several connections."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .. import codes, cursors, ids, meter
from ..access import NONE, Level, RoomAccess, TokenAccess, level_for
from ..auth.tokens import UserClaims, claimed_subject
from ..clock import Clock, iso
from ..config import Settings
from ..entities import Connection, Endpoint, Environment, Page, TokensRevoked
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, PulseError, RateLimited
from ..repositories.connections import Changed, RoomFull
from ..repositories.reads import Fetched, Read
from ..repositories.rooms import RoomState
from ..repositories.user_connections import UserConnections
from ..repositories.users import Revocation
from ..validation import is_room_id, new_id
from . import keyauth, user_limits
from .authority import Authority
from .callers import Caller, MemberCaller
from .channel import RoomChannel
from .collab import room_not_found, user_not_found
from .limits import Limits
from .ports import ConnectionStore, RoomStore, UserConnectionStore
from .tokens import TokenService, invalid_token

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


# A connection API Gateway said is open is not asked about again for this long by this container
# (each ask is one call: a user retrying at its limit must not multiply them).
PROBE_MEMORY_SECONDS = 30
PROBE_MEMORY_MAX = 10_000


@dataclass(frozen=True)
class Received:
    """A `$default` message's sender: its connection (None: not registered, or expired) and
    why the message is refused (None: it may be handled)."""

    connection: Connection | None
    refusal: PulseError | None = None


def room_full(cap: int) -> Forbidden:
    return Forbidden(
        f"The room has reached its limit of {cap} live connections.",
        code=codes.ROOM_FULL,
        suggestion="Try again later or split users across rooms.",
    )


def room_access_denied(room_id: str) -> Forbidden:
    return Forbidden(
        f"This token gives no access to room {room_id!r}.",
        code=codes.ROOM_ACCESS_DENIED,
        suggestion="Mint a token that grants the room, or grant the user access to the room.",
    )


def admitted_level(
    environment: Environment, token: TokenAccess, room_id: str, room: RoomState | None
) -> Level:
    """The level a connection opens with; 404 for a room that does not exist where rooms are
    not created on join, 403 for `none` (nothing is written for either). An access token that
    grants no access to the room is refused so whether or not the room exists: it is told
    nothing about it."""
    if token.decides_alone and level_for(token, room_id, RoomAccess()) == NONE:
        raise room_access_denied(room_id)
    if room is None:
        if not environment.create_rooms_on_join:
            raise NotFound(
                f"No room {room_id!r}; this environment does not create rooms on join.",
                code=codes.ROOM_NOT_FOUND,
            )
        grants = RoomAccess(environment.default_room_access)  # what the new room will grant
    else:
        grants = room.access
    level = level_for(token, room_id, grants)
    if level == NONE:
        raise room_access_denied(room_id)
    return level


class RealtimeService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        authority: Authority,
        tokens: TokenService,
        channel: RoomChannel,
        limits: Limits,
        *,
        connections: ConnectionStore,
        rooms: RoomStore,
        user_connections: UserConnectionStore,
        on_connected: Callable[[Connection], None] | None = None,
    ) -> None:
        self.on_connected = on_connected  # told of every connection admitted (the usage meter)
        self.connections = connections
        self.rooms = rooms
        self.user_connections = user_connections
        self.settings = settings
        self.clock = clock
        self.authority = authority
        self.tokens = tokens
        self.channel = channel
        self.limits = limits
        self._open_until: dict[str, float] = {}  # connection id -> found open; not asked till

    def connect(self, request: ConnectRequest) -> Connection:
        """Admit the connection (`_admit`); a refusal once the publishable key verified is
        counted in its environment's usage, by code."""
        env_id: list[str] = []
        try:
            connection = self._admit(request, env_id)
        except PulseError as exc:
            if env_id:
                meter.count(env_id[0], f"refused:{exc.code}")
            raise
        if self.on_connected is not None:
            self.on_connected(connection)
        return connection

    def _admit(self, request: ConnectRequest, verified_env: list[str]) -> Connection:
        """Raises Unauthenticated (401), InvalidInput (400), Forbidden (ROOM_ACCESS_DENIED,
        ROOM_FULL, ENVIRONMENT_SUSPENDED), NotFound (ROOM_NOT_FOUND) or RateLimited (429: too
        many failed attempts, or the user's connection limits); on any refusal nothing is
        written but the failure counters (and the removal of the user's connections API
        Gateway says are closed)."""
        # The credentials' offline checks come first, so a bad key is a 401 whatever the room.
        parsed = keyauth.parse(request.api_key, "publishable")
        room_id = request.room_id
        if not is_room_id(room_id):
            raise InvalidInput("room", "must be 1-128 characters of letters, digits and -_.:")
        assert room_id is not None
        new_id(room_id, "room")  # a connection may create the room: the rule of new ids
        gate = self.limits.gate(request.source_ip, None)  # failures; a socket's rate is its own
        # The user's live connections ride in the key check's read, under the user id the token
        # claims; the claim is trusted once the token verified.
        reads = self._connect_reads(parsed.env_id, room_id, claimed_subject(request.token))
        # Refusals of the token once the key verified are counted by verify_connection.
        verified = self.tokens.verify_connection(request.api_key, request.token, gate, reads.all())
        verified_env.append(verified.env_id)
        now = self.clock.now()
        claims = verified.user
        token = TokenAccess(claims.user_id, claims.group_ids, claims.permissions)
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
            access_fixed=token.decides_alone,
            group_ids=tuple(sorted(claims.group_ids)),
        )
        room, user = reads.answers(verified.got)
        revocation = verified.revocation
        if user_limits.tracking(self.settings) and (user is None or user.user_id != claims.user_id):
            raise invalid_token()  # a token we signed always names the user read above
        environment = verified.environment
        probed = False
        for _ in range(3):
            # Decided on this attempt's read of the room (a retry reads it again).
            level = admitted_level(environment, token, room_id, room)
            connection = replace(connection, access=level)
            write = None
            if user is not None:
                admitted = user_limits.admit(self.settings, user, connection, now)
                if isinstance(admitted, user_limits.Over):
                    if probed or not self._forget_closed(connection, admitted.counted):
                        raise admitted.error
                    probed = True  # some had closed without a $disconnect: count again
                    room, user, revocation = self._reread(connection, user is not None, claims)
                    continue
                connection, write = admitted.connection, admitted.write
            try:
                self.connections.add(
                    connection,
                    room,
                    cap=self.settings.room_connection_cap,
                    now_iso=iso(now),
                    user=write,
                    revocation=revocation,
                    default_access=environment.default_room_access,
                )
                return connection
            except RoomFull:
                # The count may include connections whose $disconnect never ran: recount once.
                live = self.connections.recount(connection.env_id, room_id, now)
                if live >= self.settings.room_connection_cap:
                    raise room_full(self.settings.room_connection_cap) from None
            except Changed:
                pass  # the room, or the user's connections, changed meanwhile: read them again
            room, user, revocation = self._reread(connection, user is not None, claims)
        raise Conflict(
            "The room kept changing; try connecting again.", code=codes.CONCURRENT_CHANGE
        )

    def _reread(
        self, c: Connection, with_user: bool, claims: UserClaims
    ) -> tuple[RoomState | None, UserConnections | None, Revocation]:
        """What a connect reads again after a lost race, with the user's tokens: a revocation
        may be what it lost to."""
        reads = self._connect_reads(c.env_id, c.room_id, c.user_id if with_user else None)
        revoked = self.tokens.revocation_read(c.env_id, c.user_id)
        got = self.authority.load(MemberCaller(c), *reads.all(), revoked)
        revocation = self.tokens.unrevoked(claims, got[revoked])
        room, user = reads.answers(got)
        return room, user, revocation

    def _connect_reads(self, env_id: str, room_id: str, user_id: str | None) -> _ConnectReads:
        room = self.rooms.room_read(env_id, room_id)
        if user_id is None or not user_limits.tracking(self.settings):
            return _ConnectReads(room, None)
        return _ConnectReads(room, self.user_connections.read(env_id, user_id))

    def _forget_closed(self, c: Connection, counted: tuple[tuple[str, str], ...]) -> bool:
        """Ask API Gateway whether the user's connections that fill its limit are open; remove
        the closed ones (their $disconnect never ran). True if any was removed. Connections
        found open are not asked about again for PROBE_MEMORY_SECONDS."""
        now = self.clock.now()
        unknown = [(cid, rid) for cid, rid in counted if self._open_until.get(cid, 0) <= now]
        if not unknown:
            return False
        # Only the id and where it is matter to ask and to remove: asked through this connect's
        # endpoint (any domain of the API reaches its connections).
        stubs = [replace(c, id=cid, room_id=rid, tracked=True) for cid, rid in unknown]
        gone = {g.id for g in self.channel.forget_closed(stubs)}
        if len(self._open_until) >= PROBE_MEMORY_MAX:
            self._open_until = {k: v for k, v in self._open_until.items() if v > now}
            if len(self._open_until) >= PROBE_MEMORY_MAX:
                self._open_until.clear()
        for cid, _ in unknown:
            if cid not in gone:
                self._open_until[cid] = now + PROBE_MEMORY_SECONDS
        return bool(gone)

    def receive(self, connection_id: str, size: int = 0) -> Received:
        """Count a `$default` message against its connection's rate (the one UpdateItem that
        also reads the connection) and, for a user with several connections, its user's."""
        now = self.clock.now()
        per_connection = self.settings.ws_messages_per_second
        connection, within = self.connections.hit(connection_id, int(now), per_connection)
        if connection is None or connection.expires_at <= now:
            return Received(None)
        meter.count(connection.env_id, "messagesIn")
        meter.count(connection.env_id, "messageUnitsIn", meter.units(size))
        if not within:
            message = f"At most {per_connection} messages per second."
            return Received(connection, RateLimited(message, retry_after=1))
        if self.limits is not None and self._counts_per_user(connection):
            try:
                self.limits.count_user_message(connection.env_id, connection.user_id)
            except RateLimited as exc:
                return Received(connection, exc)
        return Received(connection)

    def _counts_per_user(self, c: Connection) -> bool:
        """A user's only connection is held by the per-connection rate, if that is the lower;
        a connection that is not in its user's item (limits off when it connected) is counted."""
        limit = self.settings.user_messages_per_second
        if not limit:
            return False
        return c.shared or not c.tracked or limit < self.settings.ws_messages_per_second

    def disconnect(self, connection_id: str) -> None:
        """Best-effort (API Gateway may never call it): drop the rows, tell the room."""
        connection = self.connections.get(connection_id)
        if connection is not None:
            self.channel.drop([connection])

    def revoke_tokens(self, caller: Caller, user_id: str) -> TokensRevoked:
        """Every token minted for the user until now stops connecting (401 TOKEN_REVOKED), and
        the user's open sockets in the environment are told (an `error` TOKEN_REVOKED) and
        closed. A connect racing it either commits first, and is found and closed here, or
        loses its transaction's condition on the user's token generation and is refused."""
        self.authority.load(caller)
        revocation = self.tokens.revoke(caller.env_id, user_id)
        if revocation is None:
            raise user_not_found()
        doomed = self.connections.user_connections_in(caller.env_id, user_id, self.clock.now())
        why = {
            "type": "error",
            "code": codes.TOKEN_REVOKED,
            "message": "Your session was revoked: this connection is closed.",
        }
        closed = self.channel.hang_up(doomed, why)
        return TokensRevoked(user_id, revocation.revoked_at or "", closed)

    def active_users(
        self, caller: Caller, room_id: str, cursor: str | None = None
    ) -> Page[Connection]:
        """The room's live connections in id order, from after the one a cursor names. All of
        them are read (one Query, as a room holds at most its cap); the page's cursors let the
        adapter send as many as fit its answer and continue from there."""
        self._room(caller, room_id)
        scope = f"active_users:{caller.env_id}:{room_id}"
        secret = self.settings.signing_secret
        start = str(cursors.decode(secret, scope, cursor).get("after", "")) if cursor else ""
        members = [m for m in self.channel.members(caller.env_id, room_id) if m.id > start]
        members.sort(key=lambda m: m.id)

        def after(index: int) -> str:
            key = {"after": members[index].id} if index >= 0 else {"after": start}
            return cursors.encode(secret, scope, key)

        return Page(members, None, after)

    def close_connection(self, caller: Caller, room_id: str, connection_id: str) -> Connection:
        """Close one of the room's live connections (the Admin Panel's room inspector): it is
        told why (`error` CONNECTION_CLOSED), the room that it left, then its socket closes. Its
        client may connect again with a valid token: to keep a user out, revoke their tokens or
        change what the room grants them."""
        self._room(caller, room_id)
        doomed = [c for c in self.channel.members(caller.env_id, room_id) if c.id == connection_id]
        if not doomed:
            raise NotFound(
                "No live connection with this id in this room.", code=codes.CONNECTION_NOT_FOUND
            )
        why = {
            "type": "error",
            "code": codes.CONNECTION_CLOSED,
            "message": "An administrator closed this connection.",
        }
        self.channel.hang_up(doomed, why)
        return doomed[0]

    def broadcast(self, caller: Caller, room_id: str, event: Any) -> None:
        """A server-originated `broadcast` to everyone in the room (connectionId/userId null)."""
        self._room(caller, room_id)
        frame = {"type": "broadcast", "connectionId": None, "userId": None, "event": event}
        self.channel.send(caller.env_id, room_id, frame)

    # --- what a member's socket does (the protocol's one way to its room) ----------------------

    def reply(self, to: Connection | Endpoint, frame: dict[str, Any]) -> bool:
        """One frame to one socket: a message's answer (the sender's, even before its
        connection is known). False when the socket is gone."""
        return self.channel.to(to, frame)

    def members(self, member: MemberCaller) -> list[Connection]:
        """The live connections of the member's room, the member's own included."""
        c = member.connection
        return self.channel.members(c.env_id, c.room_id)

    def to_others(
        self,
        member: MemberCaller,
        frame: dict[str, Any],
        members: list[Connection] | None = None,
    ) -> None:
        """A frame to everyone else in the member's room (`members`: as already read)."""
        c = member.connection
        self.channel.send(c.env_id, c.room_id, frame, exclude=c.id, members=members)

    def set_presence(self, member: MemberCaller, data: dict[str, Any]) -> None:
        """Keep the member's presence (new joiners read it) and tell the others."""
        c = member.connection
        self.connections.set_presence(c, data)
        frame = {
            "type": "presence.updated",
            "connectionId": c.id,
            "userId": c.user_id,
            "data": data,
        }
        self.to_others(member, frame)

    def _room(self, caller: Caller, room_id: str) -> None:
        room = self.rooms.room_read(caller.env_id, room_id)
        if self.authority.load(caller, room)[room] is None:
            raise room_not_found()


class _ConnectReads:
    """What $connect reads besides the credentials: the room, and the user's live connections
    when the per-user limits count them (under the user id its token claims)."""

    def __init__(self, room: Read[RoomState | None], user: Read[UserConnections] | None) -> None:
        self.room = room
        self.user = user

    def all(self) -> list[Read[Any]]:
        return [self.room] if self.user is None else [self.room, self.user]

    def answers(self, got: Fetched) -> tuple[RoomState | None, UserConnections | None]:
        return got[self.room], (got[self.user] if self.user is not None else None)


def new_connection_id() -> str:
    """For tests and tools that need a plausible id (API Gateway assigns the real ones)."""
    return ids.random_base62(16) + "="
