"""Who is asking: the three ways a caller is authenticated, as three small types. A service takes
one of them and proves it in the read that loads what the request needs (services/authority.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..auth import apikeys
from ..entities import Actor, Connection
from . import keyauth
from .grants import Need
from .limits import Gate


@dataclass(frozen=True)
class SecretKeyCaller:
    """A customer backend with a secret key (REST API v1, token minting). The key passed its
    offline checks (services/keyauth.parse); the service's read verifies it. Its Gate carries the
    abuse limits its route declared: a secret key never goes through without them. Its Need
    is the scope (and room) its route declared, which a restricted key (rk_) must hold."""

    raw: str = field(repr=False)
    parsed: apikeys.ParsedKey
    gate: Gate = field(compare=False, repr=False)
    need: Need | None = None

    @classmethod
    def of(cls, raw: str | None, gate: Gate, need: Need | None = None) -> SecretKeyCaller:
        """The caller of a presented key: missing, malformed and pk_ keys are refused here,
        before any read."""
        parsed = keyauth.parse(raw, "secret")
        assert raw is not None
        return cls(raw, parsed, gate, need)

    def in_room(self, room_id: str) -> SecretKeyCaller:
        """The same caller, touching `room_id` (a room named in the body, not the path)."""
        need = replace(self.need, room_id=room_id) if self.need is not None else None
        return replace(self, need=need)

    @property
    def env_id(self) -> str:
        return self.parsed.env_id


@dataclass(frozen=True)
class OperatorCaller:
    """An operator, already authenticated by its session, acting on one environment."""

    actor: Actor
    env_id: str


@dataclass(frozen=True)
class MemberCaller:
    """A room member's socket, authenticated at $connect: its environment must still be active.
    `request_id` is the message's, echoed by the member's own copy of what it changed;
    `mutation_id` its clientMutationId: a write's name, which makes resending it safe."""

    connection: Connection
    request_id: str | None = None
    mutation_id: str | None = None

    @property
    def env_id(self) -> str:
        return self.connection.env_id


Caller = SecretKeyCaller | OperatorCaller | MemberCaller
