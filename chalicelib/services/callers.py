"""Who is asking: the three ways a caller is authenticated, as three small types. A service takes
one of them and proves it in the read that loads what the request needs (services/authority.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..auth import apikeys
from ..entities import Actor, Connection
from . import keyauth
from .limits import Gate


@dataclass(frozen=True)
class SecretKeyCaller:
    """A customer backend with a secret key (REST API v1, token minting). The key passed its
    offline checks (services/keyauth.parse); the service's read verifies it. Its Gate carries the
    abuse limits its route declared: a secret key never goes through without them."""

    raw: str = field(repr=False)
    parsed: apikeys.ParsedKey
    gate: Gate = field(compare=False, repr=False)

    @classmethod
    def of(cls, raw: str | None, gate: Gate) -> SecretKeyCaller:
        """The caller of a presented key: missing, malformed and pk_ keys are refused here,
        before any read."""
        parsed = keyauth.parse(raw, "secret")
        assert raw is not None
        return cls(raw, parsed, gate)

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
