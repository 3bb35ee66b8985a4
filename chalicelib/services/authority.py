"""The one place that proves a caller may touch an environment, in the same consistent
BatchGetItem that loads what its request needs: credentials first, then the answers.

A read of an item that cannot exist (an id of the wrong form) costs nothing and comes back
absent, so every "not found" is answered only after the caller's credentials were checked, in the
round trip the request makes anyway."""

from __future__ import annotations

import logging
from typing import Any

from .. import codes
from ..clock import Clock, iso
from ..config import Settings
from ..entities import ApiKey, Environment
from ..errors import Unauthenticated, environment_suspended
from ..repositories.reads import Fetched, Read, fetch
from .callers import Caller, MemberCaller, SecretKeyCaller
from .environments import environment_not_found
from .keyauth import KeyCheck
from .ports import EnvironmentStore

log = logging.getLogger("pulse.access")
LAST_USED_WINDOW_SECONDS = 60


class Authority:
    def __init__(
        self, settings: Settings, clock: Clock, keys: KeyCheck, environments: EnvironmentStore
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.keys = keys
        self.environments = environments

    def load(self, caller: Caller, *reads: Read[Any]) -> Fetched:
        """Authenticate `caller` and answer `reads`, in one consistent BatchGetItem.

        A secret key is verified (and counted against its route's rate limits); an operator's
        environment must exist; a member's must still be active and not suspended."""
        return self.load_with_environment(caller, *reads)[1]

    def load_with_environment(
        self, caller: Caller, *reads: Read[Any]
    ) -> tuple[Environment, Fetched]:
        """As `load`, with the environment read in the same BatchGetItem (its settings)."""
        if isinstance(caller, SecretKeyCaller):
            ctx = self.keys.authenticate(caller.raw, caller.parsed, reads, caller.gate, caller.need)
            caller.gate.count(ctx.env_id, ctx.key.id)
            self.touch_if_due(ctx.key)
            return ctx.environment, ctx.got
        environment = self.environments.environment_read(caller.env_id)
        if not environment.can_exist:  # no environment can have this id: nothing to read
            raise environment_not_found()
        got = fetch([environment, *reads])
        state = got[environment]
        if state is None:
            raise environment_not_found()
        if isinstance(caller, MemberCaller):
            if state.environment.status != "active":
                raise Unauthenticated(
                    "The environment is disabled.", code=codes.ENVIRONMENT_DISABLED
                )
            if state.environment.suspended_at is not None:
                raise environment_suspended()
        return state.environment, got

    def touch_if_due(self, key: ApiKey) -> None:
        """Record the key's use at most once a minute; never fails the request."""
        now = self.clock.now()
        cutoff = iso(now - LAST_USED_WINDOW_SECONDS)
        if key.last_used_at is not None and key.last_used_at >= cutoff:
            return
        try:
            self.environments.touch_last_used(key.env_id, key.id, iso(now), cutoff)
        except Exception as exc:  # a lost race (condition) or a throttle: both harmless here
            log.info("key use not recorded", extra={"keyId": key.id, "reason": type(exc).__name__})
